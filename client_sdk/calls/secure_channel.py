"""What calls need from end-to-end encryption: an authenticated, confidential datagram
channel to a peer account. DTLS fingerprints travel through it, so a server that rewrites
Jingle cannot put itself in the media path.

Calls depend on this protocol only; ``client_sdk.calls.e2e_channel`` implements it over
the E2E plugin, ``MemorySecureChannel`` serves tests and in-process use."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol


class SecureChannel(Protocol):
    async def send(self, peer: str, payload: bytes) -> None:
        """Deliver ``payload`` to every device of bare JID ``peer``, end-to-end encrypted."""

    def receive(self) -> AsyncIterator[tuple[str, bytes]]:
        """(authenticated sender bare JID, payload) for every payload that arrives."""


class MemorySecureChannel:
    """Channels sharing one ``hub`` dict reach each other in process (a trusted path)."""

    def __init__(self, jid: str, hub: dict[str, list[MemorySecureChannel]]) -> None:
        self.jid = jid.split("/", 1)[0]
        self.hub = hub
        self.inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        hub.setdefault(self.jid, []).append(self)

    async def send(self, peer: str, payload: bytes) -> None:
        for channel in self.hub.get(peer.split("/", 1)[0], []):
            channel.inbox.put_nowait((self.jid, payload))

    async def receive(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            yield await self.inbox.get()

    def close(self) -> None:
        self.hub[self.jid].remove(self)
