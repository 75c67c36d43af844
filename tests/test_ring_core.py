"""The one-way lattice core: frozen elements, stacked maps, blocked scans, periodicity, imports.

Independent routes: scipy.linalg.expm of the 6x6 generator, scipy's
solve_discrete_lyapunov at every boundary, the sequential recursion, the
tiled ring for a periodic one, and the import graph read from the source.
"""

import ast
import dataclasses
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from coupled_beam.errors import InputError
from coupled_beam.lattice import (Bend, Drift, Marker, Matrix, Quadrupole, RFCavity, Ring,
                                  SkewQuadrupole, Solenoid, ThinQuadrupole, ThinSkewQuadrupole)
from coupled_beam.lattice import maps

J6 = maps.J6
PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "coupled_beam"


def fodo(cells: int = 4, skew: float = 0.02):
    """A FODO ring (rectangular-ish bends with faces) with a thin skew quadrupole in cell 0."""
    h = 2 * np.pi / (2 * cells)
    cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=h, n=0.5, e1=0.1, e2=0.1),
            Drift(0.5), Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=h, e1=0.05),
            Drift(0.5)]
    return [ThinSkewQuadrupole(skew)] + cell * cells


# --- element values --------------------------------------------------------------------
def test_element_change_after_building_ring_is_impossible():
    """Changing an element raises FrozenInstanceError; replace() gives a new element and a new map."""
    q = Quadrupole(0.3, 1.1)
    ring = Ring([Drift(1.0), q, Drift(1.0), Quadrupole(0.3, -1.0)])
    before = ring.one_turn_map()
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.k1 = 2.0
    with pytest.raises(ValueError):
        q.D[0, 0] = 1.0           # stored matrices are read-only too
    q2 = q.replace(k1=1.2)
    assert q2 != q and q.k1 == 1.1, "replace returns a changed copy"
    new = Ring([Drift(1.0), q2, Drift(1.0), Quadrupole(0.3, -1.0)])
    assert not np.allclose(new.one_turn_map(), before, rtol=1e-6, atol=0), "new ring, new map"
    np.testing.assert_array_equal(ring.one_turn_map(), before)   # the old ring is unchanged


def test_elements_equal_and_hash_by_value():
    """Equal fields give equal elements and equal hashes; a different class is not equal."""
    a = Bend(1.0, K=0.2, n=0.1, e1=0.05, phi_hat=np.diag([0, 1e-12, 0, 0]))
    b = Bend(1.0, K=0.2, n=0.1, e1=0.05, phi_hat=np.diag([0, 1e-12, 0, 0]))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != a.replace(e2=0.05)
    assert Drift(1.0) != Solenoid(1.0, H=0.0)
    assert Bend(1.0, K=0.2).k1 == 0.0 and Bend(1.0, K=0.5, n=2.0).k1 == -0.5


def test_elements_pickle_roundtrip():
    """Elements cross process boundaries (dask workers) as equal values."""
    import pickle

    for el in fodo(1) + [Matrix(0.5, np.eye(4)), RFCavity(voltage=1e6, harmonic=100),
                         ThinQuadrupole(0.1, 0.02), Marker(name="M")]:
        again = pickle.loads(pickle.dumps(el))
        assert again == el and hash(again) == hash(el), repr(el)


@pytest.mark.parametrize("make, field", [
    (lambda: Bend(1.0, K=0.1, e1=2.0), "e1"),
    (lambda: RFCavity(voltage=1e6), "frequency"),
    (lambda: Matrix(1.0, np.eye(3)), "M66"),
    (lambda: Quadrupole(0.1, float("nan")), "k1"),
    (lambda: Drift(1.0, tilt=float("inf")), "tilt"),
])
def test_element_bad_values_raise_input_error_naming_field(make, field):
    """Bad element values raise InputError naming the field."""
    with pytest.raises(InputError, match=field):
        make()


