"""Parameter scans of the vectorized kernels on numpy or dask arrays, with progress.

A scan evaluates one registered kernel (:data:`KERNELS`) on a grid (outer
product of 1-D axes) or on given points (for example random ones), with the
remaining parameters fixed. On numpy the points are processed in slabs of
about ``chunks`` points written into preallocated outputs, so temporaries
stay bounded; on dask the *same* kernel runs on every block through
:func:`dask.array.map_blocks`, so a user with a cluster scans 10⁹ points with
memory bounded by the chunk size (keep the result lazy and reduce it, or
store it chunk by chunk). Results on the same points are bit-identical on
both backends: each point goes through the same float64 operations.

Output: ``.npz`` (:meth:`ScanResult.to_npz`) and, for 2-D grids, a
stability-diagram PNG (:meth:`ScanResult.stability_png`).

dask, distributed, tqdm and matplotlib are imported inside the functions
that need them.

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), §5 (the kernels scanned).

Examples
--------
>>> import numpy as np
>>> res = scan("eigentunes", axes={"mu_x": np.linspace(0.1, 3.0, 4)},
...            fixed={"mu_z": 1.0, "beta_x": 5.0, "beta_z": 5.0, "m": 0.0})
>>> res.shape, bool(res.outputs["stable"].all())
((4,), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from coupled_beam.errors import InputError
from coupled_beam.scan_result import ScanResult, _is_dask

__all__ = ["ScanKernel", "KERNELS", "ScanResult", "scan", "tunes_and_stability", "random_points",
           "parse_axis", "parse_range", "parse_fixed", "check_budget", "MAX_POINTS", "LAZY_MAX_POINTS",
           "MAX_SLABS", "DEFAULT_CHUNK"]

#: default number of points per slab (numpy) or block (dask): 2**18 points = 2 MiB per float64 array
DEFAULT_CHUNK = 2**18

#: point budget of a scan whose outputs are materialised (numpy, or dask with ``compute=True``):
#: 2**25 = 33.5 million points, about 0.8 GB of outputs for "eigentunes" and a few seconds per
#: core; raise it with ``max_points=`` (CLI ``--max-points``). A lazy dask scan
#: (``compute=False``) is bounded by ``LAZY_MAX_POINTS`` instead: only its blocks are held in memory.
MAX_POINTS = 2**25

#: point budget of a lazy dask scan (``compute=False``): reduce or store it chunk by chunk
LAZY_MAX_POINTS = 10**12

#: more slabs or blocks than this is refused (a Python loop or a task graph that long is a hang):
#: give larger ``chunks``; 10**4 slabs take about 0.5 s of loop overhead
MAX_SLABS = 10**4


def tunes_and_stability(mu_x, mu_z, beta_x, beta_z, m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """g± and the stability mask in one pass: the mask is the NaN pattern of g± (§5).

    The generated g± kernel gives NaN exactly where b² < 0 or abs(a ± b) > 2,
    so ``isfinite(g+) & isfinite(g-)`` is the stability condition of
    :func:`coupled_beam.stable` without a second evaluation of the trigonometry
    (tests check that both masks agree).

    Parameters
    ----------
    mu_x, mu_z, beta_x, beta_z, m : array_like
        As in :func:`coupled_beam.eigentunes` (rad, rad, m, m, 1/m).

    Returns
    -------
    g_plus, g_minus : numpy.ndarray
        Eigentunes (rad), NaN where that mode is unstable.
    stable : numpy.ndarray of bool
        Both modes stable.

    References
    ----------
    LNF-64/55 §5: cos g± = (a ± b)/2; stable iff b² ≥ 0 and abs(a ± b) ≤ 2.

    Examples
    --------
    >>> g_p, g_m, ok = tunes_and_stability([1.0, 3.0], [2.0, 3.0], 10.0, 10.0, 0.05)
    >>> ok
    array([ True, False])
    """
    from coupled_beam import _kernels
    from coupled_beam.skew_quadrupole import eigentunes

    args = _valid_skew_args((mu_x, mu_z, beta_x, beta_z, m))
    if args is None:   # the public API names the offending value (InputError)
        g_p, g_m = eigentunes(mu_x, mu_z, beta_x, beta_z, m)
    else:              # the same generated kernel eigentunes() calls, after a cheaper check
        with np.errstate(invalid="ignore"):
            g_p, g_m = (np.asarray(g, dtype=np.float64) for g in _kernels.skew_eigentunes(*args))
        swap = g_p > g_m   # as eigentunes(): g+ <= g- exactly (the atan2 forms may cross by an ulp at b = 0)
        if np.any(swap):
            g_p, g_m = np.where(swap, g_m, g_p), np.where(swap, g_p, g_m)
    return g_p, g_m, np.asarray(~(np.isnan(g_p) | np.isnan(g_m)))


def _valid_skew_args(values: tuple) -> list[np.ndarray] | None:
    """float64 arrays if all are real, finite, β > 0 and broadcastable, else None.

    One ``min`` and one ``max`` per array (NaN propagates through both), no
    temporaries: about a fifth of the cost of ``isfinite`` checks plus copies.
    """
    arrays = []
    for name, value in zip(_SKEW, values):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            return None
        arr = arr.astype(np.float64, copy=False)
        if arr.size:
            lo, hi = float(arr.min()), float(arr.max())
            if not (math.isfinite(lo) and math.isfinite(hi)) or (name.startswith("beta") and not lo > 0):
                return None
        arrays.append(arr)
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        return None
    return arrays


def _mode_damping(mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0):
    from coupled_beam.skew_quadrupole import mode_damping

    return mode_damping(mu_x, mu_z, beta_x, beta_z, m, d11_s0, d22_s0)


@dataclass(frozen=True)
class ScanKernel:
    """A kernel that a scan can evaluate.

    Parameters
    ----------
    name : str
        Registry name.
    params : tuple of str
        Argument names, in call order.
    outputs : tuple of str
        Names of the returned arrays, in order.
    func : callable
        ``func(*params) -> tuple of arrays`` of the broadcast shape (float64
        or bool), element-wise: the value at a point depends only on that point.
    """

    name: str
    params: tuple[str, ...]
    outputs: tuple[str, ...]
    func: Callable


_SKEW = ("mu_x", "mu_z", "beta_x", "beta_z", "m")

#: registered kernels: name -> ScanKernel
KERNELS: dict[str, ScanKernel] = {
    "eigentunes": ScanKernel("eigentunes", _SKEW, ("g_plus", "g_minus", "stable"), tunes_and_stability),
    "mode_damping": ScanKernel("mode_damping", _SKEW + ("d11_s0", "d22_s0"),
                               ("omega_plus", "omega_minus"), _mode_damping),
}


def _resolve(kernel: str | ScanKernel) -> ScanKernel:
    if isinstance(kernel, ScanKernel):
        return kernel
    if kernel not in KERNELS:
        raise InputError(f"unknown kernel {kernel!r}; choose one of {sorted(KERNELS)}", kernel=kernel)
    return KERNELS[kernel]


def _floats(name: str, value) -> np.ndarray:
    """float64 array of real numbers; InputError naming the parameter otherwise."""
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "biuf":
            raise TypeError(raw.dtype)
        return raw.astype(np.float64, copy=False)   # no copy for float64 input
    except (TypeError, ValueError):
        raise InputError(f"{name} must be real numbers, got {value!r}", name=name) from None


def _arguments(k: ScanKernel, axes: Mapping, points: Mapping, fixed: Mapping) -> tuple[dict, dict]:
    """Every parameter once, grid axes as open-mesh arrays; (values, axes)."""
    given = [*axes, *points, *fixed]
    dup = sorted({n for n in given if given.count(n) > 1})
    unknown = sorted(set(given) - set(k.params))
    missing = [p for p in k.params if p not in given]
    if dup or unknown or missing:
        raise InputError(f"kernel {k.name!r} takes {list(k.params)}: "
                         f"duplicate {dup}, unknown {unknown}, missing {missing}; give each exactly once",
                         duplicate=dup, unknown=unknown, missing=missing)
    values: dict = {}
    axis_values: dict = {}
    ndim = len(axes)
    for i, (name, ax) in enumerate(axes.items()):
        ax = ax if _is_dask(ax) else _floats(name, ax)
        if ax.ndim != 1:
            raise InputError(f"grid axis {name} must be 1-D, got shape {ax.shape}", name=name)
        axis_values[name] = ax
        values[name] = ax.reshape((1,) * i + (-1,) + (1,) * (ndim - i - 1))
    for name, v in points.items():
        values[name] = v if _is_dask(v) else _floats(name, v)
    for name, v in fixed.items():
        if np.ndim(v) != 0:
            raise InputError(f"fixed parameter {name} must be a scalar, got shape {np.shape(v)}; "
                             "pass arrays as points or axes", name=name)
        values[name] = np.float64(_floats(name, v))
    return {p: values[p] for p in k.params}, axis_values


def check_budget(n_points: int, max_points: int | None = None, *, what: str = "the scan",
                 option: str = "max_points=") -> int:
    """``n_points`` if within the budget, else InputError giving the number and how to raise it.

    Parameters
    ----------
    n_points : int
        Points asked for.
    max_points : int, optional
        The budget (default :data:`MAX_POINTS`).
    what, option : str
        For the message: what has that many points, and the option that raises the budget.

    Examples
    --------
    >>> check_budget(1000)
    1000
    >>> check_budget(10**9)
    Traceback (most recent call last):
    ...
    coupled_beam.errors.InputError: the scan has 1000000000 points, more than the budget of 33554432 \
