"""Every public function answers bad input with the hierarchy of coupled_beam.errors (hypothesis).

Properties over the whole public API: no other exception escapes, no silent NaN from the scalar
APIs, symmetric outputs stay symmetric, results do not depend on array shape or evaluation order.
"""

import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import coupled_beam as cb
from coupled_beam import distribution, errors, lattice
from coupled_beam.errors import CoupledBeamError, InputError, ResonanceError, UnstableError
from coupled_beam.skew_quadrupole import eigentune_report

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
sane_float = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
mu_st = st.floats(-10.0, 10.0, allow_nan=False)
beta_st = st.floats(0.01, 1e3, allow_nan=False)
m_st = st.floats(-2.0, 2.0, allow_nan=False)
junk = st.sampled_from(["1.0x", None, 1 + 2j, [1.0, "a"], {"a": 1}, object()])

KERNELS = [
    ("eigentunes", cb.eigentunes, 5),
    ("stable", cb.stable, 5),
    ("mode_damping", cb.mode_damping, 7),
    ("thin_skew_one_turn_map", cb.thin_skew_one_turn_map, 9),
    ("tunes_and_stability", cb.tunes_and_stability, 5),
]


def _outputs(result):
    return result if isinstance(result, tuple) else (result,)


# ------------------------------------------------------------------ §5 kernels
@pytest.mark.parametrize("name, func, nargs", KERNELS)
@FAST
@given(data=st.data())
def test_section5_kernels_any_float_input_returns_or_raises_input_error(name, func, nargs, data):
    """Any float (NaN, inf, negative β included) gives a result or InputError, nothing else."""
    args = data.draw(st.lists(any_float, min_size=nargs, max_size=nargs))
    bad_input = any(not math.isfinite(a) for a in args) or args[2] <= 0 or args[3] <= 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow of extreme finite inputs
        try:
            out = func(*args)
        except InputError as err:
            assert bad_input, f"{name} rejected valid input {args}: {err}"
            assert str(err), "empty message"
            return
    assert not bad_input, f"{name} accepted invalid input {args}"
    for o in _outputs(out):
        assert isinstance(o, np.ndarray) and o.dtype in (np.float64, np.bool_)


@pytest.mark.parametrize("name, func, nargs", KERNELS)
@settings(max_examples=20, deadline=None)
@given(bad=junk, pos=st.integers(0, 4))
def test_section5_kernels_non_numeric_input_is_input_error(name, func, nargs, bad, pos):
    """Text, None, complex or ragged input raises InputError naming the argument."""
    args = [1.0, 1.3, 10.0, 8.0, 0.01, 1e-4, 1e-4, 0.0, 0.0][:nargs]
    args[pos] = bad
    with pytest.raises(InputError, match=["mu_x", "mu_z", "beta_x", "beta_z", "m"][pos]):
        func(*args)


@pytest.mark.parametrize("name, func, nargs", KERNELS)
def test_section5_kernels_unbroadcastable_shapes_are_input_error(name, func, nargs):
    """Arrays of shapes (2,) and (3,) raise InputError listing the shapes, not numpy's ValueError."""
    args = [1.0, 1.3, 10.0, 8.0, 0.01, 1e-4, 1e-4, 0.0, 0.0][:nargs]
    args[0], args[1] = np.array([1.0, 1.1]), np.array([1.2, 1.3, 1.4])
    with pytest.raises(InputError, match=r"mu_x\(2,\).*mu_z\(3,\)"):
        func(*args)


@FAST
@given(hnp.arrays(np.float64, st.integers(1, 12), elements=mu_st), mu_st, beta_st, beta_st, m_st,
       st.randoms(use_true_random=False))
