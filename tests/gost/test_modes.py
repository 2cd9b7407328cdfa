"""GOST R 34.13-2015 modes: App. A vectors, bulk vs int paths, padding, OpenSSL oracle."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gost import modes
from gost.kuznyechik import Kuznyechik
from gost.magma import Magma
from tests.gost.oracle import openssl, requires_engine

H = bytes.fromhex

# App. A.1 (n = 128, Kuznyechik)
K_KEY = H("8899aabbccddeeff0011223344556677fedcba98765432100123456789abcdef")
K_P = H("1122334455667700ffeeddccbbaa9988" "00112233445566778899aabbcceeff0a"
        "112233445566778899aabbcceeff0a00" "2233445566778899aabbcceeff0a0011")
K_IV = H("1234567890abcef0a1b2c3d4e5f0011223344556677889901213141516171819")
K_ECB = H("7f679d90bebc24305a468d42b9d4edcd" "b429912c6e0032f9285452d76718d08b"
          "f0ca33549d247ceef3f5a5313bd4b157" "d0b09ccde830b9eb3a02c4c5aa8ada98")
K_CTR = H("f195d8bec10ed1dbd57b5fa240bda1b8" "85eee733f6a13e5df33ce4b33c45dee4"
          "a5eae88be6356ed3d5e877f13564a3a5" "cb91fab1f20cbab6d1c6d15820bdba73")
K_OFB = H("81800a59b1842b24ff1f795e897abd95" "ed5b47a7048cfab48fb521369d9326bf"
          "66a257ac3ca0b8b1c80fe7fc10288a13" "203ebbc066138660a0292243f6903150")
K_CBC = H("689972d4a085fa4d90e52e3d6d7dcc27" "2826e661b478eca6af1e8e448d5ea5ac"
          "fe7babf1e91999e85640e8b0f49d90d0" "167688065a895c631a2d9a1560b63970")
K_CFB = H("81800a59b1842b24ff1f795e897abd95" "ed5b47a7048cfab48fb521369d9326bf"
          "79f2a8eb5cc68d38842d264e97a238b5" "4ffebecd4e922de6c75bd9dd44fbf4d1")
K_MAC = H("336f4d296059fbe3")

# App. A.2 (n = 64, Magma)
M_KEY = H("ffeeddccbbaa99887766554433221100f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
M_P = H("92def06b3c130a59" "db54c704f8189d20" "4a98fb2e67a8024c" "8912409b17b57e41")
M_ECB = H("2b073f0494f372a0" "de70e715d3556e48" "11d8d9e9eacfbc1e" "7c68260996c67efb")
M_CTR = H("4e98110c97b7b93c" "3e250d93d6e85d69" "136d868807b2dbef" "568eb680ab52a12d")
M_IV2 = H("1234567890abcdef234567890abcdef1")
M_IV3 = H("1234567890abcdef234567890abcdef134567890abcdef12")
M_OFB = H("db37e0e266903c83" "0d46644c1f9a089c" "a0f83062430e327e" "c824efb8bd4fdb05")
M_CBC = H("96d1b05eea683919" "aff76129abb937b9" "5058b4a1c4bc0019" "20b78b1a7cd7e667")
M_CFB = H("db37e0e266903c83" "0d46644c1f9a089c" "24bdd2035315d38b" "bcc0321421075505")
M_MAC = H("154e7210")


@pytest.fixture(params=["int", "bulk"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once on the int path and once forcing the numpy path."""
    limit = 10**9 if request.param == "int" else 0
    monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), limit))
    return request.param


def test_kuznyechik_vectors(path: str) -> None:
    k = Kuznyechik(K_KEY)
    assert modes.ecb_encrypt(k, K_P) == K_ECB
    assert modes.ecb_decrypt(k, K_ECB) == K_P
    assert modes.ctr(k, K_IV[:8], K_P) == K_CTR
    assert modes.ctr(k, K_IV[:8], K_CTR) == K_P
    assert modes.ofb(k, K_IV, K_P) == K_OFB
    assert modes.ofb(k, K_IV, K_OFB) == K_P
    assert modes.cbc_encrypt(k, K_IV, K_P) == K_CBC
    assert modes.cbc_decrypt(k, K_IV, K_CBC) == K_P
    assert modes.cfb_encrypt(k, K_IV, K_P) == K_CFB
    assert modes.cfb_decrypt(k, K_IV, K_CFB) == K_P
    assert modes.omac(k, K_P, 8) == K_MAC


