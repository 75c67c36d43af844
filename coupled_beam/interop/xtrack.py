"""Bridge from Xsuite (``xtrack``, optional extra ``xtrack``): :func:`ring_from_xtrack`.

Each element of an ``xtrack.Line`` is read through ``element.to_dict()``
(class name and fields, stable across xtrack versions) and mapped to a
:mod:`coupled_beam.lattice` element; boundary i of the ring is the entry of
line element i (xtrack's twiss row i).

=====================================  =========================================
xtrack                                 coupled_beam
=====================================  =========================================
Drift                                  Drift(length)
Bend (angle or h, k1, edge_entry/exit  Bend(L, K=angle/L, n=-k1/K^2, e1, e2,
_angle, _fint, _hgap, rot_s_rad)       fint_gap = 2 hgap fint, tilt=rot_s_rad)
RBend (length_straight)                the same, arc length and faces + angle/2
Quadrupole (k1, k1s, rot_s_rad)        Quadrupole(L, hypot(k1, k1s), tilt)
Sextupole, Octupole, Multipole,        feed-down at the closed orbit (knl[1],
knl/ksl of thick elements              ksl[1] of a Multipole act on the design orbit)
Solenoid (ks)                          Solenoid(L, H=ks)
Cavity (voltage, frequency/harmonic)   RFCavity(L, voltage, frequency | harmonic)
Marker, Device, Limit*, monitors       Marker / Drift
shift_x, shift_y                       magnet offsets: orbit from xtrack's 4-D twiss
=====================================  =========================================

Refused, all listed in one :class:`~coupled_beam.errors.UnknownElementError`:
standalone frame changes (SRotation, XYShift, XRotation, YRotation,
DipoleEdge -- put faces and rolls on the magnets), a Bend with k0 != h (a
dipole field error), shift_s / rot_x_rad / rot_y_rad, thin bends (hxl),
wigglers, beam-beam, and every class not in the table.

Closed orbit: with offsets or kicks (knl[0], ksl[0]) the orbit comes from
``line.twiss(method="4d")`` (xtrack's tracking has the nonlinear fields; the
linear engine here does not), and each magnet is linearised at its mean
orbit in the magnet frame (:mod:`coupled_beam.interop._common`).

Energy: ``line.particle_ref`` (energy0 in eV); radiation needs an electron
or positron.

References
----------
Xsuite: https://xsuite.readthedocs.io (element reference); LNF-64/55 eq. (1).
"""

from __future__ import annotations

import math

import numpy as np

from coupled_beam.errors import InputError
from coupled_beam.interop._common import Offenders, feed_down, kicked_quadrupole, quadrupole
from coupled_beam.interop._feed_down import linear_part, orbit_sensitivity

__all__ = ["ring_from_xtrack", "xtrack_elements"]

_ELECTRON_MASS_EV = 0.51099895e6
_MARKERS = {"Marker", "Device", "LimitRect", "LimitEllipse", "LimitRectEllipse", "LimitRacetrack",
            "LimitPolygon", "BeamPositionMonitor", "ParticlesMonitor", "LastTurnsMonitor",
            "BeamSizeMonitor", "BeamProfileMonitor"}
_REFUSED = {
    "SRotation": "a standalone roll: put the roll on the magnet (rot_s_rad)",
    "XYShift": "a standalone shift: put the offset on the magnet (shift_x, shift_y)",
    "XRotation": "a frame rotation: not modelled", "YRotation": "a frame rotation: not modelled",
    "DipoleEdge": "a standalone edge: put the face angle on the Bend (edge_entry_angle)",
    "Wiggler": "no linear model of a wiggler here", "BeamBeamBiGaussian2D": "beam-beam: not linear optics",
    "BeamBeamBiGaussian3D": "beam-beam: not linear optics", "Exciter": "time-dependent kicker",
    "ElectronCooler": "cooling: not modelled", "LineSegmentMap": "a parametrised map: not read",
    "FirstOrderTaylorMap": "a Taylor map: not read", "SecondOrderTaylorMap": "a Taylor map: not read",
    "ReferenceEnergyIncrease": "energy ramp: not modelled", "ZetaShift": "longitudinal shift: not modelled",
}


def _f(d: dict, key: str, default=0.0) -> float:
    v = d.get(key, default)
    if v is None:
        return default
    try:
        return float(v)
    except TypeError:
        return float(np.asarray(v, dtype=float).ravel()[0])


def _arr(d: dict, key: str) -> np.ndarray:
    v = d.get(key)
    return np.zeros(0) if v is None else np.asarray(v, dtype=float).ravel()


def _needs_orbit(dicts) -> bool:
    for d in dicts:
        if _f(d, "shift_x") or _f(d, "shift_y"):
            return True
        knl, ksl = _arr(d, "knl"), _arr(d, "ksl")
        if (knl.size and knl[0]) or (ksl.size and ksl[0]):
            return True
    return False


