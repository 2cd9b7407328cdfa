"""Approval signatures: detached CMS SignedData (GOST R 34.10-2012, Streebog) made on the
approver's device, checked here when the decision arrives.

The workflow component does not hold the document's plaintext, only its Streebog digests
(computed by a worker when review starts), so it checks what a CMS verifier checks with the
content given — the signed ``messageDigest`` equals the document's digest, the signature
over the signed attributes, the signer certificate issued by the organisation CA — and
additionally that the certificate names the approver. ``oplot doc verify`` later repeats the
full check against the document itself, offline.
"""

from __future__ import annotations

from gost import Certificate, cms
from gost.exceptions import DecodeError, InvalidSignature
from workflow import ca

ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ID_DATA = "1.2.840.113549.1.7.1"
MAX_SIGNATURE = 16 * 1024


class SignatureError(ValueError):
    """A signature we refuse; the message says why."""


_VERIFIED_LIMIT = 4096
_verified: set[tuple[bytes, bytes]] = set()


def _verify_certificate(cert: Certificate, authority: Certificate) -> None:
    """``cert.verify(authority)``, remembered per (certificate, CA) pair: an approver signs
    many documents with one certificate, and the check is a pure function of the two DER
    encodings (no clock is involved), so it is done once per pair and process; only a pair
    that verified is remembered."""
    pair = (cert.der, authority.der)
    if pair in _verified:
        return
    cert.verify(authority)
    if len(_verified) >= _VERIFIED_LIMIT:
        _verified.clear()
    _verified.add(pair)


def _attributes(signer: cms.SignerInfo) -> dict[str, object]:
    if signer.signed_attrs is None:
        raise SignatureError("the signature has no signed attributes")
    out = {}
    for attr in signer.signed_attrs.children():
        oid_el, values = attr.sequence()
        out[oid_el.oid()] = values.children()[0]
    return out


def check_approval(signature: bytes, digests: dict[str, str], authority: Certificate,
                   jid: str) -> Certificate:
    """The signer's certificate when ``signature`` is ``jid``'s over the document."""
    if not signature or len(signature) > MAX_SIGNATURE:
        raise SignatureError(f"a signature is 1 to {MAX_SIGNATURE} bytes of DER")
    try:
        signed = cms.parse(signature)
        if signed.content is not None:
            raise SignatureError("the signature must be detached (no embedded content)")
        if len(signed.signers) != 1:
            raise SignatureError("exactly one signer expected")
        signer = signed.signers[0]
        cert = next((c for c in signed.certificates if (c.issuer.to_der(), c.serial)
                     == signer.issuer_serial), None)
        if cert is None:
            raise SignatureError("the signer's certificate is not in the signature")
        _verify_certificate(cert, authority)
        if ca.common_name(cert) != jid:
            raise SignatureError(f"the certificate is {ca.common_name(cert)!r}'s, not {jid!r}")
        attrs = _attributes(signer)
        if attrs.get(ATTR_CONTENT_TYPE) is None or attrs[ATTR_CONTENT_TYPE].oid() != ID_DATA:
            raise SignatureError("contentType attribute missing or not id-data")
        digest = digests.get(str(cert.public_key.curve.bits))
        message_digest = attrs.get(ATTR_MESSAGE_DIGEST)
        if message_digest is None or digest is None or message_digest.octets().hex() != digest:
            raise SignatureError("the signature is not over this document")
        if cert.public_key.curve.bits != signer.digest_bits:
            raise SignatureError("digest size does not match the signer key")
        cert.public_key.verify(signer.signature, signer.signed_attrs.raw)
    except InvalidSignature as exc:
        raise SignatureError(f"signature does not verify: {exc}") from exc
    except (DecodeError, ValueError, IndexError) as exc:
        if isinstance(exc, SignatureError):
            raise
        raise SignatureError(f"not a CMS SignedData signature: {exc}") from exc
    return cert


def sign(content: bytes, signer: ca.Signer) -> bytes:
    """Detached CMS over ``content`` with the CA in the certificate set."""
    return cms.sign(content, signer.key, signer.certificate, detached=True)
