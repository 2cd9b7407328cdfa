"""Forwarding RTP packets between aiortc connections, without reassembling frames, decoding
or re-packetizing them: each packet a publisher sends is re-addressed (payload type, SSRC,
sequence number, timestamp, MID) and sent on to every subscribed slot as it arrives.

aiortc has no public API for this; we rely on these parts of the pinned aiortc 1.16.0 (all
covered by tests/calls/test_forwarding.py):

* ``RTCRtpReceiver._handle_rtp_packet(packet, arrival_time_ms)``: the DTLS transport hands
  it every decrypted, parsed RTP packet of the receiver. ``Publisher`` wraps it: packets are
  forwarded first, then aiortc keeps its receive-side RTCP (receiver reports, NACKs to
  the publisher on loss).
* ``RTCRtpReceiver.__remote_bitrate_estimator`` is removed (set to None, which aiortc
  accepts): its per-packet estimate cost about as much as forwarding a packet to two
  subscribers, and the REMB it sends would describe only the uplink to us, not the
  subscribers' downlinks; publishers keep their encoder's own bitrate.
* ``RTCRtpReceiver.__jitter_buffer``: replaced by ``_NoFrames``, which reassembles
  nothing, so no frame ever reaches the (idle) decoder thread. The jitter buffer's own
  loss detection is not needed: subscribers that miss a packet send their PLI, which is
  forwarded.
* ``RTCRtpSender``: a ``ForwardTrack`` never yields a frame, so the sender's own RTP loop
  idles while its RTCP loop (sender reports, from the counters we keep up to date) runs.
  We fill ``__rtp_history`` so its NACK handling retransmits forwarded packets (as RTX),
  override ``_send_keyframe`` (called on PLI/FIR) to ask the publisher for a keyframe, and
  send through ``RTCDtlsTransport._send_rtp`` (SRTP)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender, clock
from aiortc.codecs import is_rtx
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters, RTCRtpSendParameters
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensionsMap, RtpPacket, unwrap_rtx
from aiortc.utils import random16, random32, uint16_gt

JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"
ESTIMATOR_ATTR = "_RTCRtpReceiver__remote_bitrate_estimator"
HISTORY_ATTR = "_RTCRtpSender__rtp_history"
PACKETS_ATTR, OCTETS_ATTR, NTP_ATTR, RTP_TIME_ATTR = SR_ATTRS = tuple(
    f"_RTCRtpSender__{name}" for name in
    ("packet_count", "octet_count", "ntp_timestamp", "rtp_timestamp"))
_PENDING: set[asyncio.Task] = set()  # keyframe requests in flight (tasks need a reference)


class _NoFrames:
    """Stands in for the receiver's jitter buffer: packets are forwarded one by one, so no
    frame is reassembled (nor decoded), and no PLI is asked for here."""

    @staticmethod
    def add(_packet: RtpPacket) -> tuple[bool, None]:
        return False, None


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether a VP8 RTP payload (RFC 7741) starts a keyframe: start of partition 0 (S=1,
    PID=0) and the VP8 frame header's inverse keyframe bit P=0. A slot starts forwarding a
    publisher's video there, so the subscriber's decoder never starts mid-stream."""
    if not payload or (payload[0] & 0x17) != 0x10:
        return False
    index = 1
    if payload[0] & 0x80:  # X: extension byte follows
        if len(payload) < 2:
            return False
        ext, index = payload[1], 2
        if ext & 0x80:  # I: picture ID, 7 or 15 bits (M flags the long form)
            index += 2 if len(payload) > index and payload[index] & 0x80 else 1
        index += bool(ext & 0x40) + bool(ext & 0x30)  # TL0PICIDX; TID/KEYIDX byte
    return len(payload) > index and not payload[index] & 0x01


