"""The table functions ``range`` and ``generate_series`` (DuckDB's): a column of numbers or
timestamps from ``start`` to ``stop`` by ``step``; ``range`` stops before ``stop``,
``generate_series`` includes it.

The binder binds the arguments (constants) and asks :func:`series` for the column's type and
a generator of record batches; rows are made a batch at a time with numpy (``arange``), so
``count(*) from range(100000000)`` streams without one giant array.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from sqlglot import exp

from ..errors import BindError, SqlTypeError
from ..types import sql_name
from .interval_parts import US_PER_DAY, day_micros
from .registry import TABLE, Function, register

BATCH_ROWS = 1 << 16
_EPOCH = dt.datetime(1970, 1, 1)


@dataclass(frozen=True)
class SeriesCall:
    """A call of ``range`` or ``generate_series`` as written (arguments not yet bound)."""

    name: str
    args: list[exp.Expression]

    @property
    def inclusive(self) -> bool:
        return self.name == "generate_series"


@dataclass(frozen=True)
class Series:
    """A bound series: its column type, row count (an upper bound for month steps) and a
    maker of its batches (each a single array of ``type``)."""

    type: pa.DataType
    rows: int
    batches: Callable[[], Iterator[pa.Array]]


def series_type(name: str, types: list[pa.DataType]) -> pa.DataType:
    """The column type of ``name`` over arguments of ``types`` (DuckDB's: BIGINT, or
    TIMESTAMP[TZ] for dates and timestamps), or a SqlTypeError naming the call."""
    if all(pa.types.is_integer(t) or pa.types.is_null(t) for t in types):
        return pa.int64()
    if len(types) == 3 and all(_is_time(t) or pa.types.is_null(t) for t in types[:2]) and \
            (pa.types.is_interval(types[2]) or pa.types.is_null(types[2])):
        tz = next((t.tz for t in types[:2] if pa.types.is_timestamp(t) and t.tz), None)
        return pa.timestamp("us", tz=tz)
    shown = ", ".join(sql_name(t) for t in types)
    raise SqlTypeError(f"{name}({shown}) is not defined: {name} takes BIGINT (stop), "
                       f"(start, stop) or (start, stop, step), or TIMESTAMP start and stop "
                       f"with an INTERVAL step")


def series(name: str, values: list[Any], types: list[pa.DataType]) -> Series:
    """The series ``name(values...)``; ``types`` are the bound argument types."""
    t = series_type(name, types)
    inclusive = name == "generate_series"
    if t == pa.int64():
        return _integers(name, values, inclusive)
    return _timestamps(name, values, t, inclusive)


def _is_time(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def _empty(t: pa.DataType) -> Series:
    return Series(t, 0, lambda: iter(()))


def _integers(name: str, values: list[Any], inclusive: bool) -> Series:
    if any(v is None for v in values):
        return _empty(pa.int64())
    start, stop, step = (0, values[0], 1) if len(values) == 1 else \
        (values[0], values[1], values[2] if len(values) == 3 else 1)
    _check_int64(name, start, stop, step)
    return _arithmetic(name, pa.int64(), start, stop, step, inclusive)


def _check_int64(name: str, *values: int) -> None:
    for v in values:
        if not -(1 << 63) <= v < (1 << 63):
            raise SqlTypeError(f"{name}(): {v} is out of range for BIGINT")


def _arithmetic(name: str, t: pa.DataType, start: int, stop: int, step: int,
                inclusive: bool) -> Series:
    """``start, start + step, ...`` up to ``stop``, over int64 (numbers or microseconds)."""
    if step == 0:
        raise BindError(f"{name}(): the step must not be zero")
    span = stop - start
    if inclusive:
        n = span // step + 1
    else:
        n = -(-span // step)  # ceiling
    n = max(0, n)

    def batches() -> Iterator[pa.Array]:
        for first in range(0, n, BATCH_ROWS):
            m = min(BATCH_ROWS, n - first)
            base = start + first * step
            # int64 arithmetic wraps, and every true value fits: the wrapped result is exact
            with np.errstate(over="ignore"):
                out = np.arange(m, dtype=np.int64) * np.int64(step) + np.int64(base)
            yield pa.array(out).cast(t) if t != pa.int64() else pa.array(out)
    return Series(t, n, batches)


def _timestamps(name: str, values: list[Any], t: pa.DataType, inclusive: bool) -> Series:
    """Timestamps (DATE arguments become TIMESTAMP, as in DuckDB) stepped by an interval."""
    if any(v is None for v in values):
        return _empty(t)
    start, stop = (_micros(v) for v in values[:2])
    step = values[2]
    months, days, nanos = step.months, step.days, step.nanoseconds
    if months == 0:
        return _arithmetic(name, t, start, stop, day_micros(step), inclusive)
    if days or nanos:
        raise SqlTypeError(f"{name}(): an INTERVAL step mixing months with days or time "
                           "is not supported")
    return _monthly(t, start, stop, months, inclusive)


def _micros(v: Any) -> int:
    """Microseconds since the epoch of a date or (naive or aware) datetime."""
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        d = v - _EPOCH
    else:
        d = dt.datetime(v.year, v.month, v.day) - _EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def _monthly(t: pa.DataType, start: int, stop: int, months: int, inclusive: bool) -> Series:
    """Steps of whole months, added one after another as DuckDB does: the day of month is
    clamped to each month's length and stays clamped (Jan 31, Feb 29, Mar 29, ...)."""
    day0, tod = divmod(start, US_PER_DAY)
    d0 = np.datetime64(day0, "D")
    m0 = d0.astype("datetime64[M]")
    dom0 = int((d0 - m0).astype(np.int64)) + 1
    span = (np.datetime64(stop // US_PER_DAY, "D").astype("datetime64[M]") - m0
            ).astype(np.int64)
    n = max(0, int(span) // months + 2)
    k = np.arange(n, dtype=np.int64)
    month = m0 + k * months
    length = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")
              ).astype(np.int64)
    dom = np.minimum.accumulate(np.minimum(length, dom0))
    micros = (month.astype("datetime64[D]").astype(np.int64) + dom - 1) * US_PER_DAY + tod
    keep = (micros <= stop if inclusive else micros < stop) if months > 0 else \
        (micros >= stop if inclusive else micros > stop)
    out = micros[:int(np.argmin(keep)) if not keep.all() else n]
    arr = pa.array(out).cast(t)
    return Series(t, len(arr), lambda: iter([arr] if len(arr) else []))


def _build(name: str, args: list[exp.Expression]) -> SeriesCall:
    return SeriesCall(name, args)


register(Function("range", TABLE, _build, 1, 3, doc="range([start,] stop [, step]): "
                  "numbers (or timestamps by an interval) from start up to, not including, "
                  "stop"))
register(Function("generate_series", TABLE, _build, 1, 3, doc="generate_series([start,] "
                  "stop [, step]): like range, stop included"))
