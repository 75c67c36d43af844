"""Side by side with the peer codes: ``coupled-beam bench --peers``.

One FODO ring with a thin skew quadrupole is described once, code-neutrally
(:class:`NeutralRing`, built by :func:`fodo_ring`), and converted for each
code: :func:`to_ours` (``coupled_beam.lattice`` elements), :func:`to_pyat`
(pyAT elements with an ``RFCavity``), :func:`madx_sequence` (MAD-X sequence
text for cpymad with an ``RFCAVITY``) and :func:`to_xtrack` (an xtrack
``Line`` with sliced bends). Each code then goes from its own elements to the
beam sizes at every element boundary, radiation set-up included:

========  ============================================================  ==========================
code      timed call                                                    model
========  ============================================================  ==========================
ours      ``Ring(elements, energy=E).equilibrium()``                    paper's 4-D (10) + folding (8)
pyAT      ``Lattice(elements)``, ``enable_6d``, ``ohmi_envelope(all)``  6-D envelope (tracking)
MAD-X     ``beam, radiate; use; emit; twiss`` + reading sig11/13/33     6-D (Chao), TWISS sigma
xtrack    ``configure_radiation(mean)``, ``twiss(6d, radiation...)``    6-D normal form (sliced bends)
========  ============================================================  ==========================

Not timed: converting the neutral description, starting MAD-X and reading
the sequence text, building xtrack's tracker (and slicing). One warm-up call
of every code precedes the timing (its time is reported as ``first_call_s``
and excluded: xtrack's prebuilt kernels load on it). Then the codes run
interleaved, round by round (ours, pyAT, MAD-X, xtrack, ours, ...), and each
time is the median of ``repeat`` (>= 5) rounds; everything is done twice, at
the default BLAS threads and inside ``threadpoolctl.threadpool_limits(1)``
(MAD-X runs in cpymad's subprocess and xtrack's C kernels are
single-threaded either way: the limit reaches numpy/scipy only). Ratios are
peer time / our time (> 1: ours faster).

Agreement: at every boundary of our ring whose s a peer also reports (exactly
the same s; the peers' extra rows -- slices, MAD-X's implicit drifts -- are
skipped) the max relative difference of sigma_x and sigma_z, and the max
absolute tilt difference (rad, modulo pi) where the peer gives the x-z
covariance (tilt = 1/2 atan2(2 S13, S11 - S33)). These are model
differences, not numerical errors: the paper neglects synchro-betatron
coupling (O(Q_s^2), Q_s = 0.002 here) and the energy sawtooth (O(U0/E));
pyAT's and xtrack's own integrators and slicing add theirs.

A peer that is not installed is skipped with ``"not installed: pip install
coupled-beam[bench]"``. Speed is only reported, never asserted. The section
is opt-in (``coupled-beam bench --peers``, or ``--peers-only``; about 75 s
with all three peers), so the plain ``coupled-beam bench`` stays as fast as before.

Measured (``coupled-beam bench --peers-only --repeat 7``, 2 shared cores, load
average 0.5-0.9, 2 Dec 2026 01:20 UTC; medians of 7, ms; ratio = peer / ours 4-D):

=====  =======  =====  ======  ============  ===========  =============
size   threads  ours   ours6d  pyAT (ratio)  MAD-X        xtrack
=====  =======  =====  ======  ============  ===========  =============
442    default  3.38   10.3    82.1 (24.3)   19.0 (5.63)  288 (85.3)
442    1        2.80   9.0     81.3 (29.0)   20.7 (7.39)  300 (107)
4402   default  11.2   42.5    778 (69.8)    230 (20.6)   1853 (166)
4402   1        10.9   39.2    726 (66.6)    187 (17.2)   1739 (160)
=====  =======  =====  ======  ============  ===========  =============

(Ours alone, not interleaved with the peers, at 442 elements: 2.3 ms median,
1.9 ms best, at either thread setting; between the peers' rounds the caches are
cold and, at default threads, their BLAS threads still hold a core. MAD-X's own
time moves between 16 and 37 ms from run to run.) 10x the elements: ours x3.3
(default) / x3.9 (1 thread).
Agreement with ours 4-D (max relative sigma_x / sigma_z, tilt rad), both
sizes: pyAT 3e-5 / 9e-5 / 2e-5, MAD-X 3e-4 / 2e-4 / 3e-4 (with the bends cut
8x: 3e-5 / 1e-4 / 3e-5 -- EMIT's radiation on thick bends; 4e-3 on the
0.39 rad bends of 8 cells), xtrack 7e-5 / 1e-4 / 1e-5 at 442 but 7e-3 /
3e-3 / 1e-3 at 4402 (its damping constants drift with the number of slices
on 2e4 elements: 16 slices per bend give a sum of damping rates 8 % below
Robinson's 2 U0/E, 1 slice gives it exactly). Ours 6-D vs pyAT: 8e-6 / 6e-6
/ 2e-6 (442), 2e-6 / 4e-6 / 1e-6 (4402).
Periodic (442-element cell, P = 10): ours 2.83 ms vs one cell 2.98 ms
(0.95x), tiled 10.6 ms; periodic vs tiled equal at the compared boundaries;
pyAT periodic 78 ms.
Times on a shared machine move by 2-3x with its load; the interleaved
ratios less so.

References
----------
LNF-64/55 eq. (8), (10), §2 b; K. Ohmi, K. Hirata, K. Oide, Phys. Rev. E 49
(1994) 751; A. W. Chao, J. Appl. Phys. 50 (1979) 595; MAD-X EMIT;
Xsuite (xtrack) twiss ``radiation_analysis``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import statistics
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

__all__ = ["Piece", "NeutralRing", "fodo_ring", "to_ours", "to_pyat", "madx_sequence", "to_xtrack",
           "PEERS", "installed_peers", "peer_sizes_callables", "agreement", "run_peers",
           "format_peers", "NOT_INSTALLED", "split_bends", "Sizes"]

C_LIGHT = 299_792_458.0
#: peer name -> the module that must be importable
PEERS = {"pyat": "at", "madx": "cpymad", "xtrack": "xtrack"}
NOT_INSTALLED = "not installed: pip install coupled-beam[bench]"
MODELS = {"ours": "paper's 4-D betatron equilibrium, formula (10), + energy-spread folding (8); "
                  "the cavity acts as a zero-length drift",
          "ours6d": "our 6-D equilibrium: formula (10) on the 6x6 one-turn map with the RF cavity "
                    "(coupled_beam.sixd, energy sawtooth included)",
          "pyat": "6-D: ohmi_envelope (Sigma = M Sigma M^T + B, M from tracking)",
          "madx": "6-D: EMIT (Chao) then TWISS sigma matrix",
          "xtrack": "6-D: twiss(method='6d', radiation_analysis=True), normal form, sliced bends"}


@dataclass(frozen=True)
class Piece:
    """One element of the neutral description (SI units, angles in rad).

    ``kind`` is one of ``drift``, ``quad`` (``k1``, 1/m^2), ``bend`` (sector,
    ``angle``, gradient ``k1``), ``thin_skew`` (integrated ``ksl``, 1/m:
    x' += ksl z, z' += ksl x), ``marker``, ``rf`` (zero length, ``voltage`` V,
    ``harmonic``).
    """

    kind: str
    name: str
    length: float = 0.0
    angle: float = 0.0
    k1: float = 0.0
    ksl: float = 0.0
    voltage: float = 0.0
    harmonic: int = 0


@dataclass(frozen=True)
class NeutralRing:
    """A ring described once for every code: pieces of one cell, energy (eV), periodicity."""

    pieces: tuple
    energy: float
    periodicity: int = 1
    q_s: float = 0.0
    notes: dict = field(default_factory=dict, compare=False)

    @property
    def cell_length(self) -> float:
        return float(sum(p.length for p in self.pieces))

    @property
    def circumference(self) -> float:
        return self.cell_length * self.periodicity

    def boundaries(self) -> np.ndarray:
        """s of the len(pieces) + 1 element boundaries of one cell (m)."""
        return np.concatenate([[0.0], np.cumsum([p.length for p in self.pieces])])

    def __len__(self) -> int:
        return len(self.pieces)


def _fodo_cell(cells: int, c: int) -> list[Piece]:
    angle = 2 * math.pi / (2 * cells)
    qf = Piece("quad", f"qf{c}", 0.1, k1=1.9)
    qd = Piece("quad", f"qd{c}", 0.1, k1=-1.56)
    return [qf, Piece("drift", f"d{c}a", 0.4), Piece("bend", f"b{c}a", 1.0, angle=angle, k1=-0.01),
            Piece("drift", f"d{c}b", 0.4), qd, Piece("marker", f"bpm{c}"), replace(qd, name=f"qd{c}b"),
            Piece("drift", f"d{c}c", 0.4), Piece("bend", f"b{c}b", 1.0, angle=angle, k1=-0.01),
            Piece("drift", f"d{c}d", 0.4), replace(qf, name=f"qf{c}b")]


def fodo_ring(cells: int = 40, *, energy: float = 1.0e9, q_s: float = 0.002, skew: float = 0.03,
              periodicity: int = 1) -> NeutralRing:
    """The bench ring: ``cells`` FODO cells (11 elements, 4 m), an RF cavity and a thin skew quadrupole.

    Cell: QF/2, drift, combined-function sector bend (k1 = -0.01 /m^2), drift,
    QD/2, monitor, QD/2, drift, bend, drift, QF/2 (tunes 5.43 / 3.22 at 40
    cells, 52.43 / 32.21 at 400: every nu_x, nu_z, nu_x +- nu_z >= 0.17 from an integer). The cavity (zero length, about 500 MHz) sits at s = 0
    and the skew quadrupole (``skew`` 1/m) after the first drift, where the
    dispersion is not zero; 11 cells + 2 elements: 442 at 40 cells, 4402 at
    400. The voltage gives the synchrotron tune ``q_s`` (small: the paper's
    model neglects synchro-betatron coupling, O(q_s^2)), from alpha_c and U0
    of :func:`coupled_beam.radiation.radiation_parameters`:
    Q_s^2 = h alpha_c sqrt(V^2 - U0^2) / (2 pi E).

    With ``periodicity`` P the pieces are ONE cell of a P-fold ring: ``cells``
    FODO cells, the skew quadrupole and the cavity (voltage per cell).

    Examples
    --------
    >>> ring = fodo_ring(40)
    >>> len(ring), round(ring.circumference, 9)
    (442, 160.0)
    """
    body: list[Piece] = []
    for c in range(cells):
        body += _fodo_cell(cells * periodicity, c)
    body.insert(2, Piece("thin_skew", "skew", ksl=skew))
    circumference = 4.0 * cells * periodicity
    # a multiple of P: the RF phase repeats from cell to cell
    harmonic = periodicity * max(1, round(500e6 * circumference / C_LIGHT / periodicity))
    ring = NeutralRing(tuple([Piece("rf", "rf", harmonic=harmonic)] + body), energy, periodicity, q_s)
    alpha_c, u0, sigma_delta = _alpha_c_u0(to_ours(ring), energy * 1e-9)
    u0 *= 1e9                                  # of the pieces (one cell), eV
    v_eff = 2 * math.pi * energy * q_s**2 / (harmonic * alpha_c) / periodicity
    rf = replace(ring.pieces[0], voltage=float(math.hypot(u0, v_eff)))
    return replace(ring, pieces=(rf,) + ring.pieces[1:],
                   notes={"alpha_c": alpha_c, "U0_eV": u0 * periodicity, "harmonic": harmonic,
                          "sigma_delta": sigma_delta})


def _alpha_c_u0(elements: list, energy: float) -> tuple[float, float, float]:
    """Momentum compaction, energy loss of these elements (GeV) and sigma_delta, from our public API.

    :func:`coupled_beam.radiation.radiation_parameters` where present; else
    alpha_c from the bare 6x6 one-turn map (path lengthening per delta on
    the dispersive orbit) and U0 from the ring's radiation model.
    """
    try:
        from coupled_beam.radiation import radiation_parameters
    except ImportError:
        radiation_parameters = None
    if radiation_parameters is not None:
        par = radiation_parameters(elements, energy)
        return par.I1 / par.circumference, par.U0, par.sigma_delta
    from coupled_beam.lattice import Ring

    ring = Ring(elements)
    M = ring.one_turn_map6()
    eta = np.linalg.solve(np.eye(4) - M[:4, :4], M[:4, 4])      # closed orbit per unit delta
    alpha_c = float(M[5, 4] + M[5, :4] @ eta) / ring.circumference
    rad = ring.with_radiation(energy).radiation
    return alpha_c, float(rad.U0), float(math.sqrt(rad.p2))


# ------------------------------------------------------------------ converters
def to_ours(ring: NeutralRing) -> list:
    """coupled_beam.lattice elements (the 4-D model takes the cavity as a zero-length drift).

    Examples
    --------
    >>> [type(el).__name__ for el in to_ours(fodo_ring(2))[:4]]
    ['RFCavity', 'Quadrupole', 'Drift', 'ThinSkewQuadrupole']
    """
    from coupled_beam import lattice as lat

    marker = getattr(lat, "Marker", None)
    cavity = getattr(lat, "RFCavity", None)
    out = []
    for p in ring.pieces:
        if p.kind == "drift":
            out.append(lat.Drift(p.length, name=p.name))
        elif p.kind == "quad":
            out.append(lat.Quadrupole(p.length, p.k1, name=p.name))
        elif p.kind == "bend":
            K = p.angle / p.length
            out.append(lat.Bend(p.length, K, -p.k1 / K**2, name=p.name))
        elif p.kind == "thin_skew":
            out.append(lat.ThinSkewQuadrupole(p.ksl, name=p.name))
        elif p.kind == "rf" and cavity is not None:
            out.append(cavity(voltage=p.voltage, harmonic=p.harmonic, name=p.name))
        elif p.kind in ("marker", "rf"):
            out.append(marker(name=p.name) if marker is not None else lat.Drift(0.0, name=p.name))
        else:
            raise ValueError(f"unknown piece kind {p.kind!r}")
    return out


def to_pyat(ring: NeutralRing) -> list:
    """pyAT elements (4-D pass methods; the timed call runs ``enable_6d``)."""
    import at

    freq = None
    out = []
    for p in ring.pieces:
        if p.kind == "drift":
            out.append(at.Drift(p.name, p.length))
        elif p.kind == "quad":
            out.append(at.Quadrupole(p.name, p.length, p.k1))
        elif p.kind == "bend":
            out.append(at.Dipole(p.name, p.length, p.angle, p.k1))
        elif p.kind == "thin_skew":
            out.append(at.ThinMultipole(p.name, poly_a=[0.0, p.ksl], poly_b=[0.0, 0.0]))
        elif p.kind == "marker":
            out.append(at.Marker(p.name))
        elif p.kind == "rf":
            freq = p.harmonic * C_LIGHT / ring.circumference
            out.append(at.RFCavity(p.name, 0.0, p.voltage, freq, p.harmonic, ring.energy))
    return out


def madx_sequence(ring: NeutralRing) -> str:
    """MAD-X sequence ``ring`` (refer=entry; drifts implicit), one definition per piece."""
    lines, placed, s = [], [], 0.0
    for p in ring.pieces:
        name = p.name
        if p.kind == "drift":
            s += p.length
            continue
        if p.kind == "quad":
            lines.append(f"{name}: quadrupole, l={p.length!r}, k1={p.k1!r};")
        elif p.kind == "bend":
            lines.append(f"{name}: sbend, l={p.length!r}, angle={p.angle!r}, k1={p.k1!r};")
        elif p.kind == "thin_skew":
            lines.append(f"{name}: multipole, knl={{0, 0}}, ksl={{0, {p.ksl!r}}};")
        elif p.kind == "marker":
            lines.append(f"{name}: marker;")
        elif p.kind == "rf":
            # MV; lag 0.5: stable phase above transition (the energy loss shifts it on the orbit)
            lines.append(f"{name}: rfcavity, l=0, volt={p.voltage * 1e-6!r}, harmon={p.harmonic}, lag=0.5;")
        placed.append(f"{name}, at={s!r};")
        s += p.length
    return "\n".join(lines + [f"ring: sequence, l={ring.circumference!r}, refer=entry;"]
                     + placed + ["endsequence;"])


def to_xtrack(ring: NeutralRing, bend_slices: int = 8):
    """xtrack Line (tracker built) with each bend cut into ``bend_slices`` thick slices."""
    import xtrack as xt

    elements, names = [], []
    for p in ring.pieces:
        if p.kind == "drift":
            el = xt.Drift(length=p.length)
        elif p.kind == "quad":
            el = xt.Quadrupole(length=p.length, k1=p.k1)
        elif p.kind == "bend":
            el = xt.Bend(length=p.length, angle=p.angle, k0=p.angle / p.length, k1=p.k1)
        elif p.kind == "thin_skew":
            el = xt.Multipole(knl=[0.0, 0.0], ksl=[0.0, p.ksl])
        elif p.kind == "marker":
            el = xt.Marker()
        elif p.kind == "rf":
            el = xt.Cavity(voltage=p.voltage, frequency=p.harmonic * C_LIGHT / ring.circumference,
                           **_xtrack_phase())
        elements.append(el)
        names.append(p.name)
    line = xt.Line(elements=elements, element_names=names)
    line.particle_ref = xt.Particles(mass0=xt.ELECTRON_MASS_EV, q0=-1, energy0=ring.energy)
    if bend_slices > 1:
        line.slice_thick_elements(slicing_strategies=[
            xt.Strategy(slicing=None),
            xt.Strategy(slicing=xt.Teapot(bend_slices, mode="thick"), element_type=xt.Bend)],
            with_progress=False)
    line.build_tracker()
    return line


def _xtrack_phase() -> dict:
    """The cavity's stable phase above transition (pi), in whichever keyword this xtrack takes."""
    import inspect

    import xtrack as xt

    params = inspect.signature(xt.Cavity.__init__).parameters
    return {"phase": math.pi} if "phase" in getattr(xt.Cavity, "_xofields", {}) or "phase" in params \
        else {"lag": 180.0}


