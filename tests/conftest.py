"""Shared fixtures and settings for the test suite."""

import os

# The kernels work on many small matrices: BLAS threads only contend on a 2-core machine
# (measured: batched expm 10-100x slower with OpenBLAS threading under load). Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402

# Hypothesis keeps everything (example database, caches) outside the checkout, never a
# .hypothesis/ in the repo: in the system temp dir, or where COUPLED_BEAM_HYPOTHESIS_HOME points.
_HOME = os.environ.get("COUPLED_BEAM_HYPOTHESIS_HOME",
                       os.path.join(tempfile.gettempdir(), "coupled_beam_hypothesis"))
set_hypothesis_home_dir(_HOME)
_DB = DirectoryBasedExampleDatabase(os.path.join(_HOME, "examples"))

# Reproducible property tests: the same examples on every run (CI included), no deadline
# (the machine is shared). `--hypothesis-profile=explore` searches afresh.
# (derandomize=True implies no example database; "explore" keeps one, outside the checkout)
settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=1000, database=_DB)
settings.load_profile("repeatable")


@pytest.fixture
def rng():
    """A seeded generator: every random test is reproducible."""
    return np.random.default_rng(20261124)
