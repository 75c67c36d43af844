"""Pieces shared by the converters (pyAT, MAD-X, Xsuite): feed-down, rolled quadrupoles, offenders.

Multipole convention (MAD-X, pyAT, Xsuite agree): with w = x + i z and the
complex strengths c_n = (b_n + i a_n) (per metre, pyAT's PolynomB/PolynomA
= MAD-X K_n/n!, K_ns/n!), the kick per metre is

    x' -= Re sum_n c_n w^n,    z' += Im sum_n c_n w^n.

Around an orbit point w0 the linear part of the kick is that of a
quadrupole with c_1,eff = sum_n n c_n w0^(n-1): the normal gradient
k1 = Re c_1,eff and the skew gradient k1s = Im c_1,eff. For a sextupole
(c_2 = K2/2): k1 = K2 x0, k1s = K2 z0 (MAD-X K2; pyAT 2 PolynomB[2] x0, 2 PolynomB[2] z0).
Check: x' -= b2 (x^2 - z^2) gives d x'/dx = -2 b2 x0 (a focusing k1 = 2 b2 x0)
and d x'/dz = 2 b2 z0 = +k1s, as for a skew quadrupole (x' += k1s z).

A normal plus skew quadrupole (k1, k1s) is a normal quadrupole of gradient
hypot(k1, k1s) rolled by theta = -atan2(k1s, k1) / 2 (MAD-X: TILT = pi/4
turns a positive normal quadrupole into a negative skew one, k1s = -k1 sin 2 theta).
"""

from __future__ import annotations

import math

import numpy as np

from coupled_beam.errors import UnknownElementError

__all__ = ["feed_down", "quadrupole", "Offenders", "roll_of", "kicked_bend", "kicked_quadrupole",
           "orbit_slopes", "e2_body_jacobian", "e2_face_jacobian", "quad_fringe_jacobian",
           "body_orbit", "mean_orbit", "bend_at_orbit"]


def feed_down(normal, skew, x0: float, z0: float, start: int = 2) -> tuple[float, float]:
    """(k1, k1s) of the multipoles of order >= ``start`` at the orbit (x0, z0).

    Parameters
    ----------
    normal, skew : sequence of float
        b_n, a_n (pyAT PolynomB, PolynomA: K_n / n!), n = 0, 1, 2, ...
    x0, z0 : float
        Orbit in the magnet frame (m).
    start : int
        Lowest order included (2: sextupoles and up; the quadrupole itself
        is taken as is).

    Returns
    -------
    (float, float)
        Normal and skew gradient (same unit as b_1).

    Examples
    --------
    >>> feed_down([0, 0, 1.5], [0, 0, 0], 1e-3, 2e-3)   # b2 = K2/2 = 1.5: k1 = 2 b2 x0
    (0.003, 0.006)
    """
    b = np.zeros(max(len(normal), len(skew)) + 1)
    a = np.zeros_like(b)
    b[:len(normal)] = np.asarray(normal, dtype=float)
    a[:len(skew)] = np.asarray(skew, dtype=float)
    w0 = complex(x0, z0)
    c1 = sum(n * complex(b[n], a[n]) * w0 ** (n - 1) for n in range(max(start, 1), len(b)))
    return float(c1.real), float(c1.imag)


def roll_of(k1: float, k1s: float) -> tuple[float, float]:
    """(gradient, roll) of the normal quadrupole equal to normal k1 plus skew k1s.

    Examples
    --------
    >>> g, t = roll_of(0.0, -1.0)     # a negative skew quad = a normal one rolled by pi/4
    >>> round(g, 12), round(t, 12)
    (1.0, 0.785398163397)
    """
    if k1s == 0.0:
        return float(k1), 0.0
    return float(math.hypot(k1, k1s)), float(-0.5 * math.atan2(k1s, k1))


def quadrupole(length: float, k1: float, k1s: float, tilt: float, name: str):
    """A thick or thin (length 0; k1, k1s integrated) quadrupole with normal and skew parts.

    Returns :class:`~coupled_beam.lattice.Drift` / ``Marker`` when both are zero.
    """
    from coupled_beam import lattice as lat

    if length == 0.0:
        if k1 == 0.0 and k1s == 0.0:
            return lat.Marker(name=name)
        return lat.ThinQuadrupole(k1, k1s, tilt=tilt, name=name)
    if k1 == 0.0 and k1s == 0.0:
        return lat.Drift(length, name=name)
    g, t = roll_of(k1, k1s)
    return lat.Quadrupole(length, g, tilt=tilt + t, name=name)


