"""The conference component (``conference-sfu.DOMAIN``): a selective forwarding unit.

Each participant keeps one Jingle session with ``ROOM@conference-sfu.DOMAIN`` (the JID
that XEP-0482 call invites in the room point to): it publishes its audio+video and receives
every other participant on receive-only slots, with encoded packets forwarded as they are.
Which participant a slot carries is announced with a Jingle session-info (our
``urn:oplot:conference:0`` extension). Only members of the group room ``ROOM@conference.
DOMAIN`` may join or see who is in the call. ICE host addresses can be pinned with
``OPLOT_SFU_HOST_ADDRESSES`` (comma-separated) on multi-homed hosts and in tests."""

from __future__ import annotations

import asyncio
import copy
import logging
import os
from collections.abc import Coroutine

from slixmpp import JID, Iq
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher.base import MatcherBase

from client_sdk.calls import sdp
from client_sdk.calls.config import CallConfig, pin_host_addresses
from client_sdk.calls.errors import CallFailed, JingleError
from client_sdk.calls.jingle import Jingle, register
from client_sdk.calls.jingle.conference import (
    NS_CONFERENCE,
    ParticipantState,
    Slot,
    Slots,
)
from client_sdk.calls.jingle.core import child
from client_sdk.calls.jingle.core import send_error as _error
from client_sdk.calls.session import JingleSession
from xmpp_server_plugins.components.base import Component
from xmpp_server_plugins.components.conference.conference import Conference, Participant
from xmpp_server_plugins.components.conference.membership import (
    MemberLookup,
    NoSuchRoom,
    RoomMembers,
)
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.ejabberd_api import EjabberdApi

log = logging.getLogger(__name__)
DEFAULT_LIMIT = 8


class _Matches(MatcherBase):
    def match(self, stanza) -> bool:
        return isinstance(stanza, Iq) and bool(self._criteria(stanza))


