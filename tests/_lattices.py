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
