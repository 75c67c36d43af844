"""§5 continued: eigenvectors U, far-from-resonance M_rtsv and closed-form moments.

References come from independent routes: numpy.linalg.eig, the exact discrete
Lyapunov solution (scipy), the §4 engine (formula (10)), mpmath at 50 digits
and scipy quadrature. The one-turn map is rebuilt here from its definition
N = L diag(F_x, F_z), not taken from the code under test.
"""

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad_vec
from scipy.linalg import expm, solve_discrete_lyapunov

from coupled_beam.errors import InputError
from coupled_beam.skew_equilibrium import moments_far, skew_eigenvectors, smooth_arc_noise
from derivations import skew_equilibrium as se
from derivations import skew_quadrupole as sq
from derivations.verify import equal

J4 = np.kron(np.eye(2), np.array([[0.0, 1.0], [-1.0, 0.0]]))


# ---------------------------------------------------------------- helpers
def twiss(mu, beta, alpha, d):
    """(1 - d/2) F0 in Twiss form, shape (..., 2, 2)."""
    c, s = np.cos(mu), np.sin(mu)
    F = np.stack([np.stack([c + alpha * s, beta * s], -1),
                  np.stack([-(1 + alpha**2) / beta * s, c - alpha * s], -1)], -2)
    return (1 - np.asarray(d) / 2)[..., None, None] * F


def one_turn(mu_x, mu_z, bx, bz, m, ax=0.0, az=0.0, d1=0.0, d2=0.0):
    """N = L diag(F_x, F_z) built from the definitions of §5 (batch-capable)."""
    mu_x, mu_z, bx, bz, m, ax, az, d1, d2 = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (mu_x, mu_z, bx, bz, m, ax, az, d1, d2)))
    F = np.zeros(mu_x.shape + (4, 4))
    F[..., :2, :2] = twiss(mu_x, bx, ax, d1)
    F[..., 2:, 2:] = twiss(mu_z, bz, az, d2)
    L = np.broadcast_to(np.eye(4), mu_x.shape + (4, 4)).copy()
    L[..., 1, 2] = m
    L[..., 3, 0] = m
    return L @ F, L


def lyapunov(p, r11=0.0, r12=0.0, r22=1.0):
    """Exact Σ = N Σ N^T + L 𝓡_in L^T for one parameter tuple (mu_x, mu_z, bx, bz, m, ax, az, d1, d2)."""
    N, L = one_turn(*p)
    Rin = np.zeros((4, 4))
    Rin[:2, :2] = [[r11, r12], [r12, r22]]
    return solve_discrete_lyapunov(N, L @ Rin @ L.T)


def eigen_emittances(S):
    """Sorted |Im| of the eigenvalues of Σ J (each appears twice)."""
    return np.sort(np.abs(np.linalg.eigvals(S @ J4).imag))[::2]


def eigentunes_np(p):
    """g+ <= g- from numpy eigenvalues of the undamped map."""
    N, _ = one_turn(*p[:7])
    g = np.sort(np.abs(np.angle(np.linalg.eigvals(N))))
    return g[0], g[2]


def mode_dampings(p):
    """Exact decrements from |eigenvalues| of the damped map, ordered as g+, g-."""
    N, _ = one_turn(*p)
    lam = np.linalg.eigvals(N)
    order = np.argsort(np.abs(np.angle(lam)))
    om = -np.log(np.abs(lam[order]))
    return om[0], om[2]


def random_far_points(rng, n, *, min_ratio, alpha=True, d_range=(1e-5, 1e-3)):
    """Stable points with |g+ - g-| >= min_ratio * max(omega) and g± away from 0, π."""
    out = []
    while len(out) < n:
        mux, muz = rng.uniform(0.15, 2.95, 2)
        if rng.random() < 0.3:
            muz = 2 * np.pi - muz                      # sum-resonance side (sin μx sin μz < 0)
        bx, bz = 10 ** rng.uniform(0, 1.3, 2)
        m = rng.choice([-1, 1]) * 10 ** rng.uniform(-4, -1.3)
        ax, az = rng.uniform(-1, 1, 2) if alpha else (0.0, 0.0)
        d1 = 10 ** rng.uniform(*np.log10(d_range))
        d2 = d1 * 10 ** rng.uniform(-0.5, 0.5)
        p = (mux, muz, bx, bz, m, ax, az, d1, d2)
        N, _ = one_turn(*p)
        lam = np.linalg.eigvals(N)
        if np.max(np.abs(lam)) >= 1:
            continue
        g = np.sort(np.abs(np.angle(lam)))[::2]
        om = max(mode_dampings(p))
        if abs(g[1] - g[0]) < min_ratio * om or min(g[0], np.pi - g[1]) < 0.05:
            continue
        out.append(p)
    return out


