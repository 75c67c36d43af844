"""Ring: one cell of frozen elements, a periodicity, and optionally a radiation model.

Conventions
-----------
* 4-D coordinates y_hat = (x, x', z, z') of the paper, **x outward**, z up;
  the 6-D maps act on (x, x', z, z', delta, l) (:mod:`coupled_beam.lattice.maps`).
* ``elements`` is one cell; the ring is ``periodicity`` P identical cells.
  ``s`` holds the n + 1 boundaries of the cell, ``circumference`` the whole
  ring (P times the cell). Arrays "over element boundaries" have n + 1 rows
  and the last row repeats the first (periodicity). The one-turn map at a
  boundary is the cell map from that boundary to the P-th power.
* ``energy`` None: the user's ``D``, ``phi_hat`` (explicit model of (3), (5))
  and ``p2``. With ``energy`` (GeV), :mod:`coupled_beam.radiation` supplies
  the damping and noise of every bend exactly (:meth:`Ring.with_radiation`).

Element attributes (the paper's general piece, :class:`Element`)
----------------------------------------------------------------
=============  ==========  =================================================
attribute      unit        meaning
=============  ==========  =================================================
``length``     m           arc length (0 for thin elements)
``K``          1/m         curvature of the synchronous trajectory
``n``          1           field index
``M``          1/m^2       skew (coupling) gradient, (1)
``H``          1/m         torsion e B_s / (beta E), (1)
``D``          1/m         2x2 radiation damping of (3) (torsion not included)
``phi_hat``    per m       4x4 symmetric noise <psi_hat psi_hat^T>, (5)
``name``       -           free label
``tilt``       rad         roll about s
=============  ==========  =================================================

References
----------
LNF-64/55, eq. (1), (3), (5), §4.

Examples
--------
>>> from coupled_beam.lattice import Bend
>>> ring = Ring([Bend(1.0, K=0.5, n=0.5, D=[[1e-3, 0], [0, 1e-3]],
...                   phi_hat=np.diag([0, 1e-12, 0, 0]))] * 8)
>>> ring.circumference
8.0
>>> ring.moments().shape
(9, 4, 4)
"""

from __future__ import annotations

from functools import cached_property
from typing import Sequence

import numpy as np

from coupled_beam.errors import InputError
import coupled_beam.lattice.maps as maps
from coupled_beam.lattice.elements import Element, _finite

__all__ = ["Ring"]


def _check_index(i, n: int) -> None:
    """InputError unless ``i`` is an integer boundary index (bool, float, text are not)."""
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise InputError(f"boundary index must be an integer in 0..{n}, got {i!r}", value=repr(i))


def _embed_noise(R4: np.ndarray) -> np.ndarray:
    out = np.zeros(R4.shape[:-2] + (6, 6))
    out[..., :4, :4] = R4
    return out