# ------------------------------------------------------------- sizes per code
@dataclass(frozen=True)
class Sizes:
    """Beam sizes along the ring as one code reports them (rows in s order)."""

    s: np.ndarray
    sigma_x: np.ndarray
    sigma_z: np.ndarray
    tilt: np.ndarray | None


def _tilt(s11, s13, s33):
    return 0.5 * np.arctan2(2 * np.asarray(s13), np.asarray(s11) - np.asarray(s33))


def _ours_callable(ring: NeutralRing, periodic: bool = False, model: str = "4d") -> Callable[[], Sizes]:
    from coupled_beam.errors import PhysicsWarning
    from coupled_beam.lattice import Ring

    elements = to_ours(ring)
    energy = ring.energy * 1e-9
    if periodic:
        def build():
            return Ring(elements, energy=energy, periodicity=ring.periodicity)
    else:
        elements = elements * ring.periodicity

        def build():
            return Ring(elements, energy=energy)

    def run() -> Sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PhysicsWarning)
            eq = build().equilibrium() if model == "4d" else build().equilibrium(model=model)
        return Sizes(np.asarray(eq.s), np.asarray(eq.sigma_x), np.asarray(eq.sigma_z),
                     np.asarray(eq.tilt))
    return run


def _pyat_callable(ring: NeutralRing, periodic: bool = False) -> Callable[[], Sizes]:
    import at

    elements = to_pyat(ring)
    periodicity = ring.periodicity
    if not periodic:
        elements = [el.deepcopy() for _ in range(periodicity) for el in elements]
        periodicity = 1

    def run() -> Sizes:
        lattice = at.Lattice(elements, energy=ring.energy, periodicity=periodicity)
        lattice.enable_6d()                       # in place (the same objects every round)
        _, _, emit = at.ohmi_envelope(lattice, refpts=at.All)
        r = emit.r66
        return Sizes(lattice.get_s_pos(at.All), np.sqrt(r[:, 0, 0]), np.sqrt(r[:, 2, 2]),
                     _tilt(r[:, 0, 0], r[:, 0, 2], r[:, 2, 2]))
    return run


