"""``TRY_CAST``: a value that does not convert becomes NULL, row by row.

Arrow's cast either fails for the whole batch or, told to allow overflow, wraps (300 as a
TINYINT became 44). So each value is first checked the way the cast would judge it (text
by its form, numbers by the target's range after SQL's rounding) and only the values that
pass are cast, with every check on."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pyarrow as pa
import pyarrow.compute as pc

from ..expr import Expr, Lit, call, cast
from ..types import is_string
from .times import time_from_text

_INTEGER_TEXT = r"^\s*[+-]?\d{1,38}\s*$"
_NUMBER_TEXT = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"


def try_cast(e: Expr, to: pa.DataType) -> Expr:
    """``TRY_CAST(e AS to)``."""
    if isinstance(e, Lit):
        try:
            out = cast(e, to)
        except Exception:  # noqa: BLE001 - any failure of a constant's cast is NULL
            return Lit(None, to)
        return out if isinstance(out, Lit) else Lit(None, to)
    if is_string(e.type):
        if pa.types.is_integer(to):  # digits only, read exactly, then range-checked
            return _in_range(cast(_matching(e, _INTEGER_TEXT), pa.decimal128(38, 0)), to)
        if pa.types.is_decimal(to):
            return _in_range(cast(_matching(e, _NUMBER_TEXT), pa.float64()), to)
        if pa.types.is_floating(to):
            return cast(_matching(e, _NUMBER_TEXT), to)
        if pa.types.is_date(to):
            return cast(_matching(e, _DATE_TEXT), to)
        if pa.types.is_time(to):
            return time_from_text(e, to, lenient=True)
    if (pa.types.is_integer(to) or pa.types.is_decimal(to)) and \
            (pa.types.is_integer(e.type) or pa.types.is_floating(e.type)
             or pa.types.is_decimal(e.type)):
        return _in_range(e, to)
    return cast(e, to, safe=False)


def _matching(e: Expr, pattern: str) -> Expr:
    """``e`` where it matches ``pattern``, NULL elsewhere."""
    ok = call("match_substring_regex", [e], pc.MatchSubstringOptions(pattern))
    return call("if_else", [ok, e, Lit(None, e.type)])


def _in_range(e: Expr, to: pa.DataType) -> Expr:
    """``e`` (a number) cast to the integer or decimal type ``to``, NULL where the value,
    rounded as the cast rounds it, is outside the type's range (NaN and infinities too)."""
    lo, hi = _bounds(to)
    scale = to.scale if pa.types.is_decimal(to) else 0
    if pa.types.is_floating(e.type):
        rounded = call("round", [e], pc.RoundOptions(scale, "half_towards_infinity"))
        bounds = (Lit(float(lo), pa.float64()), Lit(float(hi), pa.float64()))
    else:
        wide = cast(e, pa.decimal128(38, e.type.scale)) if pa.types.is_decimal(e.type) \
            else cast(e, pa.decimal128(38, 0))
        rounded = call("round", [wide], pc.RoundOptions(scale, "half_towards_infinity")) \
            if pa.types.is_decimal(e.type) and e.type.scale > scale else wide
        at = rounded.type.scale  # the bounds at the value's own scale, toward zero
        step = Decimal(1).scaleb(-at)
        bounds = (Lit(lo.quantize(step, ROUND_CEILING), rounded.type),
                  Lit(hi.quantize(step, ROUND_FLOOR), rounded.type))
    inside = call("and_kleene", [call("greater_equal", [rounded, bounds[0]]),
                                 call("less_equal", [rounded, bounds[1]])])
    kept = call("if_else", [inside, rounded, Lit(None, rounded.type)])
    return cast(kept, to)


def _bounds(to: pa.DataType) -> tuple[Decimal, Decimal]:
    """The least and greatest values of an integer or decimal type."""
    if pa.types.is_decimal(to):
        top = Decimal(10) ** (to.precision - to.scale) - Decimal(1).scaleb(-to.scale)
        return -top, top
    bits = to.bit_width
    if pa.types.is_unsigned_integer(to):
        return Decimal(0), Decimal(2 ** bits - 1)
    return Decimal(-(2 ** (bits - 1))), Decimal(2 ** (bits - 1) - 1)
