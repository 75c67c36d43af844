"""Symbolic layer of coupled_beam: the paper's algebra, derived with sympy.

One module per section of LNF-64/55 (Bernardini & Pellegrini, 1964):

- :mod:`derivations.equations_of_motion` -- §1, Lagrangian (1) to eq. (3)
- :mod:`derivations.distribution` -- §3, Gaussian distributions, folding (7), (8)
- :mod:`derivations.equilibrium` -- §4, eq. (9), Q_rs, formula (10)
- :mod:`derivations.skew_quadrupole` -- §5, the thin 45° skew quadrupole
- :mod:`derivations.beam_spot` -- appendix, tilt, principal axes, 1/S
- :mod:`derivations.errata` -- printed versus derived, equation by equation
- :mod:`derivations.verify` -- an equality checker for hand derivations
- :mod:`derivations.codegen` -- writes ``coupled_beam/_kernels.py``
"""
