"""GOST-OMEMO wire format: fixed-size binary records inside XML (``docs/gost-omemo.md``).

Parsing is strict — exact sizes, canonical base64, bounded counts — and every failure is a
WireError naming the element, so malformed input never reaches the crypto or the storage."""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET

from doubleratchet import EncryptedMessage
from omemo.message import Message
from omemo.types import DeviceList

from client_sdk.e2e.backends.gost import primitives as p
from client_sdk.e2e.backends.gost.ratchet import HEADER_SIZE, decode_header, encode_header
from client_sdk.e2e.backends.gost.structures import (
    GostContent,
    GostEncryptedKey,
    GostKeyExchange,
)
from client_sdk.e2e.backends.gost.twin import STANDARD_IK_SIZE, TwinPointer
from client_sdk.e2e.backends.gost.x3dh import PeerBundle
from client_sdk.e2e.errors import WireError

NAMESPACE = "urn:oplot:omemo:gost:0"
NS = f"{{{NAMESPACE}}}"
DEVICES_NODE = f"{NAMESPACE}:devices"
BUNDLES_NODE = f"{NAMESPACE}:bundles"
KEY_MATERIAL_SIZE = 64  # payload key (32) || key commitment (32)
WRAPPED_SIZE = HEADER_SIZE + KEY_MATERIAL_SIZE + p.TAG_SIZE  # 152
KEX_SIZE = 8 + 2 * p.PUB_SIZE + WRAPPED_SIZE  # 288
MAX_DEVICES = 256
MAX_PRE_KEYS = 200
MAX_KEYS = 2000
MAX_PAYLOAD = 128 * 1024
DEVICE_ID_MAX = 2**31 - 1


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | None, what: str, size: int | None = None) -> bytes:
    try:
        data = base64.b64decode((text or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WireError(f"{what}: not valid base64") from None
    if size is not None and len(data) != size:
        raise WireError(f"{what}: expected {size} bytes, got {len(data)}")
    return data


def device_id(text: str | None, what: str) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise WireError(f"{what}: device id {text!r} is not a number") from None
    if not 1 <= value <= DEVICE_ID_MAX:
        raise WireError(f"{what}: device id {value} out of range 1..{DEVICE_ID_MAX}")
    return value


def _child(parent: ET.Element, tag: str) -> ET.Element:
    found = parent.find(NS + tag)
    if found is None:
        raise WireError(f"<{parent.tag.split('}')[-1]}> lacks <{tag}>")
    return found


def _expect(element: ET.Element, tag: str) -> None:
    if element.tag != NS + tag:
        raise WireError(f"expected <{tag} xmlns='{NAMESPACE}'>, got {element.tag}")


# -- device list ---------------------------------------------------------------------------

def serialize_device_list(devices: DeviceList) -> ET.Element:
    root = ET.Element(NS + "devices")
    for dev in sorted(devices):
        ET.SubElement(root, NS + "device", id=str(dev))
    return root


def parse_device_list(element: ET.Element) -> DeviceList:
    _expect(element, "devices")
    entries = element.findall(NS + "device")
    if len(entries) > MAX_DEVICES:
        raise WireError(f"device list has {len(entries)} entries, more than {MAX_DEVICES}")
    return {device_id(e.get("id"), "device list"): None for e in entries}


# -- bundle --------------------------------------------------------------------------------

def serialize_bundle(peer: PeerBundle, twin: TwinPointer | None) -> ET.Element:
    root = ET.Element(NS + "bundle")
    ET.SubElement(root, NS + "ik").text = b64(peer.identity)
    ET.SubElement(root, NS + "spk", id=str(peer.spk_id)).text = b64(peer.spk)
    ET.SubElement(root, NS + "spks").text = b64(peer.spk_signature)
    pks = ET.SubElement(root, NS + "prekeys")
    for pk_id, pub in sorted(peer.pre_keys.items()):
        ET.SubElement(pks, NS + "pk", id=str(pk_id)).text = b64(pub)
    if twin is not None:
        ET.SubElement(root, NS + "twin", id=str(twin.device_id),
                      ik=b64(twin.identity_key)).text = b64(twin.signature)
    return root


def parse_bundle(element: ET.Element) -> tuple[PeerBundle, TwinPointer | None]:
    """Structure and sizes only; signatures are checked by the caller (needs the JID)."""
    _expect(element, "bundle")
    spk = _child(element, "spk")
    pk_elements = _child(element, "prekeys").findall(NS + "pk")
    if not 0 < len(pk_elements) <= MAX_PRE_KEYS:
        raise WireError(f"bundle has {len(pk_elements)} prekeys (1..{MAX_PRE_KEYS} allowed)")
    pre_keys = {device_id(e.get("id"), "prekey"): unb64(e.text, "prekey", p.PUB_SIZE)
                for e in pk_elements}
    peer = PeerBundle(unb64(_child(element, "ik").text, "identity key", p.PUB_SIZE),
                      device_id(spk.get("id"), "signed prekey"),
                      unb64(spk.text, "signed prekey", p.PUB_SIZE),
                      unb64(_child(element, "spks").text, "prekey signature", p.SIG_SIZE),
                      pre_keys)
    twin_el = element.find(NS + "twin")
    twin = None if twin_el is None else TwinPointer(
        device_id(twin_el.get("id"), "twin"),
        unb64(twin_el.get("ik"), "twin identity key", STANDARD_IK_SIZE),
        unb64(twin_el.text, "twin signature", p.SIG_SIZE))
    return peer, twin


# -- key material records ------------------------------------------------------------------

def encode_wrapped(message: EncryptedMessage) -> bytes:
    return encode_header(message.header) + message.ciphertext


def decode_wrapped(data: bytes) -> EncryptedMessage:
    if len(data) != WRAPPED_SIZE:
        raise WireError(f"key element must be {WRAPPED_SIZE} bytes, got {len(data)}")
    return EncryptedMessage(decode_header(data[:HEADER_SIZE]), data[HEADER_SIZE:])


def encode_kex(spk_id: int, pk_id: int, identity: bytes, ephemeral: bytes,
               wrapped: bytes) -> bytes:
    return spk_id.to_bytes(4, "big") + pk_id.to_bytes(4, "big") + identity + ephemeral + wrapped


def decode_kex(data: bytes) -> tuple[int, int, bytes, bytes, bytes]:
    if len(data) != KEX_SIZE:
        raise WireError(f"key exchange element must be {KEX_SIZE} bytes, got {len(data)}")
    return (int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big"),
            data[8:72], data[72:136], data[136:])


# -- messages ------------------------------------------------------------------------------

def serialize_message(message: Message) -> ET.Element:
    """<encrypted><header sid><keys jid><key rid [kex]/>…</keys></header><payload/>."""
    root = ET.Element(NS + "encrypted")
    header = ET.SubElement(root, NS + "header", sid=str(message.device_id))
    by_jid: dict[str, ET.Element] = {}
    for ekm, kex in sorted(message.keys, key=lambda k: (k[0].bare_jid, k[0].device_id)):
        assert isinstance(ekm, GostEncryptedKey)
        keys = by_jid.get(ekm.bare_jid)
        if keys is None:
            keys = by_jid[ekm.bare_jid] = ET.SubElement(header, NS + "keys", jid=ekm.bare_jid)
        wrapped = encode_wrapped(ekm.message)
        key = ET.SubElement(keys, NS + "key", rid=str(ekm.device_id))
        if kex is None:
            key.text = b64(wrapped)
        else:
            assert isinstance(kex, GostKeyExchange)
            key.set("kex", "true")
            key.text = b64(encode_kex(kex.spk_id, kex.pk_id, kex.identity_key, kex.ephemeral,
                                      wrapped))
    content = message.content
    assert isinstance(content, GostContent)
    if not content.empty:
        ET.SubElement(root, NS + "payload").text = b64(content.commit + content.ciphertext)
    return root


def parse_message(element: ET.Element, sender: str) -> Message:
    _expect(element, "encrypted")
    header = _child(element, "header")
    sid = device_id(header.get("sid"), "message sender")
    keys: set = set()
    for group in header.findall(NS + "keys"):
        jid = group.get("jid") or ""
        if not jid or len(jid) > 3071:
            raise WireError("<keys> without a valid jid")
        for key in group.findall(NS + "key"):
            if len(keys) >= MAX_KEYS:
                raise WireError(f"message carries more than {MAX_KEYS} keys")
            rid = device_id(key.get("rid"), "key recipient")
            if key.get("kex") in ("true", "1"):
                spk_id, pk_id, ik, ek, wrapped = decode_kex(unb64(key.text, "key exchange"))
                kex = GostKeyExchange(ik, ek, spk_id, pk_id)
            else:
                wrapped, kex = unb64(key.text, "key"), None
            keys.add((GostEncryptedKey(jid, rid, decode_wrapped(wrapped)), kex))
    payload = element.find(NS + "payload")
    if payload is None:
        content = GostContent.make_empty()
    else:
        if len(payload.text or "") > MAX_PAYLOAD:
            raise WireError(f"payload larger than {MAX_PAYLOAD} characters")
        data = unb64(payload.text, "payload")
        if len(data) <= 32 + p.TAG_SIZE:
            raise WireError("payload too short")
        content = GostContent(data[:32], data[32:])
    return Message(NAMESPACE, sender, sid, content, frozenset(keys))
