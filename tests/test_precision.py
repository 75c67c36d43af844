"""High precision (coupled_beam.precision) and the float64 accuracy of the §5 kernels near resonances."""

import math
import pickle

import mpmath
import numpy as np
import pytest
import sympy as sp

import coupled_beam as cb
from coupled_beam import accuracy as acc
from coupled_beam import precision as pr
from coupled_beam.errors import InputError, UnstableError
from coupled_beam.skew_quadrupole import eigentune_report


def _eig_phases_mp(p, dps=60):
    """abs(arg λ) of the eigenvalues of a map built directly in mpmath (independent of the kernels)."""
    mux, muz, bx, bz, m = (mpmath.mpf(float(v)) for v in p)
    with mpmath.workdps(dps):
        def block(mu, beta):
            c, s = mpmath.cos(mu), mpmath.sin(mu)
            return mpmath.matrix([[c, beta * s], [-s / beta, c]])
        F = mpmath.zeros(4, 4)
        F[0:2, 0:2] = block(mux, bx)
        F[2:4, 2:4] = block(muz, bz)
        L = mpmath.eye(4)
        L[1, 2] = m
        L[3, 0] = m
        lam = mpmath.eig(L * F, left=False, right=False)
        return sorted(abs(mpmath.arg(v)) for v in lam)


def test_det_n_minus_plus_identity_half_angle_equals_direct_determinant():
    """det(N ∓ 1) of the undamped map, computed by sympy directly, equals the half-angle product form."""
    from derivations import skew_quadrupole as sq

    N = sq.one_turn_map(alpha=False, damped=False)
    p1, pm1 = sq.det_n_minus_plus_identity()
    rng = np.random.default_rng(7)
    for _ in range(5):
        vals = {sq.mu_x: sp.Float(rng.uniform(-4, 4), 40), sq.mu_z: sp.Float(rng.uniform(-4, 4), 40),
                sq.beta_x: sp.Float(rng.uniform(0.5, 30), 40), sq.beta_z: sp.Float(rng.uniform(0.5, 30), 40),
                sq.m: sp.Float(rng.uniform(-1, 1), 40)}
        for sign, form in ((1, p1), (-1, pm1)):
            direct = (N - sign * sp.eye(4)).det().evalf(40, subs=vals)
            rewritten = form.evalf(40, subs=vals)
            # 40-digit evaluation of an exact identity: agreement far below any float64 effect
            assert abs(direct - rewritten) < 1e-30 * (1 + abs(direct)), f"det(N - {sign}) identity failed"


def test_half_angle_eigentunes_equal_arccos_form_symbolically_at_50_digits():
    """g± = 2 atan2(...) equals arccos((a ± b)/2) at random stable points, 50 digits."""
    from derivations import skew_quadrupole as sq

    g_p, g_m = sq.half_angle_eigentunes()
    c_p, c_m = sq.cos_eigentunes()
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(40):
        vals = {sq.mu_x: rng.uniform(0.05, 3.1), sq.mu_z: rng.uniform(0.05, 3.1), sq.beta_x: rng.uniform(0.5, 30),
                sq.beta_z: rng.uniform(0.5, 30), sq.m: rng.uniform(-0.2, 0.2)}
        cp, cm = (complex(c.evalf(50, subs=vals)) for c in (c_p, c_m))
        if abs(cp.imag) > 0 or abs(cp.real) > 1 or abs(cm.real) > 1:
            continue
        checked += 1
        for g, c in ((g_p, cp.real), (g_m, cm.real)):
            # both sides exact formulas evaluated at 50 digits; 1e-40 is rounding headroom
            assert abs(float(g.evalf(50, subs=vals)) - math.acos(c)) < 1e-12, "atan2 form != arccos form"
    assert checked > 10, "too few stable sample points"


@pytest.mark.parametrize("mu", [1e-4, 1e-8, 1e-12, 1e-15])
def test_eigentunes_small_phase_advance_keep_full_relative_precision(mu):
    """Uncoupled g+ = μ_x exactly; the atan2 form keeps it to 4 ulp even at μ_x = 1e-15 (arccos gives 0)."""
    g_p, g_m = cb.eigentunes(mu, 2.0, 7.0, 3.0, 0.0)
    assert abs(float(g_p) - mu) <= 4 * np.spacing(mu), f"g+ = {float(g_p)!r} for mu_x = {mu}"
    assert abs(float(g_m) - 2.0) <= 4 * np.spacing(2.0)
    g_p, g_m = cb.eigentunes(2.0, math.pi - mu, 7.0, 3.0, 0.0)
    # pi - mu is rounded to float64 first: compare with the exactly represented input
    assert abs(float(g_m) - (math.pi - mu)) <= 4 * np.spacing(math.pi)


