"""Group chats end to end: create, invite (direct and mediated), affiliations, members,
join/leave, subject, room history through MAM, bookmarks with autojoin on another device,
and the refusals (room not found, not allowed)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from client_sdk import events as ev
from client_sdk.errors import ForbiddenError, RoomNotFoundError
from tests.client.conftest import wait_for

pytestmark = pytest.mark.stack


def room_name() -> str:
    return f"r{uuid.uuid4().hex[:10]}"


async def test_create_invite_talk_subject_members_and_history(make):
    alice, bob, carol = await make("alice"), await make("bob"), await make("carol")
    room = await alice.rooms.create(room_name(), title="Project X")
    config = await alice.rooms.muc.get_room_config(room)
    values = config.get_values()
    assert values["muc#roomconfig_membersonly"] and values["muc#roomconfig_persistentroom"]
    assert values["muc#roomconfig_whois"] == "anyone"
    await alice.rooms.invite(room, bob.jid, "join us")
    invite = await wait_for(bob, ev.RoomInvite)
    assert (invite.room, invite.inviter, invite.direct) == (room, alice.jid, True)
    await bob.rooms.join(invite.room)
    await alice.rooms.invite(room, carol.jid, direct=False)
    mediated = await wait_for(carol, ev.RoomInvite)
    assert (mediated.room, mediated.inviter, mediated.direct) == (room, alice.jid, False)
    await carol.rooms.join(room)
    await alice.rooms.set_affiliation(room, bob.jid, "admin")
    assert await alice.rooms.members(room) == {alice.jid: "owner", bob.jid: "admin",
                                               carol.jid: "member"}
    alice.rooms.set_subject(room, "Q3 planning")
    subject = await wait_for(carol, ev.RoomSubject, lambda e: e.subject)
    assert (subject.room, subject.subject) == (room, "Q3 planning")
    sent = bob.rooms.send(room, "hello room")
    for client in (alice, carol):
        msg = await wait_for(client, ev.ChatMessage, lambda e: e.id == sent)
        assert (msg.kind, msg.nick, msg.peer) == ("groupchat", bob.account.local, room)
    original = await wait_for(bob, ev.ChatMessage, lambda e: e.id == sent)
    assert original.outgoing and original.stanza_id
    carol.chat.react(room, original.stanza_id, ["👍"], kind="groupchat")
    reaction = await wait_for(bob, ev.Reactions)
    assert reaction.id == original.stanza_id and reaction.values == {"👍"}
    await carol.rooms.leave(room)
    for i in range(5):
        alice.rooms.send(room, f"while carol was away {i}")
    await wait_for(bob, ev.ChatMessage, lambda e: e.body.endswith("away 4"))
    await carol.rooms.join(room)  # catches up through the room's MAM archive
    rows = carol.store.history(room)
    bodies = [r["body"] for r in rows]
    assert bodies[-6:] == ["hello room", *(f"while carol was away {i}" for i in range(5))]
    assert len(bodies) == len(set(bodies))


async def test_bookmarks_autojoin_on_a_second_device(make):
    alice = await make("alice", resource="desk")
    room = await alice.rooms.create(room_name())
    marks = await alice.rooms.bookmarks()
    assert [(m.room, m.autojoin) for m in marks] == [(room, True)]
    phone = await make(alice.account, resource="phone")
    async with asyncio.timeout(10):
        while not phone.rooms.is_joined(room):
            await asyncio.sleep(0.05)
    await alice.rooms.leave(room)
    assert await alice.rooms.bookmarks() == []


async def test_room_not_found_and_not_allowed(make):
    alice, bob = await make("alice"), await make("bob")
    with pytest.raises(RoomNotFoundError, match="room not found"):
        await bob.rooms.join(room_name())
    room = await alice.rooms.create(room_name())
    with pytest.raises(ForbiddenError, match="not allowed"):
        await bob.rooms.join(room)  # members only, bob was never invited
    with pytest.raises(ForbiddenError):
        await bob.rooms.invite(room, bob.jid)
    assert not bob.rooms.is_joined(room)
