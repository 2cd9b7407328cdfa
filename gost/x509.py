"""X.509 v3 certificates and PKCS#10 requests signed with GOST R 34.10-2012 (RFC 9215).

Signatures use id-tc26-signwithdigest-gost3410-12-256/-512 with absent parameters; the
BIT STRING holds the s ‖ r octets. Only the extensions a small PKI needs are built and
interpreted (basicConstraints, keyUsage, subjectAltName dNSName, SKI, AKI); others are
kept as raw bytes and a critical unknown one makes :meth:`Certificate.verify` refuse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from gost import asn1
from gost.asn1 import Element
from gost.exceptions import DecodeError, InvalidSignature
from gost.keys import SIGNATURE_OID, parse_spki, public_key_to_der
from gost.sign import PrivateKey, PublicKey

_SIG_BITS = {v: k for k, v in SIGNATURE_OID.items()}
_ATTR = {
    "CN": "2.5.4.3", "C": "2.5.4.6", "L": "2.5.4.7", "ST": "2.5.4.8",
    "O": "2.5.4.10", "OU": "2.5.4.11", "emailAddress": "1.2.840.113549.1.9.1",
}  # fmt: skip
_ATTR_NAME = {v: k for k, v in _ATTR.items()}
EXT_BASIC_CONSTRAINTS, EXT_KEY_USAGE, EXT_SAN = "2.5.29.19", "2.5.29.15", "2.5.29.17"
EXT_SKI, EXT_AKI = "2.5.29.14", "2.5.29.35"
_KNOWN_EXTS = {EXT_BASIC_CONSTRAINTS, EXT_KEY_USAGE, EXT_SAN, EXT_SKI, EXT_AKI}
KEY_USAGES = (
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
    "keyAgreement", "keyCertSign", "cRLSign",
)  # fmt: skip


# ---------------------------------------------------------------- names


@dataclass(frozen=True)
class Name:
    """A distinguished name as (attribute OID, value) pairs, one per RDN, in order."""

    attributes: tuple[tuple[str, str], ...]
    der: bytes = field(default=b"", compare=False)

    @classmethod
    def parse(cls, text: str) -> Name:
        """From OpenSSL's "/CN=x/O=y" or "CN=x, O=y" notation."""
        parts = text.strip("/").split("/") if text.startswith("/") else text.split(",")
        attrs = []
        for part in filter(None, (p.strip() for p in parts)):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in _ATTR:
                raise ValueError(f"bad name component {part!r} (known: {', '.join(_ATTR)})")
            attrs.append((_ATTR[key.strip()], value.strip()))
        if not attrs:
            raise ValueError("empty distinguished name")
        return cls(tuple(attrs))

    def to_der(self) -> bytes:
        if self.der:
            return self.der
        rdns = []
        for attr_oid, value in self.attributes:
            if attr_oid == _ATTR["C"]:
                encoded = asn1.printable_string(value)
            elif attr_oid == _ATTR["emailAddress"]:
                encoded = asn1.ia5_string(value)
            else:
                encoded = asn1.utf8_string(value)
            rdns.append(asn1.set_of(asn1.sequence(asn1.oid(attr_oid), encoded)))
        return asn1.sequence(*rdns)

    @classmethod
    def from_element(cls, element: Element) -> Name:
        attrs = []
        for rdn in element.sequence():
            for atv in rdn.children(asn1.SET):
                oid_el, value_el = atv.sequence()
                attrs.append((oid_el.oid(), value_el.string()))
        return cls(tuple(attrs), element.raw)

    def __str__(self) -> str:
        return ", ".join(f"{_ATTR_NAME.get(o, o)}={v}" for o, v in self.attributes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Name) and self.to_der() == other.to_der()

    def __hash__(self) -> int:
        return hash(self.to_der())


# ---------------------------------------------------------------- signing helpers


def _signature_algorithm(bits: int) -> bytes:
    return asn1.sequence(asn1.oid(SIGNATURE_OID[bits]))


def _sign_tbs(tbs: bytes, key: PrivateKey) -> bytes:
    return asn1.sequence(tbs, _signature_algorithm(key.curve.bits), asn1.bit_string(key.sign(tbs)))


def _parse_signed(element: Element) -> tuple[Element, int, bytes]:
    """(tbs element, digest bits, s ‖ r) of a SIGNED{...} structure."""
    items = element.sequence()
    if len(items) != 3:
        raise DecodeError("signed structure must have 3 elements")
    alg = items[1].sequence()
    sig_oid = alg[0].oid()
    if sig_oid not in _SIG_BITS:
        raise DecodeError(f"not a GOST R 34.10-2012 signature algorithm: {sig_oid}")
    if len(alg) > 1:
        alg[1].null()
    return items[0], _SIG_BITS[sig_oid], items[2].bits()


def _verify(tbs: bytes, bits: int, signature: bytes, key: PublicKey) -> None:
    if key.curve.bits != bits:
        raise InvalidSignature(f"{bits}-bit signature algorithm with a {key.curve.bits}-bit key")
    key.verify(signature, tbs)


