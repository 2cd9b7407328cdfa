"""The scanner's side of the key envelope (docs/files.md, "Scanner envelope"): recover the
file key the uploading client wrapped for the scanner key, then decrypt the client's
ciphertext as a stream (gost chunked Kuznyechik-MGM, or AES-256-GCM for XEP-0454 links).

The client side of the same format is ``client_sdk.files.crypto``; workflow never imports
the client, so the two are tested against each other.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gost import (
    InvalidTag,
    Kuznyechik,
    PrivateKey,
    PublicKey,
    StreamDecryptor,
    kdf_tree_gostr3411_2012_256,
    kimp15,
    vko_2012_256,
)

CIPHER_GOST = "urn:oplot:files:cipher:kuznyechik-mgm-stream:0"
CIPHER_AESGCM = "urn:xmpp:ciphers:aes-256-gcm-nopadding:0"
LABEL = b"oplot scanner envelope"


def unwrap(envelope: dict[str, str], scanner: PrivateKey) -> bytes:
    """The key material (gost: key; AES-GCM: key || iv); InvalidTag if it was altered."""
    ephemeral = PublicKey.from_bytes(scanner.curve, base64.b64decode(envelope["ephemeral"]))
    ukm = base64.b64decode(envelope["ukm"])
    kek = vko_2012_256(scanner, ephemeral, ukm)
    keys = kdf_tree_gostr3411_2012_256(kek, LABEL, ukm, 64)
    return kimp15(Kuznyechik, base64.b64decode(envelope["wrapped"]), keys[:32], keys[32:],
                  ukm[:8])


class _AesGcm:
    """Streaming AES-256-GCM (XEP-0454: ciphertext || 16-byte tag); plaintext released
    before the tag is checked — fine for scanning, and finalize() still fails on tampering."""

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


def decryptor(cipher: str, material: bytes) -> StreamDecryptor | _AesGcm:
    if cipher == CIPHER_GOST:
        return StreamDecryptor(material)
    if cipher == CIPHER_AESGCM:
        return _AesGcm(material)
    raise ValueError(f"unknown cipher {cipher!r}")
