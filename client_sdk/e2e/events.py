"""What the E2E layer tells the user, as events on the client's one event stream."""

from __future__ import annotations

from dataclasses import dataclass

from client_sdk.events import Event


@dataclass(frozen=True)
class Undecryptable(Event):
    """A message from ``sender`` that could not be decrypted; it is kept with ``reason``
    (and ``recovery``: what the client did about it)."""

    sender: str
    id: str
    reason: str
    recovery: str = ""


@dataclass(frozen=True)
class DeviceListChanged(Event):
    """A contact's (or our own account's) devices changed: ``added``/``removed`` ids."""

    jid: str
    namespace: str
    added: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()


@dataclass(frozen=True)
class TrustNeeded(Event):
    """A new device of a contact you verified before waits for your decision."""

    jid: str
    device: int
    fingerprint: str


@dataclass(frozen=True)
class DeviceUnreachable(Event):
    """Encryption skipped one device (missing bundle, stale device, failed key exchange)."""

    jid: str
    device: int
    namespace: str
    reason: str
