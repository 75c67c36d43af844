"""Appendix: tilt, principal axes, 1/S and the two-beam overlap, against independent routes."""

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate

from coupled_beam import InputError
from coupled_beam.distribution import beam_spot, overlap_inv_area, position_density


def _major_axis_angle(mu):
    """Angle of the eigenvector of the smaller eigenvalue of μ (numpy eigh), in (-π/2, π/2]."""
    w, v = np.linalg.eigh(mu)
    ang = np.arctan2(v[1, 0], v[0, 0])
    ang = (ang + np.pi / 2) % np.pi - np.pi / 2  # axis, not direction: modulo π
    return np.pi / 2 if np.isclose(ang, -np.pi / 2, rtol=0, atol=1e-15) else ang


def _mu(a, b, c):
    return np.array([[a, b], [b, c]])


pd_forms = st.tuples(
    st.floats(0.01, 100.0), st.floats(0.01, 100.0), st.floats(-0.99, 0.99)
).map(lambda t: _mu(t[0], t[2] * np.sqrt(t[0] * t[1]), t[1]))


@settings(max_examples=200, deadline=None)
@given(pd_forms)
@example(_mu(1.0, 0.3, 2.0))
@example(_mu(2.0, -0.3, 1.0))
@example(_mu(1.0, 0.0, 4.0))
@example(_mu(4.0, 0.0, 1.0))
@example(_mu(2.0, 0.5, 2.0))
@example(_mu(2.0, -0.5, 2.0))
def test_tilt_all_quadrants_equals_eigenvector_angle(mu):
    """θ is the angle of the major axis (eigenvector of the smaller μ eigenvalue) in every quadrant."""
    w = np.linalg.eigvalsh(mu)
    if w[1] - w[0] < 1e-6 * w[1]:
        return  # nearly round: the axis is ill-defined (tested separately)
    theta, lo, hi, _ = beam_spot(mu)
    ref = _major_axis_angle(mu)
    d = (float(theta) - ref + np.pi / 2) % np.pi - np.pi / 2  # compare axes modulo π
    # axis angle error ~ eps / relative eigen-gap (>= 1e-6 here)
    assert abs(d) < 1e-9, f"θ = {float(theta)}, eigenvector angle {ref}"
    assert -np.pi / 2 < float(theta) <= np.pi / 2, "θ outside (-π/2, π/2]"
    # eigenvalues: round-off relative to the larger one
    assert np.allclose([lo, hi], w, rtol=1e-12, atol=1e-13 * w[1]), "μ̄ != eigenvalues of μ"


def test_tilt_tan_two_theta_matches_appendix_condition():
    """tan 2θ (μ_xx - μ_zz) = 2 μ_xz for a batch of random forms."""
    rng = np.random.default_rng(7)
    a, c = rng.uniform(0.1, 10, (2, 500))
    b = rng.uniform(-0.95, 0.95, 500) * np.sqrt(a * c)
    theta = beam_spot(np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -2))[0]
    # both sides O(10); tan 2θ may be large near 2θ = ±π/2, compare as sin/cos
    lhs = np.sin(2 * theta) * (a - c)
    rhs = 2 * b * np.cos(2 * theta)
    assert np.allclose(lhs, rhs, rtol=1e-12, atol=1e-12), "tan 2θ condition violated"


@pytest.mark.parametrize(
    ("mu", "theta"),
    [
        (_mu(1.0, 0.0, 4.0), 0.0),            # flat beam: major axis horizontal
        (_mu(4.0, 0.0, 1.0), np.pi / 2),      # tall beam: major axis vertical
        (_mu(4.0, -0.0, 1.0), np.pi / 2),     # signed zero does not flip it to -π/2
        (_mu(2.0, -0.5, 2.0), np.pi / 4),     # μ_xx = μ_zz, μ_xz < 0: x and z correlated
        (_mu(2.0, 0.5, 2.0), -np.pi / 4),
        (_mu(2.0, 0.0, 2.0), 0.0),            # round beam: θ = 0 by convention
        (_mu(2.0, -0.0, 2.0), 0.0),
    ],
)
def test_tilt_edge_cases_documented_values(mu, theta):
    """The branch edges take the documented values, without division by zero."""
    with np.errstate(all="raise"):
        got = beam_spot(mu)
    assert float(got[0]) == pytest.approx(theta, rel=0, abs=1e-15), "θ edge value"
    assert np.all(np.isfinite(got)), "non-finite result at an edge"


def test_round_beam_principal_values_equal():
    """A round beam has μ̄_xx = μ̄_zz = μ."""
    _, lo, hi, _ = beam_spot(_mu(3.0, 0.0, 3.0))
    assert float(lo) == 3.0 and float(hi) == 3.0, "round beam μ̄"


def test_mu_bar_flat_beam_keeps_full_precision():
    """For μ_zz/μ_xx = 1e10 the smaller eigenvalue agrees with mpmath to 1e-15 relative."""
    mu = _mu(1.0, 3.0e3, 1.0e10)
    with mpmath.workdps(50):
        ev = sorted(mpmath.eig(mpmath.matrix([[1, 3000], [3000, 1e10]]))[0], key=lambda e: e.real)
        ref = [float(e.real) for e in ev]
    _, lo, hi, _ = beam_spot(mu)
    # the rationalised root has no cancellation: a few ulp
    assert abs(float(lo) / ref[0] - 1) < 4e-16 * 4, f"μ̄_xx = {float(lo)}, mpmath {ref[0]}"
    assert abs(float(hi) / ref[1] - 1) < 4e-16 * 4, "μ̄_zz"


