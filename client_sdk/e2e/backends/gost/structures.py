"""The omemo core's abstract data types, filled in for GOST-OMEMO."""

from __future__ import annotations

from doubleratchet import EncryptedMessage
from omemo.bundle import Bundle
from omemo.message import Content, EncryptedKeyMaterial, KeyExchange, PlainKeyMaterial
from omemo.session import Initiation, Session

from client_sdk.e2e.backends.gost.ratchet import GostDoubleRatchet
from client_sdk.e2e.backends.gost.twin import TwinPointer
from client_sdk.e2e.backends.gost.x3dh import PeerBundle

NAMESPACE = "urn:oplot:omemo:gost:0"


class GostBundle(Bundle):
    def __init__(self, bare_jid: str, device_id: int, peer: PeerBundle,
                 twin: TwinPointer | None) -> None:
        self._jid, self._id, self.peer, self.twin = bare_jid, device_id, peer, twin

    namespace = property(lambda self: NAMESPACE)
    bare_jid = property(lambda self: self._jid)
    device_id = property(lambda self: self._id)
    identity_key = property(lambda self: self.peer.identity)

    def _key(self) -> tuple:
        return (self._jid, self._id, self.peer.identity, self.peer.spk_id, self.peer.spk,
                self.peer.spk_signature, frozenset(self.peer.pre_keys.items()), self.twin)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GostBundle) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


class GostContent(Content):
    """Shared by all recipients: the key commitment and the MGM ciphertext || tag."""

    def __init__(self, commit: bytes, ciphertext: bytes) -> None:
        self.commit, self.ciphertext = commit, ciphertext

    @property
    def empty(self) -> bool:
        return not self.ciphertext

    @staticmethod
    def make_empty() -> GostContent:
        return GostContent(b"", b"")


class GostKeyMaterial(PlainKeyMaterial):
    """What each recipient's ratchet carries: payload key (32) || key commitment (32)."""

    def __init__(self, key: bytes, commit: bytes) -> None:
        self.key, self.commit = key, commit

    def to_bytes(self) -> bytes:
        return self.key + self.commit

    @staticmethod
    def from_bytes(data: bytes) -> GostKeyMaterial:
        return GostKeyMaterial(data[:32], data[32:])


class GostEncryptedKey(EncryptedKeyMaterial):
    def __init__(self, bare_jid: str, device_id: int, message: EncryptedMessage) -> None:
        self._jid, self._id, self.message = bare_jid, device_id, message

    bare_jid = property(lambda self: self._jid)
    device_id = property(lambda self: self._id)


class GostKeyExchange(KeyExchange):
    def __init__(self, identity: bytes, ephemeral: bytes, spk_id: int, pk_id: int) -> None:
        self._ik, self.ephemeral, self.spk_id, self.pk_id = identity, ephemeral, spk_id, pk_id

    identity_key = property(lambda self: self._ik)

    def builds_same_session(self, other: KeyExchange) -> bool:
        return (isinstance(other, GostKeyExchange) and other._ik == self._ik
                and other.ephemeral == self.ephemeral and other.spk_id == self.spk_id
                and other.pk_id == self.pk_id)

    def json(self) -> dict:
        return {"ik": self._ik.hex(), "ek": self.ephemeral.hex(), "spk": self.spk_id,
                "pk": self.pk_id}

    @staticmethod
    def from_json(data: dict) -> GostKeyExchange:
        return GostKeyExchange(bytes.fromhex(data["ik"]), bytes.fromhex(data["ek"]),
                               int(data["spk"]), int(data["pk"]))


class GostSession(Session):
    def __init__(self, bare_jid: str, device_id: int, initiation: Initiation,
                 key_exchange: GostKeyExchange, associated_data: bytes,
                 ratchet: GostDoubleRatchet, confirmed: bool = False) -> None:
        self._jid, self._id, self._initiation = bare_jid, device_id, initiation
        self._kex, self.associated_data, self.ratchet = key_exchange, associated_data, ratchet
        self._confirmed = confirmed

    namespace = property(lambda self: NAMESPACE)
    bare_jid = property(lambda self: self._jid)
    device_id = property(lambda self: self._id)
    initiation = property(lambda self: self._initiation)
    confirmed = property(lambda self: self._confirmed)
    key_exchange = property(lambda self: self._kex)
    receiving_chain_length = property(lambda self: self.ratchet.receiving_chain_length)
    sending_chain_length = property(lambda self: self.ratchet.sending_chain_length)

    def confirm(self) -> None:
        self._confirmed = True