def test_eigentunes_mp_equal_independent_mpmath_eig_phases():
    """The 50-digit kernel twin gives the phases of mpmath.eig of a hand-built map, also near boundaries."""
    rng = np.random.default_rng(3)
    pts = [acc._boundary_points(rng, k, 1e-12, 3) for k in ("plus", "minus", "b2", "mu0", "diag")]
    pts.append(np.array([[1.0, 1.3, 10.0, 8.0, 0.01], [2.5, 0.4, 3.0, 20.0, -0.1]]))
    checked = 0
    for p in np.concatenate(pts):
        g_p, g_m = pr.eigentunes_mp(*p, dps=50)
        if g_p is None or g_m is None:  # the other mode of a boundary point may sit in a stop band
            continue
        checked += 1
        ph = _eig_phases_mp(p)
        # 60-digit eigen-solve near a double eigenvalue is good to ~30 digits; 1e-25 leaves margin
        assert abs(g_p - ph[0]) < 1e-25 and abs(g_m - ph[3]) < 1e-25, f"mp eigentunes != eig phases at {p}"
    assert checked >= 10, "too few fully stable points"


def test_eigentunes_mp_one_unstable_mode_gives_none_and_the_stable_phase():
    """In the sum stop band only one mode is unstable; the other phase still comes out (from mpmath.eig)."""
    p = (3.0, 3.0, 10.0, 10.0, 0.5)
    g_p, g_m = pr.eigentunes_mp(*p)
    assert g_m is None and g_p is not None
    assert abs(g_p - _eig_phases_mp(p)[0]) < 1e-25, "stable-mode phase differs from the eigen-solve"


def test_stable_mask_near_boundaries_agrees_with_50_digit_reference():
    """cb.stable and the NaN pattern of cb.eigentunes agree with 50-digit stability within 1e-12 of every boundary."""
    rng = np.random.default_rng(5)
    for kind in ("plus", "minus", "b2", "mu0", "mupi"):
        P = acc._boundary_points(rng, kind, 1e-12, 40)
        ok = cb.stable(*P.T)
        g = np.column_stack(cb.eigentunes(*P.T))
        ref = np.array([pr.stable_modes_mp(*p) for p in P])
        assert np.array_equal(ok, ref.all(axis=1)), f"stable() misjudges {kind} points"
        assert np.array_equal(np.isfinite(g), ref), f"NaN pattern of eigentunes wrong near {kind}"


def test_accuracy_report_kernel_error_within_bounds_and_not_worse_than_eigvals():
    """Float64 g± are within 1e-14 in the bulk, within 1e-15/sqrt(δ) near boundaries, and never worse than eigvals."""
    rep = acc.accuracy_report(n=1800, seed=42)
    assert rep["n"] >= 1700
    rows = {r["category"]: r for r in rep["rows"]}
    # bulk: a few ulp of π
    assert rows["bulk"]["g_kernel_abs"] < 1e-14, rows["bulk"]
    for r in rep["rows"]:
        assert r["mask_errors"] == 0, f"stability mask wrong in {r['category']}"
        delta = float(r["category"].rsplit("d=", 1)[1]) if "d=" in r["category"] else 1.0
        well_conditioned = r["category"].startswith(("mu_x->0", "mu_z->pi", "mu_x=mu_z"))
        # ill-conditioned boundaries: input rounding alone moves g by ~1e-16/sqrt(δ); 10x margin
        bound = 4e-15 if (well_conditioned or r["category"] == "bulk") else 1e-15 / math.sqrt(delta)
        assert r["g_kernel_abs"] < bound, f"{r['category']}: kernel error {r['g_kernel_abs']:.2e} > {bound:.1e}"
        # "at least as accurate as the eigen-solve", up to 2 ulp of π where both are at rounding level
        assert r["g_kernel_abs"] <= max(r["g_eigvals_abs"], 9e-16), f"kernel worse than eigvals: {r}"
        if "b^2=0" not in r["category"]:
            # ω± = D/4 ± ... /b: well conditioned unless b -> 0
            assert r["omega_rel"] < 1e-12, f"{r['category']}: omega error {r['omega_rel']:.2e}"
        else:
            # b² = δ is a difference of O(1) terms: relative error ~1e-16/δ (measured 1.1e-3 at 1e-12)
            assert r["omega_rel"] < 1e-14 / delta, f"{r['category']}: omega error {r['omega_rel']:.2e}"
    assert "g kernel abs" in acc.format_accuracy_table(rep)


