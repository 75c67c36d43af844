"""§1/§4: element maps exp(A6 L) in closed form, six coordinates (x, x', z, z', delta, l).

Everything here is derived from the generator of :mod:`derivations.equations_of_motion`:

    d X/ds = A6 X,   X = (x, x', z, z', delta, l),

with rows/columns 0..3 the paper's A(s) (x outward, z up; K = 1/rho, gradient
k1 = -n K^2: horizontal focusing K^2 + k1, vertical -k1; skew M; torsion H),
column 4 the closed-orbit forcing b = (0, K, 0, 0) of the K p x term, and
row 5 the path lengthening dl/ds = K x, which is *derived* below as the one
row that makes A6 Hamiltonian (J A6 symmetric, J = blockdiag(J2, J2, J2),
J2 = [[0, 1], [-1, 0]]) and checked against the geometry (ds_orbit = (1 + K x) ds).

Closed forms (no expm, no branch that loses digits, no complex numbers):

* **uncoupled pieces** (drift, quadrupole, combined-function sector bend): the
  generator splits into planes; each plane block G has characteristic
  polynomial lambda^p (lambda^2 + k), so by Cayley-Hamilton G^(p+2) = -k G^p and

      exp(G L) = sum_{j<p} (G L)^j / j! + L^p c_p(u) G^p + L^(p+1) c_(p+1)(u) G^(p+1),

  u = k L^2, with the entire Stumpff functions c_n of :mod:`derivations.stumpff`
  (k of either sign, k -> 0 included). Each entry is then put in canonical form
  by :func:`derivations.stumpff.to_stumpff` (e.g. 1 - u c_2(u) -> c_0(u)), so no
  entry cancels at small or large u;
* **thick skew quadrupole**: the rotation R(pi/4) of (x, z) diagonalises the
  generator into planes of focusing -M and +M; the map is R(-pi/4) diag(F(-M), F(M))
  R(pi/4), and differences c_n(-u) - c_n(u) are rewritten as 2 u d_n(u)
  (cancellation-free at small u);
* **solenoid** (edges included, as :class:`coupled_beam.elements.Solenoid`): in the
  frame rotating with the Larmor angle H s/2 (rotated *after* the exit-type edge
  kick) the motion is two uncoupled planes of focusing H^2/4; the map is
  rotation6(H L / 2) diag(F, F), F the 2x2 map of focusing H^2/4 (the sign of the
  frame's rotation is derived, not assumed: sigma = -1 in :func:`map6_solenoid`);
* **thin kicks**: the limit L -> 0 of L A6 at fixed k1 L, M L (nilpotent, exp = 1 + N).

Radiation (first order in C_gamma E^3, the standard linear model; see
:func:`damping_generator` for how emission changes x', z' in these coordinates):
the bend's damping dM = int_0^L M(L <- s) D6 M(s <- 0) ds, the quantum-noise
integral G = int_0^L |K|^3 w w^T ds with w = M(L <- s) e_delta (exact in-bend
dispersion), and the radiation integrals I1...I5 of one bend from its entrance
Twiss and dispersion: all elementary integrals of products of trigonometric
functions, done exactly (:func:`derivations.stumpff.integrate_trig`) and
rewritten into Stumpff functions.

Conventions of the generated kernels (H2 codes against these)
-------------------------------------------------------------
* Every ``map6_*`` returns 36 entries, row-major, of a 6x6 matrix acting on
  column vectors (x, x', z, z', delta, l); constant entries are Python ints
  (stack with ``numpy.broadcast_arrays``). Lengths in m, K in 1/m, k1 and M in
  1/m^2, H in 1/m, angles in rad.
* l: path lengthening, dl/ds = +K x (same sign as pyAT's 6th coordinate ct).
* A rolled element: ``rotation6(-tilt) @ M @ rotation6(tilt)`` (pyAT tilt_elem: R1 =
  rotation6(tilt) on entry, R2 = R1^T on exit; MAD-X TILT).
* A bend with faces: ``map6_edge(K, e2, fint_gap2) @ map6_bend(L, K, k1) @
  map6_edge(K, e1, fint_gap1)`` (the same edge map at entrance and exit, MAD-X/pyAT).

References
----------
LNF-64/55, eq. (1), (3), §1, §4; K. L. Brown, SLAC-75 (1982) (edges);
M. Sands, SLAC-121 (1970) ch. 4-5 (radiation); C. F. Van Loan, IEEE TAC 23 (1978) 395.

Examples
--------
>>> m = map6_bend()
>>> m[0, 4]
K*L**2*stumpff(2, L**2*(K**2 + k1))
>>> m[5, 4]
K**2*L**3*stumpff(3, L**2*(K**2 + k1))
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import sympy as sp

from derivations import equations_of_motion as eom
from derivations.codegen import KernelSpec
from derivations.registry import Result
from derivations.stumpff import (closed_form, helper_specs, integrate_trig, stumpff,
                                 stumpff_d, to_stumpff)

__all__ = [
    "SYMBOLS", "generator6", "path_length_row", "symplectic_form", "map6_bend", "map6_drift",
    "map6_quadrupole", "map6_solenoid", "map6_skew_quadrupole", "map6_thin", "map6_edge",
    "map6_rfcavity", "rotation6", "damping_generator", "damping6_bend", "damping6_edge",
    "noise6_bend", "radiation_integrals_bend", "kernel_specs", "results",
]

K = eom.SYMBOLS["K"]
M = eom.SYMBOLS["M"]
H = eom.SYMBOLS["H"]
k1 = eom.SYMBOLS["k1"]
L = sp.Symbol("L", positive=True)
s = sp.Symbol("s", positive=True)
tilt = sp.Symbol("tilt", real=True)
k1l, k1sl = sp.symbols("k1l k1sl", real=True)
e, e1, e2, fint_gap = sp.symbols("e e1 e2 fint_gap", real=True)
k_rf = sp.Symbol("k_rf", real=True)
beta0 = sp.Symbol("beta0", positive=True)
alpha0, eta0, etap0 = sp.symbols("alpha0 eta0 etap0", real=True)
_theta = sp.Symbol("theta", positive=True)
_omega = sp.Symbol("omega", positive=True)
_lam = sp.Symbol("lambda")

#: the symbols of this module, by name
SYMBOLS = {str(x): x for x in (K, M, H, k1, L, s, tilt, k1l, k1sl, e, e1, e2, fint_gap, k_rf,
                               beta0, alpha0, eta0, etap0)}


# ------------------------------------------------------------------ generator
def symplectic_form() -> sp.Matrix:
    """J = blockdiag(J2, J2, J2), J2 = [[0, 1], [-1, 0]]: pairs (x,x'), (z,z'), (delta,l).

    Examples
    --------
    >>> symplectic_form()[4, 5]
    1
    """
    J2 = sp.Matrix([[0, 1], [-1, 0]])
    return sp.diag(J2, J2, J2)


@lru_cache(maxsize=None)
def path_length_row() -> tuple:
    """Row 5 of A6 (dl/ds) derived from the Hamiltonian condition A6^T J + J A6 = 0.

    Given the paper's 4x4 A(s) and the forcing column b, the path-length row
    is the unique row r (with d delta/ds = 0 and nothing depending on l) that
    makes A6 Hamiltonian, up to dl/ddelta, which the condition leaves free: that
    is the speed slip -delta/gamma^2, zero for ultra-relativistic particles
    (beta_s = 1, as in (1)). It equals the geometric K x (ds_orbit = (1 + K x) ds).

    Returns
    -------
    tuple
        (dl/dx, dl/dx', dl/dz, dl/dz', dl/ddelta).

    Examples
    --------
    >>> path_length_row()
    (K, 0, 0, 0, 0)
    """
    r = sp.symbols("r0:5")
    A = _generator_without_l(K, k1, M, H)
    for j in range(5):
        A[5, j] = r[j]
    J = symplectic_form()
    cond = A.T * J + J * A
    sol = sp.solve([c for c in cond if c != 0], r, dict=True)
    if len(sol) != 1:
        raise ValueError(f"path-length row not unique: {sol}")
    # the condition leaves dl/ddelta free (a delta^2 term of the Hamiltonian): it is the
    # speed slip -delta/gamma^2, zero for ultra-relativistic particles (beta_s = 1 in (1))
    row = tuple(sp.expand(sol[0].get(x, x)).subs(r[4], 0) for x in r)
    if row != (K, 0, 0, 0, 0):   # geometry: dl/ds = (1 + K x) - 1
        raise ValueError(f"path-length row {row} differs from the geometric K x")
    return row


def _generator_without_l(Kv, k1v, Mv, Hv) -> sp.Matrix:
    A4 = eom.a_matrix(eom.k_matrix(), eom.d_matrix(radiation=False))
    b = eom.forcing_vector()
    A = sp.zeros(6, 6)
    A[:4, :4] = A4
    A[:4, 4] = b
    A = A.subs(eom.SYMBOLS["n"], -k1 / K**2).applyfunc(sp.expand)
    return A.subs({K: Kv, k1: k1v, M: Mv, H: Hv}, simultaneous=True)


def generator6(Kv=K, k1v=k1, Mv=M, Hv=H) -> sp.Matrix:
    """A6 of a piece with constant K, k1 = -n K^2, M, H (no radiation).

    Examples
    --------
    >>> generator6()[1, :]
    Matrix([[-K**2 - k1, 0, M, H, K, 0]])
    """
    A = _generator_without_l(Kv, k1v, Mv, Hv)
    row = path_length_row()
    for j in range(5):
        A[5, j] = row[j].subs(K, Kv)
    return A


# ------------------------------------------------------------ exponentials
def _components(A: sp.Matrix) -> list[list[int]]:
    """Index sets of the uncoupled blocks of A (connected components of its pattern)."""
    n = A.rows
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i
    for i in range(n):
        for j in range(n):
            if A[i, j] != 0:
                parent[find(i)] = find(j)
    groups: dict = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def _cayley_hamilton_exp(G: sp.Matrix, length: sp.Expr):
    """exp(G L) for a block with characteristic polynomial lambda^p (lambda^2 + k) or lambda^p.

    Returns (E, k) with E in terms of c_p(k L^2), c_(p+1)(k L^2); k None if G is nilpotent.
    """
    n = G.rows
    cp = sp.Poly(sp.expand((_lam * sp.eye(n) - G).det()), _lam)
    coeffs = cp.all_coeffs()[::-1]            # ascending powers
    p = next(i for i, c in enumerate(coeffs) if sp.expand(c) != 0)
    rest = sp.expand(sp.cancel(cp.as_expr() / _lam**p))
    powers = [sp.eye(n)]
    for _ in range(p + 1):
        powers.append((powers[-1] * G).applyfunc(sp.expand))
    E = sp.zeros(n, n)
    for j in range(min(p, n)):
        E += powers[j] * length**j / factorial(j)
    if rest == 1:                              # nilpotent: G^p = 0
        return E, None
    k = rest.coeff(_lam, 0)
    if sp.expand(rest - _lam**2 - k) != 0:
        raise ValueError(f"block polynomial {rest} is not lambda^2 + k")
    u = sp.expand(k * length**2)
    E += length**p * stumpff(p, u) * powers[p] + length**(p + 1) * stumpff(p + 1, u) * powers[p + 1]
    return E, k


def _canonical(entry: sp.Expr, k: sp.Expr, var: sp.Symbol, length: sp.Expr) -> sp.Expr:
    """Canonical Stumpff form of one entry: to trigonometric form (k = theta^2/L^2) and back."""
    entry = sp.expand(entry)
    if not entry.has(stumpff):
        return entry
    sol = sp.solve(sp.Eq(k, _theta**2 / length**2), var)
    if len(sol) != 1:
        raise ValueError(f"cannot solve {k} = theta^2/L^2 for {var}")
    trig = entry.subs(var, sol[0]).replace(
        stumpff, lambda n, x: closed_form(int(n), sp.sqrt(sp.factor(x))))
    return to_stumpff(trig, _theta, k, length)


def _plane_exp(A: sp.Matrix, length: sp.Expr, var: sp.Symbol | None) -> sp.Matrix:
    """exp(A L) block by block, each entry canonical; var: the symbol solved for k."""
    out = sp.zeros(A.rows, A.cols)
    for idx in _components(A):
        G = A.extract(idx, idx)
        E, k = _cayley_hamilton_exp(G, length)
        if k is not None and var is not None:
            E = E.applyfunc(lambda x: _canonical(x, k, var, length))
        for a, i in enumerate(idx):
            for b, j in enumerate(idx):
                out[i, j] = sp.expand(E[a, b])
    return out


@lru_cache(maxsize=None)
def map6_bend() -> sp.Matrix:
    """Combined-function sector bend (no faces): exp(A6 L) with K, k1.

    Returns
    -------
    sympy.Matrix
        6x6 in L, K, k1; c_n(u) with u = (K^2 + k1) L^2 (x) and -k1 L^2 (z).

    References
    ----------
    LNF-64/55 eq. (1), §4; Cayley-Hamilton on each plane.

    Examples
    --------
    >>> map6_bend()[0, 0]
    stumpff(0, L**2*(K**2 + k1))
    """
    return _plane_exp(generator6(K, k1, 0, 0), L, k1).applyfunc(_tidy)


@lru_cache(maxsize=None)
def map6_quadrupole() -> sp.Matrix:
    """Quadrupole, k1 > 0 focusing x (the K -> 0 generator of §1, its own derivation).

    Examples
    --------
    >>> map6_quadrupole()[3, 2]
    L*k1*stumpff(1, -L**2*k1)
    """
    return _plane_exp(generator6(0, k1, 0, 0), L, k1).applyfunc(_tidy)


@lru_cache(maxsize=None)
def map6_drift() -> sp.Matrix:
    """Drift: exp(A6 L) with everything zero (nilpotent generator).

    Examples
    --------
    >>> map6_drift()[0, 1], map6_drift()[5, 1]
    (L, 0)
    """
    return _plane_exp(generator6(0, 0, 0, 0), L, None)


def _tidy(x: sp.Expr) -> sp.Expr:
    """Factored Stumpff arguments and, per product of Stumpff functions, a factored coefficient.

    The second step is a cancellation-removing rewrite: K^4 c - K^2 (K^2 + k1) c
    becomes -K^2 k1 c (exact where the entry vanishes with k1 - e.g. dM[0, 0] of a
    bend - instead of two O(1) terms cancelling).
    """
    x = sp.expand(x)
    atoms = sorted(x.atoms(stumpff, stumpff_d), key=str)
    if not atoms:
        return sp.factor(x) if x != 0 else x
    poly = sp.Poly(x, *atoms)
    out = sp.S.Zero
    for monom, coeff in poly.terms():
        term = sp.factor(coeff)
        for a, p in zip(atoms, monom):
            term *= a**p
        out += term
    return out.replace(stumpff, lambda n, a: stumpff(n, sp.factor(a)))


def _rotation_generator() -> sp.Matrix:
    """Generator of a roll of the frame about s: d(x, z)/dtilt = (z, -x), slopes alike."""
    W = sp.zeros(6, 6)
    W[0, 2] = W[1, 3] = 1
    W[2, 0] = W[3, 1] = -1
    return W


@lru_cache(maxsize=None)
def rotation6(angle: sp.Expr = tilt) -> sp.Matrix:
    """Frame roll by ``angle`` about s: exp(angle W); pyAT's R1 = rotation6(tilt).

    x_new = cos(t) x + sin(t) z, z_new = -sin(t) x + cos(t) z (slopes alike).

    Examples
    --------
    >>> rotation6()[0, 2], rotation6()[2, 0]
    (sin(tilt), -sin(tilt))
    """
    t = sp.Symbol("t", positive=True)
    R = _plane_exp(_rotation_generator() * t, 1, None)
    # c0(t^2) = cos t, t c1(t^2) = sin t: even / odd in t, so valid for every sign of t
    R = R.replace(stumpff, lambda n, x: closed_form(int(n), sp.sqrt(x))).applyfunc(sp.simplify)
    return R.subs(t, angle)


@lru_cache(maxsize=None)
def map6_thin() -> sp.Matrix:
    """Thin normal + skew quadrupole: lim_{L->0} exp(A6(k1 = k1l/L, M = k1sl/L) L).

    L A6 tends to a nilpotent N (N^2 = 0), so the map is exactly 1 + N:
    x' -= k1l x, z' += k1l z, x' += k1sl z, z' += k1sl x (the §5 thin skew has k1sl = m).

    Examples
    --------
    >>> m = map6_thin()
    >>> m[1, 0], m[1, 2], m[3, 0], m[3, 2]
    (-k1l, k1sl, k1sl, k1l)
    """
    N = (generator6(0, k1l / L, k1sl / L, 0) * L).applyfunc(lambda x: sp.limit(x, L, 0))
    if N * N != sp.zeros(6, 6):
        raise ValueError("thin-lens generator is not nilpotent of order 2")
    return sp.eye(6) + N


@lru_cache(maxsize=None)
def map6_solenoid() -> sp.Matrix:
    """Solenoid of torsion H with both edge kicks: Edge(-H) exp(A6 L) Edge(H), rotating frame.

    Derivation: with T(s) = R(sigma H s / 2) Edge(-H) (R the roll of
    :func:`rotation6` on (x, x', z, z')), w = T y obeys w' = B w with B constant
    and block diagonal, B = diag(F, F), F = [[0, 1], [-H^2/4, 0]], for the sign
    sigma found here. Then y_after = Edge(-H) y(L) = R(-sigma H L/2) w(L) and
    w(0) = y_before, so the map is R(-sigma H L / 2) exp(B L); all entries are
    products of c_0, c_1 of u = H^2 L^2 / 4 (cos(HL/2) = c_0(u), sin(HL/2) = (HL/2) c_1(u)).

    Examples
    --------
    >>> map6_solenoid()[0, 0]
    stumpff(0, H**2*L**2/4)**2
    """
    A4 = generator6(0, 0, 0, H)[:4, :4]
    edge = eom.solenoid_edge_kick()
    dH = eom.SYMBOLS["dH"]

    F = sp.Matrix([[0, 1], [-H**2 / 4, 0]])
    target = sp.diag(F, F)
    for sigma in (1, -1):
        phi = sigma * H * s / 2
        Rm = sp.Matrix(4, 4, lambda i, j: sp.cos(phi) if i == j else 0)
        Rm += _rotation_generator()[:4, :4] * sp.sin(phi)
        T = Rm * edge.subs(dH, -H)
        # T^-1 = Edge(H) R(-phi): edges of opposite steps cancel, a roll's inverse is the back roll
        T_inv = edge.subs(dH, H) * Rm.subs(s, -s)

        def pyth(x, phi=phi):      # degree <= 2 in cos, sin: sin^2 = 1 - cos^2 suffices
            return sp.expand(sp.expand(x).subs(sp.sin(phi)**2, 1 - sp.cos(phi)**2))
        if (T * T_inv).applyfunc(pyth) != sp.eye(4):
            raise ValueError("T^-1 is not Edge(H) R(-phi)")
        B = ((T.diff(s) + T * A4) * T_inv).applyfunc(pyth)
        if B == target:
            break
    else:
        raise ValueError("no rotating frame decouples the solenoid")
    u = H**2 * L**2 / 4
    c0, c1 = stumpff(0, u), stumpff(1, u)
    Fmap = sp.Matrix([[c0, L * c1], [-H**2 / 4 * L * c1, c0]])
    ang = -sigma * H * L / 2          # R(ang): cos = c0(u), sin = ang c1(u)
    Rend = sp.eye(4) * c0 + _rotation_generator()[:4, :4] * ang * c1
    M4 = (Rend * sp.diag(Fmap, Fmap)).applyfunc(sp.expand)
    out = sp.eye(6)
    out[:4, :4] = M4
    return out


@lru_cache(maxsize=None)
def map6_skew_quadrupole() -> sp.Matrix:
    """Thick skew quadrupole (the M x z term): R(-pi/4) diag(F(-M), F(M)) R(pi/4).

    The roll by pi/4 makes T A T^-1 block diagonal (checked); differences
    c_n(-u) - c_n(u) (u = M L^2) are rewritten as 2 u d_n(u) (:class:`stumpff_d`).

    Examples
    --------
    >>> map6_skew_quadrupole()[0, 2]
    L**2*M*stumpff_d(0, L**2*M)
    """
    A4 = generator6(0, 0, M, 0)[:4, :4]
    T = rotation6(sp.pi / 4)[:4, :4]
    B = (T * A4 * T.inv()).applyfunc(sp.simplify)
    if any(B[i, j] != 0 for i in (0, 1) for j in (2, 3)) or any(
            B[i, j] != 0 for i in (2, 3) for j in (0, 1)):
        raise ValueError("the pi/4 roll does not decouple the skew quadrupole")
    blocks = []
    for idx in ([0, 1], [2, 3]):
        G = B.extract(idx, idx)
        E, _ = _cayley_hamilton_exp(G, L)
        blocks.append(E)
    M4 = (T.inv() * sp.diag(*blocks) * T).applyfunc(sp.expand)
    u = sp.expand(M * L**2)
    M4 = M4.applyfunc(lambda x: _pair_rewrite(x, u))
    out = sp.eye(6)
    out[:4, :4] = M4
    return out


def _pair_rewrite(x: sp.Expr, u: sp.Expr) -> sp.Expr:
    """a c_n(-u) + b c_n(u) -> (a+b)/2 (c_n(-u) + c_n(u)) + (a-b) u d_n(u) (named rewrite)."""
    x = sp.expand(x)
    out = x
    for n in range(4):
        fm, fp = stumpff(n, -u), stumpff(n, u)
        a, b = out.coeff(fm), out.coeff(fp)
        if a == 0 and b == 0:
            continue
        rest = sp.expand(out - a * fm - b * fp)
        out = (rest + sp.simplify((a + b) / 2) * (fm + fp)
               + sp.simplify((a - b) * u) * stumpff_d(n, u))
    return sp.expand(out)


@lru_cache(maxsize=None)
def map6_edge() -> sp.Matrix:
    """Hard-edge pole face of angle e (MAD-X/pyAT model, same map at entrance and exit).

    x' += K tan(e) x (the wedge of field length -x tan(e) at offset x);
    z' -= K tan(e - psi) z, psi = K fint_gap (1 + sin^2 e)/cos e (fint_gap = FINT
    times the full gap; psi = 0 gives the trace-free kick of a harmonic field).

    References
    ----------
    K. L. Brown, SLAC-75 (1982); MAD-X DIPEDGE; pyAT BndMPoleSymplectic4Pass.

    Examples
    --------
    >>> map6_edge().subs(fint_gap, 0)[3, 2]
    -K*tan(e)
    """
    psi = K * fint_gap * (1 + sp.sin(e)**2) / sp.cos(e)
    out = sp.eye(6)
    out[1, 0] = K * sp.tan(e)
    out[3, 2] = -K * sp.tan(e - psi)
    return out


@lru_cache(maxsize=None)
def map6_rfcavity() -> sp.Matrix:
    """Thin cavity, linear part: delta += k_rf l (k_rf = d(Delta E/E)/dl at the synchronous phase).

    Examples
    --------
    >>> map6_rfcavity()[4, 5]
    k_rf
    """
    N = sp.zeros(6, 6)
    N[4, 5] = k_rf
    return sp.eye(6) + N          # N^2 = 0


# ------------------------------------------------------------------ radiation
_X = [0, 1, 4, 5]      # the horizontal block (x, x', delta, l) of a bend
_Z = [2, 3]
_omega_z = sp.Symbol("omega_z", positive=True)
_tau = sp.Symbol("tau", positive=True)


@lru_cache(maxsize=None)
def damping_generator() -> sp.Matrix:
    """D6: the linear part of the radiation reaction per unit c_d = C_gamma E^3 / (2 pi).

    The emitted power of a particle of energy E_s (1 + delta) in the field
    B(x) = B0 (1 + (k1/K) x) over the orbit length ds (1 + K x) gives

        d delta/ds = -c_d K^2 (1 + delta)^2 (B/B0)^2 (1 + K x),

    and since photons leave along the direction of motion, the *momentum vector*
    shrinks by the same fraction: d(p_x/p_0)/ds = -c_d K^2 (1 + delta) (B/B0)^2
    (1 + K x) (p_x/p_0), likewise p_z. The angles dx/ds, dz/ds are unchanged by
    the emission itself; the transverse coordinates x', z' of the 6-D maps are
    p_x/p_0, p_z/p_0 (equal to dx/ds, dz/ds to first order on the design orbit,
    the linearisation pyAT tracks): the RF cavity, which restores the momentum
    along s only, is then a pure delta kick (:func:`map6_rfcavity`), and the
    vertical damping sits where the light is emitted. The Jacobian at X = 0 is D6:
    x' and z' rows -K^2 (the paper's D of (3): D11 = D22 = c_d K^2, acting on
    y'), the delta row -(K^3 + 2 K k1) x - 2 K^2 delta (with dispersion, the
    x-dependent loss feeds back on the betatron motion: the I4 terms, beyond (3)).
    The constant part -c_d K^2 is the energy loss (closed orbit, not the linear map).
    tr D6 = -4 K^2: Robinson's sum J_x + J_z + J_s = 4.

    Returns
    -------
    sympy.Matrix
        6x6 (multiply by c_d).

    References
    ----------
    M. Sands, SLAC-121 ch. 4; LNF-64/55 eq. (3), §2.

    Examples
    --------
    >>> damping_generator()[4, 0]
    -K**3 - 2*K*k1
    """
    x_, xp, z_, zp, d_ = sp.symbols("x_ xp_ z_ zp_ d_", real=True)
    field = 1 + k1 / K * x_
    rate = K**2 * field**2 * (1 + K * x_)
    f = sp.Matrix([0, -rate * (1 + d_) * xp, 0, -rate * (1 + d_) * zp, -rate * (1 + d_)**2, 0])
    X = [x_, xp, z_, zp, d_]
    D = sp.zeros(6, 6)
    at0 = {v: 0 for v in X}
    for i in range(6):
        for j, v in enumerate(X):
            D[i, j] = sp.expand(sp.diff(f[i], v).subs(at0))
    return D


def _trig_block(idx, length):
    """Block idx of the bend map at length ``length`` in trigonometric form (omega, omega_z)."""
    m = map6_bend().extract(idx, idx).subs(L, _tau)
    if idx == _X:
        m = m.subs(k1, _omega**2 - K**2)
        w = _omega
    else:
        m = m.subs(k1, -_omega_z**2)
        w = _omega_z
    m = m.replace(stumpff, lambda n, x: closed_form(int(n), w * _tau)).applyfunc(sp.expand)
    return m.subs(_tau, length), w


def _back(expr, w, plane_k):
    """Trigonometric result of an integral over the bend -> Stumpff form (theta = w L)."""
    if plane_k == "x":
        expr = expr.subs(k1, _omega**2 - K**2)
        kk = K**2 + k1
    else:
        expr = expr.subs(k1, -_omega_z**2)
        kk = -k1
    th = sp.Symbol("_th", positive=True)
    return to_stumpff(sp.expand(expr.subs(w, th / L)), th, kk, L)


@lru_cache(maxsize=None)
def damping6_bend() -> sp.Matrix:
    """dM = int_0^L M(L <- s) D6 M(s <- 0) ds: the first-order radiation change of the bend map.

    M_rad = M + c_d dM + O(c_d^2), c_d = C_gamma E^3 / (2 pi) (1/m after
    multiplying by the K^2 in D6). Exact integrals of products of
    trigonometric functions, rewritten into Stumpff functions.

    Examples
    --------
    >>> damping6_bend()[3, 3]      # z'-z': -K^2 int_0^L cos^2-type products
    -K**2*L*stumpff(0, -L**2*k1)/2 - K**2*L*stumpff(1, -L**2*k1)/2
    """
    D = damping_generator()
    out = sp.zeros(6, 6)
    for idx, plane in ((_X, "x"), (_Z, "z")):
        Ma, w = _trig_block(idx, L - s)
        Mb, _ = _trig_block(idx, s)
        Db = D.extract(idx, idx)
        if plane == "x":
            Db = Db.subs(k1, _omega**2 - K**2)
        integrand = (Ma * Db * Mb).applyfunc(sp.expand)
        for a, i in enumerate(idx):
            for b, j in enumerate(idx):
                val = integrate_trig(integrand[a, b], s, L, w) if integrand[a, b] != 0 else 0
                out[i, j] = _back(val, w, plane) if val != 0 else 0
    return out.applyfunc(_tidy)


@lru_cache(maxsize=None)
def damping6_edge() -> sp.Matrix:
    """dM of a pole face of angle e: delta += c_d K^2 tan(e) x (its wedge's energy loss).

    The wedge of :func:`map6_edge` has field length -x tan(e) at offset x; its
    loss -c_d K^2 (-x tan e) is the face term -K^2 tan(e) eta of I4.
    Bend with faces: dM_total = E2 dM_body E1 + dE2 M E1 + E2 M dE1.

    Examples
    --------
    >>> damping6_edge()[4, 0]
    K**2*tan(e)
    """
    out = sp.zeros(6, 6)
    out[4, 0] = -damping_generator()[1, 1] * sp.tan(e)     # K^2 tan(e)
    return out


@lru_cache(maxsize=None)
def noise6_bend() -> sp.Matrix:
    """G = int_0^L |K|^3 w(s) w(s)^T ds, w(s) = M(L <- s) e_delta: the bend's quantum noise.

    Photons change delta only (their angle and the momentum change along the
    orbit are neglected, first order); w is the delta column of the map from the
    emission point to the exit, so the exact in-bend dispersion (x, x', l) enters.
    One-turn noise: (4/3) C_q r_e gamma^5 times the sum of the propagated G.
    A bend with faces: G lives at the body's exit, so the element's noise is
    E2 G E2^T with E2 = map6_edge(K, e2, fint_gap2) (the faces emit nothing).

    Examples
    --------
    >>> noise6_bend()[4, 5]
    K**4*L**4*Abs(K)*stumpff(4, L**2*(K**2 + k1))
    """
    Mt, w = _trig_block(_X, _tau)
    col = Mt[:, 2]                       # delta column in block order (x, x', delta, l)
    out = sp.zeros(6, 6)
    for a, i in enumerate(_X):
        for b, j in enumerate(_X):
            if b < a:
                continue
            integrand = sp.expand(col[a] * col[b])
            val = integrate_trig(integrand, _tau, L, w)
            out[i, j] = out[j, i] = sp.Abs(K)**3 * _tidy(_back(val, w, "x"))
    return out


@lru_cache(maxsize=None)
def radiation_integrals_bend(faces: bool = True) -> tuple:
    """I1...I5 of one bend from its entrance optics, exact (no bend average, no slicing).

    Arguments (of the kernel): L, K, k1, e1, e2, beta0, alpha0, eta0, etap0 - the
    horizontal Twiss and dispersion at the element's entrance *before* the
    entrance face; the face's edge focusing (x' += K tan(e1) x: eta' += K tan(e1) eta,
    alpha -= K tan(e1) beta) is applied here. I1 = int K eta, I2 = int K^2,
    I3 = int |K|^3, I4 = int eta K (K^2 + 2 k1) - K^2 (tan(e1) eta_in + tan(e2) eta_out)
    (Sands/MAD-X face terms; ``faces=False``: without them, pyAT's tracking model),
    I5 = int |K|^3 curly-H, curly-H = gamma eta^2 + 2 alpha eta eta' + beta eta'^2.
    eta_out = eta at the exit (the exit face does not change eta).

    Examples
    --------
    >>> radiation_integrals_bend()[1]
    K**2*L
    """
    bi, ai, ei, epi = sp.symbols("b_in a_in e_in ep_in", real=True)
    Mt, w = _trig_block(_X, s)
    eta = Mt[0, 0] * ei + Mt[0, 1] * epi + Mt[0, 2]
    I1 = K * integrate_trig(sp.expand(eta), s, L, w)
    # curly-H(s) = q^T B_in^-1 q, q = M(s)^-1 (eta(s), eta'(s)) = v_in + M(s)^-1 d(s)
    m2 = Mt[:2, :2]
    d = Mt[:2, 2]
    inv = sp.Matrix([[m2[1, 1], -m2[0, 1]], [-m2[1, 0], m2[0, 0]]])      # det = 1
    q = sp.Matrix([ei, epi]) + inv * d
    Binv = sp.Matrix([[(1 + ai**2) / bi, ai], [ai, bi]])
    curly = sp.expand((q.T * Binv * q)[0, 0])
    I5 = sp.Abs(K)**3 * integrate_trig(curly, s, L, w)
    I1 = _tidy(_back(sp.expand(I1), w, "x"))
    I4 = (K**2 + 2 * k1) * I1                 # int eta K (K^2 + 2 k1) = (K^2 + 2 k1) I1
    I5 = sp.Abs(K)**3 * _tidy(_back(sp.expand(I5 / sp.Abs(K)**3), w, "x"))
    if faces:
        eta_out = map6_bend()[0, 0] * ei + map6_bend()[0, 1] * epi + map6_bend()[0, 4]
        I4 = I4 - K**2 * (sp.tan(e1) * ei + sp.tan(e2) * eta_out)
    entrance = {ei: eta0, epi: etap0 + K * sp.tan(e1) * eta0, ai: alpha0 - K * sp.tan(e1) * beta0,
                bi: beta0}
    I2 = K**2 * L
    I3 = sp.Abs(K)**3 * L
    return tuple(sp.sympify(v).subs(entrance, simultaneous=True) for v in (I1, I2, I3, I4, I5))


# ------------------------------------------------------------------ specs
def _spec(name, args, mat, doc, ref="LNF-64/55 eq. (1), (3), §4") -> KernelSpec:
    return KernelSpec(name, tuple(args), tuple(mat), doc, ref)


_MAPDOC = ("\n36 entries, row-major, of the 6x6 map on (x, x', z, z', delta, l) (x outward,\n"
           "l = path lengthening, dl/ds = K x); constant entries are ints.")


def map_specs() -> list[KernelSpec]:
    """Kernel specs of the element maps (first part of :func:`kernel_specs`)."""
    return [
        _spec("map6_drift", (L,), map6_drift(), "Drift of length L (m). " + _MAPDOC),
        _spec("map6_quadrupole", (L, k1), map6_quadrupole(),
              "Quadrupole, length L (m), k1 (1/m^2) > 0 focusing x, any sign, k1 -> 0 exact.\n"
              + _MAPDOC),
        _spec("map6_bend", (L, K, k1), map6_bend(),
              "Combined-function sector bend without faces: length L (m), curvature K = 1/rho\n"
              "(1/m), gradient k1 = -n K^2 (1/m^2); focusing K^2 + k1 in x, -k1 in z.\n"
              "Faces: map6_edge(K, e2, .) @ map6_bend @ map6_edge(K, e1, .). " + _MAPDOC),
        _spec("map6_solenoid", (L, H), map6_solenoid(),
              "Solenoid of length L (m), torsion H = B_s/(B rho) (1/m), both edge kicks\n"
              "included (the textbook solenoid, rotation angle H L / 2). " + _MAPDOC),
        _spec("map6_skew_quadrupole", (L, M), map6_skew_quadrupole(),
              "Thick skew quadrupole, length L (m), the paper's M (1/m^2): x'' = M z, z'' = M x\n"
              "(MAD-X k1s, pyAT PolynomA[1]). " + _MAPDOC),
        _spec("map6_thin", (k1l, k1sl), map6_thin(),
              "Thin normal + skew quadrupole: x' -= k1l x, z' += k1l z, x' += k1sl z, z' += k1sl x\n"
              "(k1l, k1sl in 1/m; §5 thin skew: k1sl = m). " + _MAPDOC),
        _spec("map6_edge", (K, e, fint_gap), map6_edge(),
              "Hard-edge pole face, angle e (rad), fint_gap = FINT * full gap (m):\n"
              "x' += K tan(e) x, z' -= K tan(e - psi) z, psi = K fint_gap (1 + sin^2 e)/cos e.\n"
              "Same map at entrance and exit (MAD-X/pyAT). " + _MAPDOC,
              "K. L. Brown SLAC-75; MAD-X DIPEDGE"),
        _spec("map6_rfcavity", (k_rf,), map6_rfcavity(),
              "Thin RF cavity, linear part: delta += k_rf l (k_rf in 1/m). " + _MAPDOC),
        _spec("rotation6", (tilt,), rotation6(),
              "Frame roll by tilt (rad) about s (pyAT tilt_elem R1, MAD-X TILT):\n"
              "x_new = cos x + sin z, z_new = -sin x + cos z, slopes alike;\n"
              "rolled element = rotation6(-tilt) @ M @ rotation6(tilt). " + _MAPDOC),
    ]


def radiation_specs() -> list[KernelSpec]:
    """Kernel specs of the bend's radiation (second part of :func:`kernel_specs`)."""
    rargs = (L, K, k1, e1, e2, beta0, alpha0, eta0, etap0)
    G = noise6_bend()
    rdoc = ("Radiation integrals (I1, I2, I3, I4, I5) of one combined-function bend, exact:\n"
            "length L (m), K (1/m), k1 (1/m^2), face angles e1, e2 (rad), horizontal beta0 (m),\n"
            "alpha0, eta0 (m), etap0 at the entrance BEFORE the entrance face (its edge focusing\n"
            "is applied inside). I4 includes the face terms -K^2 tan(e) eta at both faces.")
    return [
        _spec("loss_bend", (L, K, k1), (K**2 * L,),
              "int K^2 ds of a bend (1/m): energy loss U = C_gamma E^4 / (2 pi) * this.",
              "M. Sands SLAC-121 ch. 4"),
        _spec("damping6_bend", (L, K, k1), damping6_bend(),
              "First-order radiation damping dM of a sector bend (no faces):\n"
              "M_rad = M + (C_gamma E^3 / (2 pi)) dM (E in GeV, C_gamma in m/GeV^3), from\n"
              "d delta/ds = -c_d K^2 (1 + delta)^2 (1 + (2 k1/K + K) x) and p_x, p_z shrinking\n"
              "by the same fraction (x', z' are p/p0: see derivations.element_maps.damping_generator).\n"
              "Bend with faces E1, E2 (map6_edge): d(E2 M E1) = E2 dM E1 + dE2 M E1 + E2 M dE1,\n"
              "dE = damping6_edge(K, e) (order with E irrelevant: dE reads x, writes delta).\n"
              + _MAPDOC, "M. Sands SLAC-121 ch. 4; LNF-64/55 eq. (3)"),
        _spec("damping6_edge", (K, e), damping6_edge(),
              "First-order radiation dM of a pole face of angle e: delta += c_d K^2 tan(e) x\n"
              "(the wedge's x-dependent energy loss, the I4 face term)." + _MAPDOC,
              "M. Sands SLAC-121 ch. 4; MAD-X"),
        _spec("noise6_bend", (L, K, k1), tuple(G[i, j] for i in range(6) for j in range(i, 6)),
              "Quantum-noise integral G = int_0^L |K|^3 w w^T ds of a bend (m^-2 .. ), w(s) = delta\n"
              "column of the map from s to the exit (exact in-bend dispersion): 21 entries, upper\n"
              "triangle row-major of the 6x6 (x, x', z, z', delta, l). Noise added at the exit:\n"
              "(4/3) C_q r_e gamma^5 G.", "M. Sands SLAC-121 ch. 5; Van Loan (1978)"),
        _spec("radiation_integrals_bend", rargs, radiation_integrals_bend(True), rdoc,
              "M. Sands SLAC-121 ch. 4-5; MAD-X"),
        _spec("radiation_integrals_bend_no_faces", rargs, radiation_integrals_bend(False),
              rdoc.replace("I4 includes the face terms -K^2 tan(e) eta at both faces.",
                           "I4 WITHOUT face terms (pyAT tracking / ohmi_envelope model)."),
              "M. Sands SLAC-121 ch. 4-5; pyAT"),
    ]


def kernel_specs() -> list[KernelSpec]:
    """Helpers (Stumpff functions) and every element-map kernel.

    Examples
    --------
    >>> names = [k.name for k in kernel_specs()]
    >>> "map6_bend" in names and "stumpff_c2" in names
    True
    """
    return helper_specs(KernelSpec) + map_specs() + radiation_specs()


def results() -> list[Result]:
    """Closed forms for ``coupled-beam derive`` (map6-bend, ...).

    Examples
    --------
    >>> [r.name for r in results()][:2]
    ['generator6', 'map6-drift']
    """
    ref = "LNF-64/55 §1, §4"
    return [
        Result("generator6", generator6(),
               "6x6 A6: d(x, x', z, z', delta, l)/ds = A6 X (x outward, dl/ds = K x)", ref),
        Result("map6-drift", map6_drift(), "drift map, 6x6", ref),
        Result("map6-quadrupole", map6_quadrupole(),
               "quadrupole map; c_n(u) Stumpff functions, u = k L^2", ref),
        Result("map6-bend", map6_bend(),
               "combined-function sector bend map (no faces); c_n Stumpff functions", ref),
        Result("map6-solenoid", map6_solenoid(), "solenoid map with edges (rotating frame)", ref),
        Result("map6-skew-quadrupole", map6_skew_quadrupole(),
               "thick skew quadrupole map; d_n(u) = (c_n(-u) - c_n(u))/(2u)", ref),
        Result("map6-thin", map6_thin(), "thin normal + skew quadrupole kick", ref),
        Result("map6-edge", map6_edge(), "pole-face edge (MAD-X/pyAT model)", "Brown SLAC-75"),
        Result("rotation6", rotation6(), "roll of the frame about s (pyAT R1)", ref),
        Result("damping-generator", damping_generator(),
               "D6 per c_d = C_gamma E^3/(2 pi): linearised radiation reaction (x', z' = p/p0)",
               "Sands SLAC-121 ch. 4; LNF-64/55 eq. (3)"),
        Result("damping6-bend", damping6_bend(),
               "first-order radiation change dM of a bend map: M_rad = M + c_d dM",
               "Sands SLAC-121 ch. 4; LNF-64/55 §4"),
        Result("noise6-bend", noise6_bend(),
               "bend noise integral G = int |K|^3 w w^T ds, w = delta column of M(L <- s)",
               "Sands SLAC-121 ch. 5; LNF-64/55 eq. (5), §4"),
        Result("radiation-integrals-bend", radiation_integrals_bend(True),
               "(I1, I2, I3, I4, I5) of one bend from the entrance optics (before the face)",
               "Sands SLAC-121 ch. 4-5"),
    ]
