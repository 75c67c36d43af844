"""Closed-form §5 equilibrium (beyond the paper): U, moments, eigen-emittances, tilt.

All formulas come from :mod:`derivations.skew_equilibrium` through the
generated :mod:`coupled_beam._kernels`; this module validates input,
broadcasts, assembles matrices and applies the documented masks.

Model
-----
Uncoupled arcs given by their one-turn Twiss blocks (phase advances μ_x, μ_z,
β and α at the quadrupole, damping F = (1 − ½ D s0) F0), a thin 45° skew
quadrupole of integrated strength m at the end of the turn, and horizontal
noise accumulated over one turn up to the quadrupole entrance,
𝓡_in = [[r11, r12], [r12, r22]] in (x, x') (zero in z). A lumped x' kick of
variance φ per turn at the quadrupole is ``r22=phi``; uniform φ11 along a
constant-β arc is :func:`smooth_arc_noise`.

Conventions
-----------
- Mode order as the paper: Δ1 = e^{+ig+}, Δ2 = e^{−ig+}, Δ3 = e^{+ig−},
  Δ4 = e^{−ig−}, g+ ≤ g− (cos g± = (a ± b)/2, as
  :func:`coupled_beam.skew_quadrupole.eigentunes`).
- q = U y, Δ = U N U⁻¹: the *columns* of U⁻¹ are the right eigenvectors,
  the *rows* of U the left ones; v^H J v = ±2i (Courant-Snyder
  normalisation, J = diag(J2, J2), J2 = [[0, 1], [−1, 0]]).
- "Far from resonance" = leading order in the damping, the 1/(2ω±) terms of
  M_rtsv: relative error ≈ D s0/4 plus O((ω/|g+ − g−|)², (ω/sin g±)²);
  within 1 % for |g+ − g−| ≥ 30 ω and sin g± ≥ 10 ω (see :func:`moments_far`).
- NaN where a quantity does not exist: a mode unstable, b² ≤ 0 (including
  the degenerate b = 0), sin g± = 0, or ω± ≤ 0 (no damping, no equilibrium).
  Non-finite input, β ≤ 0 or a noise matrix that is not positive
  semidefinite raises :class:`~coupled_beam.errors.InputError`.

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), §4 (eq. (10), M_rtsv),
§5, appendix.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from coupled_beam import _kernels
from coupled_beam.errors import InputError
from coupled_beam.skew_quadrupole import _as_arrays

__all__ = ["skew_eigenvectors", "moments_far", "FarMoments", "smooth_arc_noise"]

_ARGS = ("mu_x", "mu_z", "beta_x", "beta_z", "m")
_POSITIVE = ("beta_x", "beta_z")


def _valid(mu_x, mu_z, beta_x, beta_z, m) -> np.ndarray:
    """Both modes stable, b² > 0 and 0 < g± < π (eigenvectors exist and are distinct).

    Uses the cancellation-free signs of :func:`coupled_beam.stable` (b², det(N − 1),
    det(N + 1)), strictly: det(N ∓ 1) > 0 excludes g± = 0 and π.
    """
    b2, p_plus, p_minus = (np.asarray(v, dtype=np.float64) for v in
                           _kernels.skew_stability_boundaries(mu_x, mu_z, beta_x, beta_z, m))
    return (b2 > 0) & (p_plus > 0) & (p_minus > 0)


def skew_eigenvectors(mu_x, mu_z, beta_x, beta_z, m, alpha_x=0.0, alpha_z=0.0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """U and U⁻¹ of the undamped thin-skew one-turn map, Δ = U N U⁻¹ (§4, §5).

    Parameters
    ----------
    mu_x, mu_z : array_like
        Uncoupled phase advances per turn (rad).
    beta_x, beta_z : array_like
        Beta functions at the skew quadrupole (m), > 0.
    m : array_like
        Integrated skew strength (1/m).
    alpha_x, alpha_z : array_like, optional
        Twiss alpha at the quadrupole.

    Returns
    -------
    U, U_inv : numpy.ndarray
        Complex, shape ``(..., 4, 4)``. Columns of ``U_inv``: v+, conj(v+),
        v−, conj(v−) (eigenvalues e^{+ig+}, e^{−ig+}, e^{+ig−}, e^{−ig−});
        rows of ``U``: the matching left eigenvectors, ``U @ U_inv = 1``.
        NaN where a mode is unstable, b² ≤ 0 or sin g± = 0.

    Raises
    ------
    InputError
        Non-finite input or β ≤ 0.

    References
    ----------
    LNF-64/55 §4 (Δ = U N U⁻¹), §5 ("we shall not solve it": derived here).

    Examples
    --------
    >>> U, Ui = skew_eigenvectors(1.0, 1.6, 10.0, 7.0, 0.0)
    >>> np.round(Ui[:2, 0], 6)      # uncoupled: (sqrt(beta), (i - alpha)/sqrt(beta))
    array([3.162278+0.j      , 0.      +0.316228j])
    >>> bool(np.allclose(U @ Ui, np.eye(4), rtol=0, atol=1e-12))
    True
    """
    names = _ARGS + ("alpha_x", "alpha_z")
    args = _as_arrays(names, (mu_x, mu_z, beta_x, beta_z, m, alpha_x, alpha_z), _POSITIVE)
    shape = np.broadcast_shapes(*(a.shape for a in args))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = [np.broadcast_to(np.asarray(e, dtype=np.float64), shape)
               for e in _kernels.skew_eigenvectors(*args)]
        ok = _valid(*args[:5])
    z = np.array(out[0::2]) + 1j * np.array(out[1::2])      # 16 complex: v+, v-, u+, u-
    z = np.moveaxis(z, 0, -1).reshape(shape + (4, 4))       # rows: v+, v-, u+, u-
    vp, vm, up, um = (z[..., k, :] for k in range(4))
    U_inv = np.stack([vp, vp.conj(), vm, vm.conj()], axis=-1)
    U = np.stack([up, up.conj(), um, um.conj()], axis=-2)
    bad = ~np.broadcast_to(ok, shape)
    if np.any(bad):
        U = np.where(bad[..., None, None], np.nan, U)
        U_inv = np.where(bad[..., None, None], np.nan, U_inv)
    return U, U_inv


class FarMoments(NamedTuple):
    """Far-from-resonance equilibrium at the thin skew quadrupole.

    Attributes
    ----------
    xx, zz, xz : numpy.ndarray
        Betatron moments <x_b²>, <z_b²>, <x_b z_b> (m² per unit of the noise).
    eps_plus, eps_minus : numpy.ndarray
        Eigen-emittances of the plus/minus mode (m·rad): Σ J has eigenvalues ±i ε±.
    emittance_ratio : numpy.ndarray
        min(ε+, ε−)/max(ε+, ε−) in (0, 1]; for weak coupling and horizontal
        noise, the vertical-to-horizontal emittance ratio.
    tilt : numpy.ndarray
        θ of the appendix on betatron moments: tan 2θ = 2<xz>/(<x²> − <z²>),
        θ = ½ atan2(2<xz>, <x²> − <z²>) in (−π/2, π/2] (rad), the direction
        of the major axis.
    """

    xx: np.ndarray
    zz: np.ndarray
    xz: np.ndarray
    eps_plus: np.ndarray
    eps_minus: np.ndarray
    emittance_ratio: np.ndarray
    tilt: np.ndarray


def moments_far(mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0, r22=1.0, r11=0.0, r12=0.0,
                alpha_x=0.0, alpha_z=0.0) -> FarMoments:
    """Closed-form betatron moments far from resonance (leading 1/(2ω±) terms).

    <ŷ ŷ^T> = Σ± ε± Re(v± v±^H), ε± = u± 𝓡 u±^H / ω±, with the eigenvectors of
    :func:`skew_eigenvectors` and ω± of
    :func:`coupled_beam.skew_quadrupole.mode_damping`. For a lumped x' kick
    (``r22=phi`` only):

        <x²> = φ βx² sx²/(4b²) Σ± (cos g± − cos μz)²/(ω± sin² g±),
        <z²> = φ m² βx² βz² sx² sz²/(16 b²) Σ± 1/(ω± sin² g±),

    independent of α at the quadrupole.

    Accuracy (measured against the exact Lyapunov solution, see
    ``tests/test_skew_equilibrium.py``): relative error ≈ D s0/4 far from
    every resonance (first-order ω and 1/(1 − e^{−2ω}) ≈ 1/(2ω)); near a
    resonance the neglected terms grow like (ω/distance)². All of <x²>,
    <z²>, <xz> (the last relative to sqrt(<x²><z²>)) stay within 1 % when
    |g+ − g−| ≥ 30 max(ω±) (coupling or sum resonance; on the difference
    resonance |g+ − g−| ≈ |m| sqrt(βx βz)) and sin g± ≥ 10 max(ω±) (integer
    and half-integer), measured on 9000 random stable points.

    Parameters
    ----------
    mu_x, mu_z, beta_x, beta_z, m : array_like
        As in :func:`skew_eigenvectors`.
    d11_s0, d22_s0 : array_like
        Damping per turn, F = (1 − ½ D s0) F0.
    r22, r11, r12 : array_like, optional
        One-turn horizontal noise at the quadrupole entrance (rad², m·rad, m²):
        r22 = <Δx'²>, r11 = <Δx²>, r12 = <Δx Δx'>; positive semidefinite.
    alpha_x, alpha_z : array_like, optional
        Twiss alpha at the quadrupole.

    Returns
    -------
    FarMoments
        Arrays of the broadcast shape; NaN where the module docstring says.

    Raises
    ------
    InputError
        Non-finite input, β ≤ 0, r11 < 0, r22 < 0 or r12² > r11 r22.

    References
    ----------
    LNF-64/55 §4 (eq. (10), M_rtsv), §5, appendix (θ).

    Examples
    --------
    >>> res = moments_far(1.0, 1.6, 10.0, 7.0, 0.0, 2e-4, 2e-4, r22=1e-10)
    >>> float(res.xx)           # uncoupled: phi beta_x^2 / (2 D s0)
    2.5e-05
    >>> float(res.zz), float(res.tilt)
    (0.0, 0.0)
    """
    names = _ARGS + ("alpha_x", "alpha_z", "d11_s0", "d22_s0", "r11", "r12", "r22")
    args = _as_arrays(names, (mu_x, mu_z, beta_x, beta_z, m, alpha_x, alpha_z, d11_s0, d22_s0,
                              r11, r12, r22), _POSITIVE)
    rr11, rr12, rr22 = args[9:]
    for name, val in (("r11", rr11), ("r22", rr22)):
        if np.any(val < 0):
            bad = val[val < 0].flat[0]
            raise InputError(f"{name} must be >= 0 (a variance), got {bad!r}", name=name, value=float(bad))
    excess = rr12**2 - rr11 * rr22
    if np.any(excess > 1e-12 * np.maximum(rr11 * rr22, np.finfo(float).tiny)):
        bad = np.broadcast_to(rr12, excess.shape)[excess > 0].flat[0]
        raise InputError(f"noise not positive semidefinite: r12 = {bad!r} exceeds sqrt(r11 r22); "
                         "pass a covariance", name="r12", value=float(bad))
    shape = np.broadcast_shapes(*(a.shape for a in args))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        vals = [np.broadcast_to(np.asarray(v, dtype=np.float64), shape).copy()
                for v in _kernels.skew_moments_far(*args)]
        op, om = (np.broadcast_to(np.asarray(v, dtype=np.float64), shape)
                  for v in _kernels.skew_mode_damping(*args[:5], args[7], args[8]))
        ok = np.broadcast_to(_valid(*args[:5]), shape) & (op > 0) & (om > 0)
        xx, zz, xz, ep, em, tilt = vals
        ratio = np.minimum(ep, em) / np.maximum(ep, em)
    out = [xx, zz, xz, ep, em, ratio, tilt]
    if np.any(~ok):
        out = [np.where(ok, v, np.nan) for v in out]
    return FarMoments(*out)


def smooth_arc_noise(mu_x, beta_x, phi11_s0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-turn horizontal noise (r11, r12, r22) of uniform φ11 along a constant-β arc.

    𝓡_in = φ11 ∫ F_x(s0, s') e2 e2^T F_x(s0, s')^T ds' over one turn, F_x a
    rotation of phase μx (s0 − s')/s0 with β = βx, α = 0 (undamped; the damping
    correction is O(D s0) relative). Feed the result to :func:`moments_far`.

    Parameters
    ----------
    mu_x : array_like
        Horizontal phase advance per turn (rad), != 0.
    beta_x : array_like
        The constant horizontal β (m), > 0.
    phi11_s0 : array_like
        φ11 (rad²/m) times the circumference s0 (m).

    Returns
    -------
    r11, r12, r22 : numpy.ndarray
        m², m·rad, rad².

    References
    ----------
    LNF-64/55 eq. (5), §4 (script-R).

    Examples
    --------
    >>> r11, r12, r22 = smooth_arc_noise(np.pi, 5.0, 1.0)
    >>> float(r11), round(float(r12), 15), float(r22)     # half a turn of each phase
    (12.5, 0.0, 0.5)
    """
    mu, beta, ph = _as_arrays(("mu_x", "beta_x", "phi11_s0"), (mu_x, beta_x, phi11_s0), ("beta_x",))
    if np.any(mu == 0):
        raise InputError("mu_x must be != 0 for a smooth-focusing arc, got 0.0", name="mu_x", value=0.0)
    return tuple(np.asarray(v, dtype=np.float64) for v in _kernels.smooth_arc_noise(mu, beta, ph))