def test_eigentune_report_precision_matches_float64_and_keeps_digits():
    """precision=50 gives the float64 report's numbers (to rounding) plus 50-digit strings."""
    f = eigentune_report(1.0, 1.3, 10.0, 8.0, 0.02, 1e-4, 2e-4)
    h = eigentune_report(1.0, 1.3, 10.0, 8.0, 0.02, 1e-4, 2e-4, precision=50)
    for key in ("g_plus", "g_minus", "nu_plus", "nu_minus", "omega_plus", "omega_minus"):
        # well-conditioned point: float64 within a few ulp of the 50-digit value
        assert h[key] == pytest.approx(f[key], rel=1e-14, abs=1e-300), key
    assert h["stable"] is True and h["precision"] == 50
    assert len(h["digits"]["g_plus"].replace(".", "").lstrip("0")) >= 45
    assert mpmath.mpf(h["digits"]["g_plus"]) == pytest.approx(h["g_plus"], rel=1e-16)


def test_eigentune_report_precision_rejects_bad_digits():
    """precision must be an int in [16, 10000]: 5, 2.5 and True raise InputError naming the value."""
    for bad in (5, 2.5, True, 10**6):
        with pytest.raises(InputError, match="precision"):
            eigentune_report(1.0, 1.3, 10.0, 8.0, 0.0, precision=bad)


def test_high_precision_scalars_reject_nan_and_bad_beta():
    """The mp path answers NaN, inf and β ≤ 0 with InputError, like the float64 path."""
    with pytest.raises(InputError, match="mu_x"):
        pr.eigentunes_mp(float("nan"), 1.0, 1.0, 1.0, 0.0)
    with pytest.raises(InputError, match="beta_z"):
        pr.eigentunes_mp(1.0, 1.0, 1.0, -2.0, 0.0)
    with pytest.raises(InputError, match="scalar"):
        pr.eigentunes_mp([1.0, 2.0], 1.0, 1.0, 1.0, 0.0)


def _damped_coupled_map():
    N = np.asarray(cb.thin_skew_one_turn_map(1.1, 1.7, 9.0, 4.0, 0.05, 0.3, -0.2, 2e-3, 1e-3))
    R = np.zeros((4, 4))
    R[1, 1], R[3, 3], R[1, 3] = 1e-9, 2e-10, 3e-11
    R[3, 1] = R[1, 3]
    return N, R


def test_equilibrium_moments_mp_solves_lyapunov_equation():
    """The 50-digit formula (10) satisfies Σ = N Σ Nᵀ + R to 40 digits and matches scipy's Lyapunov solve."""
    import scipy.linalg

    N, R = _damped_coupled_map()
    S = pr.equilibrium_moments_mp(N, R, dps=50)
    with mpmath.workdps(50):
        Nm, Rm = mpmath.matrix(N.tolist()), mpmath.matrix(R.tolist())
        resid = S - Nm * S * Nm.T - Rm
        worst = max(abs(resid[i, j]) for i in range(4) for j in range(4))
        scale = max(abs(S[i, j]) for i in range(4) for j in range(4))
    # exact identity at 50 digits: residual ~1e-50 relative; 1e-40 leaves room for the damping 1/(1-|Δ|²) ~ 1e3
    assert worst < 1e-40 * scale, f"(9) residual {float(worst):.1e}"
    ref = scipy.linalg.solve_discrete_lyapunov(N, R)
    S_f = np.array(S.tolist(), dtype=float)
    # scipy in float64 with condition ~1/(damping) ~ 1e3: 1e-11 relative
    np.testing.assert_allclose(S_f, ref, rtol=1e-10, atol=1e-14 * np.abs(ref).max())
    assert np.array_equal(S_f, S_f.T), "moments not symmetric"


def test_equilibrium_moments_mp_undamped_map_is_unstable_error():
    """An undamped (symplectic) map has |Δ| = 1: no equilibrium, UnstableError naming the mode."""
    N = np.asarray(cb.thin_skew_one_turn_map(1.1, 1.7, 9.0, 4.0, 0.05))
    with pytest.raises(UnstableError, match="mode"):
        pr.equilibrium_moments_mp(N, np.eye(4))


def test_equilibrium_moments_mp_rejects_asymmetric_noise_and_shape():
    """Non-symmetric R and a 3x3 N raise InputError with the offending asymmetry."""
    N, R = _damped_coupled_map()
    bad = R.copy()
    bad[1, 3] *= 2
    with pytest.raises(InputError, match="symmetric"):
        pr.equilibrium_moments_mp(N, bad)
    with pytest.raises(InputError, match="4x4"):
        pr.equilibrium_moments_mp(np.eye(3), R)


