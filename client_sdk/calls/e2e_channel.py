"""``SecureChannel`` over the E2E facade (GOST-OMEMO or OMEMO, per the domain policy).

The facade carries text bodies, so a payload travels as an encrypted body with a marker
prefix, as a ``normal`` message: the facade keeps only ``chat`` messages in the local
history, and carbons copy only ``chat``. Incoming, the channel is a chat payload hook
placed after the facade's: marked bodies never reach the chat history, and one is accepted
only if the facade decrypted exactly that message — a plaintext stanza that reuses the id
of an earlier decrypted message (a server replaying ids) is refused."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from slixmpp import Message

if TYPE_CHECKING:
    from client_sdk.client import Client
    from client_sdk.e2e.facade import E2E

log = logging.getLogger(__name__)
PREFIX = "oplot-call-secure:"
REMEMBER = 1000


class E2EChannel:
    """Needs a started ``E2E`` facade of the same client."""

    def __init__(self, client: Client, e2e: E2E) -> None:
        self.client, self.e2e = client, e2e
        self._inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._seen: OrderedDict[str, None] = OrderedDict()
        client.chat.hooks.append(self)

    def close(self) -> None:
        if self in self.client.chat.hooks:
            self.client.chat.hooks.remove(self)

    async def send(self, peer: str, payload: bytes) -> None:
        await self.e2e.send(peer, PREFIX + base64.b64encode(payload).decode(), kind="normal")

    async def receive(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            yield await self._inbox.get()

    # -- chat payload hook -----------------------------------------------------------------

    def outgoing(self, msg: Message) -> None:
        """Nothing to do: payloads are sent by ``send`` through the facade."""

    def incoming(self, msg: Message) -> bool:
        msg_id = msg["origin_id"]["id"] or msg["id"]
        decrypted = self._first_decryption(msg_id)
        if not msg["body"].startswith(PREFIX):
            return True
        sender = msg["from"].bare
        if decrypted and sender != self.client.jid:
            try:
                self._inbox.put_nowait((sender, base64.b64decode(msg["body"][len(PREFIX):])))
            except (binascii.Error, ValueError):
                log.warning("malformed call payload from %s", sender)
        else:
            log.warning("refused a call payload from %s that was not end-to-end encrypted",
                        sender)
        return False

    def _first_decryption(self, msg_id: str) -> bool:
        """True the first time a message the facade decrypted passes here."""
        status = self.e2e.encryption(msg_id)
        if not status or status.startswith("undecryptable") or msg_id in self._seen:
            return False
        self._seen[msg_id] = None
        while len(self._seen) > REMEMBER:
            self._seen.popitem(last=False)
        return True
