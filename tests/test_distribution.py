"""§2-§3 numerics: folding, P(x, z), closed-orbit functions on rings, Monte Carlo of the spot."""

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.integrate import solve_ivp

from coupled_beam import InputError, ResonanceError, beam_spot, folded_mu
from coupled_beam import _kernels
from coupled_beam.distribution import (absolute_moments, closed_orbit_functions,
                                       position_density, spot_profile)
from coupled_beam.lattice import (Bend, Drift, Quadrupole, Ring, Solenoid, SkewQuadrupole,
                                  ThinSkewQuadrupole)

# ------------------------------------------------------------------ fixtures
D_BEND = 2e-4 * np.eye(2)
PHI_BEND = np.diag([0.0, 1e-12, 0.0, 1e-14])


def _cells(n=6, radiation=True):
    rad = dict(D=D_BEND, phi_hat=PHI_BEND) if radiation else {}
    cell = [Drift(0.6), Quadrupole(0.3, 1.4), Drift(0.3), Bend(1.5, K=1 / 6.0, **rad), Drift(0.3),
            Quadrupole(0.3, -1.15), Drift(0.3), Bend(1.5, K=1 / 6.0, **rad), Drift(0.6)]
    return cell * n


def _coupled_ring(p2=1e-6):
    els = _cells()
    els = (els[:4] + [SkewQuadrupole(0.2, M=0.02), Solenoid(0.5, H=0.05)] + els[4:20]
           + [ThinSkewQuadrupole(0.01)] + els[20:])
    return Ring(els, p2=p2)


def _sym(a, b, c):
    return np.array([[a, b], [b, c]])


# ------------------------------------------------------------- §3 folding
moment_sets = st.tuples(
    st.floats(0.05, 20.0), st.floats(0.05, 20.0), st.floats(-0.95, 0.95),
    st.floats(-3.0, 3.0), st.floats(-3.0, 3.0), st.floats(0.0, 5.0),
)


@settings(max_examples=150, deadline=None)
@given(moment_sets)
@example((1.0, 1.0, 0.0, 0.0, 0.0, 0.0))   # no dispersion, round
@example((1.0, 1e-2, 0.0, 1.0, 0.0, 5.0))  # dispersion-dominated horizontal
def test_folded_mu_equals_half_inverse_total_covariance(t):
    """μ = ½ (Σ_b + <p²> η ηᵀ)⁻¹ against numpy's matrix inverse."""
    a, c, r, xi, zeta, p2 = t
    sb = _sym(a, r * np.sqrt(a * c), c)
    eta = np.array([xi, zeta])
    ref = 0.5 * np.linalg.inv(sb + p2 * np.outer(eta, eta))
    got = folded_mu(sb, eta, p2)
    # condition number of Σ_b is <= 40 * 20/0.05 here: 1e-11 covers the inverse's round-off
    assert np.allclose(got, ref, rtol=1e-11, atol=1e-11 * np.abs(ref).max()), "μ != ½Σ⁻¹"


def test_folded_mu_equals_printed_eq8_with_m_and_alpha():
    """The kernel equals the paper's (8): m - (mη)(mη)ᵀ/(α² + ηᵀmη), m = ½Σ_b⁻¹, α² = 1/(2<p²>)."""
    sb, eta, p2 = _sym(2.0, 0.3, 0.5), np.array([0.8, -0.4]), 0.7
    m = 0.5 * np.linalg.inv(sb)
    me = m @ eta
    printed = m - np.outer(me, me) / (1 / (2 * p2) + eta @ m @ eta)
    # well-conditioned point: round-off only
    assert np.allclose(folded_mu(sb, eta, p2), printed, rtol=1e-13, atol=1e-15), "μ != (8)"


