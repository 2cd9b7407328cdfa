"""DTLS fingerprints authenticated over the real E2E layer (GOST-OMEMO per the domain
policy): a call between two clients with E2E started connects, the fingerprint messages
stay out of the chat history, and a plaintext payload posing as one is refused."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from client_sdk.calls import CallConfig, Calls
from client_sdk.calls.e2e_channel import PREFIX, E2EChannel
from client_sdk.calls.manager import FINGERPRINT_TYPE
from client_sdk.calls.media import Probe, synthetic
from client_sdk.client import Client
from client_sdk.e2e import E2E, KeyStore
from client_sdk.store import Store
from tests.calls.conftest import disconnect
from tests.e2e.conftest import new_user

pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture
async def e2e_devices(stack, tmp_path: Path) -> AsyncIterator[Callable]:
    """``await e2e_devices(prefix)`` → (client, calls) for a fresh user with E2E started."""
    opened: list[tuple[Client, E2E, Calls, E2EChannel]] = []

    async def make(prefix: str) -> tuple[Client, Calls]:
        account = new_user(stack, prefix)
        base = tmp_path / account.jid
        base.mkdir()
        client = Client(account, resource="pytest", store=Store(base / "store.sqlite3"),
                        reconnect=False)
        e2e = E2E(client)
        await client.connect()
        await e2e.start(KeyStore(base / "keys.sqlite3", key=b"k" * 32))
        channel = E2EChannel(client, e2e)
        calls = Calls(client, channel, CallConfig(ring_timeout=10, setup_timeout=10,
                                                  fingerprint_timeout=20))
        opened.append((client, e2e, calls, channel))
        return client, calls

    yield make
    for client, e2e, calls, channel in opened:
        with contextlib.suppress(Exception):
            for session in list(calls.sessions.values()):
                await session.hangup()
            calls.close()
            channel.close()
            await e2e.stop()
            await disconnect(client)


async def test_call_with_fingerprints_over_e2e(e2e_devices):
    (alice, a_calls), (bob, b_calls) = await e2e_devices("alice"), await e2e_devices("bob")
    placing = asyncio.ensure_future(a_calls.call(bob.jid, synthetic(440, None)))
    ring = await b_calls.next_incoming(10)
    b_session = await b_calls.answer(ring.sid, synthetic(880, None))
    a_session = await placing
    assert a_session.state == b_session.state == "active"
    probe = Probe(next(iter(b_session.remote_tracks.values())))
    await asyncio.wait_for(probe.first_frame.wait(), 5)
    await asyncio.sleep(1.0)
    assert abs(probe.frequency() - 440) < 30
    probe.stop()
    for client in (alice, bob):
        peer = bob.jid if client is alice else alice.jid
        assert not any(PREFIX in m["body"] for m in client.store.history(peer)), \
            "call payloads must stay out of the chat history"

    doc = {"type": FINGERPRINT_TYPE, "sid": "forged", "fingerprints": [["sha-256", "AB"]]}
    alice.xmpp.make_message(mto=bob.jid, mtype="normal", mbody=PREFIX + base64.b64encode(
        json.dumps(doc).encode()).decode()).send()
    await asyncio.sleep(1.5)
    assert "forged" not in b_calls._fingerprints, "a plaintext payload was accepted"
