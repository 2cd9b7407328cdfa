"""CTR-ACPKM and OMAC-ACPKM: modes with internal re-keying (R 1323565.1.017-2018, RFC 8645).

* ACPKM(K) = E_K(D_1) || ... || E_K(D_J), D = 80 81 ... 9F: the next section key.
* CTR-ACPKM: GOST CTR whose key moves on with ACPKM every ``section_size`` bytes; the
  counter runs on across sections.
* ACPKM-Master(K, T*, l) = CTR-ACPKM(K, T*, IV = FF..FF, zeros of l*(k+n) bits).
* OMAC-ACPKM: GOST MAC where section i runs under K^i, and the final block uses the
  subkey K^l_1 (full block) or K^l_1 << 1 (padded block), both from ACPKM-Master.

Sizes are in bytes. Section sizes default to the recommended 4096 B for Kuznyechik and
1024 B for Magma (App. B, also what OpenSSL's gost-engine uses).
"""

from __future__ import annotations

import numpy as np

from gost import modes
from gost._blockcipher import BlockCipher

__all__ = ["CtrAcpkm", "acpkm", "acpkm_master", "ctr_acpkm", "omac_acpkm"]

_D = bytes(range(0x80, 0xA0))
_KEY_SIZE = 32


def default_section_size(cipher_cls: type) -> int:
    """4 KiB for Kuznyechik, 1 KiB for Magma."""
    return 4096 if cipher_cls.block_size == 16 else 1024


def acpkm(cipher: BlockCipher) -> bytes:
    """ACPKM: the next section key, E_K over the constant D block by block."""
    n = cipher.block_size
    return b"".join(cipher.encrypt_block(_D[i:i + n]) for i in range(0, _KEY_SIZE, n))


class CtrAcpkm:
    """Incremental CTR-ACPKM keystream XOR; every update() but the last must be whole blocks."""

    def __init__(
        self, cipher_cls: type, key: bytes, iv: bytes, section_size: int | None = None
    ) -> None:
        self._cls = cipher_cls
        n = cipher_cls.block_size
        section_size = section_size or default_section_size(cipher_cls)
        if section_size <= 0 or section_size % n:
            raise ValueError(
                f"ACPKM section size must be a positive multiple of {n} bytes, got {section_size}"
            )
        if len(iv) != n // 2:
            raise ValueError(
                f"CTR-ACPKM IV must be {n // 2} bytes (n/2) for {cipher_cls.__name__}, "
                f"got {len(iv)}"
            )
        self._iv = bytes(iv)
        self._section_blocks = section_size // n
        self._cipher = cipher_cls(key)
        self._section = 0
        self._block = 0
        self._finished = False

    def _ciphers_for(self, first_section: int, last_section: int) -> list[BlockCipher]:
        """Section ciphers first..last, advancing the ACPKM chain as needed."""
        while self._section < first_section:
            self._cipher = self._cls(acpkm(self._cipher))
            self._section += 1
        out = [self._cipher]
        for _ in range(first_section, last_section):
            out.append(self._cls(acpkm(out[-1])))
        return out

    def update(self, data: bytes) -> bytes:
        """XOR ``data`` with the next keystream bytes."""
        n = self._cls.block_size
        if self._finished and data:
            raise ValueError("CTR-ACPKM: only the last update() may be a partial block")
        if len(data) % n:
            self._finished = True
        nblocks = -(-len(data) // n)
        if nblocks == 0:
            return b""
        first, sb = self._block, self._section_blocks
        ciphers = self._ciphers_for(first // sb, (first + nblocks - 1) // sb)
        self._block += nblocks
        if not modes.use_bulk(self._cipher, len(data)):
            prefix = int.from_bytes(self._iv, "big") << (4 * n)
            stream = b"".join(
                ciphers[(first + i) // sb - first // sb]
                .encrypt_int(prefix | (first + i))
                .to_bytes(n, "big")
                for i in range(nblocks)
            )
            out = modes._xor(bytes(data), stream[:len(data)])
        else:
            ctrs = modes.counter_blocks(self._cipher, self._iv, first, nblocks)
            which = np.arange(first, first + nblocks) // sb - first // sb
            ks = self._cls.encrypt_blocks_multi(ctrs, ciphers, which)
            out = (np.frombuffer(data, dtype=np.uint8) ^ ks[:len(data)]).tobytes()
        self._cipher, self._section = ciphers[-1], (self._block - 1) // sb
        return out


def ctr_acpkm(
    cipher_cls: type, key: bytes, iv: bytes, data: bytes, section_size: int | None = None
) -> bytes:
    """CTR-ACPKM encryption = decryption of ``data`` (IV of n/2 bytes)."""
    return CtrAcpkm(cipher_cls, key, iv, section_size).update(data)


def acpkm_master(cipher_cls: type, key: bytes, period: int, count: int) -> list[bytes]:
    """ACPKM-Master(K, T*, count): ``count`` pieces of k+n bits (key || OMAC subkey)."""
    n = cipher_cls.block_size
    piece = _KEY_SIZE + n
    stream = ctr_acpkm(cipher_cls, key, b"\xff" * (n // 2), bytes(piece * count), period)
    return [stream[i * piece:(i + 1) * piece] for i in range(count)]


def omac_acpkm(
    cipher_cls: type,
    key: bytes,
    data: bytes,
    section_size: int,
    period: int,
    size: int | None = None,
) -> bytes:
    """OMAC-ACPKM of ``data``: sections of ``section_size`` bytes, master-key period T*."""
    n = cipher_cls.block_size
    if section_size <= 0 or section_size % n:
        raise ValueError(f"OMAC-ACPKM section size must be a positive multiple of {n} bytes")
    if period <= 0 or period % (_KEY_SIZE + n):
        raise ValueError(f"OMAC-ACPKM period T* must be a positive multiple of {_KEY_SIZE + n}")
    size = n if size is None else size
    if not 0 < size <= n:
        raise ValueError(f"MAC size must be 1..{n} bytes, got {size}")
    data = bytes(data)
    nsections = max(1, -(-len(data) // section_size))
    material = acpkm_master(cipher_cls, key, period, nsections)
    sb = section_size // n
    nblocks = max(1, -(-len(data) // n))
    state, cipher = 0, None
    for i in range(nblocks - 1):
        if i % sb == 0:
            cipher = cipher_cls(material[i // sb][:_KEY_SIZE])
        state = cipher.encrypt_int(state ^ int.from_bytes(data[i * n:(i + 1) * n], "big"))
    last_piece = material[(nblocks - 1) // sb]
    cipher = cipher_cls(last_piece[:_KEY_SIZE])
    k1 = int.from_bytes(last_piece[_KEY_SIZE:], "big")
    last = data[(nblocks - 1) * n:]
    if len(last) == n:
        subkey = k1
    else:
        last = modes.pad2(last, n)
        bits = 8 * n
        subkey = ((k1 << 1) ^ ((0x87 if n == 16 else 0x1B) if k1 >> (bits - 1) else 0)) & (
            (1 << bits) - 1
        )
    tag = cipher.encrypt_int(state ^ int.from_bytes(last, "big") ^ subkey)
    return tag.to_bytes(n, "big")[:size]