def test_magma_vectors(path: str) -> None:
    m = Magma(M_KEY)
    assert modes.ecb_encrypt(m, M_P) == M_ECB
    assert modes.ecb_decrypt(m, M_ECB) == M_P
    assert modes.ctr(m, H("12345678"), M_P) == M_CTR
    assert modes.ofb(m, M_IV2, M_P) == M_OFB
    assert modes.ofb(m, M_IV2, M_OFB) == M_P
    assert modes.cbc_encrypt(m, M_IV3, M_P) == M_CBC
    assert modes.cbc_decrypt(m, M_IV3, M_CBC) == M_P
    assert modes.cfb_encrypt(m, M_IV2, M_P) == M_CFB
    assert modes.cfb_decrypt(m, M_IV2, M_CFB) == M_P
    assert modes.omac(m, M_P, 4) == M_MAC


def test_omac_subkeys() -> None:
    mac = modes.Omac(Kuznyechik(K_KEY))
    assert f"{mac._k1:032x}" == "297d82bc4d39e3ca0de0573298151dc7"
    assert f"{mac._k2:032x}" == "52fb05789a73c7941bc0ae65302a3b8e"
    mac = modes.Omac(Magma(M_KEY))
    assert (f"{mac._k1:016x}", f"{mac._k2:016x}") == ("5f459b3342521424", "be8b366684a42848")


def test_padding() -> None:
    assert modes.pad1(b"abc", 8) == b"abc" + bytes(5)
    assert modes.pad1(b"12345678", 8) == b"12345678"
    assert modes.pad2(b"12345678", 8) == b"12345678\x80" + bytes(7)
    assert modes.pad2(b"", 8) == b"\x80" + bytes(7)
    assert modes.pad3(b"12345678", 8) == b"12345678"
    assert modes.pad3(b"123", 8) == b"123\x80" + bytes(4)
    assert modes.unpad2(modes.pad2(b"abc\x80\x00", 8), 8) == b"abc\x80\x00"
    for bad in (b"", b"12345678", bytes(8), b"\x80" + bytes(8)):
        with pytest.raises(ValueError, match="padding"):
            modes.unpad2(bad, 8)


