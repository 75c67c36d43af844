"""Closed forms on demand: every section result by name, as text, LaTeX, Python, C or JSON.

Section modules publish ``results()`` (a list of
:class:`~derivations.registry.Result`); ``coupled-beam derive NAME`` prints
one of them. Output is simplified (a rewrite is kept only when it shortens
the expression, so the cancellation-free forms chosen by a section module
survive); the code formats eliminate common subexpressions with
:func:`sympy.cse` and print with sympy's printers (``PythonCodePrinter``,
``C99CodePrinter``), never by string pasting.

How results map to code
-----------------------
* a scalar -> ``return expr`` (C: ``double name(...)``);
* ``Eq(symbol, rhs)`` -> returns ``rhs``; any other ``Eq(a, b)`` -> returns the
  residual ``a - b`` (zero on the solution);
* a ``Matrix`` -> nested lists (C: ``out[row * cols + col]``, row-major);
* a tuple -> a tuple (C: ``out[k]``);
* an undefined function ``x(s)`` and its derivatives become arguments
  ``x``, ``dx_ds``, ``d2x_ds2``.

Examples
--------
>>> import sympy as sp
>>> from derivations.registry import Result
>>> x = sp.Symbol("x", real=True)
>>> res = Result("double-angle", 2 * sp.sin(x) * sp.cos(x), "sin 2x", "none")
>>> print(render(res, "text", simplify=False).splitlines()[-1])
double_angle = 2*sin(x)*cos(x)
>>> print(render(res, "text").splitlines()[-1])
double_angle = sin(2*x)
"""

from __future__ import annotations

import importlib
import json
from functools import lru_cache
import keyword
import re

import sympy as sp
from sympy.printing.c import C99CodePrinter
from sympy.printing.pycode import PythonCodePrinter

from coupled_beam.errors import InputError
from derivations.registry import SECTION_MODULES, Result

__all__ = ["FORMATS", "collect_results", "get_result", "lattice_result", "lattice_result_names", "render"]

FORMATS = ("text", "latex", "python", "c", "json")


def collect_results(modules: list[str] | None = None) -> dict[str, Result]:
    """Name -> Result over every existing section module (paper order).

    A name published by two modules is kept as ``module:name`` for both.

    Examples
    --------
    >>> collect_results(["derivations.no_such_section"])
    {}
    """
    return dict(_collect(tuple(modules or SECTION_MODULES)))


@lru_cache(maxsize=8)
def _collect(modules: tuple[str, ...]) -> dict[str, Result]:
    found: dict[str, list[tuple[str, Result]]] = {}
    for modname in modules:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        if not hasattr(mod, "results"):
            continue
        for res in mod.results():
            found.setdefault(res.name, []).append((modname.rsplit(".", 1)[-1], res))
    out: dict[str, Result] = {}
    for name, entries in found.items():
        if len(entries) == 1:
            out[name] = entries[0][1]
        else:
            for short, res in entries:
                out[f"{short}:{name}"] = res
    return out


def get_result(name: str, modules: list[str] | None = None) -> Result:
    """The Result called ``name``; an unknown name raises with the list of names.

    Raises
    ------
    coupled_beam.errors.InputError
        ``name`` is not published by any section module.

    Examples
    --------
    >>> get_result("no-such-result", [])
    Traceback (most recent call last):
    ...
    coupled_beam.errors.InputError: unknown result 'no-such-result'; available: (none)
    """
    results = collect_results(modules) if modules != [] else {}
    if name in results:
        return results[name]
    matches = [k for k in results if k.endswith(":" + name)]
    if len(matches) == 1:
        return results[matches[0]]
    names = ", ".join(sorted(results)) or "(none)"
    raise InputError(f"unknown result {name!r}; available: {names}", value=name)


