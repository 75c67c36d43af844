"""Closed forms for a user's own lattice (derivations.symbolic_lattice): proofs, kernels, examples, bad input.

References come from independent routes: the §5 module's own derivation
(derivations.skew_quadrupole, skew_equilibrium), the numeric engine's element
maps and eigenvalues, formula (10) solved numerically (equilibrium_moments).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import coupled_beam as cb
from coupled_beam.errors import BudgetExceededError, InputError, KernelCheckError, LatticeFileError
import derivations.skew_quadrupole as sq
from derivations.symbolic_lattice import (Arc, Budget, Drift, Matrix, Quadrupole, SkewQuadrupole, Solenoid,
                                          SymbolicLattice, ThinQuadrupole, ThinSkewQuadrupole, ThinSolenoid,
                                          is_zero)
from derivations.symbolic_lattice import kernels as K
from derivations.symbolic_lattice.check import NumericLattice
from derivations.symbolic_lattice.lattice import J4, Chain
from derivations.symbolic_lattice.reader import parse_symbolic_lattice

DOM5 = {"mu_x": (0.2, 3.0), "mu_z": (0.2, 3.0), "m": (-0.3, 0.3), "beta_x": (1, 20), "beta_z": (1, 20),
        "alpha_x": (-1, 1), "alpha_z": (-1, 1)}


def section5_lattice(noise: bool = False, symbols=None) -> SymbolicLattice:
    """The §5 machine: an uncoupled arc F (Twiss, damping) and the thin skew quadrupole at its end."""
    r = dict(zip(("r11", "r12", "r22"), sp.symbols("r11 r12 r22", real=True))) if noise else {}
    arc = Arc(mu_x=sq.mu_x, beta_x=sq.beta_x, alpha_x=sq.alpha_x, mu_z=sq.mu_z, beta_z=sq.beta_z,
              alpha_z=sq.alpha_z, d11_s0=sq.d11_s0, d22_s0=sq.d22_s0, **r)
    return SymbolicLattice([arc, ThinSkewQuadrupole(sq.m)], symbols=symbols,
                           domains=DOM5 | {"r11": (1e-12, 2e-12), "r12": (-1e-13, 1e-13), "r22": (1e-12, 2e-12)})


# ---------------------------------------------------------------- one source of truth (§5)
def test_section5_a_b_from_general_engine_equal_skew_quadrupole_module():
    """a and b² of the general engine for the §5 lattice are those of derivations.skew_quadrupole (proof)."""
    a, b2 = section5_lattice().a_b2()
    a5, b25 = sq.roots_a_b()
    assert is_zero(a - a5), "a differs from skew_quadrupole.roots_a_b()[0]"
    assert is_zero(b2 - b25), "b² differs from skew_quadrupole.roots_a_b()[1]"


def test_section5_quartic_eigentunes_stability_equal_skew_quadrupole_module():
    """det(N − λ), cos g± and the stability conditions coincide with §5's (proof, canonical trig form)."""
    lat = section5_lattice()
    assert is_zero(sp.expand(lat.characteristic_polynomial() - sq.characteristic_polynomial(False))), \
        "quartic differs"
    b = sp.Symbol("b", positive=True)
    for mine, theirs in zip(lat.cos_eigentunes(), sq.cos_eigentunes()):
        assert is_zero((mine - theirs).xreplace({sp.sqrt(lat.a_b2()[1]): b, sp.sqrt(sq.b_squared()): b})), \
            "cos g± differ"
    ours, paper = lat.stability_conditions(), sq.stability_conditions()
    assert [type(c) for c in ours] == [type(c) for c in paper]
    assert is_zero(ours[0].lhs - paper[0].lhs), "b² >= 0 differs"


