"""``time_bucket(width, t [, offset | origin])``, DuckDB's (and TimescaleDB's): the start of
the bucket of ``width`` that holds ``t``. Buckets of days and smaller units count from
2000-01-03 (a Monday) unless an origin is given; buckets of months and years from
2000-01-01. An offset shifts the buckets' starts. The result has ``t``'s type (a DATE stays
a DATE). Computed on microseconds in numpy, a batch at a time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BindError, NotSupportedError, SqlTypeError
from ..expr import Expr, Lit, cast, is_const
from ..types import sql_name
from .interval_parts import day_micros
from .registry import SCALAR, Function, constant, register
from .udf import constant_of, udf

_MONDAY_2000 = 946_857_600_000_000  # 2000-01-03 00:00:00, microseconds since 1970
_MONTHS_TO_2000 = 360  # 1970-01 to 2000-01


def _floor_bucket(x: np.ndarray, width: int, origin: int) -> np.ndarray:
    return (x - origin) // width * width + origin  # (numpy's // floors)


def _micro_kernel(t: pa.Array, width: pa.Scalar, origin: pa.Scalar) -> pa.Array:
    x = pc.fill_null(t.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    out = _floor_bucket(x, constant_of(width).as_py(), constant_of(origin).as_py())
    return pa.array(out, pa.int64(), mask=t.is_null().to_numpy(zero_copy_only=False)) \
        .cast(pa.timestamp("us"))


def _month_kernel(t: pa.Array, width: pa.Scalar, offset: pa.Scalar) -> pa.Array:
    shift = constant_of(offset).as_py()
    x = pc.fill_null(t.cast(pa.int64()), 0).to_numpy(zero_copy_only=False) - shift
    months = x.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    start = _floor_bucket(months, constant_of(width).as_py(), _MONTHS_TO_2000)
    us = start.astype("datetime64[M]").astype("datetime64[us]").astype(np.int64)
    return pa.array(us + shift, pa.int64(),
                    mask=t.is_null().to_numpy(zero_copy_only=False)).cast(pa.timestamp("us"))


def _micros(interval: pa.MonthDayNano, what: str) -> int:
    if interval.months:
        raise NotSupportedError(f"time_bucket's {what} must not have months (it is "
                                f"{interval.months} months)")
    return day_micros(interval)


def _time_bucket(args: list[Expr]) -> Expr:
    t = args[1]
    if isinstance(args[0], Lit) and args[0].value is None:  # a NULL width: NULL
        return Lit(None, t.type if not pa.types.is_string(t.type) else pa.timestamp("us"))
    width = constant(args[0], "time_bucket's width")
    if isinstance(t, Lit) and pa.types.is_string(t.type):
        t = cast(t, pa.timestamp("us"))
    if not (pa.types.is_timestamp(t.type) or pa.types.is_date(t.type)) or \
            not isinstance(width, pa.MonthDayNano):
        raise SqlTypeError(f"time_bucket takes an INTERVAL and a DATE or TIMESTAMP, not "
                           f"{sql_name(args[0].type)} and {sql_name(t.type)}")
    third = args[2] if len(args) > 2 else None
    if third is not None and not is_const(third):
        raise NotSupportedError("time_bucket's offset or origin must be a constant")
    us = cast(t, pa.timestamp("us"))
    if width.months:
        out = _months(us, width, third)
    else:
        out = _micro_buckets(us, width, third)
    return cast(out, t.type)


def _months(us: Expr, width: pa.MonthDayNano, third: Expr | None) -> Expr:
    if width.days or width.nanoseconds or width.months < 0:
        raise BindError("time_bucket: a width of months must be a positive number of "
                        "months alone (no days or time)")
    offset = 0
    if third is not None:
        if not pa.types.is_interval(third.type):
            raise NotSupportedError("time_bucket: with a width of months the third "
                                    "argument must be an offset (an INTERVAL)")
        offset = _micros(third.value, "offset")
    return udf("time_bucket_months", _month_kernel,
               [us, Lit(width.months, pa.int64()), Lit(offset, pa.int64())],
               pa.timestamp("us"), what="time_bucket", scalars=True)


def _micro_buckets(us: Expr, width: pa.MonthDayNano, third: Expr | None) -> Expr:
    size = _micros(width, "width")
    if size <= 0:
        raise BindError("time_bucket: the width must be greater than zero")
    origin = _MONDAY_2000
    if third is not None and pa.types.is_interval(third.type):
        origin += _micros(third.value, "offset")
    elif third is not None and (pa.types.is_timestamp(third.type)
                                or pa.types.is_date(third.type)):
        origin = pa.scalar(third.value, third.type).cast(pa.timestamp("us")).cast(
            pa.int64()).as_py()
    elif third is not None:
        raise SqlTypeError(f"time_bucket's third argument is an offset (INTERVAL) or an "
                           f"origin (TIMESTAMP), not {sql_name(third.type)}")
    return udf("time_bucket_micros", _micro_kernel,
               [us, Lit(size, pa.int64()), Lit(origin, pa.int64())],
               pa.timestamp("us"), what="time_bucket", scalars=True)


register(Function("time_bucket", SCALAR, _time_bucket, 2, 3,
                  doc="time_bucket(width, t [, offset | origin]): the start of t's bucket"))
