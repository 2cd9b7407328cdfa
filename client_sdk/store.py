"""The local store of one device: message cache, reactions and history sync pointers in
SQLite, so history is readable offline and catch-up resumes where it stopped.

Opened with a key, the store is encrypted at rest (DESIGN.md): bodies and reactions are
sealed with Kuznyechik-MGM, so a copied file without the key reveals no message text.
Metadata the queries need (JIDs, ids, times) stays readable.

A conversation reads back in the server's archive order, not in arrival order: a message
sorts by its archive id (XEP-0359 stanza-id; ejabberd's are increasing microsecond stamps),
so a stanza the server re-routes late from a dead session still lands in its place. A
message with no numeric archive id yet (our own, just sent) goes after the newest one known
and moves to its archive position once the archive id is seen.

Before the client emits a message's event, its row is either committed or its key is in
the shown log (``ShownLog``), and the transaction commits shortly after; a crash in between
loses the row, not the message (catch-up fetches it again, the sync pointer being written
in the same transaction) and never shows it twice. The unique keys make re-delivery (SM
resend, MAM overlap) a no-op. The client groups the writes of several event-loop turns into
one transaction (``begin``/``end``); a transaction starts at its first write, so a turn
that stores nothing (receipts, chat states) costs nothing, and a nested batch is a
savepoint that fails on its own.

WAL checkpoints (copying committed pages back into the database file, with an fsync) run
in a thread of their own rather than inside whichever commit crosses SQLite's threshold:
there they were most of the store's time per message, all of it on the event loop."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from client_sdk.errors import OplotError
from client_sdk.events import ChatMessage
from gost import KuznyechikMGM
from gost.exceptions import InvalidTag

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    pos INTEGER NOT NULL,
    archive TEXT NOT NULL,
    peer TEXT NOT NULL,
    stanza_id TEXT,
    msg_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    nick TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    outgoing INTEGER NOT NULL,
    body TEXT NOT NULL,
    ts REAL NOT NULL,
    reply_to TEXT NOT NULL DEFAULT '',
    edited INTEGER NOT NULL DEFAULT 0,
    retracted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (archive, stanza_id),
    UNIQUE (peer, sender, msg_id)
);
CREATE TABLE IF NOT EXISTS reactions (
    peer TEXT NOT NULL, msg_id TEXT NOT NULL, sender TEXT NOT NULL, vals TEXT NOT NULL,
    PRIMARY KEY (peer, msg_id, sender)
);
CREATE TABLE IF NOT EXISTS sync (
    archive TEXT PRIMARY KEY, last_id TEXT NOT NULL, updated REAL NOT NULL
);
"""
INDEX = "CREATE INDEX IF NOT EXISTS messages_order ON messages (peer, pos)"
log = logging.getLogger(__name__)
CHECKPOINT_EVERY = 200  # commits between WAL checkpoints (a few pages each)
POINTER_EVERY = 1.0  # seconds between writes of one archive's sync pointer in batches
ARCHIVE_ID = re.compile(r"[0-9]{1,18}")  # fits SQLite's 64-bit INTEGER
SEALED = b"oplot message store v1"  # associated data of every sealed value


Key = tuple[str, str, str]  # (peer, sender, message id): how the store knows a message


