"""coupled_beam: coupled betatron motion with radiation, after LNF-64/55.

C. Bernardini and C. Pellegrini, *Transverse beam size in electron storage
rings*, LNF-64/55 (1964). The numeric layer: fast kernels generated from the
sympy derivations in :mod:`derivations` (see ``coupled_beam/_kernels.py``), a
lattice engine and the equilibrium beam moments of formula (10).

Importing this package imports numpy only; sympy, scipy, matplotlib and dask
are imported inside the functions that need them. The public names below
are resolved lazily on first use.

Examples
--------
>>> import coupled_beam as cb
>>> g_plus, g_minus = cb.eigentunes(1.0, 1.3, 10.0, 8.0, 0.01)
>>> bool(g_plus < g_minus)
True
"""

from __future__ import annotations

import importlib

from coupled_beam.errors import (  # noqa: F401  (cheap, no heavy imports)
    CoupledBeamError,
    InputError,
    LatticeFileError,
    PhysicsWarning,
    ResonanceError,
    ResonanceWarning,
    UnknownElementError,
    UnstableError,
)

__version__ = "0.1.0"

#: public name -> submodule that defines it (DESIGN.md, public API contract)
_LAZY = {
    "eigentunes": "skew_quadrupole",
    "stable": "skew_quadrupole",
    "mode_damping": "skew_quadrupole",
    "thin_skew_one_turn_map": "skew_quadrupole",
    "tunes_and_stability": "scan",
    "equilibrium_moments": "equilibrium",
    "folded_mu": "distribution",
    "beam_spot": "distribution",
    "overlap_inv_area": "distribution",
    "Ring": "lattice",
}

__all__ = sorted(
    list(_LAZY)
    + [
        "CoupledBeamError",
        "InputError",
        "LatticeFileError",
        "PhysicsWarning",
        "ResonanceError",
        "ResonanceWarning",
        "UnknownElementError",
        "UnstableError",
    ]
)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'coupled_beam' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"coupled_beam.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