def far(p, **noise):
    """The code under test at one point."""
    mux, muz, bx, bz, m, ax, az, d1, d2 = p
    return moments_far(mux, muz, bx, bz, m, d1, d2, alpha_x=ax, alpha_z=az, **noise)


def rel_errors(res, S):
    """Relative errors of <x²>, <z²> and of <xz> in units of sqrt(<x²><z²>)."""
    return (abs(res.xx / S[0, 0] - 1), abs(res.zz / S[2, 2] - 1),
            abs(res.xz - S[0, 2]) / np.sqrt(S[0, 0] * S[2, 2]))


# ------------------------------------------------------------ eigenvectors
def test_eigenvector_generic_blocks_residual_is_characteristic_polynomial():
    """(N − λ) v = (0, 0, 0, det(N − λ)) for generic (damped) blocks: v is an eigenvector at every root."""
    res = se.eigenvector_residual_generic()
    N = sq.skew_kick() * sp.diag(sq.X, sq.Z)
    charpoly = sp.expand((N - sq.lam * sp.eye(4)).det(method="bareiss"))
    assert list(res[:3]) == [0, 0, 0], "first three rows of (N - λ) v must vanish identically"
    assert sp.expand(res[3] - charpoly) == 0, "fourth row must be det(N - λ)"


def test_eigenvector_twiss_proportional_to_normalised_form_at_50_digits():
    """The unnormalised Twiss eigenvector and the normalised one are parallel (mpmath, 50 digits)."""
    v1 = se.eigenvector_twiss()
    v2 = se.to_cos_g(se.normalised_eigenvector())
    # parallel <=> all 2x2 minors of [v1 v2] vanish; test at points on the eigenvalue
    syms = (sq.mu_x, sq.mu_z, sq.beta_x, sq.beta_z, sq.m, sq.alpha_x, sq.alpha_z)
    for sign in (1, -1):
        vals = se._mode_values(sign)
        sub = {se.cos_g: vals[se.cos_g], se.sin_g: vals[se.sin_g], sq.b: vals[sq.b]}
        minors = [v1[i] * v2[j] - v1[j] * v2[i] for i in range(4) for j in range(i + 1, 4)]
        f = sp.lambdify(syms, [e.xreplace(sub) for e in minors] + [e.xreplace(sub) for e in v1], "mpmath")
        rng = np.random.default_rng(5)
        with mpmath.workdps(50):
            for _ in range(10):
                pt = [mpmath.mpf(float(x)) for x in (rng.uniform(0.2, 1.4), rng.uniform(1.6, 2.9),
                                                    rng.uniform(1, 20), rng.uniform(1, 20),
                                                    rng.uniform(0.01, 0.1), rng.uniform(-1, 1),
                                                    rng.uniform(-1, 1))]
                out = f(*pt)
                scale = max(abs(x) for x in out[6:]) ** 2
                assert max(abs(x) for x in out[:6]) < mpmath.mpf(10) ** -40 * scale, \
                    "eigenvector_twiss and normalised_eigenvector are not parallel"


