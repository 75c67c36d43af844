"""Timings of the symbolic-lattice kernels (reported, never asserted): ``python -m derivations.symbolic_lattice.bench``.

* cold: a 6-element thin lattice (solenoid, two skew quadrupoles, three arcs;
  11 symbols) derived, printed and checked into a fresh cache;
* warm: the same lattice's kernels loaded from the cache (in this process, and
  in a fresh interpreter that never imports sympy);
* per point: generated eigentunes of the §5 lattice and of the 6-element
  lattice against the hand-tuned §5 kernel ``coupled_beam.eigentunes``, side
  by side, one BLAS thread (threadpoolctl when installed).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time

import numpy as np


def _best(f, repeat: int = 5) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return min(out)


def run(n: int = 200_000, seed: int = 0) -> dict:
    """The timings as a dict (seconds; ns per point; ratios)."""
    import sympy as sp

    import coupled_beam as cb
    import derivations.skew_quadrupole as sq
    from derivations.symbolic_lattice import Arc, SymbolicLattice, ThinSkewQuadrupole
    from derivations.symbolic_lattice.examples import solenoid_compensation
    from derivations.symbolic_lattice.kernels import lattice_kernels

    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(1)
    except ImportError:  # pragma: no cover
        limit = contextlib.nullcontext()
    six = solenoid_compensation()["lattice"]
    out: dict = {"sympy": sp.__version__}
    with tempfile.TemporaryDirectory() as d, limit:
        fresh = SymbolicLattice(six.elements, six.symbols, six.domains)
        t = time.perf_counter()
        k6 = lattice_kernels(fresh, cache=d)
        out["six_element_cold_s"] = time.perf_counter() - t
        out["six_element_worst_errors"] = {k: v["error"] for k, v in k6.report.items()}
        t = time.perf_counter()
        lattice_kernels(SymbolicLattice(six.elements, six.symbols, six.domains), cache=d)
        out["six_element_cache_s"] = time.perf_counter() - t
        code = (f"import time; t = time.perf_counter(); from coupled_beam.generated_kernels import load; "
                f"k = load({k6.key!r}, {d!r}); k.eigentunes(*[1.0] * {len(six.symbols)}); import sys; "
                "print(time.perf_counter() - t, 'sympy' in sys.modules)")
        t = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        out["six_element_cache_fresh_interpreter_s"] = time.perf_counter() - t
        load_s, sympy_loaded = res.stdout.split()
        out["six_element_cache_load_only_s"] = float(load_s)
        out["sympy_imported_by_loader"] = sympy_loaded == "True"
        lat5 = SymbolicLattice([Arc(mu_x=sq.mu_x, beta_x=sq.beta_x, mu_z=sq.mu_z, beta_z=sq.beta_z),
                                ThinSkewQuadrupole(sq.m)])
        k5 = lattice_kernels(lat5, cache=d)
        rng = np.random.default_rng(seed)
        p = [rng.uniform(0.1, 3, n), rng.uniform(0.1, 3, n), rng.uniform(1, 20, n), rng.uniform(1, 20, n),
             rng.uniform(-0.1, 0.1, n)]
        t_ref = _best(lambda: cb.eigentunes(*p))
        t_gen = _best(lambda: k5.eigentunes(*p))
        args6 = [rng.uniform(0.2, 2, n) for _ in six.symbols]
        t_six = _best(lambda: k6.eigentunes(*args6), 3)
        out.update({"section5_kernel_ns_per_point": t_ref / n * 1e9,
                    "generated_section5_ns_per_point": t_gen / n * 1e9,
                    "generated_section5_ratio": t_gen / t_ref,
                    "generated_six_element_ns_per_point": t_six / n * 1e9,
                    "generated_six_element_ratio": t_six / t_ref})
    return out


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(), indent=1))
