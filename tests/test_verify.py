"""derivations.verify: proof, 50-digit numeric test, counterexample; safe parsing."""

import mpmath
import pytest
import sympy as sp

from coupled_beam.errors import InputError
from derivations.verify import Verdict, equal, parse, parse_assumptions

x = sp.Symbol("x", real=True)


def test_equal_double_angle_identity_proved():
    """sin 2x = 2 sin x cos x is proved symbolically, not just sampled."""
    v = equal(sp.sin(2 * x), 2 * sp.sin(x) * sp.cos(x))
    assert isinstance(v, Verdict)
    assert v.status == "proved", f"double-angle identity: {v}"
    assert str(v) == "proved"


def test_equal_dilogarithm_reflection_numerically_equal():
    """Euler reflection Li2(x) + Li2(1-x) = π²/6 - ln x ln(1-x): simplify fails, mpmath agrees."""
    lhs = "polylog(2, x) + polylog(2, 1 - x)"
    rhs = "pi**2/6 - log(x)*log(1 - x)"
    # precondition from sympy itself: it cannot reduce the difference to zero
    assert sp.simplify(parse(lhs) - parse(rhs)) != 0, "sympy proves it now: pick a harder one"
    v = equal(lhs, rhs, domain={"x": (0, 1)})
    assert v.status == "numerically equal", f"dilogarithm reflection: {v}"
    assert str(v) == "numerically equal (24 points, 50 digits)"
    assert bool(v)


def test_equal_near_miss_1e40_different_with_counterexample():
    """sin² + cos² against 1 + 1e-40 is caught at 50 digits, with the point and both values."""
    v = equal("sin(x)**2 + cos(x)**2", "1 + 10**-40")
    assert v.status == "different", f"near miss not caught: {v}"
    assert not v
    assert set(v.counterexample) == {"x"}
    # independent re-evaluation at the reported point: lhs is 1, rhs is 1 + 1e-40
    with mpmath.workdps(60):
        pt = mpmath.mpf(v.counterexample["x"])
        lhs = mpmath.sin(pt) ** 2 + mpmath.cos(pt) ** 2
        assert abs(lhs - 1) < mpmath.mpf(10) ** -55, "the reported point is not a valid point"
        # 20 printed digits cannot show 1e-40: the gap is reported separately
        assert abs(mpmath.mpf(v.difference) - mpmath.mpf(10) ** -40) < mpmath.mpf(10) ** -44
    assert "different at x=" in str(v) and "lhs = " in str(v) and "rhs = " in str(v)


def test_equal_catastrophic_cancellation_not_flagged():
    """(x + 1e40)² - 1e80 - 2e40 x = x² loses 80 digits at 60; the 110-digit retry clears it."""
    lhs = (x + sp.Integer(10) ** 40) ** 2 - sp.Integer(10) ** 80 - 2 * sp.Integer(10) ** 40 * x
    v = equal(lhs, x**2, prove=False)
    assert v.status == "numerically equal", f"rounding noise mistaken for a difference: {v}"


def test_equal_sqrt_square_depends_on_assumption():
    """sqrt(x²) = x needs x > 0: different without the assumption, proved with it."""
    assert equal("sqrt(x**2)", "x").status == "different"
    assert equal("sqrt(x**2)", "x", assumptions=["x>0"]).status == "proved"


def test_equal_complex_branch_compared_as_complex():
    """sqrt(x - 3) = i sqrt(3 - x) holds for x < 3 (complex values) and fails for x > 3."""
    below = equal("sqrt(x - 3)", "I*sqrt(3 - x)", assumptions=["x<3"], prove=False)
    assert below.status == "numerically equal", f"x < 3: {below}"
    assert below.complex_points == below.points > 0, "every point had complex values"
    above = equal("sqrt(x - 3)", "I*sqrt(3 - x)", assumptions=["3<x<10"])
    assert above.status == "different", f"x > 3: {above}"


def test_equal_pole_points_skipped_and_counted():
    """1/(n-2) + 1 = (n-1)/(n-2) over integers: n = 2 is undefined, skipped and counted."""
    v = equal("1/(n - 2) + 1", "(n - 1)/(n - 2)", assumptions=["n integer"], prove=False,
              points=40)
    assert v.status == "numerically equal", str(v)
    assert v.skipped > 0, "the pole n = 2 was drawn among 13 integers but not counted"
    assert "undefined skipped" in str(v)


