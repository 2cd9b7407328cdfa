"""``oplot-gost`` PKI subcommands end to end, plus one-line errors with exit code 1."""

import pytest

from gost.cli import main
from tests.gost.oracle import openssl, requires_engine


def run(*args):
    return main([str(a) for a in args])


def test_keys_sign_verify_certificates_cms(tmp_path, capsys):
    t = tmp_path
    (t / "m").write_bytes(b"message")
    assert run("genkey", "--paramset", "TCA", "-out", t / "ca.pem") == 0
    assert run("genkey", "--512", "--paramset", "C", "-out", t / "k.pem") == 0
    assert run("pubkey", "-in", t / "k.pem", "-out", t / "k.pub") == 0
    assert run("sign", "-inkey", t / "k.pem", "-out", t / "sig", t / "m") == 0
    assert run("verify", "-pubkey", t / "k.pub", "-signature", t / "sig", t / "m") == 0
    digest = "11" * 64
    assert run("sign", "-inkey", t / "k.pem", "-digest", digest, "-out", t / "dsig") == 0
    assert run("verify", "-pubkey", t / "k.pub", "-signature", t / "dsig", "-digest", digest) == 0
    assert run("req", "-key", t / "ca.pem", "-subj", "/CN=CA", "-x509", "-out", t / "ca.crt") == 0
    assert run("req", "-key", t / "k.pem", "-subj", "/CN=leaf", "-out", t / "k.csr") == 0
    assert run("x509", "-req", "-in", t / "k.csr", "-CA", t / "ca.crt", "-CAkey", t / "ca.pem",
               "-dns", "leaf.example", "-out", t / "k.crt") == 0  # fmt: skip
    assert run("x509", "-in", t / "k.crt", "-CA", t / "ca.crt", "-text") == 0
    assert "DNS names: leaf.example" in capsys.readouterr().out
    for extra in ([], ["--detached"]):
        assert run("cms", "sign", "-inkey", t / "k.pem", "-signer", t / "k.crt", *extra,
                   "-out", t / "s.der", t / "m") == 0  # fmt: skip
        content = ["-content", t / "m"] if extra else []
        assert run("cms", "verify", "-CAfile", t / "ca.crt", *content, "-out", t / "o",
                   t / "s.der") == 0  # fmt: skip
        assert (t / "o").read_bytes() == b"message"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["genkey", "--paramset", "Q"], "unknown 256-bit GOST parameter set"),
        (["pubkey", "-in", "{m}"], "expected a PRIVATE KEY in PEM or DER form"),
        (["sign", "-inkey", "{k}", "-digest", "zz"], "digest is not valid hex"),
        (["verify", "-pubkey", "{p}", "-signature", "{m}", "{m}"], "signature verification failed"),
        (["derive", "-inkey", "{k}", "-peerkey", "{m}", "--ukm", "01"], "PUBLIC KEY"),
        (["pubkey", "-in", "{missing}"], "No such file"),
    ],
)
def test_errors_are_one_line(tmp_path, capsys, args, message):
    (tmp_path / "m").write_bytes(b"not a key")
    run("genkey", "-out", tmp_path / "k")
    run("pubkey", "-in", tmp_path / "k", "-out", tmp_path / "p")
    paths = {n: tmp_path / n for n in ("m", "k", "p", "missing")}
    assert run(*(a.format(**paths) for a in args)) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("oplot-gost: error:")


@requires_engine
@pytest.mark.oracle
def test_cli_derive_matches_engine(tmp_path):
    run("genkey", "--paramset", "TCA", "-out", tmp_path / "a.pem")
    run("genkey", "--paramset", "TCA", "-out", tmp_path / "b.pem")
    run("pubkey", "-in", tmp_path / "b.pem", "-out", tmp_path / "b.pub")
    assert run("derive", "-inkey", tmp_path / "a.pem", "-peerkey", tmp_path / "b.pub",
               "--ukm", "0102030405060708", "-out", tmp_path / "kek") == 0  # fmt: skip
    engine = openssl("pkeyutl", "-derive", "-inkey", "a.pem", "-peerkey", "b.pub",
                     "-pkeyopt", "ukmhex:0102030405060708", cwd=tmp_path)  # fmt: skip
    assert (tmp_path / "kek").read_bytes() == engine
