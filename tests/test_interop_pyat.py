"""Peer agreement with pyAT (accelerator-toolbox): maps, radiation, 6-D envelope.

Reference values come from pyAT itself (tracking-based maps ``find_elem_m66``,
``ohmi_envelope``, analytic ``radiation_parameters``), an independent code.
Model differences (module notes of coupled_beam.interop.pyat): we fold the
energy spread into a 4-D betatron equilibrium, pyAT solves the 6-D envelope
with the RF cavity in dispersion; the two differ by O(Q_s^2), so the test
rings run at Q_s = 0.002 and a separate test shows the Q_s^2 growth.
"""

import numpy as np
import pytest

at = pytest.importorskip("at")

from coupled_beam.errors import UnknownElementError  # noqa: E402
from coupled_beam.interop.pyat import (_convert, compare_with_pyat,  # noqa: E402
                                       example_at_ring, ring_from_pyat, time_vs_ohmi)


def _pyat_m44(el):
    m = at.find_elem_m66(el, np.zeros(6), energy=1e9, particle=at.Particle("electron"))
    return m[:4, :4]


ELEMENTS = {
    "combined bend": at.Dipole("B", 1.2, 0.15, -0.2, NumIntSteps=400),
    "rectangular bend with fringe": at.Dipole(
        "B", 1.2, 0.15, -0.2, EntranceAngle=0.05, ExitAngle=0.1, FullGap=0.04,
        FringeInt1=0.5, FringeInt2=0.4, NumIntSteps=400),
    "quadrupole": at.Quadrupole("Q", 0.3, -1.3, NumIntSteps=400),
    "thick skew quadrupole": at.Quadrupole("SQ", 0.3, 0.0, PolynomA=[0, 0.4],
                                           NumIntSteps=400),
    "tilted-ish quadrupole (normal + skew)": at.Quadrupole(
        "Q", 0.3, 1.1, PolynomA=[0, 0.4], NumIntSteps=400),
    "thin skew quadrupole": at.ThinMultipole("SK", poly_a=[0, 0.05], poly_b=[0, 0]),
    "solenoid": at.LongElement("SOL", 0.5, PassMethod="SolenoidLinearPass", K=0.3),
    "sextupole (no linear effect)": at.Sextupole("S", 0.2, 5.0),
    "marker": at.Marker("M"),
}


@pytest.mark.parametrize("name", sorted(ELEMENTS))
def test_element_map_converted_equals_pyat_tracking(name):
    """Every converted element has pyAT's 4x4 transfer map."""
    el = ELEMENTS[name]
    # pyAT's 4th-order integrator at 400 steps: error ~ (L/400)^4, far below 1e-9
    assert np.allclose(_convert(0, el).transfer_map(), _pyat_m44(el), rtol=1e-9, atol=1e-9), name


def test_boundaries_keep_pyat_s_positions():
    """Boundary i of the converted ring sits at pyAT's s of refpt i."""
    at_ring = example_at_ring(coupled=True)
    ring = ring_from_pyat(at_ring, radiation=False)
    s_at = at_ring.get_s_pos(range(len(at_ring) + 1))
    # sums of the same lengths: rounding only
    assert np.allclose(ring.s, s_at, rtol=0.0, atol=1e-12), "s positions"


@pytest.mark.parametrize("el", [at.Corrector("KICK", 0.0, [1e-4, 0.0]),
                                at.ThinMultipole("THINQ", poly_a=[0, 0], poly_b=[0, 0.1])])
def test_unconvertible_element_raises_naming_it(el):
    """An element without a linear counterpart raises UnknownElementError with its name."""
    at_ring = example_at_ring()
    at_ring.insert(3, el)
    with pytest.raises(UnknownElementError, match=el.FamName):
        ring_from_pyat(at_ring)


@pytest.fixture(scope="module")
def comparisons():
    """compare_with_pyat on the uncoupled and the coupled test ring (Q_s = 0.002)."""
    return {c: compare_with_pyat(example_at_ring(coupled=c)) for c in (False, True)}