def xtrack_elements(line, *, orbit=None) -> list:
    """coupled_beam elements of an xtrack line, every offender listed at once.

    Parameters
    ----------
    line : xtrack.Line
    orbit : (n + 1, 4) array, optional
        Closed orbit (x, px, y, py) at the entry of each element (and the end).

    Returns
    -------
    list of Element

    Raises
    ------
    UnknownElementError
    """
    from coupled_beam import lattice as lat

    bad = Offenders("xtrack line")
    out = []
    names = list(line.element_names)
    for i, name in enumerate(names):
        el = line[name]
        d = el.to_dict()
        cls = str(d.get("__class__", type(el).__name__))
        L = _f(d, "length")
        tilt = _f(d, "rot_s_rad")
        for key in ("shift_s", "rot_x_rad", "rot_y_rad"):
            if _f(d, key):
                bad.add(i, name, cls, f"{key} = {_f(d, key)} has no counterpart (only shift_x, "
                        "shift_y, rot_s_rad are read)")
        x0 = z0 = 0.0
        if orbit is not None:
            m = 0.5 * (orbit[i] + orbit[i + 1])
            xm, zm = m[0] - _f(d, "shift_x"), m[2] - _f(d, "shift_y")
            c, s = math.cos(tilt), math.sin(tilt)
            x0, z0 = c * xm + s * zm, -s * xm + c * zm
        knl, ksl = _arr(d, "knl"), _arr(d, "ksl")
        n = max(knl.size, ksl.size, 1)
        kn = np.zeros(n)
        ks = np.zeros(n)
        kn[:knl.size], ks[:ksl.size] = knl, ksl
        b_int = [kn[j] / math.factorial(j) for j in range(n)]     # integrated b_j
        a_int = [ks[j] / math.factorial(j) for j in range(n)]
        try:
            if cls in _REFUSED:
                bad.add(i, name, cls, _REFUSED[cls])
            elif cls == "Drift":
                out.append(lat.Drift(L, name=name))
            elif cls in _MARKERS:
                out.append(lat.Marker(name=name) if L == 0 else lat.Drift(L, name=name))
            elif cls in ("Bend", "RBend"):
                angle = _f(d, "angle", None) if d.get("angle") is not None else None
                if cls == "RBend":
                    Ls = _f(d, "length_straight", L)
                    angle = _f(d, "angle")
                    L = Ls * (0.5 * angle) / math.sin(0.5 * angle) if angle else Ls
                h = angle / L if angle is not None and L else _f(d, "h")
                k0 = h if d.get("k0_from_h", False) or "k0" not in d else _f(d, "k0")
                if L == 0.0:
                    bad.add(i, name, cls, "a bend of zero length")
                    continue
                if abs(k0 - h) > 1e-12 * max(abs(h), 1e-300):
                    bad.add(i, name, cls, f"k0 = {k0} != h = {h}: a dipole field error; set k0 = h")
                    continue
                f1, f1s = feed_down(np.asarray(b_int) / L, np.asarray(a_int) / L, x0, z0)
                k1 = _f(d, "k1") + (b_int[1] / L if n > 1 else 0.0) + f1
                k1s = _f(d, "k1s") + (a_int[1] / L if n > 1 else 0.0) + f1s
                if abs(k1s) * L > 1e-12:
                    bad.add(i, name, cls, "skew gradient in a bend: no counterpart; split the bend")
                    continue
                e1, e2 = _f(d, "edge_entry_angle"), _f(d, "edge_exit_angle")
                if cls == "RBend":
                    e1, e2 = e1 + 0.5 * angle, e2 + 0.5 * angle
                g1 = 2 * _f(d, "edge_entry_hgap") * _f(d, "edge_entry_fint")
                g2 = 2 * _f(d, "edge_exit_hgap") * _f(d, "edge_exit_fint")
                for side in ("entry", "exit"):
                    model = str(d.get(f"edge_{side}_model", "linear"))
                    if model in ("suppressed", "-1"):
                        if side == "entry":
                            e1, g1 = 0.0, 0.0
                        else:
                            e2, g2 = 0.0, 0.0
                    if not int(d.get(f"edge_{side}_active", 1)):
                        if side == "entry":
                            e1, g1 = 0.0, 0.0
                        else:
                            e2, g2 = 0.0, 0.0
                if h == 0.0:
                    out.append(quadrupole(L, k1, k1s, tilt, name))
                    continue
                out.append(lat.Bend(L, K=h, n=-k1 / h**2, e1=e1, e2=e2, fint_gap1=g1,
                                    fint_gap2=g2, tilt=tilt, name=name))
            elif cls in ("Quadrupole", "Sextupole", "Octupole", "Multipole"):
                if cls == "Multipole":
                    if _f(d, "hxl"):
                        bad.add(i, name, cls, f"thin bend hxl = {_f(d, 'hxl')}: give the bend a length")
                        continue
                    b, a = np.asarray(b_int), np.asarray(a_int)   # integrated, thin
                    Lm = 0.0
                else:
                    order = {"Quadrupole": 1, "Sextupole": 2, "Octupole": 3}[cls]
                    m_ = max(n, order + 1)
                    b = np.zeros(m_)
                    a = np.zeros(m_)
                    b[:n] += np.asarray(b_int) / (L if L else 1.0)
                    a[:n] += np.asarray(a_int) / (L if L else 1.0)
                    b[order] += _f(d, f"k{order}") / math.factorial(order)
                    a[order] += _f(d, f"k{order}s") / math.factorial(order)
                    Lm = L
                f1, f1s = feed_down(b, a, x0, z0)
                k1 = (b[1] if b.size > 1 else 0.0) + f1
                k1s = (a[1] if a.size > 1 else 0.0) + f1s
                if orbit is not None:
                    S = sum(complex(b[j], a[j]) * complex(x0, z0) ** j for j in range(b.size))
                    Lk = Lm if Lm else 1.0
                    kick = (-Lk * S.real, Lk * S.imag)
                    if abs(kick[0]) + abs(kick[1]) > 1e-15:
                        out.append(kicked_quadrupole(Lm, k1, k1s, tilt, kick[0], kick[1], name,
                                                     c2=orbit_sensitivity(b, a, x0, z0)))
                        continue
                # a thin Multipole's 'length' only scales its radiation in xtrack: thin here;
                # sextupoles keep K2 for the 6-D sawtooth orbit
                out.append(linear_part(Lm, k1, k1s, tilt, orbit_sensitivity(b, a, x0, z0), name))
            elif cls in ("Solenoid", "UniformSolenoid"):
                ks_ = _f(d, "ks")
                out.append(lat.Solenoid(L, H=ks_, name=name) if L and ks_ else
                           (lat.Drift(L, name=name) if L else lat.Marker(name=name)))
            elif cls == "Cavity":
                freq, harm = _f(d, "frequency"), _f(d, "harmonic")
                if not (freq > 0 or harm > 0):
                    bad.add(i, name, cls, "Cavity needs frequency or harmonic")
                    continue
                out.append(lat.RFCavity(L, voltage=_f(d, "voltage"),
                                        frequency=freq if freq > 0 else None,
                                        harmonic=harm if harm > 0 and not freq > 0 else None,
                                        name=name))
            else:
                bad.add(i, name, cls, "xtrack element class without a linear counterpart here; "
                        "replace it by drifts, magnets or markers")
        except (ValueError, ArithmeticError) as exc:
            bad.add(i, name, cls, str(exc))
    bad.raise_if_any()
    return out


