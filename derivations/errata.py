"""The paper, equation by equation: printed form against derived form.

Every section module of :data:`derivations.registry.SECTION_MODULES` (and of
:data:`~derivations.registry.EXTRA_CHECK_MODULES`) publishes
``equation_checks()``: a list of :class:`~derivations.registry.Check`, each
holding the printed form (typed once, misprints included) and the form sympy
derives. This module collects them, **decides the verdict itself** with
:func:`derivations.verify.equal` and renders the list as a text table, JSON
or a LaTeX table (``coupled-beam verify``).

Status of a row printed in the paper
------------------------------------
==============  ==========================================================
status          meaning (and the evidence the row carries)
==============  ==========================================================
``ok``          printed == derived: ``proved`` (a symbolic proof for every
                value of the free symbols), ``holds on an exact example``
                (exact arithmetic on one instance only) or ``numerically
                equal`` (50 digits at random points)
``misprint``    printed != derived (a counterexample), but one glyph read
                otherwise -- the row names the glyph, the reading and
                whether paper or transcription -- makes it == derived
``convention``  printed != derived (a counterexample), but the derived form
                re-expressed in a named other convention == printed
``erratum``     printed != derived and no reading repairs it: the printed
                equation is mathematically wrong
``undecided``   neither (e.g. no point of the domain where both sides are
                defined); reported, never counted as ok
``error``       a section module failed to import or build its checks
==============  ==========================================================

Results the paper does not print (``Check(printed_in_paper=False)``: the
project's own identities and corrections beyond the paper) form a separate
"beyond the paper" table; their status is ``ok``, ``fails``, ``undecided``
or ``error``.

Examples
--------
>>> import sympy as sp
>>> from derivations.registry import Check, Reading
>>> x, xi, zeta = sp.symbols("x xi zeta", real=True)
>>> rows = verify_checks([
...     Check("(1)", "§1", x * x - x * x, x**2, "a zero term"),
...     Check("(2)", "§1", sp.sin(2 * x), 2 * sp.sin(x) * sp.cos(x), ""),
...     Check("(6)", "§2", x + xi, x + zeta, "",
...           reading=Reading("misprint", "ξ", "ζ", x + zeta, "paper or transcription"))])
>>> [row.status for row in rows]
['erratum', 'ok', 'misprint']

References
----------
LNF-64/55 (C. Bernardini, C. Pellegrini, 1964), all sections.
"""

from __future__ import annotations

import importlib
import os
import pickle
import re
import select
import signal
import threading
import time
from dataclasses import dataclass

import sympy as sp

from derivations.registry import EXTRA_CHECK_MODULES, SECTION_MODULES, Check
from derivations.verify import Budget, Verdict, equal

__all__ = ["Row", "PAPER_STATUSES", "BEYOND_STATUSES", "collect_checks", "missing_modules",
           "verify_checks", "verify_paper", "counts", "to_text", "to_json", "to_latex"]

#: statuses of rows printed in the paper, in table order
PAPER_STATUSES = ("ok", "misprint", "convention", "erratum", "undecided", "error")
#: statuses of rows beyond the paper
BEYOND_STATUSES = ("ok", "fails", "undecided", "error")

#: the paper's own checks are trusted input: no size limit, a generous time limit
CHECK_BUDGET = Budget(seconds=60.0, max_size=None)


