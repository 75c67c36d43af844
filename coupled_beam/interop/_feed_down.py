"""Multipoles that keep their orbit dependence: the converters' sextupoles for the 6-D sawtooth.

A magnet with multipoles of order >= 2 is linear only about an orbit; its
gradient there is the feed-down c_1,eff = sum_n n c_n w0^(n-1)
(:mod:`coupled_beam.interop._common`), and its derivative with respect to the
orbit, d c_1,eff / dw = sum_n n (n - 1) c_n w0^(n - 2) (K2 + i K2S for a
sextupole), is what an orbit displacement adds. The converters (pyAT, MAD-X,
Xsuite) keep it on :class:`~coupled_beam.lattice.Sextupole` /
:class:`~coupled_beam.lattice.ThinSextupole`, whose ``displaced`` the 6-D route
applies at the energy-sawtooth orbit (:mod:`coupled_beam.sixd`).
"""

from __future__ import annotations

import math

from coupled_beam.interop._common import quadrupole, roll_of

__all__ = ["orbit_sensitivity", "linear_part"]


def orbit_sensitivity(normal, skew, x0: float, z0: float) -> complex:
    """d(k1 + i k1s)/d(x + i z) of the multipoles of order >= 2 at the orbit (magnet frame).

    Parameters
    ----------
    normal, skew : sequence of float
        b_n, a_n (pyAT PolynomB / PolynomA, MAD-X K_n / n!), per metre or integrated.
    x0, z0 : float
        Orbit in the magnet frame (m).

    Returns
    -------
    complex
        sum_n n (n - 1) (b_n + i a_n) w0^(n - 2) (1/m^3, or 1/m^2 integrated).

    Examples
    --------
    >>> orbit_sensitivity([0, 0, 1.5], [0, 0, 0.5], 0.0, 0.0)    # K2 = 2 b2, K2S = 2 a2
    (3+1j)
    """
    n = max(len(normal), len(skew))
    b = list(normal) + [0.0] * (n - len(normal))
    a = list(skew) + [0.0] * (n - len(skew))
    w0 = complex(x0, z0)
    return sum((k * (k - 1) * complex(b[k], a[k]) * w0 ** (k - 2) for k in range(2, n)), 0j)


def linear_part(length: float, k1: float, k1s: float, tilt: float, c2: complex, name: str):
    """The element for gradient (k1, k1s) (magnet frame, roll ``tilt``) with orbit sensitivity c2.

    c2 == 0: :func:`~coupled_beam.interop._common.quadrupole` (a drift, marker or
    quadrupole). Otherwise a thick :class:`~coupled_beam.lattice.Sextupole`
    (the normal quadrupole equal to (k1, k1s) rolled by t, c2 turned into its
    frame by exp(3 i t)) or, for length 0, a
    :class:`~coupled_beam.lattice.ThinSextupole` (integrated values).

    Examples
    --------
    >>> linear_part(0.3, 0.0, 0.0, 0.0, 24 + 0j, "S")
    Sextupole(length=0.3, name='S', k1=0.0, k2=24.0, k2s=0.0)
    """
    from coupled_beam import lattice as lat

    if c2 == 0:
        return quadrupole(length, k1, k1s, tilt, name)
    if length == 0.0:
        return lat.ThinSextupole(k1, k1s, k2l=c2.real, k2sl=c2.imag, tilt=tilt, name=name)
    g, t = roll_of(k1, k1s)
    c2 = c2 * complex(math.cos(3 * t), math.sin(3 * t))
    return lat.Sextupole(length, k1=g, k2=c2.real, k2s=c2.imag, tilt=tilt + t, name=name)
