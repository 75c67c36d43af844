"""The 6-D equilibrium beside the paper's model: Sigma6 = M Sigma6 M^T + B by formula (10).

Beyond the paper. Its §2 b assumes that betatron and synchrotron motion
decorrelate, so it solves (10) in 4-D and folds the energy spread in by (8).
Here the same formula (10) (:func:`coupled_beam.equilibrium.decompose`, the
same code in n x n) is solved on the 6x6 one-turn map on
X = (x, x', z, z', delta, l) with

* the RF cavity kick delta += k_rf l (:mod:`coupled_beam.longitudinal`): in
  dispersion the cavity moves the betatron coordinates (y_beta = y - eta delta),
  which couples the synchrotron oscillation into the betatron motion;
* the correlated 6x6 quantum noise of every element (its delta column: a
  photon of energy u kicks delta by -u and y_beta by +eta u), which (10) in 4-D
  drops;
* radiation damping of all three modes (the ring's 6x6 element maps);
* the energy sawtooth (on by default): the 6-D closed orbit X0(s) has
  delta0(s) from the loss and RF gains along the ring and the betatron orbit
  x0 = eta delta0 + ... it drives (loss spread over each bend by Simpson's
  rule; the orbit's own second-order terms, :func:`coupled_beam.orbit_maps.orbit_drive`,
  set its delta level as tracking does). Every element's map is taken about it
  (:func:`coupled_beam.orbit_maps.sawtooth_change`): at its local delta0 to second order (the
  kinetic term / (1 + delta0); a sextupole's feed-down exact at the orbit's mean) plus
  the first-order change with the rest of the orbit and the in-element loss, from the
  element's cubic Hamiltonian
  (:mod:`derivations.orbit_expansion`; a sextupole's feed-down, the drift's
  p / (1 + delta), a solenoid's kinetic term), in canonical coordinates as the 6-D
  codes track: there the maps are symplectic, the radiation damps p at emission
  (and kicks it by -u p0: :func:`coupled_beam.orbit_maps.noise_at_orbit`) and the
  cavity leaves p alone. ``sawtooth=False`` ignores the sawtooth,
  ``tapered=True`` puts every magnet at the local reference momentum (pyAT's
  ``tapering()``, its FieldScaling).

The 6-D moments are on (x, p_x, z, p_z, delta, l) at the orbit (p = x' (1 + delta0),
x' on the design orbit); the spot (x, z) and delta, l are the same in either.

The exact Sigma6 at s = 0 is then propagated to every boundary,
Sigma(s_i) = P_i Sigma(0) P_i^T + G_i (O(n elements)), as in 4-D.

Cost: one 6x6 decomposition and a stacked cumulative product of 6x6 maps;
the sawtooth adds its orbit (three affine scans: linear, then twice with its
second-order terms), one 6x6 exponential per element (the map at its delta0)
and a four-node quadrature per distinct element.
Measured (one BLAS thread, the coupled test ring tiled, with a cavity):
147 / 1169 / 4673 elements, 4-D 1.9 / 3.4 / 8.5 ms, 6-D 5.4 / 14 / 45 ms, 6-D without
the sawtooth 2.4 / 6.3 / 20 ms; pyAT's ``ohmi_envelope`` 28 / 190 / 860 ms on rings of that size (notes/peers.md).

Agreement with pyAT's ``ohmi_envelope`` (coupled test ring of
:func:`coupled_beam.interop.pyat.example_at_ring`: thin skew quadrupole and
solenoid; max over all 148 boundaries; pyAT at 100 integration steps):
sigma_x 1.9e-5 / 2.3e-5 / 2.4e-5, sigma_z 1.7e-5 / 1.9e-5 / 2.0e-5, tilt
5e-6 / 7e-6 / 7e-6 rad at Q_s = 0.012 / 0.024 / 0.048; sigma_delta, sigma_l
<= 2.2e-6; Q_s 1e-8; damping times 4.5e-5; mode emittances (one definition on
both Sigma's) 5e-5. At pyAT's default 10 steps its radiating bends set the
orbit's delta level 1.8e-7 off the continuum (1.8e-8 at 100) and the sizes
differ by 6e-5 ... 1.1e-4. pyAT's shipped ESRF lattice
(tests/test_pyat_real_rings.py; 1636 elements, rolled quadrupoles, delta0
peak-to-peak 4e-4), 10x pyAT's steps: sigma_x 3.2e-5, sigma_z 2.2e-4, tilt
6.7e-5 rad (30x: 1.9e-5 / 8.3e-5 / 2.2e-5); tapered 3.6e-5 / 5.7e-5 / 3.1e-5
(strength scaling alone, untapered: 1.2e-2, 1.5e-2, 5e-3); at pyAT's default
steps sigma_z is 1.7e-3 off, as much as pyAT's own result moves from default to
30x steps; our maps about pyAT's own orbit give 3.3e-4 there and 2.1e-5 at 10x. pyAT's own
``mode_emittances`` normalise the eigenvectors with its ``jmatswap`` (the
longitudinal block of J sign-flipped, not the form the maps are symplectic
for) and differ from u Sigma u^H by 2e-4 ... 5e-4 here.

References
----------
LNF-64/55 eq. (10), §2 b; K. Ohmi, K. Hirata, K. Oide, Phys. Rev. E 49 (1994)
751 (6-D envelope); A. W. Chao, J. Appl. Phys. 50 (1979) 595.

Examples
--------
>>> from coupled_beam.lattice import Bend, Drift, Quadrupole, RFCavity, Ring
>>> cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5),
...         Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5)]
>>> ring = Ring([RFCavity(voltage=3e5, harmonic=50)] + cell * 8, energy=1.0)
>>> eq = ring_equilibrium6(ring)
>>> eq.moments.shape, bool(eq.q_s > 0)
((66, 6, 6), True)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from coupled_beam.equilibrium import Decomposition, decompose
from coupled_beam.lattice.maps import dedupe
from coupled_beam.orbit_maps import OrbitMaps, noise_at_orbit
from coupled_beam.errors import InputError, PhysicsWarning

__all__ = [
    "cumulative6",
    "equilibrium6",
    "mode_emittances",
    "RingEquilibrium6",
    "ModelError",
    "ring_equilibrium6",
    "model_error",
    "MODEL_ERROR_WARN",
]

#: relative size difference 6-D vs 4-D above which the paper's §2 b is flagged
MODEL_ERROR_WARN = 1e-3

_J6 = np.kron(np.eye(3), np.array([[0.0, 1.0], [-1.0, 0.0]]))


def cumulative6(maps: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_i = M_{i-1} ... M_0 and the noise G_i accumulated from 0 to s_i, (n + 1, d, d) each.

    Examples
    --------
    >>> P, G = cumulative6(np.tile(2 * np.eye(6), (2, 1, 1)), np.tile(np.eye(6), (2, 1, 1)))
    >>> float(P[2, 0, 0]), float(G[2, 0, 0])   # 4, 4 * 1 + 1
    (4.0, 5.0)
    """
    maps = np.asarray(maps, dtype=float)
    noise = np.asarray(noise, dtype=float)
    n, d = maps.shape[0], maps.shape[-1]
    P = np.empty((n + 1, d, d))
    G = np.empty((n + 1, d, d))
    P[0] = np.eye(d)
    G[0] = 0.0
    for i in range(n):
        P[i + 1] = maps[i] @ P[i]
        G[i + 1] = maps[i] @ G[i] @ maps[i].T + noise[i]
    return P, G