# --- maps --------------------------------------------------------------------------------
@pytest.mark.parametrize("el", [
    Drift(1.3), Quadrupole(0.4, 1.7), Quadrupole(0.4, -2.2), Quadrupole(0.4, 1e-9),
    Bend(1.1, K=0.3, n=0.7), Bend(2.0, K=-0.2, n=-3.0), SkewQuadrupole(0.3, M=0.8),
    Solenoid(0.9, H=0.6), Bend(1e-6, K=0.3), Bend(30.0, K=0.05, n=0.5),
    Bend(1.1, K=0.3, n=0.7, e1=0.2, e2=-0.1, fint_gap1=0.05, fint_gap2=0.02),
])
def test_element_map6_equals_scipy_expm_and_is_symplectic(el):
    """The stacked exponential of the 6x6 generator equals scipy's expm; M^T J M = J."""
    from scipy.linalg import expm

    G = maps.generators6([el])[0]
    ref = expm(G * el.length)
    ref = maps._embed4(el.exit) @ ref @ maps._embed4(el.entrance)
    got = el.map6()
    scale = max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-15 * scale * 8)  # Padé vs scipy: ulps
    np.testing.assert_allclose(got.T @ J6 @ got, J6, rtol=0, atol=1e-13 * scale**2)


def test_tilted_element_map_is_rotated_and_restrictions_agree():
    """A roll t gives R(-t) M R(t); the 5x5 augmented map is rows/cols 0..4 of the 6x6."""
    q = Quadrupole(0.4, 1.3)
    t = 0.3
    M = q.replace(tilt=t).map6()
    np.testing.assert_allclose(M, maps.rotation6(-t) @ q.map6() @ maps.rotation6(t),
                               rtol=0, atol=1e-15)
    # a normal quadrupole rolled by 45 degrees couples x and z like a skew one
    assert abs(q.replace(tilt=np.pi / 4).map6()[1, 2]) > 0.1
    b = Bend(0.8, K=0.4, n=0.2)
    np.testing.assert_array_equal(b.augmented_map(), b.map6()[:5, :5])


def test_thin_quadrupole_skew_part_is_thin_skew_quadrupole():
    """ThinQuadrupole(0, m) is the §5 thin skew map; ThinQuadrupole(k) kicks x' -= k x."""
    np.testing.assert_array_equal(ThinQuadrupole(0.0, 0.03).transfer_map(),
                                  ThinSkewQuadrupole(0.03).transfer_map())
    assert ThinQuadrupole(0.2).transfer_map()[1, 0] == -0.2


def test_blocked_prefix_scan_equals_sequential_recursion():
    """The recursive blocked scan gives the sequential C_i and G_i (re-associated products).

    Lengths cover the sequential base (<= 16), one and two block levels, padded and exact
    multiples of the block (8, 64, 512) and three levels (600).
    """
    rng = np.random.default_rng(1)
    for n in (1, 2, 7, 16, 17, 50, 64, 101, 512, 600):
        # well-conditioned products (damped near-rotations, as a ring's maps): rounding stays ~n eps
        M = 0.999 * np.linalg.qr(rng.normal(size=(n, 4, 4)))[0] + 0.05 * rng.normal(size=(n, 4, 4))
        B = rng.normal(size=(n, 4, 4))
        R = B @ np.swapaxes(B, 1, 2)
        C, G = maps.prefix_affine(M, R)
        c, g = np.eye(4), np.zeros((4, 4))
        for i in range(n):
            c, g = M[i] @ c, M[i] @ g @ M[i].T + R[i]
            scale = np.abs(c).max() + np.abs(g).max()
            np.testing.assert_allclose(C[i + 1], c, rtol=0, atol=1e-13 * scale)  # rounding
            np.testing.assert_allclose(G[i + 1], g, rtol=0, atol=1e-13 * scale)
        M6 = 0.999 * np.linalg.qr(rng.normal(size=(n, 6, 6)))[0] + 0.05 * rng.normal(size=(n, 6, 6))
        C6, none = maps.prefix_affine(M6)
        assert none is None and C6.shape == (n + 1, 6, 6)
        c = np.eye(6)
        for i in range(n):
            c = M6[i] @ c
        np.testing.assert_allclose(C6[n], c, rtol=0, atol=1e-13 * np.abs(c).max())


