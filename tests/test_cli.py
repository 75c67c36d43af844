"""The `coupled-beam` command line: tunes, demo, and clean errors."""

import json
import math
import subprocess
import sys

import numpy as np

from coupled_beam import cli


def test_tunes_json_reports_eigentunes_and_damping(capsys):
    """`tunes --nu-x --nu-z ... --json` gives g± matching the eigen-solve of the hand-built map."""
    code = cli.main(["tunes", "--nu-x", "0.31", "--nu-z", "0.28", "--beta-x", "10", "--beta-z", "8",
                     "--m", "0.02", "--d11-s0", "1e-3", "--d22-s0", "5e-4", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    mx, mz = 2 * math.pi * 0.31, 2 * math.pi * 0.28
    F = np.zeros((4, 4))
    F[:2, :2] = [[math.cos(mx), 10 * math.sin(mx)], [-math.sin(mx) / 10, math.cos(mx)]]
    F[2:, 2:] = [[math.cos(mz), 8 * math.sin(mz)], [-math.sin(mz) / 8, math.cos(mz)]]
    L = np.eye(4)
    L[1, 2] = L[3, 0] = 0.02
    phases = sorted(set(np.round(np.abs(np.angle(np.linalg.eigvals(L @ F))), 12)))
    assert abs(report["g_plus"] - phases[0]) < 1e-11 and abs(report["g_minus"] - phases[1]) < 1e-11
    assert report["stable"] is True
    assert abs(report["omega_plus"] + report["omega_minus"] - 7.5e-4) < 1e-15  # sum rule


def test_tunes_bad_beta_exits_2_with_one_line():
    """A negative beta gives exit status 2 and one line on stderr, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "coupled_beam.cli", "tunes", "--mu-x", "1", "--mu-z", "1.2",
                           "--beta-x", "-1", "--beta-z", "2", "--m", "0.1"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "beta_x must be > 0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tunes_nan_is_rejected_by_the_parser():
    """--mu-x nan is refused with a clear usage message (argparse exit 2)."""
    proc = subprocess.run([sys.executable, "-m", "coupled_beam.cli", "tunes", "--mu-x", "nan", "--mu-z", "1",
                           "--beta-x", "1", "--beta-z", "2", "--m", "0.1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "must be finite" in proc.stderr


def test_bench_accuracy_quick_json_has_every_boundary_and_no_mask_error(capsys):
    """`bench --accuracy --quick --json`: rows for the bulk and each boundary, kernel within 1e-9 rad of 50 digits."""
    assert cli.main(["bench", "--accuracy", "--quick", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    cats = {row["category"].split(" d=")[0] for row in table["rows"]}
    assert {"bulk", "mu_x=mu_z"} <= cats and len(cats) >= 6, cats
    assert all(row["mask_errors"] == 0 for row in table["rows"])
    # worst case is 1e-12 from a coupling boundary, where any float64 route errs ~1e-16/sqrt(1e-12)
    assert max(row["g_kernel_abs"] for row in table["rows"]) < 1e-9