class ShownLog:
    """Keys of messages whose events went out while their rows are not committed yet: a
    small append-only file next to the database (``<store>-shown``), one ``write`` per
    event-loop turn where a commit per turn cost ten times more. The client commits a
    few turns together (``Client.COMMIT_DELAY``). A process killed before that commit
    leaves the keys behind: the messages come back through MAM catch-up (the sync pointer
    is only written in the transaction of the messages it covers) and are stored then
    without being shown again (``added`` answers False). Like SQLite's WAL with
    ``synchronous=NORMAL``, the file survives a killed process, not a power cut.

    Only keys are written (JIDs and ids, readable in the database too), never bodies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.before = self._read()  # shown by an earlier process, perhaps never stored
        self._fd: int | None = None
        self._dirty = bool(self.before)  # whether the file holds any line
        self.unsaved: list[Key] = []  # new rows of the open transaction not in the file
        self.written: list[Key] = []  # in the file, their transaction not committed yet
        self.restored: list[Key] = []  # rows of keys in ``before``, not committed yet

    def _read(self) -> set[Key]:
        """The keys a killed process left; a torn or foreign line is skipped (its message
        may then be shown once more after catch-up: never lost)."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return set()
        keys: set[Key] = set()
        for line in text.splitlines():
            try:
                key = json.loads(line)
            except ValueError:
                continue
            if (isinstance(key, list) and len(key) == 3
                    and all(isinstance(part, str) for part in key)):
                keys.add((key[0], key[1], key[2]))
        return keys

    def prune(self, stored: Callable[[Key], bool]) -> None:
        """Forget the keys whose messages did get committed before the process ended."""
        self.before = {key for key in self.before if not stored(key)}

    def added(self, key: Key, in_transaction: bool) -> bool:
        """A new row was written: True when its event is still to be shown."""
        if key in self.before:
            self.restored.append(key)
            return False
        if in_transaction:
            self.unsaved.append(key)
        return True

    def write(self) -> None:
        """Append the keys of the open transaction's new rows (before their events go out);
        OSError when the file cannot be written (the caller commits instead)."""
        if not self.unsaved:
            return
        # a leading newline ends a line a killed process may have left unfinished
        data = "\n".join(["", *map(json.dumps, self.unsaved), ""]).encode()
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._dirty = True
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        self.written += self.unsaved
        self.unsaved.clear()

    def mark(self) -> tuple[int, int]:
        return len(self.unsaved), len(self.restored)

    def undo(self, mark: tuple[int, int]) -> None:
        """A savepoint rolled back: its rows are gone, nothing of it was shown."""
        del self.unsaved[mark[0]:]
        del self.restored[mark[1]:]

    def committed(self) -> None:
        """Everything written so far is in the database: empty the file (keeping only the
        earlier process's keys not restored yet)."""
        self.before.difference_update(self.restored)
        self.unsaved.clear()
        self.written.clear()
        self.restored.clear()
        if self._dirty:
            try:
                self._reset()
            except OSError:  # stale keys only make a later start prune a little more
                log.exception("could not empty %s", self.path)

    def rolled_back(self) -> None:
        """The transaction is gone: what was shown of it stays shown (its keys stay in the
        file and count as shown in this process too)."""
        self.before.update(self.written)
        self.unsaved.clear()
        self.written.clear()
        self.restored.clear()

    def _reset(self) -> None:
        if self.before:
            spare = self.path.with_name(self.path.name + ".new")
            spare.write_text("".join(json.dumps(key) + "\n" for key in self.before))
            os.replace(spare, self.path)
            self.close()
        elif self._fd is not None:
            os.ftruncate(self._fd, 0)
        else:
            self.path.unlink(missing_ok=True)
        self._dirty = bool(self.before)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class StoreLocked(OplotError):
    """The store is encrypted and the key is missing or wrong."""


class Checkpointer:
    """Checkpoints one database's WAL on request, in a daemon thread with its own
    connection. A passive checkpoint never blocks the writer; a commit that happens
    meanwhile simply stays in the WAL until the next one. Durability is the WAL's either
    way: a committed transaction survives a killed process whether or not it was copied."""

    def __init__(self, path: Path) -> None:
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True,
                                        name=f"checkpoint {path.name}")
        self._thread.start()

    def request(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self, path: Path) -> None:
        db = sqlite3.connect(path, isolation_level=None, timeout=10)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    log.exception("WAL checkpoint of %s failed", path)
        finally:
            db.close()


def position(stanza_id: str | None) -> int | None:
    """Where a message sorts in its conversation: its archive id when that is numeric."""
    return int(stanza_id) if stanza_id and ARCHIVE_ID.fullmatch(stanza_id) else None


