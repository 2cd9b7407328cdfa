"""Documents and their state machine: draft -> in_review -> approved / rejected / returned
-> archived (and cancelled by an operator).

Every change happens in one transaction holding the document's row lock, and the database
refuses any transition not listed in ``oplot.wf_transitions`` (migration 0020), so
concurrent or repeated workers cannot make an illegal or a doubled one: :func:`advance`
looks at the current state and does the one step that state calls for, or nothing.
Notifications go into the outbox with the change that causes them; the workflow component
sends them over its XMPP link once the change commits.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from gost import Certificate, streebog256, streebog512
from workflow import content, package, routes, signing
from workflow.errors import Conflict, Forbidden, NotFound, ScanPending, WorkflowError
from xmpp_server_plugins import audit
from xmpp_server_plugins.config import Config, WorkflowSettings

CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
DECISIONS = {"approve": "approved", "reject": "rejected", "return": "returned"}
MAX_COMMENT, MAX_TITLE = 4000, 512
OUTBOX_CHANNEL = "oplot_wf_outbox"
#: steps after which another one is due at once (approved -> archived); after any other the
#: document waits for people (or the scanner), so a task stops there instead of locking the
#: document once more only to find nothing to do
CHAINED_STEPS = frozenset({"approved"})
_FILE_PATH = re.compile(r"/files/([A-Za-z0-9_-]{8,64})/[^/]+$")


@dataclass(frozen=True)
class Share:
    """How participants fetch the document: the file service URL and the file key."""

    url: str
    cipher: str
    key: str

    def file_id(self, files_url: str) -> str:
        """The upload service's id of the file; refused unless the URL is that service's."""
        match = _FILE_PATH.search(urlsplit(self.url).path)
        if not match or not self.url.startswith(f"{files_url}/files/"):
            raise WorkflowError(f"{self.url[:200]!r} is not a download URL of {files_url}")
        if len(self.cipher) > 128 or not 16 <= len(self.key) <= 128:
            raise WorkflowError("the file's cipher and key are missing or malformed")
        return match.group(1)


def set_actor(conn: psycopg.Connection, actor: str) -> None:
    """Who the history triggers record for the current transaction."""
    conn.execute("SELECT set_config('oplot.actor', %s, true)", (actor,))


def _text(value: str, what: str, limit: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise WorkflowError(f"{what} is required")
    if len(value) > limit:
        raise WorkflowError(f"{what} is {len(value)} characters; at most {limit} allowed")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
        raise WorkflowError(f"{what} contains control characters")
    return value


def document_id(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError as exc:
        raise NotFound(f"{value[:80]!r} is not a document id") from exc


def notify(conn: psycopg.Connection, doc_id: str, key: str, recipients: list[str],
           subject: str, body: str) -> None:
    """Queue a message; the workflow component, woken on commit, sends it."""
    for jid in dict.fromkeys(recipients):
        conn.execute("INSERT INTO oplot.wf_outbox (document_id, key, recipient, subject, body) "
                     "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                     (doc_id, key, jid, subject, body))
    conn.execute("SELECT pg_notify(%s, '')", (OUTBOX_CHANNEL,))


# -- submitting --------------------------------------------------------------------------------

def submit(conn: psycopg.Connection, domain: str, author: str, *, title: str,
           classification: str, route: str, share: Share, files_url: str, sha256: str,
           size: int, filename: str) -> str:
    """Create a draft for a file uploaded to ``files_url``; refused unless the file is the
    author's and its scan verdict is clean or still pending (a worker waits for it)."""
    title = _text(title, "title", MAX_TITLE)
    filename = _text(filename, "file name", 255)
    if classification not in CLASSIFICATIONS:
        raise WorkflowError(f"classification must be one of {', '.join(CLASSIFICATIONS)}")
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise WorkflowError("sha256 must be 64 lowercase hex digits")
    if size < 0:
        raise WorkflowError("size must not be negative")
    file_id = share.file_id(files_url)
    with conn.transaction():
        set_actor(conn, author)
        row = conn.execute("SELECT owner, status, reason FROM oplot.files WHERE id = %s",
                           (file_id,)).fetchone()
        if row is None:
            raise NotFound(f"no uploaded file {file_id}")
        if row[0] != author:
            raise Forbidden(f"file {file_id} was not uploaded by {author}")
        if row[1] not in ("clean", "pending"):
            raise WorkflowError(f"file {file_id} cannot enter the workflow: its scan verdict "
                                f"is {row[1]}{': ' + row[2] if row[2] else ''}")
        template = routes.get(conn, domain, route)
        for number, stage in enumerate(template.stages, 1):
            if not any(routes.resolve(conn, domain, author, step) for step in stage):
                raise WorkflowError(f"route {route!r} stage {number} has nobody to approve "
                                    f"for {author}")
        return str(conn.execute(
            "INSERT INTO oplot.wf_documents (domain, title, classification, author, unit_id, "
            "file_id, filename, size, sha256, share, route_id) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (domain, title, classification, author, routes.unit_of(conn, author), file_id,
             filename, size, sha256, Jsonb(share.__dict__), template.id)).fetchone()[0])


