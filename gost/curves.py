"""GOST R 34.10-2012 elliptic curves and fast point arithmetic on Python ints.

Points cross the API as affine Weierstrass ``(x, y)`` tuples (``None`` is the point at
infinity), exactly as the standard writes them. Internally the two twisted Edwards sets
(TC26 256-A and 512-C, RFC 7836 §5.2) are computed in extended Edwards coordinates through
the birational map, the others in Jacobian coordinates. The generator gets a fixed-base
comb table; other points use width-5 wNAF. Nothing here is constant-time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

Point = tuple[int, int] | None

_COMB_BITS = 8
_WNAF_WIDTH = 5


@dataclass(frozen=True)
class CurveParams:
    """The numbers of one curve (several OIDs may name the same curve)."""

    p: int
    a: int
    b: int
    m: int
    q: int
    x: int
    y: int
    e: int | None = None
    d: int | None = None


@dataclass(frozen=True, eq=False)
class Curve:
    """One GOST R 34.10-2012 parameter set: identified by its OID, computed by its params."""

    name: str
    oid: str
    bits: int
    params: CurveParams
    openssl_names: tuple[str, ...] = ()
    test_only: bool = False

    @property
    def p(self) -> int:
        return self.params.p

    @property
    def q(self) -> int:
        return self.params.q

    @property
    def cofactor(self) -> int:
        return self.params.m // self.params.q

    @property
    def size(self) -> int:
        """Byte length of a coordinate, a scalar and half a signature."""
        return self.bits // 8

    @property
    def generator(self) -> tuple[int, int]:
        return (self.params.x, self.params.y)

    @property
    def is_edwards(self) -> bool:
        return self.params.e is not None

    @functools.cached_property
    def group(self) -> _Group:
        """Cached: hashing the nine big ints of ``params`` on every call cost ~5 % of a VKO."""
        return _group_for(self.params)

    def contains(self, point: Point) -> bool:
        """True if ``point`` is an affine point satisfying the Weierstrass equation."""
        if point is None:
            return False
        x, y = point
        p, a, b = self.params.p, self.params.a, self.params.b
        return 0 <= x < p and 0 <= y < p and (y * y - (x * x + a) * x - b) % p == 0

    def validate(self, point: Point) -> tuple[int, int]:
        """Return ``point`` if it is a usable public point, else ValueError naming why."""
        if point is None:
            raise ValueError("point is the point at infinity")
        if not self.contains(point):
            raise ValueError("point is not on the curve")
        if self.cofactor != 1:
            problem = self.group.subgroup_problem(point)
            if problem:
                raise ValueError(problem)
        return point

    def mul(self, k: int, point: Point) -> Point:
        """k·point for any point on the curve (no validation)."""
        return self.group.mul(k, point)

    def mul_base(self, k: int) -> Point:
        """k·G using the precomputed comb table."""
        return self.group.mul_base(k)

    def add(self, p1: Point, p2: Point) -> Point:
        return self.group.add_affine(p1, p2)

    def __repr__(self) -> str:
        return f"<Curve {self.name}>"


@functools.cache
def _group_for(params: CurveParams) -> _Group:
    return _EdwardsGroup(params) if params.e is not None else _JacobianGroup(params)


class _Group:
    """Scalar multiplication algorithms over a coordinate system given by subclasses.

    Subclasses supply: ``identity``, ``dbl(P)``, ``add(P, Q)``, ``madd(P, A)`` (A in the
    internal affine form), ``neg_affine(A)``, ``normalize(list of P) -> list of A``,
    ``lift(point) -> A``, ``to_point(P) -> Point`` and ``x_of(P) -> int | None``.
    """

    def __init__(self, params: CurveParams) -> None:
        self.params = params
        self.p = params.p

    @functools.cached_property
    def comb(self) -> list[list]:
        """comb[i][j-1] = j·2^(8i)·G in internal affine form, j = 1..255."""
        windows = (self.params.q.bit_length() + _COMB_BITS - 1) // _COMB_BITS
        base = self.lift(self.to_gen())
        table = []
        for _ in range(windows):
            row = [self.madd(self.identity, base)]
            for _ in range((1 << _COMB_BITS) - 2):
                row.append(self.madd(row[-1], base))
            row.append(self.madd(row[-1], base))  # 256·base, next window's base
            affine = self.normalize(row)
            table.append(affine[:-1])
            base = affine[-1]
        return table

    def to_gen(self) -> tuple[int, int]:
        return (self.params.x, self.params.y)

    def mul_base_proj(self, k: int):
        k %= self.params.q
        acc = self.identity
        mask = (1 << _COMB_BITS) - 1
        madd = self.madd
        for row in self.comb:
            digit = k & mask
            if digit:
                acc = madd(acc, row[digit - 1])
            k >>= _COMB_BITS
        return acc

    def mul_base(self, k: int) -> Point:
        return self.to_point(self.mul_base_proj(k))

    def odd_multiples(self, point: tuple[int, int]) -> list:
        """[P, 3P, 5P, ..., (2^(w-1) - 1)P] in internal affine form, for wNAF."""
        base = self.lift(point)
        twice = self.normalize([self.dbl(self.madd(self.identity, base))])[0]
        row = [self.madd(self.identity, base)]
        for _ in range((1 << (_WNAF_WIDTH - 2)) - 1):
            row.append(self.madd(row[-1], twice))
        return self.normalize(row)

    def mul_multi_proj(self, terms: list[tuple[int, list]]):
        """Σ k_i·P_i (P_i given by their odd-multiple tables), sharing one doubling chain."""
        events: dict[int, list[tuple[list, int]]] = {}
        for k, table in terms:
            for pos, digit in _wnaf(k):
                events.setdefault(pos, []).append((table, digit))
        if not events:
            return self.identity
        acc = self.identity
        neg = self.neg_affine
        positions = sorted(events, reverse=True)
        for i, pos in enumerate(positions):
            if i:
                acc = self.dbl_run(acc, positions[i - 1] - pos)
            for table, digit in events[pos]:
                entry = table[digit >> 1] if digit > 0 else neg(table[(-digit) >> 1])
                acc = self.madd(acc, entry)
        return self.dbl_run(acc, positions[-1])

    def dbl_run(self, pt, n: int):
        """n successive doublings (subclasses may skip work the chain never reads)."""
        for _ in range(n):
            pt = self.dbl(pt)
        return pt

    def shifted_tables(self, point: tuple[int, int], parts: int) -> list[list]:
        """Odd-multiple tables of P, 2^s·P, 2^2s·P, ... so a scalar can be split in parts."""
        step = -(-self.params.q.bit_length() // parts)
        tables = []
        current = point
        for i in range(parts):
            if i:
                start = self.madd(self.identity, self.lift(current))
                current = self.to_point(self.dbl_run(start, step))
            tables.append(self.odd_multiples(current))
        return tables

    def mul_split_proj(self, k: int, tables: list[list]):
        """k·P from ``shifted_tables``: the chain is only q_bits/parts doublings long."""
        step = -(-self.params.q.bit_length() // len(tables))
        mask = (1 << step) - 1
        terms = []
        for table in tables:
            terms.append((k & mask, table))
            k >>= step
        return self.mul_multi_proj(terms)

    def subgroup_problem(self, point: tuple[int, int]) -> str | None:
        """Why an on-curve ``point`` is outside the order-q subgroup, or None if inside."""
        if self.mul(self.params.m // self.params.q, point) is None:
            return _SMALL_ORDER
        if self.mul(self.params.q, point) is not None:
            return _OUTSIDE
        return None

    def mul(self, k: int, point: Point) -> Point:
        if point is None or k == 0:
            return None
        if k < 0:
            k, point = -k, self.neg_point(point)
        return self.to_point(self.mul_multi_proj([(k, self.odd_multiples(point))]))

    def neg_point(self, point: tuple[int, int]) -> tuple[int, int]:
        return (point[0], -point[1] % self.p)

    def add_affine(self, p1: Point, p2: Point) -> Point:
        if p1 is None:
            return p2
        if p2 is None:
            return p1
        return self.to_point(self.madd(self.madd(self.identity, self.lift(p1)), self.lift(p2)))

    def mul_base_add_x(self, k1: int, k2: int, tables: list[list]) -> int | None:
        """x(k1·G + k2·P), P given by ``shifted_tables``; None for infinity."""
        return self.x_of(self.add(self.mul_base_proj(k1), self.mul_split_proj(k2, tables)))


_SMALL_ORDER = "point has small order (it lies in the cofactor subgroup)"
_OUTSIDE = "point is not in the prime-order subgroup"


def _is_square(a: int, p: int) -> bool:
    """Legendre symbol (a | p) = 1 for prime p and a != 0 mod p.

    Computed as a Jacobi symbol by the Euclid-like reciprocity loop: with CPython's slow
    division of big ints this is 2-4x cheaper than Euler's criterion a^((p-1)/2).
    """
    a %= p
    n = p
    sign = 1
    while a:
        zeros = (a & -a).bit_length() - 1
        if zeros:
            a >>= zeros
            if zeros & 1 and n & 7 in (3, 5):
                sign = -sign
        if a & n & 2:
            sign = -sign
        a, n = n % a, a
    return n == 1 and sign == 1


def _wnaf(k: int) -> list[tuple[int, int]]:
    """Width-w non-adjacent form as (bit position, nonzero digit), least significant first.

    Zero runs are skipped with one shift each, so the loop runs once per nonzero digit.
    """
    out = []
    full, half = 1 << _WNAF_WIDTH, 1 << (_WNAF_WIDTH - 1)
    pos = 0
    while k:
        zeros = (k & -k).bit_length() - 1
        k >>= zeros
        pos += zeros
        digit = k & (full - 1)
        if digit >= half:
            digit -= full
        out.append((pos, digit))
        k = (k - digit) >> _WNAF_WIDTH
        pos += _WNAF_WIDTH
    return out


def _batch_inverse(values: list[int], p: int) -> list[int]:
    """Montgomery's trick: n inverses for one modular inversion and 3(n-1) products."""
    prefix = [1] * len(values)
    acc = 1
    for i, v in enumerate(values):
        prefix[i] = acc
        acc = acc * v % p
    inv = pow(acc, -1, p)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = prefix[i] * inv % p
        inv = inv * values[i] % p
    return out


