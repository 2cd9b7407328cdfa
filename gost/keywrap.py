"""KExp15 / KImp15 key export and import (R 1323565.1.017-2018 section 5, RFC 9189 8.2.1).

KEYMAC = OMAC_{K_mac}(IV || K) (a full block), KEXP = CTR_{K_enc, IV}(K || KEYMAC), with
IV of n/2 bytes. Import decrypts, recomputes the MAC and raises InvalidTag on mismatch, so
a wrapped key that was tampered with never comes back.
"""

from __future__ import annotations

import hmac

from gost import modes
from gost.exceptions import InvalidTag

__all__ = ["kexp15", "kimp15"]


def _check_iv(cipher_cls: type, iv: bytes) -> None:
    if len(iv) != cipher_cls.block_size // 2:
        raise ValueError(
            f"KExp15 IV must be {cipher_cls.block_size // 2} bytes for {cipher_cls.__name__}, "
            f"got {len(iv)}"
        )


def kexp15(cipher_cls: type, key: bytes, mac_key: bytes, enc_key: bytes, iv: bytes) -> bytes:
    """Export ``key`` under (mac_key, enc_key): ciphertext of key || KEYMAC."""
    _check_iv(cipher_cls, iv)
    keymac = modes.omac(cipher_cls(mac_key), bytes(iv) + bytes(key))
    return modes.ctr(cipher_cls(enc_key), iv, bytes(key) + keymac)


def kimp15(cipher_cls: type, kexp: bytes, mac_key: bytes, enc_key: bytes, iv: bytes) -> bytes:
    """Import a KExp15 blob; InvalidTag if its MAC does not verify."""
    _check_iv(cipher_cls, iv)
    n = cipher_cls.block_size
    if len(kexp) <= n:
        raise InvalidTag
    plain = modes.ctr(cipher_cls(enc_key), iv, bytes(kexp))
    key, keymac = plain[:-n], plain[-n:]
    if not hmac.compare_digest(modes.omac(cipher_cls(mac_key), bytes(iv) + key), keymac):
        raise InvalidTag
    return key
