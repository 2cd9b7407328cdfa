"""Nothing lost, nothing doubled: a worker SIGKILLed again and again while 100 documents
flow, and the same task message delivered several times at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from celery import Celery

from deploy.local.stack import provider_conf
from tests.workflow.conftest import document, sql, wait_state, wait_task
from workflow.tasks.documents import ADVANCE

FLOW = 100


def _worker(cfg, name: str) -> subprocess.Popen:
    """An extra worker on the stack's queue, alone in its process group (killed whole)."""
    env = dict(os.environ, OPLOT_STATE_DIR=str(cfg.state_dir), OPENSSL_CONF=str(provider_conf()))
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workflow.app", "worker", "--pool=prefork",
         "--concurrency=2", "--loglevel=WARNING", "-n", f"{name}@%h"],
        env=env, cwd=cfg.state_dir, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


async def _approve_all(bob, pending: set[str], deadline: float) -> None:
    """bob approves each document as its task shows up (one signature each)."""
    while pending and time.monotonic() < deadline:
        for task in await bob.tasks():
            if task.document_id in pending:
                await bob.approve(task.id)
                pending.discard(task.document_id)
        await asyncio.sleep(0.2)


@pytest.mark.timeout(420)
async def test_sigkilled_worker_loses_and_doubles_nothing(stack, people, route, tmp_path):
    carol, bob = people["carol"], people["bob"]
    name = route("person:bob")
    extra = _worker(stack, "victim")
    kills = 0

    async def killer() -> None:
        nonlocal extra, kills
        while kills < 4:
            await asyncio.sleep(3)
            busy = sql(stack, "SELECT count(*) FROM oplot.wf_documents WHERE state IN "
                       "('draft', 'in_review', 'approved') AND author = %s", carol.client.jid)
            if busy[0][0]:
                _kill(extra)  # mid-step: its unacknowledged messages go back to the queue
                kills += 1
                extra = _worker(stack, f"victim{kills}")

    murder = asyncio.ensure_future(killer())
    try:
        ids = [await carol.submit(document(tmp_path), name) for _ in range(FLOW)]
        await _approve_all(bob, set(ids), time.monotonic() + 300)
        for doc_id in ids:
            await wait_state(stack, doc_id, "archived", timeout=120)
    finally:
        murder.cancel()
        _kill(extra)
    assert kills >= 2
    per_doc = sql(stack, "SELECT d.id, count(*) FILTER (WHERE h.event = 'state'), "
                  "count(*) FILTER (WHERE h.event = 'task.approved') FROM oplot.wf_documents d "
                  "JOIN oplot.wf_history h ON h.document_id = d.id WHERE d.id = ANY(%s::uuid[]) "
                  "GROUP BY d.id", ids)
    assert len(per_doc) == FLOW
    assert {(states, approvals) for _, states, approvals in per_doc} == {(3, 1)}
    assert sql(stack, "SELECT count(*), count(DISTINCT document_id) FROM oplot.wf_packages "
               "WHERE document_id = ANY(%s::uuid[])", ids) == [(FLOW, FLOW)]
    steps = sql(stack, "SELECT step, count(*) FROM oplot.wf_steps WHERE "
                "document_id = ANY(%s::uuid[]) GROUP BY step ORDER BY step", ids)
    assert steps == [("approved", FLOW), ("archived", FLOW), ("review", FLOW)]
    sent = sql(stack, "SELECT count(*), count(DISTINCT (document_id, key, recipient)) FROM "
               "oplot.wf_outbox WHERE document_id = ANY(%s::uuid[])", ids)
    assert sent[0][0] == sent[0][1] == 3 * FLOW  # task, approved, archived: once each


async def test_same_message_delivered_many_times_makes_one_transition(stack, people, route,
                                                                      tmp_path):
    carol, bob = people["carol"], people["bob"]
    doc_id = await carol.submit(document(tmp_path), route("person:bob"))
    task = await wait_task(bob, doc_id)
    app = Celery("test", broker=stack.rabbitmq_url)
    try:
        await bob.approve(task.id)  # the component queues it once; we add five copies
        for _ in range(5):
            app.send_task(ADVANCE, args=[doc_id], queue=f"oplot.{stack.database}")
    finally:
        app.close()
    await wait_state(stack, doc_id, "archived")
    await asyncio.sleep(2)  # let the copies run out
    states = sql(stack, "SELECT to_state FROM oplot.wf_history WHERE document_id = %s AND "
                 "event = 'state' ORDER BY id", doc_id)
    assert [s[0] for s in states] == ["in_review", "approved", "archived"]
    assert sql(stack, "SELECT count(*) FROM oplot.wf_packages WHERE document_id = %s",
               doc_id) == [(1,)]


def test_database_refuses_illegal_transitions(stack):
    """Even a direct UPDATE cannot skip a state or decide a task twice."""
    import psycopg

    with psycopg.connect(stack.app_dsn, autocommit=True) as conn:
        doc = conn.execute("SELECT id FROM oplot.wf_documents WHERE state = 'archived' "
                           "LIMIT 1").fetchone()
        assert doc, "run after a flow test"
        for state in ("draft", "in_review", "approved", "rejected"):
            with pytest.raises(psycopg.errors.CheckViolation, match="illegal workflow"):
                conn.execute("UPDATE oplot.wf_documents SET state = %s WHERE id = %s",
                             (state, doc[0]))
        with pytest.raises(psycopg.errors.CheckViolation, match="already approved"):
            conn.execute("UPDATE oplot.wf_tasks SET state = 'rejected' WHERE document_id = %s "
                         "AND state = 'approved'", (doc[0],))
        with pytest.raises(psycopg.errors.CheckViolation, match="starts as a draft"):
            conn.execute("INSERT INTO oplot.wf_documents (domain, title, classification, "
                         "author, file_id, filename, size, sha256, share, route_id, state) "
                         "SELECT domain, title, classification, author, file_id, filename, "
                         "size, sha256, share, route_id, 'approved' FROM oplot.wf_documents "
                         "WHERE id = %s", (doc[0],))
