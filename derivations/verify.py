"""Is ``lhs == rhs``? A checker for hand derivations: a proof, else 50 digits.

:func:`equal` answers with a :class:`Verdict`, never a bare bool:

``proved``
    sympy reduced ``lhs - rhs`` to zero (``expand``, ``cancel``,
    ``trigsimp``, ``simplify``; matrices elementwise; an ``Eq`` is taken as
    ``lhs - rhs``, two equations also match when one is a constant multiple
    of the other).
``numerically equal (k points, 50 digits)``
    sympy could not decide, but both sides agree at ``k`` random points of
    the domain, evaluated by mpmath at 50 significant digits.
``different``
    a point where the two sides differ; the verdict carries the point and
    both values.
``undecided``
    neither a proof nor a usable numeric test (e.g. every sampled point was
    outside the domain where the expressions are defined).

How points are drawn
--------------------
A symbol with an explicit ``domain=(lo, hi)`` is drawn uniformly there.
Otherwise its sympy assumptions decide: ``positive`` -> (0.1, 3),
``negative`` -> (-3, -0.1), ``nonnegative`` -> [0, 3), ``integer`` -> small
integers of the right sign, anything else -> real (-3, 3). Symbols without
assumptions are *sampled on the real line*, so ``sqrt(x**2)`` and ``x``
are ``different`` unless ``x`` is declared positive.

Points where either side is undefined (a pole, ``zoo``, ``nan``, an
exception) are skipped and counted. Complex values (a square root of a
negative number) are compared as complex numbers on mpmath's principal
branches; the verdict counts such points. At each point the two values
agree when ``|l - r| <= 10**(-dps) * max(|l|, |r|)`` (both evaluated with
10 guard digits); a point that fails is re-evaluated at ``2 * dps`` digits,
and it is a counterexample only if the difference does not shrink (a true
difference, not rounding noise from cancellation inside one side).

Examples
--------
>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> str(equal(sp.sin(x)**2 + sp.cos(x)**2, 1))
'proved'
>>> v = equal("sqrt(x**2)", "x", assumptions=["x>0"])
>>> v.status, bool(v)
('proved', True)
>>> equal("sqrt(x**2)", "x").status
'different'

References
----------
LNF-64/55 (Bernardini & Pellegrini 1964): the checker behind
``coupled-beam verify`` (:mod:`derivations.errata`).
"""

from __future__ import annotations

import io
import random
import re
import time
import tokenize
from dataclasses import dataclass
from typing import Iterable, Mapping

import mpmath
import sympy as sp
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_application,
    implicit_multiplication,
    parse_expr,
    standard_transformations,
)

from coupled_beam.errors import InputError

__all__ = ["Verdict", "equal", "equal_steps", "parse", "parse_assumptions"]

#: names a user expression may call; every other name becomes a Symbol
#: (``beta``, ``zeta``, ``gamma``, ``E``, ``N``, ``Q``, ``S`` are physics
#: symbols of the paper here, not sympy's functions).
SAFE_NAMES = {
    name: getattr(sp, name)
    for name in (
        "sin cos tan cot sec csc asin acos atan atan2 acot sinh cosh tanh asinh acosh "
        "atanh exp log sqrt cbrt root Abs sign re im conjugate arg floor ceiling Min Max "
        "pi I oo Rational Integer Float Matrix Eq Piecewise KroneckerDelta DiracDelta "
        "Heaviside erf erfc besselj bessely besseli besselk polylog LambertW factorial "
        "binomial Sum Product Integral Derivative diff integrate det Transpose expand factor "
        "simplify trigsimp cancel together"
    ).split()
}
SAFE_NAMES["exp1"] = sp.E  # Euler's number; ``E`` stays a free symbol (energy)

# no split_symbols: ``beta_x``, ``mu`` and ``expand`` stay whole names
_TRANSFORMS = standard_transformations + (convert_xor, implicit_multiplication,
                                         implicit_application)

_ASSUME_WORDS = {"positive", "negative", "nonnegative", "nonpositive", "real",
                 "integer", "nonzero", "complex"}


