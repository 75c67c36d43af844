"""MAD-X through cpymad: our ring from a MAD-X file vs MAD-X's own TWISS and EMIT.

References come from MAD-X itself (TWISS with RIPKEN for the coupled optics,
TWISS CHROM synchrotron integrals, EMIT for the equilibrium), an independent
code run on the same file. Model differences: EMIT works on MAD-X's 6-D
map with RF and radiation (Q_s, energy loss), we fold a 4-D equilibrium
(paper §2 b): they differ at the 1e-3 level on this ring (Q_s ~ 0.003).
"""

import math
import warnings

import numpy as np
import pytest

cpymad = pytest.importorskip("cpymad")

from coupled_beam.errors import LatticeFileError, UnknownElementError  # noqa: E402
from coupled_beam.interop.madx import load_madx, read_madx, ring_from_madx  # noqa: E402


def fodo_text(*, tilt_rms=2e-3, face="ang/4", kqd=-1.5, volt=0.03, seed=7, beam=True,
              extra_elements="", extra_seq=()):
    """16 FODO cells of 4 m at 1 GeV: rolled quadrupoles, bends with faces and fringe, a cavity."""
    rng = np.random.default_rng(seed)
    out = (["beam, particle=electron, energy=1.0;"] if beam else []) + [
        "nc = 16; ang = twopi/(2*nc);",
        f"b: sbend, l=1.0, angle=ang, k1=-0.01, e1={face}, e2={face}, fint=0.5, hgap=0.02;",
        "bpm: monitor;", f"rf: rfcavity, l=0, volt={volt}, harmon=100, lag=0.5;", extra_elements]
    seq = [(0.0, "rf")] + list(extra_seq)
    for c in range(16):
        t = rng.normal(0, tilt_rms, 3)
        out += [f"qf{c}a: quadrupole, l=0.1, k1=1.8, tilt={t[0]:.10e};",
                f"qd{c}: quadrupole, l=0.2, k1={kqd}, tilt={t[1]:.10e};",
                f"qf{c}b: quadrupole, l=0.1, k1=1.8, tilt={t[2]:.10e};"]
        s0 = 4 * c
        seq += [(s0, f"qf{c}a"), (s0 + 0.5, "b"), (s0 + 1.9, f"qd{c}"), (s0 + 2.5, "b"),
                (s0 + 3.7, "bpm"), (s0 + 3.9, f"qf{c}b")]
    seq = [f" {name}, at={pos};" for pos, name in sorted(seq, key=lambda p: p[0])]
    return "\n".join(out + ["ring: sequence, l=64, refer=entry;"] + seq + ["endsequence;"]) + "\n"


def _eq(ring):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ring.equilibrium()


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    path = tmp_path_factory.mktemp("madx") / "fodo.madx"
    path.write_text(fodo_text())
    return path


def test_coupled_optics_equal_madx_twiss(faces):
    """Tunes, Mais–Ripken betas (RIPKEN) and dispersion equal MAD-X TWISS at every element."""
    madx, _ = load_madx(faces)
    tab = _eq(ring_from_madx(madx, "ring")).table()
    tw = madx.twiss(sequence="ring", ripken=True)
    summ = madx.table.summ
    # same linear maps, two codes: rounding only (2e-14 measured)
    assert math.isclose(tab.attrs["Q1"], summ.q1[0], rel_tol=1e-10)
    assert math.isclose(tab.attrs["Q2"], summ.q2[0], rel_tol=1e-10)
    for col in ("BETA11", "BETA12", "BETA21", "BETA22"):
        ours, ref = np.asarray(tab[col])[1:], getattr(tw, col.lower())
        assert np.max(np.abs(ours - ref)) < 1e-9 * np.max(np.abs(ref)), col
    assert np.max(tw.beta12) > 1e-3, "the rolls couple the planes"
    # MAD-X's dispersion is d/dpt = (d/d delta) / beta_rel: 1.3e-7 at 1 GeV, hence 1e-6
    beta_rel = madx.sequence.ring.beam.beta
    for col, ref in (("DX", tw.dx), ("DZ", tw.dy)):
        ours = np.asarray(tab[col])[1:]
        assert np.max(np.abs(ours - ref * beta_rel)) < 1e-6 * np.max(np.abs(ref)), col
    assert np.max(np.abs(tw.dy)) > 1e-3, "rolled quads give vertical dispersion"