def _power(P: np.ndarray, G: np.ndarray, periods: int) -> tuple[np.ndarray, np.ndarray]:
    """(P^k, sum_j P^j G P^jT) for k cells."""
    M, B = np.eye(len(P)), np.zeros_like(G)
    for _ in range(periods):
        B = P @ B @ P.T + G
        M = P @ M
    return M, B


def equilibrium6(maps: np.ndarray, noise: np.ndarray, *, periodicity: int = 1,
                 warn_below: float = 1e-8) -> tuple[np.ndarray, Decomposition]:
    """Equilibrium Sigma at every boundary from element maps and noise: (10) at 0, then propagation.

    Parameters
    ----------
    maps : (n, d, d) array
        Element maps of one cell (d = 6: with the cavity kicks and damping).
    noise : (n, d, d) array
        Each element's noise at its exit.
    periodicity : int
        Cells per turn.
    warn_below : float
        See :func:`coupled_beam.equilibrium.decompose`.

    Returns
    -------
    Sigma : (n + 1, d, d) array
    decomposition : Decomposition
        Formula (10) at s = 0 on the one-turn map.

    Raises
    ------
    UnstableError, ResonanceError
        From :func:`~coupled_beam.equilibrium.decompose` (e.g. no synchrotron damping).

    Examples
    --------
    >>> from scipy.linalg import expm
    >>> M = expm(np.kron(np.eye(3), [[-1e-3, 0.3], [-0.3, -1e-3]]))
    >>> S, dec = equilibrium6(M[None], np.eye(6)[None] * 1e-9)
    >>> round(float(S[0, 0, 0] / 1e-9), 3)   # 1 / (1 - exp(-2e-3))
    500.5
    """
    try:
        from coupled_beam.lattice.maps import prefix_affine
    except ImportError:   # pragma: no cover - the lattice core without its stacked scan
        P, G = cumulative6(maps, noise)
    else:
        P, G = prefix_affine(np.asarray(maps, dtype=float), np.asarray(noise, dtype=float))
    M, B = _power(P[-1], G[-1], int(periodicity))
    dec = decompose(M, 0.5 * (B + B.T), warn_below=warn_below)
    S = P @ dec.moments @ np.swapaxes(P, -1, -2) + G
    return 0.5 * (S + np.swapaxes(S, -1, -2)), dec


