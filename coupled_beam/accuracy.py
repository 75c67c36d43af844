"""Where float64 can be trusted: the §5 kernels and ``eigvals`` against mpmath.

:func:`accuracy_report` measures the max error of the float64 §5 kernels
(:mod:`coupled_beam.skew_quadrupole`) and of ``numpy.linalg.eigvals`` against the
generated mpmath twins of :mod:`coupled_beam.precision` at ``dps`` digits, in the
bulk and at distances 1e-4, 1e-8, 1e-12 from each stability boundary (table in the
README, section "Errors"; ``coupled-beam bench --accuracy``). It sits apart from
:mod:`coupled_beam.precision` so that the precision path and the §5 kernels import
one way only (skew_quadrupole -> precision; this module -> both).

Regenerate the table with ``print(format_accuracy_table(accuracy_report()))``
(about 80 s).

References
----------
LNF-64/55 §5.
"""

from __future__ import annotations

import math
import time

import numpy as np

from coupled_beam import _kernels
from coupled_beam.errors import InputError
from coupled_beam.precision import DEFAULT_DPS, check_dps, eigentunes_mp, mode_damping_mp

__all__ = ["accuracy_report", "format_accuracy_table"]


def _boundary_points(rng, kind: str, delta: float, n: int) -> np.ndarray:
    """n parameter sets (mu_x, mu_z, beta_x, beta_z, m) at distance ~delta from a boundary.

    kind: "plus" (2 - (a + b) = delta, g+ -> 0 by coupling), "minus" (2 + (a - b) = delta,
    g- -> pi), "b2" (b^2 = delta, difference stop band edge), "mu0" (mu_x = delta),
    "mupi" (mu_z = pi - delta), "diag" (mu_z = mu_x + delta, weak coupling).
    m is solved at 60 digits from the generated (a, b^2) kernel: b^2 is linear in m^2.
    """
    import mpmath

    out = []
    while len(out) < n:
        bx, bz = np.exp(rng.uniform(math.log(0.5), math.log(30.0), 2))
        if kind in ("mu0", "mupi", "diag"):
            u = rng.uniform(0.5, 1.0)
            mux = rng.uniform(0.3, math.pi - 0.3)
            muz = rng.uniform(0.3, math.pi - 0.3)
            if kind == "mu0":
                mux, m = delta * u, rng.uniform(-1, 1) * delta
            elif kind == "mupi":
                muz, m = math.pi - delta * u, rng.uniform(-1, 1) * delta
            else:
                muz, m = mux + delta * u, rng.uniform(-1e-3, 1e-3)
            out.append((mux, muz, bx, bz, m))
            continue
        mux = rng.uniform(0.01, math.pi - 0.01)
        muz = rng.uniform(math.pi + 0.01, 2 * math.pi - 0.01) if kind == "b2" else rng.uniform(0.01, math.pi - 0.01)
        with mpmath.workdps(60):
            args = [mpmath.mpf(float(v)) for v in (mux, muz, bx, bz)]
            a, b2_0 = _kernels.skew_stability_terms_mp(*args, mpmath.mpf(0))
            _, b2_1 = _kernels.skew_stability_terms_mp(*args, mpmath.mpf(1))
            if kind == "b2":
                m2 = (delta - b2_0) / (b2_1 - b2_0)
            else:
                b_target = 2 - delta - a if kind == "plus" else a + 2 - delta
                if b_target < 0:
                    continue
                m2 = (b_target**2 - b2_0) / (b2_1 - b2_0)
            if not m2 > 0:
                continue
            out.append((mux, muz, bx, bz, float(mpmath.sqrt(m2))))
    return np.array(out, dtype=np.float64)


