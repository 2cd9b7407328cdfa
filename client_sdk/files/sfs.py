"""What a shared file looks like inside a message.

XEP-0447 stateless file sharing: ``<file-sharing>`` with XEP-0446 metadata (name, type,
size, SHA-256 of the plaintext) and an XEP-0448 ``<encrypted>`` source naming the cipher
(ours: Kuznyechik-MGM stream; or AES-256-GCM), the key and the HTTPS URL. Standard OMEMO
clients that know no SFS get an XEP-0454 ``aesgcm://URL#ivkey`` body instead (AES-GCM only).
Both travel in the message, so they are exactly as private as its end-to-end encryption.

OMEMO seals only the body, so an end-to-end encrypted offer is one line of text instead:
the aesgcm:// link, or for our cipher ``oplot-kmgm://URL#<key><sha256>:<size>`` (hex).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from urllib.parse import unquote, urlsplit

from client_sdk.files.crypto import CIPHER_AESGCM, CIPHER_GOST

NS_SFS = "urn:xmpp:sfs:0"
NS_META = "urn:xmpp:file:metadata:0"
NS_ESFS = "urn:xmpp:esfs:0"
NS_HASH = "urn:xmpp:hashes:2"
NS_URL = "http://jabber.org/protocol/url-data"
CIPHERS = (CIPHER_GOST, CIPHER_AESGCM)
MAX_NAME = 255
_AESGCM = re.compile(r"^aesgcm://([^\s#]+)#([0-9a-fA-F]{88})$")
KMGM_SCHEME = "oplot-kmgm"
_KMGM = re.compile(rf"^{KMGM_SCHEME}://([^\s#]+)#([0-9a-fA-F]{{128}}):(\d{{1,15}})$")


class BadOffer(ValueError):
    """A file-sharing element we cannot use (missing or malformed parts)."""


@dataclass(frozen=True)
class FileOffer:
    """A file someone shared: everything needed to fetch, decrypt and verify it."""

    id: str
    sender: str
    peer: str
    name: str
    media_type: str
    size: int
    sha256: str  # hex, of the plaintext; empty when unknown (aesgcm:// links)
    url: str
    cipher: str
    key: str  # base64 key material

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def element(offer: FileOffer) -> ET.Element:
    """``<file-sharing>`` for ``offer``."""
    root = ET.Element(f"{{{NS_SFS}}}file-sharing", {"disposition": "attachment",
                                                    "id": offer.id})
    meta = _sub(root, f"{{{NS_META}}}file")
    _sub(meta, f"{{{NS_META}}}media-type", offer.media_type)
    _sub(meta, f"{{{NS_META}}}name", offer.name)
    _sub(meta, f"{{{NS_META}}}size", str(offer.size))
    if offer.sha256:
        _sub(meta, f"{{{NS_HASH}}}hash", base64.b64encode(bytes.fromhex(offer.sha256)).decode(),
             algo="sha-256")
    sources = _sub(root, f"{{{NS_SFS}}}sources")
    enc = _sub(sources, f"{{{NS_ESFS}}}encrypted", cipher=offer.cipher)
    _sub(enc, f"{{{NS_ESFS}}}key", offer.key)
    _sub(_sub(enc, f"{{{NS_SFS}}}sources"), f"{{{NS_URL}}}url-data", target=offer.url)
    return root


def fallback_body(offer: FileOffer) -> str:
    """The body standard clients show: an aesgcm:// link, or a plain note for our cipher."""
    if offer.cipher == CIPHER_AESGCM:
        material = base64.b64decode(offer.key)
        fragment = (material[32:] + material[:32]).hex()  # XEP-0454: IV then key
        return f"aesgcm://{offer.url.removeprefix('https://')}#{fragment}"
    return f"\N{PAPERCLIP} {offer.name} ({offer.size} bytes), sent with Oplot file sharing"


