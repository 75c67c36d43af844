"""Entire functions of u = k L^2 for element maps of any focusing sign (Stumpff functions).

A piece with constant focusing k (1/m^2; k > 0 focuses, k < 0 defocuses,
k = 0 is a drift) has maps built from

    c_n(u) = sum_{m >= 0} (-u)^m / (2m + n)!        (u = k L^2)

c_0(u) = cos sqrt(u), c_1(u) = sin sqrt(u)/sqrt(u), c_2(u) = (1 - cos sqrt(u))/u,
c_3(u) = (sqrt(u) - sin sqrt(u))/u^(3/2), ... and cosh, sinh for u < 0. They are
entire in u (no branch at u = 0, no complex numbers) and satisfy

    c_n(u) = 1/n! - u c_{n+2}(u),     d/ds [s^n c_n(k s^2)] = s^(n-1) c_{n-1}(k s^2).

The thick skew quadrupole needs the even combination of both signs,

    d_n(u) = (c_n(-u) - c_n(u)) / (2u) = sum_{m >= 0} u^(2m) / (4m + n + 2)!,

which is free of the cancellation of cosh - cos at small u.

This module provides

* :class:`stumpff` and :class:`stumpff_d`: sympy functions printed as calls of the
  generated helpers ``stumpff_c<n>`` / ``skew_d<n>`` (numpy) and ``..._mp`` (mpmath);
* :func:`to_stumpff`: the rewrite of an expression in cos(j theta), sin(j theta)
  and powers of theta = sqrt(k) L into c_n(j^2 u) with no negative power of u
  left (the named rewrite that removes the cancellation at k -> 0);
* :func:`integrate_trig`: int_0^L of polynomials times products of cos, sin of
  omega*s and omega*(L - s), exactly (exponential form, term by term);
* :func:`helper_specs`: the helpers' kernel specs; :func:`stumpff_row_source`: the one
  numeric form, ``stumpff_row(u, N)`` = c_0 ... c_N of one argument (the element maps
  evaluate one row per argument; ``stumpff_c<n>`` is a column of it). Numerics:
  the Taylor series (a power sum) for abs(u) < T_n, above it the closed form from
  c_0, c_1 by the recurrence (cos/sin for u > 0, cosh/sinh for u < 0); T_n is
  chosen (measured against mpmath at 40 digits) so that both sides keep
  < 3e-16 relative away from the zeros of c_n. The mpmath twins are exact
  (``mpmath.hyper``) at any precision.

References
----------
K. Stumpff, *Himmelsmechanik* I (1959) (the c-functions); LNF-64/55 §1.

Examples
--------
>>> u = sp.Symbol("u")
>>> stumpff(2, 0)
1/2
>>> theta = sp.Symbol("theta", positive=True)
>>> to_stumpff((1 - sp.cos(theta)) / theta**2, theta, sp.Symbol("k", positive=True), 1)
stumpff(2, k)
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import sympy as sp

__all__ = ["stumpff", "stumpff_d", "closed_form", "to_stumpff", "integrate_trig",
           "stumpff_to_trig", "helper_specs", "THRESHOLDS", "N_MAX"]

#: highest index c_n used by the element maps and integrals
N_MAX = 11
#: abs(u) below which stumpff_c<n> sums its Taylor series (measured, module doc; c_1: its
#: series and sin/sinh(sqrt u)/sqrt u are both < 2.5e-16 relative up to 4, and the rows of
#: the element maps then take the series of every column at once for abs(u) < 4)
THRESHOLDS = {0: 0.0, 1: 4.0, 2: 4.0, 3: 8.0, 4: 8.0, 5: 8.0, 6: 16.0, 7: 16.0,
              8: 32.0, 9: 32.0, 10: 32.0, 11: 32.0}
#: abs(u) below which skew_d<n> sums its series
D_THRESHOLD = 1.0
_U = sp.Symbol("u", real=True)


class stumpff(sp.Function):
    """c_n(u) = sum_m (-u)^m / (2m + n)!; ``stumpff(n, u)``, n a non-negative integer.

    Examples
    --------
    >>> stumpff(0, 0), stumpff(3, 0)
    (1, 1/6)
    """

    nargs = 2

    @classmethod
    def eval(cls, n, x):
        if x.is_zero:
            return sp.Rational(1, factorial(int(n)))
        return None

    def _eval_is_real(self):
        return self.args[1].is_real

    def fdiff(self, argindex=2):
        n, x = self.args
        if argindex != 2:
            raise sp.ArgumentIndexError(self, argindex)
        # d/du c_n = (c_{n+1} - n c_{n+2}) / 2   (from the series)
        return (stumpff(n + 1, x) - n * stumpff(n + 2, x)) / 2

    def _eval_evalf(self, prec):
        import mpmath

        n, x = self.args
        if not x.is_number:
            return None
        with mpmath.workprec(prec):
            val = mpmath.hyper([1], [mpmath.mpf(int(n) + 1) / 2, mpmath.mpf(int(n) + 2) / 2],
                               -sp.N(x, mpmath.mp.dps + 5)._to_mpmath(prec) / 4)
            return sp.Float(val / mpmath.factorial(int(n)), precision=prec)

    def _numpycode(self, printer):
        return f"stumpff_c{int(self.args[0])}({printer._print(self.args[1])})[0]"

    def _mpmathcode(self, printer):
        return f"stumpff_c{int(self.args[0])}_mp({printer._print(self.args[1])})[0]"

    def _pythoncode(self, printer):
        return printer._print(_numeric_body(0, int(self.args[0]), _U).xreplace({_U: self.args[1]}))

    _ccode = _pythoncode

    def _latex(self, printer):
        return rf"c_{{{int(self.args[0])}}}\left({printer._print(self.args[1])}\right)"


class stumpff_d(sp.Function):
    """d_n(u) = (c_n(-u) - c_n(u)) / (2u) = sum_m u^(2m) / (4m + n + 2)!.

    Examples
    --------
    >>> stumpff_d(0, 0)
    1/2
    """

    nargs = 2

    @classmethod
    def eval(cls, n, x):
        if x.is_zero:
            return sp.Rational(1, factorial(int(n) + 2))
        return None

    def _eval_is_real(self):
        return self.args[1].is_real

    def _eval_evalf(self, prec):
        n, x = self.args
        if not x.is_number:
            return None
        if x.is_zero:
            return sp.Float(1 / factorial(int(n) + 2), precision=prec)
        val = (stumpff(n, -x) - stumpff(n, x)) / (2 * x)
        return val.evalf(prec_to_dps(prec) + 20)

    def _numpycode(self, printer):
        return f"skew_d{int(self.args[0])}({printer._print(self.args[1])})[0]"

    def _mpmathcode(self, printer):
        return f"skew_d{int(self.args[0])}_mp({printer._print(self.args[1])})[0]"

    def _pythoncode(self, printer):
        return printer._print(_numeric_body(1, int(self.args[0]), _U).xreplace({_U: self.args[1]}))

    _ccode = _pythoncode

    def _latex(self, printer):
        return rf"d_{{{int(self.args[0])}}}\left({printer._print(self.args[1])}\right)"


def prec_to_dps(prec: int) -> int:
    """Binary precision -> decimal digits (as mpmath)."""
    return max(1, int(round(int(prec) / 3.3219280948873626) - 1))


def closed_form(n: int, theta: sp.Expr) -> sp.Expr:
    """c_n(theta^2) in trigonometric form (theta = sqrt(u) > 0), by the recurrence.

    Examples
    --------
    >>> t = sp.Symbol("t", positive=True)
    >>> closed_form(2, t)
    (1 - cos(t))/t**2
    """
    if n == 0:
        return sp.cos(theta)
    if n == 1:
        return sp.sin(theta) / theta
    return (sp.Rational(1, factorial(n - 2)) - closed_form(n - 2, theta)) / theta**2


def stumpff_to_trig(expr: sp.Expr, omega: sp.Symbol, k: sp.Expr) -> sp.Expr:
    """Replace every c_n(k * X) (X a square of positive symbols) by its trigonometric form.

    ``k`` is the focusing the arguments carry; it is replaced by omega^2 (omega > 0).

    Examples
    --------
    >>> w, s = sp.symbols("omega s", positive=True)
    >>> stumpff_to_trig(stumpff(1, w**2 * s**2), w, w**2)
    sin(omega*s)/(omega*s)
    """
    def rep(n, x):
        th = sp.sqrt(sp.factor(sp.expand(x.subs(k, omega**2) if k != omega**2 else x)))
        return closed_form(int(n), sp.powdenest(th, force=True))
    return expr.replace(stumpff, rep)


def _trig_atom(f, arg, theta):
    j = sp.simplify(arg / theta)
    if not (j.is_Integer or (j.is_Rational and j.q == 1)):
        raise ValueError(f"argument {arg} is not an integer multiple of {theta}")
    return int(j)


def to_stumpff(expr: sp.Expr, theta: sp.Symbol, k: sp.Expr, L: sp.Expr) -> sp.Expr:
    """Rewrite expr(theta, cos(j theta), sin(j theta)) as a sum of k^a L^b c_n(j^2 k L^2).

    theta stands for sqrt(k) L. Steps (each exact):

    1. cos(j theta) -> c_0(j^2 u), sin(j theta) -> j theta c_1(j^2 u);
    2. a negative power of theta times c_n is lifted by c_n = 1/n! - j^2 theta^2 c_{n+2}
       until no c_n carries one; the pure Laurent part must then be a polynomial
       (the poles of the trigonometric form cancel) - checked;
    3. a group (same power of theta, same other factors) that vanishes at u = 0 is
       lifted once more (so no group cancels to leading order at small u);
    4. theta^p -> k^(p/2) L^p; odd p left over raises (expr is not entire in k).

    Parameters
    ----------
    expr : sympy.Expr
        Trigonometric form.
    theta : sympy.Symbol
        sqrt(k) L, a positive symbol.
    k : sympy.Expr
        The focusing, e.g. ``K**2 + k1``.
    L : sympy.Expr
        The length (or 1 when theta is the whole argument).

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> t, L = sp.symbols("theta L", positive=True)
    >>> k = sp.Symbol("k", real=True)
    >>> to_stumpff(L * sp.sin(t) / t, t, k, L)
    L*stumpff(1, L**2*k)
    """
    C = {}

    def csym(n, j):
        if (n, j) not in C:
            C[(n, j)] = sp.Symbol(f"_C_{n}_{j}")
        return C[(n, j)]

    def rep_cos(arg):
        j = _trig_atom(sp.cos, arg, theta)
        return csym(0, abs(j))

    def rep_sin(arg):
        j = _trig_atom(sp.sin, arg, theta)
        return sp.sign(j) * abs(j) * theta * csym(1, abs(j))

    e = sp.expand(expr)
    e = e.replace(sp.cos, rep_cos).replace(sp.sin, rep_sin)
    e = sp.expand(e)
    inv = {v: key for key, v in C.items()}
    # terms: (p, n, j, coeff) with coeff free of theta and C; n = None for pure terms
    work = []
    for term in sp.Add.make_args(e):
        pw = term.as_powers_dict()
        p = int(pw.get(theta, 0))
        cs = [s for s in pw if s in inv]
        if len(cs) > 1 or (cs and pw[cs[0]] != 1):
            raise ValueError(f"product of trigonometric functions left in {term}")
        coeff = term / theta**p
        if cs:
            coeff = coeff / cs[0]
            n, j = inv[cs[0]]
            work.append([p, n, j, coeff])
        else:
            work.append([p, None, 0, coeff])
    changed = True
    while changed:
        changed = False
        new = []
        for p, n, j, a in work:
            if n is not None and p < 0:
                new.append([p, None, 0, a / factorial(n)])
                new.append([p + 2, n + 2, j, -a * j**2])
                changed = True
            else:
                new.append([p, n, j, a])
        work = new
    pure = sp.expand(sum((a * theta**p for p, n, j, a in work if n is None), sp.S.Zero))
    for term in sp.Add.make_args(pure):
        if term != 0 and term.as_powers_dict().get(theta, 0) < 0:
            raise ValueError(f"pole left in the rewrite: {term} (expr not entire in k?)")
    # groups: (p, other factors) -> {(n, j): number} plus pure number
    groups: dict = {}

    def add(p, key, nj, num):
        g = groups.setdefault((p, key), {})
        g[nj] = g.get(nj, 0) + num

    def split(coeff):
        num, rest = sp.S.One, sp.S.One
        for f in sp.Mul.make_args(coeff):
            if f.is_number:
                num *= f
            else:
                rest *= f
        return num, rest

    for p, n, j, a in work:
        if n is None:
            continue
        for t in sp.Add.make_args(sp.expand(a)):
            num, rest = split(t)
            add(p, rest, (n, j), num)
    for t in sp.Add.make_args(pure):
        if t == 0:
            continue
        p = int(t.as_powers_dict().get(theta, 0))
        num, rest = split(t / theta**p)
        add(p, rest, None, num)
    done = False
    while not done:
        done = True
        for (p, rest), g in sorted(groups.items(), key=lambda kv: kv[0][0]):
            cs = {nj: v for nj, v in g.items() if nj is not None and v != 0}
            if not cs:
                continue
            at0 = g.get(None, 0) + sum(v / sp.factorial(nj[0]) for nj, v in cs.items())
            if sp.simplify(at0) == 0:
                del groups[(p, rest)]
                for (n, j), v in cs.items():
                    add(p + 2, rest, (n + 2, j), -v * j**2)
                done = False
                break
    out = sp.S.Zero
    for (p, rest), g in groups.items():
        if p % 2:
            nonzero = [v for v in g.values() if v != 0]
            if nonzero:
                raise ValueError(f"odd power theta^{p} left: expr is not entire in k")
            continue
        fac = k**(p // 2) * L**p * rest
        for nj, v in g.items():
            if v == 0:
                continue
            if nj is None:
                out += v * fac
            else:
                n, j = nj
                out += v * fac * stumpff(n, sp.expand(j**2 * k * L**2))
    return out


def _exp_symbols(expr, s, L, omega, E, EL):
    """exp(I omega (a s + b L)) -> E^a EL^b (a, b integers)."""
    def rep(arg):
        arg = sp.expand(arg)
        a = sp.simplify(arg.coeff(s) / (sp.I * omega))
        b = sp.simplify(arg.coeff(L) / (sp.I * omega))
        rest = sp.simplify(arg - sp.I * omega * (a * s + b * L))
        if rest != 0 or not (a.is_integer and b.is_integer):
            raise ValueError(f"exponent {arg} is not I*omega*(a*s + b*L)")
        return E**int(a) * EL**int(b)
    return expr.replace(sp.exp, rep)


def integrate_trig(expr: sp.Expr, s: sp.Symbol, L: sp.Symbol, omega: sp.Symbol) -> sp.Expr:
    """int_0^L expr ds, expr a polynomial in s times cos, sin of omega*(a s + b L).

    Exact: exponential form, term by term int_0^L s^m exp(c s) ds, back to cos, sin
    of multiples of theta = omega*L (the imaginary part is checked to vanish).
    omega = 0 (no trigonometric function) is allowed.

    Returns
    -------
    sympy.Expr
        In L, omega, cos(j omega L), sin(j omega L).

    Examples
    --------
    >>> s, L, w = sp.symbols("s L omega", positive=True)
    >>> sp.simplify(integrate_trig(sp.cos(w * s)**2, s, L, w) - (L / 2 + sp.sin(2 * w * L) / (4 * w)))
    0
    """
    E, EL = sp.symbols("_E _EL")
    e = sp.expand(expr.rewrite(sp.exp))
    e = sp.expand(sp.powsimp(e, combine="exp"))
    e = sp.expand(_exp_symbols(e, s, L, omega, E, EL))
    out = sp.S.Zero
    for term in sp.Add.make_args(e):
        pw = term.as_powers_dict()
        m = int(pw.get(s, 0))
        j = int(pw.get(E, 0))
        rest = term / (s**m * E**j)
        if rest.has(s):
            raise ValueError(f"term {term} is not s^m exp(I j omega s) times a constant")
        if j == 0:
            out += rest * L**(m + 1) / (m + 1)
            continue
        a = sp.I * j * omega
        val = EL**j * sum((-1)**r * sp.factorial(m) / sp.factorial(m - r) * L**(m - r)
                          / a**(r + 1) for r in range(m + 1))
        val -= (-1)**m * sp.factorial(m) / a**(m + 1)
        out += rest * val
    out = sp.expand(out)
    th = omega * L
    res = sp.S.Zero
    for term in sp.Add.make_args(out):
        q = int(term.as_powers_dict().get(EL, 0))
        rest = term / EL**q
        res += rest * (sp.cos(abs(q) * th) + sp.sign(q) * sp.I * sp.sin(abs(q) * th))
    res = sp.expand(res)
    re = sp.expand((res + res.subs(sp.I, -sp.I)) / 2)
    im = sp.expand((res - res.subs(sp.I, -sp.I)) / 2)
    if im != 0:
        raise ValueError(f"imaginary part left: {im}")
    return re


# ------------------------------------------------------------------ numerics
def _series(n: int, u: sp.Symbol, alt: bool, T: float, step: int = 1) -> sp.Expr:
    """Horner form of the Taylor series, terms until below 1e-19 relative at abs(u) = T."""
    terms = []
    m = 0
    while True:
        den = factorial(2 * m + n) if not alt else factorial(4 * m + n + 2)
        terms.append(sp.Rational(1, den))
        mag = (T**(m if not alt else 2 * m)) / den
        first = 1 / factorial(n if not alt else n + 2)
        if m >= 2 and mag < 1e-19 * first:
            break
        m += 1
    x = -u if not alt else u**2
    poly = sp.S.Zero
    for c in reversed(terms):
        poly = poly * x + c
    return poly


def _closed_pos(n: int, v: sp.Expr) -> sp.Expr:
    """c_n(v) for v > 0: cos, sin and the recurrence."""
    return closed_form(n, sp.sqrt(v))


def _closed_neg(n: int, w: sp.Expr) -> sp.Expr:
    """c_n(-w) for w > 0: cosh, sinh and the recurrence."""
    if n == 0:
        return sp.cosh(sp.sqrt(w))
    if n == 1:
        return sp.sinh(sp.sqrt(w)) / sp.sqrt(w)
    return (_closed_neg(n - 2, w) - sp.Rational(1, factorial(n - 2))) / w


class _maximum(sp.Function):
    """Printing-only elementwise maximum (numpy.maximum; a clamp inside unused branches)."""

    nargs = 2

    def _numpycode(self, printer):
        return f"numpy.maximum({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    def _mpmathcode(self, printer):
        return f"max({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    _pythoncode = _mpmathcode

    def _ccode(self, printer):
        return f"fmax({printer._print(self.args[0])}, {printer._print(self.args[1])})"


class _clip(sp.Function):
    """Printing-only clip of u to [-T, T] (keeps the unused series branch finite for huge u)."""

    nargs = 2

    def _numpycode(self, printer):
        u, t = printer._print(self.args[0]), printer._print(self.args[1])
        return f"numpy.clip({u}, -{t}, {t})"

    def _mpmathcode(self, printer):
        u, t = printer._print(self.args[0]), printer._print(self.args[1])
        return f"max(min({u}, {t}), -{t})"

    _pythoncode = _mpmathcode

    def _ccode(self, printer):
        u, t = printer._print(self.args[0]), printer._print(self.args[1])
        return f"fmax(fmin({u}, {t}), -{t})"


class _Impl(sp.Function):
    """Printing-only: the numeric body of a helper (numpy) or its exact mpmath form."""

    nargs = 3  # kind (0: c_n, 1: d_n), n, u

    def _numpycode(self, printer):
        kind, n, u = int(self.args[0]), int(self.args[1]), self.args[2]
        return printer._print(_numeric_body(kind, n, u))

    def _mpmathcode(self, printer):
        kind, n, u = int(self.args[0]), int(self.args[1]), printer._print(self.args[2])
        if kind == 0:
            return (f"mpmath.hyper([1], [mpmath.mpf({n + 1})/2, mpmath.mpf({n + 2})/2], "
                    f"-({u})/4)/mpmath.factorial({n})")
        a = ", ".join(f"mpmath.mpf({n + r})/4" for r in range(3, 7))
        return f"mpmath.hyper([1], [{a}], ({u})**2/256)/mpmath.factorial({n + 2})"


@lru_cache(maxsize=None)
def _numeric_body(kind: int, n: int, u: sp.Symbol) -> sp.Expr:
    if kind == 0:
        T = THRESHOLDS[n]
        if n == 0:
            return sp.Piecewise((sp.cos(sp.sqrt(_maximum(u, 0))), u >= 0),
                                (sp.cosh(sp.sqrt(_maximum(-u, 0))), True))
        tf = sp.Float(T)
        return sp.Piecewise((_series(n, _clip(u, tf), False, T), sp.Abs(u) < tf),
                            (_closed_pos(n, _maximum(u, tf)), u > 0),
                            (_closed_neg(n, _maximum(-u, tf)), True))
    tf = sp.Float(D_THRESHOLD)
    a = _maximum(sp.Abs(u), tf)
    closed = (_closed_neg(n, a) - _closed_pos(n, a)) / (2 * a)
    return sp.Piecewise((_series(n, _clip(u, tf), True, D_THRESHOLD), sp.Abs(u) < tf),
                        (closed, True))


def helper_specs(KernelSpec) -> list:
    """Kernel specs of the helpers stumpff_c0 ... stumpff_c<N_MAX>, skew_d0, skew_d1.

    Parameters
    ----------
    KernelSpec : type
        :class:`derivations.codegen.KernelSpec` (passed in to avoid an import cycle).

    Examples
    --------
    >>> from derivations.codegen import KernelSpec
    >>> [s.name for s in helper_specs(KernelSpec)][:3]
    ['stumpff_c0', 'stumpff_c1', 'stumpff_c2']
    """
    u = sp.Symbol("u", real=True)
    specs = []
    for n in range(N_MAX + 1):
        specs.append(KernelSpec(
            f"stumpff_c{n}", (u,), (_Impl(0, n, u),),
            f"Stumpff function c_{n}(u) = sum_m (-u)^m/(2m+{n})!, entire in u (any sign).\n"
            f"numpy: column {n} of stumpff_row(u, {n}) (the one numeric form: Taylor series for\n"
            f"abs(u) < {THRESHOLDS[n]}, else the closed form: cos/sin for u > 0, cosh/sinh for u < 0,\n"
            "recurrence c_n = (1/(n-2)! - c_{n-2})/u); < 3e-16 relative away from zeros of c_n.\n"
            "mpmath: exact (hypergeometric 1F2).",
            "K. Stumpff, Himmelsmechanik I (1959); derivations.stumpff",
            numpy_exprs=(_Col(n, _Row(n, u)),)))
    for n in (0, 1):
        specs.append(KernelSpec(
            f"skew_d{n}", (u,), (_Impl(1, n, u),),
            f"d_{n}(u) = (c_{n}(-u) - c_{n}(u))/(2u) = sum_m u^(2m)/(4m+{n + 2})!, even and entire\n"
            f"(the cosh - cos combination of the skew quadrupole without cancellation);\n"
            f"series for abs(u) < {D_THRESHOLD}, closed form above. mpmath: exact (1F4).",
            "derivations.stumpff; LNF-64/55 §1 (M term)",
            numpy_exprs=(_numeric_body(1, n, u),)))
    return specs


# ------------------------------------------------------- all c_n of one argument at once
def _series_table() -> list[list[float]]:
    """Taylor coefficients of c_1 ... c_N_MAX in powers of w = -u, ascending, zero-padded.

    Row n - 1, entry k: 1/(2k + n)! for the terms :func:`_series` keeps at
    abs(u) = T_n (below 1e-19 relative there), 0 beyond (a zero term adds nothing).
    """
    rows = []
    for n in range(1, N_MAX + 1):
        poly = sp.Poly(_series(n, _U, False, THRESHOLDS[n]).subs(_U, -_U), _U)   # in w = -u
        rows.append([int(sp.fraction(c)[0]) / int(sp.fraction(c)[1])
                     for c in reversed(poly.all_coeffs())])                       # ascending
    depth = max(len(r) for r in rows)
    return [r + [0.0] * (depth - len(r)) for r in rows]


class _Row(sp.Function):
    """Printing-only: c_0(x) ... c_N(x) of one argument, ``stumpff_row(x, N)`` (numpy)."""

    nargs = 2  # N, x

    def _numpycode(self, printer):
        return f"stumpff_row({printer._print(self.args[1])}, {int(self.args[0])})"


class _Col(sp.Function):
    """Printing-only: column n of a :class:`_Row` (``row[..., n]``)."""

    nargs = 2  # n, row

    def _numpycode(self, printer):
        return f"{printer._print(self.args[1])}[..., {int(self.args[0])}]"


def row_symbols(groups):
    """Every c_n(x) of the expression groups as column n of one shared row symbol per argument x.

    Returns ``(rows, groups)``: ``rows`` is a list of (symbol, x, N) sorted by
    symbol (N the highest n used with x in any group; evaluate as
    ``symbol = stumpff_row(x, N)``), and the groups with each c_n(x) replaced by
    ``_Col(n, symbol)``. A row's symbol depends on its argument only (a CRC of
    it), so a group prints to the same operations wherever it appears (a
    kernel alone, or a part of a fused kernel that shares the rows).

    Examples
    --------
    >>> x = sp.Symbol("x")
    >>> rows, groups = row_symbols([[stumpff(1, x) + stumpff(3, x)]])
    >>> [(str(r[1]), r[2]) for r in rows], str(groups[0][0]).count("_Col")
    ([('x', 3)], 2)
    """
    import zlib

    top: dict = {}
    for g in groups:
        for e in g:
            for a in sp.sympify(e).atoms(stumpff):
                n, x = int(a.args[0]), a.args[1]
                top[x] = max(top.get(x, 0), n)
    names = {x: sp.Symbol(f"_r{zlib.crc32(sp.srepr(x).encode()):08x}") for x in top}
    rows = sorted(((names[x], x, N) for x, N in top.items()), key=lambda r: r[0].name)
    rep = lambda n, x: _Col(n, names[x])  # noqa: E731
    return rows, [[sp.sympify(e).replace(stumpff, rep) for e in g] for g in groups]


def rows_for_numpy(exprs):
    """Every c_n(x) of ``exprs`` as a column of one row c_0(x) ... c_N(x) per distinct argument x.

    N is the highest n used with that x; common-subexpression elimination then
    evaluates each row once (:func:`stumpff_row_source`), so a kernel pays one
    vectorised evaluation per argument instead of one helper call per c_n
    (the helpers ``stumpff_c<n>`` are columns of the same rows).

    Examples
    --------
    >>> x = sp.Symbol("x")
    >>> rows_for_numpy([stumpff(1, x) + stumpff(3, x)])
    [_Col(1, _Row(3, x)) + _Col(3, _Row(3, x))]
    """
    top: dict = {}
    for e in exprs:
        for a in sp.sympify(e).atoms(stumpff):
            n, x = int(a.args[0]), a.args[1]
            top[x] = max(top.get(x, 0), n)
    if not top:
        return list(exprs)
    rep = lambda n, x: _Col(n, _Row(top[x], x))  # noqa: E731
    return [sp.sympify(e).replace(stumpff, rep) for e in exprs]


_ROW_TEMPLATE = '''
#: Taylor coefficients of c_1 ... c_@NMAX@ in powers of w = -u, ascending (derivations.stumpff._series)
_STUMPFF_SERIES = numpy.array([
    @ROWS@])
#: abs(u) below which c_1 ... c_@NMAX@ sum their series (derivations.stumpff.THRESHOLDS)
_STUMPFF_T = numpy.array(@T@)
#: number of series terms summed (the longest series; the same for every N, so that a column's
#: value does not depend on how many columns its row has: zero terms add exactly nothing)
_STUMPFF_DEPTH = @DEPTH@
#: ones, one per power w^1 ... w^(depth - 1)
_STUMPFF_ONES = numpy.ones(@DEPTH@ - 1)
#: row i - 1: what step i of the recurrence adds in columns 1 ... @NMAX@ (1/(n mod 2 + 2 i - 2)!)
_STUMPFF_REC = numpy.array([
    @REC@])


def stumpff_row(u, N):
    """c_0(u), ..., c_N(u) stacked on a new last axis: one evaluation for all n <= N.

    c_0 = cos sqrt(u) (cosh sqrt(-u) for u < 0); for n >= 1 the Taylor series
    sum_k w^k/(2k + n)!, w = -u, below abs(u) = T_n (all columns in one product
    and one reduction over the terms), else the closed form at v = max(abs(u), T_n)
    by the recurrence c_n = (1/(n-2)! - c_(n-2))/v (u > 0; cosh/sinh for u < 0),
    evaluated only when some point needs it. Each value depends on its own u
    only (not on the batch). < 3e-16 relative away from zeros of c_n.

    Arguments: u (array_like, any shape), N (0 ... @NMAX@).
    Backend: numpy float64, broadcasting.
    Reference: K. Stumpff, Himmelsmechanik I (1959); derivations.stumpff.
    """
    u = numpy.asarray(u, dtype=numpy.float64)
    neg = u < 0
    n_neg = numpy.count_nonzero(neg)
    if n_neg == 0:
        c0 = numpy.cos(numpy.sqrt(u))
    elif n_neg == u.size:
        c0 = numpy.cosh(numpy.sqrt(-u))
    else:
        c0 = numpy.where(neg, numpy.cosh(numpy.sqrt(numpy.maximum(-u, 0))),
                         numpy.cos(numpy.sqrt(numpy.maximum(u, 0))))
    if N == 0:
        return c0[..., None]
    x = u[..., None]
    T = _STUMPFF_T[:N]
    small = abs(x) < T
    every = numpy.count_nonzero(small) == small.size
    w = -x if every else numpy.maximum(numpy.minimum(-x, T), -T)    # = -clip(u, -T, T)
    K = _STUMPFF_DEPTH
    # powers w^1 ... w^(K-1) and the terms summed over a contiguous last axis (same order everywhere)
    powers = numpy.cumprod(w[..., None] * _STUMPFF_ONES, axis=-1)      # w * 1 = w exactly
    p = (powers * _STUMPFF_SERIES[:N, 1:K]).sum(axis=-1) + _STUMPFF_SERIES[:N, 0]
    if not every:
        closed = []
        if n_neg < u.size:          # u > 0: cos, sin
            v = numpy.maximum(x, T)
            sv = numpy.sqrt(v)
            f = numpy.empty_like(v)
            f[..., 0::2] = numpy.sin(sv[..., 0::2]) / sv[..., 0::2]    # odd n
            f[..., 1::2] = numpy.cos(sv[..., 1::2])                    # even n
            for i in range(1, N // 2 + 1):       # column n (index n - 1) takes step i when n >= 2 i
                j = 2 * i - 1
                f[..., j:] = (_STUMPFF_REC[i - 1, j:N] - f[..., j:]) / v[..., j:]
            closed.append(f)
        if n_neg:                   # u < 0: cosh, sinh
            v = numpy.maximum(-x, T)
            sv = numpy.sqrt(v)
            f = numpy.empty_like(v)
            f[..., 0::2] = numpy.sinh(sv[..., 0::2]) / sv[..., 0::2]
            f[..., 1::2] = numpy.cosh(sv[..., 1::2])
            for i in range(1, N // 2 + 1):
                j = 2 * i - 1
                f[..., j:] = (f[..., j:] - _STUMPFF_REC[i - 1, j:N]) / v[..., j:]
            closed.append(f)
        f = closed[0] if len(closed) == 1 else numpy.where(x > 0, closed[0], closed[1])
        p = numpy.where(small, p, f)
    return numpy.concatenate((c0[..., None], p), axis=-1)
'''


def stumpff_row_source() -> str:
    """Source of ``stumpff_row(u, N)`` (numpy), printed into ``coupled_beam/_kernels.py``.

    Numerics per column n: c_0 = cos sqrt(u) (cosh sqrt(-u) for u < 0); c_n,
    n >= 1, for abs(u) < T_n (:data:`THRESHOLDS`) the Taylor series of
    :func:`_series` as a sum of c_k w^k, w = -u, powers by a cumulative product
    and the terms added by one numpy reduction over a contiguous last axis (the
    same order for every point: values do not depend on the batch); above T_n
    the closed form from c_0, c_1 at v = max(abs(u), T_n) and the recurrence
    c_n = (1/(n-2)! - c_{n-2})/v (u > 0; u < 0: cosh, sinh, c_n = (c_{n-2} -
    1/(n-2)!)/v), evaluated only when some point needs it. Accuracy: < 3e-16
    relative away from the zeros of c_n (measured against mpmath, module doc).
    A row costs about one former single-c_n helper call (a dozen numpy calls).
    """
    table = _series_table()
    T = [float(THRESHOLDS[n]) for n in range(1, N_MAX + 1)]
    rows = ",\n    ".join("[" + ", ".join(repr(float(c)) for c in r) + "]" for r in table)
    depth = len(table[0])
    # step i of the recurrence (i = 1 ... N_MAX // 2) adds 1/(p + 2 i - 2)! in column n (p = n mod 2)
    rec = ",\n    ".join("[" + ", ".join(repr(1 / factorial(n % 2 + 2 * i - 2)) if n >= 2 * i else "0.0"
                                           for n in range(1, N_MAX + 1)) + "]"
                         for i in range(1, N_MAX // 2 + 1))
    return (_ROW_TEMPLATE.replace("@NMAX@", str(N_MAX)).replace("@ROWS@", rows)
            .replace("@T@", repr(T)).replace("@DEPTH@", repr(depth)).replace("@REC@", rec))
