"""Tests of coupled_beam.radiation: the standard electron radiation model.

Independent routes: closed forms of the isomagnetic weak-focusing ring
(Sands SLAC-121 §4-5: xi, beta_x and H constant), Liouville's det N =
exp(int tr A), and brute-force midpoint quadrature of the noise integral.
The pyAT comparison lives in tests/test_interop_pyat.py.
"""

import numpy as np
import pytest

from coupled_beam.errors import InputError
from coupled_beam.lattice import Bend, Drift, Quadrupole, Ring, ThinSkewQuadrupole
from coupled_beam.radiation import (C_GAMMA, C_Q, ELECTRON_MASS, R_E, radiation_parameters,
                                    with_radiation)

K, N_INDEX, ENERGY = 0.5, 0.4, 0.5   # 1/m, field index, GeV
#: flat uncoupled rings have a degenerate x-z spot (sigma_z = 0): expected warning
FLAT = pytest.mark.filterwarnings("ignore::coupled_beam.errors.PhysicsWarning")


def weak_focusing(pieces: int = 8):
    """Isomagnetic weak-focusing ring of radius 1/K in ``pieces`` sector bends."""
    return [Bend(2 * np.pi / (K * pieces), K=K, n=N_INDEX)] * pieces


def weak_focusing_expected():
    """Closed forms: xi = 1/(K(1-n)), beta_x = 1/(K sqrt(1-n)), H = xi^2/beta_x."""
    n, g = N_INDEX, ENERGY / ELECTRON_MASS
    curly_h = 1 / (K * (1 - n) ** 1.5)
    I2 = 2 * np.pi * K
    I4 = 2 * np.pi * K * (1 - 2 * n) / (1 - n)
    return dict(I1=2 * np.pi / (K * (1 - n)), I2=I2, I3=2 * np.pi * K**2, I4=I4,
                I5=2 * np.pi * K**2 * curly_h, J_x=n / (1 - n), J_s=(3 - 4 * n) / (1 - n),
                eps_x=C_Q * g**2 / (n * np.sqrt(1 - n)),
                p2=C_Q * g**2 * K * (1 - n) / (3 - 4 * n),
                u0_over_e=C_GAMMA * ENERGY**3 * I2 / (2 * np.pi))


def fodo(cells: int = 8, skew: float = 0.0):
    """A separated-function FODO ring; optional thin skew quadrupole in cell 0."""
    h = 2 * np.pi / (2 * cells)
    cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=h), Drift(0.5),
            Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=h), Drift(0.5)]
    els = cell * cells
    if skew:
        els = [ThinSkewQuadrupole(skew)] + els
    return els


def test_radiation_integrals_weak_focusing_match_closed_forms():
    """I1...I5, J_x, J_s of the weak-focusing ring equal Sands' closed forms."""
    par = radiation_parameters(weak_focusing(), ENERGY)
    exp = weak_focusing_expected()
    for key in ("I1", "I2", "I3", "I4", "I5", "J_x", "J_s"):
        # Gauss-Legendre on constant integrands and exact maps: rounding only
        assert np.isclose(getattr(par, key), exp[key], rtol=1e-10, atol=0.0), key
    assert np.isclose(par.J_x + par.J_z + par.J_s, 4.0, rtol=1e-12, atol=0.0), "Robinson sum"


@FLAT
def test_emittance_engine_reproduces_sands_formula_with_four_thirds_diffusion():
    """<x_b^2><x_b'^2> - <x_b x_b'>^2 from (10) gives eps_x = C_q gamma^2 I5/(J_x I2).

    This settles the diffusion factor: d<p^2>/ds = (4/3) C_q r_e gamma^5 abs(h)^3
    (half of it would give half the emittance).
    """
    eq = Ring(weak_focusing(), energy=ENERGY).equilibrium()
    exp = weak_focusing_expected()
    eps = np.sqrt(np.linalg.det(eq.moments[:, :2, :2]))
    # Sands' formula is first order in U0/E = 5.5e-6; the exact linear model (damped maps and
    # noise per element, no bend average) differs at that order (measured 2.0e-6)
    assert np.allclose(eps, exp["eps_x"], rtol=exp["u0_over_e"], atol=0.0), \
        "eps_x = C_q g^2 I5/(J_x I2)"


def test_energy_spread_weak_focusing_matches_closed_form():
    """<p^2> = C_q gamma^2 I3 / (J_s I2) for the weak-focusing ring."""
    p2 = with_radiation(Ring(weak_focusing()), ENERGY).p2
    # exact integrals: rounding only
    assert np.isclose(p2, weak_focusing_expected()["p2"], rtol=1e-10, atol=0.0)


