"""GOST R 34.10-2012 signatures (RFC 7091) with key objects shaped like ``cryptography``'s.

Byte conventions follow OpenSSL's GOST engine and RFC 9215: the digest is read as a
little-endian integer (e = 0 becomes 1), a signature is s ‖ r with each half big-endian,
a raw private key is d little-endian and a raw public key is X ‖ Y, both little-endian.
Nonces come from :mod:`secrets`. Timing is data-dependent: nothing here is constant-time.
"""

from __future__ import annotations

import secrets
from typing import Any

from gost.curves import Curve
from gost.exceptions import InvalidSignature
from gost.streebog import streebog256, streebog512

_SPLIT_PARTS = 4


def hash_for(curve: Curve) -> Any:
    """The Streebog variant the standard pairs with the curve size."""
    return streebog256 if curve.bits == 256 else streebog512


def digest_to_e(digest: bytes, curve: Curve) -> int:
    """The integer e of RFC 7091 §6.1 step 2-3 from a digest in OpenSSL byte order."""
    if len(digest) != curve.size:
        raise ValueError(f"digest must be {curve.size} bytes for {curve.name}, got {len(digest)}")
    return int.from_bytes(digest, "little") % curve.q or 1


class PublicKey:
    """A validated verification key Q = d·G."""

    __slots__ = ("curve", "point", "_split", "_uses")

    def __init__(self, curve: Curve, point: tuple[int, int]) -> None:
        self.curve = curve
        self.point = curve.validate(point)
        self._split: list[list] | None = None
        self._uses = 0

    def tables(self) -> list[list]:
        """Precomputation for k·Q: plain wNAF on first use, split tables once reused.

        Split tables cost about one scalar multiplication to build and then halve every
        later one, so a key object used again (a static or CA key) gets them.
        """
        if self._split is None:
            self._uses += 1
            if self._uses < 2:
                return [self.curve.group.odd_multiples(self.point)]
            self._split = self.curve.group.shifted_tables(self.point, _SPLIT_PARTS)
        return self._split

    @classmethod
    def from_bytes(cls, curve: Curve, data: bytes) -> PublicKey:
        """Parse X ‖ Y (each little-endian), the content of the SPKI OCTET STRING."""
        if len(data) != 2 * curve.size:
            raise ValueError(f"public key must be {2 * curve.size} bytes, got {len(data)}")
        x = int.from_bytes(data[: curve.size], "little")
        y = int.from_bytes(data[curve.size :], "little")
        return cls(curve, (x, y))

    def to_bytes(self) -> bytes:
        x, y = self.point
        return x.to_bytes(self.curve.size, "little") + y.to_bytes(self.curve.size, "little")

    def verify(self, signature: bytes, message: bytes) -> None:
        """Hash ``message`` with the matching Streebog and verify; raise InvalidSignature."""
        self.verify_digest(signature, hash_for(self.curve)(message).digest())

    def verify_digest(self, signature: bytes, digest: bytes) -> None:
        """Algorithm II of RFC 7091 on a precomputed digest; raise InvalidSignature."""
        curve = self.curve
        size, q = curve.size, curve.q
        if len(signature) != 2 * size:
            raise InvalidSignature(f"signature must be {2 * size} bytes")
        s = int.from_bytes(signature[:size], "big")
        r = int.from_bytes(signature[size:], "big")
        if not (0 < r < q and 0 < s < q):
            raise InvalidSignature("signature component out of range")
        v = pow(digest_to_e(digest, curve), -1, q)
        z1, z2 = s * v % q, -r * v % q
        x = curve.group.mul_base_add_x(z1, z2, self.tables())
        if x is None or x % q != r:
            raise InvalidSignature("signature does not match")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PublicKey)
            and other.curve.params == self.curve.params
            and other.point == self.point
        )

    def __hash__(self) -> int:
        return hash(self.point)

    def __repr__(self) -> str:
        return f"<PublicKey {self.curve.name} x={self.point[0]:x}>"


class PrivateKey:
    """A signing key d, 0 < d < q."""

    __slots__ = ("curve", "d", "_public")

    def __init__(self, curve: Curve, d: int) -> None:
        if not 0 < d < curve.q:
            raise ValueError("private key must satisfy 0 < d < q")
        self.curve = curve
        self.d = d
        self._public: PublicKey | None = None

    @classmethod
    def generate(cls, curve: Curve) -> PrivateKey:
        return cls(curve, secrets.randbelow(curve.q - 1) + 1)

    @classmethod
    def from_bytes(cls, curve: Curve, data: bytes) -> PrivateKey:
        """Parse d little-endian (the PKCS#8 form OpenSSL's engine writes)."""
        if len(data) != curve.size:
            raise ValueError(f"private key must be {curve.size} bytes, got {len(data)}")
        return cls(curve, int.from_bytes(data, "little"))

    def to_bytes(self) -> bytes:
        return self.d.to_bytes(self.curve.size, "little")

    def public_key(self) -> PublicKey:
        if self._public is None:
            self._public = PublicKey(self.curve, self.curve.mul_base(self.d))
        return self._public

    def sign(self, message: bytes) -> bytes:
        """Hash ``message`` with the matching Streebog and sign; returns s ‖ r."""
        return self.sign_digest(hash_for(self.curve)(message).digest())

    def sign_digest(self, digest: bytes, *, k: int | None = None) -> bytes:
        """Algorithm I of RFC 7091. ``k`` is for known-answer tests only."""
        curve = self.curve
        q, group = curve.q, curve.group
        e = digest_to_e(digest, curve)
        while True:
            nonce = k if k is not None else secrets.randbelow(q - 1) + 1
            x = group.x_of(group.mul_base_proj(nonce))
            r = x % q if x is not None else 0
            s = (r * self.d + nonce * e) % q
            if r and s:
                return s.to_bytes(curve.size, "big") + r.to_bytes(curve.size, "big")
            if k is not None:
                raise ValueError("the given k yields r = 0 or s = 0")

    def __repr__(self) -> str:
        return f"<PrivateKey {self.curve.name}>"
