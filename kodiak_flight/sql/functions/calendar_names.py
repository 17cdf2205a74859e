"""Calendar helpers DuckDB has: ``dayname``, ``monthname``, ``last_day``, ``epoch_ms``,
``to_timestamp`` (seconds since 1970 as a UTC TIMESTAMPTZ), ``make_date`` (of columns too,
days counted in numpy over the batch)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError, SqlTypeError
from ..expr import Expr, Lit, call, cast
from ..types import is_string, sql_name
from .dates import add_months, date_trunc
from .registry import SCALAR, Function, register
from .udf import udf


def _temporal(e: Expr, what: str) -> Expr:
    """``e`` as a date or timestamp (a text constant read as a timestamp)."""
    if isinstance(e, Lit) and is_string(e.type):
        return cast(e, pa.timestamp("us"))
    if not (pa.types.is_date(e.type) or pa.types.is_timestamp(e.type)):
        raise SqlTypeError(f"{what} is not defined for {sql_name(e.type)}")
    return e


def _named(fmt: str, what: str):
    def build(args: list[Expr]) -> Expr:
        e = _temporal(args[0], what)
        ts = cast(e, pa.timestamp("us")) if pa.types.is_date(e.type) else e
        return call("strftime", [ts], pc.StrftimeOptions(fmt, "C"), what=what)
    return build


def _last_day(args: list[Expr]) -> Expr:
    """The last day of the value's month, a DATE."""
    e = _temporal(args[0], "last_day")
    first = date_trunc([Lit("month", pa.string()), cast(e, pa.date32())])
    following = add_months(first, 1)
    days = call("subtract", [cast(cast(following, pa.int32()), pa.int64()), Lit(1, pa.int64())])
    return cast(cast(days, pa.int32()), pa.date32())


def _epoch_ms(args: list[Expr]) -> Expr:
    """Milliseconds since 1970-01-01 of a timestamp (a BIGINT); of a BIGINT, the timestamp
    that many milliseconds after it (DuckDB's two forms; sqlglot adds the scale, 3)."""
    if pa.types.is_integer(args[0].type):
        return cast(cast(args[0], pa.int64()), pa.timestamp("ms"))
    e = _temporal(args[0], "epoch_ms")
    ms = cast(e, pa.timestamp("ms", e.type.tz if pa.types.is_timestamp(e.type) else None))
    return cast(ms, pa.int64())


def _to_timestamp(args: list[Expr]) -> Expr:
    """Seconds since 1970-01-01 (fractions to the microsecond) as a UTC TIMESTAMPTZ."""
    x = args[0]
    if not (pa.types.is_integer(x.type) or pa.types.is_floating(x.type) or
            pa.types.is_decimal(x.type) or pa.types.is_null(x.type)):
        raise SqlTypeError(f"to_timestamp is not defined for {sql_name(x.type)}")
    micros = call("round", [call("multiply", [cast(x, pa.float64()), Lit(1e6, pa.float64())])])
    return cast(cast(micros, pa.int64()), pa.timestamp("us", tz="UTC"))


register(Function("dayname", SCALAR, _named("%A", "dayname"), 1, 1,
                  doc="the English name of the weekday"))
register(Function("monthname", SCALAR, _named("%B", "monthname"), 1, 1,
                  doc="the English name of the month"))
register(Function("last_day", SCALAR, _last_day, 1, 1, doc="the last day of the month"))
register(Function("epoch_ms", SCALAR, _epoch_ms, 1, 2,
                  doc="milliseconds since 1970-01-01 of a timestamp"))
register(Function("to_timestamp", SCALAR, _to_timestamp, 1, 1,
                  doc="seconds since 1970-01-01 as a UTC TIMESTAMPTZ"))


def _civil_days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _month_days(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    table = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    return table[np.clip(m, 0, 12)] + ((m == 2) & leap)


def make_date_kernel(y: pa.Array, m: pa.Array, d: pa.Array) -> pa.Array:
    """The DATE of each (year, month, day); a part out of range is an error."""
    parts = [pc.fill_null(a, 1).to_numpy(zero_copy_only=False).astype(np.int64)
             for a in (y, m, d)]
    nulls = pc.or_(pc.or_(y.is_null(), m.is_null()), d.is_null()).to_numpy(
        zero_copy_only=False)
    yy, mm, dd = parts
    bad = ~nulls & ((mm < 1) | (mm > 12) | (dd < 1) | (dd > _month_days(yy, mm)) |
                    (yy < 1) | (yy > 9999))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ExecutionError(f"make_date: {yy[i]}-{mm[i]}-{dd[i]} is not a date")
    days = np.where(nulls, 0, _civil_days(yy, mm, dd)).astype(np.int32)
    return pa.array(days, pa.int32(), mask=nulls).cast(pa.date32())


def _make_date(args: list[Expr]) -> Expr:
    for a in args:
        if not (pa.types.is_integer(a.type) or pa.types.is_null(a.type)):
            raise SqlTypeError(f"make_date is not defined for {sql_name(a.type)} (it takes "
                               "integers)")
    return udf("make_date", make_date_kernel, [cast(a, pa.int64()) for a in args],
               pa.date32())


register(Function("make_date", SCALAR, _make_date, 3, 3, aliases=("date_from_parts",),
                  doc="make_date(year, month, day)"))