class _JacobianGroup(_Group):
    """Short Weierstrass y² = x³ + ax + b in Jacobian (X, Y, Z): x = X/Z², y = Y/Z³."""

    identity = (1, 1, 0)

    def __init__(self, params: CurveParams) -> None:
        super().__init__(params)
        self.a = params.a
        self.a_is_minus3 = params.a == params.p - 3

    def lift(self, point: tuple[int, int]) -> tuple[int, int]:
        return point

    def neg_affine(self, pt: tuple[int, int]) -> tuple[int, int]:
        return (pt[0], self.p - pt[1])

    def dbl(self, pt):
        x1, y1, z1 = pt
        if not z1 or not y1:
            return self.identity
        p = self.p
        yy = y1 * y1 % p
        s = 4 * x1 * yy % p
        zz = z1 * z1 % p
        if self.a_is_minus3:
            m = 3 * (x1 - zz) * (x1 + zz) % p
        else:
            m = (3 * x1 * x1 + self.a * zz * zz) % p
        x3 = (m * m - 2 * s) % p
        y3 = (m * (s - x3) - 8 * yy * yy) % p
        return (x3, y3, 2 * y1 * z1 % p)

    def madd(self, pt, aff):
        x1, y1, z1 = pt
        x2, y2 = aff
        if not z1:
            return (x2, y2, 1)
        p = self.p
        zz = z1 * z1 % p
        h = (x2 * zz - x1) % p
        r = (y2 * zz * z1 - y1) % p
        if not h:
            return self.dbl(pt) if not r else self.identity
        hh = h * h % p
        hhh = h * hh % p
        v = x1 * hh % p
        x3 = (r * r - hhh - 2 * v) % p
        y3 = (r * (v - x3) - y1 * hhh) % p
        return (x3, y3, z1 * h % p)

    def add(self, pt1, pt2):
        x1, y1, z1 = pt1
        x2, y2, z2 = pt2
        if not z1:
            return pt2
        if not z2:
            return pt1
        p = self.p
        z1z1, z2z2 = z1 * z1 % p, z2 * z2 % p
        u1, u2 = x1 * z2z2 % p, x2 * z1z1 % p
        s1, s2 = y1 * z2 * z2z2 % p, y2 * z1 * z1z1 % p
        h, r = (u2 - u1) % p, (s2 - s1) % p
        if not h:
            return self.dbl(pt1) if not r else self.identity
        hh = h * h % p
        hhh = h * hh % p
        v = u1 * hh % p
        x3 = (r * r - hhh - 2 * v) % p
        y3 = (r * (v - x3) - s1 * hhh) % p
        return (x3, y3, z1 * z2 * h % p)

    def normalize(self, pts: list) -> list[tuple[int, int]]:
        p = self.p
        invs = _batch_inverse([pt[2] for pt in pts], p)
        out = []
        for (x, y, _), zi in zip(pts, invs, strict=True):
            zi2 = zi * zi % p
            out.append((x * zi2 % p, y * zi2 * zi % p))
        return out

    def to_point(self, pt) -> Point:
        if not pt[2]:
            return None
        return self.normalize([pt])[0]

    def x_of(self, pt) -> int | None:
        x, _, z = pt
        if not z:
            return None
        return x * pow(z * z, -1, self.p) % self.p


