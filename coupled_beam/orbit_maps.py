"""Element maps about a closed orbit, first order in the orbit: one mechanism for every element kind.

The design maps R of :mod:`coupled_beam.lattice.maps` are the maps of the deviations about
the design orbit. About another orbit X0(s) (the 6-D closed orbit of a radiating ring: the
energy sawtooth delta0(s) and its dispersion orbit) the map is

    J = R + int_0^L R(L <- s) D(X0(s)) R(s <- 0) ds,

D = Omega Hess H_3 the orbit's first-order change of the generator, derived from the
element's cubic Hamiltonian in :mod:`derivations.orbit_expansion` (kernel
``orbit_hessian6``: the drift's p / (1 + delta), the solenoid's kinetic term, the
sextupole). The integral is Gauss-Legendre on four nodes (exact for a polynomial integrand
of degree 7; the phase advance of one element is small). Coordinates are canonical,
(x, p_x, z, p_z, delta, l) at the orbit, as pyAT's: there every element map is symplectic,
the radiation damps p_x where a photon is emitted (pyAT keeps x' = p_x / (1 + delta) at
emission), and a cavity leaves p_x alone. On the design orbit they are the package's
(x, x', z, z', delta, l).

What is not a thick body:

* thin multipoles with an orbit sensitivity (``ThinSextupole``, a kicked ``Generic`` of zero
  length) change by their exact feed-down (``displaced``);
* a bend's pole faces, x' += K tan(e) x and z' -= K tan(e - psi / (1 + delta)) z (pyAT's
  edge_fringe), gain their delta dependence at the orbit;
* thin quadrupoles, markers, matrices and cavities have no first-order orbit dependence in
  canonical coordinates (a thin kick does not see delta).

``taper`` (pyAT's ``tapering()``: every multipole field times 1 + delta0, the dipole field
following the local energy) adds delta0 times the multipole part of the force (the bend's
geometric K^2 x is not scaled).

References
----------
LNF-64/55 eq. (1) (the design maps); :mod:`derivations.orbit_expansion` (the derivation);
pyAT atelem.c / BndMPoleSymplectic4Pass (the same expanded Hamiltonian).
"""

from __future__ import annotations

import numpy as np

from coupled_beam import _kernels
from coupled_beam.lattice.maps import body_maps6, dedupe, edge_maps6, element_maps6, rotation6

__all__ = ["sawtooth_change", "energy_change", "orbit_change", "orbit_drive", "tapered_frame", "MAGNETS", "NODES"]

#: Gauss-Legendre nodes on [0, 1] and their weights
_xi, _w = np.polynomial.legendre.leggauss(4)
NODES = (0.5 * (1.0 + _xi), 0.5 * _w)

_SKIP = ("matrix", "rfcavity", "marker")


def _hessians(H, k2, k2s) -> np.ndarray:
    """E_k = D(e_k) of each element (u, 5, 6, 6): D(X0) = sum_k X0_k E_k (k over x, p_x, z, p_z, delta)."""
    u = len(H)
    out = np.zeros((u, 5, 6, 6))
    zero = np.zeros(u)
    for k in range(5):
        unit = [zero] * 5
        unit[k] = np.ones(u)
        vals = np.broadcast_arrays(*_kernels.orbit_hessian6(*unit, H, k2, k2s), zero)[:-1]
        out[:, k] = np.array(vals, dtype=float).T.reshape(u, 6, 6)
    return out


