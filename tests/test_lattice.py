"""Elements and rings: maps against textbook closed forms, noise against quadrature."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.integrate import quad_vec
from scipy.linalg import expm

from coupled_beam.errors import InputError
from coupled_beam.lattice import (Bend, Drift, Element, Generic, Quadrupole, Ring,
                                  SkewQuadrupole, Solenoid, ThinSkewQuadrupole, van_loan)

J4 = np.array([[0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 1], [0, 0, -1, 0]], dtype=float)


def _focusing_block(k, L):
    """Textbook 2x2 map of y'' + k y = 0 (any sign of k)."""
    if k > 0:
        w = np.sqrt(k)
        return np.array([[np.cos(w * L), np.sin(w * L) / w], [-w * np.sin(w * L), np.cos(w * L)]])
    w = np.sqrt(-k)
    return np.array([[np.cosh(w * L), np.sinh(w * L) / w], [w * np.sinh(w * L), np.cosh(w * L)]])


def test_drift_map_is_textbook_drift():
    """A drift of length L maps x -> x + L x' in both planes."""
    N = Drift(1.7).transfer_map()
    ref = np.kron(np.eye(2), np.array([[1, 1.7], [0, 1]]))
    np.testing.assert_allclose(N, ref, rtol=0, atol=1e-15)  # exact up to rounding of expm


@pytest.mark.parametrize("K,n", [(0.4, 0.0), (0.4, 0.5), (0.3, -2.0), (0.2, 3.0)])
def test_bend_map_is_textbook_sector_bend(K, n):
    """A sector bend focuses with K^2(1-n) in x and K^2 n in z (either sign)."""
    L = 1.3
    N = Bend(L, K=K, n=n).transfer_map()
    ref = np.zeros((4, 4))
    ref[:2, :2] = _focusing_block(K**2 * (1 - n), L)
    ref[2:, 2:] = _focusing_block(K**2 * n, L) if n != 0 else [[1, L], [0, 1]]
    np.testing.assert_allclose(N, ref, rtol=1e-13, atol=1e-14)  # expm vs trig: rounding


@pytest.mark.parametrize("k1", [1.5, -0.8])
def test_quadrupole_map_is_textbook_quadrupole(k1):
    """k1 > 0 focuses x and defocuses z (MAD sign), and vice versa."""
    L = 0.4
    N = Quadrupole(L, k1).transfer_map()
    ref = np.zeros((4, 4))
    ref[:2, :2] = _focusing_block(k1, L)
    ref[2:, 2:] = _focusing_block(-k1, L)
    np.testing.assert_allclose(N, ref, rtol=1e-13, atol=1e-14)  # expm vs trig: rounding


def test_quadrupole_equals_bend_limit_k_to_zero():
    """A bend with K -> 0 and K^2 n = -k1 held fixed tends to the quadrupole."""
    k1, L = 1.2, 0.5
    K = 1e-5
    bend = Bend(L, K=K, n=-k1 / K**2).transfer_map()
    np.testing.assert_allclose(bend, Quadrupole(L, k1).transfer_map(), rtol=0,
                               atol=1e-9)  # O(K^2 L^2) = 2.5e-11 residual x'' term


@pytest.mark.parametrize("H", [0.3, -1.1, 2.0])
def test_solenoid_total_map_equals_textbook_matrix(H):
    """Edges + body equal the textbook solenoid matrix (k = H/2, C = cos kL, S = sin kL)."""
    L = 0.9
    k = H / 2
    C, Sn = np.cos(k * L), np.sin(k * L)
    ref = np.array([
        [C * C, Sn * C / k, Sn * C, Sn * Sn / k],
        [-k * Sn * C, C * C, -k * Sn * Sn, Sn * C],
        [-Sn * C, -Sn * Sn / k, C * C, Sn * C / k],
        [k * Sn * Sn, -Sn * C, -k * Sn * C, C * C],
    ])
    N = Solenoid(L, H).transfer_map()
    np.testing.assert_allclose(N, ref, rtol=1e-13, atol=1e-15)  # expm vs trig: rounding
    np.testing.assert_allclose(N.T @ J4 @ N, J4, rtol=0, atol=1e-14)  # symplectic to rounding


def test_thin_skew_map_is_paper_matrix():
    """The thin skew quad map is [[I, C], [C, I]], C = [[0, 0], [m, 0]] (§5)."""
    m = 0.037
    C = np.array([[0, 0], [m, 0]])
    ref = np.block([[np.eye(2), C], [C, np.eye(2)]])
    np.testing.assert_allclose(ThinSkewQuadrupole(m).transfer_map(), ref, rtol=0, atol=1e-17)