# ------------------------------------------------------------------ parsing
def _reject_unsafe(text: str) -> None:
    """Refuse code that is not a plain math expression (attribute access, dunder)."""
    if "__" in text or re.search(r"\b(import|exec|eval|open|getattr)\b", text):
        raise InputError(f"refusing to parse {text!r}: write a plain expression "
                         "(no attributes, imports or dunder names)", value=text)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError) as exc:
        raise InputError(f"cannot parse {text!r}: {exc}", value=text) from None
    for prev, tok in zip(tokens, tokens[1:]):
        if prev.type == tokenize.OP and prev.string == "." and tok.type == tokenize.NAME:
            raise InputError(f"refusing attribute access '.{tok.string}' in {text!r}: "
                             "write a plain expression", value=text)


def parse_assumptions(items: Iterable[str] | Mapping | None):
    """Turn ``["beta_x>0", "0<mu<pi", "n integer"]`` into symbols and domains.

    Parameters
    ----------
    items : iterable of str, or mapping
        Strings ``NAME>0``, ``NAME>=0``, ``NAME<0``, ``NAME<=0``,
        ``NAME!=0``, ``NAME real`` (any sympy assumption word), ``a<NAME<b``
        (real, drawn in (a, b)), ``NAME>a`` / ``NAME<b`` (real, one-sided).
        A mapping ``{name: {"positive": True}}`` is taken as is.

    Returns
    -------
    symbols : dict
        name -> ``sympy.Symbol`` carrying the assumptions.
    domain : dict
        name -> ``(lo, hi)`` sampling interval (only where one was given).

    Examples
    --------
    >>> syms, dom = parse_assumptions(["beta_x>0", "0<mu_x<pi"])
    >>> syms["beta_x"].is_positive, dom["mu_x"]
    (True, (0.0, 3.141592653589793))
    """
    facts: dict[str, dict] = {}
    domain: dict[str, tuple[float, float]] = {}
    if items is None:
        return {}, {}
    if isinstance(items, Mapping):
        for name, kw in items.items():
            facts[str(name)] = dict(kw)
    else:
        for raw in items:
            _parse_one_assumption(str(raw), facts, domain)
    return {n: sp.Symbol(n, **kw) for n, kw in facts.items()}, domain


def _number(text: str, whole: str) -> float:
    try:
        return float(sp.sympify(text, locals={"pi": sp.pi}).evalf())
    except (sp.SympifyError, TypeError, ValueError):
        raise InputError(f"bad bound {text!r} in assumption {whole!r}: use a number "
                         "such as 0, 2*pi or 1e-3", value=whole) from None


def _parse_one_assumption(raw: str, facts: dict, domain: dict) -> None:
    text = raw.strip()
    name_re = r"[A-Za-z_][A-Za-z0-9_]*"
    m = re.fullmatch(rf"({name_re})\s+({'|'.join(_ASSUME_WORDS)})", text)
    if m:
        facts.setdefault(m[1], {})[m[2]] = True
        return
    m = re.fullmatch(rf"(.+?)\s*<=?\s*({name_re})\s*<=?\s*(.+)", text)
    if m:
        lo, hi = _number(m[1], raw), _number(m[3], raw)
        if not lo < hi:
            raise InputError(f"empty interval in {raw!r}: need lower < upper", value=raw)
        kw = facts.setdefault(m[2], {})
        kw["real"] = True
        if lo >= 0:
            kw["positive" if lo > 0 or "<=" not in text.split(m[2])[0] else "nonnegative"] = True
        domain[m[2]] = (lo, hi)
        return
    m = re.fullmatch(rf"({name_re})\s*(>=|<=|>|<|!=)\s*(.+)", text)
    if not m:
        raise InputError(f"cannot read assumption {raw!r}: use e.g. 'beta_x>0', "
                         "'0<mu_x<pi', 'n integer'", value=raw)
    name, op, bound = m[1], m[2], _number(m[3], raw)
    kw = facts.setdefault(name, {})
    if op == "!=":
        if bound != 0:
            raise InputError(f"only 'NAME!=0' is supported, got {raw!r}", value=raw)
        kw["nonzero"] = True
        return
    kw["real"] = True
    if bound == 0:
        kw[{">": "positive", ">=": "nonnegative", "<": "negative", "<=": "nonpositive"}[op]] = True
        return
    if op in (">", ">="):
        if bound > 0:
            kw["positive"] = True
        domain[name] = (bound, bound + max(3.0, 3 * abs(bound)))
    else:
        if bound < 0:
            kw["negative"] = True
        domain[name] = (bound - max(3.0, 3 * abs(bound)), bound)


