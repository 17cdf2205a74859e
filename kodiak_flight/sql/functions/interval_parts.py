"""EXTRACT of an INTERVAL's parts (DuckDB's: years and months from its months, days from its
days, the time parts from its nanoseconds, each truncated toward zero), read from the
month-day-nanosecond values' buffer by vectorised kernels: Arrow's compute has no access to
an interval's fields."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from ..errors import NotSupportedError
from ..expr import Expr, call
from .udf import udf

_FIELDS = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])
_NS = {"hour": 3_600 * 10**9, "minute": 60 * 10**9, "second": 10**9,
       "millisecond": 10**6, "microsecond": 10**3}
# the part's unit, and how many of them the next larger part holds (its remainder's modulus)
_TIME_PARTS = {"hour": None, "minute": 60, "second": 60, "millisecond": 60_000,
               "microsecond": 60_000_000}
_YEAR_PARTS = {"year": 1, "decade": 10, "century": 100, "millennium": 1000}


def fields(a: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The months, days and nanoseconds of each interval (0 where NULL)."""
    buf = a.buffers()[1]
    if buf is None or not len(a):
        zeros = np.zeros(len(a), np.int64)
        return zeros, zeros, zeros
    raw = np.frombuffer(buf, _FIELDS, count=len(a), offset=a.offset * _FIELDS.itemsize)
    return (raw["months"].astype(np.int64), raw["days"].astype(np.int64),
            raw["nanos"].astype(np.int64))


def toward_zero(x: np.ndarray, d: int) -> np.ndarray:
    """``x / d`` truncated toward zero (numpy's ``//`` floors)."""
    return np.sign(x) * (np.abs(x) // d)


def remainder(x: np.ndarray, d: int) -> np.ndarray:
    """What ``toward_zero`` leaves: the sign of ``x``, as SQL's %."""
    return x - toward_zero(x, d) * d


def _part_of(part: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    if part in _YEAR_PARTS:
        return lambda m, d, n: toward_zero(toward_zero(m, 12), _YEAR_PARTS[part])
    if part == "month":
        return lambda m, d, n: remainder(m, 12)
    if part == "quarter":
        return lambda m, d, n: toward_zero(remainder(m, 12), 3) + 1
    if part == "day":
        return lambda m, d, n: d
    if part in _TIME_PARTS:
        modulus = _TIME_PARTS[part]
        return lambda m, d, n: toward_zero(n, _NS[part]) if modulus is None else \
            remainder(toward_zero(n, _NS[part]), modulus)
    raise NotSupportedError(f"EXTRACT({part.upper()}) of an INTERVAL is not supported")


def extract(part: str, e: Expr) -> Expr:
    """``EXTRACT(part FROM interval)``, a BIGINT (``epoch``: seconds, a DOUBLE)."""
    part = part.lower()
    if part == "epoch":
        return udf("interval_epoch", _epoch_kernel, [e], pa.float64(), "EXTRACT(EPOCH)")
    compute = _part_of(part)

    def kernel(a: pa.Array) -> pa.Array:
        return pa.array(compute(*fields(a)), pa.int64(), mask=_nulls(a))
    return udf(f"interval_{part}", kernel, [e], pa.int64(), f"EXTRACT({part.upper()})")


def _nulls(a: pa.Array) -> np.ndarray | None:
    return a.is_null().to_numpy(zero_copy_only=False) if a.null_count else None


def _epoch_kernel(a: pa.Array) -> pa.Array:
    return pa.array(epoch_seconds(*fields(a)), pa.float64(), mask=_nulls(a))


def epoch_seconds(m: np.ndarray, d: np.ndarray, n: np.ndarray) -> np.ndarray:
    """An interval's seconds as PostgreSQL and DuckDB count them: a year is 365.25 days,
    another month 30 days."""
    days = toward_zero(m, 12) * 365.25 + remainder(m, 12) * 30 + d
    return days * 86_400 + n / 1e9


_NS_PER_DAY = 86_400 * 10**9
US_PER_DAY = 86_400_000_000


def day_micros(v: pa.MonthDayNano) -> int:
    """An interval constant's days and time as microseconds (its months left aside)."""
    return v.days * US_PER_DAY + v.nanoseconds // 1000


def _days_key(a: pa.Array) -> pa.Array:
    m, d, n = fields(a)
    return pa.array(m * 30 + d + np.floor_divide(n, _NS_PER_DAY), pa.int64(), mask=_nulls(a))


def _nanos_key(a: pa.Array) -> pa.Array:
    return pa.array(np.mod(fields(a)[2], _NS_PER_DAY), pa.int64(), mask=_nulls(a))


def compare(op: str, a: Expr, b: Expr) -> Expr:
    """``a op b`` of intervals as PostgreSQL and DuckDB compare them: a month is 30 days,
    a day 24 hours ('30 days' = '1 month'); by (whole days, nanoseconds into the day)."""
    (da, na), (db, nb) = ((udf("interval_days_key", _days_key, [x], pa.int64()),
                           udf("interval_nanos_key", _nanos_key, [x], pa.int64()))
                          for x in (a, b))
    same_day = call("equal", [da, db])
    if op in ("equal", "not_equal"):
        same = call("and_kleene", [same_day, call("equal", [na, nb])])
        return same if op == "equal" else call("invert", [same])
    strict = op.replace("_equal", "")  # less_equal -> less: the days decide unless equal
    return call("or_kleene", [call(strict, [da, db]),
                              call("and_kleene", [same_day, call(op, [na, nb])])])
