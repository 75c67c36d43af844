"""One small exception hierarchy for the whole toolkit.

Every error also inherits the builtin that fits it, so ``except ValueError``
keeps working for users who do not know this module, and every error
pickles (it crosses Dask workers) with its attributes intact.

==========================  ====================  ===============================
class                       also a                raised when
==========================  ====================  ===============================
``CoupledBeamError``        ``Exception``         base of everything below
``InputError``              ``ValueError``        NaN/inf, beta <= 0, bad shapes,
                                                  noise not symmetric or not
                                                  positive semidefinite, a map
                                                  that overflows float64, an
                                                  energy loss per turn >= E/2,
                                                  a scan above its point budget
``UnstableError``           ``ValueError``        a mode has abs(Delta) >= 1 or a
                                                  real eigentune does not exist
                                                  (over-focused: said so)
``ResonanceError``          ``ArithmeticError``   a denominator 1 - Delta_r Delta_s
                                                  vanishes (exact resonance)
``LatticeFileError``        ``ValueError``        a lattice file cannot be read
                                                  or is not strict (duplicates,
                                                  unknown keys, wrong JSON
                                                  types; line and field named)
``UnknownElementError``     ``LatticeFileError``  an element type is not known
``RFError``                 ``ValueError``        the RF cannot hold a synchronous
                                                  particle (6-D): no cavity, V < U0,
                                                  wrong phase for the side of transition
``BudgetExceededError``     ``RuntimeError``      a symbolic derivation exceeds its
                                                  time or size budget
``KernelCheckError``        ``ArithmeticError``   a generated kernel disagrees with
                                                  the numeric engine
``ResonanceWarning``        ``UserWarning``       near a resonance: float64 loses
                                                  digits; use ``precision=``
``PhysicsWarning``          ``UserWarning``       a model assumption is stretched
==========================  ====================  ===============================

Examples
--------
>>> import pickle
>>> from coupled_beam.errors import UnstableError
>>> err = UnstableError("mode 2 unstable: |Delta| = 1.0003 > 1", mode=2, value=1.0003)
>>> isinstance(err, ValueError), err.mode
(True, 2)
>>> pickle.loads(pickle.dumps(err)).value
1.0003
"""

from __future__ import annotations

__all__ = [
    "CoupledBeamError",
    "InputError",
    "UnstableError",
    "ResonanceError",
    "LatticeFileError",
    "UnknownElementError",
    "RFError",
    "ResonanceWarning",
    "PhysicsWarning",
]


class CoupledBeamError(Exception):
    """Base class of every coupled_beam error.

    Parameters
    ----------
    message : str
        What went wrong, with the offending value and what to change.
    **details
        Machine-readable facts (``value=``, ``mode=``, ``line=``, ...), kept
        as attributes.
    """

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = dict(details)
        for key, val in details.items():
            setattr(self, key, val)

    def __reduce__(self):
        return (_rebuild, (type(self), self.args[0] if self.args else "", self.details))


def _rebuild(cls, message, details):
    return cls(message, **details)


class InputError(CoupledBeamError, ValueError):
    """Input that cannot describe a physical machine (NaN, beta <= 0, shape, asymmetry)."""


class UnstableError(CoupledBeamError, ValueError):
    """The lattice is not stable: some eigenvalue of N has modulus >= 1."""


class ResonanceError(CoupledBeamError, ArithmeticError):
    """A resonance denominator 1 - Delta_r Delta_s of formula (10) vanishes."""


class LatticeFileError(CoupledBeamError, ValueError):
    """A lattice file is malformed; ``line`` and ``field`` name the place."""


class UnknownElementError(LatticeFileError):
    """An element type the lattice engine does not know."""


class RFError(CoupledBeamError, ValueError):
    """No stable synchronous particle: no cavity, too little voltage, or the wrong RF phase."""


class BudgetExceededError(CoupledBeamError, RuntimeError):
    """A symbolic derivation exceeds its time or expression-size budget (``what``, ``limit`` named)."""


class KernelCheckError(CoupledBeamError, ArithmeticError):
    """A generated kernel disagrees with the numeric engine (``point`` holds the counterexample)."""


class ResonanceWarning(UserWarning):
    """Near a resonance float64 loses digits; the high-precision path is advised."""


class PhysicsWarning(UserWarning):
    """A model assumption of the paper is stretched (e.g. strong damping per turn)."""
