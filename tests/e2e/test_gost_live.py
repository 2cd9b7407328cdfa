"""GOST-OMEMO through the real ejabberd: 1:1, rooms, carbons, restart, policy, twins,
replay and tampering."""

from __future__ import annotations

import asyncio
import base64
import copy
import logging

import psycopg
import pytest
from slixmpp import JID

from client_sdk.e2e.backends.gost import NAMESPACE
from client_sdk.e2e.errors import KeyStoreLocked, PolicyViolation
from client_sdk.e2e.events import Undecryptable
from client_sdk.e2e.keystore import KeyStore
from client_sdk.e2e.plugin import encrypted_elements
from client_sdk.events import ChatMessage
from tests.e2e.conftest import new_user
from tests.e2e.standard_peer import StandardPeer

pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
LEGACY = "eu.siacs.conversations.axolotl"


def incoming(body: str):
    return lambda e: isinstance(e, ChatMessage) and e.body == body and not e.outgoing


def namespaces(msg) -> set[str]:
    return {el.tag[1:].split("}")[0] for el in encrypted_elements(msg)}


async def raw_with(device, text_id: str, timeout: float = 10.0):
    for _ in range(int(timeout / 0.05)):
        for msg in device.raw:
            if (msg["origin_id"]["id"] or msg["id"]) == text_id and encrypted_elements(msg):
                return msg
        await asyncio.sleep(0.05)
    raise AssertionError(f"no raw stanza {text_id}")


async def test_gost_one_to_one_both_ways(stack, devices, caplog):
    caplog.set_level(logging.DEBUG, logger="client_sdk")
    alice = await devices(new_user(stack, "alice"))
    bob = await devices(new_user(stack, "bob"))
    msg_id = await alice.e2e.send(bob.jid, "hello over GOST")
    got = await bob.wait_for(incoming("hello over GOST"))
    assert bob.e2e.encryption(got.id) == NAMESPACE == alice.e2e.encryption(msg_id)
    await bob.e2e.send(alice.jid, "and back")
    got = await alice.wait_for(incoming("and back"))
    assert alice.e2e.encryption(got.id) == NAMESPACE
    # the encrypted originals are taken over by the E2E hook: the normal path, not a refusal
    claimed = [r for r in caplog.records if "taken over by a payload hook" in r.getMessage()]
    assert claimed and all(r.levelno == logging.DEBUG for r in claimed)
    assert not [r.getMessage() for r in caplog.records
                if r.levelno >= logging.WARNING and "dropped" in r.getMessage()]


async def test_group_room_members_including_offline(stack, devices):
    users = [new_user(stack, n) for n in ("owner", "member", "absent")]
    owner = await devices(users[0])
    member = await devices(users[1])
    absent = await devices(users[2])  # publishes its keys, then goes offline
    await absent.close()
    room = await owner.client.rooms.create(f"e2e{JID(owner.jid).user}", title="E2E room")
    for user in users[1:]:
        await owner.client.rooms.set_affiliation(room, user.jid, "member")
    await member.client.rooms.join(room)
    msg_id = await owner.e2e.send(room, "secret to the room", kind="groupchat")
    got = await member.wait_for(incoming("secret to the room"))
    assert member.e2e.encryption(got.id) == NAMESPACE
    raw = await raw_with(member, msg_id)
    keyed = {k.get("jid") for k in raw.xml.iter(f"{{{NAMESPACE}}}keys")}
    assert users[2].jid in keyed, "offline member's devices must be included"
    echo = await owner.wait_for(lambda e: isinstance(e, ChatMessage) and e.kind == "groupchat"
                                and e.body == "secret to the room")
    assert echo.outgoing
    back = await devices(users[2])  # the absent member returns and reads the archive
    await back.client.rooms.join(room)
    archived = await back.e2e.archive(room)
    assert [(a.sender, a.body, a.encryption) for a in archived] == [
        (users[0].jid, "secret to the room", NAMESPACE)]


async def test_two_devices_with_carbons(stack, devices):
    account = new_user(stack, "multi")
    desk = await devices(account, "desk")
    laptop = await devices(account, "laptop")
    bob = await devices(new_user(stack, "bob"))
    await desk.e2e.send(bob.jid, "from my desk")
    await bob.wait_for(incoming("from my desk"))
    mine = await laptop.wait_for(lambda e: isinstance(e, ChatMessage) and e.outgoing
                                 and e.body == "from my desk")
    assert laptop.e2e.encryption(mine.id) == NAMESPACE
    await bob.e2e.send(account.jid, "to both")
    await desk.wait_for(incoming("to both"))
    await laptop.wait_for(incoming("to both"))


async def test_restart_from_encrypted_store(stack, devices):
    alice_account = new_user(stack, "alice")
    alice = await devices(alice_account, key=b"s" * 32)
    bob = await devices(new_user(stack, "bob"))
    await alice.e2e.send(bob.jid, "before restart")
    await bob.wait_for(incoming("before restart"))
    gost_id = alice.e2e.ready.device_id()
    await alice.close()
    await bob.e2e.send(alice_account.jid, "while you were away")  # offline storage
    data = alice.store_path.read_bytes()
    for secret in (bob.jid.encode(), JID(bob.jid).user.encode(), b"urn:oplot", b"ratchet"):
        assert secret not in data
    with pytest.raises(KeyStoreLocked):
        KeyStore(alice.store_path, key=b"w" * 32)
    again = await devices(alice_account, key=b"s" * 32)
    assert again.e2e.ready.device_id() == gost_id
    got = await again.wait_for(incoming("while you were away"))
    assert again.e2e.encryption(got.id) == NAMESPACE
    await again.e2e.send(bob.jid, "after restart")
    await bob.wait_for(incoming("after restart"))
    await bob.e2e.send(alice_account.jid, "welcome back")
    await again.wait_for(incoming("welcome back"))


