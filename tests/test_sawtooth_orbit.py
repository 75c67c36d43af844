"""The 6-D route's maps about the energy-sawtooth orbit, element by element, against pyAT.

References are pyAT's ``find_elem_m66`` at an orbit (its symplectic integrator of the
expanded Hamiltonian: an independent route) and pyAT's tracking. Both are in canonical
coordinates (x, px, z, pz, delta, ct), as the 6-D route's maps about the orbit are
(:mod:`coupled_beam.orbit_maps`), so they are compared as they are.
"""

import numpy as np
import pytest

at = pytest.importorskip("at")

from coupled_beam import lattice as lat  # noqa: E402
from coupled_beam import orbit_maps  # noqa: E402
from coupled_beam.interop.pyat import pyat_elements  # noqa: E402
from coupled_beam.lattice.maps import element_maps6  # noqa: E402


def _pyat_jacobian(el, o_in):
    """pyAT's Jacobian at o_in (canonical), and the orbit at the exit."""
    o_out = np.array(o_in, dtype=float).reshape(6, 1)
    el.track(o_out, in_place=True)
    return at.find_elem_m66(el, np.asarray(o_in, dtype=float)), o_out.ravel()


@pytest.mark.parametrize("roll", [0.0, 0.3])
def test_sextupole_displaced_equals_pyat_at_the_orbit(roll):
    """Sextupole(K2).displaced(x0, z0): the feed-down quadrupole of pyAT's sextupole at that orbit
    (normal and skew, rolled or not: the frame turn exp(3 i t) of k2 + i k2s)."""
    s = at.Sextupole("S", 0.3, 12.0, NumIntSteps=200)
    if roll:
        at.tilt_elem(s, roll)
    o = np.array([4e-4, 0.0, -3e-4, 0.0, 0.0, 0.0])
    ref, o_out = _pyat_jacobian(s, o)
    conv = pyat_elements([s])[0]
    assert isinstance(conv, lat.Sextupole) and abs(np.hypot(conv.k2, conv.k2s) - 24.0) < 1e-12
    w = 0.5 * (o + o_out)          # the mean orbit, as the 6-D route uses
    ours = element_maps6([conv.displaced(w[0], w[2])])[0]
    # the orbit bends inside, so pyAT's gradient varies along it; measured 1.6e-7 (7e-5 of it: the orbit moves 4e-8 m inside) against the
    # feed-down itself, K2 |w0| L = 3.6e-3 (a 1 % error of it would be 3.6e-5)
    assert np.allclose(ours[:4, :4], ref[:4, :4], rtol=0, atol=4e-7), ours[:4, :4] - ref[:4, :4]
    assert np.max(np.abs(ours[:4, :4] - element_maps6([lat.Drift(0.3)])[0][:4, :4])) > 1e-3


def test_thin_sextupole_displaced_equals_pyat():
    """ThinSextupole: the thin multipole's feed-down at (x0, z0)."""
    m = at.ThinMultipole("M", [0.0, 0.0, 0.0], [0.0, 0.0, 3.0])
    o = np.array([2e-3, 0.0, 1e-3, 0.0, 0.0, 0.0])
    ref, _ = _pyat_jacobian(m, o)
    conv = pyat_elements([m])[0]
    assert isinstance(conv, lat.ThinSextupole)
    ours = element_maps6([conv.displaced(o[0], o[2])])[0]
    assert np.allclose(ours[:4, :4], ref[:4, :4], rtol=0, atol=1e-11), ours[:4, :4] - ref[:4, :4]
    assert abs(ours[1, 0] + 2 * 3.0 * o[0]) < 1e-12       # k1 = K2 x0 with K2 = 2 b2


def _rolled(el, t):
    at.tilt_elem(el, t)
    return el


@pytest.mark.parametrize("make", [
    lambda: at.Drift("D", 2.0),
    lambda: at.Quadrupole("Q", 0.5, 1.3, NumIntSteps=200),
    lambda: _rolled(at.Quadrupole("Q", 0.5, -1.1, NumIntSteps=200), 0.3),
    lambda: at.Dipole("B", 1.0, 0.2, -0.4, NumIntSteps=200),
    lambda: at.Sextupole("S", 0.3, 40.0, NumIntSteps=200),
])
def test_maps_about_an_offset_orbit_equal_pyat_jacobian(make):
    """The map about an orbit (x0, px0, z0, pz0, delta0) (orbit_maps.sawtooth_change: delta0 to second order,
    first order in the rest): pyAT's Jacobian there, to a small fraction of the change itself."""
    el = make()
    o_in = np.array([1.5e-4, 2e-5, -1e-4, 1e-5, 3e-4, 0.0])
    ref, o_out = _pyat_jacobian(el, o_in)
    conv = pyat_elements([el])[0]
    bare = element_maps6([conv])[0]
    ours = bare + orbit_maps.sawtooth_change([conv], np.array([o_in, o_out]))[0]
    change = np.max(np.abs(ref - bare))
    assert change > 3e-5
    # measured 1e-9 .. 4e-8 (second order in the orbit, pyAT's 200 steps) against changes of 1e-4 .. 6e-4
    assert np.max(np.abs(ours - ref)) < 1e-3 * change, ours - ref