def test_radiation_integrals_equal_madx_synch(faces):
    """I1..I5 (face terms in I4) vs MAD-X's TWISS CHROM synch_1..5 on the rolled-quad ring."""
    from coupled_beam.radiation import radiation_parameters

    madx, _ = load_madx(faces)
    rp = radiation_parameters(ring_from_madx(madx, "ring", radiation=False), 1.0)
    madx.use(sequence="ring")
    madx.twiss(chrom=True)
    s = madx.table.summ
    assert math.isclose(rp.I2, s.synch_2[0], rel_tol=1e-12)
    assert math.isclose(rp.I3, s.synch_3[0], rel_tol=1e-12)
    # MAD-X integrates I1, I4, I5 through each bend with its own quadrature (1.7e-3 measured on I1)
    assert math.isclose(rp.I1, s.synch_1[0], rel_tol=3e-3)
    assert math.isclose(rp.I5, s.synch_5[0], rel_tol=1e-3)
    assert abs(rp.I4 - s.synch_4[0]) < 5e-4 * rp.I2   # 2.3e-4 I2 measured (the face terms cancel I4)


@pytest.fixture(scope="module")
def sector(tmp_path_factory):
    path = tmp_path_factory.mktemp("madx") / "sector.madx"
    path.write_text(fodo_text(face="0"))
    return path


def test_equilibrium_agrees_with_madx_emit(sector):
    """Mode emittances, sigma_delta, partition numbers vs MAD-X EMIT (sector bends)."""
    madx, _ = load_madx(sector)
    h = _eq(ring_from_madx(madx, "ring")).table().attrs
    madx.input("beam, particle=electron, energy=1.0, radiate=true; use, sequence=ring; emit, deltap=0;")
    e = madx.table.emit
    mode = {str(p): i for i, p in enumerate(e.parameter)}
    ex = [e.mode1[mode["emittance"]], e.mode2[mode["emittance"]]]
    jj = [e.mode1[mode["damping_partion"]], e.mode2[mode["damping_partion"]]]
    # 4-D + folding vs MAD-X's 6-D map with RF and radiation: 1.3e-3, 1.8e-3, 1.5e-4, 1.4e-3 measured
    assert math.isclose(h["EX1"], ex[0], rel_tol=5e-3), (h["EX1"], ex[0])
    assert math.isclose(h["EX2"], ex[1], rel_tol=5e-3), (h["EX2"], ex[1])
    assert ex[1] > 1e-3 * ex[0], "coupled: a vertical emittance from the rolls"
    assert math.isclose(h["SIGE"], madx.table.emitsumm.sige[0], rel_tol=1e-3)
    assert math.isclose(h["J1"], jj[0], rel_tol=5e-3)
    assert math.isclose(h["J2"], jj[1], rel_tol=5e-3)


def _sliced_bends(text: str, k: int) -> str:
    """The same file with the bend cut into k pieces (faces and fringe on the end pieces)."""
    pieces = [f"b_{j}: sbend, l={1.0 / k}, angle=ang/{k}, k1=-0.01, e1={'ang/4' if j == 0 else 0}, "
              f"e2={'ang/4' if j == k - 1 else 0}, fint={0.5 if j == 0 else 0}, "
              f"fintx={0.5 if j == k - 1 else 0}, hgap=0.02;" for j in range(k)]
    text = text.replace("b: sbend, l=1.0, angle=ang, k1=-0.01, e1=ang/4, e2=ang/4, fint=0.5, hgap=0.02;",
                        "\n".join(pieces))
    out = []
    for line in text.splitlines():
        if line.strip().startswith("b, at="):
            at = float(line.split("at=")[1].rstrip(";"))
            out += [f" b_{j}, at={at + j / k};" for j in range(k)]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.slow