@example(np.array([-1.5456618610912543, 1.0, 1.0]), 1.0, 1.0, 1.0, 0.0, __import__("random").Random(0))
def test_section5_kernels_independent_of_shape_and_order(mus, mu_z, beta_x, beta_z, m, rnd):
    """Element-wise results equal per-point calls, a reshaped batch and a permuted batch."""
    perm = list(range(len(mus)))
    rnd.shuffle(perm)
    for name, func, nargs in KERNELS:
        extra = [2e-4, 1e-4, 0.3, -0.2][: nargs - 5] if name != "thin_skew_one_turn_map" else [0.3, -0.2, 2e-4, 1e-4]
        whole = _outputs(func(mus, mu_z, beta_x, beta_z, m, *extra))
        column = _outputs(func(mus[:, None], mu_z, beta_x, beta_z, m, *extra))
        shuffled = _outputs(func(mus[perm], mu_z, beta_x, beta_z, m, *extra))
        single = [_outputs(func(v, mu_z, beta_x, beta_z, m, *extra)) for v in mus]
        for k, w in enumerate(whole):
            np.testing.assert_array_equal(w, column[k].reshape(w.shape), err_msg=f"{name}: shape changed values")
            np.testing.assert_array_equal(w[perm], shuffled[k], err_msg=f"{name}: order changed values")
            one = np.stack([s[k] for s in single])
            if w.dtype == np.bool_:
                np.testing.assert_array_equal(w, one, err_msg=f"{name}: batch != single")
            else:
                # 0-d inputs make numpy scalars, whose x**2 is libm pow(): 1 ulp off x*x (e.g. x = -0.6981648016859571)
                np.testing.assert_array_max_ulp(w, one, maxulp=2)


@FAST
@given(mu_st, mu_st, beta_st, beta_st, m_st)
@example(1.0, 1.0, 5.0, 5.0, 0.0)
@example(0.0, 0.0, 1.0, 1.0, 0.0)
@example(math.pi, math.pi, 1.0, 1.0, 0.0)
@example(1e-300, 2.0, 1.0, 1.0, 1e-300)
def test_section5_nan_exactly_where_unstable(mu_x, mu_z, beta_x, beta_z, m):
    """eigentunes is NaN for both modes iff stable() is False, and finite where stable (one mask)."""
    g_p, g_m = cb.eigentunes(mu_x, mu_z, beta_x, beta_z, m)
    ok = bool(cb.stable(mu_x, mu_z, beta_x, beta_z, m))
    assert ok == bool(np.isfinite(g_p) and np.isfinite(g_m)), "stable() and the NaN pattern of g± disagree"
    t_p, t_m, t_ok = cb.tunes_and_stability(mu_x, mu_z, beta_x, beta_z, m)
    assert bool(t_ok) == ok, "tunes_and_stability and stable() disagree"
    if ok:
        assert 0.0 <= g_p <= g_m <= math.pi


