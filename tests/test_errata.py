"""derivations.errata: the status is computed (never typed), one row per issue, proofs general."""

import importlib
import random
import re
import sys
import types

import numpy as np
import pytest
import sympy as sp

from derivations import errata, registry
from derivations.registry import SECTION_MODULES, Check, Reading

s = sp.Symbol("s", real=True)
xf, zf, Hf = (sp.Function(n, real=True)(s) for n in ("x", "z", "H"))


@pytest.fixture(scope="module")
def paper_rows():
    """Every check of every existing section module, decided once for this file."""
    return errata.verify_paper()


def _row(rows, pattern):
    hits = [r for r in rows if re.search(pattern, r.check.equation)]
    assert len(hits) == 1, f"{pattern!r} matches {[r.check.equation for r in hits]}"
    return hits[0]


# ------------------------------------------------------------ the status rules
def test_status_built_erratum_misprint_convention_ok():
    """Built here: a wrong form is an erratum; a tested one-glyph reading makes it a misprint;
    a sign flip under a named convention is a convention; a correct form is ok."""
    x, xi, zeta, K, p = sp.symbols("x xi zeta K p", real=True)
    rows = errata.verify_checks([
        Check("(a)", "§0", x + xi * p, x + zeta * p, "wrong, no reading"),
        Check("(b)", "§0", x + xi * p, x + zeta * p, "one glyph",
              reading=Reading("misprint", "ξ", "ζ", (x + xi * p).xreplace({xi: zeta}), "paper")),
        Check("(c)", "§0", x + xi * p, x + zeta * p, "a reading that does not repair it",
              reading=Reading("misprint", "ξ", "2ζ", x + 2 * zeta * p, "paper")),
        Check("(d)", "§0", -K * p * x, K * p * x, "x inward",
              reading=Reading("convention", "x outward", "x inward", (K * p * x).subs(x, -x))),
        Check("(e)", "§0", sp.sin(2 * x), 2 * sp.sin(x) * sp.cos(x), "fine"),
    ])
    assert [r.status for r in rows] == ["erratum", "misprint", "erratum", "convention", "ok"]
    assert rows[0].verdict.counterexample, "an erratum carries its counterexample"
    assert rows[1].verdict_text.startswith("proved reading 'ζ' for 'ξ' (paper)")
    assert "also different" in rows[2].verdict_text
    assert "x inward" in rows[3].verdict_text
    assert rows[4].verdict_text == "proved"


def test_status_follows_verdict_never_typed_in():
    """Swapping printed and derived cannot turn an erratum into ok: status comes from equal()."""
    x = sp.Symbol("x", real=True)
    a = errata.verify_checks([Check("(a)", "§0", x + 1, x, "note says ok")])[0]
    b = errata.verify_checks([Check("(b)", "§0", x, x + 1, "note says ok")])[0]
    assert a.status == b.status == "erratum"


def test_exact_example_is_not_called_proved():
    """Exact arithmetic on numbers only is 'holds on an exact example', not 'proved'."""
    M = sp.Matrix([[2, 1], [1, 3]])
    row = errata.verify_checks([Check("(x)", "§0", M.det(), sp.Integer(5), "one instance")])[0]
    assert row.status == "ok" and row.verdict_text == "holds on an exact example"


def test_beyond_rows_fail_not_erratum():
    """A row the paper does not print is 'ok' or 'fails', never an erratum of the paper."""
    x = sp.Symbol("x", real=True)
    rows = errata.verify_checks([Check("(own)", "§0", x + 1, x, "ours", printed_in_paper=False)])
    assert rows[0].status == "fails" and not rows[0].printed_in_paper