def _madx_callable(ring: NeutralRing) -> tuple[Callable[[], Sizes], Callable[[], None]]:
    from cpymad.madx import Madx

    tiled = replace(ring, pieces=ring.pieces * ring.periodicity, periodicity=1) \
        if ring.periodicity > 1 else ring
    madx = Madx(stdout=False)
    madx.input(madx_sequence(tiled))
    cmd = (f"beam, particle=electron, energy={ring.energy * 1e-9!r}, radiate=true; use, sequence=ring; "
           "emit, deltap=0; twiss, ripken=true;")

    def run() -> Sizes:
        madx.input(cmd)
        tw = madx.table.twiss
        s11, s13, s33 = tw.sig11, tw.sig13, tw.sig33
        return Sizes(np.asarray(tw.s), np.sqrt(s11), np.sqrt(s33), _tilt(s11, s13, s33))
    return run, madx.quit


def split_bends(ring: NeutralRing, k: int) -> NeutralRing:
    """The same ring with every sector bend cut into ``k`` equal sector bends (the same map).

    Examples
    --------
    >>> len(split_bends(fodo_ring(2), 4)) - len(fodo_ring(2))
    12
    """
    pieces: list[Piece] = []
    for p in ring.pieces:
        if p.kind == "bend" and k > 1:
            pieces += [replace(p, name=f"{p.name}_{j}", length=p.length / k, angle=p.angle / k)
                       for j in range(k)]
        else:
            pieces.append(p)
    return replace(ring, pieces=tuple(pieces))


