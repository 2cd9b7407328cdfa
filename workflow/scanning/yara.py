"""YARA rules (yara-python) over overlapping windows of the plaintext."""

from __future__ import annotations

from pathlib import Path

import yara

from workflow.scanning.window import Windows

_compiled: dict[tuple[Path, ...], yara.Rules] = {}


def rules(files: list[Path]) -> yara.Rules:
    """Compiled once per worker process (per set of rule files)."""
    key = tuple(files)
    if key not in _compiled:
        _compiled[key] = yara.compile(filepaths={f"r{i}": str(p) for i, p in enumerate(files)})
    return _compiled[key]


class YaraScan:
    def __init__(self, files: list[Path]) -> None:
        self.rules = rules(files)
        self.matches: set[str] = set()
        self.windows = Windows(self._scan)

    def _scan(self, window: bytes) -> None:
        self.matches.update(m.rule for m in self.rules.match(data=window, timeout=60))

    def feed(self, data: bytes) -> None:
        self.windows.feed(data)

    def result(self) -> list[str]:
        self.windows.finish()
        return sorted(self.matches)
