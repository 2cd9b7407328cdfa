"""GOST R 34.11-2012 "Streebog" hash (RFC 6986), hashlib-compatible.

Byte convention: the message is hashed from its first byte and the digest bytes are what
OpenSSL prints; RFC 6986 writes both as big-endian numbers, i.e. byte-reversed.

The pure-Python core keeps the 512-bit state as one int (``int.from_bytes(block, "little")``
equals the RFC's number) and evaluates LPS as 64 lookups in eight tables that merge the
S-box, the byte transposition P and the linear map L; the compression function is compiled
from a short template with that straight-line LPS inlined (``_compile``). :func:`streebog256` /
:func:`streebog512` return OpenSSL's implementation when the GOST provider is loaded in this
interpreter (``OPENSSL_CONF=deploy/openssl/gost-provider.cnf``) and the pure one otherwise.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from gost.kuznyechik import PI

__all__ = [
    "OPENSSL_GOST_AVAILABLE",
    "PureStreebog256",
    "PureStreebog512",
    "streebog256",
    "streebog512",
]

# RFC 6986 section 6.2: Streebog's S-box Pi' is Kuznyechik's (RFC 7801 section 4.1).

# RFC 6986 section 6.4: rows 0..63 of the matrix A of the linear map l.
_A = """
8e20faa72ba0b470 47107ddd9b505a38 ad08b0e0c3282d1c d8045870ef14980e
6c022c38f90a4c07 3601161cf205268d 1b8e0b0e798c13c8 83478b07b2468764
a011d380818e8f40 5086e740ce47c920 2843fd2067adea10 14aff010bdd87508
0ad97808d06cb404 05e23c0468365a02 8c711e02341b2d01 46b60f011a83988e
90dab52a387ae76f 486dd4151c3dfdb9 24b86a840e90f0d2 125c354207487869
092e94218d243cba 8a174a9ec8121e5d 4585254f64090fa0 accc9ca9328a8950
9d4df05d5f661451 c0a878a0a1330aa6 60543c50de970553 302a1e286fc58ca7
18150f14b9ec46dd 0c84890ad27623e0 0642ca05693b9f70 0321658cba93c138
86275df09ce8aaa8 439da0784e745554 afc0503c273aa42a d960281e9d1d5215
e230140fc0802984 71180a8960409a42 b60c05ca30204d21 5b068c651810a89e
456c34887a3805b9 ac361a443d1c8cd2 561b0d22900e4669 2b838811480723ba
9bcf4486248d9f5d c3e9224312c8c1a0 effa11af0964ee50 f97d86d98a327728
e4fa2054a80b329c 727d102a548b194e 39b008152acb8227 9258048415eb419d
492c024284fbaec0 aa16012142f35760 550b8e9e21f7a530 a48b474f9ef5dc18
70a6a56e2440598e 3853dc371220a247 1ca76e95091051ad 0edd37c48a08a6d8
07e095624504536c 8d70c431ac02a736 c83862965601dd1b 641c314b2b8ee083
"""

# RFC 6986 section 6.5: iteration constants C[1..12], as big-endian numbers.
_C = """
b1085bda1ecadae9ebcb2f81c0657c1f2f6a76432e45d016714eb88d7585c4fc
4b7ce09192676901a2422a08a460d31505767436cc744d23dd806559f2a64507
6fa3b58aa99d2f1a4fe39d460f70b5d7f3feea720a232b9861d55e0f16b50131
9ab5176b12d699585cb561c2db0aa7ca55dda21bd7cbcd56e679047021b19bb7
f574dcac2bce2fc70a39fc286a3d843506f15e5f529c1f8bf2ea7514b1297b7b
d3e20fe490359eb1c1c93a376062db09c2b6f443867adb31991e96f50aba0ab2
ef1fdfb3e81566d2f948e1a05d71e4dd488e857e335c3c7d9d721cad685e353f
a9d72c82ed03d675d8b71333935203be3453eaa193e837f1220cbebc84e3d12e
4bea6bacad4747999a3f410c6ca923637f151c1f1686104a359e35d7800fffbd
bfcd1747253af5a3dfff00b723271a167a56a27ea9ea63f5601758fd7c6cfe57
ae4faeae1d3ad3d96fa4c33b7a3039c02d66c4f95142a46c187f9ab49af08ec6
cffaa6b71c9ab7b40af21f66c2bec6b6bf71c57236904f35fa68407a46647d6e
f4c70e16eeaac5ec51ac86febf240954399ec6c7e6bf87c9d3473e33197a93c9
0992abc52d822c3706476983284a05043517454ca23c4af38886564d3a14d493
9b1f5b424d93c9a703e7aa020c6e41414eb7f8719c36de1e89b4443b4ddbc49a
f4892bcb929b069069d18d2bd1a5c42f36acc2355951a8d9a47f0dd4bf02e71e
378f5a541631229b944c9ad8ec165fde3a7d3a1b258942243cd955b7e00d0984
800a440bdbb2ceb17b2b8a9aa6079c540e38dc92cb1f2a607261445183235adb
abbedea680056f52382ae548b2e4f3f38941e71cff8a78db1fffe18a1b336103
9fe76702af69334b7a1e6c303b7652f43698fad1153bb6c374b4c7fb98459ced
7bcd9ed0efc889fb3002c6cd635afe94d8fa6bbbebab07612001802114846679
8a1d71efea48b9caefbacd1d7d476e98dea2594ac06fd85d6bcaa4cd81f32d1b
378ee767f11631bad21380b00449b17acda43c32bcdf1d77f82012d430219f9b
5d80ef9d1891cc86e71da4aa88e12852faf417d5d9b21b9948bc924af11bd720
"""

_MASK512 = (1 << 512) - 1
_C_INTS = tuple(int(a + b, 16) for a, b in zip(*[iter(_C.split())] * 2, strict=True))


def _lps_tables() -> tuple[tuple[int, ...], ...]:
    """Table k maps input byte a[8k+j] to its contribution to output word j of L(P(S(a)))."""
    rows = [int(r, 16) for r in _A.split()]
    tables = []
    for k in range(8):
        # bit t of the word's byte k is bit 8k+t of the word, multiplied by row 63-(8k+t)
        lin = [0] * 256
        for v in range(256):
            acc = 0
            for t in range(8):
                if v >> t & 1:
                    acc ^= rows[63 - 8 * k - t]
            lin[v] = acc
        tables.append(tuple(lin[PI[x]] for x in range(256)))
    return tuple(tables)


_T = _lps_tables()


def _lps_source(src: str, dst: str, indent: str) -> str:
    """Source lines for ``dst = LPS(src)``, straight-line: 64 byte names, 64 lookups, 56
    XORs of 64-bit ints and one pack. This is the whole cost of hashing, so the functions
    below are compiled with it inlined (a call per LPS cost ~5 % of a block).

    Tables stay at 8 x 256 entries on purpose: 16-bit-indexed tables halve the lookups but
    fall out of the CPU cache and run several times slower on real data.
    """
    names = ", ".join(f"a{i}" for i in range(64))
    words = ", ".join(" ^ ".join(f"t{k}[a{8 * k + j}]" for k in range(8)) for j in range(8))
    return (f"{indent}{names}, = ({src}).to_bytes(64, 'little')\n"
            f"{indent}{dst} = frombytes(pack({words}), 'little')\n")


def _compile(signature: str, body: str) -> Any:
    """A function over the LPS tables: ``body`` with ``LPS(src) -> dst`` lines expanded by
    :func:`_lps_source`. The tables, ``pack`` and ``from_bytes`` are default arguments (the
    fastest variable access in CPython)."""
    lines = []
    for line in body.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("LPS("):
            src, dst = stripped[4:].split(") -> ")
            lines.append(_lps_source(src, dst, line[:len(line) - len(stripped)]))
        else:
            lines.append(line + "\n")
    tables = ", ".join(f"t{k}=_T[{k}]" for k in range(8))
    name, params = signature.split("(", 1)
    source = (f"def {name}({params.rstrip(')')}, {tables}, pack=_pack, "
              f"frombytes=int.from_bytes, consts=_C_INTS):\n" + "".join(lines))
    namespace = {"_T": _T, "_pack": struct.Struct("<8Q").pack, "_C_INTS": _C_INTS}
    exec(compile(source, f"<streebog {name}>", "exec"), namespace)
    return namespace[name]


#: LPS on a 512-bit int
_lps = _compile("_lps(x)", """
    LPS(x) -> x
    return x""")

#: compression function g_N(h, m) = E(LPS(h ^ N), m) ^ h ^ m (RFC 6986 section 8)
_g = _compile("_g(n, h, m)", """
    LPS(h ^ n) -> k
    s = m
    for c in consts:
        LPS(s ^ k) -> s
        LPS(k ^ c) -> k
    return s ^ k ^ h ^ m""")

#: g_0(IV, m) with E's key schedule ``keys`` precomputed: it depends on IV only, so every
#: message's first block costs 12 LPS instead of 25 (a third less for a 64-byte input
#: such as an HMAC key block or a VKO KEK)
_g_first = _compile("_g_first(keys, h, m)", """
    s = m
    for k in keys[:12]:
        LPS(s ^ k) -> s
    return s ^ keys[12] ^ h ^ m""")


def _round_keys(h: int) -> tuple[int, ...]:
    """E's 13 round keys K_1..K_13 for h ^ N = ``h``."""
    keys = [_lps(h)]
    for c in _C_INTS:
        keys.append(_lps(keys[-1] ^ c))
    return tuple(keys)


