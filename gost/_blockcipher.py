"""What the modes of operation need from a block cipher, and the bulk-kernel plumbing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

#: blocks per numpy chunk: big enough to amortise call overhead, small enough for L2
CHUNK_BLOCKS = 8192

_local = threading.local()


def scratch(count: int, ncols: int, k: int) -> list[np.ndarray]:
    """``k`` reusable (count, ncols) uint64 work arrays private to this thread.

    Reusing them matters: fresh arrays of this size come from mmap and every chunk would
    pay the page faults again.
    """
    cache = _local.__dict__.setdefault("bufs", {})
    bufs = cache.get((ncols, k))
    if bufs is None or bufs[0].shape[0] < count:
        bufs = [np.empty((max(count, CHUNK_BLOCKS), ncols), np.uint64) for _ in range(k)]
        cache[(ncols, k)] = bufs
    return [b[:count] for b in bufs]


class BlockCipher(Protocol):
    """A keyed block cipher with a Python-int path and a numpy bulk path.

    Blocks map to ints big-endian (``int.from_bytes(block, "big")``), which is how
    GOST R 34.12/34.13 print them.
    """

    block_size: int

    def encrypt_block(self, block: bytes) -> bytes: ...
    def decrypt_block(self, block: bytes) -> bytes: ...
    def encrypt_int(self, x: int) -> int: ...
    def decrypt_int(self, x: int) -> int: ...
    def encrypt_blocks(self, data: bytes | np.ndarray, counters: bool = False) -> np.ndarray: ...
    def decrypt_blocks(self, data: bytes | np.ndarray) -> np.ndarray: ...

    @staticmethod
    def encrypt_blocks_multi(
        data: bytes | np.ndarray, ciphers: list, which: np.ndarray
    ) -> np.ndarray: ...


def as_blocks(data: bytes | np.ndarray, block_size: int) -> np.ndarray:
    """View ``data`` as a flat uint8 array, checking it is whole blocks."""
    arr = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    if arr.dtype != np.uint8 or arr.ndim != 1:
        arr = arr.reshape(-1).view(np.uint8)
    if arr.size % block_size:
        raise ValueError(f"bulk input must be a multiple of {block_size} bytes, got {arr.size}")
    return arr


def chunked(
    data: bytes | np.ndarray,
    block_size: int,
    kernel: Callable[[np.ndarray, np.ndarray], None],
    chunk_blocks: int = CHUNK_BLOCKS,
) -> np.ndarray:
    """Run ``kernel(src_chunk, dst_chunk)`` over ``chunk_blocks``-sized slices into a new array."""
    src = as_blocks(data, block_size)
    out = np.empty_like(src)
    step = chunk_blocks * block_size
    for off in range(0, src.size, step):
        kernel(src[off:off + step], out[off:off + step])
    return out


def chunked_multi(
    data: bytes | np.ndarray,
    block_size: int,
    which: np.ndarray,
    kernel: Callable[[np.ndarray, np.ndarray, np.ndarray], None],
) -> np.ndarray:
    """Like :func:`chunked`, also passing each chunk's slice of ``which`` (one entry per block)."""
    src = as_blocks(data, block_size)
    if which.shape != (src.size // block_size,):
        raise ValueError("need one key index per block")
    out = np.empty_like(src)
    for lo in range(0, which.size, CHUNK_BLOCKS):
        hi = min(lo + CHUNK_BLOCKS, which.size)
        kernel(src[lo * block_size:hi * block_size], out[lo * block_size:hi * block_size],
               which[lo:hi])
    return out
