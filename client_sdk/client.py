"""The client facade: connect with STARTTLS (verified against the organisation CA) and
SCRAM, send and receive chat messages as an async iterator of events."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

from slixmpp import ClientXMPP

from client_sdk.accounts import Account


class ConnectError(ConnectionError):
    """Login or connection failed; the message says why."""


@dataclass(frozen=True)
class ChatMessage:
    sender: str
    body: str
    id: str


class Client:
    """One logged-in account. Use as ``async with Client(account) as c: ...``."""

    def __init__(self, account: Account, resource: str = "oplot") -> None:
        self.account = account
        self.xmpp = ClientXMPP(f"{account.jid}/{resource}", account.password)
        self.xmpp.enable_direct_tls = False
        self.xmpp.enable_plaintext = False
        if account.ca_file:
            self.xmpp.ca_certs = account.ca_file
        self.xmpp.ssl_context.verify_mode = ssl.CERT_REQUIRED
        self.xmpp.ssl_context.check_hostname = True
        for plugin in ("xep_0030", "xep_0045", "xep_0199", "xep_0313", "xep_0359"):
            self.xmpp.register_plugin(plugin)
        self._inbox: asyncio.Queue[ChatMessage] = asyncio.Queue()
        self.xmpp.add_event_handler("message", self._on_message)

    def _on_message(self, msg) -> None:
        if msg["type"] in ("chat", "normal", "groupchat") and msg["body"]:
            self._inbox.put_nowait(ChatMessage(str(msg["from"]), msg["body"], msg["id"]))

    async def connect(self, timeout: float = 15.0) -> None:
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def done(exc: Exception | None) -> None:
            if not started.done():
                started.set_exception(exc) if exc else started.set_result(None)

        self.xmpp.add_event_handler("session_start", lambda _e: done(None))
        self.xmpp.add_event_handler("failed_auth", lambda _e: done(ConnectError(
            f"{self.account.jid}: authentication failed")))
        self.xmpp.add_event_handler("connection_failed", lambda e: done(ConnectError(
            f"cannot connect to {self.account.host}:{self.account.port}: {e}")))
        self.xmpp.add_event_handler("ssl_invalid_chain", lambda e: done(ConnectError(
            f"server certificate not trusted: {e}")))
        self.xmpp.connect(self.account.host, self.account.port)
        try:
            await asyncio.wait_for(started, timeout)
        except TimeoutError as exc:
            self.xmpp.disconnect()
            raise ConnectError(f"{self.account.jid}: no session after {timeout:.0f}s") from exc
        self.xmpp.send_presence()

    async def disconnect(self) -> None:
        await self.xmpp.disconnect(wait=2.0)

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    def send(self, to: str, body: str, kind: str = "chat") -> str:
        """Send a message; return its id."""
        msg = self.xmpp.make_message(mto=to, mbody=body, mtype=kind)
        msg["id"] = msg["id"] or self.xmpp.new_id()
        msg.send()
        return msg["id"]

    async def messages(self) -> AsyncIterator[ChatMessage]:
        while True:
            yield await self._inbox.get()
