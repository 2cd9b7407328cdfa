"""Calls tests: host ICE candidates are forced to loopback (aioice skips 127.0.0.1, so a
loopback-only test would gather nothing) in this process and in the stack's forwarding
component (through ``OPLOT_SFU_HOST_ADDRESSES``, read when the components start)."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator

import aioice.ice
import psutil
import pytest

from client_sdk.accounts import Account
from client_sdk.calls import CallConfig, Calls, MemorySecureChannel
from client_sdk.client import Client
from deploy.local.demo import ROOM_OPTIONS
from tests.conftest import account
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.ejabberd_api import EjabberdApi

os.environ.setdefault("OPLOT_SFU_HOST_ADDRESSES", "127.0.0.1")


@pytest.fixture(autouse=True)
def loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


FAST = dict(ring_timeout=8.0, setup_timeout=8.0, fingerprint_timeout=4.0)


@pytest.fixture
async def devices(stack: Config) -> AsyncIterator[Callable]:
    """Factory: ``await devices(user or Account, resource, **config)`` → (client, calls);
    one shared in-memory secure channel hub stands in for the E2E layer's channel."""
    hub: dict = {}
    opened: list[tuple[Client, Calls, MemorySecureChannel]] = []

    async def make(user: str | Account, resource: str = "pytest",
                   **config) -> tuple[Client, Calls]:
        who = user if isinstance(user, Account) else account(stack, user)
        client = Client(who, resource=resource)
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
    await asyncio.sleep(0.1)  # slixmpp's cancelled filter tasks finish before the loop closes


@pytest.fixture
def room(stack: Config) -> Iterator[str]:
    """A fresh members-only group room (local part) with alice, bob and carol as members:
    its conference is ``ROOM@conference-sfu.DOMAIN``."""
    api, name = EjabberdApi(stack), f"call{secrets.token_hex(4)}"
    api.call("create_room_with_opts", name=name, service=stack.conference_domain,
             host=stack.domain, options=[{"name": k, "value": v}
                                         for k, v in ROOM_OPTIONS.items()])
    for user in ("alice", "bob", "carol"):
        api.call("set_room_affiliation", name=name, service=stack.conference_domain,
                 jid=f"{user}@{stack.domain}", affiliation="member")
    yield name
    api.call("destroy_room", name=name, service=stack.conference_domain)


def resources() -> tuple[int, int]:
    """(open UDP sockets of this process, asyncio tasks): what a call must give back."""
    return len(psutil.Process().net_connections(kind="udp")), len(asyncio.all_tasks())


async def settle_to(baseline: tuple[int, int], timeout: float = 5.0) -> tuple[int, int]:
    """Wait for closing transports and cancelled tasks to finish; the counts then."""
    deadline = time.monotonic() + timeout
    now = resources()
    while any(n > b for n, b in zip(now, baseline, strict=True)) and \
            time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = resources()
    return now
