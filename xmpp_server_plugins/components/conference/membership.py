"""Who may join a room's conference: the owners, admins and members of the group room
(rooms are members-only), read from ejabberd's MUC through its REST API at every join, so
a member removed from the room cannot join its call any more."""

from __future__ import annotations

import asyncio
from typing import Protocol

from xmpp_server_plugins.ejabberd_api import EjabberdApi, EjabberdApiError

ALLOWED = frozenset({"owner", "admin", "member"})


class NoSuchRoom(LookupError):
    """The conference names a room the MUC service does not have."""


class MemberLookup(Protocol):
    async def __call__(self, room: str) -> set[str]:
        """Bare JIDs allowed in ``room`` (its local part); ``NoSuchRoom`` if it is absent."""


class RoomMembers:
    def __init__(self, api: EjabberdApi, service: str) -> None:
        self.api, self.service = api, service

    async def __call__(self, room: str) -> set[str]:
        try:
            rows = await asyncio.to_thread(self.api.call, "get_room_affiliations",
                                           name=room, service=self.service)
        except EjabberdApiError as exc:
            raise NoSuchRoom(f"no room {room}@{self.service} ({exc})") from None
        return {f"{r['username']}@{r['domain']}" for r in rows or []
                if r.get("affiliation") in ALLOWED}
