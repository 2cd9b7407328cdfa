"""The file service's rows in PostgreSQL (migration 0010): slots, files, their status.

Every node reads and writes the same rows, so a slot issued by one node can be uploaded
through another and a file stored through one is served by all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from xmpp_server_plugins import audit
from xmpp_server_plugins.files.errors import Conflict, Forbidden, NotFound
from xmpp_server_plugins.files.slots import SlotRequest


@dataclass(frozen=True)
class Slot:
    id: str
    owner: str
    filename: str
    size: int
    content_type: str
    scan_key: dict | None


@dataclass(frozen=True)
class StoredFile:
    id: str
    owner: str
    filename: str
    size: int
    content_type: str
    master_key_id: int
    wrapped_key: bytes
    status: str
    reason: str


class Records:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create_slot(self, slot_id: str, req: SlotRequest, ttl: int) -> dt.datetime:
        async with self.pool.connection() as db:
            cur = await db.execute(
                "INSERT INTO oplot.upload_slots (id, owner, filename, size, content_type, "
                "scan_key, expires_at) VALUES (%s, %s, %s, %s, %s, %s, "
                "now() + make_interval(secs => %s)) RETURNING expires_at",
                (slot_id, req.owner, req.filename, req.size, req.content_type,
                 Jsonb(req.scan_key) if req.scan_key else None, ttl))
            return (await cur.fetchone())[0]

    async def claim_slot(self, slot_id: str) -> Slot:
        """Mark an issued, unexpired slot as being uploaded; say why when it cannot be."""
        async with self.pool.connection() as db:
            cur = await db.execute(
                "UPDATE oplot.upload_slots SET state = 'uploading' WHERE id = %s AND "
                "state = 'issued' AND expires_at > now() RETURNING id, owner, filename, size, "
                "content_type, scan_key", (slot_id,))
            row = await cur.fetchone()
            if row is not None:
                return Slot(*row)
            cur = await db.execute("SELECT state, expires_at <= now() FROM oplot.upload_slots "
                                   "WHERE id = %s", (slot_id,))
            found = await cur.fetchone()
        if found is None:
            raise NotFound("no such upload slot")
        state, expired = found
        if state == "stored":
            raise Conflict("upload slot already used; request a new slot for another upload")
        if state == "uploading":
            raise Conflict("an upload to this slot is in progress")
        raise Forbidden("upload slot has expired; request a new one") if expired else \
            Conflict("upload slot is not available")

    async def release_slot(self, slot_id: str) -> None:
        """A failed upload gives the slot back (until it expires); nothing was stored."""
        async with self.pool.connection() as db:
            await db.execute("UPDATE oplot.upload_slots SET state = 'issued' WHERE id = %s "
                             "AND state = 'uploading'", (slot_id,))

    async def store(self, slot: Slot, key_id: int, wrapped: bytes, status: str) -> None:
        async with self.pool.connection() as db, db.transaction():
            await db.execute(
                "INSERT INTO oplot.files (id, owner, filename, size, content_type, "
                "master_key_id, wrapped_key, status, scan_key) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (slot.id, slot.owner, slot.filename, slot.size, slot.content_type, key_id,
                 wrapped, status, Jsonb(slot.scan_key) if slot.scan_key else None))
            await db.execute("UPDATE oplot.upload_slots SET state = 'stored' WHERE id = %s",
                             (slot.id,))

    async def file(self, file_id: str) -> StoredFile:
        async with self.pool.connection() as db:
            cur = await db.execute(
                "SELECT id, owner, filename, size, content_type, master_key_id, wrapped_key, "
                "status, reason FROM oplot.files WHERE id = %s", (file_id,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound("no such file")
        return StoredFile(*row[:6], bytes(row[6]), *row[7:])

    async def mark_corrupt(self, file_id: str, detail: str) -> None:
        """Mark the file and audit the failure once (a tampered store is a security event,
        not only a broken download)."""
        async with self.pool.connection() as db, db.transaction():
            cur = await db.execute(
                "UPDATE oplot.files SET status = 'corrupt', reason = %s WHERE id = %s "
                "AND status <> 'corrupt' RETURNING owner", (detail, file_id))
            row = await cur.fetchone()
            if row is not None:
                await audit.append_async(db, "file.integrity_failed", "file-service", file_id,
                                         owner=row[0], reason=detail)

    async def stale_pending(self, older_than: float) -> list[str]:
        """Files still waiting for a verdict (their scan task may have been lost)."""
        async with self.pool.connection() as db:
            cur = await db.execute(
                "SELECT id FROM oplot.files WHERE status = 'pending' AND stored_at < "
                "now() - make_interval(secs => %s) ORDER BY stored_at LIMIT 100",
                (older_than,))
            return [r[0] for r in await cur.fetchall()]

