"""The linear map about a closed orbit, to first order in the orbit: the cubic Hamiltonian of an element.

Beyond the paper (whose motion is linear about the design orbit): the 6-D closed orbit of a
radiating ring is not the design orbit (the energy sawtooth, delta0 ~ +-U0 / 2E, and its
dispersion orbit x0 = eta delta0), and the map of the deviations about it differs from the
design map at first order in the orbit. One mechanism gives that for every element kind.

Canonical coordinates X = (x, p_x, z, p_z, delta, l) (l the path lengthening, pyAT's ct),
element frame, the expanded Hamiltonian of pyAT's and MAD-X's thick elements (the paraxial
drift p^2 / 2(1 + delta), the bend's -K x delta + K^2 x^2 / 2, the solenoid's vector
potential, multipoles in the vector potential):

    H = [(p_x + H z / 2)^2 + (p_z - H x / 2)^2] / (2 (1 + delta)) + H_2(x, z, delta) + Re[c (x + i z)^3] / 6,

c = k2 + i k2s. The vector field is f = Omega grad H with the pairs (x, p_x), (z, p_z),
(delta, l) (so l' = -dH/d delta: K x + p^2 / 2 at first order). The quadratic part H_2 gives
the design map R; the cubic part

    H_3 = -delta T(x, p_x, z, p_z) + Re[c (x + i z)^3] / 6,      T = kinetic energy above,

gives the first-order change of the map about an orbit X0(s) inside the element:

    J(X0) = R + int_0^L R(L <- s) Omega Hess H_3(X0(s)) R(s <- 0) ds,

the kernel :func:`orbit_hessian` being Omega Hess H_3 at X0 (6x6, linear in X0). Being the
Jacobian of a Hamiltonian flow it is symplectic to first order: no projection needed.

References
----------
LNF-64/55 eq. (1) (the linear part); A. Wolski, *Beam Dynamics in High Energy Particle
Accelerators* (2014) §9.1 (the expanded accelerator Hamiltonian); pyAT's
StrMPoleSymplectic4Pass / BndMPoleSymplectic4Pass (the same expansion).

Examples
--------
>>> import sympy as sp
>>> D = orbit_hessian()
>>> D.subs(H, 0)[0, 4]                # dx/ds = p_x / (1 + delta): d/d delta at the orbit
-p_x0
>>> D.subs(H, 0)[5, 1]                # path row: l' = p^2 / 2
p_x0
"""

from __future__ import annotations

import sympy as sp

from derivations.codegen import KernelSpec

x, px, z, pz, delta, l = sp.symbols("x p_x z p_z delta l", real=True)
x0, px0, z0, pz0, delta0 = sp.symbols("x0 p_x0 z0 p_z0 delta0", real=True)
H, k2, k2s = sp.symbols("H k2 k2s", real=True)
eps = sp.Symbol("epsilon", positive=True)

COORDS = (x, px, z, pz, delta, l)


def hamiltonian() -> sp.Expr:
    """The expanded element Hamiltonian's orbit-dependent part: kinetic / (1 + delta) + sextupole.

    The linear-field terms (bend -K x delta + K^2 x^2 / 2, gradients) are quadratic and enter
    the design map only; they are left out.
    """
    T = ((px + H * z / 2)**2 + (pz - H * x / 2)**2) / 2
    return T / (1 + delta) + sp.re(sp.expand((k2 + sp.I * k2s) * (x + sp.I * z)**3)) / 6


def cubic_part() -> sp.Expr:
    """H_3: the part of :func:`hamiltonian` of third order in the coordinates."""
    h = hamiltonian().subs({c: eps * c for c in COORDS}, simultaneous=True)
    return sp.expand(sp.series(h, eps, 0, 4).removeO().coeff(eps, 3))


def omega() -> sp.Matrix:
    """The symplectic form of the pairs (x, p_x), (z, p_z), (delta, l)."""
    J2 = sp.Matrix([[0, 1], [-1, 0]])
    return sp.diag(J2, J2, J2)


def orbit_hessian() -> sp.Matrix:
    """Omega Hess H_3 at the orbit (x0, p_x0, z0, p_z0, delta0): the first-order change of the generator."""
    H3 = cubic_part()
    hess = sp.hessian(H3, COORDS)
    at = dict(zip((x, px, z, pz, delta), (x0, px0, z0, pz0, delta0)))
    return sp.expand(omega() * hess.subs(at))


def check() -> dict:
    """Identities the kernel must satisfy (all True).

    * symplectic to first order: Omega D is symmetric (D = Omega Hess);
    * linear in the orbit (homogeneous of degree one);
    * the drift's chromatic terms: dx/ds = p_x / (1 + delta) gives -delta0 (p_x column) and
      -p_x0 (delta column), and the path row p_x0 (l' = p^2 / 2);
    * the sextupole's feed-down at x0 is a quadrupole of gradient k2 x0.
    """
    D = orbit_hessian()
    Om = omega()
    s = sp.Symbol("s")
    scaled = D.subs({v: s * v for v in (x0, px0, z0, pz0, delta0)}, simultaneous=True)
    drift = D.subs({H: 0, k2: 0, k2s: 0})
    return {
        "hamiltonian": sp.simplify(Om * D - (Om * D).T) == sp.zeros(6, 6),
        "linear": sp.simplify(scaled - s * D) == sp.zeros(6, 6),
        "drift": (drift[0, 1], drift[0, 4], drift[5, 1]) == (-delta0, -px0, px0),
        "feed_down": sp.simplify(D.subs({H: 0, k2s: 0, z0: 0, delta0: 0})[1, 0] + k2 * x0) == 0,
    }


