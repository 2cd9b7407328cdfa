"""The aiortc internals the conference component relies on (pinned aiortc): RTP packets
tapped from a receiver and sent on by another connection decode at the far end, nothing is
decoded in between, a slot switched to another publisher continues without a sequence gap,
the sender's reports and retransmission history are kept, and a subscriber's keyframe
request reaches the publisher."""

from __future__ import annotations

import asyncio

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from client_sdk.calls.config import CallConfig
from client_sdk.calls.media import ColorSource, Probe, color_close
from xmpp_server_plugins.components.conference.forwarding import (
    HISTORY_ATTR,
    ForwardTrack,
    Publisher,
    vp8_keyframe_start,
)

RED, BLUE = (200, 50, 50), (40, 60, 210)


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


async def _publish(rgb: tuple[int, int, int]) -> tuple[list[RTCPeerConnection], Publisher,
                                                       list[int]]:
    """A publisher sending ``rgb`` into the hub; also counts the keyframe requests the
    publisher's sender gets."""
    rtc = CallConfig().rtc
    publisher, hub_in = RTCPeerConnection(rtc()), RTCPeerConnection(rtc())
    sender = publisher.addTrack(ColorSource(rgb, 96, 64, fps=10))
    keyframes = [0]
    force = sender._send_keyframe

    def counted() -> None:
        keyframes[0] += 1
        force()

    sender._send_keyframe = counted
    taps: list[Publisher] = []

    def tap() -> None:
        _vp8_only(hub_in)
        transceiver = hub_in.getTransceivers()[0]
        transceiver.direction = "recvonly"
        taps.append(Publisher(transceiver.receiver, "video"))

    await _pair(publisher, hub_in, tap)
    return [publisher, hub_in], taps[0], keyframes


async def _inbound(pc: RTCPeerConnection):
    stats = await pc.getReceivers()[0].getStats()
    return next(s for s in stats.values() if s.type == "inbound-rtp")


async def test_packets_forwarded_across_publishers_and_keyframe_requests_reach_them():
    red_pcs, red, red_keyframes = await _publish(RED)
    blue_pcs, blue, blue_keyframes = await _publish(BLUE)
    rtc = CallConfig().rtc
    hub_out, subscriber = RTCPeerConnection(rtc()), RTCPeerConnection(rtc())
    forward = ForwardTrack("video")
    sender = hub_out.addTransceiver("video", direction="sendonly").sender
    forward.attach(sender)
    _vp8_only(hub_out)
    received = asyncio.get_running_loop().create_future()
    subscriber.on("track", lambda track: received.set_result(track))
    await _pair(hub_out, subscriber)
    probe = Probe(await asyncio.wait_for(received, 5))
    await asyncio.sleep(0.5)

    forward.feed(red)
    await asyncio.wait_for(probe.first_frame.wait(), 5)
    await asyncio.sleep(1.0)
    assert color_close(probe.color, RED)
    assert red_keyframes[0] >= 1  # the new subscriber asked for a keyframe
    assert not red.receiver.track._queue.qsize()  # nothing decoded at the hub

    forward.feed(blue)
    await asyncio.sleep(1.5)
    assert color_close(probe.color, BLUE)
    inbound = await _inbound(subscriber)
    assert inbound.packetsReceived > 20 and inbound.packetsLost == 0  # no sequence gap
    stats = await sender.getStats()
    outbound = next(s for s in stats.values() if s.type == "outbound-rtp")
    assert outbound.packetsSent >= inbound.packetsReceived  # sender reports kept true
    assert getattr(sender, HISTORY_ATTR)  # NACKs can be answered from the history

    before = blue_keyframes[0]
    await subscriber.getReceivers()[0]._send_rtcp_pli(sender._ssrc)  # a subscriber's PLI
    await asyncio.sleep(0.5)
    assert blue_keyframes[0] > before

    forward.feed(None)  # a freed slot sends nothing
    await asyncio.sleep(0.5)
    frames, packets = probe.frames, (await _inbound(subscriber)).packetsReceived
    await asyncio.sleep(1.0)
    assert probe.frames == frames
    assert (await _inbound(subscriber)).packetsReceived == packets

    forward.stop()
    probe.stop()
    for pc in (*red_pcs, *blue_pcs, hub_out, subscriber):
        await pc.close()


def test_vp8_keyframe_start_is_recognised():
    encoder = get_encoder(RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000,
                                                payloadType=96))
    image = np.random.default_rng(1).integers(0, 255, (240 * 3 // 2, 320), dtype=np.uint8)
    frames = [av.VideoFrame.from_ndarray(np.roll(image, 4 * i, axis=1), format="yuv420p")
              for i in range(5)]
    keyframe, _ = encoder.encode(frames[0], force_keyframe=True)
    for frame in frames[1:]:
        delta, _ = encoder.encode(frame, force_keyframe=False)
    assert len(keyframe) > 1
    assert vp8_keyframe_start(keyframe[0])
    assert not any(vp8_keyframe_start(p) for p in keyframe[1:])
    assert not vp8_keyframe_start(delta[0])
    assert not vp8_keyframe_start(b"") and not vp8_keyframe_start(b"\x90")