(about 24 GB of outputs); ask for fewer points, or raise the budget with max_points= (or scan lazily \
on dask with compute=False and reduce)
    """
    limit = MAX_POINTS if max_points is None else int(max_points)
    if limit < 1:
        raise InputError(f"max_points must be >= 1, got {max_points}", max_points=max_points)
    if n_points > limit:
        raise InputError(f"{what} has {n_points} points, more than the budget of {limit} "
                         f"(about {n_points * 24 / 1e9:.3g} GB of outputs); ask for fewer points, "
                         f"or raise the budget with {option}"
                         + (" (or scan lazily on dask with compute=False and reduce)" if option == "max_points=" else ""),
                         points=n_points, max_points=limit)
    return int(n_points)


def _count_slabs(shape: tuple, chunk: int) -> int:
    """len(_slabs(shape, chunk)) without building the list."""
    if len(shape) == 0:
        return 1
    inner = math.prod(shape[1:])
    if inner <= chunk or len(shape) == 1:
        rows = max(1, chunk // max(inner, 1))
        return max(1, -(-shape[0] // rows))
    return shape[0] * _count_slabs(shape[1:], chunk)


def scan(kernel: str | ScanKernel = "eigentunes", *, axes: Mapping | None = None,
         points: Mapping | None = None, fixed: Mapping | None = None,
         chunks: int | None = None, dask: bool | None = None, progress: bool = False,
         compute: bool = True, scheduler: str | None = None,
         max_points: int | None = None) -> ScanResult:
    """Evaluate a kernel on a grid and/or on given points.

    Parameters
    ----------
    kernel : str or ScanKernel
        A name in :data:`KERNELS` (``"eigentunes"``: g±, stable; ``"mode_damping"``: ω±).
    axes : mapping of str to 1-D array, optional
        Grid axes; the grid is their outer product, in this order.
    points : mapping of str to array, optional
        Pointwise parameters (numpy or dask), broadcast with the grid.
    fixed : mapping of str to float, optional
        Scalar parameters.
    chunks : int, optional
        Points per numpy slab or dask block (default :data:`DEFAULT_CHUNK`).
    dask : bool, optional
        Force the dask route (default: when any input is a dask array).
    progress : bool
        A progress bar (tqdm on numpy; dask's or distributed's on dask).
    compute : bool
        On dask, evaluate now; False keeps lazy outputs (reduce them with
        :meth:`ScanResult.summary` or store them chunk by chunk).
    scheduler : str, optional
        Dask scheduler for the compute (``"threads"``, ``"synchronous"``...);
        default: the active distributed client if any, else dask's default.
    max_points : int, optional
        Point budget (default :data:`MAX_POINTS` = 2**25 when the outputs are
        materialised, :data:`LAZY_MAX_POINTS` for a lazy dask scan): a larger
        grid is refused up front, before any memory is allocated.

    Returns
    -------
    ScanResult

    Raises
    ------
    InputError
        Unknown kernel, a parameter missing, unknown or given twice, a
        non-1-D axis, invalid values (non-finite, β ≤ 0), more points than
        ``max_points``, or more than :data:`MAX_SLABS` slabs (``chunks`` too small).

    References
    ----------
    LNF-64/55 §5 (the registered kernels).

    Examples
    --------
    >>> res = scan("eigentunes", axes={"mu_x": [1.0, 2.0], "mu_z": [1.0, 1.5, 2.0]},
    ...            fixed={"beta_x": 10.0, "beta_z": 10.0, "m": 0.02})
    >>> res.outputs["g_plus"].shape
    (2, 3)
    """
    k = _resolve(kernel)
    values, axis_values = _arguments(k, dict(axes or {}), dict(points or {}), dict(fixed or {}))
    arrays = list(values.values())
    try:
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    except ValueError:
        shapes = ", ".join(f"{n}{np.shape(a)}" for n, a in values.items())
        raise InputError(f"shapes do not broadcast: {shapes}; give points of one shape", shapes=shapes) from None
    chunk = DEFAULT_CHUNK if chunks is None else int(chunks)
    if chunk < 1:
        raise InputError(f"chunks must be >= 1 point, got {chunks}", chunks=chunks)
    use_dask = any(_is_dask(a) for a in arrays) if dask is None else bool(dask)
    lazy = use_dask and not compute
    n_points = math.prod(shape)
    check_budget(n_points, max_points if max_points is not None else (LAZY_MAX_POINTS if lazy else None))
    n_slabs = -(-n_points // chunk) if use_dask else _count_slabs(tuple(shape), chunk)
    if n_slabs > MAX_SLABS:
        raise InputError(f"chunks = {chunk} cuts {n_points} points into {n_slabs} slabs, more than {MAX_SLABS}; "
                         f"give chunks >= {-(-n_points // MAX_SLABS)} (default {DEFAULT_CHUNK})", chunks=chunk)
    params = dict(values)
    params.update(axis_values)
    result = ScanResult(k, tuple(shape), axis_values, params)
    if use_dask:
        result.outputs = _scan_dask(k, arrays, shape, chunk)
        if compute:
            result.compute(progress=progress, scheduler=scheduler, max_points=max_points)
    else:
        result.outputs = _scan_numpy(k, arrays, shape, chunk, progress)
    return result


def _slabs(shape: tuple, chunk: int) -> list[tuple[slice, ...]]:
    """Index tuples covering ``shape`` in C order, about ``chunk`` points each."""
    if len(shape) == 0:
        return [()]
    inner = math.prod(shape[1:])
    if inner <= chunk or len(shape) == 1:
        rows = max(1, chunk // max(inner, 1))
        return [(slice(i, min(i + rows, shape[0])),) for i in range(0, shape[0], rows)] or [(slice(0, 0),)]
    return [(i,) + rest for i in range(shape[0]) for rest in _slabs(shape[1:], chunk)]


def _scan_numpy(k: ScanKernel, arrays: list, shape: tuple, chunk: int, progress: bool) -> dict:
    full = [np.broadcast_to(a, shape) for a in arrays]
    slabs = _slabs(shape, chunk)
    if progress:
        from tqdm import tqdm

        slabs = tqdm(slabs, desc=f"scan {k.name}", unit="slab")
    outs: list | None = None
    for idx in slabs:
        res = k.func(*(f[idx] for f in full))
        if outs is None:
            outs = [np.empty(shape, dtype=np.asarray(r).dtype) for r in res]
        for o, r in zip(outs, res):
            o[idx] = r
    if outs is None:   # empty grid: evaluate once on the empty arrays for dtypes
        outs = [np.asarray(r) for r in k.func(*full)]
    return dict(zip(k.outputs, outs))


def _block(*blocks, kernel_func: Callable, layout: tuple) -> np.ndarray:
    """One dask block: the kernel on numpy blocks, outputs stacked on a new first axis.

    ``layout`` has one entry per kernel argument: ``None`` for the next dask
    block, else the scalar value itself (scalars are constants of the task,
    never dask arrays, so no block waits on a shared broadcast task).
    """
    it = iter(blocks)
    args = [next(it) if c is None else c for c in layout]
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    res = kernel_func(*args)
    return np.stack([np.broadcast_to(np.asarray(r, dtype=np.float64), shape) for r in res])


def _aligned(a, shape: tuple, blocks: tuple):
    """``a`` as a dask array of ndim len(shape): blocks in full dimensions, one block where size 1."""
    import dask.array as da

    a = a if _is_dask(a) else da.from_array(np.asarray(a, dtype=np.float64), chunks=-1)
    a = a.reshape((1,) * (len(shape) - a.ndim) + a.shape)
    want = tuple(b if a.shape[d] == shape[d] else (1,) for d, b in enumerate(blocks))
    return a if a.chunks == want else a.rechunk(want)


def _scan_dask(k: ScanKernel, arrays: list, shape: tuple, chunk: int) -> dict:
    import dask.array as da

    # keep the blocks of a full-shape dask input: rechunking it would make each output
    # block wait on two input blocks, and memory would grow with the number of blocks
    full = [a for a in arrays if _is_dask(a) and a.shape == tuple(shape)]
    if full:
        blocks = full[0].chunks
    else:
        blocks = da.core.normalize_chunks("auto", shape, limit=chunk * 8, dtype=np.float64)
    layout = tuple(None if np.ndim(a) else float(a) for a in arrays)
    lazy = [_aligned(a, shape, blocks) for a in arrays if np.ndim(a)]
    n_out = len(k.outputs)
    stacked = da.map_blocks(_block, *lazy, kernel_func=k.func, layout=layout, dtype=np.float64,
                            new_axis=0, chunks=((n_out,),) + blocks,
                            meta=np.empty((0,) * (len(shape) + 1)))
    probe = k.func(*(np.ones((1,)) for _ in arrays))   # output dtypes from one valid point
    outputs = {}
    for i, (name, sample) in enumerate(zip(k.outputs, probe)):
        out = stacked[i]
        outputs[name] = out.astype(bool) if np.asarray(sample).dtype == bool else out
    return outputs


def random_points(n: int, ranges: Mapping[str, tuple[float, float]], *, seed: int = 0,
                  chunks: int | None = None, max_points: int | None = None) -> dict:
    """Uniform random points in boxes, as numpy arrays or (``chunks`` given) lazy dask arrays.

    Parameters
    ----------
    n : int
        Number of points.
    ranges : mapping of str to (low, high)
        One interval per parameter.
    seed : int
        Seed of the generator (numpy's ``default_rng``; dask's blockwise RNG
        when ``chunks`` is given, so the two routes draw different points).
    max_points : int, optional
        Budget of the numpy route (default :data:`MAX_POINTS`); the lazy dask
        route draws blocks on the workers and is not limited here.
    chunks : int, optional
        Points per dask block; each block is drawn on the worker, so 10⁹
        points never exist in one memory.

    Examples
    --------
    >>> p = random_points(3, {"mu_x": (0.0, 1.0)})
    >>> p["mu_x"].shape, bool(((p["mu_x"] >= 0) & (p["mu_x"] < 1)).all())
    ((3,), True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InputError(f"n must be a whole number of points, got {n!r}", n=repr(n))
    if n < 0:
        raise InputError(f"n must be >= 0, got {n}", n=n)
    if chunks is None:
        check_budget(int(n), max_points, what=f"random_points(n={n})")
    elif int(chunks) < 1 or -(-int(n) // int(chunks)) > MAX_SLABS:
        raise InputError(f"chunks = {chunks} cuts {n} points into more than {MAX_SLABS} blocks (or is < 1); "
                         f"give chunks >= {max(1, -(-int(n) // MAX_SLABS))}", chunks=chunks)
    for k, bounds in ranges.items():
        lo, hi = (float(v) for v in _floats(k, bounds).reshape(2))
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise InputError(f"range of {k} must be finite with low <= high, got ({lo}, {hi})",
                             name=k, value=(lo, hi))
    if chunks is None:
        rng = np.random.default_rng(seed)
        return {k: rng.uniform(lo, hi, n) for k, (lo, hi) in ranges.items()}
    import dask.array as da

    rng = da.random.default_rng(seed)
    return {k: rng.uniform(lo, hi, size=n, chunks=chunks) for k, (lo, hi) in ranges.items()}


# ----------------------------------------------------------- CLI text parsing
def _split(text: str, parts: int, what: str) -> tuple[str, list[float]]:
    name, sep, rest = text.partition("=")
    fields = rest.split(":") if sep else []
    if not name or len(fields) != parts:
        raise InputError(f"cannot read {text!r} as {what}", text=text)
    try:
        nums = [float(f) for f in fields]
    except ValueError:
        raise InputError(f"cannot read {text!r} as {what}: not a number", text=text) from None
    if not all(math.isfinite(v) for v in nums):
        raise InputError(f"{text!r}: values must be finite", text=text)
    return name, nums


def parse_axis(text: str, max_points: int | None = None, *,
               option: str = "max_points=") -> tuple[str, np.ndarray]:
    """``NAME=START:STOP:NUM`` -> (name, numpy.linspace(START, STOP, NUM)).

    NUM above ``max_points`` (default :data:`MAX_POINTS`) is refused before
    the axis is allocated.

    Examples
    --------
    >>> parse_axis("mu_x=0:1:3")
    ('mu_x', array([0. , 0.5, 1. ]))
    """
    name, (start, stop, num) = _split(text, 3, "NAME=START:STOP:NUM")
    if num != int(num) or num < 1:
        raise InputError(f"{text!r}: NUM must be a whole number >= 1", text=text)
    check_budget(int(num), max_points, what=f"the axis {text!r}", option=option)
    return name, np.linspace(start, stop, int(num))


def parse_range(text: str) -> tuple[str, tuple[float, float]]:
    """``NAME=LOW:HIGH`` -> (name, (low, high)).

    Examples
    --------
    >>> parse_range("m=-0.1:0.1")
    ('m', (-0.1, 0.1))
    """
    name, (lo, hi) = _split(text, 2, "NAME=LOW:HIGH")
    return name, (lo, hi)


def parse_fixed(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` -> (name, value).

    Examples
    --------
    >>> parse_fixed("beta_x=10")
    ('beta_x', 10.0)
    """
    name, (value,) = _split(text, 1, "NAME=VALUE")
    return name, value