@pytest.mark.parametrize("sign", [1, -1])
def test_normalised_eigenvector_is_eigenvector_and_normalised_at_50_digits(sign):
    """N v = e^{ig} v, v^H J v = ±2i and u v = 1 at random stable points (mpmath, 50 digits)."""
    vals = se._mode_values(sign)
    v = se.normalised_eigenvector().xreplace(vals)
    u = se.left_eigenvector().xreplace(vals)
    N = sq.one_turn_map(alpha=True, damped=False)
    cg = vals[se.cos_g]
    syms = (sq.mu_x, sq.mu_z, sq.beta_x, sq.beta_z, sq.m, sq.alpha_x, sq.alpha_z)
    fv, fu, fN, fc = (sp.lambdify(syms, e, "mpmath") for e in (v, u, N, cg))
    rng = np.random.default_rng(11)
    checked = 0
    with mpmath.workdps(50):
        for _ in range(40):
            pt = [mpmath.mpf(float(x)) for x in (rng.uniform(0.2, 2.9), rng.uniform(0.2, 6.0),
                                                rng.uniform(1, 20), rng.uniform(1, 20),
                                                rng.uniform(-0.1, 0.1), rng.uniform(-1, 1),
                                                rng.uniform(-1, 1))]
            c = fc(*pt)
            if not (isinstance(c, mpmath.mpf) and abs(c) < 1):
                continue                                  # this mode unstable here
            vv, uu, NN = mpmath.matrix(fv(*pt)), mpmath.matrix(fu(*pt)), mpmath.matrix(fN(*pt))
            lam_ = mpmath.mpc(c, mpmath.sqrt(1 - c**2))
            tol = mpmath.mpf(10) ** -40
            assert mpmath.norm(NN * vv - lam_ * vv) < tol * mpmath.norm(vv), "N v != λ v"
            assert mpmath.norm(uu * NN - lam_ * uu) < tol * mpmath.norm(uu), "u N != λ u"
            kappa = (vv.H * mpmath.matrix(J4.tolist()) * vv)[0]
            assert abs(abs(kappa) - 2) < tol and abs(kappa.real) < tol, "v^H J v != ±2i"
            assert abs((uu * vv)[0] - 1) < tol, "u v != 1"
            checked += 1
    assert checked >= 15, f"too few stable sample points ({checked})"


def test_eigenvector_kernel_diagonalises_numeric_map_at_4000_points(rng):
    """U N U⁻¹ = diag(e^{+ig+}, e^{−ig+}, e^{+ig−}, e^{−ig−}) and the projectors match numpy.linalg.eig."""
    n = 4000
    mux, muz = rng.uniform(0.1, 3.0, n), rng.uniform(0.1, 6.2, n)
    bx, bz = 10 ** rng.uniform(-0.5, 1.5, (2, n))
    m = rng.uniform(-0.2, 0.2, n)
    ax, az = rng.uniform(-2, 2, (2, n))
    N, _ = one_turn(mux, muz, bx, bz, m, ax, az)
    lam = np.linalg.eigvals(N)
    g = np.sort(np.abs(np.angle(lam)), axis=-1)[:, ::2]
    ok = ((np.abs(np.abs(lam) - 1).max(-1) < 1e-9) & (np.diff(g, axis=-1)[:, 0] > 1e-2)
          & (g[:, 0] > 1e-2) & (g[:, 1] < np.pi - 1e-2))
    assert ok.sum() > 1500, "too few stable, well separated samples"
    U, Ui = skew_eigenvectors(mux[ok], muz[ok], bx[ok], bz[ok], m[ok], ax[ok], az[ok])
    Delta = np.exp(1j * np.stack([g[ok, 0], -g[ok, 0], g[ok, 1], -g[ok, 1]], -1))
    D = U @ N[ok] @ Ui
    scale = np.linalg.norm(U, axis=(-2, -1)) * np.linalg.norm(Ui, axis=(-2, -1))
    off = np.abs(D - Delta[..., None] * np.eye(4)).max(axis=(-2, -1)) / scale
    # float64 eigen-decomposition, condition ~ 1/gap with gap >= 1e-2
    assert off.max() < 1e-11, f"U N U^-1 not diag(Δ) in paper order: worst {off.max():.2e}"
    I4 = np.abs(U @ Ui - np.eye(4)).max(axis=(-2, -1))
    assert I4.max() < 1e-11, f"U U^-1 != 1: worst {I4.max():.2e}"
    # projectors against numpy.linalg.eig
    w, V = np.linalg.eig(N[ok])
    Vi = np.linalg.inv(V)
    for k in range(4):
        j = np.argmin(np.abs(w - Delta[:, k:k + 1]), axis=-1)
        idx = np.arange(len(j))
        P_np = V[idx, :, j][..., :, None] * Vi[idx, j, :][..., None, :]
        P = Ui[..., :, k, None] * U[..., None, k, :]
        err = np.abs(P - P_np).max(axis=(-2, -1)) / np.abs(P_np).max(axis=(-2, -1))
        assert np.percentile(err, 99.9) < 1e-9, f"projector {k + 1} differs from numpy.linalg.eig"


