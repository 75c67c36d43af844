"""numpy kernels for a user's lattice: derived, printed, checked against the numeric engine, cached.

:func:`lattice_kernels` returns a
:class:`~coupled_beam.generated_kernels.LatticeKernels` (functions of the
lattice's symbols, by position or name). Cold, it derives the closed forms of
:class:`~derivations.symbolic_lattice.SymbolicLattice`, prints them with
:func:`derivations.codegen.render_kernel` (sympy's NumPyPrinter, CSE), and
evaluates them at random points of the symbols' domain against the numeric
engine (:mod:`derivations.symbolic_lattice.check`). A kernel whose worst error
exceeds its tolerance is refused (:class:`~coupled_beam.errors.KernelCheckError`
with the counterexample); otherwise the module and its check report are
stored in the cache (:mod:`coupled_beam.generated_kernels`) under a hash of
the lattice, the observation point, the sympy version and :data:`ENGINE_VERSION`.
A later call loads the module without deriving anything.

Kernels (outputs):

=================  ==============================================================
``one_turn_map``   16 entries of N (undamped, row-major)
``stability_terms`` (a, b²): stable iff b² ≥ 0 and |a ± b| ≤ 2
``eigentunes``     (g_plus, g_minus) in [0, π], cos g± = (a ± b)/2, NaN if unstable
``mode_damping``   (omega_plus, omega_minus), first order per turn
``moments_far``    (<x²>, <xz>, <z²>, ε+, ε−, tilt), far from resonance (needs arc noise)
``dispersion``     (ξ, ξ', ζ, ζ') at the observation point (needs arc dispersion)
``coupling``       (Re C+, Im C+, Re C−, Im C−, ΔQmin), first order (needs thin couplers, an arc)
=================  ==============================================================
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass

import numpy as np
import sympy as sp

from coupled_beam import generated_kernels as gk
from coupled_beam.errors import InputError, KernelCheckError
from sympy.printing.numpy import NumPyPrinter

from derivations.codegen import BLOCKWISE

from derivations.symbolic_lattice.check import NumericLattice, sample_points
from derivations.symbolic_lattice.lattice import Chain, Stager

__all__ = ["ENGINE_VERSION", "OUTPUTS", "TOLERANCES", "StagedKernel", "kernel_specs", "render_staged", "kernel_source", "cache_key",
           "cross_check", "lattice_kernels"]

#: bump when the derivation or the printed module changes (invalidates caches)
ENGINE_VERSION = "2"

OUTPUTS = {
    "one_turn_map": tuple(f"N{i}{j}" for i in range(1, 5) for j in range(1, 5)),
    "stability_terms": ("a", "b2"),
    "eigentunes": ("g_plus", "g_minus"),
    "mode_damping": ("omega_plus", "omega_minus"),
    "moments_far": ("xx", "xz", "zz", "eps_plus", "eps_minus", "tilt"),
    "dispersion": ("xi", "xip", "zeta", "zetap"),
    "coupling": ("re_c_plus", "im_c_plus", "re_c_minus", "im_c_minus", "delta_qmin"),
}

#: kernel -> (tolerance, what the error is); each would fail for a 1 % error
TOLERANCES = {
    "one_turn_map": (1e-10, "max |kernel - numeric| / (1 + max |N|)"),
    "stability_terms": (1e-9, "|kernel - numeric| / (1 + |numeric|) of a and b² (eigenvalues)"),
    "eigentunes": (1e-7, "|g - angle of the numeric eigenvalue| (rad)"),
    "mode_damping": (1e-3, "|omega - (-log|lambda|)| / max(max omega, 1e-9) (first order: O(D s0) ~ 1e-6 here)"),
    "moments_far": (1e-3, "relative to the exact (10); far-from-resonance error O(omega/gap) ~ 1e-5 here"),
    "dispersion": (1e-8, "|kernel - solve(1 - N, n)| / (1e-12 + max |eta|)"),
}


def _has_noise(lattice) -> bool:
    return any(v != 0 for e in lattice.elements for v in e.noise())


def _has_dispersion(lattice) -> bool:
    return any(v != 0 for e in lattice.elements for v in e.dispersion_column())


def _has_coupling(lattice) -> bool:
    from derivations.symbolic_lattice import elements as el

    if not any(isinstance(e, el.Arc) for e in lattice.elements):
        return False
    try:
        return any(e.coupling_block() is not None for e in lattice.elements)
    except InputError:
        return False


@dataclass(frozen=True)
class StagedKernel:
    """One generated kernel, printed in stages (each with CSE).

    The first stage assigns the entries of the one-turn matrices (N, ∂N/∂ε,
    n, 𝓡) that the outputs use, as closed forms in the arguments; later
    stages compute the intermediate quantities of
    :class:`~derivations.symbolic_lattice.lattice.Chain` (a, b, ω±, the mode
    projectors) from them, and the outputs last. Substituting the stages into
    the outputs gives the closed forms (:meth:`closed_forms`).
    """

    name: str
    args: tuple
    groups: tuple
    exprs: tuple
    doc: str

    def closed_forms(self) -> tuple:
        """The outputs with every stage substituted (for checks)."""
        out = list(self.exprs)
        for group in reversed(self.groups):
            sub = dict(group)
            out = [sp.sympify(e).xreplace(sub) for e in out]
        return tuple(out)


def _tangent_half_angles(mats, stager: Stager):
    """Named rewrite for speed: sin θ = t h, cos θ = h − 1, t = tan(θ/2), h = 2/(1 + t²).

    One numpy tan (vectorized) per angle instead of a sin and a cos (scalar
    libm), and two products for the pair; exact for every real θ (at θ = π,
    float64 tan(π/2) = 1.6e16 keeps cos = −1 and sin ≈ 1e-16; h − 1 loses
    only absolute 1e-16 near cos θ = 0, as (1 − t²)/(1 + t²) does). The
    tangents are the first stage of the kernel.
    """
    angles = sorted({a.args[0] for M in mats for e in M for a in sp.sympify(e).atoms(sp.sin, sp.cos)},
                    key=sp.default_sort_key)
    if not angles:
        return mats
    rep, group = {}, []
    for k, th in enumerate(angles):
        t, h = sp.Symbol(f"_tan{k}", real=True), sp.Symbol(f"_h{k}", positive=True)
        group += [(t, sp.tan(th / 2)), (h, 2 / (1 + t**2))]
        rep[sp.sin(th)], rep[sp.cos(th)] = t * h, h - 1
    stager.groups.append(group)
    return tuple(M.xreplace(rep) for M in mats)


def _staged_turn(lattice, at: int, stager: Stager):
    """(N, ∂N/∂ε, n, 𝓡) as :meth:`SymbolicLattice._turn`, each partial product a stage.

    The kernel multiplies the element maps one after the other (exact zeros
    and ones of thin elements stay numbers), as the closed form does
    symbolically; the element maps' sines and cosines come from tangents.
    """
    n = len(lattice)
    order = [lattice.elements[k % n] for k in range(at % n, at % n + n)]
    parts = [(e.matrix(), e.damping_derivative(), e.dispersion_column(), e.noise()) for e in order]
    flat = tuple(M for p in parts for M in p)
    flat = _tangent_half_angles(flat, stager)
    parts = [flat[4 * k:4 * k + 4] for k in range(n)]
    # each element's entries (M and ∂M/∂ε, one CSE) once, then 2-term products; entries move to their
    # first use when printed (_just_in_time)
    N, dN, col, R = sp.eye(4), sp.zeros(4, 4), sp.zeros(4, 1), sp.zeros(4, 4)
    for k, (M, dM, c, r) in enumerate(parts):
        M, dM = stager.matrices([(f"M{k}_", M), (f"dM{k}_", dM)])
        dN = stager.matrix(f"dN{k}_", M * dN + dM * N)
        N = stager.matrix(f"N{k}_", M * N)
        col = stager.matrix(f"col{k}_", M * col + c)
        R = stager.matrix(f"R{k}_", M * R * M.T + r, symmetric=True)
    return N, dN, col, R


def kernel_specs(lattice, at: int = 0) -> list[StagedKernel]:
    """The kernels of ``lattice`` observed at boundary ``at`` (staged; CSE at printing)."""
    args = lattice.symbols
    lattice.require_symplectic()
    stager = Stager()
    chain = Chain(*_staged_turn(lattice, at, stager), stager=stager, block_form=True)

    def spec(name, exprs, doc):
        exprs = tuple(sp.sympify(e) for e in exprs)
        groups = tuple(tuple(g) for g in stager.needed(exprs))
        return StagedKernel(name, args, groups, exprs, doc)

    specs = [spec("one_turn_map", tuple(chain.N), "Undamped one-turn map N, row-major."),
             spec("stability_terms", chain.a_b2(),
                  "(a, b²): lambda + 1/lambda = a ± b; stable iff b² >= 0 and |a ± b| <= 2."),
             spec("eigentunes", chain.eigentunes(),
                  "(g_plus, g_minus), cos g± = (a ± b)/2, in [0, pi]; NaN if unstable."),
             spec("mode_damping", chain.mode_damping(), "First-order decrements (omega_plus, omega_minus) per turn.")]
    if _has_noise(lattice):
        xx, xz, zz = chain.moments()
        ep, em, _ = chain.emittances()
        specs.append(spec("moments_far", (xx, xz, zz, ep, em, sp.atan2(2 * xz, xx - zz) / 2),
                          "Far-from-resonance (<x²>, <xz>, <z²>, eps_plus, eps_minus, tilt)."))
    if _has_dispersion(lattice):
        specs.append(spec("dispersion", tuple(chain.dispersion()), "Closed orbit (xi, xi', zeta, zeta') per unit p."))
    if _has_coupling(lattice):
        c = lattice.coupling_coefficients(at)
        specs.append(spec("coupling", (*c, sp.sqrt(c[2] ** 2 + c[3] ** 2)),
                          "First-order (Re C+, Im C+, Re C-, Im C-, Delta Q_min = |C-|)."))
    for s in specs:
        lattice.budget.guard(s.exprs + tuple(v for g in s.groups for _, v in g), f"kernel {s.name}")
    return specs


class _Printer(NumPyPrinter):
    """NumPyPrinter printing x**-1 as 1/x (numpy's power with exponent -1.0 is ~10x slower than a division)."""

    def _print_Pow(self, expr, rational=False):
        if expr.exp == -1:
            return f"1/({self._print(expr.base)})"
        return super()._print_Pow(expr, rational=rational)


#: points per block of the blocked evaluation (temporaries stay in cache)
BLOCK = 8192


def render_staged(spec: StagedKernel) -> str:
    """Source of one staged kernel (sympy's NumPyPrinter; CSE within each stage).

    ``name(...)`` evaluates ``_name_block(...)`` in blocks of :data:`BLOCK`
    points through ``_blockwise`` (printed from :data:`derivations.codegen.BLOCKWISE`).
    """
    printer = _Printer({"fully_qualified_modules": True, "standard": "python3"})
    arglist = ", ".join(s.name for s in spec.args)
    lines = [f"def {spec.name}({arglist}):",
             f'    """{spec.doc}\n\n    Arguments: {arglist}.\n    Backend: numpy float64, broadcasting, '
             f'blocks of {BLOCK} points.\n'
             '    Reference: LNF-64/55 §5 chain for a user lattice (derivations.symbolic_lattice).\n    """',
             f"    return _blockwise(_{spec.name}_block, ({arglist}{',' if len(spec.args) == 1 else ''}), "
             f"{len(spec.exprs)}, None, {BLOCK})", "", "",
             f"def _{spec.name}_block({arglist}):"]
    names = sp.numbered_symbols("_x")
    body: list[tuple[str, sp.Expr]] = []        # (target, expression) in evaluation order
    leaves: set[str] = set()                     # tangents and element entries (and their CSE pieces)
    for group in spec.groups:
        reps, red = sp.cse([v for _, v in group], symbols=names, optimizations="basic")
        part = [(sym.name, e) for sym, e in reps] + [(k.name, e) for (k, _), e in zip(group, red)]
        if all(_ELEMENT_STAGE.match(k.name) for k, _ in group):
            leaves |= {t for t, _ in part}
        body += part
    reps, red = sp.cse(list(spec.exprs), symbols=names, optimizations="basic")
    body += [(sym.name, e) for sym, e in reps]
    lines += _freeing(_just_in_time(body, leaves), red, printer, {s.name for s in spec.args})
    outs = [f"numpy.broadcast_to({printer.doprint(e)}, _shape)" if not sp.sympify(e).free_symbols
            else printer.doprint(e) for e in red]
    if any(not sp.sympify(e).free_symbols for e in red):
        lines.append(f"    _shape = numpy.broadcast({arglist}{', 0.0' if len(spec.args) < 2 else ''}).shape")
    lines.append(f"    return ({', '.join(outs)},)")
    return "\n".join(lines) + "\n"


#: placeholders of the element stages (tangents, element entries), moved to their first use
_ELEMENT_STAGE = re.compile(r"_(tan|h|M|dM)\d")


def _just_in_time(body: list, leaf: set) -> list:
    """``body`` reordered: the ``leaf`` lines (tangents, element entries) just before their first use.

    The products and everything after them keep their order; an element's
    entries move down to the first product that needs them (after their own
    inputs), so they are not held in memory across the earlier products.
    Pure straight-line assignments: any order that respects the uses is the same code.
    """
    deps = {t: {s.name for s in sp.sympify(e).free_symbols} for t, e in body}
    line = dict(body)
    out, done = [], set()

    def emit(t):
        if t in done:
            return
        done.add(t)
        for d in sorted(deps[t] & leaf, key=order.__getitem__):
            emit(d)
        out.append((t, line[t]))

    order = {t: k for k, (t, _) in enumerate(body)}
    for t, _ in body:
        if t not in leaf:
            emit(t)
    for t, _ in body:                    # leaves no product uses (outputs of the inputs alone)
        emit(t)
    return out


def _freeing(body: list, outputs, printer, args: set) -> list[str]:
    """The assignment lines of ``body``, each intermediate deleted after its last use.

    Every temporary of a long kernel would otherwise stay alive until the
    block returns (hundreds of arrays of :data:`BLOCK` points, far more than
    the cache); freed at once, numpy reuses their memory while it is hot.
    Infrastructure only: the printed expressions are unchanged.
    """
    last: dict[str, int] = {}
    for k, (_, e) in enumerate(body):
        for s in sp.sympify(e).free_symbols:
            last[s.name] = k
    keep = {s.name for e in outputs for s in sp.sympify(e).free_symbols} | args
    dead: dict[int, list[str]] = {}
    for k, (target, _) in enumerate(body):
        if target not in keep:
            dead.setdefault(last.get(target, k), []).append(target)
    lines = []
    for k, (target, e) in enumerate(body):
        lines.append(f"    {target} = {printer.doprint(e)}")
        gone = sorted(n for n in dead.get(k, []) if n not in args)
        if gone:
            lines.append(f"    del {', '.join(gone)}")
    return lines


def cache_key(lattice, at: int = 0) -> str:
    """Hash of the lattice, the observation point, the sympy version and the engine version."""
    import hashlib

    text = f"{lattice.description()}\nat={at}\nsympy={sp.__version__}\nengine={ENGINE_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def kernel_source(lattice, specs: list, at: int, key: str) -> str:
    """The generated module: header, then each kernel printed by NumPyPrinter (CSE)."""
    desc = lattice.description().replace('"""', "'''")
    head = (f'"""GENERATED by derivations.symbolic_lattice.kernels (sympy {sp.__version__}, engine '
            f'{ENGINE_VERSION}) -- do not edit.\n\nCache key {key}; observation boundary {at}.\n'
            f"Arguments of every kernel: {', '.join(s.name for s in lattice.symbols)}.\n\n"
            f"Lattice:\n{desc}\n\"\"\"\n\nimport numpy\n" + BLOCKWISE)
    body = [render_staged(s) for s in specs]
    return head + "\n\n" + "\n\n".join(body)


# ------------------------------------------------------------------ check
def _numeric_reference(lattice, values: dict, at: int) -> dict | None:
    """Reference quantities at one point, or None if the point is unstable or near a resonance."""
    from coupled_beam import equilibrium_moments

    nl = NumericLattice(lattice, values)
    N, Nd, col, R = nl.turn(at)
    ev = np.linalg.eigvals(N)
    if np.max(np.abs(ev)) > 1 + 1e-9:
        return None
    g = np.sort(np.abs(np.angle(ev)))        # pairs ±g
    g_plus, g_minus = g[0], g[2]
    if min(g_plus, np.pi - g_minus, g_minus - g_plus, abs(g_plus + g_minus - np.pi) + 1) < 0.05:
        return None
    evd = np.linalg.eigvals(Nd)
    om = []
    for gk_ in (g_plus, g_minus):
        k = np.argmin(np.abs(np.abs(np.angle(evd)) - gk_))
        om.append(-np.log(abs(evd[k])))
    ref = {"N": N, "g": (g_plus, g_minus), "a": np.trace(N) / 2,
           "b2": (np.cos(g_plus) - np.cos(g_minus)) ** 2, "omega": tuple(om)}
    if np.any(R):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            S = equilibrium_moments(Nd, R)
        J = np.kron(np.eye(2), np.array([[0.0, 1.0], [-1.0, 0.0]]))
        eps = np.sort(np.abs(np.linalg.eigvals(S @ J).imag))[::2]
        ref["moments"] = (S[0, 0], S[0, 2], S[2, 2])
        ref["eps"] = tuple(np.sort(eps))
        ref["tilt"] = 0.5 * np.arctan2(2 * S[0, 2], S[0, 0] - S[2, 2])
    if np.any(col):
        ref["eta"] = np.linalg.solve(np.eye(4) - N, col)
    return ref


def _errors(name: str, out: tuple, ref: dict) -> dict:
    """Output name -> error of the kernel at one point (as in :data:`TOLERANCES`)."""
    out = [float(np.asarray(o)) for o in out]
    if name == "one_turn_map":
        return {"N": float(np.max(np.abs(np.array(out).reshape(4, 4) - ref["N"])) / (1 + np.max(np.abs(ref["N"]))))}
    if name == "stability_terms":
        return {"a": abs(out[0] - ref["a"]) / (1 + abs(ref["a"])),
                "b2": abs(out[1] - ref["b2"]) / (1 + abs(ref["b2"]))}
    if name == "eigentunes":
        return {"g_plus": abs(out[0] - ref["g"][0]), "g_minus": abs(out[1] - ref["g"][1])}
    if name == "mode_damping":
        scale = max(max(abs(x) for x in ref["omega"]), 1e-9)   # undamped: |omega| ~ 1e-16 is noise
        return {"omega_plus": abs(out[0] - ref["omega"][0]) / scale,
                "omega_minus": abs(out[1] - ref["omega"][1]) / scale}
    if name == "moments_far":
        xx, xz, zz = ref["moments"]
        floor = 1e-6 * (abs(xx) + abs(zz)) or 1e-300
        errs = {k: abs(o - r) / max(abs(r), floor) for k, o, r in zip(("xx", "xz", "zz"), out[:3], (xx, xz, zz))}
        eps_k = sorted(out[3:5])
        for k, o, r in zip(("eps_small", "eps_large"), eps_k, ref["eps"]):
            errs[k] = abs(o - r) / max(abs(r), 1e-6 * max(ref["eps"]) or 1e-300)
        errs["tilt"] = abs(out[5] - ref["tilt"]) / max(abs(ref["tilt"]), 1e-3)
        return errs
    if name == "dispersion":
        scale = 1e-12 + float(np.max(np.abs(ref["eta"])))
        return {"eta": float(np.max(np.abs(np.array(out) - ref["eta"]))) / scale}
    return {}


def cross_check(lattice, module, specs: list, at: int = 0, points: int = 16,
                seed: int = 1964) -> dict:
    """Evaluate every kernel at random points against the numeric engine; the report.

    Raises
    ------
    KernelCheckError
        A kernel's error exceeds its tolerance (message and ``point`` give the counterexample).
    InputError
        Too few stable points far from resonance in the symbols' domain.
    """
    draw = sample_points(lattice, 40 * points, seed)
    names = [s.name for s in lattice.symbols]
    used = []
    worst: dict = {}
    for k in range(40 * points):
        if len(used) >= points:
            break
        values = {n: float(draw[n][k]) for n in names}
        ref = _numeric_reference(lattice, values, at)
        if ref is None:
            continue
        used.append(values)
        for s in specs:
            if s.name not in TOLERANCES or (s.name == "moments_far" and "moments" not in ref) \
                    or (s.name == "dispersion" and "eta" not in ref):
                continue
            with np.errstate(all="ignore"):
                out = getattr(module, s.name)(*[values[n] for n in names])
            tol, what = TOLERANCES[s.name]
            for q, err in _errors(s.name, out, ref).items():
                prev = worst.get(s.name, {"error": -1.0})
                if not np.isfinite(err) or err > prev["error"]:
                    worst[s.name] = {"error": float(err), "output": q, "tolerance": tol, "measure": what,
                                     "point": values}
                if not np.isfinite(err) or err > tol:
                    pt = ", ".join(f"{n}={v:.17g}" for n, v in values.items())
                    raise KernelCheckError(
                        f"generated kernel {s.name} ({q}) disagrees with the numeric engine at {pt}: "
                        f"error {err:.3g} > tolerance {tol:g} ({what}); the kernel is refused. Narrow the "
                        "symbols' domains away from resonances, or report the lattice", kernel=s.name,
                        output=q, point=values, error=float(err), tolerance=tol)
    if len(used) < max(1, points // 2):
        raise InputError(f"only {len(used)} of {40 * points} random points of the symbols' domain are stable "
                         "and away from resonances: declare narrower intervals (e.g. 'assume 0.3<mu_x<2.8')")
    for s in specs:
        worst.setdefault(s.name, {"error": None, "measure": "not checked: first order, no numeric "
                                  "counterpart at random points (tests compare with exact eigentunes)"}
                         if s.name not in TOLERANCES else {"error": None, "measure": "not applicable"})
        worst[s.name]["points"] = len(used)
    return worst


def lattice_kernels(lattice, at: int = 0, *, cache=None, use_cache: bool = True, points: int = 16,
                    seed: int = 1964):
    """Checked numpy kernels of ``lattice`` at boundary ``at``, from the cache when present.

    Parameters
    ----------
    lattice : SymbolicLattice
    at : int
        Observation boundary (entrance of element ``at``).
    cache : path, optional
        Cache base folder (default :func:`coupled_beam.generated_kernels.cache_dir`).
    use_cache : bool
        Read an existing entry (a new one is always written).
    points, seed : int
        Random points of the cross-check and their seed.

    Returns
    -------
    coupled_beam.generated_kernels.LatticeKernels
        With ``report`` (worst error per kernel), ``timings`` and ``from_cache``.

    Raises
    ------
    KernelCheckError, InputError, BudgetExceededError
    """
    t0 = time.perf_counter()
    key = cache_key(lattice, at)
    if use_cache:
        found = gk.load(key, cache)
        if found is not None:
            found.timings = {"load_s": time.perf_counter() - t0}
            return found
    specs = kernel_specs(lattice, at)
    t1 = time.perf_counter()
    source = kernel_source(lattice, specs, at, key)
    t2 = time.perf_counter()
    namespace: dict = {}
    exec(compile(source, f"<kernels {key}>", "exec"), namespace)  # checked before it is stored
    module = type("M", (), {s.name: staticmethod(namespace[s.name]) for s in specs})
    report = cross_check(lattice, module, specs, at, points, seed)
    t3 = time.perf_counter()
    meta = {"symbols": [s.name for s in lattice.symbols], "kernels": [s.name for s in specs],
            "outputs": {s.name: list(OUTPUTS[s.name]) for s in specs}, "report": report,
            "lattice": lattice.description(), "at": at, "sympy": sp.__version__,
            "engine": ENGINE_VERSION}
    out = gk.store(key, source, meta, cache)
    out.timings = {"derive_s": t1 - t0, "print_s": t2 - t1, "check_s": t3 - t2,
                   "total_s": time.perf_counter() - t0}
    return out
