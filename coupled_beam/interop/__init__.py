"""Bridges to other accelerator codes (optional extras).

* :mod:`coupled_beam.interop.pyat` -- ``ring_from_pyat`` (extra ``pyat``);
  comparisons with pyAT in :mod:`coupled_beam.interop.pyat_compare`;
* :mod:`coupled_beam.interop.madx` -- ``ring_from_madx``, ``read_madx`` through
  cpymad (extra ``madx``; ``read_lattice`` dispatches ``.madx``/``.seq``);
* :mod:`coupled_beam.interop.xtrack` -- ``ring_from_xtrack`` (extra ``xtrack``);
* :mod:`coupled_beam.interop._common` -- feed-down, rolled quadrupoles, the
  chromatic part of orbit kicks, the one-error-for-all-offenders collector.
"""
