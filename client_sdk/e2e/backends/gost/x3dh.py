"""X3DH-style key agreement over VKO GOST R 34.10-2012 (TC26 256-A), written for GOST-OMEMO.

The x3dh package is hard-wired to Curve25519/XEdDSA, so the state (identity key, signed
prekey with its GOST signature, one-time prekeys) and both sides of the agreement live
here. One identity key pair both signs (prekeys, twin pointer) and agrees (VKO), as GOST
keys customarily do; the four agreements are domain-separated by position in the KDF input."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field

from client_sdk.e2e.backends.gost import primitives as p
from client_sdk.e2e.errors import KeyExchangeError
from gost.streebog import streebog256

NS = b"urn:oplot:omemo:gost:0"
SPK_LABEL = NS + b" spk"
X3DH_INFO = NS + b" x3dh"
AD_LABEL = NS + b" ad"
MAX_ID = 2**31 - 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def spk_message(spk_pub: bytes) -> bytes:
    """What the identity key signs for a signed prekey."""
    return SPK_LABEL + spk_pub


@dataclass
class SignedPreKey:
    id: int
    priv: bytes
    signature: bytes
    created: int

    @property
    def pub(self) -> bytes:
        return p.derive_pub(self.priv)

    def json(self) -> dict:
        return {"id": self.id, "priv": _b64(self.priv), "sig": _b64(self.signature),
                "created": self.created}

    @classmethod
    def from_json(cls, data: dict) -> SignedPreKey:
        return cls(int(data["id"]), _unb64(data["priv"]), _unb64(data["sig"]),
                   int(data["created"]))


@dataclass
class State:
    """Our device's long-term and prekey secrets (persisted as JSON in the key store)."""

    identity: bytes
    spk: SignedPreKey
    old_spk: SignedPreKey | None = None
    pre_keys: dict[int, bytes] = field(default_factory=dict)
    hidden: set[int] = field(default_factory=set)
    next_id: int = 1

    @classmethod
    def create(cls) -> State:
        identity = p.generate_priv()
        return cls(identity, _new_spk(identity, 1))

    @property
    def identity_pub(self) -> bytes:
        return p.derive_pub(self.identity)

    def generate_pre_keys(self, count: int) -> None:
        for _ in range(count):
            self.pre_keys[self.next_id] = p.generate_priv()
            self.next_id = self.next_id % MAX_ID + 1

    def visible_pre_keys(self) -> dict[int, bytes]:
        return {i: p.derive_pub(k) for i, k in self.pre_keys.items() if i not in self.hidden}

    def rotate(self) -> None:
        self.old_spk = self.spk
        self.spk = _new_spk(self.identity, self.spk.id % MAX_ID + 1)

    def find_spk(self, spk_id: int) -> SignedPreKey:
        for spk in (self.spk, self.old_spk):
            if spk is not None and spk.id == spk_id:
                return spk
        raise KeyExchangeError(f"no signed prekey with id {spk_id} (rotated away?)")

    def json(self) -> dict:
        return {"ik": _b64(self.identity), "spk": self.spk.json(),
                "old_spk": self.old_spk.json() if self.old_spk else None,
                "pks": {str(i): _b64(k) for i, k in self.pre_keys.items()},
                "hidden": sorted(self.hidden), "next_id": self.next_id}

    @classmethod
    def from_json(cls, data: dict) -> State:
        return cls(_unb64(data["ik"]), SignedPreKey.from_json(data["spk"]),
                   SignedPreKey.from_json(data["old_spk"]) if data["old_spk"] else None,
                   {int(i): _unb64(k) for i, k in data["pks"].items()},
                   set(data["hidden"]), int(data["next_id"]))


def _new_spk(identity: bytes, spk_id: int) -> SignedPreKey:
    priv = p.generate_priv()
    return SignedPreKey(spk_id, priv, p.sign(identity, spk_message(p.derive_pub(priv))),
                        int(time.time()))


@dataclass(frozen=True)
class PeerBundle:
    """The public half a peer publishes (identity, signed prekey, one-time prekeys)."""

    identity: bytes
    spk_id: int
    spk: bytes
    spk_signature: bytes
    pre_keys: dict[int, bytes]

    def verify(self) -> None:
        """Raise KeyExchangeError unless the identity key signed this signed prekey."""
        try:
            p.identity_public(self.identity)
        except p.InvalidKey as exc:
            raise KeyExchangeError(f"bundle identity key rejected: {exc}") from None
        if not p.verify(self.identity, self.spk_signature, spk_message(self.spk)):
            raise KeyExchangeError("bundle signed prekey signature does not verify")


@dataclass(frozen=True)
class Agreement:
    shared_secret: bytes
    associated_data: bytes
    ephemeral: bytes = b""
    spk_id: int = 0
    pk_id: int = 0


def _derive(dh: list[bytes]) -> bytes:
    return p.hkdf(b"\xff" * 32 + b"".join(dh), bytes(32), X3DH_INFO, 32)


def associated_data(initiator_ik: bytes, responder_ik: bytes) -> bytes:
    """Streebog-256(label || IK_A || IK_B): binds both identities into every ratchet message
    at 32 bytes of MGM associated data instead of 128 (two blocks per message saved)."""
    return streebog256(AD_LABEL + initiator_ik + responder_ik).digest()


def agree_active(state: State, bundle: PeerBundle) -> Agreement:
    """Initiator side: verify the bundle, pick a one-time prekey, run the four VKOs."""
    bundle.verify()
    if not bundle.pre_keys:
        raise KeyExchangeError("bundle has no one-time prekeys")
    pk_id = secrets.choice(sorted(bundle.pre_keys))
    ek = p.generate_priv()
    try:
        dh = [p.vko(state.identity, bundle.spk),
              p.vko_static(ek, bundle.identity),
              p.vko(ek, bundle.spk),
              p.vko(ek, bundle.pre_keys[pk_id])]
    except p.InvalidKey as exc:
        raise KeyExchangeError(f"bundle key rejected: {exc}") from None
    return Agreement(_derive(dh), associated_data(state.identity_pub, bundle.identity),
                     p.derive_pub(ek),
                     bundle.spk_id, pk_id)


def agree_passive(state: State, identity: bytes, ephemeral: bytes, spk_id: int,
                  pk_id: int) -> tuple[Agreement, SignedPreKey]:
    """Responder side, from the initiator's identity and ephemeral keys and prekey ids."""
    spk = state.find_spk(spk_id)
    pk = state.pre_keys.get(pk_id)
    if pk is None:
        raise KeyExchangeError(f"no one-time prekey with id {pk_id} (already used?)")
    try:
        dh = [p.vko_static(spk.priv, identity),
              p.vko(state.identity, ephemeral),
              p.vko(spk.priv, ephemeral),
              p.vko(pk, ephemeral)]
    except p.InvalidKey as exc:
        raise KeyExchangeError(f"key exchange key rejected: {exc}") from None
    return Agreement(_derive(dh), associated_data(identity, state.identity_pub)), spk