def _pairs(dec: Decomposition) -> tuple[np.ndarray, np.ndarray]:
    """(W columns of the first member of each pair, normalised |w^H J w| = 1; their rows of U)."""
    W = np.linalg.inv(dec.U)
    first = np.arange(0, len(dec.Delta), 2)
    w = W[:, first]
    norm = np.abs(np.einsum("ik,ij,jk->k", w.conj(), _J6[:len(W), :len(W)], w))
    return w / np.sqrt(norm), dec.U[first] * np.sqrt(norm)[:, None]


def _longitudinal_mode(dec: Decomposition) -> int:
    """Index (0, 1, 2 of the pairs) of the mode with the largest (delta, l) action share."""
    w, _ = _pairs(dec)
    J = _J6
    share = np.abs(np.einsum("ik,ij,jk->k", w[4:].conj(), J[4:, 4:], w[4:]))
    return int(np.argmax(share))


def mode_emittances(Sigma, dec: Decomposition) -> np.ndarray:
    """eps_k = u_k Sigma u_k^H with eigenvectors normalised by |w^H J w| = 1 (pairs in dec's order).

    For an uncoupled 2x2 block Sigma = eps [[beta, -alpha], [-alpha, gamma]]
    this is eps.

    Examples
    --------
    >>> from scipy.linalg import expm
    >>> M = expm(np.kron(np.eye(3), [[-1e-3, 0.3], [-0.3, -1e-3]]))
    >>> S, dec = equilibrium6(M[None], np.eye(6)[None] * 1e-9)
    >>> np.round(mode_emittances(S[0], dec) / 1e-9, 2)
    array([500.5, 500.5, 500.5])
    """
    _, u = _pairs(dec)
    return np.einsum("ki,ij,kj->k", u, np.asarray(Sigma), u.conj()).real


@dataclass(frozen=True)
class RingEquilibrium6:
    """The 6-D equilibrium around a ring, arrays over the n + 1 boundaries of the cell.

    Attributes
    ----------
    s : (n+1,) array
        Boundaries (m).
    moments : (n+1, 6, 6) array
        Sigma6 = <X X^T>, X = (x, x', z, z', delta, l) (absolute: betatron and
        synchrotron parts together).
    sigma_x, sigma_z : (n+1,) arrays
        rms sizes sqrt(Sigma_11), sqrt(Sigma_33) (m).
    tilt : (n+1,) array
        Angle of the x-z spot (the appendix's theta, rad); NaN where degenerate.
    inv_area : (n+1,) array
        1/S of the appendix (1/m^2); NaN where degenerate.
    mu : (n+1, 2, 2) array
        mu_rs = 1/2 (Sigma_xz block)^-1 (1/m^2).
    sigma_delta : (n+1,) array
        rms relative momentum deviation sqrt(Sigma_55).
    sigma_l : (n+1,) array
        rms bunch length sqrt(Sigma_66) (m).
    emittances : (3,) array
        Mode emittances (m rad): betatron mode 1, mode 2 (paper's order: the
        smaller tune first), longitudinal (m, in (delta, l)).
    tunes : (3,) array
        Fractional tunes in (0, 1/2] of the same three modes; ``tunes[2]`` = Q_s.
    damping_times : (3,) array
        tau = T0 / (-ln abs(lambda)) (s), T0 = C / c.
    partition_numbers : (3,) array
        J_k = 2 (-ln abs(lambda_k)) E / U0 (sum 4 by Robinson's theorem).
    delta0 : (n+1,) array
        The energy sawtooth: closed-orbit delta at the boundaries (0 without it).
    rf : coupled_beam.longitudinal.RFSystem
    decomposition : Decomposition
        Formula (10) at s = 0 on the 6x6 one-turn map.
    model : str
        "6d".
    ring : coupled_beam.lattice.Ring or None
        The ring solved (for :meth:`table`).
    """

    s: np.ndarray
    moments: np.ndarray
    sigma_x: np.ndarray
    sigma_z: np.ndarray
    tilt: np.ndarray
    inv_area: np.ndarray
    mu: np.ndarray
    sigma_delta: np.ndarray
    sigma_l: np.ndarray
    emittances: np.ndarray
    tunes: np.ndarray
    damping_times: np.ndarray
    partition_numbers: np.ndarray
    delta0: np.ndarray
    rf: object
    decomposition: Decomposition
    model: str = "6d"
    ring: object = field(default=None, repr=False, compare=False)

    def table(self, *, backend: str = "auto"):
        """Optics table along the ring (:func:`coupled_beam.table.optics_table`)."""
        from coupled_beam.table import optics_table

        return optics_table(self, backend=backend)

    @property
    def q_s(self) -> float:
        """Synchrotron tune (exact, from the 6x6 one-turn map)."""
        return float(self.tunes[2])


