"""X.509 and PKCS#10: RFC 9215 App. D certificates, our CA chain verified by OpenSSL and back."""

from pathlib import Path

import pytest

from gost.curves import TC26_256_A, get_curve
from gost.exceptions import DecodeError, InvalidSignature
from gost.keys import private_key_to_pem
from gost.sign import PrivateKey
from gost.x509 import Certificate, CertificateRequest, Name, issue_certificate
from tests.gost.oracle import openssl, requires_engine

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["rfc9215_D1.pem", "rfc9215_D2.pem", "rfc9215_D3.pem"])
def test_rfc9215_certificates_verify(name):
    cert = Certificate.load((DATA / name).read_bytes())
    cert.verify()
    assert str(cert.subject) == "CN=Example" and cert.basic_constraints == (True, None)
    tampered = bytearray(cert.der)
    tampered[cert.der.index(b"Example") + 1] ^= 1
    with pytest.raises(InvalidSignature):
        Certificate.from_der(bytes(tampered)).verify()


def _chain():
    ca_key = PrivateKey.generate(TC26_256_A)
    ca = issue_certificate(
        subject=Name.parse("/CN=Oplot Test CA/O=Oplot"), public_key=ca_key.public_key(),
        issuer_key=ca_key, ca=True, path_length=0,
    )  # fmt: skip
    leaf_key = PrivateKey.generate(get_curve("C", 512))
    leaf = issue_certificate(
        subject=Name.parse("CN=xmpp.example, O=Oplot"), public_key=leaf_key.public_key(),
        issuer_key=ca_key, issuer=ca, dns_names=("xmpp.example", "*.xmpp.example"),
    )  # fmt: skip
    return ca_key, ca, leaf_key, leaf


def test_issue_and_parse():
    _, ca, _, leaf = _chain()
    leaf.verify(ca)
    ca.verify()
    assert leaf.issuer == ca.subject
    assert leaf.dns_names == ("xmpp.example", "*.xmpp.example")
    assert leaf.key_usage == ("digitalSignature",)
    assert ca.key_usage == ("digitalSignature", "keyCertSign", "cRLSign")
    assert ca.basic_constraints == (True, 0) and leaf.basic_constraints == (False, None)
    assert leaf.authority_key_identifier == ca.subject_key_identifier
    assert Certificate.load(leaf.to_pem()) == leaf
    with pytest.raises(InvalidSignature, match="not a CA"):
        ca.verify(leaf)
    with pytest.raises(InvalidSignature):
        leaf.verify()


def test_request_round_trip():
    key = PrivateKey.generate(TC26_256_A)
    request = CertificateRequest.load(CertificateRequest.create(Name.parse("/CN=r"), key).to_pem())
    request.verify()
    assert request.public_key == key.public_key()


def test_malformed_certificate():
    der = Certificate.load((DATA / "rfc9215_D2.pem").read_bytes()).der
    with pytest.raises(DecodeError, match="truncated"):
        Certificate.from_der(der[:-10])
    with pytest.raises(DecodeError, match="trailing"):
        Certificate.from_der(der + b"\x00")


@requires_engine
@pytest.mark.oracle
def test_openssl_verifies_our_chain_and_we_verify_its(tmp_path):
    ca_key, ca, leaf_key, leaf = _chain()
    (tmp_path / "ca.pem").write_bytes(ca.to_pem())
    (tmp_path / "leaf.pem").write_bytes(leaf.to_pem())
    assert b"OK" in openssl("verify", "-CAfile", "ca.pem", "leaf.pem", cwd=tmp_path)
    # OpenSSL-made self-signed certificate and CSR, parsed and verified by us.
    (tmp_path / "k.pem").write_bytes(private_key_to_pem(leaf_key))
    openssl("req", "-x509", "-new", "-key", "k.pem", "-md_gost12_512", "-subj", "/CN=engine",
            "-days", "30", "-out", "self.pem", cwd=tmp_path)  # fmt: skip
    theirs = Certificate.load((tmp_path / "self.pem").read_bytes())
    theirs.verify()
    assert theirs.public_key == leaf_key.public_key() and str(theirs.subject) == "CN=engine"
    openssl("req", "-new", "-key", "k.pem", "-md_gost12_512", "-subj", "/CN=csr",
            "-out", "r.csr", cwd=tmp_path)  # fmt: skip
    CertificateRequest.load((tmp_path / "r.csr").read_bytes()).verify()
    # OpenSSL issues from our CA key; we verify that chain too.
    (tmp_path / "cakey.pem").write_bytes(private_key_to_pem(ca_key))
    openssl("x509", "-req", "-in", "r.csr", "-CA", "ca.pem", "-CAkey", "cakey.pem",
            "-md_gost12_256", "-set_serial", "7", "-out", "issued.pem", cwd=tmp_path)  # fmt: skip
    Certificate.load((tmp_path / "issued.pem").read_bytes()).verify(ca)
