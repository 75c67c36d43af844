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

import os  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

from coupled_beam.errors import UnknownElementError  # noqa: E402
from coupled_beam.interop.pyat import (ATTRIBUTES, _convert, compare_with_pyat,  # noqa: E402
                                       example_at_ring, pyat_elements, ring_from_pyat,
                                       time_vs_ohmi)


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
    "monitor": at.Monitor("BPM"),
    "aperture": at.Aperture("AP", [-0.01, 0.01, -0.01, 0.01]),
    "zero-kick corrector": at.Corrector("C", 0.1, [0.0, 0.0]),
    "identity M66": at.M66("M", np.eye(6)),
    "general M66": at.M66("M", np.array([[0.9, 1.1, 0.01, 0, 0, 0], [-0.17, 0.9, 0, 0.02, 0, 0],
                                         [0.03, 0, 1.1, 0.5, 0, 0], [0, 0.02, 0.2, 1.0, 0, 0],
                                         [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1.0]])),
    "thin normal + skew quadrupole": at.ThinMultipole("TQ", poly_a=[0, 0.03], poly_b=[0, 0.1]),
    "cavity (4-D: identity)": at.RFCavity("RF", 0.0, 1e6, 352e6, 100, 1e9),
    "bend, FringeBendEntrance 0": at.Dipole(
        "B", 1.2, 0.15, -0.2, EntranceAngle=0.05, ExitAngle=0.1, FullGap=0.04, FringeInt1=0.5,
        FringeInt2=0.4, FringeBendEntrance=0, FringeBendExit=3, NumIntSteps=400),
}


def _rolled(el, angle):
    el = el.deepcopy()
    at.tilt_elem(el, angle)
    return el


ELEMENTS.update({
    "rolled quadrupole (0.3 rad)": _rolled(ELEMENTS["quadrupole"], 0.3),
    "skew-quad roll (pi/4)": _rolled(ELEMENTS["quadrupole"], np.pi / 4),
    "rolled normal + skew quadrupole": _rolled(ELEMENTS["tilted-ish quadrupole (normal + skew)"], -0.7),
    "rolled solenoid": _rolled(ELEMENTS["solenoid"], 0.4),
})


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


# ------------------------------------------------------------------ completeness
def _pyat_classes():
    import inspect

    return [c for _, c in inspect.getmembers(at, inspect.isclass) if issubclass(c, at.Element)]


def _shipped(name):
    import machine_data

    return at.load_lattice(os.path.join(os.path.dirname(machine_data.__file__), name))


SHIPPED = ["esrf.m", "hmba.mat", "dba.mat", "soleil.m", "australian_synchrotron.m", "thomx.m"]


def test_attribute_table_covers_every_pyat_attribute():
    """Every attribute of every pyAT element class, of the shipped lattices' elements and every
    attribute name in the binaries of the accepted pass methods is used, refused or ignored with
    a reason (ATTRIBUTES); classes outside the table are refused as a whole."""
    import re

    from coupled_beam.interop import pyat as P

    vocab = set(P.ATTRIBUTES)
    uncovered = {}
    for cls in _pyat_classes():
        names = set(getattr(cls, "_conversions", {})) | set(getattr(cls, "_BUILD_ATTRIBUTES", []))
        vocab |= names
        left = sorted(a for a in names if a not in P.ATTRIBUTES and not a.startswith("_"))
        if left and cls.__name__ not in P._REFUSED_CLASSES:
            uncovered[cls.__name__] = left
    assert not uncovered, uncovered
    for name in SHIPPED:
        fields = {a for el in _shipped(name) for a in vars(el) if not a.startswith("_")}
        assert fields <= set(P.ATTRIBUTES), (name, fields - set(P.ATTRIBUTES))
    accepted = (P._MULTIPOLE | P._BEND | P._THIN | P._IDENTITY | P._DRIFT | P._CORRECTOR | P._RF
                | {"Matrix66Pass", "SolenoidLinearPass"})
    folder = os.path.join(os.path.dirname(at.__file__), "integrators")
    for pm in sorted(accepted):
        files = [f for f in os.listdir(folder) if f.startswith(pm + ".")]
        assert files, pm
        data = open(os.path.join(folder, files[0]), "rb").read()
        read = {m.decode() for m in re.findall(rb"(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9_]{0,40})\x00", data)}
        assert not (read & vocab) - set(P.ATTRIBUTES), (pm, (read & vocab) - set(P.ATTRIBUTES))
    assert {s for s, _ in P.ATTRIBUTES.values()} <= {"used", "refused", "ignored"}


