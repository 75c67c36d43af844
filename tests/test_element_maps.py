"""Closed-form 6x6 element maps (derivations.element_maps -> _kernels) against independent routes.

References: the matrix exponential of the generator A6, built here from the *older*
kernels (the paper's A(s) of ``a_matrix_entries``, the forcing ``forcing_entries``) plus
the geometric path lengthening dl/ds = K x, exponentiated by mpmath at 30 digits
(scipy's expm itself is off by up to ~1e-12 at strong defocusing, measured here) and,
at moderate strengths, by scipy.linalg.expm; today's coupled_beam.elements maps;
pyAT's tilt matrices. Tolerances: rtol 1e-13 with atol = 1e-15 * max|M| (entries
that are sums of terms of the size of the largest entry carry that absolute rounding).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.linalg import expm

from coupled_beam import _kernels as kk

RTOL = 1e-13
J2 = np.array([[0.0, 1.0], [-1.0, 0.0]])
J6 = np.kron(np.eye(3), J2)


def m6(kernel, *args) -> np.ndarray:
    """Kernel entries -> (..., 6, 6) array."""
    vals = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in kernel(*args)])
    return np.stack(vals, axis=-1).reshape(vals[0].shape + (6, 6))


def generator(K=0.0, k1=0.0, M=0.0, H=0.0) -> np.ndarray:
    """A6 from the paper's A(s) kernel (independent of element_maps) + b + dl/ds = K x."""
    A = np.zeros((6, 6))
    if K != 0.0:
        a = kk.a_matrix_entries(K, -k1 / K**2, M, H, 0, 0, 0, 0)
    else:
        k11, k22 = kk.quadrupole_focusing(k1)
        a = kk.a_from_kd_entries(k11, -M, -M, k22, 0, -H, H, 0)
    A[:4, :4] = np.array([float(v) for v in a]).reshape(4, 4)
    A[:4, 4] = [float(v) for v in kk.forcing_entries(K)]
    A[5, 0] = K            # path lengthening: ds_orbit = (1 + K x) ds
    return A


def generator_mp(K=0.0, k1=0.0, M=0.0, H=0.0) -> mp.matrix:
    """The same A6 in mpmath from the exact float parameters (the kernels' _mp twins).

    Entries such as -(K^2 + k1) are then exact: a float generator rounds them, which
    moves an entry proportional to k1 by eps K^2 / |k1| relative (measured: 4e-8 at
    k1 = 1e-8), the reference's error, not the closed form's.
    """
    K, k1, M, H = (mp.mpf(v) for v in (K, k1, M, H))
    if K != 0:
        a = kk.a_matrix_entries_mp(K, -k1 / K**2, M, H, 0, 0, 0, 0)
    else:
        k11, k22 = kk.quadrupole_focusing_mp(k1)
        a = kk.a_from_kd_entries_mp(k11, -M, -M, k22, 0, -H, H, 0)
    A = mp.zeros(6, 6)
    for i in range(4):
        for j in range(4):
            A[i, j] = a[4 * i + j]
    for i, b in enumerate(kk.forcing_entries_mp(K)):
        A[i, 4] = b
    A[5, 0] = K
    return A


def expm_mp(A, dps: int = 30, left=None, right=None, length=None) -> np.ndarray:
    """left @ exp(A L) @ right at `dps` digits (mpmath), rounded to float64.

    ``A`` a float array (times ``length`` if given) or a tuple of generator_mp arguments.
    """
    with mp.workdps(dps):
        if isinstance(A, tuple):
            A = generator_mp(*A) * mp.mpf(length)
        else:
            A = mp.matrix((A * (1.0 if length is None else length)).tolist())
        E = mp.expm(A)
        if left is not None:
            E = mp.matrix(left.tolist()) * E
        if right is not None:
            E = E * mp.matrix(right.tolist())
        return np.array(E.tolist(), dtype=float)


def rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    """max |got - ref| / (|ref| + 1e-15 max|ref|) (the measure the tolerance applies to)."""
    atol = 1e-15 * np.abs(ref).max()
    return float(np.max(np.abs(got - ref) / (np.abs(ref) + atol)))


def assert_map(got, ref, what):
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=1e-15 * np.abs(ref).max(),
                               err_msg=f"{what}: closed form != exp(A6 L)")