class _Bodies:
    """Per distinct thick element: node maps P_q = R(s_q <- 0), Q_q = R(L <- s_q), the map and E_k (element frame)."""

    def __init__(self, unique: list):
        self.unique = unique
        u = len(unique)
        L = np.array([float(el.length) for el in unique])
        s, w = NODES
        depth = L[:, None] * s[None, :]
        plain = [el.replace(tilt=0.0) if el.tilt else el for el in unique]
        ent = edge_maps6(plain, "entrance")
        ext = edge_maps6(plain, "exit")
        fwd = body_maps6(plain, depth)                               # (u, k, 6, 6)
        back = body_maps6(plain, L[:, None] - depth)
        full = body_maps6(plain, L[:, None])[:, 0]
        # a solenoid's edges change the frame (mechanical <-> canonical slopes), a bend's faces kick
        frame = np.array([bool(getattr(el, "H", 0.0)) for el in unique])
        P = fwd @ ent[:, None]
        Q = ext[:, None] @ back
        if np.any(frame):
            P[frame] = ext[frame][:, None] @ P[frame]
            Q[frame] = Q[frame] @ ent[frame][:, None]
        self.P, self.Q = P, Q
        self.M = ext @ full @ ent
        self.ent, self.ext, self.body = ent, ext, full
        self.weights = L[:, None] * w[None, :]                     # (u, k)
        self.frac = np.broadcast_to(s, (u, len(s)))
        self.E = _hessians(np.array([float(getattr(el, "H", 0.0)) for el in unique]),
                           np.array([float(getattr(el, "k2", 0.0)) for el in unique]),
                           np.array([float(getattr(el, "k2s", 0.0)) for el in unique]))
        self.tilt = np.array([float(el.tilt) for el in unique])

    def tensors(self):
        """B, W (u, 6, 6, 6): dJ = B . X_in + W . dX (last index contracts with the orbit)."""
        P, Q, E, wq, f = self.P, self.Q, self.E, self.weights, self.frac
        # X_q = P_q X_in + f_q dX  ->  D(X_q) = sum_k (P_q X_in)_k E_k + f_q sum_k dX_k E_k
        QE = np.einsum("uqij,ukjl->uqkil", Q, E)                       # Q_q E_k
        QEP = np.einsum("uqkil,uqlm->uqkim", QE, P)                    # Q_q E_k P_q
        B = np.einsum("uq,uqkim,uqkn->uimn", wq, QEP, P[:, :, :5, :])  # k via (P_q)_{k n}
        W = np.zeros(B.shape)
        W[..., :5] = np.einsum("uq,uqkim->uimk", wq * f, QEP)
        return B, W


def _frame(X: np.ndarray, tilt: np.ndarray) -> np.ndarray:
    """Lab-frame orbit points (m, 6) into the element frames of ``tilt`` (m,)."""
    return np.einsum("mij,mj->mi", rotation6(tilt), X)


def _lab(J: np.ndarray, tilt: np.ndarray) -> np.ndarray:
    rolled = tilt != 0.0
    if np.any(rolled):
        J = J.copy()
        J[rolled] = rotation6(-tilt[rolled]) @ J[rolled] @ rotation6(tilt[rolled])
    return J


def _faces(el, x_in: np.ndarray, x_out: np.ndarray, bodies: _Bodies, j: int) -> np.ndarray:
    """Change of a bend's map from the delta dependence of its vertical face focusing at the orbit."""
    out = np.zeros((len(x_in), 6, 6))
    K = float(getattr(el, "K", 0.0))
    for e, g, X, side in ((getattr(el, "e1", 0.0), getattr(el, "fint_gap1", 0.0), x_in, "in"),
                          (getattr(el, "e2", 0.0), getattr(el, "fint_gap2", 0.0), x_out, "out")):
        if not (K and g):
            continue
        psi = K * g * (1 + np.sin(e)**2) / np.cos(e)
        slope = -K * psi / np.cos(e - psi)**2            # d/d delta of -K tan(e - psi / (1 + delta))
        dF = np.zeros((len(X), 6, 6))
        dF[:, 3, 2] = slope * X[:, 4]
        dF[:, 3, 4] = slope * X[:, 2]
        if side == "in":
            out += (bodies.ext[j] @ bodies.body[j]) @ dF
        else:
            out += dF @ (bodies.body[j] @ bodies.ent[j])
    return out


