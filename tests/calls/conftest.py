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
        await disconnect(client)


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


def resources() -> tuple[int, set[asyncio.Task]]:
    """(open UDP sockets of this process, live asyncio tasks): what a call must give back."""
    return len(psutil.Process().net_connections(kind="udp")), set(asyncio.all_tasks())


async def leftovers(baseline: tuple[int, set[asyncio.Task]],
                    timeout: float = 5.0) -> tuple[int, set[asyncio.Task]]:
    """UDP sockets beyond the baseline count and tasks started since, once closing
    transports and cancelled tasks had ``timeout`` to finish."""
    deadline = time.monotonic() + timeout
    while True:
        sockets, tasks = resources()
        extra = (max(0, sockets - baseline[0]), tasks - baseline[1] - {asyncio.current_task()})
        if not any(extra) or time.monotonic() > deadline:
            return extra
        await asyncio.sleep(0.1)


async def disconnect(client: Client) -> None:
    """Disconnect and end slixmpp's outgoing-filter task: it otherwise lives until the
    client object is collected, after the test's loop closed ("Task was destroyed but it
    is pending")."""
    await client.disconnect()
    filters = client.xmpp._run_out_filters
    if filters is not None:
        filters.cancel()
        await asyncio.gather(filters, return_exceptions=True)
