"""Symbolic elements: 4×4 maps in (x, x', z, z') whose parameters may be sympy symbols.

Each element is a frozen dataclass (a value, as the numeric elements) with

* ``matrix()`` -- the undamped map (sympy 4×4);
* ``damping_derivative()`` -- ∂M/∂ε at ε = 0 of the damped map M(ε) (the
  per-element damping model, first order);
* ``dispersion_column()`` -- the p column n of the 5×5 map [[M, n], [0, 1]] on (ŷ, p);
* ``noise()`` -- the one-pass noise at the element exit (4×4, the paper's 𝓡 piece);
* ``coupling_block()`` -- for thin couplers, the x←z block of the map (first order).

Conventions are those of :mod:`coupled_beam.lattice`: x outward, z up; a thin
skew quadrupole kicks Δx' = m z, Δz' = m x (§5); a solenoid of torsion H is
the MAD matrix with rotation angle H L/2 (edges included).

Arcs are the paper's F_x, F_z (§5): uncoupled one-turn (or cell) blocks in
Twiss form, F = (1 − ½ D s0) F0, with the damping d11_s0 = D11·s_arc.

Examples
--------
>>> import sympy as sp
>>> m = sp.Symbol("m", real=True)
>>> ThinSkewQuadrupole(m).matrix()
Matrix([
[1, 0, 0, 0],
[0, 1, m, 0],
[0, 0, 1, 0],
[m, 0, 0, 1]])
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import sympy as sp

from derivations.symbolic_lattice.errors import domain_error

__all__ = ["Element", "Drift", "ThinQuadrupole", "ThinSkewQuadrupole", "ThinSolenoid",
           "Quadrupole", "SkewQuadrupole", "Solenoid", "Arc", "Matrix", "twiss_matrix"]

_Z2 = sp.zeros(2, 2)


def _S(v) -> sp.Expr:
    return sp.sympify(v)


def _require(el: "Element", name: str, kind: str) -> None:
    """Raise when the field's declared assumptions do not give ``kind`` (positive, real, nonneg)."""
    v = getattr(el, name)
    ok = {"positive": v.is_positive, "real": v.is_real, "nonnegative": v.is_nonnegative}[kind]
    if ok is not True:
        raise domain_error(el, name, v, kind)