def _rows(cmp):
    return {q: (a, b) for q, a, b, _ in cmp.rows}


@pytest.mark.parametrize("coupled", [False, True])
def test_tunes_and_damping_times_match_ohmi(comparisons, coupled):
    """Mode tunes and damping times of our damped one-turn map equal pyAT's 6-D ones."""
    rows = _rows(comparisons[coupled])
    for q in ("tune mode 1", "tune mode 2"):
        # pyAT maps from a 10-step integrator and finite differences: ~2e-6 measured
        assert np.isclose(*rows[q], rtol=1e-5, atol=0.0), q
    for q in ("damping time mode 1 (s)", "damping time mode 2 (s)", "damping time long. (s)"):
        # O(Q_s^2) synchro-betatron mixing plus finite differences: 3e-5 measured
        assert np.isclose(*rows[q], rtol=1e-4, atol=0.0), q


@pytest.mark.parametrize("coupled", [False, True])
def test_radiation_integrals_match_pyat(comparisons, coupled):
    """I1...I4, U0, J_x, J_s, tau_x from our quadrature equal pyAT's analytic ones."""
    rows = _rows(comparisons[coupled])
    for q in ("I1 (m)", "I2 (1/m)", "I3 (1/m^2)", "I4 (1/m)", "U0 (eV)", "J_x", "J_s",
              "tau_x integrals (s)"):
        # both near-exact; pyAT's Twiss come from 10-step tracking (4e-8 measured)
        assert np.isclose(*rows[q], rtol=1e-6, atol=0.0), q


def test_natural_emittance_uncoupled_matches_pyat(comparisons):
    """eps_x = C_q gamma^2 I5/(J_x I2) and the equilibrium's mode emittance equal pyAT's."""
    rows = _rows(comparisons[False])
    # I5 integrated differently (analytic vs Gauss-Legendre): 1e-7 measured
    assert np.isclose(*rows["eps_x integrals (m)"], rtol=1e-6, atol=0.0)
    # ohmi's mode emittance vs (10): O(Q_s^2) plus pyAT's map error, 2e-5 measured
    assert np.isclose(*rows["mode emittance large (m)"], rtol=1e-4, atol=0.0)
    assert np.isclose(rows["eps_x integrals (m)"][0], 3.154697e-07, rtol=1e-6, atol=0.0), \
        "pinned value of the test ring"


@pytest.mark.parametrize("coupled", [False, True])
def test_energy_spread_matches_ohmi(comparisons, coupled):
    """<p^2> from the integrals equals Sigma_55 of pyAT's 6-D envelope."""
    rows = _rows(comparisons[coupled])
    # 6-D vs integrals: O(Q_s^2) and U0/E = 1.7e-5 (1e-5 measured)
    assert np.isclose(*rows["sigma_delta"], rtol=1e-4, atol=0.0)


@pytest.mark.parametrize("coupled", [False, True])
def test_beam_sizes_match_ohmi_everywhere(comparisons, coupled):
    """sigma_x (and sigma_z, tilt when coupled) agree with ohmi_envelope at every refpt."""
    cmp = comparisons[coupled]
    # 4-D + folding vs 6-D: O(Q_s^2) at Q_s = 0.002 (4.6e-5 measured); issue aim 1e-3
    assert cmp.max_rel_sigma_x < 1e-4, cmp.max_rel_sigma_x
    if coupled:
        assert cmp.max_rel_sigma_z < 1e-4, cmp.max_rel_sigma_z
        # tilt ~0.46 rad; same O(Q_s^2) (4.7e-5 rad measured)
        assert cmp.max_abs_tilt < 1e-4, cmp.max_abs_tilt
        rows = _rows(cmp)
        for q in ("mode emittance small (m)", "mode emittance large (m)"):
            # same O(Q_s^2) as the sizes (2e-5 measured)
            assert np.isclose(*rows[q], rtol=1e-4, atol=0.0), q
    else:
        assert np.all(cmp.sigma_z[0] < 1e-15), "flat uncoupled ring: sigma_z = 0 in both"


