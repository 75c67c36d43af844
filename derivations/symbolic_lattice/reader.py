"""Symbolic lattice files: the project's text lattice format, where a value may be a symbol.

Same statements as :mod:`coupled_beam.lattice_file` (one per line, ``#``
comments, ``key=value`` fields, ``repeat N`` ... ``end``), plus:

* ``assume FACT, FACT, ...`` -- declared domains, as ``coupled-beam check --assume``:
  ``assume beta_x>0, 0<mu_x<pi, m real`` (an interval is also the range of the
  random points of the kernel checks);
* values are expressions in those symbols (``mu_x=2*pi*Q_x``, ``m=m1``; no spaces);
* element types ``drift L``, ``quadrupole L k1``, ``skew L M``, ``solenoid L H``,
  ``thin_skew m``, ``thin_quadrupole k1l``, ``thin_solenoid theta [focus]``,
  ``matrix m11 ... m44`` and the arc block
  ``arc mu_x=... beta_x=... alpha_x=... mu_z=... beta_z=... alpha_z=...``
  with optional ``d11_s0 d22_s0`` (damping), ``eta_x etap_x eta_z etap_z``
  (dispersion), ``r11 r12 r22 r33 r34 r44`` (noise), ``beta_x_out`` ... (exit Twiss);
  every element takes ``name=``.

A symbol used without an ``assume`` where the closed forms need a domain
(β > 0, real phases and strengths, the sign of a thick quadrupole's k1) is an
error naming the line, the field and the ``assume`` to add.

Examples
--------
>>> lat = parse_symbolic_lattice('''
... assume 0<mu<pi, m real
... arc mu_x=mu beta_x=10 alpha_x=0 mu_z=mu beta_z=5 alpha_z=0
... thin_skew m=m
... ''')
>>> [s.name for s in lat.symbols], len(lat)
(['mu', 'm'], 2)
"""

from __future__ import annotations

from pathlib import Path

import sympy as sp

from coupled_beam.errors import InputError, LatticeFileError, UnknownElementError
from derivations.symbolic_lattice import elements as el
from derivations.symbolic_lattice.lattice import SymbolicLattice

__all__ = ["ELEMENTS", "parse_symbolic_lattice", "read_symbolic_lattice"]

_ARC_FIELDS = ("mu_x", "beta_x", "alpha_x", "mu_z", "beta_z", "alpha_z")
_ARC_OPTIONAL = ("d11_s0", "d22_s0", "eta_x", "etap_x", "eta_z", "etap_z", "r11", "r12", "r22",
                 "r33", "r34", "r44", "beta_x_out", "alpha_x_out", "beta_z_out", "alpha_z_out")
_MATRIX_FIELDS = tuple(f"m{i}{j}" for i in range(1, 5) for j in range(1, 5))

#: type -> (class, required fields, optional fields)
ELEMENTS = {
    "drift": (el.Drift, ("L",), ()),
    "quadrupole": (el.Quadrupole, ("L", "k1"), ()),
    "skew": (el.SkewQuadrupole, ("L", "M"), ()),
    "solenoid": (el.Solenoid, ("L", "H"), ()),
    "thin_skew": (el.ThinSkewQuadrupole, ("m",), ()),
    "thin_quadrupole": (el.ThinQuadrupole, ("k1l",), ()),
    "thin_solenoid": (el.ThinSolenoid, ("theta",), ("focus",)),
    "arc": (el.Arc, _ARC_FIELDS, _ARC_OPTIONAL),
    "matrix": (el.Matrix, (), _MATRIX_FIELDS),
}


def _fields(tokens: list[str], where: str, lineno: int) -> dict:
    out = {}
    for tok in tokens:
        key, eq, value = tok.partition("=")
        if not eq or not key or not value:
            raise LatticeFileError(f"{where}: expected key=value, got {tok!r}", line=lineno, field=tok)
        if key in out:
            raise LatticeFileError(f"{where}: field {key!r} given twice", line=lineno, field=key)
        out[key] = value
    return out


def _value(text: str, symbols: dict, where: str, key: str, lineno: int) -> sp.Expr:
    from derivations.verify import parse

    try:
        v = parse(text, symbols)
    except InputError as exc:
        raise LatticeFileError(f"{where}: field {key}: {exc}", line=lineno, field=key) from None
    if not isinstance(v, sp.Expr) or v.has(sp.I) or v.has(sp.zoo, sp.nan, sp.oo):
        raise LatticeFileError(f"{where}: field {key} = {text!r} is not a real expression", line=lineno,
                               field=key)
    # decimals are exact (0.1 is 1/10, not the nearest binary float)
    v = v.xreplace({f: sp.Rational(str(f)) for f in v.atoms(sp.Float)})
    # an undeclared name is a plain symbol: the element says which domain it needs
    return v.xreplace({s: symbols.get(s.name, s) for s in v.free_symbols})


