"""Users are told when a contact's device list changes."""

from __future__ import annotations

import pytest

from client_sdk.e2e.backends.gost import NAMESPACE
from client_sdk.e2e.events import DeviceListChanged
from tests.conftest import account

pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


async def test_contact_new_device_announced(stack, devices):
    alice = await devices(account(stack, "alice"), "notify")
    await devices(account(stack, "bob"), "notify-old")
    bob_jid = f"bob@{stack.domain}"
    await alice.e2e.devices(bob_jid)  # alice knows bob's devices as they are now
    bob_new = await devices(account(stack, "bob"), "notify-new")
    new_id = bob_new.e2e.ready.device_id()
    event = await alice.wait_for(lambda e: isinstance(e, DeviceListChanged)
                                 and e.jid == bob_jid and e.namespace == NAMESPACE
                                 and new_id in e.added, timeout=20)
    assert new_id in event.added