def _strength(rng, L, umin=1e-12, umax=60.0):
    """k with |k L^2| log-uniform in [umin, umax], random sign."""
    u = 10 ** rng.uniform(np.log10(umin), np.log10(umax))
    return rng.choice([-1.0, 1.0]) * u / L**2


def _length(rng):
    return 10 ** rng.uniform(-9, 2)


CASES = 40


def test_quadrupole_random_any_sign_matches_expm(rng):
    """map6_quadrupole = exp(A6 L) over random L in [1e-9, 100] m and |k1 L^2| in [1e-12, 60]."""
    for _ in range(CASES):
        L = _length(rng)
        k1 = _strength(rng, L)
        assert_map(m6(kk.map6_quadrupole, L, k1), expm_mp((0.0, k1), length=L),
                   f"quadrupole L={L}, k1={k1}")


@pytest.mark.parametrize("u", [1e-12, -1e-12, 1e-9, -1e-9, 1e-6, -1e-6, 1e-3, -1e-3, 0.0])
@pytest.mark.parametrize("L", [1e-9, 0.3, 100.0])
def test_quadrupole_near_zero_strength_no_cancellation(u, L):
    """k1 -> 0 from both sides (|k1 L^2| = 1e-12 ... 1e-3) keeps full accuracy (entire functions)."""
    k1 = u / L**2
    assert_map(m6(kk.map6_quadrupole, L, k1), expm_mp((0.0, k1), length=L), f"k1 L^2 = {u}")


def test_bend_random_combined_function_matches_expm(rng):
    """map6_bend = exp(A6 L) for random K (|K L| < 3) and gradient k1 (either sign)."""
    for _ in range(CASES):
        L = _length(rng)
        K = rng.uniform(-3, 3) / L * 10 ** rng.uniform(-6, 0)
        k1 = _strength(rng, L, umax=30.0)
        assert_map(m6(kk.map6_bend, L, K, k1), expm_mp((K, k1), length=L),
                   f"bend L={L}, K={K}, k1={k1}")


@pytest.mark.parametrize("du", [1e-12, -1e-12, 1e-6, -1e-6, 1e-3, -1e-3])
def test_bend_horizontal_focusing_near_zero(du):
    """K^2 + k1 -> 0 (gradient cancelling the weak focusing) and k1 -> 0: no cancellation."""
    L, K = 2.0, 0.4
    for k1 in (du / L**2 - K**2, du / L**2):
        assert_map(m6(kk.map6_bend, L, K, k1), expm_mp((K, k1), length=L),
                   f"bend k1={k1}")


def test_skew_quadrupole_random_matches_expm(rng):
    """map6_skew_quadrupole = exp(A6 L), M of either sign, |M L^2| in [1e-12, 60]."""
    for _ in range(CASES):
        L = _length(rng)
        M = _strength(rng, L)
        assert_map(m6(kk.map6_skew_quadrupole, L, M), expm_mp((0.0, 0.0, M), length=L),
                   f"skew L={L}, M={M}")


def test_drift_is_polynomial():
    """A drift: x += L x', z += L z', nothing else (exact polynomial, pinned values)."""
    m = m6(kk.map6_drift, 2.5)
    ref = np.eye(6)
    ref[0, 1] = ref[2, 3] = 2.5
    np.testing.assert_array_equal(m, ref)


def test_bend_half_turn_pinned_values():
    """K = 1, L = pi: x_delta = K L^2 c_2 = 2, x'_delta = 0, l_delta = L - sin L = pi (pinned)."""
    m = m6(kk.map6_bend, np.pi, 1.0, 0.0)
    np.testing.assert_allclose([m[0, 4], m[1, 4], m[5, 4], m[0, 0]], [2.0, 0.0, np.pi, -1.0],
                               rtol=1e-15, atol=1e-15)


