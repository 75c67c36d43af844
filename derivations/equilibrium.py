"""§4: equation (9), its solution Q_rs, formula (10) and the symbol M_rtsv.

With q_hat = U y_hat and Delta = U N U^-1 diagonal, the stationary covariance
Sigma = <y_hat y_hat^T> of y_hat(s) = N y_hat(s - s0) + (noise) obeys
Sigma = N Sigma N^T + script-R. The paper's Q_rs = <q_r q_s> (no complex
conjugation) is Q = U Sigma U^T, and (9) Q = Delta Q Delta + R follows with
R = U script-R U^T -- with the *transpose* U^T, as printed, although U is
complex. The derivation here:

1. the matrix-expression identity: with W = U^-1, N = W Delta W^-1,
   Sigma = W Q W^T and script-R = W R W^T,
   Sigma - N Sigma N^T - script-R = W (Q - Delta Q Delta - R) W^T
   (sympy cancels W^-1 W symbolically);
2. (9) elementwise, Q_rs - Delta_r Delta_s Q_rs = R_rs, solved by sympy for
   Q_rs; the geometric series sum_k (Delta_r Delta_s)^k R_rs gives the same;
3. an exact check in the Gaussian rationals: a real N with complex
   eigenvectors, exact Lyapunov solution Sigma, and the printed (10) and
   M_rtsv (with U^T) reproduce Sigma exactly, while the conjugate-transpose
   reading does not.

References
----------
LNF-64/55, eq. (9), (10), §4.

Examples
--------
>>> q_solution()
-R_rs/(Delta_r*Delta_s - 1)
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from derivations.codegen import KernelSpec
from derivations.registry import Check, Result

__all__ = [
    "lyapunov_reduction",
    "q_solution",
    "q_series",
    "exact_example",
    "formula_10",
    "m_rtsv_contracted",
    "kernel_specs",
    "results",
    "equation_checks",
]

Dr, Ds = sp.symbols("Delta_r Delta_s")   # complex eigenvalues of N
Rrs = sp.Symbol("R_rs")


def lyapunov_reduction() -> sp.MatrixExpr:
    """Sigma - N Sigma N^T - script-R rewritten in the eigenbasis.

    Returns
    -------
    sympy.MatrixExpr
        ``W (Q - Delta Q Delta - R) W^T`` as sympy simplifies it, with
        W = U^-1, Delta diagonal (Delta^T = Delta).

    References
    ----------
    LNF-64/55, eq. (9).

    Examples
    --------
    >>> print(lyapunov_reduction())
    -W*Delta*Q*Delta*W.T + W*Q*W.T - W*R*W.T
    """
    W = sp.MatrixSymbol("W", 4, 4)
    Delta = sp.MatrixSymbol("Delta", 4, 4)
    Q = sp.MatrixSymbol("Q", 4, 4)
    R = sp.MatrixSymbol("R", 4, 4)
    N = W * Delta * W.I
    Sigma = W * Q * W.T
    script_R = W * R * W.T
    expr = Sigma - N * Sigma * N.T - script_R
    return sp.simplify(expr.doit().subs(Delta.T, Delta))


def q_solution() -> sp.Expr:
    """Q_rs solved from (9) elementwise: Q_rs = Delta_r Delta_s Q_rs + R_rs.

    Returns
    -------
    sympy.Expr

    References
    ----------
    LNF-64/55, eq. (9) and the line after it.

    Examples
    --------
    >>> sp.simplify(q_solution() * (1 - Dr * Ds))
    R_rs
    """
    Q = sp.Symbol("Q_rs")
    (sol,) = sp.solve(sp.Eq(Q, Dr * Q * Ds + Rrs), Q)
    return sol


def q_series() -> sp.Expr:
    """The series sum_k Delta_r^k R_rs Delta_s^k of the paper, summed for |Delta_r Delta_s| < 1.

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> sp.simplify(q_series() - q_solution())
    0
    """
    k = sp.Symbol("k", integer=True, nonnegative=True)
    t = sp.Symbol("t")
    total = sp.summation(t**k, (k, 0, sp.oo))
    if isinstance(total, sp.Piecewise):
        total = total.args[0][0]
    return Rrs * total.subs(t, Dr * Ds)


@lru_cache(maxsize=None)
def exact_example() -> dict:
    """A real damped coupled one-turn map with exact (Gaussian-rational) eigen-data.

    W = U^-1 has the conjugate columns (w1, conj w1, w3, conj w3) and Delta the
    conjugate pairs ((3 + 4i)/6, (4 - 2i)/5), so N = W Delta W^-1 is real and
    rational; script-R has the paper's 22, 24, 44 entries. Sigma is the exact
    solution of Sigma = N Sigma N^T + script-R (a linear solve in the rationals).

    Returns
    -------
    dict
        ``N, W, U, Delta, script_R, Sigma`` (sympy matrices; Delta a list).

    Examples
    --------
    >>> ex = exact_example()
    >>> all(v.is_real for v in ex["N"])
    True
    """
    I = sp.I
    w1 = sp.Matrix([1 + I, 2, -1 + 2 * I, 1])
    w3 = sp.Matrix([1, -1 + I, 2, 3 * I])
    W = sp.Matrix.hstack(w1, w1.conjugate(), w3, w3.conjugate())
    lam1 = (3 + 4 * I) / 6
    lam3 = (4 - 2 * I) / 5
    Delta = [lam1, sp.conjugate(lam1), lam3, sp.conjugate(lam3)]
    U = W.inv().applyfunc(sp.nsimplify).applyfunc(sp.expand)
    N = (W * sp.diag(*Delta) * U).applyfunc(sp.expand)
    script_R = sp.Matrix([[0, 0, 0, 0], [0, 2, 0, 1], [0, 0, 0, 0], [0, 1, 0, 3]]) / 7
    syms = sp.symbols("sig0:10")
    idx = [(i, j) for i in range(4) for j in range(i, 4)]
    Sig = sp.zeros(4, 4)
    for sym, (i, j) in zip(syms, idx):
        Sig[i, j] = Sig[j, i] = sym
    eqs = Sig - N * Sig * N.T - script_R
    sol = sp.solve([eqs[i, j] for i, j in idx], syms, dict=True)[0]
    Sigma = Sig.subs(sol)
    return {"N": N, "W": W, "U": U, "Delta": Delta, "script_R": script_R, "Sigma": Sigma}


def formula_10(U: sp.Matrix, Delta, script_R: sp.Matrix, conjugate: bool = False) -> sp.Matrix:
    """Formula (10) as printed: sum U^-1_rr' U^-1_ss' R_r's' / (1 - Delta_r' Delta_s').

    Parameters
    ----------
    U : sympy.Matrix
        Delta = U N U^-1.
    Delta : sequence
        Eigenvalues.
    script_R : sympy.Matrix
        One-turn noise.
    conjugate : bool
        Use R = U script-R U^H and U^-1 ... conj(U^-1) (the reading the paper
        does *not* print) instead of U^T.

    Returns
    -------
    sympy.Matrix

    References
    ----------
    LNF-64/55, eq. (10).

    Examples
    --------
    >>> ex = exact_example()
    >>> formula_10(ex["U"], ex["Delta"], ex["script_R"]) == ex["Sigma"]
    True
    """
    Ut = U.H if conjugate else U.T
    R = U * script_R * Ut
    Winv = U.inv()
    out = sp.zeros(4, 4)
    for r in range(4):
        for s in range(4):
            tot = 0
            for a in range(4):
                for b in range(4):
                    ws = sp.conjugate(Winv[s, b]) if conjugate else Winv[s, b]
                    tot += Winv[r, a] * ws * R[a, b] / (1 - Delta[a] * Delta[b])
            out[r, s] = sp.nsimplify(sp.expand(tot))
    return out


def m_rtsv_contracted(U: sp.Matrix, Delta, script_R: sp.Matrix) -> sp.Matrix:
    """sum_tv M_rtsv script-R_tv with M_rtsv as printed in §4.

    M_rtsv = sum_{r's'} U^-1_rr' U_r't U^-1_ss' U_s'v / (1 - Delta_r' Delta_s').

    Returns
    -------
    sympy.Matrix

    References
    ----------
    LNF-64/55, §4.

    Examples
    --------
    >>> ex = exact_example()
    >>> m_rtsv_contracted(ex["U"], ex["Delta"], ex["script_R"]) == ex["Sigma"]
    True
    """
    Winv = U.inv()
    out = sp.zeros(4, 4)
    for r in range(4):
        for s in range(4):
            tot = 0
            for a in range(4):
                for b in range(4):
                    inner = sum(U[a, t] * U[b, v] * script_R[t, v]
                                for t in range(4) for v in range(4))
                    tot += Winv[r, a] * Winv[s, b] * inner / (1 - Delta[a] * Delta[b])
            out[r, s] = sp.nsimplify(sp.expand(tot))
    return out


def kernel_specs() -> list[KernelSpec]:
    """Kernels: the denominator 1 - Delta_r Delta_s and Q_rs (complex, broadcasting).

    Returns
    -------
    list of KernelSpec

    Examples
    --------
    >>> [k.name for k in kernel_specs()]
    ['resonance_denominator', 'mode_covariance']
    """
    return [
        KernelSpec("resonance_denominator", (Dr, Ds), (1 - Dr * Ds,),
                   "Resonance denominator 1 - Delta_r Delta_s of (10) (complex).",
                   "LNF-64/55 eq. (10)"),
        KernelSpec("mode_covariance", (Rrs, Dr, Ds), (q_solution(),),
                   "Q_rs = R_rs / (1 - Delta_r Delta_s), the solution of (9) (complex).",
                   "LNF-64/55 eq. (9)"),
    ]


def results() -> list[Result]:
    """Closed forms for ``coupled-beam derive``.

    Returns
    -------
    list of Result

    Examples
    --------
    >>> [r.name for r in results()]
    ['equilibrium-Q', 'formula-10', 'M-rtsv', 'lyapunov-eigenbasis']
    """
    r, s, t, v, a, b = sp.symbols("r s t v r' s'", integer=True)
    Ui = sp.IndexedBase("U^-1")
    Uix = sp.IndexedBase("U")
    Rx = sp.IndexedBase("R")
    Dx = sp.IndexedBase("Delta")
    den = 1 - Dx[a] * Dx[b]
    f10 = sp.Sum(Ui[r, a] * Ui[s, b] * Rx[a, b] / den, (a, 1, 4), (b, 1, 4))
    mr = sp.Sum(Ui[r, a] * Uix[a, t] * Ui[s, b] * Uix[b, v] / den, (a, 1, 4), (b, 1, 4))
    return [
        Result("equilibrium-Q", sp.Eq(sp.Symbol("Q_rs"), q_solution()),
               "solution of (9) in the eigenbasis, Q = U Sigma U^T", "LNF-64/55 eq. (9)"),
        Result("formula-10", sp.Eq(sp.Symbol("<y_r y_s>"), f10),
               "equilibrium betatron moments, R = U script-R U^T", "LNF-64/55 eq. (10)"),
        Result("M-rtsv", sp.Eq(sp.Symbol("M_rtsv"), mr),
               "machine factor: <y_r y_s> = sum_tv M_rtsv script-R_tv", "LNF-64/55 §4"),
        Result("lyapunov-eigenbasis", lyapunov_reduction(),
               "Sigma - N Sigma N^T - script-R in the eigenbasis (W = U^-1)",
               "LNF-64/55 eq. (9)"),
    ]


def _inverse_lemma(A: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """``A A^-1`` and ``A^-1 A`` for A^-1 = adj(A)/det(A), reduced by expand and cancel."""
    det = A.det(method="berkowitz").expand()
    adj = A.adjugate(method="berkowitz")
    n = A.rows

    def reduce(P):  # P = det I exactly (expand) -> I; otherwise leave P/det as it is
        P = P.applyfunc(sp.expand)
        return sp.eye(n) if P == det * sp.eye(n) else P / det

    return reduce(A * adj), reduce(adj * A)


@lru_cache(maxsize=None)
def generic_eigenbasis() -> dict:
    """Symbolic data for the general proofs of (9), (10) and M_rtsv.

    A generic 4x4 ``U`` and, for (10) and M_rtsv, a generic ``V`` standing for
    U^-1 (16 independent symbols each), a diagonal ``Delta`` (4 symbols),
    generic symmetric ``Sigma`` and ``R`` (10 symbols each). The one lemma the
    proofs use is computed, not assumed: with A^-1 = adj(A)/det(A), sympy
    reduces ``A A^-1`` and ``A^-1 A`` of a generic A to the identity (for
    ``U_Uinv``, and renamed, ``Vinv_V``), so that products such as
    ``U N = (U U^-1) Delta U`` stay small.

    Returns
    -------
    dict
        ``U, V, Delta, Sigma, R, U_Uinv, Vinv_V`` (sympy matrices).

    Examples
    --------
    >>> g = generic_eigenbasis()
    >>> g["U_Uinv"] == sp.eye(4) == g["Vinv_V"]
    True
    """
    n = 4
    U = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"U{i + 1}{j + 1}"))
    V = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"V{i + 1}{j + 1}"))

    def symmetric(name):
        S = sp.zeros(n, n)
        for i in range(n):
            for j in range(i, n):
                S[i, j] = S[j, i] = sp.Symbol(f"{name}{i + 1}{j + 1}")
        return S

    # adj(A) A = A adj(A) = det(A) I is a polynomial identity in the 16 entries of a
    # generic A: proved once (for U), it holds for V too (rename the symbols)
    U_Uinv, Uinv_U = _inverse_lemma(U)
    return {"U": U, "V": V, "Delta": sp.diag(*sp.symbols("Delta1:5")),
            "Sigma": symmetric("Sigma"), "R": symmetric("R"),
            "U_Uinv": U_Uinv, "Vinv_V": Uinv_U.xreplace(dict(zip(U, V)))}


def _general_proof_forms() -> dict:
    """Printed and derived forms of (9), (10), M_rtsv for a generic U and diagonal Delta.

    (9): Sigma generic is the stationary covariance of y(s) = N y(s - s0) + noise
    for the noise script-R = Sigma - N Sigma N^T, N = U^-1 Delta U; printed
    Delta Q Delta + R with Q = U Sigma U^T, R = U script-R U^T, against Q.
    (10), M_rtsv: V = U^-1 and the eigenbasis noise R = U script-R U^T generic,
    so script-R = V R V^T; the printed sums against N (.) N^T + script-R, the
    stationarity equation they must satisfy (its solution is unique unless
    some Delta_r Delta_s = 1). Only the upper triangles are compared (both
    sides are symmetric by construction).
    """
    g = generic_eigenbasis()
    U, V, D, Sig, R = g["U"], g["V"], g["Delta"], g["Sigma"], g["R"]
    d = [D[k, k] for k in range(4)]
    UN = g["U_Uinv"] * D * U                          # U N = (U U^-1) Delta U
    Q = (U * Sig * U.T).applyfunc(sp.expand)
    R9 = (Q - UN * Sig * UN.T).applyfunc(sp.expand)   # U (Sigma - N Sigma N^T) U^T
    script_R = V * R * V.T
    f10 = sp.Matrix(4, 4, lambda r, s: sum(V[r, a] * V[s, b] * R[a, b] / (1 - d[a] * d[b])
                                           for a in range(4) for b in range(4)))
    Qe = sp.Matrix(4, 4, lambda a, b: R[a, b] / (1 - d[a] * d[b]))
    # N f10 N^T = (V Delta V^-1)(V Qe V^T)(V Delta V^-1)^T = V Delta (V^-1 V) Qe (V^-1 V)^T Delta V^T
    I4 = g["Vinv_V"]
    stationary = V * D * I4 * Qe * I4.T * D * V.T + script_R
    # M_rtsv contracted with script-R: sum_tv U_r't script-R_tv U_s'v = (V^-1 V) R (V^-1 V)^T
    URU = I4 * R * I4.T
    m_contracted = sp.Matrix(4, 4, lambda r, s: sum(
        V[r, a] * V[s, b] * URU[a, b] / (1 - d[a] * d[b]) for a in range(4) for b in range(4)))
    upper = [(i, j) for i in range(4) for j in range(i, 4)]

    def pick(M):
        return tuple(M[i, j] for i, j in upper)

    return {"9": (pick(D * Q * D + R9), pick(Q)),
            "10": (pick(f10), pick(stationary)),
            "M": (pick(m_contracted), pick(stationary))}


def equation_checks() -> list[Check]:
    """Printed §4 forms against derivations: general symbolic proofs (generic U, diagonal Delta).

    Returns
    -------
    list of Check

    Examples
    --------
    >>> [c.equation for c in equation_checks()]
    ['(9)', '§4 Q_rs', '(10)', '§4 M_rtsv']
    """
    f = _general_proof_forms()
    return [
        Check("(9)", "§4", *f["9"],
              "for a generic U (16 symbols) and diagonal Delta: Q = U Sigma U^T (Q_rs = "
              "<q_r q_s>, no conjugation) and R = U script-R U^T (transpose, as printed) with "
              "Sigma = N Sigma N^T + script-R, N = U^-1 Delta U; the U^H reading needs Delta* "
              "on the right (exact_example())"),
        Check("§4 Q_rs", "§4", Rrs / (1 - Dr * Ds), q_solution(),
              "solved from (9) elementwise; equal to the summed series"),
        Check("(10)", "§4", *f["10"],
              "the printed sum, for generic U^-1 (16 symbols), diagonal Delta and eigenbasis "
              "noise R = U script-R U^T, solves the stationarity equation "
              "Sigma = N Sigma N^T + script-R (unique solution unless Delta_r Delta_s = 1)"),
        Check("§4 M_rtsv", "§4", *f["M"],
              "sum_tv M_rtsv script-R_tv with M as printed, generic U and diagonal Delta, "
              "solves Sigma = N Sigma N^T + script-R"),
    ]
