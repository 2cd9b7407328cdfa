"""DLP: classification markings (configurable regular expressions) in the text of a file,
looked for case-insensitively in UTF-8, or in CP1251 (older Russian documents) when the
bytes are not UTF-8.

Only text content is searched (libmagic says ``text/*``, JSON, XML, CSV …): markings in
binary formats sit in compressed streams (DOCX, PDF) that need extraction first, and
running Unicode regular expressions over megabytes of binary noise costs seconds for
nothing.
"""

from __future__ import annotations

import re

from workflow.scanning.filetype import HEAD, MimeOf
from workflow.scanning.window import Windows

TEXT_TYPES = ("application/json", "application/xml", "application/csv", "application/rtf",
              "message/rfc822")


def is_text(mime: str) -> bool:
    return mime.startswith("text/") or mime in TEXT_TYPES


class DlpScan:
    def __init__(self, patterns: tuple[str, ...], mime_of: MimeOf | None = None) -> None:
        self.names = list(patterns)
        self.mime_of = mime_of or MimeOf()
        self.regex = re.compile("|".join(f"(?P<p{i}>{p})" for i, p in enumerate(patterns)),
                                re.IGNORECASE) if patterns else None
        self.found: set[str] = set()
        self.enabled: bool | None = None if patterns else False
        self.windows = Windows(self._scan)

    def _scan(self, window: bytes) -> None:
        text = window.decode("utf-8", errors="replace")
        if text.count("\ufffd") * 100 > len(text):  # not UTF-8 (cut edges aside): CP1251
            text = window.decode("cp1251", errors="replace")
        for match in self.regex.finditer(text):
            self.found.add(self.names[int(match.lastgroup[1:])])

    def feed(self, data: bytes) -> None:
        if self.enabled is None and data:
            self.enabled = is_text(self.mime_of(bytes(data[:HEAD])))
        if self.enabled:
            self.windows.feed(data)

    def result(self) -> list[str]:
        if self.enabled:
            self.windows.finish()
        return sorted(self.found)
