"""CLI `derive`, `verify`, `check`: formats, generated code run against sympy, exit codes."""

import inspect
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from coupled_beam.cli import main
from derivations import derive

ISSUE_NAMES = ["quartic", "eigentunes", "mode-damping", "mu-folding", "tilt"]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _reference(expr, values: dict):
    """sympy's own value of a Result (Eq -> rhs or residual), substituted at 30 digits."""
    def one(e):
        if isinstance(e, sp.Equality):
            e = e.rhs if e.lhs.is_Symbol else e.lhs - e.rhs
        subs = {s: values[s.name] for s in e.free_symbols}
        return complex(e.subs(subs).evalf(30))
    if isinstance(expr, sp.MatrixBase):
        return [[one(expr[i, j]) for j in range(expr.cols)] for i in range(expr.rows)]
    if isinstance(expr, (tuple, list)):
        return [_reference(e, values) for e in expr]
    return one(expr)


def _values(names, rng):
    # eigentunes need a stable point: tunes away from resonance, weak skew strength
    ranges = {"m": (-0.05, 0.05), "mu_x": (0.3, 1.2), "mu_z": (1.7, 2.8),
              "beta_x": (1.0, 10.0), "beta_z": (1.0, 10.0)}
    return {n: float(rng.uniform(*ranges.get(n, (0.2, 1.5)))) for n in names}


def test_import_coupled_beam_cli_does_not_import_sympy():
    """`import coupled_beam.cli` stays light: sympy is imported only by the commands."""
    code = ("import sys, coupled_beam, coupled_beam.cli; "
            "sys.exit(1 if 'sympy' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_derive_list_contains_issue_names(capsys):
    """`derive --list` names the results the issue asks for."""
    code, out, _ = _run(capsys, "derive", "--list")
    assert code == 0
    listed = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert set(ISSUE_NAMES) <= listed, set(ISSUE_NAMES) - listed


def test_derive_unknown_name_one_line_exit_2(capsys):
    """An unknown NAME: exit 2, one stderr line naming the available results."""
    code, out, err = _run(capsys, "derive", "no-such-thing")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "no-such-thing" in err and "quartic" in err


@pytest.mark.parametrize("name", ["quartic", "mode-damping", "mu-folding", "tilt", "eigentunes"])
def test_derive_python_code_equals_sympy_at_random_points(capsys, rng, name):
    """The generated Python (simplified, CSE'd) runs and equals the unsimplified sympy result."""
    code, src, _ = _run(capsys, "derive", name, "--format", "python")
    assert code == 0
    namespace: dict = {}
    exec(compile(src, f"<derive {name}>", "exec"), namespace)  # noqa: S102 -- code under test
    func = namespace[re.sub(r"\W", "_", name)]
    params = list(inspect.signature(func).parameters)
    res = derive.get_result(name)
    for _ in range(5):
        vals = _values(params, rng)
        got = func(**vals)
        ref = _reference(res.expr, {p.rstrip("_") if p == "lambda_" else p: v
                                    for p, v in vals.items()})
        # cse + float64 against a 30-digit substitution: rounding only
        np.testing.assert_allclose(np.asarray(got, dtype=complex), np.asarray(ref, dtype=complex),
                                   rtol=1e-9, atol=1e-12, err_msg=f"derive {name} at {vals}")


@pytest.fixture(scope="module")
def c_results():
    """(name, C source) of every result that has a C form, rendered once for this file."""
    out = []
    for name, res in derive.collect_results().items():
        try:
            out.append((name, derive.render(res, "c")))
        except ValueError:
            continue  # results with no real C form (complex U, symbolic sums) say so
    return out


def test_derive_c_output_has_no_sympy_leftovers(c_results):
    """No 'Not supported', Symbol(, Derivative, Integral, zoo, nan or ** in any C output."""
    outs = c_results
    assert len(outs) >= 10
    for name, src in outs:
        for bad in ("Not supported", "Symbol(", "Derivative", "Integral", "zoo", "nan", "oo",
                    "Abs(", "Matrix", "Eq(", "Piecewise(", "**"):
            assert bad not in src, f"{name}: {bad!r} in\n{src}"


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this machine")
def test_derive_c_compiles_and_matches_python(tmp_path, capsys, rng):
    """`derive mode-damping --format c` compiles with -Wall -Werror and gives the Python values."""
    _, csrc, _ = _run(capsys, "derive", "mode-damping", "--format", "c")
    _, pysrc, _ = _run(capsys, "derive", "mode-damping", "--format", "python")
    ns: dict = {}
    exec(pysrc, ns)  # noqa: S102
    params = list(inspect.signature(ns["mode_damping"]).parameters)
    vals = _values(params, rng)
    call = ", ".join(repr(vals[p]) for p in params)
    harness = csrc + ("\n#include <stdio.h>\nint main(void) { double out[2];\n"
                      f"  mode_damping({call}, out);\n"
                      '  printf("%.17g %.17g\\n", out[0], out[1]); return 0; }\n')
    (tmp_path / "k.c").write_text(harness)
    exe = tmp_path / "k"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", "-O1", str(tmp_path / "k.c"), "-lm",
                    "-o", str(exe)], check=True, capture_output=True)
    got = [float(v) for v in subprocess.run([str(exe)], capture_output=True, text=True,
                                            check=True).stdout.split()]
    # same expression, same cse, libm vs Python math: a few ulp
    np.testing.assert_allclose(got, ns["mode_damping"](**vals), rtol=1e-13, atol=1e-300)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this machine")
