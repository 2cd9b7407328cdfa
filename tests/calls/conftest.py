"""Calls tests: host ICE candidates are forced to loopback (aioice skips 127.0.0.1, so a
loopback-only test would gather nothing) in this process and in the stack's forwarding
component (through ``OPLOT_SFU_HOST_ADDRESSES``, read when the components start)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

import aioice.ice
import pytest

from client_sdk.calls import CallConfig, Calls, MemorySecureChannel
from client_sdk.client import Client
from tests.conftest import account
from xmpp_server_plugins.config import Config

os.environ.setdefault("OPLOT_SFU_HOST_ADDRESSES", "127.0.0.1")


@pytest.fixture(autouse=True)
def loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


FAST = dict(ring_timeout=8.0, setup_timeout=8.0, fingerprint_timeout=4.0)


@pytest.fixture
async def devices(stack: Config) -> AsyncIterator[Callable]:
    """Factory: ``await devices(user, resource, **config)`` → (client, calls); one shared
    in-memory secure channel hub stands in for the E2E layer's authenticated channel."""
    hub: dict = {}
    opened: list[tuple[Client, Calls, MemorySecureChannel]] = []

    async def make(user: str, resource: str = "pytest", **config) -> tuple[Client, Calls]:
        client = Client(account(stack, user), resource=resource)
        await client.connect()
        channel = MemorySecureChannel(client.jid, hub)
        calls = Calls(client, channel, CallConfig(**{**FAST, **config}))
        opened.append((client, calls, channel))
        return client, calls

    yield make
    for client, calls, channel in opened:
        for session in list(calls.sessions.values()):
            await session.hangup()
        calls.close()
        channel.close()
        await client.disconnect()
