"""The twin pointer: a GOST device's signed statement "my standard OMEMO device is N".

A sender who verifies it never encrypts a standard-OMEMO copy to that device when it can
reach the GOST device, so the weaker profile is never used between two Oplot installs."""

from __future__ import annotations

from dataclasses import dataclass

from client_sdk.e2e.backends.gost import primitives as p

LABEL = b"urn:oplot:omemo:gost:0 twin"
STANDARD_IK_SIZE = 32


@dataclass(frozen=True)
class TwinPointer:
    device_id: int
    identity_key: bytes  # the twin's standard (Ed25519) identity key
    signature: bytes


def message(bare_jid: str, gost_device: int, twin_device: int, twin_ik: bytes) -> bytes:
    """label || jid || 0x00 || gost device (u32 BE) || twin device (u32 BE) || twin IK."""
    return (LABEL + bare_jid.encode() + b"\0" + gost_device.to_bytes(4, "big")
            + twin_device.to_bytes(4, "big") + twin_ik)


def make(identity_priv: bytes, bare_jid: str, gost_device: int, twin_device: int,
         twin_ik: bytes) -> TwinPointer:
    return TwinPointer(twin_device, twin_ik,
                       p.sign(identity_priv, message(bare_jid, gost_device, twin_device, twin_ik)))


def verify(pointer: TwinPointer, identity_pub: bytes, bare_jid: str, gost_device: int) -> bool:
    """True when the GOST identity key signed this pointer for this JID and device."""
    return p.verify(identity_pub, pointer.signature,
                    message(bare_jid, gost_device, pointer.device_id, pointer.identity_key))
