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


def _offset_ring(tmp_path, *, k2=20.0, kick=0.0, dx=0.0):
    sext = (f"sx: sextupole, l=0.1, k2={k2};\nkick: hkicker, l=0, kick={kick};\n"
            f"vk: vkicker, l=0, kick={-kick / 2};\n")
    seq = [(4 * c + 1.6, "sx") for c in range(16)] + [(10.2, "kick"), (30.2, "vk")]
    p = tmp_path / f"off_{k2}_{kick}_{dx}.madx"
    p.write_text(fodo_text(tilt_rms=0.0, extra_elements=sext, extra_seq=seq)
                 + f"use, sequence=ring;\nselect, flag=error, class=sextupole;\n"
                   f"ealign, dx={dx}, dy={dx * 2 / 3};\n")
    madx, _ = load_madx(p)
    ring = ring_from_madx(madx, "ring", radiation=False)
    tab = _eq(ring_from_madx(madx, "ring")).table()
    tw = madx.twiss(sequence="ring", ripken=True)
    dq = np.array([tab.attrs["Q1"] - madx.table.summ.q1[0], tab.attrs["Q2"] - madx.table.summ.q2[0]])
    return ring, tab, tw, dq, madx


def test_sextupole_offsets_give_feed_down_of_madx(tmp_path):
    """EALIGN DX, DY on sextupoles: normal and skew feed-down, tunes and coupling of MAD-X's TWISS."""
    ring, tab, tw, dq, madx = _offset_ring(tmp_path, dx=3e-4)
    _, _, _, dq0, _ = _offset_ring(tmp_path, k2=0.0, dx=3e-4)
    # MAD-X linearises its thick sextupole with its second-order map, we at the magnet centre
    # offset; same gradient K2 dx: 1.7e-7, 2.2e-7 measured
    assert np.max(np.abs(dq)) < 1e-6, dq
    b12 = np.asarray(tab["BETA12"])[1:]
    assert np.max(tw.beta12) > 1e-4, "the vertical offsets couple the planes (skew K2 dy)"
    assert np.max(np.abs(b12 - tw.beta12)) < 1e-2 * np.max(tw.beta12)
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
    tw = madx.twiss(sequence="ring")
    beta = madx.sequence.ring.beam.beta
    dz = np.asarray(tab["DZ"])[1:]
    dx = np.asarray(tab["DX"])[1:]
    # 1.1e-3 (DZ) and 2.5e-5 (DX) of the maximum measured; without the bends' orbit terms
    # (chromatic forcing, faces, second-order body and faces at the orbit) 4.2e-3 and 1.2e-4
    assert np.max(np.abs(dz - tw.dy * beta)) < 2e-3 * np.max(np.abs(tw.dy))
    assert np.max(np.abs(dx - tw.dx * beta)) < 6e-5 * np.max(np.abs(tw.dx))
    assert np.max(np.abs(tw.dy)) > 1e-2


@pytest.mark.slow
def test_kicks_move_the_orbit_and_bends_see_it(tmp_path):
    """Kickers: the orbit comes from MAD-X; the tunes then differ linearly in the orbit, 5.1e-5 and
    4.7e-5 per 0.86 mm here: not the sextupoles (k2 = 0 gives the same) and not the bends' terms at
    the orbit (linearised: without them 5.3e-5 / 6.9e-5); not identified (MAD-X's second-order
    quadrupole and drift maps, kinematic terms at the orbit slope, are the candidates)."""
    _, _, tw_big, dq_big, _ = _offset_ring(tmp_path, k2=20.0, kick=2e-4)
    _, _, tw_small, dq_small, _ = _offset_ring(tmp_path, k2=20.0, kick=2e-5)
    assert np.max(np.abs(tw_big.x)) > 5e-4
    assert np.max(np.abs(dq_big)) < 1e-4, dq_big
    # linear in the orbit (a factor 10 in the kick: 9.9 and 10.0 measured) -- not a feed-down error,
    # which would be in the sextupoles (k2 = 0 gives the same shift)
    assert np.allclose(dq_big / dq_small, 10.0, rtol=0.05)


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
    extra = "bb: beambeam;\nsep: elseparator, l=0.1;\n"
    p = tmp_path / "unk.madx"
    p.write_text(fodo_text(extra_elements=extra, extra_seq=[(2.2, "bb"), (6.2, "sep"), (10.2, "bb")]))
    with pytest.raises(UnknownElementError) as info:
        ring_from_madx(p, "ring")
    offenders = info.value.offenders
    assert [o["kind"] for o in offenders] == ["beambeam", "elseparator", "beambeam"]
    assert "3 element(s)" in str(info.value)


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