class ConferenceComponent(Component):
    name = "conference-sfu"
    identity = ("conference", "audio-video")
    features = ("urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:apps:dtls:0",
                "urn:xmpp:jingle:transports:ice-udp:1", NS_CONFERENCE)
    limit = DEFAULT_LIMIT

    @classmethod
    def from_config(cls, jid: str, cfg: Config) -> ConferenceComponent:
        return cls(jid, cfg.component_secret, RoomMembers(EjabberdApi(cfg), cfg.conference_domain))

    def __init__(self, jid: str, secret: str, members: MemberLookup) -> None:
        super().__init__(jid, secret)
        register()
        pin_host_addresses(os.environ.get("OPLOT_SFU_HOST_ADDRESSES", ""))
        self.members = members
        self.conferences: dict[str, Conference] = {}
        self.by_sid: dict[str, Participant] = {}
        self.tasks: set[asyncio.Task] = set()
        self.config = CallConfig(setup_timeout=15.0)
        self.register_handler(CoroutineCallback("oplot-sfu-jingle", _Matches(
            lambda s: s["type"] == "set" and child(s, "jingle") is not None), self._on_jingle))
        self.register_handler(CoroutineCallback("oplot-sfu-state", _Matches(
            lambda s: s["type"] == "get" and child(s, "conference_state") is not None),
            self._on_state))

    def spawn(self, coro: Coroutine) -> None:
        """Keep a reference to background work (an unreferenced task may be collected)."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- Jingle ----------------------------------------------------------------------------

    async def _on_jingle(self, iq: Iq) -> None:
        jingle = copy.copy(iq["jingle"])  # iq.reply() empties the stanza in place
        sid, action = jingle["sid"], jingle["action"]
        if action == "session-initiate":
            return await self._on_initiate(iq, jingle)
        participant = self.by_sid.get(sid)
        if participant is None or participant.session.peer != str(iq["from"]):
            return _error(iq, "item-not-found", "unknown-session")
        session = participant.session
        if action == "transport-info":
            try:
                candidates = sdp.transport_candidates(jingle)
            except JingleError as exc:
                return _error(iq, "bad-request", text=str(exc))
            iq.reply().send()
            session.spawn(session.on_transport_info(candidates))
        elif action == "session-terminate":
            iq.reply().send()
            await session.on_terminate(jingle)
        else:
            _error(iq, "feature-not-implemented", "unsupported-info")

    async def _on_initiate(self, iq: Iq, jingle: Jingle) -> None:
        room, peer, sid = iq["to"].bare, str(iq["from"]), jingle["sid"]
        if not iq["to"].user or not sid:
            return _error(iq, "bad-request", text="join ROOM@" + self.boundjid.bare)
        try:
            sdp.jingle_to_sdp(jingle, remote_is_initiator=True)
        except JingleError as exc:
            return _error(iq, "bad-request", text=str(exc))
        refusal = await self._refusal(iq["to"].user, JID(peer).bare)
        if refusal is not None:
            return _error(iq, refusal[0], text=refusal[1])
        if sid in self.by_sid:
            return _error(iq, "conflict", "out-of-order")
        conference = self.conferences.setdefault(room, Conference(room, self.limit))
        if conference.full:
            return _error(iq, "resource-constraint", text=f"conference {room} is full "
                          f"({conference.limit} participants including those connecting)")
        iq.reply().send()
        session = JingleSession(self, sid=sid, peer=peer, initiator=False, config=self.config,
                                local=room, on_end=self._ended)
        participant = Participant(peer, session)
        conference.admit(participant)
        self.by_sid[sid] = participant
        self.spawn(self._setup(conference, participant, jingle))

    async def _refusal(self, room: str, who: str) -> tuple[str, str] | None:
        """(error condition, text) when ``who`` may not be in ``room``'s call."""
        try:
            members = await self.members(room)
        except NoSuchRoom as exc:
            return "item-not-found", str(exc)
        if who not in members:
            return "forbidden", f"{who} is not a member of room {room}; only members may join"
        return None

    async def _setup(self, conference: Conference, participant: Participant, jingle) -> None:
        """Runs apart from the stanza handler, which must keep reading (our own IQ results)."""
        session, peer, room = participant.session, participant.jid, conference.jid
        try:
            await session.run_setup(session.accept(jingle, participant.shape))
        except CallFailed as exc:
            log.info("%s could not join %s: %s", peer, room, exc)
            return
        self._announce(conference.join(participant))
        log.info("%s joined %s (%d in call)", peer, room, len(conference.participants))

    def _ended(self, session: JingleSession) -> None:
        participant = self.by_sid.pop(session.sid, None)
        conference = self.conferences.get(session.local)
        if participant is None or conference is None:
            return
        self._announce(conference.leave(participant))
        if conference.empty:
            del self.conferences[session.local]
        log.info("%s left %s", participant.jid, session.local)

    def _announce(self, participants: list[Participant]) -> None:
        for participant in participants:
            self.spawn(self._send_slots(participant))

    async def _send_slots(self, participant: Participant) -> None:
        session = participant.session
        iq = self.make_iq_set(ito=session.peer, ifrom=session.local)
        iq["jingle"]["action"], iq["jingle"]["sid"] = "session-info", session.sid
        iq["jingle"].append(_slots(participant))
        try:
            await iq.send(timeout=5)
        except Exception as exc:  # noqa: BLE001 - a gone participant is cleaned up by ICE
            log.info("slot update to %s failed: %s", session.peer, exc)

    # -- who is in the call ----------------------------------------------------------------

    async def _on_state(self, iq: Iq) -> None:
        refusal = await self._refusal(iq["to"].user, iq["from"].bare)
        if refusal is not None:
            return _error(iq, refusal[0], text=refusal[1])
        conference = self.conferences.get(iq["to"].bare)
        reply = iq.reply()
        state = reply["conference_state"]
        if conference is not None:
            for participant in conference.participants:
                state.append(_participant(participant, "joined"))
            for participant in conference.pending:
                state.append(_participant(participant, "pending"))
        reply.send()

    async def close_all(self) -> None:
        for participant in list(self.by_sid.values()):
            await participant.session.terminate("gone", "conference service stopping")


def _slot_elements(participant: Participant) -> list[Slot]:
    elements = []
    for slot in participant.slots:
        el = Slot()
        el["content"] = slot.name
        el["participant"] = slot.source.jid if slot.source else ""
        elements.append(el)
    return elements


def _slots(participant: Participant) -> Slots:
    slots = Slots()
    for el in _slot_elements(participant):
        slots.append(el)
    return slots


def _participant(participant: Participant, status: str) -> ParticipantState:
    el = ParticipantState()
    el["jid"], el["status"] = participant.jid, status
    el["subscribers"] = str(participant.subscribers)
    for slot in _slot_elements(participant):
        el.append(slot)
    return el
