"""Result values as the reference runner (SQLite's ``slt_sqlite.c``) prints them.

Each value is printed by its column's type letter, whatever type the engine gave it:
``I`` as a 64-bit integer (reals truncated toward zero, text by its leading integer, as
``sqlite3_column_int64``), ``R`` as ``%.3f`` (``sqlite3_column_double``), ``T`` as text
(``sqlite3_column_text``: an integer in decimal, a real as ``%!.15g``; bytes outside
printable ASCII become ``@``). NULL is ``NULL`` in every column, the empty string
``(empty)``. SQLite has no booleans: true and false are the integers 1 and 0.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")
_LEADING_REAL = re.compile(r"^\s*([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")


def as_int(v: Any) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, (float, Decimal)):
        f = float(v)
        if math.isnan(f):
            return 0
        if f >= 9.223372036854775807e18:
            return INT64_MAX
        if f <= -9.223372036854775808e18:
            return INT64_MIN
        return int(f)  # toward zero
    m = _LEADING_INT.match(_text(v))
    return max(INT64_MIN, min(INT64_MAX, int(m.group(1)))) if m else 0


def as_real(v: Any) -> float:
    if isinstance(v, (bool, int, float, Decimal)):
        return float(v)
    m = _LEADING_REAL.match(_text(v))
    return float(m.group(1)) if m else 0.0


def real_text(f: float) -> str:
    """A real as SQLite shows it as text (``%!.15g``: always with a decimal point)."""
    if math.isinf(f):
        return "Inf" if f > 0 else "-Inf"
    s = f"{f:.15g}"
    mant, e, exp_ = s.partition("e")
    if "." not in mant:
        mant += ".0"
    if e:
        sign, digits = (exp_[0], exp_[1:]) if exp_[0] in "+-" else ("+", exp_)
        return f"{mant}e{sign}{digits.lstrip('0').rjust(2, '0')}"
    return mant


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (float, Decimal)):
        return real_text(float(v))
    if isinstance(v, bytes):
        return v.decode("latin-1")
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    return str(v)


def _printable(s: str) -> str:
    raw = s.encode("utf-8", errors="surrogateescape")
    return "".join(chr(b) if 32 <= b <= 126 else "@" for b in raw)


def format_value(v: Any, letter: str) -> str:
    """One value printed for a column of type ``letter`` (I, R or T)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):  # SQLite stores NaN as NULL
        return "NULL"
    if letter == "I":
        return str(as_int(v))
    if letter == "R":
        f = as_real(v)
        return "0.000" if f == 0 else f"{f:.3f}"  # SQLite prints -0.0 as 0.000
    if letter == "T":
        s = _text(v)
        return "(empty)" if s == "" else _printable(s)
    raise ValueError(f"unknown type letter {letter!r}")


def format_rows(table: pa.Table, types: str) -> list[list[str]]:
    """The rows of ``table`` printed by ``types`` (one letter a column)."""
    cols = [c.to_pylist() for c in table.columns]
    out = []
    for r in range(table.num_rows):
        out.append([format_value(cols[j][r], types[j]) for j in range(len(cols))])
    return out


def flatten(rows: Sequence[Sequence[str]], sort: str) -> list[str]:
    """The values in the order they are compared: rows sorted as tuples of strings
    (``rowsort``), all values sorted (``valuesort``), or as returned (``nosort``)."""
    if sort == "rowsort":
        rows = sorted(rows, key=tuple)
    values = [v for row in rows for v in row]
    if sort == "valuesort":
        values.sort()
    return values


def md5_of(values: Iterable[str]) -> str:
    """The reference hash: MD5 of every value followed by a newline."""
    h = hashlib.md5()
    for v in values:
        h.update(v.encode("utf-8", errors="surrogateescape"))
        h.update(b"\n")
    return h.hexdigest()
