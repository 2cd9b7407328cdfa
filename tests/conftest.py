"""The real stack for integration tests: ejabberd, PostgreSQL, RabbitMQ, components and a
Celery worker, started once per test session by the same launcher as ``make up``."""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from rich.console import Console

from client_sdk.accounts import Account
from client_sdk.client import Client
from deploy.local.stack import Stack
from tests.stacks import ROOT, prepare, reset_database
from xmpp_server_plugins.config import Config

SLOTS = 8


def _claim_slot() -> tuple[str, int, object]:
    """Several suites may run at once on one machine (engineers, benchmarks): each takes the
    first free slot — its own stack name, state dir and ports — held by a file lock."""
    lock_dir = Path(tempfile.gettempdir()) / "oplot-test-slots"  # machine-wide: ports are
    lock_dir.mkdir(exist_ok=True)
    for slot in range(SLOTS):
        name = "oplot-test" if slot == 0 else f"oplot-test{slot}"
        handle = open(lock_dir / f"{name}.lock", "w")  # noqa: SIM115 - held for the session
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return name, 10000 + 100 * slot, handle
    raise RuntimeError(f"all {SLOTS} test stack slots are busy")


STACK_NAME, PORT_OFFSET, _SLOT_LOCK = _claim_slot()
STATE = ROOT / ".state-test" / STACK_NAME


@pytest.fixture(scope="session")
def stack() -> Iterator[Config]:
    if STATE.exists():
        Stack(STATE).down()
        shutil.rmtree(STATE)
    reset_database(STACK_NAME)
    prepare(STATE, PORT_OFFSET, STACK_NAME)
    running = Stack(STATE, Console(stderr=True, quiet=True))
    cfg = running.up()
    try:
        yield cfg
    finally:
        running.down()


def account(cfg: Config, user: str) -> Account:
    return Account(jid=f"{user}@{cfg.domain}", password=cfg.demo_users[user], host="127.0.0.1",
                   port=cfg.ports.c2s, ca_file=str(cfg.state_dir / "tls" / "ca.pem"))


@pytest.fixture
async def clients(stack: Config) -> AsyncIterator[dict[str, Client]]:
    """alice, bob and carol logged in (STARTTLS verified against the stack's CA)."""
    opened = {}
    try:
        for user in stack.demo_users:
            opened[user] = Client(account(stack, user), resource="pytest")
            await opened[user].connect()
        yield opened
    finally:
        for client in opened.values():
            await client.disconnect()
