"""Group chat rooms (XEP-0045): create members-only, non-anonymous, persistent archived
rooms; join (with MAM catch-up before ``join`` returns) and leave; invitations (direct
XEP-0249 and mediated); affiliations and the member list; subject; bookmarks with autojoin
(XEP-0402), which is also how other devices of the account learn about our rooms."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slixmpp import JID, Message
from slixmpp.exceptions import IqError, PresenceError
from slixmpp.plugins.xep_0402.stanza import Conference

from client_sdk.errors import (
    ForbiddenError,
    NotFoundError,
    RequestTimeout,
    RoomNotFoundError,
    from_condition,
)
from client_sdk.events import ChatMessage, RoomInvite

if TYPE_CHECKING:
    from client_sdk.client import Client

log = logging.getLogger(__name__)
NS_BOOKMARKS = "urn:xmpp:bookmarks:1"
AFFILIATIONS = ("owner", "admin", "member")
ROOM_CONFIG = {
    "muc#roomconfig_persistentroom": True,
    "muc#roomconfig_membersonly": True,
    "muc#roomconfig_whois": "anyone",
    "muc#roomconfig_publicroom": False,
    "mam": True,
}


@dataclass(frozen=True)
class Bookmark:
    room: str
    name: str = ""
    nick: str = ""
    autojoin: bool = False


class Rooms:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._nicks: dict[str, str] = {}
        on = client.xmpp.add_event_handler
        on("groupchat_invite", lambda m: self._invited(m, direct=False))
        on("groupchat_direct_invite", lambda m: self._invited(m, direct=True))

    @property
    def muc(self):
        return self.client.xmpp.plugin["xep_0045"]

    @property
    def domain(self) -> str:
        return f"conference.{JID(self.client.jid).domain}"

    def jid(self, name: str) -> str:
        """A room's JID from its JID or its bare name on our conference service."""
        room = JID(name if "@" in name else f"{name}@{self.domain}")
        if not room.user:
            raise ValueError(f"{name!r} is not a room name")
        return room.bare

    def is_joined(self, room: str) -> bool:
        """Joined through us or directly through the slixmpp plugin."""
        return room in self._nicks or any(JID(j).bare == room for j in self.muc.get_joined_rooms())

    def nick(self, room: str) -> str:
        if room in self._nicks:
            return self._nicks[room]
        try:
            return self.muc.get_our_jid_in_room(JID(room)).split("/", 1)[1]
        except (KeyError, IndexError):
            return ""

    def joined(self) -> list[str]:
        return sorted(self._nicks)

    def _invited(self, msg: Message, direct: bool) -> None:
        if direct:
            inv = msg["groupchat_invite"]
            event = RoomInvite(JID(inv["jid"]).bare, msg["from"].bare, inv["reason"],
                               inv["password"], direct=True)
        else:
            inv = msg["muc"]["invite"]
            event = RoomInvite(msg["from"].bare, JID(inv["from"]).bare, inv["reason"],
                               msg["muc"]["password"], direct=False)
        if not event.room or "@" not in event.room:
            log.warning("dropped invitation without a room from %s", msg["from"])
            return
        self.client.emit(event)

    async def exists(self, room: str) -> bool:
        try:
            await self.client.request(
                self.client.xmpp.plugin["xep_0030"].get_info(jid=room, timeout=10), room)
        except NotFoundError:
            return False
        return True

    async def create(self, name: str, *, title: str = "", nick: str = "") -> str:
        """A new members-only, non-anonymous, persistent, archived room; we own it."""
        room = self.jid(name)
        if await self.exists(room):
            raise ForbiddenError(f"{room}: already exists")
        await self._enter(room, nick)
        form = await self.client.request(self.muc.get_room_config(room, timeout=10),
                                         f"configure {room}")
        fields = form.get_fields()
        values = {**ROOM_CONFIG, "muc#roomconfig_roomname": title or JID(room).user}
        for var, value in values.items():
            if var in fields:
                form.set_values({var: value})
        await self.client.request(self.muc.set_room_config(room, form, timeout=10),
                                  f"configure {room}")
        await self.bookmark(room, nick=self.nick(room), autojoin=True)
        self.client.history.begin(room)
        await self.client.history.catch_up(room)
        return room

    async def join(self, name: str, *, nick: str = "", bookmark: bool = True) -> str:
        """Enter an existing room and catch up on its history."""
        room = self.jid(name)
        if not await self.exists(room):
            raise RoomNotFoundError(f"{room}: room not found")
        self.client.history.begin(room)
        try:
            await self._enter(room, nick)
        except Exception:
            self.client.history.forget(room)
            raise
        if bookmark:
            await self.bookmark(room, nick=self.nick(room), autojoin=True)
        await self.client.history.catch_up(room)
        return room

    async def _enter(self, room: str, nick: str) -> None:
        nick = nick or self._nicks.get(room) or JID(self.client.jid).user
        self._nicks[room] = nick
        try:
            await self.muc.join_muc_wait(JID(room), nick, maxstanzas=0, timeout=15)
        except PresenceError as exc:
            self._forget(room, nick)
            err = exc.presence["error"]
            reason = "members only" if err["condition"] == "registration-required" else ""
            raise from_condition(err["condition"], f"join {room}", reason or err["text"]) \
                from None
        except TimeoutError:
            self._forget(room, nick)
            raise RequestTimeout(f"join {room}: no answer from the room") from None

    def _forget(self, room: str, nick: str) -> None:
        """A refused join: the plugin still counts the room as joined until we leave it."""
        self._nicks.pop(room, None)
        if any(JID(j).bare == room for j in self.muc.get_joined_rooms()):
            self.muc.leave_muc(JID(room), nick)

    async def leave(self, name: str) -> None:
        """Leave and drop the bookmark, so no device autojoins it again."""
        room = self.jid(name)
        nick = self._nicks.pop(room, None)
        if nick is not None:
            self.muc.leave_muc(JID(room), nick)
        await self.remove_bookmark(room)

    async def rejoin(self) -> None:
        """After a fresh session: re-enter rooms we were in and autojoin bookmarks."""
        rooms = dict(self._nicks)
        try:
            for mark in await self.bookmarks():
                if mark.autojoin:
                    rooms.setdefault(mark.room, mark.nick)
        except Exception as exc:
            log.warning("cannot read bookmarks: %s", exc)
        for room, nick in rooms.items():
            try:
                await self.join(room, nick=nick, bookmark=False)
            except Exception as exc:
                log.warning("cannot rejoin %s: %s", room, exc)

    def send(self, name: str, body: str, *, reply_to: ChatMessage | None = None) -> str:
        return self.client.chat.send(self.jid(name), body, reply_to=reply_to, kind="groupchat")

    def set_subject(self, name: str, subject: str) -> None:
        self.muc.set_subject(self.jid(name), subject)

    async def invite(self, name: str, jid: str, reason: str = "", *, direct: bool = True) -> None:
        """Make ``jid`` a member (the room is members-only), then invite them."""
        room = self.jid(name)
        await self.set_affiliation(room, jid, "member")
        if direct:
            self.client.xmpp.plugin["xep_0249"].send_invitation(JID(jid), JID(room),
                                                                reason=reason or None)
        else:
            self.muc.invite(JID(room), JID(jid), reason)

    async def set_affiliation(self, name: str, jid: str, affiliation: str) -> None:
        """owner, admin, member, or none to remove; outcast to ban."""
        room = self.jid(name)
        if affiliation not in (*AFFILIATIONS, "none", "outcast"):
            raise ValueError(f"unknown affiliation {affiliation!r}")
        await self.client.request(
            self.muc.set_affiliation(JID(room), affiliation, jid=JID(jid).bare, timeout=10),
            f"{room}: set {jid} {affiliation}")

    async def members(self, name: str) -> dict[str, str]:
        """JID → affiliation (owner, admin, member) as the room has them."""
        room = self.jid(name)
        found: dict[str, str] = {}
        for affiliation in AFFILIATIONS:
            jids = await self.client.request(
                self.muc.get_affiliation_list(JID(room), affiliation, timeout=10),
                f"{room}: {affiliation} list")
            found.update({JID(j).bare: affiliation for j in jids})
        return found

    async def bookmarks(self) -> list[Bookmark]:
        pubsub = self.client.xmpp.plugin["xep_0060"]
        try:
            iq = await pubsub.get_items(JID(self.client.jid), NS_BOOKMARKS, timeout=10)
        except IqError as exc:
            if exc.iq["error"]["condition"] == "item-not-found":
                return []
            raise from_condition(exc.iq["error"]["condition"], "bookmarks") from None
        marks = []
        for item in iq["pubsub"]["items"]:
            conf = item["conference"]
            if JID(item["id"]).user:
                marks.append(Bookmark(JID(item["id"]).bare, conf["name"], conf["nick"],
                                      conf["autojoin"]))
        return marks

    async def bookmark(self, room: str, *, nick: str = "", autojoin: bool = True,
                       name: str = "") -> None:
        conf = Conference()
        conf["autojoin"] = autojoin
        if nick:
            conf["nick"] = nick
        if name:
            conf["name"] = name
        pubsub = self.client.xmpp.plugin["xep_0060"]
        await self.client.request(
            pubsub.publish(JID(self.client.jid), NS_BOOKMARKS, id=room, payload=conf,
                           timeout=10), f"bookmark {room}")

    async def remove_bookmark(self, room: str) -> None:
        pubsub = self.client.xmpp.plugin["xep_0060"]
        with contextlib.suppress(NotFoundError):
            await self.client.request(
                pubsub.retract(JID(self.client.jid), NS_BOOKMARKS, room, notify=True,
                               timeout=10), f"remove bookmark {room}")
