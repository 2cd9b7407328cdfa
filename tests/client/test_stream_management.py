"""XEP-0198 through the real ejabberd: the server's ack requests get answered with the
count of stanzas handled. Unanswered, ejabberd keeps every stanza queued and drops the
stream after its 60 s ack timeout (a regression once: the request handler never matched)."""

from __future__ import annotations

import asyncio
import re

import pytest

from client_sdk import events as ev
from tests.client.conftest import wait_for

pytestmark = pytest.mark.stack
ACK = re.compile(r"<a xmlns=['\"]urn:xmpp:sm:3['\"] h=['\"](\d+)['\"]")


def record_raw_writes(client) -> list[str]:
    writes: list[str] = []
    send_raw = client.xmpp.send_raw

    def record(data: str | bytes) -> None:
        writes.append(data.decode() if isinstance(data, bytes) else data)
        send_raw(data)

    client.xmpp.send_raw = record
    return writes


async def acked_counts(writes: list[str], timeout: float = 10.0) -> list[int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        counts = [int(h) for w in writes for h in ACK.findall(w)]
        if counts:
            return counts
        await asyncio.sleep(0.05)
    raise AssertionError(f"no <a/> answered the server's ack request; wrote {writes!r}")


async def test_server_ack_requests_are_answered_with_the_handled_count(make):
    alice, bob = await make("alice"), await make("bob")
    assert bob.xmpp.plugin["xep_0198"].enabled_out, "stream management not enabled"
    await asyncio.sleep(1.0)  # acks still due for the login's stanzas go out first
    writes = record_raw_writes(bob)
    before = bob.xmpp.plugin["xep_0198"].handled
    alice.chat.send(bob.jid, "count me")
    await wait_for(bob, ev.ChatMessage)
    counts = await acked_counts(writes)
    assert max(counts) >= before + 1, (before, counts)
    assert max(counts) <= bob.xmpp.plugin["xep_0198"].handled
