"""Is ``lhs == rhs``? A checker for hand derivations: a proof, else 50 digits.

:func:`equal` answers with a :class:`Verdict`, never a bare bool:

``proved``
    sympy reduced ``lhs - rhs`` to zero (``expand``, cancellation within
    each denominator, ``cancel``, ``trigsimp``, ``simplify``; matrices
    elementwise; an ``Eq`` is taken as ``lhs - rhs``, two equations also
    match when one is a constant multiple of the other). ``Verdict.general``
    says whether the compared forms had free symbols (a proof for all their
    values) or were numbers only (exact arithmetic on one instance).
``numerically equal (k points, 50 digits)``
    sympy could not decide, but both sides agree at ``k`` random points of
    the domain, evaluated by mpmath at 50 significant digits.
``different``
    a point where the two sides differ; the verdict carries the point and
    both values.
``undecided``
    neither a proof nor a usable numeric test (e.g. every sampled point was
    outside the domain where the expressions are defined), or **undecided
    within the budget**: the time ran out before a proof or enough points.

Decimals are exact
------------------
In a text expression a decimal is the rational it spells: ``0.1`` is
``1/10`` and ``1e-3`` is ``1/1000`` (so ``x/10`` and ``0.1*x`` are proved
equal). Python floats and sympy Floats handed in directly are read through
their shortest decimal form (``0.1`` -> ``1/10``) as well.

Budget
------
Every call works within a :class:`Budget` (default: 5 s, 5000 tokens or
expression nodes, exact numbers of at most 4000 digits, nesting depth 100,
``dps <= 1000``, ``points <= 10000``). Input that is too large before any
work starts (``2**(10**10)``, ``9**9**9``, ``factorial(10**7)``, a
20 000-term sum, 5000-deep parentheses, ``dps=100000``,
``points=10**8``) raises :class:`~coupled_beam.errors.InputError` naming
the limit and how to raise it; work that runs out of time (a hard
integral, a costly simplification) ends as ``undecided within the budget``.
The time limit interrupts through ``SIGALRM`` in the main thread (an outer
alarm, e.g. pytest-timeout's, is honoured and restored); in other threads it
is checked between steps only.

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

Order of work: three points first (a difference is found without any
rewriting), then the proof, and the full numeric test only when no proof is
found.

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
>>> str(equal("x/10", "0.1*x"))
'proved'

References
----------
LNF-64/55 (Bernardini & Pellegrini 1964): the checker behind
``coupled-beam verify`` (:mod:`derivations.errata`).
"""

from __future__ import annotations

import ast
import io
import math
import random
import re
import signal
import threading
import time
import tokenize
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Mapping

import mpmath
import sympy as sp
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_application,
    implicit_multiplication,
    rationalize,
    standard_transformations,
    stringify_expr,
)

from coupled_beam.errors import InputError

__all__ = ["Budget", "Verdict", "equal", "equal_steps", "parse", "parse_assumptions"]

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

# no split_symbols: ``beta_x``, ``mu`` and ``expand`` stay whole names;
# rationalize: a decimal is the exact rational it spells (0.1 -> 1/10)
_TRANSFORMS = standard_transformations + (convert_xor, implicit_multiplication,
                                         implicit_application, rationalize)

_ASSUME_WORDS = {"positive", "negative", "nonnegative", "nonpositive", "real",
                 "integer", "nonzero", "complex"}


# ------------------------------------------------------------------ budget
@dataclass(frozen=True)
class Budget:
    """Resources one :func:`equal` call may use (``coupled-beam check --seconds/--max-size``).

    Attributes
    ----------
    seconds : float or None
        Wall time for parsing, the numeric test and the proof together
        (default 5). ``None``: no time limit.
    max_size : int or None
        Tokens of a text expression, or nodes of a sympy expression (default
        5000). ``None``: no limit (the paper's own checks).
    max_digits : int
        Digits of any exact number the input asks for (``2**(10**10)``,
        ``factorial(10**7)``) (default 4000).
    max_depth : int
        Nesting depth of parentheses in a text expression (default 100).
    max_dps : int
        Largest ``dps`` of the numeric test (default 1000).
    max_points : int
        Largest ``points`` of the numeric test (default 10000).

    Examples
    --------
    >>> Budget().seconds, Budget(seconds=30).seconds
    (5.0, 30)
    """

    seconds: float | None = 5.0
    max_size: int | None = 5000
    max_digits: int = 4000
    max_depth: int = 100
    max_dps: int = 1000
    max_points: int = 10000

    def __post_init__(self) -> None:
        if self.seconds is not None and not (isinstance(self.seconds, (int, float))
                                             and math.isfinite(self.seconds) and self.seconds > 0):
            raise InputError(f"Budget.seconds must be a positive number of seconds or None, "
                             f"got {self.seconds!r}", field="seconds", value=self.seconds)
        for name in ("max_size", "max_digits", "max_depth", "max_dps", "max_points"):
            val = getattr(self, name)
            if val is None and name == "max_size":
                continue
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise InputError(f"Budget.{name} must be a positive integer, got {val!r}",
                                 field=name, value=val)


