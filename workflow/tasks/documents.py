"""Workflow tasks: ``advance`` moves a document as far as its state allows, ``sweep`` (from
Celery beat) escalates overdue tasks and sends reminders.

Both are idempotent: state lives in PostgreSQL and every step checks it under the document's
row lock, so a redelivered message (``acks_late``: a worker killed mid-step leaves its
message unacknowledged) finds the step either not taken (and takes it) or taken (and does
nothing). Notifications leave through the outbox after commit, each row marked sent in
the transaction that sends it.
"""

from __future__ import annotations

import html
import socket

import psycopg
from celery import shared_task

from workflow import documents
from workflow.errors import NotFound, ScanPending
from xmpp_server_plugins import config as config_mod
from xmpp_server_plugins.ejabberd_api import EjabberdApi, EjabberdApiError

ADVANCE, SWEEP = "oplot.workflow.advance", "oplot.workflow.sweep"
NS_WORKFLOW = "urn:oplot:workflow:0"
RETRY_ON = (psycopg.OperationalError, EjabberdApiError, ScanPending)


def _config(task) -> config_mod.Config:
    return config_mod.load(task.app.conf.oplot_config_path)


@shared_task(name=ADVANCE, bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=RETRY_ON, retry_backoff=1, retry_backoff_max=30, retry_jitter=True,
             max_retries=30)
def advance(self, doc_id: str) -> dict[str, object]:
    cfg = _config(self)
    worker = self.request.hostname or socket.gethostname()
    steps: list[str] = []
    with psycopg.connect(cfg.app_dsn, autocommit=True,
                         application_name="oplot-workflow") as conn:
        try:
            while (step := documents.advance(conn, cfg, doc_id, worker,
                                             self.request.id or "eager")) is not None:
                steps.append(step)
        except NotFound:
            return {"document": doc_id, "steps": [], "error": "no such document"}
        finally:
            flush(cfg, conn, doc_id)
    return {"document": doc_id, "steps": steps}


@shared_task(name=SWEEP, bind=True, acks_late=True, autoretry_for=RETRY_ON, retry_backoff=1,
             retry_backoff_max=30, retry_jitter=True, max_retries=5)
def sweep(self) -> dict[str, object]:
    cfg = _config(self)
    with psycopg.connect(cfg.app_dsn, autocommit=True,
                         application_name="oplot-workflow-beat") as conn:
        touched = documents.sweep(conn, cfg.workflow)
        for doc_id in touched:
            flush(cfg, conn, doc_id)
            advance.delay(doc_id)  # an escalation may complete a stage
    return {"documents": sorted(touched)}


def flush(cfg: config_mod.Config, conn: psycopg.Connection, doc_id: str) -> int:
    """Send the document's pending notifications; how many were sent."""
    api, sent = EjabberdApi(cfg), 0
    while True:
        with conn.transaction():
            row = conn.execute("SELECT id, key, recipient, subject, body FROM oplot.wf_outbox "
                               "WHERE document_id = %s AND sent_at IS NULL ORDER BY id LIMIT 1 "
                               "FOR UPDATE SKIP LOCKED", (doc_id,)).fetchone()
            if row is None:
                return sent
            _send(cfg, api, doc_id, *row)
            conn.execute("UPDATE oplot.wf_outbox SET sent_at = now() WHERE id = %s", (row[0],))
            sent += 1


def _send(cfg: config_mod.Config, api: EjabberdApi, doc_id: str, row_id: int, key: str,
          to: str, subject: str, body: str) -> None:
    sender, esc = f"workflow.{cfg.domain}", html.escape
    stanza = (f"<message xmlns='jabber:client' from='{sender}' to='{esc(to)}' type='normal' "
              f"id='wf-{row_id}'><subject>{esc(subject)}</subject><body>{esc(body)}</body>"
              f"<notice xmlns='{NS_WORKFLOW}' document='{esc(doc_id)}' event='{esc(key)}'/>"
              "</message>")
    api.call("send_stanza", **{"from": sender, "to": to, "stanza": stanza})
