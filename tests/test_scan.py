"""Scans: numpy slabs, dask (threads and a loopback LocalCluster) bit-identical, bounded memory, files."""

import json
import math
import tracemalloc

import numpy as np
import pytest

import coupled_beam as cb
from coupled_beam import scan as sc
from coupled_beam.cli import main
from coupled_beam.errors import InputError

RANGES = {"mu_x": (0.0, 2 * math.pi), "mu_z": (0.0, 2 * math.pi), "beta_x": (0.5, 20.0),
          "beta_z": (0.5, 20.0), "m": (-0.08, 0.08)}
ARGS = ("mu_x", "mu_z", "beta_x", "beta_z", "m")


def assert_outputs_identical(a, b):
    assert list(a.outputs) == list(b.outputs), "different output names"
    for name in a.outputs:
        x, y = np.asarray(a.outputs[name]), np.asarray(b.outputs[name])
        assert x.dtype == y.dtype and x.shape == y.shape, f"{name}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}"
        # bit-identical: same float64 operations on every point, NaN where unstable on both
        np.testing.assert_array_equal(x, y, err_msg=f"output {name} differs between routes")


def test_tunes_and_stability_random_points_mask_equals_stable(rng):
    """The NaN pattern of g± is exactly stable() (its a, b² route) on random points."""
    p = sc.random_points(200_000, RANGES, seed=7)
    g_p, g_m, ok = sc.tunes_and_stability(*(p[k] for k in ARGS))
    ref = cb.stable(*(p[k] for k in ARGS))
    assert 0.05 < ok.mean() < 0.98, "sample must contain stable and unstable points"
    assert np.array_equal(ok, ref), f"{np.count_nonzero(ok != ref)} points where the masks differ"
    ref_p, ref_m = cb.eigentunes(*(p[k] for k in ARGS))
    np.testing.assert_array_equal(g_p, ref_p)  # same kernel: bit-identical
    np.testing.assert_array_equal(g_m, ref_m)


def test_tunes_and_stability_on_the_diagonal_equal_eigentunes_exactly():
    """On μx = μz (b = 0 at m = 0, where the two atan2 forms may cross) the ordering matches eigentunes()."""
    mu = np.linspace(0.0, 2 * math.pi, 20_001)
    for m in (0.0, 1e-9):
        g_p, g_m, _ = sc.tunes_and_stability(mu, mu, 3.0, 5.0, m)
        ref_p, ref_m = cb.eigentunes(mu, mu, 3.0, 5.0, m)
        np.testing.assert_array_equal(g_p, ref_p)
        np.testing.assert_array_equal(g_m, ref_m)
        both = np.isfinite(g_p) & np.isfinite(g_m)
        assert both.sum() > 19_000 and np.all(g_p[both] <= g_m[both]), "g+ > g- somewhere"


def test_tunes_and_stability_grid_edges_mask_equals_stable():
    """On a tune grid including μ = 0, π and the diagonal, the NaN-pattern mask equals stable()."""
    ax = np.linspace(0.0, math.pi, 181)
    X, Z = np.meshgrid(ax, ax, indexing="ij")
    for m in (0.0, 0.01, 0.2):
        _, _, ok = sc.tunes_and_stability(X, Z, 7.0, 3.0, m)
        assert np.array_equal(ok, cb.stable(X, Z, 7.0, 3.0, m)), f"masks differ at m = {m}"


def test_scan_numpy_slabs_equal_single_kernel_call():
    """Slabbed numpy evaluation (tiny chunks, 3-D grid) equals one call on the whole broadcast grid."""
    axes = {"mu_x": np.linspace(0.1, 3.0, 7), "mu_z": np.linspace(0.2, 3.1, 5), "m": [0.0, 0.05, 0.3]}
    res = sc.scan("eigentunes", axes=axes, fixed={"beta_x": 8.0, "beta_z": 2.0}, chunks=4)
    X, Z, M = np.meshgrid(*axes.values(), indexing="ij")
    g_p, g_m = cb.eigentunes(X, Z, 8.0, 2.0, M)
    assert res.shape == (7, 5, 3)
    np.testing.assert_array_equal(res.outputs["g_plus"], g_p)
    np.testing.assert_array_equal(res.outputs["g_minus"], g_m)
    np.testing.assert_array_equal(res.outputs["stable"], cb.stable(X, Z, 8.0, 2.0, M))


def test_scan_dask_threaded_equals_numpy_exactly():
    """Random points in odd-sized dask blocks on the threaded scheduler give numpy's results bit for bit."""
    da = pytest.importorskip("dask.array")
    p = sc.random_points(30_011, RANGES, seed=3)
    ref = sc.scan("eigentunes", points=p)
    lazy = {k: da.from_array(v, chunks=4_099) for k, v in p.items()}
    res = sc.scan("eigentunes", points=lazy, scheduler="threads")
    assert_outputs_identical(ref, res)