def _spot(S: np.ndarray):
    """Spot fields of absolute 6-D moments (the energy spread is inside S: eta = 0, p2 = 0)."""
    from coupled_beam.equilibrium import beam_spots

    xz = S[:, [0, 2]][:, :, [0, 2]]
    _, mu, theta, inv_area, spot = beam_spots(xz, np.zeros((len(S), 2)), 0.0)
    return mu, theta, inv_area, spot


def _distinct(elements, distinct=None, idx=None) -> tuple[list, np.ndarray]:
    """(distinct elements, index of each) of ``elements`` (or of ``elements[idx]``), reusing ``distinct``.

    ``distinct`` = :func:`~coupled_beam.lattice.maps.dedupe` of the whole list, computed once
    per 6-D build (:func:`_six_d_maps`) and handed to every sawtooth term.
    """
    unique, inv = dedupe(elements) if distinct is None else distinct
    if idx is None:
        return unique, inv
    sub = np.asarray(inv)[np.asarray(idx, dtype=int)]
    keys, local = np.unique(sub, return_inverse=True)
    return [unique[k] for k in keys], local


def _half_maps(elements, loss: np.ndarray, distinct=None) -> np.ndarray:
    """Bare maps of the second halves of the elements that lose energy (others: zero), (n, 6, 6)."""
    from coupled_beam import longitudinal as lo
    from coupled_beam.lattice.maps import element_maps6

    out = np.zeros((len(elements), 6, 6))
    idx = [i for i in range(len(elements)) if loss[i] and elements[i].length > 0]
    if idx:
        unique, inv = _distinct(elements, distinct, idx)
        out[idx] = element_maps6(lo.second_halves(unique, range(len(unique))))[inv]
    return out


def _given_orbit(orbit, n: int) -> np.ndarray:
    """A user's 6-D closed orbit: (n + 1, 6) finite floats, else InputError naming what to change."""
    try:
        X = np.array(orbit, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"orbit must be an array of numbers, got {type(orbit).__name__}", field="orbit") from None
    if X.shape != (n + 1, 6):
        raise InputError(f"orbit must have shape ({n + 1}, 6): the 6-D closed orbit (x, p_x, z, p_z, delta, l) at "
                         f"every boundary of the {n} elements (pyAT: find_orbit(refpts=range(len(ring) + 1))), "
                         f"got {X.shape}", field="orbit", value=str(X.shape))
    bad = ~np.isfinite(X)
    if np.any(bad):
        i, k = np.argwhere(bad)[0]
        raise InputError(f"orbit[{i}, {k}] = {X[i, k]}: the closed orbit must be finite", field="orbit",
                         value=float(X[i, k]))
    return X


def _six_d_maps(ring, *, sawtooth: bool, tapered: bool, orbit=None):
    """(maps with cavity kicks and the energy sawtooth, noise, rf, delta0 at the boundaries).

    The sawtooth: the 6-D closed orbit X (:func:`coupled_beam.longitudinal.energy_sawtooth`,
    with the orbit's own second-order terms, :func:`coupled_beam.orbit_maps.orbit_drive`)
    and every element's map about it (:func:`coupled_beam.orbit_maps.sawtooth_change`:
    at the local energy to second order in delta0, first order in the transverse orbit and the in-element
    loss; canonical coordinates, as the 6-D codes track). ``tapered``: each magnet at the
    local energy's reference momentum (pyAT's ``tapering()``).
    """
    from coupled_beam import longitudinal as lo

    maps0 = np.array(ring.element_maps6, dtype=float)
    noise = np.array(ring.element_noise6, dtype=float)
    rf = lo.rf_system(ring, maps0)

    def with_cavities(m):
        m = m.copy()
        for j, i in enumerate(rf.index):
            m[i] = lo.cavity_map6(rf.k_rf[j], ring.elements[i].length)
        return m

    if not sawtooth:
        if orbit is not None:
            raise InputError("orbit= gives the energy sawtooth's orbit: it needs sawtooth=True", field="orbit")
        return with_cavities(maps0), noise, rf, np.zeros(len(ring.elements) + 1)
    els = ring.elements
    distinct = dedupe(els)           # once: every sawtooth term works on the distinct elements
    om = OrbitMaps(els, distinct)
    if orbit is not None:
        X = _given_orbit(orbit, len(els))
    else:
        loss = lo.element_energy_loss(els, rf.energy)
        half = _half_maps(els, loss, distinct)
        maps = with_cavities(maps0)
        X = lo.energy_sawtooth(maps, loss, rf, half)
        if not tapered:
            for _ in range(2):       # the orbit's own second-order kicks and path: converges in two
                X = lo.energy_sawtooth(maps, loss, rf, half, extra=om.drive(X))
    change = om.sawtooth(X, tapered=tapered)
    if not tapered:                  # a tapered ring's orbit stays on axis: p0 = 0
        noise = noise_at_orbit(noise, X)
    return with_cavities(maps0 + change), noise, rf, X[:, 4]