# -- deciding ----------------------------------------------------------------------------------

def decide(conn: psycopg.Connection, jid: str, task_id: int, decision: str, comment: str,
           signature: bytes | None, authority: Certificate) -> str:
    """Record ``jid``'s decision on their task; returns the document id."""
    if decision not in DECISIONS:
        raise WorkflowError(f"decision must be one of {', '.join(DECISIONS)}")
    comment = _text(comment, "comment", MAX_COMMENT, required=decision != "approve")
    with conn.transaction():
        set_actor(conn, jid)
        row = conn.execute(
            "SELECT t.document_id, t.assignee, t.state, t.stage, d.state, d.stage, d.digests "
            "FROM oplot.wf_tasks t JOIN oplot.wf_documents d ON d.id = t.document_id "
            "WHERE t.id = %s FOR UPDATE OF t", (task_id,)).fetchone()
        if row is None:
            raise NotFound(f"no task {task_id}")
        doc_id, assignee, state, stage, doc_state, doc_stage, digests = row
        if assignee != jid:
            raise Forbidden(f"task {task_id} is not yours")
        if state != "pending":
            raise Conflict(f"task {task_id} is already {state}")
        if doc_state != "in_review" or doc_stage != stage:
            raise Conflict(f"task {task_id} is closed: the document is {doc_state}")
        serial = None
        if decision == "approve":
            try:
                serial = signing.check_approval(signature or b"", digests, authority,
                                                jid).serial
            except signing.SignatureError as exc:
                raise WorkflowError(f"approval refused: {exc}") from exc
        conn.execute("UPDATE oplot.wf_tasks SET state = %s, comment = %s, signature = %s "
                     "WHERE id = %s", (DECISIONS[decision], comment,
                                       signature if decision == "approve" else None, task_id))
        audit.append(conn, "workflow.decision", jid, str(doc_id), task=task_id, stage=stage,
                     decision=DECISIONS[decision], comment=comment,
                     certificate_serial=serial)
    return str(doc_id)


def cancel(conn: psycopg.Connection, doc_id: str, actor: str, reason: str) -> None:
    """Operator's cancel of a document still in draft or review."""
    reason = _text(reason, "reason", MAX_COMMENT)
    with conn.transaction():
        set_actor(conn, actor)
        doc = _lock(conn, document_id(doc_id))
        if doc["state"] not in ("draft", "in_review"):
            raise Conflict(f"document {doc_id} is {doc['state']}; only drafts and documents "
                           "in review can be cancelled")
        _close(conn, doc, "cancelled", reason, "Document cancelled")


# -- advancing (Celery) ------------------------------------------------------------------------

def _lock(conn: psycopg.Connection, doc_id: str) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        doc = cur.execute("SELECT * FROM oplot.wf_documents WHERE id = %s FOR UPDATE",
                          (doc_id,)).fetchone()
    if doc is None:
        raise NotFound(f"no document {doc_id}")
    return doc


class NeedsWorker(Exception):  # noqa: N818 - a signal to the caller, not a failure
    """The next step reads the document's file (a decrypting review, the package): a Celery
    worker's job, not the caller's (see :func:`advance`, ``reads_file``)."""


def advance(conn: psycopg.Connection, cfg: Config, doc_id: str, worker: str,
            task_id: str, reads_file: bool = True) -> str | None:
    """Take the one step the document's state calls for; its name, or None when there is
    nothing to do. Raises ScanPending while the verdict is not in. ``reads_file=False``
    (the workflow component, right after a decision or a submission): take only a step
    that is database work, and raise NeedsWorker, having changed nothing, for one that
    decrypts the file; such steps go to the Celery workers."""
    with conn.transaction():
        set_actor(conn, "workflow")
        doc = _lock(conn, doc_id)
        step = _next_step(conn, doc)
        if step is None:
            return None
        if step.reads_file and not reads_file:
            raise NeedsWorker(doc_id)
        name, apply = step.name, step.apply
        inserted = conn.execute("INSERT INTO oplot.wf_steps (document_id, step, worker, task_id) "
                                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                                (doc_id, name, worker, task_id)).fetchone()
        if inserted is None:  # cannot happen under the row lock; refuse rather than repeat
            raise Conflict(f"step {name} of {doc_id} was already taken")
        apply(conn, cfg, doc)
        return name