def test_size_difference_grows_as_synchrotron_tune_squared():
    """The 4-D/6-D difference is a model effect: it grows about as Q_s^2."""
    for coupled in (False, True):
        small = compare_with_pyat(example_at_ring(coupled, q_s=0.005)).max_rel_sigma_x
        large = compare_with_pyat(example_at_ring(coupled, q_s=0.02)).max_rel_sigma_x
        # Q_s^2 predicts a factor 16; 14 and 20 measured
        assert 8 < large / small < 32, (coupled, small, large)


def test_time_vs_ohmi_reports_both_times():
    """The bench helper times both solvers on the same ring."""
    t = time_vs_ohmi(example_at_ring(), repeat=1)
    assert t["elements"] == 145
    assert t["ours_s"] > 0 and t["ohmi_s"] > 0
    assert np.isclose(t["speedup"], t["ohmi_s"] / t["ours_s"], rtol=1e-12, atol=0.0)


@pytest.fixture(scope="module")
def rectangular():
    """The coupled test ring with rectangular bends (face angles = half the bend angle)."""
    ring = example_at_ring(coupled=True)
    for el in ring:
        if isinstance(el, at.Dipole):
            el.EntranceAngle = el.ExitAngle = el.BendingAngle / 2
    return ring


def test_face_terms_match_pyat_radiation_integrals(rectangular):
    """With pole faces, our I4, J_x, tau_x equal pyAT's radiation_parameters."""
    rows = _rows(compare_with_pyat(rectangular, face_radiation=True))
    for q in ("I4 (1/m)", "J_x", "J_s", "tau_x integrals (s)"):
        # analytic vs quadrature of the same integrals (1e-7 measured)
        assert np.isclose(*rows[q], rtol=1e-6, atol=0.0), q


def test_without_face_terms_sizes_match_ohmi(rectangular):
    """pyAT tracks without face radiation: face_radiation=False reproduces ohmi_envelope."""
    cmp = compare_with_pyat(rectangular, face_radiation=False)
    # O(Q_s^2) model difference as for sector bends (3.2e-5 measured)
    assert cmp.max_rel_sigma_x < 1e-4 and cmp.max_rel_sigma_z < 1e-4, cmp
    assert cmp.max_abs_tilt < 1e-4, cmp.max_abs_tilt
    rows = _rows(cmp)
    for q in ("damping time mode 1 (s)", "damping time mode 2 (s)", "damping time long. (s)"):
        # as for sector bends (7.5e-5 measured)
        assert np.isclose(*rows[q], rtol=2e-4, atol=0.0), q


def test_periodicity_is_tiled_to_a_full_turn():
    """A pyAT lattice of 4 cells with periodicity 4 gives the 16-cell ring's one-turn map."""
    full = example_at_ring(cells=16)
    part = full[:1 + 9 * 4]            # RF cavity + 4 cells of 9 elements
    part.periodicity = 4
    a = ring_from_pyat(part, radiation=False)
    b = ring_from_pyat(full, radiation=False)
    # the extra zero-length cavities are identities: same products, rounding only
    assert np.isclose(a.circumference, b.circumference, rtol=1e-14, atol=0.0)
    assert np.allclose(a.one_turn_map(), b.one_turn_map(), rtol=1e-10, atol=1e-12)


def test_six_d_ring_converts_like_four_d_ring():
    """Radiation pass methods of enable_6d() do not change the converted lattice."""
    at_ring = example_at_ring(coupled=True)
    a = ring_from_pyat(at_ring.enable_6d(copy=True), radiation=False)
    b = ring_from_pyat(at_ring.disable_6d(copy=True), radiation=False)
    # same elements, same arithmetic
    assert np.allclose(a.one_turn_map(), b.one_turn_map(), rtol=1e-14, atol=1e-15)
