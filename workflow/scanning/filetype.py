"""File type (libmagic on the first bytes) and size policy."""

from __future__ import annotations

import magic

HEAD = 64 << 10


class MimeOf:
    """libmagic's MIME type of a file head, asked once per distinct head. One scan asks for
    the same head three times (the type policy, the verdict's detail, DLP's text test) and
    libmagic takes ~2 ms on a text head. Made per scan, so the head it keeps (plaintext)
    lives no longer than the scan; compared byte for byte, never a stale answer."""

    def __init__(self) -> None:
        self._head, self._mime = b"", ""

    def __call__(self, head: bytes) -> str:
        if not self._mime or self._head != head:
            self._head, self._mime = head, magic.from_buffer(head, mime=True)
        return self._mime


class FileTypeCheck:
    def __init__(self, blocked: tuple[str, ...], max_size: int,
                 mime_of: MimeOf | None = None) -> None:
        self.blocked, self.max_size = blocked, max_size
        self.mime_of = mime_of or MimeOf()
        self.head = bytearray()
        self.size = 0

    def feed(self, data: bytes) -> None:
        if len(self.head) < HEAD:
            self.head += data[:HEAD - len(self.head)]
        self.size += len(data)

    def mime(self) -> str:
        return self.mime_of(bytes(self.head)) if self.head else "inode/x-empty"

    def result(self) -> str | None:
        """The reason this file is refused, or None."""
        if self.size > self.max_size:
            return f"file of {self.size} bytes exceeds the scanning limit of {self.max_size}"
        mime = self.mime()
        if mime in self.blocked:
            return f"file type {mime} is not allowed"
        return None