DEFAULT_BUDGET = Budget()


class _OutOfBudget(BaseException):
    """Raised inside a :func:`_time_limit` block when its time is up.

    A ``BaseException``: sympy's ``except Exception`` fallbacks cannot swallow it.
    """


class _Clock:
    """Deadline of one budgeted call; ``check()`` raises :class:`_OutOfBudget` once it passed."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.deadline = None if seconds is None else self.start + seconds
        self.phase = "parsing"

    def left(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.monotonic()

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _OutOfBudget(self.phase)


@contextmanager
def _time_limit(clock: _Clock):
    """Interrupt the block at ``clock.deadline`` (SIGALRM in the main thread, else cooperative).

    An alarm already set by the caller (pytest-timeout, an outer budget) is
    honoured: ours fires no later than it would, its handler runs if it is due
    first, and it is re-armed with its remaining time on exit.
    """
    if (clock.deadline is None or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    old_handler = signal.getsignal(signal.SIGALRM)
    old_left, old_interval = signal.getitimer(signal.ITIMER_REAL)
    t0 = time.monotonic()
    outer_due = t0 + old_left if old_left > 0 else None

    def handler(signum, frame):
        now = time.monotonic()
        if outer_due is not None and now >= outer_due and callable(old_handler):
            old_handler(signum, frame)
        if now >= clock.deadline:
            raise _OutOfBudget(clock.phase)

    signal.signal(signal.SIGALRM, handler)
    first = max(clock.left(), 1e-4)
    if outer_due is not None:
        first = min(first, max(outer_due - t0, 1e-4))
    # re-fire every 50 ms in case a bare ``except:`` swallowed the first one
    signal.setitimer(signal.ITIMER_REAL, first, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if outer_due is not None:
            signal.setitimer(signal.ITIMER_REAL, max(outer_due - time.monotonic(), 1e-4),
                             old_interval)


# ------------------------------------------------------------------ parsing
def _reject_unsafe(text: str, budget: Budget = DEFAULT_BUDGET) -> None:
    """Refuse code that is not a plain math expression, or too big to start on.

    Attribute access, dunder names, imports; more tokens than
    ``budget.max_size``, parentheses nested deeper than ``budget.max_depth``,
    an integer literal longer than ``budget.max_digits``.
    """
    if "__" in text or re.search(r"\b(import|exec|eval|open|getattr)\b", text):
        raise InputError(f"refusing to parse {_clip_text(text)!r}: write a plain expression "
                         "(no attributes, imports or dunder names)", value=_clip_text(text))
    if budget.max_size is not None and len(text) > 100 * budget.max_size:
        raise InputError(f"expression too large: {len(text)} characters for a budget of "
                         f"{budget.max_size} tokens; raise it with --max-size or "
                         "Budget(max_size=...)", field="max_size", value=len(text))
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    if deepest > budget.max_depth:
        raise InputError(f"expression nested {deepest} parentheses deep; the budget allows "
                         f"{budget.max_depth} (Budget(max_depth=...)): split it into steps",
                         field="max_depth", value=deepest)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise InputError(f"cannot parse {_clip_text(text)!r}: {exc}",
                         value=_clip_text(text)) from None
    if budget.max_size is not None and len(tokens) > budget.max_size:
        raise InputError(f"expression too large: {len(tokens)} tokens, the budget allows "
                         f"{budget.max_size}; raise it with --max-size or Budget(max_size=...)",
                         field="max_size", value=len(tokens))
    for prev, tok in zip(tokens, tokens[1:]):
        if prev.type == tokenize.OP and prev.string == "." and tok.type == tokenize.NAME:
            raise InputError(f"refusing attribute access '.{tok.string}' in "
                             f"{_clip_text(text)!r}: write a plain expression",
                             value=_clip_text(text))
    for tok in tokens:
        if tok.type == tokenize.NUMBER and len(tok.string) > budget.max_digits:
            raise InputError(f"a number of {len(tok.string)} digits; the budget allows "
                             f"{budget.max_digits} (Budget(max_digits=...))",
                             field="max_digits", value=len(tok.string))


def _clip_text(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


#: calls whose value sympy computes exactly from integer arguments: log10 of the size
_EXACT_CALLS = {
    "factorial": lambda n, *_: n * math.log10(max(n, 2)),
    "binomial": lambda n, *_: n * math.log10(2),
}


def _digits_bound(node: ast.AST, known: dict) -> float | None:
    """Upper bound of log10 |value| if ``node`` is an exact number sympy would compute, else None.

    ``known`` holds the bounds of the node's operands (filled bottom-up by
    :func:`_guard_code`, so a 5000-term chain needs no recursion).
    """
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            return None
        if isinstance(v, int):
            return math.log10(abs(v) + 1)
        if isinstance(v, float):
            return math.log10(abs(v) + 1) if math.isfinite(v) else math.inf
        if isinstance(v, str):  # Rational('0.1'), Rational('1e-3'): mantissa digits + |exponent|
            m = re.fullmatch(r"\s*[-+]?([0-9_]*\.?[0-9_]*)(?:[eE]([-+]?[0-9]+))?\s*", v)
            if m is None:
                return None
            exp = abs(int(m[2])) if m[2] and len(m[2]) < 16 else (math.inf if m[2] else 0)
            return len(re.sub(r"[^0-9]", "", m[1])) + exp
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        parts = [known.get(id(a)) for a in node.args]
        if name in ("Integer", "Rational", "Float") and node.args:
            return None if any(p is None for p in parts) else sum(parts)
        if name in _EXACT_CALLS and node.args:
            if parts[0] is None:
                return None
            n = _small_value(node.args[0], parts[0])
            return math.inf if n is None else _EXACT_CALLS[name](abs(n))
        return None
    if isinstance(node, ast.UnaryOp):
        return known.get(id(node.operand))
    if isinstance(node, ast.BinOp):
        a, b = known.get(id(node.left)), known.get(id(node.right))
        if isinstance(node.op, ast.Pow):
            if a is None or b is None:  # a symbolic base stays an unevaluated power
                return None
            e = _small_value(node.right, b)
            return math.inf if e is None else abs(e) * max(a, 1.0)
        if a is None or b is None:
            return None
        if isinstance(node.op, (ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)):
            return a + b
        return max(a, b) + 1.0
    return None


def _small_value(node: ast.AST, digits: float) -> float | None:
    """The value of a constant subtree small enough to evaluate safely (else None)."""
    if digits > 15:
        return None
    try:
        code = compile(ast.Expression(node), "<bound>", "eval")
        value = eval(code, {"__builtins__": {}, "Integer": int, "Rational": _frac,
                            "Float": float, "factorial": math.factorial,
                            "binomial": math.comb})
        return float(value)
    except (ArithmeticError, ValueError, TypeError, NameError, OverflowError):
        return None


def _frac(*args):
    from fractions import Fraction

    return Fraction(*args) if len(args) != 1 else Fraction(str(args[0]))


def _guard_code(code: str, original: str, budget: Budget) -> ast.Expression:
    """The parsed code; refuse exact numbers beyond ``budget.max_digits`` before sympy computes them."""
    try:
        tree = ast.parse(code, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise InputError(f"cannot parse {_clip_text(original)!r}: {exc}",
                         value=_clip_text(original)) from None
    # post-order without recursion: children before parents
    order, stack = [], [tree.body]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(ast.iter_child_nodes(node))
    known: dict = {}
    worst, where = 0.0, None
    for node in reversed(order):
        d = _digits_bound(node, known)
        if d is None:
            continue
        known[id(node)] = d
        if d > worst and isinstance(node, (ast.BinOp, ast.Call)):
            worst, where = d, node
    if worst <= budget.max_digits:
        return tree
    what = re.sub(r"(?:Integer|Float|Rational)\((-?[0-9]+|'[^']*')\)",
                  lambda m: m[1].strip("'"), ast.unparse(where))
    size = "more than 10**15" if math.isinf(worst) else f"about {worst:.3g}"
    raise InputError(f"{_clip_text(what)} would be an exact number of {size} digits; "
                     f"the budget allows {budget.max_digits} (Budget(max_digits=...)): "
                     "write it with a symbol or a float power", field="max_digits",
                     value=_clip_text(original))


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


def _number(text, whole) -> float:
    """A finite real bound, from text through the guarded :func:`parse` (never ``sympify``)."""
    try:
        value = parse(text) if isinstance(text, str) else _to_sympy(text, "bound", DEFAULT_BUDGET)
        value = float(sp.sympify(value).evalf())
    except InputError:
        raise
    except (sp.SympifyError, TypeError, ValueError, AttributeError):
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"bad bound {text!r} in {whole!r}: use a finite number "
                         "such as 0, 2*pi or 1e-3", value=str(whole)) from None
    return value


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


def parse(text: str, symbols: Mapping[str, sp.Symbol] | None = None,
          budget: Budget | None = None):
    """Parse a user expression safely (no attribute access, limited names and size).

    Parameters
    ----------
    text : str
        sympy syntax; ``^`` is a power, implicit multiplication is allowed,
        ``A = B`` or ``Eq(A, B)`` is an equation; a decimal is the exact
        rational it spells (``0.1`` is ``1/10``).
    symbols : mapping, optional
        name -> Symbol with assumptions (from :func:`parse_assumptions`).
    budget : Budget, optional
        Size limits (tokens, nesting, digits of exact numbers); default
        :class:`Budget` ``()``.

    Returns
    -------
    sympy.Basic

    Raises
    ------
    coupled_beam.errors.InputError
        Not a plain expression, or beyond the budget (the message names the
        limit and how to raise it).

    Examples
    --------
    >>> parse("2 beta_x^2")
    2*beta_x**2
    >>> parse("a = b")
    Eq(a, b)
    >>> parse("0.1*x + 2.5e-3")
    x/10 + 1/400
    """
    budget = DEFAULT_BUDGET if budget is None else budget
    if not isinstance(text, str):
        return _to_sympy(text, "expression", budget)
    _reject_unsafe(text, budget)
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
            sides = [_expression(_parse_one(q, original, local, glob, budget), original)
                     for q in parts]
            if any(isinstance(e, (sp.MatrixBase, tuple)) for e in sides):
                raise InputError(f"{_clip_text(original)!r}: an equation A = B needs scalar "
                                 "sides", value=_clip_text(original))
            return sp.Eq(*sides, evaluate=False)
        return _expression(_parse_one(text, original, local, glob, budget), original)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 -- sympy's parser raises many kinds; all mean "cannot parse"
        raise InputError(f"cannot parse {_clip_text(original)!r}: {type(exc).__name__}: "
                         f"{_clip_text(str(exc), 200)}", value=_clip_text(original)) from None


def _expression(obj, original: str):
    """The parsed object if it can be compared (expression, Eq, matrix, tuple of these)."""
    if isinstance(obj, sp.Tuple):
        obj = tuple(obj)
    if isinstance(obj, tuple):
        if not obj:
            raise InputError(f"{_clip_text(original)!r} is empty", value=_clip_text(original))
        return tuple(_expression(o, original) for o in obj)
    if isinstance(obj, (sp.Expr, sp.Equality, sp.MatrixBase)):
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return sp.sympify(obj)
    kind = type(obj).__name__
    hint = ("a relation such as x > 0 belongs in --assume" if isinstance(obj, sp.core.relational.Relational)
            else "write an expression, or an equation A = B")
    raise InputError(f"{_clip_text(original)!r} is a {kind}, not an expression: {hint}",
                     value=_clip_text(original))


def _parse_one(text: str, original: str, local: dict, glob: dict, budget: Budget):
    """sympy's parser in two steps, with the size guard between them.

    Long sums and products are built in one ``Add``/``Mul`` call (sympy's
    ``a + b`` re-flattens the whole sum each time: quadratic in the length).
    """
    code = stringify_expr(text, local, glob, _TRANSFORMS)
    tree = _guard_code(code, original, budget)
    tree = ast.fix_missing_locations(_FlattenChains().visit(tree))
    return eval(compile(tree, "<expression>", "eval"),
                {**glob, "Add_chain_": _add_chain, "Mul_chain_": _mul_chain}, local)


def _add_chain(*terms):
    return sp.Add(*map(sp.sympify, terms))


def _mul_chain(*factors):
    return sp.Mul(*map(sp.sympify, factors))


class _FlattenChains(ast.NodeTransformer):
    """``a + b - c + ...`` (more than 8 terms) -> ``Add_chain_(a, b, -c, ...)``; same for ``*``."""

    def visit_BinOp(self, node):
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            kind = ast.Mult if isinstance(node.op, ast.Mult) else (ast.Add, ast.Sub)
            terms, cur = [], node
            while isinstance(cur, ast.BinOp) and isinstance(cur.op, kind):
                right = self.visit(cur.right)
                if isinstance(cur.op, ast.Sub):
                    right = ast.UnaryOp(op=ast.USub(), operand=right)
                terms.append(right)
                cur = cur.left
            if len(terms) >= 8:
                terms.append(self.visit(cur))
                name = "Mul_chain_" if kind is ast.Mult else "Add_chain_"
                return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=terms[::-1],
                                keywords=[])
        return self.generic_visit(node)


def _to_sympy(obj, what: str, budget: Budget):
    """A non-text input as sympy: numbers, sympy objects, tuples/lists of them; floats exact."""
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_sympy(o, what, budget) for o in obj)
    if isinstance(obj, bool) or obj is None or not isinstance(
            obj, (int, float, complex, sp.Basic, sp.MatrixBase)):
        try:
            import numpy as np  # numbers from numpy are numbers too

            if isinstance(obj, np.generic) and not isinstance(obj, np.bool_):
                return _to_sympy(obj.item(), what, budget)
        except ImportError:  # pragma: no cover
            pass
        raise InputError(f"{what}: cannot compare a {type(obj).__name__} ({_clip_text(repr(obj))}); "
                         "give a string such as 'sin(x)**2', a number or a sympy expression",
                         field=what, value=_clip_text(repr(obj)))
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise InputError(f"{what}: {obj!r} is not a finite number", field=what, value=obj)
        return sp.Rational(repr(obj))
    if isinstance(obj, complex):
        return _to_sympy(obj.real, what, budget) + sp.I * _to_sympy(obj.imag, what, budget)
    e = sp.sympify(obj)
    if budget.max_size is not None:
        nodes = 0
        for _ in sp.preorder_traversal(e):
            nodes += 1
            if nodes > budget.max_size:
                raise InputError(f"{what}: expression too large (more than {budget.max_size} "
                                 "nodes); raise it with Budget(max_size=...)",
                                 field="max_size", value=nodes)
    if e.atoms(sp.Float):
        e = e.xreplace({f: _exact_float(f) for f in e.atoms(sp.Float)})
    return e


def _exact_float(f: sp.Float) -> sp.Rational:
    """A sympy Float as the decimal it prints (53-bit: shortest round-trip form)."""
    if not f.is_finite:
        return f
    if f._prec <= 53:
        return sp.Rational(repr(float(f)))
    return sp.Rational(str(f))


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
    general : bool
        For ``proved``: the compared forms had free symbols (a proof for all
        their values); False for exact arithmetic on numbers only.
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
    general: bool = True

    def __bool__(self) -> bool:
        return self.status in ("proved", "numerically equal")

    def __str__(self) -> str:
        if self.status == "numerically equal":
            extra = f", {self.skipped} undefined skipped" if self.skipped else ""
            return f"numerically equal ({self.points} points, {self.dps} digits{extra})"
        if self.status == "different" and self.method == "shape":
            return f"different ({self.detail})"
        if self.status == "different":
            point = list((self.counterexample or {}).items())
            at = ", ".join(f"{k}={v}" for k, v in point[:8]) or "any point"
            if len(point) > 8:
                at += f", ... ({len(point) - 8} more symbols; see counterexample)"
            where = f" element {self.element}" if self.element else ""
            gap = f" (|lhs - rhs| = {self.difference})" if self.difference else ""
            return (f"different{where} at {at}: lhs = {self.lhs_value}, "
                    f"rhs = {self.rhs_value}{gap}")
        if self.status == "undecided" and self.method == "budget":
            return self.detail.split(":")[0] + f" ({self.detail.split(': ', 1)[-1]})"
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
            wrt = "".join(str(v) * int(k) for v, k in d.variable_count)
            reps.setdefault(d, sp.Dummy(f"d{wrt}_{d.expr}", real=True))
    exprs = [e.xreplace(reps) for e in exprs]
    reps2: dict = {}
    for e in exprs:
        for f in e.atoms(sp.core.function.AppliedUndef):
            reps2.setdefault(f, sp.Dummy(str(f), real=True))
    return [e.xreplace(reps2) for e in exprs]


def _cancel_by_denominator(e: sp.Expr) -> sp.Expr:
    """Expand, group the terms by denominator, cancel within each group, add up.

    Cheap where ``cancel(together(e))`` is not: a sum over many distinct
    denominators (e.g. ``sum R_ab/(1 - Δ_a Δ_b)``) never builds their product.
    """
    groups: dict = {}
    for term in sp.Add.make_args(sp.expand(e)):
        num, den = sp.fraction(term)
        if den.could_extract_minus_sign():
            num, den = -num, -den
        den = sp.expand(den)
        groups.setdefault(den, []).append(num)
    return sp.expand(sp.Add(*(_exact_quotient(sp.Add(*nums), den)
                              for den, nums in groups.items())))


def _exact_quotient(num: sp.Expr, den: sp.Expr) -> sp.Expr:
    """num/den as a polynomial when den divides num exactly (fast path), else cancel()."""
    if den == 1:
        return num
    gens = sorted(num.free_symbols | den.free_symbols, key=str)
    try:
        q, r = sp.Poly(num, *gens).div(sp.Poly(den, *gens))
        if r.is_zero:
            return q.as_expr()
    except (sp.PolynomialError, sp.GeneratorsNeeded, sp.CoercionFailed):
        pass
    return sp.cancel(num / den)


_REWRITES = (
    ("expand", sp.expand),
    ("cancel by denominator", _cancel_by_denominator),
    ("cancel", lambda e: sp.cancel(sp.together(e))),
    ("trigsimp", sp.trigsimp),
    ("expand_trig", lambda e: sp.expand(sp.expand_trig(e))),
    ("simplify", sp.simplify),
)


def _prove_zero(diffs: list[sp.Expr], max_ops: int, budget: float,
                clock: _Clock | None = None) -> str | None:
    """Rewrite that reduces every difference to 0 (cheapest first, all elements), else None.

    Rewrites are tried in order of cost on every element not yet shown zero;
    after ``budget`` seconds no new rewrite is started (a proof attempt never
    blocks the verdict for long: the numeric one stands). A power of a sum
    with an exponent above 200 is not expanded (the expansion alone would
    exceed any budget).
    """
    start = time.perf_counter()
    todo = [d for d in diffs if d != 0]
    if not todo:
        return "identical"
    if any(sp.count_ops(d) > max_ops for d in todo):
        return None
    if any(_huge_power(d) for d in todo):
        return None
    used = "identical"
    for name, f in _REWRITES:
        left = []
        for d in todo:
            if time.perf_counter() - start > budget:
                return None
            if clock is not None:
                clock.check()
            try:
                zero = f(d) == 0
            except (TypeError, ValueError, NotImplementedError, RecursionError, AttributeError,
                    ZeroDivisionError, OverflowError, MemoryError):
                zero = False
            if zero:
                used = name
            else:
                left.append(d)
        todo = left
        if not todo:
            return used
    return None


def _huge_power(e: sp.Basic, limit: int = 200) -> bool:
    return any(p.exp.is_Integer and abs(p.exp) > limit and not p.base.is_Atom
               for p in e.atoms(sp.Pow))


def _sample(sym: sp.Symbol, domain: Mapping, rng: random.Random) -> mpmath.mpf:
    for key in (sym, sym.name):
        if key in domain:
            lo, hi = domain[key]
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
    """mpmath callables for each expression; evalf fallback where lambdify cannot print.

    Expressions made of numbers, symbols, +, *, powers and elementary
    functions are evaluated by walking the tree (:func:`_tree_callable`: no
    printing, shared subtrees once); anything else goes through
    ``lambdify(..., "mpmath")``.
    """
    fns = []
    for e in exprs:
        f = _tree_callable(e, syms)
        if f is None:
            try:
                f = sp.lambdify(syms, e, modules="mpmath")
            except (TypeError, NameError, SyntaxError, KeyError, RecursionError):
                f = None
        fns.append((f, e))
    return fns


_MP_FUNCS = {
    sp.sin: mpmath.sin, sp.cos: mpmath.cos, sp.tan: mpmath.tan, sp.cot: mpmath.cot,
    sp.sec: mpmath.sec, sp.csc: mpmath.csc, sp.exp: mpmath.exp, sp.sinh: mpmath.sinh,
    sp.cosh: mpmath.cosh, sp.tanh: mpmath.tanh, sp.asin: mpmath.asin, sp.acos: mpmath.acos,
    sp.atan: mpmath.atan, sp.asinh: mpmath.asinh, sp.acosh: mpmath.acosh,
    sp.atanh: mpmath.atanh, sp.Abs: abs, sp.re: mpmath.re, sp.im: mpmath.im,
    sp.conjugate: mpmath.conj,
}


def _tree_callable(e: sp.Basic, syms: list[sp.Symbol], max_depth: int = 200):
    """A point -> value function walking ``e`` (None if ``e`` has other node types)."""
    stack = [(e, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return None
        if node.is_Symbol or node.is_Integer or node.is_Rational or node in (sp.pi, sp.E, sp.I):
            continue
        if isinstance(node, (sp.Add, sp.Mul, sp.Pow)) or (
                type(node) in _MP_FUNCS and len(node.args) == 1) or (
                type(node) is sp.log and len(node.args) == 1):
            stack.extend((a, depth + 1) for a in node.args)
            continue
        return None
    index = {sym: k for k, sym in enumerate(syms)}

    def value(node, point, memo):
        v = memo.get(node)
        if v is not None:
            return v
        if node.is_Symbol:
            v = point[index[node]]
        elif node.is_Integer:
            v = mpmath.mpf(int(node))
        elif node.is_Rational:
            v = mpmath.mpf(int(node.p)) / int(node.q)
        elif node is sp.pi:
            v = +mpmath.pi
        elif node is sp.E:
            v = mpmath.e + 0
        elif node is sp.I:
            v = mpmath.mpc(0, 1)
        elif node.is_Add:
            v = mpmath.fsum(value(a, point, memo) for a in node.args)
        elif node.is_Mul:
            v = mpmath.fprod(value(a, point, memo) for a in node.args)
        elif node.is_Pow:
            b, x = node.args
            bv = value(b, point, memo)
            if x.is_Integer:
                v = bv ** int(x)
            elif x == sp.S.Half:
                v = mpmath.sqrt(bv)
            elif x == -sp.S.Half:
                v = 1 / mpmath.sqrt(bv)
            elif x.is_Rational:
                v = mpmath.root(bv, int(x.q)) ** int(x.p)
            else:
                v = mpmath.power(bv, value(x, point, memo))
        elif type(node) is sp.log:
            v = mpmath.log(value(node.args[0], point, memo))
        else:
            v = _MP_FUNCS[type(node)](value(node.args[0], point, memo))
        memo[node] = v
        return v

    return lambda *point: value(e, point, {})


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
          prove_seconds: float = 10.0, max_tries: int | None = None,
          budget: Budget | None = None) -> Verdict:
    """Decide ``lhs == rhs``: a proof, else a 50-digit numeric test, else a counterexample.

    Parameters
    ----------
    lhs, rhs : str or sympy object
        Expressions, ``Eq`` objects (compared as ``lhs - rhs``; two equations
        also match up to a constant factor), matrices (elementwise) or tuples.
        Strings are parsed by :func:`parse` (decimals exact); Python floats
        are taken as the decimal they print.
    assumptions : iterable of str or mapping, optional
        ``["beta_x>0", "0<mu_x<pi"]`` (see :func:`parse_assumptions`);
        symbols of that name in ``lhs``/``rhs`` get these assumptions.
    domain : mapping, optional
        Symbol (or name) -> ``(lo, hi)`` sampling interval for the numeric test.
    points : int
        Points to compare (default 24; at most ``budget.max_points``).
    dps : int
        Significant digits of the numeric test (default 50; at most
        ``budget.max_dps``).
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
    budget : Budget, optional
        Time and size limits of the whole call (default :class:`Budget` ``()``:
        5 s). When the time runs out the verdict is ``undecided within the
        budget`` -- or the numeric verdict already reached, if the proof was
        what ran out of time.

    Returns
    -------
    Verdict

    Raises
    ------
    coupled_beam.errors.InputError
        Unparsable text, an unreadable assumption, a value that is no
        expression (``None``), or input beyond the budget's size limits.

    Examples
    --------
    >>> equal("polylog(2, x) + polylog(2, 1 - x)",
    ...       "pi**2/6 - log(x)*log(1 - x)", domain={"x": (0, 1)}).status
    'numerically equal'
    >>> v = equal("sin(2*x)", "2*sin(x)*cos(x) + 10**-30")
    >>> v.status, sorted(v.counterexample)
    ('different', ['x'])
    >>> equal("x/10", "0.1*x").status
    'proved'
    """
    budget = DEFAULT_BUDGET if budget is None else budget
    if not isinstance(budget, Budget):
        raise InputError(f"budget must be a derivations.verify.Budget, got {type(budget).__name__}",
                         field="budget", value=repr(budget))
    points = _count("points", points, 1, budget.max_points, "--points")
    dps = _count("dps", dps, 5, budget.max_dps, "--dps")
    if max_tries is not None:
        max_tries = _count("max_tries", max_tries, 1, 100 * budget.max_points, "max_tries")
    clock = _Clock(budget.seconds)
    try:
        with _time_limit(clock):
            return _equal(lhs, rhs, assumptions, domain, points=points, dps=dps, seed=seed,
                          prove=prove, max_ops=max_ops, prove_seconds=prove_seconds,
                          max_tries=max_tries, budget=budget, clock=clock)
    except _OutOfBudget as exc:
        return _out_of_budget(clock, str(exc.args[0]) if exc.args else clock.phase, dps)
    except InputError:
        raise
    except (TypeError, ValueError, AttributeError, NotImplementedError, IndexError, KeyError,
            ArithmeticError, sp.SympifyError) as exc:
        # sympy itself failed on this input (not a verdict either way): say so
        return Verdict("undecided", method="error", dps=dps,
                       detail=f"sympy failed while {clock.phase}: {type(exc).__name__}: "
                              f"{_clip_text(str(exc), 160)}")
    except RecursionError:
        raise InputError(f"sympy hit its recursion limit while {clock.phase}: the expression "
                         "is too large or too deeply nested; split it into smaller steps",
                         field="max_size", value="recursion") from None
    except MemoryError:
        raise InputError("out of memory while comparing: ask for a smaller expression, "
                         "fewer points or fewer digits", field="memory", value="MemoryError") from None


def _count(name: str, value, lo: int, hi: int, flag: str) -> int:
    """An integer option within [lo, hi], else InputError naming the value and the limit."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer, got {value!r}", field=name, value=value)
    if not lo <= value <= hi:
        raise InputError(f"{flag} {value} is outside [{lo}, {hi}] (the budget's limit); "
                         f"ask for at most {hi}", field=name, value=value)
    return value


