"""The generated kernels are reproducible and import without sympy."""

import subprocess
import sys
from pathlib import Path

from derivations import codegen


def test_kernels_regeneration_changes_nothing(capsys):
    """Printing the derivations again gives the committed _kernels.py byte for byte (`--check` says so)."""
    assert codegen.main(["--check"]) == 0, "run `python -m derivations.codegen` and commit _kernels.py"
    assert "up to date" in capsys.readouterr().out


def test_import_coupled_beam_does_not_import_sympy():
    """import coupled_beam (and a kernel call) keeps sympy, scipy and matplotlib out of sys.modules."""
    code = ("import sys, coupled_beam as cb; cb.eigentunes(1.0, 1.2, 3.0, 4.0, 0.1); "
            "cb.thin_skew_one_turn_map(1.0, 1.2, 3.0, 4.0, 0.1); "
            "print(sorted(m for m in ('sympy', 'scipy', 'matplotlib', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]", f"heavy modules imported: {out.stdout.strip()}"


def test_generated_module_names_its_origin():
    """The header names the generating command and the sympy version (provenance)."""
    head = codegen.TARGET.read_text().splitlines()[0]
    assert "python -m derivations.codegen" in head and "do not edit" in head
