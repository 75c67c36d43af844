"""The built-in ADONE-like ring and `coupled-beam demo`, against independent routes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from coupled_beam import cli, demo

@pytest.fixture(autouse=True)
def _one_blas_thread():
    """These tests multiply 4x4-8x8 matrices: threaded BLAS only spins (see demo._blas_single_thread)."""
    with demo._blas_single_thread():
        yield


#: electron rest energy (GeV), C_gamma (m/GeV^3), C_q (m): Sands, SLAC-121
M_E = 0.51099895e-3
C_GAMMA = 8.846e-5
C_Q = 3.832e-13


# ------------------------------------------------------------ hand matrices
def drift(L):
    return np.array([[1.0, L], [0.0, 1.0]])


def thick_quad(L, k):
    """Textbook 2x2 quadrupole map, k > 0 focusing in that plane."""
    if k > 0:
        w = math.sqrt(k)
        return np.array([[math.cos(w * L), math.sin(w * L) / w], [-w * math.sin(w * L), math.cos(w * L)]])
    w = math.sqrt(-k)
    return np.array([[math.cosh(w * L), math.sinh(w * L) / w], [w * math.sinh(w * L), math.cosh(w * L)]])


def hand_cell_maps(p):
    """(x, z) one-cell maps of the documented layout from textbook matrices (no coupled_beam code)."""
    rho = p["rho_m"]
    lb = rho * math.radians(p["bend_angle_deg"])
    lq, gap, half = p["quad_length_m"], p["qd_qf_gap_m"], p["half_straight_m"]
    last = 0.5 * (p["circumference_m"] / p["cells"] - lb) - half - 2 * lq - gap
    th = lb / rho
    bend_x = np.array([[math.cos(th), rho * math.sin(th)], [-math.sin(th) / rho, math.cos(th)]])
    maps = []
    for sign, bend in ((1, bend_x), (-1, drift(lb))):
        side = [drift(half), thick_quad(lq, sign * p["k1_qd"]), drift(gap),
                thick_quad(lq, sign * p["k1_qf"]), drift(last)]
        seq = side + [bend] + side[::-1]
        M = np.eye(2)
        for e in seq:
            M = e @ M
        maps.append(M)
    return maps


def test_example_ring_tunes_match_textbook_matrices():
    """The fitted quadrupoles give nu_x = 3.62, nu_z = 3.58 with textbook drift/quad/bend matrices."""
    p = demo.ADONE_LIKE
    for M, nu in zip(hand_cell_maps(p), (p["nu_x"], p["nu_z"])):
        mu_cell = math.acos(0.5 * np.trace(M))      # < pi per cell here (0.3 of a turn)
        assert M[0, 1] > 0, "cell phase advance outside (0, pi): acos branch wrong"
        # k1 stored to 12 digits: tune error ~1e-11
        assert abs(p["cells"] * mu_cell / (2 * math.pi) - nu) < 1e-9, (nu, mu_cell)


def test_example_ring_one_turn_map_matches_textbook_matrices():
    """The lattice engine's uncoupled one-turn map at s = 0 equals the product of textbook matrices."""
    ring = demo.example_ring(0.0, energy=None)
    N = ring.one_turn_map(0)
    Mx, Mz = (np.linalg.matrix_power(M, 12) for M in hand_cell_maps(demo.ADONE_LIKE))
    # 132 products of O(1..10) entries: rounding ~1e-13
    np.testing.assert_allclose(N[:2, :2], Mx, rtol=0, atol=1e-11, err_msg="x block != textbook")
    np.testing.assert_allclose(N[2:, 2:], Mz, rtol=0, atol=1e-11, err_msg="z block != textbook")
    assert np.max(np.abs(N[:2, 2:])) == 0.0 and np.max(np.abs(N[2:, :2])) == 0.0
    assert abs(ring.circumference - 105.0) < 1e-12


