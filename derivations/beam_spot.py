"""Appendix of LNF-64/55: the tilted elliptic beam spot and the luminosity area.

Everything here is *derived* with sympy; the printed forms appear only in
:func:`equation_checks`.

1. :func:`rotated_mu` -- with x̄ = x cos θ + z sin θ, z̄ = -x sin θ + z cos θ
   the form Σ μ_rs x_r x_s becomes x̄ᵀ (R μ Rᵀ) x̄; its off-diagonal entry
   μ_xz cos 2θ - ½(μ_xx - μ_zz) sin 2θ vanishes for tan 2θ = 2μ_xz/(μ_xx - μ_zz).
2. :func:`principal_mu` -- the diagonal entries are the eigenvalues of μ,
   ½(μ_xx + μ_zz) ∓ ½ r, r = sqrt((μ_xx - μ_zz)² + 4μ_xz²) (sympy's
   ``eigenvals``). The paper's μ̄ = ½(μ_xx + μ_zz) ± μ_xz/sin 2θ is the same
   number on the constraint, but divides by zero when μ_xz = 0.
3. Branch (the convention of this package): θ = ½ atan2(-2μ_xz, μ_zz - μ_xx),
   in (-π/2, π/2]. θ is the angle from the x axis to the *major* (wide) axis of
   the spot, counter-clockwise towards z; x̄ is that axis, so μ̄_xx ≤ μ̄_zz.
   Equivalently θ = ½ atan2(2<xz>, <x²> - <z²>) in the absolute second moments
   (the usual "tilt"). A flat uncoupled beam (μ_xz = 0, μ_xx < μ_zz) has θ = 0;
   a round beam (μ_xx = μ_zz, μ_xz = 0) has atan2(0, 0) = 0, so θ = 0 and
   μ̄_xx = μ̄_zz; no division anywhere.
4. Named rewrite :func:`smaller_root_rationalized`: μ̄_xx = 2 det μ / (μ_xx + μ_zz + r)
   instead of ½(μ_xx + μ_zz - r), which cancels for a flat beam
   (μ_zz/μ_xx ~ 1e6 loses six digits).
5. :func:`inverse_area` -- 1/S = ∫∫P² = (1/2π) sqrt(det μ) = (1/2π) sqrt(μ̄_xx μ̄_zz)
   = ½ P(0, 0), by the Gaussian integral of :mod:`derivations.distribution`.
6. :func:`overlap_inverse_area` -- two different beams, centres d apart:
   ∫∫P₁(x) P₂(x - d) = (1/π) sqrt(det μ₁ det μ₂ / det(μ₁ + μ₂))
   · exp(-dᵀ μ₁ (μ₁ + μ₂)⁻¹ μ₂ d).

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), appendix.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from derivations.codegen import KernelSpec
from derivations.gaussian import gaussian_form_moments, gaussian_integral, split_exp
from derivations.registry import Check, Result

# ----------------------------------------------------------------- symbols
mu_xx, mu_zz = sp.symbols("mu_xx mu_zz", positive=True)
mu_xz = sp.Symbol("mu_xz", real=True)
theta = sp.Symbol("theta", real=True)
mubar_xx, mubar_zz = sp.symbols("mu_bar_xx mu_bar_zz", positive=True)
C2, S2 = sp.symbols("C2 S2", real=True)  # cos 2θ, sin 2θ
x, z, xbar, zbar, dx, dz = sp.symbols("x z xbar zbar dx dz", real=True)
mu1_xx, mu1_zz, mu2_xx, mu2_zz = sp.symbols("mu1_xx mu1_zz mu2_xx mu2_zz", positive=True)
mu1_xz, mu2_xz = sp.symbols("mu1_xz mu2_xz", real=True)

MU = sp.Matrix([[mu_xx, mu_xz], [mu_xz, mu_zz]])
MU1 = sp.Matrix([[mu1_xx, mu1_xz], [mu1_xz, mu1_zz]])
MU2 = sp.Matrix([[mu2_xx, mu2_xz], [mu2_xz, mu2_zz]])

_DOMAINS = {
    mu_xx: (0.5, 2.0), mu_zz: (0.5, 2.0), mu_xz: (-0.4, 0.4), theta: (0.1, 0.7),
    mubar_xx: (0.5, 2.0), mubar_zz: (0.5, 2.0),
}


def rotation(angle: sp.Expr = theta) -> sp.Matrix:
    """R with (x̄, z̄)ᵀ = R (x, z)ᵀ, as the appendix defines the rotated axes.

    Parameters
    ----------
    angle : sympy.Expr
        θ (rad), counter-clockwise from x towards z.

    Returns
    -------
    sympy.Matrix
        ``[[cos θ, sin θ], [-sin θ, cos θ]]``.

    References
    ----------
    LNF-64/55 appendix.

    Examples
    --------
    >>> rotation(0)
    Matrix([
    [1, 0],
    [0, 1]])
    """
    c, s = sp.cos(angle), sp.sin(angle)
    return sp.Matrix([[c, s], [-s, c]])


@lru_cache(maxsize=None)
def rotated_mu() -> sp.Matrix:
    """μ̄(θ) = R μ Rᵀ in the double angle: entries linear in C2 = cos 2θ, S2 = sin 2θ.

    Since x = Rᵀ x̄, xᵀ μ x = x̄ᵀ (R μ Rᵀ) x̄. The half-angle products
    cos²θ = (1 + C2)/2, sin²θ = (1 - C2)/2, sin θ cos θ = S2/2 are checked
    by sympy before substitution.

    Returns
    -------
    sympy.Matrix
        2×2 in ``mu_xx, mu_xz, mu_zz, C2, S2``.

    References
    ----------
    LNF-64/55 appendix.

    Examples
    --------
    >>> rotated_mu()[0, 1]
    C2*mu_xz - S2*mu_xx/2 + S2*mu_zz/2
    """
    R = rotation(theta)
    rot = (R * MU * R.T).applyfunc(sp.expand)
    half = {sp.cos(theta)**2: (1 + sp.cos(2 * theta)) / 2,
            sp.sin(theta)**2: (1 - sp.cos(2 * theta)) / 2}
    for lhs, rhs in half.items():
        if sp.simplify(sp.expand_trig(rhs) - lhs) != 0:
            raise RuntimeError(f"half-angle identity failed: {lhs}")
    if sp.simplify(sp.expand_trig(sp.sin(2 * theta)) / 2 - sp.sin(theta) * sp.cos(theta)) != 0:
        raise RuntimeError("sin θ cos θ = sin 2θ / 2 failed")
    c, s = sp.cos(theta), sp.sin(theta)
    out = rot.applyfunc(lambda e: sp.expand(
        e.subs(s * c, S2 / 2).subs({c**2: (1 + C2) / 2, s**2: (1 - C2) / 2})))
    if out.has(theta):
        raise RuntimeError(f"θ left after the double-angle substitution: {out}")
    return out


@lru_cache(maxsize=None)
def tan_two_theta() -> sp.Expr:
    """tan 2θ that makes the rotated form diagonal (solve μ̄_xz = 0 for S2/C2).

    Returns
    -------
    sympy.Expr
        2 μ_xz / (μ_xx - μ_zz).

    References
    ----------
    LNF-64/55 appendix.

    Examples
    --------
    >>> tan_two_theta()
    2*mu_xz/(mu_xx - mu_zz)
    """
    T = sp.Symbol("T", real=True)
    sol = sp.solve(rotated_mu()[0, 1].subs(S2, T * C2) / C2, T)
    if len(sol) != 1:
        raise RuntimeError(f"tan 2θ: expected one solution, got {sol}")
    return sp.factor(sol[0])


def _r() -> sp.Expr:
    return sp.sqrt((mu_xx - mu_zz)**2 + 4 * mu_xz**2)


@lru_cache(maxsize=None)
def principal_mu() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """θ branch and μ̄ on it: proved to diagonalise μ with μ̄_xx = smaller eigenvalue.

    With θ = ½ atan2(-2μ_xz, μ_zz - μ_xx): cos 2θ = (μ_zz - μ_xx)/r,
    sin 2θ = -2μ_xz/r; substituted into :func:`rotated_mu` the off-diagonal
    entry vanishes and the diagonal equals sympy's eigenvalues of μ.

    Returns
    -------
    theta : sympy.Expr
        ½ atan2(-2μ_xz, μ_zz - μ_xx).
    mu_bar_xx, mu_bar_zz : sympy.Expr
        ½(μ_xx + μ_zz) ∓ ½ r (smaller, larger eigenvalue).

    Raises
    ------
    RuntimeError
        If a step of the proof fails.

    References
    ----------
    LNF-64/55 appendix.

    Examples
    --------
    >>> th, lo, hi = principal_mu()
    >>> th
    atan2(-2*mu_xz, -mu_xx + mu_zz)/2
    """
    r = _r()
    branch = {C2: (mu_zz - mu_xx) / r, S2: -2 * mu_xz / r}
    rot = rotated_mu().subs(branch)
    if sp.simplify(rot[0, 1]) != 0:
        raise RuntimeError("the θ branch does not diagonalise μ")
    eig = sorted(MU.eigenvals(), key=lambda e: sp.default_sort_key(e))
    lo = sp.Rational(1, 2) * (mu_xx + mu_zz) - r / 2
    hi = sp.Rational(1, 2) * (mu_xx + mu_zz) + r / 2
    if {sp.simplify(e - lo) for e in eig} & {0} != {0} or {sp.simplify(e - hi) for e in eig} & {0} != {0}:
        raise RuntimeError(f"eigenvalues {eig} are not ½ tr ∓ ½ r")
    if sp.simplify(rot[0, 0] - lo) != 0 or sp.simplify(rot[1, 1] - hi) != 0:
        raise RuntimeError("the diagonal on the θ branch is not (smaller, larger) eigenvalue")
    # tan 2θ of the branch equals the appendix condition
    if sp.simplify(branch[S2] / branch[C2] - tan_two_theta()) != 0:
        raise RuntimeError("branch violates tan 2θ = 2μ_xz/(μ_xx - μ_zz)")
    th = sp.atan2(-2 * mu_xz, mu_zz - mu_xx) / 2
    return th, lo, hi


@lru_cache(maxsize=None)
def smaller_root_rationalized() -> sp.Expr:
    """Cancellation-free smaller eigenvalue: 2 det μ / (μ_xx + μ_zz + r).

    Returns
    -------
    sympy.Expr

    Raises
    ------
    RuntimeError
        If it differs from ½(μ_xx + μ_zz - r).

    References
    ----------
    LNF-64/55 appendix (μ̄_xx).

    Examples
    --------
    >>> smaller_root_rationalized().has(mu_xz)
    True
    """
    _, lo, _ = principal_mu()
    form = 2 * MU.det() / (mu_xx + mu_zz + _r())
    if sp.simplify(sp.radsimp(form - lo)) != 0:
        raise RuntimeError("rationalized smaller root differs from ½(tr - r)")
    return form


def spot_density(mu: sp.Matrix = MU) -> sp.Expr:
    """P(x, z) = (1/π) sqrt(det μ) exp(-xᵀ μ x), normalised by the Gaussian integral.

    Parameters
    ----------
    mu : sympy.Matrix
        Symmetric 2×2 positive-definite form.

    Returns
    -------
    sympy.Expr
        In ``x, z`` and the entries of ``mu``.

    References
    ----------
    LNF-64/55 eq. (7) (corrected prefactor), appendix.

    Examples
    --------
    >>> spot_density(sp.eye(2)).subs({x: 0, z: 0})
    1/pi
    """
    norm, _ = gaussian_form_moments(mu)
    X = sp.Matrix([x, z])
    return (1 / norm) * sp.exp(-(X.T * mu * X)[0, 0])


def inverse_area(mu: sp.Matrix = MU) -> sp.Expr:
    """1/S = ∫∫ P² dx dz for P of :func:`spot_density` (1/m²).

    P² = (det μ/π²) exp(-xᵀ(2μ)x): the Gaussian integral of 2μ.

    Parameters
    ----------
    mu : sympy.Matrix
        Symmetric 2×2 positive-definite form.

    Returns
    -------
    sympy.Expr
        (1/2π) sqrt(det μ).

    References
    ----------
    LNF-64/55 appendix.

    Examples
    --------
    >>> inverse_area(sp.diag(mubar_xx, mubar_zz))
    sqrt(mu_bar_xx)*sqrt(mu_bar_zz)/(2*pi)
    """
    norm, _ = gaussian_form_moments(mu)
    val = (1 / norm) ** 2 * gaussian_integral(2 * mu, sp.zeros(2, 1))
    return sp.simplify(val)


@lru_cache(maxsize=None)
def overlap_inverse_area() -> sp.Expr:
    """∫∫ P₁(x, z) P₂(x - dx, z - dz) dx dz for two beams μ₁, μ₂ (1/m²).

    The product's exponent -xᵀ(μ₁+μ₂)x + 2(μ₂d)ᵀx - dᵀμ₂d is integrated by
    the generating function Z(μ₁+μ₂, 2μ₂d); the result is proved equal to
    (1/π) sqrt(det μ₁ det μ₂ / det(μ₁+μ₂)) exp(-dᵀ μ₁ adj(μ₁+μ₂) μ₂ d / det(μ₁+μ₂)),
    the form returned.

    Returns
    -------
    sympy.Expr
        In ``mu1_xx, mu1_xz, mu1_zz, mu2_xx, mu2_xz, mu2_zz, dx, dz``.

    References
    ----------
    LNF-64/55 appendix (generalised to two different beams).

    Examples
    --------
    >>> e = overlap_inverse_area()
    >>> same = {mu1_xx: 3, mu1_xz: 1, mu1_zz: 2, mu2_xx: 3, mu2_xz: 1, mu2_zz: 2, dx: 0, dz: 0}
    >>> sp.simplify(e.subs(same))  # identical beams: (1/2π) sqrt(det μ)
    sqrt(5)/(2*pi)
    """
    n1, _ = gaussian_form_moments(MU1)
    n2, _ = gaussian_form_moments(MU2)
    d = sp.Matrix([dx, dz])
    Z = gaussian_integral(MU1 + MU2, 2 * MU2 * d)
    val = Z * sp.exp(-(d.T * MU2 * d)[0, 0]) / (n1 * n2)
    S = MU1 + MU2
    det_s = sp.expand(S.det())
    form = (sp.sqrt(MU1.det() * MU2.det() / det_s) / sp.pi
            * sp.exp(-sp.expand((d.T * MU1 * S.adjugate() * MU2 * d)[0, 0]) / det_s))
    # compare prefactors (squared) and exponents separately
    pv, ev = split_exp(val)
    pf, ef = split_exp(form)
    if sp.simplify(pv**2 - pf**2) != 0 or sp.simplify(ev - ef) != 0:
        raise RuntimeError("overlap integral differs from the closed form")
    return form


# ------------------------------------------------------------- publication
def kernel_specs() -> list[KernelSpec]:
    """Kernels for ``coupled_beam/_kernels.py``: spot axes and 1/S, two-beam overlap.

    Returns
    -------
    list of KernelSpec

    References
    ----------
    LNF-64/55 appendix.

    Examples
    --------
    >>> [k.name for k in kernel_specs()]
    ['spot_axes', 'overlap_inv_area']
    """
    th, _, hi = principal_mu()
    lo = smaller_root_rationalized()
    return [
        KernelSpec(
            "spot_axes", (mu_xx, mu_xz, mu_zz),
            (th, lo, hi, inverse_area()),
            "Beam spot of P(x, z) with composite parameters mu (1/m^2): (theta, mu_bar_xx,\n"
            "mu_bar_zz, inv_area). theta = atan2(-2 mu_xz, mu_zz - mu_xx)/2 (rad) is the angle\n"
            "of the major axis from x towards z, in [-pi/2, pi/2] (numpy gives -pi/2 only\n"
            "for mu_xz = +0.0 with mu_xx > mu_zz; callers fold it to +pi/2); mu_bar_xx <=\n"
            "mu_bar_zz are the eigenvalues of mu (smaller one as 2 det mu/(tr + r), no\n"
            "cancellation); inv_area = sqrt(det mu)/(2 pi) = 1/S (1/m^2). Round beam:\n"
            "theta = 0. NaN where mu is not positive-definite.",
            "LNF-64/55 appendix",
        ),
        KernelSpec(
            "overlap_inv_area",
            (mu1_xx, mu1_xz, mu1_zz, mu2_xx, mu2_xz, mu2_zz, dx, dz),
            (overlap_inverse_area(),),
            "Overlap integral of two beams (1/m^2): int P1(x, z) P2(x - dx, z - dz) dx dz\n"
            "= (1/pi) sqrt(det mu1 det mu2 / det(mu1 + mu2))\n"
            "  * exp(-d^T mu1 adj(mu1 + mu2) mu2 d / det(mu1 + mu2)); d = (dx, dz) in m.",
            "LNF-64/55 appendix (two different beams)",
        ),
    ]


def results() -> list[Result]:
    """Closed forms for ``coupled-beam derive``.

    Returns
    -------
    list of Result

    References
    ----------
    LNF-64/55 appendix.

    Examples
    --------
    >>> [r.name for r in results()]
    ['tilt', 'mu-bar', 'inverse-area', 'overlap-inverse-area']
    """
    th, lo, hi = principal_mu()
    args = (mu_xx, mu_xz, mu_zz)
    return [
        Result("tilt", sp.Eq(sp.tan(2 * theta), tan_two_theta()),
               "tan 2θ of the spot axes; branch θ = ½ atan2(-2μ_xz, μ_zz - μ_xx) (major axis, rad): "
               + str(th), "LNF-64/55 appendix", args),
        Result("mu-bar", (smaller_root_rationalized(), hi),
               "(μ̄_xx, μ̄_zz): eigenvalues of μ, smaller first (1/m²)", "LNF-64/55 appendix", args),
        Result("inverse-area", inverse_area(), "1/S = ∫P² = (1/2π) sqrt(det μ) (1/m²)",
               "LNF-64/55 appendix", args),
        Result("overlap-inverse-area", overlap_inverse_area(),
               "∫ P₁(x) P₂(x - d) for two beams (1/m²)", "LNF-64/55 appendix",
               (mu1_xx, mu1_xz, mu1_zz, mu2_xx, mu2_xz, mu2_zz, dx, dz)),
    ]


def equation_checks() -> list[Check]:
    """The printed equations of the appendix against their derivation.

    Returns
    -------
    list of Check

    References
    ----------
    LNF-64/55 appendix.

    Examples
    --------
    >>> len(equation_checks())
    6
    """
    rot = rotated_mu()
    on_constraint = {mu_xx: mu_zz + 2 * mu_xz * sp.cos(2 * theta) / sp.sin(2 * theta)}
    trig = {C2: sp.cos(2 * theta), S2: sp.sin(2 * theta)}
    half = (mu_xx + mu_zz) / 2
    printed_bar_xx = half + mu_xz / sp.sin(2 * theta)
    printed_bar_zz = half - mu_xz / sp.sin(2 * theta)
    th, lo, hi = principal_mu()
    diag = sp.diag(mubar_xx, mubar_zz)
    norm_bar, _ = gaussian_form_moments(diag)
    inv_s_bar = inverse_area(diag)
    printed_P00 = sp.sqrt(mubar_xx * mubar_zz) / sp.pi   # P(x̄, z̄) as printed, at 0
    return [
        Check("appendix tan 2θ", "appendix", 2 * mu_xz / (mu_xx - mu_zz), tan_two_theta(),
              "μ̄_xz = μ_xz cos 2θ - ½(μ_xx - μ_zz) sin 2θ = 0", dict(_DOMAINS)),
        Check("appendix μ̄_xx", "appendix", printed_bar_xx.subs(on_constraint),
              rot[0, 0].subs(trig).subs(on_constraint),
              "(R μ Rᵀ)_xx on tan 2θ = 2μ_xz/(μ_xx - μ_zz); printed form singular at μ_xz = 0, "
              "use the eigenvalue ½(μ_xx + μ_zz) ∓ ½ r", dict(_DOMAINS)),
        Check("appendix μ̄_zz", "appendix", printed_bar_zz.subs(on_constraint),
              rot[1, 1].subs(trig).subs(on_constraint),
              "(R μ Rᵀ)_zz on tan 2θ = 2μ_xz/(μ_xx - μ_zz)", dict(_DOMAINS)),
        Check("appendix P(x̄, z̄) prefactor", "appendix", sp.sqrt(mubar_xx * mubar_zz) / sp.pi,
              1 / norm_bar, "normalisation of exp(-(μ̄_xx x̄² + μ̄_zz z̄²))", dict(_DOMAINS)),
        Check("appendix 1/S = ∫P² = ½P(0,0)", "appendix",
              (sp.sqrt(mubar_xx * mubar_zz) / (2 * sp.pi), printed_P00 / 2),
              (inv_s_bar, inv_s_bar),
              "Gaussian integral of P² (exponent doubled), against both printed forms: "
              "(1/2π)(μ̄_xx μ̄_zz)^½ and ½ P(0,0) with the printed P(x̄, z̄)", dict(_DOMAINS)),
        Check("appendix μ̄_xx μ̄_zz = det μ", "appendix", lo * hi, MU.det(),
              "product of the eigenvalues: 1/S = (1/2π) sqrt(det μ)", dict(_DOMAINS),
              printed_in_paper=False),
    ]
