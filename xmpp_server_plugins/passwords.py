"""Password hashing: PBKDF2-HMAC-Streebog-512 (R 50.1.111-2016) with a per-user salt and
iteration count, so the count can grow without invalidating stored hashes.

OpenSSL's GOST provider computes it at C speed when ``OPENSSL_CONF`` loaded it before the
interpreter started; otherwise :func:`gost.kdf.pbkdf2_streebog512` (pure Python) gives the
identical bytes, only slower.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from gost.kdf import pbkdf2_streebog512

SALT_BYTES = 16
HASH_BYTES = 64


def _openssl_pbkdf2() -> bool:
    try:
        hashlib.pbkdf2_hmac("md_gost12_512", b"", b"salt", 1)
    except (ValueError, TypeError):
        return False
    return True


FAST: bool = _openssl_pbkdf2()


def derive(password: bytes, salt: bytes, iterations: int) -> bytes:
    """The stored hash for ``password``: OpenSSL when available, pure Python otherwise."""
    if FAST:
        return hashlib.pbkdf2_hmac("md_gost12_512", password, salt, iterations, HASH_BYTES)
    return pbkdf2_streebog512(password, salt, iterations, HASH_BYTES)


@dataclass(frozen=True)
class PasswordHash:
    hash: bytes
    salt: bytes
    iterations: int


def hash_password(password: str, iterations: int) -> PasswordHash:
    salt = os.urandom(SALT_BYTES)
    return PasswordHash(derive(password.encode(), salt, iterations), salt, iterations)


def verify(password: bytes, stored: PasswordHash) -> bool:
    """Constant-time comparison of the derived hash with the stored one."""
    return hmac.compare_digest(derive(password, stored.salt, stored.iterations), stored.hash)


#: verified against when the user does not exist, so timing does not reveal who exists
DUMMY = PasswordHash(bytes(HASH_BYTES), bytes(SALT_BYTES), 1)
