"""Speed measured side by side, in one process: ``coupled-beam bench``.

:func:`run_bench` returns one JSON-ready dict. Every time is the best of a
few runs (wall clock, seconds); every ratio is formed from two times taken in
the same run on the same inputs. A figure that cannot be measured here is
``None``, with the reason in ``notes`` -- never a made-up number.

Keys
----
kernel_vs_eigvals : float
    Time of the eigen-solve route / time of the kernel route on the same
    ``n_points`` random points (higher is better). Kernel route:
    :func:`coupled_beam.scan.tunes_and_stability` (public ``eigentunes``, mask
    from the NaN pattern of g±). Eigen-solve route: the n one-turn maps N = L F
    built with vectorized numpy, ``numpy.linalg.eigvals`` on the (n, 4, 4)
    stack, phases and unit-modulus test.
kernel_vs_eigvals_api : float
    The same with ``eigentunes(...)`` and ``stable(...)`` called separately.
kernel_vs_floor : float
    Kernel time / floor time; floor: cos and sin of μ_x and μ_z, one sqrt and
    two arccos on n points (numpy ufuncs into preallocated arrays).
kernel_s, kernel_api_s, kernel_bare_s, eigvals_s, eigvals_solve_only_s, floor_s, input_checks_s : float
    The underlying times (kernel, floor and API calls interleaved round by
    round, best of each); ``kernel_bare_s`` is the generated g± kernel alone,
    ``input_checks_s`` eigentunes() minus it (asarray, isfinite, β > 0).
accuracy : dict
    Max and median abs error of g± (rad) of both routes against a 50-digit
    mpmath eigen-solve of the same maps on a subsample, and the number of
    stability-mask disagreements with it.
routes_agree : dict
    Kernel vs eigen-solve on all points: max abs g± difference where both are
    stable and the modes are separated (> 1e-3 rad apart and from 0, π), and
    mask mismatches outside a 1e-6 band around the stability boundary.
equilibrium_1000_s, equilibrium_10000_s, equilibrium_ratio : float
    ``Ring(elements, energy=1.5).equilibrium()`` (construction included) on
    rings of ADONE-like cells of 1000 and 10⁴ elements; ratio ≈ 10 if linear.
import_s : float
    Wall time of ``python -c "import coupled_beam"`` (``python_startup_s``:
    of ``python -c pass``); ``sympy_imported`` must be False; ``scipy_imported``
    and ``numpy_imported`` show that the package loads neither until needed.
verify_cold_s, codegen_cold_s : float
    Wall time of a fresh ``coupled-beam verify --json`` and of
    ``python -m derivations.codegen --check`` (regenerates the kernels in
    memory and compares).
equilibrium_vs_pyat : dict or None
    :func:`coupled_beam.interop.pyat.time_vs_ohmi` when pyAT is installed.
peers : dict
    Only with ``run_bench(peers={...})`` (``coupled-beam bench --peers``):
    the side-by-side section of :mod:`coupled_beam.bench_peers` (pyAT
    ``ohmi_envelope``, MAD-X ``EMIT`` + ``TWISS``, xtrack 6-D twiss on one
    FODO ring at 442 and 4402 elements; times, ratios, size agreement).

References
----------
LNF-64/55 §4 (equilibrium) and §5 (eigentunes, stability).

Examples
--------
>>> r = run_bench(quick=True, n=2000, parts=("kernel",))
>>> r["kernel_vs_eigvals"] > 1 and r["routes_agree"]["mask_mismatch_clear"] == 0
True
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
import time
import warnings
from typing import Callable

import numpy as np

__all__ = ["run_bench", "random_skew_points", "eigvals_route", "floor_work", "mp_reference",
           "bench_ring", "PARTS"]

#: the sections of the bench, in order
PARTS = ("kernel", "equilibrium", "import", "symbolic", "pyat")

_ARGS = ("mu_x", "mu_z", "beta_x", "beta_z", "m")


def _best(fn: Callable, repeat: int) -> float:
    """Best wall time of ``repeat`` calls (s)."""
    best = math.inf
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _race(fns: dict, repeat: int) -> dict:
    """Best wall time of each function, the calls interleaved round by round (s).

    Interleaving makes the ratios robust to the load of a shared machine
    changing during the run: every function sees the same conditions.
    """
    best = dict.fromkeys(fns, math.inf)
    for _ in range(max(1, repeat)):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[key] = min(best[key], time.perf_counter() - t0)
    return best


def random_skew_points(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random §5 working points: μ in [0, 2π), β in [1, 20] m, m in [-0.05, 0.05] 1/m.

    About 10 % of them are unstable (stop bands), so both masks are exercised.

    Examples
    --------
    >>> p = random_skew_points(4)
    >>> sorted(p), p["mu_x"].shape
    (['beta_x', 'beta_z', 'm', 'mu_x', 'mu_z'], (4,))
    """
    rng = np.random.default_rng(seed)
    return {"mu_x": rng.uniform(0.0, 2 * math.pi, n), "mu_z": rng.uniform(0.0, 2 * math.pi, n),
            "beta_x": rng.uniform(1.0, 20.0, n), "beta_z": rng.uniform(1.0, 20.0, n),
            "m": rng.uniform(-0.05, 0.05, n)}