class _PureStreebog:
    """Incremental Streebog over Python ints; same interface as a hashlib object."""

    digest_size: int
    name: str
    block_size = 64
    _IV: int
    _FIRST_KEYS: tuple[int, ...]  # E's key schedule for the first block, from _IV

    def __init__(self, data: bytes = b"") -> None:
        self._h = self._IV
        self._n = 0
        self._sigma = 0
        self._buf = b""
        if data:
            self.update(data)

    def update(self, data: bytes) -> None:
        """Absorb ``data``; full 64-byte blocks are compressed right away."""
        buf = self._buf + bytes(data)
        end = len(buf) - len(buf) % 64
        if end == 0:
            self._buf = buf
            return
        h, n, sigma, g, frombytes = self._h, self._n, self._sigma, _g, int.from_bytes
        view = memoryview(buf)
        start = 0
        if n == 0:
            m = frombytes(view[:64], "little")
            h, n, sigma, start = _g_first(self._FIRST_KEYS, h, m), 512, m, 64
        for off in range(start, end, 64):
            m = frombytes(view[off:off + 64], "little")
            h = g(n, h, m)
            n = (n + 512) & _MASK512
            sigma = (sigma + m) & _MASK512
        self._h, self._n, self._sigma = h, n, sigma
        self._buf = buf[end:]

    def _final(self) -> int:
        m = int.from_bytes(self._buf, "little") | 1 << (8 * len(self._buf))
        h = _g_first(self._FIRST_KEYS, self._h, m) if self._n == 0 else _g(self._n, self._h, m)
        n = (self._n + 8 * len(self._buf)) & _MASK512
        sigma = (self._sigma + m) & _MASK512
        return _g(0, _g(0, h, n), sigma)

    def digest(self) -> bytes:
        return self._final().to_bytes(64, "little")[64 - self.digest_size:]

    def hexdigest(self) -> str:
        return self.digest().hex()

    def copy(self) -> Any:
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        return other


