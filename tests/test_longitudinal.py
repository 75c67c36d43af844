"""Longitudinal plane: synchronous phase, k_rf, Q_s, momentum compaction, energy sawtooth.

Independent routes: numeric derivatives of the cavity's energy gain, the small-Q_s
textbook formula, the exact 6-D eigenvalues, pyAT (optional) for alpha_c.
"""

import math

import numpy as np
import pytest

from coupled_beam import longitudinal as lo
from coupled_beam.errors import InputError, RFError
from coupled_beam.lattice import Bend, Drift, Quadrupole, RFCavity, Ring


def _cell():
    K = 2 * np.pi / 16
    return [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=K), Drift(0.5),
            Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=K), Drift(0.5)]


@pytest.fixture(scope="module")
def ring():
    return Ring([RFCavity(voltage=3e5, harmonic=50)] + _cell() * 8, energy=1.0)


def test_synchronous_phase_restores_the_loss():
    """V sin(phi_s) = U0 on both sides of transition, cos of the stable sign."""
    for above, sign in ((True, 1), (False, -1)):
        phi = lo.synchronous_phase(4e5, 1.5e5, above_transition=above)
        assert math.isclose(4e5 * math.sin(phi), 1.5e5, rel_tol=1e-14)
        assert sign * math.cos(phi) > 0


def test_rf_slope_is_the_derivative_of_the_energy_gain():
    """k_rf equals d/dl of V sin(phi - 2 pi f l / c) / E by a central difference."""
    V, f, phi, E = 1.2e6, 352e6, 0.4, 6.0
    gain = lambda l: V * math.sin(phi - 2 * math.pi * f * l / lo.SPEED_OF_LIGHT) / (E * 1e9)  # noqa: E731
    h = 1e-6
    fd = (gain(h) - gain(-h)) / (2 * h)
    # central difference error ~ (2 pi f h / c)^2 / 6 ~ 1e-10 relative
    assert math.isclose(float(lo.rf_slope(V, f, phi, E)), fd, rel_tol=1e-8)


def test_synchrotron_tune_small_amplitude_formula():
    """Q_s of the thin-cavity map approaches sqrt(-alpha_c C k_rf) / 2 pi (error O(Q_s^2))."""
    for q in (0.005, 0.02):
        k = -(2 * math.pi * q) ** 2 / (0.01 * 64.0)
        got = lo.synchrotron_tune(k, 0.01, 64.0)
        # exact: cos(2 pi Q) = 1 - (2 pi q)^2 / 2 -> relative difference (2 pi q)^2 / 24
        assert math.isclose(got, q, rel_tol=0.5 * (2 * math.pi * q) ** 2)
        assert math.isclose(math.cos(2 * math.pi * got), 1 - (2 * math.pi * q) ** 2 / 2, rel_tol=1e-12)


def test_rf_system_of_a_ring(ring):
    """phi_s from U0, k_rf < 0 above transition, Q_s equal to the exact 6-D synchrotron tune."""
    rf = lo.rf_system(ring)
    assert rf.alpha_c > 0
    assert math.isclose(rf.voltage[0] * math.sin(rf.phase[0]), rf.energy_loss, rel_tol=1e-12)
    assert rf.k_rf[0] < 0
    eq = ring.equilibrium(model="6d")
    # thin-cavity 2x2 model vs the 6-D map (dispersion at the cavity, damping): 1e-4 measured
    assert math.isclose(rf.q_s, eq.q_s, rel_tol=1e-3)
    f = 50 * lo.SPEED_OF_LIGHT / ring.circumference
    assert math.isclose(rf.frequency[0], f, rel_tol=1e-15)


def test_energy_loss_matches_radiation_integral(ring):
    """U0 = C_gamma E^4 I2 / 2 pi with I2 = 2 pi K (isomagnetic ring): the per-element losses sum to it."""
    from coupled_beam.radiation import C_GAMMA

    rf = lo.rf_system(ring)
    K = 2 * np.pi / 16
    assert math.isclose(rf.energy_loss, C_GAMMA * 1.0**4 * (2 * np.pi * K) / (2 * np.pi) * 1e9, rel_tol=1e-12)


