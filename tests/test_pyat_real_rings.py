"""pyAT's shipped ESRF (esrf.m) and DBA (dba.mat) lattices, quadrupoles rolled: 6-D route vs ohmi_envelope.

Every quadrupole is rolled by a seeded random 0.3 mrad rms (``at.tilt_elem``); the rings are
converted with ``ring_from_pyat(face_radiation=False)``: pyAT's tracking (hence ``ohmi_envelope``)
has no pole-face (wedge) radiation terms, so that is the setting consistent with it (the default
``face_radiation=True`` is Sands / MAD-X and differs by 7.6 % in sigma_x on dba.mat, tested below).

Measured (max over all refpts; relative for sizes, rad for tilt, this machine, seed 1):

========================  ===========  ===========  ==========  =============================
ring, NumIntSteps          sigma_x      sigma_z      tilt        mode emittances (one def.)
========================  ===========  ===========  ==========  =============================
dba + cavity, default      2.4e-5       3.6e-4       1.7e-6      2.5e-5, 3.1e-5, 7.8e-4
dba + cavity, x10          7.0e-6       7.7e-5       2.4e-7      1.5e-6, 4.5e-6, 4.5e-5
esrf, default              1.9e-4       1.7e-3       5.5e-4      1.1e-5, 2.2e-3, 2.6e-4
esrf, x10                  3.2e-5       2.2e-4       6.7e-5      7.7e-6, 3.0e-4, 4.7e-5
esrf tapered, default      3.5e-5       6.7e-5       4.9e-5      9.4e-6, 1.2e-4, 2.6e-6
esrf tapered, x10          3.6e-5       5.7e-5       3.1e-5      6.1e-6, 6.6e-5, 1.1e-5
========================  ===========  ===========  ==========  =============================

The 6-D route's maps are taken about the 6-D closed orbit (the energy sawtooth, ESRF: delta0
peak-to-peak 4.0e-4, x0 = eta delta0 up to 1e-4 m), in canonical coordinates as pyAT tracks
(coupled_beam.orbit_maps): each element at its local delta0 (to second order), a sextupole's
feed-down exact at the orbit's mean, and the first-order change of the map with the rest of
the orbit, from the element's cubic Hamiltonian (derivations.orbit_expansion). Tapered magnets
are the design magnets at the local reference momentum (pyAT's FieldScaling). The model
before this session (strengths scaled by 1 / (1 + delta0) in x' coordinates, hand-made delta
column and path row, a symplectic projection) had a floor of 2.2e-4 in sigma_x at every step
count and 2.5e-4 tapered: its maps were in x' = p / (1 + delta0) while its damping acted on p
(pyAT keeps x' at emission), an inconsistency of O(U0 / E).

What is left against ohmi_envelope is pyAT's integrator, and it converges onto ours
(esrf untapered, max over refpts):

=============  ===========  ===========  ==========  =====================================
NumIntSteps     sigma_x      sigma_z      tilt        our maps about pyAT's orbit (sx / sz)
=============  ===========  ===========  ==========  =====================================
x1 (default)    1.9e-4       1.7e-3       5.5e-4      1.5e-4 / 3.3e-4
x3              7.6e-5       7.0e-4       2.2e-4
x10             3.2e-5       2.2e-4       6.7e-5      2.6e-5 / 2.1e-5
x30             1.9e-5       8.3e-5       2.2e-5
x100            2.5e-5       3.7e-5       1.3e-5
=============  ===========  ===========  ==========  =====================================

The mechanism (tests/test_sawtooth_orbit.py): in a radiating bend pyAT's orbit response to
the loss inside it (x, x', path at the exit) is about half the continuum value at 20 steps
and converges as 1 / steps; the delta level of the 6-D orbit, fixed by the path through
1 / alpha_c (alpha_c C = 0.15 m), is then 1.6e-6 below ours (1.6e-7 at x10, 1.6e-8 at x100):
tune errors of 2.2e-4 / 2.4e-5 / 3e-6 through the natural chromaticity, and the coupled mode's
eps_2 (sigma_z) goes as 1 / (distance to the coupling resonance)^2. Our maps evaluated about
pyAT's own orbit (the last column, test below) meet the issue's 1e-3 at default steps and
2e-4 at x10: the model is right, pyAT's orbit is not yet converged. The same on the small
coupled ring of tests/test_sixd.py: pyAT's level is 1.8e-7 off ours at its 10 steps and 1.8e-8
at 100, and the sizes agree to 1e-4 and 2e-5.

CPU: ohmi_envelope 0.05 s (dba) / 0.15 s (dba x10) / 0.5-0.9 s (esrf) / 5 s (esrf x10); pyAT's
tapering of esrf about 4 s (9 s at x10), so the esrf cases run with pyAT's default steps only
(whole file about 8 s).
"""