class Publisher:
    """One participant's incoming stream (audio or video), forwarded to subscribed slots."""

    def __init__(self, receiver: RTCRtpReceiver, kind: str) -> None:
        if not all(hasattr(receiver, a) for a in (JITTER_ATTR, ESTIMATOR_ATTR,
                                                    "_handle_rtp_packet")):
            raise RuntimeError("aiortc internals changed: receiver has no jitter buffer")
        self.receiver, self.kind = receiver, kind
        self.subscribers: set[ForwardTrack] = set()
        self.codecs: dict[int, str] = {}  # payload type -> codec name; RTX maps to its apt
        self.rtx: dict[int, int] = {}  # RTX payload type -> payload type it carries
        setattr(receiver, JITTER_ATTR, _NoFrames())
        setattr(receiver, ESTIMATOR_ATTR, None)
        self._aiortc_receive = receiver.receive
        self._aiortc_handle = receiver._handle_rtp_packet
        receiver.receive = self._receive
        receiver._handle_rtp_packet = self._handle

    async def _receive(self, parameters: RTCRtpReceiveParameters) -> None:
        """Learn the negotiated payload types when aiortc starts the receiver."""
        for codec in parameters.codecs:
            if is_rtx(codec):
                self.rtx[codec.payloadType] = codec.parameters.get("apt")
            else:
                self.codecs[codec.payloadType] = codec.mimeType.lower()
        await self._aiortc_receive(parameters)

    async def _handle(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        if self.subscribers:
            await self._forward(packet)
        await self._aiortc_handle(packet, arrival_time_ms=arrival_time_ms)

    async def _forward(self, packet: RtpPacket) -> None:
        if packet.payload_type in self.rtx:  # a retransmission: forward the original
            if len(packet.payload) < 2:
                return
            packet = unwrap_rtx(packet, payload_type=self.rtx[packet.payload_type],
                                ssrc=packet.ssrc)
        codec = self.codecs.get(packet.payload_type)
        if codec is None:
            return
        entry = codec != "video/vp8" or vp8_keyframe_start(packet.payload)
        now = clock.current_ntp_time()
        for track in tuple(self.subscribers):
            await track.forward(packet, codec, entry, now)

    def request_keyframe(self) -> None:
        """Send a PLI to the publisher (a new subscriber or a subscriber's PLI/FIR)."""
        if self.kind != "video":
            return
        for source in self.receiver.getSynchronizationSources():
            task = asyncio.ensure_future(self.receiver._send_rtcp_pli(source.source))
            _PENDING.add(task)
            task.add_done_callback(_PENDING.discard)


class _Outgoing:
    """What a started sender needs to put a forwarded packet on the wire."""

    def __init__(self, sender: RTCRtpSender, parameters: RTCRtpSendParameters) -> None:
        self.ssrc, self.mid = sender._ssrc, parameters.muxId
        self.payload_types = {c.mimeType.lower(): c.payloadType
                              for c in parameters.codecs if not is_rtx(c)}
        self.clock_rate = parameters.codecs[0].clockRate
        self.extensions = HeaderExtensionsMap()
        self.extensions.configure(parameters)
        self.history: dict[int, RtpPacket] = getattr(sender, HISTORY_ATTR)
        self.send: Callable[[bytes], Awaitable[None]] = sender.transport._send_rtp
        self.sender = sender
        self.packets = self.octets = 0


class ForwardTrack(MediaStreamTrack):
    """One subscriber slot's outgoing stream: packets of whichever publisher currently feeds
    it, renumbered so sequence numbers and timestamps continue across publisher changes."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.publisher: Publisher | None = None
        self._ended = asyncio.Event()
        self._out: _Outgoing | None = None
        self._offsets: tuple[int, int] | None = None  # (sequence, timestamp) to add
        self._next_seq, self._next_ts = random16() % 32768, random32()

    def attach(self, sender: RTCRtpSender) -> None:
        """Make ``sender`` carry this slot; PLI/FIR it receives go to the publisher."""
        if not hasattr(sender, HISTORY_ATTR) or not all(hasattr(sender, a) for a in SR_ATTRS):
            raise RuntimeError("aiortc internals changed: sender has no RTP history")
        sender.replaceTrack(self)
        start = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            self._out = _Outgoing(sender, parameters)
            await start(parameters)

        sender.send = send
        sender._send_keyframe = self._keyframe_requested

    def feed(self, publisher: Publisher | None) -> None:
        """Switch the slot to ``publisher`` (None: silence); video resumes at a keyframe."""
        if self.publisher is not None:
            self.publisher.subscribers.discard(self)
        self.publisher, self._offsets = publisher, None
        if publisher is not None:
            publisher.subscribers.add(self)
            publisher.request_keyframe()

    async def forward(self, packet: RtpPacket, codec: str, entry: bool, now: int) -> None:
        """Send ``packet`` (of ``codec``) on; a slot (re)starts only at an ``entry`` packet
        (a VP8 keyframe's first packet; any packet of other codecs). ``now``: NTP time."""
        out = self._out
        if out is None or codec not in out.payload_types:
            return
        if self._offsets is None:
            if not entry:
                return
            self._offsets = ((self._next_seq - packet.sequence_number) & 0xFFFF,
                             (self._next_ts - packet.timestamp) & 0xFFFFFFFF)
        sequence = (packet.sequence_number + self._offsets[0]) & 0xFFFF
        timestamp = (packet.timestamp + self._offsets[1]) & 0xFFFFFFFF
        copy = RtpPacket(payload_type=out.payload_types[codec], marker=packet.marker,
                         sequence_number=sequence, timestamp=timestamp, ssrc=out.ssrc,
                         payload=packet.payload)
        copy.extensions.mid = out.mid
        copy.extensions.abs_send_time = (now >> 14) & 0xFFFFFF
        copy.extensions.audio_level = packet.extensions.audio_level
        if not uint16_gt(self._next_seq, sequence):
            self._next_seq = (sequence + 1) & 0xFFFF
            self._next_ts = (timestamp + out.clock_rate // 50) & 0xFFFFFFFF
        out.history[sequence % RTP_HISTORY_SIZE] = copy
        try:
            await out.send(copy.serialize(out.extensions))
        except ConnectionError:
            return
        self._count(out, copy, now)

    @staticmethod
    def _count(out: _Outgoing, packet: RtpPacket, now: int) -> None:
        """Keep the sender's report counters true (receivers use them for sync and stats)."""
        out.packets += 1
        out.octets += len(packet.payload)
        setattr(out.sender, PACKETS_ATTR, out.packets & 0xFFFFFFFF)
        setattr(out.sender, OCTETS_ATTR, out.octets & 0xFFFFFFFF)
        setattr(out.sender, NTP_ATTR, now)
        setattr(out.sender, RTP_TIME_ATTR, packet.timestamp)

    def _keyframe_requested(self) -> None:
        with contextlib.suppress(RuntimeError):
            if self.publisher is not None:
                self.publisher.request_keyframe()

    async def recv(self):
        """The sender's own RTP loop waits here until the slot ends: packets bypass it."""
        if self.readyState == "live":
            await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        self.feed(None)
        self._ended.set()
        super().stop()
