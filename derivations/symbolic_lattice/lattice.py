"""SymbolicLattice: the one-turn map of a user's lattice and the §5 chain for it, derived.

The chain of §5 for any lattice of :mod:`derivations.symbolic_lattice.elements`
(observation at boundary ``at``, the entrance of element ``at``):

1. N = M_{at−1} ⋯ M_0 M_{n−1} ⋯ M_at (undamped) and, to first order in the
   damping, ∂N/∂ε = Σ_k (maps after k) ∂M_k/∂ε (maps before k).
2. det(N − λ) = λ⁴ − E1 λ³ + E2 λ² − E3 λ + E4 with E1 = tr N,
   E2 = (tr² N − tr N²)/2, E3 = det N tr N⁻¹, E4 = det N.
3. Symplectic N (checked element by element): E4 = 1, E3 = E1, and
   det(N − λ)/λ² = q(w) = w² − E1 w + E2 − 2 in w = λ + 1/λ, so
   w = a ± b with a = E1/2, b² = a² − E2 + 2; cos g± = (a ± b)/2 (§5).
4. Stability: b² ≥ 0 and |a ± b| ≤ 2 (§5).
5. First-order decrements (derived here, general): with e_j the coefficients
   of ∂_ε det(N(ε) − λ) (e3 = −∂E1, e1 = −∂E3, e0 = ∂E4) and λ = e^{ig},
   Re ω = T(w)/q'(w) where ∂_ε P/λ² = S(w) + (λ − 1/λ) T(w), so

       ω± = −e0/4 ± (e3 − e1 − a e0)/(4 b),

   which for the thin skew quadrupole of §5 is
   (d11 + d22)/4 ± (d11 − d22)(cos μx − cos μz)/(4b) (a test proves it).
6. Far from resonance (leading order in the damping), with W = N + N⁻¹, the
   mode projector A± = (W − w∓)/(w± − w∓) and B± = A±(N − cos g±)/sin g±:

       <ŷ ŷᵀ> = Σ± (A± 𝓡 A±ᵀ + B± 𝓡 B±ᵀ)/(4 ω±)

   (formula (10) with the 1/(2ω) poles only; no eigenvectors needed), the
   eigen-emittances ε± = |tr(Σ± J (N − N⁻¹))|/(4 sin g±), the tilt
   ½ atan2(2<xz>, <x²> − <z²>) (appendix).
7. Closed orbit η = (ξ, ξ', ζ, ζ') = (1 − N)⁻¹ n (the p column of the 5×5 map).
8. First-order coupling coefficients from thin couplers with the uncoupled
   Twiss functions at each (propagated from the first arc):
   C± = −(1/2π) Σ_k c±_k e^{i(ψx_k ± ψz_k)}, ΔQmin = |C−|.

References
----------
LNF-64/55 §4 (10), §5, appendix; C± as in the usual first-order coupling theory.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Sequence

import sympy as sp

from coupled_beam.errors import InputError
from derivations.symbolic_lattice import elements as el
from derivations.symbolic_lattice.canonical import Budget, is_zero

__all__ = ["SymbolicLattice", "Chain", "Stager", "J4", "lam", "w"]

J2 = sp.Matrix([[0, 1], [-1, 0]])
J4 = sp.diag(J2, J2)
lam = sp.Symbol("lambda")
w = sp.Symbol("w")


def _inv_symplectic(N: sp.Matrix) -> sp.Matrix:
    """N⁻¹ = −J Nᵀ J for symplectic N."""
    return -J4 * N.T * J4


class SymbolicLattice:
    """A periodic lattice of symbolic elements (one turn).

    Parameters
    ----------
    elements : sequence of Element
        In beam order.
    symbols : sequence of sympy.Symbol, optional
        The free parameters, in the order code formats use; default: in order
        of first appearance. Every free symbol of the elements must be listed.
    domains : dict, optional
        Symbol name -> (lo, hi) interval for the random points of the checks.
    budget : Budget, optional
        Time and size budget of each derivation (default 120 s, 4e5 nodes).

    Examples
    --------
    >>> import sympy as sp
    >>> mu, m = sp.Symbol("mu", real=True), sp.Symbol("m", real=True)
    >>> lat = SymbolicLattice([el.Arc(mu_x=mu, mu_z=mu), el.ThinSkewQuadrupole(m)])
    >>> lat.a_b2()[0]
    2*cos(mu)
    """

    def __init__(self, elements: Sequence[el.Element], symbols: Sequence[sp.Symbol] | None = None,
                 domains: dict | None = None, budget: Budget | None = None) -> None:
        self.elements = tuple(elements)
        if not self.elements:
            raise InputError("a symbolic lattice needs at least one element")
        for i, e in enumerate(self.elements):
            if not isinstance(e, el.Element):
                raise InputError(f"element {i} is {e!r}, not a derivations.symbolic_lattice element",
                                 index=i)
        seen: list[sp.Symbol] = []
        for e in self.elements:
            for v in e.params().values():
                for s in sorted(sp.sympify(v).free_symbols, key=lambda s: s.name):
                    if s not in seen:
                        seen.append(s)
        by_name = {}
        for s in seen:
            if s.name in by_name and by_name[s.name] != s:
                raise InputError(f"symbol {s.name} appears with two sets of assumptions "
                                 f"({by_name[s.name].assumptions0} and {s.assumptions0}); declare it once",
                                 symbol=s.name)
            by_name[s.name] = s
        if symbols is None:
            self.symbols = tuple(seen)
        else:
            self.symbols = tuple(symbols)
            names = [s.name for s in self.symbols]
            missing = [s.name for s in seen if s.name not in names]
            if missing:
                where = {s: e.label() for e in self.elements for v in e.params().values()
                         for s in sp.sympify(v).free_symbols}
                first = [s for s in seen if s.name == missing[0]][0]
                raise InputError(f"symbol {missing[0]} (used by {where[first]}) is not among the "
                                 f"declared symbols {', '.join(names) or '(none)'}: add it to --symbols, "
                                 "or give a number", symbol=missing[0])
            extra = [n for n in names if n not in by_name]
            if extra:
                raise InputError(f"declared symbol {extra[0]} does not appear in the lattice; remove "
                                 "it from --symbols", symbol=extra[0])
            self.symbols = tuple(by_name[n] for n in names)
        self.domains = dict(domains or {})
        self.budget = budget or Budget()

    def __len__(self) -> int:
        return len(self.elements)

    def __repr__(self) -> str:
        return (f"SymbolicLattice({len(self)} elements: {', '.join(e.kind for e in self.elements)}; "
                f"symbols {', '.join(s.name for s in self.symbols)})")

    # ------------------------------------------------------------ identity
    def description(self) -> str:
        """Canonical text of the lattice (elements, fields, assumptions, domains): the cache key's input."""
        lines = []
        for e in self.elements:
            fields = " ".join(f"{k}={sp.srepr(v)}" for k, v in e.params().items())
            lines.append(f"{type(e).__name__} {e.name!r} {fields}")
        for s in self.symbols:
            lines.append(f"symbol {s.name} {sorted(s.assumptions0.items())} {self.domains.get(s.name)}")
        return "\n".join(lines)

    def digest(self) -> str:
        """SHA-256 of :meth:`description` (hex, 16 characters)."""
        return hashlib.sha256(self.description().encode()).hexdigest()[:16]

    # ---------------------------------------------------------- one turn
    def _check_at(self, at: int) -> int:
        n = len(self)
        if isinstance(at, bool) or not isinstance(at, int) or not 0 <= at <= n:
            raise InputError(f"observation boundary must be an integer in 0..{n}, got {at!r}", value=at)
        return at % n

    def _turn(self, at: int):
        """(N, dN/dε, n, 𝓡) at boundary ``at`` (cached per boundary)."""
        at = self._check_at(at)
        cache = self.__dict__.setdefault("_turn_cache", {})
        if at in cache:
            return cache[at]
        N, dN = sp.eye(4), sp.zeros(4, 4)
        col, R = sp.zeros(4, 1), sp.zeros(4, 4)
        n = len(self)
        for k in range(at, at + n):
            e = self.elements[k % n]
            M = e.matrix()
            dN = M * dN + e.damping_derivative() * N
            N = M * N
            col = M * col + e.dispersion_column()
            R = M * R * M.T + e.noise()
            self.budget.check_time("one-turn map")
        self.budget.guard(N, "one-turn map")
        cache[at] = (N, dN, col, R)
        return cache[at]

    def one_turn_map(self, at: int = 0, damped: bool = False) -> sp.Matrix:
        """N at boundary ``at``; ``damped``: N + ∂N/∂ε (first order in the damping)."""
        N, dN, _, _ = self._turn(at)
        return N + dN if damped else N

    def one_turn_noise(self, at: int = 0) -> sp.Matrix:
        """The paper's 𝓡 at boundary ``at``: arcs' noise propagated to it (undamped maps)."""
        return self._turn(at)[3]

    def turn(self, at: int = 0) -> "Chain":
        """The §5 chain (:class:`Chain`) on this lattice's one-turn matrices at ``at``."""
        self.require_symplectic()
        return Chain(*self._turn(at))

    # --------------------------------------------------------- invariants
    def invariants(self, at: int = 0) -> tuple[sp.Expr, ...]:
        """(E1, E2, E3, E4): det(N − λ) = λ⁴ − E1 λ³ + E2 λ² − E3 λ + E4 (undamped N)."""
        return Chain(*self._turn(at)).invariants()

    def characteristic_polynomial(self, at: int = 0) -> sp.Expr:
        """det(N − λ) of the undamped one-turn map, collected in λ."""
        E1, E2, E3, E4 = self.invariants(at)
        return lam**4 - E1 * lam**3 + E2 * lam**2 - E3 * lam + E4

    # ---------------------------------------------------------- symplectic
    @cached_property
    def _symplectic_checked(self) -> bool:
        for i, e in enumerate(self.elements):
            M = e.matrix()
            resid = M.T * J4 * M - J4
            if not is_zero(resid):
                from derivations.verify import equal

                verdict = equal(M.T * J4 * M, J4, points=8, prove=False,
                                domain={s: self.domains[s.name] for s in resid.free_symbols
                                        if s.name in self.domains})
                if not verdict:
                    where = verdict.element or ""
                    at = ", ".join(f"{k}={v}" for k, v in (verdict.counterexample or {}).items())
                    raise InputError(
                        f"element {i} ({e.label()}) is not symplectic: Mᵀ J M ≠ J (entry {where}"
                        f"{' at ' + at if at else ''}); the reduction in λ + 1/λ (a, b, g±, stability, ω±, "
                        "moments) needs a symplectic undamped map: fix its entries (damping belongs in "
                        "an arc's d11_s0, d22_s0), or ask only for one-turn-map / char-poly",
                        element=e.label(), index=i)
            self.budget.check_time("symplecticity check")
        return True

    def require_symplectic(self) -> None:
        """Raise InputError naming the first element whose map is not symplectic."""
        self._symplectic_checked

    def reduced_polynomial(self, at: int = 0) -> sp.Expr:
        """q(w) with det(N − λ) = λ² q(λ + 1/λ): w² − E1 w + E2 − 2 (symplectic N)."""
        return self.turn(at).reduced_polynomial()

    def a_b2(self, at: int = 0) -> tuple[sp.Expr, sp.Expr]:
        """(a, b²): λ + 1/λ = a ± b (§5)."""
        return self.turn(at).a_b2()

    def cos_eigentunes(self, at: int = 0) -> tuple[sp.Expr, sp.Expr]:
        """(cos g+, cos g−) = ((a + b)/2, (a − b)/2), b = sqrt(b²) ≥ 0 (§5)."""
        return self.turn(at).cos_eigentunes()

    def eigentunes(self, at: int = 0) -> tuple[sp.Expr, sp.Expr]:
        """(g+, g−) = acos of :meth:`cos_eigentunes`, in [0, π]; g+ ≤ g−."""
        return self.turn(at).eigentunes()

    def stability_conditions(self, at: int = 0) -> tuple[sp.Basic, ...]:
        """b² ≥ 0, |a + b| ≤ 2, |a − b| ≤ 2 (§5, undamped)."""
        return self.turn(at).stability_conditions()

    def damping_coefficients(self, at: int = 0) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """(e0, e1, e3): coefficients of λ⁰, λ¹, λ³ of ∂_ε det(N(ε) − λ) at ε = 0."""
        return self.turn(at).damping_coefficients()

    def mode_damping(self, at: int = 0) -> tuple[sp.Expr, sp.Expr]:
        """First-order decrements (ω+, ω−) per turn of Δ = exp(±i g± − ω±): −e0/4 ± (e3 − e1 − a e0)/(4b)."""
        return self.turn(at).mode_damping()

    def mode_sigma(self, at: int = 0) -> tuple[sp.Matrix, sp.Matrix]:
        """(Σ+, Σ−): each mode's share of the far-from-resonance <ŷ ŷᵀ> (4×4)."""
        out = self.turn(at).mode_sigma()
        self.budget.guard(out[0], "far-from-resonance moments")
        return out

    def moments(self, at: int = 0) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """(<x²>, <xz>, <z²>) far from resonance, leading order in the damping (betatron part)."""
        return self.turn(at).moments()

    def emittances(self, at: int = 0) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """(ε+, ε−, min/max): eigen-emittances far from resonance and their ratio."""
        return self.turn(at).emittances()

    def tilt(self, at: int = 0) -> sp.Expr:
        """θ = ½ atan2(2<xz>, <x²> − <z²>) of the betatron spot (appendix)."""
        return self.turn(at).tilt()

    def dispersion(self, at: int = 0) -> sp.Matrix:
        """Closed orbit η = (ξ, ξ', ζ, ζ') at ``at``: (1 − N) η = n."""
        eta = Chain(*self._turn(at)).dispersion()
        self.budget.guard(eta, "dispersion")
        return eta

    # ------------------------------------------------------------- coupling
    def coupling_coefficients(self, at: int = 0) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
        """(Re C+, Im C+, Re C−, Im C−), first order in the thin couplers.

        Uncoupled Twiss functions are propagated from the entrance of the first
        arc (its β, α); the phases ψ are referred to boundary ``at``.
        """
        n = len(self)
        at = self._check_at(at)
        first = next((i for i, e in enumerate(self.elements) if isinstance(e, el.Arc)), None)
        if first is None:
            raise InputError("C± needs the uncoupled optics: add an arc element (its Twiss parameters "
                             "start the propagation)")
        a0 = self.elements[first]
        tw = {"x": [a0.beta_x, a0.alpha_x, sp.S.Zero], "z": [a0.beta_z, a0.alpha_z, sp.S.Zero]}
        psi_at = None
        terms = []
        for k in range(first, first + n):
            e = self.elements[k % n]
            if k % n == at:
                psi_at = (tw["x"][2], tw["z"][2])
            blk = e.coupling_block()
            if blk is not None:
                terms.append((blk, {p: tuple(v) for p, v in tw.items()}))
            if isinstance(e, el.Arc):
                out = e.twiss_out()
                for p, mu in (("x", e.mu_x), ("z", e.mu_z)):
                    tw[p] = [out[f"beta_{p}"], out[f"alpha_{p}"], tw[p][2] + mu]
            else:
                M = e.matrix()
                if isinstance(e, el.ThinSolenoid):
                    blocks = {"x": sp.Matrix([[1, 0], [-e.focus, 1]])}
                    blocks["z"] = blocks["x"]
                else:
                    blocks = {"x": M[0:2, 0:2], "z": M[2:4, 2:4]}
                for p in ("x", "z"):
                    tw[p] = _twiss_transport(blocks[p], *tw[p])
        if psi_at is None:
            psi_at = (tw["x"][2], tw["z"][2])
        re_p = im_p = re_m = im_m = sp.S.Zero
        for blk, t in terms:
            (bx, ax, px), (bz, az, pz) = t["x"], t["z"]
            Ax = sp.Matrix([[sp.sqrt(bx), 0], [-ax / sp.sqrt(bx), 1 / sp.sqrt(bx)]])
            Az = sp.Matrix([[sp.sqrt(bz), 0], [-az / sp.sqrt(bz), 1 / sp.sqrt(bz)]])
            S = Ax.T * (-J2 * blk) * Az
            cm = (S[0, 0] + S[1, 1], S[1, 0] - S[0, 1])
            cp = (S[0, 0] - S[1, 1], S[0, 1] + S[1, 0])
            fx, fz = px - psi_at[0], pz - psi_at[1]
            for (re_c, im_c), ph, sign in ((cp, fx + fz, 1), (cm, fx - fz, -1)):
                re = -(re_c * sp.cos(ph) - im_c * sp.sin(ph)) / (2 * sp.pi)
                im = -(re_c * sp.sin(ph) + im_c * sp.cos(ph)) / (2 * sp.pi)
                if sign == 1:
                    re_p, im_p = re_p + re, im_p + im
                else:
                    re_m, im_m = re_m + re, im_m + im
        return re_p, im_p, re_m, im_m

    def delta_qmin(self, at: int = 0) -> sp.Expr:
        """ΔQmin = |C−| (first order in the coupling)."""
        _, _, re_m, im_m = self.coupling_coefficients(at)
        return sp.sqrt(re_m**2 + im_m**2)