def test_folded_mu_dispersion_dominated_matches_mpmath():
    """<p²>ξ² = 1e6 <x_b²>: the kernel keeps 1e-14 relative accuracy (mpmath 50-digit reference)."""
    x2, xz, z2, xi, zeta, p2 = 1e-12, 2e-14, 1e-13, 1.0, 0.01, 1e-6
    got = folded_mu(_sym(x2, xz, z2), [xi, zeta], p2)
    with mpmath.workdps(50):
        x2m, xzm, z2m, xim, zetam, p2m = (mpmath.mpf(v) for v in (x2, xz, z2, xi, zeta, p2))
        S = mpmath.matrix([[x2m + p2m * xim**2, xzm + p2m * xim * zetam],
                           [xzm + p2m * xim * zetam, z2m + p2m * zetam**2]])
        ref = np.array((S**-1 / 2).tolist(), dtype=float)
    # float64 inputs are exact binary numbers; the kernel's only error is round-off
    assert np.allclose(got, ref, rtol=1e-14, atol=0), f"kernel {got} vs mpmath {ref}"
    with mpmath.workdps(50):
        twin = _kernels.folded_mu_rs_mp(*(mpmath.mpf(v) for v in (x2, xz, z2, xi, zeta, p2)))
        assert all(abs(u / float(v) - 1) < 1e-14 for u, v in zip(twin, (ref[0, 0], ref[0, 1], ref[1, 1])))


def test_position_density_normalised_with_covariance_by_quadrature():
    """P(x, z) integrates to 1 and its second moments equal Σ_b + <p²>ηηᵀ (2-D trapezoid quadrature)."""
    sb, eta, p2 = _sym(1.0, 0.3, 0.5), np.array([0.8, -0.4]), 0.7
    mu = folded_mu(sb, eta, p2)
    ref = sb + p2 * np.outer(eta, eta)
    # the trapezoid rule converges exponentially for a smooth Gaussian; ±14 is > 10 σ
    g = np.linspace(-14.0, 14.0, 561)
    X, Z = np.meshgrid(g, g, indexing="ij")
    P = position_density(mu, X, Z)
    w = (g[1] - g[0]) ** 2

    def moment(f):
        return float(np.sum(f * P) * w)

    assert moment(1.0) == pytest.approx(1.0, rel=1e-12, abs=0), "∫P != 1"
    got = np.array([[moment(X * X), moment(X * Z)], [moment(X * Z), moment(Z * Z)]])
    # spectral accuracy of the trapezoid rule: round-off of the 3e5-term sums
    assert np.allclose(got, ref, rtol=1e-11, atol=1e-12), f"moments {got} != {ref}"
    assert np.allclose(absolute_moments(sb, eta, p2), ref, rtol=1e-15, atol=0), "absolute_moments"


def test_position_density_equals_folding_quadrature_over_p():
    """P(x, z) equals ∫dp P_b(x - ξp, z - ζp) P_c(p) done by scipy quad with numpy Gaussians."""
    sb, eta, p2 = _sym(1.0, 0.3, 0.5), np.array([0.8, -0.4]), 0.7
    m = 0.5 * np.linalg.inv(sb)
    Pb = lambda y: np.sqrt(np.linalg.det(m)) / np.pi * np.exp(-y @ m @ y)  # noqa: E731
    Pc = lambda p: np.exp(-p * p / (2 * p2)) / np.sqrt(2 * np.pi * p2)  # noqa: E731
    for x, z in [(0.0, 0.0), (0.7, -0.3), (-1.5, 1.1)]:
        ref, _ = integrate.quad(lambda p: Pb(np.array([x, z]) - eta * p) * Pc(p), -np.inf, np.inf,
                                epsabs=1e-14, epsrel=1e-12)
        got = float(position_density(folded_mu(sb, eta, p2), x, z))
        # quad's relative accuracy 1e-12 on a smooth Gaussian
        assert got == pytest.approx(ref, rel=1e-10, abs=0), f"P({x}, {z})"