@pytest.mark.parametrize("cls", [Kuznyechik, Magma])
def test_iv_and_size_errors(cls: type) -> None:
    c = cls(bytes(32))
    n = c.block_size
    with pytest.raises(ValueError, match=f"CTR IV must be {n // 2} bytes"):
        modes.ctr(c, bytes(n), b"x")
    with pytest.raises(ValueError, match=f"multiple of {n} bytes"):
        modes.cbc_encrypt(c, bytes(n + 1), bytes(n))
    with pytest.raises(ValueError, match=f"multiple of {n} bytes"):
        modes.ecb_encrypt(c, bytes(n + 1))
    with pytest.raises(ValueError, match=f"at least {n} bytes"):
        modes.cfb_encrypt(c, bytes(n - 1), b"x")
    with pytest.raises(ValueError, match=f"1..{n} bytes"):
        modes.ctr(c, bytes(n // 2), b"x", s=n + 1)


SIZES = [0, 1, 15, 16, 17, 255, 256, 257, 4095, 4096, 4097, 65536 * 8 + 3]


@pytest.mark.parametrize("cls", [Kuznyechik, Magma])
@pytest.mark.parametrize("size", SIZES)
def test_bulk_equals_int(cls: type, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Differential test: the numpy and the int paths agree on random keys and sizes."""
    c = cls(os.urandom(32))
    n = c.block_size
    data = os.urandom(size)
    whole = data[:size - size % n]
    iv_ctr, iv = os.urandom(n // 2), os.urandom(2 * n)
    small = data[:5000]  # the int path is slow; compare it on a prefix for huge sizes

    def run() -> tuple[bytes, ...]:
        return (
            modes.ctr(c, iv_ctr, small),
            modes.ctr(c, iv_ctr, small, s=n // 2 + 1),
            modes.ecb_encrypt(c, whole[:4096]),
            modes.ecb_decrypt(c, whole[:4096]),
            modes.cbc_decrypt(c, iv, whole[:4096]),
            modes.cfb_decrypt(c, iv, small),
            modes.cfb_decrypt(c, iv[:n + 3], small, s=3),
        )

    monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 0))
    bulk = run()
    monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 10**9))
    assert run() == bulk
    if size > 5000:  # long input through the bulk path: CTR split at a block boundary
        monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 0))
        cut = (size // 2) // n * n
        whole_ctr = modes.ctr(c, iv_ctr, data)
        assert whole_ctr == modes.ctr(c, iv_ctr, data[:cut]) + modes.ctr(
            c, iv_ctr, data[cut:], first=cut // n
        )


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([Kuznyechik, Magma]),
    st.binary(max_size=200),
    st.integers(1, 16),
    st.integers(1, 3),
)
def test_roundtrips(cls: type, data: bytes, s: int, z: int) -> None:
    c = cls(bytes(range(32)))
    n = c.block_size
    s = min(s, n)
    iv = bytes(range(100, 100 + z * n))
    padded = modes.pad2(data, n)
    assert modes.ctr(c, iv[: n // 2], modes.ctr(c, iv[: n // 2], data, s), s) == data
    assert modes.ofb(c, iv, modes.ofb(c, iv, data, s), s) == data
    assert modes.unpad2(modes.cbc_decrypt(c, iv, modes.cbc_encrypt(c, iv, padded)), n) == data
    assert modes.cfb_decrypt(c, iv[: n + z], modes.cfb_encrypt(c, iv[: n + z], data, s), s) == data
    assert modes.ecb_decrypt(c, modes.ecb_encrypt(c, padded)) == padded


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=100), st.integers(0, 100))
def test_omac_incremental(data: bytes, cut: int) -> None:
    c = Magma(bytes(32))
    mac = modes.Omac(c)
    mac.update(data[:cut])
    mac.update(data[cut:])
    assert mac.finalize() == modes.omac(c, data)


# -- OpenSSL engine as oracle (CTR IV = n/2; OpenSSL caps IVs at one block) ---------------

ORACLE_SIZES = [1, 16, 1000, 70001]


@requires_engine
@pytest.mark.oracle
@pytest.mark.parametrize("size", ORACLE_SIZES)
@pytest.mark.parametrize(("name", "cls"), [("kuznyechik", Kuznyechik), ("magma", Magma)])
def test_oracle_stream_modes(name: str, cls: type, size: int) -> None:
    key, data = os.urandom(32), os.urandom(size)
    c = cls(key)
    n = c.block_size
    iv_half, iv = os.urandom(n // 2), os.urandom(n)
    K = ["-K", key.hex()]
    assert openssl("enc", f"-{name}-ctr", *K, "-iv", iv_half.hex(), data=data) == modes.ctr(
        c, iv_half, data
    )
    if name == "kuznyechik":  # the engine has no magma-ofb / magma-cfb
        assert openssl("enc", f"-{name}-ofb", *K, "-iv", iv.hex(), data=data) == modes.ofb(
            c, iv, data
        )
        assert openssl("enc", f"-{name}-cfb", *K, "-iv", iv.hex(), data=data) == (
            modes.cfb_encrypt(c, iv, data)
        )
    whole = data[: size - size % n] or bytes(n)
    assert openssl("enc", f"-{name}-cbc", *K, "-iv", iv.hex(), "-nopad", data=whole) == (
        modes.cbc_encrypt(c, iv, whole)
    )


@requires_engine
@pytest.mark.oracle
@pytest.mark.parametrize("size", [0, 1, 8, 16, 33, 1000])
@pytest.mark.parametrize(
    ("name", "cls", "tag"), [("kuznyechik", Kuznyechik, 8), ("magma", Magma, 4)]
)
def test_oracle_mac(name: str, cls: type, tag: int, size: int) -> None:
    key, data = os.urandom(32), os.urandom(size)
    out = openssl(
        "dgst", "-mac", f"{name}-mac", "-macopt", f"hexkey:{key.hex()}", "-sigopt",
        f"size:{tag}", "-r", data=data,
    ).split()[0].decode()
    assert out == modes.omac(cls(key), data, tag).hex()


@pytest.mark.parametrize("cls", [Kuznyechik, Magma])
def test_ctr_few_mib_bulk_equals_int(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """A multi-chunk, multi-segment input (2 MiB + 5 B) through both paths."""
    c = cls(os.urandom(32))
    iv, data = os.urandom(c.block_size // 2), os.urandom(2 * 1024 * 1024 + 5)
    monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 0))
    bulk = modes.ctr(c, iv, data, first=2**20)
    monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 10**9))
    assert modes.ctr(c, iv, data, first=2**20) == bulk
