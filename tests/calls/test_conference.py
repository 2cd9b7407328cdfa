"""Conferences through the forwarding component running in the stack: four participants
each receive the other three (colour and tone checked per slot), a late joiner gets video
(from a keyframe requested at its join), a participant that leaves disappears from every
other participant's slots and from the component; the participant limit counts joins
still connecting; only members of the group room may join or look."""

from __future__ import annotations

import asyncio
import time

import pytest

from client_sdk.calls import CallFailed, ConferenceForbidden, ConferenceFull
from client_sdk.calls.media import Probe, color_close, synthetic
from tests.e2e.conftest import new_user

pytestmark = pytest.mark.stack
PEOPLE = [("alice", "a", (220, 40, 40), 400), ("bob", "b", (40, 220, 40), 600),
          ("carol", "c", (40, 40, 220), 800), ("alice", "late", (220, 220, 40), 1000)]


def _target(stack, room: str) -> str:
    return f"{room}@conference-sfu.{stack.domain}"


async def _join(devices, target, user, resource, rgb, freq, slots=3):
    client, calls = await devices(user, resource)
    media = synthetic(freq, rgb, width=64, height=48, fps=10)
    session = await calls.join_conference(target, media, slots=slots)
    return f"{client.jid}/{resource}", session


def _slot_probes(session) -> dict[str, Probe]:
    """{content name → Probe} for the receive slots (contents 0 and 1 are our uplink)."""
    return {mid: Probe(track) for mid, track in session.remote_tracks.items() if int(mid) >= 2}


async def _until(predicate, timeout: float, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)


async def _quiet(probes: list[Probe], seconds: float = 1.0, timeout: float = 10.0) -> None:
    """Until no frame reaches any of ``probes`` for ``seconds``: frames already on their way
    drain first (the test process lags on a loaded machine), a slot still fed never rests."""
    deadline = time.monotonic() + timeout
    counts = [p.frames for p in probes]
    while True:
        await asyncio.sleep(seconds)
        now = [p.frames for p in probes]
        if now == counts:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"frames still forwarded to freed slots: {counts} -> {now}")
        counts = now


def _filled(session) -> list[str]:
    return [jid for jid in session.sources.values() if jid]


async def test_four_way_conference_late_joiner_and_leave(devices, stack, room):
    target = _target(stack, room)
    early = [await _join(devices, target, *p) for p in PEOPLE[:3]]
    probes = [_slot_probes(s) for _, s in early]

    late_jid, late = await _join(devices, target, *PEOPLE[3])
    late_probes = _slot_probes(late)
    late_video = [p for p in late_probes.values() if p.kind == "video"]
    # the slots open at a keyframe the component asks for at the join (no timing assertion:
    # on the shared machine the test process itself lags; the wait only bounds the test)
    await asyncio.wait_for(asyncio.gather(*(p.first_frame.wait() for p in late_video)), 5)

    everyone, all_probes = [*early, (late_jid, late)], [*probes, late_probes]
    colour_of = {jid: p[2] for (jid, _), p in zip(everyone, PEOPLE, strict=True)}
    tone_of = {jid: p[3] for (jid, _), p in zip(everyone, PEOPLE, strict=True)}
    for jid, session in everyone:
        await _until(lambda s=session: len(_filled(s)) == 3, 5, f"{jid} receiving three")
        assert sorted(_filled(session)) == sorted(set(colour_of) - {jid})
    await asyncio.sleep(1.5)  # colour and tone of the latest frames, not the first ones
    for (jid, session), slot_probes in zip(everyone, all_probes, strict=True):
        for video_mid, source in session.sources.items():
            audio_mid = str(int(video_mid) - 1)
            assert color_close(slot_probes[video_mid].color, colour_of[source]), (jid, source)
            assert abs(slot_probes[audio_mid].frequency() - tone_of[source]) < 30, (jid, source)

    await late.hangup()
    await _assert_left_everywhere(early, probes, late_jid, devices, target)


async def _assert_left_everywhere(stayers, probes, leaver: str, devices, target) -> None:
    """The leaver's slots are freed on every participant (no more frames arrive there) and
    the component lists neither it nor any forwarding to or from it."""
    freed = []
    for (jid, session), slot_probes in zip(stayers, probes, strict=True):
        await _until(lambda s=session: leaver not in s.sources.values(), 5, f"{jid} update")
        assert len(_filled(session)) == 2
        freed.append(slot_probes[next(m for m, src in session.sources.items() if not src)])
    await _quiet(freed)
    _, calls = await devices("carol", "observer")
    state = await calls.conference_state(target)
    assert sorted(p.jid for p in state) == sorted(jid for jid, _ in stayers)
    for participant in state:
        assert participant.status == "joined" and leaver not in participant.slots.values()
        assert participant.subscribers == 4  # audio + video to each of the two others


async def test_conference_limit_counts_joins_in_progress(devices, stack, room):
    """Nine simultaneous joins for eight places: exactly one is refused, clearly."""
    from xmpp_server_plugins.components.conference import ConferenceComponent

    target = _target(stack, room)
    assert ConferenceComponent.limit == 8
    joiners = [await devices("bob", f"d{i}") for i in range(9)]
    results = await asyncio.gather(
        *(calls.join_conference(target, synthetic(300 + 50 * i, None), slots=0)
          for i, (_, calls) in enumerate(joiners)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1, results
    assert isinstance(refused[0], ConferenceFull) and "is full (8 participants" in str(refused[0])
    assert all(r.state == "active" for r in results if not isinstance(r, Exception))


async def test_only_room_members_may_join_or_look(devices, stack, room):
    _, calls = await devices(new_user(stack, "outsider"))
    target = _target(stack, room)
    with pytest.raises(ConferenceForbidden, match="not a member of room"):
        await calls.join_conference(target, synthetic(300, None), slots=0)
    with pytest.raises(ConferenceForbidden, match="not a member"):
        await calls.conference_state(target)
    with pytest.raises(CallFailed, match="no room"):
        await calls.join_conference(_target(stack, "no-such-room"), synthetic(300, None),
                                    slots=0)
    assert not calls.sessions