def test_maps_symplectic(rng):
    """Undamped maps satisfy M^T J M = J (J = blockdiag(J2, J2, J2))."""
    for _ in range(CASES):
        L = 10 ** rng.uniform(-3, 1)
        k = _strength(rng, L, umax=10.0)
        K = rng.uniform(-1, 1) / L
        for name, m in [("quadrupole", m6(kk.map6_quadrupole, L, k)),
                        ("bend", m6(kk.map6_bend, L, K, k)),
                        ("skew", m6(kk.map6_skew_quadrupole, L, k)),
                        ("solenoid", m6(kk.map6_solenoid, L, k * L)),
                        ("thin", m6(kk.map6_thin, k * L, K * L)),
                        ("edge", m6(kk.map6_edge, K, 0.3, 0.01)),
                        ("rf", m6(kk.map6_rfcavity, k)),
                        ("rotation", m6(kk.rotation6, K * L))]:
            scale = np.abs(m).max() ** 2
            np.testing.assert_allclose(m.T @ J6 @ m, J6, rtol=0, atol=1e-14 * scale,
                                       err_msg=f"{name}: M^T J M != J")


def test_solenoid_matches_edges_times_expm(rng):
    """map6_solenoid = Edge(-H) exp(A6 L) Edge(H) (the existing edge kicks of §1)."""
    for _ in range(CASES):
        L = _length(rng)
        H = rng.choice([-1, 1]) * 10 ** rng.uniform(-6, 0.9) / L
        ein = np.eye(6)
        ein[:4, :4] = np.array([float(v) for v in kk.edge_kick_entries(H)]).reshape(4, 4)
        eout = np.eye(6)
        eout[:4, :4] = np.array([float(v) for v in kk.edge_kick_entries(-H)]).reshape(4, 4)
        ref = expm_mp((0.0, 0.0, 0.0, H), length=L, left=eout, right=ein)
        assert_map(m6(kk.map6_solenoid, L, H), ref, f"solenoid L={L}, H={H}")


def test_thin_is_limit_of_thick():
    """L -> 0 at fixed k1 L and M L: the thick maps tend to map6_thin, error O(L)."""
    k1l, k1sl = 0.7, -0.3
    errs = []
    for L in (1e-3, 1e-4, 1e-5):
        thick_q = m6(kk.map6_quadrupole, L, k1l / L)
        thick_s = m6(kk.map6_skew_quadrupole, L, k1sl / L)
        thin_q = m6(kk.map6_thin, k1l, 0.0)
        thin_s = m6(kk.map6_thin, 0.0, k1sl)
        errs.append(max(np.abs(thick_q - thin_q).max(), np.abs(thick_s - thin_s).max()))
    assert errs[0] < 2e-3 and 8 < errs[0] / errs[1] < 12 and 8 < errs[1] / errs[2] < 12, errs


def test_thin_paper_skew_kick():
    """§5 thin skew quadrupole of strength m: x' += m z, z' += m x ([[I, C], [C, I]])."""
    m = m6(kk.map6_thin, 0.0, 0.1)
    ref = np.eye(6)
    ref[1, 2] = ref[3, 0] = 0.1
    np.testing.assert_array_equal(m, ref)


def test_rotation_matches_pyat_tilt():
    """rotation6(tilt) is pyAT's R1 of tilt_elem; R2 = rotation6(-tilt)."""
    at = pytest.importorskip("at")
    q = at.Quadrupole("Q", 0.5, 1.2)
    at.tilt_elem(q, 0.37)
    np.testing.assert_allclose(m6(kk.rotation6, 0.37), q.R1, rtol=0, atol=1e-16)
    np.testing.assert_allclose(m6(kk.rotation6, -0.37), q.R2, rtol=0, atol=1e-16)


def test_rolled_quadrupole_is_skew():
    """A normal quadrupole rolled by -pi/4 is a skew quadrupole with M = k1 (sign fixed here)."""
    L, k1 = 0.4, 1.3
    r = m6(kk.rotation6, -np.pi / 4)
    rolled = m6(kk.rotation6, np.pi / 4) @ m6(kk.map6_quadrupole, L, k1) @ r
    np.testing.assert_allclose(rolled, m6(kk.map6_skew_quadrupole, L, k1), rtol=1e-14,
                               atol=1e-15)


def test_edge_matches_pyat_convention():
    """map6_edge: x' += K tan(e) x, z' -= K tan(e - psi) z, psi = K g (1 + sin^2 e)/cos e."""
    K, e, g = 0.2, 0.15, 0.03
    m = m6(kk.map6_edge, K, e, g)
    psi = K * g * (1 + np.sin(e) ** 2) / np.cos(e)
    assert m[1, 0] == pytest.approx(K * np.tan(e), rel=1e-15)
    assert m[3, 2] == pytest.approx(-K * np.tan(e - psi), rel=1e-15)


