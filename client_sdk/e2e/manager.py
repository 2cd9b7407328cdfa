"""The omemo SessionManager bound to one identity (GOST or standard) of one account.

The core's hooks are static methods, so each account gets a subclass made by
:func:`create` that closes over its context: the PEP transport, the registry entries,
the event sink and the set of twin devices to leave out of the current encryption."""

from __future__ import annotations

import contextvars
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from omemo import (
    Backend,
    Bundle,
    DeviceInformation,
    Message,
    SessionManager,
    Storage,
    TrustLevel,
)
from omemo.session_manager import (
    BundleDownloadFailed,
    BundleNotFound,
    DeviceListDownloadFailed,
)
from omemo.types import DeviceList

from client_sdk.e2e import trust
from client_sdk.e2e.backends.gost.structures import GostBundle
from client_sdk.e2e.errors import WireError
from client_sdk.e2e.events import DeviceUnreachable, TrustNeeded
from client_sdk.e2e.registry import BackendSpec, spec
from client_sdk.events import Event

log = logging.getLogger(__name__)

#: (jid, device id) pairs the current encryption must leave out (peers' twins).
EXCLUDED: contextvars.ContextVar[frozenset[tuple[str, int]]] = contextvars.ContextVar(
    "oplot_e2e_excluded", default=frozenset())


class Pep(Protocol):
    """What the managers need from the network (the slixmpp plugin or a loopback)."""

    async def publish(self, node: str, item: str, payload: ET.Element) -> None: ...

    async def fetch(self, jid: str, node: str, item: str | None) -> ET.Element | None: ...

    async def retract(self, node: str, item: str) -> None: ...

    async def send(self, jid: str, payload: ET.Element) -> None: ...


@dataclass
class Context:
    pep: Pep
    emit: Callable[[Event], None]
    storage: Storage
    twins: dict[tuple[str, int], int] = field(default_factory=dict)
    reported: set[tuple[str, int, str]] = field(default_factory=set)

    def unreachable(self, jid: str, device: int, namespace: str, reason: str) -> None:
        """Tell the user once per device and namespace, not on every retry."""
        if (jid, device, namespace) not in self.reported:
            self.reported.add((jid, device, namespace))
            self.emit(DeviceUnreachable(jid, device, namespace, reason))

    async def load_twins(self) -> None:
        stored = (await self.storage.load("/twins")).maybe(None) or []
        self.twins = {(jid, int(dev)): int(twin) for jid, dev, twin in stored}

    async def record_twin(self, bundle: Bundle) -> None:
        """Remember a verified twin pointer (bundles are fetched once per identity key)."""
        if isinstance(bundle, GostBundle) and bundle.twin is not None:
            key = (bundle.bare_jid, bundle.device_id)
            if self.twins.get(key) != bundle.twin.device_id:
                self.twins[key] = bundle.twin.device_id
                await self.storage.store("/twins", [[j, d, t] for (j, d), t in
                                                    sorted(self.twins.items())])


def _factory(ctx: Context) -> type[SessionManager]:
    class Manager(SessionManager):
        @staticmethod
        async def _upload_bundle(bundle: Bundle) -> None:
            entry = spec(bundle.namespace)
            await ctx.pep.publish(entry.bundle_node(bundle.device_id),
                                  entry.bundle_item(bundle.device_id),
                                  entry.serialize_bundle(bundle))

        @staticmethod
        async def _download_bundle(namespace: str, bare_jid: str, device_id: int) -> Bundle:
            entry = spec(namespace)
            try:
                element = await ctx.pep.fetch(bare_jid, entry.bundle_node(device_id),
                                              entry.bundle_item(device_id))
                if element is None:
                    raise BundleNotFound(f"{bare_jid}/{device_id} has no {namespace} bundle")
                try:
                    bundle = entry.parse_bundle(element, bare_jid, device_id)
                except Exception as exc:
                    raise BundleDownloadFailed(f"bad bundle: {exc}") from exc
            except BundleNotFound as exc:
                ctx.unreachable(bare_jid, device_id, namespace, str(exc))
                raise
            except Exception as exc:
                ctx.unreachable(bare_jid, device_id, namespace, f"bundle unusable: {exc}")
                raise BundleDownloadFailed(f"{bare_jid}/{device_id}: {exc}") from exc
            ctx.reported.discard((bare_jid, device_id, namespace))
            await ctx.record_twin(bundle)
            return bundle

        @staticmethod
        async def _delete_bundle(namespace: str, device_id: int) -> None:
            entry = spec(namespace)
            await ctx.pep.retract(entry.bundle_node(device_id), entry.bundle_item(device_id))

        @staticmethod
        async def _upload_device_list(namespace: str, device_list: DeviceList) -> None:
            entry = spec(namespace)
            await ctx.pep.publish(entry.devices_node, entry.devices_item,
                                  entry.serialize_device_list(device_list))

        @staticmethod
        async def _download_device_list(namespace: str, bare_jid: str) -> DeviceList:
            entry = spec(namespace)
            try:
                element = await ctx.pep.fetch(bare_jid, entry.devices_node, None)
            except Exception as exc:
                raise DeviceListDownloadFailed(f"{bare_jid}: {exc}") from exc
            return {} if element is None else parse_device_list(entry, element, bare_jid)

        async def _evaluate_custom_trust_level(self, device: DeviceInformation) -> TrustLevel:
            if (device.bare_jid, device.device_id) in EXCLUDED.get():
                return TrustLevel.DISTRUSTED
            return trust.level(device.trust_level_name)

        async def _make_trust_decision(self, undecided: frozenset[DeviceInformation],
                                       identifier: str | None) -> None:
            """BTBV; a device left undecided is skipped for this message (not an error for
            the whole send) and the user is asked through a TrustNeeded event."""
            waiting = set()
            for device in undecided:
                known = await self.get_device_information(device.bare_jid)
                decision = trust.blind_decision(device, known)
                if decision == trust.UNDECIDED:
                    waiting.add((device.bare_jid, device.device_id))
                    ctx.emit(TrustNeeded(device.bare_jid, device.device_id,
                                         trust.grouped_hex(device.identity_key)))
                else:
                    await self.set_trust(device.bare_jid, device.identity_key, decision)
            if waiting:
                EXCLUDED.set(EXCLUDED.get() | waiting)  # same task: seen by the caller

        @staticmethod
        async def _send_message(message: Message, bare_jid: str) -> None:
            await ctx.pep.send(bare_jid, spec(message.namespace).serialize_message(message))

        @staticmethod
        def format_identity_key(identity_key: bytes) -> list[str]:
            return trust.grouped_hex(identity_key).split()

    return Manager


def parse_device_list(entry: BackendSpec, element: ET.Element, bare_jid: str) -> DeviceList:
    """Bounded parse: a list with thousands of entries is refused, not processed."""
    if len(element) > 256 or len(ET.tostring(element)) > 64 * 1024:
        raise DeviceListDownloadFailed(f"{bare_jid}: {entry.namespace} device list too large "
                                       f"({len(element)} entries) - ignored")
    try:
        return entry.parse_device_list(element)
    except (WireError, ValueError, Exception) as exc:
        raise DeviceListDownloadFailed(f"{bare_jid}: malformed {entry.namespace} device list: "
                                       f"{exc}") from exc


async def create(ctx: Context, backends: list[Backend], storage: Storage,
                 own_jid: str) -> SessionManager:
    """Load or create the identity, publish bundles and device lists, leave history mode."""
    manager = await _factory(ctx).create(backends, storage, own_jid, None, trust.UNDECIDED)
    await manager.after_history_sync()
    return manager
