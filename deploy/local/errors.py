"""The one error type of the launcher: its message is what the operator sees."""


class StackError(RuntimeError):
    """Starting or stopping the stack failed; the message says what and where."""
