"""Curve parameters and point arithmetic (RFC 7836 App. A, RFC 7091 §7, RFC 9215 App. C/E)."""

import pytest

from gost.curves import CURVES, TC26_256_A, TC26_512_C, _Group, _is_square, get_curve


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_generator_has_order_q(curve):
    assert curve.contains(curve.generator)
    assert curve.params.m % curve.q == 0
    assert curve.mul(curve.q, curve.generator) is None
    assert curve.mul(curve.q - 1, curve.generator) == (curve.params.x, curve.p - curve.params.y)


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_comb_wnaf_and_addition_agree(curve):
    k1, k2 = 0x1234567 * 0xFEDCBA987654321 % curve.q, curve.q // 3
    left = curve.add(curve.mul_base(k1), curve.mul_base(k2))
    assert left == curve.mul_base((k1 + k2) % curve.q) == curve.mul(k1 + k2, curve.generator)


@pytest.mark.parametrize("curve", [TC26_256_A, TC26_512_C], ids=lambda c: c.name)
def test_edwards_sets_map_back_to_weierstrass(curve):
    params = curve.params
    p = params.p
    s = (params.e - params.d) * pow(4, -1, p) % p
    t = (params.e + params.d) * pow(6, -1, p) % p
    assert params.a == (s * s - 3 * t * t) % p
    assert params.b == (2 * t**3 - t * s * s) % p
    assert pow(params.d, (p - 1) // 2, p) == p - 1  # non-square d: complete formulas
    assert curve.cofactor == 4


def test_rfc7836_edwards_generator_coordinates():
    u, v, _ = TC26_256_A.group.lift(TC26_256_A.generator)
    assert u == 0x0D
    assert v == 0x60CA1E32AA475B348488C38FAB07649CE7EF8DBE87F22E81F92B2592DBA300E7


def test_names_and_oids():
    assert get_curve("TCA") is TC26_256_A
    assert get_curve("C", 512) is TC26_512_C
    assert get_curve("1.2.643.2.2.35.1").params is get_curve("TCB").params
    assert get_curve("XB").params is get_curve("TCD").params
    with pytest.raises(ValueError, match="unknown"):
        get_curve("Z")


def test_validation_names_the_problem():
    curve = TC26_256_A
    with pytest.raises(ValueError, match="infinity"):
        curve.validate(None)
    with pytest.raises(ValueError, match="not on the curve"):
        curve.validate((1, 1))
    order2 = (curve.group.t, 0)
    assert curve.contains(order2)
    with pytest.raises(ValueError, match="small order"):
        curve.validate(order2)
    mixed = curve.add(curve.generator, order2)
    with pytest.raises(ValueError, match="prime-order subgroup"):
        curve.validate(mixed)


def _order4_point(curve):
    """A point of order 4: Montgomery u = 1, i.e. Weierstrass x = t + s."""
    group, p = curve.group, curve.p
    x = (group.t + group.s) % p
    rhs = (x**3 + curve.params.a * x + curve.params.b) % p
    y = pow(rhs, (p + 1) // 4, p)
    assert y * y % p == rhs
    return (x, y)


@pytest.mark.parametrize("curve", [TC26_256_A, TC26_512_C], ids=lambda c: c.name)
def test_fast_subgroup_test_matches_q_times_p(curve):
    """The two-power square test agrees with q·P = O on every coset of the 4-torsion."""
    from gost.curves import _Group

    group = curve.group
    assert group._quartic is not None  # the fast test applies to both TC26 Edwards sets
    t4 = _order4_point(curve)
    assert curve.mul(2, t4) == (group.t, 0) and curve.mul(4, t4) is None
    torsion = [None, t4, (group.t, 0), curve.mul(3, t4)]
    for k in (1, 2, 3, curve.q - 1, 0x1234567 * 0xFEDCBA987654321 % curve.q, curve.q // 3):
        base = curve.mul_base(k)
        for j, tor in enumerate(torsion):
            point = curve.add(base, tor)
            expected = None if j == 0 else "point is not in the prime-order subgroup"
            assert group.subgroup_problem(point) == expected
            assert _Group.subgroup_problem(group, point) == expected
    for tor in torsion[1:]:
        assert "small order" in group.subgroup_problem(tor)
        assert "small order" in _Group.subgroup_problem(group, tor)


@pytest.mark.parametrize("curve", [TC26_256_A, TC26_512_C], ids=lambda c: c.name)
def test_fused_edwards_loop_matches_generic_chain(curve):
    """The fused single-scalar loop (fold reduction, lazy T) against the generic wNAF chain."""
    group = curve.group
    point = curve.mul_base(0xC0FFEE)
    table = group.odd_multiples(point)
    scalars = [1, 2, 15, 16, 17, 31, 2**100 + 1, curve.q - 1, curve.q // 7, 4 * curve.q // 5]
    for k in scalars:
        fused = group.to_point(group.mul_multi_proj([(k, table)]))
        generic = group.to_point(_Group.mul_multi_proj(group, [(k, table)]))
        assert fused == generic == curve.mul_base(k * 0xC0FFEE % curve.q)


def test_jacobi_square_test_matches_euler():
    p = TC26_256_A.p
    for a in [1, 2, 3, 617, p - 1, p - 2, 0x1234567 ** 9 % p, 0]:
        assert _is_square(a, p) == (pow(a, (p - 1) // 2, p) == 1)