@FAST
@given(mu_st, mu_st, beta_st, beta_st, m_st, st.floats(0, 1e-2), st.floats(0, 1e-2))
@example(1.0, 1.0, 5.0, 5.0, 0.0, 1e-3, 1e-3)      # b = 0: omega does not exist
@example(3.0, 3.0, 10.0, 10.0, 0.5, 1e-3, 1e-3)    # sum stop band
def test_eigentune_report_never_returns_nan(mu_x, mu_z, beta_x, beta_z, m, d11, d22):
    """The scalar report gives floats or None (an unstable mode), never NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cb.ResonanceWarning)
        rep = eigentune_report(mu_x, mu_z, beta_x, beta_z, m, d11, d22)
    for key, val in rep.items():
        assert val is None or isinstance(val, (bool, float)), f"{key} = {val!r}"
        if isinstance(val, float):
            assert math.isfinite(val), f"{key} is {val} (silent NaN)"
    assert rep["stable"] == (rep["g_plus"] is not None and rep["g_minus"] is not None)


# |mu| < 1e-100 makes sin(mu_x/2) sin(mu_z/2) underflow in float64: a boundary distance of 1e-375 is beyond it
mu_normal = mu_st.filter(lambda v: v == 0.0 or abs(v) > 1e-100)


@settings(max_examples=15, deadline=None)
@given(mu_normal, mu_normal, beta_st, beta_st, m_st)
@example(3.0, 3.0, 10.0, 10.0, 0.5)
@example(-4.963002222233543e-78, 0.5, 1.0, 1.0, 1.0)
def test_eigentune_report_precision_never_returns_nan_and_agrees_on_stability(mu_x, mu_z, beta_x, beta_z, m):
    """precision=30 gives floats or None and the same stability verdict as float64 away from boundaries."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cb.ResonanceWarning)
        f = eigentune_report(mu_x, mu_z, beta_x, beta_z, m)
    h = eigentune_report(mu_x, mu_z, beta_x, beta_z, m, precision=30)
    for key, val in h.items():
        if isinstance(val, float):
            assert math.isfinite(val), f"{key} is {val}"
    from coupled_beam.precision import float64_digits

    if float64_digits(mu_x, mu_z, beta_x, beta_z, m) > 12:
        assert f["stable"] == h["stable"], "float64 and 30-digit stability differ at a well-conditioned point"


@pytest.mark.parametrize("bad", [[1.0, 2.0], "1", float("nan"), float("inf"), None])
def test_eigentune_report_non_scalar_or_non_finite_is_input_error(bad):
    """Arrays, text, NaN and inf in the scalar report raise InputError."""
    with pytest.raises(InputError):
        eigentune_report(bad, 1.0, 1.0, 1.0, 0.0)


# ---------------------------------------------------------------- formula (10)
def _damped_map(mu_x, mu_z, beta_x, beta_z, m, d):
    return np.asarray(cb.thin_skew_one_turn_map(mu_x, mu_z, beta_x, beta_z, m, 0.2, -0.1, d, 0.7 * d))


psd_noise = hnp.arrays(np.float64, (4, 4), elements=st.floats(-1, 1)).map(lambda a: a @ a.T)


@FAST
@given(mu_st, mu_st, beta_st, beta_st, m_st, st.floats(1e-6, 0.5), psd_noise)
def test_equilibrium_moments_symmetric_or_hierarchy_error(mu_x, mu_z, beta_x, beta_z, m, d, R):
    """(10) on damped §5 maps: a finite symmetric result, or UnstableError/ResonanceError, nothing else."""
    N = _damped_map(mu_x, mu_z, beta_x, beta_z, m, d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cb.ResonanceWarning)
        try:
            S = cb.equilibrium_moments(N, R)
        except (UnstableError, ResonanceError) as err:
            assert pickle.loads(pickle.dumps(err)).args == err.args
            return
    assert np.all(np.isfinite(S)), "silent NaN in equilibrium moments"
    np.testing.assert_array_equal(S, S.T, err_msg="moments not symmetric")


