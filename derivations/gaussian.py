"""Two-dimensional Gaussian integrals done by sympy, for §3 and the appendix.

One sympy integral, ∫ exp(-a v² + b v) dv = sqrt(π/a) exp(b²/(4a)) for a > 0
(:func:`gaussian_integral_1d`), builds everything else: the generating
function Z(Q, J) = ∫∫ exp(-yᵀQy + Jᵀy) = π/sqrt(det Q) exp(¼ JᵀQ⁻¹J) by two
iterated integrals (:func:`gaussian_generating_function`), the normalisation
and moments of a Gaussian form (:func:`gaussian_form_moments`). Used by
:mod:`derivations.distribution` (P_b, folding over p) and
:mod:`derivations.beam_spot` (1/S, two-beam overlap).

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), §3, appendix.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

__all__ = ["split_exp", "gaussian_integral_1d", "quadratic_coeffs", "gaussian_generating_function",
           "gaussian_integral", "gaussian_form_moments"]


@lru_cache(maxsize=None)
def _gaussian_1d_generic() -> tuple[sp.Symbol, sp.Symbol, sp.Expr, sp.Expr]:
    """sympy's ∫exp(-a v² + b v) dv, split as prefactor · exp(exponent)."""
    a = sp.Dummy("a", positive=True)
    b = sp.Dummy("b", real=True)
    v = sp.Dummy("v", real=True)
    val = sp.integrate(sp.exp(-a * v**2 + b * v), (v, -sp.oo, sp.oo))
    val = sp.simplify(val.rewrite(sp.erf))  # erf(u) + erfc(u) = 1
    if val.has(sp.erf, sp.Integral):
        raise RuntimeError(f"sympy left the Gaussian integral unevaluated: {val}")
    pref, expo = split_exp(val)
    return a, b, pref, expo