def link(offer: FileOffer) -> str:
    """The offer as the body of an end-to-end encrypted message (see the module doc)."""
    if offer.cipher == CIPHER_AESGCM:
        return fallback_body(offer)
    if not offer.sha256:
        raise BadOffer("a Kuznyechik-MGM offer needs the plaintext SHA-256")
    fragment = f"{base64.b64decode(offer.key).hex()}{offer.sha256}:{offer.size}"
    return f"{KMGM_SCHEME}://{offer.url.removeprefix('https://')}#{fragment}"


def parse_link(body: str, sender: str, peer: str, msg_id: str) -> FileOffer | None:
    """An offer sent as a link (aesgcm:// or ours), or None when the body is something else."""
    match = _KMGM.match(body.strip())
    if not match:
        return parse_aesgcm(body, sender, peer, msg_id)
    url = f"https://{match.group(1)}"
    secret = match.group(2).lower()
    name = safe_name(unquote(url.rsplit("/", 1)[-1]))
    return FileOffer(msg_id, sender, peer, name,
                     mimetypes.guess_type(name)[0] or "application/octet-stream",
                     int(match.group(3)), secret[64:], url, CIPHER_GOST,
                     base64.b64encode(bytes.fromhex(secret[:64])).decode())


def _text(parent: ET.Element, path: str) -> str:
    el = parent.find(path)
    return (el.text or "").strip() if el is not None else ""


def parse(root: ET.Element, sender: str, peer: str, msg_id: str) -> FileOffer:
    meta = root.find(f"{{{NS_META}}}file")
    enc = root.find(f"{{{NS_SFS}}}sources/{{{NS_ESFS}}}encrypted")
    if meta is None or enc is None:
        raise BadOffer("file-sharing without metadata or an encrypted source")
    cipher = enc.get("cipher", "")
    if cipher not in CIPHERS:
        raise BadOffer(f"unsupported cipher {cipher[:80]!r}")
    url_el = enc.find(f"{{{NS_SFS}}}sources/{{{NS_URL}}}url-data")
    url = url_el.get("target", "") if url_el is not None else ""
    if urlsplit(url).scheme != "https":
        raise BadOffer("file source is not an https URL")
    digest = ""
    for h in meta.findall(f"{{{NS_HASH}}}hash"):
        if h.get("algo") == "sha-256":
            digest = _b64(h.text or "", 32).hex()
    key = _text(enc, f"{{{NS_ESFS}}}key")
    _b64(key, 44 if cipher == CIPHER_AESGCM else 32)
    name = _text(meta, f"{{{NS_META}}}name") or unquote(url.rsplit("/", 1)[-1])
    try:
        size = int(_text(meta, f"{{{NS_META}}}size") or -1)
    except ValueError:
        raise BadOffer("file size is not an integer") from None
    return FileOffer(root.get("id") or msg_id, sender, peer, safe_name(name),
                     _text(meta, f"{{{NS_META}}}media-type") or "application/octet-stream",
                     size, digest, url, cipher, key)


def parse_aesgcm(body: str, sender: str, peer: str, msg_id: str) -> FileOffer | None:
    """An XEP-0454 link in a body, or None when the body is something else."""
    match = _AESGCM.match(body.strip())
    if not match:
        return None
    fragment = bytes.fromhex(match.group(2))
    url = f"https://{match.group(1)}"
    return FileOffer(msg_id, sender, peer, safe_name(unquote(url.rsplit("/", 1)[-1])),
                     "application/octet-stream", -1, "", url, CIPHER_AESGCM,
                     base64.b64encode(fragment[12:] + fragment[:12]).decode())


def _b64(text: str, length: int) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadOffer("key or hash is not base64") from None
    if len(raw) != length:
        raise BadOffer("key or hash has the wrong length")
    return raw


def safe_name(name: str) -> str:
    """A name safe to create in a download directory, whatever the sender wrote."""
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", name).strip().lstrip(".") or "file"
    return name.encode()[:MAX_NAME].decode(errors="ignore")
