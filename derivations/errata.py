"""The paper, equation by equation: printed form against derived form.

Every section module of :data:`derivations.registry.SECTION_MODULES`
publishes ``equation_checks()``: a list of
:class:`~derivations.registry.Check`, each holding the printed form (typed
once, misprints included) and the form sympy derives. This module collects
them, **decides the verdict itself** with :func:`derivations.verify.equal`
and renders the list as a text table, JSON or a LaTeX table
(``coupled-beam verify``).

==============  ==========================================================
status          meaning
==============  ==========================================================
``ok``          printed == derived: proved, or equal at 50 digits at
                random points of the domain
``erratum``     printed != derived: ``verify.equal`` found a point where
                they differ (the row carries the point and both values)
``undecided``   neither (e.g. no point of the domain where both sides are
                defined); reported, never counted as ok
``error``       a section module failed to import or build its checks
==============  ==========================================================

Examples
--------
>>> import sympy as sp
>>> from derivations.registry import Check
>>> x = sp.Symbol("x", real=True)
>>> rows = verify_checks([Check("(1)", "§1", x * x - x * x, x**2, "a zero term"),
...                       Check("(2)", "§1", sp.sin(2 * x), 2 * sp.sin(x) * sp.cos(x), "")])
>>> [row.status for row in rows]
['erratum', 'ok']

References
----------
LNF-64/55 (C. Bernardini, C. Pellegrini, 1964), all sections.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

import sympy as sp

from derivations.registry import SECTION_MODULES, Check
from derivations.verify import Verdict, equal

__all__ = ["Row", "collect_checks", "missing_modules", "verify_checks", "verify_paper",
           "to_text", "to_json", "to_latex"]


@dataclass(frozen=True)
class Row:
    """One line of the errata table.

    Attributes
    ----------
    check : Check
        The printed and derived forms, as the section module gives them.
    verdict : Verdict or None
        What :func:`derivations.verify.equal` decided (None for ``error``).
    module : str
        The section module that published the check.
    error : str
        For ``status == "error"``: what went wrong.
    """

    check: Check
    verdict: Verdict | None
    module: str = ""
    error: str = ""

    @property
    def status(self) -> str:
        """``ok``, ``erratum``, ``undecided`` or ``error`` (decided, never typed in)."""
        if self.verdict is None:
            return "error"
        if self.verdict:
            return "ok"
        return "erratum" if self.verdict.status == "different" else "undecided"

    def to_dict(self) -> dict:
        """JSON-ready: equation, section, status, printed, derived, note, verdict, ..."""
        c = self.check
        return {
            "equation": c.equation,
            "section": c.section,
            "status": self.status,
            "printed": _sstr(c.printed),
            "derived": _sstr(c.derived),
            "note": c.note,
            "verdict": str(self.verdict) if self.verdict is not None else self.error,
            "verdict_detail": self.verdict.to_dict() if self.verdict is not None else None,
            "module": self.module,
        }


def _sstr(obj) -> str:
    if isinstance(obj, (tuple, list)):
        return "(" + ", ".join(_sstr(o) for o in obj) + ("," if len(obj) == 1 else "") + ")"
    return sp.sstr(obj)


def missing_modules(modules: list[str] | None = None) -> list[str]:
    """Section modules of the registry that cannot be imported (yet).

    Examples
    --------
    >>> missing_modules(["derivations.no_such_section"])
    ['derivations.no_such_section']
    """
    out = []
    for name in modules or SECTION_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            out.append(name)
    return out


def collect_checks(modules: list[str] | None = None) -> list[tuple[str, Check | None, str]]:
    """``(module, check, error)`` for every check of every existing section module.

    A module that does not exist yet is skipped (see :func:`missing_modules`);
    one that fails while building its checks gives one ``(module, None,
    message)`` entry, so a single broken section cannot hide the others.

    Examples
    --------
    >>> collect_checks(["derivations.no_such_section"])
    []
    """
    out: list[tuple[str, Check | None, str]] = []
    for name in modules or SECTION_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            out.append((name, None, f"import failed: {exc}"))
            continue
        except Exception as exc:  # noqa: BLE001 -- reported as an 'error' row, not swallowed
            out.append((name, None, f"import failed: {type(exc).__name__}: {exc}"))
            continue
        if not hasattr(mod, "equation_checks"):
            continue
        try:
            checks = list(mod.equation_checks())
        except Exception as exc:  # noqa: BLE001 -- reported as an 'error' row
            out.append((name, None, f"equation_checks() failed: {type(exc).__name__}: {exc}"))
            continue
        out.extend((name, c, "") for c in checks)
    return out


def _domain(check: Check) -> dict:
    """Sampling intervals from ``Check.assumptions`` ({symbol: (lo, hi)})."""
    return {k: v for k, v in (check.assumptions or {}).items()
            if isinstance(v, (tuple, list)) and len(v) == 2}


def verify_checks(checks: list[Check], module: str = "", **equal_kw) -> list[Row]:
    """Decide ``ok`` / ``erratum`` for each check with :func:`derivations.verify.equal`.

    Parameters
    ----------
    checks : list of Check
    module : str
        Recorded in each row.
    **equal_kw
        Passed to :func:`derivations.verify.equal` (``points``, ``dps``, ...).

    Returns
    -------
    list of Row
    """
    return [Row(c, equal(c.printed, c.derived, domain=_domain(c), **equal_kw), module)
            for c in checks]


def verify_paper(modules: list[str] | None = None, section: str | None = None,
                 **equal_kw) -> list[Row]:
    """Every check of every section module, with its verdict, in the paper's order.

    Parameters
    ----------
    modules : list of str, optional
        Default :data:`derivations.registry.SECTION_MODULES`.
    section : str, optional
        Keep only checks of this section (``"§5"``, ``"5"``, ``"appendix"``).
    **equal_kw
        Passed to :func:`derivations.verify.equal`.

    Returns
    -------
    list of Row
    """
    want = None if section is None else section.lstrip("§").lower()
    rows = []
    for name, check, err in collect_checks(modules):
        if check is None:
            rows.append(Row(Check(f"<{name.rsplit('.', 1)[-1]}>", "?", sp.nan, sp.nan, err),
                            None, name, err))
            continue
        if want is not None and check.section.lstrip("§").lower() != want:
            continue
        rows.extend(verify_checks([check], name, **equal_kw))
    return rows


# ---------------------------------------------------------------- rendering
def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def to_text(rows: list[Row], verbose: bool = False) -> str:
    """A plain-text table: equation, section, status, verdict, note.

    Examples
    --------
    >>> import sympy as sp
    >>> from derivations.registry import Check
    >>> print(to_text(verify_checks([Check("(9)", "§4", sp.Integer(1), sp.Integer(1), "fine")])))
    equation  section  status  verdict  note
    --------  -------  ------  -------  ----
    (9)       §4       ok      proved   fine
    <BLANKLINE>
    1 checks: 1 ok, 0 erratum
    """
    head = ("equation", "section", "status", "verdict", "note")
    body = []
    for r in rows:
        verdict = r.verdict.summary() if r.verdict is not None else r.error
        body.append((r.check.equation, r.check.section, r.status, _clip(verdict, 48),
                     r.check.note))
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(head[:-1])]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head[:-1], widths)) + "  " + head[-1]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(head[-1]))
    for b, r in zip(body, rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(b[:-1], widths)) + "  " + b[-1])
        if verbose:
            lines.append(f"    printed: {_sstr(r.check.printed)}")
            lines.append(f"    derived: {_sstr(r.check.derived)}")
            if r.verdict is not None and r.status != "ok":
                lines.append(f"    verdict: {r.verdict}")
    counts = {s: sum(r.status == s for r in rows) for s in ("ok", "erratum", "undecided", "error")}
    tail = f"{len(rows)} checks: {counts['ok']} ok, {counts['erratum']} erratum"
    tail += "".join(f", {counts[s]} {s}" for s in ("undecided", "error") if counts[s])
    return "\n".join(lines) + "\n\n" + tail


def to_json(rows: list[Row]) -> list[dict]:
    """A list of dicts with at least equation, section, status, printed, derived, note."""
    return [r.to_dict() for r in rows]


_LATEX_TEXT = str.maketrans({
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
    "<": r"\textless{}", ">": r"\textgreater{}",
})

_UNICODE_MATH = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon",
    "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu",
    "ν": r"\nu", "ξ": r"\xi", "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau",
    "φ": r"\phi", "ψ": r"\psi", "ω": r"\omega", "Δ": r"\Delta", "Φ": r"\Phi",
    "Σ": r"\Sigma", "Ψ": r"\Psi", "Ω": r"\Omega", "±": r"\pm", "∓": r"\mp",
    "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx", "→": r"\to",
    "·": r"\cdot", "×": r"\times", "‖": r"\|", "∂": r"\partial", "√": r"\surd",
    "∞": r"\infty", "∫": r"\int", "∑": r"\sum", "−": "-", "²": "^2", "³": "^3",
    "⁴": "^4", "⁻¹": "^{-1}", "ᵀ": "^T", "½": r"\tfrac12", "¼": r"\tfrac14",
    "ψ̂": r"\hat\psi", "φ̂": r"\hat\phi", "ŷ": r"\hat y",
    "μ̄": r"\bar\mu", "x̄": r"\bar x", "z̄": r"\bar z", "𝓡": r"\mathcal{R}", "𝓛": r"\mathcal{L}",
    "¹": "^1", "⁻": "^-", "∈": r"\in", "≃": r"\simeq", "∝": r"\propto", "‖": r"\|",
    "κ": r"\kappa", "χ": r"\chi", "Λ": r"\Lambda", "Γ": r"\Gamma", "Θ": r"\Theta",
}


def latex_text(text: str) -> str:
    """Escape plain text for LaTeX; Greek letters and math signs become math.

    Examples
    --------
    >>> latex_text("μ_xx ≥ 0 & 5%")
    '$\\\\mu$\\\\_xx $\\\\geq$ 0 \\\\& 5\\\\%'
    """
    parts: list[tuple[bool, str]] = []  # (is_math, text); adjacent math pieces merge
    i = 0
    while i < len(text):
        for width in (2, 1):
            chunk = text[i:i + width]
            if len(chunk) == width and chunk in _UNICODE_MATH:
                piece = (True, _UNICODE_MATH[chunk])
                i += width
                break
        else:
            ch = text[i]
            if ch == "§":
                piece = (False, r"\S{}")
            elif ord(ch) < 128:
                piece = (False, ch.translate(_LATEX_TEXT))
            else:
                piece = (False, r"\,?\,")  # an unmapped symbol, visibly marked
            i += 1
        if parts and parts[-1][0] == piece[0]:
            parts[-1] = (piece[0], parts[-1][1] + piece[1])
        else:
            parts.append(piece)
    return "".join(f"${_join_superscripts(t)}$" if math else t for math, t in parts)


def _join_superscripts(tex: str) -> str:
    """``^2^T`` -> ``^{2T}`` (two superscripts in a row are a LaTeX error)."""
    grp = r"\^(\{[^{}]*\}|[^{}\\])"
    pat = re.compile(grp + grp)
    while pat.search(tex):
        tex = pat.sub(lambda m: "^{" + m[1].strip("{}") + m[2].strip("{}") + "}", tex, count=1)
    return tex


def _latex_math(obj) -> str:
    if isinstance(obj, (tuple, list)):
        return r",\ ".join(_latex_math(o) for o in obj)
    try:
        return sp.latex(obj)
    except Exception:  # noqa: BLE001 -- a printer gap should not lose the row
        return r"\text{" + latex_text(sp.sstr(obj)) + "}"


def to_latex(rows: list[Row], max_math: int = 400) -> str:
    """A LaTeX ``longtable`` (packages: ``longtable``, ``amsmath``) of the errata list.

    Parameters
    ----------
    rows : list of Row
    max_math : int
        Printed/derived forms longer than this (LaTeX characters) are
        replaced by a pointer to ``coupled-beam verify --json``.

    Returns
    -------
    str
        A block to ``\\input`` in a document; it opens and closes its own
        environment.

    Examples
    --------
    >>> import sympy as sp
    >>> from derivations.registry import Check
    >>> tex = to_latex(verify_checks([Check("(9)", "§4", sp.Integer(1), sp.Integer(1), "")]))
    >>> tex.count(r"\\begin{longtable}") == tex.count(r"\\end{longtable}") == 1
    True
    """
    lines = [
        "% LNF-64/55 errata table, generated by `coupled-beam verify --latex`",
        "% needs \\usepackage{longtable,amsmath}",
        r"\begin{longtable}{@{}p{0.13\linewidth}p{0.07\linewidth}p{0.22\linewidth}"
        r"p{0.22\linewidth}p{0.07\linewidth}p{0.22\linewidth}@{}}",
        r"\hline",
        r"Equation & Section & Printed & Derived & Status & Note \\",
        r"\hline",
        r"\endhead",
    ]
    for r in rows:
        cells = [latex_text(r.check.equation), latex_text(r.check.section)]
        for form in (r.check.printed, r.check.derived):
            tex = _latex_math(form)
            cells.append(f"${tex}$" if len(tex) <= max_math
                         else r"\emph{(long; see \texttt{--json})}")
        status = r.status if r.status != "erratum" else r"\textbf{erratum}"
        cells.append(status)
        cells.append(latex_text(r.check.note))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{longtable}"]
    return "\n".join(lines) + "\n"
