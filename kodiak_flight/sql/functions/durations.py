"""Arithmetic on elapsed time: a timestamp less a timestamp (or a date) is an INTERVAL held
as Arrow's duration; a timestamp plus or less a duration; durations added, subtracted,
multiplied by integers; and a constant INTERVAL of days and smaller units taken as a
duration where it meets a column (``interval '1 day' * n``). Intervals with months have no
fixed length: those stay constants (``dates.add_interval``), and a constant one times a
constant integer is folded here."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..errors import NotSupportedError, SqlTypeError
from ..expr import Expr, Lit, call, cast
from ..types import is_numeric, sql_name
from .interval_parts import epoch_seconds

_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _point(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def _as_timestamp(e: Expr) -> Expr:
    return cast(e, pa.timestamp("us")) if pa.types.is_date(e.type) else e


def _unit(*types: pa.DataType) -> str:
    """The finest unit of ``types`` (timestamps and durations), microseconds at least."""
    units = [t.unit for t in types if pa.types.is_timestamp(t) or pa.types.is_duration(t)]
    return "ns" if "ns" in units else "us"


def as_duration(e: Expr) -> Expr:
    """``e`` unchanged, or a constant INTERVAL with no months as a duration."""
    if pa.types.is_interval(e.type) and isinstance(e, Lit):
        if e.value is None:
            return Lit(None, pa.duration("us"))
        if e.value.months:
            raise NotSupportedError("an interval of months has no fixed length here: use "
                                    "days (interval '30 days')")
        nanos = e.value.days * 86_400 * 10**9 + e.value.nanoseconds
        return Lit(nanos // 1000 if nanos % 1000 == 0 else nanos,
                   pa.duration("us" if nanos % 1000 == 0 else "ns"))
    return e


def arith(op: str, a: Expr, b: Expr) -> Expr | None:
    """``a op b`` where it is arithmetic on elapsed time; None where it is not."""
    ta, tb = a.type, b.type
    if op in "+-" and pa.types.is_interval(ta) and pa.types.is_interval(tb) and \
            isinstance(a, Lit) and isinstance(b, Lit):
        return _summed(a, b, 1 if op == "+" else -1)
    if op == "*" and pa.types.is_interval(ta) and isinstance(a, Lit) and isinstance(b, Lit) \
            and is_numeric(tb):
        return _scaled(a, b)
    if op == "*" and is_numeric(ta) and pa.types.is_interval(tb):
        return arith(op, b, a)
    if not (pa.types.is_duration(ta) or pa.types.is_duration(tb) or (
            op == "-" and _point(ta) and _point(tb))
            or pa.types.is_interval(ta) and op in "*/" or pa.types.is_interval(tb)):
        return None
    a, b = as_duration(a), as_duration(b)
    ta, tb = a.type, b.type
    if op == "-" and _point(ta) and _point(tb):
        return _between(a, b)
    if op in "+-" and _point(ta) and pa.types.is_duration(tb):
        return _moved(op, a, b)
    if op == "+" and pa.types.is_duration(ta) and _point(tb):
        return _moved(op, b, a)
    if op in "+-" and pa.types.is_duration(ta) and pa.types.is_duration(tb):
        unit = _unit(ta, tb)
        return call("add_checked" if op == "+" else "subtract_checked",
                    [cast(a, pa.duration(unit)), cast(b, pa.duration(unit))], what=op)
    if op == "*" and pa.types.is_integer(tb) and pa.types.is_duration(ta):
        return call("multiply_checked", [a, cast(b, pa.int64())], what=op)
    if op == "*" and pa.types.is_integer(ta) and pa.types.is_duration(tb):
        return call("multiply_checked", [b, cast(a, pa.int64())], what=op)
    raise SqlTypeError(f"operator {op} is not defined for operand types ({sql_name(ta)}, "
                       f"{sql_name(tb)})")


def comparable(a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """A duration and a duration or constant INTERVAL as durations of one unit."""
    a, b = as_duration(a), as_duration(b)
    if pa.types.is_duration(a.type) and pa.types.is_duration(b.type):
        unit = _unit(a.type, b.type)
        return cast(a, pa.duration(unit)), cast(b, pa.duration(unit))
    return a, b


def _between(a: Expr, b: Expr) -> Expr:
    """The time from ``b`` to ``a`` (dates as midnight)."""
    a, b = _as_timestamp(a), _as_timestamp(b)
    if (a.type.tz is None) != (b.type.tz is None):
        raise SqlTypeError(f"operator - is not defined for operand types ({sql_name(a.type)}, "
                           f"{sql_name(b.type)}): cast one to the other's type")
    unit = _unit(a.type, b.type)
    return call("subtract_checked", [cast(a, pa.timestamp(unit, a.type.tz)),
                                     cast(b, pa.timestamp(unit, b.type.tz))], what="-")


def _moved(op: str, point: Expr, d: Expr) -> Expr:
    """``point`` moved by duration ``d`` (a date becomes a timestamp)."""
    point = _as_timestamp(point)
    unit = _unit(point.type, d.type)
    point = cast(point, pa.timestamp(unit, point.type.tz))
    return call("add_checked" if op == "+" else "subtract_checked",
                [point, cast(d, pa.duration(unit))], what=op)


def _scaled(iv: Lit, k: Lit) -> Lit:
    """A constant interval times a constant number, each part multiplied; a fraction of a
    month carried into days (30 to a month) and of a day into time, as DuckDB does."""
    if iv.value is None or k.value is None:
        return Lit(None, pa.month_day_nano_interval())
    v, n = iv.value, float(k.value) if not isinstance(k.value, int) else k.value
    months = v.months * n
    days = v.days * n + (months - int(months)) * 30
    nanos = round(v.nanoseconds * n + (days - int(days)) * 86_400 * 10**9)
    return Lit(pa.scalar((int(months), int(days), nanos), pa.month_day_nano_interval()).as_py(),
               pa.month_day_nano_interval())


def _summed(a: Lit, b: Lit, sign: int) -> Lit:
    """Two constant intervals added (``sign`` 1) or subtracted (-1), part by part."""
    if a.value is None or b.value is None:
        return Lit(None, pa.month_day_nano_interval())
    x, y = a.value, b.value
    parts = (x.months + sign * y.months, x.days + sign * y.days,
             x.nanoseconds + sign * y.nanoseconds)
    return Lit(pa.scalar(parts, pa.month_day_nano_interval()).as_py(),
               pa.month_day_nano_interval())


def epoch(e: Expr) -> Expr:
    """Seconds in a duration (a DOUBLE), or in a constant INTERVAL (a year as 365.25 days,
    another month as 30, as DuckDB and PostgreSQL count them)."""
    if isinstance(e, Lit) and pa.types.is_interval(e.type):
        v = e.value
        if v is None:
            return Lit(None, pa.float64())
        seconds = epoch_seconds(*(np.array([x], np.int64)
                                  for x in (v.months, v.days, v.nanoseconds)))
        return Lit(float(seconds[0]), pa.float64())
    per = _PER_SECOND[e.type.unit]
    return call("divide", [cast(cast(e, pa.int64()), pa.float64()), Lit(float(per),
                                                                      pa.float64())])
