"""Symbolic §3 and appendix: the derivations against independent routes and the errata verdicts."""

import mpmath
import pytest
import sympy as sp

from derivations import beam_spot as bs
from derivations import distribution as dd
from derivations import gaussian as dg

# a positive-definite numeric point used by the quadrature checks
M_NUM = {dd.m11: sp.Rational(3, 2), dd.m12: sp.Rational(-2, 5), dd.m22: sp.Rational(4, 5)}
ETA_NUM = {dd.xi: sp.Rational(7, 10), dd.zeta: sp.Rational(-3, 10), dd.alpha: sp.Rational(6, 5)}


def test_gaussian_generating_function_matches_textbook_form():
    """Z(Q, J) from two sympy integrals equals π/sqrt(det Q) exp(¼ Jᵀ Q⁻¹ J)."""
    Q, J, Z = dg.gaussian_generating_function()
    pref, expo = dg.split_exp(Z)
    assert sp.simplify(pref**2 - sp.pi**2 / Q.det()) == 0, "prefactor² != π²/det Q"
    assert sp.simplify(expo - (J.T * Q.inv() * J)[0, 0] / 4) == 0, "exponent != ¼ JᵀQ⁻¹J"


def test_gaussian_generating_function_numeric_equals_mpmath_quadrature():
    """Z(Q, J) at a numeric point equals a 2-D mpmath quadrature (independent route)."""
    Q, J, Z = dg.gaussian_generating_function()
    point = {Q[0, 0]: 1.3, Q[0, 1]: 0.4, Q[1, 1]: 0.9, J[0]: 0.3, J[1]: -0.5}
    ref = mpmath.quad(lambda a, b: mpmath.exp(-(1.3 * a * a + 0.8 * a * b + 0.9 * b * b)
                                              + 0.3 * a - 0.5 * b),
                      [-mpmath.inf, mpmath.inf], [-mpmath.inf, mpmath.inf])
    # mpmath's tanh-sinh quadrature converges to ~1e-15 on this smooth integrand
    assert abs(float(Z.subs(point)) - float(ref)) < 1e-12 * float(ref), "Z != quadrature"


def test_m_matrix_is_half_inverse_of_moments():
    """m derived from the moments of P_b equals ½ <y yᵀ>⁻¹ by sympy's matrix inverse."""
    diff = (dd.betatron_m() - dd.SIGMA_B.inv() / 2).applyfunc(sp.simplify)
    assert diff == sp.zeros(2, 2), f"m != ½ Σ_b⁻¹: {diff}"


def test_det_m_is_quarter_inverse_det_moments():
    """det m = ¼ [det <y_r y_s>]⁻¹ (the note after the m_rs formulas)."""
    assert sp.simplify(dd.betatron_m().det() - 1 / (4 * dd.SIGMA_B.det())) == 0, "det m identity"


def test_betatron_density_normalised_by_mpmath_quadrature():
    """P_b with prefactor (1/π) sqrt(det m) integrates to 1 (2-D mpmath quadrature)."""
    f = sp.lambdify((dd.y1, dd.y2), dd.betatron_density().subs(M_NUM), "mpmath")
    total = mpmath.quad(f, [-mpmath.inf, mpmath.inf], [-mpmath.inf, mpmath.inf])
    assert abs(total - 1) < 1e-12, f"∫∫ P_b = {total}"  # quadrature accuracy ~1e-15


def test_alpha_squared_is_half_inverse_energy_spread():
    """α² of P_c is 1/(2<p²>)."""
    assert dd.energy_alpha_squared() == 1 / (2 * dd.p2), "α² != 1/(2<p²>)"


def test_folded_mu_equals_printed_eq8():
    """The folding integral gives the μ_rs printed as (3) (it is (8)), entry by entry."""
    _, mu = dd.folding()
    diff = (mu - dd.printed_mu()).applyfunc(sp.simplify)
    assert diff == sp.zeros(2, 2), f"folded μ != printed (8): {diff}"


