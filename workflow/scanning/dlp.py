"""DLP: classification markings (configurable regular expressions) in the text of a file,
looked for in both UTF-8 and CP1251 (older Russian documents), case-insensitively."""

from __future__ import annotations

import re

from workflow.scanning.window import Windows

ENCODINGS = ("utf-8", "cp1251")


class DlpScan:
    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = [re.compile(p, re.IGNORECASE) for p in patterns]
        self.found: set[str] = set()
        self.windows = Windows(self._scan)

    def _scan(self, window: bytes) -> None:
        for encoding in ENCODINGS:
            text = window.decode(encoding, errors="ignore")
            for pattern in self.patterns:
                if pattern.pattern not in self.found and pattern.search(text):
                    self.found.add(pattern.pattern)

    def feed(self, data: bytes) -> None:
        if self.patterns:
            self.windows.feed(data)

    def result(self) -> list[str]:
        if self.patterns:
            self.windows.finish()
        return sorted(self.found)
