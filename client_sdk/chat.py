"""1:1 messages and everything attached to them: stable ids (XEP-0359), receipts (0184),
markers (0333), chat states (0085), corrections (0308), retractions (0424), replies (0461)
and reactions (0444). Incoming stanzas are validated here; anything malformed, oversized or
forged is logged and dropped.

``hooks`` is where end-to-end encryption plugs in: every outgoing message stanza passes
through ``outgoing`` before it is sent, every incoming one through ``incoming`` before it
is read (return False to drop it)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from slixmpp import JID, Message
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from client_sdk.errors import from_condition
from client_sdk.events import (
    ChatMessage,
    ChatState,
    Correction,
    Event,
    Marker,
    MessageError,
    Reactions,
    Receipt,
    Retraction,
    RoomSubject,
)

if TYPE_CHECKING:
    from client_sdk.client import Client

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_REACTIONS = 32
RECEIPT_DELAY = 0.01
TYPES = {"chat", "normal", "groupchat", "error", "headline"}
STATES = {"active", "composing", "paused", "inactive", "gone"}
MARKERS = ("received", "displayed", "acknowledged")
NS_CARBONS = "{urn:xmpp:carbons:2}"
NS_MAM = "{urn:xmpp:mam:2}result"
ORIGIN_ID = "{urn:xmpp:sid:0}origin-id"
MARKABLE = "{urn:xmpp:chat-markers:0}markable"
REQUEST = "{urn:xmpp:receipts}request"
RECEIVED = "{urn:xmpp:receipts}received"
ACTIVE = "{http://jabber.org/protocol/chatstates}active"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
REACTIONS = "{urn:xmpp:reactions:0}reactions"
RETRACT = "{urn:xmpp:message-retract:1}retract"


class Dropped(ValueError):
    """An incoming stanza we refuse; the message says why (it goes to the log)."""


class Claimed(Dropped):
    """A stanza a payload hook took over (an encrypted message, decrypted asynchronously
    and ingested again as plaintext): the normal path, so logged at debug level only."""


def log_dropped(what: str, sender: object, why: Dropped) -> None:
    """Refusals are warnings; a hook's claim is not a refusal."""
    level = logging.DEBUG if isinstance(why, Claimed) else logging.WARNING
    log.log(level, "dropped %s from %s: %s", what, sender, why)


class PayloadHook(Protocol):
    """Where message payloads pass through (end-to-end encryption plugs in here)."""

    def outgoing(self, msg: Message) -> None: ...

    def incoming(self, msg: Message) -> bool: ...


class ArchiveHook(Protocol):
    """Where archived (MAM) payloads are opened before ingest: decryption is async, and an
    archive page must be readable before it is stored."""

    async def open_archived(self, msg: Message) -> None: ...


@lru_cache(maxsize=1024)
def parse_jid(text: str) -> JID:
    """A JID parsed once per distinct string (the same few peers come on every message, and
    slixmpp's parser with its stringprep checks cost more than the rest of reading their
    addresses). Shared: read it, never modify it."""
    return JID(text)


def new_id() -> str:
    """A random 128-bit id in hex (as ``uuid4().hex`` was, without building a UUID)."""
    return os.urandom(16).hex()


def add_payload(msg: Message, tag: str, plugin: str = "", **attrs: str) -> None:
    """Append a payload element to a stanza we compose, for the per-message send path:
    slixmpp's item assignment (``msg["origin_id"]["id"] = ...``) goes through its generic
    interface lookups at several times the cost. An element that is read back through a
    stanza plugin is registered as that plugin's (``plugin``); extensions that look into
    the stanza itself (chat states, receipts) need no registration."""
    element = ET.SubElement(msg.xml, tag, attrs)
    if plugin:
        msg.init_plugin(plugin, existing_xml=element)


