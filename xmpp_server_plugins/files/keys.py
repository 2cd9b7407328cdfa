"""Secrets of the file service, kept in ``STATE_DIR/keys`` (never in the repository).

- ``master/<N>.key``: 32-byte master keys; ``master/current`` names the one new files use.
  Per-file at-rest keys are wrapped with KExp15 (Kuznyechik) under keys derived from a
  master key, so rotation re-wraps database rows and never rewrites file data.
- ``slot.key``: HMAC-Streebog key that signs upload/download slot URLs.
- ``scanner.key`` / ``scanner.pub``: the organisation scanner's GOST R 34.10-2012 key pair
  (256-bit, TC26 set A). Clients wrap each file key to ``scanner.pub``; only the Celery
  scan worker reads ``scanner.key``.

Files are created with O_EXCL, so several processes starting at once agree on one key.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from gost import (
    Kuznyechik,
    PrivateKey,
    PublicKey,
    get_curve,
    kdf_tree_gostr3411_2012_256,
    kexp15,
    kimp15,
    load_private_key,
    load_public_key,
    private_key_to_pem,
    public_key_to_der,
    public_key_to_pem,
    streebog256,
)

SCANNER_CURVE = "TCA"
WRAP_LABEL = b"oplot files at rest"


def keys_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "keys"


def _create(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to a new file; False when another process got there first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # atomic and fails if present, unlike rename
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def ensure(state_dir: Path) -> None:
    """Generate whatever key is missing (first run)."""
    base = keys_dir(state_dir)
    if not (base / "master" / "current").exists():
        _create(base / "master" / "1.key", secrets.token_bytes(32), 0o600)
        _create(base / "master" / "current", b"1\n", 0o600)
    _create(base / "slot.key", secrets.token_bytes(32), 0o600)
    if not (base / "scanner.key").exists():
        key = PrivateKey.generate(get_curve(SCANNER_CURVE))
        if _create(base / "scanner.key", private_key_to_pem(key), 0o640):
            (base / "scanner.pub").unlink(missing_ok=True)
    if not (base / "scanner.pub").exists():
        _create(base / "scanner.pub", public_key_to_pem(scanner_private(state_dir).public_key()),
                0o644)


# -- master keys --------------------------------------------------------------------------


class MasterKeys:
    """Versioned master keys; wraps and unwraps per-file keys."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = keys_dir(state_dir) / "master"

    def current_id(self) -> int:
        return int((self.dir / "current").read_text().strip())

    def ids(self) -> list[int]:
        return sorted(int(p.stem) for p in self.dir.glob("*.key"))

    def _kek(self, key_id: int) -> tuple[bytes, bytes]:
        try:
            master = (self.dir / f"{key_id}.key").read_bytes()
        except FileNotFoundError:
            raise KeyError(f"master key {key_id} is not in {self.dir}") from None
        both = kdf_tree_gostr3411_2012_256(master, WRAP_LABEL, key_id.to_bytes(4, "big"), 64)
        return both[:32], both[32:]

    def wrap(self, file_key: bytes, key_id: int | None = None) -> tuple[int, bytes]:
        """(master key id, iv || KExp15(file_key))."""
        key_id = self.current_id() if key_id is None else key_id
        mac_key, enc_key = self._kek(key_id)
        iv = secrets.token_bytes(8)
        return key_id, iv + kexp15(Kuznyechik, file_key, mac_key, enc_key, iv)

    def unwrap(self, key_id: int, wrapped: bytes) -> bytes:
        """The file key; gost.InvalidTag when the wrapped key was altered."""
        mac_key, enc_key = self._kek(key_id)
        return kimp15(Kuznyechik, wrapped[8:], mac_key, enc_key, wrapped[:8])

    def add(self) -> int:
        """Create the next master key and make it current; returns its id."""
        key_id = max(self.ids(), default=0) + 1
        if not _create(self.dir / f"{key_id}.key", secrets.token_bytes(32), 0o600):
            raise FileExistsError(f"master key {key_id} appeared concurrently; retry")
        tmp = self.dir / f".current.{os.getpid()}"
        tmp.write_text(f"{key_id}\n")
        tmp.chmod(0o600)
        tmp.replace(self.dir / "current")
        return key_id

    def retire(self, key_id: int) -> None:
        """Destroy an old master key (after no file uses it)."""
        if key_id == self.current_id():
            raise ValueError("refusing to retire the current master key")
        with contextlib.suppress(FileNotFoundError):
            (self.dir / f"{key_id}.key").unlink()


# -- slot signing key and scanner key pair ----------------------------------------------


def slot_key(state_dir: Path) -> bytes:
    return (keys_dir(state_dir) / "slot.key").read_bytes()


def scanner_private(state_dir: Path) -> PrivateKey:
    return load_private_key((keys_dir(state_dir) / "scanner.key").read_bytes())


def scanner_public(state_dir: Path) -> PublicKey:
    return load_public_key((keys_dir(state_dir) / "scanner.pub").read_bytes())


def fingerprint(public: PublicKey) -> str:
    """Streebog-256 of the SubjectPublicKeyInfo, hex: the id clients quote."""
    return streebog256(public_key_to_der(public)).hexdigest()