def test_equal_everywhere_undefined_undecided():
    """1/(x - x) is undefined everywhere: the verdict is "undecided", never ok."""
    v = equal("1/(x - x)", "0", prove=False, points=5)
    assert v.status == "undecided", str(v)
    assert not v


def test_equal_matrix_names_differing_element():
    """Matrices are compared elementwise; the differing element is named."""
    v = equal(sp.Matrix([[sp.cosh(x) ** 2, 1], [0, x]]),
              sp.Matrix([[1 + sp.sinh(x) ** 2, 1], [0, 2 * x]]))
    assert v.status == "different" and v.element == "[1, 1]", str(v)
    ok = equal(sp.Matrix([[sp.cosh(x) ** 2, 1]]), sp.Matrix([[1 + sp.sinh(x) ** 2, 1]]))
    assert ok.status == "proved", str(ok)


def test_equal_shape_mismatch_different():
    """A scalar is not a 1x1 matrix: shapes are compared first."""
    v = equal("1", "Matrix([[1]])")
    assert v.status == "different" and "shapes differ" in str(v)


def test_equal_equations_up_to_power_of_lambda_proved():
    """The quartic and its palindromic form λ⁻² × quartic are the same equation."""
    v = equal("lambda**4 - 3*lambda**2 + 1 = 0", "(lambda + 1/lambda)**2 - 5 = 0")
    assert v.status == "proved" and "lambda**2" in v.detail, str(v)
    w = equal("lambda**4 - 3*lambda**2 + 1 = 0", "(lambda + 1/lambda)**2 - 4 = 0")
    assert w.status == "different", str(w)


def test_equal_undefined_functions_compared_pointwise():
    """f(s) f'(s) = (f²)'/2: functions and derivatives become independent values."""
    v = equal("f(s)*diff(f(s), s)", "diff(f(s)**2, s)/2")
    assert v, str(v)
    assert equal("f(s)*diff(f(s), s)", "diff(f(s)**2, s)").status == "different"


def test_parse_paper_names_are_symbols():
    """beta, zeta, gamma, E, N, S, Q are the paper's symbols, not sympy functions."""
    e = parse("beta*zeta*gamma*E*N*S*Q")
    assert all(isinstance(s, sp.Symbol) for s in e.free_symbols)
    assert {s.name for s in e.free_symbols} == {"beta", "zeta", "gamma", "E", "N", "S", "Q"}


@pytest.mark.parametrize("text", ["x.__class__", "sin.func(x)", "__import__('os')",
                                  "(lambda y: y)(1)", "open('f')"])
def test_parse_code_injection_rejected(text):
    """Attribute access, dunders, lambdas and builtins are refused with InputError."""
    with pytest.raises(InputError):
        parse(text)


def test_parse_assumptions_interval_and_signs():
    """'0<mu<pi' is real with a sampling interval; 'beta_x>0' positive; 'n integer' integer."""
    syms, dom = parse_assumptions(["0<mu<pi", "beta_x>0", "n integer", "d<=0"])
    assert syms["mu"].is_real and dom["mu"] == pytest.approx((0.0, 3.141592653589793),
                                                             rel=1e-15, abs=1e-300)  # exact pi
    assert syms["beta_x"].is_positive and syms["n"].is_integer and syms["d"].is_nonpositive
    with pytest.raises(InputError):
        parse_assumptions(["beta_x >> 0"])


def test_equal_same_name_different_assumptions_one_variable():
    """Symbol('x') in the printed form and Symbol('x', positive=True) in the derived are one x."""
    xp = sp.Symbol("x", positive=True)
    v = equal(sp.sqrt(sp.Symbol("x") ** 2), xp)
    assert v.status == "proved", f"x and x>0 treated as two variables: {v}"


def test_equal_steps_names_the_faulty_step():
    """A three-line derivation with a slip in the second step: verdicts ok, then different."""
    from derivations.verify import equal_steps

    verdicts = equal_steps(["cos(a) - cos(b)", "-2*sin((a + b)/2)*sin((a - b)/2)",
                            "-2*sin((a + b)/2)*sin((a + b)/2)"])
    assert [v.status for v in verdicts] == ["proved", "different"], [str(v) for v in verdicts]


