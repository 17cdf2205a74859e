"""``format(fmt, ...)`` (DuckDB's ``{}`` placeholders) and ``printf(fmt, ...)`` (C's ``%s``,
``%d``, ``%f`` with width, precision and the ``-`` / ``0`` flags): the constant format cut
into text pieces and arguments, joined as ``||`` joins them (a NULL argument makes NULL)."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BindError, NotSupportedError
from ..expr import Expr, Lit, call, cast
from ..types import sql_name
from .registry import SCALAR, Function, constant, register
from .strings import concat, to_string
from .udf import udf

_BRACES = re.compile(r"\{\{|\}\}|\{(\d*)(:[^}]*)?\}")
# a placeholder's spec as fmt reads it, in part: fill and alignment, width, fixed decimals
_FMT_SPEC = re.compile(r":(?:(?P<fill>[^{}])?(?P<align>[<>^]))?(?P<zero>0)?(?P<width>\d+)?"
                       r"(?:\.(?P<digits>\d+)f)?")
_ALIGN = {"<": "utf8_rpad", ">": "utf8_lpad", "^": "utf8_center"}
# a directive: flags, width (or * for the next argument), precision, conversion; a '%'
# followed by anything else is matched too, so that it is refused rather than printed
_PERCENT = re.compile(r"%%|%([-0+ #]*)(\*|\d*)(?:\.(\d+))?([a-zA-Z]?)")


def _format(args: list[Expr]) -> Expr:
    """``format('{} is {1}', a, b)``: ``{}`` the next argument, ``{n}`` the n-th (from 0),
    ``{{`` / ``}}`` a brace."""
    fmt = str(constant(args[0], "format string"))
    values, pieces, at, auto = args[1:], [], 0, 0
    for m in _BRACES.finditer(fmt):
        pieces.append(Lit(fmt[at:m.start()], pa.string()))
        at = m.end()
        if m.group() in ("{{", "}}"):
            pieces.append(Lit(m.group()[0], pa.string()))
            continue
        n = int(m.group(1)) if m.group(1) else auto
        auto = auto + 1 if not m.group(1) else auto
        if n >= len(values):
            raise BindError(f"format string {fmt!r} needs argument {n + 1}, "
                            f"{len(values)} given")
        pieces.append(_placeholder(values[n], m.group(2) or "", m.group()))
    pieces.append(Lit(fmt[at:], pa.string()))
    return concat(pieces, skip_nulls=False)


def _fixed(v: Expr, digits: int) -> Expr:
    """A number as text with ``digits`` decimals, a tie to the even digit (as C's printf
    and fmt round the value they are given)."""
    rounded = call("round", [v], pc.RoundOptions(digits, "half_to_even"))
    return cast(cast(rounded, pa.decimal128(38, digits)), pa.string())


def _placeholder(v: Expr, spec: str, whole: str) -> Expr:
    """One ``{...}`` with its spec (``{:.2f}``, ``{:>8}``, ``{:*^9}``, ``{:05}``)."""
    m = _FMT_SPEC.fullmatch(spec) if spec else None
    if spec and m is None:
        raise NotSupportedError(f"format spec {whole} is not supported ({{:[fill]<|>|^}}, "
                                "a width, .Nf)")
    if m is None:
        return to_string(v)
    if m["digits"] is not None:
        if not (pa.types.is_integer(v.type) or pa.types.is_floating(v.type)
                or pa.types.is_decimal(v.type)):
            raise BindError(f"format {whole} needs a number, not {sql_name(v.type)}")
        text = _fixed(v, int(m["digits"]))
    else:
        text = to_string(v)
    if not m["width"]:
        return text
    numeric = not pa.types.is_string(v.type)
    fill = m["fill"] or ("0" if m["zero"] and not m["align"] else " ")
    align = m["align"] or (">" if numeric or m["zero"] else "<")
    return call(_ALIGN[align], [text], pc.PadOptions(int(m["width"]), fill))


def _printf(args: list[Expr]) -> Expr:
    """``printf('%s: %5.2f', a, b)``: %s text, %d / %i integers, %f fixed decimals."""
    fmt = str(constant(args[0], "printf format"))
    values, pieces, at, k = args[1:], [], 0, 0
    for m in _PERCENT.finditer(fmt):
        pieces.append(Lit(fmt[at:m.start()], pa.string()))
        at = m.end()
        if m.group() == "%%":
            pieces.append(Lit("%", pa.string()))
            continue
        flags, width, precision, kind = m.groups()
        if kind not in ("s", "d", "i", "f") or flags.strip("-0"):
            raise NotSupportedError(f"printf {m.group()!r} is not supported (%s, %d, %i, "
                                    "%f with - or 0, a width and a precision)")
        if width == "*":  # the width is the next argument (a constant)
            width, k = str(_star_width(_argument(values, k, fmt))), k + 1
        pieces.append(_spec(_argument(values, k, fmt), flags, width, precision, kind))
        k += 1
    pieces.append(Lit(fmt[at:], pa.string()))
    return concat(pieces, skip_nulls=False)


def _argument(values: list[Expr], k: int, fmt: str) -> Expr:
    """printf's argument ``k`` (from 0, after the format), which ``fmt`` needs."""
    if k >= len(values):
        raise BindError(f"printf format {fmt!r} needs more than {len(values)} arguments")
    return values[k]