def test_madx_emit_has_no_face_radiation(tmp_path):
    """MAD-X's EMIT, like pyAT's tracking, has no wedge terms -h^2 tan(e) xi: with the bends cut
    into 8 and 32 pieces its J1 and eps_1 extrapolate (error ~ 1/k, measured) to ours with
    face_radiation=False; TWISS synch_4 has the terms (test above), so EMIT and TWISS differ."""
    res = {}
    for k in (8, 32):
        p = tmp_path / f"sl{k}.madx"
        p.write_text(_sliced_bends(fodo_text(), k))
        madx, _ = load_madx(p)
        if k == 32:
            ours = {f: _eq(ring_from_madx(madx, "ring", face_radiation=f)).table().attrs
                    for f in (True, False)}
        madx.input("beam, particle=electron, energy=1.0, radiate=true; use, sequence=ring; "
                   "emit, deltap=0;")
        e = madx.table.emit
        par = [str(x) for x in e.parameter]
        res[k] = (e.mode1[par.index("damping_partion")], e.mode1[par.index("emittance")])
    j_inf = (32 * res[32][0] - 8 * res[8][0]) / 24      # Richardson, error ~ 1/k
    e_inf = (32 * res[32][1] - 8 * res[8][1]) / 24
    # extrapolated: 3e-5 (J1), 1e-4 (eps_1) measured
    assert math.isclose(j_inf, ours[False]["J1"], rel_tol=1e-3), (j_inf, ours[False]["J1"])
    assert math.isclose(e_inf, ours[False]["EX1"], rel_tol=2e-3), (e_inf, ours[False]["EX1"])
    assert ours[True]["J1"] - ours[False]["J1"] > 0.1, "the face terms matter on this ring"
    for f in (True, False):   # Robinson's sum in ours either way (map vs integrals)
        h = ours[f]
        assert math.isclose(h["J1"] + h["J2"] + h["JS"], 4.0, rel_tol=1e-4), h


def test_ealign_dpsi_is_a_roll(tmp_path):
    """EALIGN DPSI on a quadrupole gives the same map as TILT."""
    a = tmp_path / "a.madx"
    a.write_text(fodo_text(tilt_rms=0.0) + "use, sequence=ring;\nselect, flag=error, pattern=\"qd3\";\n"
                 "ealign, dpsi=0.004;\n")
    text = fodo_text(tilt_rms=0.0).replace("qd3: quadrupole, l=0.2, k1=-1.5, tilt=0.0000000000e+00",
                                           "qd3: quadrupole, l=0.2, k1=-1.5, tilt=0.004")
    b = tmp_path / "b.madx"
    b.write_text(text)
    ra = read_madx(a, radiation=False)
    rb = read_madx(b, radiation=False)
    assert np.max(np.abs(rb.one_turn_map() - np.diag([1, 1, 1, 1]))) > 0.1
    # same element, two spellings: rounding only
    assert np.allclose(ra.one_turn_map(), rb.one_turn_map(), rtol=0, atol=1e-13)


def _twiss_4d(madx, **kw):
    """MAD-X's TWISS on its 4-D closed orbit (DELTAP = 0): the cavity's VOLT set to 0 for the call.

    With the cavity on, TWISS solves the 6-D orbit, off momentum when kicks lengthen it (see
    test_kicks_move_the_orbit_and_bends_see_it); the converted ring is linearised at delta = 0.
    """
    volt = madx.elements["rf"].volt
    madx.input("rf->volt = 0;")
    try:
        return madx.twiss(sequence="ring", **kw)
    finally:
        madx.input(f"rf->volt = {volt!r};")


