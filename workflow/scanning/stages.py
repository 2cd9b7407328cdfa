"""Pipelining for the scanner: a stage of the chunk stream runs in its own thread.

The two decryption passes (at rest, then end to end) are numpy work that releases the GIL,
so with each in its own thread they run on both cores at once while the engines (clamd's
socket, YARA, SHA-256 — all GIL-free too) consume the previous chunk. Queues between the
stages hold at most ``depth`` chunks, so memory stays bounded whatever the file size, and
the plaintext still lives only in those few chunks.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


class _Failure:
    """An exception raised by the producing stage, handed over to be raised by the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def ahead(source: Iterable[T], depth: int = 2, name: str = "scan-stage") -> Iterator[T]:
    """Iterate ``source`` in a thread, up to ``depth`` items ahead of the caller.

    Exceptions from ``source`` are raised in the caller at the point they occurred; when the
    caller stops early (or fails) the producer is stopped and ``source`` closed before this
    generator finishes, so nothing keeps running (or holds files open) behind its back."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(source, items, stop), name=name,
                              daemon=True)
    thread.start()
    try:
        while (item := items.get()) is not _END:
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                items.get(timeout=0.05)
        thread.join()


def _produce(source: Iterable[T], items: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in source:
            if stop.is_set():
                return
            items.put(item)
        items.put(_END)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
        items.put(_Failure(exc))
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