def one_turn_maps_numpy(mu_x, mu_z, beta_x, beta_z, m) -> np.ndarray:
    """N = L F for n points, built as a user without this toolkit would (vectorized numpy).

    F = diag(F_x, F_z) with F = [[cos μ, β sin μ], [-sin μ / β, cos μ]] (α = 0),
    L the thin skew kick Δx' = m z, Δz' = m x; ``L @ F`` on the (n, 4, 4) stack.

    Examples
    --------
    >>> N = one_turn_maps_numpy(np.array([1.0]), np.array([2.0]), 3.0, 4.0, 0.0)
    >>> float(N[0, 0, 1]) == 3.0 * math.sin(1.0)
    True
    """
    mu_x, mu_z, beta_x, beta_z, m = np.broadcast_arrays(*(np.asarray(v, float) for v in
                                                          (mu_x, mu_z, beta_x, beta_z, m)))
    n = mu_x.shape[0]
    cx, sx, cz, sz = np.cos(mu_x), np.sin(mu_x), np.cos(mu_z), np.sin(mu_z)
    F = np.zeros((n, 4, 4))
    F[:, 0, 0] = F[:, 1, 1] = cx
    F[:, 0, 1] = beta_x * sx
    F[:, 1, 0] = -sx / beta_x
    F[:, 2, 2] = F[:, 3, 3] = cz
    F[:, 2, 3] = beta_z * sz
    F[:, 3, 2] = -sz / beta_z
    L = np.broadcast_to(np.eye(4), (n, 4, 4)).copy()
    L[:, 1, 2] = m
    L[:, 3, 0] = m
    return L @ F


def eigvals_route(mu_x, mu_z, beta_x, beta_z, m, *, tol: float = 1e-6):
    """g± and stability from ``numpy.linalg.eigvals`` of the one-turn maps.

    Stable where every abs(λ) is within ``tol`` of 1; g+ , g- are the smallest
    and largest abs(arg λ) (NaN where unstable).

    Returns
    -------
    g_plus, g_minus : numpy.ndarray
    stable : numpy.ndarray of bool

    Examples
    --------
    >>> g_p, g_m, ok = eigvals_route(np.array([1.0]), np.array([2.0]), 3.0, 4.0, 0.0)
    >>> round(float(g_p[0]), 12), round(float(g_m[0]), 12), bool(ok[0])
    (1.0, 2.0, True)
    """
    lam = np.linalg.eigvals(one_turn_maps_numpy(mu_x, mu_z, beta_x, beta_z, m))
    ok = np.all(np.abs(np.abs(lam) - 1.0) < tol, axis=1)
    ph = np.sort(np.abs(np.angle(lam)), axis=1)
    g_p = np.where(ok, ph[:, 0], np.nan)
    g_m = np.where(ok, ph[:, 3], np.nan)
    return g_p, g_m, ok


def floor_work(mu_x, mu_z, beta_x, out: list[np.ndarray]) -> None:
    """The transcendental work no closed form avoids: cos, sin of μ_x, μ_z; one sqrt; two arccos.

    ``out`` holds 7 preallocated float64 arrays of the input shape (so the
    floor has no allocation cost); arccos acts on cos μ_x and cos μ_z (in
    [-1, 1]).

    Examples
    --------
    >>> x = np.array([0.5]); out = [np.empty(1) for _ in range(7)]
    >>> floor_work(x, x, x, out); float(out[5][0])
    0.5
    """
    np.cos(mu_x, out=out[0])
    np.sin(mu_x, out=out[1])
    np.cos(mu_z, out=out[2])
    np.sin(mu_z, out=out[3])
    np.sqrt(beta_x, out=out[4])
    np.arccos(out[0], out=out[5])
    np.arccos(out[2], out=out[6])