def _offset_ring(tmp_path, *, k2=20.0, kick=0.0, dx=0.0, bend_extra=""):
    sext = (f"sx: sextupole, l=0.1, k2={k2};\nkick: hkicker, l=0, kick={kick};\n"
            f"vk: vkicker, l=0, kick={-kick / 2};\n")
    seq = [(4 * c + 1.6, "sx") for c in range(16)] + [(10.2, "kick"), (30.2, "vk")]
    p = tmp_path / f"off_{k2}_{kick}_{dx}_{len(bend_extra)}.madx"
    text = fodo_text(tilt_rms=0.0, extra_elements=sext, extra_seq=seq)
    p.write_text(text.replace("hgap=0.02;", f"hgap=0.02{bend_extra};")
                 + f"use, sequence=ring;\nselect, flag=error, class=sextupole;\n"
                   f"ealign, dx={dx}, dy={dx * 2 / 3};\n")
    madx, _ = load_madx(p)
    ring = ring_from_madx(madx, "ring", radiation=False)
    tab = _eq(ring_from_madx(madx, "ring")).table()
    tw = _twiss_4d(madx, ripken=True)
    dq = np.array([tab.attrs["Q1"] - madx.table.summ.q1[0], tab.attrs["Q2"] - madx.table.summ.q2[0]])
    return ring, tab, tw, dq, madx


def test_sextupole_offsets_give_feed_down_of_madx(tmp_path):
    """EALIGN DX, DY on sextupoles: normal and skew feed-down, tunes and coupling of MAD-X's TWISS."""
    ring, tab, tw, dq, madx = _offset_ring(tmp_path, dx=3e-4)
    _, _, _, dq0, _ = _offset_ring(tmp_path, k2=0.0, dx=3e-4)
    # MAD-X linearises its thick sextupole's second-order map at the orbit; here the feed-down at
    # the mean orbit, its change along the magnet and the orbit's profile: 4.9e-8, 7.1e-8 measured
    # (1.7e-7, 2.2e-7 at the mean orbit alone, vs the 6-D TWISS)
    assert np.max(np.abs(dq)) < 2e-7, dq
    assert np.max(np.abs(dq0)) < 1e-9, dq0
    b12 = np.asarray(tab["BETA12"])[1:]
    assert np.max(tw.beta12) > 1e-4, "the vertical offsets couple the planes (skew K2 dy)"
    assert np.max(np.abs(b12 - tw.beta12)) < 1e-4 * np.max(tw.beta12)   # 2.0e-5 measured
    assert len(ring) == len(madx.sequence.ring.expanded_elements)


def test_orbit_in_quadrupoles_makes_vertical_dispersion(tmp_path):
    """An offset quadrupole (orbit through every quadrupole) and offset sextupoles: the vertical
    dispersion of MAD-X's TWISS, from the chromatic part of the orbit kicks (without it: 2.5e-2)."""
    sext = "sx: sextupole, l=0.1, k2=20.0;\n"
    p = tmp_path / "qd5.madx"
    p.write_text(fodo_text(tilt_rms=0.0, extra_elements=sext,
                           extra_seq=[(4 * c + 1.6, "sx") for c in range(16)])
                 + "use, sequence=ring;\nselect, flag=error, class=sextupole;\nealign, dx=3e-4, dy=2e-4;\n"
                   "select, flag=error, clear;\nselect, flag=error, pattern=\"qd5\";\n"
                   "ealign, dx=1e-4, dy=-1e-4;\n")
    madx, _ = load_madx(p)
    tab = _eq(ring_from_madx(madx, "ring")).table()
    tw = _twiss_4d(madx)
    beta = madx.sequence.ring.beam.beta
    dz = np.asarray(tab["DZ"])[1:]
    dx = np.asarray(tab["DX"])[1:]
    # 9.4e-6 (DZ) and 1.7e-7 (DX) of the maximum measured; with the straight magnets' forcing at
    # the mean orbit only and MAD-X's faces as pyAT's (fringe correction / (1 + delta)): 1.1e-3 and
    # 2.5e-5; without the bends' orbit terms (chromatic forcing, faces, second-order body and faces
    # at the orbit) 4.2e-3 and 1.2e-4
    assert np.max(np.abs(dz - tw.dy * beta)) < 3e-5 * np.max(np.abs(tw.dy))
    assert np.max(np.abs(dx - tw.dx * beta)) < 1e-6 * np.max(np.abs(tw.dx))
    assert np.max(np.abs(tw.dy)) > 1e-2


