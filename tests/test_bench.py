"""`coupled-beam bench`: JSON schema and correctness of both routes (never speed thresholds)."""

import json
import math

import numpy as np
import pytest

import coupled_beam as cb
from coupled_beam import bench
from coupled_beam.cli import main

REQUIRED = ("kernel_vs_eigvals", "kernel_vs_floor", "equilibrium_1000_s", "equilibrium_10000_s",
            "import_s", "verify_cold_s")


@pytest.fixture(scope="module")
def quick_report():
    """One `coupled-beam bench --quick --json` run, parsed (shared by the tests of this module)."""
    capture = pytest.MonkeyPatch()
    import io
    import sys

    buf = io.StringIO()
    capture.setattr(sys, "stdout", buf)
    try:
        code = main(["bench", "--quick", "--json"])
    finally:
        capture.undo()
    assert code == 0
    return json.loads(buf.getvalue())


def test_bench_quick_json_has_every_required_key_as_number_or_null_with_reason(quick_report):
    """Each required key is a finite positive number, or null with its reason in notes."""
    for key in REQUIRED:
        value = quick_report[key]
        if value is None:
            assert quick_report["notes"].get(key), f"{key} is null without a reason"
        else:
            assert isinstance(value, float) and math.isfinite(value) and value > 0, (key, value)
    assert quick_report["kernel_vs_eigvals"] is not None and quick_report["kernel_vs_floor"] is not None


def test_bench_quick_kernel_and_eigvals_routes_agree_on_same_points(quick_report):
    """Kernel and eigen-solve give the same g± (separated modes) and the same mask off the boundary."""
    agree = quick_report["routes_agree"]
    assert agree["compared_points"] > 1000, "too few comparable points"
    # eigvals of a non-defective 4x4 map: ~1e-14 rad; 1e-9 leaves room for ill-conditioned points
    assert agree["max_abs_diff_rad"] < 1e-9, agree
    assert agree["mask_mismatch_clear"] == 0, agree
    assert 0.5 < agree["stable_fraction"] < 0.99, "sample must contain unstable points"


def test_bench_quick_accuracies_against_mpmath_reference(quick_report):
    """Both routes are accurate against the 50-digit eigen-solve; the kernel to a few ulp of π."""
    acc = quick_report["accuracy"]
    assert acc["kernel"]["max_abs_err_rad"] < 1e-13, acc   # a few ulp of g in [0, π]
    assert acc["eigvals"]["max_abs_err_rad"] < 1e-6, acc   # sqrt(eps) near degenerate modes
    assert acc["kernel"]["mask_disagreements"] == 0, acc


def test_bench_quick_import_leaves_sympy_out(quick_report):
    """`import coupled_beam` in a fresh interpreter loads neither sympy nor scipy."""
    assert quick_report["sympy_imported"] is False
    assert quick_report["scipy_imported"] is False


def test_bench_quick_equilibrium_times_both_sizes(quick_report):
    """The equilibrium section timed two ring sizes, ten times apart."""
    assert quick_report["equilibrium_size_ratio"] == 10.0
    assert all(t > 0 for t in quick_report["equilibrium_times_s"])


def test_eigvals_route_uncoupled_points_give_the_phase_advances():
    """m = 0: the eigen-solve route returns g+ = min(μ), g- = max(μ), all stable."""
    mu_x = np.array([0.3, 2.0, 1.0, 5.0])
    mu_z = np.array([1.2, 0.5, 2.5, 1.0])
    g_p, g_m, ok = bench.eigvals_route(mu_x, mu_z, 4.0, 9.0, 0.0)
    folded_x = np.minimum(mu_x, 2 * np.pi - mu_x)   # |arg λ| folds μ into [0, π]
    np.testing.assert_allclose(g_p, np.minimum(folded_x, mu_z), rtol=0, atol=1e-14)  # eigvals of a 2x2 block
    np.testing.assert_allclose(g_m, np.maximum(folded_x, mu_z), rtol=0, atol=1e-14)
    assert ok.all()


def test_mp_reference_matches_eigentunes_at_a_coupled_point():
    """The 50-digit reference and the kernel agree to 1e-15 at one coupled working point."""
    point = {"mu_x": 1.0, "mu_z": 1.3, "beta_x": 10.0, "beta_z": 8.0, "m": 0.05}
    g_p, g_m, ok = bench.mp_reference(point)
    k_p, k_m = cb.eigentunes(*point.values())
    assert ok and abs(g_p - float(k_p)) < 1e-15 and abs(g_m - float(k_m)) < 1e-15, (g_p, g_m, k_p, k_m)


def test_mp_reference_stop_band_point_is_unstable():
    """μx = μz = 3 with m = 0.5 lies in a stop band: the reference says unstable, like stable()."""
    point = {"mu_x": 3.0, "mu_z": 3.0, "beta_x": 10.0, "beta_z": 10.0, "m": 0.5}
    _, _, ok = bench.mp_reference(point)
    assert ok is False and not cb.stable(*point.values())


def test_floor_work_computes_the_named_functions():
    """floor_work fills cos, sin of both tunes, sqrt(β) and the two arccos."""
    x = np.array([0.2, 1.1])
    z = np.array([2.0, 0.4])
    out = [np.empty(2) for _ in range(7)]
    bench.floor_work(x, z, np.array([4.0, 9.0]), out)
    np.testing.assert_array_equal(out[4], [2.0, 3.0])
    np.testing.assert_allclose(out[5], x, rtol=0, atol=1e-15)  # arccos(cos x) = x on [0, π]
    np.testing.assert_allclose(out[6], z, rtol=0, atol=1e-15)


def test_bench_ring_has_requested_length_and_a_skew_quad():
    """bench_ring(n) has exactly n elements, one of them the thin skew quadrupole."""
    ring = bench.bench_ring(57)
    assert len(ring) == 57
    assert sum(type(el).__name__ == "ThinSkewQuadrupole" for el in ring.elements) == 1