class Offenders:
    """Collects every element that cannot be converted, then raises once.

    Examples
    --------
    >>> o = Offenders("MAD-X sequence 'ring'")
    >>> o.add(3, "w1", "WIGGLER", "no linear model of a wiggler; replace it by bends")
    >>> o.add(9, "w2", "WIGGLER", "no linear model of a wiggler; replace it by bends")
    >>> try:
    ...     o.raise_if_any()
    ... except UnknownElementError as e:
    ...     print(len(e.offenders))
    2
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[tuple[int, str, str, str]] = []

    def add(self, index: int, name: str, kind: str, reason: str) -> None:
        self.items.append((int(index), str(name), str(kind), str(reason)))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        lines = [f"  element {i} {name!r} ({kind}): {why}" for i, name, kind, why in self.items]
        raise UnknownElementError(
            f"{self.where}: {len(self.items)} element(s) have no linear counterpart:\n"
            + "\n".join(lines), offenders=[dict(index=i, name=n, kind=k, reason=r)
                                           for i, n, k, r in self.items],
            index=self.items[0][0], name=self.items[0][1])


def _no_face_bend_class():
    from dataclasses import dataclass
    from typing import ClassVar

    from coupled_beam.lattice import Bend

    @dataclass(frozen=True, eq=False, repr=False)
    class TrackingFaceBend(Bend):
        """A :class:`~coupled_beam.lattice.Bend` whose pole faces add no radiation terms.

        Same map; :mod:`coupled_beam.radiation` skips the wedge terms -h^2 tan(e) xi of I4
        (``face_radiation`` False), as pyAT's tracking (``ohmi_envelope``) does.
        """

        face_radiation: ClassVar[bool] = False

    return TrackingFaceBend


_CACHE: dict = {}


def no_face_radiation(bend):
    """The same bend with ``face_radiation`` False (see ``TrackingFaceBend``)."""
    cls = _CACHE.get("cls")
    if cls is None:
        cls = _CACHE["cls"] = _no_face_bend_class()
    fields = {f: getattr(bend, f) for f in ("length", "K", "n", "e1", "e2", "fint_gap1", "fint_gap2",
                                            "tilt", "name")}
    return cls(**fields)


def _face_kick6(edge4: np.ndarray, K: float, e: float, gap: float, orbit, method: int = 1,
                sign: float = 1.0) -> np.ndarray:
    """6x6 pole-face map at the magnet-frame orbit (x0, x0', z0, z0'): the linear face and its orbit terms.

    pyAT's hard-edge face (``bend_linear_fringe``; MAD-X's for method 4) in
    x' = px / (1 + delta): x' += K tan(e) x / (1 + delta), z' -= z F(delta, x'),
    F = f_y / (1 + delta), psi = K gap (1 + sin^2 e) / cos e (gap = FINT x full gap, 0 for method 0):

    ======  ============================================
    method  f_y
    ======  ============================================
    0, 1    K tan(e - psi / (1 + delta))
    2       K tan(e - psi / (1 + delta)) / (1 + delta)
    3       K tan(e - psi + sign x')  (sign +1 entrance, -1 exit)
    4       K tan(e - psi)  (MAD-X TWISS, ``tmfrng``: no delta in psi)
    ======  ============================================

    Linearised at the orbit (delta = 0), the kicks of the orbit itself are
    part of the orbit; what stays is the delta column c_1 = -K tan(e) x0,
    c_3 = -z0 dF/d(delta) with its symplectic partner l += c_1 x + c_3 z (as
    :func:`coupled_beam.lattice.maps.generators6`), and for method 3 the
    focusing -F at the orbit slope and the term z' -= z0 dF/dx' x'.

    Examples
    --------
    >>> E = _face_kick6(np.eye(4), 0.1, 0.2, 0.0, (0.0, 0.0, 1e-3, 0.0))
    >>> round(float(E[3, 4]), 10)             # z0 K tan(e): the face's chromatic kick
    2.0271e-05
    """
    x0, xp0, z0, _ = (float(v) for v in orbit)
    out = np.eye(6)
    out[:4, :4] = edge4
    if not (e or gap or method == 3):
        return out
    psi = K * gap * (1 + math.sin(e) ** 2) / math.cos(e)
    c1 = -K * math.tan(e) * x0
    if method == 3:
        t = math.tan(e - psi + sign * xp0)
        dF_dd, dF_dxp = -K * t, sign * K * (1 + t * t)
        out[3, 2] = -K * t
        out[3, 1] -= z0 * dF_dxp
    else:
        t = math.tan(e - psi)
        dF_dd = -K * t if method == 4 else K * (1 + t * t) * psi - (2.0 if method == 2 else 1.0) * K * t
    return _delta_kick(out, c1, -z0 * dF_dd)


def _slope_kicks(A4: np.ndarray, length: float, slope) -> tuple[np.ndarray, np.ndarray]:
    """Thin delta kicks (c_in, c_out) at the ends equal to a forcing that changes linearly along a piece.

    The forcing of a piece of generator A (4x4) on an orbit that moves inside it is
    f(s) = f_mean + slope (s / L - 1/2) (x', z' rows, 1/m); the linear part's response at the exit,
    int_0^L exp(A (L - s)) e slope (s / L - 1/2) ds (exact: the exponential of A augmented by
    the forcing and s), is reproduced exactly in the delta column by the kick c_in = (x', z') at
    the entrance (it matches the positions) and c_out at the exit (the slopes).

    Examples
    --------
    >>> cin, cout = _slope_kicks(np.diag([0.0, 0, 0, 0]) + np.diag([1.0, 0, 1.0], 1), 2.0, (0.3, 0.0))
    >>> [round(float(v), 12) for v in (cin[0], cout[0])]     # a drift: -+ slope L / 12
    [-0.05, 0.05]
    """
    from coupled_beam.lattice.maps import expm_stacked

    G = np.zeros((6, 6))
    G[:4, :4] = A4
    G[[1, 3], 4] = np.asarray(slope, dtype=float) / length
    G[4, 5] = 1.0
    E = expm_stacked((G * length)[None])[0]
    resp = E[:4, 5] - 0.5 * length * E[:4, 4]
    Mb = E[:4, :4]
    cin = np.linalg.solve(Mb[[0, 2]][:, [1, 3]], resp[[0, 2]])
    cout = resp[[1, 3]] - Mb[[1, 3]][:, [1, 3]] @ cin
    return cin, cout


def _profile_kicks(A4: np.ndarray, length: float, a, b, mean) -> tuple[np.ndarray, np.ndarray]:
    """End kicks (c_in, c_out) for the exact chromatic forcing of an orbit that the piece itself bends.

    Inside a linear piece (generator A, 4x4) the orbit solves X' = A X + f, f a constant force
    (x', z' rows) fixed by the orbit at the ends (a just inside the entrance, b just inside the
    exit). Every force F is F / (1 + delta) in x' = px / (1 + delta), so the orbit leaves the
    delta forcing -P X''(s) = -P (A X + f) (P: the x', z' rows), which varies along the piece as
    the orbit does. Its response at the exit (exact: one exponential of A augmented by the
    orbit and f), minus that of the constant ``mean`` forcing (4-vector) the generator already
    carries, is reproduced in the delta column by kicks at the ends (as :func:`_slope_kicks`).

    Examples
    --------
    >>> A = np.zeros((4, 4)); A[0, 1] = A[2, 3] = 1.0; A[1, 0], A[3, 2] = -1.0, 1.0   # a quadrupole
    >>> a = np.array([1e-3, 0.0, 0.0, 0.0])
    >>> from coupled_beam.lattice.maps import expm_stacked
    >>> b = expm_stacked((A * 0.5)[None])[0] @ a
    >>> cin, cout = _profile_kicks(A, 0.5, a, b, np.zeros(4))
    >>> bool(abs(cin[0]) > 0), bool(abs(cout[0]) > 0)
    (True, True)
    """
    from coupled_beam.lattice.maps import expm_stacked

    A4 = np.asarray(A4, dtype=float)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    P = np.diag([0.0, 1.0, 0.0, 1.0])
    F = np.zeros((4, 2))
    F[1, 0] = F[3, 1] = 1.0
    # states (Y, X, 1, f): Y' = A Y - P (A X + F f) - mean, X' = A X + F f; f, 1 constant
    Z = np.zeros((11, 11))
    Z[:4, :4], Z[:4, 4:8], Z[:4, 8], Z[:4, 9:] = A4, -P @ A4, -np.asarray(mean, dtype=float), -F
    Z[4:8, 4:8], Z[4:8, 9:] = A4, F
    E = expm_stacked((Z * length)[None])[0]
    Phi = E[4:8, 4:8]
    f = np.linalg.lstsq(E[4:8, 9:], b - Phi @ a, rcond=None)[0]     # the force that closes the orbit
    resp = E[:4, 4:8] @ a + E[:4, 8] + E[:4, 9:] @ f
    cin = np.linalg.solve(Phi[[0, 2]][:, [1, 3]], resp[[0, 2]])
    cout = resp[[1, 3]] - Phi[[1, 3]][:, [1, 3]] @ cin
    return cin, cout


def _delta_kick(M: np.ndarray, c1: float, c3: float) -> np.ndarray:
    """M with a thin delta kick x' += c1 delta, z' += c3 delta and its partner l += c1 x + c3 z."""
    M[1, 4] += c1
    M[3, 4] += c3
    M[5, 0] += c1
    M[5, 2] += c3
    return M


def _hamiltonian_part(X: np.ndarray) -> np.ndarray:
    """(X + J X^T J) / 2: the part of a 4x4 X in the symplectic algebra (exp of it is symplectic)."""
    J = np.kron(np.eye(2), np.array([[0.0, 1.0], [-1.0, 0.0]]))
    return 0.5 * (X + J @ X.T @ J)


def e2_face_jacobian(K: float, e: float, gap: float, h_face: float, k1: float, orbit,
                     exit: bool = False, madx: bool = False) -> np.ndarray:
    """First-order-in-orbit part (4x4) of pyAT's second-order (Brown) pole-face map at an orbit.

    pyAT's BndMPoleSymplectic4E2Pass applies at each face x += T111 x^2 + T133 z^2,
    x' += 2 T212 x x' + 2 T234 z z' + T211 x^2 + T233 z^2, z += 2 T313 x z,
    z' += 2 T414 x z' + 2 T413 x z + 2 T423 x' z (K. L. Brown, SLAC-75; h1/h2 the
    face curvature, k1 the gradient) on top of the linear face; linearised at the
    orbit (x0, x0', z0, z0') met by the face (magnet frame, before its kick) these
    give the 4x4 returned here, to be added to the linear face map. Their delta
    terms are second order in the orbit (none kept). The exact hard-edge wedge
    (pyAT's ExactSectorBendPass) has the same terms to 1e-7 at a 0.3 mm orbit.
    ``madx``: MAD-X's TRANSPORT face (``tmfrng``, the same Brown terms) instead, whose
    T233 has tan^2(e) where pyAT's has tan^2(e - psi) (psi the fringe correction);
    equal without fringe (gap = 0).

    Examples
    --------
    >>> D = e2_face_jacobian(0.785, 0.3927, 0.0, 0.0, 0.0, (0.0, 0.0, -3e-4, 0.0))
    >>> round(float(D[0, 2]), 9)                  # x <- z: 2 T133 z0 = K sec^2(e) z0
    -0.000275906
    """
    x0, px0, z0, pz0 = (float(v) for v in orbit)
    ca, sa = math.cos(e), math.sin(e)
    t, sec = sa / ca, 1.0 / ca
    tb = t if madx else math.tan(e - K * gap * (1.0 + sa * sa) / ca)
    h = K
    if not exit:
        T111, T234 = -0.5 * h * t * t, -0.5 * h * t * t
        T133 = 0.5 * h * sec * sec
        T211 = 0.5 * h * h_face * sec**3 + k1 * t
        T233 = -0.5 * h * h_face * sec**3 - k1 * t + 0.5 * h * h * t * (tb * tb + sec * sec)
        T413 = -0.5 * h * h_face * sec**3 - k1 * t
    else:
        T111, T234 = 0.5 * h * t * t, 0.5 * h * t * t
        T133 = -0.5 * h * sec * sec
        T211 = 0.5 * h * h_face * sec**3 + k1 * t - 0.5 * h * h * t**3
        T233 = -0.5 * h * h_face * sec**3 - k1 * t - 0.5 * h * h * t * tb * tb
        T413 = -0.5 * h * h_face * sec**3 - k1 * t + 0.5 * h * h * t * sec * sec
    T414, T212, T313, T423 = T234, -T111, -T234, -T133
    D = np.zeros((4, 4))
    D[0, 0], D[0, 2] = 2 * T111 * x0, 2 * T133 * z0
    D[1, 0], D[1, 1] = 2 * T212 * px0 + 2 * T211 * x0, 2 * T212 * x0
    D[1, 2], D[1, 3] = 2 * T234 * pz0 + 2 * T233 * z0, 2 * T234 * z0
    D[2, 0], D[2, 2] = 2 * T313 * z0, 2 * T313 * x0
    D[3, 0], D[3, 1] = 2 * T414 * pz0 + 2 * T413 * z0, 2 * T423 * z0
    D[3, 2], D[3, 3] = 2 * T413 * x0 + 2 * T423 * px0, 2 * T414 * x0
    return D


def e2_body_jacobian(K: float, k1: float, k2: float, orbit) -> np.ndarray:
    """First-order-in-orbit part (4x4, per metre) of the bend body's second-order terms at an orbit.

    pyAT's BndMPoleSymplectic4E2Pass integrates H = (1 + h x)(px^2 + pz^2) / 2 (1 + delta)
    - h x delta + h^2 x^2 / 2 + the field with its curvature terms h k1 (x^3 / 3 - x z^2 / 2)
    + h k2 (x^4 / 4 - 2 x^2 z^2 / 3) + ...; the cubic terms linearised at the mean
    orbit (x0, x0', z0, z0') (magnet frame) add this to the generator A (at
    delta = 0; their delta terms are second order in the orbit). The first-order
    pass (BndMPoleSymplectic4Pass) and the paraxial Bend have none of them.

    Examples
    --------
    >>> dA = e2_body_jacobian(0.785, 0.0, 0.0, (0.0, 0.0, 0.0, -2.6e-4))
    >>> round(float(dA[2, 0]), 9), round(float(dA[1, 3]), 9)    # z' <- x: h z0', x'' <- z': -h z0'
    (-0.0002041, 0.0002041)
    """
    x0, xp0, z0, zp0 = (float(v) for v in orbit)
    h = K
    dA = np.zeros((4, 4))
    dA[0, 0], dA[0, 1] = h * xp0, h * x0                 # dx/ds = (1 + h x) x'
    dA[2, 0], dA[2, 3] = h * zp0, h * x0                 # dz/ds = (1 + h x) z'
    dA[1, 1], dA[1, 3] = -h * xp0, -h * zp0              # dx'/ds = -h (x'^2 + z'^2) / 2 + ...
    dA[1, 0] = -2 * h * k1 * x0 - 3 * h * k2 * x0**2 + 4.0 / 3.0 * h * k2 * z0**2
    dA[1, 2] = h * k1 * z0 + 8.0 / 3.0 * h * k2 * x0 * z0
    dA[3, 0] = h * k1 * z0 + 8.0 / 3.0 * h * k2 * x0 * z0
    dA[3, 2] = h * k1 * x0 + 4.0 / 3.0 * h * k2 * x0**2 + 3 * (h * k1 / 6.0 - k2 / 3.0) * z0**2
    return dA


def _freeze(obj, cast=float, **fields) -> None:
    """Store each given field of a frozen element as a flat tuple of ``cast`` (hashable, compared by value)."""
    for name, value in fields.items():
        object.__setattr__(obj, name, tuple(cast(v) for v in np.ravel(value)))


def _kicked_bend_class():
    from dataclasses import dataclass, field

    from coupled_beam.lattice import Bend

    @dataclass(frozen=True, eq=False, repr=False)
    class KickedBend(Bend):
        """A :class:`~coupled_beam.lattice.Bend` on a closed orbit that its fields kick.

        ``chromatic`` = (f_x, f_z) (1/m, magnet frame, before the roll) is added
        to the delta forcing b: the chromatic part -F of the orbit force F per
        metre (x' = px / (1 + delta), so every force is F / (1 + delta)).
        ``face_orbit`` = (x1, x1', z1, z1', x2, x2', z2, z2') (magnet frame): the
        orbit at the entrance and exit faces, whose edge kicks leave their
        chromatic part at the faces, ``fringe`` = pyAT's FringeBendEntrance /
        FringeBendExit there (``entrance6`` / ``exit6``, :func:`_face_kick6`).
        ``forcing_slope`` = the forcing at the exit minus that at the entrance
        (the orbit moves inside): its linear part along the magnet enters as
        thin delta kicks at the faces that reproduce its response exactly
        (:func:`_slope_kicks`; -+ slope L / 12 in a drift); the constant part is ``chromatic``.
        ``ends`` = the orbit (x, x', z, z') just inside the body at the entrance and the exit
        (magnet frame): then the whole profile of the orbit the bend itself curves enters
        exactly (:func:`_profile_kicks`) instead of its linear part. ``orbit_forcing`` (4 floats,
        1/m, x, x', z, z' rows) is added to b: the second-order Magnus term of the orbit terms'
        change along the body acting on the design forcing (:func:`bend_at_orbit`).
        Same map route as a bend with explicit D (generator, Padé exponential,
        a few ulp) and the same radiation (generator route: the bend's h, k1,
        faces; Van Loan noise on this map, so the vertical dispersion the
        forcing makes feeds noise and damping). ``face_radiation`` as Bend.
        """

        chromatic: tuple = field(default=(0.0, 0.0), kw_only=True)
        face_orbit: tuple = field(default=(0.0,) * 8, kw_only=True)
        fringe: tuple = field(default=(1, 1), kw_only=True)
        forcing_slope: tuple = field(default=(0.0, 0.0), kw_only=True)
        orbit_terms: tuple = field(default=(), kw_only=True)
        ends: tuple = field(default=(), kw_only=True)
        orbit_forcing: tuple = field(default=(), kw_only=True)

        def __post_init__(self) -> None:
            _freeze(self, chromatic=self.chromatic, orbit_terms=self.orbit_terms,
                    orbit_forcing=self.orbit_forcing, ends=self.ends, face_orbit=self.face_orbit,
                    forcing_slope=self.forcing_slope)
            _freeze(self, int, fringe=self.fringe)
            super().__post_init__()
            object.__setattr__(self, "_has_D", True)     # generator route (the forcing)

        @property
        def b(self) -> np.ndarray:
            out = np.array(super().b, dtype=float)
            out[1] += self.chromatic[0]
            out[3] += self.chromatic[1]
            if self.orbit_forcing:
                out[:4] += np.asarray(self.orbit_forcing)
            return out

        @property
        def A(self) -> np.ndarray:
            A = np.array(super().A, dtype=float)
            if self.orbit_terms:
                A += np.asarray(self.orbit_terms[:16]).reshape(4, 4)
            return A

        def _face_terms(self, k: int, m: np.ndarray) -> np.ndarray:
            """m with the face's second-order orbit terms (``orbit_terms``), symplectic (exp of their
            Hamiltonian part; pyAT's truncated map is not: det - 1 ~ (K z0)^2)."""
            if not self.orbit_terms:
                return m
            from coupled_beam.lattice.maps import expm_stacked

            D = np.asarray(self.orbit_terms[16 + 16 * k:32 + 16 * k]).reshape(4, 4)
            if not np.any(D):
                return m
            lin = m[:4, :4]
            X = _hamiltonian_part(np.linalg.solve(lin, D))
            out = m.copy()
            out[:4, :4] = lin @ expm_stacked(X[None])[0]
            return out

        @property
        def entrance6(self) -> np.ndarray:
            """Entrance face at the orbit (6x6, the face's chromatic kick included)."""
            m = self._face_terms(0, _face_kick6(self.entrance, self.K, self.e1, self.fint_gap1,
                                                self.face_orbit[:4], self.fringe[0]))
            c = self._slope_kicks[0]
            return _delta_kick(m, c[0], c[1])

        @property
        def exit6(self) -> np.ndarray:
            """Exit face at the orbit (6x6, the face's chromatic kick included)."""
            m = self._face_terms(1, _face_kick6(self.exit, self.K, self.e2, self.fint_gap2,
                                                self.face_orbit[4:], self.fringe[1], -1.0))
            c = self._slope_kicks[1]
            return _delta_kick(m, c[0], c[1])

        @property
        def _slope_kicks(self) -> tuple:
            k = self.__dict__.get("_slope_cache")
            if k is None:
                k = ((0.0, 0.0), (0.0, 0.0))
                if self.ends and self.length > 0:        # the orbit's own profile, exact
                    from coupled_beam.lattice import Bend

                    cin, cout = _profile_kicks(Bend.A.fget(self), self.length, self.ends[:4], self.ends[4:],
                                               (0.0, self.chromatic[0], 0.0, self.chromatic[1]))
                    k = (tuple(cin), tuple(cout))
                elif any(self.forcing_slope) and self.length > 0:
                    cin, cout = _slope_kicks(self.A, self.length, self.forcing_slope)
                    k = (tuple(cin), tuple(cout))
                object.__setattr__(self, "_slope_cache", k)
            return k

    return KickedBend


def kicked_bend(bend, f_x: float, f_z: float, face_orbit=(0.0,) * 8, fringe=(1, 1),
                forcing_slope=(0.0, 0.0), orbit_terms=(), ends=(), orbit_forcing=()):
    """``bend`` (a Bend or TrackingFaceBend) on an orbit: chromatic forcing (f_x, f_z) (1/m) of its
    orbit kicks, the orbit (x, x', z, z') at its entrance and exit faces (magnet frame) and the
    faces' fringe methods (:func:`_face_kick6`), the change of the forcing along it (1/m), and
    optionally the second-order terms at the orbit (48 floats: the body's dA per metre,
    :func:`e2_body_jacobian`, then the entrance and exit faces' :func:`e2_face_jacobian`);
    ``ends`` (8 floats): the orbit just inside the body at both ends, for the exact chromatic
    forcing of its profile (:func:`_profile_kicks`, replaces ``forcing_slope``).

    Examples
    --------
    >>> from coupled_beam.lattice import Bend
    >>> kb = kicked_bend(Bend(1.0, K=0.1), 0.0, 2e-5)
    >>> round(float(kb.b[3]), 12), round(float(kb.b[1]), 12)
    (2e-05, 0.1)
    >>> kb = kicked_bend(Bend(1.0, K=0.1, e1=0.2), 0.0, 0.0, (0.0, 0.0, 1e-3, 0.0) + (0.0,) * 4)
    >>> round(float(kb.entrance6[3, 4]), 10)                 # K tan(e1) z1
    2.0271e-05
    """
    key = ("kicked", getattr(type(bend), "face_radiation", True))
    cls = _CACHE.get(key)
    if cls is None:
        base = _kicked_bend_class()
        if not key[1]:
            from typing import ClassVar

            from dataclasses import dataclass

            @dataclass(frozen=True, eq=False, repr=False)
            class KickedTrackingFaceBend(base):
                """KickedBend whose pole faces add no radiation terms (pyAT's tracking)."""

                face_radiation: ClassVar[bool] = False

            base = KickedTrackingFaceBend
        cls = _CACHE[key] = base
    fields = {f: getattr(bend, f) for f in ("length", "K", "n", "e1", "e2", "fint_gap1", "fint_gap2",
                                            "tilt", "name")}
    return cls(**fields, chromatic=(f_x, f_z), face_orbit=tuple(face_orbit), fringe=tuple(fringe),
               forcing_slope=tuple(forcing_slope), orbit_terms=tuple(orbit_terms), ends=tuple(ends),
               orbit_forcing=tuple(orbit_forcing))


def body_orbit(K: float, e1: float, e2: float, gap1: float, gap2: float, w_in,
               w_out) -> tuple[np.ndarray, np.ndarray]:
    """The orbit (x, x', z, z') just inside a bend's body at both ends (magnet frame).

    Parameters
    ----------
    K : float
        Curvature (1/m).
    e1, e2, gap1, gap2 : float
        Face angles (rad) and fint_gap (m) of the entrance and exit faces, as
        :class:`~coupled_beam.lattice.Bend` (0 gap: no fringe correction).
    w_in : sequence of 4 float
        The orbit met by the entrance face (before its kick).
    w_out : sequence of 4 float
        The orbit leaving the exit face (after its kick).

    Returns
    -------
    (ndarray, ndarray)
        ``w_in`` after the entrance face's kick x' += K tan(e1) x, z' -= K tan(e1 - psi1) z,
        and ``w_out`` with the exit face's kick undone (psi = K gap (1 + sin^2 e) / cos e,
        the thin face of :class:`~coupled_beam.lattice.Bend`).

    Examples
    --------
    >>> a, b = body_orbit(0.1, 0.2, 0.0, 0.0, 0.0, (1e-3, 0, 0, 0), (1e-3, 0, 0, 0))
    >>> round(float(a[1]), 12), float(b[1])               # K tan(e1) x
    (2.0271e-05, 0.0)
    """
    a = np.array(w_in, dtype=float)
    b = np.array(w_out, dtype=float)
    for e, gap, v, sign in ((e1, gap1, a, 1.0), (e2, gap2, b, -1.0)):
        if e or gap:
            psi = K * gap * (1 + math.sin(e) ** 2) / math.cos(e)
            v[1] += sign * K * math.tan(e) * v[0]
            v[3] -= sign * K * math.tan(e - psi) * v[2]
    return a, b


def mean_orbit(a, b, length: float) -> tuple[float, float]:
    """Mean (x0, z0) over a magnet of the cubic orbit through the ends' positions and slopes.

    (a + b) / 2 + L (a' - b') / 12 (Simpson-exact for a cubic), a, b = (x, x', z, z') just
    inside the entrance and the exit.

    Examples
    --------
    >>> mean_orbit((0.0, 1e-3, 0.0, 0.0), (0.0, -1e-3, 0.0, 0.0), 1.2)   # a parabola through 0
    (0.0002, 0.0)
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return (float(0.5 * (a[0] + b[0]) + length * (a[1] - b[1]) / 12.0),
            float(0.5 * (a[2] + b[2]) + length * (a[3] - b[3]) / 12.0))


def bend_at_orbit(bend, normal, skew, w_in, w_out, x0: float, z0: float, *, kick=(0.0, 0.0),
                  fringe=(1, 1), second_order: str | None = None, face_curvature=(0.0, 0.0),
                  magnus: bool = True, killed=(False, False)):
    """``bend`` linearised about the closed orbit through it (the pyAT and MAD-X converters).

    In x' = px / (1 + delta) every orbit force F per metre is F / (1 + delta): the
    chromatic part -F of the body force at the mean orbit w0 = x0 + i z0,
    F = -(Re S + K^2 x0) + kick_x / L, S = sum_n (b_n + i a_n) w0^n (z: Im S + kick_z / L),
    is a constant delta forcing; the orbit's profile inside (just inside both
    ends, :func:`body_orbit`) gives its variation along the body exactly
    (:func:`_profile_kicks`); each face's kick at the orbit it meets leaves its
    chromatic part (:func:`_face_kick6`); a second-order integrator adds the
    body's and faces' second-order terms at the orbit (:func:`e2_body_jacobian`,
    :func:`e2_face_jacobian`; the faces at the orbit they meet: the exit face
    before its own kick), their change dA(b) - dA(a) along the body by the
    second-order Magnus terms of the 6-D generator [[A, b], [0, 0]]:
    -(L / 12) [A, dA(b) - dA(a)] in A and +(L / 12) (dA(b) - dA(a)) b in the delta
    column (one E2 bend, 1 m, 11 degrees, at a 1 mm orbit vs pyAT's find_elem_m66:
    4x4 9.3e-7 -> 1.3e-9, delta column 3.2e-7 -> 1e-9; the same against MAD-X).

    Parameters
    ----------
    bend : Bend or TrackingFaceBend
        The bend at its mean-orbit gradient (feed-down included in ``n``).
    normal, skew : sequence of float
        The body field b_n, a_n per metre (pyAT PolynomB / PolynomA, MAD-X K_n / n!;
        b_1 the design gradient, without feed-down).
    w_in, w_out : sequence of 4 float
        Magnet-frame orbit (x, x', z, z') met by the entrance face (before its kick) and
        leaving the exit face (after its kick).
    x0, z0 : float
        Mean orbit in the body (magnet frame), the point of the feed-down in ``bend``
        (:func:`mean_orbit` of :func:`body_orbit`).
    kick : (float, float)
        Integrated dipole kick of the body (pyAT KickAngle), magnet frame.
    fringe : (int, int)
        Face methods (pyAT FringeBendEntrance / FringeBendExit 0-3; 4: MAD-X's, :func:`_face_kick6`).
    second_order : {None, "pyat", "madx"}
        None: a first-order integrator (pyAT BndMPoleSymplectic4Pass, no second-order
        terms); "pyat": BndMPoleSymplectic4E2Pass; "madx": MAD-X TWISS's TRANSPORT map
        (same body terms, faces per ``e2_face_jacobian(madx=True)``).
    face_curvature : (float, float)
        Pole-face curvatures (pyAT H1, H2; MAD-X H1, H2).
    magnus : bool
        Include the second-order Magnus terms (default; False only to measure them).
    killed : (bool, bool)
        MAD-X's KILL_ENT_FRINGE / KILL_EXI_FRINGE: that face is absent altogether, its
        second-order terms too (``bend`` then has e = 0 and no fringe there).

    Returns
    -------
    Bend or KickedBend
        ``bend`` itself when the orbit leaves nothing (design orbit).

    Examples
    --------
    >>> from coupled_beam.lattice import Bend
    >>> w = (0.0, 0.0, 1e-3, 0.0)
    >>> kb = bend_at_orbit(Bend(1.0, K=0.1, n=-0.3 / 0.01), [0.0, 0.3], [0.0, 0.0], w, w, 0.0, 1e-3)
    >>> round(float(kb.chromatic[1]), 12)                  # -Im S = -k1 z0: a vertical forcing
    -0.0003
    """
    K, L = bend.K, bend.length
    a, b = body_orbit(K, bend.e1, bend.e2, bend.fint_gap1, bend.fint_gap2, w_in, w_out)
    c = np.zeros(max(len(normal), len(skew), 2), dtype=complex)
    c[:len(normal)] += np.asarray(normal, dtype=float)
    c[:len(skew)] += 1j * np.asarray(skew, dtype=float)
    S = sum(c[n] * complex(x0, z0) ** n for n in range(len(c)))
    f_x = S.real + K**2 * x0 - float(kick[0]) / L
    f_z = -S.imag - float(kick[1]) / L
    faces = tuple(float(v) for v in w_in) + tuple(float(v) for v in b)
    terms, forcing = (), ()
    if second_order is not None:
        k1, k2 = c[1].real, (c[2].real if len(c) > 2 else 0.0)
        madx = second_order == "madx"
        zp = ((b[0] - a[0]) / L, (b[2] - a[2]) / L)
        # the orbit moves inside: second-order Magnus term of the terms' change along the body,
        # -(L / 12) [A, dA(b) - dA(a)] (as KickedGeneric's K_slope)
        dA = e2_body_jacobian(K, k1, k2, (x0, zp[0], z0, zp[1]))
        if magnus:      # on the 6-D generator [[A, b], [0, 0]]: also + (L / 12) change b in the delta column
            change = e2_body_jacobian(K, k1, k2, b) - e2_body_jacobian(K, k1, k2, a)
            A0 = np.asarray(bend.A, dtype=float)
            dA = dA - L / 12.0 * (A0 @ change - change @ A0)
            forcing = tuple(L / 12.0 * change @ np.asarray(bend.b, dtype=float))
        D1, D2 = (np.zeros((4, 4)) if killed[k] else
                  e2_face_jacobian(K, (bend.e1, bend.e2)[k], (bend.fint_gap1, bend.fint_gap2)[k],
                                   float(face_curvature[k]), k1, faces[4 * k:4 * k + 4], exit=bool(k),
                                   madx=madx) for k in (0, 1))
        terms = tuple(dA.ravel()) + tuple(D1.ravel()) + tuple(D2.ravel())
    if not (bend.e1 or bend.e2 or bend.fint_gap1 or bend.fint_gap2 or 3 in tuple(fringe)):
        faces = (0.0,) * 8
    if abs(f_x) + abs(f_z) > 1e-15 or np.any(np.abs(b - a) > 1e-15) or any(faces) or any(terms):
        return kicked_bend(bend, f_x, f_z, faces, tuple(fringe), orbit_terms=terms,
                           ends=tuple(a) + tuple(b), orbit_forcing=forcing)
    return bend


def orbit_slopes(normal, skew, w_in, w_out) -> tuple[tuple[float, float], tuple[float, float]]:
    """(kick_slope, gradient_slope) of a thick magnet whose orbit moves from w_in to w_out inside.

    ``w_in``, ``w_out`` = (x, z) or (x, x', z, z') in the magnet frame at the ends; the kick per
    metre (-Re S, Im S), S = sum_n (b_n + i a_n) w^n, and the gradient (k1, k1s) at the exit minus
    at the entrance, for :func:`kicked_quadrupole`.

    Examples
    --------
    >>> ks, gs = orbit_slopes([0, 0, 40.0], [0, 0, 0], (1e-3, 0.0), (2e-3, 0.0))   # sextupole b2 = 40
    >>> [round(v, 9) for v in ks], [round(v, 9) for v in gs]     # kick -b2 (x^2 - z^2), k1 = 2 b2 x
    ([-0.00012, 0.0], [0.08, 0.0])
    """
    def at_(w):
        w = tuple(float(v) for v in w)
        x, z = (w[0], w[2]) if len(w) == 4 else (w[0], w[1])
        S = sum(complex(normal[n] if n < len(normal) else 0.0, skew[n] if n < len(skew) else 0.0)
                * complex(x, z) ** n for n in range(max(len(normal), len(skew))))
        return S, feed_down(normal, skew, x, z, start=1)

    (Sa, ga), (Sb, gb) = at_(w_in), at_(w_out)
    return (Sa.real - Sb.real, Sb.imag - Sa.imag), (gb[0] - ga[0], gb[1] - ga[1])


def quad_fringe_jacobian(b1: float, orbit, exit: bool = False) -> np.ndarray:
    """First-order-in-orbit part (4x4) of pyAT's hard-edge quadrupole fringe at an orbit (magnet frame).

    pyAT's FringeQuadEntrance / FringeQuadExit = 1 (QuadFringePassP / N, Lee-Whiting's
    thin-lens limit, E. Forest, Beam Dynamics p. 390), u = +-b1 / 12: x += u (x^2 + 3 z^2) x,
    z -= u (z^2 + 3 x^2) z, x' += 3 u (2 x z z' - (x^2 + z^2) x'), z' -= 3 u (2 x z x' - (x^2 + z^2) z');
    no linear part on axis, and at an orbit w0 terms of order b1 w0^2 (6e-6 for ESRF's QD6
    at its 4 mm vertical orbit with bends rolled 0.3 mrad). Its delta terms are third order.

    Examples
    --------
    >>> D = quad_fringe_jacobian(-1.147, (0.0, 0.0, -4e-3, 0.0))
    >>> round(float(D[2, 2]), 12)           # dz/dz - 1 = -3 u z0^2
    4.588e-06
    """
    x0, px0, z0, pz0 = (float(v) for v in orbit)
    u = (-1.0 if exit else 1.0) * b1 / 12.0
    r2 = x0 * x0 + z0 * z0
    D = np.zeros((4, 4))
    D[0, 0], D[0, 2] = 3 * u * r2, 6 * u * x0 * z0
    D[2, 0], D[2, 2] = -6 * u * x0 * z0, -3 * u * r2
    D[1, 0] = 6 * u * (z0 * pz0 - x0 * px0)
    D[1, 1], D[1, 2], D[1, 3] = -3 * u * r2, 6 * u * (x0 * pz0 - z0 * px0), 6 * u * x0 * z0
    D[3, 0] = -6 * u * (z0 * px0 - x0 * pz0)
    D[3, 1], D[3, 2], D[3, 3] = -6 * u * x0 * z0, -6 * u * (x0 * px0 - z0 * pz0), 3 * u * r2
    return D


def _kicked_generic_class():
    from dataclasses import dataclass, field

    from coupled_beam.lattice import Generic

    @dataclass(frozen=True, eq=False, repr=False)
    class KickedGeneric(Generic):
        """A :class:`~coupled_beam.lattice.Generic` (a quadrupole on a kicked orbit) whose orbit moves inside.

        ``forcing_slope`` (1/m, lab frame) = the delta forcing b (x', z' rows) at the exit minus
        that at the entrance; entered as the equivalent thin delta kicks at the ends
        (``entrance6`` / ``exit6``, :func:`_slope_kicks`). ``K_slope`` (2x2, 1/m^2, lab frame)
        = K at the exit minus K at the entrance (a feed-down gradient that follows the orbit):
        the generator becomes Omega / L of the second-order Magnus expansion,
        A0 - (L^2 / 12) [A0, B], B = A(K_slope) / L (exact to third order in the variation).
        """

        forcing_slope: tuple = field(default=(0.0, 0.0), kw_only=True)
        K_slope: tuple = field(default=(), kw_only=True)
        face_terms: tuple = field(default=(), kw_only=True)
        ends: tuple = field(default=(), kw_only=True)

        def __post_init__(self) -> None:
            _freeze(self, forcing_slope=self.forcing_slope, face_terms=self.face_terms, ends=self.ends,
                    K_slope=self.K_slope)
            super().__post_init__()

        @property
        def A(self) -> np.ndarray:
            A0 = np.array(super().A, dtype=float)
            if not any(self.K_slope):
                return A0
            from coupled_beam.lattice import Generic

            B = (Generic(self.length, K_matrix=np.reshape(self.K_slope, (2, 2))).A
                 - Generic(self.length, K_matrix=np.zeros((2, 2))).A) / self.length
            return A0 - self.length**2 / 12.0 * (A0 @ B - B @ A0)

        @property
        def _kicks(self) -> tuple:
            k = self.__dict__.get("_slope_cache")
            if k is None:
                if self.ends:
                    from coupled_beam.lattice import Generic

                    cin, cout = _profile_kicks(Generic.A.fget(self), self.length, self.ends[:4],
                                               self.ends[4:], self.b)
                    k = (tuple(cin), tuple(cout))
                    object.__setattr__(self, "_slope_cache", k)
                    return k
                if not any(self.forcing_slope):
                    k = ((0.0, 0.0), (0.0, 0.0))
                    object.__setattr__(self, "_slope_cache", k)
                    return k
                cin, cout = _slope_kicks(self.A, self.length, self.forcing_slope)
                k = (tuple(cin), tuple(cout))
                object.__setattr__(self, "_slope_cache", k)
            return k

        def _face(self, k: int) -> np.ndarray:
            m = np.eye(6)
            if self.face_terms:
                from coupled_beam.lattice.maps import expm_stacked

                D = np.asarray(self.face_terms[16 * k:16 * k + 16]).reshape(4, 4)
                if np.any(D):
                    m[:4, :4] = expm_stacked(_hamiltonian_part(D)[None])[0]
            return m

        @property
        def entrance6(self) -> np.ndarray:
            c = self._kicks[0]
            return _delta_kick(self._face(0), c[0], c[1])

        @property
        def exit6(self) -> np.ndarray:
            c = self._kicks[1]
            return _delta_kick(self._face(1), c[0], c[1])

    return KickedGeneric


def kicked_quadrupole(length: float, k1: float, k1s: float, tilt: float, kick_x: float,
                      kick_z: float, name: str, kick_slope=(0.0, 0.0), gradient_slope=(0.0, 0.0),
                      fringe=None, ends=None, c2: complex = 0j):
    """A (thin or thick) quadrupole that also kicks the closed orbit by (kick_x, kick_z) (magnet frame).

    On the orbit the kick is part of the orbit; what it leaves in the linear
    optics is its chromatic part: in (x, x') coordinates an orbit kick theta
    is theta / (1 + delta), so the map gains the delta column -theta (x' and
    z' rows). This is the dispersion that an orbit through quadrupoles (and
    correctors) generates, e.g. vertical dispersion from a vertical orbit.
    Thick: :class:`~coupled_beam.lattice.Generic` with K = R^T K_m R (R the
    roll) and forcing b = -theta / L; thin: :class:`~coupled_beam.lattice.Matrix`.
    ``kick_slope`` (1/m^2, magnet frame): the kick per metre at the exit minus that at the
    entrance when the orbit moves inside (thick only): the forcing then varies along the
    magnet, entered exactly in the delta column by end kicks (``KickedGeneric``).
    ``gradient_slope`` (1/m^2, magnet frame): (k1, k1s) at the exit minus at the entrance
    (the feed-down of sextupoles and higher orders follows the orbit inside; k1, k1s are the
    mean): second-order Magnus generator (``KickedGeneric``). With both, a shifted thick
    sextupole equals find_elem_m66 at its orbit to 1e-7 instead of 6e-6 (tests/test_interop_common.py).
    ``fringe`` = (b1, w_in, w_out): pyAT's hard-edge quadrupole fringe of gradient b1 at the
    magnet-frame orbit (x, x', z, z') met by the entrance / exit face (None: that face has none),
    :func:`quad_fringe_jacobian`, made symplectic (thick only). ``ends`` = (w_in, w_out), the
    orbit (x, x', z, z') in the magnet frame just inside the ends: the chromatic forcing of the
    orbit's whole profile inside (:func:`_profile_kicks`, exact for a linear field) replaces
    ``kick_slope``. ``c2``: the gradient's orbit sensitivity d(k1 + i k1s)/dw (magnet frame,
    :func:`coupled_beam.interop._feed_down.orbit_sensitivity`), kept on the thick element in the
    lab frame (c2 exp(-3 i tilt): Generic ``k2``, ``k2s``) for the 6-D sawtooth's ``displaced``.

    Examples
    --------
    >>> el = kicked_quadrupole(0.0, 0.0, 0.0, 0.0, 1e-4, 0.0, "C")
    >>> float(el.M66[1, 4])
    -0.0001
    """
    from coupled_beam import lattice as lat

    c, s = math.cos(tilt), math.sin(tilt)
    R = np.array([[c, s], [-s, c]])
    th = R.T @ np.array([kick_x, kick_z])           # lab frame
    if length == 0.0:
        M = np.eye(6)
        if k1 or k1s:
            M[:4, :4] = quadrupole(0.0, k1, k1s, tilt, name).transfer_map()
        M[1, 4], M[3, 4] = -th[0], -th[1]
        return lat.Matrix(0.0, M, name=name)
    Km = np.array([[k1, -k1s], [-k1s, -k1]])
    K = R.T @ Km @ R
    b = np.array([0.0, -th[0], 0.0, -th[1]]) / length
    slope = -(R.T @ np.asarray(kick_slope, dtype=float))
    dk1, dk1s = (float(v) for v in gradient_slope)
    faces = ()
    if fringe is not None and fringe[0]:
        R6 = np.eye(4)
        R6[:2, :2] = R6[2:, 2:] = np.eye(2) * c
        R6[0, 2] = R6[1, 3] = s
        R6[2, 0] = R6[3, 1] = -s
        faces = tuple(np.concatenate([(R6.T @ quad_fringe_jacobian(fringe[0], w, exit=bool(k)) @ R6).ravel()
                                      if w is not None else np.zeros(16)
                                      for k, w in enumerate(fringe[1:3])]))
    lab_ends = ()
    if ends is not None:
        R4 = np.eye(4)
        R4[:2, :2] = R4[2:, 2:] = np.eye(2) * c
        R4[0, 2] = R4[1, 3] = s
        R4[2, 0] = R4[3, 1] = -s
        lab_ends = tuple(R4.T @ np.asarray(ends[0], dtype=float)) + tuple(R4.T @ np.asarray(ends[1], dtype=float))
    c2 = complex(c2) * complex(math.cos(3 * tilt), -math.sin(3 * tilt))     # lab frame
    if not (np.any(slope) or dk1 or dk1s or any(faces) or lab_ends):
        return lat.Generic(length, K_matrix=K, b=b, name=name, k2=c2.real, k2s=c2.imag)
    dK = R.T @ np.array([[dk1, -dk1s], [-dk1s, -dk1]]) @ R if (dk1 or dk1s) else np.zeros((2, 2))
    cls = _CACHE.get("kicked_generic")
    if cls is None:
        cls = _CACHE["kicked_generic"] = _kicked_generic_class()
    return cls(length, K_matrix=K, b=b, name=name, forcing_slope=tuple(slope),
               K_slope=tuple(dK.ravel()) if (dk1 or dk1s) else (), face_terms=faces, ends=lab_ends,
               k2=c2.real, k2s=c2.imag)
