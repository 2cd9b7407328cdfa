"""Streaming chunked Kuznyechik-MGM: round trips and every way of cutting or splicing."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gost import stream
from gost.exceptions import DecodeError, InvalidTag

KEY = bytes(range(32))
CS = 64  # small chunks so tests have many of them
SEALED = CS + stream.TAG_SIZE


def _seal(data: bytes, chunk_size: int = CS, key: bytes = KEY) -> bytes:
    enc = stream.StreamEncryptor(key, chunk_size)
    return enc.update(data) + enc.finalize()


def _open(blob: bytes, key: bytes = KEY, step: int = 1000) -> bytes:
    dec = stream.StreamDecryptor(key)
    out = [dec.update(blob[i:i + step]) for i in range(0, len(blob), step)]
    return b"".join(out) + dec.finalize()


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    body = blob[stream.HEADER_SIZE:]
    return blob[:stream.HEADER_SIZE], [body[i:i + SEALED] for i in range(0, len(body), SEALED)]


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=700), st.integers(1, 200), st.integers(1, 300))
def test_roundtrip(data: bytes, chunk_size: int, step: int) -> None:
    blob = _seal(data, chunk_size)
    assert len(blob) == stream.HEADER_SIZE + len(data) + 16 * (
        max(1, -(-len(data) // chunk_size))
    )
    assert _open(blob, step=step) == data


def test_file_api_roundtrip_large() -> None:
    data = os.urandom(3 * stream.DEFAULT_CHUNK_SIZE + 123)
    sealed, opened = io.BytesIO(), io.BytesIO()
    stream.encrypt_stream(KEY, io.BytesIO(data), sealed)
    stream.decrypt_stream(KEY, io.BytesIO(sealed.getvalue()), opened)
    assert opened.getvalue() == data


def test_exact_multiple_and_empty() -> None:
    for data in (b"", bytes(CS), bytes(3 * CS)):
        assert _open(_seal(data)) == data


DATA = bytes(range(256)) * 2  # 512 bytes: 8 full chunks + an empty final one


def _attacks() -> dict[str, bytes]:
    blob = _seal(DATA)
    header, chunks = _chunks(blob)
    other_header, other_chunks = _chunks(_seal(DATA))  # same key, another random prefix
    swapped = chunks[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    bigger = bytearray(header)
    bigger[7] += 1
    return {
        "truncated at chunk boundary": header + b"".join(chunks[:-1]),
        "truncated mid chunk": blob[:-5],
        "dropped middle chunk": header + b"".join(chunks[:3] + chunks[4:]),
        "swapped chunks": header + b"".join(swapped),
        "reordered": header + b"".join(chunks[::-1]),
        "spliced from another stream": header + b"".join(chunks[:2] + other_chunks[2:]),
        "other header": other_header + b"".join(chunks),
        "appended chunk": blob + other_chunks[-1],
        "chunk size edited": bytes(bigger) + b"".join(chunks),
        "header only": header,
        "nothing": b"",
    }


@pytest.mark.parametrize("name", list(_attacks()))
def test_attacks_rejected(name: str) -> None:
    with pytest.raises((InvalidTag, DecodeError)):
        _open(_attacks()[name])


def test_nothing_released_from_bad_chunk() -> None:
    blob = bytearray(_seal(DATA))
    blob[stream.HEADER_SIZE + SEALED + 3] ^= 1  # damage chunk 1
    dec = stream.StreamDecryptor(KEY)
    out = dec.update(bytes(blob[: stream.HEADER_SIZE + SEALED + 1]))
    assert out == DATA[:CS]  # chunk 0 verified; chunk 1 not yet complete
    with pytest.raises(InvalidTag):
        dec.update(bytes(blob[stream.HEADER_SIZE + SEALED + 1:]))


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0))
def test_any_bit_flip_rejected(where: int) -> None:
    blob = bytearray(_seal(DATA[:200]))
    bit = where % (8 * len(blob))
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises((InvalidTag, DecodeError)):
        _open(bytes(blob))


def test_wrong_key_and_bad_parameters() -> None:
    with pytest.raises(InvalidTag):
        _open(_seal(b"secret"), key=bytes(32))
    with pytest.raises(ValueError, match="chunk size"):
        stream.StreamEncryptor(KEY, 0)
    with pytest.raises(ValueError, match="must be 32 bytes"):
        stream.StreamEncryptor(KEY[:16])
    with pytest.raises(DecodeError, match="magic"):
        _open(b"XXXX" + bytes(40))


def test_memory_is_bounded() -> None:
    dec = stream.StreamDecryptor(KEY)
    blob = _seal(os.urandom(50 * CS))
    for i in range(0, len(blob), 7):
        dec.update(blob[i:i + 7])
        assert len(dec._buf) <= SEALED + 7
    dec.finalize()
