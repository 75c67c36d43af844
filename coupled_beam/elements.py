"""Elements of the lattice: pieces with constant K, n, M, H, damping D and noise phi_hat.

Each element's betatron transfer map is exactly ``expm(A L)`` with A(s) the
4x4 matrix of §4 generated from the Lagrangian (1) by
:mod:`derivations.equations_of_motion` (no hand-typed entries here); the noise
integral is Van Loan's block exponential. Conventions, units and the
attribute table: see :mod:`coupled_beam.lattice`, which re-exports every
name of this module.

References
----------
LNF-64/55, eq. (1), (3), (5), §4.

Examples
--------
>>> Drift(1.0).transfer_map()[0, 1]
np.float64(1.0)
"""

from __future__ import annotations

import numpy as np

from coupled_beam import _kernels
from coupled_beam._validate import psd_matrix, real_array, real_scalar
from coupled_beam.errors import InputError

__all__ = [
    "Element",
    "Drift",
    "Bend",
    "Quadrupole",
    "SkewQuadrupole",
    "ThinSkewQuadrupole",
    "Solenoid",
    "Generic",
    "van_loan",
]


def _finite(name: str, value) -> float:
    return real_scalar(name, value)


def _matrix(name: str, value, shape: tuple[int, int], symmetric: bool = False) -> np.ndarray:
    if value is None:
        return np.zeros(shape)
    return real_array(name, value, shape=shape, symmetric=symmetric)


def _entries(values, shape=(4, 4)) -> np.ndarray:
    """Kernel output (tuple of scalars) -> float array."""
    return np.array([float(v) for v in values]).reshape(shape)


def van_loan(A: np.ndarray, phi_hat: np.ndarray, length) -> tuple[np.ndarray, np.ndarray]:
    """Transfer map and noise integral of constant-coefficient pieces.

    Parameters
    ----------
    A : (..., 4, 4) array
        A(s) of each piece, §4.
    phi_hat : (..., 4, 4) array
        Noise per metre, eq. (5), symmetric.
    length : (...) array
        Lengths in m.

    Returns
    -------
    N : (..., 4, 4) array
        expm(A L).
    R : (..., 4, 4) array
        int_0^L N(L, s') phi_hat N^T(L, s') ds' (exact; C. F. Van Loan, IEEE
        TAC 23 (1978) 395: expm([[-A, phi], [0, A^T]] L) = [[., F12], [0, F22]],
        N = F22^T, R = F22^T F12).

    References
    ----------
    LNF-64/55, §4 (R(s)); Van Loan (1978).

    Examples
    --------
    >>> A = np.zeros((4, 4)); A[0, 1] = A[2, 3] = 1.0   # a drift
    >>> N, R = van_loan(A, np.diag([0, 1.0, 0, 0]), 2.0)
    >>> float(R[0, 0])   # int_0^2 (2 - s)^2 ds
    2.666...
    """
    from scipy.linalg import expm

    A = np.asarray(A, dtype=float)
    phi_hat = np.asarray(phi_hat, dtype=float)
    L = np.asarray(length, dtype=float)[..., None, None]
    shape = np.broadcast_shapes(A.shape[:-2], phi_hat.shape[:-2], L.shape[:-2])
    big = np.zeros(shape + (8, 8))
    big[..., :4, :4] = -A * L
    big[..., :4, 4:] = phi_hat * L
    big[..., 4:, 4:] = np.swapaxes(A, -1, -2) * L
    F = expm(big)
    N = np.swapaxes(F[..., 4:, 4:], -1, -2)
    R = N @ F[..., :4, 4:]
    return N, 0.5 * (R + np.swapaxes(R, -1, -2))


