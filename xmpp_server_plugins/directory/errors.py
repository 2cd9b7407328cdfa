"""The one exception directory operations raise for bad input or a missing object."""


class DirectoryError(ValueError):
    """Invalid input or a missing/duplicate object; the message says which, in one line."""