def ring_from_xtrack(line, *, energy: float | None = None, radiation: bool = True,
                     periodicity: int = 1):
    """A :class:`~coupled_beam.lattice.Ring` from an ``xtrack.Line``.

    Parameters
    ----------
    line : xtrack.Line
    energy : float, optional
        Beam energy (GeV); default ``line.particle_ref.energy0``.
    radiation : bool
        Switch on :mod:`coupled_beam.radiation`.
    periodicity : int
        The line is 1/periodicity of the ring (kept).

    Returns
    -------
    Ring
        Boundary i = entry of line element i.

    Raises
    ------
    UnknownElementError
        Every element without a linear counterpart, in one message.
    InputError
        Not a line, no energy, or a non-electron reference with radiation.

    Examples
    --------
    >>> ring = ring_from_xtrack(line)   # doctest: +SKIP
    """
    from coupled_beam import lattice as lat

    if not hasattr(line, "element_names"):
        raise InputError(f"line must be an xtrack.Line, got {type(line).__name__}", value=repr(line))
    ref = getattr(line, "particle_ref", None)
    if energy is None:
        if ref is None:
            raise InputError("the line has no particle_ref: set line.particle_ref = "
                             "xt.Particles(mass0=xt.ELECTRON_MASS_EV, q0=-1, energy0=<eV>) or "
                             "pass energy=<GeV>", field="energy")
        energy = float(np.asarray(ref.energy0).ravel()[0]) / 1e9
    if radiation and ref is not None:
        mass = float(np.asarray(ref.mass0).ravel()[0])
        if abs(mass / _ELECTRON_MASS_EV - 1) > 1e-6:
            raise InputError(f"the reference particle has mass {mass} eV; the radiation model is the "
                             "electron's: use radiation=False or an electron/positron line",
                             field="particle", value=mass)
    dicts = [line[nm].to_dict() for nm in line.element_names]
    orbit = None
    if _needs_orbit(dicts):
        xtrack_elements(line)    # every offender first
        tw = line.twiss(method="4d")
        orbit = np.column_stack([tw.x, tw.px, tw.y, tw.py])
    elements = xtrack_elements(line, orbit=orbit)
    kw = {"periodicity": int(periodicity)} if periodicity != 1 else {}
    return lat.Ring(elements, energy=float(energy) if radiation else None, **kw)
