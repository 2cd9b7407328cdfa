"""A minimal, strict DER encoder/decoder: just what X.509, PKCS#8 and CMS with GOST need.

Encoders return complete TLV bytes. :func:`decode` parses exactly one element covering the
whole input and returns an :class:`Element` whose accessors check the tag they expect; any
violation (truncation, non-minimal or indefinite length, trailing bytes, wrong tag) raises
:class:`~gost.exceptions.DecodeError` with the offset where it happened.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass

from gost.exceptions import DecodeError

BOOLEAN, INTEGER, BIT_STRING, OCTET_STRING, NULL, OID = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
UTF8_STRING, PRINTABLE_STRING, IA5_STRING, UTC_TIME, GENERALIZED_TIME = 0x0C, 0x13, 0x16, 0x17, 0x18
SEQUENCE, SET = 0x30, 0x31

_NAMES = {
    BOOLEAN: "BOOLEAN", INTEGER: "INTEGER", BIT_STRING: "BIT STRING", OCTET_STRING: "OCTET STRING",
    NULL: "NULL", OID: "OBJECT IDENTIFIER", UTF8_STRING: "UTF8String", IA5_STRING: "IA5String",
    PRINTABLE_STRING: "PrintableString", UTC_TIME: "UTCTime", GENERALIZED_TIME: "GeneralizedTime",
    SEQUENCE: "SEQUENCE", SET: "SET",
}  # fmt: skip


def tag_name(tag: int) -> str:
    if tag in _NAMES:
        return _NAMES[tag]
    if tag & 0xC0 == 0x80:
        return f"[{tag & 0x1F}]"
    return f"tag 0x{tag:02x}"


# ---------------------------------------------------------------- encoding


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def integer(value: int) -> bytes:
    # room for the sign bit; ~value for negatives, so -128 is 80 and not ff 80
    length = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return tlv(INTEGER, value.to_bytes(length, "big", signed=True))


def boolean(value: bool) -> bytes:
    return tlv(BOOLEAN, b"\xff" if value else b"\x00")


def octet_string(data: bytes) -> bytes:
    return tlv(OCTET_STRING, data)


def bit_string(data: bytes, unused_bits: int = 0) -> bytes:
    return tlv(BIT_STRING, bytes((unused_bits,)) + data)


def null() -> bytes:
    return b"\x05\x00"


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"invalid OID {dotted}")
    out = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return tlv(OID, bytes(out))


def sequence(*items: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(items))


def set_of(*items: bytes) -> bytes:
    """DER SET OF: members sorted by their encodings."""
    return tlv(SET, b"".join(sorted(items)))


def utf8_string(text: str) -> bytes:
    return tlv(UTF8_STRING, text.encode())


def printable_string(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9 '()+,\-./:=?]*", text):
        raise ValueError(f"not a PrintableString: {text!r}")
    return tlv(PRINTABLE_STRING, text.encode())


def ia5_string(text: str) -> bytes:
    return tlv(IA5_STRING, text.encode("ascii"))


def utc_time(when: dt.datetime) -> bytes:
    return tlv(UTC_TIME, when.astimezone(dt.UTC).strftime("%y%m%d%H%M%SZ").encode())


def generalized_time(when: dt.datetime) -> bytes:
    return tlv(GENERALIZED_TIME, when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ").encode())


def time(when: dt.datetime) -> bytes:
    """RFC 5280 Time: UTCTime through 2049, GeneralizedTime after."""
    return utc_time(when) if 1950 <= when.year < 2050 else generalized_time(when)


def explicit(number: int, inner: bytes) -> bytes:
    return tlv(0xA0 | number, inner)


def implicit(number: int, encoded: bytes, constructed: bool | None = None) -> bytes:
    """Re-tag an encoded element as [number] IMPLICIT, keeping its constructed bit."""
    if constructed is None:
        constructed = bool(encoded[0] & 0x20)
    element = decode(encoded)
    return tlv((0xA0 if constructed else 0x80) | number, element.content)


# ---------------------------------------------------------------- decoding


@dataclass(frozen=True)
class Element:
    """One decoded TLV. ``raw`` is the full encoding (what signatures cover)."""

    tag: int
    content: bytes
    raw: bytes
    offset: int = 0

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def _fail(self, message: str) -> DecodeError:
        return DecodeError(f"{message} at offset {self.offset}")

    def expect(self, tag: int) -> Element:
        if self.tag != tag:
            raise self._fail(f"expected {tag_name(tag)}, got {tag_name(self.tag)}")
        return self

    def children(self, tag: int | None = None) -> list[Element]:
        if tag is not None:
            self.expect(tag)
        if not self.constructed:
            raise self._fail(f"{tag_name(self.tag)} is not constructed")
        items, pos = [], 0
        header = len(self.raw) - len(self.content)
        while pos < len(self.content):
            item, pos = _read(self.content, pos, self.offset + header)
            items.append(item)
        return items

    def sequence(self) -> list[Element]:
        return self.children(SEQUENCE)

    def integer(self) -> int:
        self.expect(INTEGER)
        c = self.content
        if not c:
            raise self._fail("empty INTEGER")
        if len(c) > 1 and (c[0] == 0 and c[1] < 0x80 or c[0] == 0xFF and c[1] >= 0x80):
            raise self._fail("non-minimal INTEGER")
        return int.from_bytes(c, "big", signed=True)

    def boolean(self) -> bool:
        self.expect(BOOLEAN)
        if self.content not in (b"\x00", b"\xff"):
            raise self._fail("BOOLEAN must be 0x00 or 0xff")
        return self.content == b"\xff"

    def octets(self) -> bytes:
        return self.expect(OCTET_STRING).content

    def bits(self) -> bytes:
        """BIT STRING content with no unused bits (keys and signatures are whole bytes)."""
        self.expect(BIT_STRING)
        if not self.content or self.content[0] != 0:
            raise self._fail("BIT STRING with unused bits where whole octets are expected")
        return self.content[1:]

    def bit_flags(self) -> tuple[int, int]:
        """(value, bit count) of a named-bit BIT STRING such as keyUsage; bit 0 is the MSB."""
        self.expect(BIT_STRING)
        if not self.content or self.content[0] > 7:
            raise self._fail("bad BIT STRING")
        data = self.content[1:]
        return int.from_bytes(data, "big") >> self.content[0], len(data) * 8 - self.content[0]

    def null(self) -> None:
        if self.expect(NULL).content:
            raise self._fail("NULL with content")

    def oid(self) -> str:
        c = self.expect(OID).content
        if not c or c[-1] & 0x80:
            raise self._fail("truncated OBJECT IDENTIFIER")
        arcs, value = [], 0
        for i, byte in enumerate(c):
            if value == 0 and byte == 0x80 and (i == 0 or not c[i - 1] & 0x80):
                raise self._fail("non-minimal OBJECT IDENTIFIER arc")
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                arcs.append(value)
                value = 0
        first = min(arcs[0] // 40, 2)
        return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])

    def string(self) -> str:
        if self.tag not in (UTF8_STRING, PRINTABLE_STRING, IA5_STRING, 0x14, 0x1E):
            raise self._fail(f"expected a string, got {tag_name(self.tag)}")
        try:
            return self.content.decode("utf-16-be" if self.tag == 0x1E else "utf-8")
        except UnicodeDecodeError:
            raise self._fail("undecodable string") from None

    def time(self) -> dt.datetime:
        text = self.content.decode("ascii", "replace")
        formats = {UTC_TIME: ("%y%m%d%H%M%SZ", 13), GENERALIZED_TIME: ("%Y%m%d%H%M%SZ", 15)}
        if self.tag not in formats:
            raise self._fail(f"expected a time, got {tag_name(self.tag)}")
        fmt, size = formats[self.tag]
        try:
            if len(text) != size:
                raise ValueError
            return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            raise self._fail(f"bad {tag_name(self.tag)} {text!r}") from None

    def is_context(self, number: int) -> bool:
        return self.tag & 0xC0 == 0x80 and self.tag & 0x1F == number

    def explicit_inner(self) -> Element:
        """The single element inside an EXPLICIT context tag."""
        items = self.children()
        if len(items) != 1:
            raise self._fail("EXPLICIT tag must hold exactly one element")
        return items[0]

    def retag(self, tag: int) -> Element:
        """View an IMPLICIT-tagged element as the universal type it replaces."""
        return Element(tag, self.content, tlv(tag, self.content), self.offset)


def _read(data: bytes, pos: int, base: int) -> tuple[Element, int]:
    start = pos
    if pos + 2 > len(data):
        raise DecodeError(f"truncated DER header at offset {base + pos}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DecodeError(f"multi-byte tags are not supported (offset {base + pos})")
    first = data[pos + 1]
    pos += 2
    if first == 0x80:
        raise DecodeError(f"indefinite length is not DER (offset {base + start})")
    if first & 0x80:
        n = first & 0x7F
        if n > 4 or pos + n > len(data):
            raise DecodeError(f"bad length field at offset {base + start}")
        length = int.from_bytes(data[pos : pos + n], "big")
        if length < 0x80 or data[pos] == 0:
            raise DecodeError(f"non-minimal length at offset {base + start}")
        pos += n
    else:
        length = first
    if pos + length > len(data):
        raise DecodeError(
            f"truncated: {tag_name(tag)} at offset {base + start} needs {length} bytes, "
            f"{len(data) - pos} left"
        )
    end = pos + length
    return Element(tag, data[pos:end], data[start:end], base + start), end


def decode(data: bytes) -> Element:
    """Decode exactly one DER element spanning all of ``data``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError("DER input must be bytes")
    data = bytes(data)
    element, end = _read(data, 0, 0)
    if end != len(data):
        raise DecodeError(f"{len(data) - end} trailing bytes after DER element")
    return element


