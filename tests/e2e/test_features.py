"""Encrypted chat keeps its features: corrections (XEP-0308) and replies (XEP-0461) carry
an encrypted text with the reference in the clear; reactions and retractions still work."""

from __future__ import annotations

import pytest

from client_sdk.e2e.backends.gost import NAMESPACE
from client_sdk.events import ChatMessage, Correction, Reactions, Retraction
from tests.e2e.conftest import new_user
from tests.e2e.test_gost_live import raw_with

pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


async def test_encrypted_reply_correction_reaction_retraction(stack, devices):
    alice = await devices(new_user(stack, "alice"))
    bob = await devices(new_user(stack, "bob"))
    await bob.e2e.send(alice.jid, "question?")
    question = await alice.wait_for(lambda e: isinstance(e, ChatMessage) and not e.outgoing)
    answer_id = await alice.e2e.send(bob.jid, "secret answer", reply_to=question)
    got = await bob.wait_for(lambda e: isinstance(e, ChatMessage) and e.id == answer_id)
    assert (got.body, got.reply_to) == ("secret answer", question.id)
    assert bob.e2e.encryption(answer_id) == NAMESPACE
    raw = await raw_with(bob, answer_id)
    assert raw["reply"]["id"] == question.id and b"secret answer" not in bytes(raw)
    fix_id = await alice.e2e.correct(bob.jid, answer_id, "secret answer, fixed")
    fixed = await bob.wait_for(lambda e: isinstance(e, Correction))
    assert (fixed.id, fixed.body) == (answer_id, "secret answer, fixed")
    raw = await raw_with(bob, fix_id)
    assert raw["replace"]["id"] == answer_id and b"fixed" not in bytes(raw)
    for device in (alice, bob):
        row = next(r for r in device.client.store.history(bob.jid if device is alice
                                                           else alice.jid)
                   if r["id"] == answer_id)
        assert (row["body"], row["edited"], row["reply_to"]) == (
            "secret answer, fixed", True, question.id)
    alice.client.chat.react(bob.jid, answer_id, ["👍"])
    assert (await bob.wait_for(lambda e: isinstance(e, Reactions))).values == {"👍"}
    alice.client.chat.retract(bob.jid, answer_id)
    assert (await bob.wait_for(lambda e: isinstance(e, Retraction))).id == answer_id
