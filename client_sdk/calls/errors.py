"""Typed call failures: each names the peer or session and the reason a user can act on."""

from __future__ import annotations

from client_sdk.errors import OplotError


class CallError(OplotError):
    """Base of every call failure."""


class JingleError(CallError, ValueError):
    """A Jingle stanza or SDP we cannot use (malformed, missing parts)."""


class CallFailed(CallError):
    """The call could not be set up or broke; ``reason`` is the Jingle reason condition."""

    def __init__(self, message: str, reason: str = "general-error") -> None:
        super().__init__(message)
        self.reason = reason


class CallDeclined(CallFailed):
    """The callee refused the call."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "decline")


class CallBusy(CallFailed):
    """The callee is in another call."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "busy")


class CallUnanswered(CallFailed):
    """No device of the callee answered before the ring timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "timeout")


class SetupTimeout(CallFailed):
    """Accepted, but media never connected (ICE/DTLS) within the setup timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "connectivity-error")


class FingerprintMismatch(CallFailed):
    """The DTLS fingerprint in Jingle differs from the one the peer sent end-to-end
    encrypted: someone between us rewrote the signalling."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "security-error")


class ConferenceFull(CallFailed):
    """The conference reached its participant limit."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "busy")


class ConferenceForbidden(CallFailed):
    """Only members of the group room may join its conference."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "decline")
