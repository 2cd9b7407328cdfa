"""Blocking (XEP-0191): the server drops everything from a blocked JID, on every device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slixmpp import JID

if TYPE_CHECKING:
    from client_sdk.client import Client


class Blocking:
    def __init__(self, client: Client) -> None:
        self.client = client

    @property
    def _plugin(self):
        return self.client.xmpp.plugin["xep_0191"]

    async def block(self, *jids: str) -> None:
        await self.client.request(self._plugin.block([JID(j) for j in jids], timeout=10),
                                  f"block {', '.join(jids)}")

    async def unblock(self, *jids: str) -> None:
        await self.client.request(self._plugin.unblock([JID(j) for j in jids], timeout=10),
                                  f"unblock {', '.join(jids)}")

    async def blocked(self) -> set[str]:
        jids = await self.client.request(self._plugin.get_blocked_jids(timeout=10),
                                         "block list")
        return {str(j) for j in jids}
