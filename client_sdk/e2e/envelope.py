"""The signed-over plaintext of GOST-OMEMO and omemo:2 messages: a minimal Stanza Content
Encryption (XEP-0420) envelope carrying the body, random padding, and the sender and
recipient JIDs that the receiver checks (so a ciphertext cannot be replayed from or to
another conversation). Legacy OMEMO encrypts the bare body instead."""

from __future__ import annotations

import secrets
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