@dataclass(frozen=True)
class Row:
    """One line of the errata table.

    Attributes
    ----------
    check : Check
        The printed and derived forms, as the section module gives them.
    verdict : Verdict or None
        printed against derived, decided by :func:`derivations.verify.equal`
        (None for ``error``).
    module : str
        The section module that published the check.
    error : str
        For ``status == "error"``: what went wrong.
    reading_verdict : Verdict or None
        When printed != derived and the check offers a reading: the reading
        against its target (derived for a misprint, printed for a convention).
    """

    check: Check
    verdict: Verdict | None
    module: str = ""
    error: str = ""
    reading_verdict: Verdict | None = None

    @property
    def printed_in_paper(self) -> bool:
        """False for the "beyond the paper" table."""
        return bool(getattr(self.check, "printed_in_paper", True))

    @property
    def status(self) -> str:
        """One of :data:`PAPER_STATUSES` (or :data:`BEYOND_STATUSES`), decided, never typed in."""
        if self.verdict is None:
            return "error"
        if self.verdict:
            return "ok"
        if self.verdict.status != "different":
            return "undecided"
        if not self.printed_in_paper:
            return "fails"
        reading = getattr(self.check, "reading", None)
        if reading is not None and self.reading_verdict is not None and self.reading_verdict:
            return reading.kind
        return "erratum"

    @property
    def verdict_text(self) -> str:
        """The evidence in words: how ``ok`` was reached, or what differs and what repairs it."""
        if self.verdict is None:
            return self.error
        st = self.status
        if st == "ok":
            return _kind_of_ok(self.verdict, self._general())
        r = getattr(self.check, "reading", None)
        if st == "misprint":
            return (f"{_kind_of_ok(self.reading_verdict, self._general(), 'holds')} reading "
                    f"'{r.read_as}' for '{r.printed_as}' ({r.source}); as printed "
                    f"{self.verdict.summary()}")
        if st == "convention":
            return (f"{_kind_of_ok(self.reading_verdict, self._general(), 'holds')} with "
                    f"{r.read_as}; with {r.printed_as} {self.verdict.summary()}")
        text = self.verdict.summary()
        if st == "erratum" and r is not None and self.reading_verdict is not None:
            text += f"; reading '{r.read_as}' for '{r.printed_as}' also {self.reading_verdict.summary()}"
        return text

    def _general(self) -> bool:
        """The statement has variables although sympy reduced both forms to numbers.

        A check declares the variables of the statement through the sampling
        domains of ``Check.assumptions`` (``det L = 1`` for every m).
        """
        return bool(_domain(self.check))

    def to_dict(self) -> dict:
        """JSON-ready: equation, section, status, printed_in_paper, printed, derived, note, verdict, ..."""
        c = self.check
        r = getattr(c, "reading", None)
        return {
            "equation": c.equation,
            "section": c.section,
            "status": self.status,
            "printed_in_paper": self.printed_in_paper,
            "printed": _sstr(c.printed),
            "derived": _sstr(c.derived),
            "note": c.note,
            "recurs": list(getattr(c, "recurs", ()) or ()),
            "verdict": self.verdict_text,
            "verdict_detail": self.verdict.to_dict() if self.verdict is not None else None,
            "reading": None if r is None else {
                "kind": r.kind, "printed_as": r.printed_as, "read_as": r.read_as,
                "source": r.source, "evidence": r.evidence, "form": _sstr(r.form),
                "verdict": None if self.reading_verdict is None else self.reading_verdict.to_dict()},
            "module": self.module,
        }


