"""Chunked, streaming Kuznyechik-MGM encryption with bounded memory.

Format (all integers big-endian)::

    header  = "OGS" || version (1 byte, 1) || chunk_size (4) || prefix (12)
    chunk_i = MGM-Encrypt(K, nonce_i, A_i, P_i)        (ciphertext || 16-byte tag)
    nonce_i = prefix || i (4 bytes)                    prefix has its top bit clear
    A_i     = header || final_i (1 byte: 1 on the last chunk, else 0)

Every plaintext chunk is ``chunk_size`` bytes except the last, which holds 0..chunk_size
bytes and is always present (so an empty input still yields a header and one tag). The
header rides in every chunk's associated data and the per-stream random prefix in every
nonce, so chunks cannot be reordered, swapped, dropped, moved to another stream or have
the header edited; the final flag makes truncation at a chunk boundary and appended
chunks fail. A decryptor releases a chunk's plaintext only after its tag verifies; it
learns that the stream is *complete* only when :meth:`StreamDecryptor.finalize` returns,
so treat earlier output as provisional until then.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from gost.exceptions import DecodeError, InvalidTag
from gost.mgm import KuznyechikMGM

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "StreamDecryptor",
    "StreamEncryptor",
    "decrypt_stream",
    "encrypt_stream",
]

MAGIC = b"OGS"
VERSION = 1
DEFAULT_CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 64 * 1024 * 1024
HEADER_SIZE = 20
TAG_SIZE = 16
_MAX_CHUNKS = 1 << 32


def _check_chunk_size(chunk_size: int) -> None:
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size must be 1..{MAX_CHUNK_SIZE} bytes, got {chunk_size}")


class _Chunker:
    """Shared state: the AEAD, the header and the chunk counter."""

    def __init__(self, key: bytes, header: bytes) -> None:
        self.aead = KuznyechikMGM(key)
        self._header = header
        self._prefix = header[8:]
        self._index = 0

    def next_nonce_ad(self, final: bool) -> tuple[bytes, bytes]:
        if self._index >= _MAX_CHUNKS:
            raise ValueError("stream too long: chunk counter exhausted")
        nonce = self._prefix + self._index.to_bytes(4, "big")
        self._index += 1
        return nonce, self._header + (b"\x01" if final else b"\x00")


class StreamEncryptor:
    """Incremental encryptor: feed update(), then finalize(); output = concatenation."""

    def __init__(
        self, key: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE, prefix: bytes | None = None
    ) -> None:
        _check_chunk_size(chunk_size)
        prefix = bytearray(os.urandom(12) if prefix is None else prefix)
        if len(prefix) != 12:
            raise ValueError(f"stream prefix must be 12 bytes, got {len(prefix)}")
        prefix[0] &= 0x7F
        self.chunk_size = chunk_size
        self.header = MAGIC + bytes((VERSION,)) + struct.pack(">I", chunk_size) + bytes(prefix)
        self._chunker = _Chunker(key, self.header)
        self._buf = bytearray()
        self._started = False
        self._done = False

    def _emit_header(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self.header

    def update(self, data: bytes) -> bytes:
        """Encrypt every complete chunk that is known not to be the last one."""
        if self._done:
            raise ValueError("stream already finalized")
        self._buf += data
        out = [self._emit_header()]
        size = self.chunk_size
        while len(self._buf) > size:  # strictly more: the last chunk is held back
            nonce, ad = self._chunker.next_nonce_ad(final=False)
            out.append(self._chunker.aead.encrypt(nonce, bytes(self._buf[:size]), ad))
            del self._buf[:size]
        return b"".join(out)

    def finalize(self) -> bytes:
        """Encrypt the final chunk (possibly empty) with the final flag set."""
        if self._done:
            raise ValueError("stream already finalized")
        self._done = True
        nonce, ad = self._chunker.next_nonce_ad(final=True)
        last = self._chunker.aead.encrypt(nonce, bytes(self._buf), ad)
        self._buf.clear()
        return self._emit_header() + last


class StreamDecryptor:
    """Incremental decryptor; raises InvalidTag on any tampering, truncation or splicing."""

    def __init__(self, key: bytes) -> None:
        self._key = bytes(key)
        self._chunker: _Chunker | None = None
        self._buf = bytearray()
        self._done = False
        self.chunk_size = 0

    def _parse_header(self) -> None:
        header = bytes(self._buf[:HEADER_SIZE])
        if header[:3] != MAGIC or header[3] != VERSION:
            raise DecodeError("not an Oplot GOST stream (bad magic or version)")
        (self.chunk_size,) = struct.unpack(">I", header[4:8])
        if not 1 <= self.chunk_size <= MAX_CHUNK_SIZE or header[8] & 0x80:
            raise DecodeError("corrupt stream header")
        self._chunker = _Chunker(self._key, header)
        del self._buf[:HEADER_SIZE]

    def update(self, data: bytes) -> bytes:
        """Return the plaintext of every chunk that verified and is known not to be last."""
        if self._done:
            raise ValueError("stream already finalized")
        self._buf += data
        if self._chunker is None:
            if len(self._buf) < HEADER_SIZE:
                return b""
            self._parse_header()
        out = []
        sealed = self.chunk_size + TAG_SIZE
        while len(self._buf) > sealed:
            nonce, ad = self._chunker.next_nonce_ad(final=False)
            out.append(self._chunker.aead.decrypt(nonce, bytes(self._buf[:sealed]), ad))
            del self._buf[:sealed]
        return b"".join(out)

    def finalize(self) -> bytes:
        """Verify and return the final chunk; InvalidTag if the stream is cut or altered."""
        if self._done:
            raise ValueError("stream already finalized")
        self._done = True
        if self._chunker is None:
            raise InvalidTag  # not even a header: truncated
        nonce, ad = self._chunker.next_nonce_ad(final=True)
        return self._chunker.aead.decrypt(nonce, bytes(self._buf), ad)


def encrypt_stream(
    key: bytes, src: BinaryIO, dst: BinaryIO, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> int:
    """Encrypt file-like ``src`` into ``dst``; returns the number of bytes written."""
    enc = StreamEncryptor(key, chunk_size)
    written = 0
    while block := src.read(chunk_size):
        written += dst.write(enc.update(block))
    return written + dst.write(enc.finalize())


def decrypt_stream(key: bytes, src: BinaryIO, dst: BinaryIO, read_size: int = 1 << 20) -> int:
    """Decrypt ``src`` into ``dst``; InvalidTag if anything fails (dst may hold a prefix)."""
    dec = StreamDecryptor(key)
    written = 0
    while block := src.read(read_size):
        written += dst.write(dec.update(block))
    return written + dst.write(dec.finalize())
