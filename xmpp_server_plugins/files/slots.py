"""Upload slots (XEP-0363): what a request may ask for, and the signed, expiring URLs.

A slot is one id for both URLs: ``PUT /upload/<id>/<name>?e=<expiry>&s=<sig>`` and
``GET /files/<id>/<name>``. The PUT signature is HMAC-Streebog-256 over the method, id and
expiry, so a forged or edited URL is refused before the database is asked.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gost import HmacKey
from xmpp_server_plugins.files.errors import BadRequest, Forbidden, PolicyViolation, TooLarge

NS_UPLOAD = "urn:xmpp:http:upload:0"
NS_FILES = "urn:oplot:files:0"
CIPHER_GOST = "urn:oplot:files:cipher:kuznyechik-mgm-stream:0"
CIPHER_AESGCM = "urn:xmpp:ciphers:aes-256-gcm-nopadding:0"
#: key material each cipher's scanner envelope carries (key, or key || iv)
KEY_MATERIAL = {CIPHER_GOST: 32, CIPHER_AESGCM: 44}
MAX_NAME_BYTES = 255
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MIME = re.compile(f"^{_TOKEN}/{_TOKEN}$")


@dataclass(frozen=True)
class SlotRequest:
    owner: str
    filename: str
    size: int
    content_type: str
    scan_key: dict[str, str] | None


def check_filename(name: str) -> str:
    """A plain file name: no path, no control or format characters, <= 255 UTF-8 bytes."""
    if not name or name in (".", ".."):
        raise BadRequest("filename must not be empty, '.' or '..'")
    if "/" in name or "\\" in name:
        raise BadRequest("filename must not contain a path separator")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise BadRequest("filename must not contain control characters")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise BadRequest(f"filename longer than {MAX_NAME_BYTES} bytes")
    return name


def check_content_type(value: str) -> str:
    value = value or "application/octet-stream"
    if not _MIME.match(value):
        raise BadRequest(f"invalid content type {value[:80]!r}")
    return value.lower()


def check_size(size_text: str, limit: int) -> int:
    try:
        size = int(size_text)
    except (TypeError, ValueError):
        raise BadRequest("size must be an integer") from None
    if size <= 0:
        raise BadRequest("size must be positive")
    if size > limit:
        raise TooLarge(f"file of {size} bytes exceeds the maximum of {limit} bytes", limit)
    return size


def _b64(attrs: dict[str, str], name: str, length: int | None = None) -> bytes:
    try:
        raw = base64.b64decode(attrs.get(name, ""), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"scan key: {name} is not base64") from None
    if not raw or (length is not None and len(raw) != length):
        raise BadRequest(f"scan key: {name} has the wrong length")
    return raw


def check_scan_key(attrs: dict[str, str] | None, scanner_id: str,
                   require: bool) -> dict[str, str] | None:
    """Validate the file key wrapped for the scanner (see docs/files.md)."""
    if attrs is None:
        if require:
            raise PolicyViolation("this organisation scans every file: the upload must carry "
                                  f"the file key wrapped for the scanner ({NS_FILES} <scan/>)")
        return None
    cipher = attrs.get("cipher", "")
    if cipher not in KEY_MATERIAL:
        raise BadRequest(f"scan key: unknown cipher {cipher[:80]!r}")
    if attrs.get("key-id") != scanner_id:
        raise PolicyViolation("scan key: wrapped for another scanner key; fetch the current "
                              "one from disco#info")
    _b64(attrs, "ephemeral", 64)
    _b64(attrs, "ukm", 16)
    _b64(attrs, "wrapped", KEY_MATERIAL[cipher] + 16)
    digest = attrs.get("sha256", "")
    if digest and not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise BadRequest("scan key: sha256 must be 64 lowercase hex digits")
    keep = ("cipher", "key-id", "ephemeral", "ukm", "wrapped", "sha256")
    return {k: attrs[k] for k in keep if attrs.get(k)}


class Signer:
    """Signs and checks PUT URLs with the service's slot key."""

    def __init__(self, key: bytes, base_url: str) -> None:
        self._mac = HmacKey(key)
        self.base_url = base_url

    def _sig(self, slot_id: str, expires: int) -> str:
        return self._mac.mac(f"PUT\n{slot_id}\n{expires}".encode()).hex()

    def urls(self, slot_id: str, filename: str, expires: int) -> tuple[str, str]:
        name = quote(filename, safe="")
        put = f"{self.base_url}/upload/{slot_id}/{name}?e={expires}&s={self._sig(slot_id, expires)}"
        return put, f"{self.base_url}/files/{slot_id}/{name}"

    def check(self, slot_id: str, query: dict[str, Any], now: float | None = None) -> None:
        """Forbidden unless the signature is ours and has not expired."""
        try:
            expires = int(query.get("e", ""))
        except ValueError:
            raise Forbidden("upload URL is not signed") from None
        if not hmac.compare_digest(str(query.get("s", "")), self._sig(slot_id, expires)):
            raise Forbidden("upload URL signature is invalid")
        if expires < (time.time() if now is None else now):
            raise Forbidden("upload slot has expired; request a new one")


def new_id() -> str:
    return secrets.token_urlsafe(18)
