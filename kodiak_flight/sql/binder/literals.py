"""The type a number literal gets: the one rule the binder and ``shapes`` (which takes
constants out of query text and binds them as parameters of the same types) share."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from ..errors import BindError
from ..expr import Lit

MAX_DECIMAL_DIGITS = 38


def number_literal(text: str) -> Lit:
    """``text`` as SQL reads a number: an INTEGER, a BIGINT, else a DECIMAL(38, 0); with a
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
    return Lit(Decimal(v), pa.decimal128(38, 0))
