"""derivations.errata: the verdict is computed (never typed), errata flagged, correct forms ok."""

import importlib
import re
import sys
import types

import pytest
import sympy as sp

from derivations import errata
from derivations.registry import SECTION_MODULES, Check

s = sp.Symbol("s", real=True)
xf, zf, Hf = (sp.Function(n, real=True)(s) for n in ("x", "z", "H"))


@pytest.fixture(scope="module")
def paper_rows():
    """Every check of every existing section module, decided once for this file."""
    return errata.verify_paper()


def _row(rows, pattern):
    hits = [r for r in rows if re.search(pattern, r.check.equation)]
    assert len(hits) >= 1, f"no check matches {pattern!r}: {[r.check.equation for r in rows]}"
    return hits[0]


def test_status_built_torsion_misprint_erratum_and_det_m_ok():
    """A check built here: H(xz' - z'x)/2 (printed) is an erratum; det m = ¼ det⁻¹ is ok."""
    xp, zp = xf.diff(s), zf.diff(s)
    c11, c12, c22 = sp.symbols("c11 c12 c22", real=True)
    C = sp.Matrix([[c11, c12], [c12, c22]])
    m = C.inv() / 2  # independent route: m = ½ <y yᵀ>⁻¹ from the Gaussian's covariance
    rows = errata.verify_checks([
        Check("(1) torsion", "§1", Hf * (xf * zp - zp * xf) / 2, Hf * (xf * zp - zf * xp) / 2,
              "printed term vanishes identically"),
        Check("§3 det m", "§3", sp.Rational(1, 4) / C.det(), m.det(), "correct as printed",
              {c11: (1, 2), c22: (1, 2), c12: (-0.5, 0.5)}),
    ])
    assert [r.status for r in rows] == ["erratum", "ok"], [str(r.verdict) for r in rows]
    assert rows[0].verdict.counterexample, "an erratum carries its counterexample"


def test_status_follows_verdict_never_typed_in():
    """Swapping printed and derived cannot turn an erratum into ok: status comes from equal()."""
    x = sp.Symbol("x", real=True)
    a = errata.verify_checks([Check("(a)", "§0", x + 1, x, "note says ok")])[0]
    b = errata.verify_checks([Check("(b)", "§0", x, x + 1, "note says ok")])[0]
    assert a.status == b.status == "erratum"


def test_lagrangian_torsion_term_real_check_erratum(paper_rows):
    """The section-1 module's printed Lagrangian H term comes out 'erratum'."""
    row = _row(paper_rows, r"\(1\).*torsion")
    assert row.status == "erratum", str(row.verdict)


@pytest.mark.parametrize("pattern", [r"^\(6\) z", r"^\(7\) prefactor$", r"quartic \(μ, β\)"])
def test_known_paper_errata_real_checks_flagged(paper_rows, pattern):
    """z = z_b + ξp, the (7) prefactor and the misplaced quartic bracket are errata."""
    row = _row(paper_rows, pattern)
    assert row.status == "erratum", f"{row.check.equation}: {row.verdict}"


@pytest.mark.parametrize("pattern", [r"det m", r"1/S = P\(0,0\)/2", r"quartic \(Tr, det\)",
                                     r"\(8\).*μ_xz"])
def test_correct_paper_equations_real_checks_ok(paper_rows, pattern):
    """det m = ¼ det⁻¹, 1/S = P(0,0)/2, the generic quartic and μ_rs (8) are correct."""
    row = _row(paper_rows, pattern)
    assert row.status == "ok", f"{row.check.equation}: {row.verdict}"


def test_no_check_errors_or_undecided(paper_rows):
    """Every collected check is decided (no broken module, no undecidable pair)."""
    bad = [(r.check.equation, r.status, str(r.verdict) if r.verdict else r.error)
           for r in paper_rows if r.status in ("error", "undecided")]
    assert not bad, bad


@pytest.mark.completeness
def test_completeness_every_section_module_exists_and_contributes_checks():
    """Completeness: each module of SECTION_MODULES exists and publishes at least one Check."""
    assert errata.missing_modules() == [], "section modules not written yet"
    for name in SECTION_MODULES:
        mod = importlib.import_module(name)
        checks = mod.equation_checks()
        assert len(checks) >= 1 and all(isinstance(c, Check) for c in checks), name


def test_broken_module_reported_as_error_row(monkeypatch):
    """A section module whose equation_checks() raises yields an 'error' row, not a crash."""
    fake = types.ModuleType("derivations._fake_section")

    def boom():
        raise RuntimeError("half-written")

    fake.equation_checks = boom
    monkeypatch.setitem(sys.modules, "derivations._fake_section", fake)
    rows = errata.verify_paper(["derivations._fake_section"])
    assert [r.status for r in rows] == ["error"] and "half-written" in rows[0].error


def test_json_rows_schema(paper_rows):
    """Each JSON row has equation, section, status, printed, derived, note as strings."""
    data = errata.to_json(paper_rows)
    assert len(data) == len(paper_rows) > 0
    for d in data:
        for key in ("equation", "section", "status", "printed", "derived", "note", "verdict"):
            assert isinstance(d[key], str), (key, d)
        assert d["status"] in ("ok", "erratum", "undecided", "error")


def test_latex_table_structurally_balanced(paper_rows):
    """The LaTeX table opens/closes once, braces and $ balance, every row has 6 cells."""
    tex = errata.to_latex(paper_rows)
    assert tex.count(r"\begin{longtable}") == tex.count(r"\end{longtable}") == 1
    body = re.sub(r"\\[{}$&%#_]", "", tex)  # drop escaped specials
    assert body.count("{") == body.count("}"), "unbalanced braces"
    rows = [ln for ln in tex.splitlines() if ln.endswith(r"\\")]
    assert len(rows) == len(paper_rows) + 1  # + header
    for ln in rows:
        # & inside a matrix environment belongs to the matrix, not to the table
        cells = re.sub(r"\\begin\{matrix\}.*?\\end\{matrix\}", "M", re.sub(r"\\&", "", ln))
        assert cells.count("&") == 5, ln[:120]
        assert re.sub(r"\\\$", "", ln).count("$") % 2 == 0, ln[:120]
    assert all(ord(ch) < 128 for ch in tex), "non-ASCII left in the LaTeX"


def test_text_table_counts_match_rows(paper_rows):
    """The summary line counts ok and erratum rows."""
    text = errata.to_text(paper_rows)
    n_ok = sum(r.status == "ok" for r in paper_rows)
    n_err = sum(r.status == "erratum" for r in paper_rows)
    assert text.splitlines()[-1].startswith(f"{len(paper_rows)} checks: {n_ok} ok, {n_err} erratum")


def test_latex_text_unicode_becomes_valid_math():
    """Greek, superscripts and transposes map to math; no double superscript (a LaTeX error)."""
    tex = errata.latex_text("x²ᵀ Σ⁻¹ ηηᵀ μ̄_xx 5% <p²>")
    assert tex == (r"x$^{2T}$ $\Sigma^{-1}$ $\eta\eta^T$ $\bar\mu$\_xx 5\% "
                   r"\textless{}p$^2$\textgreater{}")


def test_latex_table_no_double_superscripts(paper_rows):
    """The generated table has no a^b^c sequence."""
    tex = errata.to_latex(paper_rows)
    assert not re.search(r"\^(\{[^{}]*\}|[^{}\\])\^", tex)
