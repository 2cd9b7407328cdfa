"""CMS SignedData (RFC 5652) with GOST R 34.10-2012 / Streebog (RFC 4491, RFC 9215).

Written the way OpenSSL's GOST engine writes it, so both read each other: digestAlgorithm
id-tc26-gost3411-12-256/512 with NULL parameters, SignerInfo signatureAlgorithm = the key
algorithm OID (…1.1.1.1 / …1.1.1.2) with NULL, signed attributes contentType,
signingTime and messageDigest, the signature octets s ‖ r over the DER SET of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gost import asn1
from gost.asn1 import Element
from gost.exceptions import DecodeError, InvalidSignature
from gost.keys import DIGEST_OID, KEY_OID, SIGNATURE_OID
from gost.sign import PrivateKey, hash_for
from gost.x509 import Certificate

ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_DATA = "1.2.840.113549.1.7.1"
ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ATTR_SIGNING_TIME = "1.2.840.113549.1.9.5"
_BITS_BY_DIGEST = {v: k for k, v in DIGEST_OID.items()}
_SIGNATURE_OIDS = {*KEY_OID.values(), *SIGNATURE_OID.values()}


def _attribute(attr_oid: str, value: bytes) -> bytes:
    return asn1.sequence(asn1.oid(attr_oid), asn1.set_of(value))


def sign(
    content: bytes,
    key: PrivateKey,
    certificate: Certificate,
    *,
    detached: bool = False,
    signing_time: dt.datetime | None = None,
    extra_certificates: tuple[Certificate, ...] = (),
) -> bytes:
    """DER ContentInfo(SignedData) with one signer; ``detached`` omits eContent."""
    if certificate.public_key != key.public_key():
        raise ValueError("certificate does not match the signing key")
    bits = key.curve.bits
    digest_alg = asn1.sequence(asn1.oid(DIGEST_OID[bits]), asn1.null())
    when = (signing_time or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    attrs = asn1.set_of(
        _attribute(ATTR_CONTENT_TYPE, asn1.oid(ID_DATA)),
        _attribute(ATTR_SIGNING_TIME, asn1.time(when)),
        _attribute(ATTR_MESSAGE_DIGEST, asn1.octet_string(hash_for(key.curve)(content).digest())),
    )
    signer = asn1.sequence(
        asn1.integer(1),
        asn1.sequence(certificate.issuer.to_der(), asn1.integer(certificate.serial)),
        digest_alg,
        asn1.implicit(0, attrs),
        asn1.sequence(asn1.oid(KEY_OID[bits]), asn1.null()),
        asn1.octet_string(key.sign(attrs)),
    )
    encap = [asn1.oid(ID_DATA)]
    if not detached:
        encap.append(asn1.explicit(0, asn1.octet_string(content)))
    certs = b"".join(c.der for c in (certificate, *extra_certificates))
    signed_data = asn1.sequence(
        asn1.integer(1),
        asn1.set_of(digest_alg),
        asn1.sequence(*encap),
        asn1.tlv(0xA0, certs),
        asn1.set_of(signer),
    )
    return asn1.sequence(asn1.oid(ID_SIGNED_DATA), asn1.explicit(0, signed_data))


@dataclass(frozen=True)
class SignerInfo:
    issuer_serial: tuple[bytes, int]
    digest_bits: int
    signed_attrs: Element | None
    signature: bytes


@dataclass(frozen=True)
class SignedData:
    content: bytes | None
    certificates: tuple[Certificate, ...]
    signers: tuple[SignerInfo, ...]


def parse(data: bytes) -> SignedData:
    """Parse DER or PEM ("CMS"/"PKCS7") ContentInfo holding SignedData."""
    if b"-----BEGIN" in data:
        data = asn1.pem_decode(data)[1]
    info = asn1.decode(data).sequence()
    if len(info) != 2 or info[0].oid() != ID_SIGNED_DATA or not info[1].is_context(0):
        raise DecodeError("not a CMS SignedData ContentInfo")
    items = info[1].explicit_inner().sequence()
    if len(items) < 4:
        raise DecodeError("SignedData is too short")
    encap = items[2].sequence()
    content = None
    if len(encap) > 1:
        content = encap[1].explicit_inner().octets()
    certs: list[Certificate] = []
    for item in items[3:-1]:
        if item.is_context(0):
            certs.extend(Certificate.from_der(c.raw) for c in item.children())
    signers = tuple(_parse_signer(s) for s in items[-1].children(asn1.SET))
    return SignedData(content, tuple(certs), signers)


def _parse_signer(element: Element) -> SignerInfo:
    items = element.sequence()
    if items[0].integer() != 1:
        raise DecodeError("only issuerAndSerialNumber signer identifiers are supported")
    issuer_el, serial_el = items[1].sequence()
    digest_oid = items[2].sequence()[0].oid()
    if digest_oid not in _BITS_BY_DIGEST:
        raise DecodeError(f"not a Streebog digest algorithm: {digest_oid}")
    rest = items[3:]
    attrs = None
    if rest and rest[0].is_context(0):
        attrs, rest = rest[0].retag(asn1.SET), rest[1:]
    if len(rest) < 2:
        raise DecodeError("SignerInfo is too short")
    sig_oid = rest[0].sequence()[0].oid()
    if sig_oid not in _SIGNATURE_OIDS:
        raise DecodeError(f"not a GOST R 34.10-2012 signature algorithm: {sig_oid}")
    return SignerInfo(
        (issuer_el.raw, serial_el.integer()), _BITS_BY_DIGEST[digest_oid], attrs, rest[1].octets()
    )


def _attributes(attrs: Element) -> dict[str, Element]:
    out = {}
    for attr in attrs.children():
        attr_oid, values = attr.sequence()
        vals = values.children(asn1.SET)
        if len(vals) != 1 or attr_oid.oid() in out:
            raise DecodeError("signed attributes must be single-valued and unique")
        out[attr_oid.oid()] = vals[0]
    return out


def verify(
    data: bytes,
    *,
    content: bytes | None = None,
    trusted: tuple[Certificate, ...] = (),
) -> bytes:
    """Verify every signer and return the content (``content`` for detached messages).

    Each signer certificate must chain to one of ``trusted`` in one step (or be one of
    them); with no ``trusted`` certificates only the signatures are checked.
    """
    signed = parse(data)
    if signed.content is not None and content is not None and signed.content != content:
        raise InvalidSignature("embedded content differs from the supplied content")
    body = signed.content if signed.content is not None else content
    if body is None:
        raise ValueError("detached signature: the content must be supplied")
    if not signed.signers:
        raise InvalidSignature("no signers")
    for signer in signed.signers:
        cert = _find_cert(signer, (*signed.certificates, *trusted))
        _verify_signer(signer, cert, body)
        if trusted:
            _check_trust(cert, trusted)
    return body


def _find_cert(signer: SignerInfo, certs: tuple[Certificate, ...]) -> Certificate:
    issuer, serial = signer.issuer_serial
    for cert in certs:
        if cert.issuer.to_der() == issuer and cert.serial == serial:
            return cert
    raise InvalidSignature("signer certificate not found")


def _verify_signer(signer: SignerInfo, cert: Certificate, body: bytes) -> None:
    key = cert.public_key
    if key.curve.bits != signer.digest_bits:
        raise InvalidSignature("digest size does not match the signer key")
    digest = hash_for(key.curve)(body).digest()
    if signer.signed_attrs is None:
        key.verify_digest(signer.signature, digest)
        return
    attrs = _attributes(signer.signed_attrs)
    if ATTR_MESSAGE_DIGEST not in attrs or attrs[ATTR_MESSAGE_DIGEST].octets() != digest:
        raise InvalidSignature("messageDigest attribute does not match the content")
    if ATTR_CONTENT_TYPE not in attrs or attrs[ATTR_CONTENT_TYPE].oid() != ID_DATA:
        raise InvalidSignature("contentType attribute missing or not id-data")
    key.verify(signer.signature, signer.signed_attrs.raw)


def _check_trust(cert: Certificate, trusted: tuple[Certificate, ...]) -> None:
    if any(t.der == cert.der for t in trusted):
        cert.verify(cert)
        return
    for anchor in trusted:
        if anchor.subject == cert.issuer:
            try:
                cert.verify(anchor)
            except InvalidSignature:
                continue
            return
    raise InvalidSignature("signer certificate is not issued by a trusted certificate")