def test_blocks_equal_todays_element_maps(rng):
    """4x4 block = today's Element.transfer_map, 5x5 block = augmented_map (scipy expm route)."""
    el = pytest.importorskip("coupled_beam.elements")
    for _ in range(10):
        L = 10 ** rng.uniform(-2, 0.5)
        k = _strength(rng, L, umin=1e-6, umax=4.0)
        K = rng.uniform(-1, 1) / L
        pairs = [(el.Drift(L), m6(kk.map6_drift, L)),
                 (el.Quadrupole(L, k), m6(kk.map6_quadrupole, L, k)),
                 (el.Bend(L, K, -k / K**2), m6(kk.map6_bend, L, K, k)),
                 (el.SkewQuadrupole(L, k), m6(kk.map6_skew_quadrupole, L, k)),
                 (el.Solenoid(L, k * L), m6(kk.map6_solenoid, L, k * L)),
                 (el.ThinSkewQuadrupole(k * L), m6(kk.map6_thin, 0.0, k * L))]
        for e_, m in pairs:
            # scipy's expm: ~1e-15 relative at these moderate strengths
            np.testing.assert_allclose(m[:4, :4], e_.transfer_map(), rtol=1e-12,
                                       atol=1e-14 * np.abs(m).max(), err_msg=repr(e_))
            np.testing.assert_allclose(m[:5, :5], e_.augmented_map(), rtol=1e-12,
                                       atol=1e-14 * np.abs(m).max(), err_msg=repr(e_))


def test_scipy_expm_route_moderate_strengths(rng):
    """The same maps against scipy.linalg.expm of the generator (moderate |k L^2| <= 4)."""
    for _ in range(CASES):
        L = 10 ** rng.uniform(-3, 1)
        k = _strength(rng, L, umax=4.0)
        K = rng.uniform(-1, 1) / L
        for got, A in [(m6(kk.map6_bend, L, K, k), generator(K=K, k1=k)),
                       (m6(kk.map6_skew_quadrupole, L, k), generator(M=k))]:
            np.testing.assert_allclose(got, expm(A * L), rtol=1e-13,
                                       atol=1e-15 * np.abs(got).max())


def test_kernels_broadcast_and_empty():
    """Kernels take arrays of any shape; empty batches give empty results."""
    L = np.linspace(0.1, 1.0, 7).reshape(7, 1)
    k1 = np.linspace(-2, 2, 3)
    assert m6(kk.map6_quadrupole, L, k1).shape == (7, 3, 6, 6)
    assert m6(kk.map6_bend, np.zeros(0), 0.1, 0.2).shape == (0, 6, 6)


def test_zero_length_bend_is_identity():
    """L = 0 (markers, pyAT zero-length elements) gives the identity, no NaN."""
    with np.errstate(all="raise"):
        m = m6(kk.map6_bend, 0.0, 0.3, 1.2)
    np.testing.assert_array_equal(m, np.eye(6))


def test_stumpff_helpers_match_mpmath(rng):
    """stumpff_c<n> and skew_d<n> against mpmath at 30 digits over |u| in [1e-12, 1e4]."""
    u = np.concatenate([rng.choice([-1, 1], 400) * 10 ** rng.uniform(-12, 4, 400), [0.0]])
    for n in range(12):
        got = kk.__dict__[f"stumpff_c{n}"](u)[0]
        with mp.workdps(30):
            ref = np.array([float(kk.__dict__[f"stumpff_c{n}_mp"](mp.mpf(v))[0]) for v in u])
        # |u| <= 1: series, full accuracy. Beyond: cos/sin/cosh of sqrt(u) amplify the rounding
        # of sqrt(u) by sqrt|u| (absolute, on the oscillation's envelope |u|^(-n/2))
        a = np.sqrt(np.abs(u))
        env = np.maximum(np.abs(ref), np.where(a > 1, a, 1.0) ** -n)
        tol = np.where(a <= 1, 2e-15 * np.abs(ref), 1e-15 * (1 + a) * env)
        bad = np.abs(got - ref) > tol
        assert not np.any(bad), (n, u[bad][:5], got[bad][:5], ref[bad][:5])
    for n in range(2):
        got = kk.__dict__[f"skew_d{n}"](u)[0]
        with mp.workdps(30):
            ref = np.array([float(kk.__dict__[f"skew_d{n}_mp"](mp.mpf(v))[0]) for v in u])
        small = np.abs(u) < 100
        np.testing.assert_allclose(got[small], ref[small], rtol=2e-15, atol=0)