@pytest.mark.parametrize("bend_extra", ["", ", h1=0.5, h2=-0.3, kill_exi_fringe=true"])
def test_element_maps_on_the_orbit_equal_madx_rmatrix(tmp_path, bend_extra):
    """Every element's map on a kicked 4-D orbit (0.8 mm) vs MAD-X's TRANSPORT map there.

    MAD-X: TWISS with RMATRIX from the closed orbit (its cumulative RE, element i = RE_i RE_(i-1)^-1),
    canonical (x, px, y, py, t, pt); here (x, x', z, z', delta, l), x' = px - px0 delta at the
    orbit: the 4x4 blocks are the same, the delta column is RE's pt column (times beta) plus
    the px, py columns times the entrance slopes, minus the exit slopes. Second case: curved
    pole faces (H1, H2, second-order terms at the orbit) and no exit face (KILL_EXI_FRINGE).
    """
    ring, _, tw, _, madx = _offset_ring(tmp_path, kick=2e-4, bend_extra=bend_extra)
    o = np.column_stack([tw.x, tw.px, tw.y, tw.py])
    beta = madx.sequence.ring.beam.beta
    volt = madx.elements["rf"].volt
    madx.input("rf->volt = 0;")
    try:
        t2 = madx.twiss(sequence="ring", rmatrix=True, betx=1, bety=1, x=o[-1, 0], px=o[-1, 1],
                        y=o[-1, 2], py=o[-1, 3])
        R = np.stack([np.stack([np.asarray(getattr(t2, f"re{a}{b}")) for b in range(1, 7)], axis=-1)
                      for a in range(1, 7)], axis=-2)
        assert np.max(np.abs(np.asarray(t2.x) - tw.x)) < 1e-12      # the same orbit
    finally:
        madx.input(f"rf->volt = {volt!r};")
    E = ring.element_maps6
    kinds = [str(el.base_type.name) for el in madx.sequence.ring.expanded_elements]
    worst: dict = {}
    for i in range(1, len(R)):
        M = R[i] @ np.linalg.inv(R[i - 1])
        col = M[:4, 1] * o[i - 1, 1] + M[:4, 3] * o[i - 1, 3] + beta * M[:4, 5]
        col[[1, 3]] -= o[i, [1, 3]]
        d = (np.max(np.abs(E[i][:4, :4] - M[:4, :4])), np.max(np.abs(E[i][:4, 4] - col)))
        worst[kinds[i]] = np.maximum(worst.get(kinds[i], (0.0, 0.0)), d)
    # measured (4x4 / delta column): bends 1.5e-8 / 3.4e-8 (1.4e-6 / 6.3e-7 with the exit face at
    # the orbit after its kick, the mean orbit at the ends' average and no Magnus terms),
    # sextupoles 4.0e-8 / 2.5e-8 (MAD-X's second-order map), quadrupoles, drifts, kickers,
    # monitors 1e-15 / 2e-15 (quadrupoles 2.5e-7 in the delta column with their forcing at the
    # mean orbit only); curved faces and no exit face: bends 8e-9 / 3e-8 (without H1, H2 at the
    # orbit 4.9e-5 in the 4x4; a killed face is not a face with e = 0: its Brown terms at e = 0
    # would leave 1.1e-4 / 2.0e-5)
    assert worst["sbend"][0] < 5e-8 and worst["sbend"][1] < 1e-7, worst["sbend"]
    assert max(worst["sextupole"]) < 1e-7, worst["sextupole"]
    for kind in ("quadrupole", "drift", "hkicker", "vkicker", "monitor"):
        assert max(worst[kind]) < 1e-12, (kind, worst[kind])
    assert np.max(np.abs(tw.x)) > 5e-4 and np.max(np.abs(tw.y)) > 3e-4