def test_example_ring_radiation_matches_isomagnetic_closed_forms():
    """At 1.5 GeV, D22 s0 = U0/E = C_gamma E^3/rho and <p^2> = C_q gamma^2/(rho J_s), J_s = 3 - J_x."""
    ring0 = demo.example_ring(0.0)
    o = demo.uncoupled_optics(ring0.one_turn_map(0))
    E, rho = demo.ADONE_LIKE["energy_GeV"], demo.ADONE_LIKE["rho_m"]
    u0_over_e = C_GAMMA * E**3 / rho
    # first-order decrement vs exact -ln det: O(U0/E)^2 ~ 4e-9 relative; constants to 4 digits
    assert o["d22_s0"] == pytest.approx(u0_over_e, rel=2e-4), "J_z = 1: D22 s0 = U0/E"
    j_x = o["d11_s0"] / o["d22_s0"]
    gamma = E / M_E
    p2 = C_Q * gamma**2 / (rho * (3.0 - j_x))       # Robinson: J_x + J_z + J_s = 4
    assert ring0.p2 == pytest.approx(p2, rel=2e-4), (ring0.p2, p2)  # C_q to 4 digits


def test_sliced_ring_one_turn_map_equals_unsliced():
    """Slicing elements (piecewise-constant coefficients) leaves the one-turn map unchanged."""
    a = demo.example_ring(0.02, energy=None).one_turn_map(0)
    b = demo.example_ring(0.02, energy=None, max_slice=0.25).one_turn_map(0)
    # ~470 vs 133 products of exact maps: rounding only
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-11)


def test_sliced_ring_equilibrium_close_to_unsliced():
    """With radiation, the sliced ring's equilibrium at s = 0 matches the unsliced one closely."""
    a = demo.example_ring(0.02).equilibrium()
    b = demo.example_ring(0.02, max_slice=0.25).equilibrium()
    # radiation.py evaluates its damping feedback per element, so slicing refines the
    # model itself (measured 6e-6 relative on <x z>); rounding alone would give 1e-12
    np.testing.assert_allclose(b.moments[0][[0, 0, 2], [0, 2, 2]], a.moments[0][[0, 0, 2], [0, 2, 2]],
                               rtol=1e-4, atol=0)
    np.testing.assert_allclose([b.tilt[0], b.inv_area[0]], [a.tilt[0], a.inv_area[0]], rtol=1e-4, atol=0)
    assert len(b.s) > 3 * len(a.s)


def test_section5_closed_form_matches_ring_eigenvalues():
    """§5 g± equal the exact phases of the ring's N(0); ω± agree to first order in D s0."""
    m = demo.ADONE_LIKE["m_skew"]
    res = demo.section5_at_skew(demo.example_ring(0.0), demo.example_ring(m), m)
    r5, rx = res["section5"], res["ring"]
    assert r5["stable"] is True
    # F = (1 - D s0/2) F0 is exact for the ring's blocks up to O((D s0)^2) ~ 1e-9 in g
    assert abs(r5["g_plus"] - rx["g_plus"]) < 1e-8 and abs(r5["g_minus"] - rx["g_minus"]) < 1e-8
    # first-order decrements: relative error O(D s0 / coupling gap) ~ 1e-3
    assert r5["omega_plus"] == pytest.approx(rx["omega_plus"], rel=3e-3)
    assert r5["omega_minus"] == pytest.approx(rx["omega_minus"], rel=3e-3)
    # sum rule ω+ + ω- = (D11 + D22) s0 / 2 with the uncoupled D: the skew quad adds vertical
    # dispersion ζ, which shifts the damping partition slightly (measured 2e-5 relative)
    o = res["optics"]
    assert rx["omega_plus"] + rx["omega_minus"] == pytest.approx((o["d11_s0"] + o["d22_s0"]) / 2, rel=1e-4)


def test_section5_far_moments_match_formula_10_with_the_same_noise():
    """§5's 1/(2ω±) moments agree with (10) for the same horizontal noise; ζ noise raises <z_b²>."""
    pytest.importorskip("coupled_beam.skew_equilibrium")
    m = demo.ADONE_LIKE["m_skew"]
    res = demo.section5_moments(demo.example_ring(0.0), demo.example_ring(m), m)
    cf, same, full = res["closed_form"], res["same_noise"], res["full_noise"]
    for k in ("xx", "xz", "zz"):
        # leading order in the damping: error ~ D s0 / 4 + O(ω / |g+ - g-|) (measured 7e-4)
        assert cf[k] == pytest.approx(same[k], rel=3e-3), (k, cf[k], same[k])
    # the vertical dispersion made by the skew quad adds vertical quantum excitation (+8 %)
    assert full["zz"] > 1.03 * same["zz"]


