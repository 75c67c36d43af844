"""Lattice files (text and JSON) and the `coupled-beam equilibrium` command."""

import json

import numpy as np
import pytest

from coupled_beam import cli
from coupled_beam.errors import LatticeFileError, UnknownElementError
from coupled_beam.lattice import Bend, Drift, Quadrupole, Ring, Solenoid, ThinSkewQuadrupole
from coupled_beam.lattice_file import example_lattice_path, parse_lattice, read_lattice

TEXT = """
# a comment line
ring p2=1e-6
repeat 2
  quadrupole L=0.3 k1=1.2 D11=1e-3 D22=1e-3
  bend L=1.0 K=0.2 n=0.1 phi22=1e-12 phi24=2e-13 phi44=1e-13  # trailing comment
end
thin_skew m=0.01 name=SK
solenoid L=0.5 H=0.3
"""


def test_text_lattice_builds_same_maps_as_python():
    """The text file gives the ring built in Python, element by element (maps equal)."""
    ring = parse_lattice(TEXT)
    phi = np.zeros((4, 4))
    phi[1, 1], phi[1, 3], phi[3, 1], phi[3, 3] = 1e-12, 2e-13, 2e-13, 1e-13
    cell = [Quadrupole(0.3, 1.2, D=1e-3 * np.eye(2)), Bend(1.0, K=0.2, n=0.1, phi_hat=phi)]
    ref = Ring(cell * 2 + [ThinSkewQuadrupole(0.01), Solenoid(0.5, 0.3)], p2=1e-6)
    assert ring.p2 == 1e-6 and len(ring) == 6 and ring.elements[4].name == "SK"
    np.testing.assert_array_equal(ring.element_maps(), ref.element_maps())
    np.testing.assert_array_equal(ring.noise_integrals(), ref.noise_integrals())


def test_json_lattice_equals_text_lattice():
    """The JSON form {"ring": ..., "elements": [...]} gives the same ring as the text form."""
    data = {"ring": {"p2": 1e-6}, "elements": [
        {"type": "drift", "L": 1.0}, {"type": "bend", "L": 1.0, "K": 0.2, "D11": 1e-3},
        {"type": "generic", "L": 1.0, "K11": 0.1, "K22": 0.2, "b2": 0.5}]}
    ring = parse_lattice(json.dumps(data))
    text = parse_lattice("ring p2=1e-6\ndrift L=1.0\nbend L=1.0 K=0.2 D11=1e-3\n"
                         "generic L=1.0 K11=0.1 K22=0.2 b2=0.5")
    np.testing.assert_array_equal(ring.element_maps(), text.element_maps())
    np.testing.assert_array_equal(ring.augmented_maps(), text.augmented_maps())


@pytest.mark.parametrize("text,line,field", [
    ("drift L=1\nbend L=1 K=abc", 2, "K"),
    ("drift L=1\n\nquadrupole L=0.3", 3, "k1"),
    ("drift L=1 X=2", 1, "X"),
    ("drift L=nan", 1, "L"),
    ("drift L=-1", 1, "length"),
    ("repeat 2\ndrift L=1", 1, "repeat"),
    ("end", 1, "end"),
    ("ring p3=1\ndrift L=1", 1, "p3"),
    ("bend L=1 K=0.1 phi24=1 phi42=2", 1, "phi42"),
    ("drift L", 1, "L"),
])
def test_malformed_text_names_line_and_field(text, line, field):
    """Every malformed line raises LatticeFileError with its line number and field."""
    with pytest.raises(LatticeFileError) as info:
        parse_lattice(text)
    assert info.value.line == line, str(info.value)
    assert info.value.field == field, str(info.value)
    assert f"line {line}" in str(info.value)


def test_unknown_type_is_unknown_element_error():
    """An unknown element type raises UnknownElementError (a LatticeFileError) naming it."""
    with pytest.raises(UnknownElementError, match="'octupole'") as info:
        parse_lattice("drift L=1\noctupole L=0.2 k3=3")
    assert info.value.line == 2 and isinstance(info.value, LatticeFileError)
    with pytest.raises(UnknownElementError, match="element 1"):
        parse_lattice('[{"type": "drift", "L": 1}, {"type": "wiggler"}]')


def test_bad_json_names_line():
    """Invalid JSON raises LatticeFileError with the decoder's line."""
    with pytest.raises(LatticeFileError, match="line 2") as info:
        parse_lattice('[{"type": "drift",\n "L": }]')
    assert info.value.field == "json"


def test_example_lattice_reads_and_is_coupled():
    """The shipped example ring loads with radiation on and has a tilted spot."""
    ring = read_lattice(example_lattice_path())
    assert ring.energy == 0.51 and ring.p2 > 0
    eq = ring.equilibrium()
    assert np.all(np.isfinite(eq.inv_area)) and np.max(np.abs(eq.tilt)) > 0.01


def test_cli_equilibrium_json_matches_api(tmp_path, capsys):
    """`coupled-beam equilibrium FILE --json` prints the API's sizes at every boundary."""
    path = tmp_path / "ring.lat"
    path.write_text("ring p2=1e-6\nrepeat 4\nbend L=1 K=0.5 n=0.5 D11=0.01 D22=0.01 "
                    "phi22=1e-10 phi44=1e-11\nend\n")
    assert cli.main(["equilibrium", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    eq = read_lattice(path).equilibrium()
    got = [row["sigma_x"] for row in out["boundaries"]]
    np.testing.assert_allclose(got, eq.sigma_x, rtol=1e-15, atol=0)  # same numbers printed
    assert len(out["boundaries"]) == 5 and out["summary"]["elements"] == 4


def test_cli_equilibrium_text_table_and_bad_file(tmp_path, capsys):
    """Text output has a header and one row per boundary; a malformed file exits 2 with the line."""
    assert cli.main(["equilibrium", "example", "--every", "33"]) == 0
    out = capsys.readouterr().out
    assert "sigma_x (m)" in out and "eigentunes" in out
    bad = tmp_path / "bad.lat"
    bad.write_text("drift L=1\nquad L=1\n")
    assert cli.main(["equilibrium", str(bad)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_read_lattice_missing_file_is_lattice_file_error(tmp_path):
    """A missing path or a directory is a LatticeFileError naming the path, not a bare OSError."""
    from coupled_beam.errors import LatticeFileError
    from coupled_beam.lattice_file import read_lattice

    for bad in (tmp_path / "nope.lat", tmp_path):
        with pytest.raises(LatticeFileError, match="cannot read lattice file"):
            read_lattice(bad)


def test_sextupole_line():
    """``sextupole L= k2= [k2s=]``: a Sextupole (a drift on the design orbit, feed-down when displaced)."""
    from coupled_beam.lattice import Drift, Sextupole

    ring = parse_lattice("sextupole L=0.2 k2=10 k2s=1\ndrift L=1\nquadrupole L=0.2 k1=1\n"
                         "drift L=1\nquadrupole L=0.2 k1=-1\n")
    s = ring.elements[0]
    assert isinstance(s, Sextupole) and (s.k2, s.k2s, s.k1) == (10.0, 1.0, 0.0)
    assert np.allclose(s.map6(), Drift(0.2).map6(), rtol=0, atol=1e-15)
    with pytest.raises(LatticeFileError, match="k2"):
        parse_lattice("sextupole L=0.2\n")
