"""Standard electron radiation as a pure transformation: ring -> ring with damping and noise.

The paper leaves D and phi to its reference I. This module supplies the
standard classical + quantum radiation model of an electron ring from the
beam energy and the magnets only, as exact per-element 6x6 maps on
X = (x, x', z, z', delta, l) (:mod:`coupled_beam.lattice.maps`), and their
betatron restriction for the paper's 4-D route.
``Ring.with_radiation(energy)`` (= :func:`with_radiation`) returns a new
ring; elements never change. This module imports the lattice, never the
reverse (Ring's facade imports it lazily).

Model (linear, on the design orbit; h = K = 1/rho, k1 = -K^2 n the
quadrupole gradient of a combined-function bend, MAD sign; gamma = E/mc^2):

* energy loss per metre  dU/ds = (C_gamma E^4 / 2 pi) (h^2 + g x) (1 + delta)^2,
  g = 2 h k1 + h^3 (field gradient and longer outer path) [Sands ch. 4];
  U0 = C_gamma E^4 I2 / (2 pi); linearised: d delta/ds = -c_d (2 h^2 delta + g x),
  c_d = C_gamma E^3 / (2 pi).
* damping of the slopes: x', z' lose the fraction dU/E (the paper's D = c_d h^2 1).
  Hard-edge wedges: delta += c_d h^2 tan(e) x at each face (the I4 face terms
  -h^2 tan(e) xi); an element with ``face_radiation`` False (pyAT's tracking) has none.
  Per-turn decrements J U0/2E with J_x = 1 - I4/I2, J_z = 1, J_s = 2 + I4/I2
  [Sands ch. 4; Robinson's sum 4: det of the 6-D one-turn map is exp(-4 U0/E)].
* quantum excitation: d<delta^2>/ds = (4/3) C_q r_e gamma^5 abs(h)^3
  [Sands ch. 5]; photons kick delta only; the 6x6 noise of an element at its
  exit is (4/3) C_q r_e gamma^5 int abs(h)^3 w w^T ds, w = M(exit <- s) e_delta,
  exact (in-bend dispersion included, no bend average). The factor is the full
  variance rate; eps_x = C_q gamma^2 I5 / (J_x I2) settles it.
* the paper's 4-D route: betatron coordinates y_b = y - eta delta (eta the bare
  closed-orbit functions, eq. (2), :mod:`coupled_beam.optics`): element map
  N = M_yy - eta_out M_delta,y (the x-dependent loss feeds back through eta, exactly,
  at every s), noise R = B G B^T restricted to y_b (the full 4x4 phi_hat v v^T of
  the old model, integrated exactly); <p^2> = C_q gamma^2 I3 / (J_s I2). Dropping
  the delta column is the paper's decorrelation (§2 b): the result depends on it
  at relative O(U0/E), e.g. Sands' eps_x is met to 2e-6 at U0/E = 5.5e-6.

Numerics: plain bends (no explicit D or phi_hat) use the generated closed
forms -- body, first-order damping and noise of each distinct bend from one
call of the fused ``bend6_radiation`` (``map6_bend`` + ``damping6_bend`` +
``noise6_bend``, bit-identical to them; a ring built with ``energy=`` already
evaluated it for its bare maps and hands it over), faces by ``map6_edge`` /
``damping6_edge`` (skipped where there are none), I1...I5 by
``radiation_integrals_bend`` at every bend instance. The paper's general pieces
(and bends with an explicit D) take the stacked exponential of the 6x6
generator with the radiation terms, the noise Van Loan's block exponential,
I1, I4, I5 a 16-point Gauss-Legendre rule on the exact in-bend eta and Twiss
(exact for constant integrands). Distinct bends are computed once (values
hashed, per ring), never one Python call per element.

References
----------
M. Sands, *The physics of electron storage rings*, SLAC-121 (1970), ch. 4-5;
A. Wolski, arXiv:1507.02213 (2015) (radiation integrals);
J. M. Jowett, SLAC-PUB-4033 (1986) (diffusion matrices);
LNF-64/55, eq. (2), (3), (5), §2-4.

Examples
--------
>>> from coupled_beam.lattice import Bend, Drift, Quadrupole, Ring
>>> cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16),
...         Drift(0.5), Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16),
...         Drift(0.5)]
>>> par = radiation_parameters(cell * 8, energy=1.0)
>>> round(par.J_x + par.J_z + par.J_s, 12)   # Robinson's sum
4.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from coupled_beam import _kernels, _validate
from coupled_beam.errors import InputError
import coupled_beam.lattice.maps as maps
from coupled_beam.lattice import Bend, Element, Ring
from coupled_beam.lattice.elements import van_loan

__all__ = [
    "ELECTRON_MASS",
    "R_E",
    "LAMBDA_C",
    "C_GAMMA",
    "C_Q",
    "SPEED_OF_LIGHT",
    "RadiationParameters",
    "RadiationModel",
    "radiation_parameters",
    "radiation_model",
    "with_radiation",
]

#: electron rest energy (GeV), CODATA 2018
ELECTRON_MASS = 0.51099895000e-3
#: classical electron radius (m), CODATA 2018
R_E = 2.8179403262e-15
#: reduced Compton wavelength hbar / (m c) (m), CODATA 2018
LAMBDA_C = 3.8615926796e-13
#: speed of light (m/s)
SPEED_OF_LIGHT = 299792458.0
#: C_gamma = 4 pi r_e / (3 (m c^2)^3) (m / GeV^3), Sands ch. 4
C_GAMMA = 4.0 * np.pi * R_E / (3.0 * ELECTRON_MASS**3)
#: C_q = 55 lambda_c / (32 sqrt 3) (m), Sands ch. 5
C_Q = 55.0 * LAMBDA_C / (32.0 * np.sqrt(3.0))

@dataclass(frozen=True)
class RadiationParameters:
    """Radiation integrals and the equilibrium they imply (uncoupled formulas).

    Attributes
    ----------
    energy : float
        Beam energy (GeV).
    gamma : float
        Lorentz factor E / mc^2.
    circumference : float
        s0 (m).
    I1, I2, I3, I4, I5 : float
        Radiation integrals (m, 1/m, 1/m^2, 1/m, 1/m); I4 includes the face
        terms -h^2 tan(e) xi, I5 uses the horizontal Twiss functions of the
        x-x block of the one-turn map (exact for uncoupled rings; NaN, and
        so ``eps_x``, where strong coupling leaves that block no oscillation).
    U0 : float
        Energy loss per turn (GeV).
    J_x, J_z, J_s : float
        Damping partition numbers.
    tau_x, tau_z, tau_s : float
        Amplitude damping times 2 E T0 / (J U0) (s).
    eps_x : float
        Natural emittance C_q gamma^2 I5 / (J_x I2) (m rad).
    p2 : float
        <p^2> = C_q gamma^2 I3 / (J_s I2).
    sigma_delta : float
        sqrt(p2).
    """

    energy: float
    gamma: float
    circumference: float
    I1: float
    I2: float
    I3: float
    I4: float
    I5: float
    U0: float
    J_x: float
    J_z: float
    J_s: float
    tau_x: float
    tau_z: float
    tau_s: float
    eps_x: float
    p2: float
    sigma_delta: float


def _check_energy(energy) -> float:
    try:
        e = float(energy)
    except (TypeError, ValueError):
        raise InputError(f"energy must be a number in GeV, got {energy!r}",
                         field="energy") from None
    if not np.isfinite(e) or e <= ELECTRON_MASS:
        raise InputError(f"energy = {e} GeV must exceed the electron rest energy "
                         f"{ELECTRON_MASS} GeV; give the beam energy in GeV",
                         field="energy", value=e)
    return e




# the route of general pieces (no generated closed form): I1, I4, I5 by a 16-point
# Gauss-Legendre rule on exact in-bend eta and Twiss (exact for constant integrands)
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)


def _lattice_of(obj) -> tuple[tuple, int]:
    """(elements, periodicity) of a Ring or a sequence of elements (checked)."""
    if isinstance(obj, Ring):
        return obj.elements, obj.periodicity
    try:
        els = tuple(obj)
    except TypeError:
        raise InputError(f"expected a Ring or a sequence of elements, got {obj!r}",
                         value=repr(obj)) from None
    if not els:
        raise InputError("the lattice has no elements", value=0)
    for i, el in enumerate(els):
        if not isinstance(el, Element):
            raise InputError(f"element {i} is {el!r}, not a coupled_beam.lattice.Element",
                             value=repr(el), index=i)
    return els, 1


def _radiates(el: Element) -> bool:
    return el.K != 0.0 and el.length > 0.0 and not el.is_thin


def _faces(el: Element) -> tuple[float, float]:
    """Pole-face angles that enter the radiation (I4 wedge terms); none if face_radiation is False."""
    if not getattr(el, "face_radiation", True):
        return 0.0, 0.0
    return float(getattr(el, "e1", 0.0)), float(getattr(el, "e2", 0.0))


@dataclass(frozen=True)
class _Lattice:
    """Bare-lattice data of one cell: the ring, eta, the distinct bends and their instances."""

    ring: Ring
    elements: tuple
    periodicity: int
    eta: np.ndarray         # (n + 1, 4) closed-orbit functions at the boundaries
    index: np.ndarray       # (nb,) bend instances
    unique: list            # distinct bends
    inv: np.ndarray         # (nb,) instance -> distinct bend


def _lattice(obj) -> _Lattice:
    els, P = _lattice_of(obj)
    ring = obj if isinstance(obj, Ring) else Ring(els, periodicity=P)
    distinct, inv_all = ring._distinct
    radiating = np.array([_radiates(el) for el in distinct], dtype=bool)
    to_bend = np.cumsum(radiating) - 1
    index = np.nonzero(radiating[inv_all])[0]
    unique = [el for el, r in zip(distinct, radiating) if r]
    return _Lattice(ring, els, P, ring._eta, index, unique, to_bend[inv_all[index]])


_PAIR = np.array([1, 0, 3, 2])
_SIGNS = np.outer([1.0, -1.0, 1.0, -1.0], [1.0, -1.0, 1.0, -1.0])


def _symplectic_inverse(M: np.ndarray) -> np.ndarray:
    """M^-1 = -J M^T J of symplectic 4x4 maps (bare lattice): (M^-1)_ij = s_i s_j M_p(j)p(i)."""
    return np.swapaxes(M[..., _PAIR, :][..., :, _PAIR], -1, -2) * _SIGNS


def _strengths(unique) -> tuple[np.ndarray, ...]:
    """h, k1 = -n h^2, g = 2 h k1 + h^3, L and face angles (u, 2) of the distinct bends."""
    h = np.array([el.K for el in unique])
    k1 = np.array([-el.n * el.K**2 for el in unique])
    L = np.array([el.length for el in unique])
    faces = np.array([_faces(el) for el in unique]).reshape(-1, 2)
    return h, k1, 2 * h * k1 + h**3, L, faces


def _entrance_twiss(lat: _Lattice) -> tuple[np.ndarray, ...]:
    """Horizontal beta, alpha and eta, eta' at every bend entrance (element frame, before the face).

    From the x-x block of the one-turn map there (exact for the x optics of a bend,
    which couples nothing; NaN where strong coupling leaves that block no oscillation).
    """
    index, inv = lat.index, lat.inv
    tilt = np.array([el.tilt for el in lat.unique])
    C = lat.ring._bare_prefix6[:, :4, :4]
    Ci = C[index]
    turn = Ci @ C[-1] @ _symplectic_inverse(Ci)
    eta = lat.eta[index]
    if np.any(tilt):        # into each bend's rolled frame (without rolls: the identity, skipped)
        rot = maps.rotation6(tilt)[:, :4, :4][inv]
        turn = rot @ turn @ np.swapaxes(rot, -1, -2)
        eta = np.einsum("bij,bj->bi", rot, eta)
    mx = turn[:, :2, :2]
    cos_mu = 0.5 * (mx[:, 0, 0] + mx[:, 1, 1])
    with np.errstate(invalid="ignore"):
        sin_mu = np.sign(mx[:, 0, 1]) * np.sqrt(1.0 - cos_mu**2)
        beta = mx[:, 0, 1] / sin_mu
        alpha = (mx[:, 0, 0] - mx[:, 1, 1]) / (2.0 * sin_mu)
    return beta, alpha, eta[:, 0], eta[:, 1]


def _integrals(lat: _Lattice) -> tuple[float, float, float, float, float]:
    """I1...I5 of the whole ring (P cells), exact per bend (generated closed forms when present)."""
    if lat.index.size == 0:
        raise InputError("no bending element (K != 0, length > 0): nothing radiates; "
                         "give the ring its bends")
    if hasattr(_kernels, "radiation_integrals_bend") and all(
            isinstance(el, Bend) for el in lat.unique):
        return _integrals_kernels(lat)
    return _integrals_quadrature(lat)


def _integrals_kernels(lat: _Lattice) -> tuple[float, float, float, float, float]:
    """I1...I5 from :func:`derivations.element_maps.radiation_integrals_bend` (no slicing, no average)."""
    inv = lat.inv
    beta, alpha, eta, etap = _entrance_twiss(lat)
    f = lambda name: np.array([float(getattr(el, name)) for el in lat.unique])[inv]  # noqa: E731
    L, K, n, e1, e2 = f("length"), f("K"), f("n"), f("e1"), f("e2")
    args = (L, K, -n * K**2, e1, e2, beta, alpha, eta, etap)
    with np.errstate(invalid="ignore"):
        with_faces = np.array(np.broadcast_arrays(*_kernels.radiation_integrals_bend(*args)))
        faces = np.array([getattr(el, "face_radiation", True) for el in lat.unique])[inv]
        if not np.all(faces):
            bare = np.array(np.broadcast_arrays(*_kernels.radiation_integrals_bend_no_faces(*args)))
            with_faces = np.where(faces, with_faces, bare)
    P = lat.periodicity
    return tuple(float(P * x) for x in with_faces.sum(axis=1))


def _integrals_quadrature(lat: _Lattice) -> tuple[float, float, float, float, float]:
    """I1...I5 by a 16-point rule on the exact in-bend eta and x-Twiss (general pieces)."""
    h, k1, g, L, faces = _strengths(lat.unique)
    inv, index = lat.inv, lat.index
    t = 0.5 * L[:, None] * (_NODES + 1.0)                               # (u, k)
    w = 0.5 * L[:, None] * _WEIGHTS
    E = maps.body_maps6(lat.unique, t)                                 # (u, k, 6, 6)
    ent = np.array([el.entrance for el in lat.unique])
    rot = maps.rotation6(np.array([el.tilt for el in lat.unique]))[:, :4, :4]
    into = maps.mm(ent, rot)[inv]                                       # lab -> inside the bend
    eta_in = lat.eta[index]
    v_in = np.einsum("bij,bj->bi", into, eta_in)
    vk = np.einsum("bkij,bj->bki", E[inv][..., :4, :4], v_in) + E[inv][..., :4, 4]
    C = lat.ring._bare_prefix6[:, :4, :4]
    Ci = C[index]
    turns = Ci @ C[-1] @ _symplectic_inverse(Ci)                        # N(s_i) at bend entrances
    turn0 = maps.mm(maps.mm(into, turns), _symplectic_inverse(into))
    Nk = E[inv][..., :4, :4]
    mx = (Nk @ turn0[:, None] @ _symplectic_inverse(Nk))[..., :2, :2]
    cos_mu = 0.5 * (mx[..., 0, 0] + mx[..., 1, 1])
    # strong coupling: the x-x block need not be an oscillation; I5 then is NaN
    with np.errstate(invalid="ignore"):
        sin_mu = np.sign(mx[..., 0, 1]) * np.sqrt(1.0 - cos_mu**2)
    beta = mx[..., 0, 1] / sin_mu
    alpha = (mx[..., 0, 0] - mx[..., 1, 1]) / (2.0 * sin_mu)
    gam = -mx[..., 1, 0] / sin_mu
    xi, xip = vk[..., 0], vk[..., 1]
    curly_h = gam * xi**2 + 2 * alpha * xi * xip + beta * xip**2
    wb = w[inv]
    xi_int = np.einsum("bk,bk->b", wb, xi)
    eta_out = np.einsum("bij,bj->bi", rot[inv], lat.eta[index + 1])
    hb, gb, Lb, fb = h[inv], g[inv], L[inv], faces[inv]
    I1 = np.sum(hb * xi_int)
    I2 = np.sum(hb**2 * Lb)
    I3 = np.sum(np.abs(hb)**3 * Lb)
    I4 = np.sum(gb * xi_int - hb**2 * (np.tan(fb[:, 0]) * v_in[:, 0] + np.tan(fb[:, 1]) * eta_out[:, 0]))
    I5 = np.sum(np.abs(hb)**3 * np.einsum("bk,bk->b", wb, curly_h))
    P = lat.periodicity
    return tuple(float(P * x) for x in (I1, I2, I3, I4, I5))


def radiation_parameters(elements: Sequence[Element] | Ring,
                         energy: float) -> RadiationParameters:
    """Radiation integrals I1...I5, partition numbers, damping times, eps_x, <p^2>.

    Parameters
    ----------
    elements : sequence of Element or Ring
        The lattice (a Ring: its cell and periodicity; its radiation model is ignored).
    energy : float
        Beam energy (GeV).

    Returns
    -------
    RadiationParameters

    Raises
    ------
    InputError
        Energy not above the electron rest energy, or a ring without bends.
    ResonanceError
        An integer tune: no closed-orbit functions.

    References
    ----------
    Sands SLAC-121 ch. 4-5; Wolski arXiv:1507.02213;
    LNF-64/55 §4 (<p^2>).

    Examples
    --------
    >>> from coupled_beam.lattice import Bend
    >>> par = radiation_parameters([Bend(2 * np.pi, K=1.0, n=0.5)], energy=0.5)
    >>> round(par.J_x, 12), round(par.I2, 12)   # weak focusing n = 1/2: J_x = 1 - (1 - 2n)
    (1.0, 6.283185307180)
    """
    energy = _check_energy(energy)
    return _parameters(_lattice(elements), energy)


def _parameters(lat: _Lattice, energy: float) -> RadiationParameters:
    I1, I2, I3, I4, I5 = _integrals(lat)
    gamma = energy / ELECTRON_MASS
    U0 = C_GAMMA * energy**4 * I2 / (2 * np.pi)
    J_x, J_z, J_s = 1.0 - I4 / I2, 1.0, 2.0 + I4 / I2
    circumference = lat.ring.circumference
    T0 = circumference / SPEED_OF_LIGHT
    tau = [2 * energy * T0 / (J * U0) for J in (J_x, J_z, J_s)]
    p2 = float(C_Q * gamma**2 * I3 / (J_s * I2))
    return RadiationParameters(
        energy=energy, gamma=gamma, circumference=circumference,
        I1=I1, I2=I2, I3=I3, I4=I4, I5=I5, U0=U0, J_x=J_x, J_z=J_z, J_s=J_s,
        tau_x=tau[0], tau_z=tau[1], tau_s=tau[2],
        eps_x=float(C_Q * gamma**2 * I5 / (J_x * I2)), p2=p2, sigma_delta=float(np.sqrt(p2)))


@dataclass(frozen=True)
class RadiationModel:
    """Damping and quantum noise of every element of a cell, 6-D and its 4-D betatron restriction.

    Attributes
    ----------
    energy : float
        Beam energy (GeV).
    parameters : RadiationParameters
        Integrals, partition numbers, damping times, eps_x, <p^2>.
    p2 : float
        <p^2> = C_q gamma^2 I3 / (J_s I2) (the paper's folding, 4-D route).
    maps6 : (n, 6, 6) array
        Element maps with radiation damping on (x, x', z, z', delta, l).
    noise6 : (n, 6, 6) array
        Quantum noise of each element at its exit: (4/3) C_q r_e gamma^5 int
        abs(K)^3 w w^T ds, w = M(exit <- s) e_delta (photons kick delta only).
    eta : (n + 1, 4) array
        Bare closed-orbit functions at the boundaries.
    maps4, noise4 : (n, 4, 4) arrays
        The betatron restriction (paper's route): y_b = y - eta delta, so
        N = M_yy - eta_out M_delta,y and R = B G B^T restricted to y_b.
    """

    energy: float
    parameters: RadiationParameters
    p2: float
    maps6: np.ndarray
    noise6: np.ndarray
    eta: np.ndarray
    maps4: np.ndarray
    noise4: np.ndarray

    def partial(self, element: Element, depth: float) -> tuple[np.ndarray, np.ndarray] | None:
        """6x6 damped map and noise of a bend from its entrance to depth d (None: not a bend).

        The part [0, d] of a bend is the bend of length d without its exit face.
        """
        if not _radiates(element):
            return None
        cut = {"length": depth}
        if isinstance(element, Bend):
            cut.update(e2=0.0, fint_gap2=0.0)
        part = element.replace(**cut)
        M, R = _radiating_maps([part], self.energy)
        G = R[0]
        G[:4, :4] += maps.partial_noise4(element, depth)
        return M[0], G


def _kernel_route(unique) -> bool:
    """The generated radiation kernels apply: kernels present, plain bends without explicit D."""
    return (hasattr(_kernels, "bend6_radiation")
            and all(isinstance(el, Bend) and not el._has_D and not el._has_phi for el in unique))


_UPPER = np.triu_indices(6)


def _radiating_maps_kernels(unique, energy: float, parts: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """6x6 damped maps and noise of distinct bends from the generated kernels.

    M_rad = E2 (M + c_d dM) E1 + c_d (dE2 M E1 + E2 M dE1) (first order in c_d,
    :func:`derivations.element_maps.damping6_bend`, ``damping6_edge``), noise
    (4/3) C_q r_e gamma^5 E2 G E2^T with G = ``noise6_bend`` (exact in-bend dispersion).
    M, dM and G come from one call of the fused ``bend6_radiation`` (shared Stumpff
    rows); the edge products are skipped for bends without faces (exact identities).
    ``parts``: those 93 entries per bend already evaluated for the bare maps of the same
    ring (:func:`coupled_beam.lattice.maps.element_maps6`), by id(element).
    """
    gamma = energy / ELECTRON_MASS
    c_d = C_GAMMA * energy**3 / (2 * np.pi)
    c_q = 4.0 / 3.0 * C_Q * R_E * gamma**5
    u = len(unique)
    f = lambda name: np.array([float(getattr(el, name)) for el in unique])  # noqa: E731
    L, K, n = f("length"), f("K"), f("n")
    k1 = -n * K**2
    fa = np.array([_faces(el) for el in unique]).reshape(-1, 2)
    # body, its damping and its noise in one call (they share their Stumpff rows)
    if parts is not None and all(id(el) in parts for el in unique):
        parts = np.array([parts[id(el)] for el in unique])
    else:
        parts = maps._stack(_kernels.bend6_radiation(L, K, k1), u, 93)
    body = parts[:, :36].reshape(u, 6, 6)
    M = body + c_d * parts[:, 36:72].reshape(u, 6, 6)
    G = np.zeros((u, 6, 6))
    G[:, _UPPER[0], _UPPER[1]] = parts[:, 72:]
    G = c_q * (G + np.swapaxes(np.triu(G, 1), -1, -2))
    e1, e2, g1, g2 = f("e1"), f("e2"), f("fint_gap1"), f("fint_gap2")
    faced = (e1 != 0) | (e2 != 0) | (g1 != 0) | (g2 != 0) | np.any(fa != 0, axis=1)
    if np.any(faced):      # edges of unfaced bends are exact identities (and dE = 0): skipped
        m, Kf = int(faced.sum()), K[faced]
        E1 = maps._stack36(_kernels.map6_edge(Kf, e1[faced], g1[faced]), m)
        E2 = maps._stack36(_kernels.map6_edge(Kf, e2[faced], g2[faced]), m)
        dE1 = maps._stack36(_kernels.damping6_edge(Kf, fa[faced, 0]), m)
        dE2 = maps._stack36(_kernels.damping6_edge(Kf, fa[faced, 1]), m)
        bf = body[faced]
        M[faced] = E2 @ M[faced] @ E1 + c_d * (dE2 @ bf @ E1 + E2 @ bf @ dE1)
        G[faced] = E2 @ G[faced] @ np.swapaxes(E2, -1, -2)
    tilt = f("tilt")
    if np.any(tilt):
        Rm, Rp = maps.rotation6(-tilt), maps.rotation6(tilt)
        M = Rm @ M @ Rp
        G = Rm @ G @ np.swapaxes(Rm, -1, -2)
    return M, 0.5 * (G + np.swapaxes(G, -1, -2))


def _radiating_maps(unique, energy: float, parts: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """6x6 damped maps and noise of distinct radiating elements (kernels, else the generator route)."""
    if _kernel_route(unique):
        return _radiating_maps_kernels(unique, energy, parts)
    return _radiating_maps_generator(unique, energy)


def _radiating_maps_generator(unique, energy: float) -> tuple[np.ndarray, np.ndarray]:
    """6x6 damped maps and noise of distinct radiating elements by the generator.

    The route of pieces the kernels do not cover (the paper's general
    ``Element`` with K, bends with an explicit D): the exponential of the generator with the linearised radiation terms
    d(delta)/ds = -c_d (2 h^2 delta + g x) (energy loss, g = 2 h k1 + h^3) and
    d(x', z')/ds = -c_d h^2 (x', z') (the paper's D), c_d = C_gamma E^3 / 2 pi,
    and Van Loan's integral of the delta-kick noise on the bare map; wedge faces add
    delta += c_d h^2 tan(e) x after each edge.
    """
    gamma = energy / ELECTRON_MASS
    c_d = C_GAMMA * energy**3 / (2 * np.pi)
    c_q = 4.0 / 3.0 * C_Q * R_E * gamma**5
    h, k1, g, L, faces = _strengths(unique)
    u = len(unique)
    A = maps.generators6(unique)
    A0 = A.copy()
    A[:, 1, 1] -= c_d * h**2
    A[:, 3, 3] -= c_d * h**2
    A[:, 4, 4] -= 2 * c_d * h**2
    A[:, 4, 0] -= c_d * g
    phi = np.zeros((u, 6, 6))
    phi[:, 4, 4] = c_q * np.abs(h)**3
    body = maps.expm_stacked(A * L[:, None, None])
    _, R = van_loan(A0, phi, L)       # photons on the bare map: first order, as noise6_bend
    eye = np.broadcast_to(np.eye(6), (u, 6, 6))
    f_in, f_out = eye.copy(), eye.copy()
    # a wedge face: the outer particle passes less field (I4 face term -h^2 tan(e) xi)
    f_in[:, 4, 0] = c_d * h**2 * np.tan(faces[:, 0])
    f_out[:, 4, 0] = c_d * h**2 * np.tan(faces[:, 1])
    ent = maps.edge_maps6(unique, "entrance")       # 6x6: a face may also kick delta (KickedBend)
    ex = maps.mm(f_out, maps.edge_maps6(unique, "exit"))
    M = maps.mm(ex, maps.mm(body, maps.mm(f_in, ent)))
    R = maps._mmT(maps.mm(ex, R), ex)
    tilt = np.array([el.tilt for el in unique])
    if np.any(tilt):
        Rm, Rp = maps.rotation6(-tilt), maps.rotation6(tilt)
        M = maps.mm(Rm, maps.mm(M, Rp))
        R = maps._mmT(maps.mm(Rm, R), Rm)
    return M, 0.5 * (R + np.swapaxes(R, -1, -2))


def radiation_model(ring: Ring, energy: float) -> RadiationModel:
    """Damping and noise of every element of ``ring`` at ``energy`` (GeV), exact per element.

    Parameters
    ----------
    ring : Ring
        The lattice (its cell and periodicity; any radiation model it has is ignored).
    energy : float
        Beam energy (GeV).

    Returns
    -------
    RadiationModel

    References
    ----------
    Sands SLAC-121 ch. 4-5; LNF-64/55 eq. (2), (3), (5), §2 b.

    Examples
    --------
    >>> from coupled_beam.lattice import Bend
    >>> m = radiation_model(Ring([Bend(2 * np.pi, K=1.0, n=0.5)]), energy=0.5)
    >>> round(float(m.p2 / (C_Q * (0.5 / ELECTRON_MASS)**2 / 2)), 12)   # J_s = 2, p2 = C_q g^2/(2 rho)
    1.0
    """
    energy = _check_energy(energy)
    lat = _lattice(ring)
    par = _parameters(lat, energy)
    _validate.radiation_loss(energy, par.U0)   # no map can be formed when the beam loses its energy per turn
    M6 = np.array(lat.ring._bare6)
    G6 = np.zeros_like(M6)
    user_noise = any(el._has_phi for el in lat.ring._distinct[0])   # the paper's phi_hat, if any
    if user_noise:
        G6[:, :4, :4] = lat.ring._user_noise4
    Mb, Rb = _radiating_maps(lat.unique, energy, getattr(lat.ring, "_bend_parts", None))
    M6[lat.index] = Mb[lat.inv]
    G6[lat.index] += Rb[lat.inv]
    # betatron restriction: only radiating elements have a delta row or delta noise
    maps4 = np.array(lat.ring._bare6[:, :4, :4])
    noise4 = np.array(lat.ring._user_noise4) if user_noise else np.zeros_like(maps4)
    idx = lat.index
    Mi, eo = Mb[lat.inv], lat.eta[idx + 1]       # = M6[idx]
    Gi = G6[idx] if user_noise else Rb[lat.inv]   # = G6[idx]
    maps4[idx] = Mi[:, :4, :4] - eo[:, :, None] * Mi[:, 4, None, :4]
    gy = Gi[:, 4, :4]
    Ri = (Gi[:, :4, :4] - eo[:, :, None] * gy[:, None, :] - gy[:, :, None] * eo[:, None, :]
          + Gi[:, 4, 4, None, None] * eo[:, :, None] * eo[:, None, :])
    noise4[idx] = 0.5 * (Ri + np.swapaxes(Ri, -1, -2))
    for a in (M6, G6, maps4, noise4):
        a.flags.writeable = False
    return RadiationModel(energy=energy, parameters=par, p2=par.p2, maps6=M6, noise6=G6,
                          eta=lat.eta, maps4=maps4, noise4=noise4)


def with_radiation(ring: Ring, energy: float) -> Ring:
    """The ring with the standard electron radiation model: a new :class:`Ring` (pure).

    Parameters
    ----------
    ring : Ring
    energy : float
        Beam energy (GeV).

    Returns
    -------
    Ring
        Same elements and periodicity; ``energy``, ``p2`` and the damped
        maps and noise of :func:`radiation_model`.

    Examples
    --------
    >>> from coupled_beam.lattice import Bend
    >>> bare = Ring([Bend(2 * np.pi, K=1.0, n=0.5)])
    >>> hot = with_radiation(bare, 0.5)
    >>> bare.energy is None, hot.energy
    (True, 0.5)
    """
    if not isinstance(ring, Ring):
        raise InputError(f"with_radiation needs a coupled_beam.lattice.Ring, got {ring!r}",
                         value=repr(ring))
    return Ring(ring.elements, periodicity=ring.periodicity,
                _radiation=radiation_model(ring, energy))