def test_thick_skew_tends_to_thin_skew():
    """A skew quad of length l and M = m/l tends to the thin map as l -> 0."""
    m, ell = 0.05, 1e-6
    thick = SkewQuadrupole(ell, M=m / ell).transfer_map()
    np.testing.assert_allclose(thick, ThinSkewQuadrupole(m).transfer_map(),
                               rtol=0, atol=1e-5)  # O(l) drift and O(m l) terms: ~1e-6


def test_damped_map_determinant_is_liouville():
    """det N = exp(-tr(D) L) for any damping matrix (Liouville)."""
    D = np.array([[2e-3, 5e-4], [-1e-4, 1e-3]])
    L = 2.5
    el = Element(L, K=0.2, n=0.4, M=0.01, H=0.3, D=D)
    det = np.linalg.det(el.transfer_map())
    np.testing.assert_allclose(det, np.exp(-np.trace(D) * L), rtol=1e-13, atol=0)  # rounding


def test_noise_integral_matches_quadrature():
    """Van Loan's R equals int_0^L N(L,s) phi N^T(L,s) ds by adaptive quadrature."""
    rng = np.random.default_rng(3)
    B = rng.normal(size=(4, 4))
    phi = B @ B.T
    el = Element(1.7, K=0.3, n=0.2, M=0.05, D=np.array([[1e-2, 0], [3e-3, 2e-2]]), phi_hat=phi)
    A = el.A

    def integrand(s):
        N = expm(A * (el.length - s))
        return N @ phi @ N.T

    ref, err = quad_vec(integrand, 0.0, el.length, epsabs=1e-13, epsrel=1e-12)
    np.testing.assert_allclose(el.noise_integral(), ref, rtol=1e-10, atol=1e-12)  # quad tolerance


def test_van_loan_broadcasts_over_elements():
    """van_loan on a stack equals element-by-element results."""
    els = [Bend(1.0, K=0.3), Quadrupole(0.5, 1.0), Drift(2.0)]
    A = np.stack([e.A for e in els])
    phi = np.diag([0, 1.0, 0, 2.0])
    N, R = van_loan(A, phi, [1.0, 0.5, 2.0])
    for i, e in enumerate(els):
        np.testing.assert_allclose(N[i], e.transfer_map(), rtol=1e-14, atol=1e-15)  # same expm


def test_augmented_map_bend_dispersion_closed_form():
    """The 5x5 map of a bend gives the textbook dispersion D = (1 - cos wL)/(K(1-n)) (x outward)."""
    K, n, L = 0.5, 0.3, 0.8
    w = K * np.sqrt(1 - n)
    M5 = Bend(L, K=K, n=n).augmented_map()
    ref_x = K * (1 - np.cos(w * L)) / w**2
    ref_xp = K * np.sin(w * L) / w
    np.testing.assert_allclose(M5[:2, 4], [ref_x, ref_xp], rtol=1e-13, atol=1e-16)  # rounding
    np.testing.assert_allclose(M5[:4, :4], Bend(L, K=K, n=n).transfer_map(), rtol=0, atol=1e-15)


def test_weak_focusing_ring_closed_orbit_is_outside():
    """A ring of identical bends has xi = 1/(K(1-n)) > 0 (fixed point of the 5x5 one-turn map)."""
    K, n = 0.5, 0.5
    ring = Ring([Bend(1.0, K=K, n=n)] * 5)
    M5 = np.eye(5)
    for m in ring.augmented_maps():
        M5 = m @ M5
    eta = np.linalg.solve(np.eye(4) - M5[:4, :4], M5[:4, 4])
    np.testing.assert_allclose(eta, [1 / (K * (1 - n)), 0, 0, 0], rtol=1e-12,
                               atol=1e-12)  # linear solve rounding


def test_one_turn_maps_all_boundaries_match_direct_composition():
    """The O(n) one-turn maps P_i N0 P_i^-1 equal composition starting at each boundary."""
    ring = Ring([Drift(1.0), Quadrupole(0.3, 1.1), Solenoid(0.5, 0.4), Bend(1.0, K=0.2),
                 ThinSkewQuadrupole(0.02), Quadrupole(0.3, -1.0)])
    fast = ring.one_turn_maps()
    for i in range(len(ring) + 1):
        np.testing.assert_allclose(fast[i], ring.one_turn_map(i % len(ring)), rtol=1e-12,
                                   atol=1e-12)  # inverse of P_i: rounding


def test_transfer_map_wraps_around():
    """N(s_j, s_i) with j < i goes around the ring."""
    ring = Ring([Drift(1.0), Drift(2.0), Drift(3.0)])
    assert ring.transfer_map(2, 1)[0, 1] == pytest.approx(4.0, rel=1e-15)
    assert ring.transfer_map(0, 3)[0, 1] == pytest.approx(6.0, rel=1e-15)


