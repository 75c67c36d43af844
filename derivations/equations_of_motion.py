"""§1: from the Lagrangian (1) to the equations of motion (3) and A(s).

LNF-64/55 writes the undamped, unforced betatron motion as the Euler-Lagrange
equations of

    L = x'^2/2 + z'^2/2 - K^2 (1-n) x^2/2 - K^2 n z^2/2 + M x z
        + H (x z' - z x')/2 + sigma K p x                              (1)

Here ``x`` is radial, ``z`` vertical, primes are d/ds. This module derives,
with :func:`sympy.calculus.euler.euler_equations`:

- the equations of motion in the form (3), y'' + D y' + K y = (forcing), and
  from them the 2x2 matrices ``K`` and ``D`` (torsion ``H`` included, the
  radiation damping ``D_rad`` added by hand as the paper does in §2);
- the 4x4 matrix ``A(s)`` of §4 (d y_hat/ds = A y_hat + b p);
- the closed-orbit forcing vector ``b``;
- the thin edge kicks of a solenoid (stepwise ``H`` has ``H' = Delta H delta(s)``);
- the quadrupole limit K -> 0 of the bend terms.

Conventions settled here (used by :mod:`coupled_beam.lattice`)
---------------------------------------------------------------
* **x points outward** (away from the centre of curvature), z up, s along the
  beam, (x, z, s) right-handed; K = 1/rho > 0 for a bend to the inside.
  A particle with more energy (p > 0) then sits outside: x'' + K^2(1-n) x = +K p,
  which is the Lagrangian term ``+K p x`` (``sigma = +1``). The paper prints
  ``-K p x``: that is the same physics only with x measured inward (sigma = -1);
  recorded as a check below.
* **Torsion**: the solenoid vector potential A = (B_s/2)(-z, x, 0) gives the
  term (e/p) A.v = H (x z' - z x')/2. The paper prints ``H (x z' - z' x)/2``,
  which is identically zero (erratum).
* **Quadrupole**: K^2 (1 - n) -> k1 and K^2 n -> -k1 (MAD sign: k1 > 0 focuses
  x). The limit needs K^2 n finite; the paper prints "K n finite", for which
  K^2 n -> 0 and the quadrupole would not focus at all (recorded as a check).

References
----------
LNF-64/55, eq. (1), eq. (3), §4 (definition of A(s)); the solenoid vector
potential: any text on charged-particle optics, e.g. A. Wolski, *Beam
Dynamics in High Energy Particle Accelerators* (2014), §3.

Examples
--------
>>> A = a_matrix()
>>> A.shape
(4, 4)
>>> A[1, 3]
-D12 + H
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy.calculus.euler import euler_equations

from derivations.codegen import KernelSpec
from derivations.registry import Check, Reading, Result

__all__ = [
    "SYMBOLS",
    "lagrangian",
    "printed_lagrangian",
    "equations_of_motion",
    "k_matrix",
    "d_matrix",
    "a_matrix",
    "forcing_vector",
    "solenoid_edge_kick",
    "quadrupole_limit",
    "kernel_specs",
    "results",
    "equation_checks",
]

s = sp.Symbol("s", real=True)
K, n, M, p = sp.symbols("K n M p", real=True)
k1 = sp.Symbol("k1", real=True)
H0, dH = sp.symbols("H dH", real=True)
D11, D12, D21, D22 = sp.symbols("D11 D12 D21 D22", real=True)
x = sp.Function("x", real=True)(s)
z = sp.Function("z", real=True)(s)
Hf = sp.Function("H", real=True)(s)

#: the symbols of this module, by name (for users and tests)
SYMBOLS = {
    "s": s, "K": K, "n": n, "M": M, "p": p, "H": H0, "dH": dH, "k1": k1,
    "D11": D11, "D12": D12, "D21": D21, "D22": D22,
}


def lagrangian(sigma: int = 1, torsion: sp.Expr | None = None) -> sp.Expr:
    """The Lagrangian (1) with the physically right torsion term.

    Parameters
    ----------
    sigma : {1, -1}
        Orientation of x: +1 outward (this toolkit), -1 inward (the printed sign
        of the K p x term).
    torsion : sympy.Expr, optional
        H as a function of s; default the undefined function ``H(s)`` (so that
        its derivative, the solenoid edge, is kept).

    Returns
    -------
    sympy.Expr
        L(x, x', z, z', s).

    References
    ----------
    LNF-64/55, eq. (1).

    Examples
    --------
    >>> lagrangian().coeff(p)
    K*x(s)
    """
    H = Hf if torsion is None else torsion
    xp, zp = x.diff(s), z.diff(s)
    return (xp**2 / 2 + zp**2 / 2 - K**2 * (1 - n) * x**2 / 2 - K**2 * n * z**2 / 2
            + M * x * z + H * (x * zp - z * xp) / 2 + sigma * K * p * x)


def printed_lagrangian() -> sp.Expr:
    """The Lagrangian (1) exactly as printed: ``H (x z' - z' x)/2`` and ``-K p x``.

    Returns
    -------
    sympy.Expr
        The printed L; sympy already cancels the torsion term to zero.

    References
    ----------
    LNF-64/55, eq. (1).

    Examples
    --------
    >>> printed_lagrangian().has(sp.Function("H"))
    False
    """
    xp, zp = x.diff(s), z.diff(s)
    return (xp**2 / 2 + zp**2 / 2 - K**2 * (1 - n) * x**2 / 2 - K**2 * n * z**2 / 2
            + M * x * z + Hf * (x * zp - zp * x) / 2 - K * p * x)


@lru_cache(maxsize=None)
def equations_of_motion(sigma: int = 1) -> tuple[sp.Expr, sp.Expr]:
    """Euler-Lagrange equations of (1), solved for x'' and z''.

    Parameters
    ----------
    sigma : {1, -1}
        Orientation of x (see :func:`lagrangian`).

    Returns
    -------
    (sympy.Expr, sympy.Expr)
        Left-hand sides ``x'' + ... - forcing`` and ``z'' + ...``, each equal to 0,
        with unit coefficient of the second derivative.

    References
    ----------
    LNF-64/55, eq. (1) -> eq. (3).

    Examples
    --------
    >>> ex, ez = equations_of_motion()
    >>> sp.expand(ex).coeff(p)
    -K
    """
    eqs = euler_equations(lagrangian(sigma), [x, z], s)
    out = []
    for eq, y in zip(eqs, (x, z)):
        lhs = sp.expand(eq.rhs - eq.lhs)  # d/ds dL/dy' - dL/dy = 0
        lhs = sp.expand(lhs / lhs.coeff(y.diff(s, 2)))
        out.append(lhs)
    return tuple(out)


def _coefficients(sigma: int = 1):
    ex, ez = equations_of_motion(sigma)
    ys = (x, z)
    Kmat = sp.Matrix(2, 2, lambda r, t: sp.expand(
        [ex, ez][r]).coeff(ys[t]).subs(p, 0))
    Dmat = sp.Matrix(2, 2, lambda r, t: sp.expand([ex, ez][r]).coeff(ys[t].diff(s)))
    force = sp.Matrix([-sp.expand(e).coeff(p) * p for e in (ex, ez)])
    return Kmat, Dmat, force


def k_matrix(stepwise: bool = True) -> sp.Matrix:
    """The focusing matrix K of eq. (3), read off the Euler-Lagrange equations.

    Parameters
    ----------
    stepwise : bool
        True: inside a piece of constant H (H' = 0), the form the lattice uses.
        False: keep the H'(s) terms (delta functions at solenoid edges).

    Returns
    -------
    sympy.Matrix
        2x2, rows/columns (x, z).

    References
    ----------
    LNF-64/55, eq. (3).

    Examples
    --------
    >>> k_matrix()
    Matrix([
    [-K**2*n + K**2,   -M],
    [            -M, K**2*n]])
    """
    Kmat, _, _ = _coefficients()
    if not stepwise:
        return Kmat.applyfunc(sp.expand)
    return Kmat.subs(Hf.diff(s), 0).subs(Hf, H0).applyfunc(sp.expand)


def d_matrix(radiation: bool = True) -> sp.Matrix:
    """The velocity matrix D of eq. (3): torsion terms plus radiation damping.

    The Lagrangian gives the antisymmetric torsion part; the radiation damping
    ``D_rad = [[D11, D12], [D21, D22]]`` of §2 is added to it.

    Parameters
    ----------
    radiation : bool
        Include the symbols D11, D12, D21, D22 of radiation damping.

    Returns
    -------
    sympy.Matrix
        2x2.

    References
    ----------
    LNF-64/55, eq. (3), §2.

    Examples
    --------
    >>> d_matrix(radiation=False)
    Matrix([
    [0, -H],
    [H,  0]])
    """
    _, Dmat, _ = _coefficients()
    Dmat = Dmat.subs(Hf, H0)
    if radiation:
        Dmat = Dmat + sp.Matrix([[D11, D12], [D21, D22]])
    return Dmat


def forcing_vector() -> sp.Matrix:
    """The closed-orbit forcing b of d y_hat/ds = A y_hat + b p (x outward).

    Returns
    -------
    sympy.Matrix
        4x1 column, (0, K, 0, 0).

    References
    ----------
    LNF-64/55, eq. (1) (the K p x term), eq. (2).

    Examples
    --------
    >>> list(forcing_vector())
    [0, K, 0, 0]
    """
    _, _, force = _coefficients()
    return sp.Matrix([0, force[0] / p, 0, force[1] / p])


def a_matrix(Kmat: sp.Matrix | None = None, Dmat: sp.Matrix | None = None) -> sp.Matrix:
    """The 4x4 A(s) of §4 built from K and D of eq. (3).

    Parameters
    ----------
    Kmat, Dmat : sympy.Matrix, optional
        2x2 matrices; default :func:`k_matrix` and :func:`d_matrix`.

    Returns
    -------
    sympy.Matrix
        A with d y_hat/ds = A y_hat, y_hat = (x, x', z, z').

    References
    ----------
    LNF-64/55, §4 (A(s)).

    Examples
    --------
    >>> a_matrix(sp.eye(2), sp.zeros(2))[1, :]
    Matrix([[-1, 0, 0, 0]])
    """
    Kmat = k_matrix() if Kmat is None else Kmat
    Dmat = d_matrix() if Dmat is None else Dmat
    A = sp.zeros(4, 4)
    A[0, 1] = 1
    A[2, 3] = 1
    for r in range(2):
        for t in range(2):
            A[2 * r + 1, 2 * t] = -Kmat[r, t]
            A[2 * r + 1, 2 * t + 1] = -Dmat[r, t]
    return A


@lru_cache(maxsize=None)
def solenoid_edge_kick() -> sp.Matrix:
    """Thin map across a step dH of the torsion (solenoid entrance: dH = H, exit: -H).

    With H(s) = H_before + dH Heaviside(s), the equations of motion carry
    H'(s) = dH delta(s) in K; integrating them over (-eps, eps) with y continuous
    gives the jump of y' only.

    Returns
    -------
    sympy.Matrix
        4x4 thin map in (x, x', z, z').

    References
    ----------
    LNF-64/55, eq. (1) with stepwise H (§1: "K, n, M, H stepwise").

    Examples
    --------
    >>> solenoid_edge_kick()
    Matrix([
    [    1, 0,    0, 0],
    [    0, 1, dH/2, 0],
    [    0, 0,    1, 0],
    [-dH/2, 0,    0, 1]])
    """
    eps = sp.Symbol("epsilon", positive=True)
    Hb = sp.Symbol("H_b", real=True)
    x0, z0 = sp.symbols("x0 z0", real=True)
    Kfull, _, _ = _coefficients()
    Hstep = Hb + dH * sp.Heaviside(s)
    kick = sp.eye(4)
    ys = (x0, z0)
    for r in range(2):
        # y_r'' = -sum_t K_rt y_t - ...; only the H' (delta) part survives the integral
        rhs = -sum(Kfull[r, t] * ys[t] for t in range(2))
        rhs = rhs.subs(Hf.diff(s), Hstep.diff(s)).subs(Hf, Hstep).doit()
        jump = sp.integrate(rhs, (s, -eps, eps))
        jump = sp.limit(jump, eps, 0)
        for t in range(2):
            kick[2 * r + 1, 2 * t] = sp.expand(jump).coeff(ys[t])
    return kick


def quadrupole_limit() -> tuple[sp.Expr, sp.Expr]:
    """K11 and K22 of a quadrupole: K -> 0 with K^2 n = -k1 held finite.

    Returns
    -------
    (sympy.Expr, sympy.Expr)
        (K11, K22) = (k1, -k1), MAD sign convention (k1 > 0 focuses x).

    References
    ----------
    LNF-64/55, §1 ("when quadrupoles are to be described, the limits ...").

    Examples
    --------
    >>> quadrupole_limit()
    (k1, -k1)
    """
    Kmat = k_matrix()
    out = []
    for entry in (Kmat[0, 0], Kmat[1, 1]):
        out.append(sp.limit(entry.subs(n, -k1 / K**2), K, 0))
    return tuple(out)


def _printed_quadrupole_limit() -> sp.Expr:
    """K11 under the limit as printed: K -> 0 with K n = c finite."""
    c = sp.Symbol("c", real=True)
    return sp.limit(k_matrix()[0, 0].subs(n, c / K), K, 0)


def kernel_specs() -> list[KernelSpec]:
    """Generated kernels: A(s) of a piece, the forcing b, the edge kick, the quad limit.

    Returns
    -------
    list of KernelSpec

    Examples
    --------
    >>> [k.name for k in kernel_specs()]
    ['a_matrix_entries', 'a_from_kd_entries', 'forcing_entries', 'edge_kick_entries', 'quadrupole_focusing']
    """
    A = a_matrix()
    b = forcing_vector()
    E = solenoid_edge_kick()
    k11, k22 = quadrupole_limit()
    kd = sp.symbols("K11 K12 K21 K22 D11 D12 D21 D22", real=True)
    Kg = sp.Matrix(2, 2, kd[:4])
    Dg = sp.Matrix(2, 2, kd[4:])
    return [
        KernelSpec(
            "a_matrix_entries", (K, n, M, H0, D11, D12, D21, D22), tuple(A),
            "The 16 entries (row-major) of A(s) for a piece with curvature K (1/m),\n"
            "field index n, skew M (1/m^2), torsion H (1/m), radiation damping D (1/m).\n"
            "Coordinates (x, x', z, z'), x outward.",
            "LNF-64/55 eq. (1), (3), §4"),
        KernelSpec(
            "a_from_kd_entries", tuple(kd), tuple(a_matrix(Kg, Dg)),
            "The 16 entries (row-major) of A(s) from given 2x2 K (1/m^2) and D (1/m)\n"
            "of eq. (3), arguments K11, K12, K21, K22, D11, D12, D21, D22.",
            "LNF-64/55 §4"),
        KernelSpec(
            "forcing_entries", (K,), tuple(b),
            "Closed-orbit forcing b (4 entries) of dy/ds = A y + b p, x outward.",
            "LNF-64/55 eq. (1), (2)"),
        KernelSpec(
            "edge_kick_entries", (dH,), tuple(E),
            "The 16 entries of the thin map across a torsion step dH (1/m).",
            "LNF-64/55 eq. (1), stepwise H"),
        KernelSpec(
            "quadrupole_focusing", (k1,), (k11, k22),
            "(K11, K22) of a quadrupole of strength k1 (1/m^2, k1 > 0 focuses x).",
            "LNF-64/55 §1, quadrupole limit"),
    ]


def results() -> list[Result]:
    """Closed forms for ``coupled-beam derive``.

    Returns
    -------
    list of Result

    Examples
    --------
    >>> [r.name for r in results()][:3]
    ['lagrangian', 'equations-of-motion', 'K-matrix']
    """
    ex, ez = equations_of_motion()
    return [
        Result("lagrangian", lagrangian().subs(Hf, H0),
               "Lagrangian (1), corrected torsion term, x outward", "LNF-64/55 eq. (1)"),
        Result("equations-of-motion", (sp.Eq(ex, 0), sp.Eq(ez, 0)),
               "Euler-Lagrange equations of (1): y'' + D y' + K y - b p = 0", "LNF-64/55 eq. (3)"),
        Result("K-matrix", k_matrix(stepwise=False),
               "focusing matrix K of (3); H' terms are solenoid edges", "LNF-64/55 eq. (3)"),
        Result("D-matrix", d_matrix(),
               "velocity matrix D of (3): torsion plus radiation damping", "LNF-64/55 eq. (3)"),
        Result("A-matrix", a_matrix(), "4x4 A(s): dy/ds = A y, y = (x, x', z, z')",
               "LNF-64/55 §4"),
        Result("closed-orbit-forcing", forcing_vector(), "b in dy/ds = A y + b p (x outward)",
               "LNF-64/55 eq. (1), (2)"),
        Result("solenoid-edge-kick", solenoid_edge_kick(),
               "thin map across a torsion step dH (entrance dH = H, exit dH = -H)",
               "LNF-64/55 eq. (1)"),
        Result("quadrupole-limit", quadrupole_limit(),
               "(K11, K22) for K -> 0 with K^2 n = -k1 finite", "LNF-64/55 §1"),
    ]


def equation_checks() -> list[Check]:
    """Printed forms of §1 against their derivations.

    Returns
    -------
    list of Check

    Examples
    --------
    >>> [c.equation for c in equation_checks()]
    ['(1) torsion term', '(1) closed-orbit term -Kpx', '(1) quadrupole limit']
    """
    xp, zp = x.diff(s), z.diff(s)
    # -- torsion: (e/P) A.r' with the solenoid's A = (1/2) B x r, B = B_s s_hat, in (x, z, s)
    Bs = sp.Symbol("B_s", real=True)
    r_vec = sp.Matrix([x, z, 0])
    A_vec = sp.Matrix([0, 0, Bs]).cross(r_vec) / 2
    derived_torsion = sp.expand((A_vec.dot(sp.Matrix([xp, zp, 1])) * Hf / Bs))
    printed_torsion = Hf * (x * zp - zp * x) / 2          # sympy: identically 0
    read_torsion = Hf * (x * zp - z * xp) / 2             # the prime on x, not on z
    # (3) inherits it: K and D of the printed, the read and the derived Lagrangian
    printed_L = printed_lagrangian()
    read_L = printed_L + read_torsion
    derived_kd = sp.Matrix.hstack(k_matrix(), d_matrix(radiation=False))

    def kd(L):
        Km, Dm, _ = _coefficients_from(L)
        return sp.Matrix.hstack(Km, Dm).subs(Hf.diff(s), 0).subs(Hf, H0)

    # -- closed orbit: linearise the exact median-plane motion, x outward from the
    # centre of curvature: x'' = K (1 + K x) - (1 + K x)^2 K (1 - n K x) / (1 + p)
    eps = sp.Symbol("epsilon")
    X0, P0 = sp.symbols("X0 P0", real=True)
    exact = K * (1 + K * X0) - (1 + K * X0) ** 2 * K * (1 - n * K * X0) / (1 + P0)
    scaled = exact.subs({X0: eps * X0, P0: eps * P0})    # first order in (x, p):
    linear = sp.expand(scaled.subs(eps, 0) + sp.diff(scaled, eps).subs(eps, 0))
    c = linear.coeff(P0)                                   # x'' = ... + c p
    # a Lagrangian term a p x gives d/ds dL/dx' - dL/dx = 0 -> x'' = ... + a p, so a = c
    derived_force = c * p * x
    inward = {x: -x}                                       # x measured towards the centre
    # -- quadrupole limit, as printed ("K n finite") and read ("K^2 n finite")
    cq = sp.Symbol("c", real=True)
    read_limit = tuple(sp.limit(e.subs(n, cq / K**2), K, 0).subs(cq, -k1)
                       for e in (k_matrix()[0, 0], k_matrix()[1, 1]))
    printed_limit = tuple(sp.limit(e.subs(n, cq / K), K, 0)
                          for e in (k_matrix()[0, 0], k_matrix()[1, 1]))
    return [
        Check("(1) torsion term", "§1", (printed_torsion, kd(printed_L)),
              (derived_torsion, derived_kd),
              "(e/P) A.r' with the solenoid potential A = (B_s/2) s x r gives H(xz' - zx')/2; "
              "printed H(xz' - z'x)/2 is identically 0, so the printed (1) gives no torsion "
              "in D of (3) (derived D12 = -H, D21 = H)",
              reading=Reading("misprint", "z'x", "zx'", (read_torsion, kd(read_L)),
                              "paper or transcription",
                              "the antisymmetric pair xz' - zx' is the angular momentum "
                              "the torsion H couples to; z'x repeats xz'"),
              recurs=("(3): D of the printed (1) has no torsion",)),
        Check("(1) closed-orbit term -Kpx", "§1", -K * p * x, derived_force,
              "linearised median-plane motion with x outward gives x'' + K^2(1-n)x = +Kp, "
              "i.e. the Lagrangian term +Kpx (p > 0 sits outside, xi > 0 in a bend)",
              reading=Reading("convention", "x outward (this toolkit)",
                              "x measured inward, towards the centre of curvature",
                              derived_force.subs(inward), "",
                              "the paper calls x 'radial' without a direction")),
        Check("(1) quadrupole limit", "§1", printed_limit, quadrupole_limit(),
              "a quadrupole needs K^2(1-n) -> k1 and K^2 n -> -k1; with K n finite K^2 n -> 0 "
              "and the limit has no focusing at all",
              reading=Reading("misprint", "K n -> (finite)", "K^2 n -> (finite) = -k1",
                              read_limit, "paper or transcription",
                              "K^2 n is the vertical focusing of (1); a lost superscript 2")),
    ]


def _coefficients_from(L: sp.Expr):
    eqs = euler_equations(L, [x, z], s)
    rows = []
    for eq, y in zip(eqs, (x, z)):
        lhs = sp.expand(eq.rhs - eq.lhs)
        rows.append(sp.expand(lhs / lhs.coeff(y.diff(s, 2))))
    ys = (x, z)
    Kmat = sp.Matrix(2, 2, lambda r, t: rows[r].coeff(ys[t]).subs(p, 0))
    Dmat = sp.Matrix(2, 2, lambda r, t: rows[r].coeff(ys[t].diff(s)))
    return Kmat, Dmat, None