class _EdwardsGroup(_Group):
    """Twisted Edwards e·u² + v² = 1 + d·u²v² in extended (X, Y, T, Z), u = X/Z, v = Y/Z.

    Internal affine points are (u, v, d·u·v). Both TC26 Edwards sets have e = 1 (the
    formulas below assume it) and a non-square d, so they are complete: no exceptional
    cases, doubling included.
    """

    identity = (0, 1, 0, 1)

    def __init__(self, params: CurveParams) -> None:
        super().__init__(params)
        p = params.p
        if params.e != 1:
            raise ValueError("only twisted Edwards curves with e = 1 are supported")
        self.d = params.d
        inv4, inv6 = pow(4, -1, p), pow(6, -1, p)
        self.s = (params.e - params.d) * inv4 % p
        self.t = (params.e + params.d) * inv6 % p
        self._quartic = self._quartic_params()
        self._fold = self._fold_params()

    def _fold_params(self) -> tuple[int, int] | None:
        """(n, c) with p = 2^n - c and c small, or None.

        Then z ≡ (z mod 2^n) + (z >> n)·c (mod p): a mask, a shift and a small product,
        which CPython does faster than the long division of ``z % p``. Both TC26 Edwards
        primes have this form (c = 617 and 569).
        """
        bits = self.p.bit_length()
        c = (1 << bits) - self.p
        return (bits, c) if c < 1 << 16 else None

    def _quartic_params(self) -> tuple[int, int] | None:
        """(1/s, A) for :meth:`subgroup_problem`'s square test, None where it does not apply.

        The test needs m = 4q (then E(F_p) = Z/4 x Z/q, since (1, 0) has order 4), p = 3 mod 4
        (square roots by one power), and 1 - d and 2 - A non-squares, where
        A = 2(1 + d)/(1 - d) is the Montgomery coefficient; both TC26 Edwards sets qualify.
        """
        p, d, params = self.p, self.d, self.params
        a_mont = 2 * (1 + d) * pow(1 - d, -1, p) % p
        if (params.m != 4 * params.q or p % 4 != 3 or _is_square((1 - d) % p, p)
                or _is_square((2 - a_mont) % p, p)):
            return None
        return pow(self.s, -1, p), a_mont

    def subgroup_problem(self, point: tuple[int, int]) -> str | None:
        """Subgroup membership by two modular powers instead of q·P (~10x cheaper).

        With u = (x - t)/s, the point's Montgomery coordinate (B v² = u³ + A u² + u,
        B = 4/(1 - d)), the order-q subgroup is 4E. u = 0 and u = 1 are the points of order
        2 and 4. P is in 2E iff B·u is a square, i.e. w = u² + A·u + 1 = B·v²/u is; then the
        halves Q of P satisfy u(Q) + 1/u(Q) = z = 2u ± 2√w, and Q is in 2E iff z + 2 is a
        non-square (either sign gives the same answer when 2 - A is a non-square).
        """
        if self._quartic is None:
            return super().subgroup_problem(point)
        p = self.p
        inv_s, a_mont = self._quartic
        u = (point[0] - self.t) * inv_s % p
        if u in (0, 1):
            return _SMALL_ORDER
        w = (u * u + a_mont * u + 1) % p
        root = pow(w, (p + 1) >> 2, p)  # a square root exactly when w is a square
        if root * root % p != w or _is_square((2 * u + 2 * root + 2) % p, p):
            return _OUTSIDE
        return None

    def odd_multiples(self, point: tuple[int, int]) -> list:
        """[P, 3P, ..., 15P] affine, built projectively so the whole table costs one inversion.

        The base class lifts P (one inversion) and normalizes 2P (another) to use mixed
        additions; for a fresh peer key in VKO those inversions cost more than the full
        additions that replace them here.
        """
        p, s = self.p, self.s
        x, y = point
        xt = (x - self.t) % p
        if y == 0 or (xt + s) % p == 0:
            return super().odd_multiples(point)
        # u = xt/y and v = (xt - s)/(xt + s) as U/W and V/W, then extended (UW, VW, UV, W²).
        u_num, v_num, den = xt * (xt + s) % p, (xt - s) * y % p, y * (xt + s) % p
        first = (u_num * den % p, v_num * den % p, u_num * v_num % p, den * den % p)
        twice = self.dbl(first)
        row = [first]
        for _ in range((1 << (_WNAF_WIDTH - 2)) - 1):
            row.append(self.add(row[-1], twice))
        return self.normalize(row)

    def mul_multi_proj(self, terms: list[tuple[int, list]]):
        """One term (a fresh point's k·P, VKO's K) takes the fused loop below."""
        if len(terms) == 1 and self._fold is not None:
            return self._mul_single_proj(*terms[0])
        return super().mul_multi_proj(terms)

    def _mul_single_proj(self, k: int, table: list):
        """k·P with wNAF recoding, doublings and mixed additions fused in one loop.

        Inlined (no method call per step); T is computed only where the next step reads
        it (a doubling run's last doubling). Every product is reduced lazily with the fold
        of :meth:`_fold_params` instead of ``% p`` (CPython's long division): one fold for
        values that only feed sums, two for values that feed further products, which keeps
        every coordinate within 2^50 of [0, 2^bits) — congruent mod p, not canonical (~15 %
        faster). The loop never compares coordinates; they are reduced fully on the way out.
        """
        digits = _wnaf(k)
        if not digits:
            return self.identity
        p = self.p
        bits, c = self._fold
        mask = (1 << bits) - 1
        pos, digit = digits.pop()
        u, v, dt = table[digit >> 1] if digit > 0 else self.neg_affine(table[(-digit) >> 1])
        x1, y1, t1, z1 = u, v, u * v % p, 1
        while digits:
            nxt, digit = digits.pop()
            # pos - nxt >= 1 doublings; the last one also yields T for the addition.
            for _ in range(pos - nxt):
                a = x1 * x1
                a = (a & mask) + (a >> bits) * c
                b = y1 * y1
                b = (b & mask) + (b >> bits) * c
                e = x1 * y1
                e = (e & mask) + (e >> bits) * c
                g = a + b
                f = z1 * z1
                f = g - 2 * ((f & mask) + (f >> bits) * c)
                h = a - b
                x1 = 2 * e * f
                x1 = (x1 & mask) + (x1 >> bits) * c
                x1 = (x1 & mask) + (x1 >> bits) * c
                z1 = f * g
                z1 = (z1 & mask) + (z1 >> bits) * c
                z1 = (z1 & mask) + (z1 >> bits) * c
                y1 = g * h
                y1 = (y1 & mask) + (y1 >> bits) * c
                y1 = (y1 & mask) + (y1 >> bits) * c
            t1 = 2 * e * h
            t1 = (t1 & mask) + (t1 >> bits) * c
            t1 = (t1 & mask) + (t1 >> bits) * c
            if digit > 0:
                u, v, dt = table[digit >> 1]
            else:
                u, v, dt = table[(-digit) >> 1]
                u, dt = p - u, p - dt
            a = x1 * u
            a = (a & mask) + (a >> bits) * c
            b = y1 * v
            b = (b & mask) + (b >> bits) * c
            c1 = t1 * dt
            c1 = (c1 & mask) + (c1 >> bits) * c
            e = (x1 + y1) * (u + v) - a - b
            e = (e & mask) + (e >> bits) * c
            e = (e & mask) + (e >> bits) * c
            f = z1 - c1
            g = z1 + c1
            h = b - a
            x1 = e * f
            x1 = (x1 & mask) + (x1 >> bits) * c
            x1 = (x1 & mask) + (x1 >> bits) * c
            y1 = g * h
            y1 = (y1 & mask) + (y1 >> bits) * c
            y1 = (y1 & mask) + (y1 >> bits) * c
            z1 = f * g
            z1 = (z1 & mask) + (z1 >> bits) * c
            z1 = (z1 & mask) + (z1 >> bits) * c
            t1 = None  # the next doubling run does not read T
            pos = nxt
        if t1 is None:
            t1 = e * h % p
        return self.dbl_run((x1 % p, y1 % p, t1, z1 % p), pos)

    def lift(self, point: tuple[int, int]) -> tuple[int, int, int]:
        """Weierstrass (x, y) -> Edwards (u, v, d·u·v)."""
        p, s, t = self.p, self.s, self.t
        x, y = point
        xt = (x - t) % p
        if y == 0:
            return (0, p - 1, 0)
        den = y * (xt + s) % p
        inv = pow(den, -1, p)
        u = xt * (xt + s) * inv % p
        v = (xt - s) * y * inv % p
        return (u, v, self.d * u * v % p)

    def neg_affine(self, pt):
        p = self.p
        return ((p - pt[0]) % p, pt[1], (p - pt[2]) % p)

    def dbl(self, pt):
        x1, y1, _, z1 = pt
        p = self.p
        a = x1 * x1 % p
        b = y1 * y1 % p
        e_ = 2 * x1 * y1 % p
        g = a + b
        f = g - 2 * (z1 * z1 % p)
        h = a - b
        return (e_ * f % p, g * h % p, e_ * h % p, f * g % p)

    def dbl_run(self, pt, n: int):
        """Doublings never read T, so only the last one of the run computes it."""
        if n <= 0:
            return pt
        x1, y1, _, z1 = pt
        p = self.p
        for _ in range(n - 1):
            a = x1 * x1 % p
            b = y1 * y1 % p
            g = a + b
            f = g - 2 * (z1 * z1 % p)
            x1 = 2 * x1 * y1 % p * f % p
            y1 = g * (a - b) % p
            z1 = f * g % p
        return self.dbl((x1, y1, 0, z1))

    def madd(self, pt, aff):
        x1, y1, t1, z1 = pt
        x2, y2, dt2 = aff
        p = self.p
        a = x1 * x2 % p
        b = y1 * y2 % p
        c = t1 * dt2 % p
        e_ = ((x1 + y1) * (x2 + y2) - a - b) % p
        f = z1 - c
        g = z1 + c
        h = b - a
        return (e_ * f % p, g * h % p, e_ * h % p, f * g % p)

    def add(self, pt1, pt2):
        x1, y1, t1, z1 = pt1
        x2, y2, t2, z2 = pt2
        p = self.p
        a = x1 * x2 % p
        b = y1 * y2 % p
        c = t1 * self.d * t2 % p
        dd = z1 * z2 % p
        e_ = ((x1 + y1) * (x2 + y2) - a - b) % p
        f = (dd - c) % p
        g = (dd + c) % p
        h = b - a
        return (e_ * f % p, g * h % p, e_ * h % p, f * g % p)

    def normalize(self, pts: list) -> list[tuple[int, int, int]]:
        p, d = self.p, self.d
        invs = _batch_inverse([pt[3] for pt in pts], p)
        out = []
        for (x, y, _, _), zi in zip(pts, invs, strict=True):
            u, v = x * zi % p, y * zi % p
            out.append((u, v, d * u * v % p))
        return out

    def to_point(self, pt) -> Point:
        """Extended Edwards -> Weierstrass (x, y) with one inversion."""
        x1, y1, _, z1 = pt
        p, s, t = self.p, self.s, self.t
        if (z1 - y1) % p == 0:
            return None
        if x1 % p == 0:
            return (t, 0)
        num = s * (z1 + y1) % p
        inv = pow((z1 - y1) * x1 % p, -1, p)
        return ((num * x1 * inv + t) % p, num * z1 % p * inv % p)

    def x_of(self, pt) -> int | None:
        x1, y1, _, z1 = pt
        p = self.p
        if (z1 - y1) % p == 0:
            return None
        return (self.s * (z1 + y1) * pow(z1 - y1, -1, p) + self.t) % p


