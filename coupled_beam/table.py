"""The optics table of a ring: coupled optics, dispersion, beam sizes, tilt, 1/S.

:func:`optics_table` (``RingEquilibrium.table()``) gives one row per element
boundary (row 0 = the start, row i = the exit of element i - 1, as MAD-X's
TWISS), a pandas ``DataFrame`` when pandas is installed, otherwise a numpy
structured array (:class:`TableArray`); both carry the header in ``.attrs``.
:func:`write_table` writes it as TFS (as MAD-X writes it; ``tfs-pandas``
reads it back), CSV or JSON.

Coupled optics: Mais–Ripken
---------------------------
With E_k (k = 1, 2) the eigenvectors of the lossless one-turn 4x4 map N(s)
(N E_k = exp(i 2 pi Q_k) E_k), normalised by E_k^† J E_k = i
(J = blockdiag(J2, J2), J2 = [[0, 1], [-1, 0]]), the Mais–Ripken lattice
matrices are B^k = 2 Re(E_k E_k^†) and

    BETA1x = B^k[0, 0], ALFA1x = -B^k[0, 1], GAMA1x = B^k[1, 1]  (plane x),
    BETAkz = B^k[2, 2], ALFAkz = -B^k[2, 3], GAMAkz = B^k[3, 3]  (plane z),

so that a beam of mode emittances eps_k has <y y^T> = sum_k eps_k B^k and,
uncoupled, BETA11 = beta_x, BETA22 = beta_z, BETA12 = BETA21 = 0. Column
names follow MAD-X's ``twiss, ripken``: BETA11 = beta of mode 1 in x,
BETA12 = beta of mode 2 in x, BETA21 = mode 1 in z, BETA22 = mode 2 in z.
Mode 1 is the mode with the larger x share at s = 0 (the horizontal one when
uncoupled); its eigenvector is propagated, E_k(s_i) = N(s_i, 0) E_k(0), so the
labels do not swap along s. The phases MU1, MU2 (turns) are the unwrapped
phase of E_1x and E_2z (Q1, Q2 in the header are their values at s0, integer
part included).

Units: s, BETA, DX, DZ, SIGX, SIGZ in m; ALFA, DPX, DPZ dimensionless; GAMA
in 1/m; TILT in rad; INV_AREA (1/S of the appendix) in 1/m^2; MU in turns.
Dispersion (DX, DPX, DZ, DPZ) = closed-orbit functions (xi, xi', zeta, zeta')
of eq. (2); x outward, z up (MAD-X's convention for a ring bending to the
right as seen from above).

Header
------
``Q1 Q2`` (mode tunes), ``TAU1 TAU2`` (amplitude damping times of the betatron
modes, s, from the damped one-turn map), ``J1 J2`` (partition numbers
2 E T0 / (tau U0)), ``TAUS JS`` (longitudinal, radiation integrals), ``EX1 EX2``
(betatron mode emittances E_k^† J Sigma J^T E_k at s = 0, m rad), ``SIGE``
(sigma_delta = sqrt(<p^2>)), ``U0`` (GeV), ``ENERGY`` (GeV), ``LENGTH`` (m),
``ALFA`` (momentum compaction I1/C), ``MODEL`` (4d / 6d). Damping and
radiation fields only when the ring radiates (``Ring(..., energy=...)``). For
a 6-D equilibrium (:class:`coupled_beam.sixd.RingEquilibrium6`, pass
``ring=``) the emittances, damping times, partition numbers, sigma_delta are
its own (modes matched to ours by tune), plus ``EXS`` (longitudinal
emittance), ``SIGL`` (bunch length, m), ``QS``.

References
----------
F. Willeke, G. Ripken, "Methods of beam optics", AIP Conf. Proc. 184 (1989) 758;
A. Wolski, Phys. Rev. ST Accel. Beams 9, 024001 (2006) (B^k = N T_k N^T);
MAD-X user guide, TWISS (RIPKEN) and the TFS format; LNF-64/55 eq. (2), (8), appendix.

Examples
--------
>>> from coupled_beam.lattice import Bend, Drift, Quadrupole, Ring
>>> cell = [Quadrupole(0.2, 1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5),
...         Quadrupole(0.2, -1.2), Drift(0.5), Bend(1.0, K=2 * np.pi / 16), Drift(0.5)]
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     eq = Ring(cell * 8, energy=1.0).equilibrium()
>>> tab = optics_table(eq)
>>> len(tab), float(tab["BETA12"][0]) == 0.0
(65, True)
"""

