"""Closed orbit, folding, beam spot and luminosity area (§2, §3 and the appendix).

From the betatron moments <y_r y_s> to what is seen and used:

=============================  ==============================================
function                       what (LNF-64/55)
=============================  ==============================================
:func:`closed_orbit_functions`  (ξ, ξ', ζ, ζ') around a ring, eq. (2)
:func:`absolute_moments`        Σ = Σ_b + <p²> η ηᵀ of x = x_b + ξp, z = z_b + ζp, (6)
:func:`folded_mu`               μ_rs of P(x, z), eq. (8) (printed (3))
:func:`position_density`        P(x, z) = (1/π) sqrt(det μ) exp(-xᵀμx), (7) corrected
:func:`beam_spot`               tilt θ, μ̄_xx ≤ μ̄_zz, 1/S, appendix
:func:`overlap_inv_area`        ∫ P₁ P₂ for two different beams (offset allowed)
:func:`spot_profile`            sizes, tilt, principal axes, 1/S at any s of a ring
=============================  ==============================================

Every closed form comes from the generated :mod:`coupled_beam._kernels`
(derived in :mod:`derivations.distribution` and :mod:`derivations.beam_spot`).

Conventions
-----------
* Coordinates as in :mod:`coupled_beam.lattice`: x outward, z up, metres.
* θ (rad) is the angle from the x axis to the *major* (wide) axis of the
  spot, counter-clockwise towards z, in (-π/2, π/2]; x̄ is that axis, so
  μ̄_xx ≤ μ̄_zz and the rms half-axes are 1/sqrt(2 μ̄). θ = ½ atan2(2<xz>,
  <x²> - <z²>) in the absolute moments (the usual "tilt"). A round beam
  (μ_xx = μ_zz, μ_xz = 0) gets θ = 0; nothing divides by μ_xz.
* Vectorized functions broadcast over leading axes and give NaN where a
  quantity does not exist (a form that is not positive-definite).

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), eqs. (2), (6)-(8), appendix.

Examples
--------
>>> import numpy as np
>>> mu = folded_mu([[1e-6, 0.0], [0.0, 1e-8]], [1.0, 0.0], 1e-6)
>>> theta, mu_bar_xx, mu_bar_zz, inv_area = beam_spot(mu)
>>> float(theta), bool(np.isclose(mu_bar_xx, 0.5 / 2e-6))
(0.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coupled_beam import _kernels
from coupled_beam._validate import real_array
from coupled_beam.errors import InputError, ResonanceError

__all__ = [
    "absolute_moments",
    "beam_spot",
    "closed_orbit_functions",
    "folded_mu",
    "overlap_inv_area",
    "position_density",
    "spot_profile",
    "SpotProfile",
]

_SYM_RTOL = 1e-9  # relative asymmetry tolerated in a 2x2 form (round-off of a product)


# ------------------------------------------------------------------ helpers
def _real(name: str, value) -> np.ndarray:
    """A finite float array; InputError naming the value otherwise (NaN/inf, text, complex)."""
    return real_array(name, value)


def _sym2(name: str, value) -> np.ndarray:
    """A (..., 2, 2) symmetric float array; (..., 4, 4) gives its (x, z) block."""
    arr = _real(name, value)
    if arr.ndim >= 2 and arr.shape[-2:] == (4, 4):
        arr = arr[..., [0, 2], :][..., :, [0, 2]]
    if arr.ndim < 2 or arr.shape[-2:] != (2, 2):
        raise InputError(f"{name} must have shape (..., 2, 2) (or (..., 4, 4)), got {arr.shape}",
                         field=name, value=arr.shape)
    off, off_t = arr[..., 0, 1], arr[..., 1, 0]
    scale = np.maximum(np.abs(arr[..., 0, 0]) + np.abs(arr[..., 1, 1]), np.abs(off))
    asym = np.abs(off - off_t)
    bad = asym > _SYM_RTOL * scale
    if np.any(bad):
        worst = float(np.max(np.where(bad, asym, 0.0)))
        raise InputError(f"{name} must be symmetric: |{name}[0,1] - {name}[1,0]| = {worst:.3g}; "
                         "symmetrize it (0.5 (a + a^T))", field=name, value=worst)
    return arr


def _pack(xx, xz, zz) -> np.ndarray:
    shape = np.broadcast_shapes(np.shape(xx), np.shape(xz), np.shape(zz))
    out = np.empty(shape + (2, 2))
    out[..., 0, 0] = xx
    out[..., 0, 1] = out[..., 1, 0] = xz
    out[..., 1, 1] = zz
    out += 0.0  # no -0.0 entries
    return out


def _eta2(eta) -> np.ndarray:
    arr = _real("eta", eta)
    if arr.ndim >= 1 and arr.shape[-1] == 4:
        arr = arr[..., [0, 2]]
    if arr.ndim < 1 or arr.shape[-1] != 2:
        raise InputError(f"eta must have shape (..., 2) = (xi, zeta) or (..., 4) = "
                         f"(xi, xi', zeta, zeta'), got {arr.shape}", field="eta", value=arr.shape)
    return arr


def _p2(p2) -> np.ndarray:
    arr = _real("p2", p2)
    if np.any(arr < 0):
        raise InputError(f"p2 = <p^2> must be >= 0, got {float(np.min(arr))}; it is the "
                         "squared relative energy spread", field="p2", value=float(np.min(arr)))
    return arr


def _positive_definite(f: np.ndarray) -> np.ndarray:
    return (f[..., 0, 0] > 0) & (f[..., 0, 0] * f[..., 1, 1] - f[..., 0, 1] ** 2 > 0)


# ------------------------------------------------------------------- §3 (6)-(8)
def absolute_moments(moments_xz, eta, p2) -> np.ndarray:
    """Second moments of the absolute positions x = x_b + ξp, z = z_b + ζp (m²).

    Parameters
    ----------
    moments_xz : (..., 2, 2) array_like
        Betatron moments [[<x_b²>, <x_b z_b>], [<x_b z_b>, <z_b²>]] (m²); a
        (..., 4, 4) <ŷŷᵀ> is accepted and its (x, z) block used.
    eta : (..., 2) array_like
        Closed-orbit functions (ξ, ζ) (m); (..., 4) = (ξ, ξ', ζ, ζ') accepted.
    p2 : array_like
        <p²>, relative energy spread squared (>= 0).

    Returns
    -------
    (..., 2, 2) ndarray
        Σ = Σ_b + <p²> η ηᵀ (betatron and energy uncorrelated, §2 b).

    References
    ----------
    LNF-64/55, eqs. (2), (6) (with z = z_b + ζp; the paper prints ξ).

    Examples
    --------
    >>> absolute_moments([[1.0, 0.0], [0.0, 2.0]], [0.5, 0.1], 4.0)
    array([[2.  , 0.2 ],
           [0.2 , 2.04]])
    """
    s = _sym2("moments_xz", moments_xz)
    e = _eta2(eta)
    out = _kernels.absolute_moments(s[..., 0, 0], s[..., 0, 1], s[..., 1, 1],
                                    e[..., 0], e[..., 1], _p2(p2))
    return _pack(*out)


def folded_mu(moments_xz, eta, p2) -> np.ndarray:
    """Composite parameters μ_rs of the position distribution P(x, z) (1/m²).

    Parameters
    ----------
    moments_xz : (..., 2, 2) array_like
        Betatron moments <y_r y_s> (m²) (a (..., 4, 4) <ŷŷᵀ>: its (x, z) block).
    eta : (..., 2) array_like
        (ξ, ζ) (m), or (..., 4) as :func:`closed_orbit_functions` returns.
    p2 : array_like
        <p²> (>= 0).

    Returns
    -------
    (..., 2, 2) ndarray
        μ = m - (mη)(mη)ᵀ/(α² + ηᵀmη) with m = ½<y yᵀ>⁻¹, α² = 1/(2<p²>),
        evaluated as the equal, cancellation-free ½ (Σ_b + <p²>ηηᵀ)⁻¹.
        NaN where Σ_b + <p²>ηηᵀ is not positive-definite.

    Raises
    ------
    InputError
        Wrong shapes, an asymmetric moment matrix or p2 < 0.

    References
    ----------
    LNF-64/55, eq. (8) (printed with the number (3)).

    Examples
    --------
    >>> folded_mu([[1.0, 0.0], [0.0, 1.0]], [1.0, 0.0], 1.0)
    array([[0.25, 0.  ],
           [0.  , 0.5 ]])
    """
    s = _sym2("moments_xz", moments_xz)
    e = _eta2(eta)
    p = _p2(p2)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = _pack(*_kernels.folded_mu_rs(s[..., 0, 0], s[..., 0, 1], s[..., 1, 1],
                                          e[..., 0], e[..., 1], p))
    ok = _positive_definite(absolute_moments(s, e, p))
    mu[~ok] = np.nan
    return mu


def position_density(mu, x, z) -> np.ndarray:
    """P(x, z) = (1/π) sqrt(det μ) exp(-Σ μ_rs x_r x_s) (1/m²), normalised to 1.

    Parameters
    ----------
    mu : (..., 2, 2) array_like
        Composite parameters (1/m²), e.g. from :func:`folded_mu`.
    x, z : array_like
        Positions (m), broadcast against the leading axes of ``mu``.

    Returns
    -------
    ndarray
        The density; NaN where μ is not positive-definite.

    References
    ----------
    LNF-64/55, eq. (7) with the prefactor the folding gives (sqrt(det μ), not
    the printed sqrt(det m)).

    Examples
    --------
    >>> round(float(position_density([[1.0, 0.0], [0.0, 1.0]], 0.0, 0.0)), 6)  # 1/π
    0.31831
    """
    f = _sym2("mu", mu)
    with np.errstate(invalid="ignore"):
        (P,) = _kernels.position_density(f[..., 0, 0], f[..., 0, 1], f[..., 1, 1],
                                         _real("x", x), _real("z", z))
    return np.where(_positive_definite(f), P, np.nan)


# ------------------------------------------------------------------ appendix
def beam_spot(mu) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tilt, principal parameters and inverse luminosity area of the spot.

    Parameters
    ----------
    mu : (..., 2, 2) array_like
        Composite parameters μ_rs (1/m²), eq. (8).

    Returns
    -------
    theta : ndarray
        Angle (rad) from x to the major axis of the spot, towards z, in
        (-π/2, π/2]; tan 2θ = 2μ_xz/(μ_xx - μ_zz). Round beam: 0.
    mu_bar_xx, mu_bar_zz : ndarray
        Eigenvalues of μ (1/m²), μ̄_xx ≤ μ̄_zz (x̄ = major axis); rms half-axes
        1/sqrt(2 μ̄). The paper's ½(μ_xx + μ_zz) ± μ_xz/sin 2θ, without its
        division by zero at μ_xz = 0.
    inv_area : ndarray
        1/S = ∫∫P² = (1/2π) sqrt(μ̄_xx μ̄_zz) = ½ P(0, 0) (1/m²).

    All four are NaN where μ is not positive-definite.

    References
    ----------
    LNF-64/55, appendix.

    Examples
    --------
    >>> import numpy as np
    >>> th, lo, hi, inv_s = beam_spot([[2.0, 0.0], [0.0, 2.0]])   # round beam
    >>> float(th), float(lo), float(hi), bool(np.isclose(inv_s, 1 / np.pi))
    (0.0, 2.0, 2.0, True)
    >>> float(beam_spot([[3.0, 0.0], [0.0, 1.0]])[0])   # tall beam: major axis vertical
    1.5707963267948966
    """
    f = _sym2("mu", mu)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta, lo, hi, inv = _kernels.spot_axes(f[..., 0, 0], f[..., 0, 1], f[..., 1, 1])
    # signed zeros: atan2(-0.0, x < 0) = -pi, so fold onto the documented (-pi/2, pi/2];
    # a round beam (atan2 of two zeros, any signs) is given theta = 0 by convention
    theta = np.where(theta <= -np.pi / 2, theta + np.pi, theta)
    round_beam = (f[..., 0, 0] == f[..., 1, 1]) & (f[..., 0, 1] == 0.0)
    theta = np.where(round_beam, 0.0, theta)
    ok = _positive_definite(f)
    return tuple(np.where(ok, np.asarray(v, float), np.nan) for v in (theta, lo, hi, inv))