def test_sawtooth_steps(ring):
    """delta drops by U_i/E through each bend and the cavity gives back U0/E (linear model)."""
    eq = ring.equilibrium(model="6d")
    loss = lo.element_energy_loss(ring.elements, 1.0)
    step = np.diff(eq.delta0)
    bends = loss > 0
    # damping of delta0 itself (M_55 - 1 ~ 2 U_i/E) makes the steps differ at (U0/E)^2 ~ 1e-10
    assert np.allclose(step[bends], -loss[bends], rtol=1e-4, atol=0)
    assert math.isclose(step[0], float(np.sum(loss)), rel_tol=1e-4)
    assert np.allclose(step[~bends & (np.arange(len(step)) > 0)], 0.0, atol=1e-12)


def test_periodicity_equals_the_tiled_ring():
    """A 4-cell ring with periodicity 2 equals the 8-cell ring with both cavities (6-D sizes)."""
    half = [RFCavity(voltage=1.5e5, harmonic=50)] + _cell() * 4
    a = Ring(half, energy=1.0, periodicity=2).equilibrium(model="6d", sawtooth=False)
    b = Ring(half * 2, energy=1.0).equilibrium(model="6d", sawtooth=False)
    n = len(half) + 1
    assert np.allclose(a.sigma_x, b.sigma_x[:n], rtol=1e-9, atol=0)
    assert np.allclose(a.emittances, b.emittances, rtol=1e-8, atol=1e-20)   # flat: eps_z ~ 1e-37
    assert math.isclose(a.q_s, b.q_s, rel_tol=1e-10)


def test_given_phases_are_balanced():
    """Two cavities with given phases: the synchronous arrival time makes sum V sin(phi) = U0."""
    cav = [RFCavity(voltage=2e5, harmonic=50, phase=0.3), RFCavity(voltage=1e5, harmonic=50, phase=0.5)]
    ring = Ring([cav[0]] + _cell() * 4 + [cav[1]] + _cell() * 4, energy=1.0)
    rf = lo.rf_system(ring)
    assert math.isclose(float(np.sum(rf.voltage * np.sin(rf.phase))), rf.energy_loss, rel_tol=1e-9)
    # one arrival time for both cavities of the same frequency: equal phase shifts
    assert math.isclose(rf.phase[0] - 0.3, rf.phase[1] - 0.5, rel_tol=0, abs_tol=1e-12)


def test_bad_rf_input():
    """Named errors: below transition with a phase for above it; mixed given/None phases; no energy."""
    with pytest.raises(RFError, match=r"below transition\) needs cos\(phi\) < 0"):
        lo.check_phase(float(lo.rf_slope(1e5, 5e8, 0.2, 1.0)), -2e-3, 100.0, phase=0.2)
    with pytest.raises(RFError, match="too strong"):
        lo.check_phase(-1.0, 1e-2, 1000.0)
    mixed = [RFCavity(voltage=2e5, harmonic=50, phase=0.3), RFCavity(voltage=1e5, harmonic=50)]
    with pytest.raises(InputError, match="every RFCavity a phase or none"):
        lo.rf_system(Ring([mixed[0]] + _cell() * 8 + [mixed[1]], energy=1.0))
    with pytest.raises(InputError, match="energy"):
        lo.rf_system(Ring([RFCavity(voltage=1e5, harmonic=50)] + _cell() * 8))
    with pytest.raises(RFError, match="cannot restore"):
        lo.synchronous_phase(1e3, 2e3)


@pytest.mark.slow
def test_momentum_compaction_matches_pyat():
    """alpha_c from our one-turn map equals pyAT's get_mcf on the same lattice."""
    at = pytest.importorskip("at")
    from coupled_beam.interop.pyat import example_at_ring

    at_ring = example_at_ring(coupled=True)
    from tests.test_sixd import _from_at

    ring = _from_at(at_ring)
    P = np.linalg.multi_dot(list(ring.bare().element_maps6[::-1]))
    # pyAT: finite differences of 10-step tracking (3e-7 measured)
    assert math.isclose(lo.momentum_compaction(P, ring.circumference),
                        float(at_ring.disable_6d(copy=True).get_mcf()), rel_tol=1e-5)


def test_rf_error_pickles_with_its_numbers():
    """RFError crosses processes (Dask) with message and attributes."""
    import pickle

    try:
        lo.synchronous_phase(1e3, 2e3)
    except RFError as exc:
        back = pickle.loads(pickle.dumps(exc))
        assert isinstance(back, RFError) and isinstance(back, ValueError)
        assert back.voltage == 1e3 and back.energy_loss == 2e3 and str(back) == str(exc)
