"""§3 of LNF-64/55: betatron distribution, energy spread and their folding.

Everything here is *derived* with sympy; the paper's printed forms appear only
in :func:`equation_checks`, where they are compared with the derivation.

The chain of the section:

1. :mod:`derivations.gaussian` -- ∫ exp(-a v² + b v) dv integrated by sympy
   (a > 0) and, from two iterated integrals of it, the generating function
   Z(Q, J) = ∫∫ exp(-yᵀQy + Jᵀy) d²y = π/sqrt(det Q) · exp(¼ JᵀQ⁻¹J).
2. (P_b normalisation) 1/∫∫exp(-yᵀ m y) = (1/π) sqrt(det m).
3. :func:`betatron_m` -- P_b = (1/π) sqrt(det m) exp(-yᵀ m y) has second
   moments ½ m⁻¹ (derivative of Z); equating them to <y_r y_s> gives
   m = ½ <y yᵀ>⁻¹, i.e. m_11, m_22, m_12 and det m = ¼ [det <y_r y_s>]⁻¹.
4. :func:`energy_alpha_squared` -- P_c = (α/√π) exp(-α² p²) has variance
   1/(2α²), so α² = 1/(2 <p²>).
5. :func:`folding` -- P(x, z) = ∫ dp P_b(x - ξp, z - ζp) P_c(p) done by
   sympy: P = (1/π) sqrt(det μ) exp(-xᵀ μ x) with μ of eq. (8) (printed with
   the number (3)) and the prefactor sqrt(det μ), *not* the sqrt(det m)
   printed in (7).
6. :func:`mu_total_covariance_form` -- the named rewrite used numerically:
   μ = ½ (Σ_b + <p²> η ηᵀ)⁻¹ = adj(Σ)/(2 det Σ) with
   det Σ = det Σ_b + <p²> ηᵀ adj(Σ_b) η (matrix-determinant lemma). It avoids
   the cancellation m - (mη)(mη)ᵀ/(α² + ηᵀmη) suffers when the dispersion
   term dominates the size (<p²> ξ² >> <x_b²>, the usual horizontal case).

Symbols: ``x2_b, xz_b, z2_b`` = <x_b²>, <x_b z_b>, <z_b²> (m²); ``xi, zeta``
= closed-orbit functions η = (ξ, ζ) (m); ``p2`` = <p²>; ``m11, m12, m22``
the betatron form; ``alpha`` of P_c.

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), eqs. (2), (6), (7), (8), §3.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from derivations.codegen import KernelSpec
from derivations.gaussian import (gaussian_form_moments, gaussian_integral_1d,
                                  quadratic_coeffs)
from derivations.registry import Check, Reading, Result

# ----------------------------------------------------------------- symbols
x2_b, z2_b = sp.symbols("x2_b z2_b", positive=True)  # <x_b^2>, <z_b^2>
xz_b = sp.Symbol("xz_b", real=True)  # <x_b z_b>
xi, zeta = sp.symbols("xi zeta", real=True)  # closed-orbit functions (2)
p2 = sp.Symbol("p2", positive=True)  # <p^2>
alpha = sp.Symbol("alpha", positive=True)  # of P_c
m11, m22 = sp.symbols("m11 m22", positive=True)
m12 = sp.Symbol("m12", real=True)
x, z, p = sp.symbols("x z p", real=True)
x_b, z_b = sp.symbols("x_b z_b", real=True)
y1, y2 = sp.symbols("y1 y2", real=True)
mu_xx, mu_zz = sp.symbols("mu_xx mu_zz", positive=True)
mu_xz = sp.Symbol("mu_xz", real=True)

#: betatron moment matrix <y_r y_s> and the closed-orbit vector η = (ξ, ζ)
SIGMA_B = sp.Matrix([[x2_b, xz_b], [xz_b, z2_b]])
ETA = sp.Matrix([xi, zeta])
#: the betatron quadratic form m_rs as free symbols (the paper's notation in (8))
M_SYM = sp.Matrix([[m11, m12], [m12, m22]])

#: numeric domain hints for the checker (positive-definite forms)
_DOMAINS = {
    x2_b: (0.5, 2.0), z2_b: (0.5, 2.0), xz_b: (-0.4, 0.4),
    m11: (0.5, 2.0), m22: (0.5, 2.0), m12: (-0.4, 0.4),
    xi: (-2.0, 2.0), zeta: (-2.0, 2.0), p2: (0.1, 2.0), alpha: (0.5, 2.0),
}


# ---------------------------------------------------------------- P_b, m_rs
@lru_cache(maxsize=None)
def _moments_of_m() -> tuple:
    """``gaussian_form_moments(M_SYM)``, derived once (four callers)."""
    norm, mom = gaussian_form_moments(M_SYM)
    return norm, sp.ImmutableMatrix(mom)


@lru_cache(maxsize=None)
def betatron_m() -> sp.Matrix:
    """m_rs of P_b in terms of <y_r y_s>: solve ½ m⁻¹ = <y yᵀ> for m.

    The moments of exp(-yᵀ m y) are ½ m⁻¹ (:func:`gaussian_form_moments`);
    the three equations ½(m⁻¹)_rs = <y_r y_s> are solved by sympy.

    Returns
    -------
    sympy.Matrix
        2×2 m in the symbols ``x2_b, xz_b, z2_b``.

    References
    ----------
    LNF-64/55 §3 (m_11, m_22, m_12).

    Examples
    --------
    >>> betatron_m()[0, 0]
    z2_b/(2*(x2_b*z2_b - xz_b**2))
    """
    _, mom = _moments_of_m()
    sol = sp.solve([mom[0, 0] - x2_b, mom[0, 1] - xz_b, mom[1, 1] - z2_b], [m11, m12, m22], dict=True)
    if len(sol) != 1:
        raise RuntimeError(f"expected one solution for m, got {sol}")
    s = sol[0]
    det_b = x2_b * z2_b - xz_b**2
    return sp.Matrix([[s[m11], s[m12]], [s[m12], s[m22]]]).applyfunc(
        lambda e: sp.factor(e).subs(sp.expand(det_b), det_b))


def betatron_density() -> sp.Expr:
    """P_b(y1, y2) = (1/π) sqrt(det m) exp(-yᵀ m y), normalised (m = :func:`betatron_m`).

    The prefactor is 1/∫∫exp(-yᵀ m y) from :func:`gaussian_form_moments`.

    References
    ----------
    LNF-64/55 §3.

    Examples
    --------
    >>> betatron_density().has(y1, y2)
    True
    """
    norm, _ = _moments_of_m()
    y = sp.Matrix([y1, y2])
    return (1 / norm) * sp.exp(-(y.T * M_SYM * y)[0, 0])


# --------------------------------------------------------------------- P_c
@lru_cache(maxsize=None)
def energy_alpha_squared() -> sp.Expr:
    """α² of P_c = (α/√π) exp(-α² p²): solve ∫p² P_c dp = <p²> for α².

    Returns
    -------
    sympy.Expr
        1/(2 p2).

    References
    ----------
    LNF-64/55 §3.

    Examples
    --------
    >>> energy_alpha_squared()
    1/(2*p2)
    """
    P_c = alpha / sp.sqrt(sp.pi) * sp.exp(-alpha**2 * p**2)
    norm = sp.integrate(P_c, (p, -sp.oo, sp.oo))
    if sp.simplify(norm - 1) != 0:
        raise RuntimeError(f"P_c not normalised: {norm}")
    var = sp.integrate(p**2 * P_c, (p, -sp.oo, sp.oo))
    a2 = sp.Symbol("a2", positive=True)
    sol = sp.solve(sp.Eq(var.subs(alpha, sp.sqrt(a2)), p2), a2)
    return sol[0]


# ----------------------------------------------------------------- folding
@lru_cache(maxsize=None)
def folding() -> tuple[sp.Expr, sp.Matrix]:
    """Fold P_b(x - ξp, z - ζp) with P_c(p) over p (sympy does the integral).

    Returns
    -------
    prefactor : sympy.Expr
        P(0, 0), in ``m11, m12, m22, xi, zeta, alpha``:
        (1/π) sqrt(det m) · α / sqrt(α² + ηᵀ m η).
    mu : sympy.Matrix
        μ_rs with P(x, z) = prefactor · exp(-Σ μ_rs x_r x_s) (x_1 = x, x_2 = z).

    References
    ----------
    LNF-64/55 eqs. (6), (7), (8) [printed (3)].

    Examples
    --------
    >>> pre, mu = folding()
    >>> mu.subs({xi: 0, zeta: 0}) == M_SYM
    True
    """
    norm_b, _ = _moments_of_m()
    X = sp.Matrix([x, z])
    shifted = X - ETA * p  # the betatron part of (6): x_b = x - ξp, z_b = z - ζp
    expo = -(shifted.T * M_SYM * shifted)[0, 0] - alpha**2 * p**2
    a, b, c = quadratic_coeffs(expo, p)
    pref_p, expo_p = gaussian_integral_1d(a, b)
    # P = (1/norm_b) (α/√π) ∫dp exp(expo) = P00 · exp(exponent)
    P00 = sp.simplify((1 / norm_b) * alpha / sp.sqrt(sp.pi) * pref_p)
    exponent = sp.expand(c + expo_p)
    quad = sp.Poly(sp.expand(sp.together(exponent) * sp.denom(sp.together(exponent))), x, z)
    den = sp.denom(sp.together(exponent))
    if exponent.subs({x: 0, z: 0}) != 0 or any(sum(mon) != 2 for mon in quad.monoms()):
        raise RuntimeError("the folded exponent is not a quadratic form in (x, z)")
    mu = sp.Matrix([[-quad.coeff_monomial(x**2), -quad.coeff_monomial(x * z) / 2],
                    [-quad.coeff_monomial(x * z) / 2, -quad.coeff_monomial(z**2)]]) / den
    mu = mu.applyfunc(sp.factor)
    return P00, mu


def printed_mu() -> sp.Matrix:
    """μ_rs as printed in (8) (numbered (3) in the paper), typed once.

    μ_rs = m_rs - Σ m_rv m_st η_v η_t / (α² + Σ m_vt η_v η_t).

    References
    ----------
    LNF-64/55 eq. (8) [printed (3)].

    Examples
    --------
    >>> printed_mu()[0, 1] == printed_mu()[1, 0]
    True
    """
    eta = [xi, zeta]
    M = M_SYM
    den = alpha**2 + sum(M[v, t] * eta[v] * eta[t] for v in range(2) for t in range(2))
    return sp.Matrix(2, 2, lambda r, s: M[r, s] - sum(
        M[r, v] * M[s, t] * eta[v] * eta[t] for v in range(2) for t in range(2)) / den)


@lru_cache(maxsize=None)
def mu_total_covariance_form() -> tuple[sp.Matrix, sp.Matrix]:
    """μ = ½ (Σ_b + <p²> η ηᵀ)⁻¹ written without cancellation; proved equal to the folding.

    Returns
    -------
    sigma : sympy.Matrix
        Second moments of the absolute positions (6): Σ = Σ_b + <p²> η ηᵀ.
    mu : sympy.Matrix
        adj(Σ) / (2 D), D = det Σ_b + <p²> ηᵀ adj(Σ_b) η (the p2² terms of
        det Σ cancel exactly and are removed symbolically).

    Raises
    ------
    RuntimeError
        If the rewrite does not equal the folded μ (with m = ½Σ_b⁻¹, α² = 1/(2<p²>)).

    References
    ----------
    LNF-64/55 eqs. (6), (8).

    Examples
    --------
    >>> sigma, mu = mu_total_covariance_form()
    >>> sigma[0, 0]
    p2*xi**2 + x2_b
    """
    sigma = SIGMA_B + p2 * ETA * ETA.T
    adj_b = SIGMA_B.adjugate()
    D = SIGMA_B.det() + p2 * sp.expand((ETA.T * adj_b * ETA)[0, 0])
    if sp.expand(D - sigma.det()) != 0:
        raise RuntimeError("matrix-determinant lemma failed")
    mu = sigma.adjugate() / (2 * D)
    # proof: equals the folded μ with m = ½Σ_b⁻¹ and α² = 1/(2 p2)
    _, mu_fold = folding()
    sub = _m_alpha_substitution()
    diff = (mu_fold.subs(sub, simultaneous=True) - mu).applyfunc(sp.simplify)
    if diff != sp.zeros(2, 2):
        raise RuntimeError(f"folded mu != total-covariance form: {diff}")
    return sigma, mu


def _m_alpha_substitution() -> dict:
    m = betatron_m()
    return {m11: m[0, 0], m12: m[0, 1], m22: m[1, 1], alpha: sp.sqrt(energy_alpha_squared())}


def position_density_closed_form() -> tuple[tuple, sp.Expr]:
    """P(x, z) = (1/π) sqrt(det μ) exp(-Σ μ_rs x_r x_s): the corrected eq. (7).

    Returns
    -------
    args : tuple of sympy.Symbol
        ``(mu_xx, mu_xz, mu_zz, x, z)``.
    expr : sympy.Expr
        The normalised density (1/m²).

    References
    ----------
    LNF-64/55 eq. (7) (prefactor corrected).

    Examples
    --------
    >>> args, P = position_density_closed_form()
    >>> P.subs({x: 0, z: 0, mu_xz: 0, mu_xx: 1, mu_zz: 1})
    1/pi
    """
    mu = sp.Matrix([[mu_xx, mu_xz], [mu_xz, mu_zz]])
    X = sp.Matrix([x, z])
    norm, _ = gaussian_form_moments(mu)
    return (mu_xx, mu_xz, mu_zz, x, z), (1 / norm) * sp.exp(-(X.T * mu * X)[0, 0])


# ------------------------------------------------------------- publication
def kernel_specs() -> list[KernelSpec]:
    """Kernels for ``coupled_beam/_kernels.py``: folded μ, absolute moments, P(x, z).

    Returns
    -------
    list of KernelSpec

    References
    ----------
    LNF-64/55 §3.

    Examples
    --------
    >>> [k.name for k in kernel_specs()]
    ['folded_mu_rs', 'absolute_moments', 'position_density']
    """
    sigma, mu = mu_total_covariance_form()
    args = (x2_b, xz_b, z2_b, xi, zeta, p2)
    pargs, P = position_density_closed_form()
    return [
        KernelSpec(
            "folded_mu_rs", args, (mu[0, 0], mu[0, 1], mu[1, 1]),
            "Composite parameters (mu_xx, mu_xz, mu_zz) of P(x, z) (1/m^2) from the betatron\n"
            "moments <x_b^2>, <x_b z_b>, <z_b^2> (m^2), the closed-orbit functions xi, zeta (m)\n"
            "and <p^2>: mu = adj(Sigma)/(2 D), Sigma = Sigma_b + p2 eta eta^T,\n"
            "D = det Sigma_b + p2 eta^T adj(Sigma_b) eta (proved equal to the folding).",
            "LNF-64/55 eq. (8) [printed (3)]",
        ),
        KernelSpec(
            "absolute_moments", args, (sigma[0, 0], sigma[0, 1], sigma[1, 1]),
            "Second moments (<x^2>, <x z>, <z^2>) (m^2) of the absolute positions\n"
            "x = x_b + xi p, z = z_b + zeta p, betatron and energy uncorrelated.",
            "LNF-64/55 eq. (6)",
        ),
        KernelSpec(
            "position_density", pargs, (P,),
            "Density P(x, z) (1/m^2) = (1/pi) sqrt(det mu) exp(-sum mu_rs x_r x_s):\n"
            "eq. (7) with the normalisation the folding gives.",
            "LNF-64/55 eq. (7) (prefactor corrected)",
        ),
    ]


def results() -> list[Result]:
    """Closed forms for ``coupled-beam derive``.

    Returns
    -------
    list of Result

    References
    ----------
    LNF-64/55 §3.

    Examples
    --------
    >>> [r.name for r in results()][:3]
    ['m-matrix', 'det-m', 'alpha-squared']
    """
    m = betatron_m()
    P00, mu = folding()
    sigma, mu_cov = mu_total_covariance_form()
    return [
        Result("m-matrix", m, "m_rs of P_b from <y_r y_s> (1/m^2): m = ½ <y yᵀ>⁻¹", "LNF-64/55 §3",
               (x2_b, xz_b, z2_b)),
        Result("det-m", sp.Eq(sp.Symbol("det_m"), sp.factor(m.det())),
               "det m = ¼ [det <y_r y_s>]⁻¹", "LNF-64/55 §3", (x2_b, xz_b, z2_b)),
        Result("alpha-squared", sp.Eq(alpha**2, energy_alpha_squared()),
               "α² of P_c = (α/√π) exp(-α²p²)", "LNF-64/55 §3", (p2,)),
        Result("mu-folding", mu, "μ_rs from folding P_b and P_c over p, in m_rs, ξ, ζ, α",
               "LNF-64/55 eq. (8) [printed (3)]", (m11, m12, m22, xi, zeta, alpha)),
        Result("P-prefactor", P00, "P(0,0) = (1/π) sqrt(det μ) (corrected eq. (7) prefactor)",
               "LNF-64/55 eq. (7)", (m11, m12, m22, xi, zeta, alpha)),
        Result("absolute-moments", sigma, "Σ = Σ_b + <p²> η ηᵀ (m²)", "LNF-64/55 eq. (6)",
               (x2_b, xz_b, z2_b, xi, zeta, p2)),
        Result("mu-xz", mu_cov, "μ = ½ Σ⁻¹ without cancellation (1/m²)", "LNF-64/55 eq. (8)",
               (x2_b, xz_b, z2_b, xi, zeta, p2)),
        Result("P-xz", position_density_closed_form()[1], "P(x, z), eq. (7) corrected",
               "LNF-64/55 eq. (7)", position_density_closed_form()[0]),
    ]


def equation_checks() -> list[Check]:
    """The printed equations of §3 against their derivation.

    Returns
    -------
    list of Check

    References
    ----------
    LNF-64/55 eqs. (6), (7), (8), §3.

    Examples
    --------
    >>> [c.equation for c in equation_checks()][:2]
    ['(6) x', '(6) z']
    """
    m = betatron_m()
    det_b = SIGMA_B.det()
    P00, mu = folding()
    mu_pr = printed_mu()
    norm_b, _ = _moments_of_m()
    pre_b = sp.simplify(1 / norm_b)
    det_m_sym = M_SYM.det()
    # the equation numbers as printed, in the order of the text: (3) appears twice
    printed_numbers = (1, 2, 3, 4, 5, 6, 7, 3, 9, 10)
    k_mu = 7                                    # the μ_rs formula: the 8th numbered equation
    upper = [(0, 0), (0, 1), (1, 1)]
    zeta_for_xi = {xi: zeta}                    # applied to the z-parts only
    printed_z = (z_b + xi * p, z - xi * p)
    return [
        Check("(6) x", "§2", x_b + xi * p, x_b + ETA[0] * p,
              "x = x_b + ξ p with x_c = ξ p of (2)", dict(_DOMAINS)),
        Check("(6) z", "§2", printed_z, (z_b + ETA[1] * p, z - ETA[1] * p),
              "printed z = z_b + ξ p; (2) gives z_c = ζ p, so z = z_b + ζ p (and the second "
              "argument of the folding is z - ζp)", dict(_DOMAINS),
              reading=Reading("misprint", "ξ", "ζ", tuple(e.xreplace(zeta_for_xi) for e in printed_z),
                              "paper or transcription",
                              "(2) defines z_c = ζ(s) p; ξ and ζ look alike in the typescript"),
              recurs=("§3 folding integral P_b(x - ξp, z - ξp)",)),
        Check("§3 P_b prefactor", "§3", sp.sqrt(det_m_sym) / sp.pi, pre_b,
              "1/∫∫exp(-yᵀ m y) = (1/π) sqrt(det m)", dict(_DOMAINS)),
        Check("§3 m_11, m_22, m_12", "§3",
              (sp.Rational(1, 2) * z2_b / (x2_b * z2_b - xz_b**2),
               sp.Rational(1, 2) * x2_b / (x2_b * z2_b - xz_b**2),
               -sp.Rational(1, 2) * xz_b / (x2_b * z2_b - xz_b**2)),
              (m[0, 0], m[1, 1], m[0, 1]),
              "m = ½<y yᵀ>⁻¹ from the moments of P_b", dict(_DOMAINS)),
        Check("§3 det m", "§3", sp.Rational(1, 4) / det_b, sp.factor(m.det()),
              "det m = ¼ [det <y_r y_s>]⁻¹", dict(_DOMAINS)),
        Check("§3 α²", "§3", 1 / (2 * p2), energy_alpha_squared(),
              "variance of P_c is 1/(2α²)", dict(_DOMAINS)),
        Check("(8) μ_rs", "§3", tuple(mu_pr[i, j] for i, j in upper),
              tuple(mu[i, j] for i, j in upper),
              "μ_rs from the folding integral (done by sympy)", dict(_DOMAINS)),
        Check("(8) equation number", "§3", sp.Integer(printed_numbers[k_mu]),
              sp.Integer(k_mu + 1),
              "the μ_rs formula is printed with the number (3), that of the equation of motion; "
              "it is the 8th numbered equation, between (7) and (9)", {},
              reading=Reading("misprint", "(3)", "(8)", sp.Integer(8), "paper or transcription",
                              "(1)-(7) and (9), (10) are numbered in order; (8) is missing")),
        Check("(7) prefactor", "§3", sp.sqrt(det_m_sym) / sp.pi, P00,
              "the folding gives P(0,0) = (1/π) sqrt(det m) α/sqrt(α² + ηᵀmη) = (1/π) sqrt(det μ); "
              "(1/π) sqrt(det m) holds only for η = 0", dict(_DOMAINS),
              reading=Reading("misprint", "det ‖m_rs‖", "det ‖μ_rs‖",
                              sp.sqrt(sp.factor(sp.Matrix(mu_pr).det())) / sp.pi,
                              "paper or transcription",
                              "the appendix normalises the same P with (μ̄_xx μ̄_zz)^½ = "
                              "(det μ)^½; m and μ differ by one glyph")),
        Check("(8) μ = ½(Σ_b + <p²>ηηᵀ)⁻¹ (xx)", "§3",
              mu_pr[0, 0].subs(_m_alpha_substitution(), simultaneous=True),
              mu_total_covariance_form()[1][0, 0],
              "(8) with m = ½Σ_b⁻¹, α² = 1/(2<p²>) is half the inverse absolute covariance "
              "(the toolkit's cancellation-free rewrite)", dict(_DOMAINS),
              printed_in_paper=False),
    ]