def test_equal_zero_proof_budget_falls_back_to_numbers():
    """With no time for rewrites the trig identity is still settled numerically, not guessed."""
    v = equal(sp.sin(2 * x), 2 * sp.sin(x) * sp.cos(x), prove_seconds=0.0)
    assert v.status == "numerically equal" and v.points == 24, str(v)


def test_parse_space_before_parenthesis_multiplies():
    """'x (x + 2)' and 'x(x + 2) + x' are products; 'f(s)' alone is an undefined function."""
    xs = sp.Symbol("x")
    assert parse("x (x + 2)") == xs * (xs + 2)
    assert parse("x(x + 2) + x") == xs * (xs + 2) + xs
    assert isinstance(parse("f(s)"), sp.core.function.AppliedUndef)


# ------------------------------------------------------------------ exact decimals
@pytest.mark.parametrize("lhs, rhs", [("x/10", "0.1*x"), ("x/1000", "1e-3*x"),
                                      ("5*x/2", "2.5 x"), ("x**2/4", "x^2 * 0.25")])
def test_decimals_read_as_exact_rationals(lhs, rhs):
    """A decimal is the rational it spells: x/10 = 0.1 x is proved (issue 15: was 'different')."""
    v = equal(lhs, rhs)
    assert v.status == "proved", f"{lhs} vs {rhs}: {v}"
    assert parse("0.1") == sp.Rational(1, 10) and parse("1e-3") == sp.Rational(1, 1000)


def test_python_floats_taken_as_their_decimal():
    """A Python float 0.1 is 1/10 to the checker (its shortest decimal form), not 0.1000000000000000055."""
    assert equal(sp.Symbol("x") / 10, 0.1 * sp.Symbol("x")).status == "proved"
    assert equal(0.1, sp.Rational(1, 10)).status == "proved"


# ------------------------------------------------------------------ hostile input
@pytest.mark.parametrize("text, field", [
    ("2**(10**10)", "max_digits"),
    ("9**9**9", "max_digits"),
    ("factorial(10**7)", "max_digits"),
    ("binomial(10**9, 10**8)", "max_digits"),
    ("10.0**10**10", "max_digits"),
    ("Rational(1, 10**10000)", "max_digits"),
    ("(" * 5000 + "x" + ")" * 5000, "max_depth"),
    ("+".join(f"x{i}" for i in range(20000)), "max_size"),
])
def test_oversized_input_refused_at_once_with_named_limit(text, field):
    """Input whose size alone would hang sympy is refused in well under a second, naming the limit."""
    import time

    t0 = time.perf_counter()
    with pytest.raises(InputError) as err:
        equal(text, "x")
    assert time.perf_counter() - t0 < 5.0  # refused before any work (generous for a loaded CI)
    assert err.value.field == field
    assert "Budget" in str(err.value) or "--max-size" in str(err.value)


def test_hard_integral_undecided_within_the_budget():
    """A hard integral ends as 'undecided within the budget' at the time limit, not a hang."""
    import time

    from derivations.verify import Budget

    t0 = time.perf_counter()
    v = equal("integrate(exp(-x**2)*log(x)**3*sin(x)**2/(1+x**4), (x, 0, oo))", "x",
              budget=Budget(seconds=1.0))
    took = time.perf_counter() - t0
    assert v.status == "undecided" and v.method == "budget", str(v)
    assert str(v).startswith("undecided within the budget") and "--seconds" in str(v)
    assert took < 10.0, f"the 1 s budget took {took:.1f} s"
    assert not v


def test_budget_restores_an_outer_alarm():
    """An alarm set by the caller (e.g. pytest-timeout) is re-armed after equal() returns."""
    import signal

    fired = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        assert equal("sin(2*x)", "2*sin(x)*cos(x)").status == "proved"
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 20.0 < left <= 30.0, left
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("kw, field", [({"dps": 100000}, "dps"), ({"points": 10**8}, "points"),
                                       ({"points": 1e8}, "points"), ({"points": 0}, "points")])
def test_numeric_test_size_bounded(kw, field):
    """dps = 100000 or 10**8 points would run for hours: an InputError naming the limit."""
    with pytest.raises(InputError) as err:
        equal("sin(x)", "x", **kw)
    assert err.value.field == field and "at most" in str(err.value)