def test_section5_mode_damping_from_general_engine_equal_skew_quadrupole_module():
    """ω± = −e0/4 ± (e3 − e1 − a e0)/(4b) of the general engine is §5's (d11+d22)/4 ± (d11−d22)(cx−cz)/(4b)."""
    lat = section5_lattice()
    b = sp.Symbol("b", positive=True)
    chain = Chain(*lat._turn(0), b=b)
    mine = chain.mode_damping()
    theirs = [e.xreplace({sq.b: b}) for e in sq.mode_damping_closed_form()]
    for k, (x, y) in enumerate(zip(mine, theirs)):
        assert is_zero(x - y), f"omega {'+-'[k]} differs: {sp.simplify(x - y)}"
    derived = [e.xreplace({sq.b: b}) for e in sq.mode_damping_first_order()]
    for x, y in zip(mine, derived):
        assert is_zero(x - y), "differs from skew_quadrupole.mode_damping_first_order()"


def test_section5_moments_kernel_equals_skew_equilibrium_kernel(tmp_path, rng):
    """Far-from-resonance <x²>, <z²>, <xz>, ε± and tilt agree with the §5 kernel skew_moments_far to 1e-9."""
    kernels = pytest.importorskip("coupled_beam._kernels")
    if not hasattr(kernels, "skew_moments_far"):
        pytest.skip("skew_moments_far not generated in this tree")
    lat = section5_lattice(noise=True)
    k = K.lattice_kernels(lat, cache=tmp_path)
    n = 200
    p = {"mu_x": rng.uniform(0.3, 1.2, n), "mu_z": rng.uniform(1.6, 2.8, n), "beta_x": rng.uniform(2, 10, n),
         "beta_z": rng.uniform(2, 10, n), "m": rng.uniform(-0.05, 0.05, n), "alpha_x": rng.uniform(-1, 1, n),
         "alpha_z": rng.uniform(-1, 1, n), "d11_s0": rng.uniform(1e-6, 1e-5, n),
         "d22_s0": rng.uniform(1e-6, 1e-5, n), "r11": rng.uniform(0, 1e-12, n),
         "r12": rng.uniform(-1e-13, 1e-13, n), "r22": rng.uniform(1e-12, 2e-12, n)}
    xx, xz, zz, ep, em, tilt = k.moments_far(**p)
    order = ("mu_x", "mu_z", "beta_x", "beta_z", "m", "alpha_x", "alpha_z", "d11_s0", "d22_s0", "r11", "r12", "r22")
    r_xx, r_zz, r_xz, r_ep, r_em, r_tilt = kernels.skew_moments_far(*(p[s] for s in order))
    for name, mine, ref in (("<x²>", xx, r_xx), ("<z²>", zz, r_zz), ("<xz>", xz, r_xz), ("tilt", tilt, r_tilt)):
        np.testing.assert_allclose(mine, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)),
                                   err_msg=f"{name}: general engine vs §5 skew_equilibrium")
    np.testing.assert_allclose(np.sort([ep, em], axis=0), np.sort([r_ep, r_em], axis=0), rtol=1e-9, atol=0,
                               err_msg="eigen-emittances")


def test_section5_eigentunes_kernel_equals_public_eigentunes(tmp_path, rng):
    """The generated g± of the §5 lattice equal coupled_beam.eigentunes to 1e-12 rad (stable points)."""
    k = K.lattice_kernels(section5_lattice(), cache=tmp_path)
    n = 500
    p = {"mu_x": rng.uniform(0.1, 3.0, n), "mu_z": rng.uniform(0.1, 3.0, n), "beta_x": rng.uniform(1, 20, n),
         "beta_z": rng.uniform(1, 20, n), "m": rng.uniform(-0.1, 0.1, n), "alpha_x": 0.3, "alpha_z": -0.2,
         "d11_s0": 0.0, "d22_s0": 0.0}
    gp, gm = k.eigentunes(**p)
    rp, rm = cb.eigentunes(p["mu_x"], p["mu_z"], p["beta_x"], p["beta_z"], p["m"])
    ok = np.isfinite(rp) & np.isfinite(rm)
    assert ok.sum() > n // 3
    assert np.array_equal(np.isfinite(gp), np.isfinite(rp)), "stability masks differ"
    np.testing.assert_allclose(gp[ok], rp[ok], rtol=0, atol=1e-12)
    np.testing.assert_allclose(gm[ok], rm[ok], rtol=0, atol=1e-12)


