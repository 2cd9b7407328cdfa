"""The E2E engine of one account: both identities, the policy, twins, encrypt/decrypt.

Independent of the transport (the slixmpp plugin, or an in-process loopback for tests and
benchmarks): give it a ``Pep`` and it turns a body into the encrypted elements to attach
to a message, and an incoming message's encrypted elements back into a body."""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from omemo import Backend, DeviceInformation, Message, SessionManager, Storage
from omemo.session_manager import (
    BundleDownloadFailed,
    BundleNotFound,
    MessageNotForUs,
    NoEligibleDevices,
    NoSession,
    SenderDistrusted,
    SenderNotFound,
    SessionManagerException,
)

from client_sdk.e2e import manager, policy, registry, trust
from client_sdk.e2e.backends.gost.backend import GostBackend
from client_sdk.e2e.envelope import Envelope
from client_sdk.e2e.errors import DecryptError, NoRecipientDevices, WireError
from client_sdk.e2e.events import DeviceListChanged, DeviceUnreachable
from client_sdk.e2e.keystore import Scoped
from client_sdk.events import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Device:
    """One device as ``oplot devices`` shows it."""

    jid: str
    id: int
    kind: str  # registry identity: "gost" or "standard"
    namespaces: tuple[str, ...]
    fingerprint: str
    trust: str
    twin_of: int = 0
    own: bool = False


@dataclass(frozen=True)
class Decrypted:
    body: str | None  # None: a key-transport/empty OMEMO message (nothing to show)
    sender_device: int
    namespace: str
    trust: str


