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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slixmpp import Message
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from client_sdk.chat import Dropped
from client_sdk.errors import ProtocolError
from client_sdk.events import ChatMessage, Event, SyncDone

if TYPE_CHECKING:
    from client_sdk.client import Client

log = logging.getLogger(__name__)
NS = "urn:xmpp:mam:2"


@dataclass
class Page:
    results: list[tuple[str, Message]] = field(default_factory=list)
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

    def live(self, archive: str, msg: Message, stanza_id: str) -> None:
        """A live message of a synced archive: its archive id becomes the pointer."""
        self._feed(archive, [(stanza_id, msg)], archived=False)

    async def synced(self, archive: str | None = None, timeout: float = 60.0) -> None:
        """Wait until the current catch-up of ``archive`` (default: our account) is done."""
        done = self._done.setdefault(archive or self.client.jid, asyncio.Event())
        await asyncio.wait_for(done.wait(), timeout)

    async def catch_up(self, archive: str) -> int:
        """Fetch what ``archive`` has after our pointer; return how many messages were new.

        A newer catch-up of the same archive (after a reconnect) supersedes this one."""
        previous = self._running.get(archive)
        if previous is not None and not previous.done():
            previous.cancel()
        me = self._running[archive] = asyncio.current_task()
        self.begin(archive)
        count, complete = 0, False
        try:
            count = await self._fetch(archive)
            complete = True
        except asyncio.CancelledError:
            if self._running.get(archive) is me:
                raise
            return 0
        except Exception as exc:
            log.error("catch-up of %s stopped: %s", archive, exc)
        count += self._release(archive, advance=complete)
        self.client.emit(SyncDone(archive, count))
        return count

    async def _fetch(self, archive: str) -> int:
        pointer = self.client.store.pointer(archive)
        if pointer is None:
            page = await self._query(archive, {"before": "", "max": self.first_sync})
            return self._feed(archive, page.results, archived=True, last=page.last)
        count = 0
        page = Page(last=pointer, complete=False)
        while not page.complete:
            page = await self._query(archive, {"after": page.last, "max": self.page_size})
            count += self._feed(archive, page.results, archived=True, last=page.last)
        return count

    def _release(self, archive: str, advance: bool) -> int:
        """Feed held live messages (synchronously: nothing can slip in between).

        After a failed catch-up they are stored without moving the pointer, so the next
        catch-up still covers the hole."""
        held = self._held.pop(archive, [])
        fed = 0
        for msg, stanza_id in held:
            try:
                fed += self._feed(archive, [(stanza_id if advance else "", msg)],
                                  archived=False, stanza_id=stanza_id)
            except Exception:
                log.exception("dropped held message from %s", msg["from"])
        self._done[archive].set()
        return fed

    def _feed(self, archive: str, results: list[tuple[str, Message]], archived: bool,
              last: str = "", stanza_id: str = "") -> int:
        """Ingest messages in one transaction, advance the pointer, then emit.

        Each result is (pointer id, message); ``stanza_id`` overrides the id recorded for a
        single held message whose pointer id was withheld."""
        events: list[Event] = []
        chat = self.client.chat
        with self.client.store.batch():
            for pointer, msg in results:
                try:
                    found = chat.ingest(msg, archive, pointer or stanza_id, archived=archived)
                except Dropped as why:
                    log.warning("dropped message %s from %s: %s", pointer, msg["from"], why)
                    found = []
                if not archived:
                    chat.acknowledge(msg, found)
                events.extend(found)
                last = pointer or last
            if last:
                self.client.store.set_pointer(archive, last)
        for event in events:
            self.client.emit(event)
        return sum(1 for e in events if isinstance(e, ChatMessage))

    async def _query(self, archive: str, rsm: dict[str, object]) -> Page:
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
        for key, value in rsm.items():
            iq["mam"]["rsm"][key] = str(value)
        xmpp.register_handler(handler)
        try:
            answer = await self.client.request(iq.send(timeout=60), f"history of {archive}")
        finally:
            xmpp.remove_handler(f"mam-{query_id}")
        fin = answer.xml.find(f"{{{NS}}}fin")
        if fin is None:
            raise ProtocolError(f"history of {archive}: archive answered without <fin/>")
        page.complete = fin.get("complete") in ("true", "1") or not page.results
        page.last = answer["mam_fin"]["rsm"]["last"] or (page.results[-1][0]
                                                          if page.results else "")
        return page

    def _result(self, msg: Message, archive: str, own: bool) -> tuple[str, Message]:
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
        return result["id"], inner