import copy
import warnings

import numpy as np
import pytest

at = pytest.importorskip("at")

from _lattices import shipped_pyat  # noqa: E402
from coupled_beam.interop.pyat import ring_from_pyat  # noqa: E402
from coupled_beam.sixd import mode_emittances  # noqa: E402

pytestmark = pytest.mark.slow


def _load(name: str, steps: int = 1):
    """A shipped lattice, a 1 MV cavity (harmonic ~ 500 MHz) added if it has none, quadrupoles rolled."""
    return shipped_pyat(name, roll="quadrupoles", steps=steps)


def _compare(r, *, tapered: bool = False, face_radiation: bool = False):
    """(rel sigma_x, rel sigma_z, abs tilt, rel mode emittances) of ours vs ohmi_envelope, all refpts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ring = ring_from_pyat(r, face_radiation=face_radiation)
        r6 = copy.deepcopy(r).enable_6d(copy=True)
        if tapered:
            r6.tapering(niter=3, quadrupole=True, sextupole=True)
        e0, _, env = at.ohmi_envelope(r6, refpts=range(len(r) + 1))
        eq = ring.equilibrium(model="6d", tapered=tapered)
    S = env.r66
    tilt = 0.5 * np.arctan2(2 * S[:, 0, 2], S[:, 0, 0] - S[:, 2, 2])
    rel = lambda a, b: float(np.max(np.abs(a / b - 1)))  # noqa: E731
    eps = mode_emittances(eq.moments[0], eq.decomposition) / mode_emittances(e0.r66, eq.decomposition) - 1
    return (rel(eq.sigma_x, np.sqrt(S[:, 0, 0])), rel(eq.sigma_z, np.sqrt(S[:, 2, 2])),
            float(np.max(np.abs(eq.tilt - tilt))), np.abs(eps))


@pytest.mark.parametrize("steps,tol,tol_eps", [(1, 1e-3, 1e-3), (10, 2e-4, 2e-4)])
def test_dba_rolled_quadrupoles_match_ohmi_envelope(steps, tol, tol_eps):
    """dba.mat + cavity: within 1e-3 at pyAT's default NumIntSteps, 2e-4 with x10 (face_radiation=False)."""
    sx, sz, tilt, eps = _compare(_load("dba.mat", steps))
    assert sx < tol and sz < tol and tilt < tol, (sx, sz, tilt)
    assert np.all(eps < tol_eps), eps


def test_dba_face_radiation_is_what_pyat_tracking_lacks():
    """The Sands / MAD-X wedge terms (default face_radiation=True) are 7.6 % off pyAT's tracking."""
    sx, sz, _, _ = _compare(_load("dba.mat"), face_radiation=True)
    assert 0.05 < sx < 0.1 and 0.04 < sz < 0.08, (sx, sz)


def test_esrf_tapered_matches_ohmi_envelope():
    """esrf.m tapered on both sides (magnets at the local reference momentum): 3.5e-5 / 6.7e-5 /
    4.9e-5 measured at pyAT's default steps (2.5e-4 before the maps were canonical)."""
    sx, sz, tilt, eps = _compare(_load("esrf.m"), tapered=True)
    assert sx < 2e-4 and sz < 2e-4 and tilt < 2e-4, (sx, sz, tilt)
    assert np.all(eps < 5e-4), eps


def test_esrf_untapered_sawtooth_orbit():
    """esrf.m as shipped: sigma_x and tilt within 1e-3 (1.9e-4, 5.5e-4 rad measured), sigma_z 1.7e-3.

    Scaling the strengths alone gave 1.2e-2 / 1.5e-2 / 5e-3: the maps about the sawtooth orbit
    (its dispersion orbit through the sextupoles, the drifts' p / (1 + delta0)) are what this checks.
    """
    sx, sz, tilt, _ = _compare(_load("esrf.m"))
    assert sx < 1e-3 and tilt < 1e-3, (sx, sz, tilt)
    assert sz < 3e-3, sz