def test_mode_decomposition_mp_diagonalizes_in_paper_order():
    """U N U⁻¹ = diag(Δ) at 50 digits; (Δ1, Δ2) the pair of smaller abs(arg), arg Δ1 > 0."""
    N, _ = _damped_coupled_map()
    U, Delta = pr.mode_decomposition_mp(N)
    with mpmath.workdps(50):
        D = U * mpmath.matrix(N.tolist()) * mpmath.inverse(U)
        off = max(abs(D[i, j] - (Delta[i] if i == j else 0)) for i in range(4) for j in range(4))
    assert off < 1e-40, f"U N U^-1 not diagonal: {float(off):.1e}"
    args = [float(mpmath.arg(d)) for d in Delta]
    assert args[0] > 0 and args[2] > 0 and abs(args[0]) <= abs(args[2])
    assert abs(args[0] + args[1]) < 1e-30 and abs(args[2] + args[3]) < 1e-30


def test_input_error_from_precision_pickles():
    """Errors of the high-precision path cross process boundaries intact."""
    try:
        pr.check_dps(3)
    except InputError as err:
        back = pickle.loads(pickle.dumps(err))
        assert str(back) == str(err) and back.value == "3"
    else:  # pragma: no cover
        pytest.fail("check_dps(3) did not raise")


