"""Vectorized §5 kernels: a thin 45° skew quadrupole in an uncoupled ring.

All formulas come from :mod:`derivations.skew_quadrupole` through the
generated :mod:`coupled_beam._kernels`; this module only validates input,
broadcasts, and applies the documented masks.

Conventions
-----------
- Phase advances μ_x, μ_z in radians per turn; β in metres; m (integrated skew
  gradient) in 1/m; decrements D11 s0, D22 s0 per turn.
- cos g± = (a ± b)/2 with a = cos μ_x + cos μ_z,
  b² = (cos μ_x - cos μ_z)² + m² β_x β_z sin μ_x sin μ_z; g± ∈ [0, π] and
  g+ ≤ g- ("plus" is the mode with the larger cos g). For m → 0:
  g+ = min(μ_x, μ_z), g- = max(μ_x, μ_z) when μ ∈ [0, π].
- Kernels return float64 arrays of the broadcast shape with NaN where a quantity
  does not exist: g± and ω± are NaN where that mode is unstable (b² < 0 or
  abs(a ± b) > 2); ω± also at the degenerate point b = 0. Non-finite input or β ≤ 0 raises
  :class:`~coupled_beam.errors.InputError` (a ``ValueError``).

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), §5.
"""

from __future__ import annotations

import math

import numpy as np

from coupled_beam import _kernels
from coupled_beam._validate import real_array
from coupled_beam.errors import InputError

__all__ = ["eigentunes", "stable", "mode_damping", "thin_skew_one_turn_map", "eigentune_report"]


def _as_arrays(names: tuple[str, ...], values: tuple, positive: tuple[str, ...] = ()) -> list[np.ndarray]:
    """float64 arrays that broadcast; InputError naming the first bad value."""
    arrays = [real_array(name, value, positive=name in positive,
                         unit_hint=" (a beta function in metres)" if name in positive else "")
              for name, value in zip(names, values)]
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays))
        raise InputError(f"shapes do not broadcast: {shapes}; give scalars or arrays of one shape",
                         shapes=shapes) from None
    return arrays


_ARGS = ("mu_x", "mu_z", "beta_x", "beta_z", "m")
_POSITIVE = ("beta_x", "beta_z")


def eigentunes(mu_x, mu_z, beta_x, beta_z, m, out=None) -> tuple[np.ndarray, np.ndarray]:
    """Eigentunes g± of the one-turn map with a thin skew quadrupole (§5).

    Parameters
    ----------
    mu_x, mu_z : array_like
        Uncoupled phase advances per turn (rad).
    beta_x, beta_z : array_like
        Beta functions at the skew quadrupole (m), > 0.
    m : array_like
        Integrated skew strength (1/m).
    out : tuple of two numpy.ndarray, optional
        Writeable float64 arrays of the broadcast shape that receive g+ and g-
        (and are returned): no allocation in loops over large batches.

    Returns
    -------
    g_plus, g_minus : numpy.ndarray
        Phases in [0, π] of the eigenvalues exp(±i g±), g+ ≤ g-; NaN where that
        mode is unstable.

    Raises
    ------
    InputError
        Non-finite input or β ≤ 0.

    References
    ----------
    LNF-64/55 §5: λ + 1/λ = a ± b, cos g± = (a ± b)/2.

    Examples
    --------
    >>> g_plus, g_minus = eigentunes(1.0, 1.3, 10.0, 8.0, 0.0)
    >>> float(g_plus), float(g_minus)
    (1.0, 1.3)
    >>> eigentunes(3.0, 3.0, 10.0, 10.0, 0.5)[1]   # the minus mode in a stop band
    array(nan)
    """
    args = _as_arrays(_ARGS, (mu_x, mu_z, beta_x, beta_z, m), _POSITIVE)
    if out is not None:
        _check_out(out, np.broadcast_shapes(*(a.shape for a in args)))
    # overflow of m² β_x β_z (|m| sqrt(β_x β_z) > 1e154) gives inf radicands: NaN, an unstable mode, as it is
    with np.errstate(invalid="ignore", over="ignore"):
        g_p, g_m = (np.asarray(v, dtype=np.float64) for v in _kernels.skew_eigentunes(*args, out=out))
    # g+ <= g- holds exactly (cos g+ >= cos g-); the two atan2 forms may invert it by an ulp at b = 0
    swap = g_p > g_m
    if np.any(swap):
        if out is None:
            g_p, g_m = np.where(swap, g_m, g_p), np.where(swap, g_p, g_m)
        else:
            g_p[swap], g_m[swap] = g_m[swap], g_p[swap]   # fancy indexing copies the right side first
    return g_p, g_m


def _check_out(out, shape: tuple) -> None:
    """InputError unless ``out`` is two writeable float64 arrays of ``shape``."""
    ok = (isinstance(out, (tuple, list)) and len(out) == 2
          and all(isinstance(o, np.ndarray) and o.dtype == np.float64 and o.shape == shape
                  and o.flags.writeable for o in out))
    if not ok:
        got = [(type(o).__name__, getattr(o, "dtype", None), getattr(o, "shape", None))
               for o in (out if isinstance(out, (tuple, list)) else [out])]
        raise InputError(f"out must be two writeable float64 arrays of shape {shape}, got {got}",
                         shape=shape)


