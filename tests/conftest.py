"""Shared fixtures and settings for the test suite."""

import os

# The kernels work on many small matrices: BLAS threads only contend on a 2-core machine
# (measured: batched expm 10-100x slower with OpenBLAS threading under load). Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# Reproducible property tests: the same examples on every run (CI included), no deadline
# (the machine is shared). `--hypothesis-profile=explore` searches afresh.
settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile("repeatable")


@pytest.fixture
def rng():
    """A seeded generator: every random test is reproducible."""
    return np.random.default_rng(20261124)
