"""1:1 calls over the real ejabberd: media content both ways, TURN-only, refusals, ringing
on two devices, and fingerprint authentication against a rewriting server."""

from __future__ import annotations

import asyncio

import pytest

from client_sdk.calls import (
    CallBusy,
    CallDeclined,
    CallUnanswered,
    FingerprintMismatch,
    IncomingCall,
    RingingStopped,
)
from client_sdk.calls.ice_servers import discover
from client_sdk.calls.jingle.core import child
from client_sdk.calls.media import Probe, color_close, synthetic

pytestmark = pytest.mark.stack
RED, BLUE = (220, 30, 30), (30, 30, 220)


def _media(freq: float, rgb=None):
    return synthetic(freq, rgb, width=96, height=64, fps=10)


async def _connect_pair(caller, callee, caller_media, callee_media):
    """Place a call and answer it on the callee's device; return both sessions."""
    _, a_calls = caller
    _, b_calls = callee
    placing = asyncio.ensure_future(a_calls.call(b_calls.client.jid, caller_media))
    ring = await b_calls.next_incoming(timeout=5)
    answer = asyncio.ensure_future(b_calls.answer(ring.sid, callee_media))
    return await placing, await answer


async def _probes(session, kinds=("audio", "video")):
    return {t.kind: Probe(t) for t in session.remote_tracks.values() if t.kind in kinds}


async def _settle(probes, seconds: float = 1.5) -> None:
    await asyncio.wait_for(asyncio.gather(*(p.first_frame.wait() for p in probes)), 5)
    await asyncio.sleep(seconds)


async def test_audio_video_call_carries_tone_and_colour_both_ways(devices):
    alice, bob = await devices("alice"), await devices("bob")
    a, b = await _connect_pair(alice, bob, _media(440, RED), _media(1000, BLUE))
    pa, pb = await _probes(a), await _probes(b)
    await _settle([*pa.values(), *pb.values()])
    assert abs(pa["audio"].frequency() - 1000) < 30
    assert abs(pb["audio"].frequency() - 440) < 30
    assert color_close(pa["video"].color, BLUE) and color_close(pb["video"].color, RED)
    a.mute(True)
    b.video(False)
    await asyncio.sleep(1.5)
    assert pb["audio"].frequency() == 0 or max(map(abs, pb["audio"]._samples[-1])) < 200
    assert color_close(pa["video"].color, (0, 0, 0))
    ended = asyncio.ensure_future(b.ended)
    await a.hangup()
    assert await asyncio.wait_for(ended, 5) is None
    assert a.state == b.state == "ended" and not alice[1].sessions and not bob[1].sessions


async def test_call_through_turn_only(devices, stack):
    alice, bob = await devices("alice", relay_only=True), await devices("bob", relay_only=True)
    for _, calls in (alice, bob):
        calls.config.ice_servers = await discover(calls.xmpp)
        assert any("turn:" in s.urls for s in calls.config.ice_servers)
    a, b = await _connect_pair(alice, bob, _media(500), _media(700))
    pair = a.pc.getTransceivers()[0].receiver.transport.transport._connection
    assert pair._nominated[1].local_candidate.type == "relay"
    pa = await _probes(a)
    await _settle(pa.values(), 0.8)
    assert abs(pa["audio"].frequency() - 700) < 30


async def test_declined_call(devices):
    alice, bob = await devices("alice"), await devices("bob")
    placing = asyncio.ensure_future(alice[1].call(bob[0].jid, _media(440)))
    ring = await bob[1].next_incoming(timeout=5)
    await bob[1].decline(ring.sid)
    with pytest.raises(CallDeclined):
        await placing


async def test_busy_callee(devices):
    alice, bob, carol = await devices("alice"), await devices("bob"), await devices("carol")
    await _connect_pair(carol, bob, _media(300), _media(600))
    with pytest.raises(CallBusy):
        await alice[1].call(bob[0].jid, _media(440))


async def test_unanswered_call_is_retracted(devices):
    alice = await devices("alice", ring_timeout=1.5)
    bob = await devices("bob")
    with pytest.raises(CallUnanswered, match="no answer"):
        await alice[1].call(bob[0].jid, _media(440))
    ring = await bob[1].next_incoming(timeout=2)
    await asyncio.sleep(0.5)
    assert ring.sid not in bob[1]._ringing


async def test_rings_on_two_devices_answered_on_one(devices):
    alice = await devices("alice")
    phone, desk = await devices("bob", "phone"), await devices("bob", "desk")
    placing = asyncio.ensure_future(alice[1].call(phone[0].jid, _media(440)))
    rings = await asyncio.gather(phone[1].next_incoming(5), desk[1].next_incoming(5))
    assert rings[0].sid == rings[1].sid
    stopped = asyncio.ensure_future(_next_of(phone[0], RingingStopped))
    session = await desk[1].answer(rings[1].sid, _media(880))
    await placing
    event = await asyncio.wait_for(stopped, 5)
    assert event.sid == rings[0].sid and rings[0].sid not in phone[1]._ringing
    assert session.state == "active" and not phone[1].sessions


async def _next_of(client, kind):
    async for event in client.events():
        if isinstance(event, kind):
            return event


async def test_rewritten_fingerprint_refuses_the_call(devices):
    """A server that rewrites the session-initiate's fingerprint (simulated by a filter on
    the callee's incoming stanzas) is caught: both ends fail with FingerprintMismatch."""
    alice, bob = await devices("alice"), await devices("bob")

    def rewrite(stanza):
        jingle = child(stanza, "jingle") if stanza.name == "iq" else None
        if jingle is not None and jingle["action"] == "session-initiate":
            for content in jingle["contents"]:
                for fp in content["ice_udp"]["fingerprints"]:
                    fp["value"] = ":".join(["AB"] * len(fp["value"].split(":")))
        return stanza

    bob[0].xmpp.add_filter("in", rewrite)
    placing = asyncio.ensure_future(alice[1].call(bob[0].jid, _media(440)))
    ring = await bob[1].next_incoming(timeout=5)
    with pytest.raises(FingerprintMismatch, match="altered in transit"):
        await bob[1].answer(ring.sid, _media(880))
    with pytest.raises(FingerprintMismatch):
        await placing
    assert not alice[1].sessions and not bob[1].sessions
    assert isinstance(ring, IncomingCall)
