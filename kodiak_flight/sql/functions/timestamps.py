"""Formatting, parsing and differences of dates and timestamps, DuckDB's: ``strftime``,
``strptime``, ``date_diff`` (boundaries crossed, on Arrow's ``*_between`` kernels; weeks are
whole 7-day spans, as DuckDB counts them), ``date_add`` and ``age`` (years, months and days
with DuckDB's borrowing, a vectorised kernel)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import NotSupportedError, SqlTypeError
from ..expr import Expr, Lit, call, cast, lit
from ..types import is_string, sql_name
from .dates import add_interval
from .registry import SCALAR, STABLE, Function, constant, register
from .udf import udf

_TS = pa.timestamp("us")


def _temporal(e: Expr, what: str) -> Expr:
    """``e`` as a date or timestamp (a string constant is read as a timestamp)."""
    if pa.types.is_date(e.type) or pa.types.is_timestamp(e.type):
        return e
    if is_string(e.type) and isinstance(e, Lit) or pa.types.is_null(e.type):
        return cast(e, _TS)
    raise SqlTypeError(f"{what} needs a date or timestamp, got {sql_name(e.type)}")


def strftime(args: list[Expr]) -> Expr:
    """``strftime(value, format)`` (or ``strftime(format, value)``, which DuckDB accepts)."""
    v, fmt = args
    if is_string(v.type) and not is_string(fmt.type):
        v, fmt = fmt, v
    v = _temporal(v, "strftime")
    pieces = _format_pieces(str(constant(fmt, "strftime format")))
    whole = v
    if pa.types.is_timestamp(v.type):
        # Arrow prints %S with the fraction of a second; DuckDB prints whole seconds
        whole = call("cast", [call("floor_temporal", [v],
                                   pc.RoundTemporalOptions(1, "second"))],
                     pc.CastOptions(pa.timestamp("s", v.type.tz), allow_time_truncate=True))
    parts = [_formatted(v, whole, piece) for piece in pieces]
    if len(parts) == 1:
        return parts[0]
    return call("binary_join_element_wise", [*parts, Lit("", pa.string())])


# DuckDB's spellings Arrow's strftime writes otherwise (%c, %x, %X: the C locale's)
_DUCKDB_FORMATS = {"%c": "%Y-%m-%d %H:%M:%S", "%x": "%Y-%m-%d", "%X": "%H:%M:%S"}
_FORMAT_TOKEN = re.compile(r"%%|%-?[A-Za-z]")


def _format_pieces(f: str) -> list[str]:
    """A strftime format cut where Arrow cannot follow it: ``%-d`` (no padding) and ``%f``
    (microseconds) each stand alone; the rest is whole formats for Arrow."""
    pieces, plain, at = [], "", 0
    for m in _FORMAT_TOKEN.finditer(f):
        plain += f[at:m.start()]
        token, at = m.group(), m.end()
        if token.startswith("%-") or token == "%f":
            if plain:
                pieces.append(plain)
            pieces.append(token)
            plain = ""
        else:
            plain += _DUCKDB_FORMATS.get(token, token)
    plain += f[at:]
    return [*pieces, plain] if plain or not pieces else pieces


def _formatted(v: Expr, whole: Expr, piece: str) -> Expr:
    """One piece of a format (see ``_format_pieces``) applied to ``v``."""
    if piece == "%f":
        if not pa.types.is_timestamp(v.type):  # a date: midnight (NULL for NULL)
            return call("if_else", [call("is_null", [v]), Lit(None, pa.string()),
                                    Lit("000000", pa.string())])
        us = call("add", [call("multiply", [cast(call("millisecond", [v]), pa.int64()),
                                            lit(1000)]),
                          cast(call("microsecond", [v]), pa.int64())])
        return call("utf8_lpad", [cast(us, pa.string())], pc.PadOptions(6, "0"))
    if piece.startswith("%-"):
        padded = call("strftime", [whole], pc.StrftimeOptions("%" + piece[2:]),
                      what="strftime")
        return call("replace_substring_regex", [padded],
                    pc.ReplaceSubstringOptions(r"^0+(\d)", r"\1"))
    return call("strftime", [whole], pc.StrftimeOptions(piece), what="strftime")


# directives Arrow's strptime accepts and ignores (the date stays 1900-01-01)
_UNREAD_DIRECTIVES = re.compile(r"%[UWVGgj]")


def strptime(args: list[Expr], lenient: bool = False) -> Expr:
    """``strptime(text, format)``: a TIMESTAMP; text that does not match is an error (NULL
    for ``try_strptime``: ``lenient``)."""
    s = args[0] if is_string(args[0].type) else cast(args[0], pa.string())
    f = str(constant(args[1], "strptime format"))
    if (m := _UNREAD_DIRECTIVES.search(f)) is not None:  # Arrow's parser skips them
        raise NotSupportedError(f"strptime does not read {m.group()} (weeks and days of the "
                                "year are not supported)")
    return call("strptime", [s], pc.StrptimeOptions(f, "us", error_is_null=lenient),
                what="try_strptime" if lenient else "strptime")


_BETWEEN = {"year": "years_between", "quarter": "quarters_between",
            "day": "days_between",
            "hour": "hours_between", "minute": "minutes_between",
            "second": "seconds_between", "millisecond": "milliseconds_between",
            "microsecond": "microseconds_between"}
_UNITS = {"years": "year", "yr": "year", "y": "year", "yrs": "year", "quarters": "quarter",
          "months": "month", "mon": "month", "mons": "month", "days": "day", "d": "day",
          "dayofmonth": "day", "weeks": "week", "w": "week", "hours": "hour", "h": "hour",
          "hr": "hour", "minutes": "minute", "min": "minute", "m": "minute",
          "seconds": "second", "s": "second", "sec": "second", "ms": "millisecond",
          "milliseconds": "millisecond", "us": "microsecond", "microseconds": "microsecond"}


def date_diff(args: list[Expr]) -> Expr:
    """``date_diff(part, start, end)``: the part boundaries crossed from start to end."""
    part = str(constant(args[0], "date_diff part")).lower()
    part = _UNITS.get(part, part)
    a, b = _temporal(args[1], "date_diff"), _temporal(args[2], "date_diff")
    if a.type != b.type:
        a, b = cast(a, _TS), cast(b, _TS)
    if part == "month":  # (Arrow's month_interval_between has no Python type)
        return call("subtract", [_months(b), _months(a)])
    if part == "week":
        days = cast(call("days_between", [a, b]), pa.int64())
        return call("divide", [days, lit(7, pa.int64())])  # truncates, as DuckDB does
    fn = _BETWEEN.get(part)
    if fn is None:
        raise NotSupportedError(f"date_diff part {part!r} is not supported")
    return cast(call(fn, [a, b], what="date_diff"), pa.int64())


def _months(e: Expr) -> Expr:
    """Months since year 0 of a date or timestamp."""
    y, m = (cast(call(f, [e]), pa.int64()) for f in ("year", "month"))
    return call("add", [call("multiply", [y, lit(12, pa.int64())]), m])


def date_add(args: list[Expr]) -> Expr:
    """``date_add(value, interval)``: a TIMESTAMP, as DuckDB gives for a date too."""
    v = _temporal(args[0], "date_add")
    iv = args[1]
    if not pa.types.is_interval(iv.type):
        raise SqlTypeError(f"date_add needs an INTERVAL, got {sql_name(iv.type)}")
    out = add_interval("add", v, iv)
    return cast(out, _TS) if pa.types.is_date(out.type) else out


# ---------------------------------------------------------------------------- age

_MICROS_PER_DAY = 86_400_000_000


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of days since 1970-01-01 (H. Hinnant's ``civil_from_days``)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    return y + (m <= 2), m, d


def _month_days(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    base = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[m]
    return base + ((m == 2) & leap)


def _age_kernel(a: pa.Array, b: pa.Array) -> pa.Array:
    """DuckDB's ``age(a, b)``: a - b as years, months, days and time, each borrowing from
    the next larger (a day borrows the length of ``b``'s month), negated when a < b."""
    null = a.is_null().to_numpy(zero_copy_only=False) | b.is_null().to_numpy(zero_copy_only=False)
    ua = pc.fill_null(a.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    ub = pc.fill_null(b.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    flip = ua < ub
    hi, lo = np.where(flip, ub, ua), np.where(flip, ua, ub)
    dh, th = np.divmod(hi, _MICROS_PER_DAY)
    dl, tl = np.divmod(lo, _MICROS_PER_DAY)
    (y1, m1, d1), (y2, m2, d2) = _civil(dh), _civil(dl)
    micros = th - tl
    day = d1 - d2 - (micros < 0)
    micros = np.where(micros < 0, micros + _MICROS_PER_DAY, micros)
    month = m1 - m2 - (day < 0)
    day = np.where(day < 0, day + _month_days(y2, m2), day)
    year = y1 - y2 - (month < 0)
    month = np.where(month < 0, month + 12, month)
    sign = np.where(flip, -1, 1)
    n = len(a)
    raw = np.zeros(n, dtype=[("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])
    raw["months"] = sign * (year * 12 + month)
    raw["days"] = sign * day
    raw["nanos"] = sign * micros * 1000
    validity = pa.array(~null).buffers()[1] if null.any() else None
    return pa.Array.from_buffers(pa.month_day_nano_interval(), n,
                                 [validity, pa.py_buffer(raw.tobytes())])


def age(args: list[Expr]) -> Expr:
    """``age(a, b)``: the interval from b to a; ``age(a)``: from a to today's midnight."""
    if len(args) == 1:
        args = [Lit(dt.datetime.combine(dt.date.today(), dt.time()), _TS), args[0]]
    a, b = (cast(_temporal(x, "age"), _TS) for x in args)
    return udf("age", _age_kernel, [a, b], pa.month_day_nano_interval(), "age")


register(Function("strftime", SCALAR, strftime, 2, 2, aliases=("time_to_str",),
                  doc="strftime(value, format): text"))
register(Function("strptime", SCALAR, strptime, 2, 2, aliases=("str_to_time",),
                  doc="strptime(text, format): a TIMESTAMP"))
register(Function("try_strptime", SCALAR, lambda a: strptime(a, lenient=True), 2, 2,
                  doc="try_strptime(text, format): NULL where the text does not match"))
register(Function("date_diff", SCALAR, date_diff, 3, 3, aliases=("datediff",),
                  doc="date_diff(part, start, end): part boundaries crossed"))
register(Function("date_add", SCALAR, date_add, 2, 2, doc="date_add(value, interval)"))
register(Function("age", SCALAR, age, 1, 2, volatility=STABLE,
                  doc="age(a, b): a - b in years, months, days; age(a): from today"))