class PureStreebog512(_PureStreebog):
    """Streebog with a 512-bit digest, always pure Python."""

    digest_size = 64
    name = "streebog512"
    _IV = 0
    _FIRST_KEYS = _round_keys(_IV)


class PureStreebog256(_PureStreebog):
    """Streebog with a 256-bit digest (IV = 0x01 bytes, output = high half), pure Python."""

    digest_size = 32
    name = "streebog256"
    _IV = int.from_bytes(b"\x01" * 64, "little")
    _FIRST_KEYS = _round_keys(_IV)


def _openssl_works() -> bool:
    """True when hashlib has the GOST provider and it agrees with the RFC 6986 M1 vector."""
    try:
        probe = hashlib.new("md_gost12_256", b"0123456789" * 6 + b"012")
    except ValueError:
        return False
    return probe.hexdigest() == "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"


OPENSSL_GOST_AVAILABLE: bool = _openssl_works()


def streebog256(data: bytes = b"") -> Any:
    """New Streebog-256 hash object: OpenSSL's when available, else :class:`PureStreebog256`."""
    if OPENSSL_GOST_AVAILABLE:
        return hashlib.new("md_gost12_256", data)
    return PureStreebog256(data)


def streebog512(data: bytes = b"") -> Any:
    """New Streebog-512 hash object: OpenSSL's when available, else :class:`PureStreebog512`."""
    if OPENSSL_GOST_AVAILABLE:
        return hashlib.new("md_gost12_512", data)
    return PureStreebog512(data)
