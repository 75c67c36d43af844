"""The notebooks run top to bottom in a fresh kernel, and are committed without outputs.

The kernel is the ``ipykernel`` of the interpreter running the tests, taken
from ipykernel's own bundled kernelspec (``KernelSpecManager(kernel_dirs=[])``
finds no installed specs and falls back to ipykernel's native ``python3``,
whose argv is ``sys.executable -m ipykernel_launcher``): nothing has to be
registered with ``jupyter kernelspec install`` and nothing is written outside
pytest's temporary directory. Each notebook's cells carry their own
``assert`` statements (closed forms against eigen-solves, verdicts of the
checker), so a notebook that runs is a notebook whose checks passed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
#: a notebook taking longer than this on the CI machine is too slow for the suite
BUDGET_S = 60.0


def _kernel_manager():
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    return KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))


def test_kernel_is_this_interpreter():
    """The kernel spec used for the notebooks launches the interpreter running the tests."""
    spec = _kernel_manager().kernel_spec
    assert spec.argv[0] == sys.executable, f"kernel argv {spec.argv} is not {sys.executable}"
    assert spec.argv[1:3] == ["-m", "ipykernel_launcher"]


def test_notebooks_exist():
    """The three notebooks of the issue are in notebooks/."""
    names = {p.name for p in NOTEBOOKS}
    assert {"01_section5_walkthrough.ipynb", "02_ring_equilibrium_spot.ipynb",
            "03_checking_a_hand_derivation.ipynb"} <= names, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_committed_without_outputs(path):
    """Every code cell of a committed notebook has no outputs and no execution count."""
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    """The notebook executes without error (its own asserts included) within the time budget."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, km=_kernel_manager(), timeout=180,
                            resources={"metadata": {"path": str(tmp_path)}})
    # the notebooks multiply 4x4-8x8 matrices: one BLAS thread (threaded OpenBLAS spins on a
    # busy 2-core machine, 100x slower; see coupled_beam.demo._blas_single_thread)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    try:
        client.execute(env=env)
    except CellExecutionError as exc:  # the message holds the failing cell and traceback
        pytest.fail(f"{path.name} failed:\n{exc}")
    elapsed = time.perf_counter() - t0
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, f"{path.name}: error outputs {errors}"
    assert elapsed < BUDGET_S, f"{path.name} took {elapsed:.1f} s > {BUDGET_S} s"
