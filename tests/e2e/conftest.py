"""Fixtures for E2E tests through the real ejabberd: fresh users, clients with E2E."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from slixmpp import Message
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from client_sdk.accounts import Account
from client_sdk.client import Client
from client_sdk.e2e import E2E, KeyStore
from client_sdk.events import Event
from client_sdk.store import Store
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.directory import users

PASSWORD = "e2e-test-password"


def new_user(cfg: Config, prefix: str = "u") -> Account:
    """A fresh account in the directory (logins go through extauth)."""
    name = f"{prefix}{secrets.token_hex(4)}"
    users.create_user(cfg.app_dsn, name, PASSWORD, domain=cfg.domain,
                      iterations=cfg.auth.pbkdf2_iterations)
    return Account(jid=f"{name}@{cfg.domain}", password=PASSWORD, host="127.0.0.1",
                   port=cfg.ports.c2s, ca_file=str(cfg.state_dir / "tls" / "ca.pem"))


class Device:
    """One logged-in client with E2E started, and its event log."""

    def __init__(self, client: Client, e2e: E2E, store_path: Path) -> None:
        self.client, self.e2e, self.store_path = client, e2e, store_path
        self.events: list[Event] = []
        self.raw: list[Message] = []
        client.xmpp.register_handler(Callback("test-raw", MatchXPath("{jabber:client}message"),
                                              lambda m: self.raw.append(copy.copy(m))))
        self._pump = asyncio.ensure_future(self._collect())

    async def _collect(self) -> None:
        async for event in self.client.events():
            self.events.append(event)

    @property
    def jid(self) -> str:
        return self.client.jid

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 15.0) -> Event:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while loop.time() < end:
            for event in self.events:
                if predicate(event):
                    self.events.remove(event)
                    return event
            await asyncio.sleep(0.02)
        raise AssertionError(f"{self.jid}: no matching event in {timeout}s; got {self.events}")

    async def close(self) -> None:
        self._pump.cancel()
        await self.e2e.stop()
        await self.client.disconnect()


@pytest.fixture
async def devices(stack: Config, tmp_path: Path) -> AsyncIterator[Callable]:
    """``await devices(account, resource, profile=..., key=...)`` -> a started Device."""
    opened: list[Device] = []

    async def open_device(account: Account, resource: str = "main", *,
                          profile: str | None = "gost-preferred",
                          key: bytes = b"k" * 32) -> Device:
        base = tmp_path / account.jid / resource
        base.mkdir(parents=True, exist_ok=True)
        client = Client(account, resource=resource, store=Store(base / "store.sqlite3"),
                        reconnect=False)
        e2e = E2E(client)
        await client.connect()
        store_path = base / "keys.sqlite3"
        await e2e.start(KeyStore(store_path, key=key), profile)
        device = Device(client, e2e, store_path)
        opened.append(device)
        return device

    yield open_device
    for device in opened:
        with contextlib.suppress(Exception):
            await device.close()