def _out_of_budget(clock: _Clock, phase: str, dps: int, num: "Verdict | None" = None) -> "Verdict":
    done = f"; {num.points} points agreed before that" if num is not None and num.points else ""
    return Verdict("undecided", method="budget", dps=dps,
                   points=num.points if num is not None else 0,
                   detail=f"undecided within the budget: {clock.seconds:g} s ran out while "
                          f"{phase}{done}; raise it with --seconds or Budget(seconds=...)")


def _equal(lhs, rhs, assumptions, domain, *, points, dps, seed, prove, max_ops, prove_seconds,
           max_tries, budget, clock) -> Verdict:
    syms_by_name, dom_from_text = parse_assumptions(assumptions)
    dom = dict(dom_from_text)
    for k, v in (domain or {}).items():
        name = k.name if isinstance(k, sp.Symbol) else str(k)
        if not (isinstance(v, (tuple, list)) and len(v) == 2):
            raise InputError(f"domain of {name}: need (low, high), got {v!r}", field="domain",
                             value=repr(v))
        lo, hi = (_number(b, f"domain of {name}") for b in v)
        if not lo < hi:
            raise InputError(f"domain of {name}: empty interval ({lo}, {hi})", field="domain",
                             value=repr(v))
        dom[name] = (lo, hi)
    a, b = (parse(x, syms_by_name, budget) if isinstance(x, str) else _to_sympy(x, side, budget)
            for x, side in ((lhs, "lhs"), (rhs, "rhs")))
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
    general = bool(set().union(*(d.free_symbols for d in ra + rb))) if ra else False
    kw = dict(domain=dom, points=points, dps=dps, seed=seed, max_tries=max_tries, clock=clock)
    # a cheap numeric look first (3 points): it decides "different" without costly
    # rewrites; the full test runs only when no proof is found
    clock.phase = "evaluating at random points"
    num = _numeric(ra, rb, labels, **{**kw, "points": min(points, 3)})
    if num.status != "different" and not prove and points > 3:
        num = _numeric(ra, rb, labels, **kw)
    if num.status == "different" and both_eq:
        prop = _proportional(ra, rb, **kw)
        if prop is not None:
            return prop
    if num.status == "different":
        return num
    if prove:
        clock.phase = "trying a symbolic proof"
        try:
            if any(d.has(sp.Integral, sp.Sum, sp.Product) for d in diffs):
                diffs = [d.doit() for d in diffs]
            how = _prove_zero(diffs, max_ops, min(prove_seconds, max(clock.left(), 0.0)), clock)
        except _OutOfBudget:
            how = None
            if num.status != "numerically equal":
                return _out_of_budget(clock, clock.phase, dps, num)
        if how is not None:
            return Verdict("proved", method=how, dps=dps, general=general)
        if points > 3:
            clock.phase = "evaluating at random points"
            num = _numeric(ra, rb, labels, **kw)
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


