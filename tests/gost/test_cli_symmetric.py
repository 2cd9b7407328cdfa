"""oplot-gost dgst / enc / dec / mac: in-process for coverage, subprocess for exit codes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gost import acpkm, modes, stream
from gost.cli import main
from gost.cli import symmetric as cli
from gost.kdf import hmac_streebog512
from gost.kuznyechik import Kuznyechik
from gost.magma import Magma
from gost.streebog import PureStreebog256, PureStreebog512
from tests.gost.oracle import openssl, requires_engine

ROOT = Path(__file__).resolve().parents[2]
KEY = bytes(range(32))
K = KEY.hex()


def run(args: list[str], data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes]:
    """Call the CLI in-process with ``data`` on stdin; return (exit code, stdout bytes)."""
    stdin, stdout = io.TextIOWrapper(io.BytesIO(data)), io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    code = main(args)
    stdout.flush()
    return code, stdout.buffer.getvalue()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk at 4 KiB so that chaining across chunks is exercised on small inputs."""
    monkeypatch.setattr(cli, "CHUNK", 4096)


def test_dgst(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = os.urandom(10000)
    code, out = run(["dgst"], data, monkeypatch)
    assert (code, out.decode()) == (0, f"{PureStreebog256(data).hexdigest()} *stdin\n")
    f = tmp_path / "f.bin"
    f.write_bytes(data)
    code, out = run(["dgst", "-streebog512", str(f)], b"", monkeypatch)
    assert out.decode() == f"{PureStreebog512(data).hexdigest()} *{f}\n"
    code, out = run(["dgst", "-streebog512", "-hmac", "0102"], data, monkeypatch)
    assert out.decode().split()[0] == hmac_streebog512(b"\x01\x02", data).hex()


def test_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(9000)
    code, out = run(["mac", "-cipher", "magma", "-K", K, "-size", "4"], data, monkeypatch)
    assert out.decode().split()[0] == modes.omac(Magma(KEY), data, 4).hex()


CASES = [
    ("kuznyechik", "ctr", "0102030405060708"),
    ("kuznyechik", "ctr-acpkm", "0102030405060708"),
    ("kuznyechik", "ecb", None),
    ("kuznyechik", "cbc", "00112233445566778899aabbccddeeff" * 2),
    ("kuznyechik", "ofb", "00112233445566778899aabbccddeeff" * 2),
    ("kuznyechik", "cfb", "00112233445566778899aabbccddeeff"),
    ("magma", "ctr", "01020304"),
    ("magma", "ctr-acpkm", "01020304"),
    ("magma", "cbc", "0011223344556677" * 3),
    ("magma", "ofb", "0011223344556677"),
    ("magma", "cfb", "0011223344556677" * 2),
    ("kuznyechik", "mgm", "00112233445566778899aabbccddeeff"),
    ("magma", "mgm", "0011223344556677"),
    ("kuznyechik", "stream", None),
]


def _reference(name: str, mode: str, iv: bytes, data: bytes) -> bytes | None:
    """The library's one-shot result that chunked CLI output must equal."""
    cls = {"kuznyechik": Kuznyechik, "magma": Magma}[name]
    c, n = cls(KEY), cls.block_size
    return {
        "ctr": lambda: modes.ctr(c, iv, data),
        "ctr-acpkm": lambda: acpkm.ctr_acpkm(cls, KEY, iv, data),
        "ecb": lambda: modes.ecb_encrypt(c, modes.pad2(data, n)),
        "cbc": lambda: modes.cbc_encrypt(c, iv, modes.pad2(data, n)),
        "ofb": lambda: modes.ofb(c, iv, data),
        "cfb": lambda: modes.cfb_encrypt(c, iv, data),
    }.get(mode, lambda: None)()


@pytest.mark.parametrize(("name", "mode", "iv"), CASES, ids=[f"{c}-{m}" for c, m, _ in CASES])
@pytest.mark.parametrize("size", [0, 5, 4096, 3 * 4096 + 40])
def test_enc_dec_roundtrip(
    name: str, mode: str, iv: str | None, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(size)
    common = ["-cipher", name, "-K", K, "-mode", mode] + (["-iv", iv] if iv else [])
    if mode == "mgm" and size == 0:  # RFC 9058: text and associated data can't both be empty
        assert run(["enc", *common], data, monkeypatch)[0] == 1
        return
    code, sealed = run(["enc", *common], data, monkeypatch)
    assert code == 0
    expected = _reference(name, mode, bytes.fromhex(iv or ""), data)
    if expected is not None:
        assert sealed == expected
    code, opened = run(["dec", *common], sealed, monkeypatch)
    assert (code, opened) == (0, data)


def test_mgm_and_stream_tamper(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    nonce = "00" * 16
    code, sealed = run(["enc", "-K", K, "-mode", "mgm", "-iv", nonce, "-aad", "aa"],
                       b"hello", monkeypatch)
    bad = sealed[:-1] + bytes([sealed[-1] ^ 1])
    code, out = run(["dec", "-K", K, "-mode", "mgm", "-iv", nonce, "-aad", "aa"], bad,
                    monkeypatch)
    assert (code, out) == (1, b"")
    assert "authentication failed" in capsys.readouterr().err
    code, sealed = run(["enc", "-K", K, "-mode", "stream"], os.urandom(70000), monkeypatch)
    code, out = run(["dec", "-K", K, "-mode", "stream"], sealed[:-20], monkeypatch)
    assert code == 1
    assert len(out) < 70000  # at most the verified, non-final chunks


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enc", "-K", "zz", "-iv", "00" * 8], "key (-K) is not valid hex"),
        (["enc", "-K", "00" * 16, "-iv", "00" * 8], "Kuznyechik key must be 32 bytes, got 16"),
        (["enc", "-K", K, "-iv", "00" * 16], "CTR IV must be 8 bytes (n/2) for Kuznyechik"),
        (["enc", "-K", K, "-mode", "cbc"], "-mode cbc needs -iv HEX"),
        (["enc", "-K", K, "-mode", "cbc", "-iv", "00" * 15], "multiple of 16 bytes"),
        (["enc", "-K", K, "-mode", "ecb", "-nopad"], "multiple of 16 bytes"),
        (["enc", "-K", K, "-mode", "mgm", "-iv", "80" + "00" * 15], "most significant bit"),
        (["enc", "-K", K, "-mode", "mgm", "-iv", "00" * 12], "nonce must be 16 bytes"),
        (["enc", "-cipher", "magma", "-K", K, "-mode", "ctr", "-iv", "00" * 8],
         "CTR IV must be 4 bytes (n/2) for Magma"),
        (["dgst", "-hmac", "xyz"], "HMAC key is not valid hex"),
        (["dec", "-K", K, "-mode", "stream"], "not an Oplot GOST stream"),
    ],
)
def test_bad_input_one_line_error(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    code, _ = run(args, b"x" * 33, monkeypatch)
    err = capsys.readouterr().err
    assert code == 1
    assert message in err
    assert err.count("\n") == 1 and err.startswith("oplot-gost: error:")


def test_console_script_exit_codes() -> None:
    exe = ROOT / ".venv" / "bin" / "oplot-gost"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "gost.cli"]
    ok = subprocess.run([*cmd, "dgst"], input=b"abc", capture_output=True, cwd=ROOT)
    assert ok.returncode == 0 and ok.stdout.endswith(b" *stdin\n")
    bad = subprocess.run([*cmd, "enc", "-K", "nothex"], capture_output=True, cwd=ROOT)
    assert bad.returncode == 1
    assert bad.stderr.decode().strip() == "oplot-gost: error: key (-K) is not valid hex"


@requires_engine
@pytest.mark.oracle
@pytest.mark.parametrize(
    ("name", "mode", "iv"),
    [("kuznyechik", "ctr", "0102030405060708"), ("kuznyechik", "ctr-acpkm", "0102030405060708"),
     ("magma", "ctr-acpkm", "01020304"), ("kuznyechik", "ofb", "11" * 16),
     ("kuznyechik", "cfb", "22" * 16), ("magma", "cbc", "33" * 8)],
)
def test_oracle_cli_enc(name: str, mode: str, iv: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(3 * 4096 + 8 * 7)
    extra = ["-nopad"] if mode == "cbc" else []
    code, ours = run(["enc", "-cipher", name, "-K", K, "-mode", mode, "-iv", iv, *extra], data,
                     monkeypatch)
    theirs = openssl("enc", f"-{name}-{mode}", "-K", K, "-iv", iv, *extra, data=data)
    assert ours == theirs


def test_stream_format_matches_library(monkeypatch: pytest.MonkeyPatch) -> None:
    code, sealed = run(["enc", "-K", K, "-mode", "stream"], b"abc", monkeypatch)
    dec = stream.StreamDecryptor(KEY)
    assert dec.update(sealed) + dec.finalize() == b"abc"