def key_identifier(key: PublicKey) -> bytes:
    """RFC 5280 §4.2.1.2 method 1 (SHA-1 of the key bits), as OpenSSL computes it."""
    return hashlib.sha1(asn1.octet_string(key.to_bytes()), usedforsecurity=False).digest()


# ---------------------------------------------------------------- extensions


def _extension(ext_oid: str, critical: bool, value: bytes) -> bytes:
    parts = [asn1.oid(ext_oid)]
    if critical:
        parts.append(asn1.boolean(True))
    return asn1.sequence(*parts, asn1.octet_string(value))


def _key_usage_bits(usages: tuple[str, ...]) -> bytes:
    flags = 0
    for usage in usages:
        if usage not in KEY_USAGES:
            raise ValueError(f"unknown key usage {usage!r}")
        flags |= 0x80 >> KEY_USAGES.index(usage)
    unused = (flags & -flags).bit_length() - 1 if flags else 0
    return asn1.bit_string(bytes((flags,)), unused)


@dataclass(frozen=True)
class Extension:
    oid: str
    critical: bool
    value: bytes


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Certificate:
    der: bytes
    serial: int
    issuer: Name
    subject: Name
    not_before: dt.datetime
    not_after: dt.datetime
    public_key: PublicKey
    extensions: tuple[Extension, ...]
    tbs: bytes
    signature_bits: int
    signature: bytes

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        tbs_el, bits, signature = _parse_signed(asn1.decode(der))
        items = tbs_el.sequence()
        if items and items[0].is_context(0):
            if items[0].explicit_inner().integer() != 2:
                raise DecodeError("only X.509 v3 certificates are supported")
            items = items[1:]
        if len(items) < 6:
            raise DecodeError("TBSCertificate is too short")
        serial_el, _alg, issuer_el, validity_el, subject_el, spki_el, *rest = items
        if _alg.sequence()[0].oid() != SIGNATURE_OID[bits]:
            raise DecodeError("inner and outer signature algorithms differ")
        not_before, not_after = (t.time() for t in validity_el.sequence())
        extensions: list[Extension] = []
        for item in rest:
            if item.is_context(3):
                for ext in item.explicit_inner().sequence():
                    parts = ext.sequence()
                    critical = len(parts) == 3 and parts[1].boolean()
                    extensions.append(Extension(parts[0].oid(), critical, parts[-1].octets()))
        return cls(
            der=bytes(der),
            serial=serial_el.integer(),
            issuer=Name.from_element(issuer_el),
            subject=Name.from_element(subject_el),
            not_before=not_before,
            not_after=not_after,
            public_key=parse_spki(spki_el),
            extensions=tuple(extensions),
            tbs=tbs_el.raw,
            signature_bits=bits,
            signature=signature,
        )

    @classmethod
    def from_pem(cls, data: bytes) -> Certificate:
        return cls.from_der(asn1.pem_decode(data, "CERTIFICATE")[1])

    @classmethod
    def load(cls, data: bytes) -> Certificate:
        return cls.from_der(asn1.der_or_pem(data, "CERTIFICATE"))

    def to_pem(self) -> bytes:
        return asn1.pem_encode(self.der, "CERTIFICATE")

    def extension(self, ext_oid: str) -> Extension | None:
        return next((e for e in self.extensions if e.oid == ext_oid), None)

    @property
    def basic_constraints(self) -> tuple[bool, int | None] | None:
        """(cA, pathLenConstraint) or None if absent."""
        ext = self.extension(EXT_BASIC_CONSTRAINTS)
        if ext is None:
            return None
        items = asn1.decode(ext.value).sequence()
        ca = bool(items) and items[0].tag == asn1.BOOLEAN and items[0].boolean()
        path = items[-1].integer() if items and items[-1].tag == asn1.INTEGER else None
        return ca, path

    @property
    def key_usage(self) -> tuple[str, ...] | None:
        ext = self.extension(EXT_KEY_USAGE)
        if ext is None:
            return None
        value, nbits = asn1.decode(ext.value).bit_flags()
        return tuple(
            u for i, u in enumerate(KEY_USAGES) if i < nbits and value >> (nbits - 1 - i) & 1
        )

    @property
    def dns_names(self) -> tuple[str, ...]:
        ext = self.extension(EXT_SAN)
        if ext is None:
            return ()
        names = asn1.decode(ext.value).sequence()
        return tuple(n.content.decode("ascii") for n in names if n.tag == 0x82)

    @property
    def subject_key_identifier(self) -> bytes | None:
        ext = self.extension(EXT_SKI)
        return asn1.decode(ext.value).octets() if ext else None

    @property
    def authority_key_identifier(self) -> bytes | None:
        ext = self.extension(EXT_AKI)
        if ext is None:
            return None
        for item in asn1.decode(ext.value).sequence():
            if item.tag == 0x80:
                return item.content
        return None

    def verify(self, issuer: Certificate | PublicKey | None = None) -> None:
        """Check the signature with ``issuer`` (default: self-signed); InvalidSignature if not.

        Also refuses unknown critical extensions and a non-CA issuer certificate.
        """
        for ext in self.extensions:
            if ext.critical and ext.oid not in _KNOWN_EXTS:
                raise InvalidSignature(f"unsupported critical extension {ext.oid}")
        if isinstance(issuer, Certificate):
            if issuer is not self and issuer.der != self.der:
                bc = issuer.basic_constraints
                if not bc or not bc[0]:
                    raise InvalidSignature("issuer certificate is not a CA")
                if issuer.subject != self.issuer:
                    raise InvalidSignature("issuer name does not match")
            key = issuer.public_key
        else:
            key = issuer or self.public_key
        _verify(self.tbs, self.signature_bits, self.signature, key)

    def describe(self) -> str:
        lines = [
            f"Subject: {self.subject}",
            f"Issuer: {self.issuer}",
            f"Serial: {self.serial:x}",
            f"Validity: {self.not_before:%Y-%m-%d %H:%M:%S} .. {self.not_after:%Y-%m-%d %H:%M:%S}",
            f"Public key: GOST R 34.10-2012 {self.public_key.curve.name}",
            f"Signature: GOST R 34.10-2012 with Streebog-{self.signature_bits}",
        ]
        if self.basic_constraints:
            lines.append(f"CA: {self.basic_constraints[0]}")
        if self.key_usage:
            lines.append(f"Key usage: {', '.join(self.key_usage)}")
        if self.dns_names:
            lines.append(f"DNS names: {', '.join(self.dns_names)}")
        return "\n".join(lines)