@pytest.mark.xfail(strict=True, reason="pyAT's default NumIntSteps: its radiating bends move the orbit by "
                   "about half the continuum response to the in-bend loss, so its 6-D delta level is 1.66e-6 "
                   "lower (2.2e-4 in tune); sigma_z 1.7e-3 measured, pyAT's own x1 -> x30 change 1.66e-3; about "
                   "pyAT's own orbit our maps give 3.3e-4 (test_esrf_maps_about_pyats_own_orbit_match_ohmi_envelope)")
def test_esrf_untapered_matches_ohmi_envelope():
    """esrf.m as shipped, the issue's goal of 1e-3 (pyAT's default steps)."""
    sx, sz, tilt, _ = _compare(_load("esrf.m"))
    assert sx < 1e-3 and sz < 1e-3 and tilt < 1e-3, (sx, sz, tilt)


def test_esrf_untapered_with_ten_times_the_steps():
    """esrf.m, NumIntSteps x10: 3.2e-5 (sigma_x), 2.2e-4 (sigma_z), 6.7e-5 rad measured. The issue asks
    2e-4: sigma_x and tilt meet it; sigma_z misses by pyAT's orbit (x30 gives 8.3e-5; about pyAT's own
    orbit our maps give 2.1e-5, the test below)."""
    sx, sz, tilt, eps = _compare(_load("esrf.m", 10))
    assert sx < 1e-4 and sz < 3e-4 and tilt < 2e-4, (sx, sz, tilt)
    assert np.all(eps < 1e-3), eps


@pytest.mark.parametrize("steps,tol", [(1, 1e-3), (10, 1e-4)])
def test_esrf_maps_about_pyats_own_orbit_match_ohmi_envelope(steps, tol):
    """Our element maps about pyAT's own 6-D closed orbit (its find_orbit at its steps) and our noise:
    the model without pyAT's orbit error. 1.5e-4 / 3.3e-4 (default steps; the rest is pyAT's coarse
    maps) and 2.6e-5 / 2.1e-5 (x10) measured in sigma_x / sigma_z, against 1.9e-4 / 1.7e-3 and
    3.2e-5 / 2.2e-4 with our own orbit: the difference is pyAT's delta level."""
    r = _load("esrf.m", steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ring = ring_from_pyat(r, face_radiation=False)
        r6 = copy.deepcopy(r).enable_6d(copy=True)
        _, _, env = at.ohmi_envelope(r6, refpts=range(len(r) + 1))
        _, orbit = r6.find_orbit(refpts=range(len(r) + 1))
        eq = ring.equilibrium(model="6d", orbit=orbit)
        own = ring.equilibrium(model="6d")
    ref = np.sqrt(env.r66[:, [0, 2], [0, 2]])
    sx = np.max(np.abs(eq.sigma_x / ref[:, 0] - 1))
    sz = np.max(np.abs(eq.sigma_z / ref[:, 1] - 1))
    assert np.max(np.abs(own.delta0 - orbit[:, 4])) > 1e-8        # pyAT's orbit is not ours
    assert sx < tol and sz < tol, (sx, sz)


def test_hmba_converges_onto_ours_as_pyat_refines_its_steps():
    """hmba.mat (one ESRF-EBS cell, periodicity 32), quadrupoles rolled: against ohmi_envelope our
    result is pyAT's many-step limit. sigma_x 2.0e-3 / 2.0e-4 / 2.2e-5 and sigma_z 1.1e-2 / 1.0e-3 /
    1.0e-4 at pyAT's steps x1 / x10 / x100 measured: 1 / steps, pyAT's radiating-bend integrator."""
    errs = [_compare(shipped_pyat("hmba.mat", roll="quadrupoles", steps=st))[:2] for st in (1, 10, 100)]
    (sx1, sz1), (sx10, sz10), (sx100, sz100) = errs
    assert sx100 < 1e-4 and sz100 < 3e-4, errs
    for a, b in ((sx1, sx10), (sx10, sx100), (sz1, sz10), (sz10, sz100)):
        assert 5 < a / b < 20, errs            # 1 / steps: the difference is pyAT's, not a floor of ours
