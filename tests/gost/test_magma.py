"""Magma (GOST R 34.12-2015, RFC 8891 App. A): vectors, int vs numpy, oracle."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gost import magma
from gost.magma import Magma
from tests.gost.oracle import openssl, requires_engine

KEY = bytes.fromhex("ffeeddccbbaa99887766554433221100f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")


def _t(x: int) -> int:
    """t alone: undo the rotation folded into the tables."""
    g = int(magma._NP_LO[x & 0xFFFF] ^ magma._NP_HI[x >> 16])
    return ((g >> 11) | (g << 21)) & 0xFFFFFFFF


def test_rfc8891_t() -> None:
    chain = [0xFDB97531, 0x2A196F34, 0xEBD9F03A, 0xB039BB3D, 0x68695433]
    for a, b in zip(chain, chain[1:], strict=False):
        assert _t(a) == b


def test_rfc8891_g() -> None:
    for k, a, b in [(0x87654321, 0xFEDCBA98, 0xFDCBC20C), (0xFDCBC20C, 0x87654321, 0x7E791A4B),
                    (0x7E791A4B, 0xFDCBC20C, 0xC76549EC), (0xC76549EC, 0x7E791A4B, 0x9791C849)]:
        s = (a + k) & 0xFFFFFFFF
        assert magma._NP_LO[s & 0xFFFF] ^ magma._NP_HI[s >> 16] == b


def test_rfc8891_key_schedule() -> None:
    keys = Magma(KEY)._enc_keys
    assert keys[:8] == (0xFFEEDDCC, 0xBBAA9988, 0x77665544, 0x33221100,
                        0xF0F1F2F3, 0xF4F5F6F7, 0xF8F9FAFB, 0xFCFDFEFF)
    assert keys[24:] == keys[:8][::-1]
    assert keys[31] == 0xFFEEDDCC


def test_rfc8891_encrypt_decrypt() -> None:
    m = Magma(KEY)
    plain, cipher = bytes.fromhex("fedcba9876543210"), bytes.fromhex("4ee901e5c2d8ca3d")
    assert m.encrypt_block(plain) == cipher
    assert m.decrypt_block(cipher) == plain
    assert m.encrypt_blocks(plain).tobytes() == cipher
    assert m.decrypt_blocks(cipher).tobytes() == plain


@pytest.mark.parametrize("bad", [0, 8, 16, 31, 33])
def test_wrong_key_size(bad: int) -> None:
    with pytest.raises(ValueError, match="must be 32 bytes"):
        Magma(bytes(bad))


def test_wrong_block_size() -> None:
    with pytest.raises(ValueError, match="8 bytes"):
        Magma(KEY).encrypt_block(bytes(16))


@pytest.mark.parametrize("nblocks", [0, 1, 3, 8191, 8192, 8193, 30000])
def test_bulk_matches_int_path(nblocks: int) -> None:
    m = Magma(os.urandom(32))
    data = os.urandom(8 * nblocks)
    enc = m.encrypt_blocks(data).tobytes()
    for i in sorted({0, nblocks // 2, nblocks - 1, *range(min(nblocks, 64))}):
        if 0 <= i < nblocks:
            assert enc[8 * i:8 * i + 8] == m.encrypt_block(data[8 * i:8 * i + 8])
    assert m.decrypt_blocks(enc).tobytes() == data


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=8, max_size=8))
def test_roundtrip(key: bytes, block: bytes) -> None:
    m = Magma(key)
    assert m.decrypt_block(m.encrypt_block(block)) == block


@requires_engine
@pytest.mark.oracle
def test_oracle_single_block() -> None:
    """No magma-ecb on the CLI: CBC with a zero IV over one block is the same thing."""
    key, block = os.urandom(32), os.urandom(8)
    out = openssl("enc", "-magma-cbc", "-K", key.hex(), "-iv", "00" * 8, "-nopad", data=block)
    assert out == Magma(key).encrypt_block(block)
