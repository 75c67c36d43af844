"""Print the derived closed forms into ``coupled_beam/_kernels.py``.

Each section module of :mod:`derivations` that has numeric kernels exposes
``kernel_specs() -> list[KernelSpec]``. This module collects them (in the
order of :data:`MODULES`), eliminates common subexpressions with
:func:`sympy.cse` and prints every kernel twice with sympy's printers:

- ``name(...)`` with :class:`sympy.printing.numpy.NumPyPrinter` (float64,
  broadcasting; NaN where a square root or arccos leaves its domain);
- ``name_mp(...)`` with :class:`sympy.printing.pycode.MpmathPrinter` (exact
  rationals, run under ``mpmath.workdps(n)`` for n digits).

Both are the *same* expression: there is no second hand-typed copy.

Regenerate with ``python -m derivations.codegen``; ``--check`` exits 1 when
the committed file differs from what the derivations give now.

Examples
--------
>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> spec = KernelSpec("half_sine", (x,), (sp.sin(x) / 2,), "sin(x)/2.", "none")
>>> print(render_kernel(spec).splitlines()[0])
def half_sine(x):
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import MpmathPrinter

#: section modules whose ``kernel_specs()`` feed ``_kernels.py``, in order
MODULES = [
    "derivations.equations_of_motion",
    "derivations.element_maps",
    "derivations.equilibrium",
    "derivations.distribution",
    "derivations.skew_quadrupole",
    "derivations.skew_equilibrium",
    "derivations.beam_spot",
    "derivations.orbit_expansion",
]

TARGET = Path(__file__).resolve().parent.parent / "coupled_beam" / "_kernels.py"

#: fused kernels: name -> (parts, doc). One printed function returns the parts' results
#: concatenated, in order: the Stumpff rows of the same arguments are evaluated once, and
#: each part is printed as in its own kernel (bit-identical values). Infrastructure, no
#: formula of its own: the expressions are the parts' (same arguments, same order).
FUSED = {
    "bend6_radiation": (("map6_bend", "damping6_bend", "noise6_bend"),
                        "map6_bend (36), damping6_bend (36) and noise6_bend (21) of the same bends in one\n"
                        "call (93 entries; their docstrings give the conventions): a radiating ring's\n"
                        "distinct bends need all three, and they share their Stumpff rows."),
}


@dataclass(frozen=True)
class KernelSpec:
    """One generated kernel.

    Parameters
    ----------
    name : str
        Python name in ``_kernels.py`` (the mpmath twin gets ``_mp``).
    args : tuple of sympy.Symbol
        Arguments, in order.
    exprs : tuple of sympy.Expr
        The results; the kernel returns a tuple of the same length.
    doc : str
        One-paragraph description (units, conventions).
    reference : str
        Where it comes from, e.g. ``"LNF-64/55 §5"``.
    block : int
        0: print one function. > 0: the printed expression becomes
        ``_name_block`` and ``name(..., out=None)`` evaluates it through
        :data:`BLOCKWISE` in cache-sized blocks of this many points (all
        temporaries stay in cache; same float64 operations per point, so the
        results are bit-identical), writing into ``out`` (a tuple of float64
        arrays of the broadcast shape) when given.
    numpy_exprs : tuple of sympy.Expr, optional
        The same results in the form the numpy kernel evaluates, when it differs
        from the exact one the mpmath twin prints (the Stumpff helpers: series
        below a threshold and closed forms above, against the exact 1F2); CSE then
        sees the branches' shared pieces.
    parts : tuple of tuple of sympy.Expr, optional
        A fused kernel (:data:`FUSED`): ``exprs`` is the concatenation of these
        groups; the numpy kernel shares their Stumpff rows and eliminates common
        subexpressions per group, so each group prints to the operations of its
        own kernel (bit-identical results).
    """

    name: str
    args: tuple
    exprs: tuple
    doc: str
    reference: str
    block: int = 0
    numpy_exprs: tuple | None = None
    parts: tuple = ()


#: source of the blocked evaluator printed into ``_kernels.py`` when a spec has ``block > 0``
#: (infrastructure, no formula: the formulas are the printed ``_name_block`` functions)
BLOCKWISE = '''
def _blockwise(kernel, args, n_out, out, block):
    """Evaluate an element-wise kernel in blocks of `block` points (numpy.nditer, buffered).

    Small inputs without `out` take one direct call. Otherwise the broadcast
    inputs are walked in C order; each block goes through the same float64
    operations as one call would, into `out` (float64 arrays of the broadcast
    shape) or newly allocated arrays.
    """
    if out is None and numpy.broadcast(*args).size <= block:
        return kernel(*args)
    ops = [numpy.asarray(a, dtype=numpy.float64) for a in args]
    ops += list(out) if out is not None else [None] * n_out
    it = numpy.nditer(ops, flags=["external_loop", "buffered", "zerosize_ok"],
                      op_flags=[["readonly"]] * len(args) + [["writeonly", "allocate", "no_broadcast"]] * n_out,
                      op_dtypes=["float64"] * len(ops), buffersize=block)
    with it:
        for chunk in it:
            for o, r in zip(chunk[len(args):], kernel(*chunk[:len(args)])):
                o[...] = r
        return tuple(it.operands[len(args):])
'''


class _WherePrinter(NumPyPrinter):
    """NumPyPrinter with Piecewise as nested ``numpy.where`` instead of ``numpy.select``.

    Both evaluate every branch; ``select`` costs about 23 us per call on the small
    stacked arrays of a lattice (one entry per distinct element), nested ``where``
    about 5 us (measured here). (The Stumpff functions of the element maps no longer
    go through Piecewise: they are columns of ``stumpff_row``, about 12 us per row and
    7 rows per build of the 442-element bench ring, against 47 helper calls of 16-30 us
    before.)
    """

    def _print_Piecewise(self, expr):
        *pairs, (last_e, last_c) = expr.args
        out = self._print(last_e) if last_c == sp.true else (
            f"numpy.where({self._print(last_c)}, {self._print(last_e)}, numpy.nan)")
        for e, c in reversed(pairs):
            out = f"numpy.where({self._print(c)}, {self._print(e)}, {out})"
        return out


def _printer(kind: str):
    settings = {"fully_qualified_modules": True, "standard": "python3"}
    return _WherePrinter(settings) if kind == "numpy" else MpmathPrinter(settings)


def render_kernel(spec: KernelSpec, kind: str = "numpy") -> str:
    """Source of one kernel function, printed by sympy's printers.

    Parameters
    ----------
    spec : KernelSpec
        What to print.
    kind : {"numpy", "mpmath"}
        Which printer.

    Returns
    -------
    str
        A ``def`` block with docstring, CSE assignments and a tuple return.
    """
    printer = _printer(kind)
    numeric_form = kind == "numpy" and spec.numpy_exprs is not None
    exprs = spec.numpy_exprs if numeric_form else spec.exprs
    rows: list = []
    if kind == "numpy" and not numeric_form:
        # every c_n(x) a column of one stumpff_row(x, N) per argument x (evaluated once, first)
        from derivations.stumpff import row_symbols

        rows, groups = row_symbols(list(spec.parts) or [list(exprs)])
        replacements, reduced = [], []
        for prefix, group in zip("xyzuvw", groups):   # CSE per group (fused: per part)
            rep, red = sp.cse(group, symbols=sp.numbered_symbols(f"_{prefix}"),
                              optimizations="basic")
            replacements += rep
            reduced += red
    else:
        # the numeric forms are already in their evaluation order: no rewriting
        replacements, reduced = sp.cse(
            list(exprs), symbols=sp.numbered_symbols("_x"),
            optimizations=None if numeric_form else "basic"
        )
    name = spec.name if kind == "numpy" else f"{spec.name}_mp"
    arglist = ", ".join(str(a) for a in spec.args)
    doc = spec.doc.strip().replace("\n", "\n    ")
    flavour = (
        "numpy float64, broadcasting" if kind == "numpy" else "mpmath, run under mpmath.workdps(n)"
    )
    blocked = kind == "numpy" and spec.block > 0
    if blocked:
        flavour += (f"; evaluated in blocks of {spec.block} points, optional out=(arrays),"
                    f" expression in _{name}_block")
    lines = [f"def {name}({arglist}{', out=None' if blocked else ''}):"]
    lines.append(f'    """{doc}\n\n    Arguments: {arglist}.\n    Backend: {flavour}.\n'
                 f'    Reference: {spec.reference}.\n    """')
    if blocked:
        lines.append(f"    return _blockwise(_{name}_block, ({arglist},), {len(spec.exprs)}, out, {spec.block})")
        lines += ["", "", f"def _{name}_block({arglist}):",
                  f'    """Per-block expression of :func:`{name}` (printed by sympy)."""']
    if kind == "mpmath":
        lines.append("    import mpmath")
    for sym, x, N in rows:
        lines.append(f"    {sym} = stumpff_row({printer.doprint(x)}, {N})")
    for sym, expr in replacements:
        lines.append(f"    {sym} = {printer.doprint(expr)}")
    outs = ", ".join(printer.doprint(e) for e in reduced)
    lines.append(f"    return ({outs},)")
    return "\n".join(lines) + "\n"