def _h(text: str) -> int:
    return int(text.replace(" ", ""), 16)


# RFC 7836 App. A.2 (twisted Edwards, cofactor 4).
_TC26_256_A = CurveParams(
    p=_h("FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFD97"),
    a=_h("C2173F15 13981673 AF4892C2 3035A27C E25E2013 BF95AA33 B22C656F 277E7335"),
    b=_h("295F9BAE 7428ED9C CC20E7C3 59A9D41A 22FCCD91 08E17BF7 BA9337A6 F8AE9513"),
    e=1,
    d=_h("0605F6B7 C183FA81 578BC39C FAD51813 2B9DF628 97009AF7 E522C32D 6DC7BFFB"),
    m=_h("01 00000000 00000000 00000000 00000000 3F63377F 21ED98D7 0456BD55 B0D8319C"),
    q=_h("40000000 00000000 00000000 00000000 0FD8CDDF C87B6635 C115AF55 6C360C67"),
    x=_h("91E38443 A5E82C0D 88092342 5712B2BB 658B9196 932E02C7 8B2582FE 742DAA28"),
    y=_h("32879423 AB1A0375 895786C4 BB46E956 5FDE0B53 44766740 AF268ADB 32322E5C"),
)

# RFC 4357 §11.4 / RFC 9215 App. C (CryptoPro A = XchA = TC26 256-B).
_CRYPTOPRO_A = CurveParams(
    p=_h("FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFD97"),
    a=_h("FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFD94"),
    b=166,
    m=_h("FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 6C611070 995AD100 45841B09 B761B893"),
    q=_h("FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 6C611070 995AD100 45841B09 B761B893"),
    x=1,
    y=_h("8D91E471 E0989CDA 27DF505A 453F2B76 35294F2D DF23E3B1 22ACC99C 9E9F1E14"),
)

