"""Maps about a closed orbit (coupled_beam.orbit_maps) against the equations of motion integrated by scipy.

The reference is independent of the package's maps and of the derived kernel: the expanded
Hamiltonian's equations of motion are written out here by hand, integrated with
``solve_ivp`` (rtol 1e-12), and differentiated by central differences about the orbit.
"""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from coupled_beam import lattice as lat
from coupled_beam import orbit_maps


def _field(K=0.0, k1=0.0, k2=0.0, H=0.0):
    """d/ds of (x, px, z, pz, delta, l): p^2 / 2(1 + delta) (solenoid H), -K x delta + K^2 x^2 / 2,
    k1 (x^2 - z^2) / 2, k2 (x^3 - 3 x z^2) / 6."""
    def f(s, y):
        x, px, z, pz, d, _ = y
        kx, kz = px + H * z / 2, pz - H * x / 2           # kinetic momenta
        vx, vz = kx / (1 + d), kz / (1 + d)
        return [vx, H / 2 * vz + K * d - K**2 * x - k1 * x - k2 * (x * x - z * z) / 2,
                vz, -H / 2 * vx + k1 * z + k2 * x * z,
                0.0, K * x + (vx * vx + vz * vz) / 2]
    return f


def _track(f, L, y):
    return solve_ivp(f, (0.0, L), y, rtol=1e-12, atol=1e-16, method="DOP853").y[:, -1]


def _jacobian(f, L, y0, h=1e-7):
    J = np.zeros((6, 6))
    for k in range(6):
        e = np.zeros(6)
        e[k] = h
        J[:, k] = (_track(f, L, y0 + e) - _track(f, L, y0 - e)) / (2 * h)
    return J


CASES = [
    ("drift", lambda: lat.Drift(1.5), dict()),
    ("quadrupole", lambda: lat.Quadrupole(0.6, 1.4), dict(k1=1.4)),
    ("combined bend", lambda: lat.Bend(1.2, K=0.1, n=-40.0), dict(K=0.1, k1=0.4)),
    ("sextupole", lambda: lat.Sextupole(0.4, k2=60.0), dict(k2=60.0)),
    ("solenoid", lambda: lat.Solenoid(0.8, H=0.5), dict(H=0.5)),
]


@pytest.mark.parametrize("name,make,field", CASES, ids=[c[0] for c in CASES])
def test_map_about_an_orbit_is_the_jacobian_of_the_motion(name, make, field):
    """sawtooth_change (delta0 to second order, first order in the transverse orbit) vs the integrated Jacobian."""
    el = make()
    f = _field(**field)
    y0 = np.array([2e-4, -3e-5, 1e-4, 4e-5, 5e-4, 0.0])
    y1 = _track(f, el.length, y0)
    ref = _jacobian(f, el.length, y0)
    bare = el.map6()
    ours = bare + orbit_maps.sawtooth_change([el], np.array([y0, y1]))[0]
    change = np.max(np.abs(ref - bare))
    assert change > 1e-5
    # second order in the transverse orbit: 1e-9 .. 1e-8 measured against changes of 1e-4 .. 1e-3
    assert np.max(np.abs(ours - ref)) < 1e-3 * change, (ours - ref)


def test_orbit_drive_is_the_second_order_motion():
    """orbit_drive: the exit of the tracked orbit minus its design map, through a combined bend with k2."""
    # a sextupole-like bend is not an element kind: chain a bend and a thick sextupole
    els = [lat.Bend(1.0, K=0.1, n=-30.0), lat.Sextupole(0.3, k2=80.0)]
    fields = [dict(K=0.1, k1=0.3), dict(k2=80.0)]
    y = [np.array([3e-4, 2e-5, -2e-4, -1e-5, 0.0, 0.0])]
    for el, fd in zip(els, fields):
        y.append(_track(_field(**fd), el.length, y[-1]))
    X = np.array(y)
    drive = orbit_maps.orbit_drive(els, X)
    for i, el in enumerate(els):
        lin = el.map6() @ X[i]
        second = X[i + 1] - lin
        assert np.max(np.abs(second)) > 1e-9
        # third order off: measured below 1e-3 of the second-order motion
        assert np.allclose(lin + drive[i], X[i + 1], rtol=0, atol=2e-3 * np.max(np.abs(second))), (
            el, lin + drive[i] - X[i + 1])


def test_energy_change_and_orbit_change_agree_to_first_order():
    """Two routes to delta0: the exact generator at 1 / (1 + delta0) and the first-order change;
    their difference is second order (100 x smaller for a 10 x smaller delta0)."""
    for el in (lat.Quadrupole(0.5, k1=1.3, tilt=0.2), lat.Solenoid(1.0, H=0.4),
               lat.Bend(1.2, K=0.05, n=-3, e1=0.02, e2=0.03, fint_gap1=0.01), lat.Drift(2.0)):
        gaps = []
        for d in (1e-3, 1e-4):
            X = np.zeros((2, 6))
            X[:, 4] = d
            gaps.append(np.max(np.abs(orbit_maps.energy_change([el], [d])[0] - orbit_maps.orbit_change([el], X)[0])))
        assert gaps[1] < 0.02 * gaps[0] + 1e-18, (el, gaps)


def test_tapered_magnet_is_the_design_magnet_at_the_local_momentum():
    """A tapered quadrupole at delta0: F^-1 R F with p' = p / (1 + delta0); its trace (tune) is the design one."""
    q = lat.Quadrupole(0.5, 1.0)
    X = np.zeros((2, 6))
    X[:, 4] = 2e-3
    J = q.map6() + orbit_maps.sawtooth_change([q], X, tapered=True)[0]
    assert np.isclose(np.trace(J[:2, :2]), np.trace(q.map6()[:2, :2]), rtol=0, atol=1e-14)
    assert np.isclose(J[0, 1], q.map6()[0, 1] / 1.002, rtol=1e-14)
    untapered = q.map6() + orbit_maps.sawtooth_change([q], X)[0]
    assert abs(np.trace(untapered[:2, :2]) - np.trace(q.map6()[:2, :2])) > 1e-4


def test_derivation_identities():
    """derivations.orbit_expansion.check(): Hamiltonian (Omega D symmetric), linear in the orbit, the
    drift's chromatic terms, the sextupole's feed-down."""
    pytest.importorskip("sympy")
    from derivations import orbit_expansion

    assert all(orbit_expansion.check().values()), orbit_expansion.check()
