"""The longitudinal plane: RF cavities, synchronous phase, k_rf, Q_s, the energy sawtooth.

Beyond the paper (its §2 b assumes betatron and synchrotron motion decorrelate
and never needs the RF); the 6-D equilibrium of :mod:`coupled_beam.sixd` needs it.

Conventions (coordinates X = (x, x', z, z', delta, l), l the path lengthening,
same sign as pyAT's ct: a particle with l > 0 arrives late):

* a cavity of voltage V (volts) and frequency f gives the energy change
  e V sin(phi - 2 pi f l / c) to a particle of path lengthening l, so a thin
  cavity on the synchronous particle (l = 0) adds ``gain = V sin(phi) / E`` to
  delta and, linearised, ``delta += k_rf l`` with

      k_rf = -(V / E) (2 pi f / c) cos(phi)        (1/m; E in eV)

  (the contract's thin map ``map6_rfcavity(k_rf)``);
* the synchronous phase restores the energy loss U0 per turn:
  sum over cavities of V sin(phi) = U0. With ``phase=None`` every cavity runs at
  the same phi_s, sin(phi_s) = U0 / sum V, with cos(phi_s) > 0 above transition
  (momentum compaction alpha_c > 0: a late particle has more energy and must
  gain less) and cos(phi_s) < 0 below it (phi_s = pi - arcsin(U0 / sum V));
* the synchrotron motion is stable when k_rf alpha_c < 0 (and
  -4 < alpha_c C k_rf), the sign that :func:`check_phase` enforces;
* frequency from the harmonic number: f = h c / C (C the whole ring).

Energy sawtooth: on the 6-D closed orbit delta drops by U_i / E through every
bend (U_i = C_gamma E^4 int K^2 ds / 2 pi) and jumps by V sin(phi) / E at each
cavity; its level is fixed by the RF (the closed orbit has no net path
lengthening per turn), found here as the fixed point of the affine one-turn
map. Every element's map about that orbit (at the local delta to second order, first order in
the transverse orbit) is :mod:`coupled_beam.orbit_maps`; ``tapered=True`` puts each
magnet at the local reference momentum, as light sources do and pyAT's ``tapering()``.

References
----------
M. Sands, SLAC-121 (1970), ch. 3-4 (synchrotron oscillations, phase stability);
A. Wolski, *Beam dynamics in high energy particle accelerators* (2014), ch. 5;
pyAT ``RFCavityPass`` and ``Lattice.tapering``.

Examples
--------
>>> round(float(synchronous_phase(1.0e5, 2.5e4)), 6)       # arcsin(1/4), above transition
0.25268
>>> round(float(synchronous_phase(1.0e5, 2.5e4, above_transition=False)), 6)
2.888912
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from coupled_beam.errors import InputError, RFError

__all__ = [
    "SPEED_OF_LIGHT",
    "synchronous_phase",
    "rf_slope",
    "check_phase",
    "momentum_compaction",
    "synchrotron_tune",
    "element_energy_loss",
    "RFSystem",
    "rf_system",
    "cavity_map6",
    "energy_sawtooth",
    "second_halves",
]

#: speed of light (m/s)
SPEED_OF_LIGHT = 299792458.0


def synchronous_phase(voltage: float, energy_loss: float, *, above_transition: bool = True) -> float:
    """phi_s with V sin(phi_s) = U0 on the stable side of transition.

    Parameters
    ----------
    voltage : float
        Total RF voltage per turn (V).
    energy_loss : float
        Energy loss per turn U0 (eV).
    above_transition : bool
        alpha_c > 0 (cos phi_s > 0) or below transition (cos phi_s < 0).

    Returns
    -------
    float
        phi_s in (0, pi/2] above transition, [pi/2, pi) below (rad).

    Raises
    ------
    RFError
        V <= U0 (or V <= 0): no synchronous phase exists.

    Examples
    --------
    >>> synchronous_phase(1.0, 0.0)
    0.0
    >>> synchronous_phase(1.0e4, 2.0e4)
    Traceback (most recent call last):
    ...
    coupled_beam.errors.RFError: the RF voltage 10000 V cannot restore the energy loss U0 = 20000 eV per turn \