def ring_equilibrium6(ring, *, sawtooth: bool = True, tapered: bool = False,
                      warn_below: float = 1e-8, orbit=None) -> RingEquilibrium6:
    """The exact 6-D equilibrium of ``ring`` at every boundary (``Ring.equilibrium(model="6d")``).

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring
        Radiating (an energy) with at least one RFCavity.
    sawtooth : bool
        Include the energy sawtooth's linear chromatic effect (default, as the
        6-D codes track it).
    tapered : bool
        Magnets scaled to the local energy (the sawtooth then has no chromatic effect).
    warn_below : float
        Resonance-warning threshold of (10).
    orbit : (n + 1, 6) array, optional
        A given 6-D closed orbit (canonical (x, p_x, z, p_z, delta, l) at every boundary)
        instead of the package's own: e.g. pyAT's ``find_orbit`` to compare with
        ``ohmi_envelope`` on pyAT's orbit (at pyAT's default steps its radiating bends put
        the orbit's delta level 1.6e-6 off on ESRF, which moves sigma_z by 1.7e-3;
        tests/test_pyat_real_rings.py).

    Returns
    -------
    RingEquilibrium6

    Raises
    ------
    RFError
        No cavity, V < U0, a phase on the wrong side of transition
        (:mod:`coupled_beam.longitudinal`); nothing falls back to 4-D.
    InputError
        No beam energy.
    UnstableError
        A mode without damping.

    References
    ----------
    LNF-64/55 eq. (10), §2 b.
    """
    maps, noise, rf, delta0 = _six_d_maps(ring, sawtooth=sawtooth, tapered=tapered, orbit=orbit)
    S, dec = equilibrium6(maps, noise, periodicity=rf.periodicity, warn_below=warn_below)
    mu, theta, inv_area, spot = _spot(S)
    if not np.all(spot):
        warnings.warn(
            f"the beam spot is degenerate (a zero size) at {int(np.sum(~spot))} of {len(S)} "
            "boundaries: mu, tilt and inv_area are NaN there", PhysicsWarning, stacklevel=3)
    long = _longitudinal_mode(dec)
    order = [k for k in range(3) if k != long] + [long]
    eps = mode_emittances(S[0], dec)[order]
    lam = dec.Delta[::2][order]
    tunes = np.abs(np.angle(lam)) / (2 * np.pi)
    decr = -np.log(np.abs(lam))
    T0 = rf.circumference / 299792458.0
    u0 = rf.energy_loss / (rf.energy * 1e9)
    return RingEquilibrium6(
        s=np.asarray(ring.s, dtype=float).copy(), moments=S,
        sigma_x=np.sqrt(np.clip(S[:, 0, 0], 0, None)), sigma_z=np.sqrt(np.clip(S[:, 2, 2], 0, None)),
        tilt=theta, inv_area=inv_area, mu=mu,
        sigma_delta=np.sqrt(np.clip(S[:, 4, 4], 0, None)), sigma_l=np.sqrt(np.clip(S[:, 5, 5], 0, None)),
        emittances=eps, tunes=tunes, damping_times=T0 / decr,
        partition_numbers=2 * decr / u0 if u0 > 0 else np.full(3, np.nan),
        delta0=delta0, rf=rf, decomposition=dec, ring=ring)


