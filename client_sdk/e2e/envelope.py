"""What the OMEMO backends encrypt. omemo:2 takes a minimal Stanza Content Encryption
(XEP-0420) envelope: body, random padding, sender and recipient JIDs. GOST-OMEMO takes a
compact binary record with the recipient (a chat peer or a room, so a ciphertext cannot be
re-played into another conversation) and the body, zero-padded to a whole Kuznyechik block:
every plaintext byte costs two block encryptions in MGM, and the sender is already bound by
the session. Legacy OMEMO encrypts the bare body."""

from __future__ import annotations

import secrets
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from client_sdk.e2e.errors import WireError

NS = "{urn:xmpp:sce:1}"
BODY = "{jabber:client}body"
MAX_ENVELOPE = 256 * 1024


@dataclass(frozen=True)
class Envelope:
    body: str
    sender: str
    to: str


def pack(env: Envelope) -> bytes:
    root = ET.Element(NS + "envelope")
    ET.SubElement(ET.SubElement(root, NS + "content"), BODY).text = env.body
    ET.SubElement(root, NS + "rpad").text = secrets.token_hex(secrets.randbelow(16) + 1)
    ET.SubElement(root, NS + "to", jid=env.to)
    ET.SubElement(root, NS + "from", jid=env.sender)
    return ET.tostring(root)


def unpack(data: bytes) -> Envelope:
    if len(data) > MAX_ENVELOPE:
        raise WireError("decrypted envelope too large")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WireError(f"decrypted envelope is not XML: {exc}") from None
    if root.tag != NS + "envelope":
        raise WireError("decrypted payload is not an SCE envelope")
    body = root.find(f"{NS}content/{BODY}")
    sender, to = root.find(NS + "from"), root.find(NS + "to")
    return Envelope("" if body is None else body.text or "",
                    "" if sender is None else sender.get("jid", ""),
                    "" if to is None else to.get("jid", ""))


COMPACT_VERSION = 1


def pack_compact(env: Envelope) -> bytes:
    """version (1) || pad length (1) || len(to) (u16 BE) || to || body || zero padding."""
    to, body = env.to.encode(), env.body.encode()
    size = 4 + len(to) + len(body)
    pad = -size % 16
    return struct.pack(">BBH", COMPACT_VERSION, pad, len(to)) + to + body + bytes(pad)


def unpack_compact(data: bytes) -> Envelope:
    if len(data) < 4 or data[0] != COMPACT_VERSION:
        raise WireError("decrypted GOST-OMEMO record has an unknown version or is truncated")
    _, pad, to_len = struct.unpack(">BBH", data[:4])
    end = len(data) - pad
    if 4 + to_len > end or any(data[end:]):
        raise WireError("decrypted GOST-OMEMO record is malformed")
    try:
        return Envelope(data[4 + to_len:end].decode(), "", data[4:4 + to_len].decode())
    except UnicodeDecodeError:
        raise WireError("decrypted GOST-OMEMO record is not UTF-8") from None
