"""GOST crypto glue for GOST-OMEMO: keys on TC26 256-A, VKO, signatures and the KDFs.

Cost model (pure Python): a Streebog compression is ~0.1 ms and a Kuznyechik block ~9 us,
so everything on the per-message path runs on Kuznyechik (KDF_OMAC, MGM) and Streebog is
used only where a collision-resistant hash is needed once per session or DH step."""

from __future__ import annotations

import hmac
import secrets
from functools import lru_cache

from gost import HmacKey, Kuznyechik, KuznyechikMGM, PrivateKey, PublicKey, get_curve
from gost.exceptions import InvalidSignature, InvalidTag
from gost.streebog import streebog256

CURVE = get_curve("TCA")  # id-tc26-gost-3410-12-256-paramSetA (twisted Edwards, cofactor 4)
PRIV_SIZE = 32
PUB_SIZE = 64
SIG_SIZE = 64
KEY_SIZE = 32
TAG_SIZE = 16
NONCE0 = bytes(16)  # every MGM key below is used for exactly one message
_MASK = (1 << 128) - 1


class InvalidKey(ValueError):
    """A public key that is malformed, off the curve or of small order."""


def generate_priv() -> bytes:
    """A fresh private scalar d (1 <= d < q), 32 bytes little-endian."""
    return (secrets.randbelow(CURVE.q - 1) + 1).to_bytes(PRIV_SIZE, "little")


def _scalar(priv: bytes) -> int:
    if len(priv) != PRIV_SIZE:
        raise InvalidKey(f"private key must be {PRIV_SIZE} bytes, got {len(priv)}")
    d = int.from_bytes(priv, "little")
    if not 0 < d < CURVE.q:
        raise InvalidKey("private key out of range")
    return d


@lru_cache(maxsize=256)
def derive_pub(priv: bytes) -> bytes:
    """X || Y little-endian of d*G. Cached: the ratchet asks for it on every message."""
    x, y = CURVE.mul_base(_scalar(priv))
    return x.to_bytes(32, "little") + y.to_bytes(32, "little")


def _point(pub: bytes) -> tuple[int, int]:
    """Decode and check a point: right length, on the curve, not of small order."""
    if len(pub) != PUB_SIZE:
        raise InvalidKey(f"public key must be {PUB_SIZE} bytes, got {len(pub)}")
    point = (int.from_bytes(pub[:32], "little"), int.from_bytes(pub[32:], "little"))
    if not CURVE.contains(point):
        raise InvalidKey("public key is not a point of the curve")
    if CURVE.mul(CURVE.cofactor, point) is None:
        raise InvalidKey("public key has small order")
    return point


@lru_cache(maxsize=1024)
def identity_public(pub: bytes) -> PublicKey:
    """A fully validated long-term key (also in the prime-order subgroup); cached so the
    tables gost builds for a reused key speed up later verifies and VKOs."""
    try:
        return PublicKey(CURVE, _point(pub))
    except ValueError as exc:
        raise InvalidKey(str(exc)) from None


def vko(priv: bytes, pub: bytes) -> bytes:
    """VKO_GOSTR3410_2012_256 with UKM = 1: Streebog-256 of (h*d)*P, X || Y little-endian.

    The cofactor h = 4 clears any small-subgroup component, so ephemeral and ratchet keys
    need only the cheap checks of :func:`_point` (identical output to gost.vko for valid
    keys; tested)."""
    k = CURVE.cofactor * _scalar(priv) % CURVE.q
    shared = CURVE.mul(k, _point(pub))
    if shared is None:
        raise InvalidKey("shared point is the point at infinity")
    x, y = shared
    return streebog256(x.to_bytes(32, "little") + y.to_bytes(32, "little")).digest()


def vko_static(priv: bytes, pub: bytes) -> bytes:
    """VKO with a long-term peer key (validated once, precomputed tables reused)."""
    from gost import vko_2012_256

    return vko_2012_256(PrivateKey(CURVE, _scalar(priv)), identity_public(pub), b"\x01")


def sign(priv: bytes, message: bytes) -> bytes:
    """GOST R 34.10-2012 (Streebog-256) signature s || r."""
    return PrivateKey(CURVE, _scalar(priv)).sign(message)


def verify(pub: bytes, signature: bytes, message: bytes) -> bool:
    try:
        identity_public(pub).verify(signature, message)
    except (InvalidSignature, InvalidKey):
        return False
    return True


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int, digest_size: int = 32) -> bytes:
    """HKDF (RFC 5869) over HMAC-Streebog-256 or -512 (64-byte outputs in one block)."""
    prk = HmacKey(salt or bytes(digest_size), digest_size).mac(ikm)
    prf, out, block = HmacKey(prk, digest_size), b"", b""
    for i in range(1, -(-length // digest_size) + 1):
        block = prf.mac(block + info + bytes((i,)))
        out += block
    return out[:length]


def _label(label: bytes) -> bytes:
    if len(label) > 12:
        raise ValueError("KDF_OMAC labels are at most 12 bytes")
    return label.ljust(12, b"\0")


def kdf_omac(key: bytes, label: bytes, length: int) -> bytes:
    """Counter-mode KDF (R 1323565.1.022 / SP 800-108) with OMAC-Kuznyechik as the PRF.

    Block i = OMAC_key(i || label(12) || 0x00 || L(16 bit, BE)): one 16-byte input, so each
    output block costs one Kuznyechik encryption (plus E(0) once for the OMAC subkey)."""
    if len(key) != KEY_SIZE or not 0 < length <= 16 * 255:
        raise ValueError("KDF_OMAC takes a 32-byte key and 1..4080 output bytes")
    enc = Kuznyechik(key).encrypt_int
    r = enc(0)
    k1 = ((r << 1) ^ (0x87 if r >> 127 else 0)) & _MASK
    tail = int.from_bytes(_label(label) + b"\0" + (8 * length).to_bytes(2, "big"), "big")
    blocks = [enc(((i << 120) | tail) ^ k1).to_bytes(16, "big")
              for i in range(1, -(-length // 16) + 1)]
    return b"".join(blocks)[:length]


def mgm_seal(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """Kuznyechik-MGM with the all-zero nonce (single-use key) and a 16-byte tag."""
    return KuznyechikMGM(key).encrypt(NONCE0, plaintext, associated_data)


def mgm_open(key: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
    """Inverse of :func:`mgm_seal`; raises gost.exceptions.InvalidTag."""
    return KuznyechikMGM(key).decrypt(NONCE0, ciphertext, associated_data)


def equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


__all__ = ["InvalidKey", "InvalidTag", "derive_pub", "generate_priv", "hkdf", "kdf_omac",
           "mgm_open", "mgm_seal", "sign", "verify", "vko", "vko_static"]
