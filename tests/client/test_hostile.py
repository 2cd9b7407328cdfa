"""Bad input: typed errors for wrong password, unreachable server, unknown JID; hostile
stanzas (oversized, wrong types, missing ids, bogus MAM results, forged carbons) are
logged and dropped, never crash the client and never become messages."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import replace

import pytest
from slixmpp.xmlstream import ET

from client_sdk import events as ev
from client_sdk.chat import MAX_BODY
from client_sdk.client import Client
from client_sdk.errors import AuthError, NotFoundError, UnreachableError
from tests.client.conftest import register, wait_for

pytestmark = pytest.mark.stack


async def test_wrong_password_and_unreachable_server_are_typed(stack):
    account = register(stack)
    client = Client(replace(account, password="wrong"))
    with pytest.raises(AuthError, match="authentication failed"):
        await client.connect(timeout=10)
    await client.disconnect()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    client = Client(replace(account, port=free_port))
    with pytest.raises(UnreachableError, match=str(free_port)):
        await client.connect(timeout=10)
    await client.disconnect()


async def test_message_to_unknown_jid_raises(make, stack):
    alice = await make("alice")
    with pytest.raises(NotFoundError, match="ghost"):
        await alice.chat.deliver(f"ghost@{stack.domain}", "anyone?")


def inject(client: Client, xml: str) -> None:
    """Feed a raw stanza into the client as if the server had sent it."""
    client.xmpp._spawn_event(ET.fromstring(xml))


async def test_hostile_stanzas_are_dropped(make, caplog):
    caplog.set_level(logging.WARNING)
    bob, mallory = await make("bob"), await make("mallory")
    me, evil = bob.xmpp.boundjid.full, mallory.jid
    hostile = [
        # carbon "from" another account claiming bob sent or received something
        f"<message xmlns='jabber:client' from='{evil}' to='{me}'><received "
        f"xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message "
        f"xmlns='jabber:client' from='{evil}' to='{bob.jid}' type='chat' id='c1'>"
        "<body>forged carbon</body></message></forwarded></received></message>",
        # unknown message type
        f"<message xmlns='jabber:client' from='{evil}/x' to='{me}' type='evil' id='t1'>"
        "<body>bad type</body></message>",
        # no id at all
        f"<message xmlns='jabber:client' from='{evil}/x' to='{me}' type='chat'>"
        "<body>no id</body></message>",
        # oversized body
        f"<message xmlns='jabber:client' from='{evil}/x' to='{me}' type='chat' id='big'>"
        f"<body>{'x' * (MAX_BODY + 1)}</body></message>",
        # unsolicited MAM result pretending to come from bob's archive
        f"<message xmlns='jabber:client' from='{evil}' to='{me}'><result xmlns='urn:xmpp:mam:2'"
        " queryid='nope' id='123'><forwarded xmlns='urn:xmpp:forward:0'><message "
        f"xmlns='jabber:client' from='{evil}/x' type='chat' id='m1'><body>bogus archive</body>"
        "</message></forwarded></result></message>",
        # groupchat message from a room bob is not in
        f"<message xmlns='jabber:client' from='room@conference.x/nick' to='{me}' "
        "type='groupchat' id='g1'><body>not joined</body></message>",
        # a reaction flood
        f"<message xmlns='jabber:client' from='{evil}/x' to='{me}' type='chat' id='f1'>"
        "<reactions xmlns='urn:xmpp:reactions:0' id='m1'>"
        + "".join(f"<reaction>{chr(0x1F600 + i)}</reaction>" for i in range(40))
        + "</reactions></message>",
        # a forged stanza-id claiming bob's archive: accepted as a message, id ignored
        f"<message xmlns='jabber:client' from='{evil}/x' to='{me}' type='chat' id='s1'>"
        f"<stanza-id xmlns='urn:xmpp:sid:0' by='{evil}' id='999'/><body>ok</body></message>",
    ]
    for xml in hostile:
        inject(bob, xml)
    await asyncio.sleep(0.2)
    got = await wait_for(bob, ev.ChatMessage)
    assert (got.body, got.stanza_id) == ("ok", "")
    assert bob._events.empty() or not any(
        isinstance(e, ev.ChatMessage) for e in [bob._events.get_nowait()
                                                for _ in range(bob._events.qsize())])
    assert [r["body"] for r in bob.store.history(evil)] == ["ok"]
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) >= 7, dropped
    # the client still works
    mallory.chat.send(bob.jid, "still alive?")
    assert (await wait_for(bob, ev.ChatMessage)).body == "still alive?"


async def test_bogus_results_inside_a_real_history_query_are_dropped(make):
    """A result for our query id but not from our archive is refused."""
    alice, bob = await make("alice"), await make("bob")
    alice.chat.send(bob.jid, "genuine")
    await wait_for(bob, ev.ChatMessage)
    history = bob.history
    real_query = history._query

    async def query_with_intruder(archive, rsm, since=""):
        task = asyncio.ensure_future(real_query(archive, rsm, since))
        await asyncio.sleep(0)
        for handler in bob.xmpp._XMLStream__handlers:  # the live query's collector
            if handler.name.startswith("mam-"):
                qid = handler.name[4:]
                inject(bob, f"<message xmlns='jabber:client' from='{alice.jid}' "
                            f"to='{bob.xmpp.boundjid.full}'><result xmlns='urn:xmpp:mam:2' "
                            f"queryid='{qid}' id='1'><forwarded xmlns='urn:xmpp:forward:0'>"
                            f"<message xmlns='jabber:client' from='{alice.jid}/x' type='chat' "
                            "id='z'><body>intruder</body></message></forwarded></result>"
                            "</message>")
        return await task

    history._query = query_with_intruder
    bob.store.set_pointer(bob.jid, "0")
    await history.catch_up(bob.jid)
    bodies = [r["body"] for r in bob.store.history(alice.jid)]
    assert "intruder" not in bodies and "genuine" in bodies
