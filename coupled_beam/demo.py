"""``coupled-beam demo``: the paper's results on a built-in ADONE-like ring.

The example ring
----------------
An electron ring modelled on ADONE (Frascati, 1969-1993), the machine the
paper's authors were building in 1964. What is taken from ADONE (INFN-LNF,
"ADONE (1969-1993)", the laboratory's public history page): 1.5 GeV per beam,
105 m circumference (350 ns revolution), 12 equal cells, each one bending
magnet with a quadrupole doublet and half a straight section on either side,
about 2.5 m of free space in each straight. What is chosen here (not ADONE's
as-built optics): 30° sector bends of radius ρ = 5 m (1 T at 1.5 GeV; field
index n = 0), 0.5 m quadrupoles in the order straight-QD-QF-bend-QF-QD-
straight, 3.0 m straights (1.5 m each side of the cell boundary), and the two
quadrupole strengths fitted to the betatron tunes ν_x = 3.62, ν_z = 3.58
(a working point near the difference resonance, ADONE's tunes were near 3.6
in both planes). One thin 45° skew quadrupole of integrated strength m sits at
the centre of straight section 1 (s = 0, the interaction point), as the last
element of the period, so that the one-turn map at s = 0 is the paper's
N = L F (§5).

With ``energy=1.5`` the ring's radiation (damping D and noise φ̂) comes from
:mod:`coupled_beam.radiation` (standard electron radiation).

References
----------
LNF-64/55, §4 (formula (10)), §5 (thin skew quadrupole), appendix (tilt, 1/S).
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = [
    "ADONE_LIKE",
    "EXAMPLE_SKEW",
    "adone_like_cell",
    "example_ring",
    "uncoupled_optics",
    "section5_report",
    "section5_at_skew",
    "section5_moments",
    "mode_emittances",
    "projected_emittances",
    "run_demo",
]

#: Parameters of the built-in ADONE-like ring (see the module docstring for
#: which are ADONE's and which are chosen). Lengths in m, k1 in 1/m².
ADONE_LIKE = {
    "energy_GeV": 1.5,
    "cells": 12,
    "circumference_m": 105.0,
    "rho_m": 5.0,
    "bend_angle_deg": 30.0,
    "half_straight_m": 1.5,
    "quad_length_m": 0.5,
    "qd_qf_gap_m": 0.3,
    "k1_qf": 0.883454593287,   # fitted: nu_x = 3.62
    "k1_qd": -0.953932419374,  # fitted: nu_z = 3.58
    "nu_x": 3.62,
    "nu_z": 3.58,
    "m_skew": 0.02,          # thin skew quadrupole at s = 0 (1/m)
}

#: The §5 working point used before the ring engine existed (kept for
#: ``section5_report``); the demo now takes β, μ and damping from the ring.
EXAMPLE_SKEW = {
    "nu_x": 3.62,
    "nu_z": 3.58,
    "beta_x": 5.0,
    "beta_z": 5.0,
    "m": 0.005,
    "d11_s0": 7.0e-5,
    "d22_s0": 3.5e-5,
}


def adone_like_cell(params: dict | None = None, max_slice: float | None = None) -> list:
    """One of the 12 cells: half straight, QD, QF, 30° bend, QF, QD, half straight.

    Parameters
    ----------
    params : dict, optional
        Replaces :data:`ADONE_LIKE`.
    max_slice : float, optional
        Split every element into equal pieces no longer than this (m): the
        same machine (coefficients are piecewise constant), sampled at more
        boundaries, e.g. for smooth curves along s.

    Returns
    -------
    list of coupled_beam.lattice.Element
        11 elements (more when sliced), 8.75 m in total.

    Examples
    --------
    >>> cell = adone_like_cell()
    >>> len(cell), round(sum(el.length for el in cell), 9)
    (11, 8.75)
    >>> len(adone_like_cell(max_slice=0.5))
    20
    """
    from coupled_beam.lattice import Bend, Drift, Quadrupole

    p = dict(ADONE_LIKE if params is None else params)
    rho = p["rho_m"]
    bend_len = rho * math.radians(p["bend_angle_deg"])
    cell_len = p["circumference_m"] / p["cells"]
    lq, gap, half = p["quad_length_m"], p["qd_qf_gap_m"], p["half_straight_m"]
    last = 0.5 * (cell_len - bend_len) - half - 2 * lq - gap

    def pieces(length: float) -> tuple[int, float]:
        k = 1 if max_slice is None else max(1, math.ceil(length / max_slice - 1e-9))
        return k, length / k

    def drift(length, name):
        k, ln = pieces(length)
        return [Drift(ln, name=name) for _ in range(k)]

    def quad(k1, name):
        k, ln = pieces(lq)
        return [Quadrupole(ln, k1, name=name) for _ in range(k)]

    side = (drift(half, "straight") + quad(p["k1_qd"], "QD") + drift(gap, "d")
            + quad(p["k1_qf"], "QF") + drift(last, "d"))
    k, lb = pieces(bend_len)
    return side + [Bend(lb, 1.0 / rho, 0.0, name="B") for _ in range(k)] + side[::-1]


def example_ring(m: float | None = None, energy: float | None = 1.5, params: dict | None = None,
                 max_slice: float | None = None):
    """The built-in ADONE-like ring with one thin skew quadrupole at s = 0.

    Parameters
    ----------
    m : float, optional
        Integrated skew strength (1/m); default ``ADONE_LIKE["m_skew"]``.
    energy : float or None
        Beam energy in GeV (radiation model on); None: no radiation.
    params : dict, optional
        Replaces :data:`ADONE_LIKE`.
    max_slice : float, optional
        Slice elements to at most this length (m), see :func:`adone_like_cell`.

    Returns
    -------
    coupled_beam.Ring
        12 cells then the thin skew quadrupole (the last element, so the
        one-turn map at boundary 0 is N = L F of §5).

    Examples
    --------
    >>> ring = example_ring(0.0, energy=None)
    >>> len(ring), round(ring.circumference, 9)
    (133, 105.0)
    """
    from coupled_beam.lattice import Ring, ThinSkewQuadrupole

    p = dict(ADONE_LIKE if params is None else params)
    m = p["m_skew"] if m is None else m
    elements = adone_like_cell(p, max_slice) * p["cells"] + [ThinSkewQuadrupole(m, name="skew")]
    return Ring(elements, energy=energy)


def uncoupled_optics(N: np.ndarray) -> dict:
    """μ, β, α and damping per turn of each plane from an uncoupled one-turn map.

    Each 2×2 block B = e^{-D s0/2} [[cos μ + α sin μ, β sin μ], [-γ sin μ,
    cos μ - α sin μ]]; det B = exp(-D s0).

    Parameters
    ----------
    N : (4, 4) array
        One-turn map with zero coupling blocks.

    Returns
    -------
    dict
        ``mu_x, mu_z`` (rad, in (0, 2π)), ``beta_x, beta_z`` (m), ``alpha_x,
        alpha_z``, ``d11_s0, d22_s0`` (per turn).

    Examples
    --------
    >>> c, s = math.cos(1.0), math.sin(1.0)
    >>> N = np.zeros((4, 4)); N[:2, :2] = [[c, 3 * s], [-s / 3, c]]; N[2:, 2:] = N[:2, :2]
    >>> o = uncoupled_optics(N)
    >>> round(o["mu_x"], 12), round(o["beta_x"], 12), round(o["d11_s0"], 12)
    (1.0, 3.0, 0.0)
    """
    out = {}
    for plane, (i, d) in {"x": (0, "d11_s0"), "z": (2, "d22_s0")}.items():
        B = np.asarray(N, float)[i:i + 2, i:i + 2]
        det = float(np.linalg.det(B))
        Bn = B / math.sqrt(det)
        c = 0.5 * float(np.trace(Bn))
        s = math.copysign(math.sqrt(max(0.0, 1.0 - c * c)), Bn[0, 1])
        mu = math.atan2(s, c) % (2 * math.pi)
        out[f"mu_{plane}"] = mu
        out[f"beta_{plane}"] = float(Bn[0, 1]) / s
        out[f"alpha_{plane}"] = float(Bn[0, 0] - Bn[1, 1]) / (2 * s)
        out[d] = -math.log(det)
    return out


def section5_report(params: dict | None = None) -> dict:
    """§5 results (g±, stability, ω±) for a working point given by tunes and β.

    Examples
    --------
    >>> r = section5_report()
    >>> r["stable"], round(r["omega_plus"] + r["omega_minus"], 12)
    (True, 5.25e-05)
    """
    from coupled_beam.skew_quadrupole import eigentune_report

    p = dict(EXAMPLE_SKEW if params is None else params)
    mu_x, mu_z = 2 * math.pi * p["nu_x"], 2 * math.pi * p["nu_z"]
    report = eigentune_report(mu_x, mu_z, p["beta_x"], p["beta_z"], p["m"], p["d11_s0"], p["d22_s0"])
    report["parameters"] = p
    return report


def section5_at_skew(ring_uncoupled, ring_coupled, m: float) -> dict:
    """The §5 closed forms at the skew quadrupole, beside the ring's exact eigenvalues.

    The uncoupled ring gives μ, β, α and D s0 at s = 0; §5 then predicts g±
    and ω±. The coupled ring's one-turn map N(0) = L F, eigen-solved, gives
    the exact phases abs(arg Δ) and decrements -ln abs(Δ) (an independent
    route: no §5 formula is used).

    Parameters
    ----------
    ring_uncoupled, ring_coupled : coupled_beam.Ring
        The same ring with m = 0 and with the skew strength m.
    m : float
        Skew strength of ``ring_coupled`` (1/m).

    Returns
    -------
    dict
        ``optics`` (uncoupled μ, β, α, D s0 at s = 0), ``section5``
        (:func:`~coupled_beam.skew_quadrupole.eigentune_report`), ``ring``
        (exact ``g_plus, g_minus, omega_plus, omega_minus``), ``b`` (§5's
        b = √b² at this point), ``kappa`` = m √(β_x β_z).
    """
    from coupled_beam.equilibrium import mode_decomposition
    from coupled_beam.skew_quadrupole import eigentune_report

    o = uncoupled_optics(ring_uncoupled.one_turn_map(0))
    rep = eigentune_report(o["mu_x"], o["mu_z"], o["beta_x"], o["beta_z"], m,
                           o["d11_s0"], o["d22_s0"])
    _, Delta = mode_decomposition(ring_coupled.one_turn_map(0))
    ring = {"g_plus": float(abs(np.angle(Delta[0]))), "g_minus": float(abs(np.angle(Delta[2]))),
            "omega_plus": float(-np.log(abs(Delta[0]))), "omega_minus": float(-np.log(abs(Delta[2])))}
    from coupled_beam import _kernels

    _, b2 = _kernels.skew_stability_terms(o["mu_x"], o["mu_z"], o["beta_x"], o["beta_z"], m)
    return {"optics": o, "section5": rep, "ring": ring, "b": math.sqrt(max(0.0, float(b2))),
            "kappa": float(m * math.sqrt(o["beta_x"] * o["beta_z"]))}


def section5_moments(ring_uncoupled, ring_coupled, m: float) -> dict:
    """§5's far-from-resonance moments at the skew quadrupole beside formula (10).

    The closed form (:func:`coupled_beam.skew_equilibrium.moments_far`) takes
    the uncoupled optics and the one-turn horizontal noise (r11, r12, r22) at
    the quadrupole entrance from the m = 0 ring. Formula (10) is solved on the
    coupled ring twice: with that same noise (the §5 model: only the
    horizontal random force, closed orbit unchanged) and with the ring's full
    noise (the skew quadrupole also creates vertical dispersion ζ, whose
    quantum excitation §5 leaves out).

    Returns
    -------
    dict
        ``closed_form``, ``same_noise``, ``full_noise``: each ``{"xx", "xz",
        "zz"}`` betatron moments at s = 0 (m²).
    """
    from coupled_beam.equilibrium import equilibrium_moments
    from coupled_beam.skew_equilibrium import moments_far

    o = uncoupled_optics(ring_uncoupled.one_turn_map(0))
    R_in = ring_uncoupled.one_turn_noise(len(ring_uncoupled) - 1)   # skew quad = last element
    far = moments_far(o["mu_x"], o["mu_z"], o["beta_x"], o["beta_z"], m, o["d11_s0"], o["d22_s0"],
                      r22=R_in[1, 1], r11=R_in[0, 0], r12=R_in[0, 1],
                      alpha_x=o["alpha_x"], alpha_z=o["alpha_z"])
    L = ring_coupled.element_maps()[-1]
    R_x = np.zeros((4, 4))
    R_x[:2, :2] = R_in[:2, :2]
    same = equilibrium_moments(ring_coupled.one_turn_map(0), L @ R_x @ L.T)
    full = equilibrium_moments(ring_coupled.one_turn_map(0), ring_coupled.one_turn_noise(0))

    def pick(S):
        return {"xx": float(S[0, 0]), "xz": float(S[0, 2]), "zz": float(S[2, 2])}

    return {"closed_form": {"xx": float(far.xx), "xz": float(far.xz), "zz": float(far.zz)},
            "same_noise": pick(same), "full_noise": pick(full)}


_J = np.array([[0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 1], [0, 0, -1, 0]], dtype=float)


def mode_emittances(moments: np.ndarray) -> np.ndarray:
    """Eigen-emittances (ε_1 ≥ ε_2) of a 4×4 betatron covariance: eig(Σ J) = ±i ε.

    They are invariant around the ring (Σ → N Σ Nᵀ with N symplectic) and
    reduce to the usual ε_x, ε_z without coupling.

    Examples
    --------
    >>> mode_emittances(np.diag([2.0, 0.5, 3.0, 3.0]))
    array([3., 1.])
    """
    ev = np.linalg.eigvals(np.asarray(moments, float) @ _J)
    return np.sort(np.abs(ev.imag))[::-2].copy()


def projected_emittances(moments: np.ndarray) -> np.ndarray:
    """Projected rms emittances (ε_x, ε_z) = √det of the (x, x') and (z, z') blocks.

    Examples
    --------
    >>> projected_emittances(np.diag([2.0, 0.5, 3.0, 3.0]))
    array([1., 3.])
    """
    S = np.asarray(moments, float)
    return np.sqrt(np.array([np.linalg.det(S[:2, :2]), np.linalg.det(S[2:, 2:])]))


# ---------------------------------------------------------------- the run
class _Progress:
    """Numbered step lines on stderr: ``[2/7] ring equilibrium ... 0.31 s``."""

    def __init__(self, total: int, stream=None, enabled: bool = True) -> None:
        self.total, self.k = total, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.times: dict[str, float] = {}

    def run(self, label: str, fn: Callable, *args, **kw):
        self.k += 1
        if self.enabled:
            print(f"[{self.k}/{self.total}] {label} ...", end="", file=self.stream, flush=True)
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            dt = time.perf_counter() - t0
            self.times[label] = dt
            if self.enabled:
                print(f" {dt:.2f} s", file=self.stream, flush=True)


def _blas_single_thread():
    """One BLAS thread: the demo multiplies 4x4-8x8 matrices, where threaded
    OpenBLAS only spins (measured here on a loaded 2-core machine: scipy's
    expm of an 8x8 matrix took 9 ms with 2 threads, 0.08 ms with 1)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional speed-up only
        return contextlib.nullcontext()
    import scipy.linalg  # noqa: F401  -- load scipy's own OpenBLAS first: only loaded libraries are limited

    return threadpool_limits(limits=1, user_api="blas")


