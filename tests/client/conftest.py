"""Client SDK tests run against the real stack; each test makes fresh users so archives,
rosters and bookmarks never leak between tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from client_sdk.accounts import Account
from client_sdk.client import Client
from client_sdk.events import Event
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.ejabberd_api import EjabberdApi, EjabberdApiError

pytestmark = pytest.mark.stack


@pytest.fixture(autouse=True)
def client_home(tmp_path, monkeypatch):
    """Each test gets its own accounts file and stores (and a key store passphrase, for
    commands that open the end-to-end key store)."""
    monkeypatch.setenv("OPLOT_CLIENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPLOT_KEYSTORE_PASSPHRASE", "client-tests")
    return tmp_path / "home"


def register(cfg: Config, prefix: str = "u") -> Account:
    """A brand-new user through the admin REST API (the directory behind extauth accepts
    API registration by default)."""
    user, password = f"{prefix}{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    try:
        EjabberdApi(cfg).call("register", user=user, host=cfg.domain, password=password)
    except EjabberdApiError:
        from xmpp_server_plugins.directory import users

        users.create_user(cfg.app_dsn, user, password, domain=cfg.domain, publish=False)
    return Account(jid=f"{user}@{cfg.domain}", password=password, host="127.0.0.1",
                   port=cfg.ports.c2s, ca_file=str(cfg.state_dir / "tls" / "ca.pem"))


@pytest.fixture
async def make(stack: Config) -> AsyncIterator[Callable]:
    """``await make(account_or_prefix, resource=...)``: a connected, caught-up client."""
    opened: list[Client] = []

    async def open_client(who: Account | str = "u", resource: str = "dev1", **kw) -> Client:
        account = who if isinstance(who, Account) else register(stack, who)
        client = Client(account, resource=resource, **kw)
        opened.append(client)
        await client.connect()
        await client.history.synced()
        return client

    yield open_client
    for client in opened:
        await client.disconnect()


async def wait_for(client: Client, cls: type[Event], where: Callable[[Event], bool] = bool,
                   timeout: float = 10.0) -> Event:
    """The next event of type ``cls`` matching ``where`` (others are skipped)."""
    async def scan() -> Event:
        async for event in client.events():
            if isinstance(event, cls) and where(event):
                return event
        raise AssertionError("event stream ended")

    return await asyncio.wait_for(scan(), timeout)


def with_password(account: Account, password: str) -> Account:
    return replace(account, password=password)
