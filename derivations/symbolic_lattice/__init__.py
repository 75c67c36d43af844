"""Closed forms for a user's own lattice (beyond the paper): symbolic elements, the §5 chain, kernels.

>>> import sympy as sp
>>> from derivations.symbolic_lattice import SymbolicLattice, Arc, ThinSkewQuadrupole
>>> mu, m = sp.Symbol("mu", real=True), sp.Symbol("m", real=True)
>>> SymbolicLattice([Arc(mu_x=mu, mu_z=mu), ThinSkewQuadrupole(m)]).symbols
(mu, m)
"""

from derivations.symbolic_lattice.canonical import Budget, is_zero, tidy
from derivations.symbolic_lattice.elements import (Arc, Drift, Element, Matrix, Quadrupole,
                                                   SkewQuadrupole, Solenoid, ThinQuadrupole,
                                                   ThinSkewQuadrupole, ThinSolenoid, twiss_matrix)
from derivations.symbolic_lattice.lattice import SymbolicLattice

__all__ = ["Arc", "Budget", "Drift", "Element", "Matrix", "Quadrupole", "SkewQuadrupole", "Solenoid",
           "SymbolicLattice", "ThinQuadrupole", "ThinSkewQuadrupole", "ThinSolenoid", "is_zero", "tidy",
           "twiss_matrix"]