def _missing(exc: ModuleNotFoundError) -> str:
    return f"module `{exc.name}` is not available yet ({exc})"


#: slice length for curves along s (m): 0.25 m gives ~470 boundaries
CURVE_SLICE = 0.25


def _ring_part(p: dict, m: float, energy: float) -> dict:
    """Build the rings, §5 view at the skew quad, equilibrium at m (sliced for smooth curves)."""
    from coupled_beam.radiation import radiation_parameters

    rad = radiation_parameters(example_ring(0.0, energy=None, params=p), energy)
    ring0 = example_ring(0.0, energy=energy, params=p)
    ring = example_ring(m, energy=energy, params=p, max_slice=CURVE_SLICE)
    sec5 = section5_at_skew(ring0, ring, m)
    try:
        sec5["moments"] = section5_moments(ring0, ring, m)
    except ModuleNotFoundError as exc:   # coupled_beam.skew_equilibrium is optional here
        sec5["moments"] = None
        sec5["moments_missing"] = _missing(exc)
    eq = ring.equilibrium()
    from coupled_beam.sixd import decorrelation_summary   # beyond the paper: its §2 b error

    # ADONE: h = 18; Q_s = 0.01 assumed (the paper gives no RF)
    decorrelation = decorrelation_summary(ring, 0.01, harmonic=18)
    return {"ring0": ring0, "ring": ring, "sec5": sec5, "eq": eq, "rad": rad,
            "decorrelation": decorrelation}