# CryptoPro B = TC26 256-C.
_CRYPTOPRO_B = CurveParams(
    p=_h("80000000 00000000 00000000 00000000 00000000 00000000 00000000 00000C99"),
    a=_h("80000000 00000000 00000000 00000000 00000000 00000000 00000000 00000C96"),
    b=_h("3E1AF419 A269A5F8 66A7D3C2 5C3DF80A E9792593 73FF2B18 2F49D4CE 7E1BBC8B"),
    m=_h("80000000 00000000 00000000 00000001 5F700CFF F1A624E5 E497161B CC8A198F"),
    q=_h("80000000 00000000 00000000 00000001 5F700CFF F1A624E5 E497161B CC8A198F"),
    x=1,
    y=_h("3FA81243 59F96680 B83D1C3E B2C070E5 C545C985 8D03ECFB 744BF8D7 17717EFC"),
)

# CryptoPro C = XchB = TC26 256-D.
_CRYPTOPRO_C = CurveParams(
    p=_h("9B9F605F 5A858107 AB1EC85E 6B41C8AA CF846E86 789051D3 7998F7B9 022D759B"),
    a=_h("9B9F605F 5A858107 AB1EC85E 6B41C8AA CF846E86 789051D3 7998F7B9 022D7598"),
    b=32858,
    m=_h("9B9F605F 5A858107 AB1EC85E 6B41C8AA 582CA351 1EDDFB74 F02F3A65 98980BB9"),
    q=_h("9B9F605F 5A858107 AB1EC85E 6B41C8AA 582CA351 1EDDFB74 F02F3A65 98980BB9"),
    x=0,
    y=_h("41ECE557 43711A8C 3CBF3783 CD08C0EE 4D4DC440 D4641A8F 366E550D FDB3BB67"),
)

