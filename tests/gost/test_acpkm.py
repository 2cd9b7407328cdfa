"""CTR-ACPKM and OMAC-ACPKM: R 1323565.1.017-2018 App. A vectors, bulk vs int, oracle."""

from __future__ import annotations

import os

import pytest

from gost import acpkm, modes
from gost.kuznyechik import Kuznyechik
from gost.magma import Magma
from tests.gost.oracle import openssl, requires_engine

H = bytes.fromhex
KEY = H("8899aabbccddeeff0011223344556677fedcba98765432100123456789abcdef")
PLAIN = H(
    "1122334455667700ffeeddccbbaa9988" "00112233445566778899aabbcceeff0a"
    "112233445566778899aabbcceeff0a00" "2233445566778899aabbcceeff0a0011"
    "33445566778899aabbcceeff0a001122" "445566778899aabbcceeff0a00112233"
    "5566778899aabbcceeff0a0011223344"
)


@pytest.fixture(params=["int", "bulk"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    limit = 10**9 if request.param == "int" else 0
    monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), limit))
    return request.param


def test_acpkm_section_keys() -> None:
    """Section keys K^2 of tables A.1.2 and A.2.2."""
    assert acpkm.acpkm(Magma(KEY)) == H(
        "863ea017842c3d372b18a85a28e2317d74befc107720de0c9e8ab974abd00ca0"
    )
    assert acpkm.acpkm(Kuznyechik(KEY)) == H(
        "2666ed40ae6878117 45ca0b448f57a7b390adb5780307e8e9659ac403ae60c60".replace(" ", "")
    )


def test_ctr_acpkm_magma_a1(path: str) -> None:
    expected = H(
        "2ab81deeeb1e4cab68e104c4bd6b94ea" "c72c67af6c2e5b6b0eafb61770f1b32e"
        "a1ae71149eed1382abd467180672ec6f" "84a2f15b3fca72c1"
    )
    plain = PLAIN[:56]
    assert acpkm.ctr_acpkm(Magma, KEY, H("12345678"), plain, 16) == expected
    assert acpkm.ctr_acpkm(Magma, KEY, H("12345678"), expected, 16) == plain


def test_ctr_acpkm_kuznyechik_a2(path: str) -> None:
    expected = H(
        "f195d8bec10ed1dbd57b5fa240bda1b8" "85eee733f6a13e5df33ce4b33c45dee4"
        "4bceeb8f646f4c55001706275e85e800" "587c4df568d094393e4834afd0805046"
        "cf30f57686aeece11cfc6c316b8a896e" "dffd07ec813636460c4f3b743423163e"
        "6409a9c282fac8d469d221e7fbd6de5d"
    )
    assert acpkm.ctr_acpkm(Kuznyechik, KEY, H("1234567890abcef0"), PLAIN, 32) == expected


def test_acpkm_master_magma() -> None:
    pieces = acpkm.acpkm_master(Magma, KEY, 80, 3)
    assert b"".join(pieces) == H(
        "0df2f5273da328932ac49d81d36b2558a50dbf9bbcac74a614b2ccb2f1cbcd8a"
        "70638e3de8b3571e8d3826d55e63a167e2406640547b9f1f5f2b43612aaeafda"
        "180bac8604dfa6fe53c2ce270e9c9f5268d0fdbfe1a3bdd9be5b96d0a1202348"
        "6ef1710f924ae0313052cb5fca0b791e1babe8576d0fe3a8"
    )


def test_omac_acpkm_magma_a3() -> None:
    assert acpkm.omac_acpkm(Magma, KEY, PLAIN[:12], 16, 80) == H("a0540e3730acbcf3")
    assert acpkm.omac_acpkm(Magma, KEY, PLAIN[:40], 16, 80) == H("34008dad5496bb8e")


def test_omac_acpkm_kuznyechik_a4() -> None:
    assert acpkm.omac_acpkm(Kuznyechik, KEY, PLAIN[:24], 32, 96) == H(
        "b5367f47b62b995eeb2a648c5843145e"
    )
    assert acpkm.omac_acpkm(Kuznyechik, KEY, PLAIN[:80], 32, 96) == H(
        "fbb8dcee45bea67c35f58c5700898e5d"
    )


@pytest.mark.parametrize("cls", [Kuznyechik, Magma])
def test_errors(cls: type) -> None:
    n = cls.block_size
    with pytest.raises(ValueError, match=f"{n // 2} bytes"):
        acpkm.ctr_acpkm(cls, KEY, bytes(n), b"x")
    with pytest.raises(ValueError, match=f"multiple of {n} bytes"):
        acpkm.ctr_acpkm(cls, KEY, bytes(n // 2), b"x", section_size=n + 1)
    with pytest.raises(ValueError, match="must be 32 bytes"):
        acpkm.ctr_acpkm(cls, KEY[:16], bytes(n // 2), b"x")
    stream = acpkm.CtrAcpkm(cls, KEY, bytes(n // 2))
    stream.update(b"abc")
    with pytest.raises(ValueError, match="last update"):
        stream.update(b"more")


@pytest.mark.parametrize("cls", [Kuznyechik, Magma])
@pytest.mark.parametrize("size", [0, 1, 300, 4095, 4096, 4097, 70000])
def test_bulk_int_and_incremental_agree(
    cls: type, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, iv, data = os.urandom(32), os.urandom(cls.block_size // 2), os.urandom(size)
    monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 0))
    bulk = acpkm.ctr_acpkm(cls, key, iv, data, 64)
    monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 10**9))
    assert acpkm.ctr_acpkm(cls, key, iv, data[:5000], 64) == bulk[:5000]
    monkeypatch.setattr(modes, "BULK_MIN_BLOCKS", dict.fromkeys((8, 16), 16))
    stream = acpkm.CtrAcpkm(cls, key, iv, 64)
    cuts = [0, 48, 48 + 16 * 41, 4096, size]
    pieces = [stream.update(data[a:b]) for a, b in zip(cuts, cuts[1:], strict=False) if a <= b]
    assert b"".join(pieces) == bulk


@requires_engine
@pytest.mark.oracle
@pytest.mark.parametrize("size", [5, 4096, 100_000])
@pytest.mark.parametrize(("name", "cls"), [("kuznyechik", Kuznyechik), ("magma", Magma)])
def test_oracle_ctr_acpkm(name: str, cls: type, size: int) -> None:
    key, iv, data = os.urandom(32), os.urandom(cls.block_size // 2), os.urandom(size)
    out = openssl("enc", f"-{name}-ctr-acpkm", "-K", key.hex(), "-iv", iv.hex(), data=data)
    assert out == acpkm.ctr_acpkm(cls, key, iv, data)
