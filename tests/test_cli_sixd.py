"""`coupled-beam equilibrium LATTICE --model 6d`, in process (coupled_beam.cli.main)."""

import json

import numpy as np
import pytest

from _lattices import RF_FODO
from coupled_beam import cli
from coupled_beam.lattice_file import example_lattice_path, read_lattice

LATTICE = RF_FODO


@pytest.fixture
def lattice(tmp_path):
    path = tmp_path / "rf.lat"
    path.write_text(LATTICE)
    return path


def test_json_output_carries_the_six_d_fields(lattice, capsys):
    """--json: the 6-D summary equals the API's result; Robinson's sum J1 + J2 + Js = 4 holds."""
    assert cli.main(["equilibrium", str(lattice), "--model", "6d", "--json", "--every", "7"]) == 0
    out = json.loads(capsys.readouterr().out)
    eq = read_lattice(lattice).equilibrium(model="6d")
    summ = out["summary"]
    assert summ["model"] == "6d" and summ["elements"] == 66
    for key, ref in [("sigma_delta", eq.sigma_delta[0]), ("sigma_l", eq.sigma_l[0]), ("q_s", eq.q_s),
                     ("emittances", eq.emittances), ("damping_times", eq.damping_times),
                     ("partition_numbers", eq.partition_numbers), ("tunes", eq.tunes)]:
        np.testing.assert_allclose(summ[key], ref, rtol=1e-14, err_msg=key)
    assert abs(sum(summ["partition_numbers"]) - 4.0) < 1e-3      # Robinson (exact maps: to O(U0/E))
    rows = out["boundaries"]
    assert [r["index"] for r in rows] == list(range(0, 67, 7)) + [66]
    np.testing.assert_allclose([r["sigma_z"] for r in rows], eq.sigma_z[[r["index"] for r in rows]], rtol=1e-14)
    assert rows[-1]["sigma_x"] == pytest.approx(rows[0]["sigma_x"], rel=1e-9)   # periodic


def test_text_output_prints_the_six_d_fields(lattice, capsys):
    assert cli.main(["equilibrium", str(lattice), "--model", "6d"]) == 0
    out = capsys.readouterr().out
    eq = read_lattice(lattice).equilibrium(model="6d")
    assert f"Q_s = {eq.q_s:.6f}" in out and f"sigma_delta = {eq.sigma_delta[0]:.5e}" in out
    assert f"{eq.emittances[2]:.5e}" in out and "partition numbers" in out and "damping times" in out
    assert len(out.splitlines()) == 4 + 67                        # 3 header lines, column line, 67 rows


def test_tapered_and_table(lattice, capsys):
    """--tapered changes the answer (sawtooth removed); --table writes the 6-D optics table."""
    assert cli.main(["equilibrium", str(lattice), "--model", "6d", "--json", "--tapered"]) == 0
    tap = json.loads(capsys.readouterr().out)["summary"]
    ref = read_lattice(lattice).equilibrium(model="6d", tapered=True)
    assert tap["tapered"] and tap["emittances"][0] == pytest.approx(ref.emittances[0], rel=1e-14)
    assert cli.main(["equilibrium", str(lattice), "--model", "6d", "--table"]) == 0
    out = capsys.readouterr().out
    assert '"6d"' in out and "SIGE" in out and "QS" in out


def test_ring_without_cavity_is_one_rf_error_line(capsys):
    """The example ring has no cavity: exit 2, one stderr line naming the fix, no traceback."""
    assert cli.main(["equilibrium", str(example_lattice_path()), "--model", "6d"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "needs an RF cavity" in err and "rfcavity" in err


@pytest.mark.parametrize("argv,word", [
    (["--model", "6d", "--dps", "30"], "--dps"),
    (["--tapered"], "--model 6d"),
    (["--no-sawtooth"], "--model 6d"),
])
def test_option_mismatch_is_a_named_error(lattice, capsys, argv, word):
    assert cli.main(["equilibrium", str(lattice)] + argv) == 2
    err = capsys.readouterr().err
    assert word in err and len(err.strip().splitlines()) == 1


def test_bad_model_is_a_usage_error(lattice, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["equilibrium", str(lattice), "--model", "5d"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err
