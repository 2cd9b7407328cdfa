"""CMS SignedData: our round trips and OpenSSL's ``cms -sign/-verify`` in both directions."""

import pytest

from gost import cms
from gost.asn1 import pem_encode
from gost.curves import TC26_256_A, get_curve
from gost.exceptions import DecodeError, InvalidSignature
from gost.keys import private_key_to_pem
from gost.sign import PrivateKey
from gost.x509 import Name, issue_certificate
from tests.gost.oracle import openssl, requires_engine


def _signer(curve=TC26_256_A):
    ca_key = PrivateKey.generate(TC26_256_A)
    ca = issue_certificate(subject=Name.parse("/CN=CMS CA"), public_key=ca_key.public_key(),
                           issuer_key=ca_key, ca=True)  # fmt: skip
    key = PrivateKey.generate(curve)
    cert = issue_certificate(subject=Name.parse("/CN=signer"), public_key=key.public_key(),
                             issuer_key=ca_key, issuer=ca)  # fmt: skip
    return ca, key, cert


CA, KEY, CERT = _signer()


def test_attached_and_detached_round_trip():
    message = b"hello, GOST CMS"
    assert cms.verify(cms.sign(message, KEY, CERT), trusted=(CA,)) == message
    detached = cms.sign(message, KEY, CERT, detached=True)
    assert cms.verify(detached, content=message, trusted=(CA,)) == message
    assert cms.verify(pem_encode(detached, "CMS"), content=message) == message
    with pytest.raises(InvalidSignature, match="messageDigest"):
        cms.verify(detached, content=message + b"!")
    with pytest.raises(ValueError, match="content must be supplied"):
        cms.verify(detached)


def test_untrusted_signer_and_corruption():
    other_ca, _, _ = _signer()
    signed = cms.sign(b"x", KEY, CERT)
    with pytest.raises(InvalidSignature, match="trusted"):
        cms.verify(signed, trusted=(other_ca,))
    corrupted = bytearray(signed)
    corrupted[-3] ^= 1
    with pytest.raises(InvalidSignature):
        cms.verify(bytes(corrupted))
    with pytest.raises(DecodeError):
        cms.verify(signed[:-1])


@requires_engine
@pytest.mark.oracle
@pytest.mark.parametrize("curve", [TC26_256_A, get_curve("A", 512)], ids=lambda c: c.name)
@pytest.mark.parametrize("detached", [False, True])
def test_engine_interop(tmp_path, curve, detached):
    ca, key, cert = _signer(curve)
    message = b"CMS interop\n" * 3
    (tmp_path / "m").write_bytes(message)
    (tmp_path / "ca.pem").write_bytes(ca.to_pem())
    (tmp_path / "cert.pem").write_bytes(cert.to_pem())
    (tmp_path / "key.pem").write_bytes(private_key_to_pem(key))
    # ours -> openssl
    (tmp_path / "ours.der").write_bytes(cms.sign(message, key, cert, detached=detached))
    content = ["-content", "m"] if detached else []
    out = openssl("cms", "-verify", "-CAfile", "ca.pem", "-inform", "DER", "-in", "ours.der",
                  "-binary", *content, cwd=tmp_path)  # fmt: skip
    assert out == message
    # openssl -> ours
    nodetach = [] if detached else ["-nodetach"]
    theirs = openssl("cms", "-sign", "-signer", "cert.pem", "-inkey", "key.pem", "-binary",
                     "-in", "m", "-outform", "DER", *nodetach, cwd=tmp_path)  # fmt: skip
    assert cms.verify(theirs, content=message if detached else None, trusted=(ca,)) == message