def stable(mu_x, mu_z, beta_x, beta_z, m) -> np.ndarray:
    """Stability mask of the undamped one-turn map (§5).

    Stable iff b² ≥ 0 and |a ± b| ≤ 2 (all four |λ| = 1), evaluated as
    b² ≥ 0, det(N − 1) ≥ 0, det(N + 1) ≥ 0 in cancellation-free form. The paper prints
    b² > 0; b = 0 with m = 0 is the uncoupled machine on μ_x = μ_z, which is
    stable, so the boundary b² = 0 is counted stable.

    Parameters
    ----------
    mu_x, mu_z, beta_x, beta_z, m : array_like
        As in :func:`eigentunes`.

    Returns
    -------
    numpy.ndarray of bool
        Broadcast shape of the inputs.

    References
    ----------
    LNF-64/55 §5, stability conditions.

    Examples
    --------
    >>> stable([1.0, 3.0], [2.0, 3.0], 10.0, 10.0, 0.05)
    array([ True, False])
    """
    args = _as_arrays(_ARGS, (mu_x, mu_z, beta_x, beta_z, m), _POSITIVE)
    # b² >= 0, det(N - 1) >= 0, det(N + 1) >= 0 (half-angle forms): the same signs that make
    # eigentunes finite, exact near mu -> 0, pi where |a ± b| <= 2 in float64 misjudges
    with np.errstate(invalid="ignore", over="ignore"):   # inf/NaN of an overflow compare as unstable
        b2, p_plus, p_minus = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                                    for v in _kernels.skew_stability_boundaries(*args)))
    return np.asarray((b2 >= 0) & (p_plus >= 0) & (p_minus >= 0))


def mode_damping(mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0) -> tuple[np.ndarray, np.ndarray]:
    """First-order decrements ω± per turn, Δ = exp(±i g± − ω±) (§5).

    Derived in :func:`derivations.skew_quadrupole.mode_damping_first_order`:

        ω± = (D11 s0 + D22 s0)/4 ± (D11 s0 − D22 s0)(cos μ_x − cos μ_z)/(4 b).

    ω± is real wherever b² > 0 (no first-order frequency shift in this damping
    model) and obeys the sum rule ω+ + ω− = (D11 s0 + D22 s0)/2. Equal damping
    gives ω+ = ω− = D s0/2. The error of the first-order result is
    O((D s0)²).

    Parameters
    ----------
    mu_x, mu_z, beta_x, beta_z, m : array_like
        As in :func:`eigentunes`.
    d11_s0, d22_s0 : array_like
        Damping per turn, det F_x ≈ 1 − D11 s0 (dimensionless, ≥ 0 for damping).

    Returns
    -------
    omega_plus, omega_minus : numpy.ndarray
        NaN where that mode is unstable (b² < 0, or abs(a ± b) > 2: the same
        mask as the NaN of :func:`eigentunes`), and where b = 0 (the degenerate
        point where the first-order non-degenerate result does not apply).

    References
    ----------
    LNF-64/55 §5, "Δ1,2 = exp(±i g+ − ω+)"; closed form derived here.

    Examples
    --------
    >>> op, om = mode_damping(1.0, 1.3, 10.0, 8.0, 0.0, 2e-4, 1e-4)
    >>> float(op), float(om)      # uncoupled: omega = D s0 / 2 of each plane
    (0.0001, 5e-05)
    """
    args = _as_arrays(_ARGS + ("d11_s0", "d22_s0"), (mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0),
                      _POSITIVE)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        op, om = _kernels.skew_mode_damping(*args)
        op, om = (np.asarray(v, dtype=np.float64) for v in (op, om))
        # the signs stable() and the g± kernel use: b² > 0 (b = 0 excluded, see above),
        # det(N - 1) >= 0 for the plus mode (a + b <= 2), det(N + 1) >= 0 for the minus mode (a - b >= -2)
        b2, p_plus, p_minus = (np.broadcast_to(np.asarray(v, dtype=np.float64), op.shape)
                               for v in _kernels.skew_stability_boundaries(*args[:5]))
    bad_p = ~((b2 > 0) & (p_plus >= 0))
    bad_m = ~((b2 > 0) & (p_minus >= 0))
    if np.any(bad_p) or np.any(bad_m):
        op, om = np.where(bad_p, np.nan, op), np.where(bad_m, np.nan, om)
    return op, om


