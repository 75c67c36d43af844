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

Two parts are taken beyond first order, because a light source's orbit makes them large:
the map at the element's mean delta0 (:func:`energy_change`, to second order in delta0) and a
sextupole's feed-down at the orbit's mean (its ``displaced`` quadrupole, exact, at delta0): an
ESRF sextupole in dispersion sees x0 ~ 1e-4 m, k2 x0 L ~ 3e-4, whose square and cross term
with delta0 (1e-8 in the map) move sigma_z by 1e-4. The photon noise is taken into the orbit's
canonical coordinates (:func:`noise_at_orbit`).

What is not a thick body:

* thin multipoles with an orbit sensitivity (``ThinSextupole``, a kicked ``Generic`` of zero
  length) change by their exact feed-down (``displaced``);
* a bend's pole faces, x' += K tan(e) x and z' -= K tan(e - psi / (1 + delta)) z (pyAT's
  edge_fringe), gain their delta dependence at the orbit;
* thin quadrupoles, markers, matrices and cavities have no first-order orbit dependence in
  canonical coordinates (a thin kick does not see delta).

A tapered magnet (pyAT's ``tapering()``, its FieldScaling) is the design magnet at the local
reference momentum (:func:`tapered_frame`).

Cost: everything is precomputed once per distinct element (:class:`OrbitMaps`: node maps,
the tensors that take an orbit to its map change and to its second-order drive, the
Taylor coefficients in delta0 of the map at a constant delta0, all in the lab frame), so
that an orbit costs a few stacked contractions per element.

References
----------
LNF-64/55 eq. (1) (the design maps); :mod:`derivations.orbit_expansion` (the derivation);
pyAT atelem.c / BndMPoleSymplectic4Pass (the same expanded Hamiltonian).
"""

from __future__ import annotations

import numpy as np

from coupled_beam import _kernels
from coupled_beam.lattice.maps import (body_maps6, dedupe, edge_maps6, element_maps6, expm_stacked,
                                       generators6, rotation6)

__all__ = ["OrbitMaps", "noise_at_orbit", "sawtooth_change", "energy_change", "orbit_change", "orbit_drive", "tapered_frame",
           "MAGNETS", "NODES"]

#: Gauss-Legendre nodes on [0, 1] and their weights
_xi, _w = np.polynomial.legendre.leggauss(4)
NODES = (0.5 * (1.0 + _xi), 0.5 * _w)

_SKIP = ("matrix", "rfcavity", "marker")

#: element kinds with a magnetic field (a tapered ring scales them to the local energy)
MAGNETS = ("bend", "quadrupole", "skew", "solenoid", "generic", "element",
           "thin_quadrupole", "thin_skew", "thin_sextupole")

#: step in t = delta / (1 + delta) of the central differences for the Taylor coefficients of the
#: map at a constant delta (their error (h^2 / 6) J3 times t ~ 3e-4 is 1e-11; the t^3 remainder 3e-11)
_H = 1e-3


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


def _attr(els, name) -> np.ndarray:
    return np.array([float(getattr(el, name, 0.0)) for el in els])


def _face(el, which: int):
    """(e, psi) of a bend face with a fringe gap, else None."""
    if el.kind != "bend":
        return None
    e, g = (el.e1, el.fint_gap1) if which == 1 else (el.e2, el.fint_gap2)
    if not (el.K and g):
        return None
    return e, el.fringe_psi(which)


def _to_lab(T: np.ndarray, tilt: np.ndarray, contract: bool) -> np.ndarray:
    """Element-frame map changes (u, 6, 6[, 6]) to the lab frame, R(-t) dJ R(t); with ``contract`` the
    last axis takes an orbit, which is rotated into the element frame first (R(t) X)."""
    rolled = tilt != 0.0
    if not np.any(rolled):
        return T
    T = T.copy()
    R, Rm = rotation6(tilt[rolled]), rotation6(-tilt[rolled])
    if contract:
        t = np.moveaxis(T[rolled], 3, 1)                       # (u, k, 6, 6)
        t = Rm[:, None] @ t @ R[:, None]
        T[rolled] = np.moveaxis(t, 1, 3) @ R[:, None]
    else:
        T[rolled] = Rm @ T[rolled] @ R
    return T


class OrbitMaps:
    """The maps of ``elements`` about any closed orbit, with everything per distinct element precomputed.

    Parameters
    ----------
    elements : sequence of Element
    distinct : (unique, index), optional
        :func:`~coupled_beam.lattice.maps.dedupe` of ``elements``, if known.

    Notes
    -----
    Per distinct thick element, in the lab frame (its roll applied):

    * ``B``, ``W`` (6, 6, 6) and ``Cd`` (6, 6): the first-order map change
      dJ = B . X_in + W . dX - delta_ref Cd (dX the exit mismatch: the in-element loss), the
      bend faces' fringe term included;
    * ``T2`` (6, 12, 12): the orbit's second-order drive T2 . (y, y), y = (X_in, dX);
    * ``J1``, ``J2`` (6, 6): J(t) = R + t J1 + t^2 J2 at a constant delta, t = delta / (1 + delta)
      (exact generator and faces at t = +-h, central differences).

    Examples
    --------
    >>> from coupled_beam.lattice import Drift, Quadrupole
    >>> om = OrbitMaps([Drift(1.0), Quadrupole(0.3, 1.2), Drift(1.0)])
    >>> X = np.zeros((4, 6)); X[:, 4] = 1e-4
    >>> om.change(X).shape, om.drive(X).shape
    ((3, 6, 6), (3, 6))
    """

    def __init__(self, elements, distinct=None):
        self.elements = list(elements)
        unique, inv = dedupe(self.elements) if distinct is None else distinct
        self.unique, self.inv = unique, np.asarray(inv, dtype=int)
        thick = np.array([not el.is_thin and el.length > 0 and el.kind not in _SKIP for el in unique], dtype=bool)
        ku = np.flatnonzero(thick)
        self._local = np.full(len(unique), -1)
        self._local[ku] = np.arange(len(ku))
        self.idx = np.flatnonzero(thick[self.inv]) if len(self.inv) else np.zeros(0, dtype=int)
        self.j = self._local[self.inv[self.idx]]
        self.thick = [unique[k] for k in ku]
        self.thin = [i for i, el in enumerate(self.elements)
                     if el.length == 0 and callable(getattr(el, "displaced", None))
                     and any(getattr(el, f, 0.0) for f in ("k2", "k2s", "k2l", "k2sl"))]
        if self.thick:
            self._build()

    # ------------------------------------------------------------------ per distinct element
    def _build(self) -> None:
        els = self.thick
        L = _attr(els, "length")
        s, w = NODES
        depth = L[:, None] * s[None, :]
        plain = [el.replace(tilt=0.0) if el.tilt else el for el in els]
        ent, ext = edge_maps6(plain, "entrance"), edge_maps6(plain, "exit")
        fwd = body_maps6(plain, depth)
        back = body_maps6(plain, L[:, None] - depth)
        full = body_maps6(plain, L[:, None])[:, 0]
        # a solenoid's edges change the frame (mechanical <-> canonical slopes), a bend's faces kick
        frame = _attr(els, "H") != 0.0
        P = fwd @ ent[:, None]
        Q = ext[:, None] @ back
        if np.any(frame):
            P[frame] = ext[frame][:, None] @ P[frame]
            Q[frame] = Q[frame] @ ent[frame][:, None]
        M = ext @ full @ ent
        E = _hessians(_attr(els, "H"), _attr(els, "k2"), _attr(els, "k2s"))
        wq = L[:, None] * w[None, :]
        # X_q = P_q X_in + s_q dX  ->  D(X_q) = sum_k (X_q)_k E_k
        u, nq = wq.shape
        QE = Q[:, :, None] @ E[:, None]                                 # (u, q, k, 6, 6): Q_q E_k
        QEP = QE @ P[:, :, None]                                        # Q_q E_k P_q
        wQEP = QEP * wq[:, :, None, None, None]
        B = (wQEP.reshape(u, nq * 5, 36).transpose(0, 2, 1)
             @ P[:, :, :5, :].reshape(u, nq * 5, 6)).reshape(u, 6, 6, 6)
        # the in-element loss: delta falls at the rate r = dX_delta / L (dX the exit mismatch), and
        # the orbit inside is r F(s), F(s) = int_0^s R(s <- t) e_delta dt (the last column of the
        # augmented exponential): p ~ K r s^2 / 2, x ~ K r s^3 / 6, not linear in s
        # (the rest of the mismatch, second-order kicks, is taken linearly along the element)
        G6 = generators6(plain)
        aug = np.zeros((u, 7, 7))
        aug[:, :6, :6] = G6
        aug[:, 4, 6] = 1.0
        both = np.concatenate([depth, L[:, None]], axis=1)
        Floss = expm_stacked(aug[:, None] * both[:, :, None, None])[:, :, :6, 6] / L[:, None, None]
        Floss[:, -1] = np.einsum("uij,uj->ui", ext, Floss[:, -1])        # at the exit, after its face
        if np.any(frame):
            Floss[frame, :-1] = np.einsum("uij,uqj->uqi", ext[frame], Floss[frame, :-1])
        Adx = np.broadcast_to(s[None, :, None, None] * np.eye(6), P.shape).copy()   # X_q = P_q x + Adx_q dX
        Adx[..., 4] += Floss[:, :-1] - s[None, :, None] * Floss[:, -1][:, None, :]
        W = (wQEP.reshape(u, nq * 5, 36).transpose(0, 2, 1)
             @ Adx[:, :, :5, :].reshape(u, nq * 5, 6)).reshape(u, 6, 6, 6)
        Cd = wQEP[:, :, 4].sum(axis=1)
        # the faces' fringe psi / (1 + delta): dF(X) = F . X at the entrance (X_in) and exit
        # (X_out = M X_in + dX) face
        for which in (1, 2):
            for k, el in enumerate(plain):
                face = _face(el, which)
                if face is None:
                    continue
                e, psi = face
                F = np.zeros((6, 6, 6))
                F[3, 2, 4] = F[3, 4, 2] = -el.K * psi / np.cos(e - psi)**2
                if which == 1:
                    pre = ext[k] @ full[k]
                    B[k] += np.einsum("ai,ibk->abk", pre, F)
                    Cd[k] += pre @ F[:, :, 4]
                else:
                    Fx = np.einsum("ibk,bj->ijk", F, full[k] @ ent[k])
                    B[k] += np.einsum("ijk,kl->ijl", Fx, M[k])
                    W[k] += Fx
                    Cd[k] += Fx[:, :, 4]
        # the orbit's second-order drive: f_2(X) = D(X) X / 2, X_q = A_q y, y = (X_in, dX)
        A = np.concatenate([P, Adx], axis=-1)
        QEA = (QE @ A[:, :, None]) * (0.5 * wq)[:, :, None, None, None]       # (u, q, k, 6, 12) [a, c]
        T2 = (QEA.reshape(u, nq * 5, 72).transpose(0, 2, 1)
              @ A[:, :, :5, :].reshape(u, nq * 5, 12)).reshape(u, 6, 12, 12).transpose(0, 1, 3, 2)
        # Taylor coefficients of the map at a constant delta: J(t) exact at t = -h, +h
        G = G6.copy()
        if np.any(frame):          # a solenoid's body in canonical coordinates
            G[frame] = ext[frame] @ G[frame] @ ent[frame]
        Jt = []
        for t in (-_H, _H):
            body = expm_stacked((G + t * E[:, 4]) * L[:, None, None])
            e_in, e_out = ent.copy(), ext.copy()
            for which, faces in ((1, e_in), (2, e_out)):
                for k, el in enumerate(plain):
                    face = _face(el, which)
                    if face is not None:
                        e, psi = face
                        faces[k, 3, 2] += el.K * (np.tan(e - psi) - np.tan(e - psi * (1.0 - t)))
            Jt.append(np.where(frame[:, None, None], body, e_out @ body @ e_in))
        tilt = _attr(els, "tilt")
        self.M = _to_lab(M, tilt, False)
        self.B = _to_lab(B, tilt, True)
        self.W = _to_lab(W, tilt, True)
        self.Cd = _to_lab(Cd, tilt, False)
        self.J1 = _to_lab((Jt[1] - Jt[0]) / (2 * _H), tilt, False)
        self.J2 = _to_lab((Jt[1] - 2 * M + Jt[0]) / (2 * _H**2), tilt, False)
        rolled = tilt != 0.0
        if np.any(rolled):
            R, Rm = rotation6(tilt[rolled]), rotation6(-tilt[rolled])
            R12 = np.zeros((int(rolled.sum()), 12, 12))
            R12[:, :6, :6] = R12[:, 6:, 6:] = R
            t2 = (Rm @ T2[rolled].reshape(-1, 6, 144)).reshape(-1, 6, 12, 12)
            T2[rolled] = np.swapaxes(R12, 1, 2)[:, None] @ t2 @ R12[:, None]
        self.T2 = T2
        # sextupole-like bodies: their feed-down is taken exactly at the orbit's mean (``displaced``:
        # the quadrupole k2 x0), C3 . X its first-order part to take out (the gradient k2 x0 L of
        # an ESRF sextupole in dispersion is 3e-4: its square matters)
        k2, k2s = _attr(els, "k2"), _attr(els, "k2s")
        self.sext = np.array([bool(a or b) and callable(getattr(el, "displaced", None))
                              for a, b, el in zip(k2, k2s, els)], dtype=bool)
        if np.any(self.sext):
            zero = np.zeros(u)
            E3 = _hessians(zero, k2, k2s) - _hessians(zero, zero, zero)
            QEP3 = (Q[:, :, None] @ E3[:, None]) @ P[:, :, None]
            C3 = np.zeros((u, 6, 6, 6))
            C3[..., :5] = np.moveaxis((QEP3 * wq[:, :, None, None, None]).sum(axis=1), 1, 3)
            self.C3 = _to_lab(C3, tilt, True)

    # ------------------------------------------------------------------ per orbit
    def _groups(self):
        """(distinct body, instance rows) pairs: contractions per distinct element, no gathered copies."""
        if not hasattr(self, "_group_list"):
            order = np.argsort(self.j, kind="stable")
            keys, start = np.unique(self.j[order], return_index=True)
            stop = np.append(start[1:], len(order))
            self._group_list = [(int(k), order[a:b]) for k, a, b in zip(keys, start, stop)]
        return self._group_list

    def _mismatch(self, X_in, X_out):
        x_in = X_in[self.idx]
        dX = X_out[self.idx].copy()
        for g, rows in self._groups():
            dX[rows] -= x_in[rows] @ self.M[g].T
        return x_in, dX

    def change(self, X, *, exits=None, delta_ref=None) -> np.ndarray:
        """First-order change of every map about the orbit (:func:`orbit_change`), (n, 6, 6)."""
        X_in, X_out = _ends(X, exits)
        out = np.zeros((len(self.elements), 6, 6))
        if len(self.idx):
            j = self.j
            x_in, dX = self._mismatch(X_in, X_out)
            dJ = np.empty((len(j), 36))
            for g, rows in self._groups():
                dJ[rows] = x_in[rows] @ self.B[g].reshape(36, 6).T + dX[rows] @ self.W[g].reshape(36, 6).T
            dJ = dJ.reshape(-1, 6, 6)
            if delta_ref is not None:
                dJ -= np.asarray(delta_ref, dtype=float)[self.idx][:, None, None] * self.Cd[j]
            hit = np.flatnonzero(self.sext[j])
            if len(hit):
                rows = self.idx[hit]
                mean = 0.5 * (X_in[rows] + X_out[rows])
                dJ[hit] -= np.einsum("mabk,mk->mab", self.C3[j[hit]], mean)
                els = [self.elements[i] for i in rows]
                moved = [el.displaced(float(w[0]), float(w[2])) for el, w in zip(els, mean)]
                if delta_ref is None:
                    dJ[hit] += element_maps6(moved) - element_maps6(els)
                else:        # exact at (x0, delta0) together (their cross term k2 x0 delta0 L^2 ~ 1e-8)
                    d = np.asarray(delta_ref, dtype=float)[rows]
                    t = (d / (1.0 + d))[:, None, None]
                    taylor = t * self.J1[j[hit]] + t * t * self.J2[j[hit]]     # what energy() adds
                    dJ[hit] += _at_energy(moved, t[:, 0, 0]) - element_maps6(els) - taylor
            out[self.idx] = dJ
        if self.thin:
            els = [self.elements[i] for i in self.thin]
            moved = [el.displaced(float(X_in[i, 0]), float(X_in[i, 2])) for el, i in zip(els, self.thin)]
            out[self.thin] = element_maps6(moved) - element_maps6(els)
        return out

    def drive(self, X) -> np.ndarray:
        """The orbit's second-order kick through every element, at its exit (:func:`orbit_drive`), (n, 6)."""
        X = np.asarray(X, dtype=float)
        out = np.zeros((len(self.elements), 6))
        if len(self.idx):
            x_in, dX = self._mismatch(X[:-1], X[1:])
            y = np.concatenate([x_in, dX], axis=1)
            yy = (y[:, :, None] * y[:, None, :]).reshape(len(y), 144)
            drive = np.empty((len(y), 6))
            for g, rows in self._groups():
                drive[rows] = yy[rows] @ self.T2[g].reshape(6, 144).T
            out[self.idx] = drive
        for i in self.thin:
            el = self.elements[i]
            if getattr(el, "k2l", 0.0) or getattr(el, "k2sl", 0.0):
                k = complex(el.k2l, el.k2sl)
                t = float(el.tilt)
                rot = complex(np.cos(t), -np.sin(t))
                w = rot * complex(X[i, 0], X[i, 2])
                kick = rot * (-0.5 * k * w * w)            # conj(w') in the lab frame
                out[i, 1] += kick.real
                out[i, 3] += -kick.imag
        return out

    def energy(self, delta, subset=None) -> np.ndarray:
        """J(delta) - R of every element at a constant delta (:func:`energy_change`), (n, 6, 6)."""
        d = np.asarray(delta, dtype=float)
        out = np.zeros((len(self.elements), 6, 6))
        if len(self.idx):
            idx = self.idx if subset is None else self.idx[np.isin(self.idx, subset)]
            j = self._local[self.inv[idx]]
            t = (d[idx] / (1.0 + d[idx]))[:, None, None]
            out[idx] = t * self.J1[j] + t * t * self.J2[j]
        return out

    def sawtooth(self, X, *, tapered: bool = False) -> np.ndarray:
        """Each map about the 6-D closed orbit minus its design map (:func:`sawtooth_change`), (n, 6, 6)."""
        X = np.asarray(X, dtype=float)
        d = X[:, 4]
        mean = 0.5 * (d[:-1] + d[1:])
        if not tapered:
            return self.energy(mean) + self.change(X, delta_ref=mean)
        els = self.elements
        n = len(els)
        mag = np.array([el.kind in MAGNETS for el in els], dtype=bool)
        ref = np.where(mag, mean, 0.0)
        Xi = np.zeros((n, 6))
        Xo = np.zeros((n, 6))
        Xi[:, 4] = (d[:-1] - mean) / (1 + ref)          # about the mean: the frame's (magnets), exact (rest)
        Xo[:, 4] = (d[1:] - mean) / (1 + ref)
        out = self.change(Xi, exits=Xo) + self.energy(mean, subset=np.flatnonzero(~mag))
        if np.any(mag):
            R = element_maps6(els, (self.unique, self.inv))[mag]
            F = tapered_frame(ref[mag])
            out[mag] = np.linalg.solve(F, (R + out[mag]) @ F) - R
        return out


def _at_energy(elements, t) -> np.ndarray:
    """Exact maps (n, 6, 6) of frame-free thick elements (no solenoid, no fringe) at t = delta / (1 + delta)."""
    plain = [el.replace(tilt=0.0) if el.tilt else el for el in elements]
    L = _attr(plain, "length")
    E4 = _hessians(np.zeros(1), np.zeros(1), np.zeros(1))[0, 4]
    body = expm_stacked((generators6(plain) + np.asarray(t)[:, None, None] * E4) * L[:, None, None])
    J = edge_maps6(plain, "exit") @ body @ edge_maps6(plain, "entrance")
    return _to_lab(J, _attr(elements, "tilt"), False)


def _ends(X, exits) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    if exits is None:
        return X[:-1], X[1:]
    return X, np.asarray(exits, dtype=float)


def orbit_change(elements, X: np.ndarray, *, exits=None, delta_ref=None, distinct=None) -> np.ndarray:
    """J - R of every element about the closed orbit X (boundaries, (n + 1, 6), lab frame), (n, 6, 6).

    Parameters
    ----------
    elements : sequence of Element
    X : (n + 1, 6) array
        The closed orbit at every boundary in canonical coordinates (x, p_x, z, p_z, delta, l).
        Inside an element the orbit is its design map from the entrance plus the response
        to the in-element energy loss, delta falling evenly (the exit mismatch in delta) through
        the body.
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
    return OrbitMaps(elements, distinct).change(X, exits=exits, delta_ref=delta_ref)


def tapered_frame(delta) -> np.ndarray:
    """d(x, p_x, z, p_z, delta, l)' / d(x, p_x, z, p_z, delta, l) for a reference momentum 1 + delta, (..., 6, 6).

    A magnet whose fields follow the local energy 1 + delta0 (pyAT's ``tapering()``, its
    ``FieldScaling``) is the design magnet in the frame of that reference momentum:
    p' = p / (1 + delta0), 1 + delta' = (1 + delta) / (1 + delta0); its map is
    F^-1 J' F, J' the design magnet's map about the orbit in that frame.

    Examples
    --------
    >>> round(float(tapered_frame(0.01)[1, 1]), 12)
    0.990099009901
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
    return OrbitMaps(elements, distinct).drive(X)


def energy_change(elements, delta, *, distinct=None) -> np.ndarray:
    """J(delta) - R of every element at a constant delta (its closed orbit's mean), (n, 6, 6).

    The kinetic part of the generator goes as 1 / (1 + delta) (the drift's p / (1 + delta), a
    solenoid's whole kinetic term: Omega Hess T / (1 + delta)); fields, the bend's drive
    K delta and its path K x do not; a bend's vertical face focusing is
    K tan(e - psi / (1 + delta)) (pyAT's edge_fringe). To second order in t = delta / (1 + delta)
    (the remainder ~ t^3 ~ 3e-11 on a light source's sawtooth), because the sawtooth's delta0^2
    matters: at delta0 ~ 2.7e-4 a drift's p / (1 + delta0) differs from the first-order
    (1 - delta0) p by 7e-8. Thin elements (a kick sees no delta in canonical coordinates),
    markers, matrices and cavities are unchanged.

    Examples
    --------
    >>> from coupled_beam.lattice import Drift
    >>> round(float(energy_change([Drift(2.0)], [1e-3])[0, 0, 1]), 12)       # 2 / 1.001 - 2
    -0.001998001998
    """
    return OrbitMaps(elements, distinct).energy(delta)


def sawtooth_change(elements, X: np.ndarray, *, tapered: bool = False, distinct=None) -> np.ndarray:
    """Each element's map about the 6-D closed orbit X minus its design map, (n, 6, 6).

    Untapered: at the element's mean delta0 (:func:`energy_change`) plus first order in the
    rest of the orbit, the transverse orbit and the in-element loss (:func:`orbit_change`).
    ``tapered``: every magnet (:data:`MAGNETS`) is the design magnet in the frame of the
    reference momentum 1 + delta0 (:func:`tapered_frame`: pyAT's ``tapering()`` sets that
    ``FieldScaling``), about the orbit that stays on axis; drifts are untapered (the drift's
    p / (1 + delta0)).

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
    return OrbitMaps(elements, distinct).sawtooth(X, tapered=tapered)


def noise_at_orbit(noise: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The elements' quantum noise (n, 6, 6) in the canonical coordinates of the orbit X, (n, 6, 6).

    A photon of energy u emitted on the orbit keeps the slope x' = p / (1 + delta), so it kicks
    delta by -u and p by -u p0: the noise of the design orbit (a pure delta kick and its
    propagation) seen from p = x' (1 + delta) is K B K^T, K = 1 + p0 e_p e_delta^T at the exit
    (p0 of the orbit there; its change through the element is second order).

    Examples
    --------
    >>> B = np.zeros((1, 6, 6)); B[0, 4, 4] = 1e-12
    >>> X = np.zeros((2, 6)); X[:, 1] = 1e-4
    >>> float(noise_at_orbit(B, X)[0, 1, 4])           # <p delta> = p0 <delta^2>
    1e-16
    """
    X = np.asarray(X, dtype=float)
    K = np.broadcast_to(np.eye(6), noise.shape).copy()
    K[:, 1, 4] = X[1:, 1]
    K[:, 3, 4] = X[1:, 3]
    return K @ noise @ np.swapaxes(K, 1, 2)