def test_every_offender_is_listed_in_one_error():
    """Non-roll R, a pitched bend, FieldScaling, a wiggler and a thin bend kick: one error, all named."""
    ring = example_at_ring()
    bad_r = at.Quadrupole("BADR", 0.1, 1.0)
    bad_r.R1 = np.diag([1.0, 2.0, 1.0, 1.0, 1.0, 1.0])
    bad_r.R2 = np.eye(6)
    rolled_bend = at.Dipole("RB", 1.0, 0.1)
    at.transform_elem(rolled_bend, pitch=1e-3)          # a pitched bend: no counterpart
    scaled = at.Quadrupole("SCALED", 0.1, 1.0, FieldScaling=1.01)
    wig = at.Wiggler("WIG", 1.0, 0.05, 1.0, 1e9)
    thin_bend = at.ThinMultipole("THINB", [0, 0], [0, 0], BendingAngle=0.01)
    for k, el in enumerate([bad_r, rolled_bend, scaled, wig, thin_bend]):
        ring.insert(3 + 2 * k, el)
    with pytest.raises(UnknownElementError) as info:
        ring_from_pyat(ring)
    names = [o["name"] for o in info.value.offenders]
    assert names == ["BADR", "RB", "SCALED", "WIG", "THINB"], names
    assert "5 element(s)" in str(info.value)


# ------------------------------------------------------------------ shipped lattices
def _more_steps(ring, factor):
    ring = ring.deepcopy()
    for el in ring:
        if hasattr(el, "NumIntSteps"):
            el.NumIntSteps = int(el.NumIntSteps * factor)
    return ring


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_lattice_converts_as_loaded_and_matches_find_m44(name):
    """Each shipped lattice converts as loaded (periodicity kept); the cell map equals find_m44
    up to pyAT's integrator error, which falls as NumIntSteps^-4."""
    ring_at = _shipped(name).disable_6d(copy=True)
    t0 = time.perf_counter()
    ring = ring_from_pyat(ring_at, radiation=False)
    t_conv = time.perf_counter() - t0
    assert ring.periodicity == ring_at.periodicity and len(ring) == len(ring_at)
    assert np.isclose(ring.circumference, ring_at.circumference, rtol=1e-12)
    cell = ring.transfer_map(0, len(ring))
    d1 = np.max(np.abs(cell - ring_at.find_m44()[0]))
    d10 = np.max(np.abs(cell - _more_steps(ring_at, 10).find_m44()[0]))
    # measured: 3e-5 .. 5e-3 at pyAT's steps, 3e-9 .. 5e-7 at 10x (ratio 1e4 = 10^4)
    assert d10 < 1e-6, (name, d1, d10)
    assert d1 / d10 > 2e3, (name, d1, d10)
    assert t_conv < 5.0, t_conv


# ------------------------------------------------------------------ errors: rolls, offsets
def _with_errors(ring, *, seed=1, roll=3e-4, offset=2e-5):
    ring = ring.deepcopy()
    rng = np.random.default_rng(seed)
    for el in ring:
        if isinstance(el, at.Quadrupole) and not isinstance(el, at.Dipole) and roll:
            at.tilt_elem(el, rng.normal(0, roll))
        if isinstance(el, at.Sextupole) and offset:
            at.shift_elem(el, rng.normal(0, offset), rng.normal(0, offset))
    return ring