# ------------------------------------------------------------ the paper's rows
@pytest.mark.parametrize("pattern, glyph, reading", [
    (r"^\(1\) torsion", "z'x", "zx'"),
    (r"^\(1\) quadrupole limit", "K n -> (finite)", "K^2 n -> (finite) = -k1"),
    (r"^\(6\) z", "ξ", "ζ"),
    (r"^\(8\) equation number", "(3)", "(8)"),
    (r"^\(7\) prefactor", "det ‖m_rs‖", "det ‖μ_rs‖"),
    (r"quartic \(μ, β\)", "(2 + 4 cos μx cos μz − m²βxβz) · sin μx sin μz",
     "(2 + 4 cos μx cos μz − m²βxβz sin μx sin μz)"),
    (r"footnote m = e l", "e_1", "e l"),
    (r"footnote m = \(1/R\)", "1/R", "l/R"),
])
def test_misprints_name_glyph_and_reading(paper_rows, pattern, glyph, reading):
    """Each one-glyph issue is a misprint whose row names the glyph and the tested reading."""
    row = _row(paper_rows, pattern)
    assert row.status == "misprint", f"{row.check.equation}: {row.verdict_text}"
    d = row.to_dict()
    assert d["reading"]["printed_as"] == glyph and d["reading"]["read_as"] == reading
    assert d["reading"]["source"] in ("paper", "transcription", "paper or transcription")
    assert not row.verdict and row.reading_verdict, "printed differs, the reading holds"


def test_footnote_misprints_are_of_the_transcription(paper_rows):
    """'e_1' (e·l) and '1/R' (l/R) are garbled in the text version, not errors of the paper."""
    for pattern in (r"footnote m = e l", r"footnote m = \(1/R\)"):
        assert _row(paper_rows, pattern).check.reading.source == "transcription"


def test_closed_orbit_term_is_a_convention_with_a_derived_side(paper_rows):
    """-Kpx holds for x inward; the derived +Kpx comes from the linearised motion (not typed):
    independently, an off-momentum particle in a uniform field (n = 0) circles at radius
    (1 + p)/K, i.e. x_c = p/K outward, and x'' + K² x = c p gives x_c = c p/K², so c = K."""
    row = _row(paper_rows, r"closed-orbit")
    assert row.status == "convention" and "inward" in row.check.reading.read_as
    K, p = sp.Symbol("K", real=True), sp.Symbol("p", real=True)
    c = sp.expand(row.check.derived / (p * xf)).subs({sp.Symbol("n", real=True): 0})
    assert sp.simplify(c / K**2 - 1 / K) == 0, c


def test_one_row_per_issue_recurrences_named(paper_rows):
    """13 erratum rows were 10 issues: (3) K and D, the folding argument and the second
    M_rtsv element are folded into the row of their issue and named there."""
    names = [r.check.equation for r in paper_rows]
    for gone in ("(3) K and D", "§3 folding argument z", "M_1232"):
        assert not any(gone in n for n in names), f"{gone} is still a separate row"
    assert any("(3)" in w for w in _row(paper_rows, r"^\(1\) torsion").check.recurs)
    assert any("folding" in w for w in _row(paper_rows, r"^\(6\) z").check.recurs)
    assert any("M_1232" in w for w in _row(paper_rows, r"M_rtsv far").check.recurs)
    wrong = [r for r in paper_rows if r.printed_in_paper and r.status != "ok"]
    assert len(wrong) == 10, [r.check.equation for r in wrong]


def test_structural_error_stays_an_erratum(paper_rows):
    """The far-from-resonance M_rtsv lacks the conjugate partners: the U-for-U⁻¹ reading alone
    does not repair it."""
    row = _row(paper_rows, r"M_rtsv far")
    assert row.status == "erratum"
    assert row.reading_verdict is not None and row.reading_verdict.status == "different"


@pytest.mark.parametrize("pattern", [r"^\(9\)$", r"^\(10\)$", r"^§4 M_rtsv$"])
def test_section4_proved_for_generic_u_and_diagonal_delta(paper_rows, pattern):
    """(9), (10), M_rtsv: a symbolic proof over a generic 4x4 U (16 symbols) and diagonal Δ."""
    row = _row(paper_rows, pattern)
    assert row.status == "ok" and row.verdict.status == "proved" and row.verdict_text == "proved"
    names = {str(x) for x in sp.Tuple(*row.check.printed, *row.check.derived).free_symbols}
    assert {f"Delta{k}" for k in range(1, 5)} <= names
    assert len({n for n in names if re.fullmatch(r"[UV]\d\d", n)}) == 16, sorted(names)