def _twiss_transport(M: sp.Matrix, beta, alpha, psi) -> list:
    """(β, α, ψ) after the uncoupled 2×2 map M."""
    u = M[0, 0] * beta - M[0, 1] * alpha
    v = M[1, 0] * beta - M[1, 1] * alpha
    if M[0, 1] == 0:
        return [u**2 / beta, -(u * v) / beta, psi]
    return [(u**2 + M[0, 1] ** 2) / beta, -(u * v + M[0, 1] * M[1, 1]) / beta, psi + sp.atan2(M[0, 1], u)]


class Stager:
    """Records intermediate matrices of a kernel as placeholder symbols (kernel mode of :class:`Chain`).

    ``groups`` is the ordered list of assignment groups ``[(symbol, expr), ...]``;
    each group refers only to the arguments and to earlier groups.
    """

    def __init__(self) -> None:
        self.groups: list[list[tuple[sp.Symbol, sp.Expr]]] = []
        self._count = 0

    def matrix(self, tag: str, M: sp.Matrix, symmetric: bool = False) -> sp.Matrix:
        P = sp.zeros(*M.shape)
        group, seen = [], {}
        for i in range(M.rows):
            for j in range(M.cols):
                if symmetric and j < i:
                    P[i, j] = P[j, i]
                    continue
                v = sp.sympify(M[i, j])
                sign = 1
                if v.could_extract_minus_sign():     # stage |v|: the sign rides on the products (no negations)
                    v, sign = -v, -1
                if v.is_Number or v.is_Symbol:       # numbers and earlier placeholders pass through
                    P[i, j] = sign * v
                elif v in seen:                      # equal entries (c on a rotation's diagonal) once
                    P[i, j] = sign * seen[v]
                else:
                    sym = sp.Symbol(f"_{tag}{i + 1}{j + 1}", real=True)
                    seen[v] = sym
                    P[i, j] = sign * sym
                    group.append((sym, v))
        self.groups.append(group)
        return P

    def matrices(self, tagged, symmetric: bool = False) -> list[sp.Matrix]:
        """Several matrices (``[(tag, M), ...]``) as one stage (one CSE across them)."""
        out, group = [], []
        for tag, M in tagged:
            out.append(self.matrix(tag, M, symmetric))
            group += self.groups.pop()
        self.groups.append(group)
        return out

    def scalar(self, tag: str, e: sp.Expr) -> sp.Expr:
        e = sp.sympify(e)
        if e.is_Number or e.is_Symbol:
            return e
        sym = sp.Symbol(f"_{tag}", real=True)
        self.groups.append([(sym, e)])
        return sym

    def needed(self, outputs) -> list[list[tuple[sp.Symbol, sp.Expr]]]:
        """The groups pruned to what ``outputs`` use (in order)."""
        need = set().union(*(sp.sympify(o).free_symbols for o in outputs)) if outputs else set()
        kept = []
        for group in reversed(self.groups):
            g = [(k, v) for k, v in group if k in need]
            for _, v in g:
                need |= v.free_symbols
            kept.append(g)
        return [g for g in reversed(kept) if g]