def _xtrack_callable(ring: NeutralRing, bend_slices: int = 8) -> Callable[[], Sizes]:
    tiled = replace(ring, pieces=ring.pieces * ring.periodicity, periodicity=1) \
        if ring.periodicity > 1 else ring
    line = to_xtrack(tiled, bend_slices)

    def run() -> Sizes:
        line.configure_radiation(model="mean")
        tw = line.twiss(method="6d", radiation_method="full", radiation_analysis=True)
        cov = tw.eq_beam_covariance_matrix
        s11, s13, s33 = (np.asarray(cov[k]) for k in ("Sigma11", "Sigma13", "Sigma33"))
        return Sizes(np.asarray(tw.s), np.sqrt(s11), np.sqrt(s33), _tilt(s11, s13, s33))
    return run


# ------------------------------------------------------------------ agreement
def agreement(ours: Sizes, peer: Sizes, *, atol_s: float = 1e-6) -> dict:
    """Max relative sigma_x, sigma_z difference and max tilt difference at the common boundaries.

    A boundary of ``ours`` is compared when ``peer`` has a row at the same s
    (within ``atol_s``, m: the codes sum lengths in different orders, 3e-9 m
    apart after 2e4 slices; far below any element length); sizes and tilt are
    continuous across zero-length elements, so any row at that s will do.

    Examples
    --------
    >>> s = np.array([0.0, 1.0, 2.0])
    >>> a = Sizes(s, np.array([1.0, 2.0, 1.0]), np.ones(3), np.zeros(3))
    >>> b = Sizes(np.array([0.0, 0.5, 1.0, 2.0]), np.array([1.0, 9.0, 2.02, 1.0]), np.ones(4), None)
    >>> d = agreement(a, b)
    >>> round(d["sigma_x_max_rel"], 12), d["tilt_max_abs_rad"], d["compared"]
    (0.01, None, 3)
    """
    idx = np.clip(np.searchsorted(peer.s, ours.s - atol_s), 0, len(peer.s) - 1)
    hit = np.abs(peer.s[idx] - ours.s) <= atol_s
    if not hit.any():
        raise ValueError("no common boundary: the rings differ")
    i, j = np.nonzero(hit)[0], idx[hit]
    out = {"compared": int(hit.sum()), "of": int(len(ours.s))}
    for key in ("sigma_x", "sigma_z"):
        a, b = getattr(ours, key)[i], getattr(peer, key)[j]
        out[f"{key}_max_rel"] = float(np.max(np.abs(b - a) / np.abs(a)))
    if peer.tilt is None or ours.tilt is None:
        out["tilt_max_abs_rad"] = None
    else:
        d = (peer.tilt[j] - ours.tilt[i] + np.pi / 2) % np.pi - np.pi / 2
        out["tilt_max_abs_rad"] = float(np.nanmax(np.abs(d)))
    return out


