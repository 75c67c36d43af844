"""The optics table (coupled_beam.table): Mais–Ripken optics, header, TFS/CSV/JSON.

References from independent routes: the 2x2 Twiss parametrisation of an
uncoupled one-turn map (beta = M12 / sin mu), pyAT's ``linopt6`` R-matrices
(its own Mais–Ripken/Wolski B^k from tracking), Robinson's sum J1 + J2 + JS = 4
(J1, J2 from the damped map, JS from the radiation integrals), the equilibrium
moments (Sigma = sum eps_k B^k), and tfs-pandas reading our TFS back.
"""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from coupled_beam.errors import InputError
from coupled_beam.lattice import Bend, Drift, Quadrupole, Ring, ThinSkewQuadrupole
from coupled_beam.table import format_table, mais_ripken, optics_table, write_table


def _cell(skew=0.0):
    c = [Quadrupole(0.2, 1.2, name="QF"), Drift(0.5), Bend(1.0, K=2 * np.pi / 16, name="B"),
         Drift(0.5), Quadrupole(0.2, -1.2, name="QD"), Drift(0.5),
         Bend(1.0, K=2 * np.pi / 16, name="B"), Drift(0.5)]
    if skew:
        c.insert(1, ThinSkewQuadrupole(skew, name="SK"))
    return c


def _eq(ring):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ring.equilibrium()


@pytest.fixture(scope="module")
def flat():
    return _eq(Ring(_cell() * 8, energy=1.0))


@pytest.fixture(scope="module")
def coupled():
    return _eq(Ring(_cell(0.05) + _cell() * 7, energy=1.0))


def test_uncoupled_betas_equal_twiss_of_the_2x2_blocks(flat):
    """BETA11 = M12/sin(mu) of the x block, BETA22 of the z block; cross betas 0."""
    tab = flat.table()
    ring = Ring([getattr(el, "base", el) for el in flat.ring.elements])
    for i in (0, 5, 17, 40):
        N = ring.one_turn_map(i)
        for (a, b), col in (((0, 1), "BETA11"), ((2, 3), "BETA22")):
            m = N[a:b + 1, a:b + 1]
            cos = 0.5 * np.trace(m)
            sin = np.sign(m[0, 1]) * np.sqrt(1 - cos**2)
            # same lossless maps, two parametrisations: rounding only
            assert np.isclose(tab[col][i], m[0, 1] / sin, rtol=1e-9), (i, col)
            assert np.isclose(tab["ALFA" + col[4:]][i], (m[0, 0] - m[1, 1]) / (2 * sin),
                              rtol=1e-8, atol=1e-10), (i, col)
    assert np.max(np.abs(tab["BETA12"])) < 1e-12 and np.max(np.abs(tab["BETA21"])) < 1e-12
    # MU1 at s0 = the tune (integer part from the unwrapped phase), also 2x2 route
    m = ring.one_turn_map(0)[:2, :2]
    frac = np.arccos(0.5 * np.trace(m)) / (2 * np.pi)
    q1 = tab.attrs["Q1"]
    assert np.isclose(q1 % 1, frac, atol=1e-10) or np.isclose(q1 % 1, 1 - frac, atol=1e-10)
    assert np.isclose(tab["MU1"].iloc[-1], q1, rtol=1e-12)


def test_coupled_optics_equal_pyat_linopt6(coupled):
    """Mais–Ripken B^k equal pyAT's linopt6 R-matrices on pyAT's coupled test ring."""
    pytest.importorskip("at")
    from coupled_beam.interop.pyat import example_at_ring, ring_from_pyat

    at_ring = example_at_ring(coupled=True).disable_6d(copy=True)
    tab = _eq(ring_from_pyat(at_ring)).table()
    _, bd, el = at_ring.linopt6(refpts=range(len(at_ring) + 1))
    for k in range(2):
        for col, i in (("BETA1", 0), ("BETA2", 2)):
            ref = el.R[:, k, i, i]
            # pyAT's 10-step integrator (2e-5 measured); a 1 % error fails
            assert np.max(np.abs(tab[f"{col}{k + 1}"] - ref)) < 1e-4 * np.max(ref), (col, k)
    assert np.isclose(tab.attrs["Q1"] % 1, bd.tune[0], atol=1e-5)
    assert np.isclose(tab.attrs["Q2"] % 1, bd.tune[1], atol=1e-5)


def test_moments_are_sum_of_mode_emittances_times_b(coupled):
    """Sigma_betatron(s) = sum_k eps_k B^k(s) (modes uncorrelated up to the damping)."""
    tab = coupled.table()
    e1, e2 = tab.attrs["EX1"], tab.attrs["EX2"]
    assert e1 > 0 and e2 > 0 and e2 / e1 < 0.5
    for i in (0, 11, 33):
        for (r, c), (a, b) in (((0, 0), ("BETA11", "BETA12")), ((2, 2), ("BETA21", "BETA22"))):
            approx = e1 * tab[a][i] + e2 * tab[b][i]
            # cross-mode terms are O(damping per turn) ~ 1e-4 here
            assert np.isclose(coupled.moments[i, r, c], approx, rtol=2e-3), (i, r)


