"""Encrypted 1:1 history: MAM catch-up decrypts through E2E and stores the plaintext; a
message that cannot be decrypted is kept with the reason."""

from __future__ import annotations

import asyncio
import base64

import pytest

from client_sdk.e2e.backends.gost import NAMESPACE
from client_sdk.events import ChatMessage, SyncDone
from tests.e2e.conftest import new_user

pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
TEXTS = [f"while you were offline {i}" for i in range(5)]


async def send_tampered(alice, to: str) -> str:
    """An encrypted message whose payload fails authentication at the recipient."""
    elements = await alice.e2e.ready.encrypt({to}, "never readable", to)
    for node in elements[0].iter(f"{{{NAMESPACE}}}payload"):
        data = bytearray(base64.b64decode(node.text))
        data[-3] ^= 1
        node.text = base64.b64encode(bytes(data)).decode()
    msg = alice.client.xmpp.make_message(mto=to, mtype="chat", mbody="fallback")
    msg["id"] = "tampered"
    msg["origin_id"]["id"] = msg["id"]
    for element in elements:
        msg.append(element)
    msg.enable("store")
    msg.send()
    return msg["id"]


async def stored(device, peer: str, count: int, timeout: float = 30.0) -> list[dict]:
    """The store's rows with ``peer`` once there are ``count``: ejabberd pushes offline
    messages at the initial presence and archives them as it delivers them, so a catch-up
    query sent with that presence may find none of them; they then arrive live, encrypted,
    and are stored when their asynchronous decryption finishes — after SyncDone."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(rows := device.client.store.history(peer)) < count:
        if loop.time() > deadline:
            raise AssertionError(f"{len(rows)} of {count} messages stored: {rows!r}")
        await asyncio.sleep(0.1)
    return rows


async def test_offline_catch_up_decrypts_into_the_store(stack, devices):
    alice = await devices(new_user(stack, "alice"))
    bob_account = new_user(stack, "bob")
    bob = await devices(bob_account)
    await bob.close()
    for text in TEXTS:
        await alice.e2e.send(bob.jid, text)
    await send_tampered(alice, bob.jid)
    bob = await devices(bob_account)
    await bob.client.history.synced()
    await bob.wait_for(lambda e: isinstance(e, SyncDone))
    rows = await stored(bob, alice.jid, len(TEXTS) + 1)
    bodies = [row["body"] for row in rows]
    assert bodies[:5] == TEXTS
    tampered = next(row for row in rows if row["id"] == "tampered")
    assert tampered["body"].startswith("[message could not be decrypted:")
    assert len(tampered["body"]) > len("[message could not be decrypted: ]")
    assert not any("cannot read it" in body for body in bodies)


async def test_live_encrypted_message_stored_as_plaintext(stack, devices):
    alice = await devices(new_user(stack, "alice"))
    bob = await devices(new_user(stack, "bob"))
    msg_id = await alice.e2e.send(bob.jid, "live and stored")
    await bob.wait_for(lambda e: isinstance(e, ChatMessage) and e.id == msg_id)
    assert bob.client.store.body(alice.jid, alice.jid, msg_id) == "live and stored"