class Chat:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.hooks: list[PayloadHook] = []
        self.archive_hooks: list[ArchiveHook] = []
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._receipts: list[tuple[str, str]] = []  # (to, id of the message received)
        self._receipt_timer: asyncio.TimerHandle | None = None
        namespace = client.xmpp.default_ns
        self._message_tag, self._body_tag = f"{{{namespace}}}message", f"{{{namespace}}}body"
        # slixmpp's "message" event skips bodiless stanzas (receipts, markers, carbons)
        client.xmpp.register_handler(Callback("oplot-messages", MatchXPath(
            "{jabber:client}message"), self._on_message))

    @property
    def xmpp(self):
        return self.client.xmpp

    # -- sending --------------------------------------------------------------------------

    def _message(self, to: str, kind: str, body: str = "") -> Message:
        msg_id = new_id()
        msg = self._stanza(to, kind, msg_id)
        if body:
            ET.SubElement(msg.xml, self._body_tag).text = body
        add_payload(msg, ORIGIN_ID, "origin_id", id=msg_id)
        return msg

    def _stanza(self, to: str | JID, kind: str, msg_id: str) -> Message:
        """An empty message stanza of ours, built on its XML element: ``make_message`` sets
        each attribute through slixmpp's interface machinery, several times the cost on the
        per-message path. Same XML as ``make_message`` (``to`` as given, no language)."""
        xml = ET.Element(self._message_tag, {"to": str(to), "type": kind, "id": msg_id})
        return Message(self.xmpp, xml=xml, recv=True)

    def _send(self, msg: Message) -> str:
        for hook in self.hooks:
            hook.outgoing(msg)
        msg.send()
        return msg.xml.get("id", "")

    def send(self, to: str, body: str, *, reply_to: ChatMessage | None = None,
             kind: str = "chat") -> str:
        """Send a message (1:1 with receipt request); return its stable id."""
        return self.post(self.compose(to, body, reply_to=reply_to, kind=kind), body)

    def compose(self, to: str, body: str, *, reply_to: ChatMessage | None = None,
                kind: str = "chat") -> Message:
        """A new message's stanza, not sent: ``post`` sends it as is, E2E seals it first."""
        if len(body) > MAX_BODY:
            raise ValueError(f"message of {len(body)} characters exceeds {MAX_BODY}")
        msg = self._message(to, kind, body)
        add_payload(msg, MARKABLE, "markable")
        if reply_to is not None:
            self._quote(msg, reply_to)
        if kind == "chat":
            add_payload(msg, REQUEST)
            add_payload(msg, ACTIVE)
        return msg

    def post(self, msg: Message, body: str) -> str:
        """Send a composed stanza; our 1:1 message (or correction) is stored with its plain
        ``body``, whatever the stanza now carries (sealed text)."""
        msg_id = self._send(msg)
        if msg.xml.get("type") == "chat":
            self.client.after_send(lambda: self._remember(msg, body))
        return msg_id

    async def deliver(self, to: str, body: str, *, reply_to: ChatMessage | None = None,
                      wait: float = 1.0) -> str:
        """Send and wait briefly for a bounce: unknown JIDs and refusals raise typed errors.

        Returns on the peer's receipt or, when none comes within ``wait`` seconds (peer
        offline: the server keeps the message), on timeout."""
        msg_id = self.send(to, body, reply_to=reply_to)
        await self.settled(msg_id, wait)
        return msg_id

    async def settled(self, msg_id: str, wait: float = 1.0) -> None:
        """Wait up to ``wait`` seconds for the receipt or bounce of our message ``msg_id``
        (call right after sending it); a bounce raises its typed error."""
        waiter = self._pending[msg_id] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(waiter, wait)
        except TimeoutError:
            pass
        finally:
            self._pending.pop(msg_id, None)

    def _settle(self, event: Event) -> None:
        waiter = self._pending.get(getattr(event, "id", ""))
        if waiter is None or waiter.done():
            return
        if isinstance(event, MessageError):
            what = f"{event.peer}: cannot deliver"
            waiter.set_exception(from_condition(event.condition, what, event.text))
        elif isinstance(event, Receipt):
            waiter.set_result(None)

    def _quote(self, msg: Message, original: ChatMessage) -> None:
        ref = original.stanza_id if original.kind == "groupchat" else original.id
        msg["reply"]["to"] = original.sender
        msg["reply"]["id"] = ref

    def _remember(self, msg: Message, body: str) -> None:
        to, me = parse_jid(msg.xml.get("to", "")).bare, self.client.jid
        if msg.xml.find("{urn:xmpp:message-correct:0}replace") is not None:
            self.client.store.correct(to, me, msg["replace"]["id"], body)
            return
        reply = msg["reply"]["id"] if msg.xml.find("{urn:xmpp:reply:0}reply") is not None else ""
        self.client.store.add(me, ChatMessage(sender=me, body=body, id=msg.xml.get("id", ""),
                                              peer=to, outgoing=True,
                                              timestamp=datetime.now(UTC), reply_to=reply))

    def correct(self, to: str, msg_id: str, body: str, kind: str = "chat") -> str:
        """Replace the body of our message ``msg_id`` (XEP-0308)."""
        return self.post(self.compose_correction(to, msg_id, body, kind), body)

    def compose_correction(self, to: str, msg_id: str, body: str,
                           kind: str = "chat") -> Message:
        """A correction's stanza, not sent (see ``compose``)."""
        msg = self._message(to, kind, body)
        msg["replace"]["id"] = msg_id
        return msg

    def retract(self, to: str, msg_id: str, kind: str = "chat") -> str:
        """Retract our message ``msg_id`` (XEP-0424, with a fallback body for old clients)."""
        msg = self._message(to, kind, "This person attempted to retract a previous message,"
                            " but it's unsupported by your client.")
        msg["retract"]["id"] = msg_id
        msg.enable("fallback")
        msg.enable("store")
        if kind == "chat":
            peer = JID(to).bare
            self.client.after_send(lambda: self.client.store.retract(peer, self.client.jid,
                                                                     msg_id))
        return self._send(msg)

    def react(self, to: str, msg_id: str, values: Iterable[str], kind: str = "chat") -> str:
        """Set our full reaction set on ``msg_id`` (empty removes them; XEP-0444)."""
        msg = self._message(to, kind)
        msg["reactions"]["id"] = msg_id
        msg["reactions"]["values"] = list(values)
        msg.enable("store")
        if kind == "chat":
            peer, chosen = JID(to).bare, frozenset(msg["reactions"]["values"])
            self.client.after_send(lambda: self.client.store.react(peer, self.client.jid,
                                                                   msg_id, chosen))
        return self._send(msg)

    def mark(self, message: ChatMessage, marker: str = "displayed") -> None:
        """Tell the sender we displayed (or received/acknowledged) ``message`` (XEP-0333)."""
        if marker not in MARKERS:
            raise ValueError(f"unknown marker {marker!r}; use one of {', '.join(MARKERS)}")
        to = message.peer if message.kind == "groupchat" else message.sender
        ref = message.stanza_id if message.kind == "groupchat" else message.id
        msg = self.xmpp.make_message(mto=to, mtype=message.kind)
        msg[marker]["id"] = ref
        msg.enable("store")
        msg.send()

    def set_state(self, to: str, state: str) -> None:
        """Send a chat state notification (XEP-0085): composing, paused, active..."""
        if state not in STATES:
            raise ValueError(f"unknown chat state {state!r}; use one of {', '.join(STATES)}")
        msg = self.xmpp.make_message(mto=to, mtype="chat")
        msg["chat_state"] = state
        msg.enable("no-store")
        msg.send()

    # -- receiving ------------------------------------------------------------------------

    async def open_archived(self, msgs: Iterable[Message]) -> None:
        """Let the archive hooks rewrite archived messages in place (e.g. decrypt them)."""
        for msg in msgs:
            for hook in self.archive_hooks:
                await hook.open_archived(msg)

    def _on_message(self, msg: Message) -> None:
        try:
            self._dispatch(msg)
        except Dropped as why:
            log_dropped("message", msg["from"], why)
        except Exception:
            log.exception("dropped malformed message from %s", msg["from"])

    def _dispatch(self, msg: Message) -> None:
        result = msg.xml.find(NS_MAM)
        if result is not None:
            if not self.client.history.expects(result.get("queryid", "")):
                raise Dropped("archive result that answers no query of ours")
            return  # the history query that asked for it collects it
        carbon = self._carbon(msg)
        if carbon is not None:
            msg = carbon
        kind = msg.xml.get("type", "normal")
        if kind not in TYPES:
            raise Dropped(f"unknown message type {kind!r}")
        archive = msg["from"].bare if kind == "groupchat" else self.client.jid
        if kind == "groupchat" and not self.client.rooms.is_joined(archive):
            raise Dropped("groupchat message from a room we are not in")
        stanza_id = self._trusted_stanza_id(msg, archive)
        history = self.client.history
        if history.syncing(archive):
            history.defer(archive, msg, stanza_id)
        else:
            history.live(archive, msg, stanza_id)

    def _carbon(self, msg: Message) -> Message | None:
        """The forwarded message of a carbon, only when the carbon is from our own account."""
        for direction in ("received", "sent"):
            wrapper = msg.xml.find(f"{NS_CARBONS}{direction}")
            if wrapper is None:
                continue
            if msg["from"] != JID(self.client.jid):
                raise Dropped(f"forged carbon from {msg['from']}")
            inner = msg[f"carbon_{direction}"]
            side = inner["from"] if direction == "sent" else inner["to"]
            if side.bare != self.client.jid:
                raise Dropped(f"carbon of a message that is not ours ({side})")
            return inner
        return None

    def _trusted_stanza_id(self, msg: Message, archive: str) -> str:
        """The archive id, only if the archive itself stamped it (XEP-0359 ``by``)."""
        for el in msg.xml.findall("{urn:xmpp:sid:0}stanza-id"):
            if el.get("by") == archive and el.get("id"):
                return el.get("id")
        return ""

    def ingest(self, msg: Message, archive: str, stanza_id: str,
               archived: bool = False) -> list[Event]:
        """Validate one message, record it in the store, return the events it carries.

        Called with the store in a transaction, for live messages and archive results.
        Attributes and simple payloads are read from the XML directly, each once: every
        ``msg[...]`` lookup goes through slixmpp's generic interface machinery."""
        for hook in self.hooks:
            if not hook.incoming(msg):
                raise Claimed("taken over by a payload hook")
        kind = msg.xml.get("type", "normal")
        if kind == "error":
            return [self._error(msg)]
        origin = parse_jid(msg.xml.get("from", ""))
        own = origin.bare == self.client.jid and kind != "groupchat"
        peer = (origin.bare if kind == "groupchat" or not own
                else parse_jid(msg.xml.get("to", "")).bare)
        sender = str(origin) if kind == "groupchat" else origin.bare
        body = self._body(msg)
        if kind == "groupchat" and not body and msg["subject"]:
            return [RoomSubject(peer, msg["subject"], origin.resource)]
        events = [] if own else self._signals(msg.xml, peer)
        if msg.xml.find(REACTIONS) is not None:
            events.append(self._reactions(msg, peer, sender))
        elif msg.xml.find(RETRACT) is not None:
            ref = msg["retract"]["id"]
            if self.client.store.retract(peer, sender, ref):
                events.append(Retraction(peer, sender, ref))
        elif body:
            events.extend(self._content(msg, body, archive, (peer, sender, kind), stanza_id,
                                        archived, origin))
        return events

    def stores(self, msg: Message) -> bool:
        """Whether ``ingest`` may write to the store for ``msg`` (a body, reactions or a
        retraction); receipts, markers, chat states, errors and subjects never do."""
        xml = msg.xml
        return (xml.find(self._body_tag) is not None or xml.find(REACTIONS) is not None
                or xml.find(RETRACT) is not None)

    def _body(self, msg: Message) -> str:
        """The body: read from the element when there is one without a language (the usual
        case), else through slixmpp's language-aware lookup."""
        bodies = msg.xml.findall(self._body_tag)
        if len(bodies) == 1 and XML_LANG not in bodies[0].attrib:
            return bodies[0].text or ""
        return msg["body"] if bodies else ""

    def _signals(self, xml: ET.Element, peer: str) -> list[Event]:
        """Receipts, markers and chat states of someone else: no body, never stored."""
        events: list[Event] = []
        received = xml.find(RECEIVED)
        if received is not None and received.get("id"):
            events.append(Receipt(peer, received.get("id")))
            self._settle(events[-1])
        for marker in MARKERS:
            element = xml.find(f"{{urn:xmpp:chat-markers:0}}{marker}")
            if element is not None:
                events.append(Marker(peer, element.get("id", ""), marker))
        for state in STATES:
            if xml.find(f"{{http://jabber.org/protocol/chatstates}}{state}") is not None:
                events.append(ChatState(peer, state))
                break
        return events

    def _content(self, msg: Message, body: str, archive: str, who: tuple[str, str, str],
                 stanza_id: str, archived: bool, origin: JID) -> list[Event]:
        """A message with a body (``who``: peer, sender, type): stored, or a correction."""
        peer, sender, kind = who
        if len(body) > MAX_BODY:
            raise Dropped(f"body of {len(body)} characters exceeds {MAX_BODY}")
        store = self.client.store
        if msg.xml.find("{urn:xmpp:message-correct:0}replace") is not None:
            ref = msg["replace"]["id"]
            return [Correction(peer, sender, ref, body)] if store.correct(
                peer, sender, ref, body) else []
        origin_id = msg.xml.find(ORIGIN_ID)
        msg_id = (origin_id.get("id", "") if origin_id is not None else "") or msg.xml.get(
            "id", "")
        if not msg_id and not stanza_id:
            raise Dropped("message without any id")
        reply = msg["reply"]["id"] if msg.xml.find("{urn:xmpp:reply:0}reply") is not None else ""
        event = ChatMessage(
            sender=sender, body=msg["reply"].strip_fallback_content() if reply else body,
            id=msg_id or stanza_id, peer=peer, stanza_id=stanza_id, kind=kind,
            outgoing=self._outgoing(origin, kind, peer), archived=archived,
            timestamp=self._stamp(msg), reply_to=reply,
            nick=origin.resource if kind == "groupchat" else "")
        return [event] if store.add(archive, event) else []

    def _reactions(self, msg: Message, peer: str, sender: str) -> Reactions:
        values = frozenset(msg["reactions"]["values"])
        if len(values) > MAX_REACTIONS:
            raise Dropped(f"{len(values)} reactions exceed {MAX_REACTIONS}")
        ref = msg["reactions"]["id"]
        if not ref:
            raise Dropped("reactions without a message id")
        self.client.store.react(peer, sender, ref, values)
        return Reactions(peer, sender, ref, values)

    def _outgoing(self, origin: JID, kind: str, peer: str) -> bool:
        if kind == "groupchat":
            return origin.resource == self.client.rooms.nick(peer)
        return origin.bare == self.client.jid

    @staticmethod
    def _stamp(msg: Message) -> datetime:
        if msg.xml.find("{urn:xmpp:delay}delay") is not None and msg["delay"]["stamp"]:
            return msg["delay"]["stamp"]
        return datetime.now(UTC)

    def _error(self, msg: Message) -> MessageError:
        err = msg["error"]
        event = MessageError(msg["from"].bare, msg["id"], err["condition"], err["text"])
        self._settle(event)
        return event

    def acknowledge(self, msg: Message, events: list[Event]) -> None:
        """Queue a receipt, only for a message we accepted as new (XEP-0184).

        Receipts are built and sent ``RECEIPT_DELAY`` later, grouped, in a write of their
        own: neither their building nor the peer's reading of them sits in front of a
        reply. (Riding along behind the reply's write put both on the conversation's
        critical path: the peer read them in the same read as the reply.)"""
        msg_id = msg.xml.get("id")
        if (msg_id and msg.xml.get("type") == "chat" and msg.xml.find(REQUEST) is not None
                and any(isinstance(e, ChatMessage) and not e.outgoing for e in events)):
            self._receipts.append((msg.xml.get("from", ""), msg_id))
            if self._receipt_timer is None:
                self._receipt_timer = asyncio.get_running_loop().call_later(
                    RECEIPT_DELAY, self._send_receipts)

    def _send_receipts(self) -> None:
        if self._receipt_timer is not None:
            self._receipt_timer.cancel()
            self._receipt_timer = None
        receipts, self._receipts = self._receipts, []
        for to, msg_id in receipts:
            receipt = self._stanza(to, "chat", new_id())
            add_payload(receipt, RECEIVED, id=msg_id)
            receipt.send()