def parse(text: str, symbols: Mapping[str, sp.Symbol] | None = None):
    """Parse a user expression safely (no attribute access, limited names).

    Parameters
    ----------
    text : str
        sympy syntax; ``^`` is a power, implicit multiplication is allowed,
        ``A = B`` or ``Eq(A, B)`` is an equation.
    symbols : mapping, optional
        name -> Symbol with assumptions (from :func:`parse_assumptions`).

    Returns
    -------
    sympy.Basic

    Examples
    --------
    >>> parse("2 beta_x^2")
    2*beta_x**2
    >>> parse("a = b")
    Eq(a, b)
    """
    if not isinstance(text, str):
        return sp.sympify(text)
    _reject_unsafe(text)
    original = text
    local = dict(symbols or {})
    # ``lambda`` is the paper's eigenvalue (a Python keyword): read it as a symbol
    if re.search(r"\blambda\b", text):
        text = re.sub(r"\blambda\b", "lambda_sym_", text)
        local["lambda_sym_"] = local.get("lambda", sp.Symbol("lambda"))
    # NAME( (no space) with an unknown NAME that never stands alone is an
    # undefined function f(s); "x (x + 2)" and "x(x + 2) + x" multiply
    called = set(re.findall(r"\b([A-Za-z_]\w*)\(", text))
    bare = set(re.findall(r"\b([A-Za-z_]\w*)\b(?!\s*\()", text))
    for name in called - bare:
        if name not in SAFE_NAMES and name not in local:
            local[name] = sp.Function(name)
    glob = {"__builtins__": {}, "Symbol": sp.Symbol, "Integer": sp.Integer,
            "Float": sp.Float, "Rational": sp.Rational, "Function": sp.Function,
            **SAFE_NAMES}
    parts = re.split(r"(?<![<>=!])=(?!=)", text)
    try:
        if len(parts) == 2:
            return sp.Eq(*(parse_expr(p, local_dict=local, global_dict=glob,
                                      transformations=_TRANSFORMS) for p in parts),
                         evaluate=False)
        return parse_expr(text, local_dict=local, global_dict=glob, transformations=_TRANSFORMS)
    except (SyntaxError, TypeError, NameError, AttributeError, sp.SympifyError,
            tokenize.TokenError) as exc:
        raise InputError(f"cannot parse {original!r}: {exc}", value=original) from None


