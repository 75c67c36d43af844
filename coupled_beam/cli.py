"""The ``coupled-beam`` command line.

Every command is a pair ``_add_<cmd>(parser)`` / ``_run_<cmd>(args) -> int``
registered in :data:`COMMANDS`. The CLI holds no physics: it parses, calls
the public API and prints. Any :class:`~coupled_beam.errors.CoupledBeamError`
(or ``ValueError``) becomes one line on stderr and exit status 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Callable

import numpy as np

from coupled_beam.errors import CoupledBeamError


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _print_json(payload) -> None:
    print(json.dumps(payload, indent=2, default=_json_default, allow_nan=True))


def _emit(args: argparse.Namespace, payload: dict, width: int) -> None:
    """``--json``: the payload as JSON; otherwise one ``key = value`` line per entry."""
    if args.json:
        _print_json(payload)
    else:
        for key, val in payload.items():
            print(f"{key:>{width}s} = {val}")


def _finite_float(text: str) -> float:
    """argparse type: a finite float, with a clear message otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


#: largest --dps the command line accepts for tunes and equilibrium: mpmath at 1000 digits takes
#: about 5 s for the example ring (measured); the Python API takes precision= up to 10000
CLI_MAX_DPS = 1000

#: largest --n of bench (the race holds a few float64 arrays of n points) and of bench --accuracy
#: (one 50-digit evaluation per point, about 2 ms each)
BENCH_MAX_N, ACCURACY_MAX_N = 10**7, 10**5


