"""pyAT's shipped ESRF (esrf.m) and DBA (dba.mat) lattices, quadrupoles rolled: 6-D route vs ohmi_envelope.

Every quadrupole is rolled by a seeded random 0.3 mrad rms (``at.tilt_elem``); the rings are
converted with ``ring_from_pyat(face_radiation=False)``: pyAT's tracking (hence ``ohmi_envelope``)
has no pole-face (wedge) radiation terms, so that is the setting consistent with it (the default
``face_radiation=True`` is Sands / MAD-X and differs by 7.6 % in sigma_x on dba.mat, tested below).

Measured (max over all refpts; relative for sizes, rad for tilt, this machine, seed 1):

========================  ===========  ===========  ==========  =============================
ring, NumIntSteps          sigma_x      sigma_z      tilt        mode emittances (one def.)
========================  ===========  ===========  ==========  =============================
dba + cavity, default      1.7e-4       3.8e-4       3.7e-6      2.5e-5, 3.1e-5, 7.4e-4
dba + cavity, x10          1.6e-4       1.1e-4       2.8e-6      1.6e-6, 4.5e-6, 2.6e-6
esrf, default              1.2e-2       1.5e-2       5.2e-3      8.0e-6, 7.3e-3, 3.2e-4
esrf, x10                  1.2e-2       1.6e-2       4.9e-3      1.0e-5, 9.2e-3, 1.1e-4
esrf tapered, default      2.5e-4       2.5e-4       6.4e-5      9.4e-6, 2.3e-4, 4.3e-6
esrf tapered, x10          2.4e-4       3.2e-4       9.2e-5      6.1e-6, 1.8e-4, 4.1e-6
========================  ===========  ===========  ==========  =============================

ESRF untapered misses the 1e-3 goal, and not because of the integration steps (x10 changes
nothing): it is the energy sawtooth (delta0 peak-to-peak 4.0e-4, both sides agree on it to 1e-9).
Tapered on both sides (pyAT ``tapering()``, ``tapered=True`` here) the two agree to 2.5e-4. The
6-D route's sawtooth model only scales magnet strengths by 1 / (1 + delta0); pyAT tracks the real
6-D closed orbit, x = eta delta0 (2.1e-4 m peak-to-peak), through the sextupoles and rolled
quadrupoles. Giving the converter pyAT's 6-D orbit (sextupole feed-down at x = eta delta0) brings
sigma_x from 1.2e-2 to 4.7e-3 but leaves sigma_z (1.6e-2) and tilt (5e-3): the rest is the orbit's
effect in the rolled quadrupoles and bends (vertical dispersion), which the linear model lacks.
The tunes show it: pyAT 0.44054 / 0.39002, here 0.44019 / 0.38996 (sawtooth by scaling), 0.44048 /
0.38998 with the feed-down; the vertical size is the roll-driven coupled mode, whose emittance
goes as 1 / (Q1 - Q2)^2 at a split of 0.050, so 1e-4 in the split is already 4e-3 in eps_2.
pyAT is the right side here; the untapered ESRF comparison is an expected failure (strict) until
the sawtooth model carries the closed-orbit feed-down.

Tapered, the steps do not matter either (2.5e-4 -> 2.4e-4 / 3.2e-4); the residual is of the order
of delta0 itself. Not separated here: the 6-D route evaluates every element's radiation damping
and diffusion at the nominal energy, pyAT at the local E (1 + delta0), and pyAT's iterative
tapering leaves a little of the sawtooth orbit (x peak-to-peak 1.8e-6 m after it).

CPU: ohmi_envelope 0.05 s (dba) / 0.15 s (dba x10) / 0.5-0.9 s (esrf) / 5 s (esrf x10); pyAT's
tapering of esrf about 4 s (9 s at x10), so the esrf cases run with pyAT's default steps only
(whole file about 8 s).
"""

import copy
import os
import warnings

import numpy as np
import pytest

at = pytest.importorskip("at")
machine_data = pytest.importorskip("machine_data")

from coupled_beam.interop.pyat import ring_from_pyat  # noqa: E402
from coupled_beam.sixd import mode_emittances  # noqa: E402

pytestmark = pytest.mark.slow


def _load(name: str, steps: int = 1):
    """A shipped lattice, a 1 MV cavity (harmonic ~ 500 MHz) added if it has none, quadrupoles rolled."""
    r = at.load_lattice(os.path.join(os.path.dirname(machine_data.__file__), name))
    if not len(r.get_uint32_index(at.RFCavity)):
        C = r.circumference
        h = int(round(C / 0.6))
        r.insert(0, at.RFCavity("RF", 0.0, 1e6 / r.periodicity, h * 299792458.0 / C, h, r.energy))
    r = r.disable_6d(copy=True)
    rng = np.random.default_rng(1)
    for i in r.get_uint32_index(at.Quadrupole):
        at.tilt_elem(r[i], rng.normal(0.0, 3e-4))
    if steps > 1:
        for el in r:
            if hasattr(el, "NumIntSteps"):
                el.NumIntSteps = int(el.NumIntSteps) * steps
    return r


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


@pytest.mark.parametrize("steps,tol,tol_eps", [(1, 1e-3, 1e-3), (10, 2e-4, 2e-5)])
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
    """esrf.m tapered on both sides (no sawtooth optics): 2.5e-4 measured at pyAT's default steps."""
    sx, sz, tilt, eps = _compare(_load("esrf.m"), tapered=True)
    assert sx < 1e-3 and sz < 1e-3 and tilt < 1e-3, (sx, sz, tilt)
    assert np.all(eps < 1e-3), eps


@pytest.mark.xfail(strict=True, reason="energy sawtooth: the 6-D route scales magnets by 1/(1+delta0) but "
                   "lacks the closed-orbit x = eta delta0 in sextupoles and rolled quadrupoles; measured "
                   "1.2e-2 (sigma_x), 1.5e-2 (sigma_z), 5e-3 rad (tilt) with default or x10 steps")
def test_esrf_untapered_matches_ohmi_envelope():
    """esrf.m as shipped, the issue's goal of 1e-3 (pyAT's default steps; x10 gives the same figures)."""
    sx, sz, tilt, _ = _compare(_load("esrf.m"))
    assert sx < 1e-3 and sz < 1e-3 and tilt < 1e-3, (sx, sz, tilt)
