"""Trust: blind trust before verification (BTBV), manual verification, distrust.

Decisions are the omemo core's custom trust level names, persisted in the key store:
``blind`` (trusted, not verified), ``verified``, ``distrusted``, ``undecided``. A new
device of a contact none of whose devices is verified is trusted blindly; once the user
has verified a contact, that contact's new devices wait for a decision (the user is told
through a ``TrustNeeded`` event and ``oplot trust``)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

from omemo import DeviceInformation, TrustLevel

BLIND = "blind"
VERIFIED = "verified"
DISTRUSTED = "distrusted"
UNDECIDED = "undecided"
LEVELS = {BLIND: TrustLevel.TRUSTED, VERIFIED: TrustLevel.TRUSTED,
          DISTRUSTED: TrustLevel.DISTRUSTED, UNDECIDED: TrustLevel.UNDECIDED}
URI_KEYS = {"gost-omemo-sid-": "gost", "omemo-sid-": "standard"}


def level(name: str) -> TrustLevel:
    return LEVELS.get(name, TrustLevel.UNDECIDED)


def blind_decision(device: DeviceInformation, others: frozenset[DeviceInformation]) -> str:
    """BTBV: blind unless the user already verified some device of this contact."""
    verified = any(d.trust_level_name == VERIFIED for d in others if d.bare_jid == device.bare_jid)
    return UNDECIDED if verified else BLIND


def grouped_hex(key: bytes, group: int = 8) -> str:
    """A key as lowercase hex in groups of ``group`` digits (how fingerprints are shown)."""
    text = key.hex()
    return " ".join(text[i:i + group] for i in range(0, len(text), group))


def normalise(fingerprint: str) -> str:
    return re.sub(r"[\s:]", "", fingerprint).lower()


def uri(jid: str, fingerprints: dict[tuple[str, int], bytes]) -> str:
    """A scannable ``xmpp:`` URI (Conversations' omemo-sid-N form; GOST devices as
    gost-omemo-sid-N) listing device fingerprints to verify in one step."""
    prefix = {"gost": "gost-omemo-sid-", "standard": "omemo-sid-"}
    query = ";".join(f"{prefix[kind]}{dev}={key.hex()}"
                     for (kind, dev), key in sorted(fingerprints.items()))
    return f"xmpp:{quote(jid, safe='@')}?{query}"


def parse_uri(text: str) -> tuple[str, dict[tuple[str, int], str]]:
    """(jid, {(kind, device): hex fingerprint}) from a verification URI; ValueError if bad."""
    parts = urlsplit(text.strip())
    if parts.scheme != "xmpp" or "@" not in parts.path:
        raise ValueError("not an xmpp: URI with a JID")
    out: dict[tuple[str, int], str] = {}
    for key, value in parse_qsl(parts.query.replace(";", "&"), strict_parsing=False):
        for prefix, kind in URI_KEYS.items():
            if key.startswith(prefix):
                device = key[len(prefix):]
                if not device.isdigit() or not re.fullmatch(r"[0-9a-f]+", value.lower()):
                    raise ValueError(f"malformed fingerprint entry {key}")
                out[(kind, int(device))] = value.lower()
                break
    if not out:
        raise ValueError("URI carries no OMEMO fingerprints")
    return parts.path, out
