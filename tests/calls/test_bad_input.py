"""Hostile and broken peers: malformed Jingle, unknown or closed sessions, offers with no
usable codec, a peer whose ICE never answers — each refused or ended with a clear, typed
error, and every socket and task of a failed call given back."""

from __future__ import annotations

import asyncio
import socket

import pytest
from slixmpp.exceptions import IqError

from client_sdk.calls import CallFailed, SetupTimeout
from client_sdk.calls.jingle import (
    NS_JINGLE_ERRORS,
    Candidate,
    Content,
    IceUdpTransport,
    RtpDescription,
)
from client_sdk.calls.jingle.core import child
from client_sdk.calls.media import synthetic
from tests.calls.conftest import leftovers, resources

pytestmark = pytest.mark.stack


async def _refused(client, to: str, action: str, sid: str, *contents) -> IqError:
    iq = client.xmpp.make_iq_set(ito=to)
    if action:
        iq["jingle"]["action"] = action
    if sid:
        iq["jingle"]["sid"] = sid
    for content in contents:
        iq["jingle"].append(content)
    with pytest.raises(IqError) as info:
        await iq.send(timeout=5)
    return info.value


def _unknown_session(error: IqError) -> bool:
    return (error.iq["error"]["condition"] == "item-not-found" and
            error.iq.xml.find(f".//{{{NS_JINGLE_ERRORS}}}unknown-session") is not None)


def _candidate_content(name: str = "0", with_transport: bool = True) -> Content:
    content = Content()
    content["creator"], content["name"] = "initiator", name
    if with_transport:
        transport = IceUdpTransport()
        cand = Candidate()
        cand["component"], cand["foundation"], cand["ip"], cand["port"] = "1", "1", \
            "127.0.0.1", "9"
        cand["priority"], cand["protocol"], cand["type"] = "1", "udp", "host"
        transport.append(cand)
        content.append(transport)
    else:
        description = RtpDescription()
        description["media"] = "audio"
        content.append(description)
    return content


async def test_malformed_and_unknown_jingle_is_refused(devices, stack):
    (alice, _), (bob, bob_calls) = await devices("alice"), await devices("bob")
    bob_jid = str(bob.xmpp.boundjid)
    for action, sid, contents in (("session-initiate", "", ()), ("bogus", "s1", ()),
                                  ("session-initiate", "s2", (_candidate_content("0", False),))):
        error = await _refused(alice, bob_jid, action, sid, *contents)
        assert error.iq["error"]["condition"] == "bad-request", (action, sid)
    assert _unknown_session(await _refused(alice, bob_jid, "transport-info", "nope",
                                           _candidate_content()))

    _, alice_calls = await devices("alice", "caller")
    placing = asyncio.ensure_future(alice_calls.call(bob.jid, synthetic(440, None)))
    ring = await bob_calls.next_incoming(5)
    session = await bob_calls.answer(ring.sid, synthetic(880, None))
    await placing
    await session.hangup()
    assert _unknown_session(await _refused(alice_calls.client, bob_jid, "transport-info",
                                           ring.sid, _candidate_content()))

    sfu = f"{stack.demo_room}@conference-sfu.{stack.domain}"
    assert _unknown_session(await _refused(alice, sfu, "transport-info", "nope",
                                           _candidate_content()))
    error = await _refused(alice, sfu, "session-initiate", "s3", _candidate_content("0", False))
    assert error.iq["error"]["condition"] == "bad-request"


def _rewrite(action: str, edit):
    """A stanza filter applying ``edit`` to every content of Jingle ``action`` stanzas."""
    def apply(stanza):
        jingle = child(stanza, "jingle") if stanza.name == "iq" else None
        if jingle is not None and jingle["action"] == action:
            for content in jingle["contents"]:
                edit(content)
        return stanza
    return apply


def _unsupported_codecs(content) -> None:
    for pt in content["rtp"]["payload_types"]:
        pt["name"] = "X-UNSUPPORTED"


async def test_failed_calls_are_clear_and_leak_nothing(devices):
    """No codec in common → failed-application on both ends; ICE that never answers →
    SetupTimeout naming the ICE state. Afterwards the process has the UDP sockets and
    asyncio tasks it had before."""
    alice = await devices("alice", setup_timeout=3.0)
    bob = await devices("bob", setup_timeout=3.0)
    baseline = resources()

    no_codecs = _rewrite("session-initiate", _unsupported_codecs)
    alice[0].xmpp.add_filter("out", no_codecs)
    placing = asyncio.ensure_future(alice[1].call(bob[0].jid, synthetic(440, None)))
    ring = await bob[1].next_incoming(5)
    with pytest.raises(CallFailed, match="no codec") as answered:
        await bob[1].answer(ring.sid, synthetic(880, None))
    assert answered.value.reason == "failed-application"
    with pytest.raises(CallFailed) as placed:
        await placing
    assert placed.value.reason == "failed-application"
    alice[0].xmpp.del_filter("out", no_codecs)

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        port = str(blackhole.getsockname()[1])

        def nowhere(content) -> None:
            for cand in content["ice_udp"]["candidates"]:
                cand["ip"], cand["port"] = "127.0.0.1", port

        alice[0].xmpp.add_filter("out", _rewrite("session-initiate", nowhere))
        alice[0].xmpp.add_filter("in", _rewrite("session-accept", nowhere))
        placing = asyncio.ensure_future(alice[1].call(bob[0].jid, synthetic(440, None)))
        ring = await bob[1].next_incoming(5)
        answering = asyncio.ensure_future(bob[1].answer(ring.sid, synthetic(880, None)))
        # under load ICE may still be gathering ("new") when the timeout strikes
        with pytest.raises(SetupTimeout, match=r"did not connect within 3s \(ICE (new|checking)"):
            await placing
        with pytest.raises(CallFailed) as answered:
            await answering
        assert answered.value.reason == "connectivity-error"
    assert not alice[1].sessions and not bob[1].sessions
    assert await leftovers(baseline) == (0, set())
