"""GOST-OMEMO through the real ejabberd."""

from __future__ import annotations

from client_sdk.e2e.backends.gost import NAMESPACE
from client_sdk.events import ChatMessage
from tests.e2e.conftest import new_user

pytestmark = __import__("pytest").mark.stack


def is_msg(body: str):
    return lambda e: isinstance(e, ChatMessage) and e.body == body and not e.outgoing


async def test_gost_one_to_one_both_ways(stack, devices):
    alice = await devices(new_user(stack, "alice"))
    bob = await devices(new_user(stack, "bob"))
    msg_id = await alice.e2e.send(bob.jid, "hello over GOST")
    got = await bob.wait_for(is_msg("hello over GOST"))
    assert bob.e2e.encryption(got.id) == NAMESPACE == bob.e2e.encryption(msg_id)
    await bob.e2e.send(alice.jid, "and back")
    got = await alice.wait_for(is_msg("and back"))
    assert alice.e2e.encryption(got.id) == NAMESPACE
