"""HMAC-Streebog and the key derivation functions built on it.

* HMAC_GOSTR3411_2012_256/512 (RFC 7836 section 4.1, i.e. RFC 2104 over Streebog);
* KDF_GOSTR3411_2012_256 and KDF_TREE_GOSTR3411_2012_256 (RFC 7836 sections 4.4-4.5);
* HKDF (RFC 5869) over HMAC-Streebog;
* PBKDF2 with HMAC-Streebog-512 (R 50.1.111-2016, i.e. RFC 8018 PBKDF2).

Hashes come from :mod:`gost.streebog`'s factories, so they run on OpenSSL when the GOST
provider is loaded and on pure Python otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from gost.streebog import OPENSSL_GOST_AVAILABLE, streebog256, streebog512

__all__ = [
    "Hmac",
    "HmacKey",
    "hkdf",
    "hkdf_expand",
    "hkdf_extract",
    "hmac_streebog256",
    "hmac_streebog512",
    "kdf_gostr3411_2012_256",
    "kdf_tree_gostr3411_2012_256",
    "pbkdf2_streebog512",
]

_BLOCK = 64
_FACTORIES: dict[int, Callable[..., Any]] = {32: streebog256, 64: streebog512}


class HmacKey:
    """An HMAC-Streebog key with the ipad/opad blocks already absorbed.

    Reusing one object saves two of the (typically four) compressions per MAC, which is
    what makes PBKDF2 and KDF_TREE affordable in pure Python.
    """

    __slots__ = ("digest_size", "_inner", "_outer")

    def __init__(self, key: bytes, digest_size: int = 32) -> None:
        if digest_size not in _FACTORIES:
            raise ValueError(f"HMAC-Streebog digest size must be 32 or 64 bytes, got {digest_size}")
        new = _FACTORIES[digest_size]
        key = bytes(key)
        if len(key) > _BLOCK:
            key = new(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self.digest_size = digest_size
        self._inner = new(bytes(b ^ 0x36 for b in key))
        self._outer = new(bytes(b ^ 0x5C for b in key))

    def mac(self, data: bytes) -> bytes:
        """HMAC(key, data)."""
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def new(self) -> Hmac:
        """An incremental HMAC (update/digest/hexdigest) starting from this key."""
        return Hmac(self._inner.copy(), self._outer)


class Hmac:
    """Incremental HMAC-Streebog; get one from :meth:`HmacKey.new`."""

    def __init__(self, inner: Any, outer: Any) -> None:
        self._inner, self._outer = inner, outer

    def update(self, data: bytes) -> None:
        self._inner.update(data)

    def digest(self) -> bytes:
        outer = self._outer.copy()
        outer.update(self._inner.digest())
        return outer.digest()

    def hexdigest(self) -> str:
        return self.digest().hex()


def hmac_streebog256(key: bytes, data: bytes) -> bytes:
    """HMAC_GOSTR3411_2012_256(key, data)."""
    return HmacKey(key, 32).mac(data)


def hmac_streebog512(key: bytes, data: bytes) -> bytes:
    """HMAC_GOSTR3411_2012_512(key, data)."""
    return HmacKey(key, 64).mac(data)


def kdf_tree_gostr3411_2012_256(
    key: bytes, label: bytes, seed: bytes, length: int, r: int = 1
) -> bytes:
    """KDF_TREE_GOSTR3411_2012_256: ``length`` bytes of K(1) | K(2) | ...

    K(i) = HMAC256(key, [i]_r | label | 0x00 | seed | [L]) with [L] the bit length in
    minimal big-endian bytes.
    """
    if r not in (1, 2, 3, 4):
        raise ValueError(f"KDF_TREE counter size r must be 1..4 bytes, got {r}")
    blocks = -(-length // 32)
    if length <= 0 or blocks >= 1 << (8 * r):
        raise ValueError(f"KDF_TREE length must be 1..{32 * ((1 << 8 * r) - 1)} bytes for r={r}")
    bits = 8 * length
    tail = bytes(label) + b"\0" + bytes(seed) + bits.to_bytes((bits.bit_length() + 7) // 8, "big")
    prf = HmacKey(key, 32)
    out = b"".join(prf.mac(i.to_bytes(r, "big") + tail) for i in range(1, blocks + 1))
    return out[:length]


def kdf_gostr3411_2012_256(key: bytes, label: bytes, seed: bytes) -> bytes:
    """KDF_GOSTR3411_2012_256 = HMAC256(key, 0x01 | label | 0x00 | seed | 0x01 | 0x00)."""
    return kdf_tree_gostr3411_2012_256(key, label, seed, 32, 1)


def hkdf_extract(salt: bytes | None, ikm: bytes, digest_size: int = 32) -> bytes:
    """RFC 5869 HKDF-Extract: PRK = HMAC(salt or zeros, IKM)."""
    return HmacKey(salt or bytes(digest_size), digest_size).mac(ikm)


def hkdf_expand(prk: bytes, info: bytes, length: int, digest_size: int = 32) -> bytes:
    """RFC 5869 HKDF-Expand: T(i) = HMAC(PRK, T(i-1) | info | i), at most 255 blocks."""
    if not 0 < length <= 255 * digest_size:
        raise ValueError(f"HKDF length must be 1..{255 * digest_size} bytes, got {length}")
    prf = HmacKey(prk, digest_size)
    out, block = [], b""
    for i in range(1, -(-length // digest_size) + 1):
        block = prf.mac(block + bytes(info) + bytes((i,)))
        out.append(block)
    return b"".join(out)[:length]


def hkdf(
    ikm: bytes, length: int, salt: bytes | None = None, info: bytes = b"", digest_size: int = 32
) -> bytes:
    """RFC 5869 HKDF (extract then expand) over HMAC-Streebog-256 or -512."""
    return hkdf_expand(hkdf_extract(salt, ikm, digest_size), info, length, digest_size)


def pbkdf2_streebog512(password: bytes, salt: bytes, iterations: int, dklen: int = 64) -> bytes:
    """PBKDF2 with HMAC_GOSTR3411_2012_512 as PRF (R 50.1.111-2016)."""
    if iterations < 1 or dklen < 1:
        raise ValueError("PBKDF2 needs iterations >= 1 and dklen >= 1")
    if OPENSSL_GOST_AVAILABLE:
        return hashlib.pbkdf2_hmac("md_gost12_512", password, salt, iterations, dklen)
    prf = HmacKey(password, 64)
    out = []
    for i in range(1, -(-dklen // 64) + 1):
        u = prf.mac(bytes(salt) + i.to_bytes(4, "big"))
        acc = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            u = prf.mac(u)
            acc ^= int.from_bytes(u, "big")
        out.append(acc.to_bytes(64, "big"))
    return b"".join(out)[:dklen]
