"""GostBackend: the omemo.Backend for ``urn:oplot:omemo:gost:0``.

It owns a GOST-native identity (its own SessionManager and device id, because the omemo
core assumes one identity key per manager), publishes a twin pointer to the standard
device of the same installation, and wraps the payload key with a key commitment."""

from __future__ import annotations

import secrets
import time

from omemo.backend import Backend, DecryptionFailed, KeyExchangeFailed
from omemo.bundle import Bundle
from omemo.message import Content, EncryptedKeyMaterial, KeyExchange, PlainKeyMaterial
from omemo.session import Initiation, Session
from omemo.storage import Storage

from client_sdk.e2e.backends.gost import primitives as p
from client_sdk.e2e.backends.gost import ratchet, twin
from client_sdk.e2e.backends.gost.structures import (
    NAMESPACE,
    GostBundle,
    GostContent,
    GostEncryptedKey,
    GostKeyExchange,
    GostKeyMaterial,
    GostSession,
)
from client_sdk.e2e.backends.gost.x3dh import PeerBundle, State, agree_active, agree_passive
from client_sdk.e2e.errors import KeyExchangeError

PAYLOAD_LABEL = b"oplot-msg"

__all__ = ["NAMESPACE", "GostBackend", "payload_keys"]


def payload_keys(key: bytes) -> tuple[bytes, bytes]:
    """(MGM key, key commitment) = KDF_OMAC(K, "oplot-msg", 64).

    In the ideal-cipher model the 256-bit commitment is collision resistant in K, so a
    ciphertext cannot be opened under two keys (MGM alone is not key-committing)."""
    out = p.kdf_omac(key, PAYLOAD_LABEL, 64)
    return out[:32], out[32:]


