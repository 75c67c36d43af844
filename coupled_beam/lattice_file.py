"""Lattice files: a small text format (one element per line) or JSON.

Text format
-----------
One statement per line; ``#`` starts a comment; blank lines are ignored::

    # optional ring settings: p2 = <p^2> (when energy is absent), energy in GeV
    ring energy=0.51
    repeat 8                      # blocks may nest; 'end' closes a block
      quadrupole L=0.3 k1=1.0
      drift      L=0.4
      bend       L=2.0 K=0.19635 n=0
      drift      L=0.4
    end
    thin_skew  m=0.02
    solenoid   L=0.5 H=0.1 D11=1e-6 D22=1e-6 phi22=1e-14

Element types and their fields (lengths in m; see :mod:`coupled_beam.lattice`):

=============  ==================================  ============================
type           required                            optional
=============  ==================================  ============================
``drift``      ``L``                               damping, noise, ``name``
``bend``       ``L``, ``K``                        ``n``
``quadrupole`` ``L``, ``k1``
``sextupole``  ``L``, ``k2``                       ``k2s`` (1/m^3, MAD-X K2, K2S)
``skew``       ``L``, ``M``
``thin_skew``  ``m``                               ``name`` only
``solenoid``   ``L``, ``H``
``generic``    ``L``, ``K11``, ``K22``             ``K12``, ``K21``, ``b1`` ... ``b4``
``rfcavity``   ``voltage`` (V), one of             ``L`` (default 0: thin),
               ``frequency`` (Hz), ``harmonic``    ``phase`` (rad; default the
                                                   synchronous phase from the
                                                   energy loss), ``name`` only
=============  ==================================  ============================

A ``sextupole`` is a drift on the design orbit (the paper's linear model); the
6-D equilibrium adds its feed-down K2 x0 at the energy-sawtooth orbit.

An ``rfcavity`` is what the 6-D equilibrium (``Ring.equilibrium(model="6d")``,
``coupled-beam equilibrium FILE --model 6d``) needs besides ``ring energy=``;
the paper's 4-D model sees it as a drift of length ``L``::

    ring energy=1.0
    rfcavity voltage=3e5 harmonic=50          # JSON: {"type": "rfcavity", "voltage": 3e5, "harmonic": 50}

Exactly one of ``frequency`` and ``harmonic`` (both, or neither, is an error
naming the line); a given ``phase`` must restore the energy loss on the stable
side of transition, else the 6-D equilibrium raises
:class:`~coupled_beam.errors.RFError` with the numbers.

Damping ``D11 D12 D21 D22`` (1/m) and noise ``phiIJ`` (per m, 1 <= I <= J <= 4,
e.g. ``phi22 phi24 phi44``; phi_hat is symmetric) may be given on any thick
element. JSON: a list of objects ``{"type": "bend", "L": 2.0, "K": 0.19}``,
or ``{"ring": {"p2": 1e-6}, "elements": [...]}`` (no ``repeat``).

Strict reading: a second ``ring`` line, a field or JSON key given twice, an
unknown JSON key (top level: only ``ring`` and ``elements``), and a JSON value
that is not a number where a number is expected (``true``, ``"2"``, ``null``)
are errors, never silently resolved. Files are read up to
:data:`MAX_FILE_BYTES` and must be UTF-8 text (no NUL bytes); JSON nesting is
limited to :data:`MAX_JSON_DEPTH`.

Errors: :class:`~coupled_beam.errors.LatticeFileError` names the line (text)
or element index (JSON) and the field; an unknown type raises
:class:`~coupled_beam.errors.UnknownElementError`.

Examples
--------
>>> ring = parse_lattice("ring p2=1e-6\\nrepeat 4\\n bend L=1 K=0.5 n=0.5\\nend")
>>> len(ring), ring.p2
(4, 1e-06)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from coupled_beam import lattice as lat
from coupled_beam.errors import InputError, LatticeFileError, UnknownElementError

__all__ = ["ELEMENT_FIELDS", "MAX_FILE_BYTES", "MAX_JSON_DEPTH", "parse_lattice", "read_lattice",
           "example_lattice_path"]

_COMMON = {"D11", "D12", "D21", "D22", "name"} | {
    f"phi{i}{j}" for i in range(1, 5) for j in range(i, 5)}

#: type -> (required fields, optional fields besides damping/noise/name)
ELEMENT_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "drift": (("L",), ()),
    "bend": (("L", "K"), ("n",)),
    "quadrupole": (("L", "k1"), ()),
    "sextupole": (("L", "k2"), ("k2s",)),
    "skew": (("L", "M"), ()),
    "thin_skew": (("m",), ()),
    "solenoid": (("L", "H"), ()),
    "generic": (("L", "K11", "K22"), ("K12", "K21", "b1", "b2", "b3", "b4")),
    "rfcavity": (("voltage",), ("L", "frequency", "harmonic", "phase")),
}

#: kinds that take no damping/noise fields (only ``name`` besides their own)
_BARE = ("thin_skew", "rfcavity")

_RING_FIELDS = ("p2", "energy")

#: more elements than this after expanding 'repeat' is an error, not a MemoryError or minutes of
#: work: 5e5 elements took 39 s and 1.0 GB in `coupled-beam equilibrium` (loaded 2-core machine),
#: so 2e5 (a thin-sliced large collider) stays within about 15 s and 0.4 GB
_MAX_ELEMENTS = 2 * 10**5

#: a lattice file larger than this (bytes) is refused before it is parsed (``max_bytes=`` raises it)
MAX_FILE_BYTES = 64 * 2**20

#: deepest JSON nesting accepted (a lattice needs 3: object, list, element)
MAX_JSON_DEPTH = 32


def _number(value, where: str, field: str, *, strict: bool = False) -> float:
    """A finite float; ``strict`` (JSON): only JSON numbers, not true/false, strings or null."""
    if strict and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise LatticeFileError(f"{where}: field {field!r} must be a JSON number, got "
                               f"{json.dumps(value)[:60]} ({_json_type(value)}); write e.g. {field!r}: 2.0",
                               field=field)
    try:
        out = float(value)
    except OverflowError:
        raise LatticeFileError(f"{where}: field {field!r} = {str(value)[:30]}... is beyond the float range "
                               "(about 1.8e308); check the units", field=field) from None
    except (TypeError, ValueError):
        raise LatticeFileError(f"{where}: field {field!r} must be a number, got {str(value)[:60]!r}",
                               field=field) from None
    if not np.isfinite(out):
        raise LatticeFileError(f"{where}: field {field!r} must be finite, got {str(value)[:60]!r}",
                               field=field)
    return out


def _json_type(value) -> str:
    return {bool: "a boolean", str: "a string", type(None): "null", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _build(kind: str, fields: dict, where: str, *, strict: bool = False) -> lat.Element:
    if kind not in ELEMENT_FIELDS:
        raise UnknownElementError(
            f"{where}: unknown element type {kind!r}; known: {', '.join(ELEMENT_FIELDS)}",
            field="type", value=kind)
    required, optional = ELEMENT_FIELDS[kind]
    allowed = set(required) | set(optional) | (_COMMON if kind not in _BARE else {"name"})
    for key in fields:
        if key not in allowed:
            raise LatticeFileError(f"{where}: field {key!r} is not valid for {kind}; "
                                   f"valid: {', '.join(sorted(allowed))}", field=key)
    for key in required:
        if key not in fields:
            raise LatticeFileError(f"{where}: {kind} needs field {key!r}", field=key)
    if kind == "rfcavity" and ("frequency" in fields) == ("harmonic" in fields):
        raise LatticeFileError(f"{where}: rfcavity needs exactly one of 'frequency' (Hz) and 'harmonic' "
                               f"(number), got {'both' if 'frequency' in fields else 'neither'}; "
                               "e.g. rfcavity voltage=1e6 harmonic=400", field="frequency")
    name = fields.get("name")
    if strict and name is not None and not isinstance(name, str):
        raise LatticeFileError(f"{where}: field 'name' must be a JSON string, got {_json_type(name)}",
                               field="name")
    num = {k: _number(v, where, k, strict=strict) for k, v in fields.items() if k != "name"}
    kw: dict = {"name": None if name is None else str(name)}
    if kind not in _BARE:
        D = np.array([[num.get("D11", 0.0), num.get("D12", 0.0)],
                      [num.get("D21", 0.0), num.get("D22", 0.0)]])
        phi = np.zeros((4, 4))
        for i in range(1, 5):
            for j in range(i, 5):
                phi[i - 1, j - 1] = phi[j - 1, i - 1] = num.get(f"phi{i}{j}", 0.0)
        kw.update(D=D, phi_hat=phi)
    try:
        if kind == "drift":
            return lat.Drift(num["L"], **kw)
        if kind == "bend":
            return lat.Bend(num["L"], K=num["K"], n=num.get("n", 0.0), **kw)
        if kind == "quadrupole":
            return lat.Quadrupole(num["L"], num["k1"], **kw)
        if kind == "sextupole":
            return lat.Sextupole(num["L"], k2=num["k2"], k2s=num.get("k2s", 0.0), **kw)
        if kind == "skew":
            return lat.SkewQuadrupole(num["L"], M=num["M"], **kw)
        if kind == "thin_skew":
            return lat.ThinSkewQuadrupole(num["m"], **kw)
        if kind == "solenoid":
            return lat.Solenoid(num["L"], num["H"], **kw)
        if kind == "rfcavity":
            return lat.RFCavity(num.get("L", 0.0), voltage=num["voltage"], frequency=num.get("frequency"),
                                harmonic=num.get("harmonic"), phase=num.get("phase"), **kw)
        K = [[num["K11"], num.get("K12", 0.0)], [num.get("K21", 0.0), num["K22"]]]
        b = [num.get(f"b{i}", 0.0) for i in range(1, 5)]
        return lat.Generic(num["L"], K, b=b, **kw)
    except InputError as exc:
        raise LatticeFileError(f"{where}: {exc}", field=getattr(exc, "field", None)) from None


def _split_fields(tokens: list[str], where: str) -> dict:
    fields = {}
    for tok in tokens:
        if "=" not in tok:
            raise LatticeFileError(f"{where}: expected key=value, got {tok!r}", field=tok)
        key, _, value = tok.partition("=")
        if not key or not value:
            raise LatticeFileError(f"{where}: expected key=value, got {tok!r}", field=key or tok)
        if key in fields:
            raise LatticeFileError(f"{where}: field {key!r} given twice", field=key)
        fields[key] = value
    return fields


def _parse_text(text: str) -> tuple[list[lat.Element], dict]:
    stack: list[tuple[int, list, int]] = []     # (count, elements, line of 'repeat')
    current: list[lat.Element] = []
    settings: dict = {}
    ring_line = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"line {lineno}"
        tokens = line.replace(" =", "=").replace("= ", "=").split()
        head, rest = tokens[0].lower(), tokens[1:]
        if head == "repeat":
            if len(rest) != 1 or not rest[0].isdigit() or int(rest[0]) < 1:
                raise LatticeFileError(f"{where}: 'repeat N' needs a positive integer N, "
                                       f"got {' '.join(rest)!r}", line=lineno, field="repeat")
            stack.append((int(rest[0]), current, lineno))
            current = []
        elif head == "end":
            if not stack:
                raise LatticeFileError(f"{where}: 'end' without 'repeat'", line=lineno,
                                       field="end")
            count, outer, start = stack.pop()
            if len(outer) + len(current) * count > _MAX_ELEMENTS:
                raise LatticeFileError(f"line {start}: 'repeat {count}' expands to {len(current) * count} "
                                       f"elements, more than {_MAX_ELEMENTS}; use fewer repeats",
                                       line=start, field="repeat")
            outer.extend(current * count)
            current = outer
        elif head == "ring":
            if ring_line:
                raise LatticeFileError(f"{where}: a second 'ring' line (the first is line {ring_line}); "
                                       "give the ring settings once", line=lineno, field="ring")
            ring_line = lineno
            try:
                fields = _split_fields(rest, where)
            except LatticeFileError as exc:
                raise LatticeFileError(str(exc), line=lineno, field=exc.field) from None
            for key, value in fields.items():
                if key not in _RING_FIELDS:
                    raise LatticeFileError(f"{where}: ring setting {key!r} unknown; valid: "
                                           f"{', '.join(_RING_FIELDS)}", line=lineno, field=key)
                settings[key] = _number(value, where, key)
        else:
            try:
                current.append(_build(head, _split_fields(rest, where), where))
            except LatticeFileError as exc:
                cls = type(exc)
                raise cls(str(exc), line=lineno, **{k: v for k, v in exc.details.items()
                                                     if k != "line"}) from None
    if stack:
        raise LatticeFileError(f"line {stack[-1][2]}: 'repeat' is never closed by 'end'",
                               line=stack[-1][2], field="repeat")
    return current, settings


_TOP_KEYS = ("ring", "elements")


class _JSONObject(dict):
    """A JSON object that remembers the keys given more than once (json keeps the last)."""

    duplicates: tuple = ()


def _pairs(pairs: list) -> _JSONObject:
    obj = _JSONObject(pairs)
    if len(obj) != len(pairs):
        seen: set = set()
        obj.duplicates = tuple(k for k, _ in pairs if k in seen or seen.add(k))
    return obj


def _no_duplicates(obj, where: str, **details) -> None:
    dup = getattr(obj, "duplicates", ())
    if dup:
        raise LatticeFileError(f"{where}: key {dup[0]!r} given twice in one JSON object; give each key once",
                               field=dup[0], **details)


def _parse_json(data) -> tuple[list[lat.Element], dict]:
    settings: dict = {}
    if isinstance(data, dict):
        _no_duplicates(data, "top level")
        unknown = [k for k in data if k not in _TOP_KEYS]
        if unknown:
            hint = " (JSON has no 'repeat': list the elements)" if "repeat" in unknown else ""
            raise LatticeFileError(f"top level: unknown key {unknown[0]!r}{hint}; valid keys: "
                                   f"{', '.join(_TOP_KEYS)}", field=unknown[0])
        ring = data.get("ring", {})
        if not isinstance(ring, dict):
            raise LatticeFileError(f"'ring' must be an object, got {_json_type(ring)}", field="ring")
        _no_duplicates(ring, "ring")
        for key, value in ring.items():
            if key not in _RING_FIELDS:
                raise LatticeFileError(f"ring setting {key!r} unknown; valid: {', '.join(_RING_FIELDS)}",
                                       field=key)
            settings[key] = _number(value, "ring", key, strict=True)
        if "elements" not in data:
            raise LatticeFileError("top level: the key 'elements' (a list of elements) is missing",
                                   field="elements")
        data = data["elements"]
    if not isinstance(data, list):
        raise LatticeFileError(f"JSON lattice must be a list of elements or {{'elements': [...]}}, "
                               f"got {_json_type(data)}", field="elements")
    if len(data) > _MAX_ELEMENTS:
        raise LatticeFileError(f"{len(data)} elements, more than {_MAX_ELEMENTS}", field="elements")
    elements = []
    for i, item in enumerate(data):
        where = f"element {i}"
        if not isinstance(item, dict) or "type" not in item:
            raise LatticeFileError(f"{where}: needs an object with a 'type', got {_json_type(item)}",
                                   field="type", index=i)
        _no_duplicates(item, where, index=i)
        if not isinstance(item["type"], str):
            raise LatticeFileError(f"{where}: 'type' must be a string such as \"drift\", got "
                                   f"{_json_type(item['type'])}", field="type", index=i)
        fields = {k: v for k, v in item.items() if k != "type"}
        try:
            elements.append(_build(item["type"].lower(), fields, where, strict=True))
        except LatticeFileError as exc:
            raise type(exc)(str(exc), index=i, **{k: v for k, v in exc.details.items() if k != "index"}) from None
    return elements, settings


def _json_depth_ok(text: str, limit: int) -> bool:
    """True unless brackets outside strings nest deeper than ``limit`` (one regex pass, no recursion)."""
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = 0
    for tok in _JSON_TOKENS.finditer(text):
        ch = tok.group()
        if ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


#: a JSON string (skipped whole) or one bracket
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def parse_lattice(text: str) -> lat.Ring:
    """A :class:`~coupled_beam.lattice.Ring` from lattice text (text format or JSON).

    Parameters
    ----------
    text : str
        File content; JSON when it starts with ``[`` or ``{``.

    Returns
    -------
    coupled_beam.lattice.Ring

    Raises
    ------
    LatticeFileError
        Malformed content (``line``/``field`` attributes name the place).
    UnknownElementError
        An unknown element type.

    Examples
    --------
    >>> ring = parse_lattice('[{"type": "drift", "L": 1.0}, {"type": "thin_skew", "m": 0.1}]')
    >>> [el.kind for el in ring.elements]
    ['drift', 'thin_skew']
    """
    if not isinstance(text, str):
        raise LatticeFileError(f"lattice text must be a str, got {type(text).__name__}; to read a file "
                               "use read_lattice(path)", field="text")
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        if not _json_depth_ok(stripped, MAX_JSON_DEPTH):
            raise LatticeFileError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels: a lattice is a list "
                                   "of flat objects", field="json")
        try:
            data = json.loads(text, object_pairs_hook=_pairs)
        except json.JSONDecodeError as exc:
            raise LatticeFileError(f"line {exc.lineno}: invalid JSON: {exc.msg}",
                                   line=exc.lineno, field="json") from None
        except RecursionError:   # pragma: no cover - the depth check comes first
            raise LatticeFileError("JSON nested too deeply", field="json") from None
        except ValueError as exc:   # e.g. an integer literal longer than Python's int digit limit
            raise LatticeFileError(f"invalid JSON: {exc}", field="json") from None
        elements, settings = _parse_json(data)
    else:
        elements, settings = _parse_text(text)
    if not elements:
        raise LatticeFileError("the lattice has no elements", field="elements")
    try:
        return lat.Ring(elements, energy=settings.get("energy"), p2=settings.get("p2"))
    except InputError as exc:
        raise LatticeFileError(f"ring: {exc}", field=getattr(exc, "field", "ring")) from None


def read_lattice(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> lat.Ring:
    """Read a lattice file (text format or JSON) into a Ring.

    Parameters
    ----------
    path : str or Path
    max_bytes : int
        Larger files are refused unread (:data:`MAX_FILE_BYTES`, 64 MiB): a
        device such as ``/dev/zero`` or a wrong file never fills the memory.

    Returns
    -------
    coupled_beam.lattice.Ring

    Examples
    --------
    >>> ring = read_lattice(example_lattice_path())
    >>> ring.energy
    0.51

    Raises
    ------
    LatticeFileError
        The file cannot be read (missing, a directory, not text, larger than
        ``max_bytes``) or is malformed.
    """
    if not isinstance(path, (str, Path)) or isinstance(path, str) and not path:
        raise LatticeFileError(f"the lattice path must be a file name (str or Path), got {path!r}",
                               field="path", path=repr(path))
    hint = "give the path of a text or JSON lattice file"
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except (OSError, ValueError) as exc:   # ValueError: a NUL in the path
        raise LatticeFileError(f"cannot read lattice file {str(path)!r}: {exc.__class__.__name__}: "
                               f"{getattr(exc, 'strerror', None) or exc}; {hint}", path=str(path)) from None
    if len(raw) > max_bytes:
        raise LatticeFileError(f"lattice file {str(path)!r} is larger than {max_bytes} bytes (not a lattice?); "
                               f"{hint}, or pass max_bytes= to read a larger one", path=str(path),
                               field="size", value=max_bytes)
    nul = raw.find(b"\0")
    if nul >= 0:
        raise LatticeFileError(f"lattice file {str(path)!r} is not text (a NUL byte at offset {nul}); {hint}",
                               path=str(path), field="encoding")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LatticeFileError(f"lattice file {str(path)!r} is not UTF-8 text (byte {raw[exc.start]:#04x} at "
                               f"offset {exc.start}); {hint}", path=str(path), field="encoding") from None
    if Path(path).suffix.lower() in (".madx", ".seq"):   # MAD-X through cpymad (extra 'madx')
        from coupled_beam.interop.madx import read_madx

        return read_madx(path)
    return parse_lattice(text)


def example_lattice_path() -> Path:
    """Path of the example lattice shipped in ``coupled_beam/data``.

    Examples
    --------
    >>> example_lattice_path().name
    'example_ring.lat'
    """
    return Path(__file__).resolve().parent / "data" / "example_ring.lat"
