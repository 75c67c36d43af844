"""Elements of the lattice as frozen values: pieces with constant K, n, M, H, D, phi_hat.

Every element is an immutable value (a frozen dataclass): equality and
hashing compare all fields, ``el.replace(**changes)`` returns a changed copy,
and a ring built from elements can never hold a stale map (STYLE.md §12).
Matrices given to an element (``D``, ``phi_hat``, ``K_matrix``, ``b``,
``M66``) are stored as read-only float arrays and compared by value.

Fields shared by every element (keyword-only): ``name`` (label, ""),
``tilt`` (roll about s in rad, map rotation6(-tilt) @ M @ rotation6(tilt),
pyAT's ``tilt_elem`` and MAD-X TILT sign), ``D`` (2x2 damping of (3), 1/m)
and ``phi_hat`` (4x4 noise per metre of (5)) for the paper's explicit model.

Each element's betatron map is exactly ``expm(A L)`` with A(s) the 4x4
matrix of §4 generated from the Lagrangian (1) by
:mod:`derivations.equations_of_motion`; its 6x6 map on
(x, x', z, z', delta, l) and every stacked evaluation live in
:mod:`coupled_beam.lattice.maps` (the one home of maps).

References
----------
LNF-64/55, eq. (1), (3), (5), §4.

Examples
--------
>>> q = Quadrupole(0.5, 1.2)
>>> q == Quadrupole(0.5, 1.2), hash(q) == hash(Quadrupole(0.5, 1.2))
(True, True)
>>> q.replace(k1=-1.2).k1
-1.2
>>> Drift(1.0).transfer_map()[0, 1]
np.float64(1.0)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from coupled_beam import _kernels
import coupled_beam.lattice.maps as maps
from coupled_beam.lattice.maps import van_loan  # noqa: F401  (re-exported)
from coupled_beam._validate import psd_matrix, real_array, real_scalar
from coupled_beam.errors import InputError

__all__ = [
    "Element",
    "Drift",
    "Bend",
    "Quadrupole",
    "Sextupole",
    "SkewQuadrupole",
    "ThinSkewQuadrupole",
    "ThinQuadrupole",
    "ThinSextupole",
    "Solenoid",
    "Marker",
    "Matrix",
    "RFCavity",
    "Generic",
    "van_loan",
]


def _finite(name: str, value) -> float:
    """A finite float with abs <= 1e100 (squares must not overflow), else InputError naming the field."""
    return real_scalar(name, value)


def _frozen_array(name: str, value, shape: tuple[int, ...], *, symmetric: bool = False,
                  psd: bool = False) -> np.ndarray:
    """A read-only float copy of ``value`` (zeros when None), validated."""
    if value is None:
        arr = np.zeros(shape)
    else:
        arr = np.array(real_array(name, value, shape=shape, symmetric=symmetric), dtype=float)
        if psd:
            psd_matrix(name, arr)
    arr.flags.writeable = False
    return arr


def _entries(values, shape=(4, 4)) -> np.ndarray:
    """Kernel output (tuple of scalars) -> float array."""
    return np.array([float(v) for v in values]).reshape(shape)


@dataclass(frozen=True, eq=False)
class Element:
    """A piece with constant K, n, M, H, damping D and noise phi_hat (the paper's general piece).

    Parameters
    ----------
    length : float
        Arc length in m, >= 0.
    K : float
        Curvature 1/rho (1/m).
    n : float
        Field index.
    M : float
        Skew gradient (1/m^2), the M x z term of (1).
    H : float
        Torsion (1/m), the solenoid term of (1); edges kick (see :class:`Solenoid`).
    D : (2, 2) array_like, optional
        Radiation damping of (3) (1/m), default zero.
    phi_hat : (4, 4) array_like, optional
        Noise per metre <psi_hat psi_hat^T> of (5), symmetric positive
        semidefinite, default zero.
    name : str, optional
        Label.
    tilt : float, optional
        Roll about s (rad).

    References
    ----------
    LNF-64/55, eq. (1), (3), (5), §4.

    Examples
    --------
    >>> Element(1.0, K=0.1).b
    array([0. , 0.1, 0. , 0. ])
    """

    kind: ClassVar[str] = "element"

    length: float
    K: float = field(default=0.0, kw_only=True)
    n: float = field(default=0.0, kw_only=True)
    M: float = field(default=0.0, kw_only=True)
    H: float = field(default=0.0, kw_only=True)
    D: Any = field(default=None, kw_only=True)
    phi_hat: Any = field(default=None, kw_only=True)
    name: str = field(default="", kw_only=True)
    tilt: float = field(default=0.0, kw_only=True)

    #: scalar float fields validated by __post_init__ (subclasses extend)
    _floats: ClassVar[tuple[str, ...]] = ("length", "K", "n", "M", "H", "tilt")

    def __post_init__(self) -> None:
        s = object.__setattr__
        for f in self._floats:
            s(self, f, _finite(f, getattr(self, f)))
        if self.length < 0:
            raise InputError(f"length must be >= 0 m, got {self.length}", field="length",
                             value=self.length)
        s(self, "D", _frozen_array("D", self.D, (2, 2)))
        s(self, "phi_hat", _frozen_array("phi_hat", self.phi_hat, (4, 4), symmetric=True,
                                         psd=True))
        s(self, "name", "" if self.name is None else str(self.name))
        self._check()
        s(self, "_key", None)
        s(self, "_hash", None)
        s(self, "_map_key", self._values(skip=("name",)))   # rings dedupe by it: computed once
        s(self, "_map_hash", hash(self._map_key))
        s(self, "_has_D", bool(np.any(self.D)))
        s(self, "_has_phi", bool(np.any(self.phi_hat)))

    def _check(self) -> None:
        """Kind-specific checks (subclasses)."""

    # --- value semantics ---------------------------------------------------------------
    def _values(self, skip: tuple = ()) -> tuple:
        out = [type(self)]
        for f in dataclasses.fields(self):
            if f.name in skip:
                continue
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                # an all-zero D / phi_hat keys as its shape: rings compare keys element by element
                v = (v.shape, tuple(v.ravel().tolist())) if v.any() else v.shape
            out.append(v)
        return tuple(out)

    @property
    def key(self) -> tuple:
        """Hashable tuple of every field (and the class): equal keys, equal elements."""
        k = self._key
        if k is None:
            k = self._values()
            object.__setattr__(self, "_key", k)
        return k

    @property
    def map_key(self) -> tuple:
        """Like :attr:`key` without the ``name``: elements with equal map keys have equal maps."""
        return self._map_key

    def __eq__(self, other) -> bool:
        if other is self:
            return True
        if not isinstance(other, Element):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash(self.key)
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self):
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    def __setstate__(self, state) -> None:
        new = type(self)(**state)
        for k, v in new.__dict__.items():
            object.__setattr__(self, k, v)

    def __reduce__(self):
        return (_rebuild, (type(self), self.__getstate__()))

    def replace(self, **changes) -> "Element":
        """A copy with some fields changed (validated again).

        Examples
        --------
        >>> Drift(1.0, name="D1").replace(length=2.0)
        Drift(length=2.0, name='D1')
        """
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            if not f.init or not f.repr:
                continue
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                if not np.any(v):
                    continue
                v = v.tolist()
            elif f.kw_only and f.default is not dataclasses.MISSING and v == f.default:
                continue
            parts.append(f"{f.name}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    # --- the paper's 4-D description ---------------------------------------------------
    @property
    def A(self) -> np.ndarray:
        """A(s) of §4 inside the element (4x4, 1/m units per row)."""
        d = self.D
        return _entries(_kernels.a_matrix_entries(self.K, self.n, self.M, self.H,
                                                  d[0, 0], d[0, 1], d[1, 0], d[1, 1]))

    @property
    def b(self) -> np.ndarray:
        """Closed-orbit forcing: dy/ds = A y + b p (4-vector, 1/m)."""
        return _entries(_kernels.forcing_entries(self.K), (4,))

    @property
    def entrance(self) -> np.ndarray:
        """Thin map at the entrance edge (identity unless H != 0 or a pole face), 4x4."""
        return _entries(_kernels.edge_kick_entries(self.H))

    @property
    def exit(self) -> np.ndarray:
        """Thin map at the exit edge (identity unless H != 0 or a pole face), 4x4."""
        return _entries(_kernels.edge_kick_entries(-self.H))

    @property
    def is_thin(self) -> bool:
        """True for zero-length kicks whose map is not exp(A L)."""
        return False

    def transfer_map(self) -> np.ndarray:
        """N(s_exit, s_entry), 4x4: edges and tilt included.

        Examples
        --------
        >>> float(Drift(2.0).transfer_map()[0, 1])
        2.0
        """
        return maps.element_maps6([self])[0, :4, :4]

    def noise_integral(self) -> np.ndarray:
        """int N(s_exit, s') phi_hat N^T(s_exit, s') ds' over the element, 4x4.

        Examples
        --------
        >>> float(Drift(1.0, phi_hat=np.diag([0, 3.0, 0, 0])).noise_integral()[0, 0])
        1.0
        """
        return maps.element_noise4([self])[0]

    def augmented_map(self) -> np.ndarray:
        """5x5 [[N, n], [0, 1]] acting on (y_hat, p): rows/cols 0..4 of the 6x6 map.

        Examples
        --------
        >>> float(Bend(0.1, K=1.0).augmented_map()[0, 4])   # ~ K L^2 / 2
        0.004995...
        """
        return self.map6()[:5, :5]

    def map6(self) -> np.ndarray:
        """The 6x6 map on (x, x', z, z', delta, l) (see :mod:`coupled_beam.lattice.maps`).

        Examples
        --------
        >>> float(Bend(1.0, K=0.1).map6()[5, 0])   # dl/ds = K x: l += sin(K L)
        0.0998...
        """
        return maps.element_maps6([self])[0]


def _rebuild(cls, state):
    return cls(**state)


def _no(default=0.0):
    """A base field this kind does not have (fixed, not an argument)."""
    return field(default=default, init=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Drift(Element):
    """Field-free straight section.

    Examples
    --------
    >>> Drift(1.5).transfer_map()[:2, :2]
    array([[1. , 1.5],
           [0. , 1. ]])
    """

    kind: ClassVar[str] = "drift"
    K: float = _no()
    n: float = _no()
    M: float = _no()
    H: float = _no()


@dataclass(frozen=True, eq=False, repr=False)
class Bend(Element):
    """Sector bend with curvature K = 1/rho (1/m), field index n and optional pole faces.

    Parameters
    ----------
    length : float
        Arc length (m).
    K : float
        Curvature 1/rho (1/m), > 0 bending inward (x outward).
    n : float
        Field index; the gradient is ``k1 = -n K^2`` (1/m^2, MAD sign).
    e1, e2 : float
        Entrance and exit pole-face angles (rad); rectangular bend e = angle/2.
    fint_gap1, fint_gap2 : float
        FINT * full gap (m) at each face (vertical edge-focusing correction).

    Notes
    -----
    Edge maps: x' += K tan(e) x, z' -= K tan(e - psi) z with
    psi = K fint_gap (1 + sin^2 e) / cos e (K. L. Brown, SLAC-75).

    Examples
    --------
    >>> float(Bend(1.0, K=0.5, n=0.5).A[1, 0])   # -K^2 (1 - n)
    -0.125
    >>> Bend(1.0, K=0.5, n=0.5).k1
    -0.125
    """

    kind: ClassVar[str] = "bend"
    K: float
    n: float = 0.0
    M: float = _no()
    H: float = _no()
    e1: float = field(default=0.0, kw_only=True)
    e2: float = field(default=0.0, kw_only=True)
    fint_gap1: float = field(default=0.0, kw_only=True)
    fint_gap2: float = field(default=0.0, kw_only=True)

    _floats: ClassVar[tuple[str, ...]] = Element._floats + ("e1", "e2", "fint_gap1", "fint_gap2")

    def _check(self) -> None:
        for f in ("e1", "e2"):
            e = getattr(self, f)
            if not abs(e) < 0.5 * math.pi:
                raise InputError(f"{f} = {e} rad: a pole-face angle must be inside (-pi/2, pi/2)",
                                 field=f, value=e)

    @property
    def k1(self) -> float:
        """Quadrupole gradient -n K^2 (1/m^2)."""
        return -self.n * self.K**2

    def fringe_psi(self, which: int) -> float:
        """psi = K fint_gap (1 + sin^2 e) / cos e of the entrance (1) or exit (2) face (rad).

        Examples
        --------
        >>> round(Bend(1.0, K=0.5, e1=0.1, fint_gap1=0.02).fringe_psi(1), 12)
        0.010150376715
        """
        e, gap = (self.e1, self.fint_gap1) if which == 1 else (self.e2, self.fint_gap2)
        return self.K * gap * (1 + math.sin(e)**2) / math.cos(e)

    def _edge(self, which: int) -> np.ndarray:
        out = _entries(_kernels.edge_kick_entries(0.0))
        e, gap = (self.e1, self.fint_gap1) if which == 1 else (self.e2, self.fint_gap2)
        if e or gap:
            h = self.K
            out[1, 0] += h * math.tan(e)
            out[3, 2] -= h * math.tan(e - self.fringe_psi(which))
        return out

    @property
    def entrance(self) -> np.ndarray:
        """Entrance pole-face map (4x4)."""
        return self._edge(1)

    @property
    def exit(self) -> np.ndarray:
        """Exit pole-face map (4x4)."""
        return self._edge(2)


@dataclass(frozen=True, eq=False, repr=False)
class Quadrupole(Element):
    """Quadrupole, the limit K -> 0 with K^2 n = -k1; k1 (1/m^2) > 0 focuses x.

    Examples
    --------
    >>> Quadrupole(0.5, k1=2.0).A[[1, 3], [0, 2]]
    array([-2.,  2.])
    """

    kind: ClassVar[str] = "quadrupole"
    K: float = _no()
    n: float = _no()
    M: float = _no()
    H: float = _no()
    k1: float = 0.0

    _floats: ClassVar[tuple[str, ...]] = Element._floats + ("k1",)

    @property
    def A(self) -> np.ndarray:
        k11, k22 = _kernels.quadrupole_focusing(self.k1)
        d = self.D
        return _entries(_kernels.a_from_kd_entries(k11, 0.0, 0.0, k22,
                                                   d[0, 0], d[0, 1], d[1, 0], d[1, 1]))


def _orbit_gradient(k2: float, k2s: float, tilt: float, dx: float, dz: float) -> complex:
    """Extra gradient k1 + i k1s (element frame) of the sextupole part k2 + i k2s at the lab orbit (dx, dz).

    Element frame: w_e = exp(-i tilt) (dx + i dz); the multipole convention of
    :mod:`coupled_beam.interop._common` (x' -= Re c w^2, z' += Im c w^2 with
    c = (k2 + i k2s) / 2) gives the feed-down c1 = (k2 + i k2s) w_e.
    """
    return complex(k2, k2s) * (complex(math.cos(tilt), -math.sin(tilt)) * complex(dx, dz))


@dataclass(frozen=True, eq=False, repr=False)
class Sextupole(Quadrupole):
    """Thick sextupole K2 (normal) and K2S (skew), 1/m^3 as MAD-X, linearised about an orbit.

    On the design orbit its linear map is a drift. About an orbit (x0, z0) its
    linear part is the feed-down quadrupole k1 + i k1s = (k2 + i k2s) (x0 + i z0)
    (element frame, the multipole convention of :mod:`coupled_beam.interop._common`);
    :meth:`displaced` returns that linearisation as a new element, which keeps
    k2, k2s, so the 6-D route can move it again by the energy-sawtooth orbit
    (:mod:`coupled_beam.sixd`). ``k1`` and ``tilt`` are those of the quadrupole
    the map is (as :class:`Quadrupole`); k2, k2s are in the frame after ``tilt``.

    Parameters
    ----------
    length : float
        m, > 0.
    k1 : float
        Gradient of the linear part (1/m^2), 0 on the design orbit.
    k2, k2s : float
        Normal and skew sextupole strength (1/m^3): MAD-X K2, K2S; pyAT
        2 PolynomB[2], 2 PolynomA[2].
    tilt : float
        Roll (rad).

    Examples
    --------
    >>> s = Sextupole(0.3, k2=20.0).displaced(1e-3, 0.0)    # k1 = K2 x0
    >>> round(s.k1, 12), round(s.tilt, 12)
    (0.02, 0.0)
    >>> s = Sextupole(0.3, k2=20.0).displaced(0.0, 1e-3)    # skew k1s = K2 z0: a rolled quadrupole
    >>> round(s.k1, 12), round(s.tilt, 6)
    (0.02, -0.785398)
    """

    k2: float = 0.0
    k2s: float = 0.0

    _floats: ClassVar[tuple[str, ...]] = Quadrupole._floats + ("k2", "k2s")

    def displaced(self, dx: float, dz: float) -> "Sextupole":
        """The linearisation about an orbit moved by (dx, dz) (m, lab frame): feed-down added.

        The sum normal + skew gradient is again a normal quadrupole, rolled
        (:func:`coupled_beam.interop._common.roll_of`); k2, k2s follow the new
        frame (c_2 turns by exp(3 i t) when the frame turns by t).
        """
        c1 = complex(self.k1, 0.0) + _orbit_gradient(self.k2, self.k2s, self.tilt, dx, dz)
        if c1.imag == 0.0:
            return self.replace(k1=c1.real)
        g, t = abs(c1), -0.5 * math.atan2(c1.imag, c1.real)
        c2 = complex(self.k2, self.k2s) * complex(math.cos(3 * t), math.sin(3 * t))
        return self.replace(k1=g, tilt=self.tilt + t, k2=c2.real, k2s=c2.imag)


@dataclass(frozen=True, eq=False, repr=False)
class SkewQuadrupole(Element):
    """Thick skew (coupling) element: the M x z term of (1), M in 1/m^2.

    Examples
    --------
    >>> float(SkewQuadrupole(0.2, M=0.5).A[1, 2])
    0.5
    """

    kind: ClassVar[str] = "skew"
    M: float
    K: float = _no()
    n: float = _no()
    H: float = _no()


@dataclass(frozen=True, eq=False, repr=False)
class Solenoid(Element):
    """Solenoid of torsion H = e B_s / (beta E) (1/m), with its thin edge kicks.

    The total map equals the textbook solenoid matrix with k_s = H (MAD
    convention, rotation angle H L / 2).

    Examples
    --------
    >>> float(Solenoid(1.0, H=0.2).entrance[1, 2])   # x' += H z / 2
    0.1
    """

    kind: ClassVar[str] = "solenoid"
    H: float
    K: float = _no()
    n: float = _no()
    M: float = _no()


@dataclass(frozen=True, eq=False, repr=False)
class _Thin(Element):
    """Zero-length element (no damping, no noise)."""

    length: float = _no()
    K: float = _no()
    n: float = _no()
    M: float = _no()
    H: float = _no()
    D: Any = _no(None)
    phi_hat: Any = _no(None)

    @property
    def is_thin(self) -> bool:
        return True


@dataclass(frozen=True, eq=False, repr=False)
class ThinSkewQuadrupole(_Thin):
    """Zero-length skew quadrupole of integrated strength m (1/m): M = m delta(s).

    Its map is the §5 matrix [[I, C], [C, I]] with C = [[0, 0], [m, 0]].

    Examples
    --------
    >>> float(ThinSkewQuadrupole(0.1).transfer_map()[1, 2])
    0.1
    """

    kind: ClassVar[str] = "thin_skew"
    m: float = 0.0

    _floats: ClassVar[tuple[str, ...]] = Element._floats + ("m",)


@dataclass(frozen=True, eq=False, repr=False)
class ThinQuadrupole(_Thin):
    """Thin multipole, linear part: normal k1l and skew k1sl (1/m) kicks.

    x' -= k1l x - k1sl z, z' += k1l z + k1sl x (MAD-X MULTIPOLE KNL/KSL[1]);
    ``ThinQuadrupole(0, m)`` is :class:`ThinSkewQuadrupole` ``(m)``.

    Examples
    --------
    >>> float(ThinQuadrupole(0.2).transfer_map()[1, 0])
    -0.2
    """

    kind: ClassVar[str] = "thin_quadrupole"
    k1l: float = 0.0
    k1sl: float = 0.0

    _floats: ClassVar[tuple[str, ...]] = Element._floats + ("k1l", "k1sl")


@dataclass(frozen=True, eq=False, repr=False)
class ThinSextupole(ThinQuadrupole):
    """Thin sextupole k2l, k2sl (1/m^2, MAD-X MULTIPOLE KNL[2], KSL[2]) linearised about an orbit.

    Its linear part is the thin quadrupole k1l, k1sl (0 on the design orbit);
    :meth:`displaced` adds the feed-down k1l + i k1sl += (k2l + i k2sl) (x0 + i z0)
    (frame after ``tilt``).

    Examples
    --------
    >>> s = ThinSextupole(k2l=4.0).displaced(1e-3, 2e-3)
    >>> round(s.k1l, 12), round(s.k1sl, 12)
    (0.004, 0.008)
    """

    k2l: float = 0.0
    k2sl: float = 0.0

    _floats: ClassVar[tuple[str, ...]] = ThinQuadrupole._floats + ("k2l", "k2sl")

    def displaced(self, dx: float, dz: float) -> "ThinSextupole":
        """The linearisation about an orbit moved by (dx, dz) (m, lab frame): feed-down added."""
        c1 = _orbit_gradient(self.k2l, self.k2sl, self.tilt, dx, dz)
        return self.replace(k1l=self.k1l + c1.real, k1sl=self.k1sl + c1.imag)


@dataclass(frozen=True, eq=False, repr=False)
class Marker(_Thin):
    """Identity of zero length (monitors, apertures, zero correctors).

    Examples
    --------
    >>> float(Marker(name="BPM").transfer_map()[0, 0])
    1.0
    """

    kind: ClassVar[str] = "marker"


@dataclass(frozen=True, eq=False, repr=False)
class Matrix(Element):
    """A given linear map of length ``length``: 6x6 on (x, x', z, z', delta, l), or 4x4 embedded.

    Examples
    --------
    >>> Matrix(0.0, np.eye(4)).map6().shape
    (6, 6)
    """

    kind: ClassVar[str] = "matrix"
    M66: Any = None
    K: float = _no()
    n: float = _no()
    M: float = _no()
    H: float = _no()
    D: Any = _no(None)
    phi_hat: Any = _no(None)

    def _check(self) -> None:
        if self.M66 is None:
            raise InputError("Matrix needs its map M66 (6x6, or 4x4 for the betatron part)",
                             field="M66")
        raw = np.asarray(self.M66, dtype=float) if not isinstance(self.M66, np.ndarray) else self.M66
        if raw.size == 16:
            full = np.eye(6)
            full[:4, :4] = real_array("M66", raw.reshape(4, 4), shape=(4, 4))
        else:
            full = np.array(real_array("M66", raw.reshape(-1) if raw.size == 36 else raw,
                                       shape=(36,))).reshape(6, 6)
        full.flags.writeable = False
        object.__setattr__(self, "M66", full)

    @property
    def is_thin(self) -> bool:
        return True


@dataclass(frozen=True, eq=False, repr=False)
class RFCavity(Element):
    """RF cavity as data: voltage (V), frequency (Hz) or harmonic number, phase (rad).

    In the linear maps it acts as a drift of its length until the ring has an
    energy and a 6-D model computes its kick (``phase`` None: the synchronous
    phase from the energy loss).

    Examples
    --------
    >>> RFCavity(voltage=1e6, harmonic=400).harmonic
    400.0
    """

    kind: ClassVar[str] = "rfcavity"
    length: float = 0.0
    voltage: float = field(default=0.0, kw_only=True)
    frequency: float | None = field(default=None, kw_only=True)
    harmonic: float | None = field(default=None, kw_only=True)
    phase: float | None = field(default=None, kw_only=True)
    K: float = _no()
    n: float = _no()
    M: float = _no()
    H: float = _no()

    _floats: ClassVar[tuple[str, ...]] = Element._floats + ("voltage",)

    def _check(self) -> None:
        for f in ("frequency", "harmonic", "phase"):
            v = getattr(self, f)
            if v is not None:
                object.__setattr__(self, f, _finite(f, v))
        if self.frequency is None and self.harmonic is None:
            raise InputError("RFCavity needs frequency (Hz) or harmonic (number)",
                             field="frequency")
        for f in ("frequency", "harmonic"):
            v = getattr(self, f)
            if v is not None and not v > 0:
                raise InputError(f"RFCavity {f} must be > 0, got {v}", field=f, value=v)


@dataclass(frozen=True, eq=False, repr=False)
class Generic(Element):
    """Any piece of (3) with user-given 2x2 K (1/m^2), D (1/m), phi_hat and forcing b.

    Examples
    --------
    >>> g = Generic(1.0, K_matrix=[[0.04, 0], [0, 0.09]])
    >>> float(g.A[3, 2])
    -0.09
    """

    kind: ClassVar[str] = "generic"
    K_matrix: Any = None
    K: float = _no()
    n: float = _no()
    M: float = _no()
    H: float = _no()
    b: Any = field(default=None, kw_only=True)
    #: orbit sensitivity of the gradient, d(k1 + i k1s)/d(x + i z) in the element frame (1/m^3):
    #: a converted sextupole on an orbit (``displaced``); 0 for a linear piece
    k2: float = field(default=0.0, kw_only=True)
    k2s: float = field(default=0.0, kw_only=True)

    _floats: ClassVar[tuple[str, ...]] = Element._floats + ("k2", "k2s")

    def _check(self) -> None:
        object.__setattr__(self, "K_matrix", _frozen_array("K_matrix", self.K_matrix, (2, 2)))
        object.__setattr__(self, "b", _frozen_array("b", self.b, (4,)))

    def displaced(self, dx: float, dz: float) -> "Generic":
        """The linearisation about an orbit moved by (dx, dz) (m, lab frame): K gains the feed-down.

        The extra gradient c = (k2 + i k2s) exp(-i tilt) (dx + i dz) is the quadrupole
        K += [[Re c, -Im c], [-Im c, -Re c]] (x'' = -K y); the forcing b (the chromatic part
        of the orbit's kicks) is left to the caller (:mod:`coupled_beam.sixd` adds the
        chromatic part of the moved force itself).

        Examples
        --------
        >>> g = Generic(0.3, K_matrix=[[0.0, 0.0], [0.0, 0.0]], k2=20.0).displaced(1e-3, 0.0)
        >>> g.K_matrix.tolist()
        [[0.02, -0.0], [-0.0, -0.02]]
        """
        if not (self.k2 or self.k2s):
            return self
        c = _orbit_gradient(self.k2, self.k2s, self.tilt, dx, dz)
        K = np.array(self.K_matrix, dtype=float) + np.array([[c.real, -c.imag], [-c.imag, -c.real]])
        return self.replace(K_matrix=K)

    @property
    def A(self) -> np.ndarray:
        k, d = self.K_matrix, self.D
        return _entries(_kernels.a_from_kd_entries(k[0, 0], k[0, 1], k[1, 0], k[1, 1],
                                                   d[0, 0], d[0, 1], d[1, 0], d[1, 1]))
