"""History sync through MAM (XEP-0313) without gaps or duplicates.

Per archive (our account, each room) the store keeps a pointer: the archive id up to which
this device has every message. Catch-up pages forward from that pointer. While it runs, live
messages for that archive are held back; when the archive says ``complete`` they are fed
in arrival order, and the store drops those the archive already returned — so events come
out once each, in archive order. A device with no pointer yet fetches the newest page only."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from slixmpp import Message
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from client_sdk.chat import Dropped, log_dropped
from client_sdk.errors import ProtocolError
from client_sdk.events import ChatMessage, Event, SyncDone

if TYPE_CHECKING:
    from client_sdk.client import Client

log = logging.getLogger(__name__)
NS = "urn:xmpp:mam:2"
SINCE = "since:"
SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class Entry:
    """A message to ingest; ``pointer`` is the archive id it moves the pointer to ("" when
    it must not), ``stanza_id`` its archive id when that differs."""

    pointer: str
    msg: Message
    archived: bool
    stanza_id: str = ""


def _archive_order(entries: list[Entry]):
    """Sort key by archive id when every id is numeric (ejabberd's are microsecond stamps);
    otherwise arrival order. Entries without an id (receipts, states) keep their place."""
    ids = [e.stanza_id or e.pointer for e in entries]
    if not all(i.isdigit() for i in ids if i):
        return lambda e: 0
    keys: dict[int, int] = {}
    current = 0
    for entry, ident in zip(entries, ids, strict=True):
        current = int(ident) if ident else current
        keys[id(entry)] = current
    return lambda e: keys[id(e)]


@dataclass
class Page:
    results: list[Entry] = field(default_factory=list)
    last: str = ""
    complete: bool = True


class History:
    def __init__(self, client: Client, page_size: int = 250, first_sync: int = 100) -> None:
        self.client = client
        self.page_size = page_size
        self.first_sync = first_sync
        self._held: dict[str, list[tuple[Message, str]]] = {}
        self._done: dict[str, asyncio.Event] = {}
        self._running: dict[str, asyncio.Task] = {}
        self._queries: set[str] = set()

    def syncing(self, archive: str) -> bool:
        return archive in self._held

    def begin(self, archive: str) -> None:
        """Hold live messages of ``archive`` from now until its catch-up completes."""
        self._held.setdefault(archive, [])
        self._done.setdefault(archive, asyncio.Event()).clear()

    def forget(self, archive: str) -> None:
        """Stop holding ``archive`` without feeding anything (we never got in)."""
        self._held.pop(archive, None)
        self._done[archive].set()

    def defer(self, archive: str, msg: Message, stanza_id: str) -> None:
        self._held[archive].append((msg, stanza_id))

    def expects(self, query_id: str) -> bool:
        """Whether an archive result with this query id answers a query of ours."""
        return query_id in self._queries

    def live(self, archive: str, msg: Message, stanza_id: str) -> None:
        """A live message of a synced archive: its archive id becomes the pointer. One that
        moves no pointer and writes nothing (a receipt, marker, chat state: half the
        stanzas of a conversation) needs no store transaction or turn: its events go out
        at once, behind those of the turn when one is open."""
        if stanza_id or self.client.chat.stores(msg):
            self._feed(archive, [Entry(stanza_id, msg, False)])
            return
        for event in self._ingest(archive, Entry("", msg, False)):
            self.client.emit(event)

    async def synced(self, archive: str | None = None, timeout: float = 60.0) -> None:
        """Wait until the current catch-up of ``archive`` (default: our account) is done."""
        done = self._done.setdefault(archive or self.client.jid, asyncio.Event())
        await asyncio.wait_for(done.wait(), timeout)

    async def catch_up(self, archive: str) -> int:
        """Fetch what ``archive`` has after our pointer; return how many messages were new.

        A newer catch-up of the same archive (after a reconnect) supersedes this one."""
        me = asyncio.current_task()
        previous = self._running.get(archive)
        if previous is not None and previous is not me and not previous.done():
            previous.cancel()
        self._running[archive] = me
        self.begin(archive)
        count, tail, complete = 0, [], False
        try:
            count, tail = await self._fetch(archive)
            complete = True
        except asyncio.CancelledError:
            if self._running.get(archive) is me:
                raise
            return 0
        except Exception as exc:
            log.warning("catch-up of %s stopped: %s", archive, exc)
            if not self.client.xmpp.is_connected():
                return 0  # keep holding: the next session's catch-up takes over
        count += self._release(archive, tail, advance=complete)
        self.client.emit(SyncDone(archive, count))
        return count

    async def _fetch(self, archive: str) -> tuple[int, list[Entry]]:
        """Feed every page but the last, which is merged with the held live messages."""
        pointer = self.client.store.pointer(archive)
        if pointer is None:
            return 0, await self._first_sync(archive)
        count = 0
        if pointer.startswith(SINCE):
            page = await self._query(archive, {"max": self.page_size}, since=pointer[len(SINCE):])
        else:
            page = await self._query(archive, {"after": pointer, "max": self.page_size})
        while not page.complete:
            count += self._feed(archive, page.results)
            page = await self._query(archive, {"after": page.last, "max": self.page_size})
        return count, page.results

    async def _first_sync(self, archive: str) -> list[Entry]:
        """The newest page only; an empty archive gets a time pointer (with a margin for
        clock skew) so that everything archived later is fetched next time."""
        started = datetime.now(UTC) - SKEW
        page = await self._query(archive, {"before": "", "max": self.first_sync})
        if not page.results:
            self.client.store.set_pointer(archive, SINCE + started.isoformat())
        return page.results

    def _release(self, archive: str, tail: list[Entry], advance: bool) -> int:
        """Feed the archive's last page and the held live messages together, in archive
        order (synchronously: nothing can slip in between).

        The newest archive entries can become visible out of order (concurrent writers), and
        re-sent stanzas may overtake newer ones: ordering the merged set by archive id puts
        such stragglers back in place. After a failed catch-up held messages are stored
        without moving the pointer, so the next catch-up still covers the hole."""
        held = [Entry(sid if advance else "", msg, False, sid)
                for msg, sid in self._held.pop(archive, [])]
        merged = sorted(tail + held, key=_archive_order(tail + held)) if advance else held
        try:
            return self._feed(archive, merged)
        finally:
            self._done[archive].set()

    def _feed(self, archive: str, entries: list[Entry]) -> int:
        """Ingest messages and advance the pointer in this turn's transaction, as one batch
        (the pointer is only ever stored with the messages it covers); the events go out
        once it is committed (``Client.hold``)."""
        events: list[Event] = []
        chat = self.client.chat
        last = ""
        self.client.hold()
        # a batch of several is a savepoint, so a failure undoes only its own writes; one
        # message needs none (ingest writes at most one statement, the pointer moves after)
        with self.client.store.batch() if len(entries) > 1 else nullcontext():
            for entry in entries:
                found = self._ingest(archive, entry)
                if not entry.archived:
                    chat.acknowledge(entry.msg, found)
                events.extend(found)
                last = entry.pointer or last
            if last:
                self.client.store.set_pointer(archive, last)
        for event in events:
            self.client.emit(event)
        return sum(1 for e in events if isinstance(e, ChatMessage))

    def _ingest(self, archive: str, entry: Entry) -> list[Event]:
        """The events of one entry; a refused one is logged and has none."""
        try:
            return self.client.chat.ingest(entry.msg, archive, entry.stanza_id or entry.pointer,
                                           archived=entry.archived)
        except Dropped as why:
            log_dropped(f"message {entry.pointer}", entry.msg["from"], why)
            return []

    async def _query(self, archive: str, rsm: dict[str, object], since: str = "") -> Page:
        """One MAM page; results are accepted only from the archive we asked."""
        xmpp = self.client.xmpp
        query_id = uuid.uuid4().hex
        page = Page()
        own = archive == self.client.jid

        def collect(msg: Message) -> None:
            try:
                page.results.append(self._result(msg, archive, own))
            except Dropped as why:
                log.warning("dropped archive result from %s: %s", msg["from"], why)

        handler = Callback(f"mam-{query_id}",
                           StanzaPath(f"message/mam_result@queryid={query_id}"), collect)
        iq = xmpp.make_iq_set(ito=None if own else archive)
        iq["mam"]["queryid"] = query_id
        if since:
            iq["mam"]["start"] = datetime.fromisoformat(since)
        for key, value in rsm.items():
            iq["mam"]["rsm"][key] = str(value)
        xmpp.register_handler(handler)
        self._queries.add(query_id)
        try:
            answer = await self.client.request(iq.send(timeout=60), f"history of {archive}")
        finally:
            self._queries.discard(query_id)
            xmpp.remove_handler(f"mam-{query_id}")
        fin = answer.xml.find(f"{{{NS}}}fin")
        if fin is None:
            raise ProtocolError(f"history of {archive}: archive answered without <fin/>")
        await self.client.chat.open_archived(entry.msg for entry in page.results)
        page.complete = fin.get("complete") in ("true", "1") or not page.results
        page.last = answer["mam_fin"]["rsm"]["last"] or (page.results[-1].pointer
                                                          if page.results else "")
        return page

    def _result(self, msg: Message, archive: str, own: bool) -> Entry:
        sender = msg["from"]
        if own and str(sender) not in ("", self.client.jid):
            raise Dropped("result for our archive not sent by our account")
        if not own and str(sender) != archive:
            raise Dropped(f"result for {archive} sent by {sender}")
        result = msg["mam_result"]
        if not result["id"]:
            raise Dropped("result without an archive id")
        if result.xml.find("{urn:xmpp:forward:0}forwarded/{jabber:client}message") is None:
            raise Dropped("result without a forwarded message")
        inner = result["forwarded"]["stanza"]
        stamp = result["forwarded"]["delay"]["stamp"]
        if stamp and inner.xml.find("{urn:xmpp:delay}delay") is None:
            inner["delay"]["stamp"] = stamp
        return Entry(result["id"], inner, True)