@dataclass(frozen=True)
class ModelError:
    """How far the paper's 4-D + folding result is from the exact 6-D one (6-D minus 4-D).

    Attributes
    ----------
    s : (n+1,) array
    sigma_x, sigma_z, tilt : (n+1,) arrays
        Differences 6-D - 4-D (m, m, rad).
    rel_sigma_x, rel_sigma_z : (n+1,) arrays
        sigma_6d / sigma_4d - 1 (NaN where the 4-D size is 0).
    max_rel : float
        Largest abs relative size difference over s and both planes.
    where : float
        s (m) of that largest difference.
    plane : str
        "x" or "z", the plane of ``max_rel``.
    equilibrium6 : RingEquilibrium6
        The 6-D result the differences come from.
    """

    s: np.ndarray
    sigma_x: np.ndarray
    sigma_z: np.ndarray
    tilt: np.ndarray
    rel_sigma_x: np.ndarray
    rel_sigma_z: np.ndarray
    max_rel: float
    where: float
    plane: str
    equilibrium6: RingEquilibrium6 = field(repr=False)

    def summary(self) -> str:
        """One line: the decorrelation error and where it peaks.

        Examples
        --------
        >>> import numpy as np
        >>> me = ModelError(np.zeros(1), *np.zeros((5, 1)), 0.012, 3.5, "z", None)
        >>> me.summary()
        "paper's decorrelation (§2 b) error: max |sigma_6d/sigma_4d - 1| = 1.20e-02 (sigma_z) at s = 3.5 m"
        """
        return (f"paper's decorrelation (§2 b) error: max |sigma_6d/sigma_4d - 1| = {self.max_rel:.2e} "
                f"(sigma_{self.plane}) at s = {self.where:.6g} m")


def model_error(eq4, ring, *, warn: bool = True, stacklevel: int = 2) -> ModelError:
    """6-D minus 4-D sizes and tilt for a 4-D result ``eq4`` of ``ring``; PhysicsWarning above 1e-3.

    Parameters
    ----------
    eq4 : coupled_beam.equilibrium.RingEquilibrium
    ring : coupled_beam.lattice.Ring
    warn : bool
        Emit :class:`~coupled_beam.errors.PhysicsWarning` naming assumption (b)
        of §2 when a size differs by more than :data:`MODEL_ERROR_WARN`.
    stacklevel : int
        Of the warning (the caller's line by default).

    Returns
    -------
    ModelError

    Raises
    ------
    RFError, InputError
        As :func:`ring_equilibrium6` (no cavity, no energy, ...).
    """
    eq6 = ring_equilibrium6(ring)
    with np.errstate(divide="ignore", invalid="ignore"):
        rx = np.where(eq4.sigma_x > 0, eq6.sigma_x / eq4.sigma_x - 1, np.nan)
        rz = np.where(eq4.sigma_z > 0, eq6.sigma_z / eq4.sigma_z - 1, np.nan)
    ax = np.where(np.isfinite(rx), np.abs(rx), -1.0)
    az = np.where(np.isfinite(rz), np.abs(rz), -1.0)
    if np.max(az) > np.max(ax):
        plane, k, top = "z", int(np.argmax(az)), float(np.max(az))
    else:
        plane, k, top = "x", int(np.argmax(ax)), float(np.max(ax))
    top = max(top, 0.0)
    out = ModelError(s=eq6.s, sigma_x=eq6.sigma_x - eq4.sigma_x, sigma_z=eq6.sigma_z - eq4.sigma_z,
                     tilt=eq6.tilt - eq4.tilt, rel_sigma_x=rx, rel_sigma_z=rz, max_rel=top,
                     where=float(eq6.s[k]), plane=plane, equilibrium6=eq6)
    if warn and top > MODEL_ERROR_WARN:
        warnings.warn(
            f"the paper's assumption (b) of §2 (betatron and synchrotron motion decorrelate) is "
            f"off by {top:.2e} in sigma_{plane} at s = {out.where:.6g} m (6-D vs 4-D, Q_s = "
            f"{eq6.q_s:.4g}); use Ring.equilibrium(model='6d'), or move the cavity where the "
            "dispersion vanishes", PhysicsWarning, stacklevel=stacklevel)
    return out


def _dispersion_frame(M_nc: np.ndarray) -> np.ndarray:
    """Symplectic D with X = D (y_beta, delta, l_tilde): y = y_beta + eta delta, l = l_tilde + a . y_beta.

    eta = (I - N)^-1 M_:4,4 of the one-turn map without cavity; a = J4 eta makes
    D^T J D = J (D^-1 is the same form with -eta, -a).
    """
    eta = np.linalg.solve(np.eye(4) - M_nc[:4, :4], M_nc[:4, 4])
    D = np.eye(6)
    D[:4, 4] = eta
    D[5, :4] = _J6[:4, :4] @ eta
    if not np.allclose(D.T @ _J6 @ D, _J6, rtol=0, atol=1e-12 * max(1.0, float(eta @ eta))):
        D[5, :4] = -D[5, :4]
    return D