@FLAT
def test_uncoupled_ring_vertical_moments_zero():
    """Without coupling and vertical bends nothing excites z: <z_b^2> = 0."""
    eq = Ring(weak_focusing(), energy=ENERGY).equilibrium()
    assert np.all(np.abs(eq.moments[:, 2:, 2:]) < 1e-30), "no vertical excitation"


def test_one_turn_determinant_damped_ring_equals_liouville():
    """det N = exp(int tr A ds) = exp(-(J_x + J_z) U0/E) (Liouville, Robinson)."""
    ring = Ring(weak_focusing(), energy=ENERGY)
    exp = weak_focusing_expected()
    det6 = np.linalg.det(ring.one_turn_map6())
    # 6-D: the generator has trace -4 c_d h^2 (Robinson's sum); the element maps are first
    # order in c_d, so det = exp(-4 U0/E) up to O((U0/E)^2) = 3e-11
    assert np.isclose(det6, np.exp(-4.0 * exp["u0_over_e"]), rtol=1e-10, atol=0.0), "6-D Liouville"
    det = np.linalg.det(ring.one_turn_map())
    # the betatron restriction of the 6-D maps: exact up to O((U0/E)^2) = 3e-11
    assert np.isclose(det, np.exp(-(exp["J_x"] + 1.0) * exp["u0_over_e"]), rtol=1e-10, atol=0.0)