# RFC 7091 §7.1 (the standard's 256-bit example curve; id-GostR3410-2001-TestParamSet).
_TEST_256 = CurveParams(
    p=_h("80000000 00000000 00000000 00000000 00000000 00000000 00000000 00000431"),
    a=7,
    b=_h("5FBFF498 AA938CE7 39B8E022 FBAFEF40 563F6E6A 3472FC2A 514C0CE9 DAE23B7E"),
    m=_h("80000000 00000000 00000000 00000001 50FE8A18 92976154 C59CFC19 3ACCF5B3"),
    q=_h("80000000 00000000 00000000 00000001 50FE8A18 92976154 C59CFC19 3ACCF5B3"),
    x=2,
    y=_h("08E2A8A0 E65147D4 BD631603 0E16D19C 85C97F0A 9CA26712 2B96ABBC EA7E8FC8"),
)

_P512 = _h("FF" * 61 + "FFFDC7")
_Q512A = _h(
    "FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF"
    "27E69532 F48D8911 6FF22B8D 4E056060 9B4B38AB FAD2B85D CACDB141 1F10B275"
)
# RFC 7836 App. A.1.
_TC26_512_A = CurveParams(
    p=_P512,
    a=_P512 - 3,
    b=_h(
        "E8C2505D EDFC86DD C1BD0B2B 6667F1DA 34B82574 761CB0E8 79BD081C FD0B6265"
        "EE3CB090 F30D2761 4CB45740 10DA90DD 862EF9D4 EBEE4761 50319078 5A71C760"
    ),
    m=_Q512A,
    q=_Q512A,
    x=3,
    y=_h(
        "7503CFE8 7A836AE3 A61B8816 E25450E6 CE5E1C93 ACF1ABC1 778064FD CBEFA921"
        "DF1626BE 4FD036E9 3D75E6A5 0E3A41E9 8028FE5F C235F5B8 89A589CB 5215F2A4"
    ),
)
_P512B = _h("80" + "00" * 62 + "6F")
_Q512B = _h(
    "80000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001"
    "49A1EC14 2565A545 ACFDB77B D9D40CFA 8B996712 101BEA0E C6346C54 374F25BD"
)
_TC26_512_B = CurveParams(
    p=_P512B,
    a=_P512B - 3,
    b=_h(
        "687D1B45 9DC84145 7E3E06CF 6F5E2517 B97C7D61 4AF138BC BF85DC80 6C4B289F"
        "3E965D2D B1416D21 7F8B276F AD1AB69C 50F78BEE 1FA3106E FB8CCBC7 C5140116"
    ),
    m=_Q512B,
    q=_Q512B,
    x=2,
    y=_h(
        "1A8F7EDA 389B094C 2C071E36 47A8940F 3C123B69 7578C213 BE6DD9E6 C8EC7335"
        "DCB228FD 1EDF4A39 152CBCAA F8C03988 28041055 F94CEEEC 7E213407 80FE41BD"
    ),
)
# RFC 7836 App. A.2 (twisted Edwards, cofactor 4).
_TC26_512_C = CurveParams(
    p=_P512,
    a=_h(
        "DC9203E5 14A72187 5485A529 D2C722FB 187BC898 0EB86664 4DE41C68 E1430645"
        "46E861C0 E2C9EDD9 2ADE71F4 6FCF50FF 2AD97F95 1FDA9F2A 2EB6546F 39689BD3"
    ),
    b=_h(
        "B4C4EE28 CEBC6C2C 8AC12952 CF37F16A C7EFB6A9 F69F4B57 FFDA2E4F 0DE5ADE0"
        "38CBC2FF F719D2C1 8DE0284B 8BFEF3B5 2B8CC7A5 F5BF0A3C 8D2319A5 312557E1"
    ),
    e=1,
    d=_h(
        "9E4F5D8C 017D8D9F 13A5CF3C DF5BFE4D AB402D54 198E31EB DE28A062 1050439C"
        "A6B39E0A 515C06B3 04E2CE43 E79E369E 91A0CFC2 BC2A22B4 CA302DBB 33EE7550"
    ),
    m=_h(
        "FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF"
        "26336E91 941AAC01 30CEA7FD 451D40B3 23B6A79E 9DA6849A 5188F3BD 1FC08FB4"
    ),
    q=_h(
        "3FFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF"
        "C98CDBA4 6506AB00 4C33A9FF 5147502C C8EDA9E7 A769A126 94623CEF 47F023ED"
    ),
    x=_h(
        "E2E31EDF C23DE7BD EBE241CE 593EF5DE 2295B7A9 CBAEF021 D385F707 4CEA043A"
        "A27272A7 AE602BF2 A7B9033D B9ED3610 C6FB8548 7EAE97AA C5BC7928 C1950148"
    ),
    y=_h(
        "F5CE40D9 5B5EB899 ABBCCFF5 911CB857 7939804D 6527378B 8C108C3D 2090FF9B"
        "E18E2D33 E3021ED2 EF32D858 22423B63 04F726AA 854BAE07 D0396E9A 9ADDC40F"
    ),
)
# RFC 9215 App. E (id-tc26-gost-3410-2012-512-paramSetTest).
_TEST_512 = CurveParams(
    p=_h(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DF1D852741AF4704A"
        "0458047E80E4546D35B8336FAC224DD81664BBF528BE6373"
    ),
    a=7,
    b=_h(
        "1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC4361834013B2AD7322"
        "480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC"
    ),
    m=_h(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DA82F2D7ECB1DBAC7"
        "19905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF"
    ),
    q=_h(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DA82F2D7ECB1DBAC7"
        "19905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF"
    ),
    x=_h(
        "24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762FD60611262CD838D"
        "C6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A"
    ),
    y=_h(
        "2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C83AB156D77F1496B"
        "F7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E"
    ),
)

