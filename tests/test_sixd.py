"""6-D equilibrium: formula (10) in n x n, the 6-D route, the Ring facade, pyAT agreement.

References are independent routes: scipy's Schur-based ``solve_discrete_lyapunov``
for (10) in 6-D, Monte Carlo tracking with random photon emission for the 6-D
Sigma, pyAT's ``ohmi_envelope`` (optional extra) for whole rings.
"""

import numpy as np
import pytest
from scipy.linalg import expm, solve_discrete_lyapunov

from coupled_beam.equilibrium import decompose, equilibrium_moments, mode_decomposition
from coupled_beam.errors import InputError, UnstableError


def _damped_map6(seed: int, damping: float = 1e-3, q_s: float = 0.03) -> np.ndarray:
    """A real damped coupled 6x6 one-turn map: expm of a Hamiltonian + damping generator."""
    rng = np.random.default_rng(seed)
    J2 = np.array([[0.0, 1.0], [-1.0, 0.0]])
    J = np.kron(np.eye(3), J2)
    tunes = np.array([0.27, 0.19, q_s]) * 2 * np.pi
    H0 = np.kron(np.diag(tunes), np.eye(2))        # uncoupled rotations
    C = rng.normal(size=(6, 6)) * 0.05
    H = H0 + 0.5 * (C + C.T)                       # symmetric Hamiltonian matrix, weak coupling
    return expm(J @ H - damping * np.eye(6) * (1 + rng.uniform(size=6)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_formula_10_in_6d_equals_scipy_lyapunov(seed):
    """Formula (10) on a 6x6 damped coupled map equals scipy's Schur-based Lyapunov solve."""
    N = _damped_map6(seed)
    rng = np.random.default_rng(10 + seed)
    a = rng.normal(size=(6, 3))
    R = a @ a.T * 1e-9
    ref = solve_discrete_lyapunov(N, R)
    S = equilibrium_moments(N, R)
    # both exact up to round-off amplified by 1/(1 - |Delta|^2) ~ 500
    assert np.allclose(S, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))


def test_mode_order_in_6d_by_phase():
    """Pairs are conjugate, ordered by abs(arg), first of each pair with arg > 0."""
    U, D = mode_decomposition(_damped_map6(3, q_s=0.01))
    ang = np.angle(D)
    assert np.all(np.diff(np.abs(ang[::2])) > 0)
    assert np.all(ang[::2] > 0) and np.allclose(D[1::2], np.conj(D[::2]), rtol=1e-12, atol=0)
    assert np.allclose(U @ _damped_map6(3, q_s=0.01) @ np.linalg.inv(U), np.diag(D), atol=1e-12)


def test_6d_decomposition_tunes_and_decrements():
    """Decomposition.tunes gives three tunes in 6-D; the smallest first (synchrotron)."""
    dec = decompose(_damped_map6(4, q_s=0.02), np.eye(6) * 1e-10)
    assert dec.tunes.shape == (3,) and dec.decrements.shape == (3,)
    assert np.all(np.diff(dec.tunes) > 0)
    assert np.allclose(dec.tunes, np.sort(np.angle(np.linalg.eigvals(dec.N)))[3:] / (2 * np.pi),
                       rtol=1e-12, atol=0)


def test_6d_unstable_and_bad_shapes():
    """An undamped growing mode or a wrong-shape noise raise named errors."""
    N = _damped_map6(5, damping=-1e-3)
    with pytest.raises(UnstableError):
        decompose(N, np.eye(6))
    with pytest.raises(InputError):
        decompose(_damped_map6(5), np.eye(4))
    with pytest.raises(InputError, match="precision"):
        equilibrium_moments(_damped_map6(5), np.eye(6), precision=30)