# ------------------------------------------------------------------ verdict
@dataclass(frozen=True)
class Verdict:
    """The answer of :func:`equal`.

    Attributes
    ----------
    status : str
        ``"proved"``, ``"numerically equal"``, ``"different"`` or ``"undecided"``.
    method : str
        What decided it (``"simplify"``, ``"mpmath"``, ...).
    points : int
        Points where both sides were evaluated and compared.
    skipped : int
        Sampled points where a side was undefined (pole, nan, exception).
    complex_points : int
        Compared points where a value was not real (principal branches).
    dps : int
        Significant digits of the numeric test.
    counterexample : dict or None
        For ``different``: ``{symbol name: value}`` (strings, 20 digits).
    lhs_value, rhs_value : str or None
        For ``different``: both sides at the counterexample.
    element : str or None
        For matrices/tuples: which element (``"[1, 2]"``) differs.
    difference : str or None
        For ``different``: ``|lhs - rhs|`` at the counterexample.
    detail : str
        One extra line (e.g. the proportionality factor of two equations).
    """

    status: str
    method: str = ""
    points: int = 0
    skipped: int = 0
    complex_points: int = 0
    dps: int = 50
    counterexample: dict | None = None
    lhs_value: str | None = None
    rhs_value: str | None = None
    element: str | None = None
    difference: str | None = None
    detail: str = ""

    def __bool__(self) -> bool:
        return self.status in ("proved", "numerically equal")

    def __str__(self) -> str:
        if self.status == "numerically equal":
            extra = f", {self.skipped} undefined skipped" if self.skipped else ""
            return f"numerically equal ({self.points} points, {self.dps} digits{extra})"
        if self.status == "different" and self.method == "shape":
            return f"different ({self.detail})"
        if self.status == "different":
            point = (self.counterexample or {}).items()
            at = ", ".join(f"{k}={v}" for k, v in point) or "any point"
            where = f" element {self.element}" if self.element else ""
            gap = f" (|lhs - rhs| = {self.difference})" if self.difference else ""
            return (f"different{where} at {at}: lhs = {self.lhs_value}, "
                    f"rhs = {self.rhs_value}{gap}")
        if self.status == "undecided":
            return f"undecided ({self.detail})" if self.detail else "undecided"
        return "proved" + (f" ({self.detail})" if self.detail else "")

    def summary(self) -> str:
        """A short form for tables: ``different: lhs 3.0 vs rhs 8.0`` (6 digits).

        Examples
        --------
        >>> equal("3", "8").summary()
        'different: lhs 3.0 vs rhs 8.0'
        """
        if self.status != "different" or self.lhs_value is None:
            return str(self)
        where = f" {self.element}" if self.element else ""
        return f"different{where}: lhs {_short(self.lhs_value)} vs rhs {_short(self.rhs_value)}"

    def to_dict(self) -> dict:
        """JSON-ready fields, plus ``verdict`` = ``str(self)``."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["verdict"] = str(self)
        return d


# ------------------------------------------------------------------ helpers
def _as_items(obj) -> list[tuple[str | None, sp.Basic]]:
    """Flatten Matrix / tuple / Eq into (label, scalar residual-or-expr) items."""
    if isinstance(obj, sp.MatrixBase):
        return [(f"[{i}, {j}]", obj[i, j]) for i in range(obj.rows) for j in range(obj.cols)]
    if isinstance(obj, (tuple, list)):
        out = []
        for k, o in enumerate(obj):
            out += [(f"[{k}]" + (lab or ""), e) for lab, e in _as_items(o)]
        return out
    return [(None, obj)]


def _shape(obj):
    if isinstance(obj, sp.MatrixBase):
        return obj.shape
    if isinstance(obj, (tuple, list)):
        return (len(obj), tuple(_shape(o) for o in obj))
    return ()


def _residual(e):
    return e.lhs - e.rhs if isinstance(e, sp.Equality) else e


def _freeze_functions(exprs: list[sp.Basic]) -> list[sp.Basic]:
    """Replace derivatives and undefined f(s) by independent symbols (pointwise test)."""
    reps: dict = {}
    for e in exprs:
        for d in sorted(e.atoms(sp.Derivative), key=sp.count_ops, reverse=True):
            reps.setdefault(d, sp.Dummy(f"d_{d.expr.func}", real=True))
    exprs = [e.xreplace(reps) for e in exprs]
    reps2: dict = {}
    for e in exprs:
        for f in e.atoms(sp.core.function.AppliedUndef):
            reps2.setdefault(f, sp.Dummy(str(f.func), real=True))
    return [e.xreplace(reps2) for e in exprs]


_REWRITES = (
    ("expand", sp.expand),
    ("cancel", lambda e: sp.cancel(sp.together(e))),
    ("trigsimp", sp.trigsimp),
    ("expand_trig", lambda e: sp.expand(sp.expand_trig(e))),
    ("simplify", sp.simplify),
)


def _prove_zero(diffs: list[sp.Expr], max_ops: int, budget: float) -> str | None:
    """Rewrite that reduces every difference to 0 (cheapest first, all elements), else None.

    Rewrites are tried in order of cost on every element not yet shown zero;
    after ``budget`` seconds no new rewrite is started (a proof attempt never
    blocks the verdict for long: the numeric one stands).
    """
    start = time.perf_counter()
    todo = [d for d in diffs if d != 0]
    if not todo:
        return "identical"
    if any(sp.count_ops(d) > max_ops for d in todo):
        return None
    used = "identical"
    for name, f in _REWRITES:
        left = []
        for d in todo:
            if time.perf_counter() - start > budget:
                return None
            try:
                zero = f(d) == 0
            except (TypeError, ValueError, NotImplementedError, RecursionError, AttributeError):
                zero = False
            if zero:
                used = name
            else:
                left.append(d)
        todo = left
        if not todo:
            return used
    return None


def _sample(sym: sp.Symbol, domain: Mapping, rng: random.Random) -> mpmath.mpf:
    for key in (sym, sym.name):
        if key in domain:
            lo, hi = (float(sp.sympify(v)) for v in domain[key])
            return mpmath.mpf(rng.uniform(lo, hi))
    if sym.is_integer:
        lo, hi = (1, 6) if sym.is_positive else (0, 6) if sym.is_nonnegative else \
                 (-6, -1) if sym.is_negative else (-6, 6)
        return mpmath.mpf(rng.randint(lo, hi))
    if sym.is_positive:
        return mpmath.mpf(rng.uniform(0.1, 3.0))
    if sym.is_negative:
        return mpmath.mpf(rng.uniform(-3.0, -0.1))
    if sym.is_nonnegative:
        return mpmath.mpf(rng.uniform(0.0, 3.0))
    if sym.is_nonpositive:
        return mpmath.mpf(rng.uniform(-3.0, 0.0))
    return mpmath.mpf(rng.uniform(-3.0, 3.0))


def _compile(exprs: list[sp.Expr], syms: list[sp.Symbol]):
    """mpmath callables for each expression; evalf fallback where lambdify cannot print."""
    fns = []
    for e in exprs:
        try:
            f = sp.lambdify(syms, e, modules="mpmath")
        except (TypeError, NameError, SyntaxError, KeyError):
            f = None
        fns.append((f, e))
    return fns


_UNDEFINED = (ZeroDivisionError, ValueError, OverflowError, RecursionError,
              mpmath.libmp.NoConvergence)


def _evaluate(fn, syms, point, dps: int):
    """Value at ``point`` with ``dps`` digits; None where undefined.

    The lambdified mpmath function is tried first; a printer gap (a sympy
    function mpmath does not know: NameError, TypeError) falls back to
    ``evalf`` with the point substituted.
    """
    f, e = fn
    with mpmath.workdps(dps):
        v = None
        if f is not None:
            try:
                v = f(*point)
            except _UNDEFINED:
                return None
            except (NameError, TypeError, AttributeError):
                v = None
        try:
            if v is None:
                v = e.evalf(dps, subs=dict(zip(syms, point)))
            v = _sym_to_mp(v, dps) if isinstance(v, sp.Basic) else mpmath.mpmathify(v)
        except _UNDEFINED + (TypeError, AttributeError, NameError):
            return None
        if v is None or not mpmath.isfinite(v):
            return None
        return v


def _sym_to_mp(v: sp.Basic, dps: int):
    if v.free_symbols or v.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    re_, im_ = (sp.Float(part, dps) for part in v.as_real_imag())
    return mpmath.mpc(mpmath.mpf(str(re_)), mpmath.mpf(str(im_)))


def _close(a, b, dps: int) -> bool:
    scale = max(abs(a), abs(b))
    return abs(a - b) <= mpmath.mpf(10) ** (-dps) * scale


def _short(text: str) -> str:
    try:
        return mpmath.nstr(mpmath.mpmathify(text.replace(" ", "")), 6)
    except (ValueError, TypeError):
        return text


def _fmt(v, digits: int = 20) -> str:
    return mpmath.nstr(v, digits) if v is not None else "undefined"


# ------------------------------------------------------------------ equal
def equal(lhs, rhs, assumptions=None, domain: Mapping | None = None, *, points: int = 24,
          dps: int = 50, seed: int = 1964, prove: bool = True, max_ops: int = 600,
          prove_seconds: float = 10.0, max_tries: int | None = None) -> Verdict:
    """Decide ``lhs == rhs``: a proof, else a 50-digit numeric test, else a counterexample.

    Parameters
    ----------
    lhs, rhs : str or sympy object
        Expressions, ``Eq`` objects (compared as ``lhs - rhs``; two equations
        also match up to a constant factor), matrices (elementwise) or tuples.
        Strings are parsed by :func:`parse`.
    assumptions : iterable of str or mapping, optional
        ``["beta_x>0", "0<mu_x<pi"]`` (see :func:`parse_assumptions`);
        symbols of that name in ``lhs``/``rhs`` get these assumptions.
    domain : mapping, optional
        Symbol (or name) -> ``(lo, hi)`` sampling interval for the numeric test.
    points : int
        Points to compare (default 24).
    dps : int
        Significant digits of the numeric test (default 50).
    seed : int
        Seed of the point generator (verdicts are reproducible).
    prove : bool
        Try symbolic proof (set False for a numeric test only).
    max_ops : int
        No symbolic proof is tried above this operation count of ``lhs - rhs``.
    prove_seconds : float
        No new rewrite is started after this many seconds of proof attempts.
    max_tries : int, optional
        Sampling attempts before giving up on undefined points (default
        ``10 * points``).

    Returns
    -------
    Verdict

    Raises
    ------
    coupled_beam.errors.InputError
        Unparsable text or an unreadable assumption.

    Examples
    --------
    >>> equal("polylog(2, x) + polylog(2, 1 - x)",
    ...       "pi**2/6 - log(x)*log(1 - x)", domain={"x": (0, 1)}).status
    'numerically equal'
    >>> v = equal("sin(2*x)", "2*sin(x)*cos(x) + 10**-30")
    >>> v.status, sorted(v.counterexample)
    ('different', ['x'])
    """
    syms_by_name, dom_from_text = parse_assumptions(assumptions)
    dom = dict(dom_from_text)
    for k, v in (domain or {}).items():
        dom[k.name if isinstance(k, sp.Symbol) else str(k)] = v
    a, b = (parse(x, syms_by_name) if isinstance(x, str) else _sympify(x) for x in (lhs, rhs))
    if syms_by_name:
        a, b = (_rebind(x, syms_by_name) for x in (a, b))
    # Symbol("x") and Symbol("x", real=True) are one variable to a reader: unify by name
    same = _unify_by_name(a, b)
    if same:
        a, b = (_rebind(x, same) for x in (a, b))
    if _shape(a) != _shape(b):
        return Verdict("different", method="shape", dps=dps,
                       detail=f"shapes differ: {_shape(a)} vs {_shape(b)}",
                       lhs_value=str(_shape(a)), rhs_value=str(_shape(b)))
    items_a, items_b = _as_items(a), _as_items(b)
    labels = [lab for lab, _ in items_a]
    ea, eb = [e for _, e in items_a], [e for _, e in items_b]
    both_eq = all(isinstance(x, sp.Equality) for x in ea + eb)
    ra, rb = [_residual(e) for e in ea], [_residual(e) for e in eb]
    ra, rb = _split(_freeze_functions(ra + rb), len(ra))
    diffs = [sp.sympify(x - y) for x, y in zip(ra, rb)]
    if any(d.has(sp.Integral, sp.Sum, sp.Product) for d in diffs):
        diffs = [d.doit() for d in diffs]
    kw = dict(domain=dom, points=points, dps=dps, seed=seed, max_tries=max_tries)
    # a cheap numeric look first: it decides "different" without costly rewrites
    num = _numeric(ra, rb, labels, **kw)
    if num.status == "different" and both_eq:
        prop = _proportional(ra, rb, **kw)
        if prop is not None:
            return prop
    if num.status == "different":
        return num
    if prove:
        how = _prove_zero(diffs, max_ops, prove_seconds)
        if how is not None:
            return Verdict("proved", method=how, dps=dps)
    return num


def _free_symbols(x) -> set:
    if isinstance(x, (tuple, list)):
        return set().union(set(), *(_free_symbols(y) for y in x))
    return {f for f in getattr(x, "free_symbols", set()) if type(f) is sp.Symbol}


def _unify_by_name(a, b) -> dict:
    """name -> one Symbol, for names carried by several Symbols (different assumptions)."""
    by_name: dict[str, list] = {}
    for sym in _free_symbols(a) | _free_symbols(b):
        by_name.setdefault(sym.name, []).append(sym)
    return {name: max(group, key=lambda q: (len(q.assumptions0), str(q.assumptions0)))
            for name, group in by_name.items() if len(group) > 1}


def _split(seq, n):
    return seq[:n], seq[n:]


def _sympify(x):
    if isinstance(x, (tuple, list)):
        return type(x)(_sympify(y) for y in x)
    return sp.sympify(x)


def _rebind(x, syms_by_name):
    if isinstance(x, (tuple, list)):
        return type(x)(_rebind(y, syms_by_name) for y in x)
    reps = {s: syms_by_name[s.name] for s in x.free_symbols
            if isinstance(s, sp.Symbol) and s.name in syms_by_name}
    return x.xreplace(reps)


def _numeric(ra, rb, labels, *, domain, points, dps, seed, max_tries) -> Verdict:
    syms = sorted(set().union(*(e.free_symbols for e in ra + rb)), key=lambda s: s.name)
    fa, fb = _compile(ra, syms), _compile(rb, syms)
    rng = random.Random(seed)
    done = skipped = cplx = 0
    tries = max_tries or 10 * points
    while done < points and done + skipped < tries:
        pt = [_sample(s, domain, rng) for s in syms]
        vals = []
        for k in range(len(ra)):
            va, vb = _evaluate(fa[k], syms, pt, dps + 10), _evaluate(fb[k], syms, pt, dps + 10)
            if va is None or vb is None:
                vals = None
                break
            vals.append((va, vb))
        if vals is None:
            skipped += 1
            continue
        done += 1
        if any(isinstance(v, mpmath.mpc) and v.imag != 0 for pair in vals for v in pair):
            cplx += 1
        for k, (va, vb) in enumerate(vals):
            if _close(va, vb, dps):
                continue
            # rounding noise from cancellation shrinks at twice the precision; a real gap does not
            va2 = _evaluate(fa[k], syms, pt, 2 * dps + 10)
            vb2 = _evaluate(fb[k], syms, pt, 2 * dps + 10)
            if va2 is not None and vb2 is not None and (
                    _close(va2, vb2, 2 * dps)
                    or abs(va2 - vb2) < abs(va - vb) * mpmath.mpf(10) ** (-dps // 2)):
                continue
            return Verdict("different", method="mpmath", points=done, skipped=skipped,
                           complex_points=cplx, dps=dps,
                           counterexample={s.name: _fmt(v) for s, v in zip(syms, pt)},
                           lhs_value=_fmt(va), rhs_value=_fmt(vb), element=labels[k],
                           difference=_fmt(abs(va - vb), 5))
    if done == 0 or done < min(points, 3):
        return Verdict("undecided", method="mpmath", points=done, skipped=skipped, dps=dps,
                       detail=f"only {done} of {done + skipped} sampled points were defined")
    return Verdict("numerically equal", method="mpmath", points=done, skipped=skipped,
                   complex_points=cplx, dps=dps)


def _is_monomial(r: sp.Expr) -> bool:
    """A nonzero number times integer powers of symbols (a factor that cannot hide roots)."""
    return all(f.is_number or f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Integer)
               for f in sp.Mul.make_args(r))


def _proportional(ra, rb, **kw) -> Verdict | None:
    """Two equations that agree up to a nonzero constant factor (e.g. a quartic over lambda**2)."""
    for x, y in zip(ra, rb):
        if y == 0 or x == 0:
            return None
    ratios = [sp.cancel(sp.together(x / y)) for x, y in zip(ra, rb)]
    if all(r != 0 and _is_monomial(r) for r in ratios):
        return Verdict("proved", method="cancel", dps=kw["dps"],
                       detail="equivalent equations, factor " + ", ".join(map(str, ratios)))
    # numerically: the ratio x / y takes one value at every point
    consts = []
    for x, y in zip(ra, rb):
        syms = sorted((x / y).free_symbols, key=lambda s: s.name)
        (f,) = _compile([x / y], syms)
        rng = random.Random(kw["seed"])
        first, done = None, 0
        for _ in range(kw["max_tries"] or 10 * kw["points"]):
            if done >= kw["points"]:
                break
            pt = [_sample(s, kw["domain"], rng) for s in syms]
            v = _evaluate(f, syms, pt, kw["dps"] + 10)
            if v is None or v == 0:
                continue
            if first is None:
                first = v
            elif not _close(v, first, kw["dps"]):
                return None
            done += 1
        if first is None or done < min(kw["points"], 3):
            return None
        consts.append(_fmt(first))
    return Verdict("numerically equal", method="mpmath", points=kw["points"], dps=kw["dps"],
                   detail="equivalent equations, factor " + ", ".join(consts))


def equal_steps(steps, assumptions=None, domain: Mapping | None = None,
                **kw) -> list[Verdict]:
    """Check a hand derivation line by line: step k against step k + 1.

    Parameters
    ----------
    steps : sequence of str or sympy objects
        The successive forms of one derivation.
    assumptions, domain, **kw
        As for :func:`equal`.

    Returns
    -------
    list of Verdict
        ``len(steps) - 1`` verdicts; the first ``different`` one is the
        faulty step.

    Examples
    --------
    >>> [v.status for v in equal_steps(["(x + 1)**2 - 1", "x**2 + 2*x", "x*(x + 3)"])]
    ['proved', 'different']
    """
    steps = list(steps)
    if len(steps) < 2:
        raise InputError(f"need at least two steps, got {len(steps)}", value=len(steps))
    return [equal(a, b, assumptions=assumptions, domain=domain, **kw)
            for a, b in zip(steps, steps[1:])]