def test_mode_decrements_weak_focusing_match_partition_numbers():
    """-ln abs(Delta) is J_x U0/2E for the x mode and U0/2E for the z mode."""
    ring = Ring(weak_focusing(), energy=ENERGY)
    exp = weak_focusing_expected()
    lam = np.linalg.eigvals(ring.one_turn_map())
    nu_x = np.sqrt(1 - N_INDEX)   # weak focusing: x tune sqrt(1-n), z tune sqrt(n)
    frac = np.abs(np.angle(lam)) / (2 * np.pi)
    is_x = np.isclose(frac, min(nu_x % 1, 1 - nu_x % 1), atol=1e-9)
    dec = -np.log(np.abs(lam))
    # first order in U0/E = 5.5e-6: exact up to (U0/E)^2
    assert np.allclose(dec[is_x], exp["J_x"] * exp["u0_over_e"] / 2, rtol=1e-6, atol=0.0)
    assert np.allclose(dec[~is_x], exp["u0_over_e"] / 2, rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("skew", [0.0, 0.05])
def test_bend_noise_integral_matches_brute_force_quadrature(skew):
    """A bend's 6-D noise and its betatron restriction equal midpoint sums of photon kicks.

    A photon of energy u at s kicks delta by u (y unchanged); its effect at the exit is
    M(L <- s) e_delta u (the bare map: first order in the radiation), and in betatron
    coordinates y_b = y - eta_out delta.
    """
    from scipy.linalg import expm

    energy = 1.0
    ring = Ring(fodo(skew=skew), energy=energy)
    i = next(k for k, el in enumerate(ring.elements) if el.K != 0)
    el = ring.elements[i]
    A = np.zeros((6, 6))                         # the bare generator, built by hand here
    A[:4, :4], A[:4, 4] = el.A, el.b
    A[5, 0] = el.K                               # dl/ds = K x
    m = 1000
    s = (np.arange(m) + 0.5) * el.length / m
    w = expm(A[None] * (el.length - s)[:, None, None])[:, :, 4]
    gamma = energy / ELECTRON_MASS
    c_q = 4 / 3 * C_Q * R_E * gamma**5 * abs(el.K) ** 3
    G = c_q * el.length / m * np.einsum("ki,kj->ij", w, w)
    got6 = ring.element_noise6[i]
    # midpoint rule: relative error ~ (L/m)^2 / 24 = 4e-8
    assert np.allclose(got6, G, rtol=1e-6, atol=1e-9 * np.abs(G).max()), "6-D noise integral"
    eta = ring.bare().closed_orbit_functions()[i + 1]
    u = w[:, :4] - np.outer(w[:, 4], eta)
    R = c_q * el.length / m * np.einsum("ki,kj->ij", u, u)
    got = ring.noise_integrals()[i]
    assert np.allclose(got, R, rtol=1e-6, atol=1e-9 * np.abs(R).max()), "betatron noise"
    if skew:
        assert abs(got[2, 2]) > 1e-6 * got[0, 0], "vertical dispersion feeds the zz noise"


def textbook_fodo_emittance(energy: float = 1.0, cells: int = 8, slices: int = 400) -> dict:
    """eps_x of :func:`fodo` by the textbook route, independent of coupled_beam's maps and integrals.

    Hand-written 3x3 (x, x', delta) matrices of drift, thick quadrupole and sector bend
    (Wiedemann, Particle Accelerator Physics, ch. 7), periodic Twiss and dispersion from the
    one-turn matrix, beta and eta propagated into each bend and I4 = int eta h^3 ds,
    I5 = int |h|^3 H ds by Simpson's rule; eps_x = C_q gamma^2 I5 / ((1 - I4/I2) I2).
    """
    h = 2 * np.pi / (2 * cells)

    def quad(L, k):
        r = np.sqrt(abs(k))
        c, s, d = ((np.cos(r * L), np.sin(r * L) / r, -r * np.sin(r * L)) if k > 0 else
                   (np.cosh(r * L), np.sinh(r * L) / r, r * np.sinh(r * L)))
        return np.array([[c, s, 0], [d, c, 0], [0, 0, 1.0]])

    def drift(L):
        return np.array([[1, L, 0], [0, 1, 0], [0, 0, 1.0]])

    def bend(L):
        c, s = np.cos(h * L), np.sin(h * L)
        return np.array([[c, s / h, (1 - c) / h], [-h * s, c, s], [0, 0, 1.0]])

    seq = [("q", 0.2, 1.2), ("d", 0.5), ("b", 1.0), ("d", 0.5), ("q", 0.2, -1.2), ("d", 0.5), ("b", 1.0),
           ("d", 0.5)] * cells
    mats = [quad(p[1], p[2]) if p[0] == "q" else drift(p[1]) if p[0] == "d" else bend(p[1]) for p in seq]
    M = np.eye(3)
    for m in mats:
        M = m @ M
    cmu = (M[0, 0] + M[1, 1]) / 2
    smu = np.sign(M[0, 1]) * np.sqrt(1 - cmu**2)
    beta, alpha = M[0, 1] / smu, (M[0, 0] - M[1, 1]) / (2 * smu)
    T = np.array([[beta, -alpha], [-alpha, (1 + alpha**2) / beta]])     # sigma matrix, propagates as M T M^T
    v = np.append(np.linalg.solve(np.eye(2) - M[:2, :2], M[:2, 2]), 1.0)   # (eta, eta', 1)
    w = np.ones(slices + 1)
    w[1:-1:2], w[2:-1:2] = 4, 2
    I2 = I4 = I5 = 0.0
    for p, m in zip(seq, mats):
        if p[0] == "b":
            L = p[1]
            H, eta = [], []
            for s in np.linspace(0.0, L, slices + 1):
                ms = bend(s) if s > 0 else np.eye(3)
                Ts, vs = ms[:2, :2] @ T @ ms[:2, :2].T, ms @ v
                H.append(Ts[1, 1] * vs[0]**2 - 2 * Ts[0, 1] * vs[0] * vs[1] + Ts[0, 0] * vs[1]**2)
                eta.append(vs[0])
            I2 += h**2 * L
            I4 += h**3 * np.dot(w, eta) * L / (3 * slices)
            I5 += h**3 * np.dot(w, H) * L / (3 * slices)
        T, v = m[:2, :2] @ T @ m[:2, :2].T, m @ v
    g = energy / ELECTRON_MASS
    return dict(I2=I2, I4=I4, I5=I5, eps_x=C_Q * g**2 * I5 / ((1 - I4 / I2) * I2))


@FLAT
def test_fodo_emittance_against_textbook_route():
    """eps_x of the 8-cell FODO ring at 1 GeV against :func:`textbook_fodo_emittance`
    (hand-written matrices and quadrature: agrees to 4e-14; tolerance 1e-9 fails for any real error)."""
    par = radiation_parameters(fodo(), 1.0)
    eq = Ring(fodo(), energy=1.0).equilibrium()
    eps = np.sqrt(np.linalg.det(eq.moments[0, :2, :2]))
    ref = textbook_fodo_emittance()
    for key in ("I2", "I4", "I5", "eps_x"):
        assert np.isclose(getattr(par, key), ref[key], rtol=1e-9, atol=0.0), key
    # first-order formula vs the exact linear model: O(U0/E) = 3.5e-5 (measured 2.1e-5)
    assert np.isclose(eps, par.eps_x, rtol=par.U0 / par.energy, atol=0.0), "engine vs integrals"


def test_closed_orbit_functions_agree_with_distribution_module():
    """Our orbit vectors equal coupled_beam.distribution.closed_orbit_functions."""
    distribution = pytest.importorskip("coupled_beam.distribution")

    els = fodo(skew=0.05)
    ours = Ring(els, energy=1.0).radiation.eta
    theirs = np.asarray(distribution.closed_orbit_functions(Ring(els)))
    # two linear solves of the same fixed point: rounding only
    assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-12), "xi, xi', zeta, zeta'"


