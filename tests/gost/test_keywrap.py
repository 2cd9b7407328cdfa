"""KExp15/KImp15: R 1323565.1.017-2018 App. B vectors, tamper detection."""

from __future__ import annotations

import os

import pytest

from gost.exceptions import InvalidTag
from gost.keywrap import kexp15, kimp15
from gost.kuznyechik import Kuznyechik
from gost.magma import Magma
from gost.modes import omac

H = bytes.fromhex
KEY = H("8899aabbccddeeff0011223344556677fedcba98765432100123456789abcdef")
K_MAC = H("08090a0b0c0d0e0f0001020304050607101112131415161718191a1b1c1d1e1f")
K_ENC = H("202122232425262728292a2b2c2d2e2f38393a3b3c3d3e3f3031323334353637")

CASES = [
    (Magma, H("67bed654"), H("75a76618e90f4973"),
     H("cfd5a12d5b81b6e1e99c916d07900c6ac12703fb3abded55567bf3742c899c755dafe7b42e3a8bd9")),
    (Kuznyechik, H("0909472dd9f26be8"), H("10022ade94ee55b434d2077f5a13aff4"),
     H("e36184e84e8d736ff36cc2e5ae065dc656b23c20f549b02fdff88e1f3f30d8c2"
       "9a53f3ca554dbad80de152b9a4625b32")),
]


@pytest.mark.parametrize(("cls", "iv", "keymac", "kexp"), CASES, ids=["magma", "kuznyechik"])
def test_app_b_vectors(cls: type, iv: bytes, keymac: bytes, kexp: bytes) -> None:
    assert omac(cls(K_MAC), iv + KEY) == keymac
    assert kexp15(cls, KEY, K_MAC, K_ENC, iv) == kexp
    assert kimp15(cls, kexp, K_MAC, K_ENC, iv) == KEY


@pytest.mark.parametrize(("cls", "iv", "keymac", "kexp"), CASES, ids=["magma", "kuznyechik"])
def test_tampering_rejected(cls: type, iv: bytes, keymac: bytes, kexp: bytes) -> None:
    for i in range(len(kexp)):
        bad = bytearray(kexp)
        bad[i] ^= 0x01
        with pytest.raises(InvalidTag):
            kimp15(cls, bytes(bad), K_MAC, K_ENC, iv)
    with pytest.raises(InvalidTag):
        kimp15(cls, kexp, K_ENC, K_MAC, iv)
    with pytest.raises(InvalidTag):
        kimp15(cls, kexp[: cls.block_size], K_MAC, K_ENC, iv)


def test_iv_size_error_and_roundtrip() -> None:
    with pytest.raises(ValueError, match="IV must be 8 bytes for Kuznyechik"):
        kexp15(Kuznyechik, KEY, K_MAC, K_ENC, bytes(16))
    key = os.urandom(48)
    blob = kexp15(Magma, key, K_MAC, K_ENC, bytes(4))
    assert kimp15(Magma, blob, K_MAC, K_ENC, bytes(4)) == key
