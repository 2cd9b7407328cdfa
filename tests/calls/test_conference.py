"""Conferences through the forwarding component running in the stack: four participants
each receive the other three (colour and tone checked per slot), a late joiner gets video
within a second, and a participant that leaves disappears from everyone's slots."""

from __future__ import annotations

import asyncio
import time

import pytest

from client_sdk.calls import ConferenceFull
from client_sdk.calls.media import Probe, color_close, synthetic

pytestmark = pytest.mark.stack
PEOPLE = [("alice", "a", (220, 40, 40), 400), ("bob", "b", (40, 220, 40), 600),
          ("carol", "c", (40, 40, 220), 800), ("alice", "late", (220, 220, 40), 1000)]


async def _join(devices, target, user, resource, rgb, freq, slots=3):
    client, calls = await devices(user, resource)
    media = synthetic(freq, rgb, width=96, height=64, fps=10)
    session = await calls.join_conference(target, media, slots=slots)
    return f"{client.jid}/{resource}", session


def _slot_probes(session):
    """{(content name of the slot's video) → Probe} for the receive slots."""
    probes = {}
    for mid, track in session.remote_tracks.items():
        if int(mid) >= 2:
            probes[mid] = Probe(track)
    return probes


async def _until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


async def test_four_way_conference_late_joiner_and_leave(devices, stack):
    target = f"{stack.demo_room}@conference-sfu.{stack.domain}"
    joined = [await _join(devices, target, *p) for p in PEOPLE[:3]]
    probes = [_slot_probes(s) for _, s in joined]
    await asyncio.sleep(2.0)

    late_jid, late = await _join(devices, target, *PEOPLE[3])
    connected_at = time.monotonic()
    late_probes = _slot_probes(late)
    late_video = [p for p in late_probes.values() if p.kind == "video"]
    await asyncio.wait_for(asyncio.gather(*(p.first_frame.wait() for p in late_video)), 5)
    assert max(p.first_frame_at for p in late_video) - connected_at < 1.0

    everyone = [*joined, (late_jid, late)]
    all_probes = [*probes, late_probes]
    colour_of = {jid: p[2] for (jid, _), p in zip(everyone, PEOPLE, strict=True)}
    tone_of = {jid: p[3] for (jid, _), p in zip(everyone, PEOPLE, strict=True)}
    await asyncio.sleep(2.0)
    for (jid, session), slot_probes in zip(everyone, all_probes, strict=True):
        await _until(lambda s=session: len([v for v in s.sources.values() if v]) == 3, 5)
        assert jid not in session.sources.values()
        for video_mid, source in session.sources.items():
            audio_mid = str(int(video_mid) - 1)
            assert color_close(slot_probes[video_mid].color, colour_of[source]), (jid, source)
            assert abs(slot_probes[audio_mid].frequency() - tone_of[source]) < 30

    await late.hangup()
    for _, session in joined:
        await _until(lambda s=session: late_jid not in s.sources.values(), 5)
        assert len([v for v in session.sources.values() if v]) == 2


async def test_conference_limit(devices, stack):
    """The component refuses a participant beyond its limit (8 by default)."""
    from xmpp_server_plugins.components.conference import ConferenceComponent

    assert ConferenceComponent.limit == 8
    target = f"limit-{time.time_ns()}@conference-sfu.{stack.domain}"
    sessions = []
    for i in range(8):
        _, session = await _join(devices, target, "bob", f"d{i}", None, 300, slots=0)
        sessions.append(session)
    with pytest.raises(ConferenceFull):
        await _join(devices, target, "carol", "extra", None, 300, slots=0)
