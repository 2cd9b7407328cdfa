"""A workflow document's bytes, read back from the file service.

Documents live in the upload service, encrypted at rest and end to end; the uploader wraps
the file key for the organisation's scanner, and that same envelope lets a worker open the
document in memory to digest it and to put it into the final package.
"""

from __future__ import annotations

import base64
import hashlib

import psycopg

from gost import InvalidTag
from workflow.scanning import envelope
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.files import keys
from xmpp_server_plugins.files.storage import Storage


class Unreadable(Exception):
    """The stored document cannot be decrypted or is not what the author claimed."""


def read(cfg: Config, db: psycopg.Connection, file_id: str, sha256: str,
         shared_key: str) -> bytes:
    """The plaintext of ``file_id``, checked against the author's SHA-256 and the key the
    author gave the participants (so what they download opens to what is signed)."""
    row = db.execute("SELECT size, master_key_id, wrapped_key, scan_key FROM oplot.files "
                     "WHERE id = %s", (file_id,)).fetchone()
    if row is None or not row[3]:
        raise Unreadable(f"file {file_id} is gone or has no scanner envelope")
    size, key_id, wrapped, scan_key = row
    try:
        at_rest = keys.MasterKeys(cfg.state_dir).unwrap(key_id, bytes(wrapped))
        material = envelope.unwrap(scan_key, keys.scanner_private(cfg.state_dir))
        if base64.b64decode(shared_key, validate=True) != material:
            raise Unreadable(f"the key shared for file {file_id} is not the file's key")
        dec = envelope.decryptor(scan_key["cipher"], material)
        with Storage(cfg.upload.storage_path).open(file_id, at_rest, size) as reader:
            data = b"".join(dec.update(chunk) for chunk in reader.range()) + dec.finalize()
    except (InvalidTag, ValueError, KeyError, OSError) as exc:  # binascii.Error is a ValueError
        raise Unreadable(f"file {file_id} does not decrypt: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Unreadable(f"file {file_id} is not the document its author described")
    return data