# ---------------------------------------------------------------- PEM

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)


def pem_decode(data: bytes | str, label: str | None = None) -> tuple[str, bytes]:
    """The (label, DER) of the first PEM block (with ``label`` if given)."""
    raw = data.encode() if isinstance(data, str) else data
    for match in _PEM_RE.finditer(raw):
        found = match.group(1).decode()
        if label is None or found == label:
            body = b"".join(match.group(2).split())
            try:
                return found, base64.b64decode(body, validate=True)
            except binascii.Error as exc:
                raise DecodeError(f"bad base64 in PEM {found} block: {exc}") from None
    wanted = f" {label}" if label else ""
    raise DecodeError(f"no PEM{wanted} block found")


def pem_decode_all(data: bytes | str, label: str) -> list[bytes]:
    raw = data.encode() if isinstance(data, str) else data
    out = []
    for match in _PEM_RE.finditer(raw):
        if match.group(1).decode() == label:
            try:
                out.append(base64.b64decode(b"".join(match.group(2).split()), validate=True))
            except binascii.Error as exc:
                raise DecodeError(f"bad base64 in PEM {label} block: {exc}") from None
    return out


def pem_encode(der: bytes, label: str) -> bytes:
    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        b"\n".join([f"-----BEGIN {label}-----".encode(), *lines, f"-----END {label}-----".encode()])
        + b"\n"
    )


def der_or_pem(data: bytes, label: str) -> bytes:
    """Accept DER or PEM input (sniffing for the BEGIN line)."""
    if b"-----BEGIN" in data:
        return pem_decode(data, label)[1]
    if not data.startswith(b"\x30"):
        raise DecodeError(f"expected a {label} in PEM or DER form")
    return data
