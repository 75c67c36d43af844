"""Lattices shared by several test modules (one copy of each text)."""

import numpy as np

#: bend curvature of the 16-bend test ring (1/m)
K = 2 * np.pi / 16

#: a coupled FODO ring (8 cells, thin skew quadrupole), 1 GeV, one thick cavity in dispersion
RF_FODO = f"""
ring energy=1.0
rfcavity L=0.3 voltage=3e5 harmonic=50 name=RF
repeat 8
  quadrupole L=0.2 k1=1.2
  drift L=0.5
  bend L=1.0 K={K!r}
  drift L=0.5
  quadrupole L=0.2 k1=-1.2
  drift L=0.5
  bend L=1.0 K={K!r}
  drift L=0.5
end
thin_skew m=0.02
"""


def shipped_pyat(name: str, *, roll=None, rms: float = 3e-4, seed: int = 1, steps: int = 1,
                 pass_method: str | None = None):
    """One of pyAT's shipped lattices (machine_data), a 1 MV cavity added if it has none, 4-D.

    ``roll``: "quadrupoles" or "bends": each such element rolled by ``at.tilt_elem`` with a
    seeded normal of ``rms`` (rad), in lattice order; ``pass_method`` replaces the bends'
    PassMethod; ``steps`` multiplies every NumIntSteps. Skips when pyAT is not installed.
    """
    import os

    import pytest

    at = pytest.importorskip("at")
    machine_data = pytest.importorskip("machine_data")
    r = at.load_lattice(os.path.join(os.path.dirname(machine_data.__file__), name))
    if not len(r.get_uint32_index(at.RFCavity)):
        C = r.circumference
        h = int(round(C / 0.6))
        r.insert(0, at.RFCavity("RF", 0.0, 1e6 / r.periodicity, h * 299792458.0 / C, h, r.energy))
    r = r.disable_6d(copy=True)
    rng = np.random.default_rng(seed)
    if roll == "quadrupoles":
        for i in r.get_uint32_index(at.Quadrupole):
            at.tilt_elem(r[i], rng.normal(0.0, rms))
    elif roll == "bends":
        for el in r:
            if isinstance(el, at.Dipole) and el.BendingAngle:
                at.tilt_elem(el, rng.normal(0.0, rms))
                if pass_method:
                    el.PassMethod = pass_method
    elif roll is not None:
        raise ValueError(f"roll must be 'quadrupoles', 'bends' or None, got {roll!r}")
    if steps != 1:
        for el in r:
            if hasattr(el, "NumIntSteps"):
                el.NumIntSteps = int(el.NumIntSteps) * steps
    return r


def canonical_frame(o) -> np.ndarray:
    """d(x, x', z, z', delta, l) / d(x, px, z, pz, delta, ct) at a pyAT orbit point o (delta0 = 0).

    x' = px - x'0 delta and the canonical partner l = ct - x0' x - z0' z, so that pyAT's Jacobian
    at the orbit, C(o_out) J C(o_in)^-1, is in this package's coordinates (tests of converted
    elements at an orbit).
    """
    c = np.eye(6)
    c[1, 4], c[3, 4] = -o[1], -o[3]
    c[5, 0], c[5, 2] = -o[1], -o[3]
    return c