def kernel_specs() -> list[KernelSpec]:
    """Kernel for ``coupled_beam/_kernels.py``: :func:`orbit_hessian` (36 entries, row-major).

    Examples
    --------
    >>> [k.name for k in kernel_specs()]
    ['orbit_hessian6']
    """
    D = orbit_hessian()
    return [
        KernelSpec(
            "orbit_hessian6", (x0, px0, z0, pz0, delta0, H, k2, k2s),
            tuple(D[i, j] for i in range(6) for j in range(6)),
            "Omega Hess H_3 at a closed orbit (x0, p_x0, z0, p_z0, delta0) (element frame,\n"
            "canonical; 1/m): the first-order change of an element's 6x6 generator about the\n"
            "orbit, row-major, for the expanded Hamiltonian with solenoid H (1/m) and\n"
            "sextupole k2 + i k2s (1/m^3); H_3 = -delta T + Re[(k2 + i k2s)(x + i z)^3] / 6.",
            "beyond LNF-64/55: the map about the 6-D closed orbit",
        ),
    ]


def drift_check() -> tuple[sp.Matrix, sp.Matrix]:
    """(claimed, independent): the first-order change of a drift's map about an orbit two ways.

    Claimed: int_0^L R(L - s) D R(s) ds with D = :func:`orbit_hessian` (the mechanism of
    :mod:`coupled_beam.orbit_maps`). Independent: the exact drift x += L p / (1 + delta),
    l += L p^2 / 2 (1 + delta)^2 differentiated at the orbit and expanded to first order in it.
    """
    L, s, e = sp.symbols("L s e", positive=True)

    def R(d):
        m = sp.eye(6)
        m[0, 1] = m[2, 3] = d
        return m

    D = orbit_hessian().subs({H: 0, k2: 0, k2s: 0})
    claimed = (R(L - s) * D * R(s)).applyfunc(lambda f: sp.integrate(sp.expand(f), (s, 0, L)))
    F = sp.Matrix([x + L * px / (1 + delta), px, z + L * pz / (1 + delta), pz, delta,
                   l + L * (px**2 + pz**2) / (2 * (1 + delta)**2)])
    Jac = F.jacobian(COORDS).subs(dict(zip((x, px, z, pz, delta), (e * x0, e * px0, e * z0, e * pz0, e * delta0))))
    independent = Jac.applyfunc(lambda f: sp.diff(f, e).subs(e, 0))
    return sp.expand(claimed), sp.expand(independent)


def results():
    """Closed forms for ``coupled-beam derive``.

    Examples
    --------
    >>> [r.name for r in results()]
    ['orbit-cubic-hamiltonian', 'orbit-map-change']
    """
    from derivations.registry import Result

    return [
        Result("orbit-cubic-hamiltonian", cubic_part(),
               "H_3: the cubic part of an element's expanded Hamiltonian (drift p^2 / 2(1 + delta), "
               "solenoid H, sextupole k2 + i k2s), canonical (x, p_x, z, p_z, delta, l)",
               "beyond LNF-64/55: the map about the 6-D closed orbit"),
        Result("orbit-map-change", orbit_hessian(),
               "D = Omega Hess H_3 at the orbit: J = R + int R(L <- s) D(X0(s)) R(s <- 0) ds, the map "
               "about a closed orbit to first order in it (coupled_beam.orbit_maps)",
               "beyond LNF-64/55: the map about the 6-D closed orbit"),
    ]


def equation_checks():
    """'Beyond the paper' rows: the map about an orbit is symplectic, and a drift's agrees with its exact map.

    Examples
    --------
    >>> [c.equation for c in equation_checks()]
    ['map about an orbit: symplectic to first order', 'map about an orbit: drift']
    """
    from derivations.registry import Check

    D = orbit_hessian()
    Om = omega()
    claimed, independent = drift_check()
    return [
        Check("map about an orbit: symplectic to first order", "§4", sp.zeros(6, 6),
              sp.expand(Om * D - (Om * D).T),
              "Omega D symmetric: D = Omega Hess H_3 keeps J = R + int R D R ds symplectic to first order "
              "in the orbit (no projection)", printed_in_paper=False),
        Check("map about an orbit: drift", "§4", claimed, independent,
              "int R(L - s) D R(s) ds against the exact drift x += L p / (1 + delta), l += L p^2 / 2(1 + delta)^2 "
              "differentiated at the orbit, first order", printed_in_paper=False),
    ]
