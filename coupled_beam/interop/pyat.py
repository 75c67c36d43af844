"""Bridge from pyAT (``accelerator-toolbox``, optional extra ``pyat``): :func:`ring_from_pyat`.

The converted ring has pyAT's element boundaries (boundary i is pyAT's refpt
i) and pyAT's periodicity (``Ring(cell, periodicity=P)``, not tiled).
Comparisons with pyAT's own results live in
:mod:`coupled_beam.interop.pyat_compare` (re-exported here).

Element mapping (pyAT -> coupled_beam; each checked against pyAT's
``find_elem_m66`` in tests/test_interop_pyat.py)
-------------------------------------------------------------------------
=====================================  ==========================================
pyAT                                   coupled_beam
=====================================  ==========================================
Drift, DriftPass                       Drift(L)
Marker, Monitor, Aperture, zero-kick   Marker (L = 0) or Drift(L); IdentityPass of
Corrector, IdentityPass, AperturePass  length L > 0: Matrix(L, 1) (no drift, as pyAT)
M66 identity / general                 Marker or Drift / Matrix(L, M66)
Dipole (BendingAngle, PolynomB[1],     Bend(L, K=angle/L, n=-k1/K^2, e1, e2,
EntranceAngle, ExitAngle, FullGap,     fint_gap = FullGap FringeInt (0 when
FringeInt1/2, FringeBendEntrance/Exit) FringeBend... = 0), tilt)
Quadrupole, Sextupole, Multipole,      quadrupole of normal k1 = PolynomB[1] and skew
StrMPoleSymplectic4Pass                PolynomA[1] plus the feed-down at the orbit
                                       (Quadrupole(L, hypot, tilt + roll of the skew part))
ThinMultipole, ThinMPolePass           ThinQuadrupole(k1l, k1sl) (same, integrated)
Solenoid (SolenoidLinearPass, K)       Solenoid(L, H=K)
RFCavity (Voltage, Frequency,          RFCavity(L, voltage, frequency); TimeLag only
HarmNumber, TimeLag)                   moves the synchronous ct: phase=None
R1, R2 (pure roll, as at.tilt_elem)    tilt = atan2(R1[0, 2], R1[0, 0])
R1, R2, T1, T2 of at.tilt_elem(bend)   Bend(tilt = theta cos(angle / 2)) at pyAT's closed
(roll about the centre, frame stays)   orbit, + chromatic forcing (see "Rolled bends")
T1, T2 (offsets, at.shift_elem)        closed orbit, magnet-frame orbit for feed-down
KickAngle, PolynomB[0], PolynomA[0]    closed orbit (find_orbit)
=====================================  ==========================================

Every attribute pyAT's pass methods read is listed in :data:`ATTRIBUTES` as
used, refused (when it would change the linear map and cannot be modelled) or
ignored with the reason it does not change the linear map at the orbit;
tests/test_interop_pyat.py checks that this table covers every attribute of
every pyAT element class and every attribute on the shipped lattices.

Closed orbit and feed-down
--------------------------
When an element has a kick (KickAngle, PolynomB[0], PolynomA[0]) or an offset
(T1, T2), the closed orbit is taken from pyAT's ``find_orbit`` (4-D, delta = 0)
at every refpt: the orbit depends on the nonlinear fields (sextupoles at the
offset orbit kick again), which pyAT tracks and the linear engine here does
not have, so pyAT's tracking is the right solver for it; the linear optics are
then built around it. In each magnet the orbit in the magnet frame is
R1 (orbit + T1) at the entrance and R2^-1 (orbit - T2) at the exit; their mean
(of the cubic through both ends, see "Rolled bends") w0 = x0 + i z0 gives the
feed-down c1 = sum_n n (b_n + i a_n) w0^(n-1)
(:mod:`coupled_beam.interop._common`): a sextupole adds k1 = 2 b2 x0 and the
skew k1s = 2 b2 z0. Not linearised: the bends' own second-order (curvature)
terms at the orbit in bends tracked by pyAT's first-order
BndMPoleSymplectic4Pass, which has none (a BndMPoleSymplectic4E2Pass bend
converts with its kinematic (1 + h x) p^2 / 2 and second-order face terms at
the orbit, ``_common.bend_at_orbit``: 6e-4 in x <- z' at a 0.3 mm vertical
orbit through dba.mat's 45-degree bends, equal to ExactSectorBendPass's;
tests/test_pyat_rolled_bends.py; with the terms' change along the body by
second-order Magnus terms one E2 bend at a 1 mm orbit equals find_elem_m66 to
1.3e-9 in the 4x4 and 1e-9 in the delta column, 9.3e-7 and 3.2e-7 without),
the variation of the orbit along a magnet in the feed-down gradient and, in
straight magnets, in the chromatic forcing, and the skew feed-down inside a bend
(no skew gradient in a Bend: integrated k1s L below 1e-5 /m is dropped with a
PhysicsWarning naming the largest, above it refused).
The chromatic part of every orbit kick theta is kept (x' = px/(1 + delta):
the map gains the delta column -theta; an orbit through quadrupoles makes
dispersion), in bends as a constant forcing plus the end kicks of its change
along the magnet and the chromatic part of the pole-face kicks at the orbit
(``kicked_bend``, "Rolled bends").

Shipped lattices (``machine_data``; tests/test_interop_pyat.py)
----------------------------------------------------------------
All six convert as loaded (zero-kick correctors, identity M66, apertures,
monitors, IdentityPass cavities included; hmba keeps periodicity 32). Cell
map vs ``find_m44``, max abs entry: esrf 4.8e-3, soleil 4.2e-3, dba 1.7e-4,
thomx 2.0e-4, australian_synchrotron 9.8e-5, hmba 3.3e-5 at pyAT's own
NumIntSteps; 4.9e-7, 4.2e-7, 1.7e-8, 2.0e-8, 9.8e-9, 3.3e-9 with the steps x10:
the difference is pyAT's 4th-order integrator (error ~ N^-4), not the
conversion. Conversion 0.01-0.2 s (1636 elements: 0.17 s).
With 0.3 mrad rms quadrupole rolls and 20 um rms sextupole offsets (hmba,
steps x10): cell map at the orbit vs ``find_m44`` 4.1e-8, cell tunes vs
``linopt6`` 9.5e-10, mode emittances vs the coupled radiation integrals of
pyAT's own optics (``linopt6`` normalising matrices and dispersion, bends cut
32x) 2.3e-4 and 1.3e-4 (rolls alone: both < 1e-3; before the bends' chromatic
forcing and the cubic mean orbit: 3.9e-7, 1.4e-8, 2.3e-4, 4.2e-3), vs
``ohmi_envelope`` 5e-4 and 6.8e-3 (6-D model, pyAT's mode emittances; measured
before that change); sigma_z / sigma_x 0.036.

Rolled bends
------------
``at.tilt_elem(bend, theta)`` (pyAT >= 0.7) rolls the magnet about its centre and
keeps the design frame: R1/R2 are the exact frame changes (roll theta cos(a/2)
plus a yaw theta sin(a/2) at the ends, a = bending angle, and the delta/ct
entries of pyAT's px coordinates), T1/T2 the offsets. The reference particle is
kicked, z' = -a theta at the exit (a MAD-X TILT bend instead carries the frame
along). Model: in the lab frame, around the closed orbit (find_orbit, which sees
the kick), in x' = px/(1 + delta) coordinates every force F per metre becomes
F/(1 + delta); linearised, the map is that of the field as it is there plus the
delta forcing -F(orbit). The rotated field K (cos t, sin t), gradient k1 rolled
by t, gives exactly the forcing (K cos t, K sin t) delta, l' = K (x cos t + z sin t)
and the focusing of ``Bend(tilt=t)``: the geometric K^2 is rotated too (pyAT's
magnet carries its own curvature; find_elem_m66 has the K^2 sin t coupling:
M[3, 0] = -5.0e-4 = -K^2 sin t L at K = 0.1 /m, t = 0.05, L = 1 m). So a pyAT-rolled bend is
``Bend(tilt=t)``, t = theta cos(a/2) (the roll seen at the ends: 4x4 vs
find_elem_m66 3.2e-10 at theta = 0.3 mrad instead of 2.7e-9 with t = theta,
2.6e-10 instead of 3.9e-7 with k1 = -0.3), and what the roll does to the
optics beyond the MAD-X bend is in the closed orbit: its kicks in quadrupoles
and bends (chromatic forcing, below) and sextupoles (feed-down).
The chromatic part of a bend's own orbit force at its mean magnet-frame orbit
w0 (gradient and multipoles, -K^2 x0, KickAngle) is carried as a constant
forcing (``kicked_bend``, map and radiation by the generator route), e.g.
k1 z0 from the vertical orbit in a combined-function bend: on hmba with rolled
bends it is 5 times the roll's own K theta L (delta column of DQ1D 4.1e-5).
Measured (one bend L = 1.2 m, angle 0.12, faces, theta = 0.3 mrad, 2000 steps):
4x4 vs find_elem_m66 3e-10, delta column (in x') 6.5e-8 without gradient,
6.8e-7 with k1 = -0.3 (the constant forcing; the orbit varies inside); at
theta = 0.05: 9e-6 (theta^2). hmba, every bend rolled 0.3 mrad rms (seed 1,
x10 steps, 1 MV cavity; vertical orbit 0.24 mm): cell map at the orbit vs
find_m44 1.3e-5 (the thick sextupoles' feed-down at that orbit), vs
``ohmi_envelope`` sigma_x 2.1e-4, sigma_z 4.9e-3, tilt 2.3e-4 rad, mode
emittances 2.3e-3, 4.0e-4, 6.0e-3; eps_2 vs the coupled integrals -2.4 %.
The mean orbit in every magnet is that of the cubic through the ends'
positions and slopes, (a + b)/2 + L (a' - b')/12 (Simpson-exact for a cubic),
in a bend with the slopes inside (after the entrance face kick, before the exit's).
Pole faces at the orbit: each face kick x' += K tan(e) x / (1 + delta),
z' -= z F(delta) (F per pyAT's FringeBendEntrance/Exit 0-3, psi / (1 + delta)
included) leaves its chromatic part at the orbit, -K tan(e) x0 and -z0 dF/d(delta)
in the delta column (``_common._face_kick6``); the orbit's whole profile inside
the body (its chromatic forcing -x''(s), the orbit the bend itself curves)
enters exactly as end kicks (``_common._profile_kicks``, from the orbit just
inside both ends). Without them dba.mat (45-degree rectangular bends, rolled
0.3 mrad rms, vertical orbit 0.5 mm) had the one-turn vertical dispersion 4e-4
and sigma_z 5.7e-2 off pyAT; with them (first-order faces, steps x10) sigma_z
1.1e-3, tilt 2e-5 rad, and a single bend at an orbit equals find_elem_m66 to
7e-9 (4x4) and 1e-10 (delta column) for every fringe method (hmba's DQ1 bends
4e-7 -> 5e-12). The straight magnets on the same orbit (multipole branch) still
take their chromatic forcing at the mean orbit, a sextupole its mean feed-down
gradient and a quadrupole no FringeQuad terms: hmba's one-turn map at the orbit
is 1.3e-5 / 1.2e-6 (4x4 / delta column) off find_m66 with them, 1.2e-8 / 5e-12
with ``_common.kicked_quadrupole``'s ``ends``, ``gradient_slope`` and ``fringe``
(tests/test_interop_common.py; esrf with rolled bends, 4 mm vertical orbit:
6e-2 -> 3.5e-5, the FringeQuad terms the largest). The rest, and what pyAT
itself contributes (its quantum noise ignores R1/R2; its E2 faces are not
symplectic off axis), is measured in tests/test_pyat_rolled_bends.py.

Pole faces and radiation
------------------------
pyAT's ``radiation_parameters`` include the wedge terms -h^2 tan(e) xi of I4,
its tracking (hence ``ohmi_envelope``) does not: 15 % in eps_x on ``dba.mat``.
``face_radiation=True`` (default; Sands, MAD-X TWISS) matches the former,
``face_radiation=False`` the latter (:func:`ring_from_pyat`).

References
----------
pyAT: https://github.com/atcollab/at (element classes, pass methods);
LNF-64/55 eq. (1).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from coupled_beam.errors import InputError, PhysicsWarning
from coupled_beam.interop._common import (Offenders, bend_at_orbit, body_orbit, feed_down, kicked_quadrupole,
                                          mean_orbit, no_face_radiation, orbit_slopes, quadrupole)
from coupled_beam.interop._feed_down import linear_part, orbit_sensitivity

__all__ = ["ATTRIBUTES", "ring_from_pyat", "pyat_elements", "closed_orbit",
           "example_at_ring", "PyatComparison", "compare_with_pyat", "time_vs_ohmi",
           "tilt_from_sigma", "comparison_report"]

#: pyAT attribute -> (status, what is done with it and why)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "FamName": ("used", "element name"),
    "Length": ("used", "length"),
    "PassMethod": ("used", "selects the conversion; unknown pass methods are refused"),
    "PolynomB": ("used", "[1] normal gradient; [0] dipole kick -> closed orbit; [n >= 2] feed-down at the orbit"),
    "PolynomA": ("used", "[1] skew gradient; [0] -> closed orbit; [n >= 2] feed-down at the orbit"),
    "MaxOrder": ("used", "orders above MaxOrder are not applied (as pyAT)"),
    "BendingAngle": ("used", "curvature K = angle / L (thin kick BendingAngle of ThinMPolePass refused)"),
    "EntranceAngle": ("used", "e1"), "ExitAngle": ("used", "e2"),
    "FullGap": ("used", "fint_gap = FullGap * FringeInt"),
    "FringeInt1": ("used", "fint_gap1"), "FringeInt2": ("used", "fint_gap2"),
    "FringeBendEntrance": ("used", "0: no fringe correction (fint_gap 0); 1, 2, 3 have the same linear map "
                                   "on axis, and differ at an orbit through the face (kicked_bend)"),
    "FringeBendExit": ("used", "as FringeBendEntrance"),
    "R1": ("used", "roll -> tilt; on a bend also at.tilt_elem's roll about the centre (R1, R2, T1, T2 "
                   "recomputed from _tilt must agree); any other R (pitch, yaw, tilt_frame): refused"),
    "R2": ("used", "must be R1^T (a pure roll) or a bend's tilt_elem transform, else refused"),
    "T1": ("used", "offset -> closed orbit and magnet-frame orbit (feed-down)"),
    "T2": ("used", "offset -> closed orbit and magnet-frame orbit (feed-down)"),
    "KickAngle": ("used", "kick -> closed orbit (find_orbit); linear part of a corrector is a drift"),
    "K": ("used", "Solenoid strength H = K (SolenoidLinearPass); in multipoles an alias of PolynomB[1]"),
    "M66": ("used", "identity -> Marker/Drift, else Matrix(L, M66)"),
    "Voltage": ("used", "RFCavity voltage (V)"), "Frequency": ("used", "RFCavity frequency (Hz)"),
    "HarmNumber": ("used", "RFCavity harmonic when Frequency is absent"),
    "FieldScaling": ("refused", "scales every field; refused unless 1"),
    "NumIntSteps": ("ignored", "pyAT's integration steps; the maps here are exact (pyAT's error ~ (L/N)^4)"),
    "FringeQuadEntrance": ("ignored", "pyAT's hard-edge quadrupole fringe has no linear part on axis "
                                      "(find_elem_m66 unchanged, measured); at an orbit w0 it has terms k1 w0^2 "
                                      "(6e-6 at a 4 mm orbit, _common.quad_fringe_jacobian), not yet applied"),
    "FringeQuadExit": ("ignored", "as FringeQuadEntrance"),
    "H": ("ignored", "alias of PolynomB[2] (sextupole), which is read"),
    "Energy": ("ignored", "the lattice energy is used"),
    "TimeLag": ("ignored", "shifts the synchronous ct only; the cavity sits at the synchronous phase"),
    "PhaseLag": ("ignored", "as TimeLag"),
    "RApertures": ("ignored", "aperture: no effect on the map"), "EApertures": ("ignored", "aperture"),
    "Limits": ("ignored", "aperture limits"),
    "M66Rad": ("ignored", "pyAT's radiating variant of M66; radiation is computed here"),
    "Offset": ("ignored", "BPM reading offset (diagnostic only)"),
    "Rotation": ("ignored", "BPM reading rotation (diagnostic only)"),
    "Scale": ("ignored", "BPM reading scale (diagnostic only)"),
    "Reading": ("ignored", "BPM reading (diagnostic only)"),
    "Name": ("ignored", "label"), "BetaCode": ("ignored", "label from AT's old tools"),
    "nslice": ("ignored", "SliceMoments diagnostic (identity map)"),
    "ZCuts": ("ignored", "slice/wake bookkeeping of diagnostics (identity map); wake elements are refused"),
    "xkick": ("ignored", "a string in CorrectorPass's binary, not a Corrector field (kick-map tables)"),
    "ykick": ("ignored", "as xkick"),
    "By": ("ignored", "a string in StrMPoleSymplectic4QuantPass (its field buffer), not an element field"),
    "EdgeEffect1": ("ignored", "not read by BndMPoleSymplectic4Pass (only by old BendLinearPass, refused)"),
    "EdgeEffect2": ("ignored", "as EdgeEffect1"),
    "ByError": ("ignored", "not read by any pass method here (legacy field)"),
}

#: largest integrated skew gradient (1/m) of a bend that is dropped with a PhysicsWarning
_BEND_SKEW_LIMIT = 1e-5

_MULTIPOLE = {"StrMPoleSymplectic4Pass", "StrMPoleSymplectic4RadPass", "StrMPoleSymplectic4QuantPass",
              "ExactMultipolePass", "ExactMultipoleRadPass", "QuadLinearPass"}
_BEND = {"BndMPoleSymplectic4Pass", "BndMPoleSymplectic4RadPass", "BndMPoleSymplectic4E2Pass",
         "BndMPoleSymplectic4E2RadPass", "BndMPoleSymplectic4QuantPass"}
_E2 = {"BndMPoleSymplectic4E2Pass", "BndMPoleSymplectic4E2RadPass"}
_THIN = {"ThinMPolePass"}
_IDENTITY = {"IdentityPass", "AperturePass", "EAperturePass", "LongtAperturePass", "BeamMomentsPass",
             "SliceMomentsPass"}
_DRIFT = {"DriftPass", "ExactDriftPass"}
_CORRECTOR = {"CorrectorPass"}
_RF = {"RFCavityPass", "CavityPass"}
_REFUSED_CLASSES = {
    "Wiggler": "no linear model of a wiggler here; replace it by its equivalent bends",
    "InsertionDeviceKickMap": "kick maps have no linear model here",
    "CrabCavity": "crab cavities couple z to x; not modelled",
    "DeltaQ": "a tune-shift element has no element counterpart; remove it",
    "EnergyLoss": "lumped radiation: remove it, the radiation is computed from the bends",
    "QuantumDiffusion": "lumped radiation: remove it", "SimpleQuantDiff": "lumped radiation: remove it",
    "SimpleRadiation": "lumped radiation: remove it",
    "VariableThinMultipole": "time-dependent multipole; not modelled",
    "BeamLoadingElement": "collective effect (beam loading): remove it",
    "ResonatorElement": "collective effect (wake): remove it",
    "LongResonatorElement": "collective effect (wake): remove it",
    "ResWallElement": "collective effect (wake): remove it",
    "WakeElement": "collective effect (wake): remove it",
}


def _arr(el, name: str) -> np.ndarray:
    return np.asarray(getattr(el, name, np.zeros(0)), dtype=float).ravel()


def _poly(el) -> tuple[np.ndarray, np.ndarray]:
    b, a = _arr(el, "PolynomB"), _arr(el, "PolynomA")
    order = int(getattr(el, "MaxOrder", max(len(b), len(a)) - 1))
    n = max(order + 1, 0)
    B, A = np.zeros(max(n, 2)), np.zeros(max(n, 2))
    B[:min(n, len(b))] = b[:n]
    A[:min(n, len(a))] = a[:n]
    return B, A


def _roll(el) -> float | None:
    """Tilt of a pure-roll R1/R2, None when not a pure roll."""
    R1 = getattr(el, "R1", None)
    R2 = getattr(el, "R2", None)
    if R1 is None and R2 is None:
        return 0.0
    R1 = np.eye(6) if R1 is None else np.asarray(R1, dtype=float).reshape(6, 6)
    R2 = np.eye(6) if R2 is None else np.asarray(R2, dtype=float).reshape(6, 6)
    t = math.atan2(R1[0, 2], R1[0, 0])
    c, s = math.cos(t), math.sin(t)
    ref = np.eye(6)
    ref[0, 0] = ref[1, 1] = ref[2, 2] = ref[3, 3] = c
    ref[0, 2] = ref[1, 3] = s
    ref[2, 0] = ref[3, 1] = -s
    if np.max(np.abs(R1 - ref)) > 1e-12 or np.max(np.abs(R2 - ref.T)) > 1e-12:
        return None
    return t


def _bend_roll(el) -> float | None:
    """Roll of a bend rolled by ``at.tilt_elem`` (pyAT >= 0.7 ``transform_elem``), None otherwise.

    pyAT writes the exact frame change of a magnet rolled about its centre:
    R1/R2 are not pure rolls (pitch/yaw parts of the rotated curved magnet,
    delta and ct entries of its px coordinates) and T1/T2 carry the offsets;
    the design frame stays. Accepted only when the element's own transform
    record (``_tilt``; no shift, pitch, yaw or frame tilt) reproduces R1, R2,
    T1, T2 (1e-12); other bend transforms have no counterpart here.
    """
    import at

    t = float(getattr(el, "_tilt", 0.0) or 0.0)
    rp = getattr(el, "_referencepoint", 0)
    if not t or int(getattr(rp, "value", rp)) != 0 or any(float(getattr(el, a, 0.0) or 0.0) for a in
                    ("_dx", "_dy", "_dz", "_pitch", "_yaw", "_tilt_frame")):
        return None
    ref = el.deepcopy()
    try:
        at.tilt_elem(ref, t)
    except Exception:          # noqa: BLE001 - an unreadable transform record: refused below
        return None
    for a in ("R1", "R2", "T1", "T2"):
        if np.max(np.abs(_arr(ref, a) - _arr(el, a)), initial=0.0) > 1e-12 or \
                _arr(ref, a).size != _arr(el, a).size:
            return None
    return t * math.cos(0.5 * float(el.BendingAngle))


def _has_kick(el) -> bool:
    if np.any(_arr(el, "KickAngle") != 0):
        return True
    if np.any(_arr(el, "T1") != 0) or np.any(_arr(el, "T2") != 0):
        return True
    pm = str(getattr(el, "PassMethod", ""))
    if pm in _MULTIPOLE | _BEND | _THIN:
        B, A = _poly(el)
        return bool(B[0] or A[0])
    return False


def closed_orbit(at_ring) -> np.ndarray | None:
    """pyAT's 4-D closed orbit (x, px, z, pz) at every refpt, None if the design orbit is closed.

    Why pyAT's ``find_orbit``: the orbit through kicks and offset magnets sees
    every nonlinear field (sextupoles at the offset orbit kick again), which
    pyAT tracks and the linear engine here does not have.
    """
    if not any(_has_kick(el) for el in at_ring):
        return None
    ring4 = at_ring.disable_6d(copy=True)
    _, orbit = ring4.find_orbit(refpts=range(len(ring4) + 1))
    return np.asarray(orbit, dtype=float)[:, :4]


def _thick_orbit_terms(el, B, A, o_in, o_out) -> dict:
    """A thick straight magnet on an orbit that moves inside it: what ``kicked_quadrupole`` needs.

    The orbit (x, x', z, z') at its faces in the magnet frame (:func:`_face_orbit`) gives the
    gradient's change along it (``gradient_slope``, the feed-down follows the orbit), the
    orbit's profile for the chromatic forcing (``ends``) and pyAT's hard-edge quadrupole fringe
    at the orbit (``fringe``, FringeQuadEntrance / FringeQuadExit = 1).
    """
    if not float(getattr(el, "Length", 0.0)):
        return {}
    w = _face_orbit(el, o_in, o_out)
    _, gs = orbit_slopes(B, A, w[:4], w[4:])
    fq = (int(getattr(el, "FringeQuadEntrance", 0) or 0), int(getattr(el, "FringeQuadExit", 0) or 0))
    fringe = (B[1], w[:4] if fq[0] == 1 else None, w[4:] if fq[1] == 1 else None) if any(fq) else None
    return dict(gradient_slope=gs, fringe=fringe, ends=(w[:4], w[4:]))


def _magnet_orbit(el, o_in, o_out, tilt: float) -> tuple[float, float]:
    """Mean orbit (x0, z0) in the magnet frame (after T1 and the roll).

    The mean over the length of the cubic through the ends' positions and
    slopes (Simpson-exact for a cubic orbit): (a + b) / 2 + L (a' - b') / 12.
    """
    T1 = _arr(el, "T1")
    T2 = _arr(el, "T2")
    a = o_in + (T1[:4] if T1.size else 0.0)
    b = o_out - (T2[:4] if T2.size else 0.0)
    L = float(getattr(el, "Length", 0.0))
    c, s = math.cos(tilt), math.sin(tilt)
    R = np.array([[c, 0, s, 0], [0, c, 0, s], [-s, 0, c, 0], [0, -s, 0, c]])
    a, b = R @ a, R @ b
    K = float(getattr(el, "BendingAngle", 0.0) or 0.0) / L if L else 0.0
    if K:      # a bend: the slopes inside, after the entrance face kick and before the exit face kick
        gap = float(getattr(el, "FullGap", 0.0) or 0.0)
        g1 = gap * float(getattr(el, "FringeInt1", 0.0) or 0.0) if int(getattr(el, "FringeBendEntrance", 1)) else 0.0
        g2 = gap * float(getattr(el, "FringeInt2", 0.0) or 0.0) if int(getattr(el, "FringeBendExit", 1)) else 0.0
        a, b = body_orbit(K, float(getattr(el, "EntranceAngle", 0.0)), float(getattr(el, "ExitAngle", 0.0)),
                          g1, g2, a, b)
    return mean_orbit(a, b, L)


def _face_orbit(el, o_in, o_out) -> tuple:
    """Orbit (x, x', z, z') at a magnet's ends in its frame: R1 (o + T1) met by the entrance, R2^-1 (o - T2) leaving the exit.

    x' = px at delta = 0; for a bend these are outside its faces (``_common.bend_at_orbit``
    undoes the exit face's kick to get the orbit that face meets).
    """
    a, b = np.zeros(6), np.zeros(6)
    a[:4], b[:4] = o_in[:4], o_out[:4]
    T1, T2 = _arr(el, "T1"), _arr(el, "T2")
    if T1.size:
        a = a + T1
    if T2.size:
        b = b - T2
    if getattr(el, "R1", None) is not None:
        a = np.asarray(el.R1, dtype=float).reshape(6, 6) @ a
    if getattr(el, "R2", None) is not None:
        b = np.linalg.solve(np.asarray(el.R2, dtype=float).reshape(6, 6), b)
    return tuple(float(v) for v in a[:4]) + tuple(float(v) for v in b[:4])


def pyat_elements(at_ring, *, face_radiation: bool = True, orbit=None) -> list:
    """coupled_beam elements of a pyAT lattice (one per pyAT element), every offender listed.

    Parameters
    ----------
    at_ring : at.Lattice or sequence of pyAT elements
    face_radiation : bool
        False: bends with faces get no wedge radiation terms (pyAT's tracking).
    orbit : (n + 1, 4) array, optional
        Closed orbit at every refpt (:func:`closed_orbit`); None = design orbit.

    Returns
    -------
    list of Element

    Raises
    ------
    UnknownElementError
        Every element without a linear counterpart, in one message.
    """
    import at

    from coupled_beam import lattice as lat

    bad = Offenders("pyAT lattice")
    out = []
    dropped = []
    zero = np.zeros(4)
    for i, el in enumerate(at_ring):
        cls = type(el).__name__
        name = str(getattr(el, "FamName", cls))
        pm = str(getattr(el, "PassMethod", ""))
        kind = f"{cls}, {pm}"
        L = float(getattr(el, "Length", 0.0))
        try:
            if cls in _REFUSED_CLASSES:
                bad.add(i, name, kind, _REFUSED_CLASSES[cls])
                continue
            if float(getattr(el, "FieldScaling", 1.0)) != 1.0:
                bad.add(i, name, kind, f"FieldScaling = {el.FieldScaling}: scale PolynomA/B instead")
                continue
            tilt = _roll(el)
            if tilt is None and pm in _BEND and getattr(el, "BendingAngle", 0.0):
                tilt = _bend_roll(el)
            if tilt is None:
                bad.add(i, name, kind, "R1/R2 are not a pure roll about s (as at.tilt_elem writes) nor, "
                        "on a bend, at.tilt_elem's roll about the centre; only rolls have a counterpart "
                        "(no pitch, yaw, tilt_frame or ReferencePoint.ENTRANCE on bends)")
                continue
            o_in = zero if orbit is None else orbit[i]
            o_out = zero if orbit is None else orbit[i + 1]
            if isinstance(el, at.RFCavity):
                freq = float(getattr(el, "Frequency", 0.0) or 0.0)
                harm = float(getattr(el, "HarmNumber", 0.0) or 0.0)
                out.append(lat.RFCavity(L, voltage=float(getattr(el, "Voltage", 0.0)),
                                        frequency=freq if freq > 0 else None,
                                        harmonic=harm if harm > 0 and not freq > 0 else None,
                                        name=name))
                continue
            if isinstance(el, at.M66) or pm == "Matrix66Pass":
                M = np.asarray(el.M66, dtype=float).reshape(6, 6)
                if np.array_equal(M, np.eye(6)):
                    out.append(lat.Marker(name=name) if L == 0 else lat.Drift(L, name=name))
                else:
                    out.append(lat.Matrix(L, M, name=name))
                continue
            if pm == "SolenoidLinearPass":
                out.append(lat.Solenoid(L, H=float(el.K), tilt=tilt, name=name))
                continue
            if pm in _DRIFT:
                out.append(lat.Drift(L, name=name))
                continue
            if pm in _IDENTITY:
                out.append(lat.Marker(name=name) if L == 0 else lat.Matrix(L, np.eye(6), name=name))
                continue
            if pm in _CORRECTOR:      # drift + kick: the kick is in the orbit, its chromatic part here
                kick = np.zeros(2)
                kick[:_arr(el, "KickAngle").size] = _arr(el, "KickAngle")[:2]
                if orbit is not None and np.any(kick):
                    out.append(kicked_quadrupole(L, 0.0, 0.0, tilt, kick[0], kick[1], name))
                else:
                    out.append(lat.Marker(name=name) if L == 0 else lat.Drift(L, name=name))
                continue
            if pm in _BEND | _MULTIPOLE | _THIN:
                B, A = _poly(el)
                x0, z0 = _magnet_orbit(el, o_in, o_out, tilt) if orbit is not None else (0.0, 0.0)
                f1, f1s = feed_down(B, A, x0, z0)
                k1, k1s = B[1] + f1, A[1] + f1s
                angle = float(getattr(el, "BendingAngle", 0.0) or 0.0)
                kick = None
                if orbit is not None and not (pm in _BEND and angle):
                    S = sum(complex(B[n], A[n]) * complex(x0, z0) ** n for n in range(len(B)))
                    ka = np.zeros(2)
                    ka[:_arr(el, "KickAngle").size] = _arr(el, "KickAngle")[:2]
                    Lk = L if pm not in _THIN else 1.0
                    kick = (-Lk * S.real + ka[0], Lk * S.imag + ka[1])
                    if abs(kick[0]) + abs(kick[1]) < 1e-15:
                        kick = None
                if pm in _THIN:
                    if angle:
                        bad.add(i, name, kind, f"thin bending kick BendingAngle = {angle}; give the bend a length")
                        continue
                    if kick is None and orbit_sensitivity(B, A, x0, z0):
                        out.append(linear_part(0.0, k1, k1s, tilt, orbit_sensitivity(B, A, x0, z0), name))
                        continue
                    out.append(quadrupole(0.0, k1, k1s, tilt, name) if kick is None else
                               kicked_quadrupole(0.0, k1, k1s, tilt, kick[0], kick[1], name))
                    continue
                if pm in _BEND and angle:
                    if abs(k1s) * L > _BEND_SKEW_LIMIT:
                        bad.add(i, name, kind, f"skew gradient {k1s:.3g} /m^2 in a bend (PolynomA[1] or "
                                "skew feed-down): no counterpart; split the bend")
                        continue
                    if k1s:
                        dropped.append((name, k1s * L))
                    K = angle / L
                    fb1 = int(getattr(el, "FringeBendEntrance", 1))
                    fb2 = int(getattr(el, "FringeBendExit", 1))
                    gap = float(getattr(el, "FullGap", 0.0) or 0.0)
                    bend = lat.Bend(L, K=K, n=-k1 / K**2,
                                    e1=float(getattr(el, "EntranceAngle", 0.0)),
                                    e2=float(getattr(el, "ExitAngle", 0.0)),
                                    fint_gap1=gap * float(getattr(el, "FringeInt1", 0.0)) if fb1 else 0.0,
                                    fint_gap2=gap * float(getattr(el, "FringeInt2", 0.0)) if fb2 else 0.0,
                                    tilt=tilt, name=name)
                    if not face_radiation and (bend.e1 or bend.e2):
                        bend = no_face_radiation(bend)
                    if orbit is not None:     # linearised about the orbit (_common.bend_at_orbit)
                        ka = np.zeros(2)
                        ka[:_arr(el, "KickAngle").size] = _arr(el, "KickAngle")[:2]
                        w = _face_orbit(el, o_in, o_out)
                        bend = bend_at_orbit(bend, B, A, w[:4], w[4:], x0, z0, kick=ka, fringe=(fb1, fb2),
                                             second_order="pyat" if pm in _E2 else None,
                                             face_curvature=(float(getattr(el, "H1", 0.0)),
                                                             float(getattr(el, "H2", 0.0))))
                    out.append(bend)
                    continue
                if kick is None and orbit_sensitivity(B, A, x0, z0):
                    out.append(linear_part(L, k1, k1s, tilt, orbit_sensitivity(B, A, x0, z0), name))
                    continue
                out.append(quadrupole(L, k1, k1s, tilt, name) if kick is None else
                           kicked_quadrupole(L, k1, k1s, tilt, kick[0], kick[1], name,
                                             c2=orbit_sensitivity(B, A, x0, z0),
                                             **_thick_orbit_terms(el, B, A, o_in, o_out)))
                continue
            bad.add(i, name, kind, f"pass method {pm!r} has no linear counterpart here; "
                    "replace the element by drifts, magnets or markers")
        except (ValueError, ArithmeticError) as exc:
            bad.add(i, name, kind, str(exc))
    bad.raise_if_any()
    if dropped:
        worst = max(dropped, key=lambda d: abs(d[1]))
        warnings.warn(
            f"{len(dropped)} bend(s) have a skew gradient (skew feed-down of their multipoles at the "
            f"orbit) that a Bend cannot carry; dropped, the largest integrated k1s L = {worst[1]:.3g} /m "
            f"in {worst[0]!r} (below {_BEND_SKEW_LIMIT:g} /m; larger ones are refused)",
            PhysicsWarning, stacklevel=3)
    return out


def ring_from_pyat(at_ring, *, radiation: bool = True, face_radiation: bool = True):
    """A :class:`~coupled_beam.lattice.Ring` from a pyAT lattice, boundaries at pyAT's refpts.

    Parameters
    ----------
    at_ring : at.Lattice
        4-D or 6-D; ``periodicity`` P is kept (``Ring(cell, periodicity=P)``).
    radiation : bool
        Switch on :mod:`coupled_beam.radiation` at ``at_ring.energy``.
    face_radiation : bool
        Pole-face (wedge) terms of I4 in the damping. pyAT's ``ohmi_envelope``
        tracks without them, its ``radiation_parameters`` include them; False
        reproduces ``ohmi_envelope`` with face angles.

    Returns
    -------
    Ring
        Boundary i is pyAT's refpt i (``at_ring.get_s_pos(range(len(at_ring) + 1))``).

    Raises
    ------
    UnknownElementError
        Listing every element that has no linear counterpart (wigglers, R
        matrices that are not rolls, skew gradients in bends, lumped radiation,
        unknown pass methods, FieldScaling).
    InputError
        Not a pyAT lattice, no elements, or no energy with ``radiation``.

    References
    ----------
    LNF-64/55 eq. (1); pyAT element classes.

    Examples
    --------
    >>> ring = ring_from_pyat(example_at_ring())
    >>> len(ring), round(ring.circumference, 6)
    (145, 64.0)
    """
    from coupled_beam import lattice as lat

    if not hasattr(at_ring, "__iter__") or isinstance(at_ring, (str, bytes)):
        raise InputError(f"at_ring must be a pyAT Lattice (a sequence of elements), got {at_ring!r}",
                         value=repr(at_ring))
    if len(at_ring) == 0:
        raise InputError("at_ring has no elements: give a pyAT Lattice with at least one element",
                         value=repr(at_ring))
    energy = getattr(at_ring, "energy", None)
    if radiation and not isinstance(energy, (int, float, np.floating, np.integer)):
        raise InputError(f"radiation=True needs the beam energy: {type(at_ring).__name__} has no numeric "
                         "'energy' (eV); give an at.Lattice(..., energy=...) or radiation=False",
                         field="energy")
    elements = pyat_elements(at_ring, face_radiation=face_radiation)   # every offender first
    orbit = closed_orbit(at_ring) if hasattr(at_ring, "disable_6d") else None
    if orbit is not None:
        elements = pyat_elements(at_ring, face_radiation=face_radiation, orbit=orbit)
    periods = int(getattr(at_ring, "periodicity", 1) or 1)
    return lat.Ring(elements, energy=float(energy) / 1e9 if radiation else None, periodicity=periods)


def _convert(i: int, el, face_radiation: bool = True):
    """One pyAT element on the design orbit (tests; no orbit, no periodicity)."""
    return pyat_elements([el], face_radiation=face_radiation)[0]


from coupled_beam.interop.pyat_compare import (PyatComparison, compare_with_pyat,  # noqa: E402
                                               comparison_report, example_at_ring,
                                               tilt_from_sigma, time_vs_ohmi)

if __name__ == "__main__":   # pragma: no cover
    print(comparison_report())