def test_orbit_change_is_symplectic_to_first_order():
    """Derived from a Hamiltonian, the first-order change needs no projection: M^T J M - J is
    second order in the orbit (100 x smaller for an orbit 10 x smaller)."""
    J = np.kron(np.eye(3), [[0.0, 1.0], [-1.0, 0.0]])
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 6)) * 1e-3
    for el in (lat.Quadrupole(0.5, 1.3, tilt=0.2), lat.Sextupole(0.3, k2=30.0, k2s=5.0),
               lat.Solenoid(1.0, H=0.4), lat.Drift(2.0)):
        err = []
        for scale in (1.0, 0.1):
            M = el.map6() + orbit_maps.orbit_change([el], X * scale)[0]
            err.append(np.max(np.abs(M.T @ J @ M - J)))
        assert err[1] < 0.02 * err[0] + 1e-15, (el, err)


def _radiating_bend(steps: int):
    b = at.Dipole("B", 2.15728897, 0.0923248, 0.0, NumIntSteps=steps)   # an ESRF main dipole
    b.PassMethod = "BndMPoleSymplectic4RadPass"
    return b


def test_loss_inside_a_bend_moves_the_orbit_as_pyat_converges_to():
    """The sawtooth's in-bend loss (Simpson, longitudinal.energy_sawtooth): orbit x, x' and path
    at the exit equal pyAT's radiating bend in the limit of many steps; at pyAT's default 20
    steps pyAT gives about half (that is most of pyAT's own 1.7e-3 sigma_z change on esrf.m
    from default to x30 steps, tests/test_pyat_real_rings.py)."""
    from coupled_beam import longitudinal as lo

    E = 6.04e9
    out = {}
    for steps in (20, 2000):
        o = np.zeros((6, 1))
        _radiating_bend(steps).track(o, in_place=True, energy=E)
        out[steps] = o.ravel()
    u = -out[2000][4]
    b = lat.Bend(2.15728897, K=0.0923248 / 2.15728897)
    M = element_maps6([b])
    H = element_maps6(lo.second_halves([b], [0]))
    c = -u * (M[0] @ np.eye(6)[4] + 4 * H[0] @ np.eye(6)[4] + np.eye(6)[4]) / 6
    for k in (0, 1, 5):         # x, x', path: measured 1e-3 .. 1e-4 of each at 2000 steps
        assert abs(c[k] / out[2000][k] - 1) < 1e-2, (k, c[k], out[2000][k])
        assert abs(out[20][k] / out[2000][k] - 1) > 0.3          # pyAT's default steps: far off


def test_bend_noise_is_pyat_diffusion_in_the_limit_of_many_steps():
    """The bend's 6x6 noise (exact in-bend dispersion) vs pyAT's find_mpole_raddiff_matrix:
    converges to it as 1/steps (B11 0.18, 0.92, 0.99 of ours at 20, 200, 2000 steps)."""
    bend = lat.Bend(2.15728897, K=0.0923248 / 2.15728897)
    cell = [lat.Quadrupole(0.3, 0.8), lat.Drift(1.0), bend, lat.Drift(1.0),
            lat.Quadrupole(0.3, -0.8), lat.Drift(1.0), bend, lat.Drift(1.0)]
    ring = lat.Ring(cell * 34, energy=6.04)      # any stable ring: the element noise is local
    ours = np.asarray(ring.element_noise6)[2]
    B = at.find_mpole_raddiff_matrix(_radiating_bend(2000), np.zeros(6), 6.04e9)
    assert abs(B[4, 4] / ours[4, 4] - 1) < 1e-4
    assert abs(B[0, 0] / ours[0, 0] - 1) < 2e-2 and abs(B[1, 1] / ours[1, 1] - 1) < 2e-2
    B20 = at.find_mpole_raddiff_matrix(_radiating_bend(20), np.zeros(6), 6.04e9)
    assert B20[0, 0] / ours[0, 0] < 0.5


