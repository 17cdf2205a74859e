"""``format(fmt, ...)`` (DuckDB's ``{}`` placeholders) and ``printf(fmt, ...)`` (C's ``%s``,
``%d``, ``%f`` with width, precision and the ``-`` / ``0`` flags): the constant format cut
into text pieces and arguments, joined as ``||`` joins them (a NULL argument makes NULL)."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BindError, NotSupportedError
from ..expr import Expr, Lit, call, cast
from ..types import sql_name
from .registry import SCALAR, Function, constant, register
from .strings import concat, to_string

_BRACES = re.compile(r"\{\{|\}\}|\{(\d*)(:[^}]*)?\}")
_PERCENT = re.compile(r"%%|%([-0]*)(\d*)(?:\.(\d+))?([a-zA-Z])")


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
        if m.group(2):
            raise NotSupportedError(f"format spec {m.group()} is not supported (only {{}} "
                                    "and {n})")
        n = int(m.group(1)) if m.group(1) else auto
        auto = auto + 1 if not m.group(1) else auto
        if n >= len(values):
            raise BindError(f"format string {fmt!r} needs argument {n + 1}, "
                            f"{len(values)} given")
        pieces.append(to_string(values[n]))
    pieces.append(Lit(fmt[at:], pa.string()))
    return concat(pieces, skip_nulls=False)


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
        if k >= len(values):
            raise BindError(f"printf format {fmt!r} needs more than {len(values)} arguments")
        pieces.append(_spec(values[k], *m.groups()))
        k += 1
    pieces.append(Lit(fmt[at:], pa.string()))
    return concat(pieces, skip_nulls=False)


def _spec(v: Expr, flags: str, width: str, precision: str | None, kind: str) -> Expr:
    """One ``%...`` directive applied to ``v``."""
    if kind == "s":
        text = to_string(v)
    elif kind in "di":
        if not pa.types.is_integer(v.type):
            raise BindError(f"printf %{kind} needs an integer, not {sql_name(v.type)}")
        text = cast(v, pa.string())
    elif kind == "f":
        digits = int(precision) if precision is not None else 6
        text = cast(cast(v, pa.decimal128(38, digits)), pa.string())
    else:
        raise NotSupportedError(f"printf %{kind} is not supported (%s, %d, %i, %f)")
    if width:
        pad = "0" if "0" in flags and "-" not in flags and kind != "s" else " "
        fn = "utf8_rpad" if "-" in flags else "utf8_lpad"
        text = call(fn, [text], pc.PadOptions(int(width), pad))
    return text


register(Function("format", SCALAR, _format, 1, None,
                  doc="format('{} and {}', a, b): the arguments in the placeholders"))
register(Function("printf", SCALAR, _printf, 1, None,
                  doc="printf('%s: %.2f', a, b): C's %s, %d, %i, %f"))
