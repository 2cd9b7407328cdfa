"""File encryption on the client: a fresh key per file, streamed in chunks.

Two ciphers: gost's chunked Kuznyechik-MGM (``gost.stream`` format, our own cipher URN in
XEP-0448 terms) for Oplot clients, and AES-256-GCM (XEP-0454, ``aesgcm://`` links) for
standard OMEMO clients. The file key is also wrapped for the organisation's scanner (the
"scanner envelope", docs/files.md): VKO GOST R 34.10-2012 between a fresh ephemeral key and
the scanner key, KDF_TREE into a KExp15 key pair, KExp15 of the key material.
"""

from __future__ import annotations

import base64
import secrets
from typing import Protocol

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gost import (
    InvalidTag,
    Kuznyechik,
    PrivateKey,
    PublicKey,
    StreamDecryptor,
    StreamEncryptor,
    kdf_tree_gostr3411_2012_256,
    kexp15,
    vko_2012_256,
)
from gost.stream import HEADER_SIZE, TAG_SIZE

CIPHER_GOST = "urn:oplot:files:cipher:kuznyechik-mgm-stream:0"
CIPHER_AESGCM = "urn:xmpp:ciphers:aes-256-gcm-nopadding:0"
CHUNK = 1 << 20
ENVELOPE_LABEL = b"oplot scanner envelope"


class Stream(Protocol):
    def update(self, data: bytes) -> bytes: ...

    def finalize(self) -> bytes: ...


def sealed_size(cipher: str, size: int) -> int:
    """Ciphertext length for ``size`` plaintext bytes (the slot size to ask for)."""
    if cipher == CIPHER_AESGCM:
        return size + 16
    return HEADER_SIZE + size + TAG_SIZE * max(1, -(-size // CHUNK))


def new_material(cipher: str) -> bytes:
    """Fresh key material: 32-byte key (gost) or key || 12-byte IV (AES-GCM)."""
    return secrets.token_bytes(44 if cipher == CIPHER_AESGCM else 32)


class _AesGcmSeal:
    def __init__(self, material: bytes) -> None:
        self._enc = Cipher(algorithms.AES(material[:32]), modes.GCM(material[32:])).encryptor()

    def update(self, data: bytes) -> bytes:
        return self._enc.update(data)

    def finalize(self) -> bytes:
        return self._enc.finalize() + self._enc.tag


class _AesGcmOpen:
    """Holds back the trailing tag; the caller must not trust output before finalize()."""

    def __init__(self, material: bytes) -> None:
        self._dec = Cipher(algorithms.AES(material[:32]), modes.GCM(material[32:])).decryptor()
        self._tail = b""

    def update(self, data: bytes) -> bytes:
        data = self._tail + data
        self._tail = data[-16:]
        return self._dec.update(data[:-16])

    def finalize(self) -> bytes:
        if len(self._tail) != 16:
            raise InvalidTag
        try:
            return self._dec.finalize_with_tag(self._tail)
        except Exception as exc:
            raise InvalidTag from exc


def sealer(cipher: str, material: bytes) -> Stream:
    if cipher == CIPHER_AESGCM:
        return _AesGcmSeal(material)
    return StreamEncryptor(material, CHUNK)


def opener(cipher: str, material: bytes) -> Stream:
    if cipher == CIPHER_AESGCM:
        return _AesGcmOpen(material)
    if cipher == CIPHER_GOST:
        return StreamDecryptor(material)
    raise ValueError(f"unsupported file cipher {cipher!r}")


def scanner_envelope(material: bytes, cipher: str, scanner: PublicKey, key_id: str,
                     sha256: str) -> dict[str, str]:
    """The attributes of ``<scan xmlns='urn:oplot:files:0'/>`` for a slot request."""
    ephemeral = PrivateKey.generate(scanner.curve)
    ukm = secrets.token_bytes(16)
    kek = vko_2012_256(ephemeral, scanner, ukm)
    keys = kdf_tree_gostr3411_2012_256(kek, ENVELOPE_LABEL, ukm, 64)
    wrapped = kexp15(Kuznyechik, material, keys[:32], keys[32:], ukm[:8])
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return {"cipher": cipher, "key-id": key_id, "ephemeral": b64(ephemeral.public_key().to_bytes()),
            "ukm": b64(ukm), "wrapped": b64(wrapped), "sha256": sha256}
