"""The conference component (``conference-sfu.DOMAIN``): a selective forwarding unit.

Each participant keeps one Jingle session with ``ROOM@conference-sfu.DOMAIN`` (the JID
that XEP-0482 call invites in the room point to): it publishes its audio+video and receives
every other participant on receive-only slots, with encoded packets forwarded as they are.
Which participant a slot carries is announced with a Jingle session-info (our
``urn:oplot:conference:0`` extension). ICE host addresses can be pinned with
``OPLOT_SFU_HOST_ADDRESSES`` (comma-separated) on multi-homed hosts and in tests."""

from __future__ import annotations

import asyncio
import copy
import logging
import os

import aioice.ice
from slixmpp import Iq
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher.base import MatcherBase

from client_sdk.calls import sdp
from client_sdk.calls.config import CallConfig
from client_sdk.calls.errors import CallFailed, JingleError
from client_sdk.calls.jingle import NS_JINGLE_ERRORS, register
from client_sdk.calls.jingle.conference import NS_CONFERENCE, Slot, Slots
from client_sdk.calls.jingle.core import child
from client_sdk.calls.session import JingleSession
from xmpp_server_plugins.components.base import Component
from xmpp_server_plugins.components.conference.conference import Conference, Participant

log = logging.getLogger(__name__)
DEFAULT_LIMIT = 8


class _JingleSet(MatcherBase):
    def match(self, stanza) -> bool:
        return isinstance(stanza, Iq) and stanza["type"] == "set" and \
            child(stanza, "jingle") is not None


def pin_host_addresses(spec: str) -> None:
    """aioice has no interface option: replace its host-address discovery process-wide."""
    addresses = [a.strip() for a in spec.split(",") if a.strip()]
    if addresses:
        aioice.ice.get_host_addresses = lambda **_: list(addresses)


class ConferenceComponent(Component):
    name = "conference-sfu"
    identity = ("conference", "audio-video")
    features = ("urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:apps:dtls:0",
                "urn:xmpp:jingle:transports:ice-udp:1", NS_CONFERENCE)
    limit = DEFAULT_LIMIT

    def __init__(self, jid: str, secret: str) -> None:
        super().__init__(jid, secret)
        register()
        pin_host_addresses(os.environ.get("OPLOT_SFU_HOST_ADDRESSES", ""))
        self.conferences: dict[str, Conference] = {}
        self.by_sid: dict[str, Participant] = {}
        self.tasks: set[asyncio.Task] = set()
        self.config = CallConfig(setup_timeout=15.0)
        self.register_handler(CoroutineCallback("oplot-sfu-jingle", _JingleSet(None),
                                                self._on_jingle))

    async def _on_jingle(self, iq: Iq) -> None:
        jingle = copy.copy(iq["jingle"])
        sid, action = jingle["sid"], jingle["action"]
        participant = self.by_sid.get(sid)
        if action == "session-initiate":
            return await self._on_initiate(iq, jingle)
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

    async def _on_initiate(self, iq: Iq, jingle) -> None:
        room, peer, sid = iq["to"].bare, str(iq["from"]), jingle["sid"]
        if not iq["to"].user or sid in self.by_sid:
            return _error(iq, "bad-request", text="join ROOM@" + self.boundjid.bare)
        try:
            sdp.jingle_to_sdp(jingle, remote_is_initiator=True)
        except JingleError as exc:
            return _error(iq, "bad-request", text=str(exc))
        conference = self.conferences.setdefault(room, Conference(room, self.limit))
        if conference.full:
            return _error(iq, "resource-constraint",
                          text=f"conference {room} is full ({conference.limit} participants)")
        iq.reply().send()
        session = JingleSession(self, sid=sid, peer=peer, initiator=False, config=self.config,
                                local=room, on_end=self._ended)
        participant = Participant(peer, session)
        self.by_sid[sid] = participant
        self.tasks.add(task := asyncio.ensure_future(self._setup(conference, participant, jingle)))
        task.add_done_callback(self.tasks.discard)

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
        if not conference.participants:
            del self.conferences[session.local]
        log.info("%s left %s", participant.jid, session.local)

    def _announce(self, participants: list[Participant]) -> None:
        for participant in participants:
            asyncio.ensure_future(self._send_slots(participant))

    async def _send_slots(self, participant: Participant) -> None:
        session = participant.session
        iq = self.make_iq_set(ito=session.peer, ifrom=session.local)
        iq["jingle"]["action"], iq["jingle"]["sid"] = "session-info", session.sid
        slots = Slots()
        for slot in participant.slots:
            el = Slot()
            el["content"] = slot.name
            el["participant"] = slot.source.jid if slot.source else ""
            slots.append(el)
        iq["jingle"].append(slots)
        try:
            await iq.send(timeout=5)
        except Exception as exc:  # noqa: BLE001 - a gone participant is cleaned up by ICE
            log.info("slot update to %s failed: %s", session.peer, exc)

    async def close_all(self) -> None:
        for participant in list(self.by_sid.values()):
            await participant.session.terminate("gone", "conference service stopping")


def _error(iq: Iq, condition: str, jingle_condition: str = "", text: str = "") -> None:
    reply = iq.reply()
    reply["error"]["type"] = "modify" if condition == "bad-request" else "cancel"
    reply["error"]["condition"] = condition
    if text:
        reply["error"]["text"] = text
    if jingle_condition:
        reply["error"].xml.append(
            reply.xml.makeelement(f"{{{NS_JINGLE_ERRORS}}}{jingle_condition}", {}))
    reply.send()