Apply = Callable[[psycopg.Connection, Config, dict[str, Any]], None]


class Step(NamedTuple):
    name: str
    apply: Apply
    reads_file: bool = False  # decrypts the document: worker work


def _next_step(conn: psycopg.Connection, doc: dict[str, Any]) -> Step | None:
    if doc["state"] == "draft":
        status, reason, content_hash, detail = conn.execute(
            "SELECT f.status, f.reason, v.content_hash, v.detail FROM oplot.files f LEFT JOIN "
            "oplot.file_verdicts v ON v.file_id = f.id WHERE f.id = %s",
            (doc["file_id"],)).fetchone()
        if status == "pending":
            raise ScanPending(doc["id"])
        if status != "clean":
            return Step("refused", lambda c, _cfg, d: _close(
                c, d, "rejected", f"scan verdict {status}: {reason}", "Document refused"))
        digests = content.scan_facts(detail, content_hash, doc["sha256"], doc["share"]["key"])
        return Step("review", lambda c, cfg, d: _start_review(c, cfg, d, digests),
                    reads_file=digests is None)
    if doc["state"] == "in_review":
        return _stage_outcome(conn, doc)
    if doc["state"] == "approved":
        return Step("archived", _archive, reads_file=True)
    return None


def _start_review(conn: psycopg.Connection, cfg: Config, doc: dict[str, Any],
                  digests: dict[str, str] | None) -> None:
    """Record the document's Streebog digests (what approvers' signatures must cover) and
    open stage 1. ``digests``: as the scanner took them from the bytes it decrypted, with
    the SHA-256 and key checked (:func:`content.scan_facts`); None: decrypt here."""
    if digests is None:
        try:
            data = content.read(cfg, conn, doc["file_id"], doc["sha256"], doc["share"]["key"])
        except content.Unreadable as exc:
            _close(conn, doc, "rejected", str(exc), "Document refused")
            return
        digests = {"256": streebog256(data).hexdigest(), "512": streebog512(data).hexdigest()}
    conn.execute("UPDATE oplot.wf_documents SET state = 'in_review', stage = 1, digests = %s "
                 "WHERE id = %s", (Jsonb(digests), doc["id"]))
    _open_stage(conn, cfg, doc, 1)


def _open_stage(conn: psycopg.Connection, cfg: Config, doc: dict[str, Any], stage: int,
                route: routes.Route | None = None) -> None:
    route = route or routes.by_id(conn, doc["route_id"])
    opened = []
    for step in route.stages[stage - 1]:
        seconds = step.deadline_seconds or cfg.workflow.deadline_seconds
        for jid in routes.resolve(conn, doc["domain"], doc["author"], step):
            conn.execute("INSERT INTO oplot.wf_tasks (document_id, stage, assignee, via, due_at) "
                         "VALUES (%s, %s, %s, %s, now() + %s) ON CONFLICT DO NOTHING",
                         (doc["id"], stage, jid, str(step), timedelta(seconds=seconds)))
            opened.append(jid)
    if not opened:
        _close(conn, doc, "rejected", f"stage {stage} has nobody to approve", "Document stopped")
        return
    notify(conn, str(doc["id"]), f"task-{stage}", opened, "Approval requested",
           f"Please review {doc['title']!r} by {doc['author']} (document {doc['id']}, "
           f"stage {stage}). See: oplot doc tasks")


def _stage_outcome(conn: psycopg.Connection, doc: dict[str, Any]) -> Step | None:
    rows = conn.execute("SELECT state, assignee, comment FROM oplot.wf_tasks WHERE "
                        "document_id = %s AND stage = %s AND state NOT IN "
                        "('escalated', 'cancelled') ORDER BY decided_at",
                        (doc["id"], doc["stage"])).fetchall()
    for outcome in ("rejected", "returned"):
        said = [f"{who}: {comment}" for state, who, comment in rows if state == outcome]
        if said:
            return Step(outcome, lambda c, _cfg, d, o=outcome, s=said: _close(
                c, d, o, "; ".join(s)[:MAX_COMMENT], f"Document {o}"))
    if not rows or any(state != "approved" for state, _, _ in rows):
        return None
    route = routes.by_id(conn, doc["route_id"])
    if doc["stage"] < len(route.stages):
        return Step(f"stage-{doc['stage'] + 1}",
                    lambda c, cfg, d: _next_stage(c, cfg, d, route))
    return Step("approved", lambda c, _cfg, d: _close(c, d, "approved", "", "Document approved"))