def test_scan_dask_grid_with_damping_equals_numpy_exactly():
    """A 2-D grid of ω± (mode_damping) on dask equals the numpy scan exactly."""
    pytest.importorskip("dask.array")
    axes = {"mu_x": np.linspace(0.0, math.pi, 61), "mu_z": np.linspace(0.0, math.pi, 47)}
    fixed = {"beta_x": 6.0, "beta_z": 4.0, "m": 0.03, "d11_s0": 2e-4, "d22_s0": 1e-4}
    ref = sc.scan("mode_damping", axes=axes, fixed=fixed)
    res = sc.scan("mode_damping", axes=axes, fixed=fixed, dask=True, chunks=500, scheduler="threads")
    assert_outputs_identical(ref, res)
    direct = cb.mode_damping(axes["mu_x"][:, None], axes["mu_z"][None, :], 6.0, 4.0, 0.03, 2e-4, 1e-4)
    np.testing.assert_array_equal(ref.outputs["omega_plus"], direct[0])


def test_scan_distributed_local_cluster_equals_numpy_exactly():
    """The same scan on a small distributed.LocalCluster (loopback, in-process) equals numpy exactly."""
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    p = sc.random_points(20_000, RANGES, seed=11)
    ref = sc.scan("eigentunes", points=p)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lazy = {k: da.from_array(v, chunks=3_000) for k, v in p.items()}
        res = sc.scan("eigentunes", points=lazy)   # the active client runs the graph
        assert client.scheduler_info()["workers"], "no worker in the local cluster"
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:"), "cluster must stay on loopback"
    assert_outputs_identical(ref, res)


def test_scan_dask_lazy_grid_memory_bounded_by_chunk():
    """A 6·10⁶-point lazy grid reduced on dask peaks far below one materialized output array."""
    da = pytest.importorskip("dask.array")
    n_x, n_z, chunk = 3000, 2000, 65536
    axes = {"mu_x": da.linspace(0.0, math.pi, n_x, chunks=n_x),
            "mu_z": da.linspace(0.0, math.pi, n_z, chunks=n_z)}
    fixed = {"beta_x": 9.0, "beta_z": 4.0, "m": 0.04}
    res = sc.scan("eigentunes", axes=axes, fixed=fixed, chunks=chunk, compute=False)
    assert res.lazy, "compute=False must keep dask outputs"
    one_output = n_x * n_z * 8
    tracemalloc.start()
    try:
        summary = res.summary()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a block needs ~25 float64 temporaries of `chunk` points (12.8 MB measured); materializing
    # the scan would need 3 outputs + 2 inputs of 48 MB each
    assert peak < min(50 * chunk * 8, one_output / 2), f"peak {peak / 1e6:.1f} MB for {chunk}-point blocks"
    ref = sc.scan("eigentunes", axes={k: v.compute() for k, v in axes.items()}, fixed=fixed)
    assert summary["stable_fraction"] == float(ref.outputs["stable"].mean()), "lazy reduction differs"


def test_random_points_dask_are_lazy_and_in_range():
    """random_points with chunks draws per block (lazy) inside the boxes."""
    pytest.importorskip("dask.array")
    p = sc.random_points(10_000, {"mu_x": (1.0, 2.0)}, seed=1, chunks=2_500)
    assert p["mu_x"].chunks == ((2_500,) * 4,)
    values = p["mu_x"].compute()
    assert values.min() >= 1.0 and values.max() < 2.0, "a point outside [1, 2)"


def test_scan_progress_bars_report_completion(capsys):
    """progress=True draws tqdm on numpy and dask's ProgressBar on dask, each reaching 100 %."""
    pytest.importorskip("dask.array")
    fixed = {"mu_z": 1.0, "beta_x": 2.0, "beta_z": 2.0, "m": 0.01}
    sc.scan("eigentunes", axes={"mu_x": np.linspace(0, 3, 100)}, fixed=fixed, chunks=10, progress=True)
    sc.scan("eigentunes", axes={"mu_x": np.linspace(0, 3, 100)}, fixed=fixed, chunks=10, progress=True,
            dask=True, scheduler="threads")
    out = capsys.readouterr()
    assert "10/10" in out.err, "tqdm did not count 10 slabs"
    assert "100%" in out.out, "dask ProgressBar did not finish"


