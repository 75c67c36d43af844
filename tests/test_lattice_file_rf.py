"""The ``rfcavity`` line of lattice files (text and JSON) and the 6-D equilibrium of a file ring."""

import json

import numpy as np
import pytest

from _lattices import K, RF_FODO
from coupled_beam.errors import LatticeFileError, RFError
from coupled_beam.lattice import Bend, Drift, Quadrupole, RFCavity, Ring, ThinSkewQuadrupole
from coupled_beam.lattice_file import parse_lattice

C_LIGHT = 299792458.0
TEXT = RF_FODO


def _python_ring(**cavity) -> Ring:
    cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=K), Drift(0.5),
            Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=K), Drift(0.5)]
    rf = RFCavity(0.3, **({"voltage": 3e5, "harmonic": 50} | cavity))
    return Ring([rf] + cell * 8 + [ThinSkewQuadrupole(0.02)], energy=1.0)


def _json_text() -> str:
    cell = [{"type": "quadrupole", "L": 0.2, "k1": 1.2}, {"type": "drift", "L": 0.5},
            {"type": "bend", "L": 1.0, "K": K}, {"type": "drift", "L": 0.5},
            {"type": "quadrupole", "L": 0.2, "k1": -1.2}, {"type": "drift", "L": 0.5},
            {"type": "bend", "L": 1.0, "K": K}, {"type": "drift", "L": 0.5}]
    return json.dumps({"ring": {"energy": 1.0}, "elements": [
        {"type": "rfcavity", "L": 0.3, "voltage": 3e5, "harmonic": 50, "name": "RF"}] + cell * 8
        + [{"type": "thin_skew", "m": 0.02}]})


@pytest.mark.parametrize("form", ["text", "json"])
def test_file_ring_six_d_equilibrium_equals_python_ring(form):
    """Text and JSON files with an rfcavity line give the 6-D equilibrium of the same ring built in Python."""
    ring = parse_lattice(TEXT if form == "text" else _json_text())
    cav = ring.elements[0]
    assert isinstance(cav, RFCavity) and cav.name == "RF" and cav.length == 0.3
    assert (cav.voltage, cav.harmonic, cav.frequency, cav.phase) == (3e5, 50.0, None, None)
    eq, ref = ring.equilibrium(model="6d"), _python_ring().equilibrium(model="6d")
    assert eq.q_s > 0.01 and np.all(eq.sigma_z > 0)       # a coupled ring with a working cavity
    for name in ("moments", "sigma_x", "sigma_z", "tilt", "sigma_delta", "sigma_l", "emittances",
                 "damping_times", "partition_numbers", "tunes"):
        np.testing.assert_allclose(getattr(eq, name), getattr(ref, name), rtol=1e-12, atol=0, err_msg=name)


def test_frequency_and_explicit_synchronous_phase_give_the_same_equilibrium():
    """frequency = h c / C and phase = the synchronous phase reproduce the harmonic / phase-free file."""
    base = parse_lattice(TEXT)
    eq0 = base.equilibrium(model="6d")
    f = 50 * C_LIGHT / base.circumference
    phi_s = float(eq0.rf.phase[0])
    assert 0 < phi_s < np.pi / 2                          # above transition
    alt = parse_lattice(TEXT.replace("harmonic=50", f"frequency={f!r} phase={phi_s!r}"))
    assert alt.elements[0].frequency == f and alt.elements[0].phase == phi_s
    eq1 = alt.equilibrium(model="6d")
    np.testing.assert_allclose(eq1.moments, eq0.moments, rtol=1e-9, atol=1e-20)
    # the other side of the RF slope (pi - phi_s) restores the same energy but is unstable above transition
    bad = parse_lattice(TEXT.replace("harmonic=50", f"harmonic=50 phase={np.pi - phi_s!r}"))
    with pytest.raises(RFError, match="transition"):
        bad.equilibrium(model="6d")


def test_the_paper_model_sees_the_cavity_as_a_drift():
    """4-D: a cavity line of length L gives the equilibrium of a drift of length L in its place."""
    ring = parse_lattice(TEXT)
    drift = parse_lattice(TEXT.replace("rfcavity L=0.3 voltage=3e5 harmonic=50 name=RF", "drift L=0.3"))
    np.testing.assert_allclose(ring.equilibrium().moments, drift.equilibrium().moments, rtol=1e-12)


@pytest.mark.parametrize("line,field", [
    ("rfcavity voltage=1e6", "frequency"),                              # neither frequency nor harmonic
    ("rfcavity voltage=1e6 harmonic=400 frequency=3.5e8", "frequency"),  # both
    ("rfcavity harmonic=400", "voltage"),
    ("rfcavity voltage=1e6 harmonic=400 D11=1e-3", "D11"),              # no damping/noise fields
    ("rfcavity voltage=1e6 harmonic=400 lag=0.1", "lag"),
    ("rfcavity voltage=1e6 harmonic=-4", "harmonic"),
    ("rfcavity voltage=1e6 harmonic=400 phase=abc", "phase"),
    ("rfcavity voltage=1e6 harmonic=400 L=-1", "length"),
])
def test_bad_rfcavity_lines_name_the_line_and_field(line, field):
    """Strict like the other kinds: a LatticeFileError naming line 3 and the field."""
    text = f"ring energy=1.0\ndrift L=1\n{line}\n"
    with pytest.raises(LatticeFileError, match="line 3") as info:
        parse_lattice(text)
    assert info.value.details.get("line") == 3 and info.value.details.get("field") == field


def test_bad_json_rfcavity_names_the_element():
    with pytest.raises(LatticeFileError, match="element 1: field 'voltage' must be a JSON number") as info:
        parse_lattice('[{"type": "drift", "L": 1}, {"type": "rfcavity", "voltage": "1e6", "harmonic": 4}]')
    assert info.value.details.get("index") == 1
    with pytest.raises(LatticeFileError, match="element 0: field 'tilt' is not valid for rfcavity"):
        parse_lattice('[{"type": "rfcavity", "voltage": 1e6, "harmonic": 4, "tilt": 0.1}]')