def _coupled_integral_emittances(ring_at, J, slices=32):
    """eps_k = C_q gamma^2 int |h|^3 H_k / (J_k I2), H_k from pyAT's linopt6 normalising matrices
    and dispersion at the orbit, bends cut into ``slices`` (pyAT's own optics: independent route)."""
    from coupled_beam.radiation import C_Q, ELECTRON_MASS

    pieces = []
    for el in ring_at:
        if isinstance(el, at.Dipole) and el.BendingAngle != 0:
            pieces += el.divide([1.0 / slices] * slices)
        else:
            pieces.append(el)
    cut = at.Lattice(pieces, energy=ring_at.energy, periodicity=ring_at.periodicity)
    o0, orbit = cut.find_orbit(refpts=range(len(cut) + 1))
    _, _, data = cut.linopt6(refpts=range(len(cut) + 1), orbit=o0)
    # a photon leaves along the velocity: it changes delta by -u and p_x by -u x'0, so the betatron
    # kick is u (eta_p - x'0) = u eta_x' (p_x = (1 + delta) x'); pyAT's dispersion is d(p_x)/d(delta)
    # of the orbit, eta_x' + x'0. On hmba with errors this is 1.7e-4 of the coupled mode's emittance.
    eta = np.array(data.dispersion, dtype=float)
    eta[:, 1] -= orbit[:, 1]
    eta[:, 3] -= orbit[:, 3]
    v = np.einsum("nij,nj->ni", np.linalg.inv(data.A), eta)
    H = np.stack([v[:, 0]**2 + v[:, 1]**2, v[:, 2]**2 + v[:, 3]**2], axis=1)
    I2, I5 = 0.0, np.zeros(2)
    for i, el in enumerate(cut):
        if isinstance(el, at.Dipole) and el.BendingAngle != 0:
            h = el.BendingAngle / el.Length
            I2 += h * h * el.Length
            I5 += abs(h)**3 * el.Length * 0.5 * (H[i] + H[i + 1])
    gamma = ring_at.energy / 1e9 / ELECTRON_MASS
    return C_Q * gamma**2 * I5 / (np.asarray(J) * I2)