def _star_width(arg: Expr) -> int:
    """The width ``%*d`` reads from its argument: a constant, not negative."""
    width = constant(arg, "printf width (*)")
    if not isinstance(width, int) or isinstance(width, bool) or width < 0:
        raise BindError(f"printf width (*) must be a whole number from 0, not {width!r}")
    return width


def _spec(v: Expr, flags: str, width: str, precision: str | None, kind: str) -> Expr:
    """One ``%...`` directive applied to ``v``."""
    if kind == "s":
        text = to_string(v)
    elif kind in "di":
        if not pa.types.is_integer(v.type):
            raise BindError(f"printf %{kind} needs an integer, not {sql_name(v.type)}")
        text = cast(v, pa.string())
    else:  # f
        text = _fixed(v, int(precision) if precision is not None else 6)
    if width:
        pad = "0" if "0" in flags and "-" not in flags and kind != "s" else " "
        fn = "utf8_rpad" if "-" in flags else "utf8_lpad"
        text = call(fn, [text], pc.PadOptions(int(width), pad))
    return text


_BINARY = ("KiB", "MiB", "GiB", "TiB", "PiB")
_DECIMAL = ("kB", "MB", "GB", "TB", "PB")


def _size_kernel(base: int, units: tuple[str, ...]):  # noqa: ANN202 (a kernel for udf)
    def sizes(n: pa.Array) -> pa.Array:
        """Byte counts as DuckDB writes them: 'N bytes' below one unit, else one decimal
        (cut, not rounded) and the largest unit that fits."""
        v = pc.fill_null(n, 0).to_numpy(zero_copy_only=False).astype(np.int64)
        neg = v < 0
        a = np.abs(v + neg).astype(np.uint64) + neg  # |v|, also of the least BIGINT
        k = sum((a >= np.uint64(base) ** np.uint64(j)).astype(np.int64)
                for j in range(1, len(units) + 1))
        unit = np.power(np.uint64(base), k.astype(np.uint64))
        whole, tenth = a // unit, (a % unit) * 10 // unit
        sign = np.where(v < 0, "-", "")
        scaled = np.char.add(np.char.add(np.char.add(sign, whole.astype(str)), "."),
                             tenth.astype(str))
        named = np.char.add(np.char.add(scaled, " "),
                            np.array(("",) + units)[k])
        small = np.char.add(v.astype(str), np.where(np.abs(v) == 1, " byte", " bytes"))
        out = np.where(k == 0, small, named)
        return pa.array(out, pa.string(), mask=n.is_null().to_numpy(zero_copy_only=False))
    return sizes


def _format_bytes(base: int, units: tuple[str, ...], name: str):  # noqa: ANN202
    def build(args: list[Expr]) -> Expr:
        t = args[0].type
        if not (pa.types.is_integer(t) or pa.types.is_null(t)
                or pa.types.is_decimal(t) and t.scale == 0):
            raise BindError(f"{name} needs a whole number of bytes, not "
                            f"{sql_name(args[0].type)}")
        return udf(name, _size_kernel(base, units), [cast(args[0], pa.int64())],
                   pa.string(), name)
    return build


register(Function("format_bytes", SCALAR, _format_bytes(1024, _BINARY, "format_bytes"), 1, 1,
                  aliases=("formatreadablesize",),
                  doc="format_bytes(n): '1.5 KiB' (powers of 1024, one decimal)"))
register(Function("formatreadabledecimalsize", SCALAR,
                  _format_bytes(1000, _DECIMAL, "formatReadableDecimalSize"), 1, 1,
                  doc="formatReadableDecimalSize(n): '1.5 kB' (powers of 1000)"))
register(Function("format", SCALAR, _format, 1, None,
                  doc="format('{} and {}', a, b): the arguments in the placeholders"))
register(Function("printf", SCALAR, _printf, 1, None,
                  doc="printf('%s: %.2f', a, b): C's %s, %d, %i, %f"))
