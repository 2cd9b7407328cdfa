"""Modes of operation of GOST R 34.13-2015 over :class:`~gost._blockcipher.BlockCipher`.

Sizes are in bytes: ``n`` is the cipher's block size, ``s`` (gamma / feedback segment) is
``0 < s <= n`` bytes, IVs are ``m`` bytes as each mode allows (CTR: n/2; OFB, CBC: a multiple
of n; CFB: at least n). The modes the standard lets run in parallel (ECB, CTR, CBC and CFB
decryption) switch to the cipher's numpy kernel from :data:`BULK_MIN_BLOCKS` blocks; the chained
ones (OFB, CBC/CFB encryption, MAC) run on Python ints.
"""

from __future__ import annotations

import numpy as np

from gost._blockcipher import BlockCipher

__all__ = [
    "BULK_MIN_BLOCKS",
    "Omac",
    "cbc_decrypt",
    "cbc_encrypt",
    "cfb_decrypt",
    "cfb_encrypt",
    "counter_blocks",
    "ctr",
    "ecb_decrypt",
    "ecb_encrypt",
    "ofb",
    "omac",
    "pad1",
    "pad2",
    "pad3",
    "unpad2",
]

#: per block size: below this many blocks the int path beats numpy's fixed 0.15-0.3 ms per
#: call (crossover measured on 2026-11-30: ~48-56 Kuznyechik blocks on a 2-core Xeon VM,
#: ~37-40 on a 2-core EPYC VM; ~28 Magma blocks on both; benchmarks/gost_bench.py prints
#: both paths per size). 44 keeps either machine within 1.2x of the faster path.
BULK_MIN_BLOCKS = {16: 44, 8: 28}


def use_bulk(cipher: BlockCipher, nbytes: int) -> bool:
    """True when ``nbytes`` of input is worth the numpy path for this cipher."""
    n = cipher.block_size
    return nbytes >= BULK_MIN_BLOCKS[n] * n
#: blocks per CTR segment: bounds the keystream buffer to about 1 MiB
_SEGMENT_BLOCKS = 65536


def _name(cipher: BlockCipher) -> str:
    return type(cipher).__name__


def _check_s(cipher: BlockCipher, s: int | None) -> int:
    n = cipher.block_size
    if s is None:
        return n
    if not 0 < s <= n:
        raise ValueError(f"segment size s must be 1..{n} bytes for {_name(cipher)}, got {s}")
    return s


def _check_whole(cipher: BlockCipher, data: bytes, mode: str) -> None:
    if len(data) % cipher.block_size:
        raise ValueError(
            f"{mode} input must be a multiple of {cipher.block_size} bytes "
            f"(pad it first), got {len(data)}"
        )


def _check_register_iv(cipher: BlockCipher, iv: bytes, mode: str) -> None:
    n = cipher.block_size
    if not iv or len(iv) % n:
        raise ValueError(
            f"{mode} IV must be a non-zero multiple of {n} bytes for {_name(cipher)}, "
            f"got {len(iv)}"
        )