def test_scan_npz_roundtrip_and_stability_png(tmp_path):
    """A 2-D grid writes an .npz with outputs, axes and parameters, and a PNG stability diagram."""
    axes = {"mu_x": np.linspace(0.0, math.pi, 40), "mu_z": np.linspace(0.0, math.pi, 30)}
    res = sc.scan("eigentunes", axes=axes, fixed={"beta_x": 10.0, "beta_z": 10.0, "m": 0.1})
    data = np.load(res.to_npz(tmp_path / "s.npz"))
    np.testing.assert_array_equal(data["stable"], res.outputs["stable"])
    np.testing.assert_array_equal(data["axis_mu_z"], axes["mu_z"])
    assert float(data["param_m"]) == 0.1 and str(data["kernel"]) == "eigentunes"
    png = res.stability_png(tmp_path / "s.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    one_d = sc.scan("eigentunes", axes={"mu_x": [1.0, 2.0]}, fixed={"mu_z": 1.0, "beta_x": 1.0,
                                                                    "beta_z": 1.0, "m": 0.0})
    with pytest.raises(InputError, match="2-D grid"):
        one_d.stability_png(tmp_path / "x.png")


def test_scan_empty_axis_gives_empty_outputs():
    """An empty grid axis gives empty, correctly shaped outputs."""
    res = sc.scan("eigentunes", axes={"mu_x": [], "mu_z": [1.0, 2.0]},
                  fixed={"beta_x": 1.0, "beta_z": 1.0, "m": 0.0})
    assert res.outputs["g_plus"].shape == (0, 2) and res.outputs["stable"].dtype == bool


@pytest.mark.parametrize("kwargs, match", [
    ({"fixed": {"mu_x": 1.0}}, "missing"),
    ({"fixed": dict.fromkeys(ARGS, 1.0), "axes": {"m": [0.0]}}, "duplicate"),
    ({"fixed": {**dict.fromkeys(ARGS, 1.0), "q": 1.0}}, "unknown"),
])
def test_scan_bad_parameters_raise_input_error(kwargs, match):
    """Missing, duplicate or unknown parameters are an InputError naming them."""
    with pytest.raises(InputError, match=match):
        sc.scan("eigentunes", **kwargs)


def test_scan_unknown_kernel_and_bad_axis_text_raise():
    """An unknown kernel name and unreadable axis text are InputErrors with the fix."""
    with pytest.raises(InputError, match="choose one of"):
        sc.scan("nope")
    with pytest.raises(InputError, match="NAME=START:STOP:NUM"):
        sc.parse_axis("mu_x=0:1")


def test_cli_scan_grid_writes_files_and_json(tmp_path, capsys):
    """`coupled-beam scan` on a 2-D grid prints a JSON summary and writes .npz and PNG."""
    npz, png = tmp_path / "g.npz", tmp_path / "g.png"
    code = main(["scan", "--grid", "mu_x=0:3.1:25", "--grid", "mu_z=0:3.1:20", "--set", "beta_x=10",
                 "--set", "beta_z=10", "--set", "m=0.05", "--out", str(npz), "--png", str(png), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_points"] == 500 and 0 < summary["stable_fraction"] < 1
    assert npz.exists() and png.exists()


def test_cli_scan_random_on_dask_matches_fraction_bounds(capsys):
    """`coupled-beam scan --random N --dask` runs lazily drawn points and reports a fraction in [0, 1]."""
    pytest.importorskip("dask.array")
    args = ["scan", "--random", "5000", "--chunks", "1000", "--dask", "--json"]
    for name, (lo, hi) in RANGES.items():
        args += ["--range", f"{name}={lo}:{hi}"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["backend"] == "dask" and summary["n_points"] == 5000
    assert 0.05 < summary["stable_fraction"] < 0.99, summary


@pytest.mark.parametrize("bad, match", [
    ({"mu_z": [0.5, float("nan")]}, "mu_z must be finite"),
    ({"beta_x": [1.0, 0.0]}, "beta_x must be > 0"),
    ({"m": [0.1, float("-inf")]}, "m must be finite"),
])
def test_tunes_and_stability_bad_input_raises_like_eigentunes(bad, match):
    """The fast input check hands bad values to the public API, which names them (InputError)."""
    args = {"mu_x": [1.0, 1.1], "mu_z": [0.5, 0.6], "beta_x": [1.0, 2.0], "beta_z": 3.0, "m": 0.1}
    args.update(bad)
    with pytest.raises(InputError, match=match):
        sc.tunes_and_stability(*args.values())


def test_cli_scan_on_a_scheduler_address_equals_numpy(capsys):
    """`coupled-beam scan --scheduler tcp://127.0.0.1:PORT` runs on that cluster, same fraction as numpy."""
    distributed = pytest.importorskip("distributed")
    grid = ["--grid", "mu_x=0:3.1:40", "--grid", "mu_z=0:3.1:30", "--set", "beta_x=10",
            "--set", "beta_z=10", "--set", "m=0.08", "--chunks", "300", "--json"]
    assert main(["scan", *grid]) == 0
    local = json.loads(capsys.readouterr().out)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert main(["scan", *grid, "--scheduler", cluster.scheduler_address]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert remote["backend"] == f"dask {cluster.scheduler_address}"
    assert remote["stable_fraction"] == local["stable_fraction"] and 0 < local["stable_fraction"] < 1
