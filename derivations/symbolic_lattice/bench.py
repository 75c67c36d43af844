"""Timings of the symbolic-lattice kernels (reported, never asserted): ``python -m derivations.symbolic_lattice.bench``.

* cold: a 6-element thin lattice (solenoid, two skew quadrupoles, three arcs;
  11 symbols) derived, printed and checked into a fresh cache;
* warm: the same lattice's kernels loaded from the cache (in this process, and
  in a fresh interpreter that never imports sympy);
* per point: generated eigentunes of the §5 lattice, of the 4-element lattice
  (two skew quadrupoles, example (a)) and of the 6-element lattice against the
  hand-tuned §5 kernel ``coupled_beam.eigentunes``, side by side (interleaved
  rounds, best of each), one BLAS thread (threadpoolctl when installed).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time

import numpy as np


def _best(f, repeat: int = 5) -> float:
    """Least CPU time of this thread over ``repeat`` calls (robust to other processes on a shared machine)."""
    out = []
    for _ in range(repeat):
        t = time.thread_time()
        f()
        out.append(time.thread_time() - t)
    return min(out)


def run(n: int = 200_000, seed: int = 0, rounds: int = 4) -> dict:
    """The timings as a dict (seconds; ns per point; ratios)."""
    import sympy as sp

    import coupled_beam as cb
    import derivations.skew_quadrupole as sq
    from derivations.symbolic_lattice import Arc, SymbolicLattice, ThinSkewQuadrupole
    from derivations.symbolic_lattice.examples import solenoid_compensation, two_skew_quadrupoles
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
        four = two_skew_quadrupoles()["lattice"]
        k4 = lattice_kernels(SymbolicLattice(four.elements, four.symbols, four.domains), cache=d)
        args4 = [rng.uniform(0.2, 2, n) for _ in four.symbols]
        args6 = [rng.uniform(0.2, 2, n) for _ in six.symbols]
        runs = {"ref": lambda: cb.eigentunes(*p), "s5": lambda: k5.eigentunes(*p),
                "four": lambda: k4.eigentunes(*args4), "six": lambda: k6.eigentunes(*args6)}
        best = {k: np.inf for k in runs}
        with np.errstate(invalid="ignore"):            # unstable random points give NaN
            for _ in range(rounds):                    # interleaved: a load change hits all alike
                for k, f in runs.items():
                    best[k] = min(best[k], _best(f, 3))
        t_ref = best["ref"]
        out.update({"section5_kernel_ns_per_point": t_ref / n * 1e9,
                    "generated_section5_ns_per_point": best["s5"] / n * 1e9,
                    "generated_section5_ratio": best["s5"] / t_ref,
                    "generated_four_element_ns_per_point": best["four"] / n * 1e9,
                    "generated_four_element_ratio": best["four"] / t_ref,
                    "generated_six_element_ns_per_point": best["six"] / n * 1e9,
                    "generated_six_element_ratio": best["six"] / t_ref,
                    "four_element_worst_errors": {k: v["error"] for k, v in k4.report.items()}})
    return out


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(), indent=1))