def _rebind(x, syms_by_name):
    if isinstance(x, (tuple, list)):
        return type(x)(_rebind(y, syms_by_name) for y in x)
    reps = {s: syms_by_name[s.name] for s in x.free_symbols
            if isinstance(s, sp.Symbol) and s.name in syms_by_name}
    return x.xreplace(reps)


def _symbol_order(sym: sp.Symbol) -> tuple:
    """Sort key: by name, plain symbols before frozen functions (reproducible in any process)."""
    return (sym.name, isinstance(sym, sp.Dummy), str(sym.assumptions0))


def _numeric(ra, rb, labels, *, domain, points, dps, seed, max_tries,
             clock: _Clock | None = None) -> Verdict:
    syms = sorted(set().union(*(e.free_symbols for e in ra + rb)), key=_symbol_order)
    fa, fb = _compile(ra, syms), _compile(rb, syms)
    rng = random.Random(seed)
    done = skipped = cplx = 0
    tries = max_tries or 10 * points
    while done < points and done + skipped < tries:
        if clock is not None:
            try:
                clock.check()
            except _OutOfBudget:
                return _out_of_budget(clock, clock.phase, dps,
                                      Verdict("undecided", points=done, dps=dps))
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
    clock = kw.get("clock")
    for x, y in zip(ra, rb):
        if clock is not None:
            clock.check()
        syms = sorted((x / y).free_symbols, key=_symbol_order)
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

