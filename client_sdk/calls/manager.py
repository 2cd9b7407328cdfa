"""``Calls``: the call feature of one client device — placing and answering 1:1 calls
(XEP-0353 ringing, Jingle sessions with end-to-end-authenticated DTLS fingerprints) and
joining conferences through the forwarding component."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slixmpp import Iq, Message
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher.base import MatcherBase

from client_sdk.calls import jmi, sdp
from client_sdk.calls.config import CallConfig
from client_sdk.calls.errors import (
    CallBusy,
    CallDeclined,
    CallFailed,
    CallUnanswered,
    ConferenceForbidden,
    FingerprintMismatch,
    JingleError,
    SetupTimeout,
)
from client_sdk.calls.events import (
    ConferenceInvite,
    ConferenceSources,
    IncomingCall,
    RingingStopped,
)
from client_sdk.calls.jingle import Jingle, register
from client_sdk.calls.jingle.core import ACTIONS, child
from client_sdk.calls.jingle.core import send_error as _error
from client_sdk.calls.media import MediaSet
from client_sdk.calls.secure_channel import SecureChannel
from client_sdk.calls.session import JingleSession

if TYPE_CHECKING:
    from client_sdk.client import Client

log = logging.getLogger(__name__)
FINGERPRINT_TYPE = "oplot-call-dtls-fingerprints"


def bare(jid: str) -> str:
    return str(jid).split("/", 1)[0]


class _Matches(MatcherBase):
    """Match stanzas by a predicate (slixmpp's XPath matchers cannot say "any JMI child")."""

    def match(self, stanza) -> bool:
        return bool(self._criteria(stanza))


@dataclass(frozen=True)
class ConferenceParticipant:
    """A participant as the forwarding component sees it: ``slots`` maps each of its
    receive slots (content name) to the participant it carries ("" when free)."""

    jid: str
    status: str
    subscribers: int
    slots: dict[str, str]


@dataclass
class _Ring:
    peer: str
    video: bool
    initiate: Jingle | None = None


class Calls:
    """Attach to a connected ``Client``. ``channel`` authenticates DTLS fingerprints
    end to end; 1:1 calls are refused without it."""

    def __init__(self, client: Client, channel: SecureChannel | None,
                 config: CallConfig | None = None) -> None:
        register()
        self.client, self.xmpp, self.channel = client, client.xmpp, channel
        self.config = config or CallConfig()
        self.sessions: dict[str, JingleSession] = {}
        self._proposals: dict[str, asyncio.Future[tuple[str, str, str]]] = {}
        self._ringing: dict[str, _Ring] = {}
        self._initiates: dict[str, asyncio.Future[Jingle]] = {}
        self._fingerprints: dict[str, asyncio.Future[tuple[str, set[tuple[str, str]]]]] = {}
        self._incoming: asyncio.Queue[IncomingCall] = asyncio.Queue()
        self.xmpp.register_handler(Callback(
            "oplot-jingle", _Matches(lambda s: isinstance(s, Iq) and s["type"] == "set"
                                     and child(s, "jingle") is not None),
            self._on_jingle))
        self.xmpp.register_handler(Callback(
            "oplot-jmi", _Matches(lambda s: isinstance(s, Message) and jmi.parse(s)),
            self._on_jmi))
        self.xmpp.register_handler(Callback(
            "oplot-call-invite", _Matches(lambda s: isinstance(s, Message) and (
                child(s, "call_invite") is not None)), self._on_invite))
        self._reader = client.spawn(self._read_channel()) if channel is not None else None

    @property
    def busy(self) -> bool:
        return any(s.state != "ended" for s in self.sessions.values())

    def close(self) -> None:
        for name in ("oplot-jingle", "oplot-jmi", "oplot-call-invite"):
            self.xmpp.remove_handler(name)
        if self._reader is not None:
            self._reader.cancel()

    # -- placing a call --------------------------------------------------------------------

    async def call(self, peer: str, media: MediaSet) -> JingleSession:
        """Ring every device of ``peer``; return the connected call or raise why not."""
        if self.channel is None:
            raise CallFailed("calls need an end-to-end channel to authenticate DTLS "
                             "fingerprints", "security-error")
        sid = secrets.token_hex(8)
        answer = asyncio.get_running_loop().create_future()
        self._proposals[sid] = answer
        jmi.propose(self.xmpp, bare(peer), sid, media.video is not None)
        try:
            action, device, reason = await asyncio.wait_for(answer, self.config.ring_timeout)
        except TimeoutError:
            jmi.send(self.xmpp, bare(peer), "retract", sid, "timeout")
            media.stop()
            raise CallUnanswered(f"{peer}: no answer within "
                                 f"{self.config.ring_timeout:g}s") from None
        finally:
            self._proposals.pop(sid, None)
        if action != "proceed":
            media.stop()
            raise _refusal(peer, action, reason)
        session = self._session(sid, device, initiator=True)
        session.attach(media)
        await session.run_setup(session.initiate())
        return session

    # -- answering -------------------------------------------------------------------------

    async def next_incoming(self, timeout: float | None = None) -> IncomingCall:
        return await asyncio.wait_for(self._incoming.get(), timeout)

    async def answer(self, sid: str, media: MediaSet) -> JingleSession:
        """Take the call on this device; the others stop ringing."""
        ring = self._ringing.pop(sid, None)
        if ring is None:
            media.stop()
            raise CallFailed(f"call {sid}: no longer ringing", "gone")
        jmi.send(self.xmpp, self.client.jid, "accept", sid)
        initiate = ring.initiate
        if initiate is None:
            pending = asyncio.get_running_loop().create_future()
            self._initiates[sid] = pending
            jmi.send(self.xmpp, ring.peer, "proceed", sid)
            try:
                initiate = await asyncio.wait_for(pending, self.config.setup_timeout)
            except TimeoutError:
                media.stop()
                raise SetupTimeout(f"{ring.peer}: proceeded but no session-initiate within "
                                   f"{self.config.setup_timeout:g}s") from None
            finally:
                self._initiates.pop(sid, None)
        session = self._session(sid, ring.peer, initiator=False)
        session.attach(media)
        await session.run_setup(session.accept(initiate))
        return session

    async def decline(self, sid: str, reason: str = "decline") -> None:
        ring = self._ringing.pop(sid, None)
        if ring is None:
            return
        jmi.send(self.xmpp, ring.peer, "reject", sid, reason)
        jmi.send(self.xmpp, self.client.jid, "reject", sid, reason)

    # -- conferences -----------------------------------------------------------------------

    async def join_conference(self, target: str, media: MediaSet, slots: int,
                              room: str = "", sid: str = "") -> JingleSession:
        """One Jingle session with the forwarding component: our media out, ``slots``
        receive-only audio+video pairs in (one per other participant)."""
        session = self._session(sid or secrets.token_hex(8), target, initiator=True,
                                authenticate=False)
        session.attach(media)
        for _ in range(slots):
            session.pc.addTransceiver("audio", direction="recvonly")
            session.pc.addTransceiver("video", direction="recvonly")
        await session.run_setup(session.initiate())
        if room:
            self.invite(room, target, session.sid, media.video is not None)
        return session

    async def conference_state(self, target: str) -> list[ConferenceParticipant]:
        """Who is in the call at ``target`` (joined or connecting) and what each receives;
        the component answers members of the room only."""
        iq = self.xmpp.make_iq_get(ito=target)
        iq.enable("conference_state")
        try:
            reply = await iq.send(timeout=10)
        except IqError as exc:
            condition, text = exc.iq["error"]["condition"], exc.iq["error"]["text"]
            error = ConferenceForbidden if condition == "forbidden" else CallFailed
            raise error(f"{target}: {text or condition}") from None
        except IqTimeout:
            raise CallFailed(f"{target}: no answer", "timeout") from None
        return [ConferenceParticipant(
            p["jid"], p["status"], int(p["subscribers"] or 0),
            {s["content"]: s["participant"] for s in p["slots"]})
            for p in reply["conference_state"]["participants"]]

    def invite(self, room: str, target: str, sid: str, video: bool) -> None:
        """XEP-0482: tell the room where the call is so members can join."""
        msg = self.xmpp.make_message(mto=room, mtype="groupchat")
        msg["call_invite"]["video"] = "true" if video else "false"
        msg["call_invite"]["jingle_target"]["jid"] = target
        msg["call_invite"]["jingle_target"]["sid"] = sid
        msg.send()

    def _on_invite(self, msg: Message) -> None:
        invite = child(msg, "call_invite")
        target = child(invite, "jingle_target")
        if target is not None and target["jid"]:
            self.client.emit(ConferenceInvite(
                target["sid"], room=bare(msg["from"]),
                sender=msg["from"].resource, target=target["jid"], video=invite["video"] == "true"))

    # -- sessions --------------------------------------------------------------------------

    def _session(self, sid: str, peer: str, *, initiator: bool,
                 authenticate: bool = True) -> JingleSession:
        session = JingleSession(
            self.xmpp, sid=sid, peer=str(peer), initiator=initiator, config=self.config,
            verify=self._verify if authenticate else None,
            announce=self._announce if authenticate else None, on_end=self._ended)
        self.sessions[sid] = session
        return session

    def _ended(self, session: JingleSession) -> None:
        self.sessions.pop(session.sid, None)
        self._fingerprints.pop(session.sid, None)

    # -- incoming Jingle -------------------------------------------------------------------

    def _on_jingle(self, iq: Iq) -> None:
        jingle = copy.copy(iq["jingle"])  # iq.reply() below empties the stanza in place
        sid, action = jingle["sid"], jingle["action"]
        if not sid or action not in ACTIONS:
            return _error(iq, "bad-request", text=f"bad Jingle action {action!r} or sid")
        if action == "session-initiate":
            return self._on_initiate(iq)
        session = self.sessions.get(sid)
        if session is None or session.peer != str(iq["from"]):
            return _error(iq, "item-not-found", "unknown-session")
        if action == "transport-info":
            try:
                candidates = sdp.transport_candidates(jingle)
            except JingleError as exc:
                return _error(iq, "bad-request", text=str(exc))
            iq.reply().send()
            session.spawn(session.on_transport_info(candidates))
        elif action == "session-accept":
            iq.reply().send()
            session.on_accept(jingle)
        elif action == "session-terminate":
            iq.reply().send()
            self.client.spawn(session.on_terminate(jingle))
        elif action == "session-info":
            iq.reply().send()
            _slots(session, jingle)
        else:
            _error(iq, "feature-not-implemented", "unsupported-info")

    def _on_initiate(self, iq: Iq) -> None:
        jingle, peer = copy.copy(iq["jingle"]), str(iq["from"])
        sid = jingle["sid"]
        if sid in self.sessions:
            return _error(iq, "conflict", "out-of-order")
        try:
            sdp.jingle_to_sdp(jingle, remote_is_initiator=True)
        except JingleError as exc:
            return _error(iq, "bad-request", text=str(exc))
        iq.reply().send()
        pending = self._initiates.get(sid)
        ring = self._ringing.get(sid)
        if pending is not None and not pending.done():
            pending.set_result(jingle)
        elif ring is not None and ring.peer == peer:
            ring.initiate = jingle
        else:
            video = any(getattr(child(c, "rtp"), "xml", {}).get("media") == "video"
                        for c in jingle["contents"])
            self._ring(sid, peer, video, jingle)

    # -- incoming JMI ----------------------------------------------------------------------

    def _on_jmi(self, msg: Message) -> None:
        action, sid = jmi.parse(msg)
        sender = str(msg["from"])
        if msg["type"] == "error":
            if (answer := self._proposals.get(sid)) is not None and not answer.done():
                answer.set_result(("error", sender, msg["error"]["condition"]))
            return
        if action == "propose":
            if bare(sender) != self.client.jid and not msg["delay"]["stamp"]:
                self._on_propose(msg, sid, sender)
        elif (action in ("proceed", "reject") and bare(sender) != self.client.jid
              and (answer := self._proposals.get(sid)) is not None and not answer.done()):
            answer.set_result((action, sender, jmi.reason_of(msg, action)))
        if action in ("accept", "reject") and sender != str(self.xmpp.boundjid):
            self._stop_ringing(sid, sender, "answered elsewhere" if action == "accept"
                               else "declined elsewhere")
        elif action == "retract":
            self._stop_ringing(sid, sender, "retracted")

    def _on_propose(self, msg: Message, sid: str, sender: str) -> None:
        if self.busy:
            jmi.send(self.xmpp, sender, "reject", sid, "busy")
            return
        self._ring(sid, sender, jmi.proposes_video(msg))

    def _ring(self, sid: str, peer: str, video: bool, initiate: Jingle | None = None) -> None:
        self._ringing[sid] = _Ring(peer, video, initiate)
        event = IncomingCall(sid, peer=peer, video=video)
        self._incoming.put_nowait(event)
        self.client.emit(event)

    def _stop_ringing(self, sid: str, sender: str, why: str) -> None:
        ring = self._ringing.get(sid)
        if ring is None:
            return
        own = bare(sender) == self.client.jid
        if own or bare(sender) == bare(ring.peer):
            del self._ringing[sid]
            self.client.emit(RingingStopped(sid, why))

    # -- fingerprints over the secure channel ----------------------------------------------

    def _fingerprint_future(self, sid: str) -> asyncio.Future:
        if sid not in self._fingerprints:
            self._fingerprints[sid] = asyncio.get_running_loop().create_future()
        return self._fingerprints[sid]

    async def _announce(self, session: JingleSession, fingerprints: set[tuple[str, str]]):
        payload = json.dumps({"type": FINGERPRINT_TYPE, "sid": session.sid,
                              "fingerprints": sorted(fingerprints)}).encode()
        await self.channel.send(bare(session.peer), payload)

    async def _verify(self, session: JingleSession, claimed: set[tuple[str, str]]) -> None:
        try:
            sender, authentic = await asyncio.wait_for(
                asyncio.shield(self._fingerprint_future(session.sid)),
                self.config.fingerprint_timeout)
        except TimeoutError:
            raise FingerprintMismatch(
                f"{session.peer}: no end-to-end encrypted DTLS fingerprint within "
                f"{self.config.fingerprint_timeout:g}s; refusing unauthenticated media") from None
        if sender != bare(session.peer) or not claimed or not claimed <= authentic:
            raise FingerprintMismatch(
                f"{session.peer}: DTLS fingerprint in Jingle differs from the one sent end-to-"
                "end encrypted — the signalling was altered in transit; call refused")

    async def _read_channel(self) -> None:
        async for sender, payload in self.channel.receive():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                doc = json.loads(payload)
                if doc.get("type") == FINGERPRINT_TYPE and isinstance(doc["sid"], str):
                    fps = {(str(h).lower(), str(v).upper()) for h, v in doc["fingerprints"]}
                    fut = self._fingerprint_future(doc["sid"])
                    if not fut.done():
                        fut.set_result((bare(sender), fps))


def _refusal(peer: str, action: str, reason: str) -> CallFailed:
    if action == "error":
        return CallFailed(f"{peer}: cannot be called ({reason})", "gone")
    if reason == "busy":
        return CallBusy(f"{peer} is busy")
    return CallDeclined(f"{peer} declined the call")


def _slots(session: JingleSession, jingle: Jingle) -> None:
    slots = child(jingle, "conference_slots")
    if slots is not None:
        mapping = tuple((s["content"], s["participant"]) for s in slots["slots"])
        session.sources = dict(mapping)
        session.notify(ConferenceSources(session.sid, mapping))