def _xor(a: bytes, b: bytes) -> bytes:
    """XOR of two equal-length byte strings (through ints: one C-level op each way)."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


# -- padding (section 4.1) -------------------------------------------------------------------


def pad1(data: bytes, n: int) -> bytes:
    """Procedure 1: zero bytes up to a multiple of n (not reversible without the length)."""
    return bytes(data) + bytes(-len(data) % n)


def pad2(data: bytes, n: int) -> bytes:
    """Procedure 2: append 0x80 then zeros; always adds at least one byte."""
    return bytes(data) + b"\x80" + bytes(-(len(data) + 1) % n)


def pad3(data: bytes, n: int) -> bytes:
    """Procedure 3: unchanged if the last block is full (and non-empty), else procedure 2."""
    if data and len(data) % n == 0:
        return bytes(data)
    return pad2(data, n)


def unpad2(data: bytes, n: int) -> bytes:
    """Undo procedure 2; ValueError if the padding is malformed."""
    stripped = bytes(data).rstrip(b"\0")
    if len(data) % n or not stripped.endswith(b"\x80") or len(data) - len(stripped) >= n:
        raise ValueError("invalid padding (procedure 2)")
    return stripped[:-1]


# -- ECB (5.1) -------------------------------------------------------------------------------


def _ecb(cipher: BlockCipher, data: bytes, encrypt: bool) -> bytes:
    _check_whole(cipher, data, "ECB")
    if use_bulk(cipher, len(data)):
        bulk = cipher.encrypt_blocks if encrypt else cipher.decrypt_blocks
        return bulk(data).tobytes()
    n = cipher.block_size
    fn = cipher.encrypt_int if encrypt else cipher.decrypt_int
    return b"".join(
        fn(int.from_bytes(data[i:i + n], "big")).to_bytes(n, "big") for i in range(0, len(data), n)
    )


def ecb_encrypt(cipher: BlockCipher, data: bytes) -> bytes:
    """Electronic codebook encryption of whole blocks."""
    return _ecb(cipher, data, True)


def ecb_decrypt(cipher: BlockCipher, data: bytes) -> bytes:
    """Electronic codebook decryption of whole blocks."""
    return _ecb(cipher, data, False)


# -- CTR (5.2) -------------------------------------------------------------------------------


def counter_blocks(cipher: BlockCipher, iv: bytes, first: int, count: int) -> np.ndarray:
    """CTR_i = IV || [i]_(n/2), i = first .. first+count-1, as a flat uint8 array."""
    n = cipher.block_size
    half = n // 2
    if first + count > 1 << (8 * half):
        raise ValueError(f"CTR counter space exhausted ({1 << 8 * half} blocks per IV)")
    blocks = np.empty((count, n), dtype=np.uint8)
    idx = np.arange(first, first + count, dtype=np.uint64)
    if half == 8:
        blocks[:, :8] = np.frombuffer(iv, dtype=np.uint8)
        blocks[:, 8:].view(">u8")[:, 0] = idx
    else:
        blocks.view(">u8")[:, 0] = idx + np.uint64(int.from_bytes(iv, "big") << (8 * half))
    return blocks.reshape(-1)


def _check_ctr_iv(cipher: BlockCipher, iv: bytes) -> None:
    if len(iv) != cipher.block_size // 2:
        raise ValueError(
            f"CTR IV must be {cipher.block_size // 2} bytes (n/2) for {_name(cipher)}, "
            f"got {len(iv)}"
        )


def ctr(cipher: BlockCipher, iv: bytes, data: bytes, s: int | None = None, first: int = 0) -> bytes:
    """Counter mode (encryption = decryption), gamma segments of ``s`` bytes.

    ``first`` is the counter of the first segment, so a long stream can be processed in
    pieces whose lengths are multiples of ``s``.
    """
    _check_ctr_iv(cipher, iv)
    s = _check_s(cipher, s)
    n = cipher.block_size
    nseg = -(-len(data) // s)
    if not use_bulk(cipher, len(data)):
        prefix = int.from_bytes(iv, "big") << (4 * n)
        stream = b"".join(
            cipher.encrypt_int(prefix | (first + i)).to_bytes(n, "big")[:s] for i in range(nseg)
        )
        return _xor(bytes(data), stream[:len(data)])
    src = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(len(data), dtype=np.uint8)
    for seg in range(0, nseg, _SEGMENT_BLOCKS):
        count = min(_SEGMENT_BLOCKS, nseg - seg)
        ks = cipher.encrypt_blocks(counter_blocks(cipher, iv, first + seg, count), counters=True)
        if s != n:
            ks = ks.reshape(-1, n)[:, :s].reshape(-1)
        lo, hi = seg * s, min((seg + count) * s, len(data))
        np.bitwise_xor(src[lo:hi], ks[:hi - lo], out=out[lo:hi])
    return out.tobytes()


# -- OFB (5.3) -------------------------------------------------------------------------------


def ofb(cipher: BlockCipher, iv: bytes, data: bytes, s: int | None = None) -> bytes:
    """Output feedback (encryption = decryption); register of m = len(iv) bytes."""
    _check_register_iv(cipher, iv, "OFB")
    s = _check_s(cipher, s)
    n = cipher.block_size
    z = len(iv) // n
    reg = [int.from_bytes(iv[i:i + n], "big") for i in range(0, len(iv), n)]
    enc = cipher.encrypt_int
    stream = []
    for i in range(-(-len(data) // s)):
        y = enc(reg[i % z])
        reg[i % z] = y
        stream.append(y.to_bytes(n, "big")[:s])
    return _xor(bytes(data), b"".join(stream)[:len(data)])


# -- CBC (5.4) -------------------------------------------------------------------------------


def cbc_encrypt(cipher: BlockCipher, iv: bytes, data: bytes) -> bytes:
    """Cipher block chaining encryption; register of m = len(iv) bytes (a multiple of n)."""
    _check_register_iv(cipher, iv, "CBC")
    _check_whole(cipher, data, "CBC")
    n = cipher.block_size
    z = len(iv) // n
    reg = [int.from_bytes(iv[i:i + n], "big") for i in range(0, len(iv), n)]
    enc = cipher.encrypt_int
    out = []
    for i in range(len(data) // n):
        c = enc(int.from_bytes(data[i * n:(i + 1) * n], "big") ^ reg[i % z])
        reg[i % z] = c
        out.append(c.to_bytes(n, "big"))
    return b"".join(out)


def cbc_decrypt(cipher: BlockCipher, iv: bytes, data: bytes) -> bytes:
    """CBC decryption: P_i = D(C_i) xor C_(i-z), with the IV blocks as C_(1-z) .. C_0."""
    _check_register_iv(cipher, iv, "CBC")
    _check_whole(cipher, data, "CBC")
    chain = (bytes(iv) + bytes(data))[:len(data)]
    if use_bulk(cipher, len(data)):
        plain = cipher.decrypt_blocks(data)
        plain ^= np.frombuffer(chain, dtype=np.uint8)
        return plain.tobytes()
    return _xor(ecb_decrypt(cipher, data), chain)


# -- CFB (5.5) -------------------------------------------------------------------------------


def _check_cfb_iv(cipher: BlockCipher, iv: bytes) -> None:
    if len(iv) < cipher.block_size:
        raise ValueError(
            f"CFB IV must be at least {cipher.block_size} bytes (m >= n) for {_name(cipher)}, "
            f"got {len(iv)}"
        )


def _cfb(cipher: BlockCipher, iv: bytes, data: bytes, s: int, decrypt: bool) -> bytes:
    """Register R of m bytes: gamma = MSB_s(E(MSB_n(R))), then R = LSB_(m-s)(R) || C_i."""
    n, m = cipher.block_size, len(iv)
    reg = int.from_bytes(iv, "big")
    mask = (1 << 8 * m) - 1
    enc = cipher.encrypt_int
    out = []
    for off in range(0, len(data), s):
        seg = data[off:off + s]
        gamma = enc(reg >> 8 * (m - n)).to_bytes(n, "big")[:len(seg)]
        res = _xor(seg, gamma)
        c = seg if decrypt else res
        reg = ((reg << 8 * s) & mask) | int.from_bytes(c.ljust(s, b"\0"), "big")
        out.append(res)
    return b"".join(out)


def cfb_encrypt(cipher: BlockCipher, iv: bytes, data: bytes, s: int | None = None) -> bytes:
    """Cipher feedback encryption; IV m >= n bytes, segments of s bytes."""
    _check_cfb_iv(cipher, iv)
    return _cfb(cipher, iv, bytes(data), _check_s(cipher, s), False)


def cfb_decrypt(cipher: BlockCipher, iv: bytes, data: bytes, s: int | None = None) -> bytes:
    """Cipher feedback decryption, parallel (numpy) for long inputs.

    The register slides over IV || C by s bytes per step, so E's input for segment i is the
    window (IV || C)[i*s : i*s + n], all known to the receiver up front.
    """
    _check_cfb_iv(cipher, iv)
    s = _check_s(cipher, s)
    n = cipher.block_size
    data = bytes(data)
    if not use_bulk(cipher, len(data)):
        return _cfb(cipher, iv, data, s, True)
    q = -(-len(data) // s)
    stream = np.frombuffer(bytes(iv) + data, dtype=np.uint8)
    windows = np.lib.stride_tricks.as_strided(stream, shape=(q, n), strides=(s, 1))
    gamma = cipher.encrypt_blocks(np.ascontiguousarray(windows).reshape(-1))
    gamma = gamma.reshape(q, n)[:, :s].reshape(-1)[:len(data)]
    return (np.frombuffer(data, dtype=np.uint8) ^ gamma).tobytes()


# -- MAC (5.6) -------------------------------------------------------------------------------


class Omac:
    """Incremental MAC of GOST R 34.13-2015 section 5.6 (OMAC1/CMAC), ``size`` bytes out."""

    def __init__(self, cipher: BlockCipher, size: int | None = None) -> None:
        self._cipher = cipher
        self._n = n = cipher.block_size
        self._size = _check_s(cipher, size)
        bits = 8 * n
        poly = 0x87 if n == 16 else 0x1B
        r = cipher.encrypt_int(0)
        k1 = ((r << 1) ^ (poly if r >> (bits - 1) else 0)) & ((1 << bits) - 1)
        self._k1 = k1
        self._k2 = ((k1 << 1) ^ (poly if k1 >> (bits - 1) else 0)) & ((1 << bits) - 1)
        self._state = 0
        self._buf = b""

    def update(self, data: bytes) -> None:
        """Absorb data; the last (possibly full) block is held back for finalize()."""
        buf = self._buf + bytes(data)
        n, enc, c = self._n, self._cipher.encrypt_int, self._state
        keep = (len(buf) - 1) // n * n if buf else 0
        for off in range(0, keep, n):
            c = enc(c ^ int.from_bytes(buf[off:off + n], "big"))
        self._state, self._buf = c, buf[keep:]

    def finalize(self) -> bytes:
        """MAC = MSB_s(E(P*_q xor C_(q-1) xor K*)); the object stays usable."""
        n = self._n
        if len(self._buf) == n:
            last, key = self._buf, self._k1
        else:
            last, key = pad2(self._buf, n), self._k2
        t = self._cipher.encrypt_int(self._state ^ int.from_bytes(last, "big") ^ key)
        return t.to_bytes(n, "big")[:self._size]


def omac(cipher: BlockCipher, data: bytes, size: int | None = None) -> bytes:
    """One-shot MAC (imitovstavka) of ``data``; ``size`` bytes, default the block size."""
    mac = Omac(cipher, size)
    mac.update(data)
    return mac.finalize()