def test_partition_numbers_sum_to_four(flat, coupled):
    """J1 + J2 (from the damped one-turn map) + JS (integrals) = 4 (Robinson)."""
    for eq in (flat, coupled):
        h = eq.table().attrs
        # two routes to the damping: map eigenvalues vs radiation integrals
        assert np.isclose(h["J1"] + h["J2"] + h["JS"], 4.0, rtol=1e-5), h
        assert np.isclose(h["SIGE"], np.sqrt(eq.p2), rtol=1e-14)


def test_numpy_backend_equals_pandas(coupled):
    pytest.importorskip("pandas")
    a = optics_table(coupled, backend="numpy")
    b = optics_table(coupled, backend="pandas")
    assert a.attrs == b.attrs
    for c in ("S", "BETA12", "SIGZ", "TILT"):
        assert np.array_equal(a[c], np.asarray(b[c]), equal_nan=True)
    assert list(a["NAME"][:3]) == ["START", "QF", "SK"]


def test_tfs_is_read_back_by_tfs_pandas(coupled, tmp_path):
    """tfs-pandas reads our TFS: same columns, values to 15 digits, header values."""
    tfs = pytest.importorskip("tfs")
    tab = coupled.table()
    path = write_table(tab, tmp_path / "optics.tfs")
    back = tfs.read(path)
    assert list(back.columns) == list(tab.columns)
    for c in ("S", "BETA11", "BETA21", "DX", "SIGX", "SIGZ", "TILT", "INV_AREA"):
        assert np.allclose(back[c], tab[c], rtol=1e-14, atol=0.0, equal_nan=True), c
    assert list(back["NAME"]) == list(tab["NAME"])
    for k in ("Q1", "Q2", "EX1", "EX2", "TAU1", "J1", "SIGE"):
        assert np.isclose(back.headers[k], tab.attrs[k], rtol=1e-14), k


def test_csv_and_json_formats(coupled):
    tab = coupled.table()
    js = json.loads(format_table(tab, "json"))
    assert js["columns"][:3] == ["NAME", "KIND", "S"]
    assert np.isclose(js["rows"][4][js["columns"].index("SIGX")], tab["SIGX"][4], rtol=1e-15)
    csv = format_table(tab, "csv").splitlines()
    body = [ln for ln in csv if not ln.startswith("#")]
    assert body[0].split(",")[:3] == ["NAME", "KIND", "S"] and len(body) == len(tab) + 1
    with pytest.raises(InputError, match="format"):
        format_table(tab, "xlsx")


def test_cli_table_tfs(tmp_path):
    """coupled-beam equilibrium example --table --format tfs writes a readable TFS."""
    tfs = pytest.importorskip("tfs")
    out = tmp_path / "ex.tfs"
    r = subprocess.run([sys.executable, "-m", "coupled_beam.cli", "equilibrium", "example",
                        "--table", "--format", "tfs", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    back = tfs.read(out)
    assert {"BETA11", "SIGX", "TILT", "INV_AREA"} <= set(back.columns)
    assert back.headers["JS"] > 0


def test_unstable_map_is_refused():
    N = np.diag([2.0, 0.5, 1.0, 1.0])
    with pytest.raises(InputError, match="not stable"):
        mais_ripken(N, np.eye(4)[None])


def test_equilibrium_without_ring_is_refused(flat):
    from dataclasses import replace

    with pytest.raises(InputError, match="ring"):
        replace(flat, ring=None).table()


def test_six_d_equilibrium_header():
    """A 6-D equilibrium (coupled_beam.sixd): its emittances, damping, J, Q_s, sigma_l in the header;
    at small Q_s they approach the 4-D ones as Q_s^2 (9e-4 at Q_s 0.0077, 1.2e-2 at 0.030)."""
    sixd = pytest.importorskip("coupled_beam.sixd")
    from coupled_beam.lattice import RFCavity

    out = {}
    for volt in (4e4, 3e5):
        ring = Ring([RFCavity(voltage=volt, harmonic=50), ThinSkewQuadrupole(0.05)] + _cell() * 8,
                    energy=1.0)
        h4 = _eq(ring).table().attrs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h6 = optics_table(sixd.ring_equilibrium6(ring), ring=ring).attrs
        assert h6["MODEL"] == "6d" and h6["QS"] > 0 and h6["SIGL"] > 0 and h6["EXS"] > 0
        # Robinson's sum on the 6-D map alone
        assert np.isclose(h6["J1"] + h6["J2"] + h6["JS"], 4.0, rtol=1e-4)
        out[volt] = (h6["QS"], max(abs(h6[k] / h4[k] - 1) for k in ("EX1", "EX2", "TAU1", "J1")))
    (qa, da), (qb, db) = out[4e4], out[3e5]
    assert da < 2e-3 and db > 3 * da
    assert 0.5 < (db / da) / (qb / qa) ** 2 < 2.0, out