def test_eigenvectors_uncoupled_limit_is_courant_snyder():
    """m = 0: columns of U⁻¹ are (√β, (i − α)/√β) of each plane."""
    U, Ui = skew_eigenvectors(1.0, 1.6, 10.0, 7.0, 0.0, 0.5, -0.3)
    expect_x = np.array([np.sqrt(10.0), (1j - 0.5) / np.sqrt(10.0), 0, 0])
    expect_z = np.array([0, 0, np.sqrt(7.0), (1j + 0.3) / np.sqrt(7.0)])
    np.testing.assert_allclose(Ui[:, 0], expect_x, rtol=1e-14, atol=1e-15)   # exact up to rounding
    np.testing.assert_allclose(Ui[:, 2], expect_z, rtol=1e-14, atol=1e-15)


# ------------------------------------------------------------------ M_rtsv
def test_m_rtsv_far_printed_form_is_an_erratum():
    """The printed far-from-resonance M_rtsv (U⁻¹_1t U⁻¹_2v, one term per mode) differs from the derived one."""
    (check,) = se.equation_checks()  # one row for the issue: M_1212 and M_1232 together
    assert len(check.printed) == len(check.derived) == 2
    for printed, derived in zip(check.printed, check.derived):
        verdict = equal(printed, derived)
        assert verdict.status == "different", f"{check.equation}: printed unexpectedly matches: {verdict}"
    # with U_1t, U_2v restored, the diagonal component is exactly half the derived one
    U, Ui = se._generic_u()
    fixed = (Ui[0, 0] * U[0, 1] * Ui[0, 1] * U[1, 1] / (2 * se.omega_plus)
             + Ui[0, 2] * U[2, 1] * Ui[0, 3] * U[3, 1] / (2 * se.omega_minus))
    assert sp.expand(2 * fixed - se.m_rtsv_far(1, 2, 1, 2)) == 0, "missing partner is not a factor 2 on M_1212"
    # the derived form has exactly the four poles (1,2), (2,1), (3,4), (4,3), residue 1/(2ω)
    poles = se._leading_coefficients()
    assert sorted(poles) == [(0, 1), (1, 0), (2, 3), (3, 2)], f"poles at {sorted(poles)}"
    assert sp.simplify(poles[(0, 1)] - 1 / (2 * se.omega_plus)) == 0


def test_m_rtsv_far_numeric_doubles_single_term_and_matches_lyapunov():
    """Numerically: derived M_far·𝓡 ≈ Lyapunov Σ; the single printed term (with U_1t) gives half of <x²>."""
    p = (1.0, 1.7, 9.0, 6.0, 0.03, 0.4, -0.2, 2e-5, 1e-5)
    N, _ = one_turn(*p)
    w, V = np.linalg.eig(N)
    ang = np.angle(w)
    pos = np.argsort(np.where(ang > 0, ang, np.inf))[:2]        # e^{+ig+}, e^{+ig-}
    neg = np.argsort(np.where(ang < 0, -ang, np.inf))[:2]       # e^{-ig+}, e^{-ig-}
    order = [pos[0], neg[0], pos[1], neg[1]]
    Ui = V[:, order]
    U = np.linalg.inv(Ui)
    om = -np.log(np.abs(w[order]))
    subs = {se.omega_plus: om[0], se.omega_minus: om[2]}
    subs.update({sp.Symbol(f"U_{i + 1}{j + 1}"): U[i, j] for i in range(4) for j in range(4)})
    subs.update({sp.Symbol(f"Ui_{i + 1}{j + 1}"): Ui[i, j] for i in range(4) for j in range(4)})
    S = lyapunov(p)
    # 𝓡 = e2 e2^T: <y_r y_s> = M_{r2s2}
    derived = np.array([[complex(se.m_rtsv_far(r, 2, s, 2).xreplace(subs)) for s in (1, 3)] for r in (1, 3)])
    exact = S[np.ix_([0, 2], [0, 2])]
    assert np.abs(derived.imag).max() < 1e-9 * np.abs(exact).max(), "derived M_far must be real"
    # leading order: relative error O(ω) ~ 1e-5 here
    np.testing.assert_allclose(derived.real, exact, rtol=1e-3, atol=1e-6 * exact[0, 0])
    single = complex(sum(Ui[0, a] * U[a, 1] * Ui[0, b] * U[b, 1] / (1 - w[order][a] * w[order][b])
                         for a, b in ((0, 1), (2, 3))))
    assert abs(single.real / exact[0, 0] - 0.5) < 1e-3, "one term per mode should give half <x²>"
    printed = complex(se.m_rtsv_far_printed(1, 2, 1, 2).xreplace(subs))
    assert abs(printed / exact[0, 0] - 1) > 0.1, "the printed U⁻¹_1t form should be wrong"