class _Direct:
    """Closed-form mode of :class:`Chain`: no placeholders."""

    def matrix(self, tag, M, symmetric=False):
        return M

    def scalar(self, tag, e):
        return e


class Chain:
    """The §5 chain on given one-turn matrices: N, ∂N/∂ε, the p column n and the noise 𝓡.

    Pure matrix algebra, so the same formulas serve the closed forms (the
    lattice's matrices, ``stager=None``) and the printed kernels (a
    :class:`Stager` turns the intermediate matrices into placeholders
    evaluated in stages).

    Examples
    --------
    >>> import sympy as sp
    >>> mu = sp.Symbol("mu", real=True)
    >>> R = sp.Matrix([[sp.cos(mu), sp.sin(mu)], [-sp.sin(mu), sp.cos(mu)]])
    >>> c = Chain(sp.diag(R, R), sp.zeros(4, 4), sp.zeros(4, 1), sp.zeros(4, 4))
    >>> sp.simplify(c.a_b2()[1])
    0
    """

    def __init__(self, N: sp.Matrix, dN: sp.Matrix, col: sp.Matrix, R: sp.Matrix,
                 stager: Stager | None = None, b: sp.Symbol | None = None, block_form: bool = False) -> None:
        st = self.stager = stager or _Direct()
        self._b = b    # a symbol standing for b = sqrt(b²) (compact display forms)
        self._block_form = block_form   # (a, b²) from the 2×2 blocks (kernels: 12 entries of N, no tr N²)
        self.N, self.dN = st.matrix("n", N), st.matrix("dn", dN)
        self.col, self.R = st.matrix("eta", col), st.matrix("r", R, symmetric=True)
        self._cache: dict = {}

    def _memo(self, key, f):
        if key not in self._cache:
            self._cache[key] = f()
        return self._cache[key]

    @property
    def Ni(self) -> sp.Matrix:
        return _inv_symplectic(self.N)

    def invariants(self) -> tuple[sp.Expr, ...]:
        N = self.N
        t1 = N.trace()
        E2 = (t1**2 - (N * N).trace()) / 2
        return t1, E2, N.adjugate(method="berkowitz").trace(), N.det(method="berkowitz")

    def reduced_polynomial(self) -> sp.Expr:
        E1 = self.N.trace()
        E2 = (E1**2 - (self.N * self.N).trace()) / 2
        return w**2 - E1 * w + E2 - 2

    def a_b2(self) -> tuple[sp.Expr, sp.Expr]:
        """(a, b²) = (E1/2, a² − E2 + 2); with ``block_form`` the same for symplectic N from its 2×2 blocks.

        N = [[A, B], [C, D]] symplectic: b² = ((tr A − tr D)/2)² + det(B + adj C)
        (the coupled form of §5's a² − E2 + 2; it needs neither tr N² nor the
        entries N12, N21, N34, N43, and has no cancellation of O(1) terms
        when b² is small).
        """
        def f():
            if self._block_form:
                N, st = self.N, self.stager
                tA, tD = st.scalar("trA", N[0, 0] + N[1, 1]), st.scalar("trD", N[2, 2] + N[3, 3])
                X = N[0:2, 2:4] + N[2:4, 0:2].adjugate()
                a = (tA + tD) / 2
                b2 = ((tA - tD) / 2) ** 2 + (X[0, 0] * X[1, 1] - X[0, 1] * X[1, 0])   # det X, unexpanded
                return self.stager.scalar("a", a), self.stager.scalar("b2", b2)
            E1 = self.N.trace()
            E2 = (E1**2 - (self.N * self.N).trace()) / 2
            a = E1 / 2
            return self.stager.scalar("a", a), self.stager.scalar("b2", a**2 - E2 + 2)
        return self._memo("ab2", f)

    def b(self) -> sp.Expr:
        if self._b is not None:
            return self._b
        return self._memo("b", lambda: self.stager.scalar("b", sp.sqrt(self.a_b2()[1])))

    def cos_eigentunes(self) -> tuple[sp.Expr, sp.Expr]:
        a, _ = self.a_b2()
        b = self.b()
        return (a + b) / 2, (a - b) / 2

    def eigentunes(self) -> tuple[sp.Expr, sp.Expr]:
        cp, cm = self.cos_eigentunes()
        return sp.acos(cp), sp.acos(cm)

    def stability_conditions(self) -> tuple[sp.Basic, ...]:
        a, b2 = self.a_b2()
        b = sp.sqrt(b2)
        return sp.Ge(b2, 0), sp.Le(sp.Abs(a + b), 2), sp.Le(sp.Abs(a - b), 2)

    def damping_coefficients(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        Ni, dN = self.Ni, self.dN
        dE1 = dN.trace()
        dE4 = (Ni * dN).trace()                    # det N = 1
        dE3 = dE4 * Ni.trace() - (Ni * dN * Ni).trace()
        return dE4, -dE3, -dE1

    def mode_damping(self) -> tuple[sp.Expr, sp.Expr]:
        def f():
            e0, e1, e3 = self.damping_coefficients()
            a, _ = self.a_b2()
            odd = (e3 - e1 - a * e0) / (4 * self.b())
            return (self.stager.scalar("omega_plus", -e0 / 4 + odd),
                    self.stager.scalar("omega_minus", -e0 / 4 - odd))
        return self._memo("omega", f)

    def mode_sigma(self) -> tuple[sp.Matrix, sp.Matrix]:
        def f():
            N, R = self.N, self.R
            a, _ = self.a_b2()
            b = self.b()
            W = self.stager.matrix("W", N + self.Ni)
            out = []
            for sign, omega, tag in zip((1, -1), self.mode_damping(), ("p", "m")):
                w_k, w_o = a + sign * b, a - sign * b
                A = self.stager.matrix("A" + tag, (W - w_o * sp.eye(4)) / (w_k - w_o))
                cg = w_k / 2
                sg = self.stager.scalar("sin_g_" + tag, sp.sqrt(1 - cg**2))
                B = self.stager.matrix("B" + tag, A * (N - cg * sp.eye(4)) / sg)
                out.append(self.stager.matrix("S" + tag, (A * R * A.T + B * R * B.T) / (4 * omega),
                                              symmetric=True))
            return tuple(out)
        return self._memo("sigma", f)

    def moments(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        sp_, sm = self.mode_sigma()
        S = sp_ + sm
        return S[0, 0], S[0, 2], S[2, 2]

    def emittances(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        X = self.N - self.Ni
        out = [sp.Abs((S * J4 * X).trace(), evaluate=False) / (4 * sp.sqrt(1 - cg**2))
               for S, cg in zip(self.mode_sigma(), self.cos_eigentunes())]
        return out[0], out[1], sp.Min(*out, evaluate=False) / sp.Max(*out, evaluate=False)

    def tilt(self) -> sp.Expr:
        xx, xz, zz = self.moments()
        return sp.atan2(2 * xz, xx - zz) / 2

    def dispersion(self) -> sp.Matrix:
        if all(c == 0 for c in self.col):
            return sp.zeros(4, 1)
        return (sp.eye(4) - self.N).LUsolve(self.col)
