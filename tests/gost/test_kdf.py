"""HMAC-Streebog, KDF_256, KDF_TREE (RFC 7836 App. B), HKDF, PBKDF2 (R 50.1.111-2016)."""

from __future__ import annotations

import hmac
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gost import kdf
from gost.streebog import PureStreebog256, PureStreebog512
from tests.gost.oracle import openssl, requires_engine

ROOT = Path(__file__).resolve().parents[2]
K = bytes(range(32))
T = bytes.fromhex("0126bdb87800af214341456563780100")
LABEL = bytes.fromhex("26bdb878")
SEED = bytes.fromhex("af21434145656378")


def test_rfc7836_hmac256() -> None:
    assert kdf.hmac_streebog256(K, T).hex() == (
        "a1aa5f7de402d7b3d323f2991c8d4534013137010a83754fd0af6d7cd4922ed9"
    )


def test_rfc7836_hmac512() -> None:
    assert kdf.hmac_streebog512(K, T).hex() == (
        "a59bab22ecae19c65fbde6e5f4e9f5d8549d31f037f9df9b905500e171923a77"
        "3d5f1530f2ed7e964cb2eedc29e9ad2f3afe93b2814f79f5000ffc0366c251e6"
    )


def test_rfc7836_kdf256() -> None:
    assert kdf.kdf_gostr3411_2012_256(K, LABEL, SEED).hex() == (
        "a1aa5f7de402d7b3d323f2991c8d4534013137010a83754fd0af6d7cd4922ed9"
    )


def test_rfc7836_kdf_tree() -> None:
    out = kdf.kdf_tree_gostr3411_2012_256(K, LABEL, SEED, 64, r=1)
    assert out.hex() == (
        "22b6837845c6bef65ea71672b265831086d3c76aebe6dae91cad51d83f79d16b"
        "074c9330599d7f8d712fca54392f4ddde93751206b3584c8f43f9e6dc51531f9"
    )


def test_kdf_tree_bounds() -> None:
    with pytest.raises(ValueError, match="r must be 1..4"):
        kdf.kdf_tree_gostr3411_2012_256(K, LABEL, SEED, 32, r=5)
    with pytest.raises(ValueError, match="length"):
        kdf.kdf_tree_gostr3411_2012_256(K, LABEL, SEED, 256 * 32, r=1)
    assert len(kdf.kdf_tree_gostr3411_2012_256(K, LABEL, SEED, 33, r=2)) == 33


@settings(max_examples=20, deadline=None)
@given(st.binary(max_size=150), st.binary(max_size=100))
def test_hmac_matches_stdlib(key: bytes, msg: bytes) -> None:
    assert kdf.hmac_streebog256(key, msg) == hmac.new(key, msg, PureStreebog256).digest()
    assert kdf.hmac_streebog512(key, msg) == hmac.new(key, msg, PureStreebog512).digest()


def _hkdf_reference(ikm: bytes, length: int, salt: bytes, info: bytes) -> bytes:
    """RFC 5869 written out with the stdlib hmac module, as an independent check."""
    prk = hmac.new(salt or bytes(32), ikm, PureStreebog256).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes((i,)), PureStreebog256).digest()
        okm, i = okm + t, i + 1
    return okm[:length]


@pytest.mark.parametrize("length", [1, 32, 33, 100])
def test_hkdf_matches_reference(length: int) -> None:
    ikm, salt, info = os.urandom(22), os.urandom(13), b"oplot hkdf"
    assert kdf.hkdf(ikm, length, salt, info) == _hkdf_reference(ikm, length, salt, info)
    assert kdf.hkdf(ikm, length, None, info) == _hkdf_reference(ikm, length, b"", info)


def test_hkdf_bounds() -> None:
    with pytest.raises(ValueError, match="1..8160"):
        kdf.hkdf_expand(bytes(32), b"", 255 * 32 + 1)
    assert len(kdf.hkdf(b"x", 255 * 64, digest_size=64)) == 255 * 64


def test_hmac_key_rejects_bad_size() -> None:
    with pytest.raises(ValueError, match="32 or 64"):
        kdf.HmacKey(K, 48)


# R 50.1.111-2016, Appendix A (P = "password", S = "salt", dkLen = 64).
PBKDF2_VECTORS = [
    (1, "64770af7f748c3b1c9ac831dbcfd85c26111b30a8a657ddc3056b80ca73e040d"
        "2854fd36811f6d825cc4ab66ec0a68a490a9e5cf5156b3a2b7eecddbf9a16b47"),
    (2, "5a585bafdfbb6e8830d6d68aa3b43ac00d2e4aebce01c9b31c2caed56f0236d4"
        "d34b2b8fbd2c4e89d54d46f50e47d45bbac301571743119e8d3c42ba66d348de"),
    (4096, "e52deb9a2d2aaff4e2ac9d47a41f34c20376591c67807f0477e32549dc341bc7"
           "867c09841b6d58e29d0347c996301d55df0d34e47cf68f4e3c2cdaf1d9ab86c3"),
]


@pytest.mark.parametrize(("iterations", "expected"), PBKDF2_VECTORS)
def test_pbkdf2_r50_1_111(iterations: int, expected: str) -> None:
    assert kdf.pbkdf2_streebog512(b"password", b"salt", iterations, 64).hex() == expected


@requires_engine
@pytest.mark.oracle
def test_hmac_oracle_openssl() -> None:
    key, data = os.urandom(32), os.urandom(1000)
    for bits, fn in ((256, kdf.hmac_streebog256), (512, kdf.hmac_streebog512)):
        out = openssl(
            "dgst", f"-md_gost12_{bits}", "-mac", "hmac", "-macopt", f"hexkey:{key.hex()}",
            "-r", data=data,
        ).split()[0].decode()
        assert out == fn(key, data).hex()


@requires_engine
@pytest.mark.oracle
def test_pbkdf2_oracle_hashlib_provider() -> None:
    """OpenSSL's PBKDF2 over the GOST provider is an independent implementation."""
    password, salt = os.urandom(11), os.urandom(16)
    code = (
        "import hashlib, sys; print(hashlib.pbkdf2_hmac('md_gost12_512', "
        "bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), 3, 100).hex())"
    )
    env = dict(os.environ, OPENSSL_CONF=str(ROOT / "deploy/openssl/gost-provider.cnf"))
    out = subprocess.run(
        [sys.executable, "-c", code, password.hex(), salt.hex()],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert out == kdf.pbkdf2_streebog512(password, salt, 3, 100).hex()


def test_incremental_hmac() -> None:
    key = kdf.HmacKey(K, 64)
    h = key.new()
    h.update(T[:5])
    h.update(T[5:])
    assert h.digest() == kdf.hmac_streebog512(K, T)
    assert h.hexdigest() == kdf.hmac_streebog512(K, T).hex()