from __future__ import annotations

import io
import json
import math
import warnings
from pathlib import Path

import numpy as np

from coupled_beam.errors import InputError, PhysicsWarning

__all__ = ["COLUMNS", "optics_table", "optics_header", "mais_ripken", "TableArray",
           "write_table", "format_table"]

#: column name -> (unit, meaning)
COLUMNS: dict[str, tuple[str, str]] = {
    "NAME": ("-", "element ending at this boundary ('START' for row 0)"),
    "KIND": ("-", "element kind (class name, lower case)"),
    "S": ("m", "arc length of the boundary"),
    "BETA11": ("m", "Mais-Ripken beta of mode 1 in x"),
    "BETA12": ("m", "Mais-Ripken beta of mode 2 in x"),
    "BETA21": ("m", "Mais-Ripken beta of mode 1 in z"),
    "BETA22": ("m", "Mais-Ripken beta of mode 2 in z"),
    "ALFA11": ("1", "Mais-Ripken alpha of mode 1 in x"),
    "ALFA12": ("1", "Mais-Ripken alpha of mode 2 in x"),
    "ALFA21": ("1", "Mais-Ripken alpha of mode 1 in z"),
    "ALFA22": ("1", "Mais-Ripken alpha of mode 2 in z"),
    "GAMA11": ("1/m", "Mais-Ripken gamma of mode 1 in x"),
    "GAMA12": ("1/m", "Mais-Ripken gamma of mode 2 in x"),
    "GAMA21": ("1/m", "Mais-Ripken gamma of mode 1 in z"),
    "GAMA22": ("1/m", "Mais-Ripken gamma of mode 2 in z"),
    "MU1": ("turns", "phase of mode 1 (arg E_1x / 2 pi, unwrapped)"),
    "MU2": ("turns", "phase of mode 2 (arg E_2z / 2 pi, unwrapped)"),
    "DX": ("m", "closed-orbit function xi (dispersion), eq. (2)"),
    "DPX": ("1", "xi'"),
    "DZ": ("m", "closed-orbit function zeta (vertical dispersion)"),
    "DPZ": ("1", "zeta'"),
    "SIGX": ("m", "rms horizontal size sqrt(<x_b^2> + xi^2 <p^2>)"),
    "SIGZ": ("m", "rms vertical size"),
    "TILT": ("rad", "tilt theta of the beam spot (appendix); NaN if degenerate"),
    "INV_AREA": ("1/m^2", "1/S = sqrt(mu_xx mu_zz)/2 pi (appendix); NaN if degenerate"),
}

_FLOAT_COLUMNS = [c for c in COLUMNS if c not in ("NAME", "KIND")]


class TableArray(np.ndarray):
    """numpy structured array with a header dict in ``.attrs`` (pandas-free fallback).

    Examples
    --------
    >>> t = np.zeros(2, dtype=[("S", float)]).view(TableArray)
    >>> t.attrs["Q1"] = 0.25
    >>> t[:1].attrs["Q1"]
    0.25
    """

    def __array_finalize__(self, obj) -> None:
        self.attrs = dict(getattr(obj, "attrs", {}) or {})


def _symplectic_normalise(E: np.ndarray) -> np.ndarray:
    """Scale columns E[:, k] so that E_k^† J E_k = i (conjugating if needed)."""
    J = np.kron(np.eye(2), np.array([[0.0, 1.0], [-1.0, 0.0]]))
    out = np.empty_like(E)
    for k in range(E.shape[-1]):
        v = E[..., k]
        q = np.einsum("...i,ij,...j->...", v.conj(), J, v)   # purely imaginary
        flip = q.imag < 0
        v = np.where(flip[..., None], v.conj(), v)
        out[..., k] = v / np.sqrt(np.abs(q.imag))[..., None]
    return out