def test_cli_tunes_dps_prints_digits_and_rejects_bad_dps(capsys):
    """`coupled-beam tunes --dps 40` prints 40-digit g±; `--dps 3` exits 2 with one line on stderr."""
    from coupled_beam import cli

    argv = ["tunes", "--mu-x", "1e-9", "--mu-z", "2", "--beta-x", "1", "--beta-z", "1", "--m", "0"]
    assert cli.main(argv + ["--dps", "40", "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["g_plus"] == 1e-9 and out["precision"] == 40  # uncoupled: g+ = mu_x exactly
    assert mpmath.mpf(out["digits"]["g_minus"]) == mpmath.mpf(2)
    with pytest.raises(SystemExit) as exit_:   # a usage error of --dps (16 to 1000 on the CLI)
        cli.main(argv + ["--dps", "3"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "precision" in err[0] and "Traceback" not in err[0]


def test_eigentune_report_float64_near_boundary_warns_and_precision_does_not():
    """Within 1e-12 of a+b = 2 the float64 report warns (ResonanceWarning); precision=50 is silent and right."""
    import warnings

    rng = np.random.default_rng(8)
    p = acc._boundary_points(rng, "plus", 1e-12, 1)[0]
    with pytest.warns(cb.ResonanceWarning, match="precision=50"):
        f = eigentune_report(*p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = eigentune_report(*p, precision=50)
        eigentune_report(1.0, 1.3, 10.0, 8.0, 0.01)  # well-conditioned float64: silent
    ref = _eig_phases_mp(p)[0]
    assert abs(h["g_plus"] - float(ref)) <= 2 * np.spacing(h["g_plus"]), "50-digit g+ not correctly rounded"
    # float64 near the boundary: ~1e-16/sqrt(1e-12) absolute
    assert abs(f["g_plus"] - float(ref)) < 1e-9


def test_float64_digits_estimate_tracks_measured_error():
    """The digit estimate is within 1.5 digits of the measured error of g+ near the a+b = 2 boundary."""
    rng = np.random.default_rng(9)
    for delta in (1e-6, 1e-10):
        for p in acc._boundary_points(rng, "plus", delta, 5):
            g = float(cb.eigentunes(*p)[0])
            ref = float(pr.eigentunes_mp(*p)[0])
            measured = -math.log10(max(abs(g - ref) / ref, 1e-17))
            # the estimate is a bound-like condition number; rounding luck makes the measured value scatter
            assert measured > pr.float64_digits(*p) - 1.5, f"estimate too optimistic at {p}"


def test_equilibrium_moments_precision_matches_float64_away_from_resonance():
    """equilibrium_moments(precision=50) equals the float64 formula (10) to 1e-10 on a damped coupled map."""
    N, R = _damped_coupled_map()
    S64 = cb.equilibrium_moments(N, R)
    S50 = cb.equilibrium_moments(N, R, precision=50)
    # float64 formula (10) with condition ~1/(damping) ~ 1e3
    np.testing.assert_allclose(S50, S64, rtol=1e-10, atol=1e-14 * np.abs(S64).max())
    with pytest.raises(InputError, match="precision"):
        cb.equilibrium_moments(N, R, precision=8)


def test_equilibrium_moments_near_resonance_precision_beats_float64():
    """Damping 1e-9 per turn (1 − Δ1Δ2 ~ 2e-9): float64 (10) warns and loses ~1e-6; 50 digits solve (9) to 1e-35."""
    N = np.asarray(cb.thin_skew_one_turn_map(1.1, 1.7, 9.0, 4.0, 0.05, 0.0, 0.0, 1e-9, 1e-9))
    R = np.diag([0.0, 1.0, 0.0, 0.5])
    with pytest.warns(cb.ResonanceWarning):
        S64 = cb.equilibrium_moments(N, R)
    Smp = pr.equilibrium_moments_mp(N, R, dps=50)
    with mpmath.workdps(50):
        Nm, Rm = mpmath.matrix(N.tolist()), mpmath.matrix(R.tolist())
        res = Smp - Nm * Smp * Nm.T - Rm
        worst = max(abs(res[i, j]) for i in range(4) for j in range(4))
        scale = max(abs(Smp[i, j]) for i in range(4) for j in range(4))
    # exact identity at 50 digits with condition 1/(1 - |Δ|²) ~ 5e8: 1e-35 relative leaves margin
    assert worst < 1e-35 * scale, f"(9) residual {float(worst / scale):.1e} relative"
    S50 = cb.equilibrium_moments(N, R, precision=50)
    rel64 = float(np.abs(S64 - S50).max() / np.abs(S50).max())
    # measured 1.3e-6: float64 keeps ~6 digits here, which is what the warning says
    assert 1e-9 < rel64 < 1e-4, f"float64 relative error {rel64:.1e}"


def test_ring_equilibrium_precision_matches_float64_on_a_damped_ring():
    """Ring.equilibrium(precision=50) agrees with float64 where (10) is well conditioned, and stays symmetric."""
    from coupled_beam import lattice

    D = 0.01 * np.eye(2)
    phi = np.diag([0.0, 1e-10, 0.0, 1e-11])
    cell = [lattice.Bend(1.0, K=0.5, n=0.5, D=D, phi_hat=phi), lattice.ThinSkewQuadrupole(0.05)]
    ring = cb.Ring(cell * 4, p2=1e-6)
    f, h = ring.equilibrium(), ring.equilibrium(precision=50)
    # damping 1e-2 per element: (10) conditioned ~1e2, float64 good to ~1e-13
    np.testing.assert_allclose(h.moments, f.moments, rtol=1e-10, atol=1e-12 * np.abs(f.moments).max())
    np.testing.assert_array_equal(h.moments, np.swapaxes(h.moments, -1, -2))


def test_cli_equilibrium_dps_matches_float64_on_example_ring(capsys):
    """`equilibrium example --dps 50 --json` gives the float64 sizes to 1e-8 (min |1 - ΔΔ| = 1e-6 there)."""
    import json

    from coupled_beam import cli

    assert cli.main(["equilibrium", "example", "--every", "20", "--json"]) == 0
    f = json.loads(capsys.readouterr().out)
    assert cli.main(["equilibrium", "example", "--every", "20", "--json", "--dps", "50"]) == 0
    h = json.loads(capsys.readouterr().out)
    sf = np.array([b["sigma_z"] for b in f["boundaries"]])
    sh = np.array([b["sigma_z"] for b in h["boundaries"]])
    # float64 (10) with condition ~1/min|1 - ΔΔ| ~ 1e6: measured 2e-10 relative
    np.testing.assert_allclose(sh, sf, rtol=1e-8, atol=0)


def test_high_precision_calls_leave_global_mpmath_precision_alone():
    """precision= works inside mpmath.workdps scopes: the global mp.dps is unchanged and order does not matter."""
    before = mpmath.mp.dps
    a30 = pr.eigentunes_mp(1.0, 1.3, 10.0, 8.0, 0.01, dps=30)
    a50 = pr.eigentunes_mp(1.0, 1.3, 10.0, 8.0, 0.01, dps=50)
    b30 = pr.eigentunes_mp(1.0, 1.3, 10.0, 8.0, 0.01, dps=30)
    assert mpmath.mp.dps == before, "global mpmath precision changed"
    assert a30 == b30, "same call gave a different answer after a 50-digit call"
    with mpmath.workdps(60):
        # the 30-digit result is the 50-digit one rounded: they agree to 1e-29
        assert abs(a30[0] - a50[0]) < 1e-29 and abs(a30[1] - a50[1]) < 1e-29