def test_folded_mu_accepts_full_moments_and_orbit_vectors():
    """A (4, 4) <ŷŷᵀ> and a (4,) (ξ, ξ', ζ, ζ') give the same μ as their (x, z) parts."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 4))
    S4 = a @ a.T + np.eye(4)
    eta4 = np.array([0.5, 0.1, -0.2, 0.03])
    got = folded_mu(S4, eta4, 0.4)
    ref = folded_mu(S4[np.ix_([0, 2], [0, 2])], eta4[[0, 2]], 0.4)
    assert np.array_equal(got, ref), "4x4 input differs from its x-z block"


def test_folded_mu_broadcasts_and_empty_batch():
    """Moments (5, 2, 2), η (2,), p2 (3, 1) broadcast to (3, 5, 2, 2); an empty batch stays empty."""
    sb = np.broadcast_to(_sym(1.0, 0.1, 0.5), (5, 2, 2))
    out = folded_mu(sb, [0.3, 0.0], np.array([[0.1], [0.2], [0.3]]))
    assert out.shape == (3, 5, 2, 2), out.shape
    assert folded_mu(np.zeros((0, 2, 2)), np.zeros((0, 2)), 1.0).shape == (0, 2, 2)


def test_folded_mu_bad_input_raises_input_error():
    """Asymmetric moments, a wrong η shape and <p²> < 0 raise InputError."""
    with pytest.raises(InputError, match="symmetric"):
        folded_mu([[1.0, 0.5], [0.4, 1.0]], [0.0, 0.0], 0.0)
    with pytest.raises(InputError, match="eta"):
        folded_mu(np.eye(2), [0.0, 0.0, 0.0], 0.0)
    with pytest.raises(InputError, match="p2"):
        folded_mu(np.eye(2), [0.0, 0.0], -1e-6)


def test_folded_mu_not_positive_definite_gives_nan():
    """Moments with det < 0 give NaN μ, not a silent number."""
    assert np.isnan(folded_mu(_sym(1.0, 2.0, 1.0), [0.0, 0.0], 0.0)).all(), "NaN mask"


# --------------------------------------------------------------- Monte Carlo
@pytest.mark.slow
def test_monte_carlo_sample_reproduces_mu_theta_and_inverse_area(rng):
    """Samples x = x_b + ξp, z = z_b + ζp give μ, θ and 1/S within 5 standard errors."""
    sb = _sym(4e-8, 1.2e-8, 1e-8)
    eta, p2 = np.array([1.2, 0.15]), 1e-6
    n, batches = 400_000, 40
    xb = rng.multivariate_normal([0.0, 0.0], sb, size=n)
    p = rng.normal(0.0, np.sqrt(p2), size=n)
    pos = xb + p[:, None] * eta
    mu = folded_mu(sb, eta, p2)
    theta, _, _, inv_area = beam_spot(mu)

    parts = pos.reshape(batches, -1, 2)
    cov = np.einsum("bni,bnj->bij", parts, parts) / parts.shape[1]
    mu_b = 0.5 * np.linalg.inv(cov)
    th_b = beam_spot(mu_b)[0]
    for est, ref, what in [(mu_b[:, 0, 0], mu[0, 0], "μ_xx"), (mu_b[:, 0, 1], mu[0, 1], "μ_xz"),
                           (mu_b[:, 1, 1], mu[1, 1], "μ_zz"), (th_b, theta, "θ")]:
        se = est.std(ddof=1) / np.sqrt(batches)
        # batch means are ~normal: 5 σ makes a false alarm ~1e-6 per run
        assert abs(est.mean() - ref) < 5 * se, f"{what}: MC {est.mean()} ± {se}, exact {ref}"
    assert abs(float(theta)) > 20 * th_b.std(ddof=1) / np.sqrt(batches), "tilt not resolved by MC"
    dens = position_density(mu, pos[:, 0], pos[:, 1])  # E[P(X)] = ∫P² = 1/S
    se = dens.std(ddof=1) / np.sqrt(n)
    assert abs(dens.mean() - inv_area) < 5 * se, f"1/S: MC {dens.mean()} ± {se}, exact {inv_area}"


# ---------------------------------------------------------------- ring level
def test_closed_orbit_weak_focusing_ring_is_constant_dispersion():
    """A uniform bend ring with K = 0.5, n = 0.5 has ξ = 1/(K(1 - n)) = 4 m, ξ' = ζ = ζ' = 0."""
    eta = closed_orbit_functions(Ring([Bend(1.0, K=0.5, n=0.5)] * 7))
    # expm round-off over 7 elements
    assert np.allclose(eta[:, 0], 4.0, rtol=1e-12, atol=0), eta[:, 0]
    assert np.allclose(eta[:, 1:], 0.0, rtol=0, atol=1e-12), eta[:, 1:]


def test_closed_orbit_uncoupled_ring_has_no_vertical_dispersion():
    """Without coupling ζ ≡ 0 exactly; skew quadrupoles and a solenoid create vertical dispersion."""
    flat = closed_orbit_functions(Ring(_cells()))
    assert np.all(flat[:, 2:] == 0.0), "ζ != 0 in an uncoupled ring"
    coupled = closed_orbit_functions(_coupled_ring())
    assert np.abs(coupled[:, 2]).max() > 1e-2, "coupling gave no vertical dispersion"
    assert np.array_equal(coupled[0], coupled[-1]), "closed orbit not periodic"


def _track(ring, y0, p, rtol=1e-12, atol=1e-14):
    """Orbit at every boundary by integrating dy/ds = A y + b p element by element (solve_ivp)."""
    out = [np.asarray(y0, float)]
    y = out[0]
    for el in ring.elements:
        if isinstance(el, ThinSkewQuadrupole):
            y = el.transfer_map() @ y
        else:
            A, b = el.A, el.b
            sol = solve_ivp(lambda s, v: A @ v + b * p, (0.0, el.length), el.entrance @ y,
                            method="DOP853", rtol=rtol, atol=atol)
            y = el.exit @ sol.y[:, -1]
        out.append(y)
    return np.array(out)


def _periodic_orbit(ring, p):
    """Periodic orbit of the forced ODE: one-turn affine map from 5 tracked orbits, then its fixed point."""
    c = _track(ring, np.zeros(4), p)[-1]
    T = np.column_stack([_track(ring, e, p)[-1] - c for e in np.eye(4)])
    y0 = np.linalg.solve(np.eye(4) - T, c)
    assert np.allclose(_track(ring, y0, p)[-1], y0, rtol=0, atol=1e-10), "not a periodic orbit"
    return _track(ring, y0, p)


def test_closed_orbit_functions_equal_finite_difference_of_tracked_orbit():
    """ξ, ζ equal the central difference in p of the periodic orbit found by ODE tracking."""
    ring = _coupled_ring()
    h = 1e-3
    fd = (_periodic_orbit(ring, h) - _periodic_orbit(ring, -h)) / (2 * h)
    eta = closed_orbit_functions(ring)
    err = np.abs(fd - eta).max()
    # the orbit is linear in p (no truncation error); DOP853 at rtol 1e-12 over 58 elements
    assert err < 1e-8 * np.abs(eta).max(), f"max |FD - η| = {err:.2e}"
    assert np.abs(fd[:, 2]).max() > 1e-2, "the check must include vertical dispersion"


def test_closed_orbit_drift_ring_raises_resonance_error():
    """A ring of drifts has an eigenvalue 1 (no focusing): no closed orbit, ResonanceError."""
    with pytest.raises(ResonanceError, match="closed orbit"):
        closed_orbit_functions(Ring([Drift(1.0), Drift(2.0)]))


def test_spot_profile_inside_element_equals_split_ring_boundary():
    """Inside a bend the profile equals the boundary value of the ring with that bend split there."""
    els = _coupled_ring().elements
    k = 3  # the first bend, 1.5 m long
    assert isinstance(els[k], Bend)
    cut = 0.55
    first = Bend(cut, K=els[k].K, D=D_BEND, phi_hat=PHI_BEND)
    second = Bend(els[k].length - cut, K=els[k].K, D=D_BEND, phi_hat=PHI_BEND)
    split = Ring(els[:k] + (first, second) + els[k + 1:], p2=1e-6)
    ring = Ring(els, p2=1e-6)
    s_in = ring.s[k] + cut
    prof = spot_profile(ring, [s_in, s_in + ring.circumference])
    ref = spot_profile(split)
    for name in ("sigma_x", "sigma_z", "tilt", "inv_area", "mu_bar_xx", "mu_bar_zz"):
        got, want = getattr(prof, name), getattr(ref, name)[k + 1]
        # both are expm/Van Loan products of the same pieces: round-off
        assert np.allclose(got, want, rtol=1e-9, atol=0), f"{name}: {got} vs {want}"
    assert np.allclose(prof.eta, ref.eta[k + 1], rtol=1e-10, atol=1e-13), "η inside the bend"


def test_spot_profile_boundaries_consistent_with_beam_spot():
    """At the boundaries σ_x² = <x_b²> + <p²>ξ² and θ, 1/S come from the folded μ."""
    ring = _coupled_ring()
    prof = spot_profile(ring)
    sx2 = prof.moments[:, 0, 0] + prof.p2 * prof.eta[:, 0] ** 2
    assert np.allclose(prof.sigma_x**2, sx2, rtol=1e-14, atol=0), "σ_x² != <x_b²> + <p²>ξ²"
    sig = prof.sigma
    tilt = 0.5 * np.arctan2(2 * sig[:, 0, 1], sig[:, 0, 0] - sig[:, 1, 1])
    assert np.allclose(prof.tilt, tilt, rtol=0, atol=1e-12), "tilt != ½ atan2(2Σxz, Σxx - Σzz)"
    area = 2 * np.pi * np.sqrt(np.linalg.det(sig)) * 2   # 1/S = 1/(4π sqrt(det Σ))
    assert np.allclose(prof.inv_area, 1 / area, rtol=1e-12, atol=0), "1/S != 1/(4π sqrt det Σ)"


@pytest.mark.slow
def test_closed_orbit_functions_agree_with_pyat_dispersion():
    """ξ, ξ', ζ, ζ' of a FODO ring with a thin skew quadrupole agree with pyAT's linopt6 dispersion."""
    at = pytest.importorskip("at")
    K, Lb, m = 1 / 6.0, 1.5, 0.01

    def pyat_cell():
        return [at.Drift("D", 0.6), at.Quadrupole("QF", 0.3, 1.4), at.Drift("D", 0.3),
                at.Dipole("B", Lb, Lb * K, 0.0, EntranceAngle=0.0, ExitAngle=0.0, NumIntSteps=40),
                at.Drift("D", 0.3), at.Quadrupole("QD", 0.3, -1.15), at.Drift("D", 0.3),
                at.Dipole("B", Lb, Lb * K, 0.0, EntranceAngle=0.0, ExitAngle=0.0, NumIntSteps=40),
                at.Drift("D", 0.6)]

    # pyAT's thin skew multipole poly_a[1] = k kicks px += k z, py += k x: our m (x' += m z)
    cells = [e for _ in range(6) for e in pyat_cell()]
    lat = at.Lattice(cells[:20] + [at.ThinMultipole("SK", poly_a=[0, m], poly_b=[0, 0])]
                     + cells[20:], energy=3e9, periodicity=1)
    _, _, lin = lat.linopt6(refpts=range(len(lat) + 1))
    ours = _cells(radiation=False)
    eta = closed_orbit_functions(Ring(ours[:20] + [ThinSkewQuadrupole(m)] + ours[20:]))
    scale = np.abs(eta).max(axis=0)
    # pyAT integrates the bends with a 4th-order symplectic scheme (40 steps): ~2e-7 relative
    assert np.all(np.abs(lin.dispersion - eta).max(axis=0) < 2e-6 * scale), \
        np.abs(lin.dispersion - eta).max(axis=0) / scale
    assert scale[2] > 1e-2, "the skew quadrupole must create vertical dispersion"
