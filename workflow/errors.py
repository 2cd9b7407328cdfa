"""Workflow errors. Each carries the XMPP error condition the component answers with, so a
refusal reads the same whether it comes from the component, a worker or the operator CLI."""


class WorkflowError(ValueError):
    """Bad input; nothing was changed."""

    condition = "bad-request"


class NotFound(WorkflowError):
    condition = "item-not-found"


class Forbidden(WorkflowError):
    condition = "forbidden"


class Conflict(WorkflowError):
    """The request clashes with the document's current state (decided twice, too late)."""

    condition = "conflict"


class ScanPending(Exception):
    """The document's scan verdict is not in yet; the step is retried later."""
