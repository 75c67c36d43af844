"""What a section module of :mod:`derivations` publishes.

Every section module (``skew_quadrupole``, ``equations_of_motion``, ...) may
expose three functions, each collected by one consumer:

=====================  =========================  ==============================
function               returns                    collected by
=====================  =========================  ==============================
``kernel_specs()``     list of ``KernelSpec``     :mod:`derivations.codegen`
``results()``          list of :class:`Result`    ``coupled-beam derive``
``equation_checks()``  list of :class:`Check`     :mod:`derivations.errata`
=====================  =========================  ==============================

A :class:`Check` holds the paper's *printed* form (typed once, as printed,
misprints included) and the *derived* form (computed by sympy in the section
module). The verdict is never typed in: :mod:`derivations.errata` decides
``ok`` or ``erratum`` by proving (or refuting) ``printed == derived``.

Examples
--------
>>> import sympy as sp
>>> x = sp.Symbol("x")
>>> Result("square", x**2, "a square", "none").name
'square'
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: section modules, in the paper's order (consumers iterate over these)
SECTION_MODULES = [
    "derivations.equations_of_motion",
    "derivations.distribution",
    "derivations.equilibrium",
    "derivations.skew_quadrupole",
    "derivations.skew_equilibrium",
    "derivations.beam_spot",
]


@dataclass(frozen=True)
class Result:
    """A named closed form for ``coupled-beam derive NAME``.

    Parameters
    ----------
    name : str
        CLI name, kebab-case (``quartic``, ``eigentunes``, ``mode-damping``).
    expr : sympy.Basic
        An expression, an ``Eq``, a ``Matrix`` or a tuple of these.
    description : str
        One line: what it is, units, conventions.
    reference : str
        ``LNF-64/55 §5`` or ``eq. (10)``.
    args : tuple
        Symbols in the order code formats use (default: sorted free symbols).
    """

    name: str
    expr: object
    description: str
    reference: str
    args: tuple = ()


@dataclass(frozen=True)
class Check:
    """One printed equation of the paper against its derivation.

    Parameters
    ----------
    equation : str
        How a reader finds it: ``"(1)"``, ``"(8) [printed (3)]"``, ``"§5 quartic"``.
    section : str
        ``"§1"`` ... ``"§5"``, ``"appendix"``.
    printed : sympy.Basic
        The form as printed in the paper (misprints included).
    derived : sympy.Basic
        The form sympy derives; the corrected form when they differ.
    note : str
        One line: what was derived and, for an erratum, what is wrong.
    assumptions : dict
        Symbol -> domain hints for the numeric fallback of the checker
        (e.g. ``{beta_x: (0.1, 50)}``).
    """

    equation: str
    section: str
    printed: object
    derived: object
    note: str
    assumptions: dict = field(default_factory=dict)