def _build(kind: str, fields: dict, symbols: dict, where: str, lineno: int) -> el.Element:
    if kind == "bend":
        raise UnknownElementError(f"{where}: 'bend' has no symbolic form here; give the arc it belongs to "
                                  "as an 'arc' block (Twiss parameters, dispersion, damping)", line=lineno,
                                  field="type", value=kind)
    if kind not in ELEMENTS:
        raise UnknownElementError(f"{where}: unknown element type {kind!r}; known: {', '.join(ELEMENTS)}",
                                  line=lineno, field="type", value=kind)
    cls, required, optional = ELEMENTS[kind]
    allowed = set(required) | set(optional) | {"name"}
    for key in fields:
        if key not in allowed:
            raise LatticeFileError(f"{where}: field {key!r} is not valid for {kind}; valid: "
                                   f"{', '.join(sorted(allowed))}", line=lineno, field=key)
    for key in required:
        if key not in fields:
            raise LatticeFileError(f"{where}: {kind} needs field {key!r}", line=lineno, field=key)
    kw = {k: _value(v, symbols, where, k, lineno) for k, v in fields.items() if k != "name"}
    name = fields.get("name", "")
    if kind == "matrix":
        entries = tuple(kw.get(f, sp.S(int(f[1] == f[2]))) for f in _MATRIX_FIELDS)
        return el.Matrix(entries, name=name, origin=where)
    return cls(**kw, name=name, origin=where)


def parse_symbolic_lattice(text: str, assumptions=(), symbols=None, domains: dict | None = None,
                           budget=None) -> SymbolicLattice:
    """A :class:`SymbolicLattice` from lattice text.

    Parameters
    ----------
    text : str
        The file content.
    assumptions : iterable of str
        More ``assume`` facts (e.g. from ``--assume``).
    symbols : sequence of str, optional
        The symbols, in argument order (``--symbols``); each must occur.
    domains : dict, optional
        Name -> (lo, hi) of the random check points (``assume`` intervals are used too).
    budget : Budget, optional

    Raises
    ------
    LatticeFileError, UnknownElementError
        Malformed line (``line``, ``field`` named).
    InputError
        A symbol without the domain a field needs (names the ``assume`` to add).
    """
    from derivations.verify import parse_assumptions

    facts: list[str] = list(assumptions)
    body: list[tuple[int, str]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.split()[0].lower() == "assume":
            facts += [f.strip() for f in line[len("assume"):].split(",") if f.strip()]
        else:
            body.append((lineno, line))
    syms, dom = parse_assumptions(facts)
    dom = {**dom, **(domains or {})}
    stack: list[tuple[int, list, int]] = []
    current: list[el.Element] = []
    for lineno, line in body:
        where = f"line {lineno}"
        tokens = line.replace(" =", "=").replace("= ", "=").split()
        head, rest = tokens[0].lower(), tokens[1:]
        if head == "repeat":
            if len(rest) != 1 or not rest[0].isdigit() or int(rest[0]) < 1:
                raise LatticeFileError(f"{where}: 'repeat N' needs a positive integer N", line=lineno,
                                       field="repeat")
            stack.append((int(rest[0]), current, lineno))
            current = []
        elif head == "end":
            if not stack:
                raise LatticeFileError(f"{where}: 'end' without 'repeat'", line=lineno, field="end")
            count, outer, _ = stack.pop()
            outer.extend(current * count)
            current = outer
        elif head == "ring":
            continue          # energy / p2 settings of the numeric engine: not used here
        else:
            current.append(_build(head, _fields(rest, where, lineno), syms, where, lineno))
    if stack:
        raise LatticeFileError(f"line {stack[-1][2]}: 'repeat' is never closed by 'end'",
                               line=stack[-1][2], field="repeat")
    if not current:
        raise LatticeFileError("the lattice has no elements", field="elements")
    order = None
    if symbols:
        found = {s.name: s for e in current for v in e.params().values() for s in v.free_symbols}
        order = []
        for n in symbols:
            if n not in found:
                raise InputError(f"--symbols names {n!r}, which the lattice does not use; used: "
                                 f"{', '.join(sorted(found)) or '(none)'}", symbol=n)
            order.append(found[n])
    return SymbolicLattice(current, symbols=order, domains=dom, budget=budget)


def read_symbolic_lattice(path, **kwargs) -> SymbolicLattice:
    """:func:`parse_symbolic_lattice` of a file (LatticeFileError names an unreadable path)."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LatticeFileError(f"cannot read lattice file {str(path)!r}: {exc.__class__.__name__}: "
                               f"{getattr(exc, 'strerror', None) or exc}", path=str(path)) from None
    return parse_symbolic_lattice(text, **kwargs)
