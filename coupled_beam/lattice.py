"""Elements with piecewise-constant K, n, M, H, damping D and noise phi_hat; rings.

Every element is a piece of the paper's machine (§1, §4) with constant
coefficients, so its betatron transfer map is exactly ``expm(A L)`` with A(s)
the 4x4 matrix of §4, generated from the Lagrangian (1) by
:mod:`derivations.equations_of_motion` (no hand-typed entries here).

Conventions
-----------
* Coordinates y_hat = (x, x', z, z'), **x outward** (away from the centre of
  curvature), z up; lengths in m, K = 1/rho in 1/m (> 0 bending inward),
  n the field index, M (skew) in 1/m^2, H (torsion, solenoid) in 1/m,
  damping D (2x2) in 1/m, noise ``phi_hat`` (4x4, symmetric) per metre.
* Equations of motion: dy/ds = A y + b p + psi_hat, with b = (0, K, 0, 0):
  an electron with more energy (p > 0) sits outside, xi > 0 in bends.
* ``transfer_map()`` is N(s_exit, s_entry); ``noise_integral()`` is
  int N(s_exit, s') phi_hat N^T(s_exit, s') ds' over the element (Van Loan's
  block exponential, exact for constant coefficients);
  ``augmented_map()`` is the 5x5 [[N, n], [0, 1]] acting on (y, p).

Element attributes (all elements)
---------------------------------
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
=============  ==========  =================================================

Radiation hook: ``Ring(elements, energy=None, p2=None)``. With ``energy``
None the user's ``D`` and ``phi_hat`` of each element and ``p2`` are used.
With ``energy`` (GeV) given, :func:`coupled_beam.radiation.apply_radiation`
``(elements, energy) -> (elements, p2)`` supplies them (issue 9).

References
----------
LNF-64/55, eq. (1), (3), (5), §4.

Examples
--------
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

from coupled_beam import elements as _elements
from coupled_beam.elements import (Bend, Drift, Element, Generic, Quadrupole, SkewQuadrupole,  # noqa: F401 (re-exported)
                                   Solenoid, ThinSkewQuadrupole, _finite, van_loan)
from coupled_beam.errors import InputError

__all__ = [*_elements.__all__, "Ring"]


def _check_index(i, n: int) -> None:
    """InputError unless ``i`` is an integer boundary index (bool, float, text are not)."""
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise InputError(f"boundary index must be an integer in 0..{n}, got {i!r}", value=repr(i))


class Ring:
    """A periodic sequence of elements (period s0 = sum of lengths).

    Parameters
    ----------
    elements : sequence of Element
        In beam order; boundary 0 is the entrance of ``elements[0]``.
    energy : float, optional
        Beam energy in GeV; switches on :mod:`coupled_beam.radiation`
        (``apply_radiation(elements, energy) -> (elements, p2)``), which sets
        D, phi_hat and p2.
    p2 : float, optional
        <p^2>, the relative energy spread squared (used when ``energy`` is
        None; default 0, i.e. betatron sizes only).

    Notes
    -----
    Boundaries: ``s`` has ``len(elements) + 1`` entries, 0 ... s0; arrays
    "over element boundaries" have that length and the last row repeats the
    first (periodicity).

    References
    ----------
    LNF-64/55, §4.

    Examples
    --------
    >>> ring = Ring([Drift(1.0), Quadrupole(0.2, 1.0), Drift(1.0), Quadrupole(0.2, -1.0)])
    >>> ring.s
    array([0. , 1. , 1.2, 2.2, 2.4])
    >>> ring.one_turn_map().shape
    (4, 4)
    """

    def __init__(self, elements: Sequence[Element], energy: float | None = None,
                 p2: float | None = None) -> None:
        elements = list(elements)
        if not elements:
            raise InputError("a ring needs at least one element")
        for i, el in enumerate(elements):
            if not isinstance(el, Element):
                raise InputError(f"element {i} is {el!r}, not a coupled_beam.lattice.Element",
                                 index=i)
        self.energy = None if energy is None else _finite("energy", energy)
        if self.energy is not None:
            if p2 is not None:
                raise InputError(f"give p2 (= {p2}) or energy (= {energy}), not both: with an "
                                 "energy the radiation model sets p2", field="p2")
            from coupled_beam import radiation

            elements, p2 = radiation.apply_radiation(elements, self.energy)
        self.elements = tuple(elements)
        self.p2 = 0.0 if p2 is None else _finite("p2", p2)
        if self.p2 < 0:
            raise InputError(f"p2 = <p^2> must be >= 0, got {self.p2}", field="p2")
        if self.circumference <= 0:
            raise InputError("the ring has zero length; add thick elements")

    def __len__(self) -> int:
        return len(self.elements)

    @cached_property
    def s(self) -> np.ndarray:
        """Arc length of the n + 1 element boundaries (m)."""
        return np.concatenate([[0.0], np.cumsum([el.length for el in self.elements])])

    @property
    def circumference(self) -> float:
        """Period s0 (m)."""
        return float(self.s[-1])

    @cached_property
    def _pieces(self) -> dict:
        """Stacked element data and the index of distinct elements (maps computed once each)."""
        els = self.elements
        n = len(els)
        data = {
            "A": np.stack([el.A for el in els]),
            "phi": np.stack([el.phi_hat for el in els]),
            "L": np.array([el.length for el in els]),
            "entrance": np.stack([el.entrance for el in els]),
            "exit": np.stack([el.exit for el in els]),
            "b": np.stack([el.b for el in els]),
        }
        key = np.concatenate([data[k].reshape(n, -1) for k in
                              ("A", "phi", "entrance", "exit", "b")] + [data["L"][:, None]], axis=1)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        data["first"], data["inverse"] = first, inverse.reshape(n)
        return data

    @cached_property
    def _maps_and_noise(self) -> tuple[np.ndarray, np.ndarray]:
        d = self._pieces
        f, inv = d["first"], d["inverse"]
        N, R = van_loan(d["A"][f], d["phi"][f], d["L"][f])
        ex = d["exit"][f]
        N = (ex @ N @ d["entrance"][f])[inv]
        R = (ex @ R @ np.swapaxes(ex, -1, -2))[inv]
        for i, el in enumerate(self.elements):   # elements with their own map (thin ones)
            if type(el).transfer_map is not Element.transfer_map:
                N[i] = el.transfer_map()
                R[i] = el.noise_integral()
        return N, R

    def element_maps(self) -> np.ndarray:
        """Transfer map of every element, (n, 4, 4)."""
        return self._maps_and_noise[0].copy()

    def noise_integrals(self) -> np.ndarray:
        """Noise integral of every element referred to its exit, (n, 4, 4)."""
        return self._maps_and_noise[1].copy()

    def augmented_maps(self) -> np.ndarray:
        """5x5 maps [[N, n], [0, 1]] on (y_hat, p) of every element, (n, 5, 5)."""
        from scipy.linalg import expm

        d = self._pieces
        f, inv = d["first"], d["inverse"]
        big = np.zeros((len(f), 5, 5))
        big[:, :4, :4] = d["A"][f] * d["L"][f, None, None]
        big[:, :4, 4] = d["b"][f] * d["L"][f, None]
        body = expm(big)
        edge_in = np.tile(np.eye(5), (len(f), 1, 1))
        edge_in[:, :4, :4] = d["entrance"][f]
        edge_out = np.tile(np.eye(5), (len(f), 1, 1))
        edge_out[:, :4, :4] = d["exit"][f]
        out = (edge_out @ body @ edge_in)[inv]
        for i, el in enumerate(self.elements):
            if type(el).augmented_map is not Element.augmented_map:
                out[i] = el.augmented_map()
        return out

    @cached_property
    def _cumulative(self) -> tuple[np.ndarray, np.ndarray]:
        N, R = self._maps_and_noise
        P = np.empty((len(N) + 1, 4, 4))
        G = np.empty((len(N) + 1, 4, 4))
        P[0] = np.eye(4)
        G[0] = 0.0
        for i in range(len(N)):
            P[i + 1] = N[i] @ P[i]
            G[i + 1] = N[i] @ G[i] @ N[i].T + R[i]
        return P, G

    def transfer_map(self, i: int, j: int) -> np.ndarray:
        """N(s_j, s_i) from boundary i to boundary j (going around if j < i).

        Examples
        --------
        >>> ring = Ring([Drift(1.0), Drift(2.0)])
        >>> float(ring.transfer_map(0, 2)[0, 1])
        3.0
        """
        n = len(self.elements)
        _check_index(i, n)
        _check_index(j, n)
        if not (0 <= i <= n and 0 <= j <= n):
            raise InputError(f"boundary indices must be in 0..{n}, got ({i}, {j})")
        N = self._maps_and_noise[0]
        out = np.eye(4)
        k = i
        steps = j - i if j >= i else j - i + n
        for _ in range(steps):
            out = N[k % n] @ out
            k += 1
        return out

    def _locate(self, s: float) -> tuple[int, float]:
        """Element k with s_k <= s < s_(k+1) (last one at coinciding boundaries), depth s - s_k."""
        s = float(_finite("s", s)) % self.circumference
        k = int(np.searchsorted(self.s, s, side="right")) - 1
        k = min(max(k, 0), len(self.elements) - 1)
        return k, s - float(self.s[k])

    def transfer_map_between(self, s1: float, s2: float) -> np.ndarray:
        """N(s2, s1) between any two positions (m), s2 downstream of s1 within one turn.

        Positions are folded into [0, s0). A position at an element boundary is
        outside the element that starts there (before its entrance edge) and
        after any zero-length element located at it. ``s2 == s1`` gives 1.

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
        >>> ring = Ring([Drift(1.0), Drift(2.0)])
        >>> float(ring.transfer_map_between(0.25, 1.5)[0, 1])
        1.25
        >>> float(ring.transfer_map_between(1.5, 0.25)[0, 1])   # around the ring
        1.75
        """
        from scipy.linalg import expm

        k1, d1 = self._locate(s1)
        k2, d2 = self._locate(s2)
        el1, el2 = self.elements[k1], self.elements[k2]
        if k1 == k2 and 0.0 < d1 <= d2:
            return expm(el1.A * (d2 - d1))
        pre, b1 = np.eye(4), k1
        if d1 > 0.0:
            pre, b1 = el1.exit @ expm(el1.A * (el1.length - d1)), k1 + 1
        post = np.eye(4)
        if d2 > 0.0:
            post = expm(el2.A * d2) @ el2.entrance
        if k1 == k2 and d1 == d2 == 0.0:
            return np.eye(4)
        return post @ self.transfer_map(b1, k2) @ pre

    def one_turn_map(self, i: int = 0) -> np.ndarray:
        """N(s_i) = N(s_i, s_i - s0), 4x4 (composed element by element from s_i).

        Examples
        --------
        >>> float(Ring([Drift(1.0), Drift(2.0)]).one_turn_map(1)[0, 1])
        3.0
        """
        N, _ = self._one_turn(i)
        return N

    def one_turn_noise(self, i: int = 0) -> np.ndarray:
        """The paper's script-R at s_i: int_{s_i - s0}^{s_i} N phi_hat N^T ds', 4x4.

        Examples
        --------
        >>> r = Ring([Drift(1.0, phi_hat=np.diag([0, 1.0, 0, 0]))])
        >>> float(r.one_turn_noise()[1, 1])
        1.0
        """
        _, R = self._one_turn(i)
        return R

    def _one_turn(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.elements)
        _check_index(i, n)
        if not -n <= i <= n:
            raise InputError(f"boundary index {i} out of range 0..{n}", value=i)
        Ns, Rs = self._maps_and_noise
        N, R = np.eye(4), np.zeros((4, 4))
        for k in range(i, i + n):
            M = Ns[k % n]
            N = M @ N
            R = M @ R @ M.T + Rs[k % n]
        return N, 0.5 * (R + R.T)

    def one_turn_maps(self) -> np.ndarray:
        """N(s_i) at every boundary, (n + 1, 4, 4), in O(n): P_i N(s_0) P_i^-1.

        Examples
        --------
        >>> Ring([Drift(1.0), Drift(2.0)]).one_turn_maps().shape
        (3, 4, 4)
        """
        P, _ = self._cumulative
        N0 = P[-1]
        return P @ N0 @ np.linalg.inv(P)

    def moments(self, *, warn_below: float = 1e-8, precision: int | None = None) -> np.ndarray:
        """Equilibrium betatron <y_hat y_hat^T> at every boundary, (n + 1, 4, 4).

        Formula (10) once at s = 0, then exact propagation (O(n)); see
        :func:`coupled_beam.equilibrium.moments_around` (``precision``: digits of
        (10) in mpmath, None = float64).

        Examples
        --------
        >>> b = Bend(1.0, K=0.5, n=0.5, D=0.01 * np.eye(2), phi_hat=np.diag([0, 1e-10, 0, 0]))
        >>> float(Ring([b] * 4).moments()[2, 0, 0])   # phi / (2 D11 K^2 (1 - n))
        4e-08
        """
        from coupled_beam.equilibrium import moments_around

        return moments_around(self, warn_below=warn_below, precision=precision)[0]

    def equilibrium(self, *, warn_below: float = 1e-8, precision: int | None = None):
        """Equilibrium moments around the ring: formula (10) at s_0, then propagation.

        Parameters
        ----------
        warn_below : float
            Warn (:class:`~coupled_beam.errors.ResonanceWarning`) when some
            abs(1 - Delta_r Delta_s) is below this.
        precision : int or None
            Solve formula (10) with that many digits (mpmath); None = float64.

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
        >>> cell = [Bend(1.0, K=0.5, n=0.5, D=0.01 * np.eye(2),
        ...              phi_hat=np.diag([0, 1e-10, 0, 1e-11]))]
        >>> eq = Ring(cell * 4, p2=1e-6).equilibrium()
        >>> float(eq.moments[0, 0, 0])   # phi22 / (2 D11 K^2 (1 - n))
        4e-08
        >>> round(float(eq.sigma_x[0]), 6)   # sqrt(<x_b^2> + xi^2 p2), xi = 4 m
        0.004005
        """
        from coupled_beam.equilibrium import ring_equilibrium

        return ring_equilibrium(self, warn_below=warn_below, precision=precision)