def _scan(p: dict, energy: float, m_values: np.ndarray) -> dict:
    """Equilibrium at s = 0 for each skew strength; unstable points are NaN."""
    from coupled_beam.errors import CoupledBeamError

    keys = ("tilt", "inv_area", "sigma_x", "sigma_z", "eps_mode_ratio", "eps_proj_ratio")
    out = {k: np.full(len(m_values), np.nan) for k in keys}
    for i, mv in enumerate(m_values):
        try:
            eq = example_ring(float(mv), energy=energy, params=p).equilibrium()
        except CoupledBeamError:
            continue
        e1, e2 = mode_emittances(eq.moments[0])
        ex, ez = projected_emittances(eq.moments[0])
        vals = (eq.tilt[0], eq.inv_area[0], eq.sigma_x[0], eq.sigma_z[0], e2 / e1, ez / ex)
        for k, v in zip(keys, vals):
            out[k][i] = float(v)
    out["m"] = np.asarray(m_values, float)
    return out


def _verify() -> list[dict]:
    """Every printed equation of the paper against its derivation, as plain dicts."""
    from derivations.errata import verify_paper

    return [{"equation": r.check.equation, "section": r.check.section, "status": r.status,
             "verdict": r.verdict_text, "note": r.check.note,
             "printed_in_paper": r.printed_in_paper} for r in verify_paper()]


