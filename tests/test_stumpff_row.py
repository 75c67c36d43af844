"""stumpff_row (all c_n of one argument in one evaluation) and the fused bend kernel.

References: exact mpmath twins (1F2) of the stumpff_c<n> helpers; the unfused kernels.
"""

import mpmath as mp
import numpy as np
import pytest

from coupled_beam import _kernels as kk


@pytest.fixture
def u_values():
    rng = np.random.default_rng(20261202)
    return np.concatenate([rng.choice([-1, 1], 300) * 10 ** rng.uniform(-12, 4, 300),
                           [0.0, -0.0, 0.01, -0.01, 4.0, -4.0, 8.0, 16.0, 32.0, -32.0]])


def test_stumpff_row_matches_mpmath(u_values):
    """Every column of stumpff_row(u, 11) against the 30-digit 1F2, the helpers' tolerance."""
    u = u_values
    row = kk.stumpff_row(u, 11)
    assert row.shape == u.shape + (12,)
    a = np.sqrt(np.abs(u))
    for n in range(12):
        with mp.workdps(30):
            ref = np.array([float(kk.stumpff_c0_mp(mp.mpf(v))[0]) if n == 0 else
                            float(kk.__dict__[f"stumpff_c{n}_mp"](mp.mpf(v))[0]) for v in u])
        env = np.maximum(np.abs(ref), np.where(a > 1, a, 1.0) ** -n)
        tol = np.where(a <= 1, 2e-15 * np.abs(ref), 1e-15 * (1 + a) * env)
        bad = np.abs(row[:, n] - ref) > tol
        assert not np.any(bad), (n, u[bad][:5], row[bad, n][:5], ref[bad][:5])


def test_helpers_are_the_columns_of_the_row(u_values):
    """stumpff_c<n>(u) is column n of stumpff_row: one numeric form, whatever the row length."""
    full = kk.stumpff_row(u_values, 11)
    for n in range(12):
        np.testing.assert_array_equal(kk.__dict__[f"stumpff_c{n}"](u_values)[0], full[:, n])
        for N in range(n, 12):
            np.testing.assert_array_equal(kk.stumpff_row(u_values, N)[:, n], full[:, n])


def test_stumpff_row_values_do_not_depend_on_the_batch(u_values):
    """Each value depends on its own u only: the branch-skipping fast paths change nothing."""
    u = u_values
    whole = kk.stumpff_row(u, 7)
    one_by_one = np.array([kk.stumpff_row(np.array([v]), 7)[0] for v in u])
    np.testing.assert_array_equal(whole, one_by_one)
    # a uniform-sign small batch (fast path) equals the same points inside a mixed batch
    small = np.array([1e-3, 2e-3, 5e-3])
    mixed = np.concatenate([small, [-100.0, 50.0]])
    np.testing.assert_array_equal(kk.stumpff_row(small, 7), kk.stumpff_row(mixed, 7)[:3])
    np.testing.assert_array_equal(kk.stumpff_row(u.reshape(-1, 2), 7).reshape(-1, 8), whole)
    assert kk.stumpff_row(0.25, 2).shape == (3,)


def test_fused_bend_kernel_equals_its_parts_bit_for_bit():
    """bend6_radiation = map6_bend + damping6_bend + noise6_bend exactly (shared rows, CSE per part)."""
    rng = np.random.default_rng(7)
    m = 2000
    L = 10 ** rng.uniform(-3, 1.3, m)
    K = rng.choice([-1, 1], m) * 10 ** rng.uniform(-4, 0.5, m)
    k1 = rng.choice([-1, 1], m) * 10 ** rng.uniform(-5, 1, m)
    with np.errstate(all="ignore"):
        fused = np.array(np.broadcast_arrays(*kk.bend6_radiation(L, K, k1)), dtype=float)
        parts = np.concatenate([np.array(np.broadcast_arrays(*f(L, K, k1)), dtype=float)
                                for f in (kk.map6_bend, kk.damping6_bend, kk.noise6_bend)])
    assert fused.shape == (93, m)
    np.testing.assert_array_equal(fused, parts)


def test_radiating_ring_keeps_the_bare_maps_of_the_plain_ring(monkeypatch):
    """Ring(energy=E) takes its bare bends from the fused kernel: the same maps and result as
    Ring(...).with_radiation(E), which evaluates the parts separately."""
    from coupled_beam.lattice import Bend, Drift, Quadrupole, Ring

    cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16, n=0.1, e1=0.05),
            Drift(0.5), Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5)]
    import coupled_beam.radiation as radiation

    seen = {}
    real = radiation._radiating_maps

    def spy(unique, energy, parts=None):
        seen["parts"] = None if parts is None else len(parts)
        return real(unique, energy, parts)

    monkeypatch.setattr(radiation, "_radiating_maps", spy)
    hot = Ring(cell * 8, energy=1.0)
    monkeypatch.undo()
    assert seen["parts"] == 2 and not hasattr(hot, "_bend_parts")   # handed over, then dropped
    np.testing.assert_array_equal(hot._bare6, Ring(cell * 8)._bare6)
    other = Ring(cell * 8).with_radiation(1.0)
    np.testing.assert_array_equal(hot.element_maps6, other.element_maps6)
    np.testing.assert_array_equal(hot.element_noise6, other.element_noise6)