def test_derive_every_c_output_compiles(tmp_path, c_results):
    """Every result that has a C form is a compilable C99 translation unit."""
    for name, src in c_results:
        f = tmp_path / (re.sub(r"\W", "_", name) + ".c")
        f.write_text(src)
        proc = subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", "-c", str(f), "-o",
                               str(f.with_suffix(".o"))], capture_output=True, text=True)
        assert proc.returncode == 0, f"{name}:\n{proc.stderr}\n{src}"


def test_derive_json_and_latex_formats(capsys):
    """--format json parses with name/expr/latex; --format latex is one equation per element."""
    code, out, _ = _run(capsys, "derive", "eigentunes", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "eigentunes" and len(data["expr"]) == 2 and "latex" in data
    code, out, _ = _run(capsys, "derive", "eigentunes", "--format", "latex")
    assert out.count(r"\begin{equation}") == out.count(r"\end{equation}") == 2


def test_cli_verify_json_schema(capsys):
    """`verify --json` is a list of objects with the documented string fields."""
    code, out, _ = _run(capsys, "verify", "--json", "--section", "5")
    assert code == 0
    rows = json.loads(out)
    assert rows and all(r["section"] == "§5" for r in rows)
    for r in rows:
        assert {"equation", "section", "status", "printed", "derived", "note"} <= set(r)
        assert r["status"] in ("ok", "misprint", "convention", "erratum", "undecided", "error",
                               "fails")
        assert isinstance(r["printed_in_paper"], bool)


def test_cli_verify_latex_to_file(tmp_path, capsys):
    """`verify --latex FILE` writes a balanced longtable and still prints the text table."""
    target = tmp_path / "errata.tex"
    code, out, _ = _run(capsys, "verify", "--section", "appendix", "--latex", str(target))
    tex = target.read_text()
    assert code == 0 and "printed equations:" in out
    assert tex.count(r"\begin{longtable}") == tex.count(r"\end{longtable}") == 1


@pytest.mark.parametrize("lhs, rhs, assume, status, code", [
    ("sin(2*x)", "2*sin(x)*cos(x)", [], "proved", 0),
    ("sqrt(x**2)", "x", [], "different", 1),
    ("sqrt(x**2)", "x", ["--assume", "x>0"], "proved", 0),
])
def test_cli_check_verdict_and_exit_code(capsys, lhs, rhs, assume, status, code):
    """`check` prints the verdict; exit 0 when equal, 1 when different."""
    got, out, _ = _run(capsys, "check", lhs, rhs, *assume, "--json")
    assert got == code
    assert json.loads(out)["status"] == status


def test_cli_check_bad_expression_exit_2(capsys):
    """An unparsable or unsafe expression is one error line and exit 2."""
    code, _, err = _run(capsys, "check", "x.__class__", "1")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_derive_python_every_result_compiles_or_is_refused():
    """Every result prints as compilable Python with identifier arguments, or is refused by name."""
    refused = []
    for name, res in derive.collect_results().items():
        try:
            src = derive.render(res, "python", simplify=False)
        except ValueError as exc:
            assert name in str(exc) and "--format" in str(exc), str(exc)
            refused.append(name)
            continue
        compile(src, name, "exec")
    assert len(refused) <= 5, f"too many results without a Python form: {refused}"


def test_cli_check_derivation_steps_names_faulty_step(capsys):
    """`check A B C` checks A = B and B = C; the slip in the second step gives exit 1."""
    code, out, _ = _run(capsys, "check", "(x + 1)**2 - 1", "x**2 + 2*x", "x*(x + 3)")
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0] == "step 1 -> 2: proved" and lines[1].startswith("step 2 -> 3: different")
