"""Beyond the paper (§2 b): the leading correction to its decorrelated 4-D + folding equilibrium.

The paper assumes betatron and synchrotron motion decorrelate. With the RF
cavity in dispersion they do not: in the dispersion frame
X~ = D^-1 X = (y_beta, delta, l~) (y = y_beta + eta delta, l = l~ + (J4 eta).y_beta,
D symplectic) the thin cavity delta += k l becomes

    D^-1 K D = 1 + k b c^T,   b = (-eta_c, 1, 0),   c = (J4 eta_c, 0, 1)      (C1)

(eta_c = (xi, xi', zeta, zeta') at the cavity): a kick -eta_c k l of the betatron
coordinates driven by the synchrotron oscillation, a kick k (J4 eta_c).y_beta of
delta by the betatron motion, and the rank-one betatron term -k eta_c (J4 eta_c)^T.
The one-turn map in that frame is M0 + V, M0 = blockdiag(N~, L) (betatron block,
exact longitudinal map with the cavity), V the two off-diagonal blocks
(O(k) from (C1), O(U0/E) from the radiation). Formula (10) in the eigenbasis of
M0 (eigenvalues lambda_i, V~ = U0 V U0^-1, R = U0 B~ U0^T) expanded in V:

    Q0_ij = R_ij / (1 - lambda_i lambda_j)
    Q1_ij = (V~ Q0 Lambda + Lambda Q0 V~^T)_ij / (1 - lambda_i lambda_j)             (C2)
    Q2_ij = (V~ Q1 Lambda + Lambda Q1 V~^T + V~ Q0 V~^T)_ij / (1 - lambda_i lambda_j)

Since <l~^2> = alpha_c C sigma_delta^2 / (-k) grows as 1/k while V ~ k, the
second order is *first* order in the cavity kick (~ Q_s^2, the measured size
of the paper's error) and the remainder is O(k^2) ~ Q_s^4. Q0 alone is the
decorrelated model with the correlated (delta-column) noise and the exact
longitudinal plane; Q1 and Q2 carry the cavity's coupling. The obvious
"synchrotron-driven orbit" piece, (2 pi Q_s)^2 sigma_delta^2 g g^T with
g = (1 - N)^-1 N(s, s_c) eta_c, is only a few per cent of the x-x correction
and ~1e-5 of the z-z one on the coupled test ring (measured): the error sits in
the cross terms, i.e. in the mode emittances, not in an orbit.

This module derives (C1) (sympy, symbolic eta) and proves (C2): with
M = Lambda + eps V in the eigenbasis, Q0 + eps Q1 + eps^2 Q2 solves
Q = M Q M^T + R up to O(eps^3) for arbitrary symbols (a 3 x 3 case; the
recursion is elementwise, the same in any dimension).
Numerics: :func:`coupled_beam.sixd.coupling_series` (the kernel
``mode_covariance`` of (10) for every order); measured against the 6-D route in
tests/test_sixd.py (residual slope 4.0 in Q_s).

References
----------
LNF-64/55 §2 b, eq. (10); A. W. Chao, J. Appl. Phys. 50 (1979) 595;
K. Ohmi, K. Hirata, K. Oide, Phys. Rev. E 49 (1994) 751.

Examples
--------
>>> D, claimed = cavity_in_dispersion_frame()
>>> sp.simplify(claimed - D) == sp.zeros(6, 6)
True
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from derivations.registry import Check, Result

__all__ = ["dispersion_frame", "cavity_in_dispersion_frame", "series_terms", "series_orders",
           "series_residual",
           "results", "equation_checks"]

k = sp.Symbol("k_rf", real=True)
eta = sp.Matrix(sp.symbols("xi_c xip_c zeta_c zetap_c", real=True))   # (xi, xi', zeta, zeta') at the cavity
_J2 = sp.Matrix([[0, 1], [-1, 0]])
J4 = sp.diag(_J2, _J2)
J6 = sp.diag(_J2, _J2, _J2)


def dispersion_frame(e: sp.Matrix = eta) -> sp.Matrix:
    """D with X = D X~: y = y_beta + eta delta, l = l~ + (J4 eta) . y_beta (symplectic).

    Examples
    --------
    >>> D = dispersion_frame()
    >>> sp.simplify(D.T * J6 * D - J6) == sp.zeros(6, 6)
    True
    """
    D = sp.eye(6)
    for i in range(4):
        D[i, 4] = e[i]
    a = J4 * e
    for i in range(4):
        D[5, i] = a[i]
    return D


@lru_cache(maxsize=None)
def cavity_in_dispersion_frame() -> tuple[sp.Matrix, sp.Matrix]:
    """(D^-1 K D derived, 1 + k b c^T claimed) for the thin cavity K: delta += k l.

    Returns
    -------
    (sympy.Matrix, sympy.Matrix)

    Examples
    --------
    >>> derived, claimed = cavity_in_dispersion_frame()
    >>> derived[0, 5]    # y_beta kicked by -eta_c k l~
    -k_rf*xi_c
    """
    K = sp.eye(6)
    K[4, 5] = k
    D = dispersion_frame()
    derived = (D.inv() * K * D).applyfunc(sp.expand)
    b = sp.Matrix([*(-eta), 1, 0])
    c = sp.Matrix([*(J4 * eta), 0, 1])
    claimed = sp.eye(6) + k * b * c.T
    return derived, claimed


def series_terms(n: int = 3):
    """Symbolic Lambda, V, R and the terms Q0, Q1, Q2 of (C2) for an n x n case.

    Examples
    --------
    >>> lam, V, R, (Q0, Q1, Q2) = series_terms(2)
    >>> Q0[0, 1]
    R_01/(-lambda_0*lambda_1 + 1)
    """
    lam = sp.symbols(f"lambda_0:{n}")
    V = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"V_{i}{j}"))
    R = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"R_{min(i, j)}{max(i, j)}"))
    Lam = sp.diag(*lam)

    def solve(F):
        return sp.Matrix(n, n, lambda i, j: F[i, j] / (1 - lam[i] * lam[j]))

    Q0 = solve(R)
    Q1 = solve(V * Q0 * Lam + Lam * Q0 * V.T)
    Q2 = solve(V * Q1 * Lam + Lam * Q1 * V.T + V * Q0 * V.T)
    return lam, V, R, (Q0, Q1, Q2)


def series_orders() -> tuple:
    """The equations of order eps^0, eps^1, eps^2 of Q = M Q M^T + R, M = Lambda + eps V (matrix symbols).

    Returns the three matrix expressions that must vanish,
    Q_p - Lambda Q_p Lambda - F_p; with Lambda diagonal each is solved
    elementwise by (C2).

    Examples
    --------
    >>> print(series_orders()[1])
    -Lambda*Q0*V.T - Lambda*Q1*Lambda + Q1 - V*Q0*Lambda
    """
    n = sp.Symbol("n", integer=True, positive=True)
    Lam, V, R = (sp.MatrixSymbol(x, n, n) for x in ("Lambda", "V", "R"))
    Q = [sp.MatrixSymbol(f"Q{p}", n, n) for p in range(3)]
    eps = sp.Symbol("epsilon")
    M = Lam + eps * V
    Qs = Q[0] + eps * Q[1] + eps**2 * Q[2]
    expr = sp.expand((Qs - M * Qs * M.T - R).subs(Lam.T, Lam))
    def degree(t) -> int:
        scalars = [a for a in t.args if not getattr(a, "is_Matrix", False)] if t.is_MatMul else []
        return sp.degree(sp.Mul(*scalars), eps) if scalars else 0

    terms = sp.Add.make_args(expr)
    return tuple(sp.Add(*[t / eps**p for t in terms if degree(t) == p]) for p in range(3))


@lru_cache(maxsize=None)
def series_residual(n: int = 3, seed: int = 7) -> tuple:
    """Coefficients of eps^0 ... eps^3 of Q - M Q M^T - R for (C2), exact rationals (n x n).

    Lambda, V, R random rationals; the first three vanish exactly, the eps^3
    one does not (the remainder of a second-order series).

    Examples
    --------
    >>> c = series_residual(2)
    >>> [m == sp.zeros(2, 2) for m in c]
    [True, True, True, False]
    """
    import random

    rnd = random.Random(seed)
    lam, V, R, (Q0, Q1, Q2) = series_terms(n)
    vals = {x: sp.Rational(rnd.randint(-9, 9), 10) for x in lam}
    vals.update({x: sp.Rational(rnd.randint(-9, 9), 7) for x in V.free_symbols | R.free_symbols})
    eps = sp.Symbol("epsilon")
    M = (sp.diag(*lam) + eps * V).subs(vals)
    Q = (Q0 + eps * Q1 + eps**2 * Q2).subs(vals)
    res = (Q - M * Q * M.T - R.subs(vals)).applyfunc(sp.expand)
    return tuple(res.applyfunc(lambda e: e.coeff(eps, p)) for p in range(4))


def results() -> list[Result]:
    """Closed forms for ``coupled-beam derive``.

    Examples
    --------
    >>> [r.name for r in results()]
    ['cavity-dispersion-frame', 'synchrotron-coupling-series']
    """
    derived, _ = cavity_in_dispersion_frame()
    i, j = sp.symbols("i j", integer=True)
    Q = [sp.IndexedBase(f"Q{p}") for p in range(3)]
    F1, F2, Rx, L = (sp.IndexedBase(n) for n in ("F1", "F2", "R", "lambda"))
    den = 1 - L[i] * L[j]
    series = (sp.Eq(Q[0][i, j], Rx[i, j] / den), sp.Eq(Q[1][i, j], F1[i, j] / den),
              sp.Eq(Q[2][i, j], F2[i, j] / den))
    return [
        Result("cavity-dispersion-frame", derived,
               "thin RF cavity delta += k_rf l in the dispersion frame (y_beta, delta, l~) (C1): "
               "1 + k b c^T, b = (-eta_c, 1, 0), c = (J4 eta_c, 0, 1)", "beyond LNF-64/55 §2 b"),
        Result("synchrotron-coupling-series", series,
               "formula (10) in the eigenbasis of the decoupled map, to second order in the "
               "synchro-betatron coupling V (C2), F1 = V Q0 Lambda + Lambda Q0 V^T, "
               "F2 = V Q1 Lambda + Lambda Q1 V^T + V Q0 V^T: first order in the cavity kick, "
               "remainder O(Q_s^4)",
               "beyond LNF-64/55 §2 b, eq. (10)"),
    ]


def equation_checks() -> list[Check]:
    """'Beyond the paper' rows: (C1) against D^-1 K D, (C2) against the Lyapunov equation.

    Examples
    --------
    >>> [c.equation for c in equation_checks()]
    ['§2 b cavity in the dispersion frame (C1)', '§2 b synchro-betatron series (C2)']
    """
    derived, claimed = cavity_in_dispersion_frame()
    res = series_residual(2)[:3]
    return [
        Check("§2 b cavity in the dispersion frame (C1)", "§2", claimed, derived,
              "thin cavity in betatron coordinates: 1 + k b c^T against D^-1 K D (symbolic eta_c)",
              printed_in_paper=False),
        Check("§2 b synchro-betatron series (C2)", "§2", sp.Matrix.hstack(*[sp.zeros(2, 2)] * 3),
              sp.Matrix.hstack(*res),
              "Q0 + Q1 + Q2 solve Q = (Lambda + eps V) Q (Lambda + eps V)^T + R to O(eps^3) "
              "(exact rationals, 2 x 2; 3 x 3 in the tests): the correction to the paper's decorrelated (10)",
              printed_in_paper=False),
    ]
