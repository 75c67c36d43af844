"""Standard electron radiation: damping D(s), full 4x4 noise phi_hat(s), <p^2>.

The paper leaves D and phi to its reference I. This module supplies the
standard classical + quantum radiation model of an electron ring in the
paper's s-domain form, from the beam energy and the magnets only.

Model (linear, on the design orbit; h = K = 1/rho, k1 = -K^2 n the
quadrupole gradient of a combined-function bend, MAD sign; gamma = E/mc^2):

* energy loss per metre  dU/ds = (C_gamma E^4 / 2 pi) (h^2 + g x),
  g = 2 h k1 + h^3 (field gradient and longer outer path) [Sands ch. 4];
  U0 = C_gamma E^4 I2 / (2 pi).
* damping: photons leave along the orbit, so the angles keep and the momenta
  x', z' lose the fraction dU/E:  D = c_d h^2 1 (2x2), c_d = C_gamma E^3/(2 pi).
* dispersion feedback: an energy change dp moves the betatron coordinates by
  -v dp, v = (xi, xi', zeta, zeta') (closed orbit functions, eq. (2)); with the
  x-dependent loss this adds d y_hat/ds += c_d g v x_b, a rank-one term in
  column 1 of A(s) (beyond the paper's D, which acts on y' only). Hard-edge
  wedges add thin kicks -c_d h^2 tan(e) v x_b at the faces (I4 edge terms).
  Together: per-turn decrements J_x U0/E, J_z U0/E of the emittances,
  J_x = 1 - I4/I2, J_z = 1, J_s = 2 + I4/I2 [Sands ch. 4; Robinson's sum 4].
* quantum excitation: d<p^2>/ds = (55 / (24 sqrt 3)) r_e lambda_c gamma^5
  abs(h)^3 = (4/3) C_q r_e gamma^5 abs(h)^3 [Sands ch. 5], and
  each emission jumps the betatron coordinates by -v dp, so
  phi_hat(s) = (4/3) C_q r_e gamma^5 abs(h)^3 v v^T, the full 4x4 (the
  paper keeps the 22/24/44 entries only). The factor is the full variance
  rate; the "half" quoted in Fokker-Planck texts is the diffusion
  coefficient <dp^2>/(2 ds). The check eps_x = C_q gamma^2 I5 / (J_x I2)
  settles it: with 4/3 the engine reproduces it (tests/test_radiation.py).
* synchrotron side: <p^2> = C_q gamma^2 I3 / (J_s I2) [Sands ch. 5].

Numerics: v(s) inside a bend is exact (block exponential of [[A, b], [0, 0]]);
phi_hat(s) varies as v v^T, so each bend gets the constant ``phi_hat`` whose
noise integral equals the integral of phi_hat(s) (both by the same 16-point
Gauss-Legendre rule, error far below 1e-12 for L < beta): boundaries, maps and
noise integrals are exact, and :class:`coupled_beam.lattice.Ring` needs no
special case. The feedback vector uses the bend average of v (its integral is
exact; the placement inside the bend changes sizes by O(U0/E)).

Hook with the lattice engine (issue 3): ``Ring(elements, energy)`` calls
``apply_radiation(elements, energy) -> (elements, p2)``; bending elements
(``K != 0``, length > 0) come back wrapped in :class:`RadiatingElement`,
which keeps the wrapped element's map edges and forcing. Optional hard-edge
face angles are read from ``entrance_angle`` / ``exit_angle`` attributes (rad;
set by :mod:`coupled_beam.interop.pyat`); an element with ``face_radiation``
False gets no face terms (pyAT's tracking model, see that module).

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

import copy
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from coupled_beam import _validate
from coupled_beam.errors import InputError, ResonanceError
from coupled_beam.lattice import Element, Ring

__all__ = [
    "ELECTRON_MASS",
    "R_E",
    "LAMBDA_C",
    "C_GAMMA",
    "C_Q",
    "SPEED_OF_LIGHT",
    "RadiatingElement",
    "RadiationParameters",
    "radiation_parameters",
    "apply_radiation",
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

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)
_E1 = np.array([1.0, 0.0, 0.0, 0.0])


class RadiatingElement(Element):
    """A bending element with its radiation: damping, feedback and noise.

    Parameters
    ----------
    base : coupled_beam.lattice.Element
        The element without radiation (its map edges and forcing are kept).
    D : (2, 2) array_like
        Momentum damping c_d h^2 1 (1/m), eq. (3).
    phi_hat : (4, 4) array_like
        Constant noise with the exact noise integral (per m), eq. (5).
    feedback : (4,) array_like
        c_d g <v> (1/m): d y_hat/ds gains ``feedback * x_b``.
    kick_in, kick_out : (4,) array_like
        Thin face terms -c_d h^2 tan(e) v (dimensionless), applied with the
        entrance and exit edges.

    References
    ----------
    Sands SLAC-121 ch. 4; LNF-64/55 eq. (3), (5).

    Examples
    --------
    >>> from coupled_beam.lattice import Bend
    >>> el = RadiatingElement(Bend(1.0, K=0.1), 1e-6 * np.eye(2), np.zeros((4, 4)),
    ...                       np.zeros(4), np.zeros(4), np.zeros(4))
    >>> float(el.A[1, 1])
    -1e-06
    """

    kind = "radiating"

    def __init__(self, base: Element, D, phi_hat, feedback, kick_in, kick_out) -> None:
        super().__init__(base.length, K=base.K, n=base.n, M=base.M, H=base.H, D=D,
                         phi_hat=phi_hat, name=base.name)
        self.base = base
        self._core = copy.copy(base)
        self._core.D = self.D
        self.feedback = np.asarray(feedback, dtype=float).reshape(4)
        self.kick_in = np.asarray(kick_in, dtype=float).reshape(4)
        self.kick_out = np.asarray(kick_out, dtype=float).reshape(4)

    @property
    def A(self) -> np.ndarray:
        """A(s) of the wrapped element with D, plus the feedback column."""
        return self._core.A + np.outer(self.feedback, _E1)

    @property
    def b(self) -> np.ndarray:
        """Closed-orbit forcing of the wrapped element."""
        return self.base.b

    @property
    def entrance(self) -> np.ndarray:
        """Entrance edge of the wrapped element, then the face radiation term."""
        return (np.eye(4) + np.outer(self.kick_in, _E1)) @ self.base.entrance

    @property
    def exit(self) -> np.ndarray:
        """Exit edge of the wrapped element, then the face radiation term."""
        return (np.eye(4) + np.outer(self.kick_out, _E1)) @ self.base.exit


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


def _augmented_maps(elements: Sequence[Element]) -> np.ndarray:
    """(n, 5, 5) maps [[N, n], [0, 1]] on (y_hat, p), one batched exponential."""
    from scipy.linalg import expm

    big = np.zeros((len(elements), 5, 5))
    for i, el in enumerate(elements):
        big[i, :4, :4] = el.A * el.length
        big[i, :4, 4] = el.b * el.length
    out = expm(big)
    edge = np.tile(np.eye(5), (len(elements), 2, 1, 1))
    for i, el in enumerate(elements):
        if type(el).augmented_map is not Element.augmented_map:   # thin elements
            out[i] = el.augmented_map()
            continue
        edge[i, 0, :4, :4] = el.entrance
        edge[i, 1, :4, :4] = el.exit
    return edge[:, 1] @ out @ edge[:, 0]


@dataclass(frozen=True)
class _Survey:
    """Bare-lattice data: orbit functions and per-bend quadrature (batched)."""

    elements: tuple
    circumference: float
    v: np.ndarray          # (n + 1, 4) closed-orbit vectors at boundaries
    index: np.ndarray      # (nb,) bend indices
    t: np.ndarray          # (nb, k) quadrature nodes (m from the entrance)
    w: np.ndarray          # (nb, k) weights (m)
    vk: np.ndarray         # (nb, k, 4) v at the nodes
    curly_h: np.ndarray    # (nb, k) horizontal H-function at the nodes
    v_in: np.ndarray       # (nb, 4) v just inside the entrance face


def _survey(elements: Sequence[Element]) -> _Survey:
    """Closed orbit functions (eq. (2)) and x-Twiss inside every bend of the bare lattice."""
    from scipy.linalg import expm

    elements = tuple(el.base if isinstance(el, RadiatingElement) else el for el in elements)
    for i, el in enumerate(elements):
        if not isinstance(el, Element):
            raise InputError(f"element {i} is {el!r}, not a coupled_beam.lattice.Element", value=repr(el))
    if not elements:
        raise InputError("the lattice has no elements", value=0)
    aug = _augmented_maps(elements)
    P = np.empty((len(aug) + 1, 5, 5))
    P[0] = np.eye(5)
    for i, a in enumerate(aug):
        P[i + 1] = a @ P[i]
    v = np.empty((len(aug) + 1, 5))
    try:
        v[0, :4] = np.linalg.solve(np.eye(4) - P[-1, :4, :4], P[-1, :4, 4])
    except np.linalg.LinAlgError:
        raise ResonanceError("1 - N(s0) is singular (an integer tune): the closed-orbit "
                             "functions xi, zeta of eq. (2) do not exist; move the tunes "
                             "off the integer") from None
    v[0, 4] = 1.0
    v[1:] = np.einsum("nij,j->ni", P[1:], v[0])
    Pn = P[:, :4, :4]
    turns = Pn @ Pn[-1] @ np.linalg.inv(Pn)                  # N(s_i) at the boundaries
    index = np.array([i for i, el in enumerate(elements) if _radiates(el)], dtype=int)
    L = np.array([elements[i].length for i in index])
    t = 0.5 * L[:, None] * (_NODES + 1.0)
    w = 0.5 * L[:, None] * _WEIGHTS
    ent = np.array([elements[i].entrance for i in index]).reshape(-1, 4, 4)
    small = np.zeros((len(index), 5, 5))
    for k, i in enumerate(index):
        small[k, :4, :4] = elements[i].A
        small[k, :4, 4] = elements[i].b
    E = expm(small[:, None] * t[:, :, None, None])            # (nb, k, 5, 5)
    v_in = np.einsum("bij,bj->bi", ent, v[index, :4])
    vk = np.einsum("bkij,bj->bki", E[..., :4, :4], v_in) + E[..., :4, 4]
    turn0 = ent @ turns[index] @ np.linalg.inv(ent)
    Nk = E[..., :4, :4]
    mx = (Nk @ turn0[:, None] @ np.linalg.inv(Nk))[..., :2, :2]
    cos_mu = 0.5 * (mx[..., 0, 0] + mx[..., 1, 1])
    # strong coupling: the x-x block need not be an oscillation; I5 then is NaN
    with np.errstate(invalid="ignore"):
        sin_mu = np.sign(mx[..., 0, 1]) * np.sqrt(1.0 - cos_mu**2)
    beta = mx[..., 0, 1] / sin_mu
    alpha = (mx[..., 0, 0] - mx[..., 1, 1]) / (2.0 * sin_mu)
    gam = -mx[..., 1, 0] / sin_mu
    xi, xip = vk[..., 0], vk[..., 1]
    curly_h = gam * xi**2 + 2 * alpha * xi * xip + beta * xip**2
    return _Survey(elements=elements, circumference=float(sum(el.length for el in elements)),
                   v=v[:, :4], index=index, t=t, w=w, vk=vk, curly_h=curly_h, v_in=v_in)


def _faces(el: Element) -> tuple[float, float]:
    if not getattr(el, "face_radiation", True):
        return 0.0, 0.0
    return (float(getattr(el, "entrance_angle", 0.0)), float(getattr(el, "exit_angle", 0.0)))


def _radiates(el: Element) -> bool:
    return el.K != 0.0 and el.length > 0.0


def _strengths(sv: _Survey):
    """h, k1, g = 2 h k1 + h^3 and face angles of every bend, (nb,) arrays."""
    els = [sv.elements[i] for i in sv.index]
    h = np.array([el.K for el in els])
    k1 = np.array([-el.K**2 * el.n for el in els])
    faces = np.array([_faces(el) for el in els]).reshape(-1, 2)
    return h, k1, 2 * h * k1 + h**3, faces


def _integrals(sv: _Survey) -> tuple[float, float, float, float, float]:
    h, k1, g, faces = _strengths(sv)
    L = sv.w.sum(axis=1)
    xi_int = np.einsum("bk,bk->b", sv.w, sv.vk[..., 0])
    xi_out = sv.v[sv.index + 1, 0]
    I1 = np.sum(h * xi_int)
    I2 = np.sum(h**2 * L)
    I3 = np.sum(np.abs(h)**3 * L)
    I4 = np.sum(g * xi_int - h**2 * (np.tan(faces[:, 0]) * sv.v_in[:, 0]
                                     + np.tan(faces[:, 1]) * xi_out))
    I5 = np.sum(np.abs(h)**3 * np.einsum("bk,bk->b", sv.w, sv.curly_h))
    return tuple(float(x) for x in (I1, I2, I3, I4, I5))


def radiation_parameters(elements: Sequence[Element] | Ring,
                         energy: float) -> RadiationParameters:
    """Radiation integrals I1...I5, partition numbers, damping times, eps_x, <p^2>.

    Parameters
    ----------
    elements : sequence of Element or Ring
        The lattice (radiating elements are taken without their radiation).
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
    if isinstance(elements, Ring):
        elements = elements.elements
    return _parameters(_survey(elements), energy)