class Store:
    """One SQLite file per device (account + resource)."""

    def __init__(self, path: Path, key: bytes | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA wal_autocheckpoint=0")  # see Checkpointer
        self._checkpointer: Checkpointer | None = None  # started by the first checkpoint due
        self._commits = 0
        self.db.executescript(SCHEMA)
        self._aead = self._unlock(key)
        self._depth = self._opened = 0  # batches open, batches that have written
        self._pointers: dict[str, str] = {}  # pointer moves not written yet
        self._pointer_at: dict[str, float] = {}  # when each archive's pointer was written
        # pointer moves pending and shown-log lengths when each open batch began
        self._marks: list[tuple[dict[str, str], tuple[int, int]]] = []
        self.shown = ShownLog(path.with_name(path.name + "-shown"))
        # called before a read of messages: the client writes records it still holds back
        self.before_read: Callable[[], None] | None = None
        self._add_positions()
        self.db.execute(INDEX)
        self.shown.prune(self._known)

    def close(self) -> None:
        """Close the store (the last connection to close checkpoints what is left)."""
        if self._depth == 0:
            self.flush_pointers()
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.shown.close()
        self.db.close()

    def _committed(self) -> None:
        """Count a commit; every ``CHECKPOINT_EVERY`` ask for a checkpoint."""
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            if self._checkpointer is None:
                self._checkpointer = Checkpointer(self.path)
            self._checkpointer.request()

    def _unlock(self, key: bytes | None) -> KuznyechikMGM | None:
        """Check the key against the sealed marker (written on first keyed use)."""
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB)")
        row = self.db.execute("SELECT value FROM meta WHERE name = 'check'").fetchone()
        if key is None:
            if row is not None:
                raise StoreLocked(f"{self.path}: the message store is encrypted; open it "
                                  "with its key")
            return None
        aead = KuznyechikMGM(key)
        if row is None:
            self._aead = aead
            self.db.execute("INSERT INTO meta VALUES ('check', ?)", (self.seal(""),))
        elif self._open(aead, bytes(row[0])) is None:
            raise StoreLocked(f"{self.path}: wrong key for the message store")
        return aead

    def seal(self, text: str) -> str | bytes:
        """``text`` as stored: sealed (nonce || ciphertext || tag) when the store has a key."""
        if self._aead is None:
            return text
        nonce = bytes([secrets.randbelow(128)]) + secrets.token_bytes(15)
        return nonce + self._aead.encrypt(nonce, text.encode(), SEALED)

    def unseal(self, value: str | bytes) -> str:
        """A stored value as text; rows written before the store had a key are plain."""
        if isinstance(value, str):
            return value
        text = None if self._aead is None else self._open(self._aead, value)
        if text is None:
            raise StoreLocked(f"{self.path}: a sealed value fails authentication")
        return text

    @staticmethod
    def _open(aead: KuznyechikMGM, blob: bytes) -> str | None:
        try:
            return aead.decrypt(blob[:16], blob[16:], SEALED).decode()
        except (InvalidTag, ValueError):
            return None

    def _add_positions(self) -> None:
        """Stores written before archive ordering get their positions (once)."""
        if "pos" in {row[1] for row in self.db.execute("PRAGMA table_info(messages)")}:
            return
        newest: dict[str, int] = {}
        with self.batch():
            self._write("ALTER TABLE messages ADD COLUMN pos INTEGER NOT NULL DEFAULT 0")
            rows = self.db.execute("SELECT seq, peer, stanza_id FROM messages ORDER BY seq")
            for seq, peer, stanza_id in rows.fetchall():
                pos = position(stanza_id) or newest.get(peer, 0) + 1
                newest[peer] = max(pos, newest.get(peer, 0))
                self._write("UPDATE messages SET pos = ? WHERE seq = ?", (pos, seq))

    def begin(self) -> None:
        """Open a batch (closed by ``end``): the outermost is a transaction, inner ones are
        savepoints. Nothing reaches SQLite until the first write inside it."""
        self._depth += 1
        self._marks.append((dict(self._pointers), self.shown.mark()))

    def end(self, ok: bool = True) -> None:
        """Close the innermost batch: commit (or release) it, or roll back its own writes
        (its pointer moves included). Pointer moves are written just before the
        transaction commits (see ``set_pointer``)."""
        mark, shown = self._marks.pop()
        if not ok:
            self._pointers = mark
            self.shown.undo(shown)
        elif self._depth == 1 and self._pointers:
            try:
                self._write_pointers(time.monotonic() - POINTER_EVERY)
            except sqlite3.Error:
                self._close(ok=False)
                raise
        self._close(ok)

    def _close(self, ok: bool) -> None:
        self._depth -= 1
        if self._opened <= self._depth:
            return  # it never wrote
        self._opened = self._depth
        if self._depth == 0:
            try:
                self.db.execute("COMMIT" if ok else "ROLLBACK")
            except sqlite3.Error:
                self.shown.rolled_back()
                if self.db.in_transaction:  # a failed COMMIT leaves it open
                    self.db.execute("ROLLBACK")
                raise
            if not ok:
                self.shown.rolled_back()
                return
            self._committed()
            self.shown.committed()
        else:
            if not ok:
                self.db.execute(f"ROLLBACK TO b{self._depth}")
            self.db.execute(f"RELEASE b{self._depth}")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes into one transaction (a batch inside another is a savepoint)."""
        self.begin()
        try:
            yield
        except BaseException:
            self.end(ok=False)
            raise
        self.end()

    def _write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """Run a write, first opening the batches that have not written yet."""
        while self._opened < self._depth:
            self.db.execute("BEGIN IMMEDIATE" if self._opened == 0
                            else f"SAVEPOINT b{self._opened}")
            self._opened += 1
        return self.db.execute(sql, params)

    def add(self, archive: str, msg: ChatMessage) -> bool:
        """Store a message; False when it is already known (by archive id or sender id)
        or was shown by a process killed before storing it (``ShownLog``).

        A message without a numeric archive id goes after the newest of its conversation. A
        known message that now comes with its archive id (our own sent message seen again
        through MAM) gets that id recorded, and moves to its archive position."""
        ts = (msg.timestamp or datetime.now(UTC)).timestamp()
        if self._write(
                "INSERT OR IGNORE INTO messages (pos, archive, peer, stanza_id, msg_id, sender,"
                " nick, kind, outgoing, body, ts, reply_to) VALUES (coalesce(?, (SELECT"
                " coalesce(max(pos), 0) + 1 FROM messages WHERE peer = ?)),"
                " ?,?,?,?,?,?,?,?,?,?,?)",
                (position(msg.stanza_id), msg.peer, archive, msg.peer, msg.stanza_id or None,
                 msg.id, msg.sender, msg.nick, msg.kind, int(msg.outgoing),
                 self.seal(msg.body), ts, msg.reply_to)).rowcount:
            return self.shown.added((msg.peer, msg.sender, msg.id), self._depth > 0)
        if msg.stanza_id:
            self._write(
                "UPDATE OR IGNORE messages SET stanza_id = ?, pos = coalesce(?, pos)"
                " WHERE peer = ? AND sender = ? AND msg_id = ? AND stanza_id IS NULL",
                (msg.stanza_id, position(msg.stanza_id), msg.peer, msg.sender, msg.id))
        return False

    def _known(self, key: Key) -> bool:
        return self.db.execute("SELECT 1 FROM messages WHERE peer = ? AND sender = ? AND"
                               " msg_id = ?", key).fetchone() is not None

    def body(self, peer: str, sender: str, msg_id: str) -> str | None:
        """The stored body of a message, None when the message is unknown."""
        self._pending()
        row = self.db.execute(
            "SELECT body FROM messages WHERE peer = ? AND sender = ? AND msg_id = ?",
            (peer, sender, msg_id)).fetchone()
        return None if row is None else self.unseal(row[0])

    def _target(self, peer: str, ref: str) -> tuple[int, str] | None:
        return self.db.execute(
            "SELECT seq, sender FROM messages WHERE peer = ? AND (msg_id = ? OR stanza_id = ?)"
            " ORDER BY seq LIMIT 1", (peer, ref, ref)).fetchone()

    def correct(self, peer: str, sender: str, ref: str, body: str) -> bool:
        """Replace a body; only the original sender may (forged corrections are refused)."""
        target = self._target(peer, ref)
        if target is None or target[1] != sender:
            return False
        self._write("UPDATE messages SET body = ?, edited = 1 WHERE seq = ?",
                    (self.seal(body), target[0]))
        return True

    def retract(self, peer: str, sender: str, ref: str) -> bool:
        target = self._target(peer, ref)
        if target is None or target[1] != sender:
            return False
        self._write("UPDATE messages SET body = '', retracted = 1 WHERE seq = ?", (target[0],))
        return True

    def react(self, peer: str, sender: str, ref: str, values: frozenset[str]) -> None:
        if values:
            self._write("INSERT OR REPLACE INTO reactions VALUES (?,?,?,?)",
                        (peer, ref, sender, self.seal(json.dumps(sorted(values)))))
        else:
            self._write("DELETE FROM reactions WHERE peer=? AND msg_id=? AND sender=?",
                        (peer, ref, sender))

    def _pending(self) -> None:
        if self.before_read is not None:
            self.before_read()

    def pointer(self, archive: str) -> str | None:
        """The archive id up to which this device has every message (including a move
        not committed yet)."""
        pending = self._pointers.get(archive)
        if pending is not None:
            return pending
        row = self.db.execute("SELECT last_id FROM sync WHERE archive = ?", (archive,)).fetchone()
        return row[0] if row else None

    def set_pointer(self, archive: str, last_id: str) -> None:
        """Move the pointer. Inside a batch the move is written with the commit of its
        transaction, at most once per ``POINTER_EVERY`` seconds per archive: a later
        transaction writes the newest move then (or ``flush_pointers``). A pointer behind
        is safe (catch-up fetches a little more and the store drops what it has), one
        ahead never happens: a move is only written in or after the transaction of the
        messages it covers, and a failed batch undoes its own moves. In a conversation
        the pointer's write was about a third of the store's cost per message."""
        if self._depth:
            self._pointers[archive] = last_id
        else:
            self._pointers.pop(archive, None)
            self._write_pointer(archive, last_id)

    def flush_pointers(self) -> None:
        """Write every pending pointer move now (outside any batch)."""
        if self._pointers:
            with self.batch():
                self._write_pointers(float("inf"))

    def _write_pointers(self, written_before: float) -> None:
        """Write the pending moves of archives whose pointer was last written before
        ``written_before`` (monotonic time)."""
        for archive, last_id in list(self._pointers.items()):
            if self._pointer_at.get(archive, float("-inf")) < written_before:
                self._write_pointer(archive, last_id)
                del self._pointers[archive]

    def _write_pointer(self, archive: str, last_id: str) -> None:
        self._write("INSERT OR REPLACE INTO sync VALUES (?,?,?)", (archive, last_id, time.time()))
        self._pointer_at[archive] = time.monotonic()

    def history(self, peer: str, limit: int = 50) -> list[dict]:
        """The last ``limit`` messages with ``peer`` (contact or room), in archive order."""
        self._pending()
        rows = self.db.execute(
            "SELECT seq, msg_id, stanza_id, sender, nick, kind, outgoing, body, ts, reply_to,"
            " edited, retracted FROM messages WHERE peer = ? ORDER BY pos DESC, seq DESC"
            " LIMIT ?",
            (peer, limit)).fetchall()
        return [self._row(peer, r) for r in reversed(rows)]

    def _row(self, peer: str, r: tuple) -> dict:
        reactions: dict[str, list[str]] = {}
        for sender, vals in self.db.execute(
                "SELECT sender, vals FROM reactions WHERE peer = ? AND msg_id IN (?, ?)",
                (peer, r[1], r[2] or r[1])):
            for value in json.loads(self.unseal(vals)):
                reactions.setdefault(value, []).append(sender)
        return {"id": r[1], "stanza_id": r[2] or "", "sender": r[3], "nick": r[4],
                "kind": r[5], "outgoing": bool(r[6]), "body": self.unseal(r[7]),
                "time": datetime.fromtimestamp(r[8], UTC).isoformat(), "reply_to": r[9],
                "edited": bool(r[10]), "retracted": bool(r[11]), "reactions": reactions}

    def peers(self) -> list[tuple[str, str, int]]:
        """(peer, kind, message count) for every conversation, most recent first."""
        self._pending()
        return self.db.execute(
            "SELECT peer, kind, count(*) FROM messages GROUP BY peer ORDER BY max(ts) DESC"
        ).fetchall()

    def count(self, peer: str) -> int:
        self._pending()
        return self.db.execute("SELECT count(*) FROM messages WHERE peer = ?",
                               (peer,)).fetchone()[0]