# --------------------------------------------------------------------- timing
def installed_peers() -> dict[str, bool]:
    """Which peer codes import here (without importing them).

    Examples
    --------
    >>> sorted(installed_peers())
    ['madx', 'pyat', 'xtrack']
    """
    return {name: importlib.util.find_spec(mod) is not None for name, mod in PEERS.items()}


def peer_sizes_callables(ring: NeutralRing, peers: tuple[str, ...], *, bend_slices: int = 8,
                         periodic: bool = False, ours6d: bool = True) -> tuple[dict, list, dict]:
    """``{code: () -> Sizes}`` for ours (4-D; and 6-D if ``ours6d``) and each installed peer,
    the clean-ups, and the skip notes.

    Conversions, MAD-X start-up and xtrack tracker building happen here (not timed).
    """
    fns: dict = {"ours": _ours_callable(ring, periodic=periodic)}
    closers: list = []
    skipped: dict = {}
    if ours6d:
        try:
            probe = _ours_callable(ring, periodic=periodic, model="6d")
            probe()
            fns["ours6d"] = probe
        except Exception as exc:   # an engine without the 6-D route: say so, keep going
            skipped["ours6d"] = f"our 6-D route unavailable: {type(exc).__name__}: {exc}"[:300]
    have = installed_peers()
    for name in peers:
        if not have.get(name):
            skipped[name] = NOT_INSTALLED
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "pyat":
                    fns[name] = _pyat_callable(ring, periodic=periodic)
                elif name == "madx":
                    fns[name], close = _madx_callable(ring)
                    closers.append(close)
                elif name == "xtrack":
                    fns[name] = _xtrack_callable(ring, bend_slices)
        except Exception as exc:   # a broken peer installation must not stop the bench
            skipped[name] = f"failed to set up: {type(exc).__name__}: {exc}"[:300]
    return fns, closers, skipped


