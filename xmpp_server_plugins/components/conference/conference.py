"""One conference: its participants, each with an uplink (what they publish) and receive
slots (what they get), and the assignment of publishers to slots as people come and go."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc import RTCRtpSender
from aiortc.sdp import SessionDescription

from client_sdk.calls.session import JingleSession
from xmpp_server_plugins.components.conference.forwarding import ForwardTrack, Publisher

PREFERRED = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}


@dataclass
class Slot:
    """An audio+video pair of receive-only contents on a participant's session."""

    name: str
    audio: ForwardTrack
    video: ForwardTrack
    source: Participant | None = None


@dataclass(eq=False)
class Participant:
    jid: str
    session: JingleSession
    publishers: dict[str, Publisher] = field(default_factory=dict)
    slots: list[Slot] = field(default_factory=list)

    def shape(self) -> None:
        """Between the offer and our answer: contents the participant sends on are its
        uplink (we receive), its receive-only audio+video pairs are slots (we send), so an
        audio-only participant has slots too; codecs are pinned to what we forward, since
        packets are not transcoded."""
        offered = {m.rtp.muxId: m.direction for m in
                   SessionDescription.parse(self.session.pc.remoteDescription.sdp).media}
        pending: dict[str, ForwardTrack] = {}
        for transceiver in self.session.pc.getTransceivers():
            kind = transceiver.kind
            codecs = RTCRtpSender.getCapabilities(kind).codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType in PREFERRED[kind]])
            if offered.get(transceiver.mid) in ("sendrecv", "sendonly"):
                if kind in self.publishers:  # one uplink per kind is forwarded
                    transceiver.direction = "inactive"
                else:
                    transceiver.direction = "recvonly"
                    self.publishers[kind] = Publisher(transceiver.receiver, kind)
                continue
            track = ForwardTrack(kind)
            track.attach(transceiver.sender)
            transceiver.direction = "sendonly"
            pending[kind] = track
            if len(pending) == 2:
                self.slots.append(Slot(transceiver.mid, pending["audio"], pending["video"]))
                pending = {}

    @property
    def subscribers(self) -> int:
        """How many slots of other participants our audio and video are forwarded to."""
        return sum(len(p.subscribers) for p in self.publishers.values())

    def free_slot(self) -> Slot | None:
        return next((s for s in self.slots if s.source is None), None)

    def fill(self, slot: Slot, source: Participant | None) -> None:
        slot.source = source
        slot.audio.feed(source.publishers.get("audio") if source else None)
        slot.video.feed(source.publishers.get("video") if source else None)


class Conference:
    """Participants of one room's call; ``limit`` caps how many may be in it, counting
    those still connecting (``pending``), so simultaneous joins cannot overshoot it."""

    def __init__(self, jid: str, limit: int) -> None:
        self.jid, self.limit = jid, limit
        self.participants: list[Participant] = []
        self.pending: set[Participant] = set()

    @property
    def full(self) -> bool:
        return len(self.participants) + len(self.pending) >= self.limit

    @property
    def empty(self) -> bool:
        return not self.participants and not self.pending

    def admit(self, newcomer: Participant) -> None:
        """Hold a place for a participant whose media is still connecting."""
        self.pending.add(newcomer)

    def join(self, newcomer: Participant) -> list[Participant]:
        """Wire the newcomer both ways; return everyone whose slots changed."""
        self.pending.discard(newcomer)
        for other in self.participants:
            mine, theirs = newcomer.free_slot(), other.free_slot()
            if mine is not None:
                newcomer.fill(mine, other)
            if theirs is not None:
                other.fill(theirs, newcomer)
        self.participants.append(newcomer)
        return list(self.participants)

    def leave(self, leaver: Participant) -> list[Participant]:
        """Unwire the leaver everywhere; return the participants whose slots changed."""
        self.pending.discard(leaver)
        if leaver not in self.participants:
            return []
        self.participants.remove(leaver)
        for slot in leaver.slots:
            leaver.fill(slot, None)
        changed = []
        for other in self.participants:
            for slot in other.slots:
                if slot.source is leaver:
                    other.fill(slot, None)
                    changed.append(other)
        return changed
