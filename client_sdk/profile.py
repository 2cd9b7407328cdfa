"""vCard basics (XEP-0054): display name, organisation unit and avatar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from slixmpp import JID

if TYPE_CHECKING:
    from client_sdk.client import Client

MAX_AVATAR = 256 * 1024


@dataclass(frozen=True)
class Card:
    name: str = ""
    org_unit: str = ""
    avatar: bytes = b""
    avatar_type: str = ""


class Profile:
    def __init__(self, client: Client) -> None:
        self.client = client

    @property
    def _plugin(self):
        return self.client.xmpp.plugin["xep_0054"]

    async def get(self, jid: str | None = None) -> Card:
        """Someone's card (ours by default); empty fields when they never set one."""
        target = JID(jid or self.client.jid).bare
        iq = await self.client.request(
            self._plugin.get_vcard(JID(target), cached=False, timeout=10), f"vCard of {target}")
        vcard = iq["vcard_temp"]
        photo = vcard["PHOTO"]
        avatar = photo["BINVAL"] or b""
        return Card(name=vcard["FN"], org_unit=vcard["ORG"]["ORGUNIT"],
                    avatar=avatar if len(avatar) <= MAX_AVATAR else b"",
                    avatar_type=photo["TYPE"] if avatar else "")

    async def set(self, card: Card) -> None:
        """Publish our card (replaces the previous one)."""
        if len(card.avatar) > MAX_AVATAR:
            raise ValueError(f"avatar of {len(card.avatar)} bytes exceeds {MAX_AVATAR}")
        vcard = self._plugin.make_vcard()
        vcard["FN"] = card.name
        vcard["ORG"]["ORGUNIT"] = card.org_unit
        if card.avatar:
            vcard["PHOTO"]["TYPE"] = card.avatar_type or "image/png"
            vcard["PHOTO"]["BINVAL"] = card.avatar
        await self.client.request(self._plugin.publish_vcard(vcard, timeout=10), "publish vCard")