def _int_in(lo: int, hi: int, why: str) -> Callable[[str], int]:
    """argparse type: an integer in [lo, hi]; the message says why the bound is there."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be in [{lo}, {hi}] ({why}), got {value}")
        return value
    parse.__name__ = "integer"
    return parse


_DPS = _int_in(16, CLI_MAX_DPS, f"digits; above {CLI_MAX_DPS} mpmath takes minutes: use the Python API's "
               "precision= for more")


# --------------------------------------------------------------------- tunes
def _add_tunes(p: argparse.ArgumentParser) -> None:
    tunes = p.add_mutually_exclusive_group(required=True)
    tunes.add_argument("--mu-x", type=_finite_float, help="horizontal phase advance per turn (rad)")
    tunes.add_argument("--nu-x", type=_finite_float, help="horizontal tune (mu_x = 2 pi nu_x)")
    tz = p.add_mutually_exclusive_group(required=True)
    tz.add_argument("--mu-z", type=_finite_float, help="vertical phase advance per turn (rad)")
    tz.add_argument("--nu-z", type=_finite_float, help="vertical tune (mu_z = 2 pi nu_z)")
    p.add_argument("--beta-x", type=_finite_float, required=True, help="beta_x at the skew quad (m)")
    p.add_argument("--beta-z", type=_finite_float, required=True, help="beta_z at the skew quad (m)")
    p.add_argument("--m", type=_finite_float, required=True, help="integrated skew strength m (1/m)")
    p.add_argument("--d11-s0", type=_finite_float, default=0.0, help="horizontal damping D11*s0 per turn")
    p.add_argument("--d22-s0", type=_finite_float, default=0.0, help="vertical damping D22*s0 per turn")
    p.add_argument("--dps", type=_DPS, default=None, metavar="DIGITS",
                   help=f"evaluate in mpmath with this many significant digits (e.g. 50; 16 to {CLI_MAX_DPS}) "
                        "instead of float64")


def _run_tunes(args: argparse.Namespace) -> int:
    from coupled_beam.skew_quadrupole import eigentune_report

    mu_x = args.mu_x if args.mu_x is not None else 2 * math.pi * args.nu_x
    mu_z = args.mu_z if args.mu_z is not None else 2 * math.pi * args.nu_z
    for flag, nu, mu in (("--nu-x", args.nu_x, mu_x), ("--nu-z", args.nu_z, mu_z)):
        if nu is not None and not math.isfinite(mu):
            from coupled_beam.errors import InputError

            raise InputError(f"{flag} {nu!r}: 2 pi nu overflows float64; give the fractional tune "
                             "(only nu mod 1 matters)", field=flag, value=nu)
    report = eigentune_report(mu_x, mu_z, args.beta_x, args.beta_z, args.m,
                              args.d11_s0, args.d22_s0, precision=args.dps)
    if args.json:
        _print_json(report)
    else:
        digits = report.pop("digits", {})
        for key, val in report.items():
            print(f"{key:>12s} = {digits.get(key, val)}")
    return 0


# ---------------------------------------------------------------------- demo
def _add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="coupled_beam_demo", help="output folder for the report")


def _run_demo(args: argparse.Namespace) -> int:
    from coupled_beam.demo import run_demo

    result = run_demo(out=args.out, echo=not args.json)  # --json: stdout is JSON only
    if args.json:
        _print_json(result)
    return 0


# -------------------------------------------------------------------- verify
def _add_verify(p: argparse.ArgumentParser) -> None:
    p.add_argument("--latex", nargs="?", const="-", default=None, metavar="FILE",
                   help="write a LaTeX longtable (to FILE, or stdout without FILE)")
    p.add_argument("--section", default=None, help="only this section: 1, 3, 5, appendix, ...")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also print the printed and derived forms")


def _run_verify(args: argparse.Namespace) -> int:
    from derivations import errata

    rows = errata.verify_paper(section=args.section)
    if not rows and args.section is not None:
        from coupled_beam.errors import InputError

        raise InputError(f"section {args.section!r} has no checked equations; run `coupled-beam verify` "
                         "for the list (1, 3, 4, 5, appendix)", field="section", value=args.section)
    if args.latex is not None:
        tex = errata.to_latex(rows)
        if args.latex == "-":
            sys.stdout.write(tex)
        else:
            with open(args.latex, "w", encoding="utf-8") as fh:
                fh.write(tex)
    if args.json:
        _print_json(errata.to_json(rows))
    elif args.latex is None or args.latex != "-":
        print(errata.to_text(rows, verbose=args.verbose))
    return 0


# -------------------------------------------------------------------- derive
def _add_derive(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="result name (see --list)")
    p.add_argument("--list", action="store_true", help="list the available results")
    p.add_argument("--format", default="text", choices=("text", "latex", "python", "c", "json"))
    p.add_argument("--no-simplify", action="store_true", help="print the form as derived")
    p.add_argument("--lattice", default=None, metavar="FILE",
                   help="closed forms for your own lattice file (symbols allowed; see derivations.symbolic_lattice)")
    p.add_argument("--symbols", default=None, metavar="A,B,...",
                   help="with --lattice: the lattice's symbols, in argument order of the code formats")
    p.add_argument("--assume", action="append", default=[], metavar="FACT",
                   help="with --lattice: a domain, 'beta_x>0', '0<mu_x<pi', 'm real' (repeatable)")
    p.add_argument("--at", type=int, default=0, metavar="I",
                   help="with --lattice: observation boundary (entrance of element I; default 0)")
    p.add_argument("--budget-seconds", type=float, default=120.0, metavar="S",
                   help="with --lattice: give up a derivation after S seconds (default 120)")
    p.add_argument("--budget-nodes", type=int, default=400_000, metavar="N",
                   help="with --lattice: give up when an expression exceeds N tree nodes (default 400000)")


def _run_derive(args: argparse.Namespace) -> int:
    from derivations import derive

    if args.lattice is not None:
        return _run_derive_lattice(args, derive)
    if args.list or not args.name:
        results = derive.collect_results()
        if args.json:
            _print_json([{"name": k, "description": r.description, "reference": r.reference}
                         for k, r in results.items()])
        else:
            width = max((len(k) for k in results), default=0)
            for k, r in results.items():
                print(f"{k.ljust(width)}  {r.description} [{r.reference}]")
        return 0
    fmt = "json" if args.json else args.format
    print(derive.render(derive.get_result(args.name), fmt, simplify=not args.no_simplify),
          end="")
    return 0


def _run_derive_lattice(args: argparse.Namespace, derive) -> int:
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()] if args.symbols else None
    if args.list or not args.name:
        names = derive.lattice_result_names()
        if args.json:
            _print_json([{"name": k, "description": d, "reference": r} for k, (d, r) in names.items()])
        else:
            width = max(len(k) for k in names)
            for k, (d, r) in names.items():
                print(f"{k.ljust(width)}  {d} [{r}]")
        return 0
    res = derive.lattice_result(args.lattice, args.name, symbols=symbols, assume=args.assume, at=args.at,
                                budget=(args.budget_seconds, args.budget_nodes))
    print(derive.render(res, "json" if args.json else args.format, simplify=not args.no_simplify), end="")
    return 0


# --------------------------------------------------------------------- check
def _add_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("lhs", help='first expression, sympy syntax (e.g. "sin(2*x)")')
    p.add_argument("rhs", nargs="+", help='second expression (e.g. "2*sin(x)*cos(x)"); more '
                   "expressions check a derivation step by step")
    p.add_argument("--assume", action="append", default=[], metavar="FACT",
                   help="'beta_x>0', '0<mu_x<pi', 'n integer' (repeatable)")
    p.add_argument("--points", type=_whole_number, default=24,
                   help="random points of the numeric test (at most 10000)")
    p.add_argument("--dps", type=_whole_number, default=50,
                   help="digits of the numeric test (5 to 1000)")
    p.add_argument("--seed", type=int, default=1964, help="seed of the random points")
    p.add_argument("--seconds", type=_finite_float, default=5.0,
                   help="time budget of each comparison (default 5 s); when it runs out the "
                        "answer is 'undecided within the budget'")
    p.add_argument("--max-size", type=_whole_number, default=5000, metavar="TOKENS",
                   help="largest expression, in tokens (default 5000)")


def _whole_number(text: str) -> int:
    """argparse type: an integer, also written as 1e8 (range checked by the budget)."""
    try:
        value = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
    return int(value)


def _run_check(args: argparse.Namespace) -> int:
    from derivations.verify import Budget, equal_steps

    budget = Budget(seconds=args.seconds, max_size=args.max_size)
    verdicts = equal_steps([args.lhs, *args.rhs], assumptions=args.assume, points=args.points,
                           dps=args.dps, seed=args.seed, budget=budget)
    if args.json:
        _print_json(verdicts[0].to_dict() if len(verdicts) == 1
                    else [v.to_dict() for v in verdicts])
    elif len(verdicts) == 1:
        print(verdicts[0])
    else:
        for k, v in enumerate(verdicts, 1):
            print(f"step {k} -> {k + 1}: {v}")
    return 0 if all(verdicts) else 1


# ---------------------------------------------------------------------- scan
def _add_scan(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kernel", default="eigentunes", help="kernel to scan: eigentunes or mode_damping")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=START:STOP:NUM",
                   help="a grid axis (repeatable; two axes give a stability diagram)")
    p.add_argument("--random", type=_int_in(0, 10**15, "points"), default=None, metavar="N",
                   help="N uniform random points")
    p.add_argument("--range", action="append", default=[], metavar="NAME=LOW:HIGH",
                   help="interval of a random parameter (repeatable, with --random)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a fixed parameter (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random points")
    p.add_argument("--chunks", type=_int_in(1, 2**40, "points"), default=None,
                   help="points per slab / dask block")
    p.add_argument("--max-points", type=_int_in(1, 10**15, "points"), default=None, metavar="N",
                   help="point budget (default 2**25 = 33554432, about 0.8 GB of outputs): larger scans are "
                        "refused before any memory is allocated")
    p.add_argument("--dask", action="store_true", help="run on dask (threads, or the active cluster)")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--out", default=None, help="write the results to this .npz file")
    p.add_argument("--png", default=None, help="write a stability diagram (2-D grids) to this PNG")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on this dask.distributed scheduler (e.g. tcp://host:8786); implies --dask")


def _run_scan(args: argparse.Namespace) -> int:
    import time

    from coupled_beam import scan as scan_mod

    t0 = time.perf_counter()
    axes = dict(scan_mod.parse_axis(t, args.max_points, option="--max-points") for t in args.grid)
    fixed = dict(scan_mod.parse_fixed(t) for t in args.set)
    points = {}
    if args.random is not None:
        ranges = dict(scan_mod.parse_range(t) for t in args.range)
        # the summary computes every point: the budget holds on dask too
        scan_mod.check_budget(args.random, args.max_points, what=f"--random {args.random}",
                              option="--max-points")
        chunks = (args.chunks or 2**20) if (args.dask or args.scheduler) else None
        points = scan_mod.random_points(args.random, ranges, seed=args.seed, chunks=chunks,
                                        max_points=args.max_points)
    elif args.range:
        raise ValueError("--range needs --random N")
    if args.scheduler:
        from distributed import Client

        # the scan computes on the active client; an address nobody answers is an OSError after 10 s
        with Client(args.scheduler, timeout="10s"):
            return _scan_report(args, scan_mod, axes, fixed, points, t0)
    return _scan_report(args, scan_mod, axes, fixed, points, t0)


def _scan_report(args, scan_mod, axes: dict, fixed: dict, points: dict, t0: float) -> int:
    import time

    use_dask = bool(args.dask or args.scheduler)
    n_grid = math.prod(len(a) for a in axes.values()) * (args.random or 1)
    scan_mod.check_budget(n_grid, args.max_points, option="--max-points")   # before any evaluation
    result = scan_mod.scan(args.kernel, axes=axes, points=points, fixed=fixed, chunks=args.chunks,
                           dask=use_dask or None, progress=args.progress, max_points=args.max_points)
    summary = result.summary()
    if args.out:
        summary["npz"] = str(result.to_npz(args.out))
    if args.png:
        summary["png"] = str(result.stability_png(args.png))
    summary["backend"] = ("dask " + args.scheduler if args.scheduler else "dask") if use_dask else "numpy"
    summary["elapsed_s"] = time.perf_counter() - t0
    _emit(args, summary, 16)
    return 0


# --------------------------------------------------------------------- bench
def _add_bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="small sizes (seconds), for the test suite")
    p.add_argument("--n", type=_int_in(1, BENCH_MAX_N, "points"), default=None,
                   help=f"points of the kernel-vs-eigvals race (1 to {BENCH_MAX_N}; with --accuracy "
                        f"1 to {ACCURACY_MAX_N})")
    p.add_argument("--seed", type=int, default=0, help="seed of the random points")
    p.add_argument("--accuracy", action="store_true",
                   help="instead: max error of the float64 kernels and of eigvals vs 50 digits near every boundary")
    p.add_argument("--peers", action="store_true",
                   help="add the side-by-side section: pyAT, MAD-X (cpymad), xtrack on one FODO ring, "
                        "442 and 4402 elements (each when installed: pip install coupled-beam[bench]; minutes)")
    p.add_argument("--peers-only", action="store_true", help="only the peers section")
    p.add_argument("--peer-cells", default=None,
                   help="peers: ring sizes in FODO cells, comma-separated (default 40,400 = 442, 4402 elements)")
    p.add_argument("--repeat", type=int, default=5, help="peers: interleaved rounds, median (>= 5)")


def _run_bench(args: argparse.Namespace) -> int:
    if args.accuracy:
        from coupled_beam.accuracy import accuracy_report, format_accuracy_table

        if args.n is not None and args.n > ACCURACY_MAX_N:
            from coupled_beam.errors import InputError

            raise InputError(f"--n {args.n} with --accuracy: at most {ACCURACY_MAX_N} points (one 50-digit "
                             "evaluation each, about 2 ms)", field="n", value=args.n)
        table = accuracy_report(n=args.n or (600 if args.quick else 10_000), seed=args.seed or 20261124)
        if args.json:
            _print_json(table)
        else:
            print(format_accuracy_table(table))
        return 0
    from coupled_beam.bench import run_bench

    peers = None
    if args.peers or args.peers_only:
        from coupled_beam.errors import InputError

        cells = args.peer_cells or ("16" if args.quick else "40,400")
        try:
            cells = tuple(int(c) for c in cells.split(","))
        except ValueError:
            raise InputError(f"--peer-cells must be integers separated by commas, got {cells!r}",
                             field="peer_cells") from None
        if min(cells) < 2 or args.repeat < 5:
            raise InputError(f"--peer-cells needs >= 2 cells each and --repeat >= 5 (medians of at "
                             f"least 5), got {cells} and {args.repeat}", field="peer_cells")
        peers = {"cells": cells, "repeat": args.repeat, "periodic": (4, 4) if args.quick else (40, 10)}
    if args.peers_only:
        from coupled_beam.bench_peers import run_peers

        report = {"peers": run_peers(**peers)}
    else:
        report = run_bench(quick=args.quick, n=args.n, seed=args.seed, peers=peers)
    if args.json:
        _print_json(report)
        return 0
    section = report.pop("peers", None)
    _emit(args, report, 24)
    if section is not None:
        from coupled_beam.bench_peers import format_peers

        print(format_peers(section))
    return 0


# --------------------------------------------------------------- equilibrium
def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _add_equilibrium(p: argparse.ArgumentParser) -> None:
    p.add_argument("lattice", help="lattice file, text or JSON (format: coupled_beam.lattice_file); "
                                   "'example' for the shipped example ring")
    p.add_argument("--every", type=_positive_int, default=1,
                   help="print every k-th element boundary (default 1)")
    p.add_argument("--dps", type=_DPS, default=None, metavar="DIGITS",
                   help=f"solve formula (10) in mpmath with this many digits (e.g. 50; 16 to {CLI_MAX_DPS}) "
                        "instead of float64")
    p.add_argument("--table", action="store_true",
                   help="print the optics table (coupled_beam.table: Mais-Ripken optics, dispersion, "
                        "sizes, tilt, 1/S; header with tunes, damping, emittances)")
    p.add_argument("--format", default="tfs", choices=("tfs", "csv", "json"),
                   help="format of --table (default tfs, as MAD-X writes it)")
    p.add_argument("--out", default=None, metavar="FILE", help="write --table to FILE instead of stdout")
    p.add_argument("--model", default="4d", choices=("4d", "6d"),
                   help="4d (default): the paper's model, (10) on the betatron maps and folding (8); "
                        "6d: (10) on the 6x6 one-turn map with the RF cavity (needs 'ring energy=' and an "
                        "'rfcavity' line): adds sigma_delta, sigma_l, mode emittances, damping times, "
                        "partition numbers, Q_s")
    p.add_argument("--tapered", action="store_true",
                   help="6d: magnets scaled to the local energy of the sawtooth (as pyAT's tapering())")
    p.add_argument("--no-sawtooth", action="store_true",
                   help="6d: ignore the energy sawtooth's chromatic effect")


def _run_equilibrium6(args: argparse.Namespace, ring) -> int:
    """``--model 6d`` without ``--table``: the 6-D fields (coupled_beam.sixd.RingEquilibrium6)."""
    eq = ring.equilibrium(model="6d", sawtooth=not args.no_sawtooth, tapered=args.tapered)
    idx = list(range(0, len(eq.s), args.every))
    if idx[-1] != len(eq.s) - 1:
        idx.append(len(eq.s) - 1)
    names = ["start"] + [el.name for el in ring.elements]
    rows = [{"index": i, "after": names[i], "s": eq.s[i], "sigma_x": eq.sigma_x[i],
             "sigma_z": eq.sigma_z[i], "tilt": eq.tilt[i], "inv_area": eq.inv_area[i],
             "sigma_delta": eq.sigma_delta[i], "sigma_l": eq.sigma_l[i], "delta0": eq.delta0[i]}
            for i in idx]
    summary = {"model": "6d", "elements": len(ring), "circumference": ring.circumference,
               "energy_GeV": eq.rf.energy, "energy_loss_eV": eq.rf.energy_loss,
               "synchronous_phase": eq.rf.synchronous_phase, "alpha_c": eq.rf.alpha_c,
               "sigma_delta": eq.sigma_delta[0], "sigma_l": eq.sigma_l[0],
               "emittances": eq.emittances, "tunes": eq.tunes, "q_s": eq.q_s,
               "damping_times": eq.damping_times, "partition_numbers": eq.partition_numbers,
               "sawtooth": not args.no_sawtooth, "tapered": args.tapered}
    if args.json:
        _print_json({"summary": summary, "boundaries": rows})
        return 0
    e, t, j = eq.emittances, eq.damping_times, eq.partition_numbers
    print(f"{len(ring)} elements, s0 = {ring.circumference:.6g} m, E = {eq.rf.energy:.6g} GeV, "
          f"U0 = {eq.rf.energy_loss:.6g} eV, phi_s = {summary['synchronous_phase']:.6f} rad, "
          f"alpha_c = {eq.rf.alpha_c:.4e} (6-D model)")
    print(f"mode emittances (1, 2, long.) = ({e[0]:.5e}, {e[1]:.5e}, {e[2]:.5e}) m; "
          f"tunes = ({eq.tunes[0]:.6f}, {eq.tunes[1]:.6f}), Q_s = {eq.q_s:.6f}")
    print(f"damping times = ({t[0]:.5e}, {t[1]:.5e}, {t[2]:.5e}) s; "
          f"partition numbers = ({j[0]:.5f}, {j[1]:.5f}, {j[2]:.5f}); "
          f"sigma_delta = {eq.sigma_delta[0]:.5e}, sigma_l = {eq.sigma_l[0]:.5e} m")
    print(f"{'i':>5s} {'after':>10s} {'s (m)':>10s} {'sigma_x (m)':>12s} {'sigma_z (m)':>12s} "
          f"{'tilt (rad)':>11s} {'1/S (1/m^2)':>12s} {'sigma_delta':>12s} {'sigma_l (m)':>12s}")
    for r in rows:
        print(f"{r['index']:5d} {r['after'][:10]:>10s} {r['s']:10.4f} {r['sigma_x']:12.5e} "
              f"{r['sigma_z']:12.5e} {r['tilt']:11.5f} {r['inv_area']:12.5e} {r['sigma_delta']:12.5e} "
              f"{r['sigma_l']:12.5e}")
    return 0


def _run_equilibrium(args: argparse.Namespace) -> int:
    from coupled_beam.lattice_file import example_lattice_path, read_lattice

    if args.model == "4d" and (args.tapered or args.no_sawtooth):
        from coupled_beam.errors import InputError

        raise InputError("--tapered and --no-sawtooth are options of --model 6d (the paper's 4-D "
                         "model has no energy sawtooth); add --model 6d", field="model")
    if args.model == "6d" and args.dps is not None:
        from coupled_beam.errors import InputError

        raise InputError(f"--dps {args.dps} is for the 4-D route only; drop --dps with --model 6d",
                         field="dps", value=args.dps)
    ring = read_lattice(example_lattice_path() if args.lattice == "example" else args.lattice)
    if args.model == "6d" and not args.table:
        return _run_equilibrium6(args, ring)
    eq = (ring.equilibrium(model="6d", sawtooth=not args.no_sawtooth, tapered=args.tapered)
          if args.model == "6d" else ring.equilibrium(precision=args.dps))
    if args.table:
        from coupled_beam.table import format_table

        text = format_table(eq.table(), "json" if args.json else args.format)
        if args.out:
            with open(args.out, "w") as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
        return 0
    idx = list(range(0, len(eq.s), args.every))
    if idx[-1] != len(eq.s) - 1:
        idx.append(len(eq.s) - 1)
    names = ["start"] + [el.name for el in ring.elements]
    dec = eq.decomposition
    rows = [{"index": i, "after": names[i], "s": eq.s[i], "sigma_x": eq.sigma_x[i],
             "sigma_z": eq.sigma_z[i], "tilt": eq.tilt[i], "inv_area": eq.inv_area[i]}
            for i in idx]
    summary = {"elements": len(ring), "circumference": ring.circumference, "p2": eq.p2,
               "tunes": dec.tunes, "decrements": dec.decrements,
               "min_denominator": float(np.min(np.abs(dec.denominators)))}
    if args.json:
        _print_json({"summary": summary, "boundaries": rows})
        return 0
    print(f"{len(ring)} elements, s0 = {ring.circumference:.6g} m, <p^2> = {eq.p2:.4g}")
    print(f"eigentunes (g+, g-)/2pi = ({dec.tunes[0]:.6f}, {dec.tunes[1]:.6f}); "
          f"decrements per turn = ({dec.decrements[0]:.4g}, {dec.decrements[1]:.4g}); "
          f"min |1 - Delta_r Delta_s| = {summary['min_denominator']:.3g}")
    print(f"{'i':>5s} {'after':>10s} {'s (m)':>10s} {'sigma_x (m)':>12s} {'sigma_z (m)':>12s} "
          f"{'tilt (rad)':>11s} {'1/S (1/m^2)':>12s}")
    for r in rows:
        print(f"{r['index']:5d} {r['after'][:10]:>10s} {r['s']:10.4f} {r['sigma_x']:12.5e} "
              f"{r['sigma_z']:12.5e} {r['tilt']:11.5f} {r['inv_area']:12.5e}")
    return 0


#: command name -> (add arguments, run, one-line help)
COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "demo": (_add_demo, _run_demo, "the paper's results on the built-in example ring"),
    "tunes": (_add_tunes, _run_tunes, "§5 eigentunes g±, stability and damping ω± of a thin skew quad"),
    "verify": (_add_verify, _run_verify,
               "the paper equation by equation: printed vs derived, ok / misprint / convention / erratum"),
    "derive": (_add_derive, _run_derive, "a derived closed form by name, as text, LaTeX, Python, C or JSON"),
    "check": (_add_check, _run_check, "is EXPR1 == EXPR2? proof, else 50-digit test (exit 1 unless equal)"),
    "scan": (_add_scan, _run_scan, "parameter grids or random points of a kernel, numpy or dask; .npz and PNG"),
    "bench": (_add_bench, _run_bench, "speed ratios measured side by side (kernels vs eigvals, floor, equilibrium)"),
    "equilibrium": (_add_equilibrium, _run_equilibrium, "sizes, tilt and 1/S at every boundary of a lattice file (formula (10))"),
}


class _OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors on one stderr line (no usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"coupled-beam: {category.__name__}: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every registered command."""
    parser = _OneLineParser(
        prog="coupled-beam",
        description="Coupled betatron motion with radiation (Bernardini & Pellegrini, LNF-64/55).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (add, run, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        add(p)
        if not any(a.dest == "json" for a in p._actions):
            p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(_run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``coupled-beam``; returns the exit status."""
    import warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning  # warnings too: one line each, no source echo
        try:
            return int(args._run(args) or 0)
        except (CoupledBeamError, ValueError, ArithmeticError, OSError) as exc:
            print(f"coupled-beam {args.command}: error: {exc}", file=sys.stderr)
            return 2
        except MemoryError as exc:
            print(f"coupled-beam {args.command}: error: out of memory ({exc}); ask for fewer points",
                  file=sys.stderr)
            return 2
        except Exception as exc:  # a bug, not bad input: still one line, distinct status
            print(f"coupled-beam {args.command}: internal error ({type(exc).__name__}: {exc}); "
                  "please report it", file=sys.stderr)
            return 3


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