def test_energy_below_rest_mass_raises():
    """An energy at or below m c^2 is rejected with the value in the message."""
    with pytest.raises(InputError, match="0.0001"):
        radiation_parameters(weak_focusing(), 1e-4)


def test_ring_without_bends_raises():
    """A ring with no bend has nothing to radiate: InputError."""
    with pytest.raises(InputError, match="nothing radiates"):
        Ring([Drift(1.0), Quadrupole(0.2, 0.5), Drift(1.0), Quadrupole(0.2, -0.5)], energy=1.0)


def test_radiation_parameters_of_radiating_ring_equal_bare_ones():
    """A ring built with energy gives the same integrals as its bare lattice."""
    bare = radiation_parameters(fodo(), 1.0)
    again = radiation_parameters(Ring(fodo(), energy=1.0), 1.0)
    # the wrapped bends are unwrapped: identical arithmetic
    assert np.isclose(again.I5, bare.I5, rtol=1e-14, atol=0.0)
    assert np.isclose(again.J_x, bare.J_x, rtol=1e-14, atol=0.0)


def test_integer_tune_raises_resonance_error():
    """At an integer tune the closed-orbit functions do not exist: ResonanceError."""
    from coupled_beam.errors import ResonanceError

    # weak focusing with n = 0: nu_x = 1 exactly (1 - N is singular)
    ring = [Bend(2 * np.pi / (K * 4), K=K, n=0.0)] * 4
    with pytest.raises(ResonanceError, match="integer tune"):
        radiation_parameters(ring, 1.0)


@pytest.mark.slow
def test_hmba_coupled_damping_times_match_ohmi_envelope_on_sliced_bends():
    """pyAT's EBS-type cell (P = 32) with a thin skew quadrupole: damping times equal ohmi_envelope.

    pyAT's side: every bend sliced 16x and 20x its integration steps (its own
    step error is 4e-5 at the shipped steps); sextupoles off (on pyAT's 6-D
    orbit with the energy sawtooth they feed down a gradient the linear model
    does not have: 3e-5 in one mode); no face radiation (pyAT tracks without it).
    """
    at = pytest.importorskip("at")
    machine_data = pytest.importorskip("machine_data")
    import os

    from coupled_beam.interop.pyat import ring_from_pyat
    from coupled_beam.sixd import ring_equilibrium6

    base = at.load_lattice(os.path.join(os.path.dirname(machine_data.__file__), "hmba.mat"))
    els = []
    for e in base:
        e = e.deepcopy()
        if isinstance(e, at.Sextupole):
            e.PolynomB = np.zeros_like(e.PolynomB)
        els.append(e)
    i = next(k for k, e in enumerate(els) if isinstance(e, at.Dipole))
    els.insert(i + 1, at.ThinMultipole("SKEW", poly_a=[0, 0.005], poly_b=[0, 0]))
    cell = at.Lattice(els, energy=base.energy, periodicity=base.periodicity, name="hmba_skew")
    sliced = []
    for e in cell:
        e = e.deepcopy()
        if hasattr(e, "NumIntSteps"):
            e.NumIntSteps = 20 * int(e.NumIntSteps)
        sliced += list(e.divide([1.0 / 16] * 16)) if isinstance(e, at.Dipole) else [e]
    ring6 = at.Lattice(sliced, energy=base.energy, periodicity=base.periodicity,
                       name="sliced").enable_6d(copy=True)
    _, beamdata, _ = at.ohmi_envelope(ring6)
    t_cell = cell.circumference / cell.periodicity / 299792458.0      # pyAT's rates are per cell
    tau_at = np.sort(t_cell / np.asarray(beamdata.damping_rates))
    ours = ring_from_pyat(cell, face_radiation=False)
    assert ours.periodicity == 32 and len(ours) == len(cell), "one cell, periodicity kept"
    tau = np.sort(ring_equilibrium6(ours).damping_times)
    # measured 5e-7 (pyAT's integrator at 20x steps); the old bend-average model was 1e-3 off
    np.testing.assert_allclose(tau, tau_at, rtol=1e-5, atol=0.0,
                               err_msg="damping times of the three modes vs ohmi_envelope")