def _quiet(fn: Callable) -> Callable:
    def run():
        with warnings.catch_warnings(), contextlib.redirect_stdout(open(os.devnull, "w")) as _:
            warnings.simplefilter("ignore")
            return fn()
    return run


def race(fns: dict, repeat: int) -> tuple[dict, dict, dict]:
    """Warm-up once each, then ``repeat`` interleaved rounds: (median s, all samples, first call s, outputs)."""
    first, outputs = {}, {}
    for key, fn in fns.items():
        t0 = time.perf_counter()
        outputs[key] = fn()
        first[key] = time.perf_counter() - t0
    samples: dict = {key: [] for key in fns}
    for _ in range(max(5, repeat)):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[key].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in samples.items()}, samples, first, outputs


def _threads(setting: str):
    if setting == "default":
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _case(ring: NeutralRing, peers: tuple[str, ...], repeat: int, bend_slices: int,
          thread_settings: tuple[str, ...]) -> dict:
    fns, closers, skipped = peer_sizes_callables(ring, peers, bend_slices=bend_slices)
    fns = {k: _quiet(f) for k, f in fns.items()}
    out: dict = {"elements": len(ring), "circumference_m": ring.circumference,
                 "peers_skipped": skipped, "threads": {}}
    try:
        for setting in thread_settings:
            with _threads(setting):
                med, samples, first, outputs = race(fns, repeat)
            row: dict = {"ours_s": med["ours"], "first_call_s": first, "samples_s": samples}
            for name in fns:
                if name == "ours":
                    continue
                row[name] = {"time_s": med[name], "ratio": med[name] / med["ours"],
                             "agreement": agreement(outputs["ours"], outputs[name])}
                if name != "ours6d" and "ours6d" in fns:
                    row[name]["ratio_vs_ours6d"] = med[name] / med["ours6d"]
                    row[name]["agreement_vs_ours6d"] = agreement(outputs["ours6d"], outputs[name])
            out["threads"][setting] = row
        if "madx" in fns:   # untimed: MAD-X's EMIT with the bends cut 8x (its thick-bend radiation)
            run, close = _madx_callable(split_bends(ring, 8))
            closers.append(close)
            out["madx_bends_split_8"] = agreement(outputs["ours"], _quiet(run)())
    finally:
        for close in closers:
            with contextlib.suppress(Exception):
                close()
    return out


def _periodic_case(cells: int, periodicity: int, peers: tuple[str, ...], repeat: int) -> dict:
    """Ours on Ring(cell, periodicity=P) vs one cell vs the P-fold tiled ring; pyAT with its periodicity."""
    ring = fodo_ring(cells, periodicity=periodicity)
    one = replace(ring, periodicity=1)
    out: dict = {"cell_elements": len(ring), "periodicity": periodicity,
                 "tiled_elements": len(ring) * periodicity}
    fns = {"ours_tiled": _ours_callable(ring), "ours_one_cell": _ours_callable(one, periodic=False)}
    try:
        probe = _ours_callable(ring, periodic=True)
        probe()
        fns["ours_periodic"] = probe
    except TypeError as exc:
        out["ours_periodic"] = None
        out["note"] = f"Ring(cell, periodicity=P) not available on this build: {exc}"[:200]
    if "pyat" in peers and installed_peers()["pyat"]:
        fns["pyat_periodic"] = _pyat_callable(ring, periodic=True)
        fns["pyat_tiled"] = _pyat_callable(ring)
    fns = {k: _quiet(f) for k, f in fns.items()}
    med, _, _, outputs = race(fns, repeat)
    out["times_s"] = med
    if "ours_periodic" in med:
        out["periodic_over_one_cell"] = med["ours_periodic"] / med["ours_one_cell"]
        out["tiled_over_periodic"] = med["ours_tiled"] / med["ours_periodic"]
        out["periodic_vs_tiled"] = agreement(outputs["ours_tiled"], outputs["ours_periodic"])
    if "pyat_periodic" in med:
        out["pyat_periodic_over_ours_periodic"] = (med["pyat_periodic"] / med["ours_periodic"]
                                                   if "ours_periodic" in med else None)
        out["pyat_tiled_over_ours_tiled"] = med["pyat_tiled"] / med["ours_tiled"]
        out["pyat_periodic_vs_ours_tiled"] = agreement(outputs["ours_tiled"], outputs["pyat_periodic"])
    return out


