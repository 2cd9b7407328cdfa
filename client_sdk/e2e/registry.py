"""The backend registry: every OMEMO flavour the client speaks, described as data.

A backend is a namespace, its PEP nodes, its XML codecs, how it turns a body into the
bytes it encrypts, and which identity (SessionManager) it belongs to. The plugin never
branches on a namespace; adding a backend means adding a ``BackendSpec`` here."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import oldmemo
import oldmemo.etree
import twomemo
import twomemo.etree
from omemo import Backend, Bundle, Message, SessionManager, Storage
from omemo.types import DeviceList

from client_sdk.e2e import envelope
from client_sdk.e2e.backends.gost import backend as gost_backend
from client_sdk.e2e.backends.gost import twin, wire
from client_sdk.e2e.backends.gost.structures import GostBundle
from client_sdk.e2e.errors import KeyExchangeError, WireError

GOST = "gost"
STANDARD = "standard"


@dataclass(frozen=True)
class BackendSpec:
    namespace: str
    identity: str                      # which SessionManager (GOST or STANDARD) owns it
    devices_node: str
    devices_item: str
    bundle_node: Callable[[int], str]
    bundle_item: Callable[[int], str]
    make: Callable[[Storage], Backend]
    serialize_device_list: Callable[[DeviceList], ET.Element]
    parse_device_list: Callable[[ET.Element], DeviceList]
    serialize_bundle: Callable[[Bundle], ET.Element]
    parse_bundle: Callable[[ET.Element, str, int], Bundle]
    serialize_message: Callable[[Message], ET.Element]
    parse_message: Callable[[ET.Element, str, str, SessionManager], Awaitable[Message]]
    pack: Callable[[envelope.Envelope], bytes]
    unpack: Callable[[bytes], envelope.Envelope]


def _body_only(env: envelope.Envelope) -> bytes:
    return env.body.encode()


def _body_unpack(data: bytes) -> envelope.Envelope:
    try:
        return envelope.Envelope(data.decode(), "", "")
    except UnicodeDecodeError:
        raise WireError("decrypted body is not UTF-8") from None


def _sync_parser(parse: Callable[[ET.Element, str], Message]) -> Callable[..., Awaitable[Message]]:
    async def run(element: ET.Element, sender: str, _own: str, _sm: SessionManager) -> Message:
        return parse(element, sender)
    return run


def _gost_serialize_bundle(bundle: Bundle) -> ET.Element:
    assert isinstance(bundle, GostBundle)
    return wire.serialize_bundle(bundle.peer, bundle.twin)


def _gost_parse_bundle(element: ET.Element, bare_jid: str, device_id: int) -> GostBundle:
    """Parse and verify everything at once: a bundle whose prekey signature or twin
    pointer does not verify is rejected whole."""
    peer, pointer = wire.parse_bundle(element)
    try:
        peer.verify()
    except KeyExchangeError as exc:
        raise WireError(f"bundle of {bare_jid}/{device_id}: {exc}") from None
    if pointer is not None and not twin.verify(pointer, peer.identity, bare_jid, device_id):
        raise WireError(f"bundle of {bare_jid}/{device_id}: twin pointer signature does not "
                        "verify")
    return GostBundle(bare_jid, device_id, peer, pointer)


def _legacy_bundle_node(device_id: int) -> str:
    return f"{oldmemo.oldmemo.NAMESPACE}.bundles:{device_id}"


REGISTRY: tuple[BackendSpec, ...] = (
    BackendSpec(
        namespace=wire.NAMESPACE, identity=GOST,
        devices_node=wire.DEVICES_NODE, devices_item="current",
        bundle_node=lambda _d: wire.BUNDLES_NODE, bundle_item=str,
        make=gost_backend.GostBackend,
        serialize_device_list=wire.serialize_device_list,
        parse_device_list=wire.parse_device_list,
        serialize_bundle=_gost_serialize_bundle, parse_bundle=_gost_parse_bundle,
        serialize_message=wire.serialize_message,
        parse_message=_sync_parser(wire.parse_message),
        pack=envelope.pack_compact, unpack=envelope.unpack_compact),
    BackendSpec(
        namespace=oldmemo.oldmemo.NAMESPACE, identity=STANDARD,
        devices_node=f"{oldmemo.oldmemo.NAMESPACE}.devicelist", devices_item="current",
        bundle_node=_legacy_bundle_node, bundle_item=lambda _d: "current",
        make=oldmemo.Oldmemo,
        serialize_device_list=oldmemo.etree.serialize_device_list,
        parse_device_list=oldmemo.etree.parse_device_list,
        serialize_bundle=oldmemo.etree.serialize_bundle,
        parse_bundle=oldmemo.etree.parse_bundle,
        serialize_message=oldmemo.etree.serialize_message,
        parse_message=oldmemo.etree.parse_message,
        pack=_body_only, unpack=_body_unpack),
    BackendSpec(
        namespace=twomemo.twomemo.NAMESPACE, identity=STANDARD,
        devices_node=f"{twomemo.twomemo.NAMESPACE}:devices", devices_item="current",
        bundle_node=lambda _d: f"{twomemo.twomemo.NAMESPACE}:bundles", bundle_item=str,
        make=twomemo.Twomemo,
        serialize_device_list=twomemo.etree.serialize_device_list,
        parse_device_list=twomemo.etree.parse_device_list,
        serialize_bundle=twomemo.etree.serialize_bundle,
        parse_bundle=twomemo.etree.parse_bundle,
        serialize_message=twomemo.etree.serialize_message,
        parse_message=_sync_parser(twomemo.etree.parse_message),
        pack=envelope.pack, unpack=envelope.unpack),
)
"""Priority inside an identity follows this order: legacy before omemo:2, because the
mobile apps of today decrypt legacy reliably and slixmpp-based peers cannot read omemo:2."""


def spec(namespace: str) -> BackendSpec:
    for entry in REGISTRY:
        if entry.namespace == namespace:
            return entry
    raise WireError(f"unknown OMEMO namespace {namespace!r}")


def identities() -> dict[str, list[BackendSpec]]:
    """Identity name -> its backends in priority order."""
    out: dict[str, list[BackendSpec]] = {}
    for entry in REGISTRY:
        out.setdefault(entry.identity, []).append(entry)
    return out


def namespaces() -> set[str]:
    return {entry.namespace for entry in REGISTRY}