# ------------------------------------------------------------------ radiation
def damping_model_mp(K, k1) -> mp.matrix:
    """D6 of the standard model (Sands ch. 4), per c_d, exact entries (mpmath).

    p_x, p_z shrink by K^2 per metre; delta loses K^2 (2 delta + (2 k1/K + K) x)
    (P ~ E^2 B^2 over the orbit length (1 + K x) ds).
    """
    K, k1 = mp.mpf(K), mp.mpf(k1)
    D = mp.zeros(6, 6)
    D[1, 1] = D[3, 3] = -K**2
    D[4, 0] = -(K**3 + 2 * K * k1)
    D[4, 4] = -2 * K**2
    return D


def _bend_params(rng):
    L = 10 ** rng.uniform(-3, 1.3)
    K = rng.choice([-1, 1]) * 10 ** rng.uniform(-4, 0) * 2 / L
    k1 = _strength(rng, L, umin=1e-10, umax=20.0)
    return L, K, k1


def test_damping6_bend_is_derivative_of_expm(rng):
    """dM = d/dc expm((A6 + c D6) L) at c = 0 (central difference at 50 digits, eps = 1e-20)."""
    for _ in range(20):
        L, K, k1 = _bend_params(rng)
        with mp.workdps(50):
            eps = mp.mpf("1e-20")
            Am = generator_mp(K, k1) * mp.mpf(L)
            Dm = damping_model_mp(K, k1) * mp.mpf(L)
            ref = (mp.expm(Am + eps * Dm) - mp.expm(Am - eps * Dm)) / (2 * eps)
            ref = np.array(ref.tolist(), dtype=float)
        assert_map(m6(kk.damping6_bend, L, K, k1), ref, f"damping L={L}, K={K}, k1={k1}")


def test_damping6_bend_trace_is_robinson(rng):
    """tr(M^-1 dM) = int tr D6 ds = -4 K^2 L: the partition numbers sum to 4."""
    for _ in range(10):
        L, K, k1 = _bend_params(rng)
        M, dM = m6(kk.map6_bend, L, K, k1), m6(kk.damping6_bend, L, K, k1)
        tr = np.trace(np.linalg.solve(M, dM))
        assert tr == pytest.approx(-4 * K**2 * L, rel=1e-10), "Robinson: tr(M^-1 dM) != -4 K^2 L"


def test_damping6_edge_is_wedge_loss():
    """A face of angle e: delta += c_d K^2 tan(e) x (the I4 face term), nothing else."""
    m = m6(kk.damping6_edge, 0.3, 0.2)
    ref = np.zeros((6, 6))
    ref[4, 0] = 0.09 * np.tan(0.2)
    np.testing.assert_allclose(m, ref, rtol=1e-15, atol=0)


def _upper(G):
    return G[np.triu_indices(6)]


def test_noise6_bend_matches_van_loan(rng):
    """G = int M(L<-s) |K|^3 e_d e_d^T M^T ds: Van Loan's block exponential at 30 digits."""
    for _ in range(15):
        L, K, k1 = _bend_params(rng)
        with mp.workdps(30):
            A = generator_mp(K, k1) * mp.mpf(L)
            big = mp.zeros(12, 12)
            for i in range(6):
                for j in range(6):
                    big[i, j], big[6 + i, 6 + j] = -A[i, j], A[j, i]
            big[4, 10] = abs(mp.mpf(K)) ** 3 * mp.mpf(L)
            F = mp.expm(big)
            N = F[6:12, 6:12].T
            G = np.array((N * F[0:6, 6:12]).tolist(), dtype=float)
        got = np.array([np.asarray(v, dtype=float) for v in kk.noise6_bend(L, K, k1)])
        ref = _upper(0.5 * (G + G.T))
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=1e-15 * np.abs(ref).max(),
                                   err_msg=f"noise L={L}, K={K}, k1={k1}")