def _categories(n: int) -> list[tuple[str, str, float, int]]:
    kinds = [("plus", "a+b=2 (g+->0, coupling)"), ("minus", "a-b=-2 (g-->pi, coupling)"),
             ("b2", "b^2=0 (difference stop band)"), ("mu0", "mu_x->0"), ("mupi", "mu_z->pi"),
             ("diag", "mu_x=mu_z")]
    deltas = (1e-4, 1e-8, 1e-12)
    per = max(1, (7 * n) // (10 * len(kinds) * len(deltas)))
    cats = [(k, f"{label} d={d:.0e}", d, per) for k, label in kinds for d in deltas]
    return [("bulk", "bulk", 0.0, max(1, n - per * len(cats)))] + cats


def accuracy_report(n: int = 10_000, seed: int = 20261124, dps: int = DEFAULT_DPS) -> dict:
    """Max error of the float64 §5 kernels and of ``numpy.linalg.eigvals`` against ``dps`` digits.

    Points: a bulk (μ in (0, π), β in [0.5, 30] m, abs(m) ≤ 0.2) and, for each
    boundary (2 − (a + b), 2 + (a − b), b², μ_x → 0, μ_z → π, μ_x = μ_z) and each
    distance δ in {1e-4, 1e-8, 1e-12}, points at that distance (m solved at 60
    digits). Only modes stable at ``dps`` digits enter the g errors; the eigvals
    route takes the sorted abs(arg λ) of the float64 map (built by the float64
    kernel). ω± (D s0 in [1e-6, 1e-3]) are compared where b² > 0.

    Parameters
    ----------
    n : int
        Total number of points (about 70 % near boundaries).
    seed : int
        numpy Generator seed.
    dps : int
        Reference precision.

    Returns
    -------
    dict
        ``rows``: list of dicts with ``category``, ``n``, ``g_kernel_abs`` (max abs error of
        g± from the float64 kernel, rad), ``g_eigvals_abs`` (same for eigvals phases),
        ``g_kernel_rel``, ``g_eigvals_rel`` (relative to g±), ``omega_rel`` (max relative
        error of ω±), ``mask_errors`` (points where :func:`coupled_beam.stable` or the
        NaN pattern of g± disagrees with the reference); ``n``, ``seed``, ``dps``,
        ``seconds``, ``kernel_ns_per_point``, ``eigvals_ns_per_point``.

    Examples
    --------
    >>> rep = accuracy_report(n=60, seed=1, dps=30)
    >>> rep["rows"][0]["category"], rep["rows"][0]["g_kernel_abs"] < 1e-13
    ('bulk', True)
    """
    from coupled_beam import skew_quadrupole as sq  # lazy: numpy kernels only when measured

    check_dps(dps)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer number of points, got {n!r}", name="n", value=repr(n))
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    rows = []
    all_pts = []
    for kind, label, delta, count in _categories(int(n)):
        if kind == "bulk":
            P = np.column_stack([rng.uniform(0.01, math.pi - 0.01, count), rng.uniform(0.01, math.pi - 0.01, count),
                                 np.exp(rng.uniform(math.log(0.5), math.log(30.0), (2, count))).T,
                                 rng.uniform(-0.2, 0.2, count)])
        else:
            P = _boundary_points(rng, kind, delta, count)
        all_pts.append(P)
        D = rng.uniform(1e-6, 1e-3, (count, 2))
        g = np.column_stack(sq.eigentunes(*P.T))
        ok = sq.stable(*P.T)
        om = np.column_stack(sq.mode_damping(*P.T, D[:, 0], D[:, 1]))
        N = sq.thin_skew_one_turn_map(*P.T)
        phases = np.sort(np.abs(np.angle(np.linalg.eigvals(N))), axis=1)[:, [0, 2]]
        ref_g = np.full((count, 2), np.nan)
        ref_om = np.full((count, 2), np.nan)
        ref_ok = np.zeros(count, dtype=bool)
        for i, p in enumerate(P):
            gp, gm = eigentunes_mp(*p, dps=dps)
            ref_g[i] = [np.nan if gp is None else float(gp), np.nan if gm is None else float(gm)]
            ref_ok[i] = gp is not None and gm is not None
            op, omm = mode_damping_mp(*p, *D[i], dps=dps)
            ref_om[i] = [np.nan if op is None else float(op), np.nan if omm is None else float(omm)]
        both = np.isfinite(ref_g)
        both_om = np.isfinite(ref_om) & np.isfinite(om)
        with np.errstate(invalid="ignore", divide="ignore"):
            ek = np.where(both, np.abs(g - ref_g), 0.0)
            ee = np.where(both, np.abs(phases - ref_g), 0.0)
            ek = np.where(np.isnan(ek), np.inf, ek)  # NaN where the reference is finite: total loss
            rel = lambda e: np.where(both & (ref_g > 0), e / np.where(ref_g > 0, ref_g, 1.0), 0.0)  # noqa: E731
            eo = np.where(both_om, np.abs(om - ref_om) / np.abs(ref_om), 0.0)
        mask_err = int(np.sum(ok != ref_ok) + np.sum(np.isfinite(g) != both))
        rows.append({"category": label, "n": int(count),
                     "g_kernel_abs": float(ek.max()), "g_eigvals_abs": float(ee.max()),
                     "g_kernel_rel": float(rel(ek).max()), "g_eigvals_rel": float(rel(ee).max()),
                     "omega_rel": float(eo.max()), "mask_errors": mask_err})
    P = np.concatenate(all_pts)
    reps = 5
    t = time.perf_counter()
    for _ in range(reps):
        sq.eigentunes(*P.T)
    k_ns = (time.perf_counter() - t) / reps / len(P) * 1e9
    N = sq.thin_skew_one_turn_map(*P.T)
    t = time.perf_counter()
    for _ in range(reps):
        np.linalg.eigvals(N)
    e_ns = (time.perf_counter() - t) / reps / len(P) * 1e9
    return {"rows": rows, "n": int(len(P)), "seed": seed, "dps": dps,
            "seconds": time.perf_counter() - t0,
            "kernel_ns_per_point": k_ns, "eigvals_ns_per_point": e_ns}


def format_accuracy_table(report: dict) -> str:
    """The rows of :func:`accuracy_report` as a fixed-width text table.

    Examples
    --------
    >>> print(format_accuracy_table({"rows": [], "n": 0, "seed": 0, "dps": 50}).splitlines()[0])
    category                              n   g kernel abs  g eigvals abs   g kernel rel  g eigvals rel    omega rel  mask
    """
    head = (f"{'category':<34s}{'n':>5s}{'g kernel abs':>15s}{'g eigvals abs':>15s}"
            f"{'g kernel rel':>15s}{'g eigvals rel':>15s}{'omega rel':>13s}{'mask':>6s}")
    lines = [head]
    for r in report["rows"]:
        lines.append(f"{r['category']:<34s}{r['n']:>5d}{r['g_kernel_abs']:>15.2e}{r['g_eigvals_abs']:>15.2e}"
                     f"{r['g_kernel_rel']:>15.2e}{r['g_eigvals_rel']:>15.2e}{r['omega_rel']:>13.2e}"
                     f"{r['mask_errors']:>6d}")
    return "\n".join(lines)