@FAST
@given(hnp.arrays(np.float64, (4, 4), elements=st.floats(-3, 3)), psd_noise)
def test_equilibrium_moments_arbitrary_map_no_foreign_exception(N, R):
    """Any finite 4x4 N: a finite symmetric result or an error of the hierarchy (no LinAlgError, no NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cb.ResonanceWarning)
        try:
            S = cb.equilibrium_moments(N, R)
        except CoupledBeamError:
            return
    assert np.all(np.isfinite(S)), f"silent NaN/inf for N = {N.tolist()}"
    np.testing.assert_array_equal(S, S.T)


@pytest.mark.parametrize("N, R, exc", [
    (np.full((4, 4), np.nan), np.eye(4), InputError),
    (np.eye(3), np.eye(4), InputError),
    ("abc", np.eye(4), InputError),
    (0.5 * np.eye(4), np.triu(np.ones((4, 4))), InputError),      # non-symmetric noise
    (np.eye(4), np.eye(4), UnstableError),                         # undamped: |Delta| = 1
    (2 * np.eye(4), np.eye(4), UnstableError),                     # growing
])
def test_equilibrium_moments_bad_input_named_errors(N, R, exc):
    """NaN, shape, text, asymmetric noise and unstable maps raise the named error, float64 and 30 digits."""
    for precision in (None, 30):
        with pytest.raises(exc):
            cb.equilibrium_moments(N, R, precision=precision)


# --------------------------------------------------------- §3 and appendix
sym2 = hnp.arrays(np.float64, (2, 2), elements=st.floats(-1e3, 1e3)).map(lambda a: a + a.T)


@FAST
@given(sym2, hnp.arrays(np.float64, 2, elements=st.floats(-10, 10)), st.floats(0, 1e-2))
def test_folded_mu_and_beam_spot_symmetric_or_masked(S, eta, p2):
    """folded_mu of a symmetric matrix is symmetric (NaN only where not positive-definite); beam_spot follows."""
    mu = cb.folded_mu(S, eta, p2)
    finite = np.all(np.isfinite(mu))
    assert finite or np.all(np.isnan(mu)), "partly NaN mu"
    if finite:
        np.testing.assert_array_equal(mu, mu.T)
        theta, lo, hi, inv = cb.beam_spot(mu)
        assert lo <= hi and -math.pi / 2 < theta <= math.pi / 2


@pytest.mark.parametrize("func, args", [
    (cb.folded_mu, (np.full((2, 2), np.nan), [1.0, 0.0], 1e-6)),
    (cb.folded_mu, (np.eye(2), [np.inf, 0.0], 1e-6)),
    (cb.folded_mu, (np.eye(2), [1.0, 0.0], np.nan)),
    (cb.folded_mu, ("x", [1.0, 0.0], 1e-6)),
    (cb.folded_mu, (np.eye(2) + 1j, [1.0, 0.0], 1e-6)),
    (cb.beam_spot, (np.full((2, 2), np.inf),)),
    (cb.beam_spot, ("x",)),
    (cb.beam_spot, (np.eye(3),)),
])
def test_distribution_non_finite_or_non_numeric_is_input_error(func, args):
    """NaN/inf, text and complex moments raise InputError instead of a silent NaN spot."""
    with pytest.raises(InputError):
        func(*args)


# ---------------------------------------------------------------- lattice
big_float = any_float  # |x| > 1e100 is rejected (Bend(K=1.3e154) used to overflow K**2: OverflowError)


@FAST
@given(st.sampled_from(["Drift", "Bend", "Quadrupole", "SkewQuadrupole", "Solenoid"]), big_float, big_float)
def test_elements_any_float_build_or_input_error(kind, length, strength):
    """Element constructors accept finite values (length >= 0) and raise InputError otherwise."""
    cls = getattr(lattice, kind)
    args = (length,) if kind == "Drift" else (length, strength)
    ok = (math.isfinite(length) and 0 <= length <= 1e100
          and (kind == "Drift" or (math.isfinite(strength) and abs(strength) <= 1e100)))
    try:
        el = cls(*args)
    except InputError:
        assert not ok, f"{kind}{args} rejected"
        return
    assert ok, f"{kind}{args} accepted"
    assert np.all(np.isfinite(el.transfer_map())) or length > 1e3 or abs(strength) > 1e3


@pytest.mark.parametrize("elements", [[], [1, 2], "abc", [lattice.Drift(1.0), None]])
def test_ring_from_non_elements_is_input_error(elements):
    """An empty ring or non-element items raise InputError."""
    with pytest.raises(InputError):
        cb.Ring(elements)


def test_ring_without_damping_has_no_equilibrium():
    """A ring of drifts (|Δ| = 1) raises UnstableError from Ring.equilibrium, never returns NaN."""
    with pytest.raises(UnstableError):
        cb.Ring([lattice.Drift(1.0)] * 4).equilibrium()


@settings(max_examples=15, deadline=None)
@given(st.floats(0.1, 3.0), st.floats(-2.0, 2.0), st.floats(1e-4, 0.05), st.integers(2, 6))
def test_ring_equilibrium_symmetric_moments_or_hierarchy_error(length, k1, damping, cells):
    """Random damped FODO-like rings: symmetric finite moments and sizes, or an error of the hierarchy."""
    D = damping * np.eye(2)
    phi = np.diag([0.0, 1e-10, 0.0, 1e-10])
    cell = [lattice.Bend(length, K=0.5, n=0.5, D=D, phi_hat=phi), lattice.Quadrupole(0.2, k1, D=D, phi_hat=phi)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cb.ResonanceWarning)
        try:
            eq = cb.Ring(cell * cells).equilibrium()
        except (UnstableError, ResonanceError):
            return
    np.testing.assert_array_equal(eq.moments, np.swapaxes(eq.moments, -1, -2))
    assert np.all(np.isfinite(eq.sigma_x)) and np.all(np.isfinite(eq.sigma_z)), "silent NaN sizes"


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("cls", [errors.InputError, errors.UnstableError, errors.ResonanceError,
                                 errors.LatticeFileError, errors.UnknownElementError])
def test_every_error_is_caught_by_its_builtin_and_the_base(cls):
    """except ValueError/ArithmeticError and except CoupledBeamError both catch every error."""
    builtin = ArithmeticError if cls is errors.ResonanceError else ValueError
    with pytest.raises(builtin):
        raise cls("x = 1: change it", value=1.0)
    with pytest.raises(CoupledBeamError):
        raise cls("x = 1: change it", value=1.0)


def test_distribution_lattice_errors_name_the_value():
    """Messages name the offending value (the hierarchy's contract)."""
    with pytest.raises(InputError, match="-1"):
        lattice.Drift(-1.0)
    with pytest.raises(InputError, match="nan"):
        distribution.folded_mu(np.eye(2), [float("nan"), 0.0], 1e-6)


@pytest.mark.parametrize("N", [
    np.array([[0.5, 1, 0, 0], [0, 0.5, 0, 0], [0, 0, 0.3, 0], [0, 0, 0, 0.3]]),   # Jordan block
    np.array([[0.0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]),          # nilpotent
])
def test_equilibrium_moments_defective_map_is_resonance_error(N):
    """A non-diagonalizable N (coinciding modes) has no U of (10): ResonanceError, not NaN or garbage."""
    for precision in (None, 30):
        with pytest.raises(ResonanceError, match="diagonalizable"):
            cb.equilibrium_moments(N, np.eye(4), precision=precision)


# ----------------------------------------------------------- lattice files
_TOKENS = ["drift", "bend", "quadrupole", "skew", "thin_skew", "solenoid", "generic", "repeat", "end", "ring",
           "wiggler", "L=1", "L=-1", "L=nan", "K=0.5", "k1=abc", "k1=1", "m=0.1", "H=0.2", "M=0.1", "n=0",
           "p2=1e-6", "energy=0.5", "energy=-3", "2", "0", "x", "=", "#c", "phi22=1e-9", "phi42=1", "D11=1e-3",
           "K11=1", "K22=1", "name=Q", "L=1e400"]
lattice_text = st.lists(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=5).map(" ".join),
                        max_size=8).map("\n".join)


@FAST
@given(lattice_text)
@example("repeat 100000000000\n drift L=1\nend")
@example("bend L=1 K=0.5\nwiggler L=2")
def test_lattice_text_parses_or_lattice_file_error_naming_line(text):
    """Any token soup gives a Ring or a LatticeFileError; errors about a line carry .line and .field."""
    from coupled_beam.lattice_file import parse_lattice

    try:
        ring = parse_lattice(text)
    except errors.LatticeFileError as err:
        if str(err).startswith("line"):
            assert isinstance(err.line, int) and 1 <= err.line <= max(1, text.count("\n") + 1), err.details
            assert err.field, "no field named"
        assert pickle.loads(pickle.dumps(err)).details == err.details
        return
    assert len(ring) >= 1


json_value = st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=5),
                          lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                          max_leaves=8)