(no synchronous phase: V sin(phi_s) = U0 needs V > U0); raise the total voltage above 20000 V (typically 1.5-3 x U0)
    """
    V, U0 = float(voltage), float(energy_loss)
    if not (math.isfinite(V) and math.isfinite(U0)) or U0 < 0:
        raise InputError(f"voltage = {V} V and energy loss = {U0} eV must be finite, U0 >= 0",
                         field="voltage", value=V)
    if not V > U0 or (U0 == 0 and not V > 0):
        raise RFError(
            f"the RF voltage {V:.6g} V cannot restore the energy loss U0 = {U0:.6g} eV per turn "
            f"(no synchronous phase: V sin(phi_s) = U0 needs V > U0); raise the total voltage above "
            f"{U0:.6g} V (typically 1.5-3 x U0)", voltage=V, energy_loss=U0)
    phi = math.asin(U0 / V)
    return phi if above_transition else math.pi - phi


def rf_slope(voltage, frequency, phase, energy: float):
    """k_rf = -(V/E)(2 pi f / c) cos(phi) (1/m): delta += k_rf l of the thin cavity.

    Parameters
    ----------
    voltage : float or array
        Cavity voltage (V).
    frequency : float or array
        RF frequency (Hz).
    phase : float or array
        RF phase seen by the synchronous particle (rad).
    energy : float
        Beam energy (GeV).

    Returns
    -------
    float or array

    Examples
    --------
    >>> round(float(rf_slope(1e6, 5e8, 0.0, 1.0)), 9)   # -(1e-3)(2 pi 5e8 / c)
    -0.010479225
    """
    E = float(energy) * 1e9
    return -(np.asarray(voltage, dtype=float) / E) * (2 * np.pi * np.asarray(frequency, dtype=float)
                                                      / SPEED_OF_LIGHT) * np.cos(phase)


def check_phase(k_rf: float, alpha_c: float, circumference: float, phase: float | None = None) -> None:
    """RFError unless the thin-cavity synchrotron motion is stable: -4 < alpha_c C k_rf < 0.

    Parameters
    ----------
    k_rf : float
        Sum of the cavities' k_rf (1/m).
    alpha_c : float
        Momentum compaction.
    circumference : float
        Ring circumference C (m).
    phase : float, optional
        The phase, to name it in the message.

    Examples
    --------
    >>> check_phase(-0.01, 1e-2, 64.0)
    >>> check_phase(-0.01, -1e-2, 64.0, phase=0.3)
    Traceback (most recent call last):
    ...
    coupled_beam.errors.RFError: RF phase 0.3 rad is on the wrong side of transition: alpha_c = -0.01 \
