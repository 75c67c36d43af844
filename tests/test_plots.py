"""Figures: what they draw against independent computations; headless; no import-time matplotlib."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from coupled_beam import plots


def hand_one_turn_map(mu_x, mu_z, beta_x, beta_z, m):
    """N = L F built directly in numpy (§5), independent of the kernels."""
    F = np.zeros((4, 4))
    for i, (mu, b) in enumerate(((mu_x, beta_x), (mu_z, beta_z))):
        c, s = math.cos(mu), math.sin(mu)
        F[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[c, b * s], [-s / b, c]]
    L = np.eye(4)
    L[1, 2] = L[3, 0] = m
    return L @ F


def test_import_coupled_beam_plots_does_not_import_matplotlib():
    """`import coupled_beam, coupled_beam.plots` leaves matplotlib unimported (it loads inside functions)."""
    code = "import sys, coupled_beam, coupled_beam.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_stability_fraction_matches_eigen_solve():
    """The unstable fraction of the tune square equals a direct eigen-solve on the same grid."""
    n, kappa = 40, 0.3
    fig = plots.stability_diagram([kappa], n=n)
    nu = (np.arange(n) + 0.5) / n
    unstable = 0
    for nx in nu:
        for nz in nu:
            lam = np.linalg.eigvals(hand_one_turn_map(2 * np.pi * nx, 2 * np.pi * nz, 1.0, 1.0, kappa))
            unstable += np.max(np.abs(lam)) > 1 + 1e-7   # a Jordan block at |a ± b| = 2 splits by ~1e-8
    assert fig.unstable_fraction[kappa] == pytest.approx(unstable / n**2, abs=0.5 / n**2), \
        "grid cells where the §5 mask and the eigenvalues disagree"


def test_stability_diagram_stop_bands_widen_with_strength():
    """Unstable fraction grows with m sqrt(beta_x beta_z) and vanishes at zero coupling."""
    fig = plots.stability_diagram([0.0, 0.1, 0.3], n=60)
    f = fig.unstable_fraction
    assert f[0.0] == 0.0 and 0 < f[0.1] < f[0.3]


def test_eigentune_min_splitting_matches_eigen_solve():
    """The minimum splitting drawn across ν_x = ν_z equals that of numpy eigenvalues of N = L F."""
    nu_z, kappa = 0.58, 0.09
    nu_x = np.linspace(0.50, 0.66, 321)
    fig = plots.eigentune_crossing(nu_z, kappa, nu_x=nu_x)
    split = []
    for nx in nu_x:
        ph = np.sort(np.abs(np.angle(np.linalg.eigvals(
            hand_one_turn_map(2 * np.pi * nx, 2 * np.pi * nu_z, 1.0, 1.0, kappa)))))
        split.append((ph[2] - ph[0]) / (2 * np.pi))   # the two distinct |arg λ|
    # eigenvalue phases of a 4x4 matrix: ~1e-14
    assert fig.min_splitting == pytest.approx(min(split), rel=0, abs=1e-10)
    assert fig.min_splitting == pytest.approx(kappa / (2 * np.pi), rel=0.02)   # ≈ κ/2π (weak coupling)


def test_beam_spot_contour_is_the_one_sigma_level():
    """Every point of the drawn ellipse satisfies xᵀ μ x = 1/2 (P = P(0,0) e^{-1/2})."""
    mu = np.array([[2.0e6, 3.0e5], [3.0e5, 1.0e6]])   # 1/m^2
    fig = plots.beam_spot_ellipse(mu, unit=1e-3)
    xy = fig.axes[0].lines[0].get_xydata() * 1e-3     # back to metres
    q = np.einsum("ni,ij,nj->n", xy, mu, xy)
    # trig of 361 samples: rounding only
    np.testing.assert_allclose(q, 0.5, rtol=1e-12, atol=0)


def test_sizes_along_ring_plots_the_given_arrays_in_mm():
    """The size panel shows sigma in mm and the tilt panel theta in degrees, one panel each."""
    s = np.linspace(0.0, 10.0, 11)
    sx, sz, th = 1e-3 * (1 + 0.1 * s), 2e-4 + 0 * s, np.radians(5.0) + 0 * s
    fig = plots.sizes_along_ring(s, sx, sz, tilt=th)
    a0, a1 = fig.axes[:2]
    np.testing.assert_allclose(a0.lines[0].get_ydata(), 1e3 * sx, rtol=1e-15, atol=0)
    np.testing.assert_allclose(a1.lines[0].get_ydata(), 5.0, rtol=1e-12, atol=0)


def test_skew_scan_tilt_in_the_reported_convention_broken_at_90_degrees():
    """The tilt axis uses the report's and beam_spot's convention, (-90°, 90°] (no -92° on the axis
    while the report prints 88°); through ±90° (the same axis) the line is broken, not drawn across."""
    m = np.array([1e-3, 1e-2, 1e-1, 2e-1])
    tilt = np.radians([-80.0, -89.0, 88.0, np.nan])
    fig = plots.skew_scan(m, tilt, m**2)
    line = fig.axes[0].lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(y[[0, 1, 3]], [-80.0, -89.0, 88.0], rtol=0, atol=1e-9)
    assert np.isnan(y[2]) and np.isnan(x[2]), "a break between -89° and 88°"
    assert np.isnan(y[4])
    assert np.all((y[np.isfinite(y)] > -90) & (y[np.isfinite(y)] <= 90))


def test_save_writes_png_headless(tmp_path):
    """save() writes a PNG through Agg without pyplot."""
    p = plots.save(plots.stability_diagram([0.2], n=20), tmp_path / "a" / "s.png")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
