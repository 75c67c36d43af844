"""The numeric reference for generated kernels: element maps by the numeric engine, eigenvalues, (10).

At each random point of the symbols' domain the lattice is rebuilt with
numbers: drifts, thick quadrupoles, skew quadrupoles, solenoids and thin skew
quadrupoles are the numeric engine's own elements (``coupled_beam.lattice``,
``transfer_map()``); arcs are the engine's §5 block
(``coupled_beam.thin_skew_one_turn_map`` with m = 0, i.e. F = (1 − ½ D s0) F0)
or, with different exit Twiss, the Twiss transfer matrix; thin quadrupoles,
thin solenoids and matrices are their defining matrices. The reference
quantities are then independent of the symbolic route:

* eigentunes and decrements from ``numpy.linalg.eigvals`` of the numeric
  undamped and damped one-turn maps (g = angle, ω = −log|λ|);
* moments from the engine's formula (10) (``coupled_beam.equilibrium_moments``,
  the exact Lyapunov solution for the damped map);
* the closed orbit from ``numpy.linalg.solve(1 − N, n)``.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from derivations.symbolic_lattice import elements as el

__all__ = ["NumericLattice", "sample_points", "DAMPING_RANGE"]

#: the checks sample damping symbols here (first-order results: error O(D s0))
DAMPING_RANGE = (1e-7, 1e-6)


def _arc_block(mu, beta1, alpha1, beta2, alpha2, d) -> np.ndarray:
    c, s = math.cos(mu), math.sin(mu)
    if beta2 == beta1 and alpha2 == alpha1:
        F = np.array([[c + alpha1 * s, beta1 * s], [-(1 + alpha1**2) / beta1 * s, c - alpha1 * s]])
    else:
        r = math.sqrt(beta2 / beta1)
        F = np.array([[r * (c + alpha1 * s), math.sqrt(beta1 * beta2) * s],
                      [((alpha1 - alpha2) * c - (1 + alpha1 * alpha2) * s) / math.sqrt(beta1 * beta2),
                       (c - alpha2 * s) / r]])
    return F, (1 - d / 2) * F


def _element_maps(e: el.Element, v: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(undamped 4×4, damped 4×4, p column, noise) of one element at numbers ``v``."""
    from coupled_beam import lattice as lat

    z4 = np.zeros((4, 4))
    if isinstance(e, el.Arc):
        if v["beta_x_out"] == v["beta_x"] and v["alpha_x_out"] == v["alpha_x"] and \
                v["beta_z_out"] == v["beta_z"] and v["alpha_z_out"] == v["alpha_z"]:
            from coupled_beam import thin_skew_one_turn_map

            M = thin_skew_one_turn_map(v["mu_x"], v["mu_z"], v["beta_x"], v["beta_z"], 0.0,
                                       v["alpha_x"], v["alpha_z"])
            Md = thin_skew_one_turn_map(v["mu_x"], v["mu_z"], v["beta_x"], v["beta_z"], 0.0,
                                        v["alpha_x"], v["alpha_z"], v["d11_s0"], v["d22_s0"])
        else:
            fx, fxd = _arc_block(v["mu_x"], v["beta_x"], v["alpha_x"], v["beta_x_out"],
                                 v["alpha_x_out"], v["d11_s0"])
            fz, fzd = _arc_block(v["mu_z"], v["beta_z"], v["alpha_z"], v["beta_z_out"],
                                 v["alpha_z_out"], v["d22_s0"])
            M, Md = z4.copy(), z4.copy()
            M[:2, :2], M[2:, 2:], Md[:2, :2], Md[2:, 2:] = fx, fz, fxd, fzd
        eta = np.array([v["eta_x"], v["etap_x"], v["eta_z"], v["etap_z"]])
        R = np.array([[v["r11"], v["r12"], 0, 0], [v["r12"], v["r22"], 0, 0],
                      [0, 0, v["r33"], v["r34"]], [0, 0, v["r34"], v["r44"]]])
        return np.asarray(M), np.asarray(Md), eta - np.asarray(M) @ eta, R
    if isinstance(e, el.Drift):
        M = lat.Drift(v["L"]).transfer_map()
    elif isinstance(e, el.Quadrupole):
        M = lat.Quadrupole(v["L"], v["k1"]).transfer_map()
    elif isinstance(e, el.SkewQuadrupole):
        M = lat.SkewQuadrupole(v["L"], M=v["M"]).transfer_map()
    elif isinstance(e, el.Solenoid):
        M = lat.Solenoid(v["L"], v["H"]).transfer_map()
    elif isinstance(e, el.ThinSkewQuadrupole):
        M = lat.ThinSkewQuadrupole(v["m"]).transfer_map()
    elif isinstance(e, el.ThinQuadrupole):
        M = np.eye(4)
        M[1, 0], M[3, 2] = -v["k1l"], v["k1l"]
    elif isinstance(e, el.ThinSolenoid):
        c, s = math.cos(v["theta"]), math.sin(v["theta"])
        f = np.array([[1.0, 0.0], [-v["focus"], 1.0]])
        M = np.block([[c * f, s * f], [-s * f, c * f]])
    elif isinstance(e, el.Matrix):
        M = np.array([v[f"m{i}{j}"] for i in range(1, 5) for j in range(1, 5)]).reshape(4, 4)
    else:  # pragma: no cover
        raise TypeError(f"no numeric counterpart for {e.label()}")
    M = np.asarray(M, dtype=float)
    return M, M, np.zeros(4), z4


class NumericLattice:
    """The lattice at numbers: per-element maps, one-turn maps and noise at a boundary."""

    def __init__(self, lattice, values: dict) -> None:
        self.lattice = lattice
        self.values = values
        subs = {s: values[s.name] for s in lattice.symbols}
        self.parts = []
        for e in lattice.elements:
            v = {k: float(sp.sympify(x).xreplace(subs)) for k, x in e.params().items()}
            self.parts.append(_element_maps(e, v))

    def turn(self, at: int = 0):
        """(N undamped, N damped, p column n, noise 𝓡) at boundary ``at``."""
        n = len(self.parts)
        N, Nd, col, R = np.eye(4), np.eye(4), np.zeros(4), np.zeros((4, 4))
        for k in range(at, at + n):
            M, Md, c, r = self.parts[k % n]
            N, Nd = M @ N, Md @ Nd
            col = M @ col + c
            R = M @ R @ M.T + r
        return N, Nd, col, 0.5 * (R + R.T)


def _default_interval(s: sp.Symbol) -> tuple[float, float]:
    if s.is_positive:
        return 0.1, 3.0
    if s.is_negative:
        return -3.0, -0.1
    if s.is_nonnegative:
        return 0.0, 3.0
    return -3.0, 3.0


def sample_points(lattice, n: int, seed: int) -> dict:
    """``n`` random values per symbol: its declared interval, else by assumptions; damping symbols small."""
    rng = np.random.default_rng(seed)
    damping = {s for e in lattice.elements if isinstance(e, el.Arc)
               for f in ("d11_s0", "d22_s0") for s in e.params()[f].free_symbols}
    out = {}
    for s in lattice.symbols:
        lo, hi = DAMPING_RANGE if s in damping else lattice.domains.get(s.name, _default_interval(s))
        out[s.name] = rng.uniform(lo, hi, n)
    return out