def _parameters(sv: _Survey, energy: float) -> RadiationParameters:
    if sv.index.size == 0:
        raise InputError("no bending element (K != 0, length > 0): nothing radiates; "
                         "give the ring its bends")
    I1, I2, I3, I4, I5 = _integrals(sv)
    gamma = energy / ELECTRON_MASS
    U0 = C_GAMMA * energy**4 * I2 / (2 * np.pi)
    J_x, J_z, J_s = 1.0 - I4 / I2, 1.0, 2.0 + I4 / I2
    T0 = sv.circumference / SPEED_OF_LIGHT
    tau = [2 * energy * T0 / (J * U0) for J in (J_x, J_z, J_s)]
    p2 = float(C_Q * gamma**2 * I3 / (J_s * I2))
    return RadiationParameters(
        energy=energy, gamma=gamma, circumference=sv.circumference,
        I1=I1, I2=I2, I3=I3, I4=I4, I5=I5, U0=U0, J_x=J_x, J_z=J_z, J_s=J_s,
        tau_x=tau[0], tau_z=tau[1], tau_s=tau[2],
        eps_x=float(C_Q * gamma**2 * I5 / (J_x * I2)), p2=p2, sigma_delta=float(np.sqrt(p2)))


def _noise_phi_hat(E: np.ndarray, w: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Constant phi_hat of each bend whose integral int N phi N^T ds is R, (nb, 4, 4).

    The linear map phi -> sum_k w_k E_k phi E_k^T (E_k = N(L, s_k), the same
    16-point rule that gives R) is inverted; it preserves symmetry, so phi is
    symmetric, and its Van Loan integral equals R to the rule's accuracy.
    """
    T = np.einsum("bk,bkij,bkpq->bipjq", w, E, E).reshape(len(R), 16, 16)
    phi = np.linalg.solve(T, R.reshape(len(R), 16, 1)).reshape(-1, 4, 4)
    return 0.5 * (phi + np.swapaxes(phi, -1, -2))


def apply_radiation(elements: Sequence[Element],
                    energy: float) -> tuple[list[Element], float]:
    """The lattice with radiation switched on: D, feedback and phi_hat in every bend.

    Parameters
    ----------
    elements : sequence of Element
        The lattice without radiation.
    energy : float
        Beam energy (GeV).

    Returns
    -------
    elements : list of Element
        Bends replaced by :class:`RadiatingElement`; other elements unchanged.
    p2 : float
        <p^2> = C_q gamma^2 I3 / (J_s I2).

    References
    ----------
    Sands SLAC-121 ch. 4-5; LNF-64/55 eq. (3), (5), §2 b.

    Examples
    --------
    >>> from coupled_beam.lattice import Bend, Drift
    >>> els, p2 = apply_radiation([Bend(2 * np.pi, K=1.0, n=0.5)], energy=0.5)
    >>> type(els[0]).__name__   # isomagnetic, n = 1/2: J_s = 2, p2 = C_q gamma^2 / (2 rho)
    'RadiatingElement'
    >>> round(float(p2 / (C_Q * (0.5 / ELECTRON_MASS)**2 / 2)), 12)
    1.0
    """
    from scipy.linalg import expm

    energy = _check_energy(energy)
    sv = _survey(elements)
    par = _parameters(sv, energy)
    _validate.radiation_loss(energy, par.U0)   # no map can be formed when the beam loses its energy per turn
    h, _, g, faces = _strengths(sv)
    c_d = C_GAMMA * energy**3 / (2 * np.pi)
    c_q = 4.0 / 3.0 * C_Q * R_E * par.gamma**5
    L = sv.w.sum(axis=1)
    v_mean = np.einsum("bk,bki->bi", sv.w, sv.vk) / L[:, None]
    rad = []
    for k, i in enumerate(sv.index):
        el = sv.elements[i]
        rad.append(RadiatingElement(
            el, c_d * h[k]**2 * np.eye(2), None, c_d * g[k] * v_mean[k],
            -c_d * h[k]**2 * np.tan(faces[k, 0]) * sv.v_in[k],
            -c_d * h[k]**2 * np.tan(faces[k, 1]) * sv.v[i + 1]))
    A = np.array([el.A for el in rad]).reshape(-1, 4, 4)
    E = expm(A[:, None] * (L[:, None] - sv.t)[..., None, None])     # N(L, s_k)
    Ev = np.einsum("bkij,bkj->bki", E, sv.vk)
    R = c_q * (np.abs(h)**3)[:, None, None] * np.einsum("bk,bki,bkj->bij", sv.w, Ev, Ev)
    phi = _noise_phi_hat(E, sv.w, R)
    out = list(sv.elements)
    for k, i in enumerate(sv.index):
        rad[k].phi_hat = phi[k]     # symmetric by construction (see _noise_phi_hat)
        out[i] = rad[k]
    return out, par.p2
