"""pyAT comparisons: our equilibrium next to ``ohmi_envelope`` and ``radiation_parameters``.

:func:`compare_with_pyat` lays our equilibrium next to pyAT's; :func:`time_vs_ohmi`
times both (``coupled-beam bench``); :func:`example_at_ring` builds the two
test rings in code; :func:`comparison_report` prints the tables
(``python -m coupled_beam.interop.pyat``). The converter is
:func:`coupled_beam.interop.pyat.ring_from_pyat`.

Which model each side uses: ours = the 4-D betatron equilibrium (10) of the
damped one-turn map plus the energy folding (8) (synchro-betatron
decorrelation, paper §2 b); pyAT ``ohmi_envelope`` = the 6-D envelope with
RF and the energy sawtooth on the 6-D closed orbit, radiation from tracking
(no pole-face terms); pyAT ``radiation_parameters`` = uncoupled radiation
integrals with the face terms.

Model differences with ``ohmi_envelope`` (see ``compare_with_pyat``): pyAT
solves the 6-D envelope Sigma = M Sigma M^T + B with the RF cavity; we solve
the 4-D betatron equilibrium (10) and fold the energy spread (8) assuming
betatron and synchrotron motion decorrelate (LNF-64/55 §2 b). The two agree
to O(Q_s^2) when the cavity sits in dispersion; keep Q_s small or the
cavity where xi = xi' = 0. pyAT has no photon opening angle either.

Measured agreement (``python -m coupled_beam.interop.pyat``; test rings of
:func:`example_at_ring`: 16 FODO cells, 64 m, 1 GeV, tunes 2.275 / 1.750,
combined-function sector bends, Q_s = 0.002; the coupled ring adds a thin
skew quadrupole 0.03 /m at xi != 0 and a 0.4 m solenoid K = 0.15 /m):

=============================  ===============  ==================
quantity                       uncoupled ring   coupled ring
=============================  ===============  ==================
mode tunes                     1.7e-6           1.4e-6
damping times (3 modes)        2.5e-6           2.9e-5
I1...I4, U0, J_x, J_s          3.7e-8           3.6e-8
I5, eps_x (uncoupled formula)  1.0e-7           (definitions differ)
sigma_delta vs ohmi Sigma_55   9.2e-6           6.3e-6
mode emittances vs ohmi        1.6e-5           2.1e-5
sigma_x, max over all s        4.6e-5           4.0e-5
sigma_z, max over all s        0 in both        3.0e-5
tilt, max over all s           -                4.7e-5 rad (of 0.46)
=============================  ===============  ==================

Pole faces: with face angles (rectangular bends) pyAT is inconsistent with
itself: ``radiation_parameters`` include the face terms -h^2 tan(e) xi of I4,
its tracking (hence ``ohmi_envelope``) does not. Same coupled ring with
e1 = e2 = angle/2: with face terms (default) our damping times equal pyAT's
radiation-integral ones (J_x 1.347) but differ from ohmi's by up to 56 %;
with ``face_radiation=False`` sizes match ohmi to 3.2e-5, tilt to 3e-5 rad,
damping times to 7.5e-5. The face terms are physical (the wedge's
x-dependent field length; Sands, MAD-X).

All relative. The size differences have two model parts, neither numerical:
one grows as Q_s^2 (2e-3 at Q_s = 0.02 in the uncoupled ring, 1e-2 in the
coupled one: the synchro-betatron coupling that the paper's §2 b neglects);
the other as U0/E (1.7e-5 here): pyAT's 6-D closed orbit has the energy
sawtooth (p from -8.9e-6 to +8.5e-6 around this ring), whose chromatic beat
we do not model: sigma_x differences 2.7e-5, 4.6e-5, 2.2e-4 at 0.5, 1, 2 GeV. Times (146 boundaries,
``OPENBLAS_NUM_THREADS=1``): ours 95 ms, ``ohmi_envelope`` 100 ms.

References
----------
pyAT: https://github.com/atcollab/at ; K. Ohmi, K. Hirata, K. Oide,
Phys. Rev. E 49 (1994) 751 (envelope); LNF-64/55 eq. (8), (10), §2 b.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from coupled_beam.errors import InputError, PhysicsWarning

__all__ = ["example_at_ring", "PyatComparison", "compare_with_pyat", "time_vs_ohmi",
           "tilt_from_sigma", "comparison_report"]


def _ring_from_pyat(*args, **kwargs):
    """:func:`coupled_beam.interop.pyat.ring_from_pyat` (imported late: that module imports this one)."""
    from coupled_beam.interop.pyat import ring_from_pyat

    return ring_from_pyat(*args, **kwargs)


def example_at_ring(coupled: bool = False, *, cells: int = 16, energy: float = 1.0e9,
                    q_s: float = 0.002, skew: float = 0.03, solenoid: float = 0.15,
                    steps: int | None = None):
    """The FODO test ring built in pyAT, optionally with a thin skew quadrupole and a solenoid.

    Parameters
    ----------
    coupled : bool
        Add a thin skew quadrupole (PolynomA[1] = ``skew``, 1/m) in cell 0 where
        xi != 0, and a 0.4 m solenoid (K = ``solenoid``, 1/m) in cell 8.
    cells : int
        Number of 4 m cells (each: QF/2, drift, combined-function bend, drift,
        QD, drift, bend, drift, QF/2).
    energy : float
        Beam energy (eV).
    q_s : float
        Synchrotron tune the RF voltage is set for (small: see module notes).
    skew, solenoid : float
        Coupling strengths.
    steps : int, optional
        NumIntSteps of the bends and quadrupoles (pyAT's default 10 when None). pyAT's
        radiating bend integrator puts the 6-D orbit's delta level O(1 / steps) off the
        continuum (1.8e-7 at 10 steps, 1.8e-8 at 100 on this ring), which moves its
        6-D sigma_z by 1e-4 at Q_s = 0.048: a 6-D reference wants 100.

    Returns
    -------
    at.Lattice
        4-D lattice with one zero-length RF cavity at s = 0 (harmonic 100).

    Examples
    --------
    >>> len(example_at_ring(coupled=True))
    147
    """
    import at

    angle = 2 * np.pi / (2 * cells)
    qf = at.Quadrupole("QF", 0.1, 1.8)
    qd = at.Quadrupole("QD", 0.2, -1.7)
    bend = at.Dipole("B", 1.0, angle, -0.01)
    elems = []
    for c in range(cells):
        d = [at.Drift("D", 0.4) for _ in range(4)]
        cell = [qf.deepcopy(), d[0], bend.deepcopy(), d[1], qd.deepcopy(), d[2],
                bend.deepcopy(), d[3], qf.deepcopy()]
        if coupled and c == 0:
            cell.insert(2, at.ThinMultipole("SKEW", poly_a=[0, skew], poly_b=[0, 0]))
        if coupled and c == cells // 2:
            i = cell.index(d[2])
            cell[i:i + 1] = [at.Drift("D", 0.0),
                             at.LongElement("SOL", 0.4, PassMethod="SolenoidLinearPass",
                                            K=solenoid)]
        elems += cell
    harmonic = 100
    circumference = 4.0 * cells
    rf = at.RFCavity("RF", 0.0, 1.0e5, harmonic * 299792458.0 / circumference, harmonic,
                     energy)
    ring = at.Lattice([rf] + elems, energy=energy, periodicity=1)
    if steps is not None:
        for el in ring:
            if hasattr(el, "NumIntSteps"):
                el.NumIntSteps = int(steps)
    # RF voltage for the wanted Q_s: Q_s^2 = h alpha_c sqrt(V^2 - U0^2) / (2 pi E)
    u0 = float(ring.energy_loss)
    alpha_c = float(ring.disable_6d(copy=True).get_mcf())
    v_eff = 2 * np.pi * energy * q_s**2 / (harmonic * alpha_c)
    ring[0].Voltage = float(np.hypot(u0, v_eff))
    return ring


def tilt_from_sigma(s11, s13, s33):
    """Tilt of the x-z ellipse, 1/2 atan2(2 <xz>, <x^2> - <z^2>) (rad).

    Examples
    --------
    >>> round(float(tilt_from_sigma(1.0, 0.5, 1.0)), 6)   # 45 degrees
    0.785398
    """
    return 0.5 * np.arctan2(2 * np.asarray(s13), np.asarray(s11) - np.asarray(s33))


@dataclass(frozen=True)
class PyatComparison:
    """Our equilibrium next to pyAT's on the same ring.

    Attributes
    ----------
    rows : list of (str, float, float, float)
        (quantity, ours, pyAT, relative difference ours/pyAT - 1); tunes are
        fractional in [0, 1/2], damping times in s, emittances in m rad.
    s : (n+1,) array
        Boundaries (m), pyAT's refpts 0 ... n.
    sigma_x, sigma_z : (2, n+1) arrays
        rms sizes (m), rows (ours, pyAT).
    tilt : (2, n+1) array
        Tilt (rad), rows (ours, pyAT); pyAT's from 1/2 atan2(2 S13, S11 - S33).
    max_rel_sigma_x, max_rel_sigma_z : float
        max over s of abs(ours / pyAT - 1) (NaN where pyAT's size is 0).
    max_abs_tilt : float
        max over s of abs(tilt difference) (rad).
    q_s : float
        pyAT's synchrotron tune (differences are O(q_s^2), module notes).
    """

    rows: list
    s: np.ndarray
    sigma_x: np.ndarray
    sigma_z: np.ndarray
    tilt: np.ndarray
    max_rel_sigma_x: float
    max_rel_sigma_z: float
    max_abs_tilt: float
    q_s: float
    extra: dict = field(default_factory=dict)

    def table(self) -> str:
        """The comparison as an aligned text table."""
        lines = [f"{'quantity':<28}{'ours':>15}{'pyAT':>15}{'rel. diff':>12}"]
        lines += [f"{q:<28}{a:>15.7g}{b:>15.7g}{r:>12.2e}" for q, a, b, r in self.rows]
        return "\n".join(lines)


def _mode_emittances(S: np.ndarray) -> np.ndarray:
    J = np.kron(np.eye(2), np.array([[0.0, 1.0], [-1.0, 0.0]]))
    ev = np.abs(np.linalg.eigvals(S @ J).imag)
    return np.sort(ev)[::2]


def compare_with_pyat(at_ring, *, face_radiation: bool = True) -> PyatComparison:
    """Tunes, damping times, emittances, sizes and tilt: ours vs pyAT on one ring.

    pyAT side: ``ohmi_envelope`` on ``at_ring.enable_6d(copy=True)`` (6-D
    envelope, RF on) and ``radiation_parameters()`` of the 4-D ring. Our side:
    :func:`ring_from_pyat` then ``Ring.equilibrium()`` (4-D betatron (10) plus
    energy folding (8)). Modes are paired by nearest fractional tune.

    Parameters
    ----------
    at_ring : at.Lattice
        With an RF cavity and ``energy`` set.
    face_radiation : bool
        Passed to :func:`ring_from_pyat` (False matches ``ohmi_envelope`` when
        bends have face angles; True matches ``radiation_parameters``).

    Returns
    -------
    PyatComparison

    References
    ----------
    LNF-64/55 eq. (8), (10), appendix; Ohmi et al., PRE 49 (1994) 751.

    Examples
    --------
    >>> cmp = compare_with_pyat(example_at_ring())
    >>> bool(cmp.max_rel_sigma_x < 1e-3)
    True
    """
    import at

    from coupled_beam.radiation import SPEED_OF_LIGHT, radiation_parameters

    ring4 = at_ring.disable_6d(copy=True)
    ring6 = at_ring.enable_6d(copy=True)
    n = len(at_ring)
    _, bd, em = at.ohmi_envelope(ring6, refpts=range(n + 1))
    rp = ring4.radiation_parameters()
    ours = _ring_from_pyat(ring4, face_radiation=face_radiation)
    with warnings.catch_warnings():   # flat ring: degenerate spot, handled below
        warnings.simplefilter("ignore", PhysicsWarning)
        eq = ours.equilibrium()
    mine = radiation_parameters(_ring_from_pyat(ring4, radiation=False,
                                               face_radiation=face_radiation),
                                at_ring.energy / 1e9)
    T0 = ours.circumference / SPEED_OF_LIGHT

    S = em.r66
    sx, sz = np.sqrt(np.maximum(S[:, 0, 0], 0)), np.sqrt(np.maximum(S[:, 2, 2], 0))
    tilt_p = tilt_from_sigma(S[:, 0, 0], S[:, 0, 2], S[:, 2, 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_x = np.where(sx > 0, eq.sigma_x / sx - 1, np.nan)
        rel_z = np.where(sz > 1e-3 * sx, eq.sigma_z / sz - 1, np.nan)

    dec = eq.decomposition
    delta = np.asarray(dec.Delta)[[0, 2]]
    tunes = np.angle(delta) / (2 * np.pi)
    rates = -np.log(np.abs(delta))
    ptunes = np.minimum(bd.tunes[:2], 1 - bd.tunes[:2])
    order = [int(np.argmin(np.abs(ptunes - t))) for t in tunes]
    eps = _mode_emittances(eq.moments[0])
    peps = np.asarray(bd.mode_emittances[:2])
    eorder = np.argsort(eps)
    rows = []

    def row(q, a, b):
        rows.append((q, float(a), float(b), float(a / b - 1) if b else float("nan")))

    for k in range(2):
        row(f"tune mode {k + 1}", tunes[k], ptunes[order[k]])
    for k in range(2):
        row(f"damping time mode {k + 1} (s)", T0 / rates[k], T0 / bd.damping_rates[order[k]])
    row("damping time long. (s)", mine.tau_s, T0 / bd.damping_rates[2])
    finite_z = rel_z[np.isfinite(rel_z)]
    coupled = finite_z.size > 0
    pairs = [("I1 (m)", mine.I1, rp.i1), ("I2 (1/m)", mine.I2, rp.i2),
             ("I3 (1/m^2)", mine.I3, rp.i3), ("I4 (1/m)", mine.I4, rp.i4),
             ("U0 (eV)", mine.U0 * 1e9, rp.U0), ("J_x", mine.J_x, rp.J[0]),
             ("J_s", mine.J_s, rp.J[2]), ("tau_x integrals (s)", mine.tau_x, rp.Tau[0])]
    if not coupled:   # I5 and eps_x(I5) are uncoupled definitions; the codes differ if coupled
        pairs += [("I5 (1/m)", mine.I5, rp.i5),
                  ("eps_x integrals (m)", mine.eps_x, rp.emittances[0])]
    pairs += [("sigma_delta", np.sqrt(eq.p2), np.sqrt(S[0, 4, 4]))]
    for name, a, b in pairs:
        row(name, a, b)
    for k, j in enumerate(eorder):
        if np.sort(peps)[k] > 0:
            row(f"mode emittance {('small', 'large')[k]} (m)", eps[j], np.sort(peps)[k])
    row("sigma_x at s=0 (m)", eq.sigma_x[0], sx[0])
    if coupled:
        row("sigma_z at s=0 (m)", eq.sigma_z[0], sz[0])
        row("tilt at s=0 (rad)", eq.tilt[0], tilt_p[0])
    return PyatComparison(
        rows=rows, s=ours.s.copy(), sigma_x=np.array([eq.sigma_x, sx]),
        sigma_z=np.array([eq.sigma_z, sz]), tilt=np.array([eq.tilt, tilt_p]),
        max_rel_sigma_x=float(np.nanmax(np.abs(rel_x))),
        max_rel_sigma_z=float(np.max(np.abs(finite_z))) if coupled else float("nan"),
        max_abs_tilt=float(np.max(np.abs(eq.tilt - tilt_p))) if coupled else float("nan"),
        q_s=float(bd.tunes[2]))


def time_vs_ohmi(at_ring, *, repeat: int = 3) -> dict:
    """Best-of-``repeat`` wall times: our equilibrium vs pyAT's ``ohmi_envelope``.

    Ours: :func:`ring_from_pyat` (radiation on) + ``Ring.equilibrium()``;
    pyAT: ``ohmi_envelope(ring6, refpts=all)`` on the 6-D ring, both with
    sizes at every element boundary. For ``coupled-beam bench``.

    Parameters
    ----------
    at_ring : at.Lattice
    repeat : int
        Runs of each (after one warm-up).

    Returns
    -------
    dict
        ``elements``, ``ours_s``, ``ohmi_s``, ``speedup`` (ohmi / ours).

    Examples
    --------
    >>> t = time_vs_ohmi(example_at_ring(), repeat=1)
    >>> sorted(t)
    ['elements', 'ohmi_s', 'ours_s', 'speedup']
    """
    import at

    if repeat < 1:
        raise InputError(f"repeat must be >= 1, got {repeat}", field="repeat", value=repeat)
    ring4 = at_ring.disable_6d(copy=True)
    ring6 = at_ring.enable_6d(copy=True)
    refpts = range(len(at_ring) + 1)

    def ours():
        with warnings.catch_warnings():   # timing only: a flat ring's spot warning
            warnings.simplefilter("ignore", PhysicsWarning)
            _ring_from_pyat(ring4).equilibrium()

    def theirs():
        at.ohmi_envelope(ring6, refpts=refpts)

    out = {}
    for key, fn in (("ours_s", ours), ("ohmi_s", theirs)):
        fn()
        best = np.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        out[key] = best
    out["elements"] = len(at_ring)
    out["speedup"] = out["ohmi_s"] / out["ours_s"]
    return out


def comparison_report(q_s: float = 0.002, *, timing: bool = True) -> str:
    """Text report: the comparison tables of both test rings (and timings).

    Regenerate the figures of the module notes with
    ``python -m coupled_beam.interop.pyat``.

    Parameters
    ----------
    q_s : float
        Synchrotron tune of the test rings.
    timing : bool
        Append :func:`time_vs_ohmi` for each ring.

    Returns
    -------
    str

    Examples
    --------
    >>> print(comparison_report(timing=False).splitlines()[0])
    == uncoupled FODO ring (Q_s = 0.002) ==
    """
    out = []
    for coupled, label in ((False, "uncoupled FODO ring"),
                           (True, "FODO ring + thin skew quadrupole + solenoid")):
        ring = example_at_ring(coupled, q_s=q_s)
        cmp = compare_with_pyat(ring)
        out += [f"== {label} (Q_s = {q_s:g}) ==", cmp.table(),
                f"max over s: |sigma_x/pyAT - 1| = {cmp.max_rel_sigma_x:.2e}, "
                f"|sigma_z/pyAT - 1| = {cmp.max_rel_sigma_z:.2e}, "
                f"|tilt - pyAT| = {cmp.max_abs_tilt:.2e} rad"]
        if timing:
            t = time_vs_ohmi(ring)
            out.append(f"time, sizes at all {t['elements'] + 1} boundaries: ours "
                       f"{t['ours_s'] * 1e3:.1f} ms, ohmi_envelope {t['ohmi_s'] * 1e3:.1f} ms "
                       f"(ohmi / ours = {t['speedup']:.2f})")
        out.append("")
    return "\n".join(out)