def test_absolute_value_pinned():
    """Pinned: μx = 1, μz = 2, βx = βz = 1, m = 0.1 gives g+ = acos((a + b)/2) = 0.99762638...."""
    lat = section5_lattice()
    a, b2 = lat.a_b2()
    vals = {sq.mu_x: 1, sq.mu_z: 2, sq.beta_x: 1, sq.beta_z: 1, sq.m: sp.Rational(1, 10), sq.alpha_x: 0,
            sq.alpha_z: 0}
    g_plus = float(sp.acos((a + sp.sqrt(b2)) / 2).subs(vals))
    N = cb.thin_skew_one_turn_map(1.0, 2.0, 1.0, 1.0, 0.1)
    ref = np.sort(np.abs(np.angle(np.linalg.eigvals(N))))[0]
    assert abs(g_plus - ref) < 1e-13
    assert abs(g_plus - 0.99762638497) < 1e-10



def test_block_form_of_b2_equals_trace_form_for_symplectic_maps(rng):
    """The kernels' b² = ((tr A − tr D)/2)² + det(B + adj C) is §5's a² − E2 + 2 on symplectic N, not otherwise."""
    lat = section5_lattice()
    a, b2 = lat.a_b2()
    a_blk, b2_blk = Chain(*lat._turn(0), block_form=True).a_b2()
    assert is_zero(a - a_blk) and is_zero(b2 - b2_blk)
    J = np.kron(np.eye(2), np.array([[0.0, 1.0], [-1.0, 0.0]]))
    for _ in range(5):                        # random symplectic N: Cayley maps of random Hamiltonian X = J S
        N = np.eye(4)
        for _ in range(4):
            S = rng.normal(size=(4, 4))
            X = J @ (S + S.T) * 0.3
            N = np.linalg.solve(np.eye(4) - X / 2, np.eye(4) + X / 2) @ N
        assert np.allclose(N.T @ J @ N, J, atol=1e-12)
        ref = Chain(sp.Matrix(N), sp.zeros(4, 4), sp.zeros(4, 1), sp.zeros(4, 4)).a_b2()
        blk = Chain(sp.Matrix(N), sp.zeros(4, 4), sp.zeros(4, 1), sp.zeros(4, 4), block_form=True).a_b2()
        assert abs(float(ref[1] - blk[1])) < 1e-10 * (1 + abs(float(ref[1])))
        assert abs(float(ref[0] - blk[0])) < 1e-12
    N = np.diag([1.1, 1.0, 1.0, 1.0]) @ N                    # not symplectic: the two forms differ
    ref = Chain(sp.Matrix(N), sp.zeros(4, 4), sp.zeros(4, 1), sp.zeros(4, 4)).a_b2()
    blk = Chain(sp.Matrix(N), sp.zeros(4, 4), sp.zeros(4, 1), sp.zeros(4, 4), block_form=True).a_b2()
    assert abs(float(ref[1] - blk[1])) > 1e-3


# -------------------------------------------------------------------------- elements
@pytest.mark.parametrize("sym_el, numeric", [
    (Quadrupole(sp.Rational(7, 10), sp.Rational(9, 10)), lambda L: L.Quadrupole(0.7, 0.9)),
    (Quadrupole(sp.Rational(7, 10), -sp.Rational(9, 10)), lambda L: L.Quadrupole(0.7, -0.9)),
    (SkewQuadrupole(sp.Rational(7, 10), sp.Rational(4, 5)), lambda L: L.SkewQuadrupole(0.7, M=0.8)),
    (Solenoid(sp.Rational(7, 10), sp.Rational(9, 10)), lambda L: L.Solenoid(0.7, 0.9)),
    (Drift(sp.Rational(3, 2)), lambda L: L.Drift(1.5)),
    (ThinSkewQuadrupole(sp.Rational(1, 10)), lambda L: L.ThinSkewQuadrupole(0.1)),
])
def test_thick_element_map_equals_numeric_engine_and_is_symplectic(sym_el, numeric):
    """exp(A L) in closed form equals the numeric engine's transfer_map (1e-13) and Mᵀ J M = J (proof)."""
    from coupled_beam import lattice as L

    M = sym_el.matrix()
    np.testing.assert_allclose(np.array(M.evalf(), dtype=float), numeric(L).transfer_map(), rtol=0, atol=1e-13)
    assert is_zero(M.T * J4 * M - J4)


