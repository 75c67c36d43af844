"""Input checks shared by every public function: one mechanism, one wording.

Every check raises :class:`~coupled_beam.errors.InputError` (a ``ValueError``)
whose message names the argument, the offending value and what to change,
with ``field`` (the argument name) and, where there is one, ``value`` as
attributes.

Examples
--------
>>> real_array("beta_x", [1.0, 2.0], positive=True)
array([1., 2.])
>>> real_array("beta_x", [1.0, -2.0], positive=True)
Traceback (most recent call last):
...
coupled_beam.errors.InputError: beta_x must be > 0, got -2.0
"""

from __future__ import annotations

import math

import numpy as np

from coupled_beam.errors import InputError

__all__ = ["real_array", "real_scalar", "psd_matrix", "PSD_RTOL", "ring_maps_finite", "radiation_loss",
           "unstable_mode_message"]

#: relative asymmetry tolerated in a matrix that must be symmetric (round-off of a product)
SYMMETRY_RTOL = 1e-12

#: a noise covariance may have eigenvalues down to -PSD_RTOL * (its largest abs eigenvalue):
#: round-off of a propagated rank-deficient noise (measured below 1e-14 relative); anything
#: more negative is a sign error of the input, not round-off
PSD_RTOL = 1e-10


def real_array(name: str, value, *, shape: tuple[int, ...] | None = None, positive: bool = False,
               symmetric: bool = False, unit_hint: str = "") -> np.ndarray:
    """A finite float64 array (no copy when it already is one).

    Parameters
    ----------
    name : str
        Argument name, used in the message and as ``field``.
    value : array_like
        Real numbers (bool, int or float); text, None, objects and complex
        numbers are refused.
    shape : tuple of int, optional
        Exact shape required.
    positive : bool
        Every entry must be > 0.
    symmetric : bool
        The last two axes form symmetric matrices (to ``SYMMETRY_RTOL``); the
        result is symmetrized exactly.
    unit_hint : str
        Appended to the positivity message, e.g. ``" (a beta function in metres)"``.

    Returns
    -------
    numpy.ndarray
        float64.

    Raises
    ------
    InputError
        Not real numbers, wrong shape, NaN/inf, non-positive or asymmetric.
    """
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "biuf":
            raise TypeError(raw.dtype)
        arr = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        what = "a real " + "x".join(map(str, shape)) + " matrix" if shape else "real numbers"
        raise InputError(f"{name} must be {what}, got {value!r}", field=name) from None
    if shape is not None and arr.shape != tuple(shape):
        raise InputError(f"{name} must be {'x'.join(map(str, shape))} (shape {tuple(shape)}), "
                         f"got shape {arr.shape}", field=name, value=arr.shape)
    if arr.size:
        # min and max propagate NaN and expose inf: two reductions, no temporary arrays
        lo, hi = float(np.min(arr)), float(np.max(arr))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            bad = float(arr[~np.isfinite(arr)].flat[0])
            raise InputError(f"{name} must be finite, got {bad!r}: replace NaN/inf before calling",
                             field=name, value=bad)
        if positive and not lo > 0:
            raise InputError(f"{name} must be > 0{unit_hint}, got {lo!r}", field=name, value=lo)
    if symmetric:
        if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
            raise InputError(f"{name} must be square matrices, got shape {arr.shape}", field=name)
        swapped = np.swapaxes(arr, -1, -2)
        asym = float(np.max(np.abs(arr - swapped), initial=0.0))
        if asym > SYMMETRY_RTOL * float(np.max(np.abs(arr), initial=0.0)):
            raise InputError(f"{name} must be symmetric (a covariance, eq. (5)): "
                             f"max |{name} - {name}^T| = {asym:.3g}; symmetrize it",
                             field=name, value=asym)
        arr = 0.5 * (arr + swapped)
    return arr


def real_scalar(name: str, value, *, limit: float = 1e100) -> float:
    """A finite float with abs(value) <= limit (squares of larger values overflow).

    Examples
    --------
    >>> real_scalar("length", 2)
    2.0
    """
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}", field=name) from None
    if not math.isfinite(out):
        raise InputError(f"{name} must be finite, got {out}; give a finite value", field=name, value=out)
    if abs(out) > limit:
        raise InputError(f"{name} = {out:.3g} is out of range (|{name}| <= {limit:.0e}); check the units",
                         field=name, value=out)
    return out


