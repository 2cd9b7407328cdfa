"""File type (libmagic on the first bytes) and size policy."""

from __future__ import annotations

import magic

HEAD = 64 << 10


class FileTypeCheck:
    def __init__(self, blocked: tuple[str, ...], max_size: int) -> None:
        self.blocked, self.max_size = blocked, max_size
        self.head = bytearray()
        self.size = 0

    def feed(self, data: bytes) -> None:
        if len(self.head) < HEAD:
            self.head += data[:HEAD - len(self.head)]
        self.size += len(data)

    def mime(self) -> str:
        return magic.from_buffer(bytes(self.head), mime=True) if self.head else "inode/x-empty"

    def result(self) -> str | None:
        """The reason this file is refused, or None."""
        if self.size > self.max_size:
            return f"file of {self.size} bytes exceeds the scanning limit of {self.max_size}"
        mime = self.mime()
        if mime in self.blocked:
            return f"file type {mime} is not allowed"
        return None