def _next_stage(conn: psycopg.Connection, cfg: Config, doc: dict[str, Any],
                route: routes.Route) -> None:
    conn.execute("UPDATE oplot.wf_documents SET stage = stage + 1 WHERE id = %s", (doc["id"],))
    _open_stage(conn, cfg, doc, doc["stage"] + 1, route)


def _close(conn: psycopg.Connection, doc: dict[str, Any], state: str, reason: str,
           subject: str) -> None:
    """Move to a terminal-ish state, close open tasks, tell the author."""
    conn.execute("UPDATE oplot.wf_documents SET state = %s, reason = %s WHERE id = %s",
                 (state, reason, doc["id"]))
    conn.execute("UPDATE oplot.wf_tasks SET state = 'cancelled' WHERE document_id = %s AND "
                 "state = 'pending'", (doc["id"],))
    why = f": {reason}" if reason else ""
    notify(conn, str(doc["id"]), state, [doc["author"]], subject,
           f"{doc['title']!r} (document {doc['id']}) is {state}{why}")


def _archive(conn: psycopg.Connection, cfg: Config, doc: dict[str, Any]) -> None:
    # review proved the shared key is the one the scanner opened (scan_facts or read)
    data = content.read(cfg, conn, doc["file_id"], doc["sha256"], doc["share"]["key"],
                        checked_key=True)
    blob = package.build(conn, cfg, doc, data)
    conn.execute("INSERT INTO oplot.wf_packages (document_id, sha256, data) VALUES (%s, %s, %s)",
                 (doc["id"], hashlib.sha256(blob).hexdigest(), blob))
    conn.execute("UPDATE oplot.wf_documents SET state = 'archived' WHERE id = %s", (doc["id"],))
    notify(conn, str(doc["id"]), "archived", [doc["author"]], "Document archived",
           f"{doc['title']!r} (document {doc['id']}) is approved and archived; "
           f"fetch the signed package with: oplot doc package {doc['id']}")


# -- deadlines (Celery beat) -------------------------------------------------------------------

def sweep(conn: psycopg.Connection, settings: WorkflowSettings) -> set[str]:
    """Escalate overdue tasks to the assignee's superior and remind the slow; returns the
    documents touched (their outbox and state need a look)."""
    touched: set[str] = set()
    with conn.transaction():
        set_actor(conn, "workflow-beat")
        overdue = conn.execute(
            "SELECT t.id, t.document_id, t.stage, t.assignee, t.due_at - t.created_at, d.title "
            "FROM oplot.wf_tasks t JOIN oplot.wf_documents d ON d.id = t.document_id "
            "WHERE t.state = 'pending' AND t.due_at < now() AND d.state = 'in_review' "
            "FOR UPDATE OF t SKIP LOCKED").fetchall()
        for task_id, doc_id, stage, assignee, span, title in overdue:
            _escalate(conn, task_id, str(doc_id), stage, assignee, span, title)
            touched.add(str(doc_id))
        due = conn.execute(
            "UPDATE oplot.wf_tasks SET reminded_at = now() WHERE state = 'pending' AND "
            "coalesce(reminded_at, created_at) < now() - %s RETURNING id, document_id, assignee",
            (timedelta(seconds=settings.reminder_seconds),)).fetchall()
        for task_id, doc_id, assignee in due:
            notify(conn, str(doc_id), f"remind-{task_id}-{uuid.uuid4().hex[:8]}", [assignee],
                   "Reminder", f"Task {task_id} (document {doc_id}) still waits for you")
            touched.add(str(doc_id))
    return touched


