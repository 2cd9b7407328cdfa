"""Workflow tasks: ``advance`` moves a document as far as its state allows, ``sweep`` (from
Celery beat) escalates overdue tasks, sends reminders and requeues stalled documents.

Both are idempotent: state lives in PostgreSQL and every step checks it under the document's
row lock, so a redelivered message (``acks_late``: a worker killed mid-step leaves its
message unacknowledged) finds the step either not taken (and takes it) or taken (and does
nothing). Notifications are outbox rows written with the change; the workflow component
sends them (see xmpp_server_plugins.components.workflow).
"""

from __future__ import annotations

import functools
import socket

import psycopg
from celery import shared_task

from workflow import documents
from workflow.errors import NotFound, ScanPending
from xmpp_server_plugins import config as config_mod

ADVANCE, SWEEP = "oplot.workflow.advance", "oplot.workflow.sweep"
RETRY_ON = (psycopg.OperationalError, ScanPending)


@functools.cache
def _load(path: str) -> config_mod.Config:
    return config_mod.load(path)


def _config(task) -> config_mod.Config:
    return _load(task.app.conf.oplot_config_path)


_connections: dict[str, psycopg.Connection] = {}


def _connection(cfg: config_mod.Config) -> psycopg.Connection:
    """This worker process's connection, opened on first use (after the pool's fork) and
    replaced when it breaks: a new connection per task costs more than most steps."""
    conn = _connections.get(cfg.app_dsn)
    if conn is None or conn.closed or conn.broken:
        conn = _connections[cfg.app_dsn] = psycopg.connect(
            cfg.app_dsn, autocommit=True, application_name="oplot-workflow")
    return conn


@shared_task(name=ADVANCE, bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=RETRY_ON, retry_backoff=1, retry_backoff_max=30, retry_jitter=True,
             max_retries=30)
def advance(self, doc_id: str) -> dict[str, object]:
    cfg = _config(self)
    worker = self.request.hostname or socket.gethostname()
    steps: list[str] = []
    conn = _connection(cfg)
    try:
        while (step := documents.advance(conn, cfg, doc_id, worker,
                                         self.request.id or "eager")) is not None:
            steps.append(step)
    except NotFound:
        return {"document": doc_id, "steps": [], "error": "no such document"}
    return {"document": doc_id, "steps": steps}


@shared_task(name=SWEEP, bind=True, acks_late=True, autoretry_for=RETRY_ON, retry_backoff=1,
             retry_backoff_max=30, retry_jitter=True, max_retries=5)
def sweep(self) -> dict[str, object]:
    cfg = _config(self)
    conn = _connection(cfg)
    touched = documents.sweep(conn, cfg.workflow) | set(documents.stalled(conn))
    for doc_id in touched:
        advance.delay(doc_id)  # an escalation may complete a stage
    return {"documents": sorted(touched)}

