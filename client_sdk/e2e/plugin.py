"""The slixmpp plugin: PEP transport for the managers, device-list notifications, and the
interception of incoming encrypted messages (``oplot_e2e``).

Everything protocol-specific comes from the registry; this module only moves elements."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable

from slixmpp import JID, Message
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.plugins.base import BasePlugin, register_plugin
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import MatchXPath

from client_sdk.e2e import registry

log = logging.getLogger(__name__)
NS_CARBONS = "{urn:xmpp:carbons:2}"
NS_MAM = "{urn:xmpp:mam:2}result"
TIMEOUT = 15

IncomingHandler = Callable[[Message, list[ET.Element]], Awaitable[None]]
DeviceListHandler = Callable[[str, str, ET.Element], Awaitable[None]]


def encrypted_elements(msg: Message) -> list[ET.Element]:
    """The top-level OMEMO elements of namespaces in the registry."""
    wanted = registry.namespaces()
    return [el for el in msg.xml if el.tag.startswith("{")
            and el.tag[1:].split("}")[0] in wanted and el.tag.endswith("}encrypted")]


class OplotE2E(BasePlugin):
    name = "oplot_e2e"
    description = "Oplot multi-backend OMEMO (GOST-OMEMO, legacy OMEMO, OMEMO 2)"
    dependencies = {"xep_0030", "xep_0060", "xep_0163", "xep_0115", "xep_0280", "xep_0334"}

    def plugin_init(self) -> None:
        self.on_encrypted: IncomingHandler | None = None
        self.on_device_list: DeviceListHandler | None = None
        # slixmpp's "message" event skips bodiless stanzas, and carbons have no outer body
        self.xmpp.register_handler(CoroutineCallback(
            "oplot-e2e", MatchXPath("{jabber:client}message"), self._message))
        self.xmpp.add_event_handler("pubsub_publish", self._published)

    def plugin_end(self) -> None:
        self.xmpp.remove_handler("oplot-e2e")
        self.xmpp.del_event_handler("pubsub_publish", self._published)

    async def announce(self) -> None:
        """+notify for every device-list node, then fix the caps hash (slixmpp 1.17
        advertises a stale one, and ejabberd would send no PEP notifications)."""
        for entry in registry.REGISTRY:
            self.xmpp.plugin["xep_0163"].add_interest(entry.devices_node)
        await self.xmpp.plugin["xep_0115"].update_caps()

    # -- Pep (manager.Pep) ------------------------------------------------------------------

    @property
    def own(self) -> str:
        return self.xmpp.boundjid.bare

    async def publish(self, node: str, item: str, payload: ET.Element) -> None:
        """Publish without publish-options: ejabberd 23.01 rejects max_items there; the
        server forces open access and max_items for our node names (force_node_config)."""
        await self.xmpp.plugin["xep_0060"].publish(self.own, node, id=item, payload=payload,
                                                   timeout=TIMEOUT)

    async def fetch(self, jid: str, node: str, item: str | None) -> ET.Element | None:
        pubsub = self.xmpp.plugin["xep_0060"]
        try:
            if item is None:
                iq = await pubsub.get_items(jid, node, max_items=1, timeout=TIMEOUT)
            else:
                iq = await pubsub.get_item(jid, node, item, timeout=TIMEOUT)
        except IqError as exc:
            if exc.iq["error"]["condition"] in ("item-not-found", "service-unavailable"):
                return None
            raise RuntimeError(f"{jid} {node}: {exc.iq['error']['condition']}") from None
        except IqTimeout:
            raise RuntimeError(f"{jid} {node}: no answer") from None
        items = list(iq["pubsub"]["items"])
        return items[-1]["payload"] if items else None

    async def retract(self, node: str, item: str) -> None:
        try:
            await self.xmpp.plugin["xep_0060"].retract(self.own, node, item, timeout=TIMEOUT)
        except IqError as exc:
            if exc.iq["error"]["condition"] != "item-not-found":
                raise

    async def send(self, jid: str, payload: ET.Element) -> None:
        """An OMEMO message with no body (ratchet forwarding, session healing)."""
        msg = self.xmpp.make_message(mto=jid, mtype="chat")
        msg.append(payload)
        msg.enable("store")
        msg.send()

    # -- incoming ---------------------------------------------------------------------------

    def _unwrap(self, msg: Message) -> Message | None:
        """The forwarded message of a carbon from our own account, else the message."""
        for direction in ("received", "sent"):
            if msg.xml.find(f"{NS_CARBONS}{direction}") is not None:
                if msg["from"] != JID(self.own):
                    return None
                return msg[f"carbon_{direction}"]
        return msg

    async def _message(self, msg: Message) -> None:
        if msg.xml.find(NS_MAM) is not None or self.on_encrypted is None:
            return
        inner = self._unwrap(msg)
        if inner is None:
            return
        elements = encrypted_elements(inner)
        if elements:
            await self.on_encrypted(inner, elements)

    async def _published(self, msg: Message) -> None:
        items = msg["pubsub_event"]["items"]
        node = items["node"]
        if self.on_device_list is None:
            return
        for entry in registry.REGISTRY:
            if entry.devices_node == node:
                for item in items:
                    payload = item["payload"]
                    if payload is not None:
                        await self.on_device_list(msg["from"].bare, entry.namespace, payload)


register_plugin(OplotE2E)
