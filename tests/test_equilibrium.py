"""Formula (10): against scipy's Lyapunov solver, textbook limits, §5 kernels, propagation."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.linalg import block_diag, solve_discrete_lyapunov

import coupled_beam as cb
from coupled_beam.equilibrium import (decompose, equilibrium_moments, m_rtsv, mode_decomposition,
                                      resonance_denominators)
from coupled_beam.errors import InputError, ResonanceWarning, UnstableError
from coupled_beam.lattice import (Bend, Drift, Generic, Quadrupole, Ring, SkewQuadrupole,
                                  Solenoid, ThinSkewQuadrupole)


def _rot(mu):
    return np.array([[np.cos(mu), np.sin(mu)], [-np.sin(mu), np.cos(mu)]])


def _random_map(seed, lam=(0.8, 0.999)):
    """A real stable damped coupled map T diag(lam1 rot(mu1), lam2 rot(mu2)) T^-1."""
    rng = np.random.default_rng(seed)
    T = rng.normal(size=(4, 4))
    B = block_diag(_rot(rng.uniform(0.1, 3.0)) * rng.uniform(*lam),
                   _rot(rng.uniform(0.1, 3.0)) * rng.uniform(*lam))
    C = rng.normal(size=(4, 4))
    return T @ B @ np.linalg.inv(T), C @ C.T


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1))
@example(0)
@example(2419)   # worst of 4125 seeds measured: 1.4e-11
def test_formula_10_equals_scipy_lyapunov_random_maps(seed):
    """(10) solves Sigma = N Sigma N^T + R as scipy's solve_discrete_lyapunov does."""
    N, R = _random_map(seed, lam=(0.5, 0.98))
    if np.linalg.cond(np.linalg.eig(N)[1]) > 30:   # scipy's own error grows beyond: see below
        return
    S = equilibrium_moments(N, R)
    ref = solve_discrete_lyapunov(N, R)
    scale = np.max(np.abs(ref))
    # 1e-10 relative (issue 3); measured worst 1.4e-11 over 4125 seeds
    np.testing.assert_allclose(S, ref, rtol=1e-10, atol=1e-10 * scale)


def _mp_lyapunov(N, R, dps=40):
    """Sigma from the 16x16 linear system (I - N (x) N) vec Sigma = vec R at 40 digits."""
    import mpmath as mp

    with mp.workdps(dps):
        Nm = mp.matrix(N.tolist())
        K = mp.matrix(16, 16)
        for i in range(4):
            for j in range(4):
                for k in range(4):
                    for m in range(4):
                        K[4 * i + j, 4 * k + m] = int(i == k and j == m) - Nm[i, k] * Nm[j, m]
        v = mp.lu_solve(K, mp.matrix([float(R[i, j]) for i in range(4) for j in range(4)]))
        return np.array([[float(v[4 * i + j]) for j in range(4)] for i in range(4)])


@pytest.mark.parametrize("seed", [248, 2088, 72, 13298])
def test_formula_10_accurate_near_unit_circle_vs_mpmath(seed):
    """Damping down to 1e-3 per turn and cond(U) ~ 800: (10) keeps 1e-9 (scipy: ~1e-6)."""
    N, R = _random_map(seed)
    ref = _mp_lyapunov(N, R)
    scale = np.max(np.abs(ref))
    # measured 1.6e-10 worst (seed 248); scipy direct/bilinear give 1.9e-6 there
    np.testing.assert_allclose(equilibrium_moments(N, R), ref, rtol=0, atol=1e-9 * scale)


def test_formula_10_pinned_value_diagonal_rotation():
    """One pinned absolute value: lam rot(mu) with noise 1 in x' gives <x^2> = 1/(2(1 - lam^2))."""
    lam = 0.99
    N = block_diag(lam * _rot(0.7), lam * _rot(1.9))
    S = equilibrium_moments(N, np.diag([0.0, 1.0, 0.0, 0.0]))
    # sum over turns of lam^2k sin^2(k mu) = 1/(2(1-lam^2)) - Re[...]: exact series via numpy
    k = np.arange(20000)
    series = np.sum(lam ** (2 * k) * np.sin(0.7 * k) ** 2)
    np.testing.assert_allclose(S[0, 0], series, rtol=1e-12, atol=0)  # series truncated at 1e-87


