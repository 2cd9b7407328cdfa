"""``SecureChannel`` over the E2E facade (GOST-OMEMO or OMEMO, per the domain policy).

The facade carries text bodies, so a payload travels as an encrypted body with a marker
prefix; only messages the facade reports as decrypted are accepted, so the sender is the
authenticated account. Untested against a live E2E session so far (see docs/calls.md)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from client_sdk.events import ChatMessage

if TYPE_CHECKING:
    from client_sdk.client import Client
    from client_sdk.e2e.facade import E2E

PREFIX = "oplot-call-secure:"


class E2EChannel:
    def __init__(self, client: Client, e2e: E2E) -> None:
        self.client, self.e2e = client, e2e

    async def send(self, peer: str, payload: bytes) -> None:
        await self.e2e.send(peer, PREFIX + base64.b64encode(payload).decode())

    async def receive(self) -> AsyncIterator[tuple[str, bytes]]:
        async for event in self.client.events():
            if not isinstance(event, ChatMessage) or event.outgoing:
                continue
            protection = self.e2e.encryption(event.id)
            if event.body.startswith(PREFIX) and protection and \
                    not protection.startswith("undecryptable"):
                yield event.sender.split("/", 1)[0], base64.b64decode(event.body[len(PREFIX):])