def test_folded_density_equals_quadrature_over_p():
    """P(x, z) of the derivation equals ∫dp P_b(x - ξp, z - ζp) P_c(p) done by mpmath."""
    P00, mu = dd.folding()
    X = sp.Matrix([dd.x, dd.z])
    P = P00 * sp.exp(-(X.T * mu * X)[0, 0])
    sub = {**M_NUM, **ETA_NUM, dd.x: sp.Rational(3, 10), dd.z: sp.Rational(-1, 5)}
    value = float(P.subs(sub))
    Pb = sp.lambdify((dd.y1, dd.y2), dd.betatron_density().subs(M_NUM), "mpmath")
    a, xi, zeta, x, z = (float(ETA_NUM[dd.alpha]), float(ETA_NUM[dd.xi]), float(ETA_NUM[dd.zeta]),
                         0.3, -0.2)
    ref = mpmath.quad(lambda p: Pb(x - xi * p, z - zeta * p) * a / mpmath.sqrt(mpmath.pi)
                      * mpmath.exp(-a * a * p * p), [-mpmath.inf, mpmath.inf])
    # 1-D tanh-sinh quadrature of a Gaussian: ~1e-15
    assert abs(value - float(ref)) < 1e-12 * float(ref), f"P = {value}, quadrature {ref}"


def test_folded_prefactor_is_sqrt_det_mu_not_sqrt_det_m():
    """The normalisation after folding is (1/π) sqrt(det μ); the printed sqrt(det m) is not."""
    P00, _ = dd.folding()
    det_mu = dd.printed_mu().det()
    assert sp.simplify(P00**2 - det_mu / sp.pi**2) == 0, "P(0,0)² != det μ/π²"
    printed = sp.sqrt(dd.M_SYM.det()) / sp.pi
    ratio = float((P00 / printed).subs({**M_NUM, **ETA_NUM}))
    assert abs(ratio - 1) > 0.05, "(7) as printed would hold here: no erratum"


def test_mu_total_covariance_form_equals_numeric_inverse():
    """½(Σ_b + <p²>ηηᵀ)⁻¹ of the kernel form equals sympy's exact inverse at a rational point."""
    sigma, mu = dd.mu_total_covariance_form()
    pt = {dd.x2_b: sp.Rational(2), dd.xz_b: sp.Rational(1, 3), dd.z2_b: sp.Rational(1, 2),
          dd.xi: sp.Rational(3), dd.zeta: sp.Rational(-1, 7), dd.p2: sp.Rational(1, 5)}
    ref = (sigma.subs(pt).inv() / 2)
    assert mu.subs(pt) - ref == sp.zeros(2, 2), "μ form != ½ Σ⁻¹ (exact rationals)"


def test_tan_two_theta_and_branch_diagonalise_mu():
    """tan 2θ = 2μ_xz/(μ_xx - μ_zz) and the atan2 branch gives eigenvalues (smaller first)."""
    assert bs.tan_two_theta() == 2 * bs.mu_xz / (bs.mu_xx - bs.mu_zz), "tan 2θ"
    th, lo, hi = bs.principal_mu()
    pt = {bs.mu_xx: sp.Integer(3), bs.mu_xz: sp.Rational(-7, 10), bs.mu_zz: sp.Rational(6, 5)}
    R = bs.rotation(th.subs(pt))
    rot = (R * bs.MU.subs(pt) * R.T).evalf(30)
    assert abs(rot[0, 1]) < 1e-25, "θ branch leaves an off-diagonal term"
    assert abs(rot[0, 0] - lo.subs(pt)) < 1e-25 and abs(rot[1, 1] - hi.subs(pt)) < 1e-25, \
        "rotated diagonal != (smaller, larger) eigenvalue"


def test_inverse_area_is_half_peak_density():
    """1/S = ∫P² = (1/2π) sqrt(det μ) = ½ P(0,0) symbolically."""
    inv = bs.inverse_area()
    assert sp.simplify(inv - sp.sqrt(bs.MU.det()) / (2 * sp.pi)) == 0, "1/S != sqrt(det μ)/2π"
    P00 = bs.spot_density().subs({bs.x: 0, bs.z: 0})
    assert sp.simplify(inv - P00 / 2) == 0, "1/S != P(0,0)/2"


MISPRINTS = {"(6) z", "(8) equation number", "(7) prefactor"}


@pytest.mark.slow
def test_errata_verdicts_of_section3_and_appendix():
    """§3 has three one-glyph misprints (ξ for ζ, also in the folding; (3) for (8); m for μ in
    the prefactor of (7)); every other check is ok."""
    from derivations.errata import verify_checks

    rows = verify_checks(dd.equation_checks() + bs.equation_checks())
    status = {row.check.equation: row.status for row in rows}
    assert {k for k, v in status.items() if v == "misprint"} == MISPRINTS, status
    assert all(v == "ok" for k, v in status.items() if k not in MISPRINTS), status
