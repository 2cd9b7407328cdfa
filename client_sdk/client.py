"""The client facade: one logged-in device of one account.

STARTTLS verified against the organisation CA, SCRAM (PLAIN only once TLS is up), stream
management resumption (XEP-0198), carbons (XEP-0280), reconnect with jittered exponential
backoff, and one async iterator of typed events (``events()``). Features live in the
modules named for them and hang off the client: ``chat``, ``roster``, ``rooms``,
``history``, ``blocking``, ``profile``; the local store is ``store``."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.plugins.xep_0198.stanza import RequestAck
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from client_sdk import accounts
from client_sdk.accounts import Account
from client_sdk.blocking import Blocking
from client_sdk.chat import Chat
from client_sdk.errors import (
    AuthError,
    CertificateError,
    ConnectError,
    NotConnectedError,
    RequestTimeout,
    UnreachableError,
    from_condition,
)
from client_sdk.events import ChatMessage, Connected, Disconnected, Event
from client_sdk.history import History
from client_sdk.muc import Rooms
from client_sdk.profile import Profile
from client_sdk.roster import Roster
from client_sdk.store import Store
from client_sdk.stream import Stream

__all__ = ["Client", "ConnectError", "ChatMessage"]

log = logging.getLogger(__name__)
T = TypeVar("T")
PLUGINS = ("xep_0030", "xep_0045", "xep_0054", "xep_0059", "xep_0060", "xep_0085", "xep_0115",
           "xep_0184", "xep_0191", "xep_0198", "xep_0199", "xep_0203", "xep_0249", "xep_0280",
           "xep_0297", "xep_0308", "xep_0313", "xep_0333", "xep_0334", "xep_0359", "xep_0402",
           "xep_0424", "xep_0428", "xep_0444", "xep_0461")
# Plugin handlers for message payloads that Chat reads itself: every handler is matched
# against every incoming stanza, and these alone cost more than the rest of the receive path.
SUPERSEDED = ("Chat State", "Message Receipt", "Message Receipt Request", "Message Correction",
              "Received Chat Marker", "Displayed Chat Marker", "Acknowledged Chat Marker",
              "Message Retracted", "Reaction received", "Message replied to", "Carbon Received",
              "Carbon Sent", "Forwarded Stanza",
              "IM")  # slixmpp's "message" event, which nothing here listens to
ACK_DELAY = 0.1
# stanzas sent between our ack requests (XEP-0198; slixmpp asks every 5): each request
# is a stanza out and an answer in, and a message already costs a receipt each way. What
# is unacknowledged is re-sent after resumption either way
SM_WINDOW = 20
SENT_DELAY = 0.05  # at the latest, records of our sent stanzas are written this much later
COMMIT_DELAY = 0.05  # at the latest, rows whose events went out are committed this much later
SHOWN_MAX = 32  # a turn with more new rows (a catch-up page) commits instead of logging keys


def store_path(jid: str, resource: str) -> Path:
    """Each device (account + resource) has its own store: sync state is per device."""
    return accounts.home() / "data" / jid / f"{resource}.sqlite3"


class Backoff:
    """Exponential backoff with full jitter, capped, reset after a good session."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap, self.attempt = first, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.first * 2 ** self.attempt)
        self.attempt += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempt = 0


