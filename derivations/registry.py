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
module). The verdict is never typed in: :mod:`derivations.errata` decides it
by proving (or refuting) ``printed == derived``:

``ok``           printed == derived
``misprint``     printed != derived, but the check's :class:`Reading` (one
                 glyph changed, in the paper or its transcription) == derived
``convention``   printed != derived, but the derived form re-expressed in a
                 named other convention (the :class:`Reading`) == printed
``erratum``      printed != derived and no reading repairs it

Adding a row
------------
Return it from the ``equation_checks()`` of a module listed in
:data:`SECTION_MODULES` (a section of the paper) or in
:data:`EXTRA_CHECK_MODULES` (anything else, e.g. a correction the paper does
not make). A result the paper does not print -- the project's own identity,
a correction beyond the paper's model -- is a ``Check(...,
printed_in_paper=False)``: ``printed`` is then the claimed form and
``derived`` an independent route; ``coupled-beam verify`` lists it in the
separate "beyond the paper" table (``--json``: ``"printed_in_paper":
false``)::

    Check("§2 synchrotron coupling", "§2", claimed, independent,
          "what it is, from where", printed_in_paper=False)

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
    "derivations.element_maps",
    "derivations.distribution",
    "derivations.equilibrium",
    "derivations.skew_quadrupole",
    "derivations.skew_equilibrium",
    "derivations.beam_spot",
    "derivations.synchrotron_coupling",   # beyond the paper (§2 b): the 6-D correction
    "derivations.orbit_expansion",        # beyond the paper: maps about the 6-D closed orbit
]

#: further modules whose ``equation_checks()`` ``coupled-beam verify`` collects
#: (rows beyond the paper that belong to no section module)
EXTRA_CHECK_MODULES: list[str] = []


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
class Reading:
    """How a printed form that differs from the derivation can still be right.

    Parameters
    ----------
    kind : {"misprint", "convention"}
        ``misprint``: one glyph of the printed form, in the paper or in its
        transcription, read otherwise. ``convention``: the printed form holds
        in another (named) convention than this toolkit's.
    printed_as : str
        The glyph as printed (``"ξ"``), or this toolkit's convention
        (``"x outward"``).
    read_as : str
        The reading that makes it right (``"ζ"``), or the other convention
        (``"x inward"``).
    form : sympy object
        For a misprint: the printed form with the glyph read as ``read_as``
        (compared with ``derived``). For a convention: the *derived* form
        re-expressed in the other convention (compared with ``printed``).
    source : str
        Where the glyph went wrong: ``"paper"``, ``"transcription"`` or
        ``"paper or transcription"`` (misprints); ``""`` for conventions.
    evidence : str
        Why this reading (context in the paper), one line.
    """

    kind: str
    printed_as: str
    read_as: str
    form: object
    source: str = ""
    evidence: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("misprint", "convention"):
            raise ValueError(f"Reading.kind must be 'misprint' or 'convention', got {self.kind!r}")


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
        The form as printed in the paper (misprints included); a tuple when
        the same issue recurs in several places.
    derived : sympy.Basic
        The form sympy derives; the corrected form when they differ.
    note : str
        One line: what was derived and, when they differ, what is wrong
        (the status itself is decided by :mod:`derivations.errata`).
    assumptions : dict
        Symbol -> domain hints for the numeric fallback of the checker
        (e.g. ``{beta_x: (0.1, 50)}``).
    reading : Reading, optional
        A misprint or convention that would make the printed form right;
        tested, never trusted.
    recurs : tuple of str
        Other places of the paper where the same issue recurs (the row
        checks them all: ``printed`` and ``derived`` are then tuples).
    printed_in_paper : bool
        False for results the paper does not print (the "beyond the paper"
        table).
    """

    equation: str
    section: str
    printed: object
    derived: object
    note: str
    assumptions: dict = field(default_factory=dict)
    reading: Reading | None = None
    recurs: tuple = ()
    printed_in_paper: bool = True
