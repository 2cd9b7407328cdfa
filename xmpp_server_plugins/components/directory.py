"""The organisation directory component (``directory.DOMAIN``): user search (XEP-0055).

Users find colleagues by name, unit and position with a data form (or the legacy
first/last/nick fields). Only active users of the requester's own domain are returned,
at most ``search.MAX_RESULTS`` per query; every term is matched as plain text.
"""

from __future__ import annotations

import logging

from psycopg_pool import AsyncConnectionPool
from slixmpp.exceptions import XMPPError
from slixmpp.stanza import Iq

from xmpp_server_plugins import policy
from xmpp_server_plugins.components.base import Component
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.directory import search

log = logging.getLogger(__name__)
FIELDS = (("name", "Name"), ("unit", "Unit"), ("position", "Position"))
REPORTED = (("jid", "JID", "jid-single"), ("name", "Name", "text-single"),
            ("unit", "Unit", "text-single"), ("position", "Position", "text-single"),
            ("email", "Email", "text-single"))
LEGACY = {"first": "name", "last": "name", "nick": "name"}


class DirectoryComponent(Component):
    name = "directory"
    identity = ("directory", "user")
    features = ("urn:xmpp:ping", "jabber:iq:search")

    @classmethod
    def from_config(cls, jid: str, cfg: Config) -> DirectoryComponent:
        return cls(jid, cfg.component_secret, cfg.app_dsn, cfg.domain)

    def __init__(self, jid: str, secret: str, dsn: str = "", domain: str = "") -> None:
        super().__init__(jid, secret)
        self.domain = domain or jid.split(".", 1)[1]
        self.pool = AsyncConnectionPool(dsn, min_size=1, max_size=4, open=False,
                                        kwargs={"application_name": "oplot-directory"})
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0055", {"form_title": "Oplot directory search",
                                          "form_instructions": "Any of name, unit, position"})
        api = self.plugin["xep_0055"].api
        api.register(self._form, "search_get_form")
        api.register(self._search, "search_query")
        self.add_event_handler("session_start", self._open_pool)
        policy.attach(self, self.pool, self.domain)  # E2E policy as extended disco#info

    async def _open_pool(self, _event: object) -> None:
        await self.pool.open(wait=False)

    async def _form(self, _jid, _node, _ifrom, iq: Iq) -> Iq:
        reply = iq.reply()
        form = reply["search"]["form"]
        form["type"] = "form"
        form["title"] = "Oplot directory search"
        for var, label in FIELDS:
            form.add_field(var=var, ftype="text-single", label=label)
        return reply

    async def _search(self, _jid, _node, ifrom, iq: Iq) -> Iq:
        if ifrom.domain != self.domain:
            raise XMPPError("forbidden", "the directory serves its own domain only")
        terms = {var: "" for var, _ in FIELDS}
        for var, value in iq["search"]["form"].get_values().items():
            key = LEGACY.get(var, var)
            if key in terms and isinstance(value, str):
                terms[key] = f"{terms[key]} {value}".strip() if var == "last" else value
        if not any(v.strip() for v in terms.values()):
            raise XMPPError("bad-request", "give a name, unit or position")
        async with self.pool.connection() as conn:
            hits = await search.asearch(conn, self.domain, **terms)
        reply = iq.reply()
        form = reply["search"]["form"]
        form["type"] = "result"
        for var, label, kind in REPORTED:
            form.add_reported(var, ftype=kind, label=label)
        for hit in hits:
            form.add_item({"jid": hit.jid, "name": hit.name, "unit": hit.unit,
                           "position": hit.position, "email": hit.email})
        return reply