def issue_certificate(
    *,
    subject: Name,
    public_key: PublicKey,
    issuer_key: PrivateKey,
    issuer: Certificate | None = None,
    serial: int | None = None,
    not_before: dt.datetime | None = None,
    days: int = 365,
    ca: bool = False,
    path_length: int | None = None,
    key_usage: tuple[str, ...] | None = None,
    dns_names: tuple[str, ...] = (),
) -> Certificate:
    """Build and sign a v3 certificate; self-signed when ``issuer`` is None."""
    start = (not_before or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    issuer_name = issuer.subject if issuer else subject
    issuer_public = issuer.public_key if issuer else issuer_key.public_key()
    if issuer_public != issuer_key.public_key():
        raise ValueError("issuer key does not match the issuer certificate")
    if key_usage is None:
        key_usage = ("digitalSignature", "keyCertSign", "cRLSign") if ca else ("digitalSignature",)
    bc = [asn1.boolean(True)] if ca else []
    if ca and path_length is not None:
        bc.append(asn1.integer(path_length))
    exts = [
        _extension(EXT_BASIC_CONSTRAINTS, True, asn1.sequence(*bc)),
        _extension(EXT_KEY_USAGE, True, _key_usage_bits(key_usage)),
        _extension(EXT_SKI, False, asn1.octet_string(key_identifier(public_key))),
        _extension(EXT_AKI, False, asn1.sequence(asn1.tlv(0x80, key_identifier(issuer_public)))),
    ]
    if dns_names:
        san = asn1.sequence(*(asn1.tlv(0x82, n.encode("ascii")) for n in dns_names))
        exts.append(_extension(EXT_SAN, False, san))
    tbs = asn1.sequence(
        asn1.explicit(0, asn1.integer(2)),
        asn1.integer(serial if serial is not None else secrets.randbits(63) + 1),
        _signature_algorithm(issuer_key.curve.bits),
        issuer_name.to_der(),
        asn1.sequence(asn1.time(start), asn1.time(start + dt.timedelta(days=days))),
        subject.to_der(),
        public_key_to_der(public_key),
        asn1.explicit(3, asn1.sequence(*exts)),
    )
    return Certificate.from_der(_sign_tbs(tbs, issuer_key))


# ---------------------------------------------------------------- PKCS#10 requests


@dataclass(frozen=True)
class CertificateRequest:
    der: bytes
    subject: Name
    public_key: PublicKey
    tbs: bytes
    signature_bits: int
    signature: bytes

    @classmethod
    def create(cls, subject: Name, key: PrivateKey) -> CertificateRequest:
        info = asn1.sequence(
            asn1.integer(0),
            subject.to_der(),
            public_key_to_der(key.public_key()),
            asn1.tlv(0xA0, b""),
        )
        return cls.from_der(_sign_tbs(info, key))

    @classmethod
    def from_der(cls, der: bytes) -> CertificateRequest:
        info, bits, signature = _parse_signed(asn1.decode(der))
        items = info.sequence()
        if len(items) < 3 or items[0].integer() != 0:
            raise DecodeError("bad CertificationRequestInfo")
        return cls(
            bytes(der), Name.from_element(items[1]), parse_spki(items[2]), info.raw, bits, signature
        )

    @classmethod
    def load(cls, data: bytes) -> CertificateRequest:
        return cls.from_der(asn1.der_or_pem(data, "CERTIFICATE REQUEST"))

    def to_pem(self) -> bytes:
        return asn1.pem_encode(self.der, "CERTIFICATE REQUEST")

    def verify(self) -> None:
        """Proof of possession: the request is signed by the key it carries."""
        _verify(self.tbs, self.signature_bits, self.signature, self.public_key)
