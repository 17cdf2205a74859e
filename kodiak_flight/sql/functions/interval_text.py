"""INTERVAL values as text and back, which Arrow's cast does not do: '1 year 2 months 3 days
04:05:06.5' (DuckDB's form), read and written by vectorised kernels over whole batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError
from ..expr import Expr
from .interval_parts import fields, remainder, toward_zero
from .times import group_number
from .udf import udf

# interval units: (months, days, nanoseconds) one of them is worth
UNITS: dict[str, tuple[int, int, int]] = {}
for _names, _worth in (
        (("year", "years", "yr", "yrs", "y"), (12, 0, 0)),
        (("quarter", "quarters"), (3, 0, 0)),
        (("month", "months", "mon", "mons"), (1, 0, 0)),
        (("week", "weeks", "w"), (0, 7, 0)),
        (("day", "days", "d"), (0, 1, 0)),
        (("hour", "hours", "h", "hr", "hrs"), (0, 0, 3600 * 10**9)),
        (("minute", "minutes", "min", "mins", "m"), (0, 0, 60 * 10**9)),
        (("second", "seconds", "sec", "secs", "s"), (0, 0, 10**9)),
        (("millisecond", "milliseconds", "ms", "msec", "msecs"), (0, 0, 10**6)),
        (("microsecond", "microseconds", "us", "usec", "usecs"), (0, 0, 10**3))):
    for _n in _names:
        UNITS[_n] = _worth

_TIME = r"(?P<sign>[+-]?)(?P<h>\d+):(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{1,9}))?)?"
_NS_PER_DAY = 86_400 * 10**9


# ---------------------------------------------------------------------------- to text


def _counted(n: np.ndarray, word: str) -> pa.Array:
    """'3 days ' for n = 3 ('1 day ', '-1 day '), '' for 0."""
    text = pc.binary_join_element_wise(
        pa.array(n).cast(pa.string()), pa.array(np.where(np.abs(n) == 1, word, word + "s")),
        " ")
    return pc.if_else(pa.array(n != 0), pc.binary_join_element_wise(text, " ", ""), "")


def _clock(nanos: np.ndarray) -> pa.Array:
    """'-03:00:30', '01:02:01.5': hours (not wrapped at 24), minutes, seconds, fraction."""
    a = np.abs(nanos)
    us = (a // 1000) % 1_000_000
    parts = [pa.array(x).cast(pa.string()) for x in
             (a // (3600 * 10**9), (a // (60 * 10**9)) % 60, (a // 10**9) % 60)]
    hh, mm, ss = (pc.utf8_lpad(p, 2, "0") for p in parts)
    frac = pc.replace_substring_regex(pc.utf8_lpad(pa.array(us).cast(pa.string()), 6, "0"),
                                      "0+$", "")
    frac = pc.if_else(pa.array(us != 0), pc.binary_join_element_wise(".", frac, ""), "")
    sign = pa.array(np.where(nanos < 0, "-", ""))
    return pc.binary_join_element_wise(sign, hh, ":", mm, ":", ss, frac, "")


def text_kernel(a: pa.Array) -> pa.Array:
    m, d, n = fields(a)
    years, months = toward_zero(m, 12), remainder(m, 12)
    clock = pc.if_else(pa.array((n != 0) | ((m == 0) & (d == 0))), _clock(n), "")
    text = pc.binary_join_element_wise(_counted(years, "year"), _counted(months, "month"),
                                       _counted(d, "day"), clock, "")
    text = pc.utf8_rtrim(text, " ")
    return pc.if_else(a.is_null(), pa.scalar(None, pa.string()), text)


def interval_to_text(e: Expr) -> Expr:
    return udf("interval_text", text_kernel, [e], pa.string(), "CAST to VARCHAR")


# ---------------------------------------------------------------------------- from text


def _bad(s: pa.Array, bad: np.ndarray) -> None:
    if bad.any():
        first = s.filter(pa.array(bad))[0].as_py()
        raise ExecutionError(f"could not convert string '{first}' to INTERVAL")


def _clock_nanos(t: pa.StructArray) -> np.ndarray:
    frac = pc.utf8_rpad(pc.fill_null(t.field("f"), ""), 9, "0")
    ns = pc.cast(pc.if_else(pc.equal(frac, ""), "0", frac), pa.int64()).to_numpy(
        zero_copy_only=False)
    h, m, sec = (group_number(t, k) for k in ("h", "m", "s"))
    total = ((h * 60 + m) * 60 + sec) * 10**9 + ns
    negative = pc.equal(pc.fill_null(t.field("sign"), ""), "-").to_numpy(zero_copy_only=False)
    return np.where(negative, -total, total)


def _number_unit_pairs(text: pa.Array, n: int) -> tuple[pa.Array, pa.Array, np.ndarray,
                                                        np.ndarray, np.ndarray]:
    """The words of each text but its clock ('2y3d' as '2 y 3 d'): the numbers, the units,
    the row of each, and each row's count of words (two a pair)."""
    words = pc.replace_substring_regex(
        text, r"(?:^|\s)[+-]?\d+:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?", "")
    words = pc.replace_substring_regex(words, r"(\d)([a-z])", r"\1 \2")
    words = pc.replace_substring_regex(words, r"([a-z])([+-]?\d)", r"\1 \2")
    tokens = pc.split_pattern_regex(pc.utf8_trim_whitespace(words), r"\s+")
    flat = pc.list_flatten(tokens)
    parents = pc.list_parent_indices(tokens).to_numpy(zero_copy_only=False)
    nonempty = pc.not_equal(flat, "").to_numpy(zero_copy_only=False)
    flat, parents = flat.filter(pa.array(nonempty)), parents[nonempty]
    counts = np.bincount(parents, minlength=n)
    position = np.arange(len(parents)) - np.concatenate([[0], np.cumsum(counts)[:-1]])[parents]
    even = position % 2 == 0
    return (flat.filter(pa.array(even)), flat.filter(pa.array(~even)), parents[even],
            parents[~even], counts)