@pytest.fixture(scope="module")
def hmba_errors():
    ring_at = _more_steps(_with_errors(_shipped("hmba.mat")), 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eq = ring_from_pyat(ring_at).equilibrium()
    return ring_at, eq, eq.table()


@pytest.mark.slow
def test_errors_give_coupling_and_match_pyat_at_the_orbit(hmba_errors):
    """Quad rolls (0.3 mrad rms) and sextupole offsets (20 um): sigma_z > 0, the cell map at the
    orbit equals find_m44 there, tunes equal linopt6's, mode emittances the coupled integrals."""
    ring_at, eq, tab = hmba_errors
    r4 = ring_at.disable_6d(copy=True)
    assert np.min(eq.sigma_z) > 1e-3 * np.max(eq.sigma_x) and np.all(np.isfinite(eq.tilt))
    o0, _ = r4.find_orbit()
    ring = eq.ring.bare()
    m44, _ = r4.find_m44(orbit=o0)
    # feed-down at the orbit vs pyAT tracking at 10x steps: 3.4e-9 measured (4.1e-8 without the
    # straight magnets' orbit profile, gradient slope and quadrupole fringe at the orbit; 3.9e-7
    # with the mean of the ends' orbit instead of the cubic's and no chromatic forcing in bends)
    assert np.max(np.abs(ring.transfer_map(0, len(ring)) - m44)) < 2e-8
    _, bd, _ = r4.linopt6()
    P = ring_at.periodicity
    for k in range(2):   # cell tunes: 9.5e-10 measured
        assert abs((tab.attrs[f"Q{k + 1}"] / P) % 1 - bd.tune[k]) < 1e-7, k
    eps = _coupled_integral_emittances(r4, [tab.attrs["J1"], tab.attrs["J2"]], slices=128)
    # mode 1: 1.4e-5 (the integrals' trapezoid: 2.3e-4 / 5.8e-5 at 32 / 64 slices); mode 2: 1.8e-6
    # (1.7e-4 with pyAT's d(p)/d(delta) as the excitation vector instead of eta_x'; 4.2e-3
    # without the chromatic part of the orbit kicks in the combined-function bends, kicked_bend)
    assert np.isclose(eps[0], tab.attrs["EX1"], rtol=1e-4), (eps, tab.attrs["EX1"])
    assert np.isclose(eps[1], tab.attrs["EX2"], rtol=1e-4), (eps, tab.attrs["EX2"])


@pytest.mark.slow
def test_rolls_alone_match_the_coupled_integrals():
    """Quad rolls only (no orbit): both mode emittances equal pyAT's coupled integrals to 1e-3."""
    ring_at = _with_errors(_shipped("hmba.mat"), offset=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = ring_from_pyat(ring_at).equilibrium().table()
    eps = _coupled_integral_emittances(ring_at.disable_6d(copy=True), [tab.attrs["J1"], tab.attrs["J2"]])
    assert tab.attrs["EX2"] > 1e-4 * tab.attrs["EX1"]
    assert np.allclose(eps, [tab.attrs["EX1"], tab.attrs["EX2"]], rtol=1e-3), eps


def test_sextupole_feed_down_equals_pyat_at_its_orbit():
    """A shifted, rolled sextupole (and a shifted thin multipole): the linear map at the orbit
    through it equals find_elem_m66 there (normal and skew gradient 2 b2 x0, 2 b2 z0)."""
    sext = at.Sextupole("S", 0.2, 40.0, NumIntSteps=400)     # PolynomB[2] = 40
    at.shift_elem(sext, 1.5e-3, -1e-3)
    at.tilt_elem(sext, 0.05)
    thin = at.ThinMultipole("T", poly_a=[0, 0, 0], poly_b=[0, 0, 8.0])
    at.shift_elem(thin, -2e-3, 5e-4)
    for el in (sext, thin):
        o_in = np.zeros(6)
        o_out = o_in.copy().reshape(6, 1)
        at.element_track(el, o_out, in_place=True) if hasattr(at, "element_track") else el.track(o_out)
        orbit = np.array([o_in[:4], o_out.ravel()[:4]])
        ours = pyat_elements([el], orbit=orbit)[0].transfer_map()
        ref = at.find_elem_m66(el, o_in, energy=1e9, particle=at.Particle("electron"))[:4, :4]
        # gradient from the mean of the ends' orbit (the orbit bends inside): 6.4e-6 measured on
        # feed-down terms of 2e-2 (a 1 % error in the feed-down is 2e-4)
        assert np.allclose(ours, ref, rtol=0, atol=2e-5), (el.FamName, ours - ref)
        assert abs(ours[3, 0]) > 1e-3, "skew feed-down present"


# ------------------------------------------------------------------ rolled bends (pyAT's frame stays)
def _to_angles(M, o_in, o_out):
    """pyAT's (px, pz) map at an orbit in this package's (x', z') = p / (1 + delta) coordinates."""
    def C(o):
        c = np.eye(6)
        c[1, 4], c[3, 4] = -o[1], -o[3]
        return c
    return C(o_out) @ M @ np.linalg.inv(C(o_in))


@pytest.mark.parametrize("k1,tol_delta", [(0.0, 1e-10), (-0.3, 3e-8)])
def test_rolled_bend_equals_find_elem_m66_at_its_orbit(k1, tol_delta):
    """at.tilt_elem(dipole, 0.3 mrad) (pyAT: the frame stays, the roll kicks the orbit): the converted
    bend's map at the orbit through it equals find_elem_m66 there, faces on, with and without gradient."""
    th = 3e-4
    b = at.Dipole("B", 1.2, 0.12, k1, EntranceAngle=0.05, ExitAngle=0.03, NumIntSteps=2000)
    at.tilt_elem(b, th)
    o_in = np.zeros(6)
    o_out = o_in.copy().reshape(6, 1)
    b.track(o_out, in_place=True)
    o_out = o_out.ravel()
    assert -1.1 < o_out[3] / (0.12 * th) < -0.8, "the roll kicks the reference particle down"
    ours = _maps6(pyat_elements([b], orbit=np.array([o_in[:4], o_out[:4]]))[0])
    ref = _to_angles(at.find_elem_m66(b, o_in, energy=3e9), o_in, o_out)
    # 4x4: 3.2e-10 (k1 = 0), 2.6e-10 (k1 = -0.3) measured; the roll's coupling terms are K^2 theta L^2
    # = 4e-6 (a 1 % error: 4e-8) and the rolled gradient's skew part 2 k1 theta L = 2e-4
    assert np.allclose(ours[:4, :4], ref[:4, :4], rtol=0, atol=1e-8), ours[:4, :4] - ref[:4, :4]
    # delta column (vertical dispersion made: K theta L = 3.6e-5): 8e-14 measured without gradient
    # (6.5e-8 before the faces' chromatic kicks at the orbit, tests/test_pyat_rolled_bends.py); with it
    # the chromatic part of the gradient's kick at the vertical orbit (3.7e-6) and its change along the
    # magnet leave 3.8e-9 (6.8e-7 with a constant forcing)
    assert np.allclose(ours[:4, 4], ref[:4, 4], rtol=0, atol=tol_delta), ours[:4, 4] - ref[:4, 4]
    assert abs(ours[3, 4]) > 3e-5


def _maps6(el):
    from coupled_beam.lattice.maps import element_maps6
    return element_maps6([el])[0]


@pytest.mark.slow
def test_hmba_rolled_bends_match_pyat_at_the_orbit():
    """hmba.mat, every bend rolled 0.3 mrad rms (seed 1, steps x10, a 1 MV cavity): the cell map at
    pyAT's closed orbit equals find_m44 there; sigma_z > 0 and the sizes equal ohmi_envelope's."""
    import copy

    r = _shipped("hmba.mat").deepcopy()
    C = r.circumference
    h = int(round(C / 0.6))
    r.insert(0, at.RFCavity("RF", 0.0, 1e6 / r.periodicity, h * 299792458.0 / C, h, r.energy))
    r = r.disable_6d(copy=True)
    rng = np.random.default_rng(1)
    for el in r:
        if isinstance(el, at.Dipole) and el.BendingAngle:
            at.tilt_elem(el, rng.normal(0.0, 3e-4))
    r = _more_steps(r, 10)
    o0, _ = r.find_orbit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ring = ring_from_pyat(r, face_radiation=False)
        eq = ring.equilibrium(model="6d")
        _, _, env = at.ohmi_envelope(copy.deepcopy(r).enable_6d(copy=True), refpts=range(len(r) + 1))
    cell = ring.bare().transfer_map(0, len(ring))
    m44, _ = r.find_m44(orbit=o0)
    # 1.3e-5 measured: the thick sextupoles' feed-down at the 0.24 mm vertical orbit (their gradient
    # varies along them; the mean-orbit gradient is not the thick map), not the bends; the coupling the
    # rolled bends make in the cell map is 1e-3
    assert np.max(np.abs(cell - m44)) < 3e-5
    assert np.max(np.abs(cell[:2, 2:])) > 3e-4
    S = env.r66
    sx, sz = np.sqrt(S[:, 0, 0]), np.sqrt(S[:, 2, 2])
    assert np.min(eq.sigma_z) > 1e-3 * np.max(eq.sigma_x)
    # measured 2.2e-4 (sigma_x), 9.7e-3 (sigma_z), tilt 1.8e-4 rad: the bends are exact at the orbit
    # now (one-turn map with pyAT's quadrupole and sextupole maps 1.8e-8), the quadrupoles and
    # sextupoles still linearised at their mean orbit (1.3e-5 in the one-turn map; with
    # kicked_quadrupole's ends / gradient_slope / fringe: tilt 6.9e-6 rad, sigma_z 5.3e-3 and 1.45e-3
    # at x30, pyAT's own 1/N noise; tests/test_pyat_rolled_bends.py)
    assert np.max(np.abs(eq.sigma_x / sx - 1)) < 1e-3
    assert np.max(np.abs(eq.sigma_z / sz - 1)) < 1.5e-2
