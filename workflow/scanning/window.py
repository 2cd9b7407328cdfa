"""Overlapping windows over a stream, for engines that need contiguous bytes (YARA, DLP):
a pattern shorter than the overlap is found even when it straddles two chunks."""

from __future__ import annotations

from collections.abc import Callable

WINDOW = 4 << 20
OVERLAP = 64 << 10


class Windows:
    """Calls ``scan(window)`` on WINDOW-sized views that overlap by OVERLAP bytes."""

    def __init__(self, scan: Callable[[bytes], None]) -> None:
        self.scan = scan
        self.buf = bytearray()
        self.fresh = 0  # bytes in buf not yet scanned

    def feed(self, data: bytes) -> None:
        self.buf += data
        self.fresh += len(data)
        if len(self.buf) >= WINDOW:
            self.scan(bytes(self.buf))
            del self.buf[:-OVERLAP]
            self.fresh = 0

    def finish(self) -> None:
        if self.fresh or not self.buf:
            self.scan(bytes(self.buf))
        self.buf.clear()
