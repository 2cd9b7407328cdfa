"""The security audit log: append-only rows chained by Streebog-256(previous hash || row).

The database refuses UPDATE, DELETE and TRUNCATE and accepts only inserts that extend the
head (see migration 0002); :func:`verify` recomputes the chain and names the first row that
was modified, deleted, reordered or lost, so tampering that bypasses the database's guards
(a superuser, a restored dump) is still found.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from gost.streebog import streebog256

GENESIS = bytes(32)
#: event names in use; free-form strings are refused so reports stay greppable
EVENTS = frozenset({
    "login.ok", "login.failed", "login.refused", "account.locked",
    "user.created", "user.registered", "user.updated", "user.disabled", "user.enabled",
    "user.removed", "user.moved", "password.changed", "session.kicked",
    "unit.created", "unit.updated", "group.created", "group.member_added",
    "group.member_removed", "policy.changed", "ldap.sync",
    "device.added", "device.removed", "file.verdict", "file.integrity_failed",
    "workflow.decision",
})
INSERT = ("INSERT INTO oplot.audit_log (seq, at, event, actor, subject, detail, prev_hash, "
          "hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: dt.datetime
    event: str
    actor: str
    subject: str
    detail: str
    prev_hash: bytes
    hash: bytes

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": _iso(self.at), "event": self.event, "actor": self.actor,
                "subject": self.subject, "detail": json.loads(self.detail),
                "prev_hash": self.prev_hash.hex(), "hash": self.hash.hex()}


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def row_hash(prev: bytes, seq: int, at: dt.datetime, event: str, actor: str, subject: str,
             detail: str) -> bytes:
    """Streebog-256 over the previous hash and an unambiguous encoding of the row."""
    body = json.dumps([seq, _iso(at), event, actor, subject, detail], ensure_ascii=False,
                      separators=(",", ":")).encode()
    return streebog256(prev + body).digest()


def append(conn: psycopg.Connection, event: str, actor: str, subject: str,
           **detail: Any) -> int:
    """Add one event in its own (sub)transaction; returns its sequence number."""
    text = _detail(event, detail)
    with conn.transaction():
        seq, prev = conn.execute("SELECT seq, hash FROM oplot.audit_head FOR UPDATE").fetchone()
        conn.execute(INSERT, _row(seq + 1, event, actor, subject, text, bytes(prev)))
    return seq + 1


async def append_async(conn: psycopg.AsyncConnection, event: str, actor: str, subject: str,
                       **detail: Any) -> int:
    """``append`` for the asyncio services (the file service's HTTP handlers)."""
    text = _detail(event, detail)
    async with conn.transaction():
        cur = await conn.execute("SELECT seq, hash FROM oplot.audit_head FOR UPDATE")
        seq, prev = await cur.fetchone()
        await conn.execute(INSERT, _row(seq + 1, event, actor, subject, text, bytes(prev)))
    return seq + 1


def _detail(event: str, detail: dict[str, Any]) -> str:
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


def _row(seq: int, event: str, actor: str, subject: str, text: str, prev: bytes) -> tuple:
    at = dt.datetime.now(dt.UTC)
    digest = row_hash(prev, seq, at, event, actor, subject, text)
    return seq, at, event, actor, subject, text, prev, digest


def entries(conn: psycopg.Connection, since: int = 0) -> Iterator[Entry]:
    """Rows in chain order, streamed (the log can be large)."""
    with conn.cursor(name="audit_entries") if not conn.autocommit else conn.cursor() as cur:
        cur.execute("SELECT seq, at, event, actor, subject, detail, prev_hash, hash "
                    "FROM oplot.audit_log WHERE seq > %s ORDER BY seq", (since,))
        for row in cur:
            yield Entry(row[0], row[1], row[2], row[3], row[4], row[5], bytes(row[6]),
                        bytes(row[7]))


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad: int | None = None
    problem: str = ""


def verify(conn: psycopg.Connection) -> Verdict:
    """Walk the chain from the genesis; stop at the first row that does not fit."""
    head_seq, head_hash = conn.execute("SELECT seq, hash FROM oplot.audit_head").fetchone()
    head_hash = bytes(head_hash)
    prev, expected, checked = GENESIS, 1, 0

    def bad(seq: int, problem: str) -> Verdict:
        return Verdict(False, checked, head_seq, head_hash.hex(), seq, problem)

    for e in entries(conn):
        if e.seq != expected:
            return bad(expected, f"row {expected} is missing (next row is {e.seq})"
                       if e.seq > expected else f"row {e.seq} appears out of order")
        if e.prev_hash != prev:
            return bad(e.seq, f"row {e.seq} does not link to row {e.seq - 1} "
                       "(a row before it was replaced, or rows were reordered)")
        if row_hash(prev, e.seq, e.at, e.event, e.actor, e.subject, e.detail) != e.hash:
            return bad(e.seq, f"row {e.seq} was modified (its hash does not match its content)")
        prev, expected, checked = e.hash, expected + 1, checked + 1
    if checked != head_seq or prev != (head_hash if head_seq else GENESIS):
        return bad(checked + 1, f"the log ends at row {checked} but its head records row "
                   f"{head_seq}: rows were deleted from the end or the log was truncated")
    return Verdict(True, checked, head_seq, head_hash.hex())