@dataclass(frozen=True)
class DecorrelationCorrection:
    """The paper's 4-D + folding result corrected to second order in the synchro-betatron coupling.

    In the dispersion frame X~ = D^-1 X (betatron y_beta, delta, l~) the one-turn
    map splits into M0 = blockdiag(N~, L) (betatron block with the cavity's
    rank-one part, exact longitudinal map with the cavity) and the coupling V
    (the off-diagonal blocks: -eta_c k_rf from l into y_beta, k_rf a_c from
    y_beta into delta, and the O(U0/E) radiation couplings). Formula (10) in the
    eigenbasis of M0 (U0, lambda) expanded in V:

        Q0_ij = R_ij / (1 - lambda_i lambda_j)
        Q1_ij = (V~ Q0 Lambda + Lambda Q0 V~^T)_ij / (1 - lambda_i lambda_j)
        Q2_ij = (V~ Q1 Lambda + Lambda Q1 V~^T + V~ Q0 V~^T)_ij / (1 - lambda_i lambda_j)

    with V~ = U0 V U0^-1, R = U0 B~ U0^T (derivations.synchrotron_coupling).
    Because <l~^2> ~ 1/k_rf while V ~ k_rf, the second order is first order in
    the cavity kick (Q_s^2) and the remainder O(Q_s^4).

    Attributes
    ----------
    s : (n+1,) array
    sigma_paper : (n+1, 2, 2) array
        Paper's absolute x-z covariance (betatron (10) + eta eta^T p2).
    sigma_corrected : (n+1, 2, 2) array
        Paper's + the correction (orders 0-2), propagated with the 6-D maps.
    sigma_exact : (n+1, 2, 2) array
        The 6-D route's (same maps, no sawtooth).
    q_s : float
    """

    s: np.ndarray
    sigma_paper: np.ndarray
    sigma_corrected: np.ndarray
    sigma_exact: np.ndarray
    q_s: float

    @property
    def rel_error_paper(self) -> float:
        """max over s and planes of abs(sigma_paper / sigma_exact - 1) (sizes)."""
        return _max_rel(self.sigma_paper, self.sigma_exact)

    @property
    def rel_error_corrected(self) -> float:
        """max over s and planes of abs(sigma_corrected / sigma_exact - 1) (sizes)."""
        return _max_rel(self.sigma_corrected, self.sigma_exact)


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    da = np.sqrt(np.abs(np.diagonal(a, axis1=-2, axis2=-1)))
    db = np.sqrt(np.abs(np.diagonal(b, axis1=-2, axis2=-1)))
    ok = db > 0
    return float(np.max(np.abs(da[ok] / db[ok] - 1)))


def coupling_series(M: np.ndarray, B: np.ndarray, D: np.ndarray, order: int = 2) -> np.ndarray:
    """Sigma (lab frame) from (10) in the decoupled eigenbasis, expanded to ``order`` in the coupling V.

    Parameters
    ----------
    M, B : (6, 6) arrays
        One-turn map and noise (lab frame).
    D : (6, 6) array
        Dispersion frame (:func:`_dispersion_frame`).
    order : int
        0, 1 or 2.

    Returns
    -------
    (6, 6) array
    """
    from coupled_beam import _kernels
    from coupled_beam.equilibrium import mode_decomposition

    Di = np.linalg.inv(D)
    Mt = Di @ M @ D
    Bt = Di @ B @ Di.T
    M0 = np.zeros((6, 6))
    M0[:4, :4] = Mt[:4, :4]
    M0[4:, 4:] = Mt[4:, 4:]
    V = Mt - M0
    Ub, lb = mode_decomposition(M0[:4, :4])
    Ul, ll = mode_decomposition(M0[4:, 4:])
    U = np.zeros((6, 6), dtype=complex)
    U[:4, :4], U[4:, 4:] = Ub, Ul
    lam = np.concatenate([lb, ll])
    Ui = np.linalg.inv(U)
    Vt = U @ V @ Ui
    Lam = np.diag(lam)

    def solve(F):
        (Q,) = _kernels.mode_covariance(F, lam[:, None], lam[None, :])
        return Q

    Q = solve(U @ Bt @ U.T)
    total = Q.copy()
    if order >= 1:
        Q1 = solve(Vt @ Q @ Lam + Lam @ Q @ Vt.T)
        total = total + Q1
    if order >= 2:
        Q2 = solve(Vt @ Q1 @ Lam + Lam @ Q1 @ Vt.T + Vt @ Q @ Vt.T)
        total = total + Q2
    S = (Ui @ total @ Ui.T).real
    S = D @ S @ D.T
    return 0.5 * (S + S.T)