(below transition) needs cos(phi) < 0, but k_rf = -0.01 /m gives alpha_c C k_rf = 0.0064 >= 0 (no phase \
focusing); use phi = pi - 0.3 = 2.84159 rad, or phase=None for the synchronous phase from the energy loss
    """
    x = alpha_c * circumference * k_rf
    if x < 0 and x > -4:
        return
    name = "" if phase is None else f" {phase:.6g} rad"
    if x >= 0:
        side = "above" if alpha_c > 0 else "below"
        need = "cos(phi) > 0" if alpha_c > 0 else "cos(phi) < 0"
        fix = (f"use phi = pi - {phase:.6g} = {math.pi - phase:.6g} rad, or phase=None for the "
               "synchronous phase from the energy loss") if phase is not None else \
            "flip the RF phase to the other side of the crest (phi -> pi - phi)"
        raise RFError(
            f"RF phase{name} is on the wrong side of transition: alpha_c = {alpha_c:.6g} ({side} "
            f"transition) needs {need}, but k_rf = {k_rf:.6g} /m gives alpha_c C k_rf = {x:.6g} >= 0 "
            f"(no phase focusing); {fix}", alpha_c=alpha_c, k_rf=k_rf, phase=phase)
    raise RFError(
        f"the RF focusing is too strong: alpha_c C k_rf = {x:.6g} <= -4 (synchrotron tune past 1/2); "
        "lower the voltage or the harmonic number", alpha_c=alpha_c, k_rf=k_rf, phase=phase)


def momentum_compaction(M6, circumference: float) -> float:
    """alpha_c from a 6x6 one-turn map without cavity: (M65 + M6,:4 eta) / C.

    eta = (I - N)^-1 M_:4,4 is the periodic dispersion (xi, xi', zeta, zeta');
    the path lengthening per turn of the dispersive orbit is alpha_c C delta.

    Parameters
    ----------
    M6 : (6, 6) array_like
        One-turn map on (x, x', z, z', delta, l), no cavity kick.
    circumference : float
        C (m).

    Returns
    -------
    float

    Examples
    --------
    >>> M = np.eye(6); M[5, 4] = 0.64
    >>> M[:2, :2] = [[0, 1], [-1, 0]]; M[2:4, 2:4] = [[0, 1], [-1, 0]]
    >>> momentum_compaction(M, 64.0)
    0.01
    """
    M = np.asarray(M6, dtype=float)
    eta = np.linalg.solve(np.eye(4) - M[:4, :4], M[:4, 4])
    return float((M[5, 4] + M[5, :4] @ eta) / circumference)


def synchrotron_tune(k_rf: float, alpha_c: float, circumference: float) -> float:
    """Q_s of the thin-cavity longitudinal map (numerically, eigenvalues of its 2x2 product).

    The one-turn longitudinal map is the arc [[1, 0], [alpha_c C, 1]] after the
    kick [[1, k_rf], [0, 1]]; Q_s = arg(eigenvalue) / 2 pi.

    Examples
    --------
    >>> q = synchrotron_tune(-(2 * np.pi * 0.01)**2 / 0.64, 0.01, 64.0)
    >>> bool(abs(q - 0.01) < 1e-5)   # ~ sqrt(-alpha_c C k_rf) / 2 pi
    True
    """
    arc = np.array([[1.0, 0.0], [alpha_c * circumference, 1.0]])
    kick = np.array([[1.0, k_rf], [0.0, 1.0]])
    lam = np.linalg.eigvals(arc @ kick)
    return float(np.max(np.abs(np.angle(lam))) / (2 * np.pi))


def _radiation_constants():
    from coupled_beam.radiation import C_GAMMA

    return C_GAMMA


def element_energy_loss(elements: Sequence, energy: float) -> np.ndarray:
    """U_i / E of every element on the design orbit: (C_gamma E^3 / 2 pi) int K^2 ds.

    Parameters
    ----------
    elements : sequence of Element
    energy : float
        GeV.

    Returns
    -------
    (n,) array

    Examples
    --------
    >>> from coupled_beam.lattice import Bend, Drift
    >>> u = element_energy_loss([Bend(1.0, K=0.1), Drift(1.0)], 1.0)
    >>> bool(u[0] > 0 and u[1] == 0)
    True
    """
    c_gamma = _radiation_constants()
    K = np.array([float(getattr(el, "K", 0.0) or 0.0) for el in elements])
    L = np.array([float(el.length) for el in elements])
    return c_gamma * float(energy) ** 3 / (2 * np.pi) * K**2 * L


@dataclass(frozen=True)
class RFSystem:
    """The ring's cavities at the synchronous particle.

    Attributes
    ----------
    index : (m,) int array
        Element indices of the cavities in the cell.
    voltage, frequency, phase : (m,) arrays
        V (V), f (Hz), phi seen by the synchronous particle (rad).
    k_rf : (m,) array
        delta += k_rf l at each cavity (1/m).
    gain : (m,) array
        V sin(phi) / E: delta gained by the synchronous particle.
    energy : float
        GeV.
    energy_loss : float
        U0 per turn (eV), whole ring.
    alpha_c : float
        Momentum compaction (from the one-turn map without cavity).
    circumference : float
        Whole ring (m).
    q_s : float
        Thin-cavity synchrotron tune (:func:`synchrotron_tune`); the 6-D
        equilibrium reports the exact one.
    periodicity : int
        Cells per turn.
    """

    index: np.ndarray
    voltage: np.ndarray
    frequency: np.ndarray
    phase: np.ndarray
    k_rf: np.ndarray
    gain: np.ndarray
    energy: float
    energy_loss: float
    alpha_c: float
    circumference: float
    q_s: float
    periodicity: int

    @property
    def synchronous_phase(self) -> float:
        """The common phi_s when every cavity was given ``phase=None`` (else the first cavity's)."""
        return float(self.phase[0])


def _cavities(elements) -> list[int]:
    from coupled_beam.lattice import RFCavity

    return [i for i, el in enumerate(elements) if isinstance(el, RFCavity)]


def rf_system(ring, maps6=None) -> RFSystem:
    """Cavities, synchronous phase, k_rf and Q_s of ``ring``.

    Parameters
    ----------
    ring : coupled_beam.lattice.Ring
        With an energy (GeV) and at least one :class:`~coupled_beam.lattice.RFCavity`.
    maps6 : (n, 6, 6) array, optional
        Element maps without cavity kicks (default ``ring.element_maps6``),
        for alpha_c.

    Returns
    -------
    RFSystem

    Raises
    ------
    RFError
        No cavity; V < U0; a given phase on the wrong side of transition.
    InputError
        No beam energy.

    Examples
    --------
    >>> from coupled_beam.lattice import Bend, Quadrupole, Drift, RFCavity, Ring
    >>> cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5),
    ...         Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5)]
    >>> ring = Ring([RFCavity(voltage=2e5, harmonic=50)] + cell * 8, energy=1.0)
    >>> rf = rf_system(ring)
    >>> bool(0 < rf.phase[0] < np.pi / 2), bool(rf.k_rf[0] < 0)
    (True, True)
    """
    elements = ring.elements
    periods = int(getattr(ring, "periodicity", 1) or 1)
    idx = _cavities(elements)
    if not idx:
        raise RFError(
            f"the 6-D equilibrium needs an RF cavity, and the ring of {len(elements)} elements has "
            "none; add RFCavity(voltage=..., harmonic=...) (lattice file: an 'rfcavity' line), or use "
            "model='4d' (the paper's decorrelated model)", voltage=0.0)
    energy = getattr(ring, "energy", None)
    if energy is None:
        raise InputError("the 6-D equilibrium needs the beam energy (radiation damping, k_rf = V/E ...): "
                         "build the ring with energy=... (GeV)", field="energy")
    energy = float(energy)
    C = float(ring.circumference)
    cav = [elements[i] for i in idx]
    V = np.array([float(c.voltage) for c in cav]) * periods
    f = np.array([float(c.frequency) if c.frequency is not None else float(c.harmonic) * SPEED_OF_LIGHT / C
                  for c in cav])
    u0 = float(np.sum(element_energy_loss(elements, energy))) * periods * energy * 1e9   # eV per turn
    if maps6 is None:
        maps6 = _maps6(ring)
    P = np.eye(6)
    for m in maps6:
        P = m @ P
    P = np.linalg.matrix_power(P, periods)
    alpha_c = momentum_compaction(P, C)
    above = alpha_c > 0
    given = [c.phase for c in cav]
    if all(p is None for p in given):
        phi_s = synchronous_phase(float(np.sum(V)), u0, above_transition=above)
        phase = np.full(len(cav), phi_s)
    elif any(p is None for p in given):
        raise InputError("give every RFCavity a phase or none (phase=None: the synchronous phase from "
                         f"the energy loss); got {given}", field="phase")
    else:
        phase = _balance(V, f, np.array(given, dtype=float), u0)
    k = rf_slope(V, f, phase, energy) / periods
    check_phase(float(np.sum(k)) * periods, alpha_c, C, None if given[0] is None else float(given[0]))
    gain = V * np.sin(phase) / (energy * 1e9) / periods
    return RFSystem(index=np.array(idx), voltage=V / periods, frequency=f, phase=phase, k_rf=k,
                    gain=gain, energy=energy, energy_loss=u0, alpha_c=alpha_c, circumference=C,
                    q_s=synchrotron_tune(float(np.sum(k)) * periods, alpha_c, C), periodicity=periods)


def _balance(V: np.ndarray, f: np.ndarray, phi: np.ndarray, u0: float) -> np.ndarray:
    """Phases at the synchronous l_s: sum V sin(phi - 2 pi f l_s / c) = U0 (Newton on l_s)."""
    w = 2 * np.pi * f / SPEED_OF_LIGHT
    if not np.sum(V) > u0:
        synchronous_phase(float(np.sum(V)), u0)      # raises with the numbers
    ls = 0.0
    for _ in range(60):
        g = float(np.sum(V * np.sin(phi - w * ls))) - u0
        dg = float(np.sum(-V * w * np.cos(phi - w * ls)))
        if dg == 0:
            break
        step = g / dg
        ls -= step
        if abs(step) * float(np.max(w)) < 1e-15:
            break
    out = phi - w * ls
    if not abs(float(np.sum(V * np.sin(out))) - u0) <= 1e-9 * max(u0, 1.0):
        raise RFError(f"the given RF phases {phi.tolist()} cannot restore U0 = {u0:.6g} eV per turn at "
                      f"any arrival time (voltages {V.tolist()} V); use phase=None", energy_loss=u0)
    return out


def _maps6(ring) -> np.ndarray:
    m = ring.element_maps6
    return np.asarray(m() if callable(m) else m, dtype=float)


def cavity_map6(k_rf: float, length: float = 0.0) -> np.ndarray:
    """Thin cavity kick delta += k_rf l, between two half drifts when the cavity has a length.

    Uses the generated kernel ``map6_rfcavity`` (and ``map6_drift``) of
    :mod:`coupled_beam._kernels`.

    Examples
    --------
    >>> float(cavity_map6(-0.01)[4, 5])
    -0.01
    """
    from coupled_beam import _kernels

    if hasattr(_kernels, "map6_rfcavity"):
        kick = np.array(np.broadcast_arrays(*_kernels.map6_rfcavity(float(k_rf))),
                        dtype=float).reshape(6, 6)
    else:   # the contract's definition of the thin map, until the kernel is generated
        kick = np.eye(6)
        kick[4, 5] = float(k_rf)
    if length:
        from coupled_beam.lattice import Drift
        from coupled_beam.lattice.maps import element_maps6

        half = element_maps6([Drift(0.5 * float(length))])[0]
        return half @ kick @ half
    return kick


def energy_sawtooth(maps6: np.ndarray, loss: np.ndarray, rf: RFSystem, half_maps6=None,
                    extra=None) -> np.ndarray:
    """The 6-D closed orbit X_co at every boundary of the cell, (n + 1, 6); column 4 is delta(s).

    Each element with a loss u_i = U_i / E, spread evenly over its body, adds the
    constant -u_i (1/L) int_0^L M(L <- s) e_delta ds: the delta kick at s carried to the
    exit. With ``half_maps6`` (the map of each element's second half, exit face
    included) this is Simpson's rule, -u_i (M_i + 4 H_i + I) e_delta / 6, exact for
    the leading terms M_56(L <- s) ~ K^2 (L - s)^3 / 6 and M_16 ~ K (L - s)^2 / 2;
    without it the trapezoid -u_i (M_i + I) e_delta / 2, which puts twice the
    path (and 3/2 the orbit) of the in-bend loss at the exit. That matters: the
    level of delta is fixed by the path (no net path lengthening per turn: the RF
    holds the revolution frequency), through 1 / alpha_c; on pyAT's ESRF lattice
    the trapezoid sets the level 1.7e-6 above pyAT's tracked 6-D orbit, i.e. a tune
    error of (natural chromaticity) x 1.7e-6 = 2e-4; Simpson's rule brings it to
    the second-order terms (measured in tests/test_pyat_real_rings.py). Each cavity
    adds its gain V sin(phi) / E.

    Parameters
    ----------
    maps6 : (n, 6, 6) array
        Element maps with the cavity kicks.
    loss : (n,) array
        U_i / E per element.
    rf : RFSystem
    half_maps6 : (n, 6, 6) array, optional
        Maps of the second half of each element (only rows with a loss are
        read); None: the trapezoid.
    extra : (n, 6) array, optional
        Further constant forcing at each element's exit (the second-order
        orbit terms of :func:`coupled_beam.orbit_maps.orbit_drive`).

    Returns
    -------
    (n + 1, 6) array

    Examples
    --------
    >>> M = np.tile(np.eye(6), (2, 1, 1)); M[0, 4, 5] = -0.01; M[1, 5, 4] = 0.6; M[1, 4, 4] = 1 - 1e-4
    >>> M[1, :2, :2] = M[1, 2:4, 2:4] = [[0, 1], [-1, 0]]
    >>> rf = RFSystem(np.array([0]), np.ones(1), np.ones(1), np.zeros(1), np.array([-0.01]),
    ...               np.array([1e-5]), 1.0, 1e4, 0.01, 60.0, 0.01, 1)
    >>> X = energy_sawtooth(M, np.array([0.0, 1e-5]), rf)
    >>> bool(abs(X[1, 4] - X[2, 4] - 1e-5) < 1e-12)   # the loss in element 1
    True
    """
    n = len(maps6)
    e = np.zeros(6)
    e[4] = 1.0
    c = np.zeros((n, 6))
    lossy = np.flatnonzero(np.asarray(loss) != 0)
    if len(lossy):
        u = np.asarray(loss, dtype=float)[lossy, None]
        col = np.asarray(maps6)[lossy, :, 4]             # M e_delta
        if half_maps6 is None:
            c[lossy] = -0.5 * u * (col + e)
        else:
            c[lossy] = -u * (col + 4.0 * np.asarray(half_maps6)[lossy, :, 4] + e) / 6.0
    for j, i in enumerate(rf.index):
        c[i] += rf.gain[j] * e
    if extra is not None:
        c = c + np.asarray(extra, dtype=float)
    aug = np.zeros((n, 7, 7))            # affine maps [[M_i, c_i], [0, 1]], one stacked scan
    aug[:, :6, :6] = maps6
    aug[:, :6, 6] = c
    aug[:, 6, 6] = 1.0
    try:
        from coupled_beam.lattice.maps import prefix_products
        C = prefix_products(aug)
    except ImportError:   # pragma: no cover
        C = np.empty((n + 1, 7, 7))
        C[0] = np.eye(7)
        for i in range(n):
            C[i + 1] = aug[i] @ C[i]
    X0 = np.linalg.solve(np.eye(6) - C[-1, :6, :6], C[-1, :6, 6])
    return C[:, :6, :6] @ X0 + C[:, :6, 6]


def second_halves(elements: Sequence, index) -> list:
    """The second half of each element ``elements[i]``, i in ``index``: half the length, exit face kept.

    For the loss spread over a bend (:func:`energy_sawtooth`): the body from its
    middle to the exit, the exit pole face and fringe included, no entrance face.
    """
    out = []
    for i in index:
        el = elements[i]
        changes = {"length": 0.5 * el.length}
        for f in ("e1", "fint_gap1"):
            if getattr(el, f, 0.0):
                changes[f] = 0.0
        out.append(el.replace(**changes))
    return out