json_element = st.fixed_dictionaries({"type": st.sampled_from(["drift", "bend", "thin_skew", "foo", 3])},
                                     optional={"L": json_value, "K": json_value, "m": json_value})


@FAST
@given(st.one_of(st.lists(json_element, max_size=4), json_value))
def test_lattice_json_parses_or_lattice_file_error(obj):
    """Any JSON document gives a Ring or a LatticeFileError, never KeyError/TypeError."""
    import json

    from coupled_beam.lattice_file import parse_lattice

    text = json.dumps(obj)
    if not text.lstrip().startswith(("[", "{")):
        text = "[" + text + "]"
    try:
        parse_lattice(text)
    except errors.LatticeFileError:
        pass


# --------------------------------------------------------------------- CLI
def _run_cli(argv, capsys):
    from coupled_beam import cli

    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.err


@pytest.mark.parametrize("argv", [
    ["tunes", "--mu-x", "1", "--mu-z", "1.2", "--beta-x", "-1", "--beta-z", "1", "--m", "0"],
    ["tunes", "--mu-x", "inf", "--mu-z", "1.2", "--beta-x", "1", "--beta-z", "1", "--m", "0"],
    ["tunes", "--mu-x", "1", "--mu-z", "1.2", "--beta-x", "1", "--beta-z", "1"],
    ["tunes", "--mu-x", "1", "--mu-z", "1.2", "--beta-x", "1", "--beta-z", "1", "--m", "0", "--dps", "4"],
    ["scan", "--grid", "mu_x=0:1:x"],
    ["scan", "--grid", "foo=0:1:3"],
    ["derive", "no-such-result"],
    ["check", "x+", "x"],
    ["equilibrium", "no/such/file.lat"],
    ["bench", "--n", "many"],
    ["verify", "--section", "99"],
    ["no-such-command"],
    [],
    ["scan", "--random", "100000000000", "--range", "mu_x=0:1", "--set", "mu_z=1", "--set", "beta_x=1",
     "--set", "beta_z=1", "--set", "m=0"],                          # 745 GiB: MemoryError -> one line
])
def test_cli_bad_input_exits_2_with_one_stderr_line(argv, capsys):
    """Every command answers bad input with exit status 2 and exactly one line on stderr, no traceback."""
    code, err = _run_cli(argv, capsys)
    assert code == 2, f"{argv}: exit {code}, stderr {err!r}"
    assert err.count("\n") == 1 and "Traceback" not in err, f"{argv}: stderr {err!r}"