def test_m_rtsv_far_contracted_with_numpy_eigenvectors_gives_closed_form_moments():
    """Σ_tv M_far,rtsv 𝓡_tv contracted with numpy's eigen-decomposition of the undamped map and the
    exact decrements -ln|λ| of the damped map (both rebuilt here, not from the code under test)
    equals moments_far: the spectral projectors P_k = V[:, k] V⁻¹[k, :] do not depend on the
    eigenvector normalisation; first-order vs exact decrements differ by O(ω) = 3e-5."""
    p = (1.1, 1.9, 8.0, 5.0, 0.04, -0.3, 0.6, 3e-5, 1e-5)
    mux, muz, bx, bz, m, ax, az, d1, d2 = p
    N0, L = one_turn(*p[:7])
    lam, V = np.linalg.eig(N0)
    order = np.argsort(np.abs(np.angle(lam)))                 # plus pair (smaller g) first
    V = V[:, order]
    Vi = np.linalg.inv(V)
    P = [np.outer(V[:, k], Vi[k, :]) for k in range(4)]
    op, om = mode_dampings(p)
    Rin = np.zeros((4, 4))
    Rin[:2, :2] = [[0.5, 0.3], [0.3, 2.0]]
    R = L @ Rin @ L.T
    S = (P[0] @ R @ P[1].T + P[1] @ R @ P[0].T) / (2 * op) + (P[2] @ R @ P[3].T + P[3] @ R @ P[2].T) / (2 * om)
    res = moments_far(mux, muz, bx, bz, m, d1, d2, r22=2.0, r11=0.5, r12=0.3, alpha_x=ax, alpha_z=az)
    got = np.array([res.xx, res.zz, res.xz], dtype=float)
    want = S[[0, 2, 0], [0, 2, 2]].real
    assert np.max(np.abs(S.imag)) < 1e-9 * np.max(np.abs(S.real))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * want[0])   # O(ω): measured 8e-6


# ----------------------------------------------------------------- moments
def test_moments_far_uncoupled_limit_pinned():
    """m = 0: <x²> = φ βx²/(2 D11 s0), ε+ = φ βx/(2 D11 s0), <z²> = <xz> = 0, no tilt."""
    res = moments_far(1.0, 1.6, 10.0, 7.0, 0.0, 2e-4, 1e-4, r22=1e-10, alpha_x=0.7)
    assert float(res.xx) == pytest.approx(2.5e-5, rel=1e-13, abs=0)   # 1e-10 * 100 / 4e-4
    assert float(res.eps_plus) == pytest.approx(2.5e-6, rel=1e-13, abs=0)
    assert float(res.zz) == 0 and float(res.xz) == 0 and float(res.tilt) == 0
    assert float(res.emittance_ratio) == 0


def test_moments_far_lumped_kick_independent_of_alpha():
    """Position moments of the lumped x' kick do not depend on α at the quadrupole (derived)."""
    a = moments_far(1.2, 1.9, 6.0, 11.0, 0.02, 1e-4, 5e-5)
    b_ = moments_far(1.2, 1.9, 6.0, 11.0, 0.02, 1e-4, 5e-5, alpha_x=1.3, alpha_z=-0.8)
    np.testing.assert_allclose([b_.xx, b_.zz, b_.xz, b_.eps_plus, b_.eps_minus],
                               [a.xx, a.zz, a.xz, a.eps_plus, a.eps_minus], rtol=1e-12, atol=0)


def test_moments_far_lumped_closed_forms_equal_derived_at_50_digits():
    """The compact lumped-kick forms equal the derivation from U and M_far (mpmath, 50 digits)."""
    hand = se.lumped_compact(explicit=True)
    got = se.moments_far("lumped")
    dom = {sq.mu_x: (0.3, 1.2), sq.mu_z: (1.5, 2.6), sq.beta_x: (1, 20), sq.beta_z: (1, 20),
           sq.m: (-0.03, 0.03), sq.d11_s0: (1e-5, 1e-3), sq.d22_s0: (1e-5, 1e-3), se.phi: (0.1, 2)}
    for name in ("xx", "zz", "xz", "eps_plus", "eps_minus", "tilt"):
        v = equal(hand[name], got[name], domain=dom, prove=False, points=8)
        assert v.status == "numerically equal", f"{name}: {v}"


