"""What every Oplot component has: the XEP-0114 link, disco#info, XMPP ping, a heartbeat."""

from __future__ import annotations

import asyncio
import logging

from slixmpp import ComponentXMPP

from xmpp_server_plugins.config import Config

log = logging.getLogger(__name__)


class Component(ComponentXMPP):
    """Base class: subclasses set ``name``, ``identity`` and ``features`` and add handlers."""

    name = "component"
    identity: tuple[str, str] = ("component", "generic")
    features: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, jid: str, cfg: Config) -> Component:
        """Build from the configuration (components needing more than the secret override)."""
        return cls(jid, cfg.component_secret)

    def __init__(self, jid: str, secret: str) -> None:
        super().__init__(jid, secret)
        self.ready = asyncio.Event()
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("disconnected", lambda _e: self.ready.clear())

    async def _on_start(self, _event: object) -> None:
        disco = self.plugin["xep_0030"]
        category, kind = self.identity
        disco.add_identity(category=category, itype=kind, name=f"Oplot {self.name}")
        for feature in self.features:
            disco.add_feature(feature)
        self.ready.set()
        log.info("%s connected as %s", self.name, self.boundjid)
