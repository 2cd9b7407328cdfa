"""``E2E``: end-to-end encryption for one ``Client`` — what applications and the CLI use.

    e2e = E2E(client)                       # before connect: registers the plugin and hooks
    await client.connect()
    await e2e.start(KeyStore(path, passphrase=...))
    await e2e.send("bob@example.org", "hi")  # encrypted per the domain policy

Incoming encrypted messages are decrypted and handed to the chat module as ordinary
messages (``encryption(msg_id)`` tells how one was protected); messages that cannot be
decrypted are kept with the reason and announced by an ``Undecryptable`` event."""

from __future__ import annotations

import asyncio
import copy
import logging
import secrets
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omemo import Storage
from slixmpp import JID, Message, Presence

from client_sdk.e2e import policy, registry, trust
from client_sdk.e2e.engine import Device, Engine
from client_sdk.e2e.errors import DecryptError, E2EError, PolicyViolation
from client_sdk.e2e.events import DeviceListChanged, Undecryptable
from client_sdk.e2e.plugin import OplotE2E, encrypted_elements
from client_sdk.events import ChatMessage

if TYPE_CHECKING:
    from client_sdk.client import Client

log = logging.getLogger(__name__)
FALLBACK = "[This message is end-to-end encrypted (OMEMO); your client cannot read it]"
EME = "{urn:xmpp:eme:0}encryption"
MARK = "{urn:oplot:e2e}token"
RETRACT = "{urn:xmpp:message-retract:1}retract"
REMEMBER = 1000
PRESENCE_REFRESH_DELAY = 3.0