def test_formula_10_proof_instance_solves_lyapunov_numerically(paper_rows):
    """Independent route: substitute a random complex U⁻¹, |Δ| < 1 and R into the proved (10)
    and solve Σ = N Σ Nᵀ + 𝓡 with numpy (Kronecker form): the two agree to 1e-12."""
    row = _row(paper_rows, r"^\(10\)$")
    rng = random.Random(7)
    V = np.array([[complex(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(4)]
                  for _ in range(4)])
    d = np.array([0.9 * np.exp(1j * rng.uniform(0, 6)) for _ in range(4)])
    Rm = np.array([[complex(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(4)]
                   for _ in range(4)])
    Rm = Rm + Rm.T
    subs = {sp.Symbol(f"V{i + 1}{j + 1}"): V[i, j] for i in range(4) for j in range(4)}
    subs.update({sp.Symbol(f"Delta{k + 1}"): d[k] for k in range(4)})
    subs.update({sp.Symbol(f"R{min(i, j) + 1}{max(i, j) + 1}"): Rm[i, j]
                 for i in range(4) for j in range(4)})
    printed = np.array([complex(e.evalf(subs=subs)) for e in row.check.printed])
    N = V @ np.diag(d) @ np.linalg.inv(V)
    script_R = V @ Rm @ V.T
    sigma = np.linalg.solve(np.eye(16) - np.kron(N, N), script_R.reshape(-1)).reshape(4, 4)
    upper = [sigma[i, j] for i in range(4) for j in range(i, 4)]
    np.testing.assert_allclose(printed, upper, rtol=1e-12, atol=1e-12)


def test_beyond_the_paper_rows_separate(paper_rows):
    """The ω± sum rule, μ̄_xx μ̄_zz = det μ and the covariance form of (8) are beyond the paper;
    1/S = ½P(0,0) is now checked with the printed P (not the derived normalisation)."""
    beyond = {r.check.equation for r in paper_rows if not r.printed_in_paper}
    assert any("sum rule" in b for b in beyond)
    assert any("det μ" in b for b in beyond)
    assert any("Σ_b" in b for b in beyond)
    one_over_s = _row(paper_rows, r"1/S = ∫P²")
    assert one_over_s.printed_in_paper and one_over_s.status == "ok"
    assert not any(str(x).startswith("norm") for x in sp.Tuple(*one_over_s.check.printed).atoms())
    assert all(r.status == "ok" for r in paper_rows if not r.printed_in_paper)


def test_no_check_errors_or_undecided(paper_rows):
    """Every collected check is decided (no broken module, no undecidable pair)."""
    bad = [(r.check.equation, r.status, r.verdict_text) for r in paper_rows
           if r.status in ("error", "undecided")]
    assert not bad, bad


def test_counts_per_status(paper_rows):
    """The counts per status add up to the rows; the summary line prints them."""
    c = errata.counts(paper_rows)
    assert sum(c["paper"].values()) + sum(c["beyond"].values()) == len(paper_rows)
    assert c["paper"]["erratum"] == 1 and c["paper"]["convention"] == 1
    assert c["paper"]["misprint"] == 8
    line = errata.to_text(paper_rows).splitlines()[-1]
    assert line == errata.summary_line(paper_rows)
    assert f"{c['paper']['misprint']} misprint" in line and "beyond the paper" in line


@pytest.mark.completeness
def test_completeness_every_section_module_exists_and_contributes_checks():
    """Completeness: each module of SECTION_MODULES exists; the paper's sections publish checks."""
    assert errata.missing_modules() == [], "section modules not written yet"
    for name in SECTION_MODULES:
        mod = importlib.import_module(name)
        if not hasattr(mod, "equation_checks"):
            continue
        checks = mod.equation_checks()
        assert all(isinstance(c, Check) for c in checks), name


def test_broken_module_reported_as_error_row(monkeypatch):
    """A section module whose equation_checks() raises yields an 'error' row, not a crash."""
    fake = types.ModuleType("derivations._fake_section")

    def boom():
        raise RuntimeError("half-written")

    fake.equation_checks = boom
    monkeypatch.setitem(sys.modules, "derivations._fake_section", fake)
    rows = errata.verify_paper(["derivations._fake_section"])
    assert [r.status for r in rows] == ["error"] and "half-written" in rows[0].error


def test_extra_check_module_adds_beyond_rows(monkeypatch):
    """A module listed in EXTRA_CHECK_MODULES contributes 'beyond the paper' rows (H4's route)."""
    x = sp.Symbol("x", real=True)
    fake = types.ModuleType("derivations._fake_beyond")
    fake.equation_checks = lambda: [Check("§2 correction", "§2", sp.cos(x) ** 2,
                                          1 - sp.sin(x) ** 2, "ours", printed_in_paper=False)]
    monkeypatch.setitem(sys.modules, "derivations._fake_beyond", fake)
    monkeypatch.setattr(registry, "EXTRA_CHECK_MODULES", ["derivations._fake_beyond"])
    monkeypatch.setattr(errata, "EXTRA_CHECK_MODULES", ["derivations._fake_beyond"])
    names = [name for name, _, _ in errata.collect_checks()]
    assert "derivations._fake_beyond" in names
    rows = errata.verify_paper(["derivations._fake_beyond"])
    assert [(r.status, r.printed_in_paper) for r in rows] == [("ok", False)]
    assert "Beyond the paper" in errata.to_text(rows)
    assert errata.to_json(rows)[0]["printed_in_paper"] is False


def test_json_rows_schema(paper_rows):
    """Each JSON row has the string fields, printed_in_paper, and a reading where one is offered."""
    data = errata.to_json(paper_rows)
    assert len(data) == len(paper_rows) > 0
    for d in data:
        for key in ("equation", "section", "status", "printed", "derived", "note", "verdict"):
            assert isinstance(d[key], str), (key, d)
        assert isinstance(d["printed_in_paper"], bool)
        allowed = errata.PAPER_STATUSES if d["printed_in_paper"] else errata.BEYOND_STATUSES
        assert d["status"] in allowed
        if d["status"] in ("misprint", "convention"):
            assert d["reading"]["verdict"]["status"] in ("proved", "numerically equal")


def test_latex_table_structurally_balanced(paper_rows):
    """The LaTeX table opens/closes once, braces and $ balance, every row has 6 cells."""
    tex = errata.to_latex(paper_rows)
    assert tex.count(r"\begin{longtable}") == tex.count(r"\end{longtable}") == 1
    body = re.sub(r"\\[{}$&%#_]", "", tex)  # drop escaped specials
    assert body.count("{") == body.count("}"), "unbalanced braces"
    rows = [ln for ln in tex.splitlines() if ln.endswith(r"\\") and r"\multicolumn" not in ln]
    assert len(rows) == len(paper_rows) + 1  # + header
    assert tex.count(r"\multicolumn{6}") == 1, "one 'beyond the paper' divider"
    for ln in rows:
        # & inside a matrix environment belongs to the matrix, not to the table
        cells = re.sub(r"\\begin\{matrix\}.*?\\end\{matrix\}", "M", re.sub(r"\\&", "", ln))
        assert cells.count("&") == 5, ln[:120]
        assert re.sub(r"\\\$", "", ln).count("$") % 2 == 0, ln[:120]
    assert all(ord(ch) < 128 for ch in tex), "non-ASCII left in the LaTeX"


def test_latex_text_unicode_becomes_valid_math():
    """Greek, superscripts and transposes map to math; no double superscript (a LaTeX error)."""
    tex = errata.latex_text("x²ᵀ Σ⁻¹ ηηᵀ μ̄_xx 5% <p²>")
    assert tex == (r"x$^{2T}$ $\Sigma^{-1}$ $\eta\eta^T$ $\bar\mu$\_xx 5\% "
                   r"\textless{}p$^2$\textgreater{}")


def test_latex_table_no_double_superscripts(paper_rows):
    """The generated table has no a^b^c sequence."""
    tex = errata.to_latex(paper_rows)
    assert not re.search(r"\^(\{[^{}]*\}|[^{}\\])\^", tex)


def test_forked_half_gives_the_same_rows(monkeypatch):
    """verify_paper with the child process (workers=2), serially (workers=1) and with a failing
    child (fallback) gives the same rows in the same order."""
    mods = ["derivations.equations_of_motion", "derivations.distribution"]
    two = errata.verify_paper(mods, workers=2)
    one = errata.verify_paper(mods, workers=1)
    monkeypatch.setattr(errata, "_fork", lambda *a: None)
    fallback = errata.verify_paper(mods, workers=2)
    key = [(r.check.equation, r.status, r.verdict_text) for r in one]
    assert [(r.check.equation, r.status, r.verdict_text) for r in two] == key
    assert [(r.check.equation, r.status, r.verdict_text) for r in fallback] == key
