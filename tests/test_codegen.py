"""The generated kernels are reproducible and import without sympy."""

import subprocess
import sys
from pathlib import Path

from derivations import codegen


def test_kernels_regeneration_changes_nothing():
    """Printing the derivations again gives the committed coupled_beam/_kernels.py byte for byte."""
    committed = codegen.TARGET.read_text()
    assert codegen.generate_source() == committed, "run `python -m derivations.codegen` and commit"


def test_codegen_check_command_reports_up_to_date():
    """`python -m derivations.codegen --check` exits 0 on the committed tree."""
    assert codegen.main(["--check"]) == 0


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
