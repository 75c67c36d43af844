"""§1: the Lagrangian (1) to eq. (3), A(s), edge kicks and the quadrupole limit."""

import numpy as np
import pytest
import sympy as sp

from derivations import equations_of_motion as eom
from derivations.errata import verify_checks

S = eom.SYMBOLS


def test_printed_torsion_term_is_identically_zero():
    """The printed H (x z' - z' x)/2 cancels, so the printed (1) has no solenoid at all."""
    L = eom.printed_lagrangian()
    assert not L.has(sp.Function("H")), "printed torsion term should vanish identically"


def test_torsion_from_vector_potential_equals_lagrangian_term():
    """(e/p) A.v with A = (B_s/2)(-z, x) is the derived term H (x z' - z x')/2."""
    s, H = S["s"], S["H"]
    x, z = eom.x, eom.z
    A_vec = sp.Matrix([-z, x]) * H / 2            # vector potential / (p/e), transverse part
    v = sp.Matrix([x.diff(s), z.diff(s)])
    term = (A_vec.T * v)[0]
    L = eom.lagrangian(torsion=H)
    assert sp.expand(L.coeff(H) * H - term) == 0, "torsion term != A.v"


def test_solenoid_equations_match_lorentz_force():
    """Inside a solenoid the derived (3) is x'' = H z', z'' = -H x' (v x B with B along s)."""
    ex, ez = eom.equations_of_motion()
    s = S["s"]
    Hf = sp.Function("H", real=True)(s)
    sub = {Hf.diff(s): 0, S["K"]: 0, S["M"]: 0}
    x2 = sp.solve(ex.subs(sub), eom.x.diff(s, 2))[0]
    z2 = sp.solve(ez.subs(sub), eom.z.diff(s, 2))[0]
    # Lorentz force, paraxial, (x, z, s) right-handed: a = (q/p) v x B, B = B_s e_s
    assert sp.simplify(x2 - Hf * eom.z.diff(s)) == 0, "x'' != +H z'"
    assert sp.simplify(z2 + Hf * eom.x.diff(s)) == 0, "z'' != -H x'"


def test_k_matrix_stepwise_symmetric_coupling():
    """Inside constant pieces K12 = K21 = -M (Maxwell: the §5 k12 = k21 = -m)."""
    K = eom.k_matrix()
    assert K[0, 1] == K[1, 0] == -S["M"], "K12 = K21 = -M"
    assert sp.expand(K[0, 0] + K[1, 1] - S["K"] ** 2) == 0, "K11 + K22 = K^2 (weak focusing sum rule)"


def test_closed_orbit_forcing_outward_x_positive():
    """With x outward the forcing is +K p: a bend's closed orbit of an energetic electron is outside."""
    assert list(eom.forcing_vector()) == [0, S["K"], 0, 0]
    ex, _ = eom.equations_of_motion(sigma=-1)
    assert sp.expand(ex).coeff(S["p"]) == S["K"], "printed -Kpx gives x'' + ... = -K p"


def test_edge_kick_unit_determinant_and_entrance_exit_cancel():
    """The thin edge map has det 1 and exit(-H) undoes entrance(+H).

    (It is not symplectic in the mechanical (x, x', z, z'); the whole solenoid
    between field-free drifts is: see tests/test_lattice.py.)
    """
    E = eom.solenoid_edge_kick()
    dH = S["dH"]
    assert sp.simplify(E.det()) == 1, "det E = 1"
    assert sp.simplify(E.subs(dH, -dH) * E) == sp.eye(4), "exit * entrance = 1"


def test_canonical_momentum_continuous_across_edge():
    """p_x = x' - H z/2 and p_z = z' + H x/2 are continuous: the kick is exactly their jump."""
    E = eom.solenoid_edge_kick()
    H = S["dH"]
    x0, xp, z0, zp = sp.symbols("x0 xp z0 zp")
    y_after = E * sp.Matrix([x0, xp, z0, zp])      # from H = 0 to H = dH
    assert sp.simplify(y_after[1] - H * y_after[2] / 2 - xp) == 0, "p_x continuous"
    assert sp.simplify(y_after[3] + H * y_after[0] / 2 - zp) == 0, "p_z continuous"


def test_quadrupole_limit_kn_finite_gives_no_focusing():
    """As printed (K n finite) the limit loses the gradient; K^2 n = -k1 keeps it."""
    assert eom._printed_quadrupole_limit() == 0
    assert eom.quadrupole_limit() == (S["k1"], -S["k1"])


def test_a_matrix_numeric_matches_kernel():
    """The generated a_matrix_entries kernel equals the sympy A at a random point."""
    from coupled_beam import _kernels

    vals = dict(zip(("K", "n", "M", "H", "D11", "D12", "D21", "D22"),
                    (0.3, 0.6, -0.02, 0.15, 1e-3, 2e-4, -3e-4, 2e-3)))
    A = eom.a_matrix().subs({S[k]: v for k, v in vals.items()})
    got = np.array(_kernels.a_matrix_entries(*vals.values()), dtype=float).reshape(4, 4)
    # same expression printed twice: agreement to rounding
    np.testing.assert_allclose(got, np.array(A, dtype=float), rtol=1e-15, atol=1e-18)


def test_equation_checks_verdicts_section1():
    """The torsion term (with (3)) and the quad limit are one-glyph misprints; -Kpx a convention."""
    rows = verify_checks(eom.equation_checks())
    status = {row.check.equation: row.status for row in rows}
    assert status["(1) torsion term"] == "misprint"
    assert status["(1) quadrupole limit"] == "misprint"
    assert status["(1) closed-orbit term -Kpx"] == "convention"


@pytest.mark.parametrize("name", ["equations-of-motion", "K-matrix", "D-matrix", "A-matrix",
                                  "solenoid-edge-kick"])
def test_results_published_names_present(name):
    """Each §1 closed form is published for `coupled-beam derive`."""
    assert name in [r.name for r in eom.results()]