def _escalate(conn: psycopg.Connection, task_id: int, doc_id: str, stage: int, assignee: str,
              span: timedelta, title: str) -> None:
    boss = routes.superior(conn, assignee)
    if boss is None:  # top of the tree: keep the task, remind again after another deadline
        conn.execute("UPDATE oplot.wf_tasks SET due_at = now() + %s WHERE id = %s",
                     (span, task_id))
        notify(conn, doc_id, f"overdue-{task_id}", [assignee], "Task overdue",
               f"Task {task_id} on {title!r} is overdue")
        return
    conn.execute("UPDATE oplot.wf_tasks SET state = 'escalated' WHERE id = %s", (task_id,))
    conn.execute("INSERT INTO oplot.wf_tasks (document_id, stage, assignee, via, due_at, "
                 "escalated_from) VALUES (%s, %s, %s, %s, now() + %s, %s) "
                 "ON CONFLICT DO NOTHING", (doc_id, stage, boss, f"escalation:{assignee}",
                                            span, task_id))
    notify(conn, doc_id, f"escalated-{task_id}", [boss], "Task escalated to you",
           f"{assignee} did not decide on {title!r} (document {doc_id}) in time; "
           "it is yours now. See: oplot doc tasks")
    notify(conn, doc_id, f"escalated-{task_id}", [assignee], "Task escalated",
           f"Your task {task_id} on {title!r} passed its deadline and went to {boss}")


def stalled(conn: psycopg.Connection, quiet_seconds: int = 30) -> list[str]:
    """Documents with a step to take and no recent change: their message may have been lost
    (broker down when it was sent); queueing them again is harmless."""
    rows = conn.execute(
        "SELECT id FROM oplot.wf_documents d WHERE updated_at < now() - %s AND ("
        "state = 'approved' OR state = 'draft' AND (SELECT status FROM oplot.files f "
        "WHERE f.id = d.file_id) <> 'pending' OR state = 'in_review' AND NOT EXISTS ("
        "SELECT 1 FROM oplot.wf_tasks t WHERE t.document_id = d.id AND t.stage = d.stage AND "
        "t.state = 'pending' OR t.document_id = d.id AND t.decided_at > now() - %s)) "
        "LIMIT 100", (timedelta(seconds=quiet_seconds),) * 2).fetchall()
    return [str(r[0]) for r in rows]


# -- reading -----------------------------------------------------------------------------------

_TASK_COLUMNS = ("t.id, t.document_id, d.title, d.classification, d.author, t.stage, t.via, "
                 "t.due_at, d.filename, d.size, d.sha256, d.share")


def open_tasks(conn: psycopg.Connection, jid: str,
               doc_id: str | None = None) -> list[dict[str, Any]]:
    """``jid``'s open tasks (on ``doc_id`` only, when given), earliest deadline first."""
    where, args = ("AND t.document_id = %s ", (jid, doc_id)) if doc_id else ("", (jid,))
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_TASK_COLUMNS} FROM oplot.wf_tasks t JOIN oplot.wf_documents d ON "
            "d.id = t.document_id WHERE t.assignee = %s AND t.state = 'pending' AND "
            f"d.state = 'in_review' AND d.stage = t.stage {where}ORDER BY t.due_at",
            args).fetchall()


def status(conn: psycopg.Connection, doc_id: str, jid: str | None) -> dict[str, Any]:
    """The document, its tasks and history; ``jid`` must be its author or a participant
    (None: an operator)."""
    doc_id = document_id(doc_id)
    with conn.cursor(row_factory=dict_row) as cur:
        doc = cur.execute("SELECT d.id, d.title, d.classification, d.author, d.filename, "
                          "d.size, d.sha256, d.state, d.stage, d.reason, d.created_at, "
                          "d.updated_at, r.name AS route FROM oplot.wf_documents d JOIN "
                          "oplot.wf_routes r ON r.id = d.route_id WHERE d.id = %s",
                          (doc_id,)).fetchone()
        if doc is None:
            raise NotFound(f"no document {doc_id}")
        doc["tasks"] = cur.execute("SELECT id, stage, assignee, via, state, due_at, comment, "
                                   "decided_at FROM oplot.wf_tasks WHERE document_id = %s "
                                   "ORDER BY stage, id", (doc_id,)).fetchall()
        doc["history"] = cur.execute("SELECT at, actor, event, from_state, to_state, detail "
                                     "FROM oplot.wf_history WHERE document_id = %s ORDER BY id",
                                     (doc_id,)).fetchall()
    if jid is not None and jid != doc["author"] and jid not in {t["assignee"]
                                                                for t in doc["tasks"]}:
        raise Forbidden(f"document {doc_id} is not yours to see")
    return doc


def package_of(conn: psycopg.Connection, doc_id: str, jid: str | None) -> bytes:
    status(conn, doc_id, jid)  # the same visibility rule
    row = conn.execute("SELECT data FROM oplot.wf_packages WHERE document_id = %s",
                       (document_id(doc_id),)).fetchone()
    if row is None:
        raise Conflict(f"document {doc_id} has no package yet (not approved and archived)")
    return bytes(row[0])