def mp_reference(point: dict, dps: int = 50) -> tuple[float, float, bool]:
    """(g+, g-, stable) of one point from a ``dps``-digit mpmath eigen-solve of N = L F.

    The map is built from the float64 inputs taken exactly; stable when every
    abs(λ) equals 1 within 10^(-dps/2); g± NaN where unstable.

    Examples
    --------
    >>> g_p, g_m, ok = mp_reference({"mu_x": 1.0, "mu_z": 1.3, "beta_x": 10.0,
    ...                              "beta_z": 8.0, "m": 0.0})
    >>> round(g_p, 15), round(g_m, 15), ok
    (1.0, 1.3, True)
    """
    import mpmath

    with mpmath.workdps(dps):
        mx, mz, bx, bz, m = (mpmath.mpf(float(point[k])) for k in _ARGS)
        cx, sx, cz, sz = mpmath.cos(mx), mpmath.sin(mx), mpmath.cos(mz), mpmath.sin(mz)
        F = mpmath.matrix([[cx, bx * sx, 0, 0], [-sx / bx, cx, 0, 0],
                           [0, 0, cz, bz * sz], [0, 0, -sz / bz, cz]])
        L = mpmath.eye(4)
        L[1, 2] = m
        L[3, 0] = m
        ev = mpmath.eig(L * F, left=False, right=False)
        ok = all(abs(abs(e) - 1) < mpmath.mpf(10) ** (-dps // 2) for e in ev)
        ph = sorted(float(abs(mpmath.arg(e))) for e in ev)
    if not ok:
        return math.nan, math.nan, False
    return ph[0], ph[3], True


def _errors(g: tuple, ref: np.ndarray, ok_ref: np.ndarray) -> dict:
    both = ok_ref & np.isfinite(g[0]) & np.isfinite(g[1])
    err = np.abs(np.concatenate([g[0][both] - ref[both, 0], g[1][both] - ref[both, 1]]))
    return {"max_abs_err_rad": float(err.max()) if err.size else None,
            "median_abs_err_rad": float(np.median(err)) if err.size else None,
            "mask_disagreements": int(np.count_nonzero(both != ok_ref))}


def _kernel_part(n: int, seed: int, n_ref: int, repeat: int, repeat_eig: int) -> dict:
    from coupled_beam import _kernels
    from coupled_beam.scan import tunes_and_stability
    from coupled_beam.skew_quadrupole import eigentunes, stable

    p = random_skew_points(n, seed)
    args = [p[k] for k in _ARGS]
    out: dict = {"n_points": n}
    buf = [np.empty(n) for _ in range(7)]
    with np.errstate(invalid="ignore"):
        kern = tunes_and_stability(*args)
        t = _race({"kernel_s": lambda: tunes_and_stability(*args),
                   "floor_s": lambda: floor_work(p["mu_x"], p["mu_z"], p["beta_x"], buf),
                   "kernel_api_s": lambda: (eigentunes(*args), stable(*args)),
                   "bare": lambda: _kernels.skew_eigentunes(*args),
                   "with_checks": lambda: eigentunes(*args)}, repeat)
    out.update({k: t[k] for k in ("kernel_s", "floor_s", "kernel_api_s")})
    out["kernel_bare_s"] = t["bare"]
    out["input_checks_s"] = max(t["with_checks"] - t["bare"], 0.0)
    eig = eigvals_route(*args)
    maps = one_turn_maps_numpy(*args)
    with np.errstate(invalid="ignore"):
        t = _race({"eigvals_s": lambda: eigvals_route(*args),
                   "eigvals_solve_only_s": lambda: np.linalg.eigvals(maps),
                   "kernel_s": lambda: tunes_and_stability(*args)}, repeat_eig)
    del maps
    out["eigvals_s"], out["eigvals_solve_only_s"] = t["eigvals_s"], t["eigvals_solve_only_s"]
    out["kernel_s"] = min(out["kernel_s"], t["kernel_s"])   # also timed between the eigen-solves
    out["kernel_vs_eigvals"] = out["eigvals_s"] / out["kernel_s"]
    out["kernel_vs_eigvals_api"] = out["eigvals_s"] / out["kernel_api_s"]
    out["kernel_vs_floor"] = out["kernel_s"] / out["floor_s"]
    out["routes_agree"] = _agreement(args, kern, eig)
    idx = np.random.default_rng(seed + 1).choice(n, size=min(n_ref, n), replace=False)
    refs = [mp_reference({k: p[k][i] for k in _ARGS}) for i in idx]
    ref = np.array([[r[0], r[1]] for r in refs])
    ok_ref = np.array([r[2] for r in refs])
    out["accuracy"] = {"reference": f"mpmath eig at 50 digits, {len(idx)} points",
                       "kernel": _errors((kern[0][idx], kern[1][idx]), ref, ok_ref),
                       "eigvals": _errors((eig[0][idx], eig[1][idx]), ref, ok_ref)}
    return out


def _agreement(args: list, kern: tuple, eig: tuple) -> dict:
    from coupled_beam import _kernels

    g_p, g_m, ok = kern
    e_p, e_m, e_ok = eig
    sep = ok & e_ok & (g_m - g_p > 1e-3) & (g_p > 1e-3) & (g_m < math.pi - 1e-3)
    diff = np.abs(np.concatenate([g_p[sep] - e_p[sep], g_m[sep] - e_m[sep]]))
    a, b2 = (np.broadcast_to(v, ok.shape) for v in _kernels.skew_stability_terms(*args))
    bb = np.sqrt(np.abs(b2))
    margin = np.minimum.reduce([np.abs(b2), np.abs(np.abs(a + bb) - 2), np.abs(np.abs(a - bb) - 2)])
    return {"max_abs_diff_rad": float(diff.max()) if diff.size else None,
            "compared_points": int(np.count_nonzero(sep)),
            "mask_mismatch": int(np.count_nonzero(ok != e_ok)),
            "mask_mismatch_clear": int(np.count_nonzero((ok != e_ok) & (margin > 1e-6))),
            "stable_fraction": float(ok.mean())}


def bench_ring(n_elements: int, energy: float = 1.5):
    """A ring of ``n_elements``: ADONE-like cells, one thin skew quadrupole, drifts to fill.

    Examples
    --------
    >>> len(bench_ring(30))
    30
    """
    from coupled_beam.demo import adone_like_cell
    from coupled_beam.lattice import Drift, Ring, ThinSkewQuadrupole

    cell = adone_like_cell()
    elements = cell * ((n_elements - 1) // len(cell)) + [ThinSkewQuadrupole(0.02, name="skew")]
    elements += [Drift(0.1, name="fill") for _ in range(n_elements - len(elements))]
    return Ring(elements, energy=energy)


def _equilibrium_part(sizes: tuple[int, int], repeat: int) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench_ring(sizes[0]).equilibrium()    # warm-up (imports, first allocations)
        best = _race({size: (lambda size=size: bench_ring(size).equilibrium()) for size in sizes}, repeat)
    times = [best[size] for size in sizes]
    return {"equilibrium_sizes": list(sizes), "equilibrium_times_s": times,
            "equilibrium_ratio": times[1] / times[0],
            "equilibrium_size_ratio": sizes[1] / sizes[0]}


def _wall(cmd: list[str], repeat: int = 1, timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
    best, proc = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        best = min(best, time.perf_counter() - t0)
    return best, proc


def _import_part(repeat: int) -> dict:
    probe = ("import sys, coupled_beam; "
             "print(*(m in sys.modules for m in ('sympy', 'scipy', 'numpy')))")
    t_import, proc = _wall([sys.executable, "-c", probe], repeat)
    t_start, _ = _wall([sys.executable, "-c", "pass"], repeat)
    flags = proc.stdout.split()
    if proc.returncode != 0 or len(flags) != 3:
        raise RuntimeError(f"`import coupled_beam` failed in a fresh interpreter: {proc.stderr.strip()[-300:]}")
    return {"import_s": t_import, "python_startup_s": t_start, "sympy_imported": flags[0] == "True",
            "scipy_imported": flags[1] == "True", "numpy_imported": flags[2] == "True"}


def _symbolic_part(notes: dict) -> dict:
    out: dict = {"verify_cold_s": None, "codegen_cold_s": None}
    t, proc = _wall([sys.executable, "-m", "coupled_beam.cli", "verify", "--json"])
    if proc.returncode == 0:
        out["verify_cold_s"] = t
    else:
        notes["verify_cold_s"] = f"coupled-beam verify exited {proc.returncode}: {proc.stderr.strip()[-200:]}"
    t, proc = _wall([sys.executable, "-m", "derivations.codegen", "--check"])
    if proc.returncode in (0, 1) and "_kernels.py" in proc.stdout + proc.stderr:
        out["codegen_cold_s"] = t
        out["codegen_up_to_date"] = proc.returncode == 0
    else:
        notes["codegen_cold_s"] = f"derivations.codegen --check failed: {proc.stderr.strip()[-200:]}"
    return out


def _pyat_part(notes: dict) -> dict:
    try:
        from coupled_beam.interop.pyat import example_at_ring, time_vs_ohmi
    except ImportError as exc:
        notes["equilibrium_vs_pyat"] = f"not available: {exc}"
        return {"equilibrium_vs_pyat": None}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {"equilibrium_vs_pyat": time_vs_ohmi(example_at_ring(coupled=True), repeat=2)}
    except ImportError as exc:
        notes["equilibrium_vs_pyat"] = f"pyAT not installed: {exc}"
        return {"equilibrium_vs_pyat": None}


def run_bench(quick: bool = False, n: int | None = None, seed: int = 0,
              parts: tuple[str, ...] = PARTS, peers: dict | None = None) -> dict:
    """Measure every figure of ``coupled-beam bench`` in this process.

    Parameters
    ----------
    quick : bool
        Small sizes (seconds): 2·10⁴ points, rings of 30 and 300 elements,
        no subprocess of the symbolic layer, no pyAT.
    n : int, optional
        Points of the kernel-vs-eigvals race (default 10⁶, quick 2·10⁴).
    seed : int
        Seed of the random points.
    parts : tuple of str
        Which sections of :data:`PARTS` to run (the others are None, with a note).
    peers : dict, optional
        Also run the peers section (pyAT, MAD-X, xtrack side by side; slow,
        so off unless asked): keyword arguments of
        :func:`coupled_beam.bench_peers.run_peers` (``{}`` for its defaults);
        its dict lands under ``"peers"``.

    Returns
    -------
    dict
        See the module docstring for every key.
    """
    notes: dict = {}
    report: dict = {"quick": quick, "machine": _machine()}
    t_start = time.perf_counter()
    n = (20_000 if quick else 1_000_000) if n is None else int(n)
    if "kernel" in parts:
        report.update(_kernel_part(n, seed, n_ref=20 if quick else 300, repeat=3 if quick else 9,
                                   repeat_eig=1 if quick else 2))
    else:
        for key in ("kernel_vs_eigvals", "kernel_vs_floor"):
            report[key] = None
            notes[key] = "part 'kernel' not run"
    if "equilibrium" in parts:
        sizes = (30, 300) if quick else (1000, 10_000)
        eq = _equilibrium_part(sizes, repeat=1 if quick else 3)
        report.update(eq)
        times = dict(zip(sizes, eq["equilibrium_times_s"]))
        report["equilibrium_1000_s"] = times.get(1000)
        report["equilibrium_10000_s"] = times.get(10_000)
        if quick:
            notes["equilibrium_1000_s"] = notes["equilibrium_10000_s"] = \
                "skipped in --quick (rings of 30 and 300 elements instead)"
    else:
        report["equilibrium_1000_s"] = report["equilibrium_10000_s"] = None
        notes["equilibrium_1000_s"] = notes["equilibrium_10000_s"] = "part 'equilibrium' not run"
    if "import" in parts:
        report.update(_import_part(repeat=1 if quick else 3))
    else:
        report["import_s"] = None
        notes["import_s"] = "part 'import' not run"
    if "symbolic" in parts and not quick:
        report.update(_symbolic_part(notes))
    else:
        report["verify_cold_s"] = report["codegen_cold_s"] = None
        notes["verify_cold_s"] = notes["codegen_cold_s"] = "skipped (--quick or part not run)"
    if "pyat" in parts and not quick:
        report.update(_pyat_part(notes))
    else:
        report["equilibrium_vs_pyat"] = None
        notes["equilibrium_vs_pyat"] = "skipped (--quick or part not run)"
    if peers is not None:
        from coupled_beam.bench_peers import run_peers

        report["peers"] = run_peers(**peers)
    report["notes"] = notes
    report["machine"]["load_avg_1min_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report["bench_wall_s"] = time.perf_counter() - t_start
    return report


def _machine() -> dict:
    try:
        from threadpoolctl import threadpool_info

        blas = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                for d in threadpool_info()]
    except ImportError:
        blas = None
    return {"python": platform.python_version(), "numpy": np.__version__,
            "cpus": os.cpu_count(), "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "blas": blas}