def overlap_inv_area(mu1, mu2, offset=(0.0, 0.0)) -> np.ndarray:
    """Overlap ∫∫ P₁(x, z) P₂(x - dx, z - dz) dx dz of two beams (1/m²).

    For identical beams with no offset it is the appendix's 1/S; the
    luminosity per crossing is N₁ N₂ times this.

    Parameters
    ----------
    mu1, mu2 : (..., 2, 2) array_like
        Composite parameters of the two beams (1/m²).
    offset : (..., 2) array_like
        Centre of beam 2 relative to beam 1, (dx, dz) in m.

    Returns
    -------
    ndarray
        (1/π) sqrt(det μ₁ det μ₂ / det(μ₁+μ₂)) exp(-dᵀμ₁(μ₁+μ₂)⁻¹μ₂ d);
        NaN where μ₁ or μ₂ is not positive-definite.

    References
    ----------
    LNF-64/55, appendix (1/S), generalised to two beams.

    Examples
    --------
    >>> import numpy as np
    >>> mu = [[2.0, 0.3], [0.3, 1.0]]
    >>> bool(np.isclose(overlap_inv_area(mu, mu), beam_spot(mu)[3], rtol=1e-14, atol=0))
    True
    """
    a = _sym2("mu1", mu1)
    b = _sym2("mu2", mu2)
    d = _real("offset", offset)
    if d.ndim < 1 or d.shape[-1] != 2:
        raise InputError(f"offset must have shape (..., 2) = (dx, dz), got {d.shape}",
                         field="offset", value=d.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        (val,) = _kernels.overlap_inv_area(a[..., 0, 0], a[..., 0, 1], a[..., 1, 1],
                                           b[..., 0, 0], b[..., 0, 1], b[..., 1, 1],
                                           d[..., 0], d[..., 1])
    return np.where(_positive_definite(a) & _positive_definite(b), val, np.nan)


# ---------------------------------------------------------------- ring level
def closed_orbit_functions(ring) -> np.ndarray:
    """Closed-orbit functions (ξ, ξ', ζ, ζ') at every element boundary of a ring.

    The one solver lives in :func:`coupled_beam.optics.closed_orbit_functions`
    (η(0) = (1 - N)⁻¹ n from the one-cell 5×5 map, then all boundaries at once);
    this name is kept for the §3 folding that uses it.

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring

    Returns
    -------
    (n + 1, 4) ndarray
        Rows at ``ring.s``: (ξ (m), ξ' (1), ζ (m), ζ' (1)); last row = first.

    Raises
    ------
    ResonanceError
        If 1 - N is singular (integer resonance, no closed orbit).

    References
    ----------
    LNF-64/55, eqs. (1), (2), §2 a.

    Examples
    --------
    >>> from coupled_beam.lattice import Ring, Bend
    >>> ring = Ring([Bend(1.0, K=0.5, n=0.5)] * 4)   # weak focusing: xi = 1/(K (1 - n))
    >>> eta = closed_orbit_functions(ring)
    >>> eta.shape, round(float(eta[0, 0]), 12)
    ((5, 4), 4.0)
    """
    from coupled_beam.optics import closed_orbit_functions as solve

    return solve(ring)


@dataclass(frozen=True)
class SpotProfile:
    """The beam spot along a ring (arrays over the requested positions).

    =============  =========  =============================================
    field          unit       meaning
    =============  =========  =============================================
    ``s``          m          positions
    ``eta``        m, 1       (ξ, ξ', ζ, ζ') closed-orbit functions, eq. (2)
    ``moments``    m²         betatron <x_b², x_b z_b, z_b²> (..., 2, 2)
    ``sigma``      m²         absolute Σ = Σ_b + <p²>ηηᵀ (..., 2, 2), eq. (6)
    ``mu``         1/m²       composite μ_rs, eq. (8)
    ``sigma_x``    m          rms of x, sqrt(Σ_xx)
    ``sigma_z``    m          rms of z, sqrt(Σ_zz)
    ``tilt``       rad        θ of the major axis, (-π/2, π/2]
    ``mu_bar_xx``  1/m²       principal μ̄ along the major axis (≤ mu_bar_zz)
    ``mu_bar_zz``  1/m²       principal μ̄ along the minor axis
    ``sigma_major`` m         rms along the major axis, 1/sqrt(2 μ̄_xx)
    ``sigma_minor`` m         rms along the minor axis, 1/sqrt(2 μ̄_zz)
    ``inv_area``   1/m²       1/S = (1/2π) sqrt(μ̄_xx μ̄_zz)
    ``p2``         1          <p²>
    =============  =========  =============================================
    """

    s: np.ndarray
    eta: np.ndarray
    moments: np.ndarray
    sigma: np.ndarray
    mu: np.ndarray
    sigma_x: np.ndarray
    sigma_z: np.ndarray
    tilt: np.ndarray
    mu_bar_xx: np.ndarray
    mu_bar_zz: np.ndarray
    sigma_major: np.ndarray
    sigma_minor: np.ndarray
    inv_area: np.ndarray
    p2: float


def _inside(ring, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Element index k and depth (s - s_k) of each position, s folded into one cell [0, s_cell)."""
    s = np.asarray(s, dtype=float)
    if not np.all(np.isfinite(s)):
        raise InputError("s must be finite (m)", field="s")
    sf = np.mod(s, getattr(ring, "cell_length", ring.circumference))
    k = np.searchsorted(ring.s, sf, side="right") - 1
    k = np.clip(k, 0, len(ring.elements) - 1)
    return sf, k, sf - ring.s[k]


def spot_profile(ring, s=None, *, equilibrium=None) -> SpotProfile:
    """Sizes, tilt, principal axes and 1/S of a ring's beam at any positions s.

    Moments and closed-orbit functions at the element boundaries come from
    ``ring.equilibrium()`` (formula (10)) and :func:`closed_orbit_functions`;
    inside an element they are carried from its entrance over the partial
    length: Σ_b(s) = N Σ_b Nᵀ + ∫N φ̂ Nᵀ (Van Loan), η(s) by the 5×5 map.

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring
        The lattice.
    s : array_like, optional
        Positions in m (taken modulo the circumference); default the
        boundaries ``ring.s``.
    equilibrium : object, optional
        A precomputed ``ring.equilibrium()`` (needs ``moments`` (n+1, 4, 4)
        and ``p2``), to avoid recomputing it.

    Returns
    -------
    SpotProfile

    References
    ----------
    LNF-64/55, eqs. (2), (6)-(8), (10), appendix.

    Examples
    --------
    >>> import numpy as np
    >>> from coupled_beam.lattice import Ring, Bend
    >>> cell = Bend(1.0, K=0.5, n=0.5, D=0.01 * np.eye(2), phi_hat=np.diag([0, 1e-10, 0, 1e-12]))
    >>> prof = spot_profile(Ring([cell] * 4, p2=1e-6), [0.0, 0.5])
    >>> prof.tilt.tolist(), prof.sigma_x.shape
    ([0.0, 0.0], (2,))
    """
    eq = ring.equilibrium() if equilibrium is None else equilibrium
    p2 = float(getattr(eq, "p2", ring.p2))
    bmom = np.asarray(eq.moments, dtype=float)
    eta_b = closed_orbit_functions(ring)
    if s is None:
        s_out, mom4, eta = np.asarray(ring.s, float).copy(), bmom, eta_b
    else:
        s_out, k, depth = _inside(ring, s)
        mom4 = np.empty(s_out.shape + (4, 4))
        eta = np.empty(s_out.shape + (4,))
        for idx in np.ndindex(s_out.shape):
            el, y, S = ring.elements[k[idx]], eta_b[k[idx]], bmom[k[idx]]
            if depth[idx] == 0.0 or el.length == 0.0:
                mom4[idx], eta[idx] = S, y
                continue
            # the ring's own partial-element maps (lattice.maps): the 4-D route inside
            N, R, eta[idx] = ring.betatron_inside(int(k[idx]), float(depth[idx]))
            mom4[idx] = N @ S @ N.T + R
    xz = _sym2("moments", 0.5 * (mom4 + np.swapaxes(mom4, -1, -2)))
    sigma = absolute_moments(xz, eta, p2)
    mu = folded_mu(xz, eta, p2)
    theta, lo, hi, inv = beam_spot(mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        return SpotProfile(
            s=s_out, eta=eta, moments=xz, sigma=sigma, mu=mu,
            sigma_x=np.sqrt(sigma[..., 0, 0]), sigma_z=np.sqrt(sigma[..., 1, 1]),
            tilt=theta, mu_bar_xx=lo, mu_bar_zz=hi,
            sigma_major=1.0 / np.sqrt(2.0 * lo), sigma_minor=1.0 / np.sqrt(2.0 * hi),
            inv_area=inv, p2=p2)
