"""Workflow tasks: ``advance`` moves a document as far as its state allows, ``sweep`` (from
Celery beat) escalates overdue tasks, sends reminders and requeues stalled documents.

A document submitted before its file's scan verdict waits in draft: the scan task queues
it when the verdict is recorded.

Both are idempotent: state lives in PostgreSQL and every step checks it under the document's
row lock, so a redelivered message (``acks_late``: a worker killed mid-step leaves its
message unacknowledged) finds the step either not taken (and takes it) or taken (and does
nothing). Notifications are outbox rows written with the change; the workflow component
sends them (see xmpp_server_plugins.components.workflow).
"""

from __future__ import annotations

import logging
import socket

import psycopg
from celery import shared_task

from workflow import documents
from workflow.errors import NotFound, ScanPending
from workflow.tasks.runtime import config, connection
from xmpp_server_plugins.config import Config

log = logging.getLogger(__name__)

ADVANCE, SWEEP = "oplot.workflow.advance", "oplot.workflow.sweep"
RETRY_ON = (psycopg.OperationalError,)


@shared_task(name=ADVANCE, bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=RETRY_ON, retry_backoff=1, retry_backoff_max=30, retry_jitter=True,
             max_retries=30)
def advance(self, doc_id: str) -> dict[str, object]:
    cfg = config(self)
    worker = self.request.hostname or socket.gethostname()
    steps: list[str] = []
    conn = connection(cfg)
    try:
        _take_steps(conn, cfg, doc_id, worker, self.request.id or "eager", steps)
    except NotFound:
        return {"document": doc_id, "steps": [], "error": "no such document"}
    except ScanPending:
        # no retry loop: the scan task queues this document again once it has recorded the
        # verdict (wake_drafts), and beat's sweep requeues it should that message be lost.
        # Retrying with backoff made a second worker, which took this message while the
        # first was scanning, hold the document for seconds after its verdict.
        return {"document": doc_id, "steps": steps, "waiting": "scan verdict"}
    return {"document": doc_id, "steps": steps}


def _take_steps(conn: psycopg.Connection, cfg: Config, doc_id: str, worker: str,
                task_id: str, steps: list[str]) -> None:
    """Take the document's due steps, appending their names to ``steps``."""
    while (step := documents.advance(conn, cfg, doc_id, worker, task_id)) is not None:
        steps.append(step)
        if step not in documents.CHAINED_STEPS:
            return


def wake_drafts(conn: psycopg.Connection, cfg: Config, file_id: str, worker: str,
                task_id: str) -> None:
    """Move on the drafts waiting for ``file_id``'s scan verdict (just recorded): the scan
    task takes their next step itself (the review, whose digests it has just recorded), as
    a task of its own would only add a broker round trip; a step that fails here is queued
    as an ``advance`` task, which retries it."""
    for (doc_id,) in conn.execute("SELECT id FROM oplot.wf_documents WHERE file_id = %s AND "
                                  "state = 'draft'", (file_id,)).fetchall():
        try:
            _take_steps(conn, cfg, str(doc_id), worker, task_id, [])
        except Exception as exc:  # noqa: BLE001 - the advance task retries with backoff
            log.warning("document %s: step after the scan failed (%s); queued", doc_id, exc)
            advance.delay(str(doc_id))


@shared_task(name=SWEEP, bind=True, acks_late=True, autoretry_for=RETRY_ON, retry_backoff=1,
             retry_backoff_max=30, retry_jitter=True, max_retries=5)
def sweep(self) -> dict[str, object]:
    cfg = config(self)
    conn = connection(cfg)
    touched = documents.sweep(conn, cfg.workflow) | set(documents.stalled(conn))
    for doc_id in touched:
        advance.delay(doc_id)  # an escalation may complete a stage
    return {"documents": sorted(touched)}

