"""1:1 messaging end to end: ids, receipts, markers, chat states, corrections,
retractions, replies, reactions, two devices with carbons, roster, presence, blocking, vCard."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from client_sdk import events as ev
from client_sdk.errors import NotFoundError
from client_sdk.profile import Card
from tests.client.conftest import wait_for

pytestmark = pytest.mark.stack


async def befriend(a, b) -> None:
    await a.roster.subscribe(b.jid)
    await wait_for(b, ev.SubscriptionRequest, lambda e: e.jid == a.jid)
    b.roster.approve(a.jid)
    await wait_for(a, ev.SubscriptionChanged, lambda e: e.change == "subscribed")


async def test_message_ids_receipts_markers_states(make):
    alice, bob = await make("alice"), await make("bob")
    msg_id = alice.chat.send(bob.jid, "hello bob")
    got = await wait_for(bob, ev.ChatMessage)
    assert (got.body, got.id, got.sender, got.peer) == ("hello bob", msg_id, alice.jid, alice.jid)
    assert got.stanza_id, "server-assigned archive id (XEP-0359) missing"
    receipt = await wait_for(alice, ev.Receipt)
    assert receipt.id == msg_id
    bob.chat.mark(got, "displayed")
    marker = await wait_for(alice, ev.Marker)
    assert (marker.id, marker.marker) == (msg_id, "displayed")
    bob.chat.set_state(alice.jid, "composing")
    state = await wait_for(alice, ev.ChatState, lambda e: e.state == "composing")
    assert state.peer == bob.jid


def committed_bodies(client, peer: str) -> list[str]:
    """What another connection to the device's store sees (committed rows only)."""
    db = sqlite3.connect(client.store.path)
    try:
        return [row[0] for row in db.execute(
            "SELECT body FROM messages WHERE peer = ? ORDER BY pos, seq", (peer,))]
    finally:
        db.close()


async def test_own_messages_stored_in_order_with_the_replies(make):
    """Our sent messages are recorded with the next transaction (or a moment later), still
    ahead of the replies they got, visible to a read at once and committed soon after."""
    alice, bob = await make("alice"), await make("bob")
    for i in range(3):
        alice.chat.send(bob.jid, f"ping {i}")
        await wait_for(bob, ev.ChatMessage, lambda e, i=i: e.body == f"ping {i}")
        bob.chat.send(alice.jid, f"pong {i}")
        await wait_for(alice, ev.ChatMessage, lambda e, i=i: e.body == f"pong {i}")
    expected = [f"{word} {i}" for i in range(3) for word in ("ping", "pong")]
    assert [r["body"] for r in alice.store.history(bob.jid)] == expected
    alice.chat.send(bob.jid, "last word")
    await asyncio.sleep(0)  # on the wire
    assert alice.store.count(bob.jid) == 7  # a read sees it before any commit
    await asyncio.sleep(0.3)
    assert committed_bodies(alice, bob.jid) == [*expected, "last word"]


async def test_correction_retraction_reply_reactions(make):
    alice, bob = await make("alice"), await make("bob")
    first = alice.chat.send(bob.jid, "teh text")
    original = await wait_for(bob, ev.ChatMessage)
    alice.chat.correct(bob.jid, first, "the text")
    fixed = await wait_for(bob, ev.Correction)
    assert (fixed.id, fixed.body) == (first, "the text")
    reply_id = bob.chat.send(alice.jid, "agreed", reply_to=original)
    reply = await wait_for(alice, ev.ChatMessage, lambda e: e.id == reply_id)
    assert (reply.body, reply.reply_to) == ("agreed", first)
    bob.chat.react(alice.jid, first, ["👍", "🎉"])
    reactions = await wait_for(alice, ev.Reactions)
    assert reactions.id == first and reactions.values == {"👍", "🎉"}
    alice.chat.retract(bob.jid, first)
    gone = await wait_for(bob, ev.Retraction)
    assert gone.id == first
    rows = {r["id"]: r for r in bob.store.history(alice.jid)}
    assert rows[first]["retracted"] and rows[first]["body"] == ""
    assert rows[reply_id]["reply_to"] == first
    mine = {r["id"]: r for r in alice.store.history(bob.jid)}
    assert mine[first]["reactions"] == {"👍": [bob.jid], "🎉": [bob.jid]}