TIMED = {"ours": "Ring(elements, energy=E).equilibrium() (radiation set-up, maps, formula (10), sizes at every boundary)",
         "ours6d": "Ring(elements, energy=E).equilibrium(model='6d')",
         "pyat": "at.Lattice(elements, energy=E) + enable_6d() + ohmi_envelope(refpts=All) (r66 at every boundary)",
         "madx": "input 'beam, radiate=true; use; emit; twiss, ripken' + reading s, sig11, sig13, sig33 "
                 "(sequence read and MAD-X started before timing)",
         "xtrack": "configure_radiation(model='mean') + twiss(method='6d', radiation_method='full', "
                   "radiation_analysis=True) + reading eq_beam_covariance_matrix (line sliced and tracker "
                   "built before timing)"}
WARM_UP = ("one untimed warm-up call per code before the rounds (first_call_s): imports, xtrack's "
           "prebuilt kernels, MAD-X's first USE")


def run_peers(cells: tuple[int, ...] = (40, 400), *, repeat: int = 5,
              peers: tuple[str, ...] = tuple(PEERS), threads: tuple[str, ...] = ("default", "1"),
              periodic: tuple[int, int] | None = (40, 10), bend_slices: int = 8) -> dict:
    """The peers section of ``coupled-beam bench --peers`` (JSON-ready dict).

    Parameters
    ----------
    cells : tuple of int
        Ring sizes in FODO cells (11 cells + 2 elements: 40 -> 442, 400 -> 4402).
    repeat : int
        Interleaved rounds per thread setting (at least 5; medians).
    peers : tuple of str
        Subset of ``pyat``, ``madx``, ``xtrack``.
    threads : tuple of str
        ``"default"`` (BLAS as installed) and/or ``"1"`` (threadpool_limits(1)).
    periodic : (cells, P) or None
        The periodic case: a cell of ``cells`` FODO cells + skew + cavity, P-fold.
    bend_slices : int
        Thick slices per bend for xtrack (its diffusion is sampled per element).

    Returns
    -------
    dict
        ``installed``, ``models``, ``timed``, ``warm_up``, ``cases`` (per size:
        ``threads`` -> ``ours_s`` and per peer ``time_s``, ``ratio`` = peer /
        ours, ``agreement``), ``scaling``, ``periodic``, ``targets``.
    """
    unknown = set(peers) - set(PEERS)
    if unknown:
        from coupled_beam.errors import InputError

        raise InputError(f"unknown peer(s) {sorted(unknown)}; choose from {sorted(PEERS)}", field="peers")
    t0 = time.perf_counter()
    have = installed_peers()
    report: dict = {"installed": {k: (True if have[k] else NOT_INSTALLED) for k in PEERS},
                    "models": MODELS, "timed": TIMED, "warm_up": WARM_UP,
                    "load_avg_1min_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None, "repeat": max(5, repeat),
                    "statistic": "median", "ratio": "peer time / our time", "cases": {}}
    for n in cells:
        ring = fodo_ring(n)
        report["cases"][str(len(ring))] = _case(ring, peers, repeat, bend_slices, threads)
    keys = list(report["cases"])
    if len(keys) >= 2:
        small, big = report["cases"][keys[0]], report["cases"][keys[-1]]
        scaling: dict = {"elements": [small["elements"], big["elements"]],
                         "size_ratio": big["elements"] / small["elements"]}
        for setting in threads:
            a, b = small["threads"][setting], big["threads"][setting]
            scaling[setting] = {"ours": b["ours_s"] / a["ours_s"],
                                **{p: b[p]["time_s"] / a[p]["time_s"] for p in ("ours6d",) + tuple(peers)
                                   if p in a and p in b}}
        report["scaling"] = scaling
    if periodic:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report["periodic"] = _periodic_case(periodic[0], periodic[1], peers, repeat)
    report["targets"] = _targets(report)
    report["load_avg_1min_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report["wall_s"] = time.perf_counter() - t0
    return report


def _targets(report: dict) -> dict:
    """Issue 12's targets, each with the measured figure (None where not measured)."""
    cases = list(report["cases"].values())
    row = cases[0]["threads"].get("default", {}) if cases else {}
    madx = row.get("madx", {}).get("ratio")
    pyat = row.get("pyat", {}).get("ratio")
    scale = report.get("scaling", {}).get("default", {}).get("ours")
    per = report.get("periodic", {}).get("periodic_over_one_cell")
    size = cases[0]["elements"] if cases else None

    def t(text, value, ok):
        return {"target": text, "measured": value, "met": None if value is None else bool(ok(value))}
    return {"madx": t(f"{size} elements: ours <= 1/5 of MAD-X EMIT+TWISS (ratio >= 5)", madx, lambda v: v >= 5),
            "pyat": t(f"{size} elements: ours >= 20x faster than ohmi_envelope (ratio >= 20)", pyat,
                      lambda v: v >= 20),
            "scaling": t("10x the elements costs <= 11x the time", scale, lambda v: v <= 11),
            "periodic": t("P-cell periodic ring <= 1.5x one cell", per, lambda v: v <= 1.5)}


def _fmt(v, spec=".3g"):
    return "-" if v is None else format(v, spec)


def format_peers(report: dict) -> str:
    """The peers section as a text table (what ``coupled-beam bench --peers`` prints).

    Columns: median time, ratio = time / ours (4-D) and the agreement with
    ours (4-D): max relative sigma_x, sigma_z difference, max tilt difference
    (rad); then the same against ours 6-D where that route ran.
    """
    lines = ["peers: from elements to sizes at every boundary, radiation set-up included; "
             f"median of {report['repeat']} interleaved rounds; ratio = peer time / our time",
             f"  {report['warm_up']}",
             f"  load average (1 min) {_fmt(report.get('load_avg_1min_start'))} at start, "
             f"{_fmt(report.get('load_avg_1min_end'))} at end"]
    for name, model in report["models"].items():
        state = report["installed"].get(name, True)
        lines.append(f"  {name:7s} {model}" + ("" if state is True else f"  [{state}]"))
    lines.append(f"  {'elements':>8s} {'threads':>7s} {'code':>7s} {'time ms':>9s} {'ratio':>7s} "
                 f"{'d sig_x':>9s} {'d sig_z':>9s} {'d tilt':>9s} | {'vs 6d:':>6s} {'ratio':>7s} "
                 f"{'d sig_x':>9s} {'d sig_z':>9s} {'d tilt':>9s}")
    for size, case in report["cases"].items():
        for setting, row in case["threads"].items():
            lines.append(f"  {size:>8s} {setting:>7s} {'ours':>7s} {row['ours_s'] * 1e3:9.2f}")
            for name in ("ours6d",) + tuple(PEERS):
                if name not in row:
                    continue
                p, a = row[name], row[name]["agreement"]
                text = (f"  {'':8s} {'':7s} {name:>7s} {p['time_s'] * 1e3:9.2f} {p['ratio']:7.2f} "
                        f"{a['sigma_x_max_rel']:9.2e} {a['sigma_z_max_rel']:9.2e} "
                        f"{_fmt(a['tilt_max_abs_rad'], '9.2e'):>9s}")
                if "agreement_vs_ours6d" in p:
                    b = p["agreement_vs_ours6d"]
                    text += (f" | {'':6s} {p['ratio_vs_ours6d']:7.2f} {b['sigma_x_max_rel']:9.2e} "
                             f"{b['sigma_z_max_rel']:9.2e} {_fmt(b['tilt_max_abs_rad'], '9.2e'):>9s}")
                lines.append(text)
        for name, why in case["peers_skipped"].items():
            lines.append(f"  {size:>8s} {name}: {why}")
        if "madx_bends_split_8" in case:
            a = case["madx_bends_split_8"]
            lines.append(f"  {size:>8s} madx with every bend cut 8x (untimed): d sig_x {a['sigma_x_max_rel']:.2e}, "
                         f"d sig_z {a['sigma_z_max_rel']:.2e}, d tilt {_fmt(a['tilt_max_abs_rad'], '.2e')} rad")
    if "scaling" in report:
        sc = report["scaling"]
        for setting in (k for k in sc if k not in ("elements", "size_ratio")):
            lines.append(f"  scaling {sc['elements'][0]} -> {sc['elements'][1]} elements, threads {setting}: "
                         + ", ".join(f"{k} x{v:.2f}" for k, v in sc[setting].items()))
    per = report.get("periodic")
    if per:
        times = ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in per["times_s"].items())
        lines.append(f"  periodic: cell of {per['cell_elements']} elements x P = {per['periodicity']}: {times}")
        if per.get("note"):
            lines.append(f"    {per['note']}")
        for key, label in (("periodic_vs_tiled", "ours periodic vs ours tiled"),
                           ("pyat_periodic_vs_ours_tiled", "pyAT periodic vs ours tiled")):
            if per.get(key):
                a = per[key]
                lines.append(f"    {label}: d sig_x {a['sigma_x_max_rel']:.2e}, d sig_z {a['sigma_z_max_rel']:.2e}, "
                             f"d tilt {_fmt(a['tilt_max_abs_rad'], '.2e')} rad")
    for t in report["targets"].values():
        met = {None: "not measured", True: "met", False: "NOT met"}[t["met"]]
        lines.append(f"  target: {t['target']}: {_fmt(t['measured'])} ({met})")
    return "\n".join(lines)
