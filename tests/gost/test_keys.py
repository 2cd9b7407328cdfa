"""PKCS#8 and SubjectPublicKeyInfo: byte-exact compatibility with OpenSSL's GOST engine."""

import pytest

from gost import asn1
from gost.curves import TC26_256_A, get_curve
from gost.exceptions import DecodeError
from gost.keys import (
    load_private_key,
    load_public_key,
    private_key_to_der,
    private_key_to_pem,
    public_key_to_der,
    public_key_to_pem,
)
from gost.sign import PrivateKey
from tests.gost.oracle import openssl, requires_engine

KEY = PrivateKey.generate(TC26_256_A)


def test_round_trips():
    assert load_private_key(private_key_to_pem(KEY)).d == KEY.d
    assert load_private_key(private_key_to_der(KEY)).d == KEY.d
    assert load_public_key(public_key_to_pem(KEY.public_key())) == KEY.public_key()


def test_rfc9215_d2_spki():
    der = bytes.fromhex(
        "305e301706082a85030701010101300b06092a8503070102010101034300044074"
        "2795d4bee884ddf2850fec03ea3faf1844e01d9da60b645093a55e26dfc39978f5"
        "96cf4d4d0c6cf1d18943d94493d16b9ec0a16d512d2e127cc4691a6318e2"
    )
    key = load_public_key(der)
    assert key.curve is TC26_256_A
    assert key.point[0] == 0x99C3DF265EA59350640BA69D1DE04418AF3FEA03EC0F85F2DD84E8BED4952774
    assert public_key_to_der(key) == der


def test_alternative_private_key_forms():
    algorithm = asn1.decode(private_key_to_der(KEY)).sequence()[1].raw
    for inner in (asn1.octet_string(KEY.to_bytes()), asn1.integer(KEY.d)):
        der = asn1.sequence(asn1.integer(0), algorithm, asn1.octet_string(inner))
        assert load_private_key(der).d == KEY.d


def test_digest_oid_only_for_cryptopro_sets():
    assert b"\x2a\x85\x03\x07\x01\x01\x02\x02" in public_key_to_der(
        PrivateKey.generate(get_curve("A")).public_key()
    )
    assert b"\x2a\x85\x03\x07\x01\x01\x02\x02" not in public_key_to_der(KEY.public_key())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (private_key_to_der(KEY)[:-3], "truncated"),
        (private_key_to_der(KEY) + b"\x00", "trailing bytes"),
        (b"\x30\x03\x02\x01\x00", "at least 3"),
        (b"-----BEGIN PRIVATE KEY-----\nMII$\n-----END PRIVATE KEY-----\n", "bad base64"),
        (public_key_to_pem(KEY.public_key()), "no PEM PRIVATE KEY block"),
    ],
)
def test_malformed_private_keys(data, message):
    with pytest.raises(DecodeError, match=message):
        load_private_key(data)


def test_off_curve_public_key_is_rejected():
    der = bytearray(public_key_to_der(KEY.public_key()))
    der[-1] ^= 1
    with pytest.raises(DecodeError, match="not on the curve"):
        load_public_key(bytes(der))


def test_wrong_algorithm_oid():
    good, bad = asn1.oid("1.2.643.7.1.1.1.1"), asn1.oid("1.2.643.7.1.1.1.9")
    der = private_key_to_der(KEY).replace(good, bad)
    with pytest.raises(DecodeError, match="not a GOST"):
        load_private_key(der)


@requires_engine
@pytest.mark.oracle
@pytest.mark.parametrize(
    ("algorithm", "paramset"),
    [("gost2012_256", p) for p in ("A", "B", "C", "XA", "XB", "TCA", "TCB", "TCC", "TCD")]
    + [("gost2012_512", p) for p in ("A", "B", "C")],
)
def test_engine_keys_byte_identical(tmp_path, algorithm, paramset):
    openssl("genpkey", "-algorithm", algorithm, "-pkeyopt", f"paramset:{paramset}",
            "-out", "k.pem", cwd=tmp_path)  # fmt: skip
    openssl("pkey", "-in", "k.pem", "-pubout", "-out", "k.pub", cwd=tmp_path)
    pem = (tmp_path / "k.pem").read_bytes()
    key = load_private_key(pem)
    assert private_key_to_pem(key) == pem
    assert public_key_to_pem(key.public_key()) == (tmp_path / "k.pub").read_bytes()
    # and OpenSSL reads ours
    (tmp_path / "ours.pem").write_bytes(private_key_to_pem(PrivateKey.generate(key.curve)))
    text = openssl("pkey", "-in", "ours.pem", "-noout", "-text", cwd=tmp_path)
    assert b"Private key" in text