def lattice_result(path, name: str, symbols=None, assume=(), at: int = 0,
                   budget: tuple[float, int] | None = None) -> Result:
    """Result ``name`` for the user's symbolic lattice file ``path`` (``derive --lattice``).

    See :mod:`derivations.symbolic_lattice.results` for the names and
    :mod:`derivations.symbolic_lattice.reader` for the file format; ``budget``
    is (seconds, max tree nodes) of the derivation.
    """
    from derivations.symbolic_lattice import Budget
    from derivations.symbolic_lattice.reader import read_symbolic_lattice
    from derivations.symbolic_lattice.results import lattice_result as build

    lim = Budget(*budget) if budget else None
    return build(read_symbolic_lattice(path, assumptions=assume, symbols=symbols, budget=lim), name, at)


def lattice_result_names() -> dict:
    """Name -> (description, reference) of the ``derive --lattice`` results."""
    from derivations.symbolic_lattice.results import RESULTS

    return {k: (d, r) for k, (d, r, _) in RESULTS.items()}


# ------------------------------------------------------------- preparation
def _shrink(e: sp.Basic, max_ops: int = 250) -> sp.Basic:
    """``simplify`` only when it makes the expression shorter (and it is not huge)."""
    if isinstance(e, sp.Equality):
        return sp.Eq(_shrink(e.lhs, max_ops), _shrink(e.rhs, max_ops), evaluate=False)
    if not isinstance(e, sp.Expr) or e.is_Atom or sp.count_ops(e) > max_ops:
        return e
    s = sp.simplify(e)
    return s if sp.count_ops(s) < sp.count_ops(e) else e


def _map(obj, f):
    if isinstance(obj, sp.MatrixBase):
        return obj.applyfunc(f)
    if isinstance(obj, (tuple, list)):
        return tuple(_map(o, f) for o in obj)
    return f(obj)


def simplified(expr, max_ops: int = 250):
    """Each element simplified when that shortens it.

    Examples
    --------
    >>> x = sp.Symbol("x")
    >>> simplified((sp.sin(x)**2 + sp.cos(x)**2, x))
    (1, x)
    """
    return _map(expr, lambda e: _shrink(sp.sympify(e), max_ops))


def _freeze(expr):
    """Undefined functions f(s) and their derivatives -> plain symbols f, df_ds, d2f_ds2."""
    atoms: set = set()
    _map(expr, lambda e: atoms.update(sp.sympify(e).atoms(sp.Derivative)) or e)
    reps = {}
    for d in atoms:
        if isinstance(d.expr, sp.core.function.AppliedUndef) and len(d.variables) >= 1:
            var = d.variables[0]
            order = len(d.variables)
            tag = "" if order == 1 else str(order)
            reps[d] = sp.Symbol(f"d{tag}{d.expr.func}_d{var}{tag}", real=True)
    expr = _map(expr, lambda e: sp.sympify(e).xreplace(reps))
    funcs: set = set()
    _map(expr, lambda e: funcs.update(sp.sympify(e).atoms(sp.core.function.AppliedUndef)) or e)
    reps2 = {f: sp.Symbol(str(f.func), real=True) for f in funcs}
    return _map(expr, lambda e: sp.sympify(e).xreplace(reps2))


def _as_value(e):
    """What a code format returns for one element (Eq -> rhs or residual)."""
    if isinstance(e, sp.Equality):
        return e.rhs if e.lhs.is_Symbol else e.lhs - e.rhs
    return e


def _flatten(expr) -> tuple[list[sp.Expr], object]:
    """Scalars in order, and a layout to rebuild the structure."""
    if isinstance(expr, sp.MatrixBase):
        return [_as_value(v) for v in expr], ("matrix", expr.rows, expr.cols)
    if isinstance(expr, (tuple, list)):
        flat, layout = [], []
        for o in expr:
            f, lay = _flatten(o)
            layout.append((len(f), lay))
            flat += f
        return flat, ("tuple", layout)
    return [_as_value(sp.sympify(expr))], ("scalar",)


def _args(res: Result, flat: list[sp.Expr]) -> list[sp.Symbol]:
    free = set().union(*(e.free_symbols for e in flat)) if flat else set()
    if res.args:
        named = [a for a in res.args if a in free or a.name in {s.name for s in free}]
        rest = sorted((s for s in free if s.name not in {a.name for a in res.args}),
                      key=lambda s: s.name)
        return named + rest
    return sorted(free, key=lambda s: s.name)


