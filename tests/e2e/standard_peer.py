"""An independent standard-OMEMO peer for tests: slixmpp-omemo (test dependency only), the
way a mobile app speaks legacy OMEMO. Nothing here is product code."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from omemo.storage import Just, Maybe, Nothing, Storage
from omemo.types import DeviceInformation, JSONType
from slixmpp import JID, ClientXMPP, Message
from slixmpp.plugins import register_plugin
from slixmpp_omemo import XEP_0384

from client_sdk.accounts import Account


class MemoryStorage(Storage):
    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, JSONType] = {}

    async def _load(self, key: str) -> Maybe[JSONType]:
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key: str, value: JSONType) -> None:
        self.data[key] = value

    async def _delete(self, key: str) -> None:
        self.data.pop(key, None)


class PeerOmemo(XEP_0384):
    default_config = {"fallback_message": "This message is OMEMO encrypted."}

    def plugin_init(self) -> None:
        self._store = MemoryStorage()
        super().plugin_init()

    @property
    def storage(self) -> Storage:
        return self._store

    @property
    def _btbv_enabled(self) -> bool:
        return True

    async def _devices_blindly_trusted(self, blindly_trusted: frozenset[DeviceInformation],
                                       identifier: str | None) -> None:
        return None

    async def _prompt_manual_trust(self, manually_trusted: frozenset[DeviceInformation],
                                   identifier: str | None) -> None:
        raise RuntimeError("test peer never prompts")


register_plugin(PeerOmemo)


class StandardPeer:
    """Logs in, publishes legacy/omemo:2 keys, records decrypted bodies with namespaces."""

    def __init__(self, account: Account) -> None:
        self.jid = account.jid
        xmpp = self.xmpp = ClientXMPP(f"{account.jid}/phone", account.password)
        xmpp.enable_direct_tls = False
        xmpp.ca_certs = account.ca_file
        for plugin in ("xep_0030", "xep_0060", "xep_0163", "xep_0280", "xep_0334", "xep_0045",
                       "xep_0115"):
            xmpp.register_plugin(plugin)
        xmpp.register_plugin("xep_0384", module=sys.modules[__name__])
        self.omemo: PeerOmemo = xmpp.plugin["xep_0384"]
        self.received: asyncio.Queue[tuple[str, set[str], Message]] = asyncio.Queue()
        self.raw: list[Message] = []
        self._ready = asyncio.get_event_loop().create_future()
        self._account = account
        xmpp.add_event_handler("session_start", self._start)
        xmpp.add_event_handler("omemo_initialized", lambda _e: self._set_ready())
        xmpp.add_event_handler("message", self._message)

    def _set_ready(self) -> None:
        if not self._ready.done():
            self._ready.set_result(None)

    async def _start(self, _event: Any) -> None:
        self.xmpp.send_presence()
        await self.xmpp.plugin["xep_0115"].update_caps()

    async def connect(self) -> None:
        self.xmpp.connect(self._account.host, self._account.port)
        await asyncio.wait_for(self._ready, 60)

    async def _message(self, msg: Message) -> None:
        if msg["type"] not in ("chat", "normal") or not self.omemo.is_encrypted(msg):
            return
        self.raw.append(msg)
        namespaces = self.omemo.is_encrypted(msg)
        try:
            plain, _device = await self.omemo.decrypt_message(msg)
        except Exception as exc:  # recorded: the test asserts on it
            await self.received.put((f"ERROR {type(exc).__name__}: {exc}", namespaces, msg))
            return
        if plain["body"]:
            await self.received.put((plain["body"], namespaces, msg))

    async def send(self, to: str, body: str) -> None:
        await self.omemo.refresh_device_lists({JID(to)}, force_download=True)
        stanza = self.xmpp.make_message(mto=JID(to), mtype="chat")
        stanza["body"] = body
        encrypted, errors = await self.omemo.encrypt_message(stanza, JID(to))
        assert encrypted is not None, errors
        encrypted.send()

    async def close(self) -> None:
        await self.xmpp.disconnect(wait=2.0)
