"""VKO_GOSTR3410_2012_256/512 key agreement (RFC 7836 §4.3).

K = (m/q · UKM · x mod q) · (y·P) with UKM read little-endian, and KEK = Streebog over
K's Weierstrass coordinates X ‖ Y, each little-endian (as OpenSSL's GOST engine does).
The peer point is validated: on the curve, not infinity, not of small order and, on the
cofactor-4 curves, in the prime-order subgroup; each failure is a ValueError saying which.
"""

from __future__ import annotations

from gost.sign import PrivateKey, PublicKey
from gost.streebog import streebog256, streebog512


def _shared_point(private_key: PrivateKey, peer: PublicKey | tuple[int, int], ukm: bytes):
    curve = private_key.curve
    if not isinstance(peer, PublicKey):
        peer = PublicKey(curve, peer)
    elif peer.curve.params != curve.params:
        raise ValueError("peer key is on a different curve")
    if len(ukm) > curve.size:
        raise ValueError(f"UKM must be at most {curve.size} bytes")
    ukm_int = int.from_bytes(ukm, "little") or 1
    k = curve.cofactor * ukm_int * private_key.d % curve.q
    group = curve.group
    shared = group.to_point(group.mul_split_proj(k, peer.tables()))
    if shared is None:
        raise ValueError("shared point is the point at infinity")
    x, y = shared
    return x.to_bytes(curve.size, "little") + y.to_bytes(curve.size, "little")


def vko_2012_256(private_key: PrivateKey, peer: PublicKey | tuple[int, int], ukm: bytes) -> bytes:
    """VKO_GOSTR3410_2012_256: 32-byte KEK (works for 256- and 512-bit keys)."""
    return streebog256(_shared_point(private_key, peer, ukm)).digest()


def vko_2012_512(private_key: PrivateKey, peer: PublicKey | tuple[int, int], ukm: bytes) -> bytes:
    """VKO_GOSTR3410_2012_512: 64-byte KEK."""
    return streebog512(_shared_point(private_key, peer, ukm)).digest()