@pytest.mark.parametrize("text", ["bend L=1 K=0.5\nwiggler L=2\n", "drift L=1 Q=3\n", "repeat 3\n drift L=1\n"])
def test_cli_equilibrium_malformed_lattice_file_names_line(text, tmp_path, capsys):
    """`equilibrium FILE` with a malformed file: exit 2, one line naming the line of the file."""
    path = tmp_path / "bad.lat"
    path.write_text(text)
    code, err = _run_cli(["equilibrium", str(path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "line" in err, err


# -------------------------------------------------- ring, radiation, scan
@pytest.mark.parametrize("index", [1.5, "a", None, True])
def test_ring_boundary_index_must_be_integer(index):
    """Ring.one_turn_map / transfer_map with a float, text, None or bool index raise InputError."""
    ring = cb.Ring([lattice.Drift(1.0)] * 4)
    with pytest.raises(InputError, match="integer"):
        ring.one_turn_map(index)
    with pytest.raises(InputError, match="integer"):
        ring.transfer_map(0, index)


@pytest.mark.parametrize("elements", [[], [1, 2], [lattice.Bend(1.0, 0.5), "bend"]])
def test_radiation_parameters_junk_elements_is_input_error(elements):
    """radiation_parameters and with_radiation of non-elements raise InputError (was AttributeError)."""
    from coupled_beam import radiation

    with pytest.raises(InputError):
        radiation.radiation_parameters(elements, 0.5)
    with pytest.raises(InputError):
        radiation.with_radiation(elements, 0.5)


@pytest.mark.parametrize("ranges", [{"mu_x": (1.0, 0.0)}, {"mu_x": (math.nan, 1.0)}, {"mu_x": ("a", 1.0)},
                                    {"mu_x": (0.0, math.inf)}])
def test_random_points_bad_range_is_input_error(ranges):
    """Reversed, NaN, text or infinite ranges raise InputError naming the parameter."""
    from coupled_beam import scan

    with pytest.raises(InputError, match="mu_x"):
        scan.random_points(3, ranges)


def test_scan_text_axis_is_input_error():
    """A grid axis of text raises InputError, not numpy's ValueError."""
    from coupled_beam import scan

    with pytest.raises(InputError, match="mu_x"):
        scan.scan("eigentunes", axes={"mu_x": "abc"}, fixed={"mu_z": 1, "beta_x": 1, "beta_z": 1, "m": 0})


@pytest.mark.parametrize("func, args", [
    (distribution.position_density, (np.eye(2), math.nan, 0.0)),
    (distribution.overlap_inv_area, (np.eye(2), np.eye(2), (math.nan, 0.0))),
    (distribution.overlap_inv_area, (np.eye(2), np.eye(2), "ab")),
])
def test_density_and_overlap_bad_coordinates_are_input_error(func, args):
    """NaN or text positions and offsets raise InputError instead of a NaN density."""
    with pytest.raises(InputError):
        func(*args)


@pytest.mark.parametrize("bad", [3, None, "ring", [1, 2]])
def test_ring_from_pyat_non_lattice_is_input_or_unknown_element_error(bad):
    """Non-lattices give InputError; lists of non-elements UnknownElementError (no TypeError)."""
    from coupled_beam.interop.pyat import ring_from_pyat

    with pytest.raises((InputError, errors.UnknownElementError)):
        ring_from_pyat(bad)


# ------------------------------------------------ shape and order independence
@settings(max_examples=10, deadline=None)
@given(st.integers(1, 7), st.floats(-0.1, 0.1), st.floats(0.3, 1.2))
def test_ring_equilibrium_independent_of_starting_element(shift, m, k1):
    """Starting the ring at element k gives, at its s = 0, the moments the original ring has at boundary k."""
    D = 5e-3 * np.eye(2)
    phi = np.diag([0.0, 1e-10, 0.0, 2e-11])
    cell = [lattice.Bend(1.0, K=0.4, n=0.3, D=D, phi_hat=phi), lattice.Quadrupole(0.3, k1, D=D, phi_hat=phi),
            lattice.ThinSkewQuadrupole(m), lattice.Drift(0.5, D=D, phi_hat=phi)]
    elements = cell * 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cb.ResonanceWarning)
        try:
            S = cb.Ring(elements).moments()
        except (UnstableError, ResonanceError):
            return
        S_rot = cb.Ring(elements[shift:] + elements[:shift]).moments()
    # two float64 solves of (10) at different points, condition ~1/(damping) ~ 1e2
    np.testing.assert_allclose(S_rot[0], S[shift], rtol=1e-9, atol=1e-12 * np.abs(S).max())


@FAST
@given(hnp.arrays(np.float64, (3, 2, 2), elements=st.floats(-1e3, 1e3)).map(lambda a: a + np.swapaxes(a, 1, 2)),
       hnp.arrays(np.float64, (3, 2), elements=st.floats(-10, 10)), st.floats(0, 1e-2))
def test_folded_mu_and_beam_spot_batch_equals_single(S, eta, p2):
    """Batched folded_mu/beam_spot equal the point-by-point results (bitwise, NaN included)."""
    mu = cb.folded_mu(S, eta, p2)
    for i in range(3):
        np.testing.assert_array_equal(mu[i], cb.folded_mu(S[i], eta[i], p2))
    spot = cb.beam_spot(np.nan_to_num(mu, nan=0.0))
    for i in range(3):
        single = cb.beam_spot(np.nan_to_num(mu[i], nan=0.0))
        for k in range(4):
            np.testing.assert_array_equal(spot[k][i], single[k])


@pytest.mark.parametrize("kw", [{"D": "x"}, {"D": np.eye(2) * 1j}, {"phi_hat": [[1, 2], [3]]}])
def test_element_matrix_arguments_non_numeric_is_input_error(kw):
    """Text, complex or ragged D and phi_hat raise InputError naming the field."""
    with pytest.raises(InputError, match=next(iter(kw))):
        lattice.Bend(1.0, 0.5, **kw)


# positive-definite with condition number <= 6: the overlap's exponent stays well conditioned
pd2 = hnp.arrays(np.float64, (2, 2), elements=st.floats(-30, 30)).map(
    lambda a: a @ a.T + 0.2 * (np.trace(a @ a.T) + 1e-3) * np.eye(2))


@FAST
@given(pd2, pd2, hnp.arrays(np.float64, 2, elements=st.floats(-1, 1)))
def test_overlap_inv_area_symmetric_in_the_two_beams(mu1, mu2, d):
    """∫P₁P₂ does not depend on which beam is called 1 (offset reversed), and equals 1/S for one beam."""
    a = cb.overlap_inv_area(mu1, mu2, d)
    b = cb.overlap_inv_area(mu2, mu1, -d)
    assert np.isfinite(a) and a >= 0, "silent NaN or negative overlap of positive-definite beams"
    # the same closed form with the roles swapped: rounding only
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(cb.overlap_inv_area(mu1, mu1), cb.beam_spot(mu1)[3], rtol=1e-12, atol=1e-300)


# ------------------------------------------------- §5 closed-form equilibrium
@FAST
@given(st.lists(any_float, min_size=7, max_size=7))
def test_moments_far_any_float_returns_or_input_error(args):
    """moments_far: any float gives finite-or-NaN moments with a positive or NaN emittance ratio, or InputError."""
    from coupled_beam.skew_equilibrium import moments_far

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = moments_far(*args)
        except InputError:
            return
    assert all(math.isfinite(a) for a in args) and args[2] > 0 and args[3] > 0, f"accepted {args}"
    ratio = np.asarray(res.emittance_ratio)
    assert np.isnan(ratio) or 0 <= ratio <= 1, f"emittance ratio {ratio}"  # 0 exactly at m = 0


@FAST
@given(mu_st, mu_st, beta_st, beta_st, st.floats(-0.3, 0.3), st.floats(1e-5, 1e-2), st.floats(1e-5, 1e-2))
def test_moments_far_positive_semidefinite_where_defined(mu_x, mu_z, beta_x, beta_z, m, d11, d22):
    """Where moments_far is finite the 2x2 betatron moments are a covariance: <x²>, <z²> >= 0, det >= 0."""
    from coupled_beam.skew_equilibrium import moments_far

    res = moments_far(mu_x, mu_z, beta_x, beta_z, m, d11, d22)
    xx, zz, xz = (float(v) for v in (res.xx, res.zz, res.xz))
    if all(map(math.isfinite, (xx, zz, xz))):
        scale = max(xx, zz, 1e-300)
        # exact covariance of a closed form: only rounding can make det slightly negative
        assert xx >= 0 and zz >= 0 and xx * zz - xz * xz >= -1e-12 * scale * scale, (xx, zz, xz)
