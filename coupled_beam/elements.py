"""Compatibility name: the element values live in :mod:`coupled_beam.lattice.elements`.

Examples
--------
>>> from coupled_beam.elements import Drift
>>> Drift(1.0).length
1.0
"""

from coupled_beam.lattice.elements import (Bend, Drift, Element, Generic, Marker, Matrix,  # noqa: F401
                                           Quadrupole, RFCavity, SkewQuadrupole, Solenoid,
                                           ThinQuadrupole, ThinSkewQuadrupole, __all__, van_loan)
