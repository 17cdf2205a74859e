"""``make_time(h, m, s)`` and ``make_timestamp(y, mo, d, h, mi, s)`` /
``make_timestamp(microseconds)``, DuckDB's: built from columns by vectorised kernels; a
part out of range is an error, as ``make_date``'s is."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError, SqlTypeError
from ..expr import Expr, Lit, call, cast
from ..types import is_numeric, sql_name
from .calendar_names import make_date_kernel
from .registry import SCALAR, Function, register
from .udf import udf

_US = 1_000_000


def _numbers(name: str, args: list[Expr], last_float: bool) -> list[Expr]:
    """The parts as BIGINT (the seconds, last, as DOUBLE where ``last_float``)."""
    for a in args:
        if not (is_numeric(a.type) or pa.types.is_null(a.type)):
            raise SqlTypeError(f"{name} is not defined for {sql_name(a.type)} (it takes "
                               "numbers)")
    out = [cast(a, pa.int64()) for a in args]
    if last_float:
        out[-1] = cast(args[-1], pa.float64())
    return out


def _time_of_day(h: pa.Array, m: pa.Array, s: pa.Array, what: str) -> pa.Array:
    """Microseconds since midnight of (hour, minute, seconds); NULL where a part is."""
    hh, mm = (pc.fill_null(a, 0).to_numpy(zero_copy_only=False) for a in (h, m))
    ss = pc.fill_null(s, 0.0).to_numpy(zero_copy_only=False)
    nulls = pc.or_(pc.or_(h.is_null(), m.is_null()), s.is_null()).to_numpy(
        zero_copy_only=False)
    bad = ~nulls & ((hh < 0) | (hh > 23) | (mm < 0) | (mm > 59) | ~(ss >= 0) | (ss >= 60))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ExecutionError(f"{what}: {hh[i]}:{mm[i]}:{ss[i]} is not a time of day")
    us = (hh * 3600 + mm * 60) * _US + np.round(ss * _US).astype(np.int64)
    return pa.array(np.where(nulls, 0, us), pa.int64(), mask=nulls)


def make_time_kernel(h: pa.Array, m: pa.Array, s: pa.Array) -> pa.Array:
    return _time_of_day(h, m, s, "make_time").cast(pa.time64("us"))


def make_timestamp_kernel(y: pa.Array, mo: pa.Array, d: pa.Array, h: pa.Array, mi: pa.Array,
                          s: pa.Array) -> pa.Array:
    days = make_date_kernel(y, mo, d).cast(pa.int32()).cast(pa.int64())
    us = pc.add(pc.multiply(days, 86_400 * _US), _time_of_day(h, mi, s, "make_timestamp"))
    return us.cast(pa.timestamp("us"))


def _make_time(args: list[Expr]) -> Expr:
    return udf("make_time", make_time_kernel, _numbers("make_time", args, True),
               pa.time64("us"))


def _make_timestamp(args: list[Expr]) -> Expr:
    if len(args) == 2 and isinstance(args[1], Lit) and args[1].value == 6:
        args = args[:1]  # (sqlglot's reading: a Unix time at the scale of microseconds)
    if len(args) == 1:  # microseconds since 1970-01-01
        return call("cast", [_numbers("make_timestamp", args, False)[0]],
                    pc.CastOptions(pa.timestamp("us")))
    if len(args) != 6:
        raise SqlTypeError("make_timestamp takes microseconds, or year, month, day, hour, "
                           "minute and seconds")
    return udf("make_timestamp", make_timestamp_kernel,
               _numbers("make_timestamp", args, True), pa.timestamp("us"))


register(Function("make_time", SCALAR, _make_time, 3, 3,
                  doc="make_time(hour, minute, seconds)"))
register(Function("make_timestamp", SCALAR, _make_timestamp, 1, 6,
                  doc="make_timestamp(y, mo, d, h, mi, seconds) or (microseconds)"))
