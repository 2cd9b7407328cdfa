"""MGM AEAD (RFC 9058 App. A): vectors, int vs numpy paths, tamper detection."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gost import mgm
from gost.exceptions import InvalidTag
from gost.mgm import KuznyechikMGM, MagmaMGM

H = bytes.fromhex

VECTORS = [
    (  # A.1.1
        KuznyechikMGM,
        "8899aabbccddeeff0011223344556677fedcba98765432100123456789abcdef",
        "1122334455667700ffeeddccbbaa9988",
        "0202020202020202010101010101010104040404040404040303030303030303ea0505050505050505",
        "1122334455667700ffeeddccbbaa998800112233445566778899aabbcceeff0a"
        "112233445566778899aabbcceeff0a002233445566778899aabbcceeff0a0011aabbcc",
        "a9757b8147956e9055b8a33de89f42fc8075d2212bf9fd5bd3f7069aadc16b39"
        "497ab15915a6ba85936b5d0ea9f6851cc60c14d4d3f883d0ab94420695c76deb2c7552",
        "cf5d656f40c34f5c46e8bb0e29fcdb4c",
    ),
    (  # A.1.2
        KuznyechikMGM,
        "99aabbccddeeff0011223344556677fedcba98765432100123456789abcdef88",
        "1122334455667700ffeeddccbbaa9988",
        "01010101010101010101010101010101",
        "",
        "",
        "7901e9ea2085cd247ed249695f9f8a85",
    ),
    (  # A.2.1
        MagmaMGM,
        "ffeeddccbbaa99887766554433221100f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        "12def06b3c130a59",
        "01010101010101010202020202020202030303030303030304040404040404040505050505050505ea",
        "ffeeddccbbaa998811223344556677008899aabbcceeff0a0011223344556677"
        "99aabbcceeff0a001122334455667788aabbcceeff0a00112233445566778899aabbcc",
        "c795066c5f9ea03b85113342459185ae1f2e00d6bf2b785d940470b8bb9c8e7d"
        "9a5dd3731f7ddc70ec27cb0ace6fa57670f65c646abb75d547aa37c3bcb5c34e03bb9c",
        "a7928069aa10fd10",
    ),
    (  # A.2.2
        MagmaMGM,
        "99aabbccddeeff0011223344556677fedcba98765432100123456789abcdef88",
        "0077665544332211",
        "",
        "22334455667700ff",
        "6a95e1426b259d4e",
        "334ee270450bec9e",
    ),
]


def _vec(v: tuple) -> tuple:
    cls, key, nonce, ad, plain, ct, tag = v
    return cls, H(key), H(nonce), H(ad), H(plain), H(ct), H(tag)


@pytest.fixture(params=["int", "bulk"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    limit = 10**9 if request.param == "int" else 0
    monkeypatch.setattr(mgm, "MGM_BULK_MIN_BLOCKS", dict.fromkeys((8, 16), limit))
    return request.param


@pytest.mark.parametrize("vector", VECTORS, ids=["A.1.1", "A.1.2", "A.2.1", "A.2.2"])
def test_rfc9058_vectors(vector: tuple, path: str) -> None:
    cls, key, nonce, ad, plain, ct, tag = _vec(vector)
    assert len(key) == 32
    aead = cls(key)
    assert aead.encrypt(nonce, plain, ad) == ct + tag
    assert aead.decrypt(nonce, ct + tag, ad) == plain


def test_gf_mul_matches_bit_serial() -> None:
    def slow(a: int, b: int, n: int) -> int:
        bits, poly = 8 * n, {16: 0x87, 8: 0x1B}[n]
        r = 0
        for i in reversed(range(bits)):
            r <<= 1
            if r >> bits:
                r = (r ^ poly) & ((1 << bits) - 1)
            if b >> i & 1:
                r ^= a
        return r

    for n in (16, 8):
        for _ in range(50):
            a, b = (int.from_bytes(os.urandom(n), "big") for _ in range(2))
            assert mgm.gf_mul(a, b, n) == slow(a, b, n)
        top = (1 << 8 * n) - 1
        assert mgm.gf_mul(top, top, n) == slow(top, top, n)


@pytest.mark.parametrize("cls", [KuznyechikMGM, MagmaMGM])
def test_parameter_errors(cls: type) -> None:
    n = cls._cipher_cls.block_size
    aead = cls(bytes(32))
    with pytest.raises(ValueError, match=f"nonce must be {n} bytes"):
        aead.encrypt(bytes(n - 1), b"x", b"")
    with pytest.raises(ValueError, match="most significant bit"):
        aead.encrypt(b"\x80" + bytes(n - 1), b"x", b"")
    with pytest.raises(ValueError, match="both are empty"):
        aead.encrypt(bytes(n), b"", b"")
    with pytest.raises(ValueError, match="must be 32 bytes"):
        cls(bytes(16))
    with pytest.raises(ValueError, match=f"tag size must be 4..{n} bytes"):
        cls(bytes(32), tag_size=n + 1)
    with pytest.raises(InvalidTag):
        aead.decrypt(bytes(n), b"abc", b"")


@pytest.mark.parametrize("cls", [KuznyechikMGM, MagmaMGM])
@pytest.mark.parametrize("size", [1, 7, 8, 15, 16, 17, 1023, 1024, 1025, 4096 * 16 + 5, 300_000])
def test_int_and_bulk_agree(cls: type, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    aead = cls(os.urandom(32), tag_size=6)
    n = cls._cipher_cls.block_size
    nonce = bytes([os.urandom(1)[0] & 0x7F]) + os.urandom(n - 1)
    data, ad = os.urandom(size), os.urandom(size % 97)
    monkeypatch.setattr(mgm, "MGM_BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 0))
    bulk = aead.encrypt(nonce, data, ad)
    monkeypatch.setattr(mgm, "MGM_BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 10**9))
    assert aead.encrypt(nonce, data, ad) == bulk
    assert len(bulk) == size + 6
    assert aead.decrypt(nonce, bulk, ad) == data


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([KuznyechikMGM, MagmaMGM]),
    st.binary(max_size=80),
    st.binary(max_size=40),
    st.integers(min_value=0),
    st.sampled_from(["ct", "nonce", "ad"]),
)
def test_any_bit_flip_is_rejected(
    cls: type, data: bytes, ad: bytes, where: int, part: str
) -> None:
    if not data and not ad:
        ad = b"header"
    aead = cls(bytes(range(32)))
    n = cls._cipher_cls.block_size
    nonce = bytes(range(n))
    sealed = aead.encrypt(nonce, data, ad)
    assert aead.decrypt(nonce, sealed, ad) == data
    target = {"ct": sealed, "nonce": nonce, "ad": ad}[part]
    if not target:
        target, part = sealed, "ct"
    bit = where % (8 * len(target))
    if part == "nonce" and bit < 8 and (bit % 8) == 7:
        bit = 8  # flipping the nonce MSB is a ValueError, not a forgery
    flipped = bytearray(target)
    flipped[bit // 8] ^= 1 << (bit % 8)
    args = {"ct": sealed, "nonce": nonce, "ad": ad}
    args[part] = bytes(flipped)
    with pytest.raises(InvalidTag):
        aead.decrypt(args["nonce"], args["ct"], args["ad"])


def test_truncated_and_extended_ciphertext_rejected() -> None:
    aead = KuznyechikMGM(bytes(32))
    nonce = bytes(16)
    sealed = aead.encrypt(nonce, b"attack at dawn", b"ad")
    for bad in (sealed[:-1], sealed + b"\0", sealed[1:], b""):
        with pytest.raises(InvalidTag):
            aead.decrypt(nonce, bad, b"ad")
