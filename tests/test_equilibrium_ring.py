"""Ring.equilibrium(): sizes folded with the energy spread, tilt and 1/S around a ring."""

import numpy as np
import pytest

from coupled_beam.errors import PhysicsWarning
from coupled_beam.lattice import Bend, Drift, Quadrupole, Ring, SkewQuadrupole, Solenoid


def _coupled_ring(p2=4e-7):
    D = np.diag([0.02, 0.015])
    phi = np.zeros((4, 4))
    phi[1, 1], phi[3, 3] = 4e-6, 1e-7
    return Ring([
        Bend(1.0, K=0.6, n=0.4, D=D, phi_hat=phi),
        Quadrupole(0.4, 0.8, D=D),
        SkewQuadrupole(0.3, M=0.15, D=D),
        Solenoid(0.5, H=0.4, D=D),
        Drift(0.6, D=D),
        Quadrupole(0.4, -0.8, D=D),
        Drift(0.6, D=D),
    ], p2=p2)


def test_weak_focusing_sizes_fold_energy_spread_closed_form():
    """Identical bends: sigma_x^2 = phi/(2 d K^2(1-n)) + p2/(K(1-n))^2, spot untilted, 1/S = 1/(4 pi sx sz)."""
    K, n, d, p2 = 0.5, 0.5, 0.01, 1e-6
    phi22, phi44 = 1e-10, 1e-11
    cell = Bend(1.0, K=K, n=n, D=d * np.eye(2), phi_hat=np.diag([0, phi22, 0, phi44]))
    eq = Ring([cell] * 4, p2=p2).equilibrium()
    sx = np.sqrt(phi22 / (2 * d * K**2 * (1 - n)) + p2 / (K * (1 - n)) ** 2)
    sz = np.sqrt(phi44 / (2 * d * K**2 * n))
    # constant coefficients: exact up to rounding
    np.testing.assert_allclose(eq.sigma_x, sx, rtol=1e-9, atol=0)
    np.testing.assert_allclose(eq.sigma_z, sz, rtol=1e-9, atol=0)
    np.testing.assert_allclose(eq.eta, np.tile([1 / (K * (1 - n)), 0.0], (5, 1)), rtol=1e-12,
                               atol=1e-12)  # closed orbit xi = 1/(K(1-n)) = 4 m, linear solve
    np.testing.assert_allclose(eq.tilt, 0.0, rtol=0, atol=1e-12)  # no coupling: no tilt
    # Gaussian overlap int P^2 = 1/(4 pi sx sz) for an upright spot
    np.testing.assert_allclose(eq.inv_area, 1 / (4 * np.pi * sx * sz), rtol=1e-9, atol=0)


def _angle_difference(a, b):
    """a - b for axis directions (defined modulo pi), in [-pi/2, pi/2)."""
    return (np.asarray(a) - np.asarray(b) + np.pi / 2) % np.pi - np.pi / 2


def test_coupled_ring_tilt_and_area_match_covariance_route():
    """Tilt = direction of the major axis, from the eigenvector of the largest eigenvalue of the
    absolute x-z covariance (numpy.linalg.eigh), compared as an angle modulo pi (a 90° swap of the
    axes fails); 1/S = 1/(4 pi sqrt(det S))."""
    eq = _coupled_ring().equilibrium()
    S = eq.moments[:, [0, 2]][:, :, [0, 2]]
    absolute = S + eq.p2 * eq.eta[:, :, None] * eq.eta[:, None, :]
    _, vecs = np.linalg.eigh(absolute)
    major = vecs[:, :, 1]                                   # eigh: ascending, so column 1 is the major axis
    tilt = np.arctan2(major[:, 1], major[:, 0])
    assert np.max(np.abs(_angle_difference(tilt, 0.0))) > 0.05, "the test ring must be visibly tilted"
    assert np.all((eq.tilt > -np.pi / 2) & (eq.tilt <= np.pi / 2)), "documented range (-pi/2, pi/2]"
    np.testing.assert_allclose(_angle_difference(eq.tilt, tilt), 0.0, rtol=0, atol=1e-9)
    # the axes swapped (theta + pi/2) would be the minor axis: this comparison must see it
    assert np.min(np.abs(_angle_difference(eq.tilt + np.pi / 2, tilt))) > 1.0
    inv_area = 1 / (4 * np.pi * np.sqrt(np.linalg.det(absolute)))
    np.testing.assert_allclose(eq.inv_area, inv_area, rtol=1e-9, atol=0)  # rounding
    np.testing.assert_allclose(eq.sigma_x ** 2, absolute[:, 0, 0], rtol=1e-12, atol=0)


def test_coupled_ring_periodic_last_boundary_equals_first():
    """Arrays over boundaries close on themselves: row n equals row 0."""
    eq = _coupled_ring().equilibrium()
    np.testing.assert_allclose(eq.moments[-1], eq.moments[0], rtol=1e-10,
                               atol=1e-10 * np.abs(eq.moments[0]).max())  # one-turn rounding
    assert eq.s[-1] == pytest.approx(3.8, rel=1e-14)   # 1 + 0.4 + 0.3 + 0.5 + 0.6 + 0.4 + 0.6


def test_flat_ring_without_vertical_noise_warns_and_gives_nan_area():
    """No vertical noise and no coupling: sigma_z = 0, 1/S and tilt NaN with a PhysicsWarning."""
    cell = Bend(1.0, K=0.5, n=0.5, D=0.01 * np.eye(2), phi_hat=np.diag([0, 1e-10, 0, 0]))
    with pytest.warns(PhysicsWarning, match="degenerate"):
        eq = Ring([cell] * 4).equilibrium()
    assert np.all(eq.sigma_z == 0.0)
    assert np.all(np.isnan(eq.inv_area)) and np.all(np.isnan(eq.tilt))
    assert np.all(eq.sigma_x > 0)


def test_energy_switches_on_radiation_model():
    """Ring(..., energy=) fills D, phi_hat and p2 from the radiation model: nonzero sizes and p2."""
    K = 2 * np.pi / 16
    cell = [Quadrupole(0.3, 1.0), Drift(0.4), Bend(2.0, K=K / 2), Drift(0.4),
            Quadrupole(0.3, -1.0), Drift(0.4), Bend(2.0, K=K / 2), Drift(0.4)]
    ring = Ring(cell * 8, energy=0.51)
    assert ring.p2 > 0
    with pytest.warns(PhysicsWarning):      # flat ring: no vertical size from the model
        eq = ring.equilibrium()
    assert np.all(eq.sigma_x > 1e-5)