def test_moments_far_match_lyapunov_far_from_resonance(rng):
    """Far from resonance (|g+ − g−| ≥ 1000 ω) every moment agrees with Lyapunov to ~D s0."""
    for p in random_far_points(rng, 60, min_ratio=1000):
        S = lyapunov(p)
        res = far(p, r22=1.0)
        errs = rel_errors(res, S)
        # leading order: 1/(1 - e^{-2ω}) = 1/(2ω) + 1/2 + ..., plus O(ω/|Δg|)
        assert max(errs) < 3 * max(p[7], p[8]) + 2e-3, f"{p}: errors {errs}"
        np.testing.assert_allclose(sorted([res.eps_plus, res.eps_minus]), eigen_emittances(S),
                                   rtol=5e-3, atol=1e-9 * S[0, 0])   # eigen-emittances to O(ω)


def test_moments_far_within_one_percent_above_30_damping_units(rng):
    """|g+ − g−| ≥ 30 max(ω±) (measured threshold) keeps <x²>, <z²>, <xz> within 1 % of Lyapunov."""
    worst = 0.0
    for p in random_far_points(rng, 150, min_ratio=30):
        errs = rel_errors(far(p, r22=1.0), lyapunov(p))
        worst = max(worst, max(errs))
    assert worst < 1e-2, f"worst relative error {worst:.3e} above the measured 1 % boundary"


def test_moments_far_fail_close_to_difference_resonance():
    """On the difference resonance with |g+ − g−| ≈ 2 ω the closed form is off by more than 1 %."""
    d = 1e-3
    bx, bz, mu = 10.0, 7.0, 1.76
    m = 2 * (d / 2) / np.sqrt(bx * bz)           # |g+ − g−| ≈ m sqrt(βx βz) = 2 ω
    p = (mu, mu, bx, bz, m, 0.0, 0.0, d, d)
    errs = rel_errors(far(p, r22=1.0), lyapunov(p))
    assert max(errs) > 1e-2, f"expected breakdown near resonance, errors {errs}"


def test_moments_far_general_noise_matches_lyapunov(rng):
    """Correlated horizontal noise (r11, r12, r22) with α ≠ 0: moments and tilt agree with Lyapunov."""
    for p in random_far_points(rng, 30, min_ratio=300):
        r11, r22 = 10 ** rng.uniform(-1, 1, 2)
        r12 = rng.uniform(-0.9, 0.9) * np.sqrt(r11 * r22)
        S = lyapunov(p, r11, r12, r22)
        res = far(p, r11=r11, r12=r12, r22=r22)
        assert max(rel_errors(res, S)) < 1e-2, f"{p}"           # |Δg| >= 300 ω: well inside 1 %
        ecc = np.hypot(S[0, 0] - S[2, 2], 2 * S[0, 2]) / (S[0, 0] + S[2, 2])
        tilt = 0.5 * np.arctan2(2 * S[0, 2], S[0, 0] - S[2, 2])
        if ecc > 0.1:                                            # tilt well defined (not round)
            assert abs(res.tilt - tilt) < 1e-2, f"tilt {res.tilt} vs {tilt}"


def test_moments_far_match_section4_engine():
    """The §4 engine (formula (10), coupled_beam.equilibrium) gives the same moments far from resonance."""
    equilibrium = pytest.importorskip("coupled_beam.equilibrium")
    p = (0.9, 2.1, 12.0, 4.0, -0.03, 0.2, 0.5, 4e-5, 2e-5)
    N, L = one_turn(*p)
    R = np.zeros((4, 4))
    R[1, 1] = 1.0
    S = equilibrium.equilibrium_moments(N, L @ R @ L.T)
    res = far(p, r22=1.0)
    np.testing.assert_allclose([res.xx, res.zz, res.xz], [S[0, 0], S[2, 2], S[0, 2]],
                               rtol=1e-3, atol=1e-6 * S[0, 0])   # leading order: O(ω) ~ 1e-5


