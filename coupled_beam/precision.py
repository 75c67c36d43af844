"""High precision: the §5 kernels, the eigen-decomposition and formula (10) in mpmath.

Every closed form here is the generated mpmath twin ``name_mp`` of a kernel in
:mod:`coupled_beam._kernels` (the same sympy expression printed by
``MpmathPrinter``), run under ``mpmath.workdps(dps)``; there is no second
hand-written copy. Float64 inputs are converted to mpmath exactly, so the
result is the value of the formula *at the given float64 inputs* to ``dps``
significant digits. Formula (10) uses ``mpmath.eig``.

The scalar APIs take ``precision=`` (digits; ``None`` = float64) and delegate
here: ``eigentune_report(..., precision=50)``, ``coupled-beam tunes --dps 50``.

Where float64 can be trusted (:func:`coupled_beam.accuracy.accuracy_report`, 10⁴ points, 50-digit
reference; table in the README, section "Errors"): the float64 eigentunes g± are
at least as accurate as ``numpy.linalg.eigvals`` everywhere, and within a few
ulp wherever the problem itself is well conditioned. Near the stability
boundary (2 ∓ (a ± b) = δ, or b² = δ) every float64 route loses digits because
the *input* is ill conditioned there: g± carry an absolute error of a few
1e-16/sqrt(δ) (measured 3e-10 at δ = 1e-12; eigvals 3e-9). The first-order
decrements ω± diverge like 1/b at b → 0 and lose relative digits like 1e-16/b²
(1e-3 at b² = 1e-12). :func:`float64_digits` estimates the digits left at a
point; ``eigentune_report`` warns below 10. Beyond that, use ``precision=``.
Regenerate the table with :mod:`coupled_beam.accuracy` (about 80 s).

References
----------
LNF-64/55 §4 (eq. (9), (10)), §5.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from coupled_beam import _kernels
from coupled_beam.errors import InputError, ResonanceError, UnstableError

__all__ = [
    "DEFAULT_DPS",
    "check_dps",
    "stable_modes_mp",
    "eigentunes_mp",
    "mode_damping_mp",
    "one_turn_map_mp",
    "mode_decomposition_mp",
    "equilibrium_moments_mp",
    "eigentune_report_mp",
    "float64_digits",
]

#: default working precision in significant decimal digits
DEFAULT_DPS = 50

_ARGS5 = ("mu_x", "mu_z", "beta_x", "beta_z", "m")


def check_dps(dps: Any) -> int:
    """The working precision as an int in [16, 10000], else :class:`InputError`.

    Examples
    --------
    >>> check_dps(50)
    50
    >>> check_dps(3)
    Traceback (most recent call last):
    ...
    coupled_beam.errors.InputError: precision must be an integer number of digits in [16, 10000], got 3: ...
    """
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or not 16 <= int(dps) <= 10000:
        raise InputError(f"precision must be an integer number of digits in [16, 10000], got {dps!r}: "
                         "use None for float64 or e.g. 50", name="precision", value=repr(dps))
    return int(dps)


def _scalar(name: str, value: Any, positive: bool = False):
    """An exact mpmath.mpf of a finite real scalar; InputError naming the value otherwise."""
    import mpmath

    if isinstance(value, mpmath.mpf):
        x = value
    else:
        arr = np.asarray(value)
        if arr.shape != ():
            raise InputError(f"{name} must be a scalar in the high-precision path, got shape {arr.shape}: "
                             "loop over the points or use the float64 kernels", name=name)
        if arr.dtype.kind not in "biuf":
            raise InputError(f"{name} must be a real number, got {value!r}", name=name)
        x = mpmath.mpf(float(arr)) if arr.dtype.kind == "f" else mpmath.mpf(int(arr))
    if not mpmath.isfinite(x):
        raise InputError(f"{name} must be finite, got {value!r}: replace NaN/inf before calling",
                         name=name, value=float(x))
    if positive and not x > 0:
        raise InputError(f"{name} must be > 0 (a beta function in metres), got {value!r}",
                         name=name, value=float(x))
    return x


def _args5(mu_x, mu_z, beta_x, beta_z, m) -> list:
    return [_scalar(n, v, positive=n.startswith("beta")) for n, v in zip(_ARGS5, (mu_x, mu_z, beta_x, beta_z, m))]


def stable_modes_mp(mu_x, mu_z, beta_x, beta_z, m, *, dps: int = DEFAULT_DPS) -> tuple[bool, bool]:
    """Which §5 modes are stable, decided at ``dps`` digits: (plus, minus).

    A mode is stable iff b² ≥ 0 and abs(a ± b) ≤ 2, evaluated as b² ≥ 0 and
    det(N ∓ 1) ≥ 0 (:func:`coupled_beam.stable` is the float64 ``plus and minus``).

    Examples
    --------
    >>> stable_modes_mp(3.0, 3.0, 10.0, 10.0, 0.5)
    (True, False)
    """
    import mpmath

    dps = check_dps(dps)
    with mpmath.workdps(dps):
        # b² >= 0 and det(N - 1) >= 0 (plus), det(N + 1) >= 0 (minus): 2 - a + b and 2 + a + b are
        # sums of squares, so these are abs(a ± b) <= 2, in the signs the g± kernel itself uses
        b2, p_plus, p_minus = _kernels.skew_stability_boundaries_mp(*_args5(mu_x, mu_z, beta_x, beta_z, m))
        return bool(b2 >= 0 and p_plus >= 0), bool(b2 >= 0 and p_minus >= 0)


def one_turn_map_mp(mu_x, mu_z, beta_x, beta_z, m, alpha_x=0.0, alpha_z=0.0, d11_s0=0.0, d22_s0=0.0,
                    *, dps: int = DEFAULT_DPS):
    """N = L F of the thin skew quadrupole as a 4×4 ``mpmath.matrix`` (§5).

    Examples
    --------
    >>> import mpmath
    >>> N = one_turn_map_mp(1.0, 1.3, 10.0, 8.0, 0.01)
    >>> with mpmath.workdps(50):
    ...     print(mpmath.nstr(mpmath.det(N), 30))
    1.0
    """
    import mpmath

    dps = check_dps(dps)
    with mpmath.workdps(dps):
        extra = [_scalar(n, v) for n, v in zip(("alpha_x", "alpha_z", "d11_s0", "d22_s0"),
                                                (alpha_x, alpha_z, d11_s0, d22_s0))]
        entries = _kernels.skew_one_turn_map_mp(*_args5(mu_x, mu_z, beta_x, beta_z, m), *extra)
        return mpmath.matrix([[mpmath.mpf(entries[4 * i + j]) for j in range(4)] for i in range(4)])


def eigentunes_mp(mu_x, mu_z, beta_x, beta_z, m, *, dps: int = DEFAULT_DPS) -> tuple:
    """Eigentunes (g+, g-) at ``dps`` digits; ``None`` for an unstable mode (§5).

    Evaluates the generated ``skew_eigentunes_mp``. Where one mode is unstable
    the generated expression has a negative radicand for it, so the stable
    mode's phase is taken from ``mpmath.eig`` of the ``dps``-digit one-turn map
    (the unit-modulus pair).

    Returns
    -------
    (g_plus, g_minus) : mpmath.mpf or None
        In [0, π], g+ ≤ g-.

    References
    ----------
    LNF-64/55 §5, cos g± = (a ± b)/2.

    Examples
    --------
    >>> g_p, g_m = eigentunes_mp(1e-9, 2.0, 1.0, 1.0, 0.0)
    >>> float(g_p), float(g_m)
    (1e-09, 2.0)
    >>> eigentunes_mp(3.0, 3.0, 10.0, 10.0, 0.5)[1] is None
    True
    """
    import mpmath

    dps = check_dps(dps)
    ok_p, ok_m = stable_modes_mp(mu_x, mu_z, beta_x, beta_z, m, dps=dps)
    if not (ok_p or ok_m):
        return None, None
    with mpmath.workdps(dps):
        args = _args5(mu_x, mu_z, beta_x, beta_z, m)
        if ok_p and ok_m:
            g_p, g_m = _kernels.skew_eigentunes_mp(*args)
            return +g_p, +g_m
        with mpmath.workdps(2 * dps):   # guard digits for eig (the map itself at most at the 10000 limit)
            lam = mpmath.eig(one_turn_map_mp(*args, dps=min(2 * dps, 10000)), left=False, right=False)
            unit = [abs(mpmath.arg(v)) for v in lam if abs(abs(v) - 1) < mpmath.mpf(10) ** (-dps)]
        g = +max(unit) if unit else None  # the stable pair (for a real pair at ±1 both give 0 or π)
        return (g, None) if ok_p else (None, g)


def mode_damping_mp(mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0, *, dps: int = DEFAULT_DPS) -> tuple:
    """First-order decrements (ω+, ω-) per turn at ``dps`` digits; ``None`` for an unstable mode or b² ≤ 0.

    Examples
    --------
    >>> op, om = mode_damping_mp(1.0, 1.3, 10.0, 8.0, 0.0, 2e-4, 1e-4)
    >>> float(op), float(om)
    (0.0001, 5e-05)
    """
    import mpmath

    dps = check_dps(dps)
    with mpmath.workdps(dps):
        args = _args5(mu_x, mu_z, beta_x, beta_z, m)
        d = [_scalar("d11_s0", d11_s0), _scalar("d22_s0", d22_s0)]
        b2, p_plus, p_minus = _kernels.skew_stability_boundaries_mp(*args)
        if not b2 > 0:
            return None, None
        op, om = _kernels.skew_mode_damping_mp(*args, *d)
        # as mode_damping: a mode with abs(a ± b) > 2 (det(N ∓ 1) < 0) is unstable, no decrement
        return (+op if p_plus >= 0 else None), (+om if p_minus >= 0 else None)


def float64_digits(mu_x, mu_z, beta_x, beta_z, m) -> float:
    """Estimated significant digits float64 keeps in g± and ω± at one parameter set.

    Each of b², det(N − 1), det(N + 1) (:func:`coupled_beam._kernels.skew_stability_boundaries`)
    is X0 + m² X1; where it is a small difference of large terms,
    r = abs(X)/(abs(X0) + abs(X − X0)) ≪ 1 and float64 keeps about
    −log10(2.2e-16/r) digits of X, and so of g± and ω±. This is the
    conditioning of the problem at the stability boundary, not of a formula:
    the eigen-solve of N loses the same digits (see :func:`coupled_beam.accuracy.accuracy_report`).

    Returns
    -------
    float
        Between 0 and 15.65 (= −log10 of the float64 epsilon).

    Examples
    --------
    >>> round(float64_digits(1.0, 1.3, 10.0, 8.0, 0.01), 2)
    15.65
    >>> float64_digits(1.0, 3.0, 10.0, 8.0, 0.0)   # uncoupled: nothing cancels
    15.653559774527022
    """
    args = [np.float64(v) for v in (mu_x, mu_z, beta_x, beta_z, m)]
    eps = float(np.finfo(np.float64).eps)
    with np.errstate(all="ignore"):
        full = np.array(_kernels.skew_stability_boundaries(*args), dtype=np.float64)
        zero = np.array(_kernels.skew_stability_boundaries(*args[:4], np.float64(0.0)), dtype=np.float64)
        terms = np.abs(zero) + np.abs(full - zero)
        r = np.where(terms > 0, np.abs(full) / np.where(terms > 0, terms, 1.0), 1.0)
    worst = float(np.min(np.where(np.isfinite(r), r, 1.0)))
    return float(min(-math.log10(eps), max(0.0, -math.log10(eps / max(worst, 1e-300)))))


def _round(v) -> float | None:
    return None if v is None else float(v)


def eigentune_report_mp(mu_x: float, mu_z: float, beta_x: float, beta_z: float, m: float,
                        d11_s0: float = 0.0, d22_s0: float = 0.0, *, dps: int = DEFAULT_DPS) -> dict:
    """The dict of :func:`coupled_beam.skew_quadrupole.eigentune_report`, computed at ``dps`` digits.

    Numbers are the ``dps``-digit values correctly rounded to float; ``digits``
    holds them as strings of ``dps`` significant digits and ``precision`` the
    digits used.

    Examples
    --------
    >>> r = eigentune_report_mp(1e-9, 2.0, 1.0, 1.0, 0.0, dps=30)
    >>> r["g_plus"], r["digits"]["g_plus"]
    (1e-09, '1.0e-9')
    """
    import mpmath

    dps = check_dps(dps)
    g_p, g_m = eigentunes_mp(mu_x, mu_z, beta_x, beta_z, m, dps=dps)
    ok_p, ok_m = stable_modes_mp(mu_x, mu_z, beta_x, beta_z, m, dps=dps)
    op, om = mode_damping_mp(mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0, dps=dps)
    with mpmath.workdps(dps):
        two_pi = 2 * mpmath.pi
        mx, mz = _scalar("mu_x", mu_x), _scalar("mu_z", mu_z)
        values = {"mu_x": mx, "mu_z": mz, "nu_x": mx / two_pi, "nu_z": mz / two_pi,
                  "g_plus": g_p, "g_minus": g_m,
                  "nu_plus": None if g_p is None else g_p / two_pi,
                  "nu_minus": None if g_m is None else g_m / two_pi}
        digits = {k: mpmath.nstr(v, dps) for k, v in {**values, "omega_plus": op, "omega_minus": om}.items()
                  if v is not None}
    report: dict = {k: _round(v) for k, v in values.items()}
    report["stable"] = ok_p and ok_m
    report["omega_plus"], report["omega_minus"] = _round(op), _round(om)
    report["precision"] = dps
    report["digits"] = digits
    return report


# ----------------------------------------------------------- formula (10)
def _matrix_mp(name: str, value, symmetric: bool = False):
    import mpmath

    if isinstance(value, mpmath.matrix):
        arr = None
    else:
        try:
            raw = np.asarray(value)
            if raw.dtype.kind not in "biuf":
                raise TypeError(raw.dtype)
            arr = raw.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a real 4x4 matrix, got {value!r}", field=name) from None
    if arr is None:
        M = value.copy()
        if (M.rows, M.cols) != (4, 4):
            raise InputError(f"{name} must be 4x4, got {M.rows}x{M.cols}", field=name)
    else:
        if arr.shape != (4, 4):
            raise InputError(f"{name} must be 4x4, got shape {arr.shape}", field=name)
        M = mpmath.matrix(arr.tolist())
    if not all(mpmath.isfinite(M[i, j]) for i in range(4) for j in range(4)):
        raise InputError(f"{name} has non-finite entries: replace NaN/inf", field=name)
    if symmetric:
        asym = max(abs(M[i, j] - M[j, i]) for i in range(4) for j in range(4))
        scale = max(abs(M[i, j]) for i in range(4) for j in range(4))
        if asym > 1e-12 * scale:
            raise InputError(f"{name} must be symmetric (eq. (5): phi = phi^T); max |{name} - {name}^T| = "
                             f"{float(asym):.3g}: symmetrize it, (R + R^T)/2", field=name, value=float(asym))
    return M


def mode_decomposition_mp(N, *, dps: int = DEFAULT_DPS) -> tuple:
    """U, Δ with Δ = U N U⁻¹ diagonal at ``dps`` digits (``mpmath.eig``), paper's mode order.

    Mode order as :func:`coupled_beam.equilibrium.mode_decomposition`: (1, 2)
    the conjugate pair of smaller abs(arg Δ), arg Δ_1 > 0, then (3, 4).

    Raises
    ------
    ResonanceError
        N is not diagonalizable at ``dps`` digits (two modes coincide).

    Returns
    -------
    U : mpmath.matrix (4×4)
        Rows are left eigenvectors.
    Delta : list of mpmath.mpc
        Eigenvalues Δ_1 … Δ_4.

    References
    ----------
    LNF-64/55 §4.

    Examples
    --------
    >>> import mpmath
    >>> U, Delta = mode_decomposition_mp(np.diag([0.5, 0.25, 0.5, 0.25]), dps=30)
    >>> [float(mpmath.re(d)) for d in Delta]
    [0.5, 0.25, 0.5, 0.25]
    """
    import mpmath

    dps = check_dps(dps)
    with mpmath.workdps(dps):
        A = _matrix_mp("N", N)
        E, ER = mpmath.eig(A)
        order = sorted(range(4), key=lambda i: (abs(mpmath.arg(E[i])), -mpmath.im(E[i])))
        for k in (0, 2):  # within a pair, the eigenvalue with arg > 0 first
            i, j = order[k], order[k + 1]
            if mpmath.im(E[i]) < mpmath.im(E[j]):
                order[k], order[k + 1] = j, i
        V = mpmath.matrix(4, 4)
        for col, i in enumerate(order):
            for r in range(4):
                V[r, col] = ER[r, i]
        try:
            U = mpmath.inverse(V)
            cond = mpmath.mnorm(V, 1) * mpmath.mnorm(U, 1)
        except ZeroDivisionError:
            U, cond = None, mpmath.inf
        if not cond < mpmath.mpf(10) ** (dps - 5):  # a Jordan block: no eigenbasis
            raise ResonanceError(
                f"N is not diagonalizable at {dps} digits (condition of its eigenvectors "
                f"{mpmath.nstr(cond, 3)}): two modes coincide, so Delta = U N U^-1 of (10) does not exist; "
                "move the tunes off the coupling resonance edge", value=float(cond))
        return U, [E[i] for i in order]


def equilibrium_moments_mp(N, R, *, dps: int = DEFAULT_DPS):
    """Formula (10), <ŷ ŷᵀ> = Σ U⁻¹ U⁻¹ R / (1 − Δ_r Δ_s), at ``dps`` digits.

    Parameters
    ----------
    N : (4, 4) array_like or mpmath.matrix
        One-turn map N(s).
    R : (4, 4) array_like or mpmath.matrix
        One-turn noise (the paper's script-R), symmetric.
    dps : int
        Significant digits.

    Returns
    -------
    mpmath.matrix
        4×4, symmetric, real.

    Raises
    ------
    InputError
        Wrong shape, non-finite or non-symmetric input, bad ``dps``.
    UnstableError
        Some abs(Δ_r) ≥ 1 (no equilibrium without damping in every mode).
    ResonanceError
        Some 1 − Δ_r Δ_s vanishes to ``dps`` digits.

    References
    ----------
    LNF-64/55, eq. (9), (10).

    Examples
    --------
    >>> S = equilibrium_moments_mp(np.diag([0.5, 0.25, 0.5, 0.25]), np.eye(4), dps=30)
    >>> float(S[0, 0])   # 1 / (1 - 0.5²)
    1.3333333333333333
    """
    import mpmath

    dps = check_dps(dps)
    with mpmath.workdps(dps):
        Rm = _matrix_mp("R", R, symmetric=True)
        from coupled_beam._validate import psd_matrix

        psd_matrix("R", np.array([[float(Rm[i, j]) for j in range(Rm.cols)] for i in range(Rm.rows)]))
        try:
            U, Delta = mode_decomposition_mp(N, dps=dps)
        except ResonanceError:  # defective N: if it is also unstable, say that first
            Delta = list(mpmath.eig(_matrix_mp("N", N), left=False, right=False))
            if all(abs(d) < 1 for d in Delta):
                raise
        for r, d in enumerate(Delta):
            if abs(d) >= 1:
                raise UnstableError(
                    f"mode {r + 1} unstable: |Delta_{r + 1}| = {mpmath.nstr(abs(d), 15)} >= 1 "
                    f"(arg = {mpmath.nstr(mpmath.arg(d), 8)} rad): the ring needs damping in every mode "
                    "and stable tunes", mode=r + 1, value=float(abs(d)))
        den = [[1 - Delta[r] * Delta[s] for s in range(4)] for r in range(4)]
        small = min(abs(den[r][s]) for r in range(4) for s in range(4))
        if small <= mpmath.mpf(10) ** (5 - dps):
            raise ResonanceError(
                f"min |1 - Delta_r Delta_s| = {mpmath.nstr(small, 5)} vanishes at {dps} digits "
                "(exact resonance): move the tunes or add damping", value=float(small))
        Rq = U * Rm * U.T
        Q = mpmath.matrix(4, 4)
        for r in range(4):
            for s in range(4):
                Q[r, s] = Rq[r, s] / den[r][s]
        W = mpmath.inverse(U)
        S = W * Q * W.T
        out = mpmath.matrix(4, 4)
        for r in range(4):
            for s in range(4):
                out[r, s] = mpmath.re(S[r, s] + S[s, r]) / 2
        return out