@pytest.mark.slow
def test_kicks_move_the_orbit_and_bends_see_it(tmp_path):
    """Kickers: the tunes equal MAD-X's TWISS on the same 4-D orbit (DELTAP = 0), to the second order in it.

    The ring is linearised on MAD-X's 4-D closed orbit (``closed_orbit_4d``: TWISS with the cavity
    off). With the cavity on, MAD-X's TWISS solves the 6-D orbit, off momentum by PT0 (the kicks
    lengthen the orbit at a fixed HARMON) and linearised there: its tunes move by the chromaticity
    times PT0. That orbit (with its dispersive part, but maps at delta = 0) was the 5.1e-5 / 4.7e-5
    tune difference per 0.86 mm of orbit before; on the 4-D orbit the bends' TRANSPORT terms at the
    orbit (MAD-X's exit face meets the orbit before its own kick, the orbit moves inside the body)
    left 1.9e-6 in Q2; now 8.8e-8 / 1.2e-7, second order in the orbit (a tenth of the kick:
    8.7e-10 / 1.2e-9; 1.4e-8 / 3.2e-8 with k2 = 0).
    """
    from coupled_beam.interop.madx import closed_orbit_4d

    ring, tab, tw, dq, madx = _offset_ring(tmp_path, k2=20.0, kick=2e-4)
    assert np.max(np.abs(tw.x)) > 5e-4 and abs(tw.pt[0]) < 1e-15
    assert np.max(np.abs(dq)) < 3e-7, dq              # 8.8e-8, 1.2e-7 measured
    orbit = closed_orbit_4d(madx, "ring")
    assert np.allclose(orbit[1:, 0], tw.x[:-1], rtol=0, atol=1e-15)
    assert madx.elements["rf"].volt == 0.03, "the cavity is restored"
    # MAD-X's own 6-D TWISS (cavity on) is off momentum: PT0 -2.8e-5, and its tunes differ from the
    # 4-D ones by the chromaticity x PT0 (4.7e-4, -1.1e-3 here, 1.4 % and 0.7 % off: the
    # synchrotron motion in the 6-D eigen-tunes)
    q4 = np.array([madx.table.summ.q1[0], madx.table.summ.q2[0]])
    pt0 = float(madx.twiss(sequence="ring").pt[0])     # (cpymad's tables are read lazily)
    q6 = np.array([madx.table.summ.q1[0], madx.table.summ.q2[0]])
    _twiss_4d(madx, chrom=True)
    xi = np.array([madx.table.summ.dq1[0], madx.table.summ.dq2[0]])
    assert -3e-5 < pt0 < -2.5e-5
    assert np.allclose(q6 - q4, xi * pt0, rtol=0.03, atol=0), (q6 - q4, xi * pt0)


def test_syntax_error_is_named(tmp_path):
    p = tmp_path / "bad.madx"
    p.write_text("qf: quadrupol, l=0.1, k1=1.0;\n")
    with pytest.raises(LatticeFileError, match="MAD-X stopped") as info:
        read_madx(p)
    assert "fatal" in str(info.value) or "quadrupol" in str(info.value)


def test_missing_file_and_sequence_are_named(faces, tmp_path):
    with pytest.raises(LatticeFileError, match="does not exist"):
        read_madx(tmp_path / "nothing.madx")
    with pytest.raises(LatticeFileError, match="no sequence 'arc'.*ring"):
        ring_from_madx(faces, "arc")


def test_no_beam_energy_is_named(tmp_path):
    p = tmp_path / "nobeam.madx"
    p.write_text(fodo_text(beam=False))
    with pytest.raises(LatticeFileError, match="no beam energy"):
        ring_from_madx(p, "ring")
    ring = ring_from_madx(p, "ring", energy=1.0)   # the argument supplies it
    assert ring.energy == 1.0


def test_every_unknown_element_is_listed(tmp_path):
    extra = "bb: beambeam;\nsep: elseparator, l=0.1;\nbk: sbend, l=0.1, angle=0.01, k0=0.2;\n"
    p = tmp_path / "unk.madx"
    p.write_text(fodo_text(extra_elements=extra, extra_seq=[(2.2, "bb"), (6.2, "sep"), (10.2, "bb"),
                                                            (11.55, "bk")]))
    with pytest.raises(UnknownElementError) as info:
        ring_from_madx(p, "ring")
    offenders = info.value.offenders
    assert [o["kind"] for o in offenders] == ["beambeam", "elseparator", "beambeam", "sbend"]
    assert "4 element(s)" in str(info.value) and "K0 = 0.2" in str(info.value)