def test_m_rtsv_contraction_equals_moments():
    """sum_tv M_rtsv R_tv reproduces (10) (the paper's machine x radiation factorization)."""
    N, R = _random_map(7)
    U, Delta = mode_decomposition(N)
    M = m_rtsv(U, Delta)
    S = np.einsum("rtsv,tv->rs", M, R).real
    np.testing.assert_allclose(S, equilibrium_moments(N, R), rtol=1e-11, atol=1e-13)  # rounding


def test_decomposition_diagonalizes_and_orders_modes():
    """U N U^-1 = diag(Delta); (Delta1, Delta2) and (Delta3, Delta4) are conjugate, smaller phase first."""
    N = block_diag(0.95 * _rot(2.0), 0.9 * _rot(0.5))
    U, Delta = mode_decomposition(N)
    np.testing.assert_allclose(U @ N @ np.linalg.inv(U), np.diag(Delta), rtol=0, atol=1e-14)
    np.testing.assert_allclose(Delta[1], np.conj(Delta[0]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.angle(Delta[[0, 2]]), [0.5, 2.0], rtol=1e-14, atol=0)
    den = resonance_denominators(Delta)
    np.testing.assert_allclose(den[0, 1], 1 - 0.9**2, rtol=1e-14, atol=0)  # 1 - |Delta1|^2


def test_unstable_mode_raises_with_mode_and_modulus():
    """A mode with |Delta| > 1 raises UnstableError naming the mode and |Delta|."""
    N = block_diag(0.9 * _rot(1.0), 1.01 * _rot(2.0))
    with pytest.raises(UnstableError, match=r"mode 3 unstable: \|Delta_3\| = 1.01") as info:
        equilibrium_moments(N, np.eye(4))
    assert info.value.mode == 3 and info.value.value == pytest.approx(1.01, rel=1e-12)


def test_small_denominator_warns_with_size():
    """1 - Delta_r Delta_s ~ 2e-9 warns (ResonanceWarning) with its size and the precision path."""
    N = block_diag((1 - 1e-9) * _rot(1.0), 0.9 * _rot(2.0))
    with pytest.warns(ResonanceWarning, match=r"2e-09.*precision"):
        equilibrium_moments(N, np.eye(4))


@pytest.mark.parametrize("N,R", [
    (np.full((4, 4), np.nan), np.eye(4)),
    (0.5 * np.eye(4), np.triu(np.ones((4, 4)))),
    (0.5 * np.eye(3), np.eye(3)),
])
def test_bad_input_is_value_error(N, R):
    """Non-finite N, non-symmetric R and wrong shapes are ValueErrors (InputError)."""
    with pytest.raises(ValueError) as info:
        equilibrium_moments(N, R)
    assert isinstance(info.value, InputError)


def test_uncoupled_smooth_ring_textbook_beam_size():
    """Constant focusing k, damping d, noise phi in x': <x^2> = phi/(2 d k), <x'^2> = k <x^2>."""
    K, n, d, phi = 0.5, 0.5, 2e-3, 3e-11
    b = Bend(1.0, K=K, n=n, D=np.diag([d, d]), phi_hat=np.diag([0, phi, 0, 0]))
    S = Ring([b] * 6).moments()
    k = K**2 * (1 - n)
    x2 = phi / (2 * d * k)
    # exact for constant coefficients (continuous Lyapunov); rounding only
    np.testing.assert_allclose(S[:, 0, 0], x2, rtol=1e-9, atol=0)
    np.testing.assert_allclose(S[:, 1, 1], k * x2, rtol=1e-9, atol=0)
    np.testing.assert_allclose(S[:, 0, 1], 0.0, rtol=0, atol=1e-9 * x2)
    np.testing.assert_allclose(S[:, 2, 2], 0.0, rtol=0, atol=1e-9 * x2)


def _fodo(nc=8, d=1e-5, phi=1e-12, skew=0.0, K=None):
    K = 2 * np.pi / nc if K is None else K
    els = []
    for _ in range(nc):
        els += [Quadrupole(0.3, 1.2, D=np.diag([d, d])), Drift(0.5, D=np.diag([d, d])),
                Bend(1.0, K=K, n=0.0, D=np.diag([d, d]),
                     phi_hat=np.diag([0, phi, 0, phi / 10])),
                Drift(0.5, D=np.diag([d, d])), Quadrupole(0.3, -1.2, D=np.diag([d, d])),
                Drift(0.5, D=np.diag([d, d]))]
        if skew:
            els.append(SkewQuadrupole(0.1, M=skew, D=np.diag([d, d])))
    return Ring(els)


def test_uncoupled_fodo_size_is_beta_times_emittance():
    """Weak damping: <x^2>(s) = beta(s) eps, eps = oint beta phi22 ds / (2 D11 s0) (textbook)."""
    d, phi = 1e-5, 1e-12
    ring = _fodo(d=d, phi=phi)
    S = ring.moments()
    undamped = _fodo(d=0.0, phi=phi)
    Nall = undamped.one_turn_maps()
    mu = np.arccos(0.5 * np.trace(Nall[0][:2, :2]))
    beta = Nall[:, 0, 1] / np.sin(mu)
    # oint beta phi22 ds over the bends (beta varies inside: fine trapezoid)
    integral = _beta_weighted_noise(undamped, mu)
    eps = integral / (2 * d * ring.circumference)
    # beta eps is first order in D s0 = 2.5e-4; measured 4.9e-6
    np.testing.assert_allclose(S[:, 0, 0], beta * eps, rtol=1e-4, atol=0)


def _beta_weighted_noise(ring, mu):
    """oint beta_x phi22 ds by fine slicing of each noisy element (trapezoid, 400 slices)."""
    total = 0.0
    for i, el in enumerate(ring.elements):
        if el.phi_hat[1, 1] == 0:
            continue
        P = ring.transfer_map(0, i)
        N_turn = ring.one_turn_map(0)
        s_grid = np.linspace(0.0, el.length, 401)
        from scipy.linalg import expm

        betas = []
        for sl in s_grid:
            Pm = expm(el.A * sl) @ P
            Nm = Pm @ N_turn @ np.linalg.inv(Pm)
            betas.append(Nm[0, 1] / np.sin(mu))
        total += el.phi_hat[1, 1] * np.trapezoid(betas, s_grid)
    return total


def test_propagated_moments_equal_formula_10_at_each_boundary():
    """Sigma(s_i) propagated from s = 0 equals (10) evaluated directly with N(s_i), R(s_i)."""
    ring = _fodo(nc=3, d=3e-3, phi=1e-9, skew=0.05, K=0.2)   # stable: |Delta| ~ 0.985
    ring = Ring(list(ring.elements) + [Solenoid(0.7, 0.3, D=np.diag([1e-3, 1e-3]))])
    S = ring.moments()
    for i in range(0, len(ring) + 1, 3):
        direct = equilibrium_moments(ring.one_turn_map(i % len(ring)),
                                     ring.one_turn_noise(i % len(ring)))
        np.testing.assert_allclose(S[i], direct, rtol=1e-9,
                                   atol=1e-9 * np.max(np.abs(direct)))  # rounding, cond(U)


def _thin_skew_ring(mu_x, mu_z, beta_x, beta_z, m, d11=0.0, d22=0.0, s0=10.0):
    """Smooth uncoupled arc (beta = 1/sqrt(k)) of length s0 followed by a thin skew quad."""
    kx, kz = (mu_x / s0) ** 2, (mu_z / s0) ** 2
    assert np.isclose(1 / np.sqrt(kx), beta_x) and np.isclose(1 / np.sqrt(kz), beta_z)
    arc = Generic(s0, K_matrix=np.diag([kx, kz]), D=np.diag([d11, d22]))
    return Ring([arc, ThinSkewQuadrupole(m)])


def test_thin_skew_ring_eigenphases_equal_section5_eigentunes():
    """Without damping the ring's eigenphases are the §5 kernel's g+ and g-."""
    s0, mu_x, mu_z, m = 10.0, 1.1, 1.45, 0.03
    beta_x, beta_z = s0 / mu_x, s0 / mu_z
    ring = _thin_skew_ring(mu_x, mu_z, beta_x, beta_z, m)
    N = ring.one_turn_map(0)    # boundary 0 = entrance of the arc = exit of the skew quad
    _, Delta = mode_decomposition(N)
    g_plus, g_minus = cb.eigentunes(mu_x, mu_z, beta_x, beta_z, m)
    np.testing.assert_allclose(np.angle(Delta[[0, 2]]), [g_plus, g_minus], rtol=1e-12, atol=0)
    ref = cb.thin_skew_one_turn_map(mu_x, mu_z, beta_x, beta_z, m)
    np.testing.assert_allclose(N, ref, rtol=1e-12, atol=1e-13)  # expm vs trig: rounding


def test_thin_skew_ring_decrements_equal_section5_omegas():
    """With damping, -ln|Delta| of each mode equals the §5 first-order omega+- to O((D s0)^2)."""
    s0, mu_x, mu_z, m = 10.0, 1.1, 1.45, 0.03
    d11, d22 = 2e-5, 1e-5
    beta_x, beta_z = s0 / mu_x, s0 / mu_z
    ring = _thin_skew_ring(mu_x, mu_z, beta_x, beta_z, m, d11, d22)
    _, Delta = mode_decomposition(ring.one_turn_map(0))
    om_p, om_m = cb.mode_damping(mu_x, mu_z, beta_x, beta_z, m, d11 * s0, d22 * s0)
    # first-order theory, neglected terms O((D s0)^2) = 4e-8 relative to 1; measured 1.9e-9
    np.testing.assert_allclose(-np.log(np.abs(Delta[[0, 2]])), [om_p, om_m], rtol=1e-6, atol=0)
    np.testing.assert_allclose(om_p + om_m, (d11 + d22) * s0 / 2, rtol=1e-9, atol=0)  # trace rule


def _psd_root(C):
    """B with B B^T = C for a positive semi-definite C (eigen-route, zero rows allowed)."""
    w, V = np.linalg.eigh(C)
    return V * np.sqrt(np.clip(w, 0.0, None))


def _mc_ring():
    """A small coupled, damped, noisy ring whose every A is diagonalizable (for the eig route)."""
    D = np.array([[0.02, 0.0], [0.0, 0.015]])
    phi = np.zeros((4, 4))
    phi[1, 1], phi[3, 3], phi[1, 3] = 4e-6, 1e-6, 1e-6
    phi[3, 1] = phi[1, 3]
    return Ring([
        Bend(1.0, K=0.6, n=0.4, D=D, phi_hat=phi),
        Quadrupole(0.4, 0.8, D=D),
        SkewQuadrupole(0.3, M=0.15, D=D, phi_hat=0.5 * phi),
        Solenoid(0.5, H=0.4, D=D),
        Drift(0.6, D=D),
        Quadrupole(0.4, -0.8, D=D),
        Drift(0.6, D=D),
    ])   # |Delta| = 0.964, 0.971; phases 1.26, 0.85 rad


@pytest.mark.slow
def test_monte_carlo_delta_kicks_reproduce_formula_10():
    """2e4 particles with random delta kicks (4) tracked 400 turns: sample covariance = (10) within 3 sigma."""
    ring = _mc_ring()
    rng = np.random.default_rng(20261124)
    n_part, n_turns, slices = 20000, 400, 2
    y = np.zeros((n_part, 4))
    plans = []
    for el in ring.elements:     # independent route: e^{A t} = V e^{L t} V^-1 by eig, not expm
        lam, V = np.linalg.eig(el.A)
        Vi = np.linalg.inv(V)
        body = np.real(V @ np.diag(np.exp(lam * el.length)) @ Vi)
        full = el.exit @ body @ el.entrance
        root = _psd_root(el.phi_hat * el.length / slices) if np.any(el.phi_hat) else None
        plans.append((el, lam, V, Vi, full, root))
    for _ in range(n_turns):
        for el, lam, V, Vi, full, root in plans:
            y = y @ full.T
            if root is None:
                continue
            h = el.length / slices
            for j in range(slices):       # one delta kick per slice, uniform position
                pos = (j + rng.random(n_part)) * h
                a = rng.standard_normal((n_part, 4)) @ root.T
                c = (a @ Vi.real.T + 1j * (a @ Vi.imag.T)) * np.exp(np.outer(el.length - pos, lam))
                kick = c.real @ V.real.T - c.imag @ V.imag.T   # Re(V c): N(L, pos) a
                y = y + kick @ el.exit.T
    sample = np.cov(y.T, bias=False)
    S = ring.moments()[0]
    sigma = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / n_part)  # std error of cov entries
    z = np.abs(sample - S) / sigma
    print(f"MC max deviation {z.max():.2f} sigma")
    assert np.all(z < 3.0), f"MC vs (10): max deviation {z.max():.2f} sigma\n{sample}\n{S}"
    # and the check is not vacuous: moments are far from zero relative to sigma
    assert np.all(np.abs(np.diag(S)) > 30 * np.diag(sigma))
