"""The encrypted key store: an ``omemo.Storage`` in one SQLite file, encrypted at rest.

Every value is sealed with Kuznyechik-MGM under a key derived from the user's secret, and
row names are OMAC-Kuznyechik tags of the key names, so a copied file without the secret
shows neither key material nor which JIDs and devices it knows. The secret is a passphrase
(PBKDF2-HMAC-Streebog-512, R 50.1.111-2016; salt and iteration count in the file) or a
random 32-byte key kept in the OS keyring (optional ``keyring`` package). Values are
deflated before sealing: ratchet states are mostly escaped bytes, and every byte sealed
costs two Kuznyechik blocks."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import zlib
from pathlib import Path

from omemo import Just, Maybe, Nothing, Storage
from omemo.types import JSONType

from client_sdk.e2e.backends.gost import primitives as p
from client_sdk.e2e.errors import KeyStoreLocked
from gost import Kuznyechik, KuznyechikMGM, pbkdf2_streebog512
from gost.exceptions import InvalidTag
from gost.modes import omac

DEFAULT_ITERATIONS = 2000  # pure-Python Streebog: ~1.5 s; with the OpenSSL provider raise it
CHECK = b"oplot keystore v1"
KEYRING_SERVICE = "oplot-e2e"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS kv (id BLOB PRIMARY KEY, value BLOB NOT NULL);
"""


def passphrase_key(passphrase: str, salt: bytes, iterations: int) -> bytes:
    return pbkdf2_streebog512(passphrase.encode(), salt, iterations, 32)


def keyring_key(account: str) -> bytes:
    """The store key for ``account`` from the OS keyring, created on first use."""
    try:
        import keyring  # optional dependency
    except ImportError:
        raise KeyStoreLocked("no OS keyring support (pip install keyring) - use a "
                             "passphrase instead") from None
    stored = keyring.get_password(KEYRING_SERVICE, account)
    if stored is None:
        stored = secrets.token_hex(32)
        keyring.set_password(KEYRING_SERVICE, account, stored)
    return bytes.fromhex(stored)


class KeyStore(Storage):
    """Open with a passphrase or a 32-byte key; a wrong secret raises KeyStoreLocked."""

    def __init__(self, path: Path | str, *, passphrase: str | None = None,
                 key: bytes | None = None, iterations: int = DEFAULT_ITERATIONS) -> None:
        super().__init__()
        if (passphrase is None) == (key is None):
            raise KeyStoreLocked("open the key store with exactly one of passphrase or key")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        self._db = sqlite3.connect(self.path, isolation_level=None)
        if fresh:
            os.chmod(self.path, 0o600)
        self._db.executescript(_SCHEMA)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        salt = self._meta("salt") or self._set_meta("salt", secrets.token_bytes(16))
        rounds = int.from_bytes(self._meta("iterations") or self._set_meta(
            "iterations", iterations.to_bytes(4, "big")), "big")
        master = key if key is not None else passphrase_key(passphrase or "", salt, rounds)
        if len(master) != 32:
            raise KeyStoreLocked("key store key must be 32 bytes")
        self._master = master
        sub = p.kdf_omac(master, b"keystore", 64)
        self._aead = KuznyechikMGM(sub[:32])
        self._names = Kuznyechik(sub[32:])
        self._check_secret()

    def subkey(self, label: bytes) -> bytes:
        """A 32-byte key (``label``: at most 12 bytes) for another client-side store, derived
        from the same secret: one passphrase (or keyring entry) unlocks the device's keys
        and its message cache."""
        return p.kdf_omac(self._master, label, 32)

    # -- meta ---------------------------------------------------------------------------------

    def _meta(self, name: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def _set_meta(self, name: str, value: bytes) -> bytes:
        self._db.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (name, value))
        return value

    def _check_secret(self) -> None:
        check = self._meta("check")
        if check is None:
            self._set_meta("check", self._seal(b"check", CHECK))
        elif self._open(b"check", check) != CHECK:
            raise KeyStoreLocked(f"{self.path}: wrong passphrase or key")

    # -- sealing ------------------------------------------------------------------------------

    def _row_id(self, key: str) -> bytes:
        return omac(self._names, key.encode())

    def _seal(self, row_id: bytes, data: bytes) -> bytes:
        nonce = bytes([secrets.randbelow(128)]) + secrets.token_bytes(15)
        return nonce + self._aead.encrypt(nonce, data, row_id)

    def _open(self, row_id: bytes, blob: bytes) -> bytes | None:
        try:
            return self._aead.decrypt(blob[:16], blob[16:], row_id)
        except (InvalidTag, ValueError):
            return None

    # -- omemo.Storage ------------------------------------------------------------------------

    async def _load(self, key: str) -> Maybe[JSONType]:
        row_id = self._row_id(key)
        row = self._db.execute("SELECT value FROM kv WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            return Nothing()
        plain = self._open(row_id, bytes(row[0]))
        if plain is None:
            raise KeyStoreLocked(f"{self.path}: entry fails authentication (file tampered?)")
        return Just(json.loads(zlib.decompress(plain)))

    async def _store(self, key: str, value: JSONType) -> None:
        row_id = self._row_id(key)
        blob = self._seal(row_id, zlib.compress(json.dumps(value, separators=(",", ":"))
                                                .encode(), 1))
        self._db.execute("INSERT OR REPLACE INTO kv (id, value) VALUES (?, ?)", (row_id, blob))

    async def _delete(self, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE id = ?", (self._row_id(key),))

    def close(self) -> None:
        self._db.close()


class Scoped(Storage):
    """One identity's view of the shared store (the omemo core uses fixed key names such as
    ``/own_device_id``, so each SessionManager gets its own prefix)."""

    def __init__(self, store: Storage, scope: str) -> None:
        super().__init__(disable_cache=True)  # the underlying store caches
        self._inner, self._scope = store, scope

    async def _load(self, key: str) -> Maybe[JSONType]:
        return await self._inner.load(f"/{self._scope}{key}")

    async def _store(self, key: str, value: JSONType) -> None:
        await self._inner.store(f"/{self._scope}{key}", value)

    async def _delete(self, key: str) -> None:
        await self._inner.delete(f"/{self._scope}{key}")