def split_exp(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Write a product as prefactor · exp(exponent) (exp factors collected).

    Parameters
    ----------
    expr : sympy.Expr
        A product of factors, some of them ``exp(...)``.

    Returns
    -------
    prefactor, exponent : sympy.Expr

    Examples
    --------
    >>> import sympy as sp
    >>> u = sp.Symbol("u")
    >>> split_exp(3 * sp.exp(u) * sp.exp(2 * u))
    (3, 3*u)
    """
    pref, expo = sp.Integer(1), sp.Integer(0)
    for factor in sp.Mul.make_args(sp.powsimp(expr)):
        if isinstance(factor, sp.exp):
            expo += factor.args[0]
        else:
            pref *= factor
    return pref, sp.expand(expo)


def gaussian_integral_1d(a: sp.Expr, b: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """∫ exp(-a v² + b v) dv over the real line, integrated by sympy.

    Parameters
    ----------
    a : sympy.Expr
        Quadratic coefficient; must be positive for the integral to exist
        (the caller's premise: a positive-definite form).
    b : sympy.Expr
        Linear coefficient.

    Returns
    -------
    prefactor, exponent : sympy.Expr
        The integral is prefactor · exp(exponent) = sqrt(π/a) · exp(b²/(4a)).

    References
    ----------
    LNF-64/55 §3 (the folding over p).

    Examples
    --------
    >>> import sympy as sp
    >>> gaussian_integral_1d(sp.Integer(1), sp.Integer(2))
    (sqrt(pi), 1)
    """
    a0, b0, pref, expo = _gaussian_1d_generic()
    sub = {a0: a, b0: b}
    return pref.subs(sub, simultaneous=True), expo.subs(sub, simultaneous=True)


def quadratic_coeffs(expr: sp.Expr, v: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(a, b, c) with expr = -a v² + b v + c exactly (raises RuntimeError otherwise).

    Examples
    --------
    >>> import sympy as sp
    >>> u, k = sp.symbols("u k")
    >>> quadratic_coeffs(-3 * u**2 + k * u + 1, u)
    (3, k, 1)
    """
    poly = sp.Poly(sp.expand(expr), v)
    if poly.degree() != 2:
        raise RuntimeError(f"exponent is not quadratic in {v}: {expr}")
    a, b, c = -poly.coeff_monomial(v**2), poly.coeff_monomial(v), poly.coeff_monomial(1)
    if sp.expand(expr - (-a * v**2 + b * v + c)) != 0:
        raise RuntimeError("coefficient read-off failed")
    return a, b, c


@lru_cache(maxsize=None)
def gaussian_generating_function() -> tuple[sp.Matrix, sp.Matrix, sp.Expr]:
    """Z(Q, J) = ∫∫ exp(-yᵀ Q y + Jᵀ y) dy1 dy2 for a symmetric 2×2 Q > 0.

    Done as two iterated :func:`gaussian_integral_1d`: over y1 (coefficient
    Q11 > 0), then over y2 (coefficient det Q / Q11 > 0).

    Returns
    -------
    Q : sympy.Matrix
        ``[[q11, q12], [q12, q22]]`` with symbols q11 > 0, q12, q22.
    J : sympy.Matrix
        ``[j1, j2]``.
    Z : sympy.Expr
        π/sqrt(det Q) · exp(¼ Jᵀ Q⁻¹ J), in the entries of Q and J.

    References
    ----------
    LNF-64/55 §3 (normalisation of P_b, moments, folding; appendix 1/S).

    Examples
    --------
    >>> import sympy as sp
    >>> Q, J, Z = gaussian_generating_function()
    >>> sp.simplify(Z.subs({J[0]: 0, J[1]: 0}) - sp.pi / sp.sqrt(Q.det()))
    0
    """
    q11 = sp.Symbol("q11", positive=True)
    q12, q22, j1, j2 = sp.symbols("q12 q22 j1 j2", real=True)
    det_q = sp.Symbol("det_q", positive=True)  # premise Q > 0: det Q > 0
    t1, t2 = sp.Dummy("t1", real=True), sp.Dummy("t2", real=True)
    expo = -(q11 * t1**2 + 2 * q12 * t1 * t2 + q22 * t2**2) + j1 * t1 + j2 * t2
    a1, b1, c1 = quadratic_coeffs(expo, t1)
    pref1, e1 = gaussian_integral_1d(a1, b1)
    # what is left for t2; q22 written through det_q so that sympy sees a2 > 0
    a2, b2, c2 = quadratic_coeffs((c1 + e1).subs(q22, (det_q + q12**2) / q11), t2)
    pref2, e2 = gaussian_integral_1d(sp.factor(a2), b2)
    Z = sp.simplify(pref1 * pref2) * sp.exp(sp.factor(c2 + e2))
    Z = Z.subs(det_q, q11 * q22 - q12**2)
    return sp.Matrix([[q11, q12], [q12, q22]]), sp.Matrix([j1, j2]), Z


def gaussian_integral(Q: sp.Matrix, J: sp.Matrix) -> sp.Expr:
    """Z(Q, J) = ∫∫ exp(-yᵀQy + Jᵀy) for an explicit symmetric Q (premise: Q > 0).

    Parameters
    ----------
    Q : sympy.Matrix
        Symmetric 2×2 positive-definite form.
    J : sympy.Matrix
        2-vector.

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> import sympy as sp
    >>> gaussian_integral(sp.eye(2), sp.zeros(2, 1))
    pi
    """
    Qs, Js, Z = gaussian_generating_function()
    return Z.subs({Qs[0, 0]: Q[0, 0], Qs[0, 1]: Q[0, 1], Qs[1, 1]: Q[1, 1],
                   Js[0]: J[0], Js[1]: J[1]}, simultaneous=True)


def gaussian_form_moments(Q: sp.Matrix) -> tuple[sp.Expr, sp.Matrix]:
    """Normalisation and second moments of exp(-yᵀ Q y), from Z(Q, J).

    Parameters
    ----------
    Q : sympy.Matrix
        Symmetric 2×2 positive-definite form.

    Returns
    -------
    norm : sympy.Expr
        ∫∫ exp(-yᵀQy) = π/sqrt(det Q).
    moments : sympy.Matrix
        <y_r y_s> = (∂²Z/∂J_r∂J_s)/Z at J = 0 (= ½ Q⁻¹).

    References
    ----------
    LNF-64/55 §3.

    Examples
    --------
    >>> import sympy as sp
    >>> norm, mom = gaussian_form_moments(sp.eye(2))
    >>> norm, mom
    (pi, Matrix([
    [1/2,   0],
    [  0, 1/2]]))
    """
    Qs, Js, Z = gaussian_generating_function()
    zero = {Js[0]: 0, Js[1]: 0}
    norm = Z.subs(zero)
    mom = sp.Matrix(2, 2, lambda r, s: sp.simplify(sp.diff(Z, Js[r], Js[s]).subs(zero) / norm))
    sub = {Qs[0, 0]: Q[0, 0], Qs[0, 1]: Q[0, 1], Qs[1, 1]: Q[1, 1]}
    return sp.simplify(norm.subs(sub, simultaneous=True)), sp.simplify(mom.subs(sub, simultaneous=True))