def _kind_of_ok(v: Verdict | None, general: bool = False,
                exact: str = "holds on an exact example") -> str:
    """``proved`` only for a proof over free symbols; exact arithmetic on numbers is ``exact``."""
    if v is None:
        return "not tested"
    if v.status == "proved":
        return "proved" if (v.general or general) else exact
    return str(v) if v else v.summary()


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

    Default modules: :data:`~derivations.registry.SECTION_MODULES` then
    :data:`~derivations.registry.EXTRA_CHECK_MODULES`. A module that does
    not exist yet is skipped (see :func:`missing_modules`); one that fails
    while building its checks gives one ``(module, None, message)`` entry, so
    a single broken section cannot hide the others.

    Examples
    --------
    >>> collect_checks(["derivations.no_such_section"])
    []
    """
    out: list[tuple[str, Check | None, str]] = []
    for name in modules or (SECTION_MODULES + EXTRA_CHECK_MODULES):
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
    """Decide the status of each check with :func:`derivations.verify.equal`.

    printed is compared with derived; when they differ and the check offers a
    :class:`~derivations.registry.Reading`, the reading is compared with its
    target (derived for a misprint, printed for a convention).

    Parameters
    ----------
    checks : list of Check
    module : str
        Recorded in each row.
    **equal_kw
        Passed to :func:`derivations.verify.equal` (``points``, ``dps``,
        ``budget``, ...; default budget :data:`CHECK_BUDGET`).

    Returns
    -------
    list of Row
    """
    equal_kw.setdefault("budget", CHECK_BUDGET)
    rows = []
    for c in checks:
        dom = _domain(c)
        v = equal(c.printed, c.derived, domain=dom, **equal_kw)
        rv = None
        reading = getattr(c, "reading", None)
        if reading is not None and v.status == "different":
            target = c.derived if reading.kind == "misprint" else c.printed
            rv = equal(reading.form, target, domain=dom, **equal_kw)
        rows.append(Row(c, v, module, reading_verdict=rv))
    return rows


#: modules checked in a forked child while the parent checks the rest (two cores: the
#: sympy derivations of §3 and the appendix share their Gaussian lemmas; measured CPU
#: split about 2.6 s child, 3 s parent)
CHILD_MODULES = ("derivations.distribution", "derivations.beam_spot")


def verify_paper(modules: list[str] | None = None, section: str | None = None,
                 workers: int | None = None, **equal_kw) -> list[Row]:
    """Every check of every section module, with its verdict, in the paper's order.

    Parameters
    ----------
    modules : list of str, optional
        Default :data:`derivations.registry.SECTION_MODULES` and
        :data:`~derivations.registry.EXTRA_CHECK_MODULES`.
    section : str, optional
        Keep only checks of this section (``"§5"``, ``"5"``, ``"appendix"``).
    workers : int, optional
        2: the modules of :data:`CHILD_MODULES` are derived and checked in a
        forked child process meanwhile (the rows come back pickled); 1: all
        in this process. Default: 2 where ``os.fork`` exists and there are
        two or more CPUs. Any failure of the child falls back to 1.
    **equal_kw
        Passed to :func:`derivations.verify.equal`.

    Returns
    -------
    list of Row
        Rows printed in the paper and beyond it, in collection order (split
        them with ``row.printed_in_paper``).
    """
    names = list(modules or (SECTION_MODULES + EXTRA_CHECK_MODULES))
    if workers is None:  # fork only a single-threaded process (no lock held by another thread)
        workers = 2 if (hasattr(os, "fork") and (os.cpu_count() or 1) >= 2
                        and threading.active_count() == 1) else 1
    child = [n for n in names if n in CHILD_MODULES] if workers >= 2 else []
    by_module: dict[str, list[Row]] = {}
    if child and len(child) < len(names):
        job = _fork(child, section, equal_kw)
        try:
            for name in names:
                if name not in child:
                    by_module[name] = _verify_modules([name], section, equal_kw)
        except BaseException:  # Ctrl-C or a bug here: do not leave the child behind
            _kill(job)
            raise
        got = _join(job)
        if got is None:  # the child failed: do its share here
            got = {n: _verify_modules([n], section, equal_kw) for n in child}
        by_module.update(got)
    else:
        for name in names:
            by_module[name] = _verify_modules([name], section, equal_kw)
    return [row for name in names for row in by_module.get(name, [])]


def _verify_modules(names: list[str], section: str | None, equal_kw: dict) -> list[Row]:
    want = None if section is None else section.lstrip("§").lower()
    rows = []
    for name, check, err in collect_checks(names):
        if check is None:
            rows.append(Row(Check(f"<{name.rsplit('.', 1)[-1]}>", "?", sp.nan, sp.nan, err),
                            None, name, err))
            continue
        if want is not None and check.section.lstrip("§").lower() != want:
            continue
        rows.extend(verify_checks([check], name, **equal_kw))
    return rows


def _fork(names: list[str], section: str | None, equal_kw: dict):
    """Start a child that checks ``names`` and pickles ``{module: rows}`` into a pipe."""
    try:
        r, w = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # child: never return into the caller's code
        status = 1
        try:
            os.close(r)
            payload = pickle.dumps({n: _verify_modules([n], section, equal_kw) for n in names})
            with os.fdopen(w, "wb") as fh:
                fh.write(payload)
            status = 0
        except BaseException:  # noqa: BLE001 -- the parent redoes the work
            pass
        finally:
            os._exit(status)
    os.close(w)
    return pid, r


def _kill(job) -> None:
    if job is not None:
        pid, r = job
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
        except OSError:
            pass


def _join(job, timeout: float = 600.0) -> dict | None:
    """The child's rows, or None (failed, or silent for ``timeout`` s: then it is killed)."""
    if job is None:
        return None
    pid, r = job
    chunks, deadline = [], time.monotonic() + timeout
    try:
        with os.fdopen(r, "rb") as fh:
            while True:
                ready, _, _ = select.select([fh], [], [], max(deadline - time.monotonic(), 0))
                if not ready:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return None
                chunk = os.read(fh.fileno(), 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        if status != 0 or not chunks:
            return None
        return pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 -- fall back to checking here
        return None


def counts(rows: list[Row]) -> dict:
    """Rows per status: ``{"paper": {status: n}, "beyond": {status: n}}`` (all statuses listed).

    Examples
    --------
    >>> counts([])["paper"]["misprint"]
    0
    """
    paper = {s: 0 for s in PAPER_STATUSES}
    beyond = {s: 0 for s in BEYOND_STATUSES}
    for r in rows:
        (paper if r.printed_in_paper else beyond)[r.status] += 1
    return {"paper": paper, "beyond": beyond}


def summary_line(rows: list[Row]) -> str:
    """``40 checks: ...`` -- the counts per status of both tables, one line.

    Examples
    --------
    >>> summary_line([])
    '0 printed equations: 0 ok, 0 misprint, 0 convention, 0 erratum; 0 beyond the paper: 0 ok'
    """
    c = counts(rows)
    n_p, n_b = sum(c["paper"].values()), sum(c["beyond"].values())
    paper = ", ".join(f"{c['paper'][s]} {s}" for s in PAPER_STATUSES
                      if s in ("ok", "misprint", "convention", "erratum") or c["paper"][s])
    beyond = ", ".join(f"{c['beyond'][s]} {s}" for s in BEYOND_STATUSES
                       if s == "ok" or c["beyond"][s])
    return f"{n_p} printed equations: {paper}; {n_b} beyond the paper: {beyond}"


# ---------------------------------------------------------------- rendering
def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _table(rows: list[Row], verbose: bool, width: int = 64) -> list[str]:
    head = ("equation", "section", "status", "verdict", "note")
    body = []
    for r in rows:
        note = r.check.note
        recurs = getattr(r.check, "recurs", ())
        if recurs:
            note += " [also: " + "; ".join(recurs) + "]"
        body.append((r.check.equation, r.check.section, r.status,
                     _clip(r.verdict_text, width), note))
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(head[:-1])]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head[:-1], widths)) + "  " + head[-1]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(head[-1]))
    for b, r in zip(body, rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(b[:-1], widths)) + "  " + b[-1])
        if verbose:
            lines.append(f"    printed: {_sstr(r.check.printed)}")
            lines.append(f"    derived: {_sstr(r.check.derived)}")
            reading = getattr(r.check, "reading", None)
            if reading is not None:
                lines.append(f"    reading: {reading.kind}, '{reading.printed_as}' -> "
                             f"'{reading.read_as}': {_sstr(reading.form)}")
                if reading.evidence:
                    lines.append(f"    evidence: {reading.evidence}")
            if r.verdict is not None and r.status != "ok":
                lines.append(f"    verdict: {r.verdict}")
                if r.reading_verdict is not None:
                    lines.append(f"    reading verdict: {r.reading_verdict}")
    return lines