class Element:
    """A piece with constant K, n, M, H, damping D and noise phi_hat.

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
        Noise per metre <psi_hat psi_hat^T> of (5), symmetric, default zero.
    name : str, optional
        Label.

    References
    ----------
    LNF-64/55, eq. (1), (3), (5), §4.

    Examples
    --------
    >>> Element(1.0, K=0.1).b
    array([0. , 0.1, 0. , 0. ])
    """

    kind = "element"

    def __init__(self, length: float, *, K: float = 0.0, n: float = 0.0, M: float = 0.0,
                 H: float = 0.0, D=None, phi_hat=None, name: str | None = None) -> None:
        self.length = _finite("length", length)
        if self.length < 0:
            raise InputError(f"length must be >= 0 m, got {self.length}", field="length",
                             value=self.length)
        self.K = _finite("K", K)
        self.n = _finite("n", n)
        self.M = _finite("M", M)
        self.H = _finite("H", H)
        self.D = _matrix("D", D, (2, 2))
        self.phi_hat = psd_matrix("phi_hat", _matrix("phi_hat", phi_hat, (4, 4), symmetric=True))
        self.name = name or self.kind

    def __repr__(self) -> str:
        return f"{type(self).__name__}(length={self.length!r}, name={self.name!r})"

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
        """Thin map at the entrance edge (identity unless H != 0)."""
        return _entries(_kernels.edge_kick_entries(self.H))

    @property
    def exit(self) -> np.ndarray:
        """Thin map at the exit edge (identity unless H != 0)."""
        return _entries(_kernels.edge_kick_entries(-self.H))

    def transfer_map(self) -> np.ndarray:
        """N(s_exit, s_entry), 4x4: edges included.

        Examples
        --------
        >>> float(Drift(2.0).transfer_map()[0, 1])
        2.0
        """
        N, _ = van_loan(self.A, self.phi_hat, self.length)
        return self.exit @ N @ self.entrance

    def noise_integral(self) -> np.ndarray:
        """int N(s_exit, s') phi_hat N^T(s_exit, s') ds' over the element, 4x4.

        Examples
        --------
        >>> float(Drift(1.0, phi_hat=np.diag([0, 3.0, 0, 0])).noise_integral()[0, 0])
        1.0
        """
        _, R = van_loan(self.A, self.phi_hat, self.length)
        return self.exit @ R @ self.exit.T

    def augmented_map(self) -> np.ndarray:
        """5x5 [[N, n], [0, 1]] acting on (y_hat, p); n = int N(s_exit, s') b ds'.

        Examples
        --------
        >>> float(Bend(0.1, K=1.0).augmented_map()[0, 4])   # ~ K L^2 / 2
        0.004995...
        """
        from scipy.linalg import expm

        big = np.zeros((5, 5))
        big[:4, :4] = self.A * self.length
        big[:4, 4] = self.b * self.length
        out = expm(big)
        edge_in = np.eye(5)
        edge_in[:4, :4] = self.entrance
        edge_out = np.eye(5)
        edge_out[:4, :4] = self.exit
        return edge_out @ out @ edge_in


class Drift(Element):
    """Field-free straight section.

    Examples
    --------
    >>> Drift(1.5).transfer_map()[:2, :2]
    array([[1. , 1.5],
           [0. , 1. ]])
    """

    kind = "drift"

    def __init__(self, length: float, *, D=None, phi_hat=None, name: str | None = None) -> None:
        super().__init__(length, D=D, phi_hat=phi_hat, name=name)


class Bend(Element):
    """Sector bend with curvature K = 1/rho (1/m) and field index n.

    Examples
    --------
    >>> float(Bend(1.0, K=0.5, n=0.5).A[1, 0])   # -K^2 (1 - n)
    -0.125
    """

    kind = "bend"

    def __init__(self, length: float, K: float, n: float = 0.0, *, D=None, phi_hat=None,
                 name: str | None = None) -> None:
        super().__init__(length, K=K, n=n, D=D, phi_hat=phi_hat, name=name)