def test_inverse_area_pinned_value_for_uncoupled_gaussian():
    """σ_x = 1 mm, σ_z = 10 µm: 1/S = 1/(4π σ_x σ_z) = 7.957747154594767e6 m⁻²."""
    sx, sz = 1e-3, 1e-5
    inv = beam_spot(_mu(1 / (2 * sx**2), 0.0, 1 / (2 * sz**2)))[3]
    # textbook value, typed independently
    assert float(inv) == pytest.approx(7.957747154594767e6, rel=1e-15, abs=0), "1/S pin"


def test_inverse_area_equals_quadrature_of_p_squared():
    """1/S = ∫∫P² dx dz (scipy dblquad) = ½ P(0,0) for a tilted beam."""
    mu = _mu(2.0, 0.8, 1.5)
    inv = float(beam_spot(mu)[3])
    f = lambda z, x: float(position_density(mu, x, z)) ** 2  # noqa: E731
    ref, err = integrate.dblquad(f, -8, 8, -8, 8, epsabs=1e-13, epsrel=1e-12)
    assert abs(inv - ref) < 1e-10 * ref, f"1/S = {inv}, ∫P² = {ref} ± {err}"
    assert inv == pytest.approx(float(position_density(mu, 0.0, 0.0)) / 2, rel=1e-15, abs=0)


def test_overlap_equals_quadrature_for_two_different_offset_beams():
    """∫∫P₁(x,z) P₂(x-dx, z-dz) of the kernel equals scipy dblquad for different, offset beams."""
    mu1, mu2, d = _mu(2.0, 0.8, 1.5), _mu(0.7, -0.2, 3.0), (0.3, -0.4)
    val = float(overlap_inv_area(mu1, mu2, d))
    f = lambda z, x: float(position_density(mu1, x, z) * position_density(mu2, x - d[0], z - d[1]))  # noqa: E731
    ref, err = integrate.dblquad(f, -9, 9, -9, 9, epsabs=1e-13, epsrel=1e-12)
    assert abs(val - ref) < 1e-10 * ref, f"overlap {val} vs quadrature {ref} ± {err}"


def test_overlap_pinned_round_beams_head_on():
    """Round beams σ₁, σ₂ head-on: 1/(2π(σ₁² + σ₂²))."""
    s1, s2 = 2e-4, 5e-4
    val = overlap_inv_area(np.eye(2) / (2 * s1**2), np.eye(2) / (2 * s2**2))
    assert float(val) == pytest.approx(1 / (2 * np.pi * (s1**2 + s2**2)), rel=1e-14, abs=0)


def test_overlap_identical_beams_equals_inv_area_and_is_symmetric():
    """Identical beams give the appendix 1/S; exchanging beams (and the offset's sign) changes nothing."""
    mu1, mu2 = _mu(2.0, 0.8, 1.5), _mu(0.7, -0.2, 3.0)
    assert float(overlap_inv_area(mu1, mu1)) == pytest.approx(float(beam_spot(mu1)[3]), rel=1e-14, abs=0)
    a = overlap_inv_area(mu1, mu2, (0.1, 0.2))
    b = overlap_inv_area(mu2, mu1, (-0.1, -0.2))
    assert float(a) == pytest.approx(float(b), rel=1e-13, abs=0), "overlap not symmetric"


def test_beam_spot_not_positive_definite_gives_nan():
    """A form with det μ < 0 or μ_xx < 0 has no spot: all four outputs NaN, no exception."""
    out = beam_spot(np.array([_mu(1.0, 2.0, 1.0), _mu(-1.0, 0.0, -1.0), _mu(1.0, 0.0, 2.0)]))
    for v in out:
        assert np.isnan(v[:2]).all() and np.isfinite(v[2]), "NaN mask wrong"


def test_beam_spot_broadcasts_and_handles_empty_batch():
    """(3, 5, 2, 2) gives (3, 5) arrays; an empty batch gives empty arrays."""
    mu = np.broadcast_to(_mu(2.0, 0.1, 1.0), (3, 5, 2, 2))
    assert all(v.shape == (3, 5) for v in beam_spot(mu)), "batch shape"
    assert all(v.shape == (0,) for v in beam_spot(np.zeros((0, 2, 2)))), "empty batch"


def test_beam_spot_bad_input_raises_input_error():
    """Wrong shape or an asymmetric μ raise InputError naming the value."""
    with pytest.raises(InputError, match="shape"):
        beam_spot(np.eye(3))
    with pytest.raises(InputError, match="symmetric"):
        beam_spot([[1.0, 0.2], [0.1, 1.0]])
    with pytest.raises(InputError, match="offset"):
        overlap_inv_area(np.eye(2), np.eye(2), (1.0, 2.0, 3.0))


def test_spot_axes_mpmath_twin_matches_50_digit_eigenvalues():
    """The generated mpmath twin gives θ, μ̄ and 1/S to 45 digits (mpmath eigen-solve reference)."""
    from coupled_beam import _kernels

    with mpmath.workdps(50):
        a, b, c = mpmath.mpf(3), mpmath.mpf("-0.7"), mpmath.mpf("1.2")
        theta, lo, hi, inv = _kernels.spot_axes_mp(a, b, c)
        ev, vec = mpmath.eigsy(mpmath.matrix([[a, b], [b, c]]))
        ang = mpmath.atan2(vec[1, 0], vec[0, 0])  # eigenvector of the smaller eigenvalue
        ang = ang - mpmath.pi * mpmath.nint(ang / mpmath.pi)
        # 50-digit arithmetic on both sides: agreement far below 1e-45
        assert abs(lo - ev[0]) < mpmath.mpf("1e-45") and abs(hi - ev[1]) < mpmath.mpf("1e-45")
        assert abs(theta - ang) < mpmath.mpf("1e-45"), (theta, ang)
        assert abs(inv - mpmath.sqrt(ev[0] * ev[1]) / (2 * mpmath.pi)) < mpmath.mpf("1e-45")
