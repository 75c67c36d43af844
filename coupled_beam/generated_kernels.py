"""Kernels generated on the fly for a user's own lattice: the disk cache and the loader.

:func:`derivations.symbolic_lattice.kernels.lattice_kernels` derives the
closed forms of a :class:`~derivations.symbolic_lattice.SymbolicLattice`,
prints them as an ordinary numpy module (sympy's ``NumPyPrinter``, common
subexpressions eliminated), checks them against the numeric engine and stores
the module here, under a key that hashes the lattice, the sympy version and
the engine version. This module only reads and writes that cache: it imports
no sympy, so loading a cached kernel costs an import of a small file.

Cache directory: ``$COUPLED_BEAM_CACHE`` when set, else the user cache
directory (``platformdirs.user_cache_dir("coupled_beam")`` when platformdirs is
installed, else ``~/.cache/coupled_beam``), subfolder ``kernels``. Each entry
is ``<key>.py`` (the kernels) and ``<key>.json`` (symbols, kernel names, the
check report).

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     print(cache_dir(d).name, load("0123456789abcdef", d) is None)
kernels True
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from coupled_beam.errors import InputError

__all__ = ["LatticeKernels", "cache_dir", "load", "store", "ENV_VAR"]

#: environment variable overriding the cache directory
ENV_VAR = "COUPLED_BEAM_CACHE"


def cache_dir(base: str | os.PathLike | None = None) -> Path:
    """The kernel cache folder (created on demand by :func:`store`)."""
    if base is not None:
        return Path(base) / "kernels"
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env) / "kernels"
    try:
        from platformdirs import user_cache_dir
        root = Path(user_cache_dir("coupled_beam"))
    except ImportError:
        root = Path.home() / ".cache" / "coupled_beam"
    return root / "kernels"


class LatticeKernels:
    """Checked numpy kernels of one lattice (loaded from the cache).

    Attributes
    ----------
    key : str
        Cache key (lattice hash, sympy version, engine version).
    symbols : tuple of str
        Argument names, in order; every kernel takes them positionally or by name.
    names : tuple of str
        Kernel names (``eigentunes``, ``stability_terms``, ``mode_damping``, ...).
    outputs : dict
        Kernel name -> names of its outputs.
    report : dict
        The check against the numeric engine: per kernel the worst error, the
        tolerance and the number of points; ``points`` the random points used.
    path : Path
        The generated module (ordinary Python, readable).
    from_cache : bool
        True when loaded from an earlier run.

    Every kernel broadcasts its arguments and returns a tuple of float64 arrays
    of the broadcast shape (NaN where a square root or arccos leaves its domain:
    an unstable mode).
    """

    def __init__(self, module, meta: dict, path: Path, from_cache: bool) -> None:
        self._module = module
        self.key = meta["key"]
        self.symbols = tuple(meta["symbols"])
        self.names = tuple(meta["kernels"])
        self.outputs = {k: tuple(v) for k, v in meta["outputs"].items()}
        self.report = meta.get("report", {})
        self.lattice = meta.get("lattice", "")
        self.path = path
        self.from_cache = from_cache

    def __repr__(self) -> str:
        return (f"LatticeKernels({', '.join(self.names)}; args {', '.join(self.symbols)}; "
                f"{'cached' if self.from_cache else 'new'})")

    def _args(self, name: str, args, kwargs) -> list:
        if len(args) > len(self.symbols):
            raise InputError(f"{name} takes {len(self.symbols)} arguments ({', '.join(self.symbols)}), "
                             f"got {len(args)}")
        vals = dict(zip(self.symbols, args))
        for k, v in kwargs.items():
            if k not in self.symbols:
                raise InputError(f"{name}: unknown argument {k!r}; arguments: {', '.join(self.symbols)}",
                                 field=k)
            if k in vals:
                raise InputError(f"{name}: argument {k!r} given twice", field=k)
            vals[k] = v
        missing = [s for s in self.symbols if s not in vals]
        if missing:
            raise InputError(f"{name}: missing argument{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(missing)}", field=missing[0])
        return [np.asarray(vals[s], dtype=np.float64) for s in self.symbols]

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self.__dict__.get("names", ()):
            raise AttributeError(name)
        fn = getattr(self._module, name)
        n_out = len(self.outputs[name])

        def kernel(*args, **kwargs):
            vals = self._args(name, args, kwargs)
            shape = np.broadcast(*vals).shape if vals else ()
            with np.errstate(invalid="ignore", divide="ignore"):
                res = fn(*vals)
            return tuple(np.broadcast_to(np.asarray(r, dtype=np.float64), shape).copy()
                         for r in res[:n_out])

        kernel.__name__ = name
        kernel.__doc__ = fn.__doc__
        return kernel

    def as_dict(self, name: str, *args, **kwargs) -> dict:
        """One kernel's outputs by name: ``{"g_plus": ..., "g_minus": ...}``."""
        return dict(zip(self.outputs[name], getattr(self, name)(*args, **kwargs)))


def _paths(key: str, base) -> tuple[Path, Path]:
    d = cache_dir(base)
    return d / f"{key}.py", d / f"{key}.json"


def load(key: str, base: str | os.PathLike | None = None) -> LatticeKernels | None:
    """The cached kernels of ``key``, or None when absent or incomplete (no sympy imported)."""
    py, js = _paths(key, base)
    if not (py.is_file() and js.is_file()):
        return None
    try:
        meta = json.loads(js.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("key") != key:
        return None
    modname = f"coupled_beam_generated_{key}"
    spec = importlib.util.spec_from_file_location(modname, py)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:  # noqa: BLE001 -- a corrupt cache entry is regenerated, not fatal
        return None
    sys.modules.setdefault(modname, module)
    return LatticeKernels(module, meta, py, from_cache=True)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def store(key: str, source: str, meta: dict, base: str | os.PathLike | None = None) -> LatticeKernels:
    """Write a checked kernel module and its metadata; return it loaded."""
    py, js = _paths(key, base)
    _atomic_write(py, source)
    _atomic_write(js, json.dumps({**meta, "key": key}, indent=1, default=float))
    out = load(key, base)
    if out is None:  # pragma: no cover -- we just wrote it
        raise OSError(f"cannot load the kernel module just written to {py}")
    out.from_cache = False
    return out