_TC26_256 = "1.2.643.7.1.2.1.1."
_TC26_512 = "1.2.643.7.1.2.1.2."

CURVES: tuple[Curve, ...] = (
    Curve("id-tc26-gost-3410-2012-256-paramSetA", _TC26_256 + "1", 256, _TC26_256_A, ("TCA",)),
    Curve("id-tc26-gost-3410-2012-256-paramSetB", _TC26_256 + "2", 256, _CRYPTOPRO_A, ("TCB",)),
    Curve("id-tc26-gost-3410-2012-256-paramSetC", _TC26_256 + "3", 256, _CRYPTOPRO_B, ("TCC",)),
    Curve("id-tc26-gost-3410-2012-256-paramSetD", _TC26_256 + "4", 256, _CRYPTOPRO_C, ("TCD",)),
    Curve("id-GostR3410-2001-CryptoPro-A-ParamSet", "1.2.643.2.2.35.1", 256, _CRYPTOPRO_A, ("A",)),
    Curve("id-GostR3410-2001-CryptoPro-B-ParamSet", "1.2.643.2.2.35.2", 256, _CRYPTOPRO_B, ("B",)),
    Curve("id-GostR3410-2001-CryptoPro-C-ParamSet", "1.2.643.2.2.35.3", 256, _CRYPTOPRO_C, ("C",)),
    Curve(
        "id-GostR3410-2001-CryptoPro-XchA-ParamSet", "1.2.643.2.2.36.0", 256, _CRYPTOPRO_A, ("XA",)
    ),
    Curve(
        "id-GostR3410-2001-CryptoPro-XchB-ParamSet", "1.2.643.2.2.36.1", 256, _CRYPTOPRO_C, ("XB",)
    ),
    Curve("id-GostR3410-2001-TestParamSet", "1.2.643.2.2.35.0", 256, _TEST_256, (), True),
    Curve("id-tc26-gost-3410-12-512-paramSetA", _TC26_512 + "1", 512, _TC26_512_A, ("A",)),
    Curve("id-tc26-gost-3410-12-512-paramSetB", _TC26_512 + "2", 512, _TC26_512_B, ("B",)),
    Curve("id-tc26-gost-3410-2012-512-paramSetC", _TC26_512 + "3", 512, _TC26_512_C, ("C",)),
    Curve("id-tc26-gost-3410-2012-512-paramSetTest", _TC26_512 + "0", 512, _TEST_512, (), True),
)

_BY_OID = {c.oid: c for c in CURVES}
_BY_NAME = {c.name.lower(): c for c in CURVES}


def curve_by_oid(oid: str) -> Curve:
    """The parameter set with this OID; ValueError if unknown."""
    try:
        return _BY_OID[oid]
    except KeyError:
        raise ValueError(f"unknown GOST R 34.10-2012 parameter set OID {oid}") from None


def get_curve(name: str, bits: int = 256) -> Curve:
    """Look a curve up by OpenSSL paramset name (A, TCA, ...), full name or OID.

    OpenSSL reuses A/B/C for 256- and 512-bit sets, so ``bits`` picks the family.
    """
    if name in _BY_OID:
        return _BY_OID[name]
    if name.lower() in _BY_NAME:
        return _BY_NAME[name.lower()]
    for curve in CURVES:
        if curve.bits == bits and name.upper() in curve.openssl_names:
            return curve
    raise ValueError(f"unknown {bits}-bit GOST parameter set {name!r}")


TC26_256_A = _BY_OID[_TC26_256 + "1"]
TC26_512_A = _BY_OID[_TC26_512 + "1"]
TC26_512_C = _BY_OID[_TC26_512 + "3"]