def _ident(name: str) -> str:
    out = re.sub(r"\W", "_", name)
    if out[0].isdigit() or keyword.iskeyword(out):
        out = "r_" + out
    return out


# ------------------------------------------------------------- printers
def _require_code_form(res: Result, flat: list, lang: str) -> None:
    """Refuse what a scalar code printer cannot express faithfully."""
    why = None
    if any(isinstance(e, sp.MatrixExpr) or e.has(sp.MatrixSymbol) for e in flat):
        why = "a symbolic matrix expression (no explicit elements)"
    elif any(e.has(sp.Indexed, sp.IndexedBase, sp.Idx) for e in flat):
        why = "an index formula (symbolic subscripts)"
    elif any(e.has(sp.Sum, sp.Product, sp.Integral, sp.Derivative) for e in flat):
        why = "an unevaluated sum, integral or derivative"
    if why:
        raise InputError(f"result {res.name!r} is {why}; it has no {lang} form: use "
                         "--format text, latex or json", value=res.name)


def _python(res: Result, expr) -> str:
    flat, layout = _flatten(_freeze(expr))
    _require_code_form(res, flat, "Python")
    args = _args(res, flat)
    printer = PythonCodePrinter({"fully_qualified_modules": True, "standard": "python3"})
    reps, reduced = sp.cse(flat, symbols=sp.numbered_symbols("_x"), optimizations="basic")
    arglist = ", ".join(printer.doprint(a) for a in args)
    lines = ["import math", "", "", f"def {_ident(res.name)}({arglist}):",
             f'    """{res.description}', "", f"    Reference: {res.reference}.",
             f"    Generated by `coupled-beam derive {res.name} --format python`", '    """']
    for sym, e in reps:
        lines.append(f"    {printer.doprint(sym)} = {printer.doprint(e)}")
    vals = [printer.doprint(e) for e in reduced]
    lines.append(f"    return {_rebuild_py(vals, layout)}")
    src = "\n".join(lines) + "\n"
    if "Not supported" in src or not all(a.isidentifier() for a in arglist.split(", ") if a):
        raise InputError(f"result {res.name!r} has no Python form (printer gap)", value=res.name)
    compile(src, f"<derive {res.name}>", "exec")  # a SyntaxError here is a bug, not user input
    return src


def _rebuild_py(vals: list[str], layout) -> str:
    kind = layout[0]
    if kind == "scalar":
        return vals[0]
    if kind == "matrix":
        _, rows, cols = layout
        return "[" + ", ".join("[" + ", ".join(vals[r * cols:(r + 1) * cols]) + "]"
                               for r in range(rows)) + "]"
    parts, k = [], 0
    for n, lay in layout[1]:
        parts.append(_rebuild_py(vals[k:k + n], lay))
        k += n
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _c(res: Result, expr) -> str:
    flat, layout = _flatten(_freeze(expr))
    _require_code_form(res, flat, "C")
    if any(e.has(sp.I) for e in flat):
        raise InputError(f"result {res.name!r} is complex-valued; C output is real: use "
                         "--format python or text", value=res.name)
    args = _args(res, flat)
    printer = C99CodePrinter({"strict": False})
    reps, reduced = sp.cse(flat, symbols=sp.numbered_symbols("x_"), optimizations="basic")
    name = _ident(res.name)
    params = ", ".join(f"double {printer.doprint(a)}" for a in args)
    scalar = layout[0] == "scalar"
    sig = (f"double {name}({params or 'void'})" if scalar
           else f"void {name}({params + ', ' if params else ''}double *out)")
    where = "" if scalar else f" Writes {len(flat)} values to out[] ({_layout_doc(layout)})."
    lines = ["#include <math.h>", "",
             f"/* {res.description} ({res.reference}).{where}",
             f"   Generated by `coupled-beam derive {res.name} --format c`. */",
             sig + " {"]
    for sym, e in reps:
        lines.append(f"    const double {printer.doprint(sym)} = {printer.doprint(e)};")
    if scalar:
        lines.append(f"    return {printer.doprint(reduced[0])};")
    else:
        for k, e in enumerate(reduced):
            lines.append(f"    out[{k}] = {printer.doprint(e)};")
    lines.append("}")
    consts = sorted(set(re.findall(r"\bM_[A-Z0-9_]+\b", "\n".join(lines))))
    guards = []
    for c in consts:  # M_PI and friends are POSIX, not C99: define them when missing
        if c in _C_CONSTANTS:
            guards += [f"#ifndef {c}", f"#define {c} {_C_CONSTANTS[c]}", "#endif"]
    lines[1:1] = guards
    src = "\n".join(lines) + "\n"
    if printer._not_supported or "Not supported" in src:
        gaps = sorted(map(str, printer._not_supported))
        raise InputError(f"result {res.name!r} has no C form: {gaps}", value=res.name)
    return src