def test_affine_scan_apply_equals_the_prefix_arrays():
    """AffineScan.apply(S0) (Sigma from the blocks) = C_i S0 C_i^T + G_i of prefix_affine, symmetric."""
    rng = np.random.default_rng(5)
    for n in (3, 16, 17, 64, 443):
        M = 0.999 * np.linalg.qr(rng.normal(size=(n, 4, 4)))[0] + 0.05 * rng.normal(size=(n, 4, 4))
        B = rng.normal(size=(n, 4, 4))
        R = B @ np.swapaxes(B, 1, 2)
        S0 = np.diag([2.0, 1.0, 0.5, 0.25])
        scan = maps.AffineScan(M, R)
        C, G = maps.prefix_affine(M, R)
        ref = C @ S0 @ np.swapaxes(C, 1, 2) + G
        S = scan.apply(S0)
        np.testing.assert_array_equal(S, np.swapaxes(S, 1, 2))
        np.testing.assert_allclose(S, ref, rtol=0, atol=1e-13 * np.abs(ref).max())
        np.testing.assert_array_equal(scan.arrays()[0], C)
        np.testing.assert_array_equal(scan.total[1], G[-1])


def test_dedupe_separates_elements_whose_hashes_collide():
    """Equal map hashes with different values (hash(-1.0) == hash(-2.0) in Python) stay distinct."""
    from coupled_beam.lattice import Bend

    a, b = Bend(1.0, K=-1.0), Bend(1.0, K=-2.0)
    object.__setattr__(b, "_map_hash", a._map_hash)       # force the collision
    c = Bend(1.0, K=-2.0, name="again")
    object.__setattr__(c, "_map_hash", a._map_hash)
    unique, inv = maps.dedupe([a, b, a, c, Bend(1.0, K=-1.0, name="x")])
    assert len(unique) == 2 and inv.tolist() == [0, 1, 0, 1, 0]
    assert unique[0] is a and unique[1] is b


# --- rings -------------------------------------------------------------------------------
def test_moments_at_every_boundary_equal_lyapunov_solution():
    """Sigma at each boundary solves Sigma = N Sigma N^T + R there (scipy's Lyapunov solver)."""
    from scipy.linalg import solve_discrete_lyapunov

    ring = Ring(fodo(), energy=1.0)
    S = ring.moments()
    worst = 0.0
    for i in range(len(ring)):
        ref = solve_discrete_lyapunov(ring.one_turn_map(i), ring.one_turn_noise(i))
        worst = max(worst, np.abs(S[i] - ref).max() / np.abs(ref).max())
    # both routes lose about log10(1 / (1 - |Delta|^2)) = 4.5 of the 16 digits (J_x = 0.41)
    assert worst < 1e-9, f"max relative deviation from Lyapunov {worst:.3g}"


def test_periodic_ring_equals_tiled_ring():
    """Ring(cell, periodicity=P) has the tiled ring's sizes and tunes at the cell boundaries."""
    P = 8
    cell = fodo(cells=P, skew=0.01)[:9]          # the skew quadrupole and one FODO cell of 8
    per = Ring(cell, energy=1.0, periodicity=P)
    tiled = Ring(cell * P, energy=1.0)
    assert per.circumference == pytest.approx(tiled.circumference, rel=1e-15)
    n = len(cell)
    np.testing.assert_allclose(per.one_turn_map(), tiled.one_turn_map(), rtol=0,
                               atol=1e-13 * np.abs(tiled.one_turn_map()).max())  # rounding
    ev_p = np.sort(np.angle(np.linalg.eigvals(per.one_turn_map())))
    ev_t = np.sort(np.angle(np.linalg.eigvals(tiled.one_turn_map())))
    np.testing.assert_allclose(ev_p, ev_t, rtol=0, atol=1e-10)   # same tunes
    Sp = per.moments()
    St = tiled.moments()[: n + 1]
    np.testing.assert_allclose(Sp, St, rtol=1e-8, atol=1e-8 * np.abs(St).max())  # (10): ~8 digits
    assert per.p2 == pytest.approx(tiled.p2, rel=1e-12)
    eq = per.equilibrium()
    assert eq.sigma_x.shape == (n + 1,)


def test_closed_orbit_functions_periodic_equal_tiled():
    """eta of a periodic ring is the cell-periodic solution: equal to the tiled ring's."""
    cell = fodo(cells=5, skew=0.01)[:9]
    per = Ring(cell, periodicity=5).closed_orbit_functions()
    tiled = Ring(cell * 5).closed_orbit_functions()[: len(cell) + 1]
    np.testing.assert_allclose(per, tiled, rtol=1e-10, atol=1e-12)   # two linear solves


