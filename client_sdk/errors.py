"""Typed exceptions of the client library: every failure a caller can act on has its own
class, and every message names the JID, room or address involved."""

from __future__ import annotations


class OplotError(Exception):
    """Base of every error the client library raises on purpose."""


class ConnectError(OplotError, ConnectionError):
    """Connection or login failed; the message says why."""


class AuthError(ConnectError):
    """The server refused the credentials."""


class UnreachableError(ConnectError):
    """No TCP connection to the server could be made."""


class CertificateError(ConnectError):
    """The server certificate does not chain to the organisation CA."""


class NotConnectedError(OplotError):
    """An operation needs a live session and there is none."""


class NotFoundError(OplotError, LookupError):
    """The JID, room or item does not exist."""


class RoomNotFoundError(NotFoundError):
    """No such group chat room."""


class ForbiddenError(OplotError, PermissionError):
    """The server or room does not allow this to this account."""


class RequestTimeout(OplotError, TimeoutError):
    """The server did not answer in time."""


class ProtocolError(OplotError):
    """The server answered with something we cannot use."""


_CONDITIONS: dict[str, type[OplotError]] = {
    "item-not-found": NotFoundError,
    "recipient-unavailable": NotFoundError,
    "remote-server-not-found": NotFoundError,
    "service-unavailable": NotFoundError,
    "forbidden": ForbiddenError,
    "not-allowed": ForbiddenError,
    "not-authorized": ForbiddenError,
    "registration-required": ForbiddenError,
}


def from_condition(condition: str, what: str, text: str = "") -> OplotError:
    """Map an XMPP error condition to our exception, naming the target."""
    cls = _CONDITIONS.get(condition, ProtocolError)
    reason = {NotFoundError: "not found", ForbiddenError: "not allowed"}.get(cls, condition)
    detail = f" ({text})" if text else ""
    return cls(f"{what}: {reason}{detail}")
