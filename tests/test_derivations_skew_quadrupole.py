"""§5 symbolic derivations against the paper's printed forms and independent algebra."""

import mpmath
import sympy as sp

from derivations import skew_quadrupole as sq


def test_quartic_generic_blocks_equals_paper_form():
    """det(N − λ) with generic F_x, F_z equals the paper's quartic in Tr, det, X12, Z12."""
    diff = sp.expand(sq.characteristic_polynomial_generic() - sq.paper_quartic_generic())
    assert diff == 0, f"quartic (generic) differs from the paper by {diff}"


def test_quartic_in_twiss_parameters_equals_corrected_printed_form():
    """The derived quartic equals the printed one with the λ² bracket corrected (erratum)."""
    cx, cz, sx, sz = (sp.cos(sq.mu_x), sp.cos(sq.mu_z), sp.sin(sq.mu_x), sp.sin(sq.mu_z))
    lam, m, bx, bz = sq.lam, sq.m, sq.beta_x, sq.beta_z
    corrected = (lam**4 - 2 * (cx + cz) * lam**3
                 + lam**2 * (2 + 4 * cx * cz - m**2 * bx * bz * sx * sz)
                 - 2 * lam * (cx + cz) + 1)
    assert sp.expand(sq.characteristic_polynomial() - corrected) == 0
    as_printed = (lam**4 - 2 * (cx + cz) * lam**3
                  + lam**2 * (2 + 4 * cx * cz - m**2 * bx * bz) * sx * sz
                  - 2 * lam * (cx + cz) + 1)
    assert sp.expand(sq.characteristic_polynomial() - as_printed) != 0, "the printed misprint vanished?"


def test_quartic_independent_of_alpha():
    """The characteristic polynomial does not depend on α_x, α_z (similarity invariant)."""
    p = sq.characteristic_polynomial()
    assert not p.has(sq.alpha_x) and not p.has(sq.alpha_z)


def test_palindromic_quadratic_reproduces_quartic():
    """λ² q(λ + 1/λ) expands back to det(N − λ)."""
    q = sq.palindromic_quadratic()
    back = sp.expand(sq.lam**2 * q.subs(sq.w, sq.lam + 1 / sq.lam))
    assert sp.expand(back - sq.characteristic_polynomial()) == 0


def test_roots_satisfy_quadratic():
    """w = a ± b are roots of q(w) (b = sqrt(b²))."""
    a, b2 = sq.roots_a_b()
    q = sq.palindromic_quadratic()
    for sign in (1, -1):
        val = sp.expand(q.subs(sq.w, a + sign * sp.sqrt(b2)))
        assert sp.simplify(val) == 0


def test_product_form_of_b2_equals_naive_form_at_50_digits():
    """The cancellation-free b² equals (cos μx − cos μz)² + ... at random points (mpmath, 50 digits)."""
    naive = sq.roots_a_b()[1]
    prod = sq.b_squared()
    f1 = sp.lambdify(sorted(naive.free_symbols, key=str), naive, "mpmath")
    f2 = sp.lambdify(sorted(prod.free_symbols, key=str), prod, "mpmath")
    rnd = mpmath.mp.rand
    with mpmath.workdps(50):
        for _ in range(20):
            vals = [rnd() * 3 for _ in range(5)]
            assert abs(f1(*vals) - f2(*vals)) < mpmath.mpf(10) ** -45


def test_mode_damping_derived_equals_compact_form_and_sum_rule():
    """The perturbative ω± reduce to (d11+d22)/4 ± (d11−d22)(cx−cz)/(4b); ω+ + ω− = (d11+d22)/2."""
    derived = sq.mode_damping_first_order()
    compact = sq.mode_damping_closed_form()
    for d, c in zip(derived, compact):
        assert sp.simplify(d - c) == 0
    assert sp.simplify(sum(derived) - (sq.d11_s0 + sq.d22_s0) / 2) == 0


def test_mode_damping_first_order_matches_mpmath_eigenvalues():
    """ω± from the derivation equal −ln|λ|/ε at 50 digits for a damping ε = 1e-20 (first order)."""
    R = sp.Rational
    vals = {sq.mu_x: R(9, 10), sq.mu_z: R(17, 10), sq.beta_x: 4, sq.beta_z: R(5, 2), sq.m: R(1, 5)}
    _, b2 = sq.roots_a_b()
    b_val = sp.sqrt(b2.subs(vals))
    unit = {sq.d11_s0: 1, sq.d22_s0: R(3, 10)}
    expect = sorted(float(sp.N(e.subs(sq.b, b_val).subs(vals).subs(unit), 30))
                    for e in sq.mode_damping_first_order())
    eps = R(1, 10**20)
    N = sq.one_turn_map(alpha=False).subs(vals).subs({sq.d11_s0: eps, sq.d22_s0: R(3, 10) * eps})
    with mpmath.workdps(60):
        ev, _ = mpmath.eig(mpmath.matrix(N.evalf(70).tolist()))
        decrements = sorted({round(float(-mpmath.log(abs(e)) * 10**20), 14) for e in ev})
    # second-order remainder is O(eps) relative: 1e-20, far below the 1e-14 rounding
    assert len(decrements) == 2
    assert all(abs(x - y) < 1e-13 for x, y in zip(decrements, expect)), (decrements, expect)


def test_equation_checks_flag_the_quartic_and_footnote_misprints_only():
    """Among the §5 checks, the printed (μ, β) quartic and the two footnotes on m differ; the others agree."""
    misprints = {"§5 quartic (μ, β)", "§5 footnote m = e l ∂Bx/∂x/(βE)", "§5 footnote m = (1/R)(1/B) ∂Bx/∂x"}
    checks = sq.equation_checks()
    assert misprints <= {c.equation for c in checks}
    for check in checks:
        diff = sp.simplify(sp.expand(sp.sympify(check.printed) - sp.sympify(check.derived)))
        if check.equation in misprints:
            assert diff != 0, f"{check.equation}: the misprint must show up as a difference"
        else:
            assert diff == 0, f"{check.equation}: printed and derived differ by {diff}"
