"""Typed E2E errors; each message says what failed and what the user can do."""

from __future__ import annotations

from client_sdk.errors import OplotError


class E2EError(OplotError):
    """Base of every end-to-end encryption error."""


class KeyExchangeError(E2EError):
    """Session setup failed (bad bundle, bad signature, unknown prekey)."""


class WireError(E2EError, ValueError):
    """Malformed OMEMO XML or bytes: wrong sizes, bad base64, missing or extra elements."""


class DecryptError(E2EError):
    """A message could not be decrypted; ``reason`` is shown to the user and stored."""

    def __init__(self, reason: str, sender: str = "", device: int = 0,
                 recovery: str = "") -> None:
        super().__init__(reason)
        self.reason, self.sender, self.device = reason, sender, device
        self.recovery = recovery


class PolicyViolation(E2EError):
    """Sending would break the domain's E2E policy (e.g. gost-only to a standard-only peer)."""


class NoRecipientDevices(E2EError):
    """A recipient has no usable (trusted, reachable) device for end-to-end encryption."""


class KeyStoreLocked(E2EError):
    """The encrypted key store cannot be opened: wrong passphrase or no key in the keyring."""