def test_uncoupled_optics_recovers_twiss_and_damping():
    """μ, β, α and D s0 read back from a damped Twiss matrix built by hand."""
    mu, beta, alpha, d = 4.1, 7.5, -0.8, 3e-5
    c, s = math.cos(mu), math.sin(mu)
    B = math.exp(-d / 2) * np.array([[c + alpha * s, beta * s], [-(1 + alpha**2) / beta * s, c - alpha * s]])
    N = np.zeros((4, 4))
    N[:2, :2] = B
    N[2:, 2:] = B
    o = demo.uncoupled_optics(N)
    # rounding of cos/sin and a 2x2 determinant
    assert o["mu_x"] == pytest.approx(mu, abs=1e-12) and o["beta_x"] == pytest.approx(beta, rel=1e-12)
    assert o["alpha_z"] == pytest.approx(alpha, rel=1e-11) and o["d22_s0"] == pytest.approx(d, rel=1e-9)


def test_mode_emittances_invariant_under_symplectic_maps(rng):
    """Eigen-emittances are unchanged by Σ -> N Σ Nᵀ for a symplectic N, and equal ε_x, ε_z uncoupled."""
    S = np.diag([2e-6, 5e-7, 3e-7, 3e-7])
    S[0, 1] = S[1, 0] = 1e-7
    eps0 = demo.mode_emittances(S)
    np.testing.assert_allclose(eps0, sorted(demo.projected_emittances(S), reverse=True), rtol=1e-12, atol=0)
    N = demo.example_ring(0.05, energy=None).one_turn_map(0)   # coupled and symplectic (no damping)
    for _ in range(3):
        S = N @ S @ N.T
    # eigenvalues of a 4x4 product: ~1e-12 relative
    np.testing.assert_allclose(demo.mode_emittances(S), eps0, rtol=1e-9, atol=0)
    assert not np.allclose(demo.projected_emittances(S), demo.projected_emittances(np.diag(np.diag(S))),
                           rtol=1e-3, atol=0), "coupling should change the projected emittances"


def test_demo_without_paper_checks_writes_report_and_figures(tmp_path, capsys):
    """run_demo writes report.md and five PNGs, shows step lines on stderr and returns finite numbers."""
    out = tmp_path / "demo"
    res = demo.run_demo(out, echo=True, scan_points=6, check_paper=False)
    captured = capsys.readouterr()
    assert "[1/7]" in captured.err and "[7/7]" in captured.err, captured.err
    assert f"report written to {out / 'report.md'}" in captured.out
    names = {"stability_diagram.png", "eigentunes_crossing.png", "sizes_along_ring.png",
             "beam_spot.png", "skew_scan.png"}
    for name in names:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    text = (out / "report.md").read_text(encoding="utf-8")
    for name in names:
        assert f"]({name})" in text, f"{name} not embedded in the report"
    # everything the demo needs is committed; only the optional §5 closed-form moments may be absent
    assert all("skew_equilibrium" in note for note in res["missing"]), res["missing"]
    eq = res["equilibrium"]
    assert 0 < eq["sigma_z_ip"] < eq["sigma_x_ip"] < 1e-2
    assert -math.pi / 2 < eq["tilt_ip"] < 0      # m > 0 here tilts the spot clockwise
    json.dumps(res)                               # JSON-ready


@pytest.mark.slow
def test_cli_demo_json_reports_paper_checks(tmp_path, capsys):
    """`coupled-beam demo --json --out DIR` runs everything, incl. the errata table, and prints JSON."""
    assert cli.main(["demo", "--out", str(tmp_path / "d"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)   # --json: nothing else on stdout
    statuses = {row["equation"]: row["status"] for row in payload["paper_checks"]}
    assert statuses.get("§5 quartic (μ, β)") == "misprint"  # the misplaced parenthesis
    assert statuses.get("§5 roots a ± b") == "ok"
    assert "paper's equations checked" in (tmp_path / "d" / "report.md").read_text(encoding="utf-8")
