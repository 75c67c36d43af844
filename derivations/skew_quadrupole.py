"""§5 of LNF-64/55: a thin 45° skew quadrupole in an otherwise uncoupled ring.

Everything here is *derived* with sympy from the transfer matrices; the
paper's printed forms appear only in :func:`equation_checks`, where they are
compared with the derivation.

The chain of the section:

1. :func:`skew_kick` -- the thin skew quadrupole L = [[I, C], [C, I]],
   C = [[0, 0], [m, 0]] (m = integrated skew gradient, 1/m).
2. :func:`one_turn_map` -- N = L F, F = diag(F_x, F_z) with
   F = (1 - ½ D s0) F0 and F0 the Twiss matrix of phase advance mu, beta, alpha.
3. :func:`characteristic_polynomial` -- det(N - λ) (the paper's quartic).
4. :func:`palindromic_quadratic` -- for det F = 1, det(N - λ)/λ² = q(w) with
   w = λ + 1/λ; its roots w = a ± b and cos g± = (a ± b)/2.
5. :func:`stability_conditions` -- b² ≥ 0 and |a ± b| ≤ 2.
6. :func:`mode_damping_first_order` -- the decrements ω± that the paper calls
   "complicated functions" and leaves out: to first order in D s0,

   ω± = (D11 s0 + D22 s0)/4 ± (D11 s0 - D22 s0)(cos μ_x - cos μ_z)/(4 b).

   They are real wherever b² > 0 (so in the whole stable region, except the
   degenerate point b = 0): to first order this damping model produces no
   frequency shift, although the paper expects Im ω± ≠ 0 "in general". Sum
   rule: ω+ + ω- = (D11 s0 + D22 s0)/2, i.e. det N = exp(-2ω+ - 2ω-).

Conventions: g+ ≤ g- (cos g+ ≥ cos g-), both in [0, π]; for m → 0,
g+ = min(μ_x, μ_z) and g- = max(μ_x, μ_z) for μ in [0, π].

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), §5.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from derivations.codegen import KernelSpec
from derivations.registry import Check, Reading, Result

# ----------------------------------------------------------------- symbols
mu_x, mu_z = sp.symbols("mu_x mu_z", real=True)
beta_x, beta_z = sp.symbols("beta_x beta_z", positive=True)
alpha_x, alpha_z = sp.symbols("alpha_x alpha_z", real=True)
m = sp.Symbol("m", real=True)
d11_s0, d22_s0 = sp.symbols("d11_s0 d22_s0", nonnegative=True)
lam = sp.Symbol("lambda")
w = sp.Symbol("w")  # w = λ + 1/λ
a, b = sp.symbols("a b", real=True)  # roots w = a ± b
g_plus, g_minus = sp.symbols("g_plus g_minus", real=True)

#: generic entries of the uncoupled one-turn blocks F_x = X, F_z = Z
X = sp.Matrix(2, 2, sp.symbols("X11 X12 X21 X22"))
Z = sp.Matrix(2, 2, sp.symbols("Z11 Z12 Z21 Z22"))


def skew_kick(strength: sp.Expr = m) -> sp.Matrix:
    """Transfer matrix L of a thin 45° skew quadrupole (§5).

    The equations of motion (3) with K12 = K21 = -m δ(s) give the kicks
    Δx' = m z, Δz' = m x.

    Parameters
    ----------
    strength : sympy.Expr
        Integrated skew strength m (1/m).

    Returns
    -------
    sympy.Matrix
        4×4, ``[[I, C], [C, I]]`` with ``C = [[0, 0], [m, 0]]``.

    References
    ----------
    LNF-64/55 §5.

    Examples
    --------
    >>> skew_kick()
    Matrix([
    [1, 0, 0, 0],
    [0, 1, m, 0],
    [0, 0, 1, 0],
    [m, 0, 0, 1]])
    >>> skew_kick().det()
    1
    """
    C = sp.Matrix([[0, 0], [strength, 0]])
    return sp.BlockMatrix([[sp.eye(2), C], [C, sp.eye(2)]]).as_explicit()


def twiss_block(mu: sp.Expr, beta: sp.Expr, alpha: sp.Expr = 0, d_s0: sp.Expr = 0) -> sp.Matrix:
    """Uncoupled one-turn block F = (1 - ½ D s0) F0 in Twiss form.

    F0 = [[cos μ + α sin μ, β sin μ], [-(1 + α²)/β sin μ, cos μ - α sin μ]], so
    Tr F = 2 cos μ (1 - ½ D s0), F_12 = β sin μ (1 - ½ D s0) and
    det F = (1 - ½ D s0)² = 1 - D s0 + O((D s0)²), the paper's damping model.

    Examples
    --------
    >>> twiss_block(mu_x, beta_x).det().simplify()
    1
    """
    c, s = sp.cos(mu), sp.sin(mu)
    F0 = sp.Matrix([[c + alpha * s, beta * s], [-(1 + alpha**2) / beta * s, c - alpha * s]])
    return (1 - sp.S(d_s0) / 2) * F0


def one_turn_map(alpha: bool = True, damped: bool = True) -> sp.Matrix:
    """N = L F at the exit of the skew quadrupole (§5).

    Parameters
    ----------
    alpha : bool
        Keep α_x, α_z at the quadrupole (else α = 0).
    damped : bool
        Include the damping factors (1 - ½ D11 s0), (1 - ½ D22 s0).

    Returns
    -------
    sympy.Matrix
        4×4 ``[[F_x, C F_z], [C F_x, F_z]]``.

    Examples
    --------
    >>> one_turn_map(alpha=False, damped=False)[1, 2] == m * sp.cos(mu_z)
    True
    """
    ax, az = (alpha_x, alpha_z) if alpha else (sp.S.Zero, sp.S.Zero)
    dx, dz = (d11_s0, d22_s0) if damped else (sp.S.Zero, sp.S.Zero)
    F = sp.diag(twiss_block(mu_x, beta_x, ax, dx), twiss_block(mu_z, beta_z, az, dz))
    return skew_kick() * F


def characteristic_polynomial_generic() -> sp.Expr:
    """det(N - λ) for N = L diag(X, Z) with generic 2×2 blocks X, Z.

    Examples
    --------
    >>> p = characteristic_polynomial_generic()
    >>> sp.Poly(p, lam).degree()
    4
    """
    N = skew_kick() * sp.diag(X, Z)
    return sp.expand((N - lam * sp.eye(4)).det(method="berkowitz"))


def paper_quartic_generic() -> sp.Expr:
    """The quartic as printed in §5 in terms of Tr, det, X12, Z12 (no misprint)."""
    trx, trz, dtx, dtz = X.trace(), Z.trace(), X.det(), Z.det()
    return (lam**4 - lam**3 * (trx + trz)
            + lam**2 * (dtx + dtz + trx * trz - m**2 * X[0, 1] * Z[0, 1])
            - lam * (trx * dtz + trz * dtx) + dtx * dtz)


@lru_cache(maxsize=None)
def characteristic_polynomial(damped: bool = False) -> sp.Expr:
    """det(N - λ) in Twiss parameters (α-dependence drops out).

    Examples
    --------
    >>> sp.Poly(characteristic_polynomial(), lam).all_coeffs()[0]
    1
    """
    N = one_turn_map(alpha=True, damped=damped)
    p = sp.expand((N - lam * sp.eye(4)).det(method="berkowitz"))
    return sp.collect(sp.expand(sp.simplify(p)), lam)


@lru_cache(maxsize=None)
def palindromic_quadratic() -> sp.Expr:
    """q(w) with det(N - λ) = λ² q(λ + 1/λ) for the undamped map.

    Derived, not assumed: the quartic's coefficients are read off, the
    palindromic symmetry c4 = c0, c3 = c1 is checked, and
    λ^-2 P = (λ² + λ^-2) + c3 (λ + 1/λ) + c2 = w² - 2 + c3 w + c2.

    Examples
    --------
    >>> sp.Poly(palindromic_quadratic(), w).all_coeffs()[:2]
    [1, -2*cos(mu_x) - 2*cos(mu_z)]
    """
    c4, c3, c2, c1, c0 = sp.Poly(characteristic_polynomial(False), lam).all_coeffs()
    if sp.simplify(c4 - c0) != 0 or sp.simplify(c3 - c1) != 0:
        raise ArithmeticError("det(N - λ) is not palindromic: det F ≠ 1?")
    return sp.expand(sp.trigsimp(w**2 - 2 + c3 * w + c2))


@lru_cache(maxsize=None)
def roots_a_b() -> tuple[sp.Expr, sp.Expr]:
    """(a, b²) with q(w) = 0 ⇔ w = a ± b (λ + 1/λ = a ± b, §5).

    Returns
    -------
    a : sympy.Expr
        cos μ_x + cos μ_z.
    b2 : sympy.Expr
        (cos μ_x - cos μ_z)² + m² β_x β_z sin μ_x sin μ_z.

    Examples
    --------
    >>> roots_a_b()[0]
    cos(mu_x) + cos(mu_z)
    """
    q = sp.Poly(palindromic_quadratic(), w)
    _, c1, c0 = q.all_coeffs()
    a_ = sp.simplify(-c1 / 2)
    b2 = sp.factor_terms(sp.expand(a_**2 - c0))
    cos_diff = sp.cos(mu_x) - sp.cos(mu_z)
    rest = sp.expand(b2 - sp.expand(cos_diff**2))
    return a_, cos_diff**2 + rest


def cos_difference_as_product(expr: sp.Expr) -> sp.Expr:
    """Named rewrite: cos μ_x - cos μ_z → -2 sin((μ_x+μ_z)/2) sin((μ_x-μ_z)/2).

    Removes the cancellation of the difference near the coupling resonance
    μ_x = μ_z (the naive form loses ~1e-16/Δμ relative; the product keeps
    full precision because μ_x - μ_z is formed first).

    Examples
    --------
    >>> cos_difference_as_product(sp.cos(mu_x) - sp.cos(mu_z))
    -2*sin(mu_x/2 - mu_z/2)*sin(mu_x/2 + mu_z/2)
    """
    product = -2 * sp.sin((mu_x + mu_z) / 2) * sp.sin((mu_x - mu_z) / 2)
    return expr.subs(sp.cos(mu_x) - sp.cos(mu_z), product)


def b_squared() -> sp.Expr:
    """b² in the cancellation-free product form used by the kernels."""
    _, b2 = roots_a_b()
    return cos_difference_as_product(b2)


def cos_eigentunes() -> tuple[sp.Expr, sp.Expr]:
    """(cos g+, cos g-) = ((a + b)/2, (a - b)/2) with b = sqrt(b²) ≥ 0.

    Examples
    --------
    >>> cp, cm = cos_eigentunes()
    >>> sp.simplify((cp - cm).subs(m, 0) ** 2 - (sp.cos(mu_x) - sp.cos(mu_z)) ** 2)
    0
    """
    a_, _ = roots_a_b()
    bb = sp.sqrt(b_squared())
    return (a_ + bb) / 2, (a_ - bb) / 2


#: half angles: sin(μ/2), cos(μ/2) of each plane (the rewrite below needs no other trig of μ_x, μ_z alone)
_HALF = (sp.sin(mu_x / 2), sp.cos(mu_x / 2), sp.sin(mu_z / 2), sp.cos(mu_z / 2))


@lru_cache(maxsize=None)
def det_n_minus_plus_identity() -> tuple[sp.Expr, sp.Expr]:
    """Named rewrite: det(N − 1) and det(N + 1) of the undamped map in half-angle product form.

    det(N ∓ 1) = P(±1) = (2 ∓ a)² − b² are the boundaries a ± b = ±2 of the
    stability region. Derived from :func:`characteristic_polynomial` at λ = ±1
    and rewritten with 1 − cos μ = 2 sin²(μ/2), sin μ = 2 sin(μ/2) cos(μ/2):

        P(+1) = 4 s_x s_z (4 s_x s_z − m² β_x β_z c_x c_z),
        P(−1) = 4 c_x c_z (4 c_x c_z − m² β_x β_z s_x s_z),

    s = sin(μ/2), c = cos(μ/2). The form keeps full relative precision as μ → 0
    or π (where 1 − cos μ loses all digits in float64); the identity is checked
    here (ArithmeticError otherwise) and in the tests.

    Returns
    -------
    (P_plus_one, P_minus_one) : sympy.Expr

    References
    ----------
    LNF-64/55 §5 (the quartic det(N − λ) = 0); rewrite derived here.

    Examples
    --------
    >>> p1, pm1 = det_n_minus_plus_identity()
    >>> p1.subs(m, 0)
    16*sin(mu_x/2)**2*sin(mu_z/2)**2
    """
    sx, cx, sz, cz = _HALF
    k = m**2 * beta_x * beta_z
    forms = (4 * sx * sz * (4 * sx * sz - k * cx * cz), 4 * cx * cz * (4 * cx * cz - k * sx * sz))
    tx, tz = sp.symbols("t_x t_z", real=True)
    p = characteristic_polynomial(False)
    for lam_value, form in zip((1, -1), forms):
        d = sp.expand(sp.expand_trig((p.subs(lam, lam_value) - form).subs({mu_x: 2 * tx, mu_z: 2 * tz})))
        d = sp.expand(d.subs({sp.cos(tx) ** 2: 1 - sp.sin(tx) ** 2, sp.cos(tz) ** 2: 1 - sp.sin(tz) ** 2}))
        if d != 0:
            raise ArithmeticError(f"half-angle form of det(N - ({lam_value})) is wrong: residual {d}")
    return forms


def half_angle_eigentunes() -> tuple[sp.Expr, sp.Expr]:
    """Named rewrite: g± = 2 atan2(...) instead of arccos((a ± b)/2), exact near g± = 0 and π.

    With c = cos g, tan²(g/2) = (1 − c)/(1 + c) and g/2 ∈ [0, π/2]. For the
    plus mode 1 − c+ = (2 − a − b)/2 cancels near the boundary a + b = 2;
    multiplying by (2 − a + b) turns it into P(+1) = det(N − 1)
    (:func:`det_n_minus_plus_identity`), free of cancellation. Likewise
    1 + c- = (2 + a − b)/2 → P(−1) = det(N + 1). With T = (2 − a + b)(2 + a + b),

        g+ = 2 atan2(sqrt(P(+1)), sqrt(T)),   g- = 2 atan2(sqrt(T), sqrt(P(−1))),

    2 ∓ a = 2 sin²(μ_x/2) + 2 sin²(μ_z/2) resp. 2 cos²(μ_x/2) + 2 cos²(μ_z/2),
    and b² keeps its product form with sin μ_x sin μ_z = 4 s_x c_x s_z c_z.
    arccos loses half the digits within ε of ±1 (g = 1e-8 comes out 0);
    this form keeps g to a few ulp there. A negative radicand (unstable mode) gives NaN, as before.

    Returns
    -------
    (g_plus, g_minus) : sympy.Expr

    References
    ----------
    LNF-64/55 §5, cos g± = (a ± b)/2; rewrite derived here.

    Examples
    --------
    >>> g_p, g_m = half_angle_eigentunes()
    >>> float(g_p.subs({mu_x: 1e-9, mu_z: 2.0, m: 0, beta_x: 1, beta_z: 1}))
    1e-09
    """
    sx, cx, sz, cz = _HALF
    p1, pm1 = det_n_minus_plus_identity()
    bb = sp.sqrt(b_squared().subs({sp.sin(mu_x): 2 * sx * cx, sp.sin(mu_z): 2 * sz * cz}))
    two_minus_a = 2 * sx**2 + 2 * sz**2
    two_plus_a = 2 * cx**2 + 2 * cz**2
    t = (two_minus_a + bb) * (two_plus_a + bb)
    return 2 * sp.atan2(sp.sqrt(p1), sp.sqrt(t)), 2 * sp.atan2(sp.sqrt(t), sp.sqrt(pm1))


#: angles whose sine and cosine the fast kernels take from one tangent (:func:`tangent_form`)
TANGENT_ANGLES = (mu_x / 2, mu_z / 2, (mu_x - mu_z) / 2, (mu_x + mu_z) / 2)


def tangent_form(expr: sp.Expr, angles: tuple = TANGENT_ANGLES, checks: int = 6) -> sp.Expr:
    """Named rewrite: sin θ → tan θ / sqrt(1 + tan²θ), cos θ → 1 / sqrt(1 + tan²θ).

    (tan θ, 1) / sqrt(1 + tan²θ) = sign(cos θ) (sin θ, cos θ), so the rewrite
    is exact for every real θ when ``expr`` does not change under
    (sin θ, cos θ) → (−sin θ, −cos θ); that is checked here for each angle at
    ``checks`` random 30-digit points (ArithmeticError otherwise), and no sin
    or cos of another argument may remain. It adds no difference, so the
    cancellation-free forms keep their precision: tan θ is relatively exact
    near θ = 0, and near θ = π/2 float64 tan(fl(π)/2) = 1.6e16 is finite and
    1/sqrt(1 + tan²θ) keeps cos θ to a few ulp.

    Why: numpy's float64 tan is vectorized (SIMD) while its sin and cos call
    the scalar libm; 4 tangents replace the 6 sines and cosines of
    :func:`half_angle_eigentunes` at about a tenth of the cost (measured by
    ``coupled-beam bench``).

    Parameters
    ----------
    expr : sympy.Expr
        An expression in sin and cos of ``angles``.
    angles : tuple of sympy.Expr
        The angles θ to rewrite.
    checks : int
        Random points of the sign-flip check per angle.

    Returns
    -------
    sympy.Expr
        The same function, with tan(θ) as the only transcendental of each θ.

    Examples
    --------
    >>> tangent_form(sp.sin(mu_x / 2) ** 2)
    tan(mu_x/2)**2/(tan(mu_x/2)**2 + 1)
    """
    import random

    import mpmath

    rng = random.Random(1964)
    sym_s, sym_c = sp.Symbol("_s"), sp.Symbol("_c")
    free = sorted(expr.free_symbols, key=str)
    rep = {}
    # atan2(y, x) is unchanged when y and x are: check its arguments (complex-safe, any signs)
    pieces = [arg for a in expr.atoms(sp.atan2) for arg in a.args] or [expr]
    for theta in angles:
        s_, c_ = sp.sin(theta), sp.cos(theta)
        probe = [p.xreplace({s_: sym_s, c_: sym_c}) for p in pieces]
        f = sp.lambdify([sym_s, sym_c, *free], probe, "mpmath")
        with mpmath.workdps(30):
            for _ in range(checks):
                phi = mpmath.mpf(rng.uniform(-3.0, 3.0))
                vals = [mpmath.mpf(rng.uniform(0.5, 3.0)) for _ in free]
                one = f(mpmath.sin(phi), mpmath.cos(phi), *vals)
                two = f(-mpmath.sin(phi), -mpmath.cos(phi), *vals)
                if any(abs(u - v) > mpmath.mpf(10) ** -20 * (1 + abs(u)) for u, v in zip(one, two)):
                    raise ArithmeticError(f"expression changes under (sin, cos)({theta}) -> -(sin, cos): "
                                          "the tangent form would lose the sign")
        t = sp.tan(theta)
        rep[s_] = t / sp.sqrt(1 + t**2)
        rep[c_] = 1 / sp.sqrt(1 + t**2)
    out = expr.xreplace(rep)
    left = out.atoms(sp.sin, sp.cos)
    if left:
        raise ArithmeticError(f"sin/cos of other angles left after the tangent form: {sorted(map(str, left))}")
    return out


def stability_conditions() -> tuple[sp.Basic, ...]:
    """Stability of the undamped map (§5): all four |λ| = 1.

    Returns
    -------
    tuple of sympy relationals
        ``b² >= 0``, ``|a + b| <= 2``, ``|a - b| <= 2``.

    Notes
    -----
    The paper prints b² > 0. We take b² ≥ 0: b = 0 with m = 0 is the
    uncoupled machine on the diagonal μ_x = μ_z, which is stable (at b = 0
    with m ≠ 0 the map has a Jordan block, a measure-zero boundary).
    """
    a_, b2 = roots_a_b()
    bb = sp.sqrt(b2)
    return (sp.Ge(b2, 0), sp.Le(sp.Abs(a_ + bb), 2), sp.Le(sp.Abs(a_ - bb), 2))


# --------------------------------------------------------- first-order ω±
_cx, _cz, _sx, _sz = sp.symbols("c_x c_z s_x s_z", real=True)
_TRIG = {sp.cos(mu_x): _cx, sp.cos(mu_z): _cz, sp.sin(mu_x): _sx, sp.sin(mu_z): _sz}


@lru_cache(maxsize=None)
def mode_damping_first_order() -> tuple[sp.Expr, sp.Expr]:
    """First-order decrements (ω+, ω-) of Δ = exp(±i g± - ω±), derived.

    Perturbation of a simple root λ0 of P(λ, ε) = det(N(ε) - λ), with the
    damping scaled by ε: δλ = -ε ∂_ε P / ∂_λ P, so ω = -δλ/λ0 =
    ∂_ε P / (λ ∂_λ P) at ε = 0. Both polynomials are reduced modulo
    λ² - wλ + 1 (λ is a root with λ + 1/λ = w): the remainders n0 + n1 λ and
    e0 + e1 λ satisfy n0 e1 - n1 e0 ≡ 0 mod q(w), so ω = n0/e0 is the same
    for λ and 1/λ and real where w is. Finally w = a ± b.

    Returns
    -------
    (omega_plus, omega_minus) : sympy.Expr
        Closed forms in μ_x, μ_z, β_x, β_z, m, D11 s0, D22 s0 (through a, b):
        (d11 + d22)/4 ± (d11 - d22)(cos μ_x - cos μ_z)/(4 b).

    Examples
    --------
    >>> op, om = mode_damping_first_order()
    >>> sp.simplify(op + om)
    d11_s0/2 + d22_s0/2
    """
    eps = sp.Symbol("epsilon")
    Fx = (1 - eps * d11_s0 / 2) * sp.Matrix([[_cx, beta_x * _sx], [-_sx / beta_x, _cx]])
    Fz = (1 - eps * d22_s0 / 2) * sp.Matrix([[_cz, beta_z * _sz], [-_sz / beta_z, _cz]])
    N = skew_kick() * sp.diag(Fx, Fz)
    P = sp.expand((N - lam * sp.eye(4)).det(method="berkowitz"))
    unit = {_sx**2: 1 - _cx**2, _sz**2: 1 - _cz**2}
    num = sp.expand(sp.diff(P, eps).subs(eps, 0))
    den = sp.expand(lam * sp.diff(P.subs(eps, 0), lam))
    rel = lam**2 - w * lam + 1
    n0 = sp.Poly(sp.rem(num, rel, lam), lam).coeff_monomial(1)
    e0 = sp.Poly(sp.rem(den, rel, lam), lam).coeff_monomial(1)
    n0, e0 = (sp.expand(sp.expand(e).subs(unit)) for e in (n0, e0))
    # a, b in the same polynomial variables: w = a ± b, b² - (c_x - c_z)² = m² β β s s
    a_ = _cx + _cz
    mb = {_sx: (b**2 - (_cx - _cz) ** 2) / (m**2 * beta_x * beta_z * _sz)}
    out = []
    for sign in (1, -1):
        ratio = (n0 / e0).subs(w, a_ + sign * b).subs(mb)
        out.append(sp.factor(sp.cancel(sp.together(ratio))))
    back = {v: k for k, v in _TRIG.items()}
    return tuple(sp.expand(o).subs(back) for o in out)


def mode_damping_closed_form() -> tuple[sp.Expr, sp.Expr]:
    """The compact form of :func:`mode_damping_first_order`, with b symbolic."""
    cd = sp.cos(mu_x) - sp.cos(mu_z)
    return ((d11_s0 + d22_s0) / 4 + (d11_s0 - d22_s0) * cd / (4 * b),
            (d11_s0 + d22_s0) / 4 - (d11_s0 - d22_s0) * cd / (4 * b))


# -------------------------------------------------------------- kernels
def kernel_specs() -> list[KernelSpec]:
    """Kernels for ``coupled_beam/_kernels.py`` (see :mod:`derivations.codegen`)."""
    b2 = b_squared()
    bb = sp.sqrt(b2)
    a_, _ = roots_a_b()
    g_p, g_m = half_angle_eigentunes()  # = acos((a ± b)/2), cancellation-free near 0 and π
    g_p, g_m = tangent_form(g_p), tangent_form(g_m)  # 4 SIMD tangents instead of 6 libm sin/cos
    op, om = mode_damping_closed_form()
    op, om = (cos_difference_as_product(e.subs(b, bb)) for e in (op, om))
    N = one_turn_map(alpha=True, damped=True)
    args5 = (mu_x, mu_z, beta_x, beta_z, m)
    return [
        KernelSpec(
            "skew_eigentunes", args5, (g_p, g_m),
            "Eigentunes (g_plus, g_minus) in [0, pi] of the thin-skew one-turn map N = L F:\n"
            "cos g± = (a ± b)/2, a = cos mu_x + cos mu_z, b² in product form, printed as\n"
            "g± = 2 atan2(...) with det(N ∓ 1) in half-angle form (half_angle_eigentunes),\n"
            "sines and cosines from tangents (tangent_form).\n"
            "NaN where that mode is unstable (|a ± b| > 2 or b² < 0).",
            "LNF-64/55 §5", block=8192),
        KernelSpec(
            "skew_stability_terms", args5, (a_, b2),
            "(a, b²) of lambda + 1/lambda = a ± b; stable iff b² >= 0 and |a ± b| <= 2.",
            "LNF-64/55 §5"),
        KernelSpec(
            "skew_stability_boundaries", args5,
            tuple(tangent_form(e) for e in (
                b_squared().subs({sp.sin(mu_x): 2 * _HALF[0] * _HALF[1], sp.sin(mu_z): 2 * _HALF[2] * _HALF[3]}),
                *det_n_minus_plus_identity())),
            "(b², det(N - 1), det(N + 1)) of the undamped map, cancellation-free (half angles).\n"
            "Stable iff all three are >= 0: with b >= 0, 2 - a + b and 2 + a + b are sums of\n"
            "squares, so det(N ∓ 1) = (2 ∓ a - b)(2 ∓ a + b) >= 0 is |a ± b| <= 2.\n"
            "Sines and cosines from tangents (tangent_form).",
            "LNF-64/55 §5 (stability conditions; rewrite derived here)", block=8192),
        KernelSpec(
            "skew_mode_damping", args5 + (d11_s0, d22_s0), (op, om),
            "First-order decrements (omega_plus, omega_minus) per turn:\n"
            "(d11+d22)/4 ± (d11-d22)(cos mu_x - cos mu_z)/(4 b).",
            "LNF-64/55 §5 (derived here; the paper leaves it out)"),
        KernelSpec(
            "skew_one_turn_map", args5 + (alpha_x, alpha_z, d11_s0, d22_s0), tuple(N),
            "The 16 entries (row-major) of N = L F at the skew quadrupole,\n"
            "F = (1 - D s0/2) F0 in Twiss form.",
            "LNF-64/55 §5"),
    ]


# ------------------------------------------------------- derive / errata
def results() -> list[Result]:
    """Closed forms of §5 for ``coupled-beam derive``."""
    a_, b2 = roots_a_b()
    cp, cm = cos_eigentunes()
    op, om = mode_damping_first_order()
    return [
        Result("skew-kick", skew_kick(), "thin 45° skew quadrupole transfer matrix L", "§5", (m,)),
        Result("one-turn-map", one_turn_map(), "N = L F at the skew quadrupole, F = (1 - D s0/2) F0",
               "§5", (mu_x, mu_z, beta_x, beta_z, m, alpha_x, alpha_z, d11_s0, d22_s0)),
        Result("quartic", sp.Eq(characteristic_polynomial(), 0), "det(N - λ) = 0, undamped", "§5"),
        Result("palindromic", sp.Eq(palindromic_quadratic(), 0),
               "det(N - λ)/λ² as a quadratic in w = λ + 1/λ", "§5"),
        Result("a-b", (a_, b2), "λ + 1/λ = a ± b: (a, b²)", "§5"),
        Result("eigentunes", (sp.acos(cp), sp.acos(cm)), "(g+, g-), cos g± = (a ± b)/2", "§5",
               (mu_x, mu_z, beta_x, beta_z, m)),
        Result("stability", stability_conditions(), "b² ≥ 0, |a ± b| ≤ 2", "§5"),
        Result("mode-damping", (op.subs(b, sp.sqrt(b2)), om.subs(b, sp.sqrt(b2))),
               "first-order decrements (ω+, ω-) per turn", "§5 (beyond the paper)",
               (mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0)),
    ]


def equation_checks() -> list[Check]:
    """The printed §5 equations against their derivations."""
    cx, cz, sx, sz = sp.cos(mu_x), sp.cos(mu_z), sp.sin(mu_x), sp.sin(mu_z)
    a_, b2 = roots_a_b()
    wp = lam + 1 / lam
    # as printed: "λ²(2 + 4 cos μx cos μz − m² βx βz) · sin μx sin μz"
    printed_quartic = (lam**4 - 2 * (cx + cz) * lam**3
                       + lam**2 * (2 + 4 * cx * cz - m**2 * beta_x * beta_z) * sx * sz
                       - 2 * lam * (cx + cz) + 1)
    printed_pal = wp**2 - 2 * (cx + cz) * wp + 4 * cx * cz - m**2 * beta_x * beta_z * sx * sz
    # the closing parenthesis read after sin μx sin μz (as in the palindromic form below it)
    read_quartic = (lam**4 - 2 * (cx + cz) * lam**3
                    + lam**2 * (2 + 4 * cx * cz - m**2 * beta_x * beta_z * sx * sz)
                    - 2 * lam * (cx + cz) + 1)
    op, om = mode_damping_first_order()
    dom = {beta_x: (0.5, 30), beta_z: (0.5, 30), m: (-0.3, 0.3), mu_x: (0.1, 3.0), mu_z: (0.1, 3.0)}
    return [
        Check("§5 det L", "§5", sp.Integer(1), skew_kick().det(),
              "det L = 1 for every m, computed symbolically (thin skew quad is symplectic)",
              {m: (-0.3, 0.3)}),
        Check("§5 quartic (Tr, det)", "§5", paper_quartic_generic(), characteristic_polynomial_generic(),
              "det(N - λ) for N = L diag(F_x, F_z) with generic blocks", dom),
        Check("§5 quartic (μ, β)", "§5", printed_quartic, characteristic_polynomial(False),
              "the λ² coefficient is 2 + 4 cos μx cos μz − m²βxβz sin μx sin μz; as printed "
              "sin μx sin μz multiplies the whole bracket", dom,
              reading=Reading("misprint", "(2 + 4 cos μx cos μz − m²βxβz) · sin μx sin μz",
                              "(2 + 4 cos μx cos μz − m²βxβz sin μx sin μz)", read_quartic,
                              "paper or transcription",
                              "one parenthesis misplaced across a line break; the palindromic "
                              "form printed next has m²βxβz sin μx sin μz together")),
        Check("§5 palindromic form", "§5", printed_pal * lam**2, characteristic_polynomial(False),
              "det(N - λ) = λ² q(λ + 1/λ)", dom),
        Check("§5 roots a ± b", "§5",
              cx + cz + sp.sqrt((cx - cz) ** 2 + m**2 * beta_x * beta_z * sx * sz),
              a_ + sp.sqrt(b2), "λ + 1/λ = a ± b", dom),
        *footnote_checks(),
        Check("§5 ω+ + ω- (sum rule)", "§5", (d11_s0 + d22_s0) / 2, sp.simplify(op + om),
              "det N = exp(-2ω+ - 2ω-) to first order: the mode dampings add up to the "
              "uncoupled ones", dom, printed_in_paper=False),
    ]


def footnote_checks() -> list[Check]:
    """The §5 footnotes on m: m = ∫ M ds over the quadrupole's length l.

    M = e/(β_s E_s) ∂B_x/∂x is constant inside a lens of effective length l, so
    m = l e/(β_s E_s) ∂B_x/∂x; with the rigidity β_s E_s = e B R (R the radius
    of an electron in the reference field B), m = l/(B R) ∂B_x/∂x (1/m).
    """
    e, l, E_s, beta_s, B, R, s = sp.symbols("e l E_s beta_s B R s", positive=True)
    e_1 = sp.Symbol("e_1", positive=True)
    dBx_dx = sp.Symbol("dBx_dx", real=True)
    M = e / (beta_s * E_s) * dBx_dx
    m_derived = sp.integrate(M, (s, 0, l))
    m_rigidity = m_derived.subs(E_s, e * B * R / beta_s)
    dom = {e: (0.5, 2), l: (0.1, 2), E_s: (0.5, 2), beta_s: (0.5, 1), B: (0.5, 2), R: (1, 10),
           e_1: (0.5, 2)}
    printed_e1 = e_1 * dBx_dx / (beta_s * E_s)
    printed_R = dBx_dx / (B * R)
    return [
        Check("§5 footnote m = e l ∂Bx/∂x/(βE)", "§5", printed_e1, m_derived,
              "m = ∫ M ds over the effective length l the next line defines", dom,
              reading=Reading("misprint", "e_1", "e l", printed_e1.xreplace({e_1: e * l}),
                              "transcription",
                              "the footnote's next words define l, which the formula "
                              "otherwise never uses; 'el' garbled into 'e_1'")),
        Check("§5 footnote m = (1/R)(1/B) ∂Bx/∂x", "§5", printed_R, m_rigidity,
              "as printed (1/RB) ∂Bx/∂x is M (1/m²); m = l/(RB) ∂Bx/∂x (1/m)", dom,
              reading=Reading("misprint", "1/R", "l/R", printed_R.xreplace({R: R / l}),
                              "transcription",
                              "l and 1 are one glyph apart in the typescript; the line "
                              "above it has l")),
    ]