def test_emittance_ratio_and_tilt_match_lyapunov_pinned():
    """One pinned point: ratio of eigen-emittances and tilt against the Lyapunov solution."""
    p = (1.0, 1.3, 10.0, 7.0, 0.01, 0.0, 0.0, 1e-4, 1e-4)
    S = lyapunov(p)
    res = far(p, r22=1.0)
    e = eigen_emittances(S)
    assert float(res.emittance_ratio) == pytest.approx(e[0] / e[1], rel=2e-3, abs=0)   # O(ω/Δg)
    tilt = 0.5 * np.arctan2(2 * S[0, 2], S[0, 0] - S[2, 2])
    assert float(res.tilt) == pytest.approx(tilt, rel=2e-3, abs=0)
    # absolute pins (Lyapunov values at this point, computed once): ratio 0.0159578, tilt 0.120427 rad
    assert float(res.emittance_ratio) == pytest.approx(0.0159578, rel=1e-4, abs=0)
    assert float(res.tilt) == pytest.approx(0.120427, rel=1e-4, abs=0)


# ------------------------------------------------------------ smooth arcs
def test_smooth_arc_noise_matches_quadrature():
    """(r11, r12, r22) equal φ11 ∫ F e2 e2^T F^T ds' by adaptive quadrature."""
    mu, beta, s0, phi11 = 1.7, 6.0, 30.0, 2e-9

    def integrand(s):
        th = mu * (s0 - s) / s0
        f = np.array([beta * np.sin(th), np.cos(th)])
        return phi11 * np.outer(f, f)

    ref, _ = quad_vec(integrand, 0.0, s0, epsabs=0, epsrel=1e-12)
    got = smooth_arc_noise(mu, beta, phi11 * s0)
    np.testing.assert_allclose(got, [ref[0, 0], ref[0, 1], ref[1, 1]], rtol=1e-10, atol=1e-20)


def test_moments_far_smooth_arc_model_matches_exact_damped_ring():
    """Uniform φ11 along a damped constant-β arc + thin skew quad: closed form vs exact Lyapunov."""
    mux, muz, bx, bz, m, s0 = 1.1, 1.8, 7.0, 9.0, 0.02, 40.0
    D1, D2, phi11 = 2e-4 / s0, 1e-4 / s0, 1e-9        # D s0 = 2e-4, 1e-4 per turn

    def arc(s):                                       # exact damped map over a length s of arc
        out = np.zeros((4, 4))
        for k, (mu, b, D) in enumerate(((mux, bx, D1), (muz, bz, D2))):
            th = mu * s / s0
            rot = np.array([[np.cos(th), b * np.sin(th)], [-np.sin(th) / b, np.cos(th)]])
            out[2 * k:2 * k + 2, 2 * k:2 * k + 2] = np.exp(-D * s / 2) * rot
        return out

    L = np.eye(4)
    L[1, 2] = L[3, 0] = m
    e2 = np.zeros((4, 1))
    e2[1] = 1
    Rin, _ = quad_vec(lambda s: phi11 * arc(s0 - s) @ e2 @ e2.T @ arc(s0 - s).T, 0, s0, epsrel=1e-12)
    N = L @ arc(s0)
    S = solve_discrete_lyapunov(N, L @ Rin @ L.T)
    r = smooth_arc_noise(mux, bx, phi11 * s0)
    res = moments_far(mux, muz, bx, bz, m, D1 * s0, D2 * s0, r11=r[0], r12=r[1], r22=r[2])
    assert max(rel_errors(res, S)) < 1e-3, "smooth-arc model: closed form vs exact"   # O(D s0)
    lumped = moments_far(mux, muz, bx, bz, m, D1 * s0, D2 * s0, r22=phi11 * s0)
    assert abs(lumped.zz / S[2, 2] - 1) > 0.05, "lumped and distributed noise should differ here"


# ------------------------------------------------------- input and masks
def test_moments_far_bad_input_raises_input_error():
    """β ≤ 0, NaN and a non-positive-semidefinite noise raise InputError naming the value."""
    with pytest.raises(InputError, match="beta_x"):
        moments_far(1.0, 1.6, -1.0, 7.0, 0.01, 1e-4, 1e-4)
    with pytest.raises(InputError, match="mu_z"):
        moments_far(1.0, np.nan, 1.0, 7.0, 0.01, 1e-4, 1e-4)
    with pytest.raises(InputError, match="r12"):
        moments_far(1.0, 1.6, 1.0, 7.0, 0.01, 1e-4, 1e-4, r11=1.0, r22=1.0, r12=2.0)
    with pytest.raises(InputError, match="r22"):
        moments_far(1.0, 1.6, 1.0, 7.0, 0.01, 1e-4, 1e-4, r22=-1.0)
    with pytest.raises(InputError, match="beta_z"):
        skew_eigenvectors(1.0, 1.6, 1.0, 0.0, 0.01)


