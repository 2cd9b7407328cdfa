"""Errors of the file service, each with the HTTP status and XMPP condition that report it."""

from __future__ import annotations


class FileServiceError(Exception):
    """Refused request; ``status`` for HTTP, ``condition`` for XMPP, message for both."""

    status = 400
    condition = "bad-request"
    kind = "modify"

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class BadRequest(FileServiceError):
    pass


class TooLarge(FileServiceError):
    status, condition = 413, "not-acceptable"

    def __init__(self, text: str, limit: int) -> None:
        super().__init__(text)
        self.limit = limit


class Forbidden(FileServiceError):
    status, condition, kind = 403, "forbidden", "auth"


class PolicyViolation(FileServiceError):
    status, condition, kind = 403, "not-acceptable", "modify"


class NotFound(FileServiceError):
    status, condition, kind = 404, "item-not-found", "cancel"


class Conflict(FileServiceError):
    status, condition, kind = 409, "conflict", "cancel"


class WrongType(FileServiceError):
    status = 415


class NotReady(FileServiceError):
    """The file exists but has no clean verdict yet."""

    status, condition, kind = 409, "resource-constraint", "wait"


class Integrity(FileServiceError):
    """Stored bytes failed their authentication tag: tampered or damaged storage."""

    status, condition, kind = 500, "internal-server-error", "cancel"