#: the POSIX <math.h> constants sympy's C printer may emit, to 21 digits
_C_CONSTANTS = {
    "M_E": "2.71828182845904523536", "M_LOG2E": "1.44269504088896340736",
    "M_LOG10E": "0.434294481903251827651", "M_LN2": "0.693147180559945309417",
    "M_LN10": "2.30258509299404568402", "M_PI": "3.14159265358979323846",
    "M_PI_2": "1.57079632679489661923", "M_PI_4": "0.785398163397448309616",
    "M_1_PI": "0.318309886183790671538", "M_2_PI": "0.636619772367581343076",
    "M_2_SQRTPI": "1.12837916709551257390", "M_SQRT2": "1.41421356237309504880",
    "M_SQRT1_2": "0.707106781186547524401",
}


def _layout_doc(layout) -> str:
    if layout[0] == "matrix":
        return f"{layout[1]}x{layout[2]} matrix, row-major"
    if layout[0] == "tuple":
        return "tuple elements in order" + ("; matrices row-major" if any(
            lay[0] == "matrix" for _, lay in layout[1]) else "")
    return "scalar"


def _text(res: Result, expr) -> str:
    head = f"# {res.name}: {res.description}\n# reference: {res.reference}\n"
    name = _ident(res.name)
    if isinstance(expr, tuple):
        body = "\n".join(f"{name}[{k}] = {sp.sstr(e)}" for k, e in enumerate(expr))
    else:
        body = f"{name} = {sp.sstr(expr)}"
    return head + body + "\n"


def _latex(res: Result, expr) -> str:
    items = expr if isinstance(expr, tuple) else (expr,)
    out = [f"% {res.name}: {res.description} ({res.reference})"]
    for e in items:
        out += [r"\begin{equation}", sp.latex(e), r"\end{equation}"]
    return "\n".join(out) + "\n"


def _json(res: Result, expr) -> str:
    flat, _ = _flatten(_freeze(expr))
    payload = {
        "name": res.name,
        "description": res.description,
        "reference": res.reference,
        "args": [str(a) for a in _args(res, flat)],
        "expr": [sp.sstr(e) for e in expr] if isinstance(expr, tuple) else sp.sstr(expr),
        "latex": ([sp.latex(e) for e in expr] if isinstance(expr, tuple) else sp.latex(expr)),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def render(res: Result, fmt: str = "text", simplify: bool = True) -> str:
    """One result in ``fmt`` (text, latex, python, c, json).

    Parameters
    ----------
    res : Result
    fmt : {"text", "latex", "python", "c", "json"}
    simplify : bool
        Simplify each element when that shortens it (default True).

    Returns
    -------
    str

    Raises
    ------
    coupled_beam.errors.InputError
        Unknown format, or a result that has no form in that language.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> print(render(Result("half-root", sp.sqrt(x) / 2, "half a root", "none"), "c"))
    #include <math.h>
    <BLANKLINE>
    /* half a root (none).
       Generated by `coupled-beam derive half-root --format c`. */
    double half_root(double x) {
        return (1.0/2.0)*sqrt(x);
    }
    <BLANKLINE>
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", value=fmt)
    expr = res.expr if not isinstance(res.expr, list) else tuple(res.expr)
    if simplify:
        expr = simplified(expr)
    return {"text": _text, "latex": _latex, "python": _python, "c": _c, "json": _json}[fmt](
        res, expr)
