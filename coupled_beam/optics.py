"""Closed-orbit functions (xi, xi', zeta, zeta') of eq. (2): the one solver.

The closed orbit for a relative energy deviation p is y_c(s) = eta(s) p,
eq. (2), with eta the periodic solution of d eta/ds = A eta + b (b the
K-forcing, the -K p x term of (1)). From the 5x5 map [[N, n], [0, 1]] of one
cell (rows/cols 0..4 of the 6x6 maps, :mod:`coupled_beam.lattice.maps`):
eta(0) = (1 - N)^-1 n, then eta(s_i) = C_i[:4, :4] eta(0) + C_i[:4, 4] with the
cumulative maps C_i, all boundaries at once (no Python step per element).
zeta != 0 arises only through coupling (M, H, tilts) or vertical bending.
The bare lattice is used (the user's explicit damping D included, as in (3);
the radiation model's own damping is not: it changes eta by O(U0/E)).

A periodic ring (P cells) has the cell-periodic eta (the fixed point of the
cell map is the fixed point of its P-th power).

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

from __future__ import annotations

import numpy as np

from coupled_beam.errors import ResonanceError
from coupled_beam.lattice.maps import prefix_products

__all__ = ["closed_orbit_functions", "closed_orbit_from_maps", "closed_orbit_from_prefix"]

#: smallest allowed min |1 - lambda| of the one-turn map (integer resonance)
GAP_MIN = 1e-10


def closed_orbit_from_maps(maps5: np.ndarray, periodicity: int = 1) -> np.ndarray:
    """(xi, xi', zeta, zeta') at the n + 1 boundaries from the (n, 5, 5) (or 6x6) element maps.

    Parameters
    ----------
    maps5 : (n, 5, 5) or (n, 6, 6) array
        Element maps on (y_hat, p) (a 6x6 map's rows/cols 0..4 are used).
    periodicity : int
        Cells in the ring: the one-turn map is the cell map to this power
        (only its eigenvalues are checked; eta is cell-periodic).

    Returns
    -------
    (n + 1, 4) array
        Last row = first (periodicity).

    Raises
    ------
    ResonanceError
        1 - N is singular: an integer tune, no closed orbit.

    References
    ----------
    LNF-64/55, eq. (2).

    Examples
    --------
    >>> M = np.eye(5); M[:2, :2] = [[0.0, 1.0], [-1.0, 0.0]]; M[2:4, 2:4] = M[:2, :2]
    >>> M[1, 4] = 1.0                     # a quarter-turn with an x' kick per unit p
    >>> closed_orbit_from_maps(M[None])[0].round(12).tolist()
    [0.5, 0.5, 0.0, 0.0]
    """
    m = np.asarray(maps5, dtype=float)[:, :5, :5]
    return closed_orbit_from_prefix(prefix_products(m), periodicity)


def closed_orbit_from_prefix(C: np.ndarray, periodicity: int = 1) -> np.ndarray:
    """(xi, xi', zeta, zeta') at the n + 1 boundaries from the cumulative maps C_i (5x5 or 6x6).

    See :func:`closed_orbit_from_maps` (same result, the prefix products given).

    Examples
    --------
    >>> from coupled_beam.lattice import Ring, Bend
    >>> r = Ring([Bend(1.0, K=0.5, n=0.5)] * 4)
    >>> round(float(closed_orbit_from_prefix(r._bare_prefix6)[1, 0]), 12)
    4.0
    """
    C = np.asarray(C, dtype=float)
    T = C[-1]
    N, n = T[:4, :4], T[:4, 4]
    lam = np.linalg.eigvals(N)
    gap = float(np.min(np.abs(1.0 - lam ** int(periodicity))))
    if not gap >= GAP_MIN:
        raise ResonanceError(
            f"no closed orbit: the one-turn map has an eigenvalue at 1 (an integer tune, "
            f"min |1 - lambda| = {gap:.2e}); the closed-orbit functions xi, zeta of eq. (2) do not "
            "exist: move the tunes away from an integer", value=gap)
    eta0 = np.linalg.solve(np.eye(4) - N, n)
    eta = np.einsum("nij,j->ni", C[:, :4, :4], eta0) + C[:, :4, 4]
    eta[-1] = eta0   # exact periodicity (the propagated value differs by round-off)
    return eta


def closed_orbit_functions(ring) -> np.ndarray:
    """Closed-orbit functions (xi, xi', zeta, zeta') at every element boundary of a ring.

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring
        Uses ``ring.augmented_maps()`` (bare lattice) and ``ring.periodicity``.

    Returns
    -------
    (n + 1, 4) ndarray
        Rows at ``ring.s``: (xi (m), xi' (1), zeta (m), zeta' (1)); last row = first.

    Raises
    ------
    ResonanceError
        If 1 - N is singular (an eigenvalue of N at 1: integer resonance,
        no closed orbit).

    References
    ----------
    LNF-64/55, eqs. (1), (2), §2 a.

    Examples
    --------
    >>> from coupled_beam.lattice import Ring, Bend
    >>> eta = closed_orbit_functions(Ring([Bend(1.0, K=0.5, n=0.5)] * 4))
    >>> round(float(eta[2, 0]), 12)
    4.0
    """
    eta = getattr(ring, "closed_orbit_functions", None)
    if eta is not None:          # a Ring caches it (from its cumulative bare maps)
        return eta()
    return closed_orbit_from_maps(ring.augmented_maps(), getattr(ring, "periodicity", 1))