@pytest.mark.parametrize("bad", [None, object(), {"x": 1}, float("nan")])
def test_non_expression_input_named_error(bad):
    """equal(None, "x") and friends: an InputError naming the type, never an AttributeError."""
    with pytest.raises(InputError) as err:
        equal(bad, "x")
    assert "lhs" in str(err.value)


def test_long_sum_within_size_is_decided():
    """A 2400-term sum (inside the 5000-token budget) is parsed in one Add and decided."""
    text = "+".join(f"x{i}" for i in range(2400))
    from derivations.verify import Budget

    v = equal(text, text.replace("x0+", "x0 + 0*y +"), budget=Budget(seconds=120))
    assert v.status == "proved", str(v)


@pytest.mark.parametrize("argv, code, needle", [
    (["check", "2**(10**10)", "x"], 2, "digits"),
    (["check", "9**9**9", "x"], 2, "digits"),
    (["check", "factorial(10**7)", "x"], 2, "digits"),
    (["check", "(" * 5000 + "x" + ")" * 5000, "x"], 2, "nested"),
    (["check", "+".join(f"x{i}" for i in range(20000)), "x"], 2, "too large"),
    (["check", "sin(x)", "x", "--dps", "100000"], 2, "--dps"),
    (["check", "sin(x)", "x", "--points", "1e8"], 2, "--points"),
    (["check", "integrate(exp(-x**2)*log(x)**3*sin(x)**2/(1+x**4), (x, 0, oo))", "x",
      "--seconds", "1"], 1, "undecided within the budget"),
    (["check", "x/10", "0.1*x"], 0, "proved"),
    (["check", "x", "x", "--seconds", "0"], 2, "seconds"),
])
def test_cli_check_hostile_inputs_answered(capsys, argv, code, needle):
    """Every hostile `check` input of issue 15: a verdict or one named error line, exit 0/1/2."""
    import time

    from coupled_beam import cli

    t0 = time.perf_counter()
    got = cli.main(argv)
    out, err = capsys.readouterr()
    assert time.perf_counter() - t0 < 30.0  # 5 s budget at most, plus a loaded machine
    assert got == code, (out, err)
    assert needle in out + err
    assert "Traceback" not in out + err and "internal error" not in err


@pytest.mark.parametrize("assume, domain", [
    (["x > 2**(10**10)"], None),
    (["0 < x < __import__('os')"], None),
    (None, {"x": ("__import__('os').system('true')", 1)}),
    (None, {"x": (1, 0)}),
    (None, {"x": 3}),
])
def test_bounds_parsed_safely_and_bounded(assume, domain):
    """Assumption bounds and domain limits go through the guarded parser: no eval, no hang."""
    with pytest.raises(InputError):
        equal("sin(x)", "sin(x)", assumptions=assume, domain=domain)


@pytest.mark.parametrize("text", ["x > 3", "grIi5!=l/i", ", (n, 1, oo))Integral(lambda",
                                  "q)18soe3(ga6se", "2<460", "x, y = 1", "None", "True"])
def test_fuzz_findings_are_named_errors(text):
    """Relations, booleans and parser IndexErrors found by fuzzing: an InputError, no TypeError."""
    with pytest.raises(InputError):
        equal(text, "x")


def test_random_text_never_raises_anything_but_input_error():
    """600 random token strings: each a verdict or an InputError, each within 3 s (seeded)."""
    import random
    import time

    from derivations.verify import Budget

    rng = random.Random(2026)
    atoms = ["x", "y", "sin(", "exp(", "log(", "sqrt(", ")", "(", "**", "*", "+", "-", "/", "1",
             "0", "2.5", "1e-3", "10**", "factorial(", "I", "pi", "oo", "zoo", "nan", "Integral(",
             ", (x, 0, 1))", "diff(", ", x)", "Matrix([[", "]])", "=", "lambda", "Eq(", "Sum(",
             ", (n, 1, oo))", "f(s)", "[", "]", "'", "\\\\", "#", "@", "%", "&", "|", "~", ":",
             ";", "x>0", "True", "None", ","]
    for _ in range(600):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(1, 12)))
        t0 = time.perf_counter()
        try:
            v = equal(text, rng.choice(["x", "0", text]), budget=Budget(seconds=2))
            assert v.status in ("proved", "numerically equal", "different", "undecided")
        except InputError:
            pass
        assert time.perf_counter() - t0 < 10.0, text