class E2E:
    def __init__(self, client: Client) -> None:
        self.client = client
        client.xmpp.register_plugin(OplotE2E.name)
        self.plugin: OplotE2E = client.xmpp.plugin[OplotE2E.name]
        self.engine: Engine | None = None
        self.profile = policy.DEFAULT
        self._token = secrets.token_hex(16)
        self._started = asyncio.Event()  # stanzas arriving before start() wait for it
        self.plugin.on_encrypted = self._incoming
        self._status: OrderedDict[str, str] = OrderedDict()
        self._sent: OrderedDict[str, str] = OrderedDict()
        self._opened: OrderedDict[str, str | None] = OrderedDict()
        self._opening = asyncio.Lock()
        self._rooms_ok: set[str] = set()
        client.chat.hooks.append(self)
        client.chat.archive_hooks.append(self)
        client.e2e = self  # type: ignore[attr-defined]

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, storage: Storage, profile: str | None = None) -> None:
        """Open the identities (first run: create and publish them) and read the policy."""
        await self.plugin.announce()
        self.profile = policy.check(profile) if profile else await self.discover_policy()
        self.engine = await Engine.open(self.client.jid, storage, self.plugin,
                                        self.client.emit, self.profile)
        self.plugin.on_device_list = self._device_list
        self.client.xmpp.add_event_handler("presence_available", self._presence)
        self._started.set()

    async def stop(self) -> None:
        self.plugin.on_device_list = None
        self.client.xmpp.del_event_handler("presence_available", self._presence)
        self._started.clear()
        if self.engine is not None:
            await self.engine.close()
            self.engine = None

    async def discover_policy(self) -> str:
        """The domain's profile from ``directory.DOMAIN``'s disco#info extension form."""
        domain = JID(self.client.jid).domain
        try:
            iq = await self.client.xmpp.plugin["xep_0030"].get_info(
                jid=f"directory.{domain}", timeout=10)
        except Exception as exc:
            log.warning("policy discovery failed (%s); using %s", exc, policy.DEFAULT)
            return policy.DEFAULT
        for form in iq.xml.iter("{jabber:x:data}x"):
            values = {f.get("var"): [v.text or "" for v in f.findall("{jabber:x:data}value")]
                      for f in form.findall("{jabber:x:data}field")}
            if values.get("FORM_TYPE") == [policy.FORM_TYPE]:
                return policy.from_disco_form(values)
        return policy.DEFAULT

    @property
    def ready(self) -> Engine:
        if self.engine is None:
            raise E2EError("end-to-end encryption is not started (call E2E.start)")
        return self.engine

    # -- sending ------------------------------------------------------------------------------

    async def send(self, to: str, body: str, kind: str = "chat", *,
                   reply_to: ChatMessage | None = None) -> str:
        """Encrypt and send; PolicyViolation/NoRecipientDevices say why nothing was sent."""
        target = self.client.rooms.jid(to) if kind == "groupchat" else JID(to).bare
        return await self.post(self.client.chat.compose(target, body, reply_to=reply_to,
                                                        kind=kind))

    async def correct(self, to: str, msg_id: str, body: str, kind: str = "chat") -> str:
        """Correct our message ``msg_id`` (XEP-0308) with an encrypted new text."""
        target = self.client.rooms.jid(to) if kind == "groupchat" else JID(to).bare
        return await self.post(self.client.chat.compose_correction(target, msg_id, body, kind))

    async def post(self, msg: Message) -> str:
        """Seal the body of a stanza composed by the chat module and send it."""
        body = msg["body"]
        await self.seal(msg)
        return self.client.chat.post(msg, body)

    async def seal(self, msg: Message) -> None:
        """Replace the body by its encryption, in place. Reference elements (reply, replace)
        stay in the clear, as in other OMEMO clients: servers and old clients thread them."""
        engine = self.ready
        target, body = msg["to"].bare, msg["body"]
        if msg["type"] == "groupchat":
            await self._check_room(target)
            recipients = set(await self.client.rooms.members(target)) - {self.client.jid}
        else:
            recipients = {target}
        elements = await engine.encrypt(recipients, body, target)
        msg["body"] = FALLBACK
        for element in elements:
            msg.append(element)
        if elements:
            ET.SubElement(msg.xml, EME, namespace=elements[0].tag[1:].split("}")[0])
        msg.enable("store")
        self._remember(self._sent, msg["id"], body)
        self._remember(self._status, msg["id"], _namespaces(elements))

    async def _check_room(self, room: str) -> None:
        """Group E2E needs every member's real JID and a fixed member list."""
        if room in self._rooms_ok:
            return
        iq = await self.client.request(self.client.xmpp.plugin["xep_0030"].get_info(
            jid=room, timeout=10), room)
        features = set(iq["disco_info"]["features"])
        missing = {"muc_membersonly", "muc_nonanonymous"} - features
        if missing:
            raise E2EError(f"{room}: end-to-end encryption needs a members-only, "
                           f"non-anonymous room (missing: {', '.join(sorted(missing))})")
        self._rooms_ok.add(room)

    @staticmethod
    def _remember(table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        while len(table) > REMEMBER:
            table.popitem(last=False)

    def encryption(self, msg_id: str) -> str:
        """How message ``msg_id`` was protected: a namespace, ``undecryptable: reason``, or
        "" (plaintext or unknown)."""
        return self._status.get(msg_id, "")

    # -- chat hooks (client_sdk.chat.PayloadHook) ---------------------------------------------

    def outgoing(self, msg: Message) -> None:
        """Plain bodies through Chat.send are refused once E2E runs under a GOST policy."""
        if (self.engine is not None and msg["body"] and msg["type"] in ("chat", "groupchat")
                and policy.uses_gost(self.profile) and not encrypted_elements(msg)
                and msg.xml.find(RETRACT) is None):  # a retraction's body is fixed text
            raise PolicyViolation("plaintext sending is disabled by the E2E policy; "
                                  "use E2E.send (oplot send encrypts)")

    def incoming(self, msg: Message) -> bool:
        """Encrypted stanzas are ours (decrypted asynchronously, also those that arrive
        before start()); our re-injected plain copies pass; EME markers on anything else
        are stripped (cannot be forged)."""
        if msg.xml.get(MARK) == self._token:
            del msg.xml.attrib[MARK]
            return True
        for eme in msg.xml.findall(EME):
            msg.xml.remove(eme)
        return not encrypted_elements(msg)

    # -- receiving ----------------------------------------------------------------------------

    def _sender(self, msg: Message) -> str:
        if msg["type"] != "groupchat":
            return msg["from"].bare
        real = self.client.xmpp.plugin["xep_0045"].get_jid_property(
            msg["from"].bare, msg["from"].resource, "jid")
        return JID(real).bare if real else _archived_sender(msg)

    async def _incoming(self, msg: Message, elements: list[ET.Element]) -> None:
        body = await self._plaintext(msg, elements)
        if body is not None:
            plain = copy.copy(msg)
            self._unwrap(plain, body)
            self.client.chat._on_message(plain)

    async def open_archived(self, msg: Message) -> None:
        """Archive hook (client_sdk.chat.ArchiveHook): MAM catch-up stores the plaintext."""
        elements = encrypted_elements(msg)
        if elements:
            self._unwrap(msg, await self._plaintext(msg, elements))

    def _unwrap(self, msg: Message, body: str | None) -> None:
        """Turn ``msg`` in place into the plain message our incoming hook lets through."""
        for element in encrypted_elements(msg) + msg.xml.findall(EME):
            msg.xml.remove(element)
        if body is None:
            del msg["body"]
        else:
            msg["body"] = body
        msg.xml.set(MARK, self._token)

    async def _plaintext(self, msg: Message, elements: list[ET.Element]) -> str | None:
        """The body, opened once per message: a copy arriving twice (offline delivery and
        the archive) would fail the second time, as the ratchet keeps no used keys."""
        await self._started.wait()  # offline messages arrive right after login
        key = f"{msg['from']} {msg['origin_id']['id'] or msg['id']}"
        async with self._opening:
            if key not in self._opened:
                self._remember(self._opened, key, await self._decrypt(msg, elements))
            return self._opened[key]

    async def _decrypt(self, msg: Message, elements: list[ET.Element]) -> str | None:
        """The body; None for key transport; a placeholder naming the reason on failure."""
        msg_id = msg["origin_id"]["id"] or msg["id"]
        known = self._known(msg, msg_id)
        if known is not None:
            return known
        sender = self._sender(msg)
        # the conversation the sender sealed into the plaintext: the room, our account,
        # or (a carbon of our own message) the peer — a server cannot re-route it
        to = msg["from"].bare if msg["type"] == "groupchat" else msg["to"].bare
        try:
            if not sender:
                raise DecryptError("sender's real JID unknown (room must be non-anonymous)")
            result = await self.ready.decrypt(elements, sender, to)
        except DecryptError as exc:
            return await self._undecryptable(msg, msg_id, sender, exc)
        if result.body is not None:
            self._remember(self._status, msg_id, result.namespace)
        return result.body

    def _known(self, msg: Message, msg_id: str) -> str | None:
        """Our own messages (never encrypted for the sending device) and messages already
        stored: their text is here, and a second decryption would fail."""
        own = msg["from"].bare == self.client.jid
        if msg_id in self._sent and (own or msg["type"] == "groupchat"):
            return self._sent[msg_id]
        if msg["type"] != "chat":
            return None
        peer = msg["to"].bare if own else msg["from"].bare
        return self.client.store.body(peer, msg["from"].bare, msg_id)

    async def _undecryptable(self, msg: Message, msg_id: str, sender: str,
                             exc: DecryptError) -> str:
        recovery = await self._recover(sender, exc)
        self._remember(self._status, msg_id, f"undecryptable: {exc.reason}")
        self.client.emit(Undecryptable(sender or msg["from"].bare, msg_id, exc.reason, recovery))
        return f"[message could not be decrypted: {exc.reason}]"

    async def _recover(self, sender: str, exc: DecryptError) -> str:
        """Refresh what may be stale; the omemo core itself re-keys broken sessions."""
        engine = self.ready
        steps = [exc.recovery] if exc.recovery else []
        if sender:
            await engine.refresh(sender)
            steps.append(f"refreshed {sender}'s device lists")
        if "not encrypted for this device" in exc.reason:
            await engine.refresh(self.client.jid)
            steps.append("re-published our device in our device list")
        return "; ".join(steps)

    def _presence(self, presence: Presence) -> None:
        """A contact's resource came online: maybe a new device. Re-read its device lists
        shortly after (a new device publishes them right after login), so the user hears
        about it even where PEP notifications do not reach us."""
        jid = presence["from"].bare
        if self.engine is None or jid == self.client.jid or jid not in self.engine.known():
            return
        self.client.spawn(self._refresh_later(jid))

    async def _refresh_later(self, jid: str) -> None:
        await asyncio.sleep(PRESENCE_REFRESH_DELAY)
        if self.engine is not None:
            await self.engine.refresh(jid)

    async def _device_list(self, jid: str, namespace: str, payload: ET.Element) -> None:
        engine = self.ready
        entry = registry.spec(namespace)
        sm = engine.managers[entry.identity]
        try:
            new = entry.parse_device_list(payload)
        except Exception as exc:
            log.warning("ignored malformed %s device list of %s: %s", namespace, jid, exc)
            return
        before = {d.device_id for d in await sm.get_device_information(jid)
                  if dict(d.active).get(namespace)}
        await sm.update_device_list(namespace, jid, new)
        added, removed = tuple(sorted(set(new) - before)), tuple(sorted(before - set(new)))
        if added or removed:
            self.client.emit(DeviceListChanged(jid, namespace, added, removed))

    # -- archive ------------------------------------------------------------------------------

    async def archive(self, peer: str, kind: str = "groupchat",
                      limit: int = 100) -> list[Archived]:
        """Decrypt what the server archived (MAM) for a room, or for a 1:1 peer: how
        members who were offline read the group messages encrypted to them meanwhile."""
        self.ready  # noqa: B018 - fail early when not started
        room = self.client.rooms.jid(peer) if kind == "groupchat" else ""
        query = {"jid": JID(room)} if room else {"with_jid": JID(JID(peer).bare)}
        out = []
        async for result in self.client.xmpp.plugin["xep_0313"].iterate(total=limit, **query):
            msg = result["mam_result"]["forwarded"]["stanza"]
            elements = encrypted_elements(msg)
            if not elements:
                continue
            sender = self._sender(msg)
            msg_id = msg["origin_id"]["id"] or msg["id"]
            if sender == self.client.jid and msg_id in self._sent:
                out.append(Archived(sender, self._sent[msg_id], msg_id, "own"))
                continue
            body = await self._plaintext(msg, elements)  # catch-up may have opened it
            status = self.encryption(msg_id)
            if status.startswith("undecryptable"):
                out.append(Archived(sender, "", msg_id, status))
            elif body is not None:
                out.append(Archived(sender, body, msg_id, status))
        return out

    # -- devices and trust --------------------------------------------------------------------

    async def devices(self, jid: str | None = None) -> list[Device]:
        engine = self.ready
        jid = JID(jid).bare if jid else self.client.jid
        await engine.refresh(jid)
        return await engine.devices(jid)

    async def trust(self, jid: str, device: int, decision: str) -> Device:
        return await self.ready.set_trust(JID(jid).bare, device, decision)

    async def verify(self, jid: str, device: int, fingerprint: str) -> Device:
        return await self.ready.verify_fingerprint(JID(jid).bare, device, fingerprint)

    async def verify_uri(self, uri: str) -> list[Device]:
        jid, entries = trust.parse_uri(uri)
        return [await self.verify(jid, device, fp) for (_kind, device), fp in entries.items()]

    async def own_uri(self) -> str:
        own = [d for d in await self.ready.devices(self.client.jid) if d.own]
        return trust.uri(self.client.jid, {(d.kind, d.id): bytes.fromhex(
            trust.normalise(d.fingerprint)) for d in own})


@dataclass(frozen=True)
class Archived:
    """One archived encrypted message: ``encryption`` is the namespace or the reason."""

    sender: str
    body: str
    id: str
    encryption: str


def _archived_sender(msg: Message) -> str:
    """The real JID a non-anonymous room records with each archived message."""
    item = msg.xml.find("{http://jabber.org/protocol/muc#user}x/"
                        "{http://jabber.org/protocol/muc#user}item")
    return JID(item.get("jid")).bare if item is not None and item.get("jid") else ""


def _namespaces(elements: list[ET.Element]) -> str:
    return ",".join(el.tag[1:].split("}")[0] for el in elements)