class _Background:
    """:func:`_verify` in a child interpreter while the numerics and figures run.

    sympy's checks are CPU-bound (about 6 s alone); on two cores they overlap
    the rest of the demo. A plain subprocess (``python -c``, JSON on stdout)
    rather than multiprocessing: it never re-imports the caller's ``__main__``
    (a user script without a main guard would otherwise run the demo twice).
    Falls back to running inline when the child cannot start or fails.
    """

    CODE = ("import json, sys; from coupled_beam.demo import _verify; "
            "json.dump(_verify(), sys.stdout)")

    def __init__(self) -> None:
        import subprocess

        try:
            self.proc = subprocess.Popen([sys.executable, "-c", self.CODE], stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, encoding="utf-8")
        except (OSError, ValueError):
            self.proc = None

    def result(self) -> list[dict]:
        import json

        if self.proc is not None:
            out, _ = self.proc.communicate()
            if self.proc.returncode == 0:
                return json.loads(out)
        return _verify()   # inline: errors (e.g. a missing module) surface here


def _fmt(x, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    x = float(x)
    if not math.isfinite(x):
        return "nan"
    return f"{x:.{digits}g}"


def run_demo(out: str | Path = "coupled_beam_demo", echo: bool = True, *,
             m: float | None = None, scan_points: int = 24, progress: bool = True,
             check_paper: bool = True) -> dict:
    """Run the demo: the ADONE-like ring, §5 at its skew quad, equilibrium, figures, report.

    Parameters
    ----------
    out : str or Path
        Output folder (created): ``report.md`` and the PNG figures.
    echo : bool
        Print the report and where it was written (stdout).
    m : float, optional
        Skew strength (1/m); default ``ADONE_LIKE["m_skew"]``.
    scan_points : int
        Skew strengths in the tilt / emittance scan.
    progress : bool
        Step lines on stderr.
    check_paper : bool
        Run ``derivations.errata.verify_paper`` (about 6 s of sympy, in a
        background process while the rest runs).

    Returns
    -------
    dict
        JSON-ready summary: ``ring``, ``radiation``, ``section5``,
        ``equilibrium``, ``scan``, ``paper_checks``, ``figures``, ``missing``
        (modules not available, so not shown), ``timings``, ``report``.

    Raises
    ------
    InputError
        m ≤ 0 or not finite, or fewer than 4 scan points.

    Examples
    --------
    >>> run_demo("unused", m=-1.0)
    Traceback (most recent call last):
    ...
    coupled_beam.errors.InputError: m = -1.0: the demo scans m on a log axis around it; give m > 0 (1/m)
    """
    from coupled_beam.errors import InputError

    if m is not None and not (math.isfinite(float(m)) and float(m) > 0):
        raise InputError(f"m = {m!r}: the demo scans m on a log axis around it; give m > 0 (1/m)",
                         name="m", value=m)
    if int(scan_points) < 4:
        raise InputError(f"scan_points = {scan_points!r}: give at least 4", name="scan_points",
                         value=scan_points)
    with _blas_single_thread():
        return _run_demo(out, echo, m=m, scan_points=scan_points, progress=progress,
                         check_paper=check_paper)


def _run_demo(out, echo, *, m, scan_points, progress, check_paper) -> dict:
    from coupled_beam import plots

    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    p = dict(ADONE_LIKE)
    m = p["m_skew"] if m is None else float(m)
    energy = p["energy_GeV"]
    prog = _Progress(7, enabled=progress)
    missing: list[str] = []
    summary: dict = {"ring": {k: v for k, v in p.items()}, "missing": missing, "figures": {}}
    summary["ring"]["m_skew"] = m

    # 0. the paper's equations, in a background process
    background = None
    if check_paper:
        if progress:
            print("checking the paper's equations in a background process (derivations.errata)",
                  file=sys.stderr, flush=True)
        background = _Background()
    # 1. the rings and the §5 view at the skew quadrupole
    try:
        part = prog.run("ADONE-like ring: one-turn maps, §5 at the skew quad, equilibrium (10)",
                        _ring_part, p, m, energy)
    except ModuleNotFoundError as exc:
        part = None
        missing.append(_missing(exc))
    if part is not None and part["sec5"].get("moments_missing"):
        missing.append(part["sec5"]["moments_missing"] + ": §5 closed-form moments not shown")
    # 2. scan of the skew strength
    scan = None
    if part is not None:
        m_values = np.unique(np.append(np.geomspace(m / 100, min(10 * m, 0.5), scan_points), m))
        try:
            scan = prog.run(f"scan of m over {len(m_values)} strengths", _scan, p, energy, m_values)
        except ModuleNotFoundError as exc:
            missing.append(_missing(exc))
    else:
        prog.k += 1

    # 3-5. figures
    figs: dict[str, Path] = {}
    kappa = part["sec5"]["kappa"] if part else p["m_skew"] * 5.0
    tunes = (p["nu_x"], p["nu_z"])
    figs["stability"] = prog.run(
        "figure: stability diagram", lambda: plots.save(
            plots.stability_diagram((round(kappa, 3), 0.3, 0.6), working_point=tunes),
            out / "stability_diagram.png"))
    crossing = plots.eigentune_crossing(p["nu_z"], kappa)
    figs["crossing"] = prog.run("figure: eigentunes across the difference resonance",
                                plots.save, crossing, out / "eigentunes_crossing.png")
    if part is not None:
        eq, ring = part["eq"], part["ring"]

        def ring_figures():
            paths = {}
            paths["sizes"] = plots.save(plots.sizes_along_ring(
                eq.s, eq.sigma_x, eq.sigma_z, eq.tilt, eq.inv_area, ring.elements,
                title=f"ADONE-like ring, 1.5 GeV, thin skew quad m = {m:g} 1/m at s = 0"),
                out / "sizes_along_ring.png")
            eq_weak = example_ring(m / 10, energy=energy, params=p).equilibrium()
            eq_strong = example_ring(4 * m, energy=energy, params=p).equilibrium()
            paths["spot"] = plots.save(plots.beam_spot_ellipse(
                np.stack([eq_weak.mu[0], eq.mu[0], eq_strong.mu[0]]),
                labels=[f"m = {m / 10:g}", f"m = {m:g}", f"m = {4 * m:g}"],
                title="beam spot at the interaction point s = 0 (1σ contour, symmetry axes)"),
                out / "beam_spot.png")
            if scan is not None:
                paths["scan"] = plots.skew_scan(
                    scan["m"], scan["tilt"], {"eigen-emittances ε₂/ε₁": scan["eps_mode_ratio"],
                                               "projected ε_z/ε_x at s = 0": scan["eps_proj_ratio"]},
                    marker=m, where="s = 0", inv_area=scan["inv_area"])
                paths["scan"] = plots.save(paths["scan"], out / "skew_scan.png")
            return paths

        figs.update(prog.run("figures: sizes along the ring, beam spot, skew scan", ring_figures))
    else:
        prog.k += 1
    summary["figures"] = {k: str(v) for k, v in figs.items()}

    # 6. the paper's equations: collect the background result
    rows: list[dict] = []
    if background is not None:
        try:
            rows = prog.run("the paper's equations (waiting for the background check)",
                            background.result)
        except ModuleNotFoundError as exc:
            missing.append(_missing(exc))
    else:
        prog.k += 1

    # report
    text = _report_text(p, m, part, scan, rows, figs, missing, crossing.min_splitting)
    report_path = out / "report.md"
    report_path.write_text(text, encoding="utf-8")
    prog.run("report", lambda: None)
    summary.update(_summary_numbers(part, scan, rows))
    summary["timings"] = {k: round(v, 3) for k, v in prog.times.items()}
    summary["timings"]["total"] = round(time.perf_counter() - t_start, 3)
    summary["report"] = str(report_path)
    if progress:
        print(f"done in {time.perf_counter() - t_start:.1f} s", file=sys.stderr, flush=True)
    if echo:
        print(text)
        print(f"report written to {report_path}")
        print(f"figures written to {out}/: " + ", ".join(Path(v).name for v in figs.values()))
    return summary


def _summary_numbers(part, scan, rows) -> dict:
    res: dict = {}
    if part is not None:
        eq, sec5 = part["eq"], part["sec5"]
        rad = part["rad"]
        res["radiation"] = {k: float(getattr(rad, k)) for k in (
            "U0", "J_x", "J_z", "J_s", "tau_x", "tau_z", "tau_s", "eps_x", "p2", "sigma_delta")}
        res["section5"] = {"optics": sec5["optics"], "closed_form": sec5["section5"],
                           "moments": sec5.get("moments"),
                           "ring_exact": sec5["ring"], "kappa": sec5["kappa"]}
        e1, e2 = mode_emittances(eq.moments[0])
        res["equilibrium"] = {
            "p2": float(eq.p2), "sigma_x_ip": float(eq.sigma_x[0]), "sigma_z_ip": float(eq.sigma_z[0]),
            "tilt_ip": float(eq.tilt[0]), "inv_area_ip": float(eq.inv_area[0]),
            "moments_ip": eq.moments[0].tolist(), "eta_ip": eq.eta[0].tolist(),
            "mode_emittances": [float(e1), float(e2)],
            "sigma_x_range": [float(eq.sigma_x.min()), float(eq.sigma_x.max())],
            "sigma_z_range": [float(eq.sigma_z.min()), float(eq.sigma_z.max())],
            "tilt_range": [float(eq.tilt.min()), float(eq.tilt.max())],
            "inv_area_range": [float(eq.inv_area.min()), float(eq.inv_area.max())],
        }
    if scan is not None:
        res["scan"] = {k: v.tolist() for k, v in scan.items()}
    res["paper_checks"] = rows
    return res


def _report_text(p, m, part, scan, rows, figs, missing, min_split) -> str:
    L = ["# coupled_beam demo: LNF-64/55 on an ADONE-like ring", ""]
    L += ["C. Bernardini and C. Pellegrini, *Transverse beam size in electron storage rings*, "
          "LNF-64/55 (1964), applied to a 1.5 GeV, 105 m electron ring with one thin 45° skew "
          "quadrupole.", ""]
    L += ["## The ring", "",
          "| parameter | value | source |", "| --- | --- | --- |",
          f"| energy | {p['energy_GeV']} GeV | ADONE |",
          f"| circumference | {p['circumference_m']} m (12 cells) | ADONE |",
          f"| bends | 12 × {p['bend_angle_deg']:g}°, ρ = {p['rho_m']} m, n = 0 | chosen (1 T) |",
          f"| straights | {2 * p['half_straight_m']:g} m | chosen (ADONE: ~2.5 m free) |",
          f"| quadrupoles | doublets, L = {p['quad_length_m']} m, k1 = {p['k1_qf']:.5f} / "
          f"{p['k1_qd']:.5f} m⁻² | fitted to the tunes |",
          f"| tunes ν_x, ν_z (m = 0) | {p['nu_x']}, {p['nu_z']} | chosen (ADONE: ≈ 3.6) |",
          f"| thin skew quadrupole | m = {m:g} m⁻¹ at s = 0 (IP, centre of straight 1) | chosen |",
          ""]
    if part is not None:
        sec5, eq, rad = part["sec5"], part["eq"], part["rad"]
        o, r5, rx = sec5["optics"], sec5["section5"], sec5["ring"]
        L += ["Radiation of the uncoupled ring (`coupled_beam.radiation`, standard electron model): "
              f"U0 = {1e6 * rad.U0:.1f} keV/turn, J_x = {rad.J_x:.3f}, J_z = {rad.J_z:.3f}, "
              f"J_s = {rad.J_s:.3f}, damping times τ_x = {1e3 * rad.tau_x:.2f} ms, "
              f"τ_z = {1e3 * rad.tau_z:.2f} ms, τ_s = {1e3 * rad.tau_s:.2f} ms, natural "
              f"ε_x = {1e9 * rad.eps_x:.1f} nm rad, σ_p = {rad.sigma_delta:.3e}.", ""]
        L += ["## §5 at the skew quadrupole", "",
              f"Uncoupled optics at s = 0 (from the m = 0 ring): μ_x = {o['mu_x']:.5f}, "
              f"μ_z = {o['mu_z']:.5f} rad (fractional tunes {o['mu_x'] / (2 * math.pi):.4f}, "
              f"{o['mu_z'] / (2 * math.pi):.4f}), β_x = {o['beta_x']:.4f} m, "
              f"β_z = {o['beta_z']:.4f} m, D11 s0 = {o['d11_s0']:.4e}, D22 s0 = {o['d22_s0']:.4e} "
              f"per turn; κ = m √(β_x β_z) = {sec5['kappa']:.4f}.", "",
              "| quantity | §5 closed form | ring, exact eigenvalues of N(0) | difference |",
              "| --- | --- | --- | --- |"]
        for key, lab in (("g_plus", "g+ (rad)"), ("g_minus", "g− (rad)"),
                         ("omega_plus", "ω+ per turn"), ("omega_minus", "ω− per turn")):
            a, b = r5[key], rx[key]
            d = (float(a) - float(b)) if a is not None else float("nan")
            L.append(f"| {lab} | {_fmt(a, 8)} | {_fmt(b, 8)} | {_fmt(d, 2)} |")
        L += ["", f"Stable (§5 conditions b² ≥ 0, |a ± b| ≤ 2): **{r5['stable']}**. "
              f"Minimum eigentune splitting across the difference resonance at this κ: "
              f"{min_split:.4f} (κ/2π = {sec5['kappa'] / (2 * math.pi):.4f}).", "",
              "Any damped 2×2 block is exactly √det × a symplectic Twiss matrix, so §5's model "
              "F = (1 − ½ D s0) F0 holds for the ring and g± agree to rounding; ω± are first "
              "order in D s0, with a relative error of order D s0 / b (b = "
              f"{sec5['b']:.3g} "
              "here, small near the difference resonance).", ""]
        mom = sec5.get("moments")
        if mom is not None:
            cf, same, full = mom["closed_form"], mom["same_noise"], mom["full_noise"]
            L += ["§5 far-from-resonance betatron moments at s = 0 (the 1/(2ω±) terms of M_rtsv, "
                  "`coupled_beam.skew_equilibrium`) against formula (10) on the coupled ring, first "
                  "with the same horizontal noise, then with the ring's full noise (the skew "
                  "quadrupole also makes vertical dispersion ζ, whose quantum excitation §5 "
                  "leaves out):", "",
                  "| moment (m²) | §5 closed form | (10), same noise | rel. diff. | (10), full noise | rel. diff. |",
                  "| --- | --- | --- | --- | --- | --- |"]
            for k, lab in (("xx", "<x_b²>"), ("xz", "<x_b z_b>"), ("zz", "<z_b²>")):
                L.append(f"| {lab} | {cf[k]:.5e} | {same[k]:.5e} | {cf[k] / same[k] - 1:+.1e} | "
                         f"{full[k]:.5e} | {cf[k] / full[k] - 1:+.1e} |")
            L.append("")
        e1, e2 = mode_emittances(eq.moments[0])
        ex, ez = projected_emittances(eq.moments[0])
        S = eq.moments[0]
        L += ["## Equilibrium beam (formula (10), folding (8), appendix)", "",
              f"<p²> = {eq.p2:.4e} (σ_p = {math.sqrt(eq.p2):.3e}); closed-orbit functions at s = 0: "
              f"ξ = {eq.eta[0, 0]:.4f} m, ζ = {eq.eta[0, 1]:.4e} m.", "",
              "| at the IP (s = 0) | value |", "| --- | --- |",
              f"| <x_b²>, <x_b z_b>, <z_b²> | {S[0, 0]:.4e}, {S[0, 2]:.4e}, {S[2, 2]:.4e} m² |",
              f"| σ_x, σ_z (absolute, rms) | {1e3 * eq.sigma_x[0]:.4f} mm, {1e3 * eq.sigma_z[0]:.4f} mm |",
              f"| tilt θ (major axis from x towards z, in (−90°, 90°]) | {math.degrees(eq.tilt[0]):.3f}° |",
              f"| 1/S | {eq.inv_area[0]:.4e} m⁻² ({1e-6 * eq.inv_area[0]:.4f} mm⁻²) |",
              f"| eigen-emittances ε₁, ε₂ | {e1:.4e}, {e2:.4e} m (ratio {e2 / e1:.4f}) |",
              f"| projected ε_x, ε_z at s = 0 | {ex:.4e}, {ez:.4e} m (ratio {ez / ex:.4f}) |",
              "", "Around the ring:", "",
              f"- σ_x from {1e3 * eq.sigma_x.min():.4f} to {1e3 * eq.sigma_x.max():.4f} mm, "
              f"σ_z from {1e3 * eq.sigma_z.min():.4f} to {1e3 * eq.sigma_z.max():.4f} mm",
              f"- tilt from {math.degrees(eq.tilt.min()):.3f}° to {math.degrees(eq.tilt.max()):.3f}°",
              f"- 1/S from {1e-6 * eq.inv_area.min():.4f} to {1e-6 * eq.inv_area.max():.4f} mm⁻²", ""]
        if part.get("decorrelation"):
            L += ["Beyond the paper (exact 6-D equilibrium with an RF cavity, h = 18, Q_s = 0.01 "
                  "assumed): " + part["decorrelation"] + ".", ""]
    if scan is not None:
        ok = np.isfinite(scan["tilt"])
        ms, tilt_deg = scan["m"], np.degrees(scan["tilt"])
        good = np.flatnonzero(ok)
        slope = float(np.polyfit(np.log(ms[good[:4]]), np.log(scan["eps_mode_ratio"][good[:4]]), 1)[0])
        iw = int(np.argmin(np.abs(np.log(ms / m))))
        last = good[-1]
        L += ["## Skew-strength scan (at s = 0)", "",
              f"{ok.sum()} of {len(ok)} strengths from {ms[0]:.3g} to {ms[-1]:.3g} m⁻¹ have an "
              "equilibrium" + (f"; none for m ≥ {ms[~ok].min():.3g} m⁻¹ (a stop-band of the "
                               "stability diagram)" if (~ok).any() else "") + ".", "",
              f"- tilt θ: {tilt_deg[good[0]]:.3f}° at m = {ms[good[0]]:.3g}, {tilt_deg[iw]:.3f}° at "
              f"m = {ms[iw]:.3g}, {tilt_deg[last]:.2f}° at m = {ms[last]:.3g} (the convention of the "
              "figure's axis: major axis from x towards z, in (−90°, 90°]; an axis direction, so −90° and "
              "+90° are the same axis)",
              f"- eigen-emittance ratio ε₂/ε₁: {scan['eps_mode_ratio'][good[0]]:.3e} → "
              f"{scan['eps_mode_ratio'][last]:.3f}; it grows as m^{slope:.3f} at weak coupling "
              "(first-order mode mixing gives m²)",
              f"- 1/S: {scan['inv_area'][good[0]]:.4e} → {scan['inv_area'][last]:.4e} m⁻²; at the "
              f"working m the luminosity factor is {scan['inv_area'][iw] / scan['inv_area'][good[0]]:.4f} "
              f"of that at m = {ms[good[0]]:.3g}", ""]
    if rows:
        paper = [r for r in rows if r.get("printed_in_paper", True)]
        beyond = [r for r in rows if not r.get("printed_in_paper", True)]
        counts = {s: sum(r["status"] == s for r in paper)
                  for s in ("ok", "misprint", "convention", "erratum", "undecided", "error")}
        L += ["## The paper's equations checked (`coupled-beam verify`)", "",
              f"{len(paper)} printed equations compared with their sympy derivations: "
              + ", ".join(f"{counts[s]} {s}" for s in counts
                          if s in ("ok", "misprint", "convention", "erratum") or counts[s])
              + " (misprint: one glyph, in the paper or its transcription, read otherwise; "
              "convention: right in another named convention; erratum: mathematically wrong)"
              + (f"; {len(beyond)} results beyond the paper checked the same way" if beyond else "")
              + ".", "",
              "| equation | section | status | verdict | note |", "| --- | --- | --- | --- | --- |"]
        L += [f"| {r['equation']} | {r['section']} | {r['status']}"
              + ("" if r.get("printed_in_paper", True) else " (beyond the paper)")
              + f" | {r['verdict'].replace('|', '¦')} | {r['note'].replace('|', '¦')} |"
              for r in paper + beyond]
        L.append("")
    if figs:
        L += ["## Figures", ""]
        captions = {
            "stability": "Stop-bands of the thin skew quadrupole in the (ν_x, ν_z) plane (§5)",
            "crossing": "Eigentunes g±/2π across the difference resonance (§5)",
            "scan": "Tilt, emittance ratio and 1/S versus skew strength",
            "spot": "Beam spot at s = 0 (appendix)",
            "sizes": "Sizes, tilt and 1/S around the ring",
        }
        for key, path in figs.items():
            L += [f"![{captions.get(key, key)}]({Path(path).name})", f"*{captions.get(key, key)}*", ""]
    if missing:
        L += ["## Not shown", ""] + [f"- {x}" for x in missing] + [""]
    return "\n".join(L)
