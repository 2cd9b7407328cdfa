"""Contacts and presence: subscribe, approve, deny, remove; our presence with status text.

Subscription requests are never answered automatically: they arrive as
``SubscriptionRequest`` events and the user decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from slixmpp import JID, Presence

from client_sdk.events import PresenceChanged, SubscriptionChanged, SubscriptionRequest

if TYPE_CHECKING:
    from client_sdk.client import Client

SHOWS = {"", "away", "chat", "dnd", "xa"}
AVAILABILITY = {"available", "unavailable", "away", "chat", "dnd", "xa"}
NS_MUC_USER = "{http://jabber.org/protocol/muc#user}x"


@dataclass(frozen=True)
class Contact:
    jid: str
    name: str
    subscription: str
    pending_out: bool
    groups: tuple[str, ...]
    online: bool


class Roster:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.status = ""
        self.show = ""
        on = client.xmpp.add_event_handler
        on("presence_subscribe", lambda p: self._request(p))
        for change in ("subscribed", "unsubscribed", "unsubscribe"):
            on(f"presence_{change}", lambda p, c=change: self._changed(p, c))
        on("presence", self._presence)

    @property
    def xmpp(self):
        return self.client.xmpp

    def _request(self, pres: Presence) -> None:
        self.client.emit(SubscriptionRequest(pres["from"].bare))

    def _changed(self, pres: Presence, change: str) -> None:
        self.client.emit(SubscriptionChanged(pres["from"].bare, change))

    def _presence(self, pres: Presence) -> None:
        """Availability changes only (slixmpp's type is the show value when available)."""
        kind = pres["type"]
        if kind not in AVAILABILITY or pres.xml.find(NS_MUC_USER) is not None:
            return  # subscriptions, errors, and room occupants (the rooms module's business)
        available = kind != "unavailable"
        show = pres["show"] if pres["show"] in SHOWS else ""
        self.client.emit(PresenceChanged(str(pres["from"]), available, show,
                                         pres["status"][:1024]))

    async def load(self) -> None:
        await self.client.request(self.xmpp.get_roster(timeout=10), "roster")

    def contacts(self) -> list[Contact]:
        roster = self.xmpp.client_roster
        found = []
        for jid in roster:
            if jid == self.client.jid:
                continue
            item = roster[jid]
            found.append(Contact(jid=str(jid), name=item["name"],
                                 subscription=item["subscription"],
                                 pending_out=bool(item["pending_out"]),
                                 groups=tuple(item["groups"]), online=bool(item.resources)))
        return sorted(found, key=lambda c: c.jid)

    async def subscribe(self, jid: str, name: str = "") -> None:
        """Add ``jid`` to the roster and ask to see their presence."""
        bare = JID(jid).bare
        await self.client.request(self.xmpp.update_roster(bare, name=name or None, timeout=10),
                                  f"add contact {bare}")
        self.xmpp.send_presence(pto=bare, ptype="subscribe")

    def approve(self, jid: str) -> None:
        """Let ``jid`` see our presence."""
        self.xmpp.send_presence(pto=JID(jid).bare, ptype="subscribed")

    def deny(self, jid: str) -> None:
        """Refuse (or revoke) ``jid``'s view of our presence."""
        self.xmpp.send_presence(pto=JID(jid).bare, ptype="unsubscribed")

    async def remove(self, jid: str) -> None:
        """Drop the contact and both subscriptions."""
        bare = JID(jid).bare
        await self.client.request(self.xmpp.del_roster_item(bare), f"remove contact {bare}")

    def set_presence(self, status: str = "", show: str = "") -> None:
        """Publish our availability with an optional status text (kept across sessions)."""
        if show not in SHOWS:
            raise ValueError(f"unknown show {show!r}; use one of away, chat, dnd, xa")
        self.status, self.show = status, show
        self.send_presence()

    def send_presence(self) -> None:
        self.xmpp.send_presence(pstatus=self.status or None, pshow=self.show or None)
