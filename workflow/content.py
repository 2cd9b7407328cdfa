"""A workflow document's bytes, read back from the file service.

Documents live in the upload service, encrypted at rest and end to end; the uploader wraps
the file key for the organisation's scanner, and that same envelope lets a worker open the
document in memory to digest it and to put it into the final package.

Decrypting costs both layers of Kuznyechik-MGM, so it is done once per need: the scanner,
which decrypts every upload anyway, records a small file's Streebog digests and a check
value of its key (:func:`scan_facts`), and review starts from those; only the final package
reads the bytes again.
"""

from __future__ import annotations

import base64
import hashlib

import psycopg

from gost import InvalidTag
from gost.streebog import OPENSSL_GOST_AVAILABLE
from workflow.scanning import envelope
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.files import keys
from xmpp_server_plugins.files.storage import Storage

#: files up to this size get Streebog digests during their scan: at C speed (OpenSSL's GOST
#: provider) that adds ~12 ms per MiB to a scan that spends ~150 ms per MiB decrypting; in
#: pure Python it would cost seconds per MiB, so without the provider review decrypts
SCAN_DIGEST_LIMIT = 16 << 20
_KEY_CHECK_LABEL = b"oplot workflow: file key check\0"


class Unreadable(Exception):
    """The stored document cannot be decrypted or is not what the author claimed."""


def wants_digests(size: int) -> bool:
    """Whether the scanner should record Streebog digests for a file of ``size`` bytes."""
    return OPENSSL_GOST_AVAILABLE and size <= SCAN_DIGEST_LIMIT


def key_check(material: bytes) -> str:
    """A check value of a file key (a hash: it does not reveal the 256-bit random key), so
    review can tell that the key shared with the participants is the one the scanner used
    without unwrapping the scanner envelope again."""
    return hashlib.sha256(_KEY_CHECK_LABEL + material).hexdigest()


def scan_facts(detail: dict | None, content_hash: str | None, sha256: str,
               shared_key: str) -> dict[str, str] | None:
    """The document's Streebog digests as the scanner took them, or None when review must
    decrypt: no digests recorded (large file, no GOST provider, older verdict), or the
    scanned bytes or key are not the ones the author described to the participants (the
    decrypting path then refuses the document with the precise reason)."""
    if not detail or content_hash != sha256 or "key_check" not in detail:
        return None
    try:
        shared = base64.b64decode(shared_key, validate=True)
    except ValueError:
        return None
    if key_check(shared) != detail["key_check"]:
        return None
    digests = {"256": detail.get("streebog256"), "512": detail.get("streebog512")}
    return digests if all(digests.values()) else None


def read(cfg: Config, db: psycopg.Connection, file_id: str, sha256: str,
         shared_key: str, checked_key: bool = False) -> bytes:
    """The plaintext of ``file_id``, checked against the author's SHA-256 and the key the
    author gave the participants (so what they download opens to what is signed).
    ``checked_key``: review already proved the shared key is the scanner's (the final
    package), so the bytes open with it directly instead of unwrapping the envelope (a VKO
    agreement and a key unwrap)."""
    row = db.execute("SELECT size, master_key_id, wrapped_key, scan_key FROM oplot.files "
                     "WHERE id = %s", (file_id,)).fetchone()
    if row is None or not row[3]:
        raise Unreadable(f"file {file_id} is gone or has no scanner envelope")
    size, key_id, wrapped, scan_key = row
    try:
        at_rest = keys.MasterKeys(cfg.state_dir).unwrap(key_id, bytes(wrapped))
        material = base64.b64decode(shared_key, validate=True)
        if not checked_key and envelope.unwrap(
                scan_key, keys.scanner_private(cfg.state_dir)) != material:
            raise Unreadable(f"the key shared for file {file_id} is not the file's key")
        dec = envelope.decryptor(scan_key["cipher"], material)
        with Storage(cfg.upload.storage_path).open(file_id, at_rest, size) as reader:
            data = b"".join(dec.update(chunk) for chunk in reader.range()) + dec.finalize()
    except (InvalidTag, ValueError, KeyError, OSError) as exc:  # binascii.Error is a ValueError
        raise Unreadable(f"file {file_id} does not decrypt: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Unreadable(f"file {file_id} is not the document its author described")
    return data