def psd_matrix(name: str, value: np.ndarray, *, what: str = "a noise covariance, eq. (5)",
               hint: str = "noise cannot be negative: check the signs of the noise entries") -> np.ndarray:
    """``value`` unchanged if its symmetric matrices are positive semidefinite, else InputError.

    Parameters
    ----------
    name : str
        Argument name, used in the message and as ``field``.
    value : numpy.ndarray
        Finite, symmetric, shape ``(..., n, n)`` (as returned by
        :func:`real_array` with ``symmetric=True``).
    what, hint : str
        What the matrix is, and what to change, for the message.

    Returns
    -------
    numpy.ndarray
        ``value`` itself.

    Raises
    ------
    InputError
        The smallest eigenvalue is below ``-PSD_RTOL`` times the largest
        absolute one; ``value`` holds that eigenvalue (the message too).

    Examples
    --------
    >>> psd_matrix("R", np.diag([0.0, 1e-12, 0.0, 0.0])).shape
    (4, 4)
    >>> psd_matrix("R", np.diag([0.0, -1e-12, 0.0, 0.0]))
    Traceback (most recent call last):
    ...
    coupled_beam.errors.InputError: R must be positive semidefinite (a noise covariance, eq. (5)): \
its smallest eigenvalue is -1e-12 (largest abs 1e-12); noise cannot be negative: check the signs of the noise entries
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return value
    eig = np.linalg.eigvalsh(arr)
    lo = float(np.min(eig))
    top = float(np.max(np.abs(eig)))
    if lo < -PSD_RTOL * top:
        where = ""
        if arr.ndim > 2:
            idx = np.unravel_index(int(np.argmin(np.min(eig, axis=-1))), arr.shape[:-2])
            where = f" (at index {tuple(int(i) for i in idx)})"
        raise InputError(f"{name} must be positive semidefinite ({what}): its smallest eigenvalue is "
                         f"{lo:.6g}{where} (largest abs {top:.6g}); {hint}", field=name, value=lo)
    return value


#: float64 overflows past exp(709.78); a map growing by more than exp(700) across one element
#: (or the ring) cannot be represented
_EXP_LIMIT = 700.0


def ring_maps_finite(ring, maps: np.ndarray, noise: np.ndarray) -> None:
    """InputError naming what overflowed when a ring's cumulative maps or noise are not finite.

    Called by the equilibrium after computing the maps (under ``np.errstate``, so
    the user sees this one message instead of overflow warnings). The user never
    gave a non-finite matrix: a non-finite one-turn map means an element map
    overflowed float64 (e.g. a quadrupole with sqrt(abs(k1)) L > 700: k1 in 1/m²
    given a million times too large), radiation at an energy where the beam loses
    more than its energy per turn, or a ring so unstable that the product of
    finite maps overflows.

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring
    maps, noise : numpy.ndarray
        Cumulative maps and noise at the n + 1 boundaries, ``(n+1, k, k)``.

    Raises
    ------
    InputError
        With ``index`` (the element) and ``value`` (the growth exponent or the
        energy), and what to change.

    Examples
    --------
    >>> ring_maps_finite(None, np.ones((2, 4, 4)), np.zeros((2, 4, 4)))   # finite: nothing
    """
    maps, noise = np.asarray(maps), np.asarray(noise)
    ok = np.isfinite(maps).all(axis=(-1, -2)) & np.isfinite(noise).all(axis=(-1, -2))
    if ok.all():
        return
    i = int(np.argmin(ok))          # first boundary with a non-finite map or noise
    k = max(i - 1, 0)               # the element that ends there
    el = ring.elements[k]
    label = f"element {k} ({type(el).__name__}{' ' + repr(el.name) if getattr(el, 'name', None) else ''}, " \
            f"L = {getattr(el, 'length', float('nan')):.6g} m)"
    energy = getattr(ring, "energy", None)
    own = [np.asarray(getattr(el, attr, 0.0), dtype=np.float64) for attr in ("D", "phi_hat")]
    with np.errstate(all="ignore"):
        damping = float(np.sum(np.abs(np.diagonal(own[0])))) * float(getattr(el, "length", 0.0)) \
            if own[0].ndim == 2 else 0.0
    if energy is not None and (not all(np.isfinite(o).all() for o in own) or damping > _EXP_LIMIT):
        raise InputError(
            f"energy = {energy:.6g} GeV: the radiation of {label} is not representable (damping "
            f"D s = {damping:.3g} across it; the paper's model needs a small damping per turn, "
            "i.e. an energy loss per turn much below the energy); give the energy in GeV "
            "(e.g. energy=0.51)", field="energy", value=energy, index=k)
    A = getattr(el, "A", None)
    rate = float("nan")
    if A is not None:
        with np.errstate(all="ignore"):
            try:
                rate = float(np.max(np.linalg.eigvals(np.asarray(A, dtype=np.float64)).real)) \
                    * float(el.length)
            except (np.linalg.LinAlgError, ValueError):
                rate = float("nan")
    if not rate <= _EXP_LIMIT:   # also NaN: the element's own map cannot be formed
        detail = "" if not math.isfinite(rate) else \
            f" (it grows like exp({rate:.4g}) across the element; float64 ends at exp(709))"
        fields = ", ".join(f"{f} = {getattr(el, f):.6g}" for f in ("k1", "K", "n", "M", "H")
                           if isinstance(getattr(el, f, None), (int, float)) and getattr(el, f))
        raise InputError(
            f"the transfer map of {label}{', ' + fields if fields else ''} overflows float64{detail}: "
            "the lattice is unphysical with these numbers; check the units (k1, K^2 in 1/m^2, "
            "lengths in m)", field="elements", index=k, value=rate)
    raise InputError(
        f"the transfer maps overflow float64 at the exit of {label}: the product of the element maps "
        "grows beyond 1e308 around the ring (a violently unstable lattice); check the focusing "
        "strengths and their units", field="elements", index=k)


def radiation_loss(energy: float, loss_per_turn: float) -> None:
    """InputError when the energy lost per turn is not small against the energy (GeV both).

    The paper's radiation model is a small damping per turn; a beam that loses
    its energy (or more) in one turn has no equilibrium, and its element maps
    overflow. The usual cause is an energy given in MeV or eV instead of GeV.

    Examples
    --------
    >>> radiation_loss(0.51, 1e-5)
    >>> radiation_loss(1e6, 1e19)
    Traceback (most recent call last):
    ...
    coupled_beam.errors.InputError: energy = 1e+06 GeV: the energy lost per turn U0 = 1e+19 GeV is not \
