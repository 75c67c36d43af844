"""pyAT's shipped ESRF (esrf.m) and DBA (dba.mat) lattices, quadrupoles rolled: 6-D route vs ohmi_envelope.

Every quadrupole is rolled by a seeded random 0.3 mrad rms (``at.tilt_elem``); the rings are
converted with ``ring_from_pyat(face_radiation=False)``: pyAT's tracking (hence ``ohmi_envelope``)
has no pole-face (wedge) radiation terms, so that is the setting consistent with it (the default
``face_radiation=True`` is Sands / MAD-X and differs by 7.6 % in sigma_x on dba.mat, tested below).

Measured (max over all refpts; relative for sizes, rad for tilt, this machine, seed 1):

========================  ===========  ===========  ==========  =============================
ring, NumIntSteps          sigma_x      sigma_z      tilt        mode emittances (one def.)
========================  ===========  ===========  ==========  =============================
dba + cavity, default      2.7e-5       3.6e-4       1.7e-6      2.5e-5, 3.6e-5, 7.9e-4
dba + cavity, x10          5.0e-6       7.9e-5       2.4e-7      1.6e-6, 5.8e-7, 4.8e-5
esrf, default              1.4e-4       1.8e-3       5.6e-4      1.0e-5, 2.4e-3, 1.4e-4
esrf, x10                  3.4e-5       3.1e-4       7.8e-5      7.9e-6, 5.0e-4, 6.7e-5
esrf tapered, default      3.3e-5       6.6e-5       4.8e-5      9.4e-6, 1.2e-4, 4.8e-6
esrf tapered, x10          3.5e-5       5.7e-5       3.1e-5      6.1e-6, 6.8e-5, 1.3e-5
========================  ===========  ===========  ==========  =============================

The 6-D route's maps are taken about the 6-D closed orbit (the energy sawtooth, ESRF: delta0
peak-to-peak 4.0e-4, x0 = eta delta0 2.1e-4 m), in canonical coordinates as pyAT tracks
(coupled_beam.orbit_maps): each element exact at its local delta0, plus the first-order
change of its map with the rest of the orbit, from the element's cubic Hamiltonian
(derivations.orbit_expansion). Tapered magnets are the design magnets at the local
reference momentum (pyAT's FieldScaling). The model before this (strengths scaled by
1 / (1 + delta0) in x' coordinates, hand-made delta column and path row, a symplectic
projection) had a floor of 2.2e-4 in sigma_x at every step count and 2.5e-4 tapered: its
maps were in x' = p / (1 + delta0) while its damping acted on p (pyAT keeps x' at emission),
an inconsistency of O(U0 / E).

ESRF untapered still misses 1e-3 in sigma_z at pyAT's default steps (1.8e-3), and that is
pyAT's integrator: its own sigma_z moves by 1.66e-3 from default to x30 steps, and ours
against it converges with the steps (max over refpts):

=============  ===========  ===========  =========================
NumIntSteps     sigma_x      sigma_z      pyAT(steps) vs pyAT(x30)
=============  ===========  ===========  =========================
x1 (default)    1.4e-4       1.8e-3       sigma_z 1.7e-3
x3              2.1e-5       8.0e-4       6.2e-4
x10             3.4e-5       3.1e-4       1.4e-4
x30             5.2e-5       2.0e-4       0
x100            4.6e-5       1.3e-4
=============  ===========  ===========  =========================

The mechanism (tests/test_sawtooth_orbit.py): in a radiating bend pyAT's orbit response to
the loss inside it (x, x', path at the exit) is about half the continuum value at 20 steps
and converges as 1 / steps; the delta level of the 6-D orbit, fixed by the path through
1 / alpha_c (alpha_c C = 0.15 m), is then 1.66e-6 below ours (2.0e-7 at x10), a tune error
of 2.2e-4 through the natural chromaticity, and the coupled mode's eps_2 goes as
1 / (Q1 - Q2)^2. The same on the small coupled ring of tests/test_sixd.py: pyAT's level is
1.8e-7 off ours at its 10 steps and 1.8e-8 at 100, and the sizes agree to 1e-4 and 2e-5.
A remainder of 1.3e-4 in sigma_z at x100 (pyAT's own x30 -> x100 change is about 1e-4) is
not resolved.

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
    """esrf.m tapered on both sides (magnets at the local reference momentum): 3.3e-5 / 6.6e-5 /
    4.8e-5 measured at pyAT's default steps (2.5e-4 before the maps were canonical)."""
    sx, sz, tilt, eps = _compare(_load("esrf.m"), tapered=True)
    assert sx < 2e-4 and sz < 2e-4 and tilt < 2e-4, (sx, sz, tilt)
    assert np.all(eps < 5e-4), eps


def test_esrf_untapered_sawtooth_orbit():
    """esrf.m as shipped: sigma_x and tilt within 1e-3 (1.4e-4, 5.6e-4 rad measured), sigma_z 1.8e-3.

    Scaling the strengths alone gave 1.2e-2 / 1.5e-2 / 5e-3: the maps about the sawtooth orbit
    (its dispersion orbit through the sextupoles, the drifts' p / (1 + delta0)) are what this checks.
    """
    sx, sz, tilt, _ = _compare(_load("esrf.m"))
    assert sx < 1e-3 and tilt < 1e-3, (sx, sz, tilt)
    assert sz < 3e-3, sz


@pytest.mark.xfail(strict=True, reason="pyAT's default NumIntSteps: its radiating bends move the orbit by "
                   "about half the continuum response to the in-bend loss, so its 6-D delta level is 1.66e-6 "
                   "lower (2.2e-4 in tune); sigma_z 1.8e-3 measured, pyAT's own x1 -> x30 change 1.66e-3")
def test_esrf_untapered_matches_ohmi_envelope():
    """esrf.m as shipped, the issue's goal of 1e-3 (pyAT's default steps)."""
    sx, sz, tilt, _ = _compare(_load("esrf.m"))
    assert sx < 1e-3 and sz < 1e-3 and tilt < 1e-3, (sx, sz, tilt)


def test_esrf_untapered_with_ten_times_the_steps():
    """esrf.m, NumIntSteps x10: 3.4e-5 (sigma_x), 3.1e-4 (sigma_z), 7.8e-5 rad measured. The issue asks
    2e-4: sigma_x and tilt meet it; sigma_z does not (pyAT's own x10 -> x30 change is 1.4e-4; x30 gives
    2.0e-4, x100 1.3e-4)."""
    sx, sz, tilt, eps = _compare(_load("esrf.m", 10))
    assert sx < 1e-4 and sz < 4e-4 and tilt < 2e-4, (sx, sz, tilt)
    assert np.all(eps < 1e-3), eps