def to_text(rows: list[Row], verbose: bool = False) -> str:
    """Two plain-text tables (printed in the paper; beyond the paper) and the counts.

    Examples
    --------
    >>> import sympy as sp
    >>> from derivations.registry import Check
    >>> print(to_text(verify_checks([Check("(9)", "§4", sp.Integer(1), sp.Integer(1), "fine")])))
    equation  section  status  verdict                    note
    --------  -------  ------  -------------------------  ----
    (9)       §4       ok      holds on an exact example  fine
    <BLANKLINE>
    1 printed equations: 1 ok, 0 misprint, 0 convention, 0 erratum; 0 beyond the paper: 0 ok
    """
    paper = [r for r in rows if r.printed_in_paper]
    beyond = [r for r in rows if not r.printed_in_paper]
    out = _table(paper, verbose) if paper else []
    if beyond:
        out += ["", "Beyond the paper (results it does not print; checked the same way)", ""]
        out += _table(beyond, verbose)
    return "\n".join(out) + "\n\n" + summary_line(rows)


def to_json(rows: list[Row]) -> list[dict]:
    """A list of dicts: equation, section, status, printed_in_paper, printed, derived, note, verdict, ..."""
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
    paper = [r for r in rows if r.printed_in_paper]
    beyond = [r for r in rows if not r.printed_in_paper]
    for k, r in enumerate(paper + beyond):
        if k == len(paper) and beyond:
            lines += [r"\hline",
                      r"\multicolumn{6}{@{}l}{\emph{Beyond the paper: results it does not print}} \\",
                      r"\hline"]
        cells = [latex_text(r.check.equation), latex_text(r.check.section)]
        for form in (r.check.printed, r.check.derived):
            tex = _latex_math(form)
            cells.append(f"${tex}$" if len(tex) <= max_math
                         else r"\emph{(long; see \texttt{--json})}")
        status = r"\textbf{erratum}" if r.status == "erratum" else r.status
        reading = getattr(r.check, "reading", None)
        if r.status in ("misprint", "convention"):
            status += (" (" + latex_text(f"'{reading.printed_as}' read '{reading.read_as}'")
                       + ")")
        cells.append(status)
        note = r.check.note
        if getattr(r.check, "recurs", ()):
            note += " [also: " + "; ".join(r.check.recurs) + "]"
        cells.append(latex_text(note))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{longtable}"]
    return "\n".join(lines) + "\n"