def orbit_change(elements, X: np.ndarray, *, exits=None, delta_ref=None, distinct=None) -> np.ndarray:
    """J - R of every element about the closed orbit X (boundaries, (n + 1, 6), lab frame), (n, 6, 6).

    Parameters
    ----------
    elements : sequence of Element
    X : (n + 1, 6) array
        The closed orbit at every boundary in canonical coordinates (x, p_x, z, p_z, delta, l).
        Inside an element the orbit is its design map from the entrance plus the exit
        mismatch (the in-element energy loss) taken linearly along the element.
    exits : (n, 6) array, optional
        The orbit at each element's exit when it is not the next entrance (then ``X`` holds the
        n entrances): each element in its own frame, e.g. a tapered magnet's, whose
        reference momentum is the local one (:func:`tapered_frame`).
    delta_ref : (n,) array, optional
        A delta each element's map is already exact at (:func:`energy_change`): the orbit
        inside still follows the whole orbit (the dispersion orbit of delta0 in a bend), the
        first-order change is taken about delta_ref.
    distinct : (unique, index), optional
        :func:`~coupled_beam.lattice.maps.dedupe` of ``elements``, if known.

    Returns
    -------
    (n, 6, 6) array
        The first-order change of each map; symplectic to first order.

    Examples
    --------
    >>> from coupled_beam.lattice import Drift
    >>> X = np.zeros((2, 6)); X[:, 1] = 1e-3                       # a slope p_x0 = 1e-3
    >>> dJ = orbit_change([Drift(2.0)], X)[0]
    >>> round(float(dJ[5, 1]), 12), round(float(dJ[0, 4]), 12)     # path p_x0 L, x: -p_x0 L
    (0.002, -0.002)
    """
    n = len(elements)
    X_in, X_out = _ends(X, exits, n)
    out = np.zeros((n, 6, 6))
    if n == 0:
        return out
    unique, inv = dedupe(elements) if distinct is None else distinct
    inv = np.asarray(inv)
    thick_u = np.array([not el.is_thin and el.length > 0 and el.kind not in _SKIP for el in unique], dtype=bool)
    if np.any(thick_u):
        ku = np.flatnonzero(thick_u)
        bodies = _Bodies([unique[k] for k in ku])
        B, W = bodies.tensors()
        local = np.full(len(unique), -1)
        local[ku] = np.arange(len(ku))
        idx = np.flatnonzero(thick_u[inv])
        j = local[inv[idx]]
        t = bodies.tilt[j]
        x_in, x_out = _frame(X_in[idx], t), _frame(X_out[idx], t)
        dX = x_out - np.einsum("mij,mj->mi", bodies.M[j], x_in)
        dJ = np.einsum("mabk,mk->mab", B[j], x_in) + np.einsum("mabk,mk->mab", W[j], dX)
        if delta_ref is not None:
            dref = np.asarray(delta_ref, dtype=float)[idx]
            Cd = np.einsum("uq,uqij,ujl,uqlm->uim", bodies.weights, bodies.Q, bodies.E[:, 4], bodies.P)
            dJ -= dref[:, None, None] * Cd[j]
            x_in, x_out = x_in.copy(), x_out.copy()
            x_in[:, 4] -= dref
            x_out[:, 4] -= dref
        for jj in np.unique(j):
            el = bodies.unique[jj]
            if el.kind == "bend" and (getattr(el, "fint_gap1", 0.0) or getattr(el, "fint_gap2", 0.0)):
                m = np.flatnonzero(j == jj)
                dJ[m] += _faces(el, x_in[m], x_out[m], bodies, jj)
        out[idx] = _lab(dJ, t)
    thin = [i for i in range(n) if unique[inv[i]].length == 0
            and callable(getattr(unique[inv[i]], "displaced", None))
            and any(getattr(unique[inv[i]], f, 0.0) for f in ("k2", "k2s", "k2l", "k2sl"))]
    if thin:
        els = [elements[i] for i in thin]
        moved = [el.displaced(float(X_in[i, 0]), float(X_in[i, 2])) for el, i in zip(els, thin)]
        out[thin] = element_maps6(moved) - element_maps6(els)
    return out