class Ring:
    """A periodic lattice: one cell of elements repeated ``periodicity`` times.

    Parameters
    ----------
    elements : sequence of Element
        One cell in beam order; boundary 0 is the entrance of ``elements[0]``.
    energy : float, optional
        Beam energy in GeV: the standard electron radiation model
        (sugar for ``Ring(elements).with_radiation(energy)``).
    p2 : float, optional
        <p^2>, the relative energy spread squared (used when ``energy`` is
        None; default 0, i.e. betatron sizes only).
    periodicity : int, optional
        Number P of identical cells in the ring (default 1).

    Notes
    -----
    Elements are frozen values: a ring can never hold a stale map; change an
    element with ``el.replace(...)`` and build a new ring.

    References
    ----------
    LNF-64/55, §4.

    Examples
    --------
    >>> from coupled_beam.lattice import Drift, Quadrupole
    >>> ring = Ring([Drift(1.0), Quadrupole(0.2, 1.0), Drift(1.0), Quadrupole(0.2, -1.0)])
    >>> ring.s
    array([0. , 1. , 1.2, 2.2, 2.4])
    >>> ring.one_turn_map().shape
    (4, 4)
    """

    def __init__(self, elements: Sequence[Element], energy: float | None = None,
                 p2: float | None = None, periodicity: int = 1, *, _radiation=None) -> None:
        elements = tuple(elements)
        if not elements:
            raise InputError("a ring needs at least one element")
        for i, el in enumerate(elements):
            if not isinstance(el, Element):
                raise InputError(f"element {i} is {el!r}, not a coupled_beam.lattice.Element",
                                 index=i)
        if (isinstance(periodicity, (bool, np.bool_)) or not isinstance(periodicity, (int, np.integer))
                or periodicity < 1):
            raise InputError(f"periodicity must be a positive integer (number of cells), got "
                             f"{periodicity!r}", field="periodicity", value=repr(periodicity))
        self.elements = elements
        self.periodicity = int(periodicity)
        if self.cell_length <= 0:
            raise InputError("the ring has zero length; add thick elements")
        self.energy = None
        self._radiation = _radiation
        if energy is not None:
            if p2 is not None:
                raise InputError(f"give p2 (= {p2}) or energy (= {energy}), not both: with an "
                                 "energy the radiation model sets p2", field="p2")
            from coupled_beam import radiation

            # the bare bends through the fused kernel, kept for the radiation model (this ring only)
            self._bend_parts: dict = {}
            try:
                self._radiation = radiation.radiation_model(self, energy)
            finally:
                del self._bend_parts          # used up: nothing outlives this build
        if self._radiation is not None:
            self.energy = self._radiation.energy
            p2 = self._radiation.p2
        self.p2 = 0.0 if p2 is None else _finite("p2", p2)
        if self.p2 < 0:
            raise InputError(f"p2 = <p^2> must be >= 0, got {self.p2}", field="p2")

    def __len__(self) -> int:
        return len(self.elements)

    def __repr__(self) -> str:
        extra = f", periodicity={self.periodicity}" if self.periodicity != 1 else ""
        if self.energy is not None:
            extra += f", energy={self.energy!r}"
        return f"Ring(<{len(self.elements)} elements>{extra})"

    # --- transformations ---------------------------------------------------------------
    def with_radiation(self, energy: float) -> "Ring":
        """The same ring with the standard electron radiation model at ``energy`` (GeV): a new ring.

        See :func:`coupled_beam.radiation.with_radiation`.

        Examples
        --------
        >>> from coupled_beam.lattice import Bend
        >>> r = Ring([Bend(1.0, K=0.5, n=0.5)] * 8).with_radiation(0.5)
        >>> r.energy, r.p2 > 0
        (0.5, True)
        """
        from coupled_beam import radiation

        return radiation.with_radiation(self, energy)

    def bare(self) -> "Ring":
        """The same lattice without the radiation model (energy None, p2 0)."""
        return Ring(self.elements, periodicity=self.periodicity)

    # --- geometry ----------------------------------------------------------------------
    @cached_property
    def s(self) -> np.ndarray:
        """Arc length of the n + 1 boundaries of the cell (m)."""
        unique, inv = self._distinct      # the lengths of the distinct elements, spread
        return np.concatenate([[0.0], np.cumsum(np.array([el.length for el in unique])[inv])])

    @property
    def cell_length(self) -> float:
        """Length of one cell (m)."""
        return float(self.s[-1])

    @property
    def circumference(self) -> float:
        """Circumference of the whole ring, P cells (m)."""
        return self.periodicity * self.cell_length

    # --- element maps ------------------------------------------------------------------
    @cached_property
    def _distinct(self) -> tuple[list, np.ndarray]:
        """Distinct elements (by map) and each element's index among them (one pass)."""
        return maps.dedupe(self.elements)

    @cached_property
    def _bare6(self) -> np.ndarray:
        m = maps.element_maps6(self.elements, self._distinct,
                               bend_parts=getattr(self, "_bend_parts", None))
        m.flags.writeable = False
        return m

    @cached_property
    def _bare_prefix6(self) -> np.ndarray:
        """Cumulative bare 6x6 maps C_i = M_{i-1} ... M_0 over the cell, (n + 1, 6, 6)."""
        C = maps.prefix_products(np.asarray(self._bare6))
        C.flags.writeable = False
        return C

    @cached_property
    def _user_noise4(self) -> np.ndarray:
        r = maps.element_noise4(self.elements, self._distinct)
        r.flags.writeable = False
        return r

    @property
    def radiation(self):
        """The radiation model (:class:`coupled_beam.radiation.RadiationModel`) or None."""
        return self._radiation

    @property
    def element_maps6(self) -> np.ndarray:
        """6x6 map of every element of the cell, (n, 6, 6); radiation damping included when radiating."""
        if self._radiation is not None:
            return self._radiation.maps6.copy()
        return self._bare6.copy()

    @property
    def element_noise6(self) -> np.ndarray:
        """6x6 quantum noise of every element at its exit, (n, 6, 6) (from phi_hat without radiation)."""
        if self._radiation is not None:
            return self._radiation.noise6.copy()
        return _embed_noise(self._user_noise4)

    @property
    def _maps4(self) -> np.ndarray:
        if self._radiation is not None:
            return self._radiation.maps4
        return self._bare6[:, :4, :4]

    @property
    def _noise4(self) -> np.ndarray:
        if self._radiation is not None:
            return self._radiation.noise4
        return self._user_noise4

    def element_maps(self) -> np.ndarray:
        """Betatron transfer map of every element (4-D route of the paper), (n, 4, 4)."""
        return np.array(self._maps4)

    def noise_integrals(self) -> np.ndarray:
        """Betatron noise integral of every element referred to its exit, (n, 4, 4)."""
        return np.array(self._noise4)

    def augmented_maps(self) -> np.ndarray:
        """5x5 maps [[N, n], [0, 1]] on (y_hat, p) of the bare lattice (user D included), (n, 5, 5)."""
        return np.array(self._bare6[:, :5, :5])

    # --- cumulative --------------------------------------------------------------------
    @cached_property
    def _scan(self) -> maps.AffineScan:
        """The blocked prefix scan of the betatron maps and noise over the cell (this ring's only)."""
        return maps.AffineScan(np.asarray(self._maps4), np.asarray(self._noise4))

    @cached_property
    def _cumulative(self) -> tuple[np.ndarray, np.ndarray]:
        """(P, G): betatron maps N(s_i, 0) and noise accumulated from 0 to s_i over the cell."""
        return self._scan.arrays()

    @cached_property
    def _turn4(self) -> tuple[np.ndarray, np.ndarray]:
        C, G = self._scan.total
        return maps.power_affine(C, G, self.periodicity)

    def _rotated4(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.elements)
        if i % n == 0:
            return self._turn4
        order = np.r_[i:n, 0:i]
        C, G = maps.prefix_affine(np.asarray(self._maps4)[order], np.asarray(self._noise4)[order])
        return maps.power_affine(C[-1], G[-1], self.periodicity)

    def transfer_map(self, i: int, j: int) -> np.ndarray:
        """N(s_j, s_i) from boundary i to boundary j (going on into the next cell if j < i).

        Examples
        --------
        >>> from coupled_beam.lattice import Drift
        >>> ring = Ring([Drift(1.0), Drift(2.0)])
        >>> float(ring.transfer_map(0, 2)[0, 1])
        3.0
        """
        n = len(self.elements)
        _check_index(i, n)
        _check_index(j, n)
        if not (0 <= i <= n and 0 <= j <= n):
            raise InputError(f"boundary indices must be in 0..{n}, got ({i}, {j})")
        order = np.r_[i:j] if j >= i else np.r_[i:n, 0:j]
        if len(order) == 0:
            return np.eye(4)
        return maps.prefix_products(np.asarray(self._maps4)[order])[-1]

    def _locate(self, s: float) -> tuple[int, float]:
        """Element k with s_k <= s < s_(k+1) (last one at coinciding boundaries), depth s - s_k."""
        k, d = maps.locate(self.s, _finite("s", s), self.cell_length)
        return int(k), float(d)

    def _partial4(self, k: int, depth: float) -> np.ndarray:
        return maps.partial_maps6(self.elements[k], depth)[:4, :4]

    def transfer_map_between(self, s1: float, s2: float) -> np.ndarray:
        """N(s2, s1) between any two positions (m), s2 downstream of s1 within one cell.

        Positions are folded into one cell [0, s_cell). A position at an element
        boundary is outside the element that starts there (before its entrance
        edge) and after any zero-length element located at it. ``s2 == s1``
        gives 1. Bare lattice (the user's D included; no radiation model).

        Parameters
        ----------
        s1, s2 : float
            Arc lengths (m).

        Returns
        -------
        (4, 4) array

        References
        ----------
        LNF-64/55, §4 (N(s, s')).

        Examples
        --------
        >>> from coupled_beam.lattice import Drift
        >>> ring = Ring([Drift(1.0), Drift(2.0)])
        >>> float(ring.transfer_map_between(0.25, 1.5)[0, 1])
        1.25
        >>> float(ring.transfer_map_between(1.5, 0.25)[0, 1])   # around the ring
        1.75
        """
        k1, d1 = self._locate(s1)
        k2, d2 = self._locate(s2)
        bare = self._bare6[:, :4, :4]
        if k1 == k2 and 0.0 < d1 <= d2:
            return self._partial4(k1, d2) @ np.linalg.inv(self._partial4(k1, d1))
        if k1 == k2 and d1 == d2 == 0.0:
            return np.eye(4)
        pre, b1 = np.eye(4), k1
        if d1 > 0.0:
            pre, b1 = bare[k1] @ np.linalg.inv(self._partial4(k1, d1)), k1 + 1
        post = np.eye(4)
        if d2 > 0.0:
            post = self._partial4(k2, d2)
        n = len(self.elements)
        order = np.r_[b1:k2] if k2 >= b1 else np.r_[b1:n, 0:k2]
        mid = maps.prefix_products(bare[order])[-1] if len(order) else np.eye(4)
        return post @ mid @ pre

    def partial_map6(self, k: int, depth: float, *, bare: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """6x6 map and noise from the entrance of element k (before its edge) to depth d inside.

        Parameters
        ----------
        k : int
            Element index in the cell.
        depth : float
            Depth (m), 0 <= d <= length; d = length gives the whole element.
        bare : bool
            Without the radiation model (the user's D and phi_hat only).

        Returns
        -------
        M : (6, 6) array
        G : (6, 6) array
            Noise accumulated over [0, d] at depth d.

        Examples
        --------
        >>> from coupled_beam.lattice import Drift
        >>> M, G = Ring([Drift(2.0)]).partial_map6(0, 0.5)
        >>> float(M[0, 1]), float(G.max())
        (0.5, 0.0)
        """
        _check_index(k, len(self.elements))
        el = self.elements[k]
        d = _finite("depth", depth)
        if d <= 0.0 or el.length == 0.0 or el.is_thin:
            return np.eye(6), np.zeros((6, 6))
        if d >= el.length:
            if bare:
                return np.array(self._bare6[k]), _embed_noise(self._user_noise4[k])
            return self.element_maps6[k], self.element_noise6[k]
        if self._radiation is not None and not bare:
            out = self._radiation.partial(el, d)
            if out is not None:
                return out
        return maps.partial_maps6(el, d), _embed_noise(maps.partial_noise4(el, d))

    def betatron_inside(self, k: int, depth: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The 4-D route inside element k: betatron map N and noise R from its entrance to depth d, and eta there.

        Returns
        -------
        N, R : (4, 4) arrays
            As :meth:`element_maps` / :meth:`noise_integrals` for the part [0, d].
        eta : (4,) array
            (xi, xi', zeta, zeta') at depth d (bare lattice).

        Examples
        --------
        >>> from coupled_beam.lattice import Bend
        >>> ring = Ring([Bend(1.0, K=0.5, n=0.5)] * 4)
        >>> N, R, eta = ring.betatron_inside(1, 0.5)
        >>> round(float(eta[0]), 12)
        4.0
        """
        Mb, _ = self.partial_map6(k, depth, bare=True)
        eta_in = self._eta[k]
        eta = Mb[:4, :4] @ eta_in + Mb[:4, 4]
        M, G = self.partial_map6(k, depth)
        if self._radiation is None:
            return M[:4, :4], G[:4, :4], eta
        N = M[:4, :4] - np.outer(eta, M[4, :4])
        gy = G[4, :4]
        R = G[:4, :4] - np.outer(eta, gy) - np.outer(gy, eta) + G[4, 4] * np.outer(eta, eta)
        return N, 0.5 * (R + R.T), eta

    # --- one-turn ----------------------------------------------------------------------
    def one_turn_map(self, i: int = 0) -> np.ndarray:
        """N(s_i) = N(s_i, s_i - s0), 4x4: the cell map from s_i to the power P.

        Examples
        --------
        >>> from coupled_beam.lattice import Drift
        >>> float(Ring([Drift(1.0), Drift(2.0)]).one_turn_map(1)[0, 1])
        3.0
        """
        return self._one_turn(i)[0].copy()

    def one_turn_noise(self, i: int = 0) -> np.ndarray:
        """The paper's script-R at s_i: int_{s_i - s0}^{s_i} N phi_hat N^T ds', 4x4.

        Examples
        --------
        >>> from coupled_beam.lattice import Drift
        >>> r = Ring([Drift(1.0, phi_hat=np.diag([0, 1.0, 0, 0]))])
        >>> float(r.one_turn_noise()[1, 1])
        1.0
        """
        return self._one_turn(i)[1].copy()

    def _one_turn(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.elements)
        _check_index(i, n)
        if not -n <= i <= n:
            raise InputError(f"boundary index {i} out of range 0..{n}", value=i)
        return self._rotated4(int(i) % n)

    def one_turn_maps(self) -> np.ndarray:
        """N(s_i) at every boundary, (n + 1, 4, 4), in O(n): P_i N(s_0) P_i^-1.

        Examples
        --------
        >>> from coupled_beam.lattice import Drift
        >>> Ring([Drift(1.0), Drift(2.0)]).one_turn_maps().shape
        (3, 4, 4)
        """
        P, _ = self._cumulative
        N0 = self._turn4[0]
        return maps.mm(maps.mm(P, N0), np.linalg.inv(P))

    def one_turn_map6(self, i: int = 0) -> np.ndarray:
        """6x6 one-turn map at boundary i (radiation damping included when radiating).

        Examples
        --------
        >>> from coupled_beam.lattice import Bend
        >>> M = Ring([Bend(1.0, K=0.5, n=0.5)] * 4).one_turn_map6()
        >>> M.shape, round(float(M[5, 4]), 12) != 0.0
        ((6, 6), True)
        """
        n = len(self.elements)
        _check_index(i, n)
        if not -n <= i <= n:
            raise InputError(f"boundary index {i} out of range 0..{n}", value=i)
        i = int(i) % n
        M = self.element_maps6
        order = np.r_[i:n, 0:i]
        C = maps.prefix_products(M[order])[-1]
        return np.linalg.matrix_power(C, self.periodicity)

    # --- physics facades ---------------------------------------------------------------
    def moments(self, *, warn_below: float = 1e-8, precision: int | None = None) -> np.ndarray:
        """Equilibrium betatron <y_hat y_hat^T> at every boundary, (n + 1, 4, 4).

        Formula (10) once at s = 0, then exact propagation (O(n)); see
        :func:`coupled_beam.equilibrium.moments_around` (``precision``: digits of
        (10) in mpmath, None = float64).

        Examples
        --------
        >>> from coupled_beam.lattice import Bend
        >>> b = Bend(1.0, K=0.5, n=0.5, D=0.01 * np.eye(2), phi_hat=np.diag([0, 1e-10, 0, 0]))
        >>> float(Ring([b] * 4).moments()[2, 0, 0])   # phi / (2 D11 K^2 (1 - n))
        4e-08
        """
        from coupled_beam.equilibrium import moments_around

        return moments_around(self, warn_below=warn_below, precision=precision)[0]

    def closed_orbit_functions(self) -> np.ndarray:
        """(xi, xi', zeta, zeta') at every boundary, (n + 1, 4); see :func:`coupled_beam.optics.closed_orbit_functions`."""
        return self._eta.copy()

    @cached_property
    def _eta(self) -> np.ndarray:
        from coupled_beam.optics import closed_orbit_from_prefix

        eta = closed_orbit_from_prefix(self._bare_prefix6, self.periodicity)
        eta.flags.writeable = False
        return eta

    def equilibrium(self, model: str = "4d", *, warn_below: float = 1e-8,
                    precision: int | None = None, **kwargs):
        """Equilibrium moments around the ring: formula (10) at s_0, then propagation.

        The implementation is :func:`coupled_beam.equilibrium.ring_equilibrium`
        (its docstring lists every option and field).

        Parameters
        ----------
        model : {"4d", "6d"}
            ``"4d"``: the paper, (10) on the betatron maps and folding (8);
            ``"6d"``: (10) on the 6x6 one-turn map with the cavity and the
            correlated noise (:mod:`coupled_beam.sixd`).
        warn_below : float
            Warn (:class:`~coupled_beam.errors.ResonanceWarning`) when some
            abs(1 - Delta_r Delta_s) is below this.
        precision : int or None
            Solve formula (10) with that many digits (mpmath); None = float64.
        **kwargs
            Further options of ``ring_equilibrium`` (e.g. ``sawtooth``, ``tapered`` of the 6-D model).

        Returns
        -------
        coupled_beam.equilibrium.RingEquilibrium
            Fields ``s``, ``moments``, ``eta``, ``p2``, ``sigma_x``,
            ``sigma_z``, ``tilt``, ``inv_area``, ...; see its docstring.

        References
        ----------
        LNF-64/55, eq. (10), §3, appendix.

        Examples
        --------
        >>> from coupled_beam.lattice import Bend
        >>> cell = [Bend(1.0, K=0.5, n=0.5, D=0.01 * np.eye(2),
        ...              phi_hat=np.diag([0, 1e-10, 0, 1e-11]))]
        >>> eq = Ring(cell * 4, p2=1e-6).equilibrium()
        >>> float(eq.moments[0, 0, 0])   # phi22 / (2 D11 K^2 (1 - n))
        4e-08
        >>> round(float(eq.sigma_x[0]), 6)   # sqrt(<x_b^2> + xi^2 p2), xi = 4 m
        0.004005
        """
        from coupled_beam.equilibrium import ring_equilibrium

        return ring_equilibrium(self, model=model, warn_below=warn_below, precision=precision,
                                **kwargs)
