"""Date and time functions: date arithmetic with intervals (month arithmetic clamps to the
month's last day, as DuckDB does), EXTRACT / ``date_part``, ``date_trunc`` and the clock
(``current_date``, ``now``: stable, so plans holding them are not reused)."""

from __future__ import annotations

import calendar
import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import NotSupportedError, SqlTypeError
from ..expr import Expr, Lit, call, cast, lit
from ..types import is_string, is_temporal, sql_name
from .registry import SCALAR, STABLE, Function, constant, register

# ---------------------------------------------------------------------------- arithmetic


def _interval_parts(e: Lit) -> tuple[int, int, int]:
    v = e.value
    return (v.months, v.days, v.nanoseconds) if v is not None else (0, 0, 0)


def _add_months_value(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return d.replace(year=y, month=m, day=min(d.day, calendar.monthrange(y, m)[1]))


def _shift_literal(d: Lit, months: int, days: int, nanos: int) -> Lit:
    """A constant date/timestamp moved by an interval, computed here."""
    if d.value is None:
        return Lit(None, d.type)
    v = d.value
    if months:
        v = _add_months_value(v, months)
    if nanos and not isinstance(v, dt.datetime):  # (a date plus seconds is a timestamp)
        v = dt.datetime.combine(v, dt.time())
    v = v + dt.timedelta(days=days, microseconds=nanos // 1000)
    if pa.types.is_date(d.type) and nanos == 0:
        return Lit(v, d.type)
    return Lit(v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time()),
               d.type if pa.types.is_timestamp(d.type) else pa.timestamp("us"))


def add_interval(op: str, d: Expr, iv: Expr) -> Expr:
    """``d + iv`` (op "add") or ``d - iv`` (op "sub") for a date/timestamp ``d`` and a
    constant interval ``iv``."""
    sign = 1 if op == "add" else -1
    if not isinstance(iv, Lit):
        raise NotSupportedError("interval arithmetic needs a constant interval")
    months, days, nanos = (sign * p for p in _interval_parts(iv))
    if pa.types.is_time(d.type):
        return _shift_time(d, nanos)
    if isinstance(d, Lit):
        return _shift_literal(d, months, days, nanos)
    if months:
        if pa.types.is_date(d.type):
            d = add_months(d, months)
        elif pa.types.is_timestamp(d.type):
            day = cast(d, pa.date32())
            time_of_day = call("subtract", [d, cast(day, d.type)])
            d = call("add", [cast(add_months(day, months), d.type), time_of_day])
        else:
            raise NotSupportedError(f"cannot add a month interval to {sql_name(d.type)}")
        if not days and not nanos:
            return d
    if pa.types.is_date(d.type) and nanos == 0:
        days_since = cast(cast(d, pa.int32()), pa.int64())
        return cast(cast(call("add_checked", [days_since, lit(days, pa.int64())]), pa.int32()),
                    pa.date32())
    ts = d if pa.types.is_timestamp(d.type) else cast(d, pa.timestamp("us"))
    unit = ts.type.unit
    per = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    delta = days * 86400 * 10**9 // per + nanos // per
    return call("add_checked", [ts, Lit(delta, pa.duration(unit))])


def _shift_time(t: Expr, nanos: int) -> Expr:
    """A TIME moved by an interval's time part, around the clock (23:00 + 2 hours is 01:00,
    as DuckDB and PostgreSQL give; days and months leave a time of day as it is)."""
    per = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[t.type.unit]
    day = 86_400 * 10**9 // per
    ticks = cast(cast(t, pa.int64()), pa.int64()) if pa.types.is_time64(t.type) else \
        cast(cast(t, pa.int32()), pa.int64())
    moved = call("add", [ticks, lit((nanos // per) % day, pa.int64())])
    wrapped = call("subtract", [moved, call("multiply", [
        cast(call("greater_equal", [moved, lit(day, pa.int64())]), pa.int64()),
        lit(day, pa.int64())])])
    return cast(cast(wrapped, pa.int64() if pa.types.is_time64(t.type) else pa.int32()),
                t.type)


def add_days(d: Expr, n: Expr) -> Expr:
    """``date + n`` days."""
    days = call("add_checked", [cast(cast(d, pa.int32()), pa.int64()), cast(n, pa.int64())])
    return cast(cast(days, pa.int32()), pa.date32())


def _i(v: int) -> Lit:
    return Lit(v, pa.int64())


def _ops(fn: str, *args: Expr) -> Expr:
    return call(fn, list(args))


def _days_from_civil(y: Expr, m: Expr, d: Expr) -> Expr:
    """Days since 1970-01-01 of the proleptic Gregorian date (y >= 1), vectorised
    (H. Hinnant's ``days_from_civil``)."""
    early = cast(_ops("less_equal", m, _i(2)), pa.int64())
    y = _ops("subtract", y, early)
    era = _ops("divide", y, _i(400))
    yoe = _ops("subtract", y, _ops("multiply", era, _i(400)))
    mp = _ops("subtract", _ops("add", m, _i(9)),
              _ops("multiply", _ops("divide", _ops("add", m, _i(9)), _i(12)), _i(12)))
    doy = _ops("add", _ops("divide", _ops("add", _ops("multiply", mp, _i(153)), _i(2)), _i(5)),
               _ops("subtract", d, _i(1)))
    doe = _ops("add", _ops("subtract", _ops("add", _ops("multiply", yoe, _i(365)),
                                              _ops("divide", yoe, _i(4))),
                           _ops("divide", yoe, _i(100))), doy)
    return _ops("subtract", _ops("add", _ops("multiply", era, _i(146097)), doe), _i(719468))


def add_months(d: Expr, months: int) -> Expr:
    """``date + INTERVAL months MONTH`` on a column: the same day in the target month,
    clamped to its last day (Jan 31 + 1 month = Feb 28/29), as DuckDB does."""
    y = cast(call("year", [d]), pa.int64())
    m = cast(call("month", [d]), pa.int64())
    day = cast(call("day", [d]), pa.int64())
    total = _ops("add", _ops("add", _ops("multiply", y, _i(12)), _ops("subtract", m, _i(1))),
                 _i(months))
    ny = _ops("divide", total, _i(12))
    nm = _ops("add", _ops("subtract", total, _ops("multiply", ny, _i(12))), _i(1))
    first = _days_from_civil(ny, nm, _i(1))
    ny2 = _ops("add", ny, cast(_ops("equal", nm, _i(12)), pa.int64()))
    nm2 = _ops("add", _ops("subtract", nm, _ops("multiply", _ops("divide", nm, _i(12)),
                                                 _i(12))), _i(1))
    month_len = _ops("subtract", _days_from_civil(ny2, nm2, _i(1)), first)
    clamped = call("min_element_wise", [day, month_len])
    days = _ops("add", first, _ops("subtract", clamped, _i(1)))
    return cast(cast(days, pa.int32()), pa.date32())


# ---------------------------------------------------------------------------- parts

_PARTS = {"year": "year", "month": "month", "day": "day", "quarter": "quarter",
          "doy": "day_of_year", "dayofyear": "day_of_year", "week": "iso_week",
          "hour": "hour", "minute": "minute", "second": "second", "isoyear": "iso_year",
          "dow": "day_of_week", "dayofweek": "day_of_week", "isodow": "day_of_week",
          "millisecond": "millisecond", "microsecond": "microsecond", "epoch": "epoch"}


_YEAR_SPANS = {"decade": 10, "century": 100, "millennium": 1000}


def _floor_div(x: Expr, d: int) -> Expr:
    """``x // d`` rounded down for BIGINT ``x`` (Arrow's integer division truncates)."""
    q = call("divide", [x, lit(d, pa.int64())])
    below = call("and", [call("less", [x, lit(0, pa.int64())]),
                         call("not_equal", [call("multiply", [q, lit(d, pa.int64())]), x])])
    return call("subtract", [q, cast(below, pa.int64())])


def _extract(part: str, e: Expr) -> Expr:
    part = part.lower()
    if pa.types.is_date(e.type) and part in ("hour", "minute", "second"):
        return _midnight(e)
    if part in _YEAR_SPANS:  # decade: year // 10; century, millennium: 2000 is the 20th
        year = cast(call("year", [e], what=f"EXTRACT({part.upper()})"), pa.int64())
        span = _YEAR_SPANS[part]
        if span == 10:
            return _floor_div(year, 10)
        return call("add", [_floor_div(call("subtract", [year, lit(1, pa.int64())]), span),
                            lit(1, pa.int64())])
    fn = _PARTS.get(part)
    if fn is None:
        raise NotSupportedError(f"EXTRACT({part.upper()}) is not supported")
    if fn == "epoch":  # seconds as a DOUBLE, fractions kept (DuckDB's)
        unit = pa.timestamp("us", e.type.tz if pa.types.is_timestamp(e.type) else None)
        micros = cast(cast(cast(e, unit), pa.int64()), pa.float64())
        return call("divide", [micros, lit(1e6)])
    if fn in ("millisecond", "microsecond"):  # with the seconds, as PostgreSQL and DuckDB
        return _sub_second(fn, e)
    if fn == "day_of_week":
        if part == "isodow":
            return call(fn, [e], pc.DayOfWeekOptions(count_from_zero=False, week_start=1))
        return call(fn, [e], pc.DayOfWeekOptions(count_from_zero=True, week_start=7))
    return call(fn, [e], what=f"EXTRACT({part.upper()})")


def _midnight(d: Expr) -> Expr:
    """A time part of a DATE: 0, NULL for a NULL date."""
    return call("if_else", [call("is_null", [d]), Lit(None, pa.int64()), lit(0, pa.int64())])


def _sub_second(fn: str, e: Expr) -> Expr:
    """EXTRACT(MILLISECOND / MICROSECOND): the seconds of the minute in that unit
    (10.5 s is 10500 ms), not Arrow's component below the second (500)."""
    if pa.types.is_date(e.type):
        return _midnight(e)
    sec, ms = (cast(call(k, [e]), pa.int64()) for k in ("second", "millisecond"))
    millis = call("add", [call("multiply", [sec, lit(1000)]), ms])
    if fn == "millisecond":
        return millis
    us = cast(call("microsecond", [e]), pa.int64())
    return call("add", [call("multiply", [millis, lit(1000)]), us])


def extract(part: str, e: Expr) -> Expr:
    """``EXTRACT(part FROM e)``."""
    if (pa.types.is_duration(e.type) or isinstance(e, Lit) and pa.types.is_interval(e.type)) \
            and part.lower() == "epoch":
        from .durations import epoch

        return epoch(e)
    if pa.types.is_interval(e.type):
        from .interval_parts import extract as interval_extract

        return interval_extract(part, e)
    if not is_temporal(e.type):
        if isinstance(e, Lit) and (is_string(e.type) or pa.types.is_null(e.type)):
            e = cast(e, pa.timestamp("us"))  # a text constant, or NULL
        else:
            raise SqlTypeError(f"EXTRACT needs a date or timestamp, got {sql_name(e.type)}")
    return _extract(part, e)


def date_part(args: list[Expr]) -> Expr:
    return extract(str(constant(args[0], "date part")), args[1])


_TRUNC_UNITS = ("microsecond", "millisecond", "second", "minute", "hour", "day", "week",
                "month", "quarter", "year")
_YEAR_MULTIPLES = {"decade": 10, "century": 100, "millennium": 1000}
_UNIT_SPELLINGS = {"mon": "month", "yr": "year", "y": "year", "d": "day", "w": "week",
                   "us": "microsecond", "ms": "millisecond", "decades": "decade",
                   "centuries": "century", "millennia": "millennium", "millenniums": "millennium"}


def _trunc_unit(text: str) -> str:
    """The unit ``date_trunc`` floors to, from its spellings ('days', 'mon', 'ms')."""
    unit = _UNIT_SPELLINGS.get(text.lower(), text.lower())
    if unit not in _TRUNC_UNITS and unit.endswith("s") and unit[:-1] in _TRUNC_UNITS:
        unit = unit[:-1]
    if unit not in _TRUNC_UNITS and unit not in _YEAR_MULTIPLES:
        known = ", ".join((*_TRUNC_UNITS, *_YEAR_MULTIPLES))
        raise NotSupportedError(f"date_trunc does not know the unit '{text.lower()}' (one of {known})")
    return unit


def date_trunc(args: list[Expr]) -> Expr:
    """``date_trunc(unit, value)``: floored to the unit (weeks start on Monday; a decade,
    century or millennium starts in a year that is a multiple of 10, 100, 1000, as in
    DuckDB)."""
    unit = _trunc_unit(str(constant(args[0], "date_trunc unit")))
    e = args[1]
    if isinstance(e, Lit) and is_string(e.type):
        e = cast(e, pa.timestamp("us"))
    if unit in _YEAR_MULTIPLES:
        return _year_multiple(e, _YEAR_MULTIPLES[unit])
    opts = pc.RoundTemporalOptions(1, unit, week_starts_monday=True)
    return call("floor_temporal", [e], opts, what="date_trunc")


def _year_multiple(e: Expr, years: int) -> Expr:
    """``e`` floored to January 1st of the year that is the multiple of ``years`` at or
    before its own."""
    if not is_temporal(e.type) or pa.types.is_time(e.type):
        raise SqlTypeError(f"date_trunc is not defined for operand types ({sql_name(e.type)})")
    year = cast(call("year", [e]), pa.int64())
    start = _ops("multiply", _ops("divide", year, _i(years)), _i(years))
    days = cast(cast(_days_from_civil(start, _i(1), _i(1)), pa.int32()), pa.date32())
    return days if pa.types.is_date(e.type) else cast(days, e.type)


def current_date(args: list[Expr]) -> Expr:
    """Today's date, fixed when the statement is bound."""
    return Lit(dt.date.today(), pa.date32())


def now(args: list[Expr]) -> Expr:
    """The current UTC time, fixed when the statement is bound."""
    return Lit(dt.datetime.now(dt.UTC), pa.timestamp("us", tz="UTC"))


def _part(part: str) -> Function:
    return Function(part, SCALAR, lambda a: extract(part, a[0]), doc=f"EXTRACT({part.upper()})")


register(Function("date_part", SCALAR, date_part, min_args=2, max_args=2,
                  aliases=("datepart",), doc="date_part('year', d): EXTRACT"))
register(Function("date_trunc", SCALAR, date_trunc, min_args=2, max_args=2,
                  aliases=("datetrunc", "timestamp_trunc"), doc="floor to a unit"))
for _p in ("year", "month", "quarter", "hour", "minute", "second", "millisecond",
           "microsecond", "isodow", "isoyear", "dayofyear", "week"):
    register(_part(_p))
register(Function("weekofyear", SCALAR, lambda a: extract("week", a[0]),
                  doc="EXTRACT(WEEK): the ISO week"))
register(Function("epoch", SCALAR, lambda a: extract("epoch", a[0]),
                  doc="EXTRACT(EPOCH): seconds since 1970-01-01 (a DOUBLE)"))
register(Function("day", SCALAR, lambda a: extract("day", a[0]),
                  aliases=("dayofmonth", "day_of_month"), doc="EXTRACT(DAY)"))
register(Function("dayofweek", SCALAR, lambda a: extract("dow", a[0]),
                  aliases=("day_of_week", "weekday"), doc="EXTRACT(DOW): Sunday is 0"))
register(Function("current_date", SCALAR, current_date, min_args=0, max_args=0,
                  aliases=("today",), volatility=STABLE, doc="today's date"))
register(Function("now", SCALAR, now, min_args=0, max_args=0, aliases=("current_timestamp",),
                  volatility=STABLE, doc="the current time (UTC)"))
