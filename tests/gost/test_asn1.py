"""The minimal DER codec: round trips and strict rejection with clear messages."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gost import asn1
from gost.exceptions import DecodeError


@given(st.integers(min_value=-(2**300), max_value=2**300))
def test_integer_round_trip(value):
    assert asn1.decode(asn1.integer(value)).integer() == value


@pytest.mark.parametrize(
    ("value", "content"),
    [(0, "00"), (127, "7f"), (128, "0080"), (-1, "ff"), (-128, "80"), (-129, "ff7f"),
     (-32768, "8000")],
)
def test_integer_encoding_is_minimal(value, content):
    assert asn1.integer(value)[2:].hex() == content


@pytest.mark.parametrize(
    "dotted", ["1.2.643.7.1.1.3.2", "2.5.29.19", "2.999.1", "1.2.840.113549.1.9.4"]
)
def test_oid_round_trip(dotted):
    assert asn1.decode(asn1.oid(dotted)).oid() == dotted


def test_known_encodings():
    assert asn1.oid("1.2.643.7.1.1.1.1").hex() == "06082a85030701010101"
    assert asn1.integer(128) == b"\x02\x02\x00\x80"
    assert asn1.integer(-1) == b"\x02\x01\xff"
    assert asn1.octet_string(b"a" * 200)[:3] == b"\x04\x81\xc8"
    assert asn1.set_of(b"\x02\x01\x05", b"\x02\x01\x01") == b"\x31\x06\x02\x01\x01\x02\x01\x05"


def test_structures_and_times():
    when = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    later = dt.datetime(2050, 12, 31, tzinfo=dt.UTC)
    der = asn1.sequence(
        asn1.time(when), asn1.time(later), asn1.utf8_string("ё"), asn1.printable_string("Ab 1"),
        asn1.null(), asn1.boolean(True), asn1.explicit(3, asn1.integer(7)),
        asn1.implicit(1, asn1.octet_string(b"x")), asn1.bit_string(b"\x01\x02"),
    )  # fmt: skip
    items = asn1.decode(der).sequence()
    assert items[0].time() == when and items[0].tag == asn1.UTC_TIME
    assert items[1].time() == later and items[1].tag == asn1.GENERALIZED_TIME
    assert items[2].string() == "ё" and items[3].string() == "Ab 1"
    items[4].null()
    assert items[5].boolean() is True
    assert items[6].is_context(3) and items[6].explicit_inner().integer() == 7
    assert items[7].tag == 0x81 and items[7].retag(asn1.OCTET_STRING).octets() == b"x"
    assert items[8].bits() == b"\x01\x02"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x30\x05\x02\x01", "truncated"),
        (b"\x02", "truncated DER header"),
        (b"\x02\x01\x01\x00", "trailing bytes"),
        (b"\x30\x80\x00\x00", "indefinite length"),
        (b"\x04\x81\x05abcde", "non-minimal length"),
        (b"\x02\x02\x00\x01", "non-minimal INTEGER"),
        (b"\x02\x00", "empty INTEGER"),
        (b"\x06\x02\x2a\x85", "truncated OBJECT IDENTIFIER"),
        (b"\x01\x01\x01", "BOOLEAN must be"),
    ],
)
def test_strict_decoding(data, message):
    with pytest.raises(DecodeError, match=message):
        element = asn1.decode(data)
        {0x02: element.integer, 0x06: element.oid, 0x01: element.boolean}[element.tag]()


def test_wrong_tag_is_named():
    with pytest.raises(DecodeError, match="expected SEQUENCE, got INTEGER at offset 0"):
        asn1.decode(asn1.integer(1)).sequence()


def test_pem():
    pem = asn1.pem_encode(b"\x30\x00", "THING")
    assert asn1.pem_decode(pem, "THING") == ("THING", b"\x30\x00")
    with pytest.raises(DecodeError, match="bad base64"):
        asn1.pem_decode(b"-----BEGIN THING-----\n!!!!\n-----END THING-----\n")
    with pytest.raises(DecodeError, match="no PEM THING block"):
        asn1.pem_decode(b"nothing here", "THING")
    with pytest.raises(DecodeError, match="PEM or DER"):
        asn1.der_or_pem(b"hello", "THING")