class Quadrupole(Element):
    """Quadrupole, the limit K -> 0 with K^2 n = -k1; k1 (1/m^2) > 0 focuses x.

    Examples
    --------
    >>> Quadrupole(0.5, k1=2.0).A[[1, 3], [0, 2]]
    array([-2.,  2.])
    """

    kind = "quadrupole"

    def __init__(self, length: float, k1: float, *, D=None, phi_hat=None,
                 name: str | None = None) -> None:
        super().__init__(length, D=D, phi_hat=phi_hat, name=name)
        self.k1 = _finite("k1", k1)

    @property
    def A(self) -> np.ndarray:
        k11, k22 = _kernels.quadrupole_focusing(self.k1)
        d = self.D
        return _entries(_kernels.a_from_kd_entries(k11, 0.0, 0.0, k22,
                                                   d[0, 0], d[0, 1], d[1, 0], d[1, 1]))


class SkewQuadrupole(Element):
    """Thick skew (coupling) element: the M x z term of (1), M in 1/m^2.

    Examples
    --------
    >>> float(SkewQuadrupole(0.2, M=0.5).A[1, 2])
    0.5
    """

    kind = "skew"

    def __init__(self, length: float, M: float, *, D=None, phi_hat=None,
                 name: str | None = None) -> None:
        super().__init__(length, M=M, D=D, phi_hat=phi_hat, name=name)


class Solenoid(Element):
    """Solenoid of torsion H = e B_s / (beta E) (1/m), with its thin edge kicks.

    The total map equals the textbook solenoid matrix with k_s = H (MAD
    convention, rotation angle H L / 2).

    Examples
    --------
    >>> float(Solenoid(1.0, H=0.2).entrance[1, 2])   # x' += H z / 2
    0.1
    """

    kind = "solenoid"

    def __init__(self, length: float, H: float, *, D=None, phi_hat=None,
                 name: str | None = None) -> None:
        super().__init__(length, H=H, D=D, phi_hat=phi_hat, name=name)


class ThinSkewQuadrupole(Element):
    """Zero-length skew quadrupole of integrated strength m (1/m): M = m delta(s).

    Its map is the §5 matrix [[I, C], [C, I]] with C = [[0, 0], [m, 0]].

    Examples
    --------
    >>> float(ThinSkewQuadrupole(0.1).transfer_map()[1, 2])
    0.1
    """

    kind = "thin_skew"

    def __init__(self, m: float, *, name: str | None = None) -> None:
        super().__init__(0.0, name=name)
        self.m = _finite("m", m)

    def transfer_map(self) -> np.ndarray:
        zero = (0.0,) * 7
        dA = (_entries(_kernels.a_matrix_entries(0.0, 0.0, 1.0, *zero[:5]))
              - _entries(_kernels.a_matrix_entries(0.0, 0.0, 0.0, *zero[:5])))
        # A is linear in M and (dA)^2 = 0, so expm(m dA) = 1 + m dA exactly
        return np.eye(4) + self.m * dA

    def noise_integral(self) -> np.ndarray:
        return np.zeros((4, 4))

    def augmented_map(self) -> np.ndarray:
        out = np.eye(5)
        out[:4, :4] = self.transfer_map()
        return out


class Generic(Element):
    """Any piece of (3) with user-given 2x2 K (1/m^2), D (1/m), phi_hat and forcing b.

    Examples
    --------
    >>> g = Generic(1.0, K_matrix=[[0.04, 0], [0, 0.09]])
    >>> float(g.A[3, 2])
    -0.09
    """

    kind = "generic"

    def __init__(self, length: float, K_matrix, *, D=None, phi_hat=None, b=None,
                 name: str | None = None) -> None:
        super().__init__(length, D=D, phi_hat=phi_hat, name=name)
        self.K_matrix = _matrix("K_matrix", K_matrix, (2, 2))
        self._b = np.zeros(4) if b is None else np.asarray(b, dtype=float).reshape(4)
        if not np.all(np.isfinite(self._b)):
            raise InputError(f"b has non-finite entries: {self._b.tolist()}", field="b")

    @property
    def A(self) -> np.ndarray:
        k, d = self.K_matrix, self.D
        return _entries(_kernels.a_from_kd_entries(k[0, 0], k[0, 1], k[1, 0], k[1, 1],
                                                   d[0, 0], d[0, 1], d[1, 0], d[1, 1]))

    @property
    def b(self) -> np.ndarray:
        return self._b.copy()
