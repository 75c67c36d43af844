"""Named closed forms of a symbolic lattice for ``coupled-beam derive NAME --lattice FILE``.

Each name maps to a :class:`~derivations.registry.Result` built on demand (only
the asked-for derivation runs), displayed in a tidied form
(:func:`~derivations.symbolic_lattice.canonical.tidy`, size-gated), with the
declared symbols as the argument order of the code formats.

Examples
--------
>>> import sympy as sp
>>> from derivations.symbolic_lattice import SymbolicLattice, Arc, ThinSkewQuadrupole
>>> mu, m = sp.Symbol("mu", real=True), sp.Symbol("m", real=True)
>>> lat = SymbolicLattice([Arc(mu_x=mu, mu_z=mu), ThinSkewQuadrupole(m)])
>>> lattice_result(lat, "a-b").expr
(2*cos(mu), m**2*sin(mu)**2)
"""

from __future__ import annotations

import sympy as sp

from coupled_beam.errors import InputError
from derivations.registry import Result
from derivations.symbolic_lattice.canonical import tidy
from derivations.symbolic_lattice.lattice import lam, w

__all__ = ["RESULTS", "lattice_result", "lattice_results"]

P2 = sp.Symbol("p2", positive=True)


def _share(lat, at):
    eta = lat.dispersion(at)
    xx, xz, zz = lat.moments(at)
    zeta = eta[2]
    return (tidy(zeta), tidy(zz), zeta**2 * P2 / (tidy(zz) + zeta**2 * P2))


#: name -> (description, reference, builder(lattice, at))
RESULTS = {
    "one-turn-map": ("undamped one-turn map N at the observation boundary", "§4, §5",
                     lambda L, at: tidy(L.one_turn_map(at))),
    "char-poly": ("det(N - λ) = 0 (undamped)", "§5",
                  lambda L, at: sp.Eq(sp.collect(sp.expand(lam**4 - sum(
                      c * lam**k for c, k in zip(
                          (tidy(e) * s for e, s in zip(L.invariants(at), (1, -1, 1, -1))), (3, 2, 1, 0)))),
                      lam), 0)),
    "reduced": ("det(N - λ)/λ² = q(w), w = λ + 1/λ (symplectic N)", "§5",
                lambda L, at: sp.Eq(sp.collect(tidy(L.reduced_polynomial(at)), w), 0)),
    "a-b": ("λ + 1/λ = a ± b: (a, b²)", "§5", lambda L, at: tidy(L.a_b2(at))),
    "cos-eigentunes": ("(cos g+, cos g-) = ((a + b)/2, (a - b)/2)", "§5",
                       lambda L, at: tuple((a + s * sp.sqrt(b2)) / 2 for a, b2 in [tidy(L.a_b2(at))]
                                           for s in (1, -1))),
    "eigentunes": ("(g+, g-) in [0, π], cos g± = (a ± b)/2", "§5",
                   lambda L, at: tuple(sp.acos((a + s * sp.sqrt(b2)) / 2) for a, b2 in [tidy(L.a_b2(at))]
                                       for s in (1, -1))),
    "stability": ("b² ≥ 0, |a ± b| ≤ 2 (undamped)", "§5",
                  lambda L, at: tuple(sp.Ge(b2, 0) if k == 0 else sp.Le(sp.Abs(a + (3 - 2 * k) * sp.sqrt(b2)), 2)
                                      for a, b2 in [tidy(L.a_b2(at))] for k in range(3))),
    "mode-damping": ("first-order decrements (ω+, ω-) per turn: -e0/4 ± (e3 - e1 - a e0)/(4b)",
                     "§5 (beyond the paper)",
                     lambda L, at: tuple(tidy(-e0 / 4) + s * tidy((e3 - e1 - a * e0) / 4) / sp.sqrt(tidy(b2))
                                         for (e0, e1, e3), (a, b2) in [(L.damping_coefficients(at), L.a_b2(at))]
                                         for s in (1, -1))),
    "moments": ("far-from-resonance (<x²>, <xz>, <z²>), leading order in the damping", "§4 (10), §5",
                lambda L, at: tidy(L.moments(at), 2000)),
    "emittances": ("eigen-emittances (ε+, ε-) far from resonance and min/max", "§5 (beyond the paper)",
                   lambda L, at: tidy(L.emittances(at), 2000)),
    "tilt": ("tilt θ = ½ atan2(2<xz>, <x²> - <z²>) of the betatron spot", "appendix",
             lambda L, at: sp.atan2(*(lambda m: (2 * m[1], m[0] - m[2]))(tidy(L.moments(at), 2000))) / 2),
    "dispersion": ("closed orbit (ξ, ξ', ζ, ζ') per unit p: (1 - N) η = n", "§3",
                   lambda L, at: tidy(tuple(L.dispersion(at)), 2000)),
    "dispersion-share": ("(ζ, <z_b²>, ζ² p2/(<z_b²> + ζ² p2)): the share of ζ² <p²> in <z²>", "§3, §5",
                         _share),
    "coupling": ("first-order (Re C+, Im C+, Re C-, Im C-)", "first-order coupling theory",
                 lambda L, at: tidy(L.coupling_coefficients(at), 2000)),
    "delta-qmin": ("ΔQmin = |C-| (first order)", "first-order coupling theory",
                   lambda L, at: tidy(L.delta_qmin(at), 2000)),
}


def lattice_result(lattice, name: str, at: int = 0) -> Result:
    """The Result ``name`` for ``lattice`` at boundary ``at`` (derived now).

    Raises
    ------
    InputError
        Unknown name (the list of names is given), or a derivation's own refusal.
    """
    if name not in RESULTS:
        raise InputError(f"unknown lattice result {name!r}; available: {', '.join(RESULTS)}", value=name)
    desc, ref, build = RESULTS[name]
    expr = build(lattice, at)
    return Result(name, expr, f"{desc} (boundary {at})", f"LNF-64/55 {ref}; user lattice",
                  tuple(lattice.symbols))


def lattice_results(lattice, at: int = 0) -> dict[str, tuple[str, str]]:
    """Name -> (description, reference) of every lattice result (nothing derived)."""
    return {k: (d, r) for k, (d, r, _) in RESULTS.items()}
