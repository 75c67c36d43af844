"""Error messages of the symbolic lattice: each names the element, the field or symbol, and the fix."""

from __future__ import annotations

import sympy as sp

from coupled_beam.errors import InputError

__all__ = ["domain_error", "needs_thin", "assume_hint"]


def assume_hint(symbol: sp.Symbol, kind: str) -> str:
    """What to declare: ``'assume bx>0'`` for positive, ``'assume m real'`` for real."""
    name = symbol.name
    if kind == "positive":
        return f"'assume {name}>0'"
    if kind == "nonnegative":
        return f"'assume {name}>=0'"
    if kind.startswith("positive or negative"):
        return f"'assume {name}>0' or 'assume {name}<0'"
    return f"'assume {name} real' (or an interval, 'assume -1<{name}<1')"


def domain_error(el, field: str, value, kind: str) -> InputError:
    """InputError: ``field`` of element ``el`` is not known to be ``kind``; names the symbols to declare."""
    value = sp.sympify(value)
    syms = sorted(value.free_symbols, key=lambda s: s.name)
    where = el.label() if hasattr(el, "label") else str(el)
    if syms:
        bare = [s for s in syms if not s.assumptions0] or syms
        hints = " and ".join(assume_hint(s, kind) for s in bare)
        msg = (f"{where}: field {field} = {value} must be {kind} for the closed forms, but "
               f"symbol{'s' if len(bare) > 1 else ''} {', '.join(s.name for s in bare)} "
               f"{'have' if len(bare) > 1 else 'has'} no such declared domain: add {hints} "
               "(lattice file, --assume, or sympy.Symbol(..., positive=True) in Python)")
        return InputError(msg, element=where, field=field, symbol=bare[0].name, value=str(value))
    return InputError(f"{where}: field {field} = {value} must be {kind}", element=where,
                      field=field, value=str(value))


def needs_thin(el) -> InputError:
    """C± needs thin couplers: a thick coupled element is refused with the fix."""
    return InputError(f"{el.label()}: the first-order coupling coefficients C± are formed from thin "
                      "couplers; slice this thick coupled element into thin_skew / thin_solenoid kicks "
                      "with drifts between them", element=el.label())