small against the energy (U0/E = 1e+13; the radiation model needs U0/E << 1): give the energy in GeV (e.g. 0.51, not 510)
    """
    ratio = loss_per_turn / energy if energy else math.inf
    if not ratio < 0.5:   # also NaN/inf from an overflow
        raise InputError(f"energy = {energy:.6g} GeV: the energy lost per turn U0 = {loss_per_turn:.6g} GeV is "
                         f"not small against the energy (U0/E = {ratio:.3g}; the radiation model needs U0/E << 1): "
                         "give the energy in GeV (e.g. 0.51, not 510)", field="energy", value=energy)


def unstable_mode_message(r: int, delta: complex) -> str:
    """What an eigenvalue Delta_r of the one-turn map with abs >= 1 means, in words.

    A complex pair just outside the unit circle is an undamped (or anti-damped)
    oscillation: the ring needs damping. A real eigenvalue (arg 0 or π) far from
    the circle is no oscillation at all: the focusing is too strong or too weak
    for any betatron tune (over-focused, e.g. k1 given in the wrong units).

    Examples
    --------
    >>> unstable_mode_message(0, 1.0 + 0j)[:40]
    'mode 1 unstable: |Delta_1| = 1 >= 1 (arg'
    >>> "no betatron tune" in unstable_mode_message(0, 1.6e78)
    True
    """
    mod, arg = abs(delta), float(np.angle(delta))
    head = f"mode {r + 1} unstable: |Delta_{r + 1}| = {mod:.10g} >= 1 (arg = {arg:.6g} rad)"
    real = abs(complex(delta).imag) <= 1e-12 * mod
    if real and mod > 1.0 + 1e-6:
        return (f"{head}: a real eigenvalue, so this mode has no betatron tune (the motion grows by "
                f"{mod:.3g} per turn without oscillating): the lattice is over-focused or unfocused; "
                "check the focusing strengths and their units (k1 in 1/m^2, lengths in m)")
    return f"{head}; the ring needs damping in every mode and stable tunes"