def collect_specs(modules: list[str] | None = None) -> list[KernelSpec]:
    """All kernel specs of the section modules, in order."""
    specs: list[KernelSpec] = []
    for modname in modules or MODULES:
        specs.extend(importlib.import_module(modname).kernel_specs())
    by_name = {s.name: s for s in specs}
    for name, (parts, doc) in FUSED.items():
        if not all(p in by_name for p in parts):
            continue
        first = by_name[parts[0]]
        if any(by_name[p].args != first.args or by_name[p].block or by_name[p].numpy_exprs
               for p in parts):
            raise ValueError(f"fused kernel {name}: parts {parts} must share their arguments")
        specs.append(KernelSpec(name, first.args, sum((by_name[p].exprs for p in parts), ()),
                                doc, "; ".join(dict.fromkeys(by_name[p].reference for p in parts)),
                                parts=tuple(tuple(by_name[p].exprs) for p in parts)))
    names = [s.name for s in specs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"duplicate kernel names: {sorted(dup)}")
    return specs


def generate_source(modules: list[str] | None = None) -> str:
    """The full text of ``coupled_beam/_kernels.py``."""
    specs = collect_specs(modules)
    head = (
        '"""GENERATED by `python -m derivations.codegen` -- do not edit by hand.\n\n'
        f"Printed by sympy {sp.__version__} (NumPyPrinter, MpmathPrinter) from the\n"
        "derivations in: " + ", ".join(modules or MODULES) + ".\n"
        "Every ``name`` has an mpmath twin ``name_mp`` printing the same expression.\n"
        '"""\n\n'
        "import numpy\n\n"
        f"__all__ = {sorted([s.name for s in specs] + [s.name + '_mp' for s in specs] + ['stumpff_row'])!r}\n"
    )
    blocks = [head]
    if any(s.block > 0 for s in specs):
        blocks.append("\n" + BLOCKWISE)
    from derivations.stumpff import stumpff_row_source

    blocks.append("\n" + stumpff_row_source())
    for spec in specs:
        blocks.append("\n\n" + render_kernel(spec, "numpy"))
        blocks.append("\n\n" + render_kernel(spec, "mpmath"))
    return "".join(blocks)


def main(argv: list[str] | None = None) -> int:
    """Regenerate ``_kernels.py`` (or ``--check`` that it is up to date)."""
    parser = argparse.ArgumentParser(prog="python -m derivations.codegen")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = generate_source()
    if args.check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.name} is stale: run python -m derivations.codegen", file=sys.stderr)
            return 1
        print(f"{TARGET.name} is up to date")
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.name} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