def thin_skew_one_turn_map(mu_x, mu_z, beta_x, beta_z, m, alpha_x=0.0, alpha_z=0.0,
                           d11_s0=0.0, d22_s0=0.0) -> np.ndarray:
    """One-turn map N = L F at the exit of the thin skew quadrupole (§5).

    Parameters
    ----------
    mu_x, mu_z, beta_x, beta_z, m : array_like
        As in :func:`eigentunes`.
    alpha_x, alpha_z : array_like, optional
        Twiss alpha at the quadrupole.
    d11_s0, d22_s0 : array_like, optional
        Damping per turn, F = (1 − ½ D s0) F0.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., 4, 4)`` acting on (x, x', z, z').

    References
    ----------
    LNF-64/55 §5, N(s) = L F(s).

    Examples
    --------
    >>> N = thin_skew_one_turn_map(1.0, 1.3, 10.0, 8.0, 0.01)
    >>> N.shape, round(float(np.linalg.det(N)), 12)
    ((4, 4), 1.0)
    """
    names = _ARGS + ("alpha_x", "alpha_z", "d11_s0", "d22_s0")
    args = _as_arrays(names, (mu_x, mu_z, beta_x, beta_z, m, alpha_x, alpha_z, d11_s0, d22_s0),
                      _POSITIVE)
    shape = np.broadcast_shapes(*(a.shape for a in args))
    entries = _kernels.skew_one_turn_map(*args)
    out = np.empty(shape + (16,), dtype=np.float64)
    for k, e in enumerate(entries):
        out[..., k] = e
    return out.reshape(shape + (4, 4))


def _warn_if_ill_conditioned(mu_x, mu_z, beta_x, beta_z, m, min_digits: float = 10.0) -> None:
    """ResonanceWarning when float64 keeps fewer than ``min_digits`` of g± (near a stability boundary)."""
    from coupled_beam.precision import float64_digits

    args = _as_arrays(_ARGS, (mu_x, mu_z, beta_x, beta_z, m), _POSITIVE)
    digits = float64_digits(*(float(a) for a in args)) if all(a.shape == () for a in args) else 16.0
    if digits < min_digits:
        import warnings

        from coupled_beam.errors import ResonanceWarning

        warnings.warn(f"near a stability boundary float64 keeps only about {digits:.0f} digits of g± and "
                      f"omega± (mu_x = {float(args[0])!r}, mu_z = {float(args[1])!r}, m = {float(args[4])!r}): "
                      "pass precision=50 (CLI: --dps 50)", ResonanceWarning, stacklevel=3)


def eigentune_report(mu_x: float, mu_z: float, beta_x: float, beta_z: float, m: float,
                     d11_s0: float = 0.0, d22_s0: float = 0.0, *, precision: int | None = None) -> dict:
    """Scalar summary of §5 for one parameter set (used by ``coupled-beam tunes``).

    Parameters
    ----------
    precision : int or None
        Significant digits of an mpmath evaluation of the same generated
        expressions (:func:`coupled_beam.precision.eigentune_report_mp`); None = float64.

    Returns
    -------
    dict
        ``mu_x, mu_z, nu_x, nu_z, g_plus, g_minus, nu_plus, nu_minus`` (fractional
        tunes g/2π), ``stable`` and, when any damping is given, ``omega_plus``,
        ``omega_minus`` (per turn); unstable modes are reported as ``None``.
        With ``precision``: the values correctly rounded to float, plus
        ``precision`` and ``digits`` (the values as strings of that many digits).

    Warns
    -----
    ResonanceWarning
        float64 (``precision=None``) keeps fewer than 10 digits of g± or ω±
        (:func:`coupled_beam.precision.float64_digits`, within about 1e-6 of a
        stability boundary).

    Examples
    --------
    >>> r = eigentune_report(1.0, 1.3, 10.0, 8.0, 0.0)
    >>> r["stable"], r["g_plus"]
    (True, 1.0)
    >>> eigentune_report(1.0, 1.3, 10.0, 8.0, 0.0, precision=20)["digits"]["g_plus"]
    '1.0'
    """
    if precision is not None:
        from coupled_beam.precision import eigentune_report_mp

        return eigentune_report_mp(mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0, dps=precision)
    for name, value in zip(_ARGS + ("d11_s0", "d22_s0"), (mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0)):
        if np.ndim(value) != 0:
            raise InputError(f"{name} must be a scalar in eigentune_report, got shape {np.shape(value)}: "
                             "use eigentunes/mode_damping for arrays", name=name)
    _warn_if_ill_conditioned(mu_x, mu_z, beta_x, beta_z, m)
    g_p, g_m = (float(v) for v in eigentunes(mu_x, mu_z, beta_x, beta_z, m))
    ok = bool(stable(mu_x, mu_z, beta_x, beta_z, m))
    report: dict = {
        "mu_x": float(mu_x), "mu_z": float(mu_z),
        "nu_x": float(mu_x) / (2 * math.pi), "nu_z": float(mu_z) / (2 * math.pi),
        "g_plus": g_p if math.isfinite(g_p) else None,
        "g_minus": g_m if math.isfinite(g_m) else None,
        "nu_plus": g_p / (2 * math.pi) if math.isfinite(g_p) else None,
        "nu_minus": g_m / (2 * math.pi) if math.isfinite(g_m) else None,
        "stable": ok,
    }
    op, om = (float(v) for v in mode_damping(mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0))
    report["omega_plus"] = op if math.isfinite(op) else None
    report["omega_minus"] = om if math.isfinite(om) else None
    return report
