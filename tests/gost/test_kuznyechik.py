"""Kuznyechik (GOST R 34.12-2015, RFC 7801 section 5): vectors, int vs numpy, oracle."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gost import kuznyechik as kz
from gost.kuznyechik import Kuznyechik
from tests.gost.oracle import openssl, requires_engine

KEY = bytes.fromhex("8899aabbccddeeff0011223344556677fedcba98765432100123456789abcdef")
PLAIN = bytes.fromhex("1122334455667700ffeeddccbbaa9988")
CIPHER = bytes.fromhex("7f679d90bebc24305a468d42b9d4edcd")


def test_rfc7801_s() -> None:
    chain = ["ffeeddccbbaa99881122334455667700", "b66cd8887d38e8d77765aeea0c9a7efc",
             "559d8dd7bd06cbfe7e7b262523280d39", "0c3322fed531e4630d80ef5c5a81c50b",
             "23ae65633f842d29c5df529c13f5acda"]
    for a, b in zip(chain, chain[1:], strict=False):
        assert bytes.fromhex(a).translate(kz.PI).hex() == b
        assert bytes.fromhex(b).translate(kz.PI_INV).hex() == a


def test_rfc7801_l() -> None:
    chain = ["64a59400000000000000000000000000", "d456584dd0e3e84cc3166e4b7fa2890d",
             "79d26221b87b584cd42fbc4ffea5de9a", "0e93691a0cfc60408b7b68f66b513c13",
             "e6a8094fee0aa204fd97bcb0b44b8580"]
    for a, b in zip(chain, chain[1:], strict=False):
        assert kz._linear(bytes.fromhex(a)).hex() == b
        assert kz._linear_inv(bytes.fromhex(b)).hex() == a


def test_rfc7801_key_schedule() -> None:
    expected = [
        "8899aabbccddeeff0011223344556677", "fedcba98765432100123456789abcdef",
        "db31485315694343228d6aef8cc78c44", "3d4553d8e9cfec6815ebadc40a9ffd04",
        "57646468c44a5e28d3e59246f429f1ac", "bd079435165c6432b532e82834da581b",
        "51e640757e8745de705727265a0098b1", "5a7925017b9fdd3ed72a91a22286f984",
        "bb44e25378c73123a5f32f73cdb6e517", "72e9dd7416bcf45b755dbaa88e4a4043",
    ]
    assert [f"{k:032x}" for k in Kuznyechik(KEY)._keys] == expected
    assert f"{kz._C[0]:032x}" == "6ea276726c487ab85d27bd10dd849401"


def test_rfc7801_encrypt_decrypt() -> None:
    k = Kuznyechik(KEY)
    assert k.encrypt_block(PLAIN) == CIPHER
    assert k.decrypt_block(CIPHER) == PLAIN
    assert k.encrypt_blocks(PLAIN).tobytes() == CIPHER
    assert k.decrypt_blocks(CIPHER).tobytes() == PLAIN


@pytest.mark.parametrize("bad", [0, 16, 31, 33, 64])
def test_wrong_key_size(bad: int) -> None:
    with pytest.raises(ValueError, match="must be 32 bytes"):
        Kuznyechik(bytes(bad))


def test_wrong_block_size() -> None:
    k = Kuznyechik(KEY)
    with pytest.raises(ValueError, match="16 bytes"):
        k.encrypt_block(b"short")
    with pytest.raises(ValueError, match="multiple of 16"):
        k.encrypt_blocks(bytes(17))


@pytest.mark.parametrize("nblocks", [0, 1, 2, 7, 8191, 8192, 8193, 20000])
def test_bulk_matches_int_path(nblocks: int) -> None:
    k = Kuznyechik(os.urandom(32))
    data = os.urandom(16 * nblocks)
    enc = k.encrypt_blocks(data).tobytes()
    # the int path on a sample of blocks (all of them for small inputs)
    for i in sorted({0, nblocks // 2, nblocks - 1, *range(min(nblocks, 64))}):
        if 0 <= i < nblocks:
            assert enc[16 * i:16 * i + 16] == k.encrypt_block(data[16 * i:16 * i + 16])
    assert k.decrypt_blocks(enc).tobytes() == data


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=16, max_size=16))
def test_roundtrip(key: bytes, block: bytes) -> None:
    k = Kuznyechik(key)
    assert k.decrypt_block(k.encrypt_block(block)) == block
    assert k.decrypt_int(k.encrypt_int(int.from_bytes(block, "big"))) == int.from_bytes(
        block, "big"
    )


@requires_engine
@pytest.mark.oracle
def test_oracle_ecb() -> None:
    key, data = os.urandom(32), os.urandom(16 * 37)
    out = openssl("enc", "-kuznyechik-ecb", "-K", key.hex(), "-nopad", data=data)
    assert out == Kuznyechik(key).encrypt_blocks(data).tobytes()


@pytest.mark.parametrize("start", [0, 255, 0x0105, 2**64 - 5000, 2**63])
@pytest.mark.parametrize("half", ["right", "left"])
def test_counter_first_round_shortcut(start: int, half: str) -> None:
    """encrypt_blocks(counters=True) skips constant columns; it must not change results."""
    k = Kuznyechik(os.urandom(32))
    blocks = np.empty((20000, 16), dtype=np.uint8)
    blocks[:] = np.frombuffer(os.urandom(16), dtype=np.uint8)
    cols = slice(8, 16) if half == "right" else slice(0, 8)
    blocks[:, cols].view(">u8")[:, 0] = np.arange(20000, dtype=np.uint64) + np.uint64(start)
    flat = blocks.reshape(-1)
    assert k.encrypt_blocks(flat, counters=True).tobytes() == k.encrypt_blocks(flat).tobytes()
