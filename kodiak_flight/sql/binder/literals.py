"""The type a number literal gets: the one rule the binder and ``shapes`` (which takes
constants out of query text and binds them as parameters of the same types) share."""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa

from ..errors import BindError
from ..expr import Lit
from ..functions.interval_text import UNITS

MAX_DECIMAL_DIGITS = 38


def number_literal(text: str) -> Lit:
    """``text`` as SQL reads a number: an INTEGER, a BIGINT, else a DECIMAL of its digits; with a
    point, the DECIMAL of its digits; with an exponent, or past 38 digits, a DOUBLE (as
    DuckDB reads them)."""
    if any(ch in text for ch in "eE"):
        return Lit(float(text), pa.float64())
    if "." in text:
        d = Decimal(text)
        digits = len(d.as_tuple().digits)
        scale = max(0, -d.as_tuple().exponent)
        prec = max(digits, scale, 1)
        if prec > MAX_DECIMAL_DIGITS:
            return Lit(float(text), pa.float64())
        return Lit(d, pa.decimal128(prec, scale))
    if len(text.lstrip("+-")) > MAX_DECIMAL_DIGITS:
        f = float(text)
        if f in (float("inf"), float("-inf")):
            raise BindError(f"the number {text[:20]}... ({len(text)} digits) is out of "
                            "range for every numeric type")
        return Lit(f, pa.float64())
    v = int(text)
    if -2**31 <= v < 2**31:
        return Lit(v, pa.int32())
    if -2**63 <= v < 2**63:
        return Lit(v, pa.int64())
    # as many digits as it has: compared with a DECIMAL(25, 5), both fit DECIMAL(26, 5)
    return Lit(Decimal(v), pa.decimal128(len(text.lstrip("+-").lstrip("0")), 0))


_TIME = re.compile(r"^([+-]?)(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?$")


_GLUED = re.compile(r"^([+-]?\d+(?:\.\d*)?)([A-Za-z]+)$")  # '2Y', '10days'


def _interval_words(text: str, unit: str | None) -> list[str]:
    """The words of an interval text, a number glued to its unit taken apart."""
    words: list[str] = []
    for w in text.split() + ([unit] if unit else []):
        m = _GLUED.match(w)
        words.extend((m[1], m[2]) if m is not None and m[2].lower() in UNITS else (w,))
    return words


def interval_literal(text: str, unit: str | None) -> Lit:
    """An INTERVAL constant: ``INTERVAL '3' DAY``, or a text of number-unit pairs and an
    optional time (``'1 month 2 days'``, ``'1 day 02:30:00'``, ``'-1.5 hours'``,
    ``'2y 3mons'``), ``ago`` at the end negating it (PostgreSQL's). A fraction of a month
    is 30 days' share, of a day 24 hours' (as DuckDB counts)."""
    words = _interval_words(text, unit)
    ago = bool(words) and words[-1].lower() == "ago"
    words = words[:-1] if ago else words
    if not words:
        raise BindError(f"cannot parse interval {text!r}: it has no number")
    months = days = Decimal(0)
    nanos = 0
    i = 0
    while i < len(words):
        w = words[i]
        if (m := _TIME.match(w)) is not None:
            sign = -1 if m[1] == "-" else 1
            secs = int(m[2]) * 3600 + int(m[3]) * 60 + Decimal(m[4] or 0)
            nanos += sign * int(secs * 10**9)
            i += 1
            continue
        try:
            n = Decimal(w)
        except ArithmeticError:
            raise BindError(f"cannot parse interval {text!r}") from None
        if i + 1 >= len(words) or words[i + 1].lower() not in UNITS:
            shown = words[i + 1] if i + 1 < len(words) else "(none)"
            raise BindError(f"cannot parse interval {text!r}: unknown unit {shown!r}")
        mo, d, ns = UNITS[words[i + 1].lower()]
        months, days, nanos = months + n * mo, days + n * d, nanos + int(n * ns)
        i += 2
    return _interval(" ".join((text, unit or "")).strip(), months, days, nanos,
                     -1 if ago else 1)


def _interval(text: str, months: Decimal, days: Decimal, nanos: int, sign: int) -> Lit:
    """The interval of whole months, whole days and nanoseconds (the fractions carried
    down), refused where a part leaves its range (32-bit months and days, 64-bit ns)."""
    whole_months = int(months)
    days += (months - whole_months) * 30
    whole_days = int(days)
    nanos += int((days - whole_days) * 86_400 * 10**9)
    parts = (sign * whole_months, sign * whole_days, sign * nanos)
    if not (all(-2**31 <= p < 2**31 for p in parts[:2]) and -2**63 <= parts[2] < 2**63):
        raise BindError(f"interval {text!r} is out of range")
    value = pa.scalar(parts, pa.month_day_nano_interval())
    return Lit(value.as_py(), pa.month_day_nano_interval())
