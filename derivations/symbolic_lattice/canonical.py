"""Canonical forms of trigonometric polynomials: zero tests and tidy printing within a budget.

Every sin(θ), cos(θ) of the expression becomes a polynomial variable s, c and
polynomials are reduced modulo s² + c² − 1 (for each angle; these relations
are a Gröbner basis, their leading monomials s² being coprime), so two
trigonometric polynomials are equal iff their reduced forms are. Rational
functions are compared through the numerator of their difference. Sums of
angles are expanded first (cos(a + b) → cos a cos b − sin a sin b).

Examples
--------
>>> import sympy as sp
>>> x, y = sp.symbols("x y", real=True)
>>> is_zero(sp.cos(x + y) - sp.cos(x) * sp.cos(y) + sp.sin(x) * sp.sin(y))
True
>>> is_zero(sp.sin(x)**2 - 1)
False
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sympy as sp

from coupled_beam.errors import BudgetExceededError

__all__ = ["Budget", "is_zero", "reduce_trig", "tidy", "node_count"]


@dataclass
class Budget:
    """Resource budget of one derivation: wall seconds and expression size (tree nodes).

    A derivation that exceeds it raises
    :class:`~coupled_beam.errors.BudgetExceededError` naming the step and the
    limit, instead of running for hours.

    Examples
    --------
    >>> b = Budget(seconds=1.0, max_nodes=10)
    >>> import sympy as sp
    >>> b.guard(sp.Symbol("x") + 1, "a sum")
    >>> b.guard(sum(sp.symbols("a:20")), "a long sum")
    Traceback (most recent call last):
    ...
    coupled_beam.errors.BudgetExceededError: a long sum has more than 10 nodes (budget max_nodes=10); fix some symbols to numbers, or raise the budget (Budget(max_nodes=...), --budget-nodes)
    """

    seconds: float = 120.0
    max_nodes: int = 400_000
    start: float = 0.0

    def __post_init__(self) -> None:
        self.start = time.perf_counter()

    def check_time(self, what: str) -> None:
        spent = time.perf_counter() - self.start
        if spent > self.seconds:
            raise BudgetExceededError(
                f"{what}: {spent:.1f} s spent, more than the budget of {self.seconds:g} s; fix some "
                "symbols to numbers, or raise the budget (Budget(seconds=...), --budget-seconds)",
                what=what, limit=self.seconds)

    def guard(self, expr, what: str) -> None:
        n = node_count(expr, self.max_nodes)
        if n > self.max_nodes:
            raise BudgetExceededError(
                f"{what} has more than {self.max_nodes} nodes (budget max_nodes={self.max_nodes}); "
                "fix some symbols to numbers, or raise the budget (Budget(max_nodes=...), --budget-nodes)",
                what=what, limit=self.max_nodes)
        self.check_time(what)


def node_count(expr, stop: int | None = None) -> int:
    """Number of nodes of the expression tree (matrices and tuples summed), stopping past ``stop``."""
    items = list(expr) if isinstance(expr, (sp.MatrixBase, tuple, list)) else [expr]
    n = 0
    for e in items:
        for _ in sp.preorder_traversal(sp.sympify(e)):
            n += 1
            if stop is not None and n > stop:
                return n
    return n


def _trig_vars(expr: sp.Expr):
    """Expand trig of sums; map sin θ, cos θ to symbols; the relations and generators."""
    expr = sp.sympify(expr)
    if expr.has(sp.sinc):
        expr = expr.replace(sp.sinc, lambda a: sp.sin(a) / a)
    if expr.has(sp.sin, sp.cos, sp.tan):
        expr = expr.rewrite(sp.tan, sp.sin) if expr.has(sp.tan) else expr
        expr = expr.replace(lambda e: isinstance(e, (sp.sin, sp.cos)) and e.args[0].is_Add,
                            lambda e: sp.expand_trig(e))
    angles = sorted({a.args[0] for a in expr.atoms(sp.sin, sp.cos)}, key=sp.default_sort_key)
    rep, gens, rels = {}, [], []
    for k, th in enumerate(angles):
        s, c = sp.Dummy(f"s{k}"), sp.Dummy(f"c{k}")
        rep[sp.sin(th)], rep[sp.cos(th)] = s, c
        gens += [s, c]
        rels.append(s**2 + c**2 - 1)
    for k, th in enumerate(sorted({a.args[0] for a in expr.atoms(sp.sinh, sp.cosh)},
                                  key=sp.default_sort_key)):
        s, c = sp.Dummy(f"sh{k}"), sp.Dummy(f"ch{k}")
        rep[sp.sinh(th)], rep[sp.cosh(th)] = s, c
        gens += [s, c]
        rels.append(s**2 - c**2 + 1)
    return expr.xreplace(rep), rep, gens, rels


def reduce_trig(expr: sp.Expr) -> sp.Expr:
    """Canonical form: numerator and denominator reduced modulo sin² + cos² = 1, back in sin/cos.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> reduce_trig(sp.sin(x)**2 + sp.cos(x)**2 + sp.sin(x))
    sin(x) + 1
    """
    e, rep, gens, rels = _trig_vars(expr)
    num, den = sp.fraction(sp.together(e))
    num, den = (_reduce_poly(p, gens, rels) for p in (num, den))
    back = {v: k for k, v in rep.items()}
    return (num / den).xreplace(back)


def _reduce_poly(p: sp.Expr, gens, rels) -> sp.Expr:
    """Normal form modulo the relations: every s^k → s^(k mod 2) (s²)^(k//2), s² = 1 − c² (or c² − 1).

    The relations s² + c² − 1 (s² − c² + 1 for sinh, cosh) have coprime
    leading monomials s², so this substitution is the Gröbner normal form
    (unique: degree ≤ 1 in each s), computed without a Gröbner engine.
    """
    p = sp.expand(p)
    if not gens:
        return p
    pairs = [(gens[2 * k], rels[k] - gens[2 * k] ** 2) for k in range(len(rels))]
    s_syms = [s for s, _ in pairs]
    poly = sp.Poly(p, *s_syms)
    out = []
    for monom, coeff in poly.terms():
        term = coeff
        for (s, minus_sq), k in zip(pairs, monom):
            term *= s ** (k % 2) * (-minus_sq) ** (k // 2)
        out.append(term)
    return sp.expand(sp.Add(*out))


def is_zero(expr) -> bool:
    """True iff the (rational, trigonometric) expression vanishes identically (a proof).

    Matrices and tuples: every entry.
    """
    if isinstance(expr, (sp.MatrixBase, tuple, list)):
        return all(is_zero(e) for e in expr)
    e, _, gens, rels = _trig_vars(sp.sympify(expr))
    num, _ = sp.fraction(sp.together(e))
    return _reduce_poly(num, gens, rels) == 0


def tidy(expr, max_nodes: int = 600):
    """A short display form: canonical reduction, then ``factor`` (``trigsimp`` on tiny forms) when it shortens it.

    Expressions above ``max_nodes`` are returned unchanged (display only; kernels
    use the unsimplified forms with common subexpressions eliminated).
    """
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: tidy(e, max_nodes))
    if isinstance(expr, (tuple, list)):
        return tuple(tidy(e, max_nodes) for e in expr)
    expr = sp.sympify(expr)
    if not isinstance(expr, sp.Expr) or node_count(expr, max_nodes) > max_nodes:
        return expr
    best = expr
    try:
        cand = reduce_trig(expr)
    except (sp.PolynomialError, sp.polys.polyerrors.PolificationFailed, NotImplementedError):
        cand = expr
    small = node_count(cand, 40) <= 40        # trigsimp takes seconds even on mid-sized forms
    for f in (lambda e: e, sp.factor_terms, sp.factor) + ((sp.trigsimp,) if small else ()):
        try:
            c = f(cand)
        except Exception:  # noqa: BLE001 -- display only: a rewrite that fails is skipped
            continue
        if sp.count_ops(c) < sp.count_ops(best):
            best = c
    return best