class Client:
    """One logged-in device. Use as ``async with Client(account) as c: ...``."""

    def __init__(self, account: Account, resource: str = "oplot", *,
                 store: Store | None = None, reconnect: bool = True) -> None:
        self.account = account
        self.resource = resource
        self.xmpp = self._make_xmpp()
        self.store = store or Store(store_path(account.jid, resource))
        self.store.before_read = self.store_pending
        self.reconnect = reconnect
        self.backoff = Backoff()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._login: asyncio.Future[None] | None = None
        self._closing = False
        self._retry: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._ack: asyncio.TimerHandle | None = None
        self._turn: list[Event] | None = None  # events held until the turn's rows are safe
        self._txn = False  # a store transaction is open (over one or several turns)
        self._commit_timer: asyncio.TimerHandle | None = None
        # store writes for stanzas we sent, each with the stream's flush count at sending
        self._sent: list[tuple[int, Callable[[], None]]] = []
        self._sent_timer: asyncio.TimerHandle | None = None
        self.chat = Chat(self)
        self.history = History(self)
        self.roster = Roster(self)
        self.rooms = Rooms(self)
        self.blocking = Blocking(self)
        self.profile = Profile(self)
        self._wire()

    @property
    def jid(self) -> str:
        """Our bare JID."""
        return self.account.jid

    def _make_xmpp(self) -> Stream:
        xmpp = Stream(f"{self.account.jid}/{self.resource}", self.account.password)
        xmpp.enable_direct_tls = False
        xmpp.enable_plaintext = False
        xmpp.auto_authorize = None
        xmpp.auto_subscribe = False
        if self.account.ca_file:
            xmpp.ca_certs = self.account.ca_file
        xmpp.ssl_context.verify_mode = ssl.CERT_REQUIRED
        xmpp.ssl_context.check_hostname = True
        for plugin in PLUGINS:
            xmpp.register_plugin(plugin)
        xmpp.plugin["xep_0184"].auto_ack = False
        xmpp.plugin["xep_0184"].auto_request = False
        # its out filter only adds requests when auto_request is on; Chat adds its own
        xmpp.del_filter("out", xmpp.plugin["xep_0184"]._filter_add_receipt_request)
        sm = xmpp.plugin["xep_0198"]
        sm.allow_resume = True
        sm.window = sm.window_counter = SM_WINDOW
        xmpp.use_sync_caps()
        for name in SUPERSEDED:
            xmpp.remove_handler(name)
        return xmpp

    def _wire(self) -> None:
        on = self.xmpp.add_event_handler
        on("session_bind", self._on_bind)
        on("session_start", self._on_session_start)
        on("session_resumed", self._on_resumed)
        on("failed_auth", lambda _e: self._fail(AuthError(
            f"{self.jid}: authentication failed (wrong password or unknown account)")))
        on("connection_failed", self._on_connection_failed)
        on("ssl_invalid_chain", lambda e: self._fail(CertificateError(
            f"server certificate not trusted by {self.account.ca_file or 'system CAs'}: {e}")))
        on("ssl_invalid_cert", lambda e: self._fail(CertificateError(
            f"server certificate invalid: {e}")))
        on("disconnected", self._on_disconnected)
        self.xmpp.after_read.append(self._end_turn)
        self.xmpp.after_flush.append(self._flushed)
        self.xmpp.remove_handler("Stream Management Request Ack")
        # matched by tag: RequestAck has no plugin_attrib, so a StanzaPath never matches it
        # (no ack at all, and ejabberd drops the stream after 60 s)
        self.xmpp.register_handler(Callback("oplot-sm-request",
                                            MatchXPath(RequestAck.tag_name()), self._ack_later))

    # -- events ---------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Queue an event for ``events()``; while a turn's writes are pending (``hold``), at
        the end of the turn, after they commit."""
        if self._turn is not None:
            self._turn.append(event)
        else:
            self._events.put_nowait(event)

    def hold(self) -> None:
        """Make the rest of this event-loop turn part of the open store transaction (or a
        new one), and hold back the events emitted meanwhile until the turn ends (when the
        socket read being handled is done, or at the start of the next turn) and its new
        rows are safe (``_secure``): nothing is shown that a crash could show twice.
        Records of what we sent earlier and is on the wire go first in it."""
        if self._turn is None:
            self._turn = []
            if not self._txn:
                self.store.begin()
                self._txn = True
            asyncio.get_running_loop().call_soon(self._end_turn)
            self._store_sent()

    def after_send(self, write: Callable[[], None]) -> None:
        """Record something we sent (our message, correction, reaction) once it is on the
        wire: right after the write that carries it (``_flushed``), at the latest
        ``SENT_DELAY`` later, or before the store is read (``store_pending``); such writes
        keep their order, and go into the device's open transaction (a commit of its own
        per sent message was half the store's commits in a conversation). A crash before
        the commit loses nothing: catch-up brings our own messages back."""
        self._sent.append((self.xmpp.flushes, write))
        if self._sent_timer is None:
            self._sent_timer = asyncio.get_running_loop().call_later(SENT_DELAY,
                                                                     self._sent_due)

    def _flushed(self) -> None:
        """A write went out: the records of what it carried are written now, while the
        server handles it, rather than first thing in the turn that brings the reply (on
        its way to the application)."""
        if self._sent:
            self.store_pending()

    def _sent_due(self) -> None:
        self._sent_timer = None
        self.store_pending()

    def store_pending(self) -> None:
        """Write the records of what we sent now (into the open transaction, or a new one),
        so a read of the store (on this connection) sees them."""
        if not self._sent:
            return
        if self._turn is None:
            self.hold()
        else:
            self._store_sent()
        if self._sent and self._sent_timer is None:  # not on the wire yet: try again later
            self._sent_timer = asyncio.get_running_loop().call_later(SENT_DELAY,
                                                                     self._sent_due)

    def _store_sent(self) -> None:
        """Run the pending records of sent stanzas that are on the wire, in order: written
        by a flush after they were sent, and nothing left in slixmpp's queue (every out
        filter is synchronous, so an empty queue means everything sent so far was
        written)."""
        xmpp = self.xmpp
        if not self._sent or not xmpp.waiting_queue.empty():
            return
        done = next((i for i, (flushes, _) in enumerate(self._sent)
                     if flushes >= xmpp.flushes), len(self._sent))
        writes, self._sent = self._sent[:done], self._sent[done:]
        for _, write in writes:  # each one statement, so a failed one leaves nothing behind
            try:
                write()
            except (sqlite3.Error, ValueError):
                log.exception("could not store a sent message")

    def _end_turn(self) -> None:
        """Make the turn's rows safe and emit its events (at the start of the next turn, or
        at once after a socket read: whichever comes first ends the turn)."""
        if self._turn is None:
            return
        self.xmpp.flush()
        events, self._turn = self._turn, None
        self._store_sent()
        self._secure()
        for event in events:
            self._events.put_nowait(event)

    def _secure(self) -> None:
        """Before the turn's events go out: the keys of its new rows are appended to the
        store's shown log (one write) and the transaction is committed ``COMMIT_DELAY``
        later, with the turns that follow (a commit per socket read was the store's largest
        cost per received message). A crash before that commit loses rows, not messages:
        catch-up fetches them again (the sync pointer is written in the same transaction)
        and the log keeps their events from going out twice. A large turn (a catch-up page)
        or a log that cannot be written commits now instead."""
        shown = self.store.shown
        if len(shown.unsaved) <= SHOWN_MAX:
            try:
                shown.write()
            except OSError:
                log.exception("shown log not written; committing instead")
            else:
                if self._commit_timer is None:
                    self._commit_timer = asyncio.get_running_loop().call_later(
                        COMMIT_DELAY, self._commit_due)
                return
        self.commit()

    def _commit_due(self) -> None:
        self._commit_timer = None
        if self._turn is None:  # else the turn's end schedules the commit again
            self.commit()

    def commit(self) -> None:
        """Commit the open store transaction now (pending pointer moves included)."""
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        if not self._txn:
            return
        self._txn = False
        try:
            self.store.end()
        except sqlite3.Error:
            log.exception("store commit failed; catch-up after the next login fetches the"
                          " messages again")

    async def events(self) -> AsyncIterator[Event]:
        """Every event in arrival order; several iterators share (split) one queue."""
        while True:
            yield await self._events.get()

    async def messages(self) -> AsyncIterator[ChatMessage]:
        """Only chat messages (other events are consumed and dropped)."""
        async for event in self.events():
            if isinstance(event, ChatMessage):
                yield event

    # -- connection -----------------------------------------------------------------------

    async def connect(self, timeout: float = 15.0) -> None:
        """Log in, then enable carbons, send presence and start history catch-up."""
        self._closing = False
        self._login = asyncio.get_running_loop().create_future()
        self.xmpp.connect(self.account.host, self.account.port)
        try:
            await asyncio.wait_for(asyncio.shield(self._login), timeout)
        except TimeoutError as exc:
            self._abort()
            raise ConnectError(f"{self.jid}: no session after {timeout:.0f}s") from exc
        except ConnectError:
            self._abort()
            raise

    def _abort(self) -> None:
        self._closing = True
        self.xmpp.cancel_connection_attempt()
        with suppress(AttributeError):  # slixmpp trips over an SSL transport already closed
            self.xmpp.abort()

    def _fail(self, exc: ConnectError) -> None:
        if self._login is not None and not self._login.done():
            self._login.set_exception(exc)
        else:
            log.error("%s; not reconnecting", exc)
            self._abort()
            self.emit(Disconnected(str(exc)))

    def _on_connection_failed(self, error: object) -> None:
        self.xmpp.cancel_connection_attempt()
        if self._login is not None and not self._login.done():
            self._fail(UnreachableError(
                f"cannot reach {self.account.host}:{self.account.port}: {error}"))
        elif not self._closing:
            self._schedule_reconnect()

    def _on_bind(self, _event: object) -> None:
        """A fresh session (not a resumption): hold live messages until catch-up is done,
        including stanzas the server re-routes from our previous, dead session."""
        self.history.begin(self.jid)

    def _on_session_start(self, _event: object) -> None:
        self.backoff.reset()
        self.spawn(self._setup_session())

    async def _setup_session(self) -> None:
        try:
            await self.roster.load()
            await self.request(self.xmpp.plugin["xep_0280"].enable(timeout=10), "carbons")
            self.roster.send_presence()
        except Exception as exc:
            if self._login is not None and not self._login.done():
                self._login.set_exception(ConnectError(f"{self.jid}: session setup: {exc}"))
                return
            log.warning("session setup: %s", exc)
        if self._login is not None and not self._login.done():
            self._login.set_result(None)
        self.emit(Connected(resumed=False))
        await self.history.catch_up(self.jid)
        await self.rooms.rejoin()

    def _on_resumed(self, _event: object) -> None:
        """Resumed (XEP-0198): the server re-sends what we missed, but not always in archive
        order, so each archive is caught up again and the re-sent stanzas are held and
        de-duplicated behind it."""
        self.backoff.reset()
        self.emit(Connected(resumed=True))
        for archive in (self.jid, *self.rooms.joined()):
            self.history.begin(archive)
            self.spawn(self.history.catch_up(archive))

    def _ack_later(self, _request: object) -> None:
        """Answer the server's ack request (XEP-0198) a moment later, for every stanza
        received meanwhile. ejabberd asks after each stanza while no request is open, so
        answering at once doubles the stanzas on the wire and puts an ``<a/>`` write in
        front of every reply; it waits 60 s for an answer, unacked stanzas stay queued."""
        if self._ack is None:
            self._ack = asyncio.get_running_loop().call_later(ACK_DELAY, self._send_ack)

    def _send_ack(self) -> None:
        self._ack = None
        self.xmpp.plugin["xep_0198"].send_ack()

    def _on_disconnected(self, reason: object) -> None:
        if self._ack is not None:  # the next stream counts (or resumes) on its own
            self._ack.cancel()
            self._ack = None
        if self._closing or (self._login is not None and not self._login.done()):
            return
        self.emit(Disconnected(str(reason or "connection lost")))
        if self.reconnect:
            self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._retry is None or self._retry.done():
            self._retry = self.spawn(self._reconnect_later())

    async def _reconnect_later(self) -> None:
        await asyncio.sleep(self.backoff.next())
        if not self._closing:
            log.info("%s: reconnecting", self.jid)
            self.xmpp.connect(self.account.host, self.account.port)

    async def disconnect(self) -> None:
        """Close the stream (ends the server session); no reconnect after this."""
        self._closing = True
        if self._retry is not None:
            self._retry.cancel()
        for task in list(self._tasks):
            task.cancel()
        self.xmpp.cancel_connection_attempt()
        if self.xmpp.transport is not None:
            with suppress(AttributeError):  # same slixmpp SSL teardown race as in _abort
                await self.xmpp.disconnect(wait=2.0)
        self.store_pending()  # what we sent before closing is on the wire by now
        self._end_turn()
        self.commit()
        self.store.flush_pointers()

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    # -- helpers for the feature modules ---------------------------------------------------

    def spawn(self, coro: Awaitable[T]) -> asyncio.Task[T]:
        """Run a background task whose failure is logged, never silently lost."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def request(self, pending: Awaitable[T], what: str) -> T:
        """Await an IQ and turn XMPP errors into our typed exceptions naming ``what``."""
        if not self.xmpp.is_connected():
            raise NotConnectedError(f"{what}: not connected")
        try:
            return await pending
        except IqError as exc:
            err = exc.iq["error"]
            raise from_condition(err["condition"], what, err["text"]) from None
        except IqTimeout:
            raise RequestTimeout(f"{what}: no answer from the server") from None

    def send(self, to: str, body: str, kind: str = "chat") -> str:
        """Send a message (1:1 or to a room); return its stable id."""
        if kind == "groupchat":
            return self.rooms.send(to, body)
        return self.chat.send(to, body)