def test_symbolic_thick_elements_are_symplectic_for_any_parameters():
    """Quadrupole (k1 > 0), skew (M < 0), solenoid, thin solenoid, Twiss arc: Mᵀ J M = J identically."""
    L, k, H, t, f = sp.Symbol("L", positive=True), sp.Symbol("k", positive=True), sp.Symbol("H", real=True), \
        sp.Symbol("t", real=True), sp.Symbol("f", real=True)
    mu, b1, b2, a1, a2 = sp.Symbol("mu", real=True), *sp.symbols("b1 b2", positive=True), *sp.symbols("a1 a2", real=True)
    for e in (Quadrupole(L, k), SkewQuadrupole(L, -k), Solenoid(L, H), ThinSolenoid(t, f),
              Arc(mu_x=mu, beta_x=b1, alpha_x=a1, beta_x_out=b2, alpha_x_out=a2, mu_z=mu)):
        M = e.matrix()
        assert is_zero(M.T * J4 * M - J4), f"{e.kind} is not symplectic"


# -------------------------------------------------------------------------- kernels
def test_kernels_checked_and_cached(tmp_path):
    """Cold: every checked kernel within tolerance at >= 8 points; warm: loaded from the cache, same report."""
    lat = section5_lattice(noise=True)
    k = K.lattice_kernels(lat, cache=tmp_path, points=12)
    assert not k.from_cache
    for name in ("one_turn_map", "stability_terms", "eigentunes", "mode_damping", "moments_far"):
        rep = k.report[name]
        assert rep["points"] >= 8 and rep["error"] <= rep["tolerance"], (name, rep)
    k2 = K.lattice_kernels(lat, cache=tmp_path)
    assert k2.from_cache and k2.report == json.loads(json.dumps(k.report))
    g1 = k.eigentunes(1.0, 2.0, 3.0, 4.0, 0.05, 0.1, 0.2, 0.0, 0.0, 0, 0, 0)
    g2 = k2.eigentunes(1.0, 2.0, 3.0, 4.0, 0.05, 0.1, 0.2, 0.0, 0.0, 0, 0, 0)
    assert g1 == g2


def test_cache_key_depends_on_lattice_and_sympy_version(monkeypatch):
    """The key changes with a field, the observation point and the sympy version."""
    lat = section5_lattice()
    key = K.cache_key(lat)
    assert K.cache_key(lat, at=1) != key
    other = SymbolicLattice([lat.elements[0].replace(alpha_x=0), lat.elements[1]])
    assert K.cache_key(other) != key
    monkeypatch.setattr(sp, "__version__", "0.0-test")
    assert K.cache_key(lat) != key