async def test_forged_correction_of_someone_elses_message_is_ignored(make):
    alice, bob, carol = await make("alice"), await make("bob"), await make("carol")
    msg_id = alice.chat.send(bob.jid, "original")
    await wait_for(bob, ev.ChatMessage)
    carol.chat.correct(bob.jid, msg_id, "forged")
    await asyncio.sleep(0.5)
    assert [r["body"] for r in bob.store.history(alice.jid)] == ["original"]


async def test_two_devices_get_carbons_both_ways(make):
    alice = await make("alice", resource="phone")
    laptop = await make(alice.account, resource="laptop")
    bob = await make("bob")
    bob.chat.send(alice.jid, "to both devices")
    for device in (alice, laptop):
        got = await wait_for(device, ev.ChatMessage)
        assert got.body == "to both devices" and not got.outgoing
    sent = alice.chat.send(bob.jid, "from the phone")
    copy = await wait_for(laptop, ev.ChatMessage, lambda e: e.id == sent)
    assert copy.outgoing and copy.peer == bob.jid
    assert [r["body"] for r in laptop.store.history(bob.jid)] == ["to both devices",
                                                                   "from the phone"]


async def test_roster_subscribe_approve_deny_remove_and_status(make):
    alice, bob, carol = await make("alice"), await make("bob"), await make("carol")
    await befriend(alice, bob)
    await befriend(bob, alice)
    async with asyncio.timeout(5):  # the roster push may trail the presence
        while [c.subscription for c in alice.roster.contacts()] != ["both"]:
            await asyncio.sleep(0.05)
    bob.roster.set_presence("in a meeting", "dnd")
    seen = await wait_for(alice, ev.PresenceChanged,
                          lambda e: e.jid.startswith(bob.jid) and e.status == "in a meeting")
    assert seen.available and seen.show == "dnd"
    await carol.roster.subscribe(alice.jid)
    await wait_for(alice, ev.SubscriptionRequest, lambda e: e.jid == carol.jid)
    alice.roster.deny(carol.jid)
    await wait_for(carol, ev.SubscriptionChanged,
                   lambda e: (e.jid, e.change) == (alice.jid, "unsubscribed"))
    await alice.roster.remove(bob.jid)
    await asyncio.sleep(0.5)
    assert all(c.jid != bob.jid for c in alice.roster.contacts())
    assert all(c.subscription in ("none", "remove") for c in alice.roster.contacts())


async def test_blocking_stops_messages(make):
    alice, bob = await make("alice"), await make("bob")
    await bob.blocking.block(alice.jid)
    assert await bob.blocking.blocked() == {alice.jid}
    alice.chat.send(bob.jid, "you cannot see this")
    error = await wait_for(alice, ev.MessageError)
    assert error.peer == bob.jid
    await bob.blocking.unblock(alice.jid)
    alice.chat.send(bob.jid, "now you can")
    assert (await wait_for(bob, ev.ChatMessage)).body == "now you can"


async def test_vcard_name_unit_avatar(make):
    alice, bob = await make("alice"), await make("bob")
    avatar = bytes(range(256)) * 8
    await alice.profile.set(Card(name="Alice A.", org_unit="Security", avatar=avatar,
                                 avatar_type="image/png"))
    card = await bob.profile.get(alice.jid)
    assert (card.name, card.org_unit, card.avatar, card.avatar_type) == (
        "Alice A.", "Security", avatar, "image/png")


async def test_unknown_jid_is_a_typed_error(make, stack):
    alice = await make("alice")
    with pytest.raises(NotFoundError, match="nobody-here"):
        await alice.chat.deliver(f"nobody-here@{stack.domain}", "hello?")
