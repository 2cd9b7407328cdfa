"""Forwarding encoded media through aiortc without decoding or re-encoding.

aiortc has no public API for this; we use two internals of the pinned aiortc 1.16.0 (both
covered by tests/calls/test_forwarding.py):

* ``RTCRtpReceiver.__decoder_queue``: every reassembled encoded frame is put there for the
  decoder thread. ``tap()`` replaces it with a queue that hands frames to our subscribers
  and only passes the stop marker on, so the decoder thread idles and nothing is decoded.
* ``RTCRtpSender._send_keyframe``: called on a PLI/FIR from the subscriber. ``Forwarder``
  overrides it per sender to forward the keyframe request to the publisher.

Senders accept ``av.Packet`` from a track and only packetize it (``encoder.pack``)."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import queue
from collections.abc import Callable

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
BACKLOG = 30
_PENDING: set[asyncio.Task] = set()  # keyframe requests in flight (tasks need a reference)


class _Tap(queue.Queue):
    """Stands in for the receiver's decoder queue: frames go to ``deliver``; only the stop
    marker (None) reaches the idle decoder thread."""

    def __init__(self, deliver: Callable[[RTCRtpCodecParameters, JitterFrame], None]) -> None:
        super().__init__()
        self.deliver = deliver

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(None)
        else:
            self.deliver(*item)


class Publisher:
    """One participant's incoming stream (audio or video), fanned out to subscribers."""

    def __init__(self, receiver: RTCRtpReceiver, kind: str) -> None:
        if not hasattr(receiver, QUEUE_ATTR):
            raise RuntimeError("aiortc internals changed: receiver has no decoder queue")
        self.receiver, self.kind = receiver, kind
        self.subscribers: set[ForwardTrack] = set()
        setattr(receiver, QUEUE_ATTR, _Tap(self._deliver))

    def _deliver(self, codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
        for track in self.subscribers:
            track.push(frame.data, frame.timestamp, codec.clockRate)

    def request_keyframe(self) -> None:
        """Send a PLI to the publisher (a new subscriber or a subscriber's PLI)."""
        if self.kind != "video":
            return
        for source in self.receiver.getSynchronizationSources():
            task = asyncio.ensure_future(self.receiver._send_rtcp_pli(source.source))
            _PENDING.add(task)
            task.add_done_callback(_PENDING.discard)


class ForwardTrack(MediaStreamTrack):
    """What one subscriber slot sends: encoded packets of whichever publisher currently
    feeds it, with timestamps kept monotonic across publisher changes."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.queue: asyncio.Queue[av.Packet] = asyncio.Queue()
        self.publisher: Publisher | None = None
        self._offset: int | None = None
        self._last = 0

    def feed(self, publisher: Publisher | None) -> None:
        if self.publisher is not None:
            self.publisher.subscribers.discard(self)
        self.publisher, self._offset = publisher, None
        if publisher is not None:
            publisher.subscribers.add(self)
            publisher.request_keyframe()

    def push(self, data: bytes, timestamp: int, clock_rate: int) -> None:
        if self._offset is None:
            self._offset = self._last + clock_rate // 50 - timestamp
        packet = av.Packet(data)
        packet.pts = self._last = timestamp + self._offset
        packet.time_base = fractions.Fraction(1, clock_rate)
        if self.queue.qsize() >= BACKLOG:
            self.queue.get_nowait()
        self.queue.put_nowait(packet)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        return await self.queue.get()

    def stop(self) -> None:
        self.feed(None)
        super().stop()


def forward_keyframe_requests(sender: RTCRtpSender, track: ForwardTrack) -> None:
    """A PLI/FIR from this subscriber asks the slot's current publisher for a keyframe."""

    def request() -> None:
        with contextlib.suppress(RuntimeError):
            if track.publisher is not None:
                track.publisher.request_keyframe()

    sender._send_keyframe = request
