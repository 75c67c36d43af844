"""Figures of the paper's results, as matplotlib ``Figure`` objects.

Every function returns a :class:`matplotlib.figure.Figure` built without
``pyplot`` (no GUI backend, no global figure state), so it works headless
and inside notebooks alike; :func:`save` writes it as PNG through the Agg
canvas. matplotlib is imported inside the functions, never at
``import coupled_beam``.

The §5 figures (:func:`stability_diagram`, :func:`eigentune_crossing`)
compute what they show through the public kernels; the ring figures take
arrays that the caller computed with :meth:`coupled_beam.Ring.equilibrium`
(plots hold no physics of their own).

==============================  ===============================================
function                        shows
==============================  ===============================================
:func:`stability_diagram`       stable / unstable (ν_x, ν_z) for given m√(β_xβ_z)
:func:`eigentune_crossing`      g±/2π versus ν_x across the difference resonance
:func:`skew_scan`               tilt and emittance ratio versus skew strength
:func:`beam_spot_ellipse`       the 1σ ellipse of P(x, z) at one s, principal axes
:func:`sizes_along_ring`        σ_x, σ_z, tilt and 1/S around the ring
==============================  ===============================================

References
----------
LNF-64/55, §5 (stability, g±), appendix (θ, μ̄, 1/S).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = [
    "stability_diagram",
    "eigentune_crossing",
    "skew_scan",
    "beam_spot_ellipse",
    "sizes_along_ring",
    "save",
]


def _figure(width: float = 6.4, height: float = 4.8, **kw):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained", **kw)


def save(fig, path: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG (Agg canvas) and return the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> fig = stability_diagram([0.3], n=40)
    >>> p = save(fig, pathlib.Path(tempfile.mkdtemp()) / "s.png")
    >>> p.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=dpi)
    return path


def stability_diagram(kappas: Sequence[float] = (0.1, 0.3, 0.6), n: int = 400,
                      working_point: tuple[float, float] | None = None, ax=None):
    """Unstable stop-bands of a thin skew quadrupole in the fractional-tune plane.

    The §5 stability condition depends on β_x, β_z and m only through
    κ = m √(β_x β_z) (b² contains m² β_x β_z), so one panel holds for every
    ring with that κ. Bands for several κ are overlaid, the weakest drawn
    darkest; each band of a weaker κ lies inside those of stronger ones.

    Parameters
    ----------
    kappas : sequence of float
        Values of m √(β_x β_z) (dimensionless).
    n : int
        Grid points per axis over [0, 1).
    working_point : (float, float), optional
        Fractional (ν_x, ν_z) to mark.
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.unstable_fraction`` maps each κ to the unstable fraction of
        the tune square (grid estimate).

    References
    ----------
    LNF-64/55 §5: stable iff b² ≥ 0 and abs(a ± b) ≤ 2.

    Examples
    --------
    >>> fig = stability_diagram([0.2], n=50, working_point=(0.62, 0.58))
    >>> len(fig.axes)
    1
    """
    from matplotlib.patches import Patch

    from coupled_beam.skew_quadrupole import stable

    own = ax is None
    fig = ax.figure if ax is not None else _figure(6.0, 6.6)
    ax = ax if ax is not None else fig.add_subplot()
    nu = (np.arange(n) + 0.5) / n   # cell centres: even n never hits nu = 1/2 exactly
    nx, nz = np.meshgrid(nu, nu, indexing="xy")
    kappas = sorted(float(k) for k in kappas)
    colors = ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7"]
    handles = []
    fig.unstable_fraction = {}
    for k, color in reversed(list(zip(kappas, colors))):
        ok = stable(2 * np.pi * nx, 2 * np.pi * nz, 1.0, 1.0, k)
        ax.contourf(nx, nz, (~ok).astype(float), levels=[0.5, 1.5], colors=[color])
        frac = 1.0 - float(ok.mean())
        fig.unstable_fraction[k] = frac
        handles.append(Patch(color=color, label=f"unstable, m√(βxβz) = {k:g}  ({100 * frac:.1f} %)"))
    ax.plot([0, 1], [1, 0], lw=0.6, color="0.5", ls=":")   # sum resonance nu_x + nu_z = 1
    ax.plot([0, 1], [0, 1], lw=0.6, color="0.5", ls=":")   # difference resonance nu_x = nu_z
    if working_point is not None:
        wx, wz = working_point
        ax.plot([wx % 1.0], [wz % 1.0], marker="*", ms=12, color="k", ls="none")
        handles.append(ax.lines[-1])
        handles[-1].set_label(f"working point ({wx % 1.0:.3f}, {wz % 1.0:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel(r"fractional tune $\nu_x = \mu_x / 2\pi$")
    ax.set_ylabel(r"fractional tune $\nu_z = \mu_z / 2\pi$")
    ax.set_title("§5: stop-bands of one thin 45° skew quadrupole")
    if own:
        fig.legend(handles=handles[::-1], loc="outside lower center", ncol=2, fontsize=7,
                   frameon=False)
    else:
        ax.legend(handles=handles[::-1], loc="upper right", fontsize=7)
    return fig


def _unfold(g: np.ndarray, upper: bool) -> np.ndarray:
    """g/2π in [0, ½] to a fractional tune in the half (lower or upper) of the working point."""
    t = g / (2 * np.pi)
    return 1.0 - t if upper else t


def eigentune_crossing(nu_z: float, kappa: float, nu_x: np.ndarray | None = None,
                       beta_x: float = 1.0, beta_z: float = 1.0, ax=None):
    """Eigentunes g±/2π versus ν_x across the difference resonance ν_x = ν_z.

    The uncoupled tunes (dashed) cross at ν_x = ν_z; the coupled eigentunes
    (solid) repel, with a minimum splitting of about κ/2π (κ = m √(β_x β_z)).

    Parameters
    ----------
    nu_z : float
        Uncoupled vertical tune (its fractional part is used).
    kappa : float
        m √(β_x β_z); with the default β = 1 it is m itself.
    nu_x : array, optional
        Horizontal tunes to scan (default ν_z ± 0.08).
    beta_x, beta_z : float
        β at the skew quadrupole (m); only κ = m √(β_x β_z) matters.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.min_splitting`` holds the smallest |ν+ − ν−| on the scan.

    References
    ----------
    LNF-64/55 §5: cos g± = (a ± b)/2.

    Examples
    --------
    >>> fig = eigentune_crossing(0.58, 0.09)
    >>> round(fig.min_splitting, 3)    # ≈ κ / 2π
    0.014
    """
    from coupled_beam.skew_quadrupole import eigentunes

    fig = ax.figure if ax is not None else _figure(6.4, 4.4)
    ax = ax if ax is not None else fig.add_subplot()
    fz = float(nu_z) % 1.0
    nu_x = np.linspace(fz - 0.08, fz + 0.08, 801) if nu_x is None else np.asarray(nu_x, float)
    m = kappa / math.sqrt(beta_x * beta_z)
    g_p, g_m = eigentunes(2 * np.pi * nu_x, 2 * np.pi * fz, beta_x, beta_z, m)
    upper = fz > 0.5
    nu_p, nu_m = _unfold(g_p, upper), _unfold(g_m, upper)
    ax.plot(nu_x, nu_x % 1.0, ls="--", color="0.55", lw=1, label=r"uncoupled $\nu_x$")
    ax.plot(nu_x, np.full_like(nu_x, fz), ls="--", color="0.75", lw=1, label=r"uncoupled $\nu_z$")
    form = (r"$1 - g_{%s}/2\pi$" if upper else r"$g_{%s}/2\pi$")
    ax.plot(nu_x, nu_p, color="#2166ac", lw=2, label="mode +: " + form % "+")
    ax.plot(nu_x, nu_m, color="#b2182b", lw=2, label="mode −: " + form % "-")
    split = np.abs(nu_p - nu_m)
    i = int(np.nanargmin(split))
    fig.min_splitting = float(split[i])
    ax.annotate("", xy=(nu_x[i], nu_p[i]), xytext=(nu_x[i], nu_m[i]),
                arrowprops=dict(arrowstyle="<->", color="k"))
    ax.text(nu_x[i] + 0.012, min(nu_p[i], nu_m[i]) - 0.012,
            f"min splitting {split[i]:.4f}\n(κ/2π = {kappa / (2 * np.pi):.4f})", fontsize=8,
            va="center")
    ax.set_xlabel(r"uncoupled horizontal tune $\nu_x$ (fractional)")
    ax.set_ylabel("eigentune (fractional)")
    ax.set_title(f"§5: eigentunes across the difference resonance, m√(βxβz) = {kappa:.3g}, "
                 f"ν_z = {fz:.3f}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def skew_scan(m: np.ndarray, tilt: np.ndarray, emittance_ratio, marker: float | None = None,
              where: str = "", inv_area: np.ndarray | None = None):
    """Beam tilt, emittance ratio (and 1/S) versus skew strength, stacked panels.

    Parameters
    ----------
    m : array
        Skew strengths (1/m), > 0 (log axis).
    tilt : array
        θ of the appendix (rad), shown in degrees; NaN where no equilibrium.
        One convention everywhere (this axis, the demo report,
        :func:`coupled_beam.distribution.beam_spot`): the angle from x to the
        major axis, towards z, in (−90°, 90°]. θ is an axis direction, so −90°
        and +90° are the same axis: where θ passes that point the line is
        broken instead of drawn across the panel.
    emittance_ratio : array or dict
        ε_z/ε_x; a dict ``{label: array}`` draws several definitions.
    marker : float, optional
        A strength to mark (e.g. the working value).
    where : str
        Where along the ring the quantities are taken (title).
    inv_area : array, optional
        1/S (1/m²), a third panel in mm⁻².

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> m = np.geomspace(1e-3, 1e-1, 5)
    >>> fig = skew_scan(m, 0.1 * m, m**2)
    >>> len(fig.axes)
    2
    """
    ratios = emittance_ratio if isinstance(emittance_ratio, dict) else {
        r"$\varepsilon_z / \varepsilon_x$": emittance_ratio}
    panels = 3 if inv_area is not None else 2
    fig = _figure(6.4, 2.2 + 2.0 * panels)
    axes = fig.subplots(panels, 1, sharex=True)
    a1, a2 = axes[0], axes[1]
    tilt = np.asarray(tilt, dtype=float).copy()
    ok = np.isfinite(tilt)
    deg = np.degrees(tilt)
    deg = np.where(deg <= -90.0, deg + 180.0, deg)        # fold onto (-90°, 90°], as beam_spot
    m_line, deg_line = np.asarray(m, dtype=float), deg
    jump = np.flatnonzero(np.abs(np.diff(deg)) > 90.0)     # through ±90°: the same axis, break the line
    if jump.size:
        m_line = np.insert(m_line, jump + 1, np.nan)
        deg_line = np.insert(deg_line, jump + 1, np.nan)
    a1.semilogx(m_line, deg_line, color="#2166ac", lw=2, marker=".")
    a1.set_ylim(-95.0, 95.0)
    a1.set_yticks([-90, -45, 0, 45, 90])
    a1.set_ylabel("tilt $\\theta$ (deg)\nmajor axis from x to z")
    colors = ["#b2182b", "#ef8a62", "#1b7837"]
    for (label, r), color in zip(ratios.items(), colors):
        a2.loglog(m, r, color=color, lw=2, marker=".", label=label)
    a2.set_ylabel("emittance ratio")
    if len(ratios) > 1:
        a2.legend(fontsize=8)
    if inv_area is not None:
        axes[2].loglog(m, 1e-6 * np.asarray(inv_area), color="#762a83", lw=2, marker=".")
        axes[2].set_ylabel(r"$1/S$ (mm$^{-2}$)")
    m = np.asarray(m, dtype=float)
    bad = ~ok if len(ok) == len(m) else np.zeros(len(m), bool)
    for a in axes:
        a.grid(alpha=0.3, which="both")
        if marker is not None:
            a.axvline(marker, color="k", ls=":", lw=1)
        for i in np.flatnonzero(bad):   # no equilibrium: shade up to the neighbouring points
            lo = np.sqrt(m[i - 1] * m[i]) if i > 0 else m[i]
            hi = np.sqrt(m[i] * m[i + 1]) if i + 1 < len(m) else m[i]
            a.axvspan(lo, hi, color="0.85", lw=0)
    if bad.any():
        a1.text(0.02, 0.04, "grey band: no equilibrium (unstable)", transform=a1.transAxes,
                ha="left", fontsize=7, color="0.3")
    axes[-1].set_xlabel("skew strength m (1/m)")
    a1.set_title("tilt and emittance ratio vs skew strength" + (f" ({where})" if where else ""),
                 fontsize=10)
    return fig


def beam_spot_ellipse(mu: np.ndarray, labels: Sequence[str] | None = None, title: str = "",
                      unit: float = 1e-3, unit_name: str = "mm", ax=None):
    """1σ contours exp(−xᵀμx) = e^(−1/2) of P(x, z) with their principal axes.

    Parameters
    ----------
    mu : (2, 2) or (k, 2, 2) array
        Folded μ_rs of (8) (1/m²); one ellipse per matrix.
    labels : sequence of str, optional
        Legend entry per ellipse.
    title : str
    unit : float
        Axis unit in m (default mm).
    unit_name : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    LNF-64/55, (7), appendix (x̄, z̄ axes at angle θ).

    Examples
    --------
    >>> fig = beam_spot_ellipse(np.array([[2.0e6, 3.0e5], [3.0e5, 1.0e6]]))
    >>> len(fig.axes)
    1
    """
    from coupled_beam.distribution import beam_spot

    fig = ax.figure if ax is not None else _figure(6.0, 5.0)
    ax = ax if ax is not None else fig.add_subplot()
    mus = np.asarray(mu, dtype=float).reshape(-1, 2, 2)
    labels = list(labels) if labels is not None else [None] * len(mus)
    colors = ["#2166ac", "#b2182b", "#1b7837", "#762a83"]
    t = np.linspace(0, 2 * np.pi, 361)
    extent = 0.0
    for k, (mk, lab) in enumerate(zip(mus, labels)):
        theta, mbx, mbz, inv_s = (float(v) for v in beam_spot(mk))
        # exp(-(mbx xb^2 + mbz zb^2)) = exp(-1/2): semi-axes 1/sqrt(2 mbar) = rms sizes
        ax_x, ax_z = 1 / math.sqrt(2 * mbx), 1 / math.sqrt(2 * mbz)
        xb, zb = ax_x * np.cos(t), ax_z * np.sin(t)
        c, s = math.cos(theta), math.sin(theta)
        x, z = c * xb - s * zb, s * xb + c * zb
        color = colors[k % len(colors)]
        text = (f"{lab + ': ' if lab else ''}θ = {math.degrees(theta):.2f}°, "
                f"σ̄ = {ax_x / unit:.3g} × {ax_z / unit:.3g} {unit_name}, "
                f"1/S = {inv_s * unit**2:.3g} {unit_name}⁻²")   # same unit as the axes and other figures
        ax.plot(x / unit, z / unit, color=color, lw=2, label=text)
        ax.plot([-c * ax_x / unit, c * ax_x / unit], [-s * ax_x / unit, s * ax_x / unit],
                color=color, lw=0.8, ls="--")
        ax.plot([s * ax_z / unit, -s * ax_z / unit], [-c * ax_z / unit, c * ax_z / unit],
                color=color, lw=0.8, ls="--")
        extent = max(extent, float(np.max(np.abs(x))), float(np.max(np.abs(z))))
    lim = 1.1 * extent / unit
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim + 0.12 * len(mus) * lim)   # room for the legend
    ax.set_aspect("equal")
    ax.axhline(0, color="0.8", lw=0.5)
    ax.axvline(0, color="0.8", lw=0.5)
    ax.set_xlabel(f"x ({unit_name}, outward)")
    ax.set_ylabel(f"z ({unit_name}, up)")
    ax.set_title(title or "beam spot: 1σ contour of P(x, z) and its symmetry axes", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def sizes_along_ring(s: np.ndarray, sigma_x: np.ndarray, sigma_z: np.ndarray,
                     tilt: np.ndarray | None = None, inv_area: np.ndarray | None = None,
                     elements: Sequence | None = None, title: str = ""):
    """σ_x(s), σ_z(s) (and tilt θ(s), 1/S(s)) around the ring, with a magnet bar.

    Parameters
    ----------
    s : (n+1,) array
        Boundaries (m).
    sigma_x, sigma_z : (n+1,) arrays
        rms absolute sizes (m), shown in mm.
    tilt : (n+1,) array, optional
        θ (rad), shown in degrees.
    inv_area : (n+1,) array, optional
        1/S (1/m²), shown in mm⁻².
    elements : sequence of Element, optional
        Drawn as a bar: bends blue, quadrupoles red (up = focusing x),
        skew quadrupoles green.
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> s = np.linspace(0, 10, 11)
    >>> fig = sizes_along_ring(s, 1e-3 + 0 * s, 2e-4 + 0 * s, tilt=0 * s, inv_area=1e6 + 0 * s)
    >>> len(fig.axes)
    3
    """
    panels = 1 + (tilt is not None) + (inv_area is not None)
    fig = _figure(7.6, 2.0 + 1.9 * panels)
    axes = np.atleast_1d(fig.subplots(panels, 1, sharex=True))
    a = axes[0]
    a.plot(s, 1e3 * np.asarray(sigma_x), color="#2166ac", lw=1.6, label=r"$\sigma_x$")
    a.plot(s, 1e3 * np.asarray(sigma_z), color="#b2182b", lw=1.6, label=r"$\sigma_z$")
    a.set_ylabel("rms size (mm)")
    a.legend(fontsize=8, loc="upper right")
    a.grid(alpha=0.3)
    k = 1
    if tilt is not None:
        axes[k].plot(s, np.degrees(tilt), color="#1b7837", lw=1.4)
        axes[k].set_ylabel(r"tilt $\theta$ (deg)")
        axes[k].grid(alpha=0.3)
        k += 1
    if inv_area is not None:
        axes[k].plot(s, 1e-6 * np.asarray(inv_area), color="#762a83", lw=1.4)
        axes[k].set_ylabel(r"$1/S$ (mm$^{-2}$)")
        axes[k].grid(alpha=0.3)
    axes[-1].set_xlabel("s (m)")
    if elements is not None:
        _magnet_bar(axes[0], s, elements)
    axes[0].set_title(title or "beam sizes around the ring", fontsize=10)
    axes[0].set_xlim(float(s[0]), float(s[-1]))
    return fig


def _magnet_bar(ax, s, elements) -> None:
    """Thin element strip above the top panel: bends, quads (up = focusing x), skew quads."""
    strip = ax.inset_axes([0.0, 1.0, 1.0, 0.12], sharex=ax)
    strip.set_ylim(-1, 1)
    strip.axis("off")
    strip.axhline(0, color="0.5", lw=0.5)
    for el, s0, s1 in zip(elements, s[:-1], s[1:]):
        el = getattr(el, "base", el)   # radiation wraps bends (coupled_beam.radiation)
        kind = getattr(el, "kind", "")
        if kind == "bend":
            strip.add_patch(_rect(s0, -0.5, s1 - s0, 1.0, "#4393c3"))
        elif kind == "quadrupole":
            up = getattr(el, "k1", 0.0) > 0
            strip.add_patch(_rect(s0, 0 if up else -0.9, s1 - s0, 0.9, "#d6604d"))
        elif kind in ("thin_skew", "skew"):
            strip.axvline(s0 if kind == "thin_skew" else 0.5 * (s0 + s1), color="#1b7837", lw=2)


def _rect(x, y, w, h, color):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, color=color, lw=0)