@dataclass(frozen=True)
class Element:
    """Base of the symbolic elements (identity map, no damping, noise or dispersion)."""

    name: str = field(default="", kw_only=True)
    #: where the element came from (``line 3`` of a lattice file), for messages
    origin: str = field(default="", kw_only=True, compare=False)

    kind = "element"
    #: field -> what the simplification needs of it
    needs = {}

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name not in ("name", "origin"):
                object.__setattr__(self, f.name, _S(getattr(self, f.name)))
        for key, kind in self.needs.items():
            _require(self, key, kind)

    def label(self) -> str:
        """``kind 'name' (origin)`` for messages."""
        out = self.kind + (f" {self.name!r}" if self.name else "")
        return out + (f" ({self.origin})" if self.origin else "")

    def params(self) -> dict:
        """Field name -> sympy value (without name/origin)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("name", "origin")}

    def replace(self, **changes) -> "Element":
        """A changed copy (elements are values)."""
        return replace(self, **changes)

    def matrix(self) -> sp.Matrix:
        return sp.eye(4)

    def damping_derivative(self) -> sp.Matrix:
        return sp.zeros(4, 4)

    def dispersion_column(self) -> sp.Matrix:
        return sp.zeros(4, 1)

    def noise(self) -> sp.Matrix:
        return sp.zeros(4, 4)

    def coupling_block(self) -> sp.Matrix | None:
        """x←z block of a thin coupler's map, or None if the element is uncoupled.

        Thick coupled elements raise (C± needs thin couplers)."""
        return None

    #: True for zero-length elements
    thin = True


def _blocks(X: sp.Matrix, Z: sp.Matrix, XZ: sp.Matrix = _Z2, ZX: sp.Matrix = _Z2) -> sp.Matrix:
    return sp.BlockMatrix([[X, XZ], [ZX, Z]]).as_explicit()


@dataclass(frozen=True)
class Drift(Element):
    """Field-free section of length L (m).

    Examples
    --------
    >>> Drift(2).matrix()[0, 1]
    2
    """

    L: object = 0
    kind = "drift"
    needs = {"L": "nonnegative"}
    thin = False

    def matrix(self) -> sp.Matrix:
        d = sp.Matrix([[1, self.L], [0, 1]])
        return _blocks(d, d)


@dataclass(frozen=True)
class ThinQuadrupole(Element):
    """Thin normal quadrupole, integrated strength k1l (1/m), > 0 focuses x: Δx' = −k1l x, Δz' = +k1l z.

    Examples
    --------
    >>> ThinQuadrupole(3).matrix()[1, 0], ThinQuadrupole(3).matrix()[3, 2]
    (-3, 3)
    """

    k1l: object = 0
    kind = "thin_quadrupole"
    needs = {"k1l": "real"}

    def matrix(self) -> sp.Matrix:
        k = self.k1l
        return _blocks(sp.Matrix([[1, 0], [-k, 1]]), sp.Matrix([[1, 0], [k, 1]]))


@dataclass(frozen=True)
class ThinSkewQuadrupole(Element):
    """Thin 45° skew quadrupole of integrated strength m (1/m): L = [[I, C], [C, I]], C = [[0, 0], [m, 0]] (§5)."""

    m: object = 0
    kind = "thin_skew"
    needs = {"m": "real"}

    def matrix(self) -> sp.Matrix:
        C = sp.Matrix([[0, 0], [self.m, 0]])
        return _blocks(sp.eye(2), sp.eye(2), C, C)

    def coupling_block(self) -> sp.Matrix:
        return sp.Matrix([[0, 0], [self.m, 0]])


@dataclass(frozen=True)
class ThinSolenoid(Element):
    """Thin solenoid kick: rotation of (x, x') into (z, z') by θ = H L/2, with thin focusing ``focus`` = H² L/4 (1/m) in both planes.

    x → x cos θ + z sin θ (and x' alike), z → −x sin θ + z cos θ, as the
    thick :class:`Solenoid` (and MAD) for a short solenoid.

    Examples
    --------
    >>> import sympy as sp
    >>> t = sp.Symbol("theta", real=True)
    >>> ThinSolenoid(t).matrix()[0, 2]
    sin(theta)
    """

    theta: object = 0
    focus: object = 0
    kind = "thin_solenoid"
    needs = {"theta": "real", "focus": "real"}

    def matrix(self) -> sp.Matrix:
        c, s = sp.cos(self.theta), sp.sin(self.theta)
        f = sp.Matrix([[1, 0], [-self.focus, 1]])
        return _blocks(c * f, c * f, s * f, -s * f)

    def coupling_block(self) -> sp.Matrix:
        return sp.sin(self.theta) * sp.Matrix([[1, 0], [-self.focus, 1]])


def _focusing_blocks(k: sp.Expr, L: sp.Expr, el: Element, fld: str) -> tuple[sp.Matrix, sp.Matrix]:
    """(x-like block for u'' = −k u, block for u'' = +k u), closed forms; the sign of k must be known."""
    if k.is_zero:
        d = sp.Matrix([[1, L], [0, 1]])
        return d, d
    if k.is_positive:
        r = sp.sqrt(k)
        foc = sp.Matrix([[sp.cos(r * L), sp.sin(r * L) / r], [-r * sp.sin(r * L), sp.cos(r * L)]])
        dfo = sp.Matrix([[sp.cosh(r * L), sp.sinh(r * L) / r], [r * sp.sinh(r * L), sp.cosh(r * L)]])
        return foc, dfo
    if k.is_negative:
        dfo, foc = _focusing_blocks(-k, L, el, fld)
        return foc, dfo
    raise domain_error(el, fld, k, "positive or negative (the sign picks cos or cosh)")


@dataclass(frozen=True)
class Quadrupole(Element):
    """Thick normal quadrupole, length L, gradient k1 (1/m², > 0 focuses x); the sign of k1 must be declared."""

    L: object = 0
    k1: object = 0
    kind = "quadrupole"
    needs = {"L": "nonnegative", "k1": "real"}
    thin = False

    def matrix(self) -> sp.Matrix:
        fx, fz = _focusing_blocks(self.k1, self.L, self, "k1")
        return _blocks(fx, fz)


@dataclass(frozen=True)
class SkewQuadrupole(Element):
    """Thick skew quadrupole, the M x z term of (1): x'' = M z, z'' = M x (M in 1/m², sign declared)."""

    L: object = 0
    M: object = 0
    kind = "skew"
    needs = {"L": "nonnegative", "M": "real"}
    thin = False

    def matrix(self) -> sp.Matrix:
        # u = (x + z)/√2: u'' = M u;  v = (x − z)/√2: v'' = −M v
        fv, fu = _focusing_blocks(self.M, self.L, self, "M")
        return _blocks((fu + fv) / 2, (fu + fv) / 2, (fu - fv) / 2, (fu - fv) / 2)

    def coupling_block(self):
        from derivations.symbolic_lattice.errors import needs_thin
        raise needs_thin(self)


@dataclass(frozen=True)
class Solenoid(Element):
    """Thick solenoid of torsion H (1/m) and length L, edges included (MAD matrix, k = H/2)."""

    L: object = 0
    H: object = 0
    kind = "solenoid"
    needs = {"L": "nonnegative", "H": "real"}
    thin = False

    def matrix(self) -> sp.Matrix:
        k = self.H / 2
        C, S = sp.cos(k * self.L), sp.sin(k * self.L)
        Sk = self.L * sp.sinc(k * self.L)   # sin(k L)/k, entire in k (no 0/0 at H = 0)
        return sp.Matrix([[C * C, C * Sk, S * C, S * Sk], [-k * S * C, C * C, -k * S * S, S * C],
                          [-S * C, -S * Sk, C * C, C * Sk], [k * S * S, -S * C, -k * S * C, C * C]])

    def coupling_block(self):
        from derivations.symbolic_lattice.errors import needs_thin
        raise needs_thin(self)


def twiss_matrix(mu, beta1, alpha1, beta2=None, alpha2=None) -> sp.Matrix:
    """Uncoupled 2×2 transfer matrix between Twiss points (phase advance μ).

    With β2 = β1, α2 = α1 it is the one-turn F0 of §5:
    [[cos μ + α sin μ, β sin μ], [−(1 + α²)/β sin μ, cos μ − α sin μ]].

    Examples
    --------
    >>> import sympy as sp
    >>> mu, b = sp.Symbol("mu", real=True), sp.Symbol("beta", positive=True)
    >>> twiss_matrix(mu, b, 0).det().simplify()
    1
    """
    beta2 = beta1 if beta2 is None else beta2
    alpha2 = alpha1 if alpha2 is None else alpha2
    c, s = sp.cos(mu), sp.sin(mu)
    if beta2 == beta1 and alpha2 == alpha1:
        return sp.Matrix([[c + alpha1 * s, beta1 * s], [-(1 + alpha1**2) / beta1 * s, c - alpha1 * s]])
    r = sp.sqrt(beta2 / beta1)
    return sp.Matrix([
        [r * (c + alpha1 * s), sp.sqrt(beta1 * beta2) * s],
        [((alpha1 - alpha2) * c - (1 + alpha1 * alpha2) * s) / sp.sqrt(beta1 * beta2), (c - alpha2 * s) / r]])


@dataclass(frozen=True)
class Arc(Element):
    """An uncoupled arc given by its Twiss parameters: the paper's F_x, F_z (§5).

    Parameters (all may be symbols)
    ----------
    mu_x, beta_x, alpha_x, mu_z, beta_z, alpha_z
        Phase advance (rad) and Twiss β (m), α at the arc's entrance; the
        exit has the same β, α unless ``beta_x_out`` ... are given.
    d11_s0, d22_s0
        Damping D11·s_arc, D22·s_arc (the §5 model F = (1 − ½ D s0) F0;
        det F = 1 − D s0 to first order). Default 0.
    eta_x, etap_x, eta_z, etap_z
        The arc's own periodic dispersion (ξ, ξ', ζ, ζ') at its ends (m, rad):
        p column n = η_out − F0 η_in. Default 0.
    r11, r12, r22, r33, r34, r44
        One-pass noise accumulated over the arc, at its exit, in (x, x') and
        (z, z') (the paper's 𝓡 = ∫ N φ̂ Nᵀ ds' of the arc). Default 0.

    Examples
    --------
    >>> import sympy as sp
    >>> mu = sp.Symbol("mu_x", real=True)
    >>> Arc(mu_x=mu, beta_x=2, alpha_x=0, mu_z=1, beta_z=1, alpha_z=0).matrix()[0, 1]
    2*sin(mu_x)
    """

    mu_x: object = 0
    beta_x: object = 1
    alpha_x: object = 0
    mu_z: object = 0
    beta_z: object = 1
    alpha_z: object = 0
    d11_s0: object = 0
    d22_s0: object = 0
    eta_x: object = 0
    etap_x: object = 0
    eta_z: object = 0
    etap_z: object = 0
    r11: object = 0
    r12: object = 0
    r22: object = 0
    r33: object = 0
    r34: object = 0
    r44: object = 0
    beta_x_out: object = None
    alpha_x_out: object = None
    beta_z_out: object = None
    alpha_z_out: object = None
    kind = "arc"
    needs = {"mu_x": "real", "beta_x": "positive", "alpha_x": "real", "mu_z": "real",
             "beta_z": "positive", "alpha_z": "real", "d11_s0": "real", "d22_s0": "real",
             "eta_x": "real", "etap_x": "real", "eta_z": "real", "etap_z": "real",
             "r11": "real", "r12": "real", "r22": "real", "r33": "real", "r34": "real",
             "r44": "real"}
    thin = False

    def __post_init__(self) -> None:
        for plane in ("x", "z"):
            for q in ("beta", "alpha"):
                key = f"{q}_{plane}_out"
                if getattr(self, key) is None:
                    object.__setattr__(self, key, getattr(self, f"{q}_{plane}"))
        super().__post_init__()
        for key in ("beta_x_out", "beta_z_out"):
            _require(self, key, "positive")
        for key in ("alpha_x_out", "alpha_z_out"):
            _require(self, key, "real")

    def twiss_out(self) -> dict:
        """Exit Twiss parameters {beta_x, alpha_x, beta_z, alpha_z}."""
        return {"beta_x": self.beta_x_out, "alpha_x": self.alpha_x_out,
                "beta_z": self.beta_z_out, "alpha_z": self.alpha_z_out}

    def blocks(self) -> tuple[sp.Matrix, sp.Matrix]:
        """Undamped (F0_x, F0_z)."""
        return (twiss_matrix(self.mu_x, self.beta_x, self.alpha_x, self.beta_x_out, self.alpha_x_out),
                twiss_matrix(self.mu_z, self.beta_z, self.alpha_z, self.beta_z_out, self.alpha_z_out))

    def matrix(self) -> sp.Matrix:
        return _blocks(*self.blocks())

    def damping_derivative(self) -> sp.Matrix:
        fx, fz = self.blocks()
        return _blocks(-self.d11_s0 / 2 * fx, -self.d22_s0 / 2 * fz)

    def dispersion_column(self) -> sp.Matrix:
        eta = sp.Matrix([self.eta_x, self.etap_x, self.eta_z, self.etap_z])
        return eta - self.matrix() * eta

    def noise(self) -> sp.Matrix:
        R = sp.zeros(4, 4)
        R[0, 0], R[0, 1], R[1, 1] = self.r11, self.r12, self.r22
        R[2, 2], R[2, 3], R[3, 3] = self.r33, self.r34, self.r44
        R[1, 0], R[3, 2] = self.r12, self.r34
        return R


_MATRIX_FIELDS = tuple(f"m{i}{j}" for i in range(1, 5) for j in range(1, 5))


@dataclass(frozen=True)
class Matrix(Element):
    """A given 4×4 map (entries ``m11`` ... ``m44``, default identity), thin.

    Its symplecticity is checked where the reduction in λ + 1/λ needs it.
    """

    entries: tuple = tuple(sp.S(int(i == j)) for i in range(4) for j in range(4))
    kind = "matrix"

    def __post_init__(self) -> None:
        vals = tuple(_S(v) for v in self.entries)
        if len(vals) != 16:
            raise ValueError("Matrix needs 16 entries (row-major)")
        object.__setattr__(self, "entries", vals)
        for k, v in enumerate(vals):
            if v.is_real is not True:
                raise domain_error(self, _MATRIX_FIELDS[k], v, "real")

    def params(self) -> dict:
        return dict(zip(_MATRIX_FIELDS, self.entries))

    def matrix(self) -> sp.Matrix:
        return sp.Matrix(4, 4, list(self.entries))

    def coupling_block(self):
        M = self.matrix()
        if all(e == 0 for e in list(M[0:2, 2:4]) + list(M[2:4, 0:2])):
            return None
        from derivations.symbolic_lattice.errors import needs_thin
        raise needs_thin(self)
