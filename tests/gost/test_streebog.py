"""Streebog (GOST R 34.11-2012): RFC 6986 vectors, hashlib interface, OpenSSL oracle."""

from __future__ import annotations

import hmac
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gost import streebog
from gost.streebog import PureStreebog256, PureStreebog512
from tests.gost.oracle import openssl, requires_engine

ROOT = Path(__file__).resolve().parents[2]

# RFC 6986 section 10 prints M and H as big-endian numbers; these are the memory bytes.
M1 = bytes.fromhex(
    "32313039383736353433323130393837363534333231303938373635343332"
    "3130393837363534333231303938373635343332313039383736353433323130"
)[::-1]
M2 = bytes.fromhex(
    "fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2"
    "f120fff0eeec20f120faf2fee5e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1"
)[::-1]
H512_M1 = bytes.fromhex(
    "486f64c1917879417fef082b3381a4e211c324f074654c38823a7b76f830ad00"
    "fa1fbae42b1285c0352f227524bc9ab16254288dd6863dccd5b9f54a1ad0541b"
)[::-1]
H256_M1 = bytes.fromhex("00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d")[::-1]
H512_M2 = bytes.fromhex(
    "28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f03"
    "7613966de4ee00531ae60f3b5a47f8dae06915d5f2f194996fcabf2622e6881e"
)[::-1]
H256_M2 = bytes.fromhex("508f7e553c06501d749a66fc28c6cac0b005746d97537fa85d9e40904efed29d")[::-1]


def test_m1_is_ascii_digits() -> None:
    assert M1 == b"0123456789" * 6 + b"012"


@pytest.mark.parametrize(
    ("cls", "msg", "expected"),
    [
        (PureStreebog512, M1, H512_M1),
        (PureStreebog256, M1, H256_M1),
        (PureStreebog512, M2, H512_M2),
        (PureStreebog256, M2, H256_M2),
    ],
)
def test_rfc6986_vectors(cls: type, msg: bytes, expected: bytes) -> None:
    assert cls(msg).digest() == expected
    assert cls(msg).hexdigest() == expected.hex()


def test_hashlib_interface() -> None:
    h = PureStreebog256()
    assert (h.name, h.digest_size, h.block_size) == ("streebog256", 32, 64)
    assert (PureStreebog512().name, PureStreebog512().digest_size) == ("streebog512", 64)
    h.update(M2[:10])
    c = h.copy()
    h.update(M2[10:])
    c.update(M2[10:])
    assert h.digest() == c.digest() == H256_M2
    assert h.digest() == h.digest()  # digest() does not finalise the object


def test_factories_agree_with_pure() -> None:
    data = os.urandom(300)
    assert streebog.streebog256(data).digest() == PureStreebog256(data).digest()
    assert streebog.streebog512(data).digest() == PureStreebog512(data).digest()


def test_stdlib_hmac_accepts_pure_class() -> None:
    key, msg = bytes(range(32)), b"payload"
    assert hmac.new(key, msg, PureStreebog256).digest() == hmac.new(
        key, msg, streebog.streebog256
    ).digest()


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=4))
def test_incremental_equals_one_shot(data: bytes, cuts: list[int]) -> None:
    h = PureStreebog512()
    prev = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        h.update(data[prev:cut])
        prev = cut
    h.update(data[prev:])
    assert h.digest() == PureStreebog512(data).digest()


@requires_engine
@pytest.mark.oracle
@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 127, 128, 1000, 4096 + 17])
def test_oracle_openssl_dgst(size: int) -> None:
    data = os.urandom(size)
    for bits, cls in ((256, PureStreebog256), (512, PureStreebog512)):
        out = openssl("dgst", f"-md_gost12_{bits}", "-r", data=data).split()[0].decode()
        assert out == cls(data).hexdigest()


@requires_engine
@pytest.mark.oracle
def test_hashlib_provider_path_matches_pure() -> None:
    """With the provider config set before start-up, the factories return OpenSSL objects."""
    data = os.urandom(777)
    code = (
        "import sys, hmac; from gost import streebog as s; "
        "d = bytes.fromhex(sys.argv[1]); "
        "assert s.OPENSSL_GOST_AVAILABLE; "
        "print(s.streebog256(d).hexdigest(), s.streebog512(d).hexdigest(), "
        "hmac.new(b'k' * 32, d, s.streebog256).hexdigest(), type(s.streebog256()).__name__)"
    )
    env = dict(os.environ, OPENSSL_CONF=str(ROOT / "deploy/openssl/gost-provider.cnf"))
    out = subprocess.run(
        [sys.executable, "-c", code, data.hex()], env=env, cwd=ROOT,
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert out[0] == PureStreebog256(data).hexdigest()
    assert out[1] == PureStreebog512(data).hexdigest()
    assert out[2] == hmac.new(b"k" * 32, data, PureStreebog256).hexdigest()
    assert out[3] == "HASH"
