"""§4: the one-turn map N, its eigen-decomposition Delta = U N U^-1, formula (10).

The equilibrium betatron covariance <y_hat y_hat^T> at a point s of a stable,
damped ring solves Sigma = N Sigma N^T + script-R, with N = N(s, s - s0) and
script-R = int N(s, s') phi_hat N^T(s, s') ds' over one turn. The paper solves
it in the eigenbasis of N (transposes, not conjugate transposes: Q_rs =
<q_r q_s>):

    R = U script-R U^T,   Q_rs = R_rs / (1 - Delta_r Delta_s),
    <y_r y_s> = sum U^-1_rr' U^-1_ss' R_r's' / (1 - Delta_r' Delta_s')      (10)

Mode order: Delta_1, Delta_2 is the conjugate pair with the smaller phase
abs(arg Delta) (the paper's "plus" mode, g+ < g-), Delta_1 with arg > 0;
Delta_3, Delta_4 the other pair (arg Delta_3 > 0). Delta_r is an array index
r - 1 here.

References
----------
LNF-64/55, eq. (9), (10), §4 (M_rtsv).

Examples
--------
>>> N = np.diag([0.9, 0.8, 0.7, 0.6])
>>> R = np.eye(4)
>>> float(equilibrium_moments(N, R)[0, 0])   # 1 / (1 - 0.81)
5.263157894736...
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from coupled_beam import _kernels
from coupled_beam._validate import psd_matrix, real_array, ring_maps_finite, unstable_mode_message
from coupled_beam.errors import (InputError, PhysicsWarning, ResonanceError, ResonanceWarning,
                                 UnstableError)

__all__ = [
    "mode_decomposition",
    "resonance_denominators",
    "m_rtsv",
    "Decomposition",
    "decompose",
    "equilibrium_moments",
    "RingEquilibrium",
    "moments_around",
    "ring_equilibrium",
]


def _check_matrix(name: str, value, symmetric: bool = False, n: int | None = None) -> np.ndarray:
    """A finite real square n x n array, n even (4: the paper's y_hat, 6: with (delta, l))."""
    arr = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if n is None:
        shape = getattr(arr, "shape", ())
        n = shape[0] if len(shape) == 2 and shape[0] == shape[1] and shape[0] in (2, 4, 6) else 4
    return real_array(name, value, shape=(n, n), symmetric=symmetric)


def mode_decomposition(N) -> tuple[np.ndarray, np.ndarray]:
    """U and Delta with Delta = U N U^-1 diagonal, modes in the paper's order.

    Parameters
    ----------
    N : (n, n) array_like
        One-turn map N(s); n = 4 (the paper's y_hat), 6 (with delta, l) or 2.

    Returns
    -------
    U : (n, n) complex array
        Rows are left eigenvectors of N.
    Delta : (n,) complex array
        Eigenvalues (Delta_1 ... Delta_n); pairs (1, 2), (3, 4), ... conjugate,
        ordered by increasing abs(arg) (in 4-D the paper's order: (1, 2) the
        "plus" mode; in 6-D with a small Q_s the synchrotron pair comes first),
        the first of each pair with arg > 0.

    References
    ----------
    LNF-64/55, §4 (Delta = U N U^-1), §5 (mode order).

    Examples
    --------
    >>> U, Delta = mode_decomposition(np.eye(4))
    >>> Delta.real
    array([1., 1., 1., 1.])
    """
    U, w, _ = _modes(_check_matrix("N", N))
    return U, w


def _modes(N: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """U, Delta and V = U^-1 (the right eigenvectors, columns) of a checked N: see mode_decomposition."""
    w, V = np.linalg.eig(N)
    ang = np.abs(np.angle(w))
    order = np.lexsort((-np.sign(w.imag), np.round(ang, 12)))   # same rule for every n
    w, V = w[order], V[:, order]
    cond = float(np.linalg.cond(V))
    if not cond < 1e13:  # also NaN/inf: a Jordan block, no eigenbasis
        raise ResonanceError(
            f"N is not diagonalizable (condition of its eigenvectors {cond:.3g}): two modes coincide "
            f"(Delta = {np.round(w, 8).tolist()}), so Delta = U N U^-1 of (10) does not exist; move the "
            "tunes off the coupling resonance edge", value=cond)
    return np.linalg.inv(V), w, V


def resonance_denominators(Delta) -> np.ndarray:
    """The n x n denominators 1 - Delta_r Delta_s of (10).

    Parameters
    ----------
    Delta : (n,) array_like
        Eigenvalues of N.

    Returns
    -------
    (n, n) complex array

    References
    ----------
    LNF-64/55, eq. (10), §4.

    Examples
    --------
    >>> resonance_denominators([0.5, 0.5, 0.5, 0.5])[0, 0]
    np.complex128(0.75+0j)
    """
    d = np.asarray(Delta, dtype=complex)
    (den,) = _kernels.resonance_denominator(d[:, None], d[None, :])
    return np.asarray(den, dtype=complex)


def m_rtsv(U, Delta) -> np.ndarray:
    """The paper's 4-index symbol M_rtsv (machine factor of (10)).

    M_rtsv = sum_{r's'} U^-1_rr' U_r't U^-1_ss' U_s'v / (1 - Delta_r' Delta_s'),
    so that <y_r y_s> = sum_tv M_rtsv script-R_tv.

    Parameters
    ----------
    U : (n, n) complex array
    Delta : (n,) complex array

    Returns
    -------
    (n, n, n, n) complex array, indices [r, t, s, v].

    References
    ----------
    LNF-64/55, §4 (M_rtsv).

    Examples
    --------
    >>> M = m_rtsv(np.eye(4), np.full(4, 0.5))
    >>> complex(M[0, 0, 0, 0])
    (1.333...+0j)
    """
    U = np.asarray(U, dtype=complex)
    W = np.linalg.inv(U)
    den = resonance_denominators(Delta)
    return np.einsum("ra,at,sb,bv,ab->rtsv", W, U, W, U, 1.0 / den)


@dataclass(frozen=True)
class Decomposition:
    """Every intermediate of formula (10) at one point, for inspection.

    Attributes
    ----------
    N : (n, n) array
        One-turn map.
    script_R : (n, n) array
        One-turn noise int N phi_hat N^T ds' (the paper's script-R).
    U : (n, n) complex array
        Delta = U N U^-1.
    Delta : (n,) complex array
        Eigenvalues, paper's order.
    R : (n, n) complex array
        U script-R U^T (transpose, as printed in (9)).
    denominators : (n, n) complex array
        1 - Delta_r Delta_s.
    Q : (n, n) complex array
        R_rs / (1 - Delta_r Delta_s), solution of (9).
    moments : (n, n) array
        <y_hat y_hat^T> by (10).
    """

    N: np.ndarray
    script_R: np.ndarray
    U: np.ndarray
    Delta: np.ndarray
    R: np.ndarray
    denominators: np.ndarray
    Q: np.ndarray
    moments: np.ndarray

    @property
    def M(self) -> np.ndarray:
        """M_rtsv (n, n, n, n) of §4."""
        return m_rtsv(self.U, self.Delta)

    @property
    def tunes(self) -> np.ndarray:
        """(g_plus, g_minus) / 2 pi: arg Delta_1 and arg Delta_3 in turns (arg Delta_5 too in 6-D)."""
        return np.angle(self.Delta[::2]) / (2 * np.pi)

    @property
    def decrements(self) -> np.ndarray:
        """(omega_plus, omega_minus) = -ln abs(Delta_1), -ln abs(Delta_3) per turn (and Delta_5 in 6-D)."""
        return -np.log(np.abs(self.Delta[::2]))


def decompose(N, R, *, warn_below: float = 1e-8) -> Decomposition:
    """Formula (10) with every intermediate kept.

    Parameters
    ----------
    N : (n, n) array_like
        One-turn map N(s).
    R : (n, n) array_like
        One-turn noise script-R(s), symmetric.
    warn_below : float
        Emit :class:`~coupled_beam.errors.ResonanceWarning` when the smallest
        abs(1 - Delta_r Delta_s) is below this (float64 then keeps fewer than
        about 16 + log10(that) digits; use :mod:`coupled_beam.precision`).

    Returns
    -------
    Decomposition

    Raises
    ------
    UnstableError
        Some abs(Delta_r) >= 1 (no equilibrium: add damping or move the tunes).
    ResonanceError
        A denominator is exactly zero, or N is not diagonalizable (two modes coincide).
    InputError
        Non-finite N or R, non-symmetric R, wrong shape.

    References
    ----------
    LNF-64/55, eq. (9), (10).

    Examples
    --------
    >>> dec = decompose(0.5 * np.eye(4), np.eye(4))
    >>> dec.denominators[0, 0].real
    np.float64(0.75)
    >>> decompose(0.5 * np.eye(6), np.eye(6)).moments[5, 5]   # the same code in 6-D
    np.float64(1.3333333333333333)
    """
    N = _check_matrix("N", N)
    sR = psd_matrix("R", _check_matrix("R", R, symmetric=True, n=len(N)))
    return _decompose(N, sR, warn_below, stacklevel=4)


def _decompose(N: np.ndarray, sR: np.ndarray, warn_below: float, stacklevel: int) -> Decomposition:
    """:func:`decompose` of an N and a symmetric sR already checked (the ring's own one-turn map and noise)."""
    try:
        U, Delta, W = _modes(N)          # W = U^-1: the eigenvectors themselves
    except ResonanceError:  # defective N: if it is also unstable, say that first (drifts only, ...)
        Delta = np.linalg.eigvals(N)
        if np.all(np.abs(Delta) < 1.0):
            raise
    mod = np.abs(Delta)
    for r in range(len(N)):
        if mod[r] >= 1.0:
            raise UnstableError(unstable_mode_message(r, Delta[r]), mode=r + 1, value=float(mod[r]))
    den = resonance_denominators(Delta)
    small = float(np.min(np.abs(den)))
    if small == 0.0:
        raise ResonanceError("a denominator 1 - Delta_r Delta_s is exactly 0", value=small)
    if small < warn_below:
        r, s = np.unravel_index(np.argmin(np.abs(den)), den.shape)
        warnings.warn(
            f"|1 - Delta_{r + 1} Delta_{s + 1}| = {small:.3g}: float64 keeps about "
            f"{max(0.0, 16 + np.log10(small)):.0f} digits of (10); use the high-precision "
            "path: equilibrium_moments(N, R, precision=50)", ResonanceWarning, stacklevel=stacklevel)
    Rq = U @ sR @ U.T
    (Q,) = _kernels.mode_covariance(Rq, Delta[:, None], Delta[None, :])
    S = W @ Q @ W.T
    S = 0.5 * (S + S.T).real
    S = _checked_moments(N, sR, S, small)
    return Decomposition(N=N, script_R=sR, U=U, Delta=Delta, R=Rq, denominators=den, Q=Q,
                         moments=S)


def _checked_moments(N: np.ndarray, sR: np.ndarray, S: np.ndarray, small: float) -> np.ndarray:
    """S if it solves S = N S N^T + R (10), else the direct solve of that linear system.

    Near a defective N (two eigenvalues almost equal, eigenvectors almost parallel) the
    eigenbasis route of (10) can lose every digit while its condition number still looks
    acceptable (hypothesis found N with eigenvalues +-2.8e-9 and an eigenvector condition
    of 2e8: S 5 % off). The residual tells: above 1e-9 of the scale, S is recomputed from
    (I - N (x) N) vec S = vec R (an n^2 x n^2 solve, exact for any N without a resonance
    1 - Delta_r Delta_s = 0); if that fails too, a ResonanceError names the residual.
    """
    scale = float(np.max(np.abs(S)) + np.max(np.abs(sR)))
    resid = float(np.max(np.abs(S - N @ S @ N.T - sR)))
    tol = 1e-9 * scale
    if resid <= tol:
        return S
    n = len(N)
    A = np.eye(n * n) - np.kron(N, N)
    try:
        S2 = np.linalg.solve(A, sR.reshape(-1)).reshape(n, n)
    except np.linalg.LinAlgError:
        S2 = np.full((n, n), np.nan)
    S2 = 0.5 * (S2 + S2.T)
    resid2 = float(np.max(np.abs(S2 - N @ S2 @ N.T - sR))) if np.all(np.isfinite(S2)) else np.inf
    if not resid2 <= max(tol, 1e-12 * (float(np.max(np.abs(S2))) + float(np.max(np.abs(sR)))) / max(small, 1e-300)):
        raise ResonanceError(
            f"formula (10) cannot be solved to float64 accuracy: the eigenbasis route leaves a residual "
            f"{resid:.3g} and the direct solve {resid2:.3g} (scale {scale:.3g}); N is (nearly) defective "
            "or on a resonance: move the tunes, or use equilibrium_moments(N, R, precision=50)",
            value=resid)
    return S2


def equilibrium_moments(N, R, *, warn_below: float = 1e-8, precision: int | None = None) -> np.ndarray:
    """Equilibrium <y_hat y_hat^T> by formula (10).

    Parameters
    ----------
    N : (n, n) array_like
        One-turn map N(s) = N(s, s - s0).
    R : (n, n) array_like
        One-turn noise int_{s-s0}^{s} N(s, s') phi_hat N^T(s, s') ds' (the
        paper's script-R; any symmetric n x n).
    warn_below : float
        Threshold of the resonance warning on abs(1 - Delta_r Delta_s).
    precision : int or None
        Significant digits of an mpmath evaluation (eig and (10) at that
        precision, :func:`coupled_beam.precision.equilibrium_moments_mp`),
        rounded to float64 at the end; None = float64 throughout (no warning then).

    Returns
    -------
    (n, n) array
        <y_hat_r y_hat_s>, y_hat = (x, x', z, z').

    Raises
    ------
    UnstableError, ResonanceError, InputError
        See :func:`decompose`.

    References
    ----------
    LNF-64/55, eq. (10).

    Examples
    --------
    >>> c, s = np.cos(1.0), np.sin(1.0)
    >>> rot = 0.99 * np.array([[c, s], [-s, c]])
    >>> N = np.block([[rot, np.zeros((2, 2))], [np.zeros((2, 2)), rot]])
    >>> S = equilibrium_moments(N, np.diag([0, 1.0, 0, 0]))
    >>> round(float(S[0, 0] + S[1, 1]), 6)   # 1 / (1 - 0.99^2)
    50.251256
    >>> S50 = equilibrium_moments(N, np.diag([0, 1.0, 0, 0]), precision=50)
    >>> bool(abs(S50[0, 0] - S[0, 0]) < 1e-12)
    True
    """
    if precision is not None:
        from coupled_beam.precision import equilibrium_moments_mp

        if np.shape(N) != (4, 4):
            raise InputError(f"precision= is implemented for the paper's 4x4 N only, got shape "
                             f"{np.shape(N)}; use precision=None (float64) in 6-D", field="precision",
                             value=precision)

        S = equilibrium_moments_mp(N, R, dps=precision)
        return np.array([[float(S[i, j]) for j in range(4)] for i in range(4)])
    return decompose(N, R, warn_below=warn_below).moments


@dataclass(frozen=True)
class RingEquilibrium:
    """Equilibrium beam around a ring, arrays over the n + 1 element boundaries.

    Attributes
    ----------
    s : (n+1,) array
        Arc length of the boundaries (m).
    moments : (n+1, 4, 4) array
        Betatron <y_hat y_hat^T>, y_hat = (x, x', z, z') (m^2, m, rad^2).
    eta : (n+1, 2) array
        Closed-orbit functions (xi, zeta) (m), eq. (2).
    p2 : float
        <p^2>.
    sigma_x, sigma_z : (n+1,) arrays
        rms absolute sizes sqrt(<x_b^2> + xi^2 p2), sqrt(<z_b^2> + zeta^2 p2) (m).
    tilt : (n+1,) array
        theta of the appendix (rad); NaN where the spot is degenerate.
    inv_area : (n+1,) array
        1/S = (1/2 pi) sqrt(mu_bar_xx mu_bar_zz) (1/m^2); NaN where the spot
        is degenerate (a zero size: no noise and no coupling in one plane,
        announced by a :class:`~coupled_beam.errors.PhysicsWarning`).
    mu : (n+1, 2, 2) array
        Folded mu_rs of (8) (1/m^2); NaN where the spot is degenerate.
    decomposition : Decomposition
        Formula (10) intermediates at s = 0 (U, Delta, denominators, M, ...).
    ring : coupled_beam.lattice.Ring or None
        The ring solved (for :meth:`table`); None when built by hand.
    """

    s: np.ndarray
    moments: np.ndarray
    eta: np.ndarray
    p2: float
    sigma_x: np.ndarray
    sigma_z: np.ndarray
    tilt: np.ndarray
    inv_area: np.ndarray
    mu: np.ndarray
    decomposition: Decomposition
    ring: object = field(default=None, repr=False, compare=False)

    @cached_property
    def model_error(self):
        """6-D minus 4-D (:class:`coupled_beam.sixd.ModelError`), computed on first access.

        The paper's model assumes betatron and synchrotron motion decorrelate
        (§2 b). Accessing this attribute solves the exact 6-D equilibrium of
        the same ring once (:func:`coupled_beam.sixd.ring_equilibrium6`, about
        the cost of this 4-D solve again plus the chromatic sawtooth's map
        rebuild; the 4-D route itself never pays it) and emits a
        :class:`~coupled_beam.errors.PhysicsWarning` naming §2 b when a size
        differs by more than 1e-3. Needs a radiating ring with an RF cavity
        (:class:`~coupled_beam.errors.RFError` otherwise, nothing silent).
        """
        if self.ring is None:
            raise InputError("model_error needs the ring: this RingEquilibrium was built by hand; "
                             "use Ring.equilibrium()", field="ring")
        from coupled_beam.sixd import model_error

        return model_error(self, self.ring, stacklevel=4)   # the user's line, past cached_property

    def table(self, *, backend: str = "auto"):
        """Optics table along the ring (:func:`coupled_beam.table.optics_table`)."""
        from coupled_beam.table import optics_table

        return optics_table(self, backend=backend)


def moments_around(ring, *, warn_below: float = 1e-8,
                   precision: int | None = None) -> tuple[np.ndarray, Decomposition]:
    """Betatron moments at every boundary of ``ring`` in O(n elements).

    Formula (10) is solved once, at s = 0; the other boundaries follow from
    Sigma(s_i) = P_i Sigma(0) P_i^T + G_i with P_i = N(s_i, 0) and G_i the noise
    accumulated from 0 to s_i (for a Ring: from its blocked scan,
    :class:`coupled_beam.lattice.maps.AffineScan`, Sigma at the block starts and
    one stacked sandwich, P_i and G_i never formed). This is the same equilibrium
    that (10) gives at s_i directly (both solve the stationarity condition at s_i).

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring
    warn_below : float
        See :func:`decompose`.
    precision : int or None
        Solve (10) at s = 0 with that many digits (:func:`equilibrium_moments`);
        the float64 decomposition is still returned, without its warning.

    Returns
    -------
    moments : (n+1, 4, 4) array
        <y_hat y_hat^T> at the boundaries.
    decomposition : Decomposition
        Formula (10) at s = 0.

    References
    ----------
    LNF-64/55, eq. (10).

    Examples
    --------
    >>> from coupled_beam.lattice import Ring, Bend
    >>> b = Bend(1.0, K=0.5, n=0.5, D=0.01 * np.eye(2), phi_hat=np.diag([0, 1e-10, 0, 0]))
    >>> S, dec = moments_around(Ring([b] * 4))
    >>> S.shape, bool(np.all(np.abs(dec.Delta) < 1))
    ((5, 4, 4), True)
    """
    with np.errstate(over="ignore", invalid="ignore"):   # an overflow is named once, below
        scan = getattr(ring, "_scan", None)                # (computes the maps and the scan)
        if scan is not None:
            last = scan.total
        else:
            P, G = ring._cumulative
            last = (P[-1], G[-1])
    # a non-finite entry anywhere propagates to the last boundary (products and sums of IEEE
    # numbers): check the cell's map and noise, and search the culprit only then
    if not (np.isfinite(last[0]).all() and np.isfinite(last[1]).all()):
        with np.errstate(over="ignore", invalid="ignore"):
            P, G = ring._cumulative
        ring_maps_finite(ring, P, G)
    # one-turn map and noise at s = 0: the cell's to the power P (periodic rings), else P[-1], G[-1]
    N, R = getattr(ring, "_turn4", last)
    if scan is not None and np.isfinite(N).all() and np.isfinite(R).all():
        # the ring's own one-turn map and noise: finite, exactly symmetric, noise >= 0 by construction
        dec = _decompose(N, R, warn_below if precision is None else 0.0, stacklevel=3)
    else:
        dec = decompose(N, R, warn_below=warn_below if precision is None else 0.0)
    S0 = dec.moments if precision is None else equilibrium_moments(N, R, precision=precision)
    if scan is not None:      # S_i = P_i S0 P_i^T + G_i from the scan's blocks (P_i, G_i not formed)
        return scan.apply(S0), dec
    S = P @ S0 @ np.swapaxes(P, -1, -2) + G
    return 0.5 * (S + np.swapaxes(S, -1, -2)), dec


def beam_spots(xz: np.ndarray, eta: np.ndarray, p2: float):
    """Folding (8) and the appendix's spot at every boundary, NaN where the spot is degenerate.

    Parameters
    ----------
    xz : (n, 2, 2) array
        Betatron moments <x_b^2, x_b z_b, z_b^2> (or absolute moments with eta = 0, p2 = 0).
    eta : (n, 2) array
        (xi, zeta) at each boundary.
    p2 : float
        <p^2>.

    Returns
    -------
    absolute : (n, 2, 2) array
        <x^2, xz, z^2> with the energy spread folded in.
    mu, theta, inv_area : arrays
        mu_rs of (8), tilt and 1/S of the appendix; NaN where ``spot`` is False.
    spot : (n,) bool array
        Both sizes positive and det > 1e-12 of the product of the diagonal.

    References
    ----------
    LNF-64/55, eq. (8), appendix.
    """
    from coupled_beam import distribution

    xz, eta = np.asarray(xz, dtype=float), np.asarray(eta, dtype=float)
    args = (xz[:, 0, 0], xz[:, 0, 1], xz[:, 1, 1], eta[:, 0], eta[:, 1], float(p2))
    if np.isfinite(xz).all() and np.isfinite(eta).all() and np.isfinite(p2) and p2 >= 0:
        # the ring's own moments (finite, symmetric): (6) and (8) by their kernels directly;
        # anything else goes through the checked public functions below (their errors)
        absolute = distribution._pack(*_kernels.absolute_moments(*args))
    else:
        absolute = np.asarray(distribution.absolute_moments(xz, eta, p2))
    diag = absolute[:, 0, 0] * absolute[:, 1, 1]
    det = diag - absolute[:, 0, 1] ** 2
    spot = (absolute[:, 0, 0] > 0) & (absolute[:, 1, 1] > 0) & (det > 1e-12 * diag)
    if spot.all():      # the usual case: every spot regular (positive-definite), nothing masked
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = distribution._pack(*_kernels.folded_mu_rs(*args))
        theta, _, _, inv_area = distribution.beam_spot(mu)
        return absolute, mu, theta, inv_area, spot
    mu = np.full(xz.shape, np.nan)
    theta = np.full(len(xz), np.nan)
    inv_area = np.full(len(xz), np.nan)
    if np.any(spot):
        mu[spot] = distribution.folded_mu(xz[spot], eta[spot], p2)
        theta[spot], _, _, inv_area[spot] = distribution.beam_spot(mu[spot])
    return absolute, mu, theta, inv_area, spot


def ring_equilibrium(ring, *, warn_below: float = 1e-8, precision: int | None = None,
                     model: str = "4d", sawtooth: bool = True, tapered: bool = False, orbit=None):
    """Moments at every boundary of ``ring`` in O(n elements).

    Moments by :func:`moments_around`; closed-orbit functions, folding (8)
    and the beam spot by :mod:`coupled_beam.distribution`.

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring
    warn_below : float
        See :func:`decompose`.
    precision : int or None
        Digits of formula (10) at s = 0 (see :func:`moments_around`).
    model : {"4d", "6d"}
        "4d" (default): the paper's betatron equilibrium (10) with the energy
        spread folded in by (8) (assumption (b) of §2); its ``model_error``
        attribute gives the 6-D minus 4-D differences on access. "6d": the
        exact 6-D equilibrium with the RF cavity
        (:func:`coupled_beam.sixd.ring_equilibrium6`).
    sawtooth, tapered : bool
        6-D only: the energy sawtooth's chromatic effect, and magnets tapered
        to the local energy (:mod:`coupled_beam.longitudinal`).
    orbit : (n + 1, 6) array, optional
        6-D only: a given 6-D closed orbit (canonical, e.g. pyAT's ``find_orbit`` at every
        refpt) instead of the package's own (:func:`coupled_beam.sixd.ring_equilibrium6`).

    Returns
    -------
    RingEquilibrium or coupled_beam.sixd.RingEquilibrium6

    References
    ----------
    LNF-64/55, eq. (10), (2), (8), appendix.

    Examples
    --------
    >>> from coupled_beam.lattice import Ring, Bend
    >>> b = Bend(1.0, K=0.5, n=0.5, D=0.01 * np.eye(2), phi_hat=np.diag([0, 1e-10, 0, 1e-10]))
    >>> eq = ring_equilibrium(Ring([b] * 4))
    >>> eq.sigma_x.shape
    (5,)
    """
    if model == "6d":
        if precision is not None:
            raise InputError(f"precision={precision} is for the 4-D route only; use precision=None "
                             "with model='6d'", field="precision", value=precision)
        from coupled_beam.sixd import ring_equilibrium6

        return ring_equilibrium6(ring, sawtooth=sawtooth, tapered=tapered, warn_below=warn_below,
                                 orbit=orbit)
    if model != "4d":
        raise InputError(f"model must be '4d' (the paper's) or '6d' (exact with the RF), got {model!r}",
                         field="model", value=repr(model))
    if orbit is not None:
        raise InputError("orbit= is the 6-D closed orbit of the energy sawtooth: use it with model='6d'",
                         field="orbit")
    from coupled_beam import distribution

    S, dec = moments_around(ring, warn_below=warn_below, precision=precision)
    orbit = np.asarray(distribution.closed_orbit_functions(ring))
    eta = orbit[:, [0, 2]]
    xz = S[:, [0, 2]][:, :, [0, 2]]
    p2 = ring.p2
    absolute, mu, theta, inv_area, spot = beam_spots(xz, eta, p2)
    if not np.all(spot):
        warnings.warn(
            f"the beam spot is degenerate (a zero size) at {int(np.sum(~spot))} of {len(S)} "
            "boundaries: mu, tilt and inv_area are NaN there; give noise or coupling in both "
            "planes", PhysicsWarning, stacklevel=3)
    return RingEquilibrium(
        s=ring.s.copy(), moments=S, eta=eta, p2=p2,
        sigma_x=np.sqrt(np.clip(absolute[:, 0, 0], 0.0, None)),
        sigma_z=np.sqrt(np.clip(absolute[:, 1, 1], 0.0, None)),
        tilt=theta, inv_area=inv_area, mu=mu, decomposition=dec, ring=ring)
