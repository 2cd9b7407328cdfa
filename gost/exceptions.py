"""Typed errors raised by the gost package, shaped like ``cryptography.exceptions``."""


class InvalidTag(Exception):
    """An AEAD tag or MAC did not verify; no plaintext was released."""


class InvalidSignature(Exception):
    """A GOST R 34.10-2012 signature did not verify."""


class DecodeError(ValueError):
    """Malformed DER/PEM or raw key encoding."""