def test_loading_a_cached_kernel_imports_no_sympy(tmp_path):
    """A fresh interpreter loads the cached module and evaluates it with sympy never imported."""
    lat = section5_lattice()
    k = K.lattice_kernels(lat, cache=tmp_path)
    code = (f"import sys; from coupled_beam.generated_kernels import load; k = load({k.key!r}, {str(tmp_path)!r}); "
            "g = k.eigentunes(1.0, 2.0, 3.0, 4.0, 0.05, 0.1, 0.2, 0.0, 0.0); "
            "assert 'sympy' not in sys.modules, 'sympy imported'; print(float(g[0]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert out.returncode == 0, out.stderr
    ref = k.eigentunes(1.0, 2.0, 3.0, 4.0, 0.05, 0.1, 0.2, 0.0, 0.0)[0]
    assert float(out.stdout) == pytest.approx(float(ref), rel=1e-15)


def test_wrong_kernel_is_refused_with_counterexample(tmp_path, monkeypatch):
    """A kernel 1 % off (eigentunes × 1.01) is refused: KernelCheckError carrying the point."""
    real = K.kernel_specs

    def tampered(lattice, at=0):
        specs = real(lattice, at)
        return [s if s.name != "eigentunes" else s.__class__(s.name, s.args, s.groups,
                                                             tuple(1.01 * e for e in s.exprs), s.doc)
                for s in specs]

    monkeypatch.setattr(K, "kernel_specs", tampered)
    with pytest.raises(KernelCheckError) as err:
        K.lattice_kernels(section5_lattice(), cache=tmp_path)
    assert err.value.kernel == "eigentunes" and set(err.value.point) >= {"mu_x", "m"}
    assert "mu_x=" in str(err.value)
    assert not list((tmp_path / "kernels").glob("*.py")), "a refused kernel must not be cached"


def test_kernels_broadcast_and_keywords(tmp_path):
    """Kernels broadcast (3,) x (2, 1) to (2, 3) and take arguments by name; a wrong name is an InputError."""
    k = K.lattice_kernels(section5_lattice(), cache=tmp_path)
    g = k.eigentunes(mu_x=np.array([1.0, 1.1, 1.2]), mu_z=np.array([[2.0], [2.1]]), beta_x=3.0, beta_z=4.0,
                     m=0.01, alpha_x=0, alpha_z=0, d11_s0=0, d22_s0=0)
    assert g[0].shape == (2, 3)
    with pytest.raises(InputError, match="unknown argument 'mux'"):
        k.eigentunes(mux=1.0)


# -------------------------------------------------------------------------- examples
def _split_on_resonance(lat, values: dict) -> float:
    """(g− − g+)/2π of the numeric one-turn map (eigenvalues), undamped."""
    N, *_ = NumericLattice(lat, values).turn(0)
    g = np.sort(np.abs(np.angle(np.linalg.eigvals(N))))
    return (g[2] - g[0]) / (2 * np.pi)


def test_example_a_delta_qmin_and_cancellation():
    """Two skew quads: ΔQmin = √(βxβz)|m1 + m2 e^{iΔ}|/2π matches the numeric split on resonance (0.5 %);
    at m2 = −m1, Δφx = Δφz the first-order C− vanishes and the split is second order."""
    from derivations.symbolic_lattice.examples import two_skew_quadrupoles

    ex = two_skew_quadrupoles()
    lat, dq = ex["lattice"], ex["delta_qmin"]
    mu1x, mu1z, dx, dz = ex["symbols"]
    m1, m2 = sp.symbols("m1 m2", real=True)
    # on the difference resonance: total tunes equal
    vals = {"mu1x": 1.0, "dphi_x": 1.3, "mu1z": 1.7, "dphi_z": 0.6, "beta_x": 8.0, "beta_z": 3.0,
            "m1": 2e-4, "m2": 1e-4}
    first = float(dq.subs({sp.Symbol(k, **({"positive": True} if k.startswith("beta") else {"real": True})): v
                           for k, v in vals.items()}))
    split = _split_on_resonance(lat, vals)
    assert split == pytest.approx(first, rel=5e-3), (split, first)
    # cancellation: m2 = −m1 with Δφx − Δφz = 0
    assert sp.simplify(dq.subs({m2: -m1, dx: dz})) == 0
    vals_c = vals | {"dphi_x": 0.6, "mu1x": 1.7, "m2": -2e-4}
    assert _split_on_resonance(lat, vals_c) < 0.01 * first


def test_example_b_solenoid_compensated_by_two_skew_quads():
    """C− = 0 solved for m1, m2: the numeric split on resonance drops from |C−_sol| (1 %) to < 2 % of it."""
    from derivations.symbolic_lattice.examples import solenoid_compensation

    ex = solenoid_compensation()
    lat, sol = ex["lattice"], ex["solution"]
    vals = {"theta": 2e-4, "mu1x": 0.9, "mu1z": 1.4, "mu2x": 1.1, "mu2z": 0.5, "mu3x": 0.8, "mu3z": 0.9,
            "beta_x": 6.0, "beta_z": 2.0}
    subs = {s: vals[s.name] for s in lat.symbols if s.name in vals}
    alone = vals | {"m1": 0.0, "m2": 0.0}
    c_sol = float(sp.sqrt(sum(e**2 for e in ex["c_minus_solenoid"])).subs(subs))
    assert _split_on_resonance(lat, alone) == pytest.approx(c_sol, rel=1e-2)
    comp = vals | {k.name: float(v.subs(subs)) for k, v in sol.items()}
    assert _split_on_resonance(lat, comp) < 0.02 * c_sol


def test_example_c_vertical_dispersion_closed_form_against_numeric(rng):
    """ζ = 2 m ξ βz (1 − cos μx) sin μz / det(N − 1) equals solve(1 − N, n) of the numeric maps (1e-11)."""
    from derivations.symbolic_lattice.examples import skew_at_dispersion

    ex = skew_at_dispersion()
    lat = ex["lattice"]
    names = [s.name for s in lat.symbols]
    f = sp.lambdify(list(lat.symbols), [ex["zeta"], ex["xi"]], "numpy")
    for _ in range(10):
        vals = {n: rng.uniform(0.3, 2.8) for n in names} | {"m": rng.uniform(-0.2, 0.2),
                                                            "xi": rng.uniform(-2, 2), "d11_s0": 0.0, "d22_s0": 0.0}
        N, _, col, _ = NumericLattice(lat, vals).turn(0)
        eta = np.linalg.solve(np.eye(4) - N, col)
        zeta, xi = f(*(vals[n] for n in names))
        assert zeta == pytest.approx(eta[2], rel=1e-11, abs=1e-14)
        assert xi == pytest.approx(eta[0], rel=1e-11)
    # the compact form of the note: ζ = 2 m ξ βz (1 − cos μx) sin μz / det(N − 1)
    mu_x, mu_z = sp.symbols("mu_x mu_z", real=True)
    m, xi = sp.Symbol("m", real=True), sp.Symbol("xi", real=True)
    bz = sp.Symbol("beta_z", positive=True)
    compact = 2 * m * xi * bz * (1 - sp.cos(mu_x)) * sp.sin(mu_z) / ex["det_n_minus_1"]
    assert is_zero(compact - ex["zeta"])


def test_example_c_share_of_z2_against_lyapunov():
    """<z_b²> far from resonance matches formula (10) on the damped numeric map (1e-3), and the share is in (0, 1)."""
    from derivations.symbolic_lattice.examples import skew_at_dispersion

    ex = skew_at_dispersion()
    lat = ex["lattice"]
    vals = {"mu_x": 1.3, "mu_z": 2.2, "beta_x": 9.0, "beta_z": 4.0, "m": 0.02, "xi": 1.2, "d11_s0": 2e-6,
            "d22_s0": 1e-6, "phi": 1e-11}
    subs = {s: vals[s.name] for s in lat.symbols}
    N, Nd, col, R = NumericLattice(lat, vals).turn(0)
    S = cb.equilibrium_moments(Nd, R)
    zz = float(ex["zz"].subs(subs))
    assert zz == pytest.approx(S[2, 2], rel=1e-3)
    share = float(ex["share"].subs(subs | {ex["p2"]: 1e-6}))
    eta = np.linalg.solve(np.eye(4) - N, col)
    assert share == pytest.approx(eta[2] ** 2 * 1e-6 / (S[2, 2] + eta[2] ** 2 * 1e-6), rel=1e-3)
    assert 0 < share < 1


def test_six_element_lattice_kernels_pass_the_check(tmp_path):
    """The 6-element solenoid-compensation lattice (thin kicks and arcs) gives kernels that pass the check."""
    from derivations.symbolic_lattice.examples import solenoid_compensation

    k = K.lattice_kernels(solenoid_compensation()["lattice"], cache=tmp_path, points=8)
    assert k.report["eigentunes"]["error"] < 1e-9
    assert "coupling" in k.names


def test_thin_quadrupole_and_drift_lattice_checks(tmp_path):
    """A FODO-like cell (drifts, thin quads, a thin skew quad, an arc) passes the numeric check."""
    k1, m = sp.Symbol("k1", positive=True), sp.Symbol("m", real=True)
    lat = SymbolicLattice([Arc(mu_x=1.1, beta_x=5, mu_z=2.0, beta_z=3), Drift(1), ThinQuadrupole(k1),
                           Drift(1), ThinQuadrupole(-k1), ThinSkewQuadrupole(m)],
                          domains={"k1": (0.01, 0.2), "m": (-0.05, 0.05)})
    k = K.lattice_kernels(lat, cache=tmp_path, points=8)
    assert k.report["eigentunes"]["error"] < 1e-9


# -------------------------------------------------------------------------- bad input
def test_non_symplectic_element_is_refused_by_name():
    """A Matrix element with det ≠ 1 makes a-b raise InputError naming the element; char-poly still works."""
    e = Matrix(tuple(sp.S(2) if (i == j == 0) else sp.S(int(i == j)) for i in range(4) for j in range(4)),
               name="bad")
    lat = SymbolicLattice([Arc(mu_x=1, mu_z=2), e])
    lat.characteristic_polynomial()
    with pytest.raises(InputError, match=r"element 1 \(matrix 'bad'\) is not symplectic"):
        lat.a_b2()


def test_symbol_without_domain_is_named_with_the_fix():
    """β given by an undeclared symbol: InputError naming it and 'assume bx>0'."""
    with pytest.raises(InputError, match=r"symbol bx has no such declared domain: add 'assume bx>0'"):
        Arc(mu_x=1, beta_x=sp.Symbol("bx"), mu_z=2)
    with pytest.raises(InputError, match="line 3.*'assume bx>0'"):
        parse_symbolic_lattice("assume 0<mu<3\n\narc mu_x=mu beta_x=bx alpha_x=0 mu_z=1 beta_z=1 alpha_z=0\n")
    with pytest.raises(InputError, match=r"'assume k>0' or 'assume k<0'"):
        Quadrupole(1, sp.Symbol("k", real=True)).matrix()


def test_budget_exceeded_names_the_step_and_the_fix():
    """A size budget of 50 nodes, or a time budget of 0 s, raises BudgetExceededError (pickle-safe)."""
    lat = SymbolicLattice(section5_lattice().elements, budget=Budget(max_nodes=50))
    with pytest.raises(BudgetExceededError, match="one-turn map has more than 50 nodes.*fix some symbols"):
        lat.a_b2()
    lat = SymbolicLattice(section5_lattice().elements, budget=Budget(seconds=0.0))
    with pytest.raises(BudgetExceededError, match="budget of 0 s") as err:
        lat.a_b2()
    again = pickle.loads(pickle.dumps(err.value))
    assert type(again) is BudgetExceededError and again.limit == 0.0


def test_new_errors_pickle():
    """KernelCheckError keeps its counterexample through pickling."""
    e = KernelCheckError("x", kernel="eigentunes", point={"m": 0.1})
    assert pickle.loads(pickle.dumps(e)).point == {"m": 0.1}
    assert isinstance(e, ArithmeticError) and isinstance(BudgetExceededError("y"), RuntimeError)


def test_lattice_file_errors_name_line_and_field():
    """Unknown field, missing field and a bend line are refused with the line."""
    with pytest.raises(LatticeFileError, match="line 1: field 'k1' is not valid for drift"):
        parse_symbolic_lattice("drift L=1 k1=2")
    with pytest.raises(LatticeFileError, match="line 2: arc needs field 'beta_z'"):
        parse_symbolic_lattice("\narc mu_x=1 beta_x=1 alpha_x=0 mu_z=1 alpha_z=0")
    with pytest.raises(LatticeFileError, match="line 1: 'bend' has no symbolic form"):
        parse_symbolic_lattice("bend L=1 K=0.1")


# -------------------------------------------------------------------------- CLI
LAT = """# §5 with a symbolic skew strength
assume 0.2<mu<3, -0.1<m<0.1, b>0
arc mu_x=mu beta_x=b alpha_x=0 mu_z=2 beta_z=3 alpha_z=0
thin_skew m=m name=SQ
"""


def _cli(*args):
    from coupled_beam.cli import main
    return main(list(args))


def test_cli_derive_lattice_python_is_a_function_of_the_symbols(tmp_path, capsys):
    """--format python prints a function of (mu, b, m) whose value equals the numeric eigen-solve."""
    path = tmp_path / "ring.lat"
    path.write_text(LAT)
    assert _cli("derive", "eigentunes", "--lattice", str(path), "--symbols", "mu,b,m", "--format", "python") == 0
    src = capsys.readouterr().out
    ns: dict = {}
    exec(src, ns)
    g = ns["eigentunes"](mu=1.0, b=5.0, m=0.05)
    N = cb.thin_skew_one_turn_map(1.0, 2.0, 5.0, 3.0, 0.05)
    ref = np.sort(np.abs(np.angle(np.linalg.eigvals(N))))
    assert g[0] == pytest.approx(ref[0], abs=1e-12) and g[1] == pytest.approx(ref[2], abs=1e-12)


def test_cli_derive_lattice_c_json_latex_and_list(tmp_path, capsys):
    """C, JSON and LaTeX forms print; --list names the lattice results."""
    path = tmp_path / "ring.lat"
    path.write_text(LAT)
    assert _cli("derive", "mode-damping", "--lattice", str(path), "--format", "c") == 0
    assert "double" in capsys.readouterr().out
    assert _cli("derive", "delta-qmin", "--lattice", str(path), "--format", "json") == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["name"] == "delta-qmin" and set(payload["args"]) == {"b", "m"}
    assert _cli("derive", "a-b", "--lattice", str(path), "--format", "latex") == 0
    assert r"\begin{equation}" in capsys.readouterr().out
    assert _cli("derive", "--list", "--lattice", str(path)) == 0
    assert "dispersion-share" in capsys.readouterr().out


def test_cli_derive_lattice_bad_symbols_exit_2(tmp_path, capsys):
    """--symbols missing a lattice symbol, or naming an unused one, exits 2 with the fix."""
    path = tmp_path / "ring.lat"
    path.write_text(LAT)
    assert _cli("derive", "a-b", "--lattice", str(path), "--symbols", "mu,b") == 2
    assert "symbol m" in capsys.readouterr().err
    assert _cli("derive", "a-b", "--lattice", str(path), "--symbols", "mu,b,m,q") == 2
    assert "'q'" in capsys.readouterr().err


def test_cli_derive_lattice_budget_and_non_symplectic_exit_2(tmp_path, capsys):
    """--budget-nodes 100 stops the derivation with the fix named; a non-symplectic matrix is named by line."""
    path = tmp_path / "ring.lat"
    path.write_text(LAT)
    assert _cli("derive", "a-b", "--lattice", str(path), "--budget-nodes", "5") == 2
    assert "--budget-nodes" in capsys.readouterr().err
    bad = tmp_path / "bad.lat"
    bad.write_text("assume 0.2<mu<3\narc mu_x=mu beta_x=5 alpha_x=0 mu_z=2 beta_z=3 alpha_z=0\nmatrix m11=2 name=kick\n")
    assert _cli("derive", "eigentunes", "--lattice", str(bad)) == 2
    assert "matrix 'kick' (line 3)) is not symplectic" in capsys.readouterr().err
    assert _cli("derive", "char-poly", "--lattice", str(bad)) == 0


def test_cache_dir_env_var_and_corrupt_entry_regenerated(tmp_path, monkeypatch):
    """$COUPLED_BEAM_CACHE sets the folder; a corrupt cached module is regenerated, not trusted."""
    from coupled_beam import generated_kernels as gk

    monkeypatch.setenv(gk.ENV_VAR, str(tmp_path))
    assert gk.cache_dir() == tmp_path / "kernels"
    lat = section5_lattice()
    k = K.lattice_kernels(lat)                       # default folder: the env var's
    assert k.path.parent == tmp_path / "kernels"
    k.path.write_text("this is not python")
    again = K.lattice_kernels(lat)
    assert not again.from_cache and again.report["eigentunes"]["error"] < 1e-9
