"""Workflow tests against the real stack: the demo organisation (alice heads it, bob heads
IT, carol works in IT) connected as clients with the document API, route templates made
per test, and polling helpers that read the durable state from PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest

from client_sdk.client import Client
from client_sdk.documents import Documents, Task
from tests.conftest import account
from workflow import routes
from xmpp_server_plugins.config import Config


@pytest.fixture(autouse=True)
def client_home(tmp_path, monkeypatch) -> Path:
    """Each test's devices start without signing keys (enrolment is part of the flow)."""
    monkeypatch.setenv("OPLOT_CLIENT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
async def people(stack: Config) -> AsyncIterator[dict[str, Documents]]:
    """alice, bob and carol connected, each as a :class:`Documents`."""
    opened: dict[str, Documents] = {}
    try:
        for user in ("alice", "bob", "carol"):
            client = Client(account(stack, user), resource=f"wf-{uuid.uuid4().hex[:6]}")
            await client.connect()
            opened[user] = Documents(client)
        yield opened
    finally:
        for docs in opened.values():
            await docs.close()
            await docs.client.disconnect()


@pytest.fixture
def route(stack: Config) -> Callable[..., str]:
    """``route("person:bob", "person:alice")``: a fresh template, one argument per stage."""
    def make(*stages: str) -> str:
        name = f"r-{uuid.uuid4().hex[:10]}"
        with psycopg.connect(stack.app_dsn, autocommit=True) as conn:
            routes.create(conn, stack.domain, name, "test route",
                          [[routes.Step.parse(s) for s in stage.split(",")] for stage in stages])
        return name
    return make


def sql(cfg: Config, query: str, *args) -> list[tuple]:
    with psycopg.connect(cfg.app_dsn, autocommit=True) as conn:
        return conn.execute(query, args).fetchall()


async def wait_state(cfg: Config, doc_id: str, *states: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = sql(cfg, "SELECT state FROM oplot.wf_documents WHERE id = %s", doc_id)[0][0]
        if state in states:
            return state
        await asyncio.sleep(0.2)
    raise AssertionError(f"document {doc_id} stayed {state}, not {states}")


async def wait_task(docs: Documents, doc_id: str, timeout: float = 60.0) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in await docs.tasks():
            if task.document_id == doc_id:
                return task
        await asyncio.sleep(0.3)
    raise AssertionError(f"{docs.client.jid} got no task for {doc_id}")


async def notice(docs: Documents, doc_id: str, word: str, timeout: float = 30.0) -> str:
    """The body of the workflow's message to this user about ``doc_id`` saying ``word``."""
    async def first() -> str:
        async for msg in docs.client.messages():
            if msg.sender == docs.service and doc_id in msg.body and word in msg.body:
                return msg.body
        raise AssertionError("connection closed")
    return await asyncio.wait_for(first(), timeout)


def document(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / f"order-{uuid.uuid4().hex[:6]}.txt"
    path.write_text(text or f"Order {uuid.uuid4()}: approve the budget.\n")
    return path