def test_moments_far_mask_unstable_and_undamped_is_nan():
    """Unstable points (stop band), b² ≤ 0 and zero damping give NaN; good points stay finite."""
    res = moments_far([1.0, 3.0, 1.0, 1.2], [1.6, 3.0, 1.6, 1.2], 10.0, 10.0, [0.01, 0.5, 0.01, 0.0],
                      [1e-4, 1e-4, 0.0, 1e-4], [1e-4, 1e-4, 0.0, 1e-4])
    for field in res:
        assert np.isfinite(field[0]), "stable damped point must be finite"
        assert np.all(np.isnan(field[1:])), "unstable, undamped and b = 0 points must be NaN"
    U, Ui = skew_eigenvectors([1.0, 3.0], [1.6, 3.0], 10.0, 10.0, [0.01, 0.5])
    assert np.all(np.isfinite(U[0])) and np.all(np.isnan(U[1])) and np.all(np.isnan(Ui[1]))


def test_moments_far_broadcast_and_empty_shapes():
    """Inputs broadcast; an empty batch gives empty results of the right shape."""
    res = moments_far(np.linspace(0.8, 1.2, 5)[:, None], [1.6, 1.9, 2.2], 10.0, 7.0, 0.01, 1e-4, 1e-4)
    assert all(np.shape(f) == (5, 3) for f in res)
    empty = moments_far(np.empty((0,)), 1.6, 10.0, 7.0, 0.01, 1e-4, 1e-4)
    assert all(np.shape(f) == (0,) for f in empty)
    U, Ui = skew_eigenvectors(np.empty((0, 2)), 1.6, 10.0, 7.0, 0.01)
    assert U.shape == (0, 2, 4, 4) and Ui.shape == (0, 2, 4, 4)


def test_results_published_for_derive():
    """results() names the closed forms asked for by `coupled-beam derive`."""
    names = {r.name for r in se.results()}
    assert {"eigenvectors-U", "M-rtsv-far", "skew-moments", "emittance-ratio", "skew-tilt"} <= names


@pytest.mark.parametrize("m", [1e-7, -3e-5, 2e-3])
def test_moments_far_float64_keeps_precision_at_weak_coupling(m):
    """The cancellation-free rewrite keeps float64 within 1e-13 of the 50-digit twin as m → 0."""
    from coupled_beam import _kernels
    args = (1.0, 1.6, 10.0, 7.0, m, 0.3, -0.2, 2e-4, 1e-4, 0.1, 0.05, 1.0)
    got = [float(v) for v in _kernels.skew_moments_far(*args)]
    with mpmath.workdps(50):
        ref = [float(v) for v in _kernels.skew_moments_far_mp(*(mpmath.mpf(str(a)) for a in args))]
    # a naive cos g − cos μ difference would lose ~ (δ/κ)² ~ 1e12 × eps here
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)


def test_moments_far_within_one_percent_near_integer_and_half_integer(rng):
    """sin g± ≥ 10 max(ω±) (measured threshold) keeps the moments within 1 % near μx → 0 or π."""
    worst, n = 0.0, 0
    while n < 80:
        mux = rng.uniform(0.002, 0.3)
        mux = mux if rng.random() < 0.5 else np.pi - mux
        p = (mux, rng.uniform(1.2, 2.0), *(10 ** rng.uniform(0, 1.3, 2)),
             rng.choice([-1, 1]) * 10 ** rng.uniform(-4, -1.5), 0.0, 0.0, 1e-4, 1e-4 * 10 ** rng.uniform(-.5, .5))
        N, _ = one_turn(*p)
        lam = np.linalg.eigvals(N)
        if np.abs(lam).max() >= 1:
            continue
        g = np.sort(np.abs(np.angle(lam)))[::2]
        om = max(mode_dampings(p))
        if abs(g[1] - g[0]) < 100 * om or np.sin(g).min() < 10 * om:
            continue
        worst = max(worst, max(rel_errors(far(p), lyapunov(p))))
        n += 1
    assert worst < 1e-2, f"worst relative error {worst:.3e} near integer/half-integer"