async def test_gost_peer_never_gets_standard_copy(stack, devices):
    alice = await devices(new_user(stack, "alice"))
    bob_account = new_user(stack, "bob")
    bob = await devices(bob_account)
    phone = StandardPeer(bob_account)  # bob also has a plain mobile app
    await phone.connect()
    try:
        msg_id = await alice.e2e.send(bob.jid, "for bob")
        await bob.wait_for(incoming("for bob"))
        raw = await raw_with(bob, msg_id)
        twin = bob.e2e.ready.device_id("standard")
        legacy_rids = {int(k.get("rid")) for k in raw.xml.iter(f"{{{LEGACY}}}key")}
        assert twin not in legacy_rids
        body, got, _ = await asyncio.wait_for(phone.received.get(), 20)
        assert body == "for bob" and got == {LEGACY}
    finally:
        await phone.close()


async def test_gost_only_refuses_standard_peer(stack, devices):
    alice = await devices(new_user(stack, "alice"), profile="gost-only")
    phone = StandardPeer(new_user(stack, "phone"))
    await phone.connect()
    try:
        with pytest.raises(PolicyViolation, match="gost-only"):
            await alice.e2e.send(phone.jid, "must not leave")
        assert phone.received.empty()
        with pytest.raises(PolicyViolation):
            alice.client.send(phone.jid, "nor in plaintext")
    finally:
        await phone.close()


async def test_replay_and_tampering_rejected(stack, devices):
    alice = await devices(new_user(stack, "alice"))
    bob = await devices(new_user(stack, "bob"))
    msg_id = await alice.e2e.send(bob.jid, "original")
    await bob.wait_for(incoming("original"))
    raw = await raw_with(bob, msg_id)

    def resend(mutate=None):
        msg = alice.client.xmpp.make_message(mto=bob.jid, mtype="chat", mbody="fallback")
        msg["id"] = f"x{len(bob.raw)}{id(mutate)}"
        for element in encrypted_elements(raw):
            element = copy.deepcopy(element)
            if mutate:
                mutate(element)
            msg.append(element)
        msg.send()
        return msg["id"]

    resend()
    event = await bob.wait_for(lambda e: isinstance(e, Undecryptable))
    assert "replay" in event.reason or "duplicate" in event.reason

    def flip(tag: str):
        def mutate(element):
            node = next(element.iter(f"{{{NAMESPACE}}}{tag}"))
            data = bytearray(base64.b64decode(node.text))
            data[-5] ^= 1
            node.text = base64.b64encode(bytes(data)).decode()
        return mutate

    await alice.e2e.send(bob.jid, "second")  # fresh ratchet step, so 'key' is not a replay
    await bob.wait_for(incoming("second"))
    raw = await raw_with(bob, [m for m in bob.raw if encrypted_elements(m)][-1]["id"])
    for tag in ("payload", "key"):
        resend(flip(tag))
        event = await bob.wait_for(lambda e: isinstance(e, Undecryptable))
        assert event.reason
    kept = [e for e in bob.events if isinstance(e, ChatMessage) and "could not be decrypted"
            in e.body]
    assert kept, "undecryptable messages are kept with the reason"



async def test_group_e2e_refused_in_open_room(stack, devices):
    from client_sdk.e2e.errors import E2EError

    alice = await devices(new_user(stack, "alice"))
    room = f"open{JID(alice.jid).user}@{stack.conference_domain}"
    await alice.client.xmpp.plugin["xep_0045"].join_muc_wait(JID(room), "alice", maxstanzas=0,
                                                             timeout=15)  # instant room
    muc = alice.client.xmpp.plugin["xep_0045"]
    form = await muc.get_room_config(JID(room), timeout=10)
    form.set_values({"muc#roomconfig_membersonly": "0"})
    await muc.set_room_config(JID(room), form, timeout=10)
    with pytest.raises(E2EError, match="members-only"):
        await alice.e2e.send(room, "must not go to an open room", kind="groupchat")


async def test_own_key_transport_in_the_archive_is_not_a_message(stack, devices):
    """The empty OMEMO message a device sends to complete a session is archived as ours;
    on catch-up it is not shown as an undecryptable message (OMEMO never encrypts for the
    sending device)."""
    alice = await devices(new_user(stack, "alice"))
    bob_account = new_user(stack, "bob")
    bob = await devices(bob_account, key=b"b" * 32)
    await alice.e2e.send(bob.jid, "first contact")
    await bob.wait_for(incoming("first contact"))
    ours = await _archived_from(stack, bob.jid, alice.jid)
    assert ours, "bob's device sent no key transport to alice (nothing to test)"
    await bob.close()
    again = await devices(bob_account, key=b"b" * 32)
    await alice.e2e.send(bob.jid, "second")
    await again.wait_for(incoming("second"))
    bodies = [row["body"] for row in again.client.store.history(alice.jid)]
    assert "first contact" in bodies and "second" in bodies
    assert not [b for b in bodies if b.startswith("[message could not be decrypted")], bodies
    assert not [e for e in again.events if isinstance(e, Undecryptable)]


async def _archived_from(stack, owner: str, peer: str, timeout: float = 10.0) -> int:
    """How many messages without a body ``owner``'s archive holds as sent to ``peer``."""
    user = owner.split("@")[0]
    for _ in range(int(timeout / 0.2)):
        with psycopg.connect(stack.app_dsn) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM archive WHERE username = %s AND bare_peer = %s "
                "AND txt = '' AND xml LIKE %s", (user, peer, f"%from='{owner}/%")).fetchone()
        if count:
            return count
        await asyncio.sleep(0.2)
    return 0