def _ends(X, exits, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    if exits is None:
        return X[:-1], X[1:]
    return X, np.asarray(exits, dtype=float)


#: element kinds with a magnetic field (a tapered ring scales them to the local energy)
MAGNETS = ("bend", "quadrupole", "skew", "solenoid", "generic", "element",
           "thin_quadrupole", "thin_skew", "thin_sextupole")


def tapered_frame(delta) -> np.ndarray:
    """d(x, p_x, z, p_z, delta, l)' / d(x, p_x, z, p_z, delta, l) for a reference momentum 1 + delta, (..., 6, 6).

    A magnet whose fields follow the local energy 1 + delta0 (pyAT's ``tapering()``, its
    ``FieldScaling``) is the design magnet in the frame of that reference momentum:
    p' = p / (1 + delta0), 1 + delta' = (1 + delta) / (1 + delta0); its map is
    F^-1 J' F, J' the design magnet's map about the orbit in that frame.
    """
    d = np.asarray(delta, dtype=float)
    out = np.broadcast_to(np.eye(6), d.shape + (6, 6)).copy()
    s = 1.0 / (1.0 + d)
    out[..., 1, 1] = out[..., 3, 3] = out[..., 4, 4] = s
    return out


def orbit_drive(elements, X: np.ndarray, *, distinct=None) -> np.ndarray:
    """The second-order kick the orbit X gives itself through each element, at its exit, (n, 6).

    int_0^L R(L <- s) f_2(X0(s)) ds with f_2(X) = D(X) X / 2 = Omega grad H_3 (H_3 is cubic),
    same nodes and orbit as :func:`orbit_change`; thin sextupoles kick -(k2l + i k2sl) w^2 / 2.

    Examples
    --------
    >>> from coupled_beam.lattice import Drift
    >>> X = np.zeros((2, 6)); X[:, 1] = 1e-3
    >>> float(orbit_drive([Drift(2.0)], X)[0, 5])          # path p^2 L / 2
    1e-06
    """
    X = np.asarray(X, dtype=float)
    n = len(elements)
    out = np.zeros((n, 6))
    if n == 0:
        return out
    unique, inv = dedupe(elements) if distinct is None else distinct
    inv = np.asarray(inv)
    thick_u = np.array([not el.is_thin and el.length > 0 and el.kind not in _SKIP for el in unique], dtype=bool)
    if np.any(thick_u):
        ku = np.flatnonzero(thick_u)
        bodies = _Bodies([unique[k] for k in ku])
        local = np.full(len(unique), -1)
        local[ku] = np.arange(len(ku))
        idx = np.flatnonzero(thick_u[inv])
        j = local[inv[idx]]
        t = bodies.tilt[j]
        x_in, x_out = _frame(X[idx], t), _frame(X[idx + 1], t)
        dX = x_out - np.einsum("mij,mj->mi", bodies.M[j], x_in)
        Xq = np.einsum("mqij,mj->mqi", bodies.P[j], x_in) + bodies.frac[j][..., None] * dX[:, None, :]
        D = np.einsum("mqk,mkab->mqab", Xq[..., :5], bodies.E[j])
        f2 = 0.5 * np.einsum("mqab,mqb->mqa", D, Xq)
        drive = np.einsum("mq,mqij,mqj->mi", bodies.weights[j], bodies.Q[j], f2)
        out[idx] = np.einsum("mij,mj->mi", rotation6(-t), drive)
    for i in range(n):
        el = elements[i]
        if el.length == 0 and (getattr(el, "k2l", 0.0) or getattr(el, "k2sl", 0.0)):
            k = complex(el.k2l, el.k2sl)
            t = float(el.tilt)
            rot = complex(np.cos(t), -np.sin(t))
            w = rot * complex(X[i, 0], X[i, 2])
            kick = rot * (-0.5 * k * w * w)            # conj(w') in the lab frame
            out[i, 1] += kick.real
            out[i, 3] += -kick.imag
    return out


def energy_change(elements, delta, *, distinct=None) -> np.ndarray:
    """J(delta) - R of every element at a constant delta (its closed orbit's mean), exact in delta, (n, 6, 6).

    The kinetic part of the generator goes as 1 / (1 + delta) (the drift's
    p / (1 + delta), a solenoid's whole kinetic term: Omega Hess T / (1 + delta)); fields,
    the bend's drive K delta and its path K x do not; a bend's vertical face focusing is
    K tan(e - psi / (1 + delta)) (pyAT's edge_fringe). Exact in delta, because the sawtooth's
    delta0^2 matters: at delta0 ~ 2.7e-4 a drift's (p / (1 + delta0))' differs from the
    first-order -delta0 p by 7e-8, which moves sigma_z of a coupled ring by 5e-5. Thin
    elements (a kick sees no delta in canonical coordinates), markers, matrices and
    cavities are unchanged.

    Examples
    --------
    >>> from coupled_beam.lattice import Drift
    >>> round(float(energy_change([Drift(2.0)], [0.01])[0, 0, 1]), 12)       # 2 / 1.01 - 2
    -0.019801980198
    """
    from coupled_beam.lattice.maps import expm_stacked, generators6

    d = np.asarray(delta, dtype=float)
    n = len(elements)
    out = np.zeros((n, 6, 6))
    unique, inv = dedupe(elements) if distinct is None else distinct
    inv = np.asarray(inv)
    thick_u = np.array([not el.is_thin and el.length > 0 and el.kind not in _SKIP for el in unique], dtype=bool)
    idx = np.flatnonzero(thick_u[inv] & (d != 0.0))
    if not len(idx):
        return out
    ku = sorted(set(inv[idx].tolist()))
    plain = [unique[k].replace(tilt=0.0) if unique[k].tilt else unique[k] for k in ku]
    local = np.full(len(unique), -1)
    local[ku] = np.arange(len(ku))
    j = local[inv[idx]]
    G = generators6(plain)
    ent, ext = edge_maps6(plain, "entrance"), edge_maps6(plain, "exit")
    frame = np.array([bool(getattr(el, "H", 0.0)) for el in plain])
    if np.any(frame):            # a solenoid's body in canonical coordinates (its edges change frames)
        G[frame] = ext[frame] @ G[frame] @ ent[frame]
    H = np.array([float(getattr(el, "H", 0.0)) for el in plain])
    E = _hessians(H, np.zeros(len(plain)), np.zeros(len(plain)))[:, 4]      # D(e_delta) = -Omega Hess T
    L = np.array([float(el.length) for el in plain])
    dd = d[idx]
    gen = G[j] + E[j] * (dd / (1.0 + dd))[:, None, None]   # Omega Hess T (1 / (1 + delta) - 1) = D(delta e) / (1 + delta)
    both = expm_stacked(np.concatenate([gen, G]) * np.concatenate([L[j], L])[:, None, None])
    body, bare_body = both[:len(j)], both[len(j):]
    e_in, e_out = ent[j].copy(), ext[j].copy()
    for m_, el in enumerate(plain):
        if el.kind == "bend":
            for e, g, faces in ((el.e1, el.fint_gap1, e_in), (el.e2, el.fint_gap2, e_out)):
                if g:
                    psi = el.K * g * (1 + np.sin(e)**2) / np.cos(e)
                    m = np.flatnonzero(j == m_)
                    faces[m, 3, 2] += el.K * (np.tan(e - psi) - np.tan(e - psi / (1.0 + dd[m])))
    sol = frame[j]
    J = np.where(sol[:, None, None], body, e_out @ body @ e_in)
    R = np.where(frame[:, None, None], bare_body, ext @ bare_body @ ent)[j]
    out[idx] = _lab(J - R, np.array([plain_t for plain_t in (unique[k].tilt for k in inv[idx])], dtype=float))
    return out


def sawtooth_change(elements, X: np.ndarray, *, tapered: bool = False, distinct=None) -> np.ndarray:
    """Each element's map about the 6-D closed orbit X minus its design map, (n, 6, 6).

    Untapered: exact at the element's mean delta0 (:func:`energy_change`) plus first order
    in the rest of the orbit, the transverse orbit and the in-element loss
    (:func:`orbit_change`). ``tapered``: every magnet (:data:`MAGNETS`) is the design magnet
    in the frame of the reference momentum 1 + delta0 (:func:`tapered_frame`: pyAT's
    ``tapering()`` sets that ``FieldScaling``), about the orbit that stays on axis; drifts
    are untapered (the drift's p / (1 + delta0)).

    Parameters
    ----------
    elements : sequence of Element
    X : (n + 1, 6) array
        The closed orbit at every boundary (canonical; delta0 in column 4).
    tapered : bool
    distinct : (unique, index), optional

    Returns
    -------
    (n, 6, 6) array
        Add to the design maps (radiation included).

    Examples
    --------
    >>> from coupled_beam.lattice import Quadrupole
    >>> q = Quadrupole(0.5, 1.0)
    >>> X = np.zeros((2, 6)); X[:, 4] = 1e-3
    >>> J = q.map6() + sawtooth_change([q], X, tapered=True)[0]    # the design map, p scaled
    >>> round(float(J[0, 1] / q.map6()[0, 1]), 12), round(float(J[1, 0] / q.map6()[1, 0]), 12)
    (0.999000999001, 1.001)
    """
    X = np.asarray(X, dtype=float)
    els = list(elements)
    n = len(els)
    if distinct is None:
        distinct = dedupe(els)
    d = X[:, 4]
    mean = 0.5 * (d[:-1] + d[1:])
    if not tapered:
        return (energy_change(els, mean, distinct=distinct)
                + orbit_change(els, X, delta_ref=mean, distinct=distinct))
    mag = np.array([el.kind in MAGNETS for el in els], dtype=bool)
    ref = np.where(mag, mean, 0.0)
    Xi = np.zeros((n, 6))
    Xo = np.zeros((n, 6))
    Xi[:, 4] = (d[:-1] - mean) / (1 + ref)          # about the mean: the frame's (magnets), exact (rest)
    Xo[:, 4] = (d[1:] - mean) / (1 + ref)
    out = orbit_change(els, Xi, exits=Xo, distinct=distinct)
    rest = np.flatnonzero(~mag)
    out[rest] += energy_change([els[i] for i in rest], mean[rest])
    if np.any(mag):
        R = element_maps6(els, distinct)[mag]
        F = tapered_frame(ref[mag])
        out[mag] = np.linalg.solve(F, (R + out[mag]) @ F) - R
    return out