def test_generic_element_equals_bend_with_same_k():
    """A Generic piece with K = diag(K^2(1-n), K^2 n) and b = (0, K, 0, 0) is a bend."""
    K, n = 0.3, 0.4
    g = Generic(1.1, K_matrix=np.diag([K**2 * (1 - n), K**2 * n]), b=[0, K, 0, 0])
    b = Bend(1.1, K=K, n=n)
    np.testing.assert_allclose(g.augmented_map(), b.augmented_map(), rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("kwargs,field", [
    ({"length": float("nan")}, "length"),
    ({"length": -1.0}, "length"),
    ({"length": 1.0, "phi_hat": np.triu(np.ones((4, 4)))}, "phi_hat"),
    ({"length": 1.0, "D": np.ones((3, 3))}, "D"),
    ({"length": 1.0, "K": float("inf")}, "K"),
])
def test_element_bad_input_raises_value_error(kwargs, field):
    """NaN/inf, negative length, non-symmetric noise and wrong shapes are ValueErrors naming the field."""
    with pytest.raises(ValueError, match=field) as info:
        Element(**kwargs)
    assert isinstance(info.value, InputError)


def test_ring_rejects_non_elements_and_negative_p2():
    """A ring of non-elements, an empty ring or p2 < 0 is an InputError."""
    with pytest.raises(InputError):
        Ring([])
    with pytest.raises(InputError, match="element 1"):
        Ring([Drift(1.0), "quad"])
    with pytest.raises(InputError, match="p2"):
        Ring([Drift(1.0)], p2=-1.0)
    with pytest.raises(InputError, match="not both"):
        Ring([Bend(1.0, K=0.5, n=0.5)], energy=0.5, p2=1e-6)


def _interior_ring():
    return Ring([Drift(1.0), Quadrupole(0.3, 1.1), Solenoid(0.5, 0.4), Bend(1.0, K=0.2),
                 ThinSkewQuadrupole(0.02), Quadrupole(0.3, -1.0), Drift(0.7)])


def test_transfer_map_between_boundaries_equals_boundary_maps():
    """N(s_j, s_i) at element boundaries equals the boundary-index maps."""
    ring = _interior_ring()
    np.testing.assert_allclose(ring.transfer_map_between(ring.s[1], ring.s[5]),
                               ring.transfer_map(1, 5), rtol=1e-13, atol=1e-14)  # rounding
    np.testing.assert_allclose(ring.transfer_map_between(ring.s[5], ring.s[1]),
                               ring.transfer_map(5, 1), rtol=1e-13, atol=1e-14)


def test_transfer_map_between_interior_points_composes():
    """N(s3, s1) = N(s3, s2) N(s2, s1) for points inside elements (solenoid and bend included)."""
    ring = _interior_ring()
    s1, s2, s3 = 0.4, 1.55, 2.6       # inside drift, solenoid, bend
    lhs = ring.transfer_map_between(s1, s3)
    rhs = ring.transfer_map_between(s2, s3) @ ring.transfer_map_between(s1, s2)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-13, atol=1e-14)  # rounding of expm products
    drift = ring.transfer_map_between(0.2, 0.9)
    np.testing.assert_allclose(drift[0, 1], 0.7, rtol=1e-14, atol=0)  # inside the first drift


def test_one_turn_from_interior_point_has_ring_eigenvalues():
    """N(s1, s2) N(s2, s1) is a one-turn map at s1: same eigenvalues as N(0)."""
    ring = _interior_ring()
    s1, s2 = 1.55, 2.6
    turn = ring.transfer_map_between(s2, s1) @ ring.transfer_map_between(s1, s2)
    ev = np.sort_complex(np.linalg.eigvals(turn))
    ref = np.sort_complex(np.linalg.eigvals(ring.one_turn_map(0)))
    np.testing.assert_allclose(ev, ref, rtol=1e-10, atol=1e-12)  # similar matrices, eig rounding


@settings(max_examples=60, deadline=None)
@given(L=st.floats(0.0, 3.0), K=st.floats(-1.0, 1.0), n=st.floats(-5.0, 5.0),
       M=st.floats(-1.0, 1.0), H=st.floats(-2.0, 2.0))
@example(L=0.0, K=0.0, n=0.0, M=0.0, H=0.0)      # zero-length identity
@example(L=1.0, K=0.0, n=0.0, M=0.0, H=1.0)      # pure solenoid
@example(L=2.0, K=0.5, n=0.5, M=0.0, H=0.0)      # weak focusing, both planes
def test_undamped_element_map_symplectic_any_strengths(L, K, n, M, H):
    """Without damping every element map (edges included) satisfies N^T J N = J."""
    N = Element(L, K=K, n=n, M=M, H=H).transfer_map()
    scale = max(1.0, float(np.abs(N).max()) ** 2)
    # rounding of expm grows with |N|^2 (hyperbolic pieces)
    np.testing.assert_allclose(N.T @ J4 @ N, J4, rtol=0, atol=1e-12 * scale)
