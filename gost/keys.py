"""PKCS#8 private keys and SubjectPublicKeyInfo for GOST R 34.10-2012 (RFC 9215 §4).

AlgorithmIdentifier = key OID (…1.1.1 for 256-bit, …1.1.2 for 512-bit) with parameters
SEQUENCE { curve OID [, digest OID] }; the digest OID is written where OpenSSL's engine
writes it: for the 2001-era CryptoPro sets (RFC 9215 requires it there) and for 512-bit
sets A and B (RFC 9215: SHOULD omit, so both forms are valid). The private
key is written as OpenSSL's engine writes it (d little-endian, directly as the PKCS#8
OCTET STRING); on input the nested OCTET STRING and INTEGER forms are accepted too.
"""

from __future__ import annotations

from gost import asn1
from gost.asn1 import Element
from gost.curves import Curve, curve_by_oid
from gost.exceptions import DecodeError
from gost.sign import PrivateKey, PublicKey

KEY_OID = {256: "1.2.643.7.1.1.1.1", 512: "1.2.643.7.1.1.1.2"}
DIGEST_OID = {256: "1.2.643.7.1.1.2.2", 512: "1.2.643.7.1.1.2.3"}
SIGNATURE_OID = {256: "1.2.643.7.1.1.3.2", 512: "1.2.643.7.1.1.3.3"}
_BITS_BY_KEY_OID = {v: k for k, v in KEY_OID.items()}
_WITH_512_DIGEST = {"1.2.643.7.1.2.1.2.1", "1.2.643.7.1.2.1.2.2"}


def algorithm_identifier(curve: Curve) -> bytes:
    params = [asn1.oid(curve.oid)]
    if curve.oid.startswith("1.2.643.2.2.") or curve.oid in _WITH_512_DIGEST:
        params.append(asn1.oid(DIGEST_OID[curve.bits]))
    return asn1.sequence(asn1.oid(KEY_OID[curve.bits]), asn1.sequence(*params))


def parse_algorithm_identifier(element: Element) -> Curve:
    """The curve named by a GOST key AlgorithmIdentifier; DecodeError otherwise."""
    items = element.sequence()
    if len(items) != 2:
        raise DecodeError("GOST key AlgorithmIdentifier must have parameters")
    key_oid = items[0].oid()
    if key_oid not in _BITS_BY_KEY_OID:
        raise DecodeError(f"not a GOST R 34.10-2012 key algorithm: {key_oid}")
    params = items[1].sequence()
    if not 1 <= len(params) <= 3:
        raise DecodeError("bad GostR3410-2012-PublicKeyParameters")
    try:
        curve = curve_by_oid(params[0].oid())
    except ValueError as exc:
        raise DecodeError(str(exc)) from None
    if curve.bits != _BITS_BY_KEY_OID[key_oid]:
        raise DecodeError(f"{curve.name} does not match key algorithm {key_oid}")
    return curve


# ---------------------------------------------------------------- public keys


def public_key_to_der(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo with the key as OCTET STRING(X_le ‖ Y_le) in the BIT STRING."""
    inner = asn1.octet_string(key.to_bytes())
    return asn1.sequence(algorithm_identifier(key.curve), asn1.bit_string(inner))


def public_key_to_pem(key: PublicKey) -> bytes:
    return asn1.pem_encode(public_key_to_der(key), "PUBLIC KEY")


def parse_spki(element: Element) -> PublicKey:
    items = element.sequence()
    if len(items) != 2:
        raise DecodeError("SubjectPublicKeyInfo must have 2 elements")
    curve = parse_algorithm_identifier(items[0])
    raw = asn1.decode(items[1].bits()).octets()
    if len(raw) != 2 * curve.size:
        raise DecodeError(f"public key must be {2 * curve.size} bytes, got {len(raw)}")
    try:
        return PublicKey.from_bytes(curve, raw)
    except ValueError as exc:
        raise DecodeError(f"invalid public key: {exc}") from None


def load_public_key(data: bytes) -> PublicKey:
    """SPKI from DER or PEM ("PUBLIC KEY")."""
    return parse_spki(asn1.decode(asn1.der_or_pem(data, "PUBLIC KEY")))


# ---------------------------------------------------------------- private keys


def private_key_to_der(key: PrivateKey) -> bytes:
    return asn1.sequence(
        asn1.integer(0), algorithm_identifier(key.curve), asn1.octet_string(key.to_bytes())
    )


def private_key_to_pem(key: PrivateKey) -> bytes:
    return asn1.pem_encode(private_key_to_der(key), "PRIVATE KEY")


def _private_value(raw: bytes, curve: Curve) -> int:
    if len(raw) == curve.size:
        return int.from_bytes(raw, "little")
    inner = asn1.decode(raw)
    if inner.tag == asn1.OCTET_STRING and len(inner.content) == curve.size:
        return int.from_bytes(inner.content, "little")
    if inner.tag == asn1.INTEGER:
        return inner.integer()
    raise DecodeError("unrecognised GOST private key encoding")


def load_private_key(data: bytes) -> PrivateKey:
    """PKCS#8 PrivateKeyInfo from DER or PEM ("PRIVATE KEY")."""
    items = asn1.decode(asn1.der_or_pem(data, "PRIVATE KEY")).sequence()
    if len(items) < 3:
        raise DecodeError("PrivateKeyInfo must have at least 3 elements")
    if items[0].integer() not in (0, 1):
        raise DecodeError("unsupported PrivateKeyInfo version")
    curve = parse_algorithm_identifier(items[1])
    d = _private_value(items[2].octets(), curve)
    try:
        return PrivateKey(curve, d)
    except ValueError as exc:
        raise DecodeError(f"invalid private key: {exc}") from None
