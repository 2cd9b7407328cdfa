"""The aiortc internals the conference component relies on (pinned aiortc): encoded frames
tapped from a receiver and sent as packets by another connection decode at the far end,
nothing is decoded in between, and a keyframe request reaches the publisher."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection, RTCRtpSender

from client_sdk.calls.config import CallConfig
from client_sdk.calls.media import ColorSource, Probe, color_close
from xmpp_server_plugins.components.conference.forwarding import (
    ForwardTrack,
    Publisher,
    forward_keyframe_requests,
)


async def _pair(offerer: RTCPeerConnection, answerer: RTCPeerConnection, shape=None) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    if shape is not None:
        shape()
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


def _vp8_only(pc: RTCPeerConnection) -> None:
    codecs = RTCRtpSender.getCapabilities("video").codecs
    for t in pc.getTransceivers():
        t.setCodecPreferences([c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")])


async def test_forwarded_vp8_decodes_and_keyframes_are_forwarded():
    rtc = CallConfig().rtc
    publisher, hub_in, hub_out, subscriber = (RTCPeerConnection(rtc()) for _ in range(4))
    source = ColorSource((200, 50, 50), 96, 64, fps=10)
    publisher.addTrack(source)
    publisher_taps: list[Publisher] = []

    def tap() -> None:
        _vp8_only(hub_in)
        transceiver = hub_in.getTransceivers()[0]
        transceiver.direction = "recvonly"
        publisher_taps.append(Publisher(transceiver.receiver, "video"))

    await _pair(publisher, hub_in, tap)
    forward = ForwardTrack("video")
    sender = hub_out.addTrack(forward)
    forward_keyframe_requests(sender, forward)
    _vp8_only(hub_out)
    received = asyncio.get_running_loop().create_future()
    subscriber.on("track", lambda track: received.set_result(track))
    await _pair(hub_out, subscriber)
    probe = Probe(await asyncio.wait_for(received, 5))
    await asyncio.sleep(0.5)
    forward.feed(publisher_taps[0])
    await asyncio.wait_for(probe.first_frame.wait(), 5)
    await asyncio.sleep(1.0)
    assert color_close(probe.color, (200, 50, 50))
    assert not publisher_taps[0].receiver.track._queue.qsize()  # nothing decoded at the hub
    sender._send_keyframe()  # a subscriber's PLI reaches the publisher
    for pc in (publisher, hub_in, hub_out, subscriber):
        await pc.close()
    probe.stop()