class Engine:
    def __init__(self, own_jid: str, managers: dict[str, SessionManager],
                 backends: dict[str, list[Backend]], ctx: manager.Context,
                 profile: str) -> None:
        self.own_jid = own_jid
        self.managers = managers
        self.backends = backends
        self.ctx = ctx
        self.profile = policy.check(profile)
        self._refreshed: set[str] = set()
        self._healed: dict[tuple[str, int], float] = {}
        self._failures: dict[tuple[str, int], int] = {}

    @classmethod
    async def open(cls, own_jid: str, storage: Storage, pep: manager.Pep,
                   emit: Callable[[Event], None], profile: str = policy.DEFAULT) -> Engine:
        """Standard identity first (its device is the twin), then the GOST identity, whose
        bundle then carries the signed twin pointer."""
        ctx = manager.Context(pep, emit, Scoped(storage, "engine"))
        await ctx.load_twins()
        managers: dict[str, SessionManager] = {}
        backends: dict[str, list[Backend]] = {}
        for identity, specs in registry.identities().items():
            scoped = Scoped(storage, identity)
            backends[identity] = [entry.make(scoped) for entry in specs]
            managers[identity] = await manager.create(ctx, backends[identity], scoped, own_jid)
        engine = cls(own_jid, managers, backends, ctx, profile)
        gost_backend = next((b for group in backends.values() for b in group
                             if isinstance(b, GostBackend)), None)
        if gost_backend is not None:
            await engine._own_gost_identity(gost_backend, Scoped(storage, registry.GOST))
            await engine._publish_twin(gost_backend)
        return engine

    async def _own_gost_identity(self, backend: GostBackend, storage: Storage) -> None:
        """The core records an Ed25519 key for its own device; ours is the GOST key."""
        own = self.device_id(registry.GOST)
        await storage.store_bytes(f"/devices/{self.own_jid}/{own}/identity_key",
                                  await backend.identity_key())

    async def _publish_twin(self, backend: GostBackend) -> None:
        gost_dev, _ = await self.managers[registry.GOST].get_own_device_information()
        std_dev, _ = await self.managers[registry.STANDARD].get_own_device_information()
        await backend.set_twin(self.own_jid, gost_dev.device_id, std_dev.device_id,
                               std_dev.identity_key)
        bundle = await backend.get_bundle(self.own_jid, gost_dev.device_id)
        await self.managers[registry.GOST]._upload_bundle(bundle)

    async def close(self) -> None:
        for sm in self.managers.values():
            await sm.shutdown()

    def device_id(self, identity: str = registry.GOST) -> int:
        return self.managers[identity]._SessionManager__own_device_id  # type: ignore[attr-defined]

    # -- devices ----------------------------------------------------------------------------

    async def refresh(self, jid: str) -> None:
        """Fetch a peer's device lists now (PEP notifications may not have reached us) and
        tell the user what changed (not on first sight of a contact)."""
        for kind, sm in self.managers.items():
            before = {d.device_id for d in await sm.get_device_information(jid)}
            try:
                await sm.refresh_device_lists(jid)
            except SessionManagerException as exc:
                log.warning("device list refresh for %s: %s", jid, exc)
            after = {d.device_id for d in await sm.get_device_information(jid)}
            if before and before != after:
                namespace = registry.identities()[kind][0].namespace
                self.ctx.emit(DeviceListChanged(jid, namespace, tuple(sorted(after - before)),
                                                tuple(sorted(before - after))))
        self._refreshed.add(jid)

    def known(self) -> set[str]:
        """Contacts whose device lists this session has read."""
        return set(self._refreshed)

    async def devices(self, jid: str) -> list[Device]:
        out = []
        for kind, sm in self.managers.items():
            for info in await sm.get_device_information(jid):
                out.append(self._device(kind, info))
        return sorted(out, key=lambda d: (d.kind, d.id))

    def _device(self, kind: str, info: DeviceInformation) -> Device:
        return Device(info.bare_jid, info.device_id, kind, tuple(sorted(info.namespaces)),
                      trust.grouped_hex(info.identity_key), info.trust_level_name,
                      self.ctx.twins.get((info.bare_jid, info.device_id), 0),
                      info.bare_jid == self.own_jid
                      and info.device_id in {self.device_id(k) for k in self.managers})

    async def _usable(self, kind: str, jid: str) -> list[DeviceInformation]:
        return [d for d in await self.managers[kind].get_device_information(jid)
                if any(active for _, active in d.active)
                and trust.level(d.trust_level_name) is not trust.TrustLevel.DISTRUSTED]

    async def set_trust(self, jid: str, device: int, decision: str) -> Device:
        if decision not in (trust.VERIFIED, trust.BLIND, trust.DISTRUSTED):
            raise ValueError(f"unknown trust decision {decision!r}")
        for kind, sm in self.managers.items():
            for info in await sm.get_device_information(jid):
                if info.device_id == device:
                    await sm.set_trust(jid, info.identity_key, decision)
                    return self._device(kind, info._replace(trust_level_name=decision))
        raise ValueError(f"{jid} has no known device {device}")

    async def verify_fingerprint(self, jid: str, device: int, fingerprint: str) -> Device:
        for found in await self.devices(jid):
            if found.id == device:
                if trust.normalise(found.fingerprint) != trust.normalise(fingerprint):
                    raise ValueError(f"fingerprint does not match {jid} device {device}: "
                                     "not verified")
                return await self.set_trust(jid, device, trust.VERIFIED)
        raise ValueError(f"{jid} has no known device {device}")

    # -- encryption -------------------------------------------------------------------------

    async def encrypt(self, recipients: set[str], body: str, to: str) -> list[ET.Element]:
        """Encrypted elements for every device of ``recipients`` (and our other devices)
        under the policy: GOST-OMEMO where a GOST device exists, standard OMEMO for other
        devices except twins of GOST devices. Raises PolicyViolation / NoRecipientDevices."""
        recipients = set(recipients) - {self.own_jid}
        for jid in recipients | {self.own_jid}:
            if jid not in self._refreshed:
                await self.refresh(jid)
        env = Envelope(body, self.own_jid, to)
        gost_jids = set()
        if policy.uses_gost(self.profile):
            gost_jids = {j for j in recipients if await self._usable(registry.GOST, j)}
        policy.require_gost(self.profile, recipients - gost_jids)
        elements = []
        if policy.uses_gost(self.profile):
            elements += await self._encrypt_with(registry.GOST, gost_jids, env, frozenset())
        if policy.uses_standard(self.profile):
            twins = frozenset((jid, twin) for (jid, _), twin in self.ctx.twins.items()
                              if jid in gost_jids | {self.own_jid})
            std_jids = set()
            for jid in recipients:
                usable = [d for d in await self._usable(registry.STANDARD, jid)
                          if (jid, d.device_id) not in twins]
                if usable:
                    std_jids.add(jid)
                elif jid not in gost_jids:
                    raise NoRecipientDevices(
                        f"{jid} has no OMEMO device we can encrypt to (no device list "
                        "published, or every device distrusted)")
            own_std = self.device_id(registry.STANDARD)
            own_others = [d for d in await self._usable(registry.STANDARD, self.own_jid)
                          if d.device_id != own_std and (self.own_jid, d.device_id) not in twins]
            if std_jids or own_others:  # else the standard identity has nobody to serve
                elements += await self._encrypt_with(registry.STANDARD, std_jids, env, twins)
        return elements

    async def _encrypt_with(self, kind: str, jids: set[str], env: Envelope,
                            excluded: frozenset[tuple[str, int]]) -> list[ET.Element]:
        sm = self.managers[kind]
        token = manager.EXCLUDED.set(excluded)
        try:
            plaintexts = {e.namespace: e.pack(env) for e in registry.identities()[kind]}
            messages, errors = await sm.encrypt(frozenset(jids), plaintexts)
        except NoEligibleDevices as exc:
            raise NoRecipientDevices(
                f"no usable {kind} OMEMO device for {', '.join(sorted(exc.bare_jids))}: "
                "bundles missing or every device distrusted") from None
        finally:
            manager.EXCLUDED.reset(token)
        for error in errors:
            if isinstance(error.exception, BundleDownloadFailed | BundleNotFound):
                continue  # already reported by the bundle download
            self.ctx.emit(DeviceUnreachable(error.bare_jid, error.device_id, error.namespace,
                                            f"{type(error.exception).__name__}: "
                                            f"{error.exception}"))
        return [registry.spec(m.namespace).serialize_message(m) for m in messages]

    # -- decryption -------------------------------------------------------------------------

    async def _after_failure(self, kind: str, jid: str, device_id: int,
                             exc: Exception) -> str:
        """Re-key at once when we have no session; after HEAL_AFTER failures in a row when
        the session seems broken (a single failure may be a forgery: the session is intact
        and must stay)."""
        if isinstance(exc, NoSession):
            return await self._heal(kind, jid, device_id)
        key = (jid, device_id)
        self._failures[key] = self._failures.get(key, 0) + 1
        if "replayed" in _reason(exc) or self._failures[key] < HEAL_AFTER:
            return ""
        self._failures.pop(key)
        return await self._heal(kind, jid, device_id)

    async def _heal(self, kind: str, jid: str, device_id: int) -> str:
        """Replace a missing or broken session with a fresh key exchange (sent as an empty
        message), at most once a minute per device so forged input cannot make us spin."""
        now = time.monotonic()
        if now - self._healed.get((jid, device_id), -HEAL_INTERVAL) < HEAL_INTERVAL:
            return ""
        self._healed[(jid, device_id)] = now
        sm = self.managers[kind]
        device = next((d for d in await sm.get_device_information(jid)
                       if d.device_id == device_id), None)
        backend = next((b for b in self.backends[kind] if device is not None
                        and b.namespace in device.namespaces), None)
        if backend is None:
            return ""
        try:  # the core's replace_sessions skips devices without a session: do it here
            content, key_material = await backend.encrypt_empty()
            bundle = await sm._download_bundle(backend.namespace, jid, device_id)
            session, wrapped = await backend.build_session_active(jid, device_id, bundle,
                                                                  key_material)
            await sm._send_message(Message(backend.namespace, self.own_jid,
                                           self.device_id(kind), content,
                                           frozenset({(wrapped, session.key_exchange)})), jid)
            await backend.store_session(session)
        except Exception as exc:
            return f"could not re-key with {jid}/{device_id}: {exc}"
        return f"sent a fresh key exchange to {jid}/{device_id}; their next message will decrypt"

    def _own_key_transport(self, message: Message, sender: str, identity: str) -> bool:
        """An empty OMEMO message this very device sent (a session's key transport or
        heartbeat), met again in our archive. OMEMO never encrypts for the sending device,
        so it cannot be opened here, and there is nothing in it to show: it is not an
        undecryptable message. (A message of ours with content comes from the store.)"""
        return (sender == self.own_jid and message.device_id == self.device_id(identity)
                and message.content.empty)

    def addressed(self, elements: list[ET.Element]) -> list[ET.Element]:
        """The encrypted elements of namespaces we speak, GOST first."""
        order = [e.namespace for e in registry.REGISTRY]
        known = [el for el in elements if el.tag.split("}")[0][1:] in order]
        return sorted(known, key=lambda el: order.index(el.tag.split("}")[0][1:]))

    async def decrypt(self, elements: list[ET.Element], sender: str, to: str) -> Decrypted:
        """Decrypt the first element that carries a key for one of our devices.
        Raises DecryptError with a user-facing reason (never returns garbage)."""
        candidates = self.addressed(elements)
        if not candidates:
            raise DecryptError("encrypted with an OMEMO version this client does not speak",
                               sender)
        last: DecryptError | None = None
        for element in candidates:
            namespace = element.tag.split("}")[0][1:]
            entry = registry.spec(namespace)
            sm = self.managers[entry.identity]
            try:
                message = await entry.parse_message(element, sender, self.own_jid, sm)
            except Exception as exc:
                last = DecryptError(f"malformed {namespace} message: {exc}", sender)
                continue
            try:
                plain, device, _ = await sm.decrypt(message)
            except MessageNotForUs:
                if self._own_key_transport(message, sender, entry.identity):
                    return Decrypted(None, message.device_id, namespace, "")
                last = DecryptError(
                    f"not encrypted for this device ({entry.identity} device "
                    f"{self.device_id(entry.identity)}): the sender did not know it yet",
                    sender, message.device_id)
                continue
            except (SenderNotFound, SenderDistrusted) as exc:
                raise DecryptError(f"{type(exc).__name__}: {exc}", sender,
                                   message.device_id) from None
            except Exception as exc:
                reason = _reason(exc)
                healed = await self._after_failure(entry.identity, sender, message.device_id,
                                                   exc)
                raise DecryptError(f"cannot decrypt ({namespace} device {message.device_id}):"
                                   f" {reason}", sender, message.device_id, healed) from None
            self._failures.pop((sender, device.device_id), None)
            if plain is None:
                return Decrypted(None, device.device_id, namespace, device.trust_level_name)
            try:
                env = entry.unpack(plain)
            except WireError as exc:
                raise DecryptError(str(exc), sender, device.device_id) from None
            if env.sender and env.sender != sender:
                raise DecryptError(f"envelope says it is from {env.sender}, not {sender}: "
                                   "rejected", sender, device.device_id)
            if env.to and to and env.to != to:
                raise DecryptError(f"envelope is addressed to {env.to}, not {to}: rejected",
                                   sender, device.device_id)
            return Decrypted(env.body, device.device_id, namespace, device.trust_level_name)
        assert last is not None
        raise last


HEAL_INTERVAL = 60.0
HEAL_AFTER = 3


def _reason(exc: BaseException) -> str:
    """The innermost cause, which names what actually failed (duplicate, tag, prekey...)."""
    text = f"{type(exc).__name__}: {exc}"
    while exc.__cause__ is not None:
        exc = exc.__cause__
        text = f"{type(exc).__name__}: {exc}"
    if "Duplicate" in text:
        return f"replayed or duplicate message ({text})"
    return text
