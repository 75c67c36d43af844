"""Three worked examples of closed forms for one's own lattice (notebook 04 and the tests use these).

(a) :func:`two_skew_quadrupoles` -- two thin skew quadrupoles m1, m2 with the
    phase advances (Δφx, Δφz) between them: C− and the condition for it to
    vanish, m1 + m2 e^{i(Δφx − Δφz)} = 0.
(b) :func:`solenoid_compensation` -- a thin solenoid (rotation θ) compensated by
    two thin skew quadrupoles: m1, m2 solving C− = 0.
(c) :func:`skew_at_dispersion` -- a thin skew quadrupole where the arc's
    horizontal dispersion is ξ: the vertical dispersion ζ in closed form and
    its share ζ²<p²>/(<z_b²> + ζ²<p²>) of <z²>.

Examples
--------
>>> ex = two_skew_quadrupoles()
>>> len(ex["lattice"])
4
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from derivations.symbolic_lattice.canonical import tidy
from derivations.symbolic_lattice.elements import Arc, ThinSkewQuadrupole, ThinSolenoid
from derivations.symbolic_lattice.lattice import Chain, SymbolicLattice

__all__ = ["two_skew_quadrupoles", "solenoid_compensation", "skew_at_dispersion"]

beta_x, beta_z = sp.symbols("beta_x beta_z", positive=True)
m1, m2 = sp.symbols("m1 m2", real=True)
PHASES = (0.2, 3.0)


@lru_cache(maxsize=None)
def two_skew_quadrupoles() -> dict:
    """(a) arc 1, SQ1 (m1), arc 2 (Δφx, Δφz), SQ2 (m2); same β at both quadrupoles.

    Returns
    -------
    dict
        ``lattice``, ``symbols``, ``delta_qmin`` (closed form), ``cancellation``
        (the conditions Re C− = Im C− = 0 solved for m2 and for the phase).
    """
    mu1x, mu1z, dphi_x, dphi_z = sp.symbols("mu1x mu1z dphi_x dphi_z", real=True)
    lat = SymbolicLattice(
        [Arc(mu_x=mu1x, beta_x=beta_x, mu_z=mu1z, beta_z=beta_z, name="arc1"),
         ThinSkewQuadrupole(m1, name="SQ1"),
         Arc(mu_x=dphi_x, beta_x=beta_x, mu_z=dphi_z, beta_z=beta_z, name="arc2"),
         ThinSkewQuadrupole(m2, name="SQ2")],
        domains={n: PHASES for n in ("mu1x", "mu1z", "dphi_x", "dphi_z")} | {
            "m1": (-0.05, 0.05), "m2": (-0.05, 0.05), "beta_x": (1, 20), "beta_z": (1, 20)})
    _, _, re_m, im_m = lat.coupling_coefficients()
    dq = sp.sqrt(sp.factor(sp.trigsimp(sp.expand(re_m**2 + im_m**2))))
    # |C−|² ∝ m1² + 2 m1 m2 cos(Δφx − Δφz) + m2²: zero iff m2 = −m1 e^{−iΔ}, i.e. real m2 = ∓ m1 at Δ = 0, π
    sol = sp.solve([sp.expand_trig(re_m), sp.expand_trig(im_m)], [m2], dict=True)
    return {"lattice": lat, "delta_qmin": dq, "re_c_minus": tidy(re_m), "im_c_minus": tidy(im_m),
            "cancellation": sol, "symbols": (mu1x, mu1z, dphi_x, dphi_z)}


@lru_cache(maxsize=None)
def solenoid_compensation() -> dict:
    """(b) thin solenoid θ, arc 1, SQ1 (m1), arc 2, SQ2 (m2), arc 3 (6 thin elements and arcs).

    Returns
    -------
    dict
        ``lattice``, ``solution`` {m1: ..., m2: ...} of C− = 0 (first order in θ),
        ``c_minus_solenoid`` (C− of the solenoid alone).
    """
    theta = sp.Symbol("theta", real=True)
    mus = sp.symbols("mu1x mu1z mu2x mu2z mu3x mu3z", real=True)
    lat = SymbolicLattice(
        [ThinSolenoid(theta, name="SOL"),
         Arc(mu_x=mus[0], beta_x=beta_x, mu_z=mus[1], beta_z=beta_z, name="arc1"),
         ThinSkewQuadrupole(m1, name="SQ1"),
         Arc(mu_x=mus[2], beta_x=beta_x, mu_z=mus[3], beta_z=beta_z, name="arc2"),
         ThinSkewQuadrupole(m2, name="SQ2"),
         Arc(mu_x=mus[4], beta_x=beta_x, mu_z=mus[5], beta_z=beta_z, name="arc3")],
        domains={s.name: (0.2, 2.0) for s in mus} | {
            "theta": (-0.02, 0.02), "m1": (-0.02, 0.02), "m2": (-0.02, 0.02),
            "beta_x": (1, 20), "beta_z": (1, 20)})
    _, _, re_m, im_m = lat.coupling_coefficients()
    sol = sp.solve([re_m, im_m], [m1, m2], dict=True)[0]
    sol = {k: tidy(sp.simplify(v)) for k, v in sol.items()}
    alone = tuple(tidy(e.subs({m1: 0, m2: 0})) for e in (re_m, im_m))
    return {"lattice": lat, "solution": sol, "c_minus_solenoid": alone, "theta": theta, "mus": mus}


@lru_cache(maxsize=None)
def skew_at_dispersion() -> dict:
    """(c) an arc with horizontal dispersion ξ (ξ' = 0) and a thin skew quadrupole m at its end.

    Returns
    -------
    dict
        ``lattice``, ``zeta`` (ζ at the quadrupole exit), ``xi`` (the coupled ξ there),
        ``zz`` (<z_b²> far from resonance, lumped noise φ), ``share``
        ζ² p2/(<z_b²> + ζ² p2).
    """
    mu_x, mu_z = sp.symbols("mu_x mu_z", real=True)
    m, xi = sp.Symbol("m", real=True), sp.Symbol("xi", real=True)
    d11, d22 = sp.symbols("d11_s0 d22_s0", positive=True)
    phi, p2 = sp.Symbol("phi", positive=True), sp.Symbol("p2", positive=True)
    lat = SymbolicLattice(
        [Arc(mu_x=mu_x, beta_x=beta_x, mu_z=mu_z, beta_z=beta_z, d11_s0=d11, d22_s0=d22,
             eta_x=xi, r22=phi, name="arc"),
         ThinSkewQuadrupole(m, name="SQ")],
        domains={"mu_x": PHASES, "mu_z": PHASES, "m": (-0.2, 0.2), "xi": (-2, 2),
                 "beta_x": (1, 20), "beta_z": (1, 20), "phi": (1e-12, 1e-11)})
    eta = lat.dispersion()
    zeta = tidy(sp.factor(tidy(eta[2])))
    b = sp.Symbol("b", positive=True)
    chain = Chain(*lat._turn(0), b=b)
    zz_b = sp.factor(tidy(chain.moments()[2]))
    b2 = tidy(lat.a_b2()[1])
    zz = zz_b.xreplace({b: sp.sqrt(b2)})
    return {"lattice": lat, "zeta": zeta, "xi": tidy(sp.factor(tidy(eta[0]))), "zz": zz, "zz_b": zz_b,
            "b": b, "b2": b2, "det_n_minus_1": tidy(sp.factor(tidy(lat.characteristic_polynomial().subs(
                sp.Symbol("lambda"), 1)))), "share": zeta**2 * p2 / (zz + zeta**2 * p2), "p2": p2}
