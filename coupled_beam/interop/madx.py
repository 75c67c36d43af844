"""Bridge from MAD-X through cpymad (optional extra ``madx``): :func:`ring_from_madx`.

cpymad runs MAD-X itself, so the file is parsed, expressions evaluated,
sequences expanded (implicit drifts included) and EALIGN errors assigned by
the parser MAD-X users trust; this module only maps each expanded element to
a :mod:`coupled_beam.lattice` element.

Element mapping (MAD-X -> coupled_beam)
---------------------------------------
================================  ==============================================
MAD-X                             coupled_beam
================================  ==============================================
DRIFT                             Drift(L)
SBEND (ANGLE, K1, E1, E2, FINT,   Bend(L, K=ANGLE/L, n=-K1/K^2, e1, e2,
FINTX, HGAP, TILT, K2, H1, H2,    fint_gap = 2 HGAP FINT (FINTX), tilt=TILT);
KILL_ENT/EXI_FRINGE)              K2 feed-down, H1/H2 at an orbit; a killed face
                                  is no face (e = 0, no fringe), as in TWISS
RBEND                             the same with arc length L (theta/2)/sin(theta/2)
                                  (MAD-X RBARC, default) and faces E + ANGLE/2
QUADRUPOLE (K1, K1S, TILT)        Quadrupole(L, hypot(K1, K1S), tilt=TILT - atan2(K1S, K1)/2)
SEXTUPOLE, OCTUPOLE, MULTIPOLE    feed-down at the closed orbit (module
(KNL, KSL, TILT)                  coupled_beam.interop._common): Quadrupole /
                                  ThinQuadrupole; on the design orbit only
                                  KNL[1], KSL[1] of a MULTIPOLE act
SOLENOID (KS)                     Solenoid(L, H=KS)
[HVT]KICKER (KICK, HKICK, VKICK)  Drift / Marker (a kick moves the closed orbit,
                                  which MAD-X's TWISS finds; feed-down uses it)
RFCAVITY (VOLT, FREQ, HARMON)     RFCavity(L, voltage=1e6 VOLT, frequency=1e6 FREQ
                                  or harmonic=HARMON); LAG is not used: the
                                  cavity sits at the synchronous phase of the
                                  energy loss (phase=None)
MARKER, MONITOR, [HV]MONITOR,     Marker (L = 0) or Drift(L)
INSTRUMENT, PLACEHOLDER,
[RE]COLLIMATOR
EALIGN DX, DY, DPSI               DPSI adds to the roll; DX, DY shift the magnet:
                                  the orbit in the magnet frame is the closed
                                  orbit minus (DX, DY) (feed-down, and the
                                  orbit itself comes from MAD-X's TWISS)
================================  ==============================================

Refused, all offenders listed in one :class:`~coupled_beam.errors.UnknownElementError`:
WIGGLER, MATRIX, BEAMBEAM, ELSEPARATOR, CRABCAVITY, RFMULTIPOLE, DIPEDGE,
NLLENS, CHANGEREF, TRANSLATION, YROTATION, SROTATION, and a bend with K1S
(no skew gradient in :class:`~coupled_beam.lattice.Bend`; split it), a bend with
K0 other than ANGLE / L, K0S or KTAP (a dipole field error), and
EALIGN DPHI, DTHETA, DS (pitch, yaw, longitudinal shift: no counterpart).

Energy and particle: from the sequence's BEAM (``ENERGY`` in GeV), or
``energy=`` (GeV, overrides). The radiation model is the electron's: a
particle other than electron/positron is refused when radiation is on.

Pole faces in the radiation: MAD-X's TWISS synchrotron integrals include the
wedge terms -h^2 tan(e) xi of I4 (so does ``face_radiation=True``, the
default); MAD-X's EMIT does not (like pyAT's tracking): with the bends cut
into k pieces its J_x and eps_x converge as 1/k to ours with
``face_radiation=False`` (3e-5 after extrapolation); uncut thick bends with
faces land about halfway (EMIT's thick-bend quadrature, 4e-3 on sector bends).

Closed orbit: when any element has a kick or an EALIGN offset the orbit
(x, px, y, py at every element) is taken from MAD-X's ``TWISS`` on the 4-D
problem at DELTAP = 0 (:func:`closed_orbit_4d`: the cavities' VOLT set to 0
for that call; with a cavity on, TWISS solves the 6-D orbit, which kicks that
lengthen the orbit move off momentum, PT0 = -2.8e-5 at a 0.86 mm orbit in the
tests, and its tunes by the chromaticity times PT0; the ring here, as pyAT's
4-D ``find_orbit``, is linearised at delta = 0). The orbit includes every
nonlinear field of the sequence, which the linear engine here does not have;
the optics are linearised around it as TWISS linearises its second-order
TRANSPORT maps there: sextupoles by their feed-down (and keep K2 for the 6-D
energy sawtooth) and its change along the magnet, kicks and thick straight
magnets by the chromatic part of their kicks over the orbit's whole profile
inside (``kicked_quadrupole``'s ``ends``), bends
(:func:`coupled_beam.interop._common.bend_at_orbit`, shared with the pyAT
converter) by the chromatic part of the body and face forces (MAD-X's faces:
fringe correction without delta, method 4 of ``_face_kick6``) and by the
second-order body and face terms at the orbit (``tmsect``, ``tmfrng``; the exit
face meets the orbit before its own kick; the terms' change along the body
by second-order Magnus terms). Element by element at a 0.8 mm orbit the
maps then equal MAD-X's (TWISS RMATRIX; 4x4 / delta column) to 1.5e-8 / 3.4e-8
in bends (1.4e-6 / 6.3e-7 before), 4e-8 / 2.5e-8 in thick sextupoles and 2e-15
in the rest; ring tunes to 1.2e-7, second order in the orbit
(tests/test_interop_madx.py).

References
----------
MAD-X user's guide (CERN), element definitions; H. Grote, F. Schmidt, "MAD-X:
an upgrade from MAD8", PAC 2003; cpymad: https://github.com/hibtc/cpymad.

Examples
--------
>>> ring = ring_from_madx("fodo.madx", "ring")   # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from coupled_beam.errors import InputError, LatticeFileError
from coupled_beam.interop._common import (Offenders, bend_at_orbit, body_orbit, feed_down, kicked_quadrupole,
                                          mean_orbit, orbit_slopes, quadrupole)
from coupled_beam.interop._feed_down import linear_part, orbit_sensitivity

__all__ = ["ring_from_madx", "read_madx", "madx_elements", "load_madx", "closed_orbit_4d"]

_MARKERS = {"marker", "monitor", "hmonitor", "vmonitor", "instrument", "placeholder",
            "rcollimator", "ecollimator", "collimator", "blmonitor"}
_KICKERS = {"kicker", "hkicker", "vkicker", "tkicker"}
_REFUSED = {
    "wiggler": "no linear model of a wiggler here; replace it by its equivalent bends",
    "matrix": "a MAD-X MATRIX is not read (coordinates t, pt differ); give the magnets instead",
    "beambeam": "beam-beam is not linear optics; remove it",
    "elseparator": "electrostatic separators are not modelled",
    "crabcavity": "crab cavities couple z to x; not modelled",
    "rfmultipole": "RF multipoles are not modelled",
    "dipedge": "DIPEDGE is not read; put the face angle on the SBEND (E1/E2)",
    "nllens": "nonlinear lens has no linear counterpart",
    "changeref": "CHANGEREF is not modelled", "translation": "TRANSLATION is not modelled",
    "xrotation": "XROTATION is not modelled", "yrotation": "YROTATION is not modelled",
    "srotation": "SROTATION is not modelled; use TILT on the magnets",
}


def _fatal_lines(log: str) -> list[str]:
    return [ln.strip() for ln in log.splitlines()
            if "fatal" in ln.lower() or ln.strip().lower().startswith("++++++ error")]


def load_madx(path, *, stdout=None):
    """A cpymad ``Madx`` with ``path`` called, MAD-X errors turned into LatticeFileError.

    Parameters
    ----------
    path : str or Path
        MAD-X file (``.madx``, ``.seq``).

    Returns
    -------
    (cpymad.madx.Madx, str)
        The interpreter and its output so far.

    Raises
    ------
    LatticeFileError
        Missing file, or MAD-X stopped on a fatal error (the MAD-X message is
        quoted: MAD-X stops at the first fatal error, so only that one is known).
    """
    try:
        from cpymad.madx import Madx
    except ImportError:  # pragma: no cover
        raise InputError("reading MAD-X needs cpymad: pip install 'coupled-beam[madx]'") from None
    path = Path(path)
    if not path.is_file():
        raise LatticeFileError(f"MAD-X file {str(path)!r} does not exist", path=str(path))
    log = tempfile.NamedTemporaryFile("w+", suffix=".madx.log", delete=False)
    try:
        m = Madx(stdout=log, stderr=log, command_log=None)
        try:
            m.call(str(path.resolve()), chdir=True)
            # warnings that MAD-X skips silently but change the lattice
        except RuntimeError:
            log.flush()
            text = Path(log.name).read_text(errors="replace")
            fatal = _fatal_lines(text) or text.strip().splitlines()[-3:]
            if any("without beam" in f for f in fatal):
                fatal.append("no BEAM for it: add 'beam, particle=electron, energy=<GeV>;' before USE")
            raise LatticeFileError(
                f"MAD-X stopped reading {str(path)!r}: " + " | ".join(fatal)
                + "; fix the file (MAD-X syntax) and retry", path=str(path),
                madx_messages=fatal) from None
        log.flush()
        text = Path(log.name).read_text(errors="replace")
        return m, text
    finally:
        log.close()


def _text_has_beam(path) -> bool:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return False
    text = re.sub(r"(//|!).*", "", text)
    return re.search(r"(^|;)\s*beam\s*(,|;)", text, flags=re.IGNORECASE | re.MULTILINE) is not None


def _val(el, key, default=0.0):
    try:
        v = el[key]
    except (KeyError, IndexError):
        return default
    return default if v is None else v


def _list(el, key) -> list[float]:
    v = _val(el, key, [])
    if isinstance(v, (int, float)):
        return [float(v)]
    return [float(x) for x in v]


def _align(el):
    try:
        err = el.align_errors
    except Exception:   # noqa: BLE001 - cpymad raises different errors without errors
        return None
    if err is None:
        return None
    return err


def madx_elements(madx, sequence: str, *, orbit=None) -> tuple[list, list]:
    """coupled_beam elements of an expanded MAD-X sequence, every offender listed at once.

    Parameters
    ----------
    madx : cpymad.madx.Madx
        With ``sequence`` USEd.
    sequence : str
    orbit : (n, 4) array, optional
        Closed orbit (x, px, y, py) at the entrance of each expanded element.

    Returns
    -------
    (list of Element, list of str)
        The elements and notes on what was linearised (feed-down, kicks).

    Raises
    ------
    UnknownElementError
        Listing every element that has no linear counterpart.
    """
    from coupled_beam import lattice as lat

    els = _expanded(madx, sequence)
    n = len(els)
    bad = Offenders(f"MAD-X sequence {sequence!r}")
    out, notes = [], []
    for i in range(n):
        el = els[i]
        name = str(el.name)
        kind = str(el.base_type.name).lower()
        L = float(_val(el, "l", 0.0))
        tilt = float(_val(el, "tilt", 0.0))
        err = _align(el)
        dx = dy = 0.0
        if err is not None:
            for f in ("dphi", "dtheta", "ds"):
                if float(getattr(err, f, 0.0)):
                    bad.add(i, name, kind, f"EALIGN {f.upper()} = {getattr(err, f)} has no "
                            "counterpart (only DX, DY, DPSI are read); remove it")
            tilt += float(err.dpsi)
            dx, dy = float(err.dx), float(err.dy)
        w = None
        x0 = z0 = 0.0
        if orbit is not None:    # the orbit at the ends in the magnet frame, its mean inside
            w = (_magnet_frame(orbit[i], dx, dy, tilt), _magnet_frame(orbit[(i + 1) % len(orbit)], dx, dy, tilt))
            x0, z0 = mean_orbit(*w, L)
        try:
            if kind == "drift":
                out.append(lat.Drift(L, name=name))
            elif kind in ("sbend", "rbend"):
                angle = float(_val(el, "angle", 0.0))
                k1 = float(_val(el, "k1", 0.0))
                if float(_val(el, "k1s", 0.0)):
                    bad.add(i, name, kind, f"K1S = {_val(el, 'k1s')} in a bend is not modelled; "
                            "split the bend and put the skew part in a MULTIPOLE")
                    continue
                e1, e2 = float(_val(el, "e1", 0.0)), float(_val(el, "e2", 0.0))
                if kind == "rbend":
                    if angle:
                        L = L * (0.5 * angle) / math.sin(0.5 * angle)
                    e1, e2 = e1 + 0.5 * angle, e2 + 0.5 * angle
                fint = float(_val(el, "fint", 0.0))
                fintx = float(_val(el, "fintx", -1.0))
                if fintx < 0:
                    fintx = fint
                hgap = float(_val(el, "hgap", 0.0))
                k2 = float(_val(el, "k2", 0.0))
                if L == 0.0:
                    bad.add(i, name, kind, "a bend of zero length; give it a length")
                    continue
                k0, k0s, ktap = (float(_val(el, key, 0.0)) for key in ("k0", "k0s", "ktap"))
                if (k0 and abs(k0 - angle / L) > 1e-12 * abs(angle / L)) or k0s or ktap:
                    bad.add(i, name, kind, f"K0 = {k0} (ANGLE / L = {angle / L}), K0S = {k0s}, KTAP = {ktap}: "
                            "a dipole field other than ANGLE / L is not modelled; remove K0/K0S/KTAP "
                            "and put the field error in a kicker")
                    continue
                gaps = (2 * hgap * fint, 2 * hgap * fintx)
                killed = (bool(_val(el, "kill_ent_fringe", False)), bool(_val(el, "kill_exi_fringe", False)))
                if killed[0]:      # MAD-X skips that face altogether
                    e1, gaps = 0.0, (0.0, gaps[1])
                if killed[1]:
                    e2, gaps = 0.0, (gaps[0], 0.0)
                if orbit is not None and angle:      # the mean orbit in the body, faces' kicks in
                    x0, z0 = mean_orbit(*body_orbit(angle / L, e1, e2, *gaps, *w), L)
                k1 += feed_down([0, 0, k2 / 2], [0, 0, 0], x0, z0)[0] if k2 else 0.0
                if angle == 0.0:
                    out.append(quadrupole(L, k1, 0.0, tilt, name))
                    continue
                K = angle / L
                bend = lat.Bend(L, K=K, n=-k1 / K**2, e1=e1, e2=e2, fint_gap1=gaps[0], fint_gap2=gaps[1],
                                tilt=tilt, name=name)
                if orbit is not None:   # TWISS linearises its TRANSPORT maps (second order) at the orbit
                    bend = bend_at_orbit(bend, [0.0, float(_val(el, "k1", 0.0)), k2 / 2], [0.0], *w,
                                         x0, z0, fringe=(4, 4), second_order="madx",
                                         face_curvature=(float(_val(el, "h1", 0.0)), float(_val(el, "h2", 0.0))),
                                         killed=killed)
                out.append(bend)
            elif kind == "quadrupole":
                k1, k1s = float(_val(el, "k1", 0.0)), float(_val(el, "k1s", 0.0))
                out.append(_at_orbit(L, [0.0, k1], [0.0, k1s], k1, k1s, tilt, name, w, x0, z0))
            elif kind in ("sextupole", "octupole", "multipole"):
                if kind == "multipole":
                    knl, ksl = _list(el, "knl"), _list(el, "ksl")
                    b = [k / math.factorial(j) for j, k in enumerate(knl)]
                    a = [k / math.factorial(j) for j, k in enumerate(ksl)]
                    k1 = (b[1] if len(b) > 1 else 0.0)
                    k1s = (a[1] if len(a) > 1 else 0.0)
                    f1, f1s = feed_down(b, a, x0, z0)
                    if any(knl[2:] + ksl[2:]) and orbit is not None:
                        notes.append(f"{name}: feed-down k1l {f1:.3g}, k1sl {f1s:.3g} at the orbit")
                    out.append(_at_orbit(0.0, b, a, k1 + f1, k1s + f1s, tilt, name, w, x0, z0))
                else:
                    order = 2 if kind == "sextupole" else 3
                    kn = float(_val(el, f"k{order}", 0.0))
                    ks = float(_val(el, f"k{order}s", 0.0))
                    b = [0.0] * order + [kn / math.factorial(order)]
                    a = [0.0] * order + [ks / math.factorial(order)]
                    f1, f1s = feed_down(b, a, x0, z0)
                    out.append(_at_orbit(L, b, a, f1, f1s, tilt, name, w, x0, z0))
            elif kind == "solenoid":
                ks = float(_val(el, "ks", 0.0))
                if L == 0.0:
                    if ks or float(_val(el, "ksi", 0.0)):
                        bad.add(i, name, kind, "a thin solenoid (KSI) is not modelled; give it a length")
                        continue
                    out.append(lat.Marker(name=name))
                else:
                    out.append(lat.Solenoid(L, H=ks, name=name) if ks else lat.Drift(L, name=name))
            elif kind in _KICKERS:
                if kind == "hkicker":
                    kx, kz = float(_val(el, "kick", 0.0)), 0.0
                elif kind == "vkicker":
                    kx, kz = 0.0, float(_val(el, "kick", 0.0))
                else:
                    kx, kz = float(_val(el, "hkick", 0.0)), float(_val(el, "vkick", 0.0))
                if orbit is not None and (kx or kz):   # the kick is in the orbit, its chromatic part here
                    out.append(kicked_quadrupole(L, 0.0, 0.0, tilt, kx, kz, name))
                else:
                    out.append(lat.Drift(L, name=name) if L else lat.Marker(name=name))
            elif kind == "rfcavity":
                volt = float(_val(el, "volt", 0.0)) * 1e6
                freq = float(_val(el, "freq", 0.0)) * 1e6
                harmon = float(_val(el, "harmon", 0.0))
                if not (freq > 0 or harmon > 0):
                    bad.add(i, name, kind, "RFCAVITY needs FREQ or HARMON")
                    continue
                out.append(lat.RFCavity(L, voltage=volt, frequency=freq if freq > 0 else None,
                                        harmonic=harmon if harmon > 0 and not freq > 0 else None,
                                        name=name))
            elif kind in _MARKERS:
                out.append(lat.Marker(name=name) if L == 0.0 else lat.Drift(L, name=name))
            elif kind in _REFUSED:
                bad.add(i, name, kind, _REFUSED[kind])
            else:
                bad.add(i, name, kind, "unknown MAD-X element type for the linear model; "
                        "replace it by drifts, magnets or markers")
        except (ValueError, ArithmeticError) as exc:   # InputError of an element
            bad.add(i, name, kind, str(exc))
    bad.raise_if_any()
    return out, notes


def _magnet_frame(o, dx: float, dy: float, tilt: float) -> tuple:
    """MAD-X orbit (x, px, y, py) in the frame of a magnet shifted by (dx, dy) and rolled by tilt."""
    c, s = math.cos(tilt), math.sin(tilt)
    x, px, z, pz = float(o[0]) - dx, float(o[1]), float(o[2]) - dy, float(o[3])
    return (c * x + s * z, c * px + s * pz, -s * x + c * z, -s * px + c * pz)


def _at_orbit(L, b, a, k1, k1s, tilt, name, w, x0, z0):
    """Quadrupole (k1, k1s); at an orbit also the chromatic part of its kick there.

    b, a: the magnet's multipole coefficients (per metre, or integrated when L = 0); w: the
    magnet-frame orbit (x, px, y, py) at its ends (None: the design orbit), whose profile inside a
    thick magnet gives the chromatic forcing exactly and the feed-down's change along it
    (``kicked_quadrupole``'s ``ends``, ``gradient_slope``; as the pyAT converter): the
    quadrupoles' delta column at a 0.8 mm orbit equals MAD-X's to 1e-15 (2.5e-7 at the mean
    orbit alone); the ring's vertical dispersion with an offset quadrupole 1.1e-3 -> 9e-6.
    """
    c2 = orbit_sensitivity(b, a, x0, z0)      # sextupoles keep K2 for the 6-D sawtooth orbit
    if w is None:
        return linear_part(L, k1, k1s, tilt, c2, name)
    S = sum(complex(b[j], a[j]) * complex(x0, z0) ** j for j in range(len(b)))
    Lk = L if L else 1.0
    kick = (-Lk * S.real, Lk * S.imag)
    if abs(kick[0]) + abs(kick[1]) < 1e-15:
        return linear_part(L, k1, k1s, tilt, c2, name)
    if L:
        return kicked_quadrupole(L, k1, k1s, tilt, kick[0], kick[1], name, c2=c2,
                                 gradient_slope=orbit_slopes(b, a, *w)[1], ends=w)
    return kicked_quadrupole(L, k1, k1s, tilt, kick[0], kick[1], name, c2=c2)


def closed_orbit_4d(madx, sequence: str) -> np.ndarray:
    """MAD-X's 4-D closed orbit at DELTAP = 0: (x, px, y, py) at the entrance of every expanded element.

    MAD-X's TWISS solves for the 6-D closed orbit whenever an RF cavity with a
    voltage is on (``tmclor``: the one-turn map is not "static"); kicks that
    lengthen the orbit then move it off momentum, PT0 = -beta dC / (alpha_c C)
    with the harmonic number fixed, and TWISS linearises there (its tunes move
    by the chromaticity times PT0). The converted ring is linearised at
    delta = 0 (as the pyAT converter's 4-D ``find_orbit``), so the orbit is
    taken from a TWISS with every cavity's VOLT set to 0 for that one call
    (MAD-X then solves the 4-D problem at DELTAP = 0) and restored after (a
    deferred expression as ``VOLT := expr``). Measured on a 1 GeV FODO ring
    with a 0.03 MV cavity and kickers (0.86 mm orbit): PT0 = -2.8e-5 with the
    cavity on, and the tunes of the ring linearised on that orbit off TWISS by
    5.1e-5 / 4.7e-5; on the 4-D orbit 1e-7 (tests/test_interop_madx.py).

    Parameters
    ----------
    madx : cpymad.madx.Madx
        With ``sequence`` expanded (USEd, EALIGN errors assigned).
    sequence : str

    Returns
    -------
    ndarray, shape (n, 4)
        Row i: the orbit at the entrance of expanded element i (TWISS row i - 1).
    """
    saved: dict[str, tuple] = {}
    for el in _expanded(madx, sequence):
        name = str(el.name)
        if str(el.base_type.name).lower() == "rfcavity" and name not in saved \
                and float(_val(el, "volt", 0.0)):
            par = madx.elements[name].cmdpar["volt"]
            saved[name] = (par.expr, float(par.value))
    try:
        for name in saved:
            madx.input(f"{name}->volt = 0;")
        tw = madx.twiss(sequence=sequence)
    finally:
        for name, (expr, value) in saved.items():
            madx.input(f"{name}, volt:={expr};" if expr else f"{name}->volt = {value!r};")
    # TWISS rows are element exits, one per expanded element: entrance of i = row i - 1
    return np.roll(np.column_stack([tw.x, tw.px, tw.y, tw.py]), 1, axis=0)


_CACHE: dict = {}


def _expanded(madx, sequence: str) -> list:
    """The expanded elements, fetched once per conversion (each fetch is a call into MAD-X)."""
    key = (id(madx), sequence)
    if key not in _CACHE:
        els = madx.sequence[sequence].expanded_elements
        _CACHE.clear()
        _CACHE[key] = [els[i] for i in range(len(els))]
    return _CACHE[key]


def _needs_orbit(madx, sequence: str) -> bool:
    for el in _expanded(madx, sequence):
        kind = str(el.base_type.name).lower()
        if kind in _KICKERS and any(float(_val(el, k, 0.0)) for k in ("kick", "hkick", "vkick")):
            return True
        if kind == "multipole" and any(_list(el, "knl")[:1] + _list(el, "ksl")[:1]):
            return True
        err = _align(el)
        if err is not None and (err.dx or err.dy):
            return True
    return False


def ring_from_madx(path_or_madx, sequence: str, energy: float | None = None, *,
                   radiation: bool = True, face_radiation: bool = True, periodicity: int = 1,
                   _path=None):
    """A :class:`~coupled_beam.lattice.Ring` from a MAD-X file or a cpymad ``Madx``.

    Parameters
    ----------
    path_or_madx : str, Path or cpymad.madx.Madx
        A ``.madx``/``.seq`` file (run by MAD-X through cpymad) or an
        interpreter that already holds the sequence.
    sequence : str
        Sequence name (case-insensitive).
    energy : float, optional
        Beam energy (GeV); default the sequence's BEAM ENERGY.
    radiation : bool
        Switch on :mod:`coupled_beam.radiation` at that energy.
    face_radiation : bool
        Wedge terms -h^2 tan(e) xi of the pole faces in the radiation (MAD-X
        TWISS's synch_4 has them; MAD-X EMIT, like pyAT's tracking, does not:
        False matches EMIT, see the module notes).
    periodicity : int
        The sequence is 1/periodicity of the ring (kept, not tiled).

    Returns
    -------
    Ring
        Boundary i = exit of expanded element i - 1 (MAD-X TWISS row i).

    Raises
    ------
    LatticeFileError
        File missing, MAD-X syntax error (MAD-X's message), no such sequence
        (the sequences there are listed), no BEAM and no ``energy``.
    UnknownElementError
        Every element without a linear counterpart, in one message.
    InputError
        A non-electron BEAM with radiation on.

    References
    ----------
    MAD-X user's guide; LNF-64/55 §4.
    """
    from coupled_beam import lattice as lat

    path = None if _path is None else Path(_path)
    if isinstance(path_or_madx, (str, os.PathLike)):
        path = Path(path_or_madx)
        madx, _ = load_madx(path)
    else:
        madx = path_or_madx
    names = [str(s) for s in madx.sequence]
    seq = str(sequence).lower()
    if seq not in [s.lower() for s in names]:
        raise LatticeFileError(f"no sequence {sequence!r} in "
                               f"{str(path) if path else 'the MAD-X session'}; sequences: "
                               f"{', '.join(names) or 'none'}", field="sequence", value=sequence)
    has_beam = bool(madx.sequence[seq].has_beam) or (path is not None and _text_has_beam(path))
    if path is None:
        has_beam = True   # a live session: MAD-X's default beam counts as given
    if not has_beam:
        if energy is None:
            raise LatticeFileError(
                f"no beam energy for sequence {sequence!r}: the file has no BEAM command; add "
                f"'beam, particle=electron, energy=<GeV>;' or pass energy=<GeV>",
                field="energy")
        madx.input(f"beam, sequence={seq}, particle=electron, energy={float(energy)!r};")
    if not madx.sequence[seq].is_expanded:   # USE again would drop the file's EALIGN errors
        madx.use(sequence=seq)
    _CACHE.clear()
    beam = madx.sequence[seq].beam
    if energy is None:
        energy = float(beam["energy"])
    particle = str(beam["particle"]).lower()
    if radiation and particle not in ("electron", "positron"):
        raise InputError(f"the BEAM of {sequence!r} is {particle!r}; the radiation model is the "
                         "electron's: use radiation=False or an electron/positron beam",
                         field="particle", value=particle)
    orbit = closed_orbit_4d(madx, seq) if _needs_orbit(madx, seq) else None
    try:
        elements, _ = madx_elements(madx, seq, orbit=orbit)
    finally:
        _CACHE.clear()
    if not face_radiation:
        from coupled_beam.interop._common import no_face_radiation

        elements = [no_face_radiation(e) if type(e) is lat.Bend and (e.e1 or e.e2) else e
                    for e in elements]
    kw = {"periodicity": int(periodicity)} if periodicity != 1 else {}
    return lat.Ring(elements, energy=float(energy) if radiation else None, **kw)


def read_madx(path, sequence: str | None = None, energy: float | None = None, *,
              radiation: bool = True):
    """:func:`ring_from_madx` of a file, the sequence chosen when not given.

    The sequence is ``sequence``, else the one the file USEs, else the only
    one in the file (``read_lattice`` and ``coupled-beam equilibrium`` call this).

    Raises
    ------
    LatticeFileError
        Several sequences and none USEd: they are listed.
    """
    madx, _ = load_madx(path)
    if sequence is None:
        try:
            from cpymad import libmadx

            sequence = libmadx.get_active_sequence_name()
        except (RuntimeError, ImportError, AttributeError):
            names = [str(s) for s in madx.sequence]
            if len(names) != 1:
                raise LatticeFileError(
                    f"{str(path)!r} holds {len(names)} sequences ({', '.join(names) or 'none'}) and "
                    "USEs none: add 'use, sequence=<name>;' or call ring_from_madx(path, <name>)",
                    field="sequence", path=str(path)) from None
            sequence = names[0]
    return ring_from_madx(madx, sequence, energy, radiation=radiation, _path=path)