def mais_ripken(N0, P) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mais–Ripken lattice matrices B^k(s_i) = 2 Re(E_k E_k^†) along a ring.

    Parameters
    ----------
    N0 : (4, 4) array_like
        Lossless one-turn map at s = 0 (a stable symplectic map).
    P : (m, 4, 4) array_like
        Transfer maps N(s_i, 0) to the rows.

    Returns
    -------
    B : (m, 2, 4, 4) array
        B^1, B^2 at every row (mode 1: larger x share at s = 0).
    mu : (m, 2) array
        Unwrapped phases of E_1x and E_2z (turns).
    tunes : (2,) array
        Fractional mode tunes arg(lambda_k) / 2 pi in [0, 1).

    Raises
    ------
    InputError
        N0 not stable (eigenvalues off the unit circle or real).

    References
    ----------
    Willeke & Ripken (1989); Wolski, PRSTAB 9, 024001 (2006), eq. (2)-(10).

    Examples
    --------
    >>> c, s = np.cos(0.3), np.sin(0.3)
    >>> rot = lambda b: np.array([[c, b * s], [-s / b, c]])
    >>> N0 = np.block([[rot(4.0), np.zeros((2, 2))], [np.zeros((2, 2)), rot(2.0)]])
    >>> B, mu, q = mais_ripken(N0, np.eye(4)[None])
    >>> round(float(B[0, 0, 0, 0]), 12), round(float(B[0, 1, 2, 2]), 12)
    (4.0, 2.0)
    """
    N0 = np.asarray(N0, dtype=float)
    P = np.asarray(P, dtype=float)
    w, V = np.linalg.eig(N0)
    if np.any(np.abs(np.abs(w) - 1) > 1e-6) or np.any(np.abs(w.imag) < 1e-12):
        raise InputError(f"the one-turn map is not stable (eigenvalues {np.round(w, 8).tolist()}):"
                         " no periodic optics functions; move the tunes into a stable region",
                         value=str(np.round(w, 8).tolist()))
    pos = np.flatnonzero(w.imag > 0)
    if pos.size != 2:
        raise InputError(f"the one-turn map has no two oscillating modes "
                         f"(eigenvalues {np.round(w, 8).tolist()})")
    E = _symplectic_normalise(V[:, pos])
    share = np.abs(E[0]) ** 2 + np.abs(E[1]) ** 2 - np.abs(E[2]) ** 2 - np.abs(E[3]) ** 2
    # after normalisation the pair with E^†JE = i may be the conjugate one: tune from N0 E = lam E
    lam = np.array([(E[:, k].conj() @ N0 @ E[:, k]) / (E[:, k].conj() @ E[:, k]) for k in range(2)])
    order = np.argsort(-share)
    E, lam = E[:, order], lam[order]
    Es = np.einsum("mij,jk->mik", P, E)
    B = 2 * np.real(np.einsum("mik,mjk->mkij", Es, Es.conj()))
    comp = np.stack([Es[:, 0, 0], Es[:, 2, 1]], axis=1)
    phase = np.unwrap(np.angle(comp), axis=0) - np.angle(comp[:1])
    tunes = np.mod(np.angle(lam) / (2 * np.pi), 1.0)
    return B, phase / (2 * np.pi), tunes


def _lossless(ring):
    """The same ring without radiation (radiating wrappers unwrapped), else the ring."""
    if getattr(ring, "energy", None) is None:
        return ring
    if hasattr(ring, "bare"):
        return ring.bare()
    if hasattr(ring, "without_radiation"):
        return ring.without_radiation()
    from coupled_beam.lattice import Ring

    kw = {}
    if getattr(ring, "periodicity", 1) != 1:
        kw["periodicity"] = ring.periodicity
    return Ring([getattr(el, "base", el) for el in ring.elements], **kw)


def _cumulative(maps: np.ndarray) -> np.ndarray:
    P = np.empty((len(maps) + 1, 4, 4))
    P[0] = np.eye(4)
    for i, m in enumerate(maps):
        P[i + 1] = m @ P[i]
    return P


def _ring_of(eq):
    ring = getattr(eq, "ring", None)
    if ring is None:
        raise InputError("this RingEquilibrium does not know its ring (made by hand?); build it "
                         "with ring.equilibrium() or pass ring= to optics_table")
    return ring


def optics_header(eq, ring=None) -> dict:
    """The header of :func:`optics_table`: tunes, damping, partition numbers, emittances.

    Parameters
    ----------
    eq : coupled_beam.equilibrium.RingEquilibrium
    ring : coupled_beam.lattice.Ring, optional
        Defaults to ``eq.ring``.

    Returns
    -------
    dict
        Keys of the module notes (``Q1``, ``Q2``, ``EX1``, ``EX2``, ``SIGE``, ...).
    """
    return _build(eq, ring)[1]


def _build(eq, ring=None):
    from coupled_beam import distribution
    from coupled_beam.radiation import SPEED_OF_LIGHT

    ring = _ring_of(eq) if ring is None else ring
    lossless = _lossless(ring)
    P0 = _cumulative(np.asarray(lossless.element_maps(), dtype=float))
    B, mu, frac = mais_ripken(P0[-1], P0)
    periodicity = int(getattr(ring, "periodicity", 1))
    n_el = len(ring.elements)
    # per-cell rows; tunes of the whole ring = periodicity x cell phase
    q_cell = mu[-1]
    tunes = periodicity * q_cell
    six = getattr(eq, "model", "4d") == "6d" and hasattr(eq, "emittances")
    header: dict = {"NAME": "OPTICS", "TYPE": "TWISS", "ORIGIN": "coupled_beam",
                    "OPTICS": "Mais-Ripken", "MODEL": "6d" if six else "4d",
                    "LENGTH": float(ring.circumference),
                    "PERIODICITY": periodicity, "ELEMENTS": n_el,
                    "Q1": float(tunes[0]), "Q2": float(tunes[1])}
    energy = getattr(ring, "energy", None)
    if six:   # coupled_beam.sixd.RingEquilibrium6: its modes, matched to ours by tune
        folded = np.minimum(frac, 1 - frac)
        order = [int(np.argmin(np.abs(np.asarray(eq.tunes[:2]) - q))) for q in folded]
        em, tau, jj = (np.asarray(getattr(eq, a), dtype=float)
                       for a in ("emittances", "damping_times", "partition_numbers"))
        header.update({"EX1": float(em[order[0]]), "EX2": float(em[order[1]]), "EXS": float(em[2]),
                       "SIGE": float(np.asarray(eq.sigma_delta).ravel()[0]),
                       "SIGL": float(np.asarray(eq.sigma_l).ravel()[0]), "QS": float(eq.tunes[2]),
                       "TAU1": float(tau[order[0]]), "TAU2": float(tau[order[1]]),
                       "TAUS": float(tau[2]), "J1": float(jj[order[0]]), "J2": float(jj[order[1]]),
                       "JS": float(jj[2])})
    else:
        # mode emittances at s = 0: eps_k = tr(B^k J^T Sigma J) / 2 (Sigma = sum_j eps_j B^j,
        # tr(B^k J^T B^j J) = 2 delta_kj), i.e. E_k^† J Sigma J^T E_k
        J = np.kron(np.eye(2), np.array([[0.0, 1.0], [-1.0, 0.0]]))
        S0 = np.asarray(eq.moments[0], dtype=float)[:4, :4]
        eps = np.array([0.5 * np.trace(B[0, k] @ J.T @ S0 @ J) for k in range(2)])
        header.update({"EX1": float(eps[0]), "EX2": float(eps[1]),
                       "SIGE": float(math.sqrt(max(eq.p2, 0.0)))})
    if energy is not None and not six:
        from coupled_beam.radiation import radiation_parameters

        rp = radiation_parameters(lossless, energy)
        T0 = ring.circumference / SPEED_OF_LIGHT
        lam = np.linalg.eigvals(np.asarray(ring.one_turn_map(0), dtype=float))
        taus = []
        for k in range(2):
            target = np.exp(2j * np.pi * frac[k] * periodicity)   # one turn = P cells
            near = lam[np.argmin(np.abs(lam / np.abs(lam) - target))]
            taus.append(T0 / (-math.log(abs(near))))
        header.update({
            "ENERGY": float(energy), "U0": float(rp.U0),
            "TAU1": taus[0], "TAU2": taus[1], "TAUS": float(rp.tau_s),
            "J1": float(2 * energy * T0 / (taus[0] * rp.U0)),
            "J2": float(2 * energy * T0 / (taus[1] * rp.U0)),
            "JS": float(rp.J_s), "ALFA": float(rp.I1 / ring.circumference),
            "I1": rp.I1, "I2": rp.I2, "I3": rp.I3, "I4": rp.I4, "I5": rp.I5})
    if energy is not None and six:
        from coupled_beam.radiation import radiation_parameters

        rp = radiation_parameters(lossless, energy)
        header.update({"ENERGY": float(energy), "U0": float(rp.U0),
                       "ALFA": float(rp.I1 / ring.circumference),
                       "I1": rp.I1, "I2": rp.I2, "I3": rp.I3, "I4": rp.I4, "I5": rp.I5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PhysicsWarning)
        orbit = np.asarray(distribution.closed_orbit_functions(ring), dtype=float)
    names = ["START"] + [str(el.name or type(el).__name__) for el in ring.elements]
    kinds = ["marker"] + [str(getattr(getattr(el, "base", el), "kind", None)
                              or type(getattr(el, "base", el)).__name__).lower()
                          for el in ring.elements]
    cols = {"NAME": names, "KIND": kinds, "S": np.asarray(eq.s, dtype=float)}
    for k in range(2):
        for p, (i, j) in enumerate(((0, 1), (2, 3))):
            cols[f"BETA{p + 1}{k + 1}"] = B[:, k, i, i]
            cols[f"ALFA{p + 1}{k + 1}"] = -B[:, k, i, j]
            cols[f"GAMA{p + 1}{k + 1}"] = B[:, k, j, j]
    cols["MU1"], cols["MU2"] = mu[:, 0], mu[:, 1]
    cols["DX"], cols["DPX"], cols["DZ"], cols["DPZ"] = orbit.T
    cols["SIGX"], cols["SIGZ"] = eq.sigma_x, eq.sigma_z
    cols["TILT"], cols["INV_AREA"] = eq.tilt, eq.inv_area
    cols = {key: cols[key] for key in COLUMNS}
    m = len(eq.s)
    for key, val in cols.items():
        if len(val) != m:
            raise InputError(f"column {key} has {len(val)} rows, the equilibrium {m}: the "
                             "equilibrium and the ring disagree")
    return cols, header


def optics_table(eq, ring=None, *, backend: str = "auto"):
    """The optics table of an equilibrium, one row per element boundary.

    Parameters
    ----------
    eq : coupled_beam.equilibrium.RingEquilibrium
    ring : coupled_beam.lattice.Ring, optional
        Defaults to ``eq.ring`` (set by ``Ring.equilibrium()``).
    backend : {"auto", "pandas", "numpy"}
        ``auto``: pandas when installed.

    Returns
    -------
    pandas.DataFrame or TableArray
        Columns :data:`COLUMNS`; header in ``.attrs`` (module notes).

    Raises
    ------
    InputError
        Unstable lossless one-turn map, unknown backend, or an equilibrium
        without its ring.

    References
    ----------
    Willeke & Ripken (1989); Wolski PRSTAB 9 (2006) 024001; LNF-64/55 appendix.
    """
    if backend not in ("auto", "pandas", "numpy"):
        raise InputError(f"backend must be 'auto', 'pandas' or 'numpy', got {backend!r}",
                         value=backend)
    cols, header = _build(eq, ring)
    pd = None
    if backend != "numpy":
        try:
            import pandas as pd
        except ImportError:
            if backend == "pandas":
                raise InputError("backend='pandas' needs pandas: pip install "
                                 "'coupled-beam[tables]'") from None
    if pd is not None:
        df = pd.DataFrame(cols)
        df.attrs.update(header)
        return df
    width = max(len(x) for x in cols["NAME"] + cols["KIND"])
    dtype = [("NAME", f"U{width}"), ("KIND", f"U{width}")] + [(c, float) for c in _FLOAT_COLUMNS]
    out = np.zeros(len(cols["S"]), dtype=dtype).view(TableArray)
    for key in cols:
        out[key] = cols[key]
    out.attrs = header
    return out


def _columns_of(table) -> tuple[list[str], dict]:
    if hasattr(table, "columns"):          # pandas
        names = [str(c) for c in table.columns]
        return names, {c: list(table[c]) for c in names}
    names = list(table.dtype.names)
    return names, {c: list(table[c]) for c in names}


def _tfs_number(v: float) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return f"{v:.15e}"


def format_table(table, fmt: str = "tfs") -> str:
    """The table as TFS, CSV or JSON text.

    TFS: ``@ KEY %le value`` / ``%s "text"`` / ``%d`` header lines, a ``*``
    line of column names, a ``$`` line of formats (``%s``, ``%le``), then one
    line per row, as MAD-X writes TWISS tables (readable by ``tfs.read``).
    CSV: header lines ``# KEY = value`` then a comma-separated table. JSON:
    ``{"header": {...}, "columns": [...], "rows": [[...], ...]}`` (NaN as null).

    Parameters
    ----------
    table : pandas.DataFrame or TableArray
        From :func:`optics_table`.
    fmt : {"tfs", "csv", "json"}

    Returns
    -------
    str

    Raises
    ------
    InputError
        Unknown format.

    Examples
    --------
    >>> t = np.zeros(1, dtype=[("NAME", "U5"), ("S", float)]).view(TableArray)
    >>> t.attrs = {"Q1": 0.25}
    >>> print(format_table(t, "tfs").splitlines()[0])
    @ Q1               %le  2.500000000000000e-01
    """
    fmt = str(fmt).lower()
    if fmt not in ("tfs", "csv", "json"):
        raise InputError(f"format must be tfs, csv or json, got {fmt!r}", value=fmt)
    names, cols = _columns_of(table)
    header = dict(getattr(table, "attrs", {}) or {})
    nrow = len(cols[names[0]]) if names else 0
    text_cols = {c for c in names if cols[c] and isinstance(cols[c][0], str)}
    if fmt == "json":
        def clean(v):
            if isinstance(v, str):
                return v
            v = float(v)
            return v if math.isfinite(v) else None
        payload = {"header": {k: clean(v) if not isinstance(v, (int, np.integer)) else int(v)
                              for k, v in header.items()},
                   "columns": names,
                   "units": {c: COLUMNS.get(c, ("", ""))[0] for c in names},
                   "rows": [[clean(cols[c][i]) for c in names] for i in range(nrow)]}
        return json.dumps(payload, indent=1)
    buf = io.StringIO()
    if fmt == "csv":
        for k, v in header.items():
            buf.write(f"# {k} = {v}\n")
        buf.write(",".join(names) + "\n")
        for i in range(nrow):
            buf.write(",".join(cols[c][i] if c in text_cols else repr(float(cols[c][i]))
                               for c in names) + "\n")
        return buf.getvalue()
    for k, v in header.items():
        if isinstance(v, str):
            buf.write(f"@ {k:<16s} %s   \"{v}\"\n")
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            buf.write(f"@ {k:<16s} %d   {int(v)}\n")
        else:
            buf.write(f"@ {k:<16s} %le  {_tfs_number(float(v))}\n")
    w = 24
    buf.write("* " + " ".join(f"{c:>{w}s}" for c in names) + "\n")
    buf.write("$ " + " ".join(f"{'%s' if c in text_cols else '%le':>{w}s}" for c in names) + "\n")
    for i in range(nrow):
        cells = [f"\"{cols[c][i]}\"" if c in text_cols else _tfs_number(float(cols[c][i]))
                 for c in names]
        buf.write("  " + " ".join(f"{x:>{w}s}" for x in cells) + "\n")
    return buf.getvalue()


def write_table(table, path, fmt: str | None = None) -> Path:
    """Write :func:`format_table` text to ``path`` (format from the suffix when None).

    Parameters
    ----------
    table : pandas.DataFrame or TableArray
    path : str or Path
        ``.tfs``, ``.csv`` or ``.json`` unless ``fmt`` is given.
    fmt : {"tfs", "csv", "json"}, optional

    Returns
    -------
    Path
    """
    path = Path(path)
    if fmt is None:
        fmt = path.suffix.lstrip(".").lower() or "tfs"
    path.write_text(format_table(table, fmt))
    return path
