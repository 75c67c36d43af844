"""The lattice core: frozen element values, their maps, rings.

``from coupled_beam.lattice import Ring, Drift, Bend, ...`` as before; the
package is cut in three one-way layers:

* :mod:`coupled_beam.lattice.elements` frozen element values (Drift, Bend with
  faces, Quadrupole, ..., Marker, Matrix, RFCavity, Generic);
* :mod:`coupled_beam.lattice.maps` the one home of element maps (6x6 on
  (x, x', z, z', delta, l), stacked by kind), cumulative products, partial
  propagation, locating s;
* :mod:`coupled_beam.lattice.ring` :class:`Ring` (one cell, periodicity,
  optional radiation model; facades ``equilibrium()``, ``with_radiation()``).

Physics modules (optics, radiation, equilibrium) import this package, never
the reverse (Ring's facade methods import them lazily).

Examples
--------
>>> ring = Ring([Bend(1.0, K=0.5, n=0.5)] * 4)
>>> ring.s[-1], ring.periodicity
(np.float64(4.0), 1)
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (doctest namespace)

from coupled_beam.lattice import elements as _elements
from coupled_beam.lattice.elements import (Bend, Drift, Element, Generic, Marker, Matrix,  # noqa: F401
                                           Quadrupole, RFCavity, Sextupole, SkewQuadrupole, Solenoid,
                                           ThinQuadrupole, ThinSextupole, ThinSkewQuadrupole, _finite, van_loan)
from coupled_beam.lattice.ring import Ring

__all__ = [*_elements.__all__, "Ring"]