def test_with_radiation_is_pure():
    """with_radiation returns a new ring; the bare one keeps no radiation."""
    bare = Ring(fodo())
    hot = bare.with_radiation(1.0)
    assert bare.energy is None and bare.p2 == 0.0 and hot.energy == 1.0 and hot.p2 > 0
    assert hot.elements == bare.elements
    np.testing.assert_array_equal(Ring(fodo(), energy=1.0).one_turn_map(), hot.one_turn_map())
    assert np.abs(hot.element_maps6 - bare.element_maps6).max() > 0, "damping in the bends"


def test_periodicity_must_be_positive_integer():
    """Periodicity 0, 1.5 or True is an InputError naming it."""
    for bad in (0, 1.5, True):
        with pytest.raises(InputError, match="periodicity"):
            Ring([Drift(1.0)], periodicity=bad)


# --- imports ------------------------------------------------------------------------------
def _modules() -> dict:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _top_level_edges(mods: dict) -> dict:
    graph = {}
    for name, path in mods.items():
        edges = set()
        for node in ast.parse(path.read_text()).body:
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                hits = [s for s in subs if s in mods]
                targets = hits if hits else [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            edges |= {t for t in targets if t in mods and t != name}
        graph[name] = edges
    return graph


def test_import_graph_is_acyclic():
    """Module-level imports inside coupled_beam form no cycle; lattice imports no physics module."""
    graph = _top_level_edges(_modules())
    state: dict = {}

    def visit(u, path):
        state[u] = 1
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path + [u, v]))
            if v not in state:
                visit(v, path + [u])
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            visit(u, [])
    physics = {"coupled_beam.equilibrium", "coupled_beam.distribution", "coupled_beam.radiation",
               "coupled_beam.optics", "coupled_beam.sixd", "coupled_beam.longitudinal"}
    for mod in ("coupled_beam.lattice", "coupled_beam.lattice.elements",
                "coupled_beam.lattice.maps", "coupled_beam.lattice.ring"):
        assert not graph[mod] & physics, f"{mod} imports {graph[mod] & physics} at module level"


@pytest.mark.parametrize("module", ["coupled_beam.lattice", "coupled_beam.lattice.maps",
                                    "coupled_beam.lattice.ring", "coupled_beam.optics",
                                    "coupled_beam.radiation", "coupled_beam.equilibrium",
                                    "coupled_beam.distribution", "coupled_beam.precision",
                                    "coupled_beam.skew_quadrupole"])
def test_each_core_module_imports_alone_without_scipy(module):
    """Each module imports first in a fresh interpreter, and pulls in neither scipy nor sympy."""
    code = (f"import sys, {module}; bad = [m for m in ('scipy', 'sympy') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"{module}: {res.stderr[-2000:]}"


def test_machine_rolled_by_quarter_turn_swaps_planes_with_radiation():
    """Rolling every element by pi/2 makes a vertically bending ring: eps_z, zeta equal eps_x, xi of the flat one."""
    h = 2 * np.pi / 16
    cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=h, e1=0.05, e2=0.05), Drift(0.5),
            Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=h), Drift(0.5)]
    flat = Ring(cell, energy=1.0, periodicity=8)
    rolled = Ring([el.replace(tilt=np.pi / 2) for el in cell], energy=1.0, periodicity=8)
    S1, S2 = flat.moments(), rolled.moments()
    eps_x = np.sqrt(np.linalg.det(S1[:, :2, :2]))
    eps_z = np.sqrt(np.linalg.det(S2[:, 2:, 2:]))
    # the same machine in rotated coordinates: cos(pi/2) = 6e-17 and (10) rounding (1e-10)
    np.testing.assert_allclose(eps_z, eps_x, rtol=1e-9, atol=0)
    np.testing.assert_allclose(rolled.closed_orbit_functions()[:, 2:], flat.closed_orbit_functions()[:, :2],
                               rtol=1e-12, atol=1e-14)
    assert rolled.p2 == pytest.approx(flat.p2, rel=1e-14)