class GostBackend(Backend):
    def __init__(self, storage: Storage) -> None:
        super().__init__(ratchet.MAX_SKIPPED, None)
        self._storage = storage
        self._state: State | None = None
        self.twin_pointer: twin.TwinPointer | None = None

    @property
    def namespace(self) -> str:
        return NAMESPACE

    # -- state ------------------------------------------------------------------------------

    async def state(self) -> State:
        if self._state is None:
            stored = (await self._storage.load(f"/{NAMESPACE}/x3dh")).maybe(None)
            if stored is None:
                self._state = State.create()
                await self._save_state()
            else:
                self._state = State.from_json(stored)
        return self._state

    async def _save_state(self) -> None:
        assert self._state is not None
        await self._storage.store(f"/{NAMESPACE}/x3dh", self._state.json())

    async def identity_key(self) -> bytes:
        return (await self.state()).identity_pub

    async def set_twin(self, bare_jid: str, gost_device: int, twin_device: int,
                       twin_ik: bytes) -> None:
        """Sign the pointer to this installation's standard device (goes into the bundle)."""
        state = await self.state()
        self.twin_pointer = twin.make(state.identity, bare_jid, gost_device, twin_device, twin_ik)

    # -- sessions ---------------------------------------------------------------------------

    def _session_key(self, bare_jid: str, device_id: int) -> str:
        return f"/{NAMESPACE}/sessions/{bare_jid}/{device_id}"

    async def load_session(self, bare_jid: str, device_id: int) -> GostSession | None:
        data = (await self._storage.load(self._session_key(bare_jid, device_id))).maybe(None)
        if data is None:
            return None
        return GostSession(bare_jid, device_id, Initiation(data["initiation"]),
                           GostKeyExchange.from_json(data["kex"]), bytes.fromhex(data["ad"]),
                           ratchet.load(data["ratchet"]), bool(data["confirmed"]))

    async def store_session(self, session: Session) -> None:
        assert isinstance(session, GostSession)
        await self._storage.store(self._session_key(session.bare_jid, session.device_id), {
            "initiation": session.initiation.value, "kex": session.key_exchange.json(),
            "ad": session.associated_data.hex(), "ratchet": session.ratchet.json,
            "confirmed": session.confirmed})
        peers = (await self._storage.load(f"/{NAMESPACE}/peers")).maybe(None) or {}
        devices = peers.setdefault(session.bare_jid, [])
        if session.device_id not in devices:
            devices.append(session.device_id)
            await self._storage.store(f"/{NAMESPACE}/peers", peers)

    async def build_session_active(self, bare_jid: str, device_id: int, bundle: Bundle,
                                   plain_key_material: PlainKeyMaterial
                                   ) -> tuple[GostSession, GostEncryptedKey]:
        assert isinstance(bundle, GostBundle) and isinstance(plain_key_material, GostKeyMaterial)
        state = await self.state()
        try:
            agreement = agree_active(state, bundle.peer)
        except KeyExchangeError as exc:
            raise KeyExchangeFailed(str(exc)) from exc
        dr, message = await ratchet.start_active(agreement.shared_secret, bundle.peer.spk,
                                                 plain_key_material.to_bytes(),
                                                 agreement.associated_data)
        kex = GostKeyExchange(state.identity_pub, agreement.ephemeral, agreement.spk_id,
                              agreement.pk_id)
        session = GostSession(bare_jid, device_id, Initiation.ACTIVE, kex,
                              agreement.associated_data, dr)
        return session, GostEncryptedKey(bare_jid, device_id, message)

    async def build_session_passive(self, bare_jid: str, device_id: int,
                                    key_exchange: KeyExchange,
                                    encrypted_key_material: EncryptedKeyMaterial
                                    ) -> tuple[GostSession, GostKeyMaterial]:
        assert isinstance(key_exchange, GostKeyExchange)
        assert isinstance(encrypted_key_material, GostEncryptedKey)
        state = await self.state()
        try:
            agreement, spk = agree_passive(state, key_exchange.identity_key,
                                           key_exchange.ephemeral, key_exchange.spk_id,
                                           key_exchange.pk_id)
        except KeyExchangeError as exc:
            raise KeyExchangeFailed(str(exc)) from exc
        try:
            dr, plain = await ratchet.start_passive(agreement.shared_secret, spk.priv,
                                                    encrypted_key_material.message,
                                                    agreement.associated_data)
        except Exception as exc:
            raise DecryptionFailed(f"initial message does not decrypt: {exc}") from exc
        session = GostSession(bare_jid, device_id, Initiation.PASSIVE, key_exchange,
                              agreement.associated_data, dr)
        return session, GostKeyMaterial.from_bytes(plain)

    # -- payload and key material -----------------------------------------------------------

    async def encrypt_plaintext(self, plaintext: bytes) -> tuple[GostContent, GostKeyMaterial]:
        key = secrets.token_bytes(32)
        mgm_key, commit = payload_keys(key)
        ciphertext = p.mgm_seal(mgm_key, plaintext, b"")
        return GostContent(commit, ciphertext), GostKeyMaterial(key, commit)

    async def encrypt_empty(self) -> tuple[GostContent, GostKeyMaterial]:
        key = secrets.token_bytes(32)
        return GostContent.make_empty(), GostKeyMaterial(key, payload_keys(key)[1])

    async def encrypt_key_material(self, session: Session,
                                   plain_key_material: PlainKeyMaterial) -> GostEncryptedKey:
        assert isinstance(session, GostSession)
        assert isinstance(plain_key_material, GostKeyMaterial)
        message = await session.ratchet.encrypt_message(plain_key_material.to_bytes(),
                                                        session.associated_data)
        return GostEncryptedKey(session.bare_jid, session.device_id, message)

    async def decrypt_plaintext(self, content: Content,
                                plain_key_material: PlainKeyMaterial) -> bytes:
        assert isinstance(content, GostContent)
        assert isinstance(plain_key_material, GostKeyMaterial)
        mgm_key, commit = payload_keys(plain_key_material.key)
        if not (p.equal(commit, plain_key_material.commit) and p.equal(commit, content.commit)):
            raise DecryptionFailed("key commitment mismatch: payload and key do not belong "
                                   "together")
        try:
            return p.mgm_open(mgm_key, content.ciphertext, b"")
        except p.InvalidTag:
            raise DecryptionFailed("payload authentication failed (tampered?)") from None

    async def decrypt_key_material(self, session: Session,
                                   encrypted_key_material: EncryptedKeyMaterial
                                   ) -> GostKeyMaterial:
        assert isinstance(session, GostSession)
        assert isinstance(encrypted_key_material, GostEncryptedKey)
        try:
            plain = await session.ratchet.decrypt_message(encrypted_key_material.message,
                                                          session.associated_data)
        except Exception as exc:
            raise DecryptionFailed(f"key material does not decrypt: {type(exc).__name__}: "
                                   f"{exc}") from exc
        session.confirm()
        return GostKeyMaterial.from_bytes(plain)

    # -- prekeys ----------------------------------------------------------------------------

    async def signed_pre_key_age(self) -> int:
        return int(time.time()) - (await self.state()).spk.created

    async def rotate_signed_pre_key(self) -> None:
        (await self.state()).rotate()
        await self._save_state()

    async def hide_pre_key(self, session: Session) -> bool:
        assert isinstance(session, GostSession)
        state = await self.state()
        pk_id = session.key_exchange.pk_id
        if pk_id not in state.pre_keys or pk_id in state.hidden:
            return False
        state.hidden.add(pk_id)
        await self._save_state()
        return True

    async def delete_pre_key(self, session: Session) -> bool:
        assert isinstance(session, GostSession)
        state = await self.state()
        pk_id = session.key_exchange.pk_id
        state.hidden.discard(pk_id)
        if state.pre_keys.pop(pk_id, None) is None:
            return False
        await self._save_state()
        return True

    async def delete_hidden_pre_keys(self) -> None:
        state = await self.state()
        for pk_id in state.hidden:
            state.pre_keys.pop(pk_id, None)
        state.hidden.clear()
        await self._save_state()

    async def get_num_visible_pre_keys(self) -> int:
        state = await self.state()
        return len(state.pre_keys) - len(state.hidden)

    async def generate_pre_keys(self, num_pre_keys: int) -> None:
        (await self.state()).generate_pre_keys(num_pre_keys)
        await self._save_state()

    async def get_bundle(self, bare_jid: str, device_id: int) -> GostBundle:
        state = await self.state()
        peer = PeerBundle(state.identity_pub, state.spk.id, state.spk.pub, state.spk.signature,
                          state.visible_pre_keys())
        return GostBundle(bare_jid, device_id, peer, self.twin_pointer)

    # -- labels and purge -------------------------------------------------------------------

    @property
    def supports_labels(self) -> bool:
        return False

    async def sign_own_label(self, label: str) -> bytes:
        raise NotImplementedError("GOST-OMEMO has no device labels")

    async def verify_label_signature(self, label: str, signature: bytes,
                                     identity_key: bytes) -> bool:
        return False

    async def purge(self) -> None:
        peers = (await self._storage.load(f"/{NAMESPACE}/peers")).maybe(None) or {}
        for jid in list(peers):
            await self.purge_bare_jid(jid)
        await self._storage.delete(f"/{NAMESPACE}/x3dh")
        await self._storage.delete(f"/{NAMESPACE}/peers")
        self._state = None

    async def purge_bare_jid(self, bare_jid: str) -> None:
        peers = (await self._storage.load(f"/{NAMESPACE}/peers")).maybe(None) or {}
        for device_id in peers.pop(bare_jid, []):
            await self._storage.delete(self._session_key(bare_jid, device_id))
        await self._storage.store(f"/{NAMESPACE}/peers", peers)