def from_text_kernel(s: pa.Array) -> pa.Array:
    """'2 years', '1 day 02:00:00', '-3 hours', '1 month ago' as intervals (a fraction of a
    month is 30 days' share, of a day 24 hours', as the INTERVAL constants count)."""
    text = pc.utf8_lower(pc.utf8_trim_whitespace(s))
    ago = pc.match_substring_regex(text, r"\sago$").to_numpy(zero_copy_only=False)
    text = pc.replace_substring_regex(text, r"\s*ago$", "")
    clock = pc.extract_regex(pc.if_else(pc.match_substring_regex(text, _TIME), text, ""),
                             r"(?:^|\s)" + _TIME + r"(?:\s|$)")
    has_clock = pc.is_valid(clock).to_numpy(zero_copy_only=False)
    nanos = np.where(has_clock, _clock_nanos(clock), 0)
    numbers, units, num_rows, unit_rows, counts = _number_unit_pairs(text, len(s))
    names = pa.array(list(UNITS))
    found = pc.index_in(units, value_set=names).to_numpy(zero_copy_only=False)
    number_ok = pc.match_substring_regex(numbers, r"^[+-]?(\d+\.?\d*|\.\d+)$").to_numpy(
        zero_copy_only=False)
    valid = s.is_valid().to_numpy(zero_copy_only=False)
    bad = valid & ((counts % 2 == 1) | ((counts == 0) & ~has_clock))
    bad[num_rows[~number_ok]] |= valid[num_rows[~number_ok]]
    bad[unit_rows[np.isnan(found.astype(float))]] = True
    _bad(s, bad & valid)
    worth = np.array(list(UNITS.values()), dtype=np.float64)[np.nan_to_num(found).astype(int)]
    value = pc.cast(numbers, pa.float64()).to_numpy(zero_copy_only=False)
    per = [np.bincount(unit_rows, weights=value * worth[:, k], minlength=len(s))
           for k in range(3)]
    months, days, ns = per[0], per[1], per[2] + nanos
    whole_months = np.trunc(months)
    days = days + (months - whole_months) * 30
    whole_days = np.trunc(days)
    ns = ns + np.round((days - whole_days) * _NS_PER_DAY)
    sign = np.where(ago, -1, 1)
    out = pa.StructArray.from_arrays(
        [pa.array((sign * whole_months).astype(np.int32)),
         pa.array((sign * whole_days).astype(np.int32)),
         pa.array((sign * ns).astype(np.int64))], ["months", "days", "nanoseconds"])
    return _as_intervals(out, ~valid)


def _as_intervals(parts: pa.StructArray, nulls: np.ndarray) -> pa.Array:
    """Month-day-nanosecond intervals from their three fields."""
    raw = np.empty(len(parts), np.dtype([("m", "<i4"), ("d", "<i4"), ("n", "<i8")]))
    raw["m"] = parts.field(0).to_numpy(zero_copy_only=False)
    raw["d"] = parts.field(1).to_numpy(zero_copy_only=False)
    raw["n"] = parts.field(2).to_numpy(zero_copy_only=False)
    validity = pa.py_buffer(np.packbits(~nulls, bitorder="little").tobytes()) \
        if nulls.any() else None
    return pa.Array.from_buffers(pa.month_day_nano_interval(), len(parts),
                                 [validity, pa.py_buffer(raw.tobytes())], null_count=-1)


def interval_from_text(e: Expr) -> Expr:
    return udf("interval_from_text", from_text_kernel, [e], pa.month_day_nano_interval(),
               "CAST to INTERVAL")