def test_read_lattice_dispatches_on_suffix(faces):
    from coupled_beam.lattice_file import read_lattice

    ring = read_lattice(faces)
    assert ring.energy == 1.0 and math.isclose(ring.circumference, 64.0, rel_tol=1e-12)


def test_rolled_bend_bends_vertically_as_in_madx(tmp_path):
    """SBEND TILT = 0.3 rad (MAD-X's survey follows the magnet): vertical dispersion and coupling
    of MAD-X's TWISS, to rounding (1e-15 measured)."""
    text = fodo_text(tilt_rms=0.0, extra_elements="bt: sbend, l=1.0, angle=ang, k1=-0.01, e1=ang/4, "
                                                  "e2=ang/4, fint=0.5, hgap=0.02, tilt=0.3;")
    lines = text.splitlines()
    k = [i for i, ln in enumerate(lines) if ln.strip().startswith("b, at=")][5]
    lines[k] = lines[k].replace(" b,", " bt,")
    p = tmp_path / "vbend.madx"
    p.write_text("\n".join(lines) + "\n")
    madx, _ = load_madx(p)
    tab = _eq(ring_from_madx(madx, "ring")).table()
    tw = madx.twiss(sequence="ring", ripken=True)
    beta = madx.sequence.ring.beam.beta
    assert np.max(np.abs(tw.dy)) > 0.1
    assert np.max(np.abs(np.asarray(tab["DZ"])[1:] - tw.dy * beta)) < 1e-9 * np.max(np.abs(tw.dy))
    assert np.max(np.abs(np.asarray(tab["BETA12"])[1:] - tw.beta12)) < 1e-9 * np.max(tw.betx)
    assert tab.attrs["EX2"] > 1e-3 * tab.attrs["EX1"], "vertical dispersion in a bend: eps_2"


def test_sextupoles_keep_k2_and_their_displacement_is_madx_ealign(tmp_path):
    """Sextupoles convert to Sextupole(k2 = K2): moving the orbit by (-dx, -dy) in each (what the 6-D
    sawtooth does) gives MAD-X's TWISS tunes of the ring with the sextupoles offset by EALIGN dx, dy."""
    from coupled_beam.lattice import Ring, Sextupole

    _, _, _, _, madx = _offset_ring(tmp_path, dx=3e-4)
    # MAD-X's default (6-D) TWISS: the sextupoles' own dipole kicks K2 (dx^2 - dy^2) / 2 go into
    # PT0 = 1.2e-7, the orbit through them is 2e-8 m, as in the displaced ring (no orbit); on the
    # 4-D orbit (DELTAP = 0) it is 3e-7 m and its feed-down moves the tunes by 2e-6, 4e-6
    madx.twiss(sequence="ring")
    q_ref = np.array([madx.table.summ.q1[0], madx.table.summ.q2[0]]) % 1.0
    ring0, _, _, _, _ = _offset_ring(tmp_path, dx=0.0)
    sext = [el for el in ring0.elements if isinstance(el, Sextupole)]
    assert len(sext) == 16 and all(abs(el.k2 - 20.0) < 1e-12 and el.k1 == 0 for el in sext)
    moved = Ring([el.displaced(-3e-4, -2e-4) if isinstance(el, Sextupole) else el for el in ring0.elements])
    def tunes(r):
        ev = np.linalg.eigvals(r.transfer_map(0, len(r)))
        return np.sort(np.abs(np.angle(ev[np.imag(ev) > 0])) / (2 * np.pi))

    q_ref = np.sort(np.where(q_ref > 0.5, 1 - q_ref, q_ref))
    assert np.max(np.abs(tunes(ring0) - q_ref)) > 1e-4           # the feed-down matters
    assert np.max(np.abs(tunes(moved) - q_ref)) < 1e-6, (tunes(moved), q_ref)