def decorrelation_correction(ring, *, order: int = 2) -> DecorrelationCorrection:
    """The paper's result, its second-order correction and the exact 6-D one, at every boundary.

    Without the energy sawtooth (the correction concerns §2 b only).

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring
        Radiating, with an RF cavity.
    order : int
        Order in the coupling V (2: first order in the cavity kick).

    Returns
    -------
    DecorrelationCorrection
    """
    maps, noise, rf, _ = _six_d_maps(ring, sawtooth=False, tapered=False)
    P, G = cumulative6(maps, noise)
    M, B = _power(P[-1], G[-1], rf.periodicity)
    maps_nc = np.array(ring.element_maps6, dtype=float)
    Pn = np.eye(6)
    for m in maps_nc:
        Pn = m @ Pn
    D = _dispersion_frame(np.linalg.matrix_power(Pn, rf.periodicity))
    S0 = coupling_series(M, 0.5 * (B + B.T), D, order=order)
    S_corr = P @ S0 @ np.swapaxes(P, -1, -2) + G
    S_exact, dec = equilibrium6(maps, noise, periodicity=rf.periodicity)
    eq4 = ring.equilibrium(model="4d")
    from coupled_beam import distribution

    paper = np.asarray(distribution.absolute_moments(eq4.moments[:, [0, 2]][:, :, [0, 2]], eq4.eta, eq4.p2))
    xz = np.ix_(range(len(P)), [0, 2], [0, 2])
    return DecorrelationCorrection(s=np.asarray(ring.s, dtype=float), sigma_paper=paper,
                                   sigma_corrected=S_corr[xz], sigma_exact=S_exact[xz],
                                   q_s=float(np.sort(np.abs(np.angle(dec.Delta)))[0] / (2 * np.pi)))


def with_cavity(ring, q_s: float, *, harmonic: int = 100):
    """``ring`` with a thin RF cavity at s = 0 whose voltage gives (about) the synchrotron tune ``q_s``.

    The voltage follows the small-amplitude relation
    Q_s^2 = h alpha_c sqrt(V^2 - U0^2) / (2 pi E) (the 6-D result reports the
    exact Q_s).

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring
        Radiating.
    q_s : float
        Wanted synchrotron tune.
    harmonic : int
        Harmonic number of the cavity.

    Returns
    -------
    coupled_beam.lattice.Ring

    Examples
    --------
    >>> from coupled_beam.lattice import Bend, Drift, Quadrupole, Ring
    >>> cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5),
    ...         Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5)]
    >>> r = with_cavity(Ring(cell * 8, energy=1.0), 0.01, harmonic=50)
    >>> round(ring_equilibrium6(r).q_s, 4)
    0.01
    """
    from coupled_beam import longitudinal as lo
    from coupled_beam.lattice import RFCavity

    if ring.energy is None:
        from coupled_beam.errors import InputError

        raise InputError("with_cavity needs a radiating ring (energy=... GeV)", field="energy")
    P = np.eye(6)
    for m in np.asarray(ring.element_maps6):
        P = m @ P
    periods = int(getattr(ring, "periodicity", 1) or 1)
    alpha_c = lo.momentum_compaction(np.linalg.matrix_power(P, periods), ring.circumference)
    u0 = float(np.sum(lo.element_energy_loss(ring.elements, ring.energy))) * periods * ring.energy * 1e9
    v_eff = 2 * np.pi * ring.energy * 1e9 * q_s**2 / (harmonic * abs(alpha_c))
    cav = RFCavity(voltage=float(np.hypot(u0, v_eff)) / periods, harmonic=harmonic)
    return type(ring)([cav, *ring.elements], energy=ring.energy, periodicity=periods)


def decorrelation_summary(ring, q_s: float = 0.01, *, harmonic: int = 100) -> str:
    """One report line: the paper's decorrelation error on ``ring`` (a cavity at s = 0 if it has none).

    Examples
    --------
    >>> from coupled_beam.lattice import Bend, Drift, Quadrupole, Ring, ThinSkewQuadrupole
    >>> cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5),
    ...         Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5)]
    >>> line = decorrelation_summary(Ring([ThinSkewQuadrupole(0.02)] + cell * 8, energy=1.0))
    >>> line.startswith("paper's decorrelation")
    True
    """
    from coupled_beam.lattice import RFCavity

    if not any(isinstance(el, RFCavity) for el in ring.elements):
        ring = with_cavity(ring, q_s, harmonic=harmonic)
    eq4 = ring.equilibrium(model="4d")
    me = model_error(eq4, ring, warn=False)
    return me.summary() + f" (Q_s = {me.equilibrium6.q_s:.4g}, RF cavity at s = 0)"