def _sliced_integrals(L, K, k1, e1, e2, beta0, alpha0, eta0, etap0, faces=True, n=2000):
    """I1..I5 by Simpson's rule over n slices, Twiss/dispersion propagated by scipy expm."""
    from scipy.integrate import simpson

    s = np.linspace(0.0, L, n + 1)
    Ms = expm(generator(K=K, k1=k1)[None] * s[:, None, None])
    etap_in = etap0 + K * np.tan(e1) * eta0            # entrance face, x' += K tan(e1) x
    alpha_in = alpha0 - K * np.tan(e1) * beta0
    v = Ms[:, :2, :] @ np.array([eta0, etap_in, 0, 0, 1, 0])
    eta, etap = v[:, 0], v[:, 1]
    B0 = np.array([[beta0, -alpha_in], [-alpha_in, (1 + alpha_in**2) / beta0]])
    m2 = Ms[:, :2, :2]
    B = m2 @ B0 @ np.swapaxes(m2, 1, 2)
    beta, alpha, gamma = B[:, 0, 0], -B[:, 0, 1], B[:, 1, 1]
    curly = gamma * eta**2 + 2 * alpha * eta * etap + beta * etap**2
    I1 = simpson(K * eta, x=s)
    I4 = simpson(eta * K * (K**2 + 2 * k1), x=s)
    if faces:
        I4 -= K**2 * (np.tan(e1) * eta[0] + np.tan(e2) * eta[-1])
    I5 = simpson(abs(K) ** 3 * curly, x=s)
    return np.array([I1, K**2 * L, abs(K) ** 3 * L, I4, I5])


@pytest.mark.parametrize("faces", [True, False])
@pytest.mark.parametrize("k1", [-1.3, -0.0, 1e-9, 0.8, 2.5])
def test_radiation_integrals_equal_fine_slicing(k1, faces):
    """Closed-form I1..I5 of a gradient bend with faces = Simpson over 2000 slices (error ~h^4)."""
    args = (1.7, 0.35, k1, 0.12, -0.07, 6.0, -1.1, 0.45, -0.08)
    kern = kk.radiation_integrals_bend if faces else kk.radiation_integrals_bend_no_faces
    got = np.array([float(v) for v in kern(*args)])
    ref = _sliced_integrals(*args, faces=faces)
    # Simpson with h = L/2000 on smooth integrands: ~1e-13 relative
    np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-15 * np.abs(ref).max())


def test_radiation_integrals_isomagnetic_ring_pinned():
    """Weak-focusing ring K = 1, n = 0, full turn, periodic eta = 1, beta = 1: I1 = I4 = I5 = 2 pi."""
    got = [float(v) for v in kk.radiation_integrals_bend(2 * np.pi, 1.0, 0.0, 0, 0, 1.0, 0.0,
                                                         1.0, 0.0)]
    np.testing.assert_allclose(got, [2 * np.pi] * 5, rtol=1e-14, atol=0)


def test_loss_bend_is_i2():
    """loss_bend = int K^2 ds = K^2 L."""
    assert float(kk.loss_bend(2.0, 0.3, 1.0)[0]) == pytest.approx(0.18, rel=1e-15)


@given(L=st.floats(1e-9, 100.0), u=st.floats(-60.0, 60.0), K_L=st.floats(-3.0, 3.0))
@example(L=1.0, u=0.0, K_L=0.0)
@example(L=1e-9, u=1e-12, K_L=1e-9)
@example(L=100.0, u=-1e-12, K_L=0.5)
@example(L=2.0, u=-60.0, K_L=3.0)
def test_bend_property_any_strength(L, u, K_L):
    """map6_bend = exp(A6 L) (30 digits) for any length, focusing u = (K^2 + k1) L^2 and K L."""
    K = K_L / L
    k1 = u / L**2 - K**2
    if not np.isfinite(k1):
        return
    assert_map(m6(kk.map6_bend, L, K, k1), expm_mp((K, k1), length=L),
               f"bend L={L}, K={K}, k1={k1}")