def test_bend_faces_and_fringe_at_the_local_energy():
    """A bend with faces and a fringe gap at delta0 (orbit_maps.energy_change: the kinetic term
    / (1 + delta0), the fringe's psi / (1 + delta0); and the dispersion orbit delta0 makes in
    it, orbit_change): pyAT's Jacobian at delta0."""
    b = at.Dipole("B", 1.0, 0.15, 0.0, EntranceAngle=0.1, ExitAngle=0.05, FullGap=0.05,
                  FringeInt1=0.5, FringeInt2=0.5, NumIntSteps=400)
    d = 1e-3
    o = np.array([0.0, 0.0, 0.0, 0.0, d, 0.0])
    ref, o_out = _pyat_jacobian(b, o)
    conv = pyat_elements([b])[0]
    bare = element_maps6([conv])[0]
    ours = bare + orbit_maps.sawtooth_change([conv], np.array([o, o_out]))[0]
    assert np.max(np.abs(ref[:4, :4] - bare[:4, :4])) > 1e-4
    # measured 1.5e-7 in the delta column against a change of 7.5e-5 there (second order:
    # delta0 x the dispersion orbit it makes, 1e-3 x 1.5e-4); the faces and fringe 1e-12
    assert np.allclose(ours[:4, :4], ref[:4, :4], rtol=0, atol=1e-9), ours[:4, :4] - ref[:4, :4]
    assert np.allclose(ours, ref, rtol=0, atol=5e-7), ours - ref


@pytest.mark.parametrize("roll", [0.0, 0.2])
def test_sextupole_on_an_orbit_keeps_k2_for_the_sawtooth(roll):
    """A sextupole on a closed orbit converts to a kicked element (its kick's chromatic part) that
    still carries K2 (lab frame); displaced by (dx, dz) it is pyAT's Jacobian at the moved orbit."""
    s = at.Sextupole("S", 0.3, 12.0, NumIntSteps=200)
    if roll:
        at.tilt_elem(s, roll)

    def converted(o):
        o_out = o.copy().reshape(6, 1)
        s.track(o_out, in_place=True)
        return pyat_elements([s], orbit=np.array([o[:4], o_out.ravel()[:4]]))[0]

    o1 = np.array([1e-3, 0.0, 5e-4, 0.0, 0.0, 0.0])
    d = np.array([2e-4, 0.0, -3e-4, 0.0, 0.0, 0.0])
    conv = converted(o1)
    assert isinstance(conv, lat.Generic) and abs(np.hypot(conv.k2, conv.k2s) - 24.0) < 1e-9
    ref, _ = _pyat_jacobian(s, o1 + d)
    moved = element_maps6([conv.displaced(d[0], d[2])])[0]
    direct = element_maps6([converted(o1 + d)])[0]
    # the feed-down change K2 |d| L = 2.6e-3 (a 1 % error: 2.6e-5); displaced vs converting at the
    # moved orbit and vs pyAT there: 8.4e-7 measured, the orbit's bending inside (its change
    # with d is second order; displaced keeps the gradient's slope along the magnet)
    assert np.max(np.abs(moved[:4, :4] - element_maps6([conv])[0][:4, :4])) > 1e-3
    assert np.allclose(moved[:4, :4], direct[:4, :4], rtol=0, atol=2e-6)
    assert np.allclose(moved[:4, :4], ref[:4, :4], rtol=0, atol=2e-6)


@pytest.mark.parametrize("roll", [0.0, 0.3])
def test_orbit_drive_is_pyat_tracking(roll):
    """The sawtooth orbit's own second-order terms (orbit_maps.orbit_drive): a sextupole's quadratic
    kick along the orbit and the path p^2 / 2 of its slopes, against pyAT tracking one particle."""
    s = at.Sextupole("S", 0.4, 12.0, NumIntSteps=200)
    if roll:
        at.tilt_elem(s, roll)
    conv = pyat_elements([s])[0]
    o = np.array([3e-4, 2e-5, -2e-4, -1e-5, 0.0, 0.0])
    out = o.copy().reshape(6, 1)
    s.track(out, in_place=True)
    out = out.ravel()
    lin = element_maps6([conv])[0] @ o          # the drift on the design orbit
    f = orbit_maps.orbit_drive([conv], np.array([o, out]))[0]
    # kicks of 2.5e-7 .. 5.9e-7 rad; measured 1e-11 (the orbit inside is the design drift: third
    # order off); a factor or sign error would be 1e-7
    assert np.allclose(lin[:4] + f[:4], out[:4], rtol=0, atol=2e-10), (lin[:4] + f[:4] - out[:4])
    assert np.max(np.abs(out[:4] - lin[:4])) > 1e-7
    assert abs(lin[5] + f[5] - out[5]) < 1e-3 * abs(f[5]) + 1e-15, (f[5], out[5] - lin[5])
