"""§5 continued (beyond the paper): U, the far-from-resonance M_rtsv, closed-form moments.

The paper stops at "the matrix U has to be computed; we shall not solve this
lengthy but trivial problem". This module solves it for the thin skew
quadrupole of §5 (α kept at the quadrupole) and carries formula (10) to
closed forms of <x_b²>, <z_b²>, <x_b z_b> far from resonance.

1. **Eigenvectors.** For N = L diag(F_x, F_z) with *generic* 2×2 blocks
   (damped or not), :func:`eigenvector_generic` gives

       v(λ) = ( m λ (F_z)_12 adj(F_x − λ) e2 ,  det(F_x − λ) adj(F_z − λ) e2 ),

   e2 = (0, 1), and (N − λ) v = (0, 0, 0, det(N − λ)) identically, so v is an
   eigenvector at every root λ. For the undamped Twiss blocks, λ = e^{ig},
   after dividing by λ and normalising to v^H J v = 2iσ (σ = ±1, the Krein
   sign; J = diag(J2, J2), J2 = [[0, 1], [-1, 0]]), :func:`normalised_eigenvector`:

       v = ( X, X (λ − cos μx − αx sin μx)/(βx sin μx),
             Z, Z (λ − cos μz − αz sin μz)/(βz sin μz) ),
       X = sqrt(βx |sin μx (cos g − cos μz)| / (b sin g)),
       Z = sign(m sin μz (cos g − cos μz)) sqrt(βz |sin μz (cos g − cos μx)| / (b sin g)),

   with cos g± = (a ± b)/2 (§5). m → 0 gives the Courant-Snyder vector
   (√β, (i − α)/√β) of the uncoupled plane. The position components X, Z are
   real: at the quadrupole both planes of a mode oscillate in phase.
   Paper's order and convention (q = U y, Δ = U N U⁻¹): the *columns* of U⁻¹
   are v+, conj(v+), v-, conj(v-) (Δ1 = e^{+ig+}, Δ2 = e^{-ig+},
   Δ3 = e^{+ig-}, Δ4 = e^{-ig-}); the *rows* of U are the left eigenvectors
   u_k^T = -(iσ_k/2) v_k^H J (and their conjugates), so U U⁻¹ = 1.

2. **M_rtsv far from resonance** (:func:`m_rtsv_far`): the leading Laurent term
   in the damping of M_rtsv = Σ U⁻¹_rr' U_r't U⁻¹_ss' U_s'v/(1 − Δr'Δs') is

       M ≈ [P1_rt P2_sv + P2_rt P1_sv]/(2ω+) + [P3_rt P4_sv + P4_rt P3_sv]/(2ω-),

   P_k = U⁻¹_{·k} U_{k·} (the spectral projector). Erratum: the paper prints
   U⁻¹_1t U⁻¹_2v (must be U_1t U_2v) and only the (r', s') = (1, 2), (3, 4)
   terms; the (2, 1), (4, 3) partners are their complex conjugates, so the
   printed form gives half the real part plus a spurious imaginary part.

3. **Model ring.** Uncoupled arcs given by their one-turn Twiss blocks
   F = (1 − ½ D s0) F0 (the paper's damping model), the thin skew quadrupole
   at the end of the turn (moments at its exit = at its entrance for
   positions), and horizontal noise accumulated over the turn up to the
   quadrupole entrance, 𝓡_in = [[r11, r12], [r12, r22]] in (x, x') (zero in
   z). Two choices are derived: a lumped x' kick at the quadrupole
   (r22 = φ = <Δx'²> per turn) and uniform φ11 along a smooth-focusing arc
   of constant β (:func:`smooth_arc_noise`). Far from resonance

       <ŷ ŷ^T> = Σ± ε± Re(v± v±^H),   ε± = (u± 𝓡 u±^H)/ω±,

   with ε± the eigen-emittances (ΣJ has eigenvalues ±iε±). For the lumped
   kick this is, with c = cos, s = sin:

       <x²> = φ βx² sx²/(4b²) Σ± (cg± − cz)²/(ω± sin² g±)
       <z²> = φ m² βx² βz² sx² sz²/(16 b²) Σ± 1/(ω± sin² g±)
       <xz> = φ m βx² βz sx² sz/(8 b²) Σ± (cg± − cz)/(ω± sin² g±)
       ε±   = φ βx |sx (cg± − cz)|/(4 b ω± sin g±),

   cg± − cz = (cos μx − cos μz ± b)/2, independent of α at the quadrupole.
   Tilt: tan 2θ = 2<xz>/(<x²> − <z²>) (appendix, on betatron moments).

4. **Accuracy** (measured against the exact Lyapunov solution and the §4
   engine, tests/test_skew_equilibrium.py): relative error ≈ D s0/4 far
   from every resonance; the neglected terms grow like (ω/|g+ − g−|)² and
   (ω/sin g±)²; <x²>, <z²>, <xz> stay within 1 % for |g+ − g−| ≥ 30 max ω±
   (on the difference resonance |g+ − g−| ≈ |m| sqrt(βx βz)) and
   sin g± ≥ 10 max ω±.

Evaluation is cancellation-free: cos g − cos μx and cos g − cos μz are kept as
symbols (``dx_g``, ``dz_g``) and printed by the named rewrite of
:func:`_mode_values` (the weakly excited plane keeps full float64 precision
as m → 0).

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), §4 (eq. (10), M_rtsv),
§5, appendix.

Examples
--------
>>> v = normalised_eigenvector()
>>> v.shape
(4, 1)
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from derivations.codegen import KernelSpec
from derivations.registry import Check, Reading, Result
from derivations.skew_quadrupole import (
    X,
    Z,
    alpha_x,
    alpha_z,
    b,
    b_squared,
    beta_x,
    beta_z,
    cos_difference_as_product,
    d11_s0,
    d22_s0,
    g_minus,
    g_plus,
    lam,
    m,
    mode_damping_closed_form,
    mu_x,
    mu_z,
    roots_a_b,
    skew_kick,
)

__all__ = [
    "eigenvector_generic",
    "eigenvector_residual_generic",
    "eigenvector_twiss",
    "normalised_eigenvector",
    "left_eigenvector",
    "krein_sign",
    "m_rtsv_far",
    "m_rtsv_far_printed",
    "mode_moments",
    "moments_far",
    "lumped_compact",
    "smooth_arc_noise",
    "kernel_specs",
    "results",
    "equation_checks",
]

# ----------------------------------------------------------------- symbols
#: cos g and sin g of one eigenvalue λ = exp(i g), g in (0, π)
cos_g = sp.Symbol("cos_g", real=True)
sin_g = sp.Symbol("sin_g", positive=True)
#: cos g − cos μx and cos g − cos μz (kept as symbols: evaluated cancellation-free)
dx_g, dz_g = sp.symbols("dx_g dz_g", real=True)
#: horizontal noise at the quadrupole entrance, per turn, in (x, x')
r11, r12, r22 = sp.symbols("r11 r12 r22", real=True)
#: lumped x' noise per turn, <Δx'²> (rad²)
phi = sp.Symbol("phi", nonnegative=True)
#: uniform noise φ11 per unit length times the circumference s0 (rad²)
phi11_s0 = sp.Symbol("phi11_s0", nonnegative=True)
omega = sp.Symbol("omega", positive=True)
omega_plus, omega_minus = sp.symbols("omega_plus omega_minus", positive=True)

J2 = sp.Matrix([[0, 1], [-1, 0]])
J4 = sp.diag(J2, J2)
_E2 = sp.Matrix([0, 1])


def _adj_e2(F: sp.Matrix, lam_: sp.Expr) -> sp.Matrix:
    """adj(F − λ) e2 = (−F12, F11 − λ)."""
    return (F - lam_ * sp.eye(2)).adjugate() * _E2


# ------------------------------------------------------------ eigenvectors
def eigenvector_generic() -> sp.Matrix:
    """Right eigenvector of N = L diag(F_x, F_z) for generic 2×2 blocks.

    v = (m λ Z12 adj(X − λ) e2, det(X − λ) adj(Z − λ) e2) with X = F_x,
    Z = F_z: the first block row of (N − λ) v vanishes identically and the
    second is det(N − λ) e2 (see :func:`eigenvector_residual_generic`), so v is
    an eigenvector at every root λ, with or without damping.

    Returns
    -------
    sympy.Matrix
        4×1, in the entries X11 ... Z22 of :mod:`derivations.skew_quadrupole`, λ and m.

    References
    ----------
    LNF-64/55 §5 (U "lengthy but trivial"; solved here).

    Examples
    --------
    >>> eigenvector_generic()[0]
    -X12*Z12*lambda*m
    """
    top = m * lam * Z[0, 1] * _adj_e2(X, lam)
    bottom = (X - lam * sp.eye(2)).det() * _adj_e2(Z, lam)
    return sp.Matrix.vstack(top, bottom).applyfunc(sp.expand)


def eigenvector_residual_generic() -> sp.Matrix:
    """(N − λ) v for :func:`eigenvector_generic`, expanded.

    Examples
    --------
    >>> r = eigenvector_residual_generic()
    >>> r[:3, 0].T
    Matrix([[0, 0, 0]])
    """
    N = skew_kick() * sp.diag(X, Z)
    return ((N - lam * sp.eye(4)) * eigenvector_generic()).applyfunc(sp.expand)


def _twiss0(mu: sp.Expr, beta_: sp.Expr, alpha_: sp.Expr) -> sp.Matrix:
    c, s = sp.cos(mu), sp.sin(mu)
    return sp.Matrix([[c + alpha_ * s, beta_ * s], [-(1 + alpha_**2) / beta_ * s, c - alpha_ * s]])


def eigenvector_twiss() -> sp.Matrix:
    """Eigenvector of the undamped N = L F0 for λ = cos g + i sin g, divided by λ.

    With det(F0 − λ) = λ (2 cos g − 2 cos μx) on |λ| = 1:

        v = (m βz sin μz (−βx sin μx, cos μx + αx sin μx − λ),
             2 (cos g − cos μx) (−βz sin μz, cos μz + αz sin μz − λ)).

    Returns
    -------
    sympy.Matrix
        4×1 in cos_g, sin_g (symbols) and the Twiss parameters.

    Examples
    --------
    >>> eigenvector_twiss()[0]
    -beta_x*beta_z*m*sin(mu_x)*sin(mu_z)
    """
    lam_ = cos_g + sp.I * sin_g
    Fx, Fz = _twiss0(mu_x, beta_x, alpha_x), _twiss0(mu_z, beta_z, alpha_z)
    top = m * Fz[0, 1] * _adj_e2(Fx, lam_)
    bottom = 2 * (cos_g - sp.cos(mu_x)) * _adj_e2(Fz, lam_)
    return sp.Matrix.vstack(top, bottom).applyfunc(sp.expand)


def _x_z_amplitudes() -> tuple[sp.Expr, sp.Expr]:
    """(X, Z): real position components of the normalised eigenvector."""
    sx, sz = sp.sin(mu_x), sp.sin(mu_z)
    Xa = sp.sqrt(beta_x * sp.Abs(sx * dz_g) / (b * sin_g))
    # sign(m sz (cos g − cos μz)), taken as +1 at 0 (m = 0: the z-mode keeps Z = sqrt(βz))
    sgn = sp.Piecewise((-1, m * sz * dz_g < 0), (1, True))
    Za = sgn * sp.sqrt(beta_z * sp.Abs(sz * dx_g) / (b * sin_g))
    return Xa, Za


def to_cos_g(expr):
    """Replace dx_g, dz_g by cos_g − cos μx, cos_g − cos μz (for checks and display).

    Examples
    --------
    >>> to_cos_g(dx_g)
    cos_g - cos(mu_x)
    """
    sub = {dx_g: cos_g - sp.cos(mu_x), dz_g: cos_g - sp.cos(mu_z)}
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: e.subs(sub))
    return sp.sympify(expr).subs(sub)


def normalised_eigenvector() -> sp.Matrix:
    """Right eigenvector v of N (undamped) for λ = e^{ig}, v^H J v = 2iσ, σ = ±1.

    v = (X, X (λ − cx − αx sx)/(βx sx), Z, Z (λ − cz − αz sz)/(βz sz)) with
    X = sqrt(βx |sx (cos g − cz)|/(b sin g)) ≥ 0 and
    Z = sign(m sz (cos g − cz)) sqrt(βz |sz (cos g − cx)|/(b sin g)); b ≥ 0 of
    §5 and cos g = (a ± b)/2 for the plus/minus mode. Proportional to
    :func:`eigenvector_twiss` (Z/X = 2 (cos g − cx)/(m βx sx)), without its
    0/0 at m = 0.

    Returns
    -------
    sympy.Matrix
        4×1 in cos_g, sin_g, b and the Twiss parameters at the quadrupole.

    References
    ----------
    LNF-64/55 §5 (U, Δ = U N U⁻¹); normalisation as Courant-Snyder.

    Examples
    --------
    >>> normalised_eigenvector()[0]
    sqrt(beta_x)*sqrt(1/b)*sqrt(Abs(dz_g*sin(mu_x)))/sqrt(sin_g)
    """
    Xa, Za = _x_z_amplitudes()
    sx, sz = sp.sin(mu_x), sp.sin(mu_z)
    # λ − cos μ − α sin μ with λ = cos g + i sin g
    return sp.Matrix([Xa, Xa * (dx_g + sp.I * sin_g - alpha_x * sx) / (beta_x * sx),
                      Za, Za * (dz_g + sp.I * sin_g - alpha_z * sz) / (beta_z * sz)])


def krein_sign() -> sp.Expr:
    """σ = sign(Im v^H J v / 2) of :func:`normalised_eigenvector`.

    Im(v^H J v)/2 = sin g (X²/(βx sx) + Z²/(βz sz)) = ±1; σ = +1 for both modes
    when sin μx sin μz > 0 (difference-resonance side); one mode has σ = −1
    when sin μx sin μz < 0 (sum-resonance side).

    Examples
    --------
    >>> krein_sign().func
    sign
    """
    Xa, Za = _x_z_amplitudes()
    return sp.sign(Xa**2 / (beta_x * sp.sin(mu_x)) + Za**2 / (beta_z * sp.sin(mu_z)))


def left_eigenvector() -> sp.Matrix:
    """Row u^T = −(iσ/2) v^H J: the row of U for λ = e^{ig}, with u^T v = 1.

    Uses N^T J N = J (undamped): conj(v) is the eigenvector of 1/λ, so
    conj(v)^T J is a left eigenvector of λ.

    Returns
    -------
    sympy.Matrix
        1×4.

    Examples
    --------
    >>> left_eigenvector().shape
    (1, 4)
    """
    v = normalised_eigenvector()
    vh = v.applyfunc(lambda e: e.subs(sp.I, -sp.I)).T   # all symbols are real
    return (-sp.I * krein_sign() / 2) * vh * J4


# -------------------------------------------------------------- M_rtsv far
def _generic_u() -> tuple[sp.Matrix, sp.Matrix]:
    """Generic U and U⁻¹ (independent symbols U_rc, Ui_rc, 1-based names)."""
    U = sp.Matrix(4, 4, lambda i, j: sp.Symbol(f"U_{i + 1}{j + 1}"))
    Ui = sp.Matrix(4, 4, lambda i, j: sp.Symbol(f"Ui_{i + 1}{j + 1}"))
    return U, Ui


@lru_cache(maxsize=None)
def _leading_coefficients() -> dict:
    """lim_{ε→0} ε/(1 − Δr'Δs') with Δ = exp(±i g± − ε ω±): the 1/ε poles."""
    eps = sp.Symbol("epsilon", positive=True)
    Delta = [sp.exp(sp.I * g_plus - eps * omega_plus), sp.exp(-sp.I * g_plus - eps * omega_plus),
             sp.exp(sp.I * g_minus - eps * omega_minus), sp.exp(-sp.I * g_minus - eps * omega_minus)]
    out = {}
    for i in range(4):
        for j in range(4):
            # generic g± (no resonance): only Δ_i Δ_j = exp(-2ε ω) has a pole
            prod = sp.simplify(Delta[i] * Delta[j])
            if prod.subs(eps, 0) == 1:
                out[(i, j)] = sp.limit(eps / (1 - prod), eps, 0)
    return out


def m_rtsv_far(r: int, t: int, s: int, v: int) -> sp.Expr:
    """Leading term of M_rtsv in the damping (1-based indices as the paper).

    Derived: the Laurent expansion of the §4 definition with
    Δ = exp(±i g± − ε ω±) keeps the 1/ε poles, at (r', s') ∈ {(1,2), (2,1),
    (3,4), (4,3)}, each with residue 1/(2ω).

    Examples
    --------
    >>> m_rtsv_far(1, 2, 1, 2).has(omega_plus, omega_minus)
    True
    """
    U, Ui = _generic_u()
    tot = sp.S.Zero
    for (i, j), c in _leading_coefficients().items():
        tot += c * Ui[r - 1, i] * U[i, t - 1] * Ui[s - 1, j] * U[j, v - 1]
    return tot


def m_rtsv_far_printed(r: int, t: int, s: int, v: int) -> sp.Expr:
    """The far-from-resonance M_rtsv exactly as printed in §5 (misprints included).

    Examples
    --------
    >>> m_rtsv_far_printed(1, 2, 1, 2).has(sp.Symbol("U_12"))
    False
    """
    _, Ui = _generic_u()
    r, t, s, v = r - 1, t - 1, s - 1, v - 1
    return (Ui[r, 0] * Ui[0, t] * Ui[s, 1] * Ui[1, v] / (2 * omega_plus)
            + Ui[r, 2] * Ui[2, t] * Ui[s, 3] * Ui[3, v] / (2 * omega_minus))


# ----------------------------------------------------------------- moments
def _conj(e: sp.Expr) -> sp.Expr:
    return e.subs(sp.I, -sp.I)


def _noise_in() -> sp.Matrix:
    """𝓡 at the quadrupole exit from horizontal noise 𝓡_in at its entrance: L 𝓡_in L^T."""
    Rin = sp.zeros(4, 4)
    Rin[0, 0], Rin[0, 1], Rin[1, 0], Rin[1, 1] = r11, r12, r12, r22
    L = skew_kick()
    return L * Rin * L.T


def mode_moments() -> dict:
    """One mode's share of the far-from-resonance moments, per unit 1/ω.

    For mode k (λ = e^{ig}, normalised v, u^T = −(iσ/2) v^H J):
    M_far contracted with 𝓡 gives (1/ω) Re(v v^H) (u 𝓡 u^H), so with
    d = u 𝓡 u^H (the mode's diffusion per turn, real ≥ 0):

    ``eps`` = d (eigen-emittance × ω), ``xx`` = d X², ``zz`` = d Z²,
    ``xz`` = d X Z.

    Returns
    -------
    dict
        Keys ``d, eps, xx, zz, xz``: expressions in cos_g, sin_g, b, r11, r12, r22.

    Examples
    --------
    >>> sorted(mode_moments())
    ['d', 'eps', 'xx', 'xz', 'zz']
    """
    return dict(_mode_moments())


@lru_cache(maxsize=None)
def _mode_moments() -> dict:
    u = left_eigenvector()
    R = _noise_in()
    uc = u.applyfunc(_conj)
    d = _unit_squares(sp.expand((u * R * uc.T)[0, 0]))
    Xa, Za = _x_z_amplitudes()
    return {"d": d, "eps": d, "xx": d * Xa**2, "zz": _unit_squares(d * Za**2), "xz": d * Xa * Za}


def _unit_squares(expr: sp.Expr) -> sp.Expr:
    """σ² = 1 for the ±1 signs (Krein sign, sign of Z): drop their even powers."""
    def is_unit(e):
        return isinstance(e, sp.sign) or (isinstance(e, sp.Piecewise)
                                          and {a.expr for a in e.args} <= {sp.S.One, -sp.S.One})
    expr = expr.replace(lambda e: e.is_Pow and is_unit(e.base) and e.exp.is_even,
                        lambda e: sp.S.One)
    return sp.expand(expr)


def _mode_values(sign: int) -> dict:
    """dx_g, dz_g, sin g, b of the plus (+1) / minus (−1) mode, cancellation-free.

    Named rewrite: with δ = cos μx − cos μz (product form), t = ±1 the mode,
    cos g − cos μz = (δ + t b)/2 and cos g − cos μx = (t b − δ)/2 have the
    product (b² − δ²)/4 = m² βx βz sx sz/4 = κ²/4. The one whose two terms
    have the same sign is computed directly, the other as κ²/(4 · it): no
    difference of nearly equal numbers (the naive form loses all digits of
    the weakly excited plane as m → 0).
    """
    a_, _ = roots_a_b()
    bb = sp.sqrt(b_squared())
    delta = cos_difference_as_product(sp.cos(mu_x) - sp.cos(mu_z))
    kappa2 = m**2 * beta_x * beta_z * sp.sin(mu_x) * sp.sin(mu_z)
    dz_direct, dx_direct = (delta + sign * bb) / 2, (sign * bb - delta) / 2
    same = sign * delta >= 0
    dz = sp.Piecewise((dz_direct, same), (kappa2 / (4 * dx_direct), True))
    dx = sp.Piecewise((kappa2 / (4 * dz_direct), same), (dx_direct, True))
    cg = (a_ + sign * bb) / 2
    return {dx_g: dx, dz_g: dz, cos_g: cg, sin_g: sp.sqrt(1 - cg**2), b: bb}


def moments_far(noise: str = "general", explicit: bool = True) -> dict:
    """Closed forms far from resonance: <x²>, <z²>, <xz>, ε±, tilt.

    Parameters
    ----------
    noise : {"general", "lumped", "smooth"}
        ``general``: horizontal 𝓡_in = [[r11, r12], [r12, r22]] at the
        quadrupole entrance; ``lumped``: r22 = φ only (x' kick at the
        quadrupole); ``smooth``: uniform φ11 along a constant-β arc, α = 0
        (:func:`smooth_arc_noise`).
    explicit : bool
        Substitute cos g±, sin g±, b by their §5 expressions (else keep the
        symbols of the plus/minus mode as ``cos_g_plus`` ...).

    Returns
    -------
    dict
        ``xx, zz, xz, eps_plus, eps_minus, tilt`` (tilt = ½ atan2(2<xz>, <x²> − <z²>)).

    References
    ----------
    LNF-64/55 §4 (M_rtsv), §5, appendix (tilt).

    Examples
    --------
    >>> sorted(moments_far("lumped", explicit=False))
    ['eps_minus', 'eps_plus', 'tilt', 'xx', 'xz', 'zz']
    """
    per = mode_moments()
    sub_noise: dict = {}
    if noise == "lumped":
        sub_noise = {r11: 0, r12: 0, r22: phi}
    elif noise == "smooth":
        s11, s12, s22 = smooth_arc_noise()
        sub_noise = {r11: s11, r12: s12, r22: s22, alpha_x: 0, alpha_z: 0}
    elif noise != "general":
        raise ValueError(f"noise must be 'general', 'lumped' or 'smooth', got {noise!r}")
    omegas = mode_damping_closed_form()
    out: dict = {"xx": 0, "zz": 0, "xz": 0}
    for sign, name, om in ((1, "plus", omegas[0]), (-1, "minus", omegas[1])):
        if explicit:
            vals = _mode_values(sign)
            om_e = cos_difference_as_product(om.subs(b, vals[b]))
        else:
            cgk = sp.Symbol(f"cos_g_{name}", real=True)
            vals = {dx_g: cgk - sp.cos(mu_x), dz_g: cgk - sp.cos(mu_z),
                    sin_g: sp.Symbol(f"sin_g_{name}", positive=True)}
            om_e = sp.Symbol(f"omega_{name}", positive=True)
        for key in ("xx", "zz", "xz"):
            out[key] += per[key].subs(sub_noise).xreplace(vals) / om_e
        out[f"eps_{name}"] = per["eps"].subs(sub_noise).xreplace(vals) / om_e
    out["tilt"] = sp.atan2(2 * out["xz"], out["xx"] - out["zz"]) / 2
    return out


def lumped_compact(explicit: bool = False) -> dict:
    """Compact lumped-kick forms (r22 = φ), equal to :func:`moments_far` ``("lumped")``.

    Obtained from the derived forms with (cos g − cos μx)(cos g − cos μz) =
    m² βx βz sx sz/4 (the eigenvalue condition) and X² Z² = that product ×
    βx βz/(b sin g)²; the equality is tested at 50 digits:

        <x²> = φ βx² sx²/(4b²) Σ± (cg± − cz)²/(ω± sin² g±)
        <z²> = φ m² βx² βz² sx² sz²/(16 b²) Σ± 1/(ω± sin² g±)
        <xz> = φ m βx² βz sx² sz/(8 b²) Σ± (cg± − cz)/(ω± sin² g±)
        ε±   = φ βx |sx (cg± − cz)|/(4 b ω± sin g±)

    Parameters
    ----------
    explicit : bool
        Substitute cos g± = (a ± b)/2, sin g± = sqrt(1 − cos² g±), b = sqrt(b²)
        and the first-order ω± (else keep ``cos_g_plus``, ``omega_plus``, ``b``...).

    Returns
    -------
    dict
        ``xx, zz, xz, eps_plus, eps_minus, tilt``.

    Examples
    --------
    >>> lumped_compact()["zz"].has(sp.Symbol("sin_g_plus", positive=True))
    True
    """
    sx, sz, cz = sp.sin(mu_x), sp.sin(mu_z), sp.cos(mu_z)
    out: dict = {"xx": 0, "zz": 0, "xz": 0}
    omegas = mode_damping_closed_form()
    a_, b2 = roots_a_b()
    for sign, name, om in ((1, "plus", omegas[0]), (-1, "minus", omegas[1])):
        cg = sp.Symbol(f"cos_g_{name}", real=True)
        sg = sp.Symbol(f"sin_g_{name}", positive=True)
        w = sp.Symbol(f"omega_{name}", positive=True)
        out["xx"] += phi * beta_x**2 * sx**2 / (4 * b**2) * (cg - cz) ** 2 / (w * sg**2)
        out["zz"] += phi * m**2 * beta_x**2 * beta_z**2 * sx**2 * sz**2 / (16 * b**2) / (w * sg**2)
        out["xz"] += phi * m * beta_x**2 * beta_z * sx**2 * sz / (8 * b**2) * (cg - cz) / (w * sg**2)
        out[f"eps_{name}"] = phi * beta_x * sp.Abs(sx * (cg - cz)) / (4 * b * w * sg)
    out["tilt"] = sp.atan2(2 * out["xz"], out["xx"] - out["zz"]) / 2
    if explicit:
        bb = sp.sqrt(b2)
        sub = {}
        for sign, name, om in ((1, "plus", omegas[0]), (-1, "minus", omegas[1])):
            cgv = (a_ + sign * bb) / 2
            sub[sp.Symbol(f"cos_g_{name}", real=True)] = cgv
            sub[sp.Symbol(f"sin_g_{name}", positive=True)] = sp.sqrt(1 - cgv**2)
            sub[sp.Symbol(f"omega_{name}", positive=True)] = om.subs(b, bb)
        sub[b] = bb
        out = {k: v.xreplace(sub) for k, v in out.items()}
    return out


@lru_cache(maxsize=None)
def smooth_arc_noise() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """𝓡_in of uniform horizontal noise φ11 along a constant-β smooth-focusing arc.

    𝓡_in = φ11 ∫_0^{s0} F_x(s0, s') e2 e2^T F_x(s0, s')^T ds', F_x a rotation
    of phase μx (s0 − s')/s0 with β = βx, α = 0 (undamped: the damping
    correction is O(D s0) relative).

    Returns
    -------
    (r11, r12, r22) : sympy.Expr
        In φ11 s0, βx, μx.

    Examples
    --------
    >>> smooth_arc_noise()[2]
    phi11_s0*(2*mu_x + sin(2*mu_x))/(4*mu_x)
    """
    th = sp.Symbol("theta", real=True)
    Fe2 = _twiss0(th, beta_x, 0) * _E2
    outer = Fe2 * Fe2.T
    # s' uniform on [0, s0]  <=>  θ uniform on [0, μx], ds' = s0 dθ/μx
    ints = [sp.simplify(phi11_s0 / mu_x * sp.integrate(sp.expand_trig(outer[i, j]), (th, 0, mu_x)))
            for i, j in ((0, 0), (0, 1), (1, 1))]
    return tuple(sp.simplify(sp.trigsimp(e)) for e in ints)


# -------------------------------------------------------------- kernels
_ARGS_U = (mu_x, mu_z, beta_x, beta_z, m, alpha_x, alpha_z)


def _split_re_im(e: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    e = sp.expand(e)
    return e.subs(sp.I, 0), sp.expand((e - e.subs(sp.I, 0)) / sp.I)


def eigen_kernel_exprs() -> tuple:
    """Re, Im of (v+, v-) then (u+, u-): 32 real expressions of ``_ARGS_U``.

    Order: for vec in (v, u), for mode in (plus, minus), for entry 0..3:
    (Re, Im). All symbols are real, so Re/Im split by I → 0.

    Examples
    --------
    >>> len(eigen_kernel_exprs())
    32
    """
    v, u = normalised_eigenvector(), left_eigenvector()
    out = []
    for vec in (v, u):
        for sign in (1, -1):
            vals = _mode_values(sign)
            for e in vec:
                re, im = _split_re_im(e)
                out.extend([re.xreplace(vals), im.xreplace(vals)])
    return tuple(out)


def kernel_specs() -> list[KernelSpec]:
    """Kernels for ``coupled_beam/_kernels.py`` (see :mod:`derivations.codegen`)."""
    gen = moments_far("general")
    args_m = (mu_x, mu_z, beta_x, beta_z, m, alpha_x, alpha_z, d11_s0, d22_s0, r11, r12, r22)
    s11, s12, s22 = smooth_arc_noise()
    return [
        KernelSpec(
            "skew_eigenvectors", _ARGS_U, eigen_kernel_exprs(),
            "Re, Im of the normalised right eigenvectors v+, v- (columns 1, 3 of U^-1)\n"
            "then of the rows u+, u- of U (rows 1, 3), 4 entries each, for the undamped\n"
            "thin-skew map N = L F0 at the quadrupole exit; v^H J v = 2i sigma, u^T v = 1.\n"
            "NaN where a mode is unstable or b = 0.",
            "LNF-64/55 §5 (U; derived here)"),
        KernelSpec(
            "skew_moments_far", args_m,
            (gen["xx"], gen["zz"], gen["xz"], gen["eps_plus"], gen["eps_minus"], gen["tilt"]),
            "Far-from-resonance betatron moments at the thin skew quadrupole:\n"
            "(<x^2>, <z^2>, <xz>, eps_plus, eps_minus, tilt) for horizontal noise\n"
            "[[r11, r12], [r12, r22]] in (x, x') per turn at the quadrupole entrance;\n"
            "leading order 1/(2 omega±), omega± first order in d11_s0, d22_s0.",
            "LNF-64/55 §4 (M_rtsv), §5, appendix (derived here)"),
        KernelSpec(
            "smooth_arc_noise", (mu_x, beta_x, phi11_s0), (s11, s12, s22),
            "(r11, r12, r22): one-turn horizontal noise of uniform phi11 along a\n"
            "constant-beta arc of phase mu_x (alpha = 0), phi11_s0 = phi11 * s0.",
            "LNF-64/55 eq. (5), §4 script-R (derived here)"),
    ]


# ------------------------------------------------------- derive / errata
def results() -> list[Result]:
    """Closed forms for ``coupled-beam derive``."""
    lumped = lumped_compact()
    ep, em = lumped["eps_plus"], lumped["eps_minus"]
    v = normalised_eigenvector()
    u = left_eigenvector()
    gen = moments_far("general")
    return [
        Result("eigenvectors-U", (v, u),
               "right eigenvector v (column of U^-1) and row u of U for λ = exp(i g), "
               "cos g = (a ± b)/2, dx_g = cos g - cos μx, dz_g = cos g - cos μz; "
               "v^H J v = 2iσ, u v = 1; U^-1 = [v+, v+*, v-, v-*]",
               "LNF-64/55 §5 (beyond the paper)",
               (mu_x, mu_z, beta_x, beta_z, m, alpha_x, alpha_z, dx_g, dz_g, sin_g, b)),
        Result("M-rtsv-far", sp.Eq(sp.Symbol("M_1212"), m_rtsv_far(1, 2, 1, 2)),
               "leading order in the damping: 1/(2ω) poles at (r',s') = (1,2),(2,1),(3,4),(4,3) "
               "(shown for <x²> per 𝓡_22)", "LNF-64/55 §5 (corrected)"),
        Result("skew-moments", (lumped["xx"], lumped["zz"], lumped["xz"]),
               "<x_b²>, <z_b²>, <x_b z_b> at the thin skew quad, lumped x' noise φ per turn, "
               "leading order in the damping", "LNF-64/55 §5 (beyond the paper)"),
        Result("skew-moments-general", (gen["xx"], gen["zz"], gen["xz"]),
               "<x_b²>, <z_b²>, <x_b z_b> for horizontal noise [[r11, r12], [r12, r22]]",
               "LNF-64/55 §5 (beyond the paper)",
               (mu_x, mu_z, beta_x, beta_z, m, alpha_x, alpha_z, d11_s0, d22_s0, r11, r12, r22)),
        Result("emittance-ratio", (ep, em, sp.Min(ep, em) / sp.Max(ep, em)),
               "eigen-emittances ε+, ε- and the ratio min/max, lumped x' noise",
               "LNF-64/55 §5 (beyond the paper)"),
        Result("skew-tilt", lumped["tilt"],
               "tilt θ of the betatron spot, tan 2θ = 2<xz>/(<x²> − <z²>)",
               "LNF-64/55 §5, appendix"),
        Result("arc-noise", smooth_arc_noise(),
               "(r11, r12, r22) of uniform φ11 along a constant-β arc", "LNF-64/55 §4"),
    ]


def equation_checks() -> list[Check]:
    """The printed far-from-resonance M_rtsv of §5 against its derivation."""
    note = ("leading 1/(2ω±) term of the §4 definition: the second and fourth factors are "
            "U_1t, U_2v (printed U⁻¹), and the (r',s') = (2,1), (4,3) partners (complex "
            "conjugates) are missing: as printed, half the real part plus a spurious "
            "imaginary part")
    U, Ui = _generic_u()

    def u_read(r, t, s, v):  # the glyph reading alone: U_1t, U_2v instead of U⁻¹_1t, U⁻¹_2v
        r, t, s, v = r - 1, t - 1, s - 1, v - 1
        return (Ui[r, 0] * U[0, t] * Ui[s, 1] * U[1, v] / (2 * omega_plus)
                + Ui[r, 2] * U[2, t] * Ui[s, 3] * U[3, v] / (2 * omega_minus))

    return [
        Check("§5 M_rtsv far from resonance", "§5",
              (m_rtsv_far_printed(1, 2, 1, 2), m_rtsv_far_printed(1, 2, 3, 2)),
              (m_rtsv_far(1, 2, 1, 2), m_rtsv_far(1, 2, 3, 2)), note,
              reading=Reading("misprint", "U⁻¹_1t, U⁻¹_2v", "U_1t, U_2v",
                              (u_read(1, 2, 1, 2), u_read(1, 2, 3, 2)), "paper or transcription",
                              "the §4 definition has U (not U⁻¹) in the second and fourth "
                              "factors; the missing partner terms remain"),
              recurs=("M_1212 (<x²> per 𝓡_22) and M_1232 (<x z> per 𝓡_22); every element",)),
    ]
