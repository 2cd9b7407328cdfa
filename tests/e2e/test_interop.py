"""An Oplot client and an independent standard OMEMO peer (slixmpp-omemo), legacy OMEMO."""

from __future__ import annotations

import asyncio

import pytest

from client_sdk.events import ChatMessage
from tests.e2e.conftest import new_user
from tests.e2e.standard_peer import StandardPeer

pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
LEGACY = "eu.siacs.conversations.axolotl"


@pytest.fixture
async def peer(stack):
    opened = StandardPeer(new_user(stack, "phone"))
    await opened.connect()
    yield opened
    await opened.close()


async def test_oplot_to_standard_peer_and_back(stack, devices, peer):
    oplot = await devices(new_user(stack, "desk"))
    await oplot.e2e.send(peer.jid, "to the phone")
    body, namespaces, _ = await asyncio.wait_for(peer.received.get(), 20)
    assert body == "to the phone" and namespaces == {LEGACY}
    await peer.send(oplot.jid, "from the phone")
    got = await oplot.wait_for(lambda e: isinstance(e, ChatMessage) and not e.outgoing
                               and e.body == "from the phone")
    assert oplot.e2e.encryption(got.id) == LEGACY


async def test_standard_peer_first_contact(stack, devices, peer):
    oplot = await devices(new_user(stack, "desk"))
    await peer.send(oplot.jid, "phone writes first")
    got = await oplot.wait_for(lambda e: isinstance(e, ChatMessage) and not e.outgoing
                               and e.body == "phone writes first")
    assert oplot.e2e.encryption(got.id) == LEGACY
    await oplot.e2e.send(peer.jid, "desk answers")
    body, namespaces, _ = await asyncio.wait_for(peer.received.get(), 20)
    assert body == "desk answers" and namespaces == {LEGACY}
