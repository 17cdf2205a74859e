"""A filter's comparisons of integer-valued columns with constants (or with each other), as
integer comparisons in numpy: integers, dates (days as int32) and decimals of precision <= 18.

A ``decimal128`` column of precision <= 18 holds unscaled integers under 10**18 in absolute
value, so the low 64 bits of each (Arrow's decimals are native-endian two's complement; the
high word only extends the sign) are the unscaled value itself as an int64. A comparison
with a constant is then one integer comparison with the constant rescaled to the column's
scale, rounded the way that keeps it exact (``x < 24.005`` at scale 2 is ``x <= 2400``).
(The low word is exact for any value under 2**63 in magnitude; one stored past its
precision beyond that, from Arrow buffers nobody validated, would compare wrongly.)
Arrow's ``decimal128`` comparison costs about 2.5 ns a value, an int64 one about 0.5 (TPC-H
Q6's ``l_discount between 0.05 and 0.07 and l_quantity < 24``). Every comparison becomes a
range ``lo <= x <= hi``, so a BETWEEN is one pass, and the result is a numpy mask that the
next test refines without Arrow's kernels in between.

Two columns of one such type compared with each other (``l_commitdate < l_receiptdate``)
are a ``Pair``: one numpy comparison of their integers.

An ``is_in`` call on an integer column carrying its values as ``_values`` (as the binder's
IN lists do; the keys a join hands to its large input's scan filter,
``join.key_filtered_inputs``) is a ``Members`` test: one gather from a table of flags over
the set's span.

Only for a filter: a NULL compares as false. For AND/OR trees without NOT that keeps exactly
the rows the SQL (Kleene) result keeps, because such a tree is TRUE exactly when its TRUE
leaves make it so, whatever its NULL leaves are.
"""

from __future__ import annotations

import datetime
import sys
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import numpy as np
import pyarrow as pa

from ..expr import Call, Col, Expr, Lit

FLIPPED = {"less": "greater", "less_equal": "greater_equal", "greater": "less",
           "greater_equal": "less_equal", "equal": "equal", "not_equal": "not_equal"}

INTS = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
        pa.date32(): np.int32}

EPOCH = datetime.date(1970, 1, 1)


@dataclass(frozen=True)
class Range:
    """``lo <= x <= hi`` on the integers of column ``col`` (of type ``type``), outside it when
    ``negate``; both bounds within the values ``type`` can hold."""
    col: str
    type: pa.DataType
    lo: int
    hi: int
    negate: bool = False


@dataclass(eq=False)
class Members:
    """``x IN (values)`` on the integers of column ``col`` (an integer column; ``values`` in
    any order, repeats allowed, within the column type's range): one gather from a table of
    flags over ``values``' span when that is at most ``TABLE_SPAN`` long (``WIDE_TABLE_SPAN``
    for sets of at least ``WIDE_TABLE_VALUES`` values: a join's keys, a long IN list), else a
    binary search over them sorted. Over 65,536 keys against 57 K values spread over 6 M, per
    batch: the flags table 0.09 ms, ``np.searchsorted`` 2.5 ms, ``np.isin`` (used before)
    30 ms; against 7 K values 0.09, 1.3 and 2.5 ms. (Nothing is sorted for the flags: a join's
    147 K keys took 9 ms to make unique and sorted again, per test made.)"""
    col: str
    type: pa.DataType
    values: np.ndarray
    flags: np.ndarray | None = None  # made at the first batch, kept for the others
    sorted: np.ndarray | None = None  # ``values`` sorted, for the binary search
    lo: int = 0  # the least value, where the flags begin

    def mask(self, x: np.ndarray) -> np.ndarray:
        if not len(self.values):
            return np.zeros(len(x), bool)
        if self.flags is None and self.sorted is None:
            lo, hi = int(self.values.min()), int(self.values.max())
            if not flagged(len(self.values), lo, hi):
                self.sorted = np.sort(self.values)
            else:
                flags = np.zeros(hi - lo + 3, bool)  # the first and last: outside the span
                flags[self.values - lo + 1] = True
                self.flags, self.lo = flags, lo
        if self.sorted is not None:
            at = np.searchsorted(self.sorted, x)
            at[at == len(self.sorted)] = 0
            return self.sorted[at] == x
        lo = self.lo
        # a subtraction and a clipped gather (about half the time of a minimum and an
        # index); array arithmetic wraps, so the offset of lo - 1 is taken in two steps
        at = x.astype(np.int64, copy=False) - np.int64(lo)
        at += 1
        return np.take(self.flags, at, mode="clip")


TABLE_SPAN = 1 << 22
WIDE_TABLE_SPAN, WIDE_TABLE_VALUES = 1 << 26, 1_000
# A binary search over more values than this costs more a row than a hash join's probe
# (100 K random 64-bit keys against 3 M rows: 373 ms searched, 34 ms left to the join)
SEARCHED_VALUES = 10_000


def flagged(n: int, lo: int, hi: int) -> bool:
    """Whether ``n`` distinct values from ``lo`` to ``hi`` get a table of flags."""
    return hi - lo <= (WIDE_TABLE_SPAN if n >= WIDE_TABLE_VALUES else TABLE_SPAN)


def cheap_members(n: int, lo: int, hi: int) -> bool:
    """Whether a ``Members`` test over ``n`` distinct values from ``lo`` to ``hi`` costs
    little a row: a table of flags, or a binary search over few values."""
    return n <= SEARCHED_VALUES or flagged(n, lo, hi)


@dataclass(frozen=True)
class Pair:
    """``x fn y`` for two columns whose integers compare as their values do (one type; a
    decimal's scale is in its type): TPC-H Q12's ``l_commitdate < l_receiptdate``."""
    col: str
    other: str
    type: pa.DataType
    fn: str


PAIRED = {"less": np.less, "less_equal": np.less_equal, "greater": np.greater,
          "greater_equal": np.greater_equal, "equal": np.equal, "not_equal": np.not_equal}


@dataclass(frozen=True)
class Tree:
    """An AND (``all``) or OR of tests."""
    all: bool
    parts: tuple[Range | Members | Pair | Tree, ...]


Test = Range | Members | Pair | Tree
LEAVES = (Range, Members, Pair)


def compile_test(e: Expr) -> Test | None:
    """``e`` as a test over a column's integers, or None where it is not one."""
    if isinstance(e, Call) and e.fn in ("and_kleene", "or_kleene"):
        parts = [compile_test(a) for a in e.args]
        if any(p is None for p in parts):
            return None
        return Tree(e.fn == "and_kleene", tuple(p for p in parts if p is not None))
    if isinstance(e, Call) and e.fn == "is_in" and len(e.args) == 1:
        return members(e)
    if not (isinstance(e, Call) and e.fn in FLIPPED and len(e.args) == 2):
        return None
    a, b = e.args
    fn = e.fn
    if isinstance(a, Lit):
        a, b, fn = b, a, FLIPPED[fn]
    if not isinstance(b, Lit):
        return pair(a, b, fn)
    col = int_column(a)
    k = exact_value(col.type, b.value) if col is not None and isinstance(b, Lit) else None
    if col is None or k is None:
        return None
    return bounds(col, fn, k)


def pair(a: Expr, b: Expr, fn: str) -> Pair | None:
    """Two bare columns of one integer-valued type compared, as a ``Pair``."""
    if not (isinstance(a, Col) and isinstance(b, Col) and a.type == b.type):
        return None
    col = int_column(a)
    return None if col is None else Pair(a.id, b.id, a.type, fn)


def members(e: Call) -> Members | None:
    """``x IN (integers)`` over an integer column as a ``Members`` test (the list's values
    are the call's ``_values``, as the binder's IN lists keep them)."""
    col = e.args[0]
    values = getattr(e, "_values", None)
    if isinstance(values, np.ndarray) and isinstance(col, Col) and col.type in INTS and \
            pa.types.is_integer(col.type) and values.dtype.kind in "iu":
        # a join's keys (``join.key_filtered_inputs``), repeats allowed; the column's own
        # type, so every value is one it can hold
        return Members(col.id, col.type, values.astype(np.int64, copy=False))
    if not (isinstance(col, Col) and col.type in INTS and pa.types.is_integer(col.type) and
            values is not None and all(type(v) is int for v in values)):
        return None
    least, most = limits(col.type)  # (a value the column cannot hold matches nothing)
    kept = [v for v in values if least <= v <= most]
    return Members(col.id, col.type, np.unique(np.array(kept, np.int64)))


def int_column(e: Expr) -> Col | None:
    """The column ``e`` reads, when its values are integers numpy compares: an integer or
    date32 column, or a ``decimal128`` one of precision <= 18 (also cast exactly to a wider
    decimal, which compares as the column does)."""
    if isinstance(e, Call) and e.fn == "cast" and len(e.args) == 1 and \
            pa.types.is_decimal(e.type) and isinstance(e.args[0], Col):
        src, to = e.args[0].type, e.type
        widening = pa.types.is_decimal(src) and to.scale >= src.scale and \
            to.precision - to.scale >= src.precision - src.scale
        e = e.args[0] if widening else e
    if isinstance(e, Col) and sys.byteorder == "little" and (e.type in INTS or (
            pa.types.is_decimal128(e.type) and e.type.precision <= 18)):
        return e
    return None


def exact_value(t: pa.DataType, v: object) -> Decimal | None:
    """A constant compared with a column of type ``t``, in the column's integers (scaled for
    a decimal; days for a date), exactly; None where the comparison is not this module's."""
    if t == pa.date32():
        return Decimal((v - EPOCH).days) if type(v) is datetime.date else None
    if isinstance(v, bool) or not isinstance(v, (int, Decimal)) or \
            (isinstance(v, Decimal) and not v.is_finite()):
        return None
    if pa.types.is_decimal(t):
        with localcontext() as ctx:
            ctx.prec = 100
            return Decimal(v).scaleb(t.scale)
    return Decimal(v)


def bounds(col: Col, fn: str, k: Decimal) -> Range:
    """``x fn k`` on the integers ``x`` of ``col`` as a range, clamped to what they can be."""
    floor = int(k.to_integral_value(ROUND_FLOOR))
    ceil = int(k.to_integral_value(ROUND_CEILING))
    least, most = limits(col.type)
    lo, hi = {
        "less": (least, ceil - 1),
        "less_equal": (least, floor),
        "greater": (floor + 1, most),
        "greater_equal": (ceil, most),
        "equal": (floor, floor) if floor == ceil else (1, 0),
        "not_equal": (floor, floor) if floor == ceil else (1, 0),
    }[fn]
    if lo > hi or lo > most or hi < least:
        lo, hi = 1, 0  # nothing (clamping must not turn it into a value)
    return Range(col.id, col.type, max(lo, least), min(hi, most), fn == "not_equal")


def limits(t: pa.DataType) -> tuple[int, int]:
    """The least and greatest integer a column of ``t`` holds (every unscaled decimal of
    precision <= 18 lies strictly inside ±10**18)."""
    if pa.types.is_decimal(t):
        return -10**18, 10**18
    info = np.iinfo(INTS[t])
    return int(info.min), int(info.max)


def merged(tests: list[Test]) -> list[Test]:
    """``tests`` (a conjunction) with the ranges on one column intersected into one."""
    out: list[Test] = []
    for t in tests:
        same = next((k for k, o in enumerate(out) if isinstance(t, Range) and not t.negate
                     and isinstance(o, Range) and not o.negate and o.col == t.col), None)
        if same is None:
            out.append(t)
            continue
        o = out[same]
        assert isinstance(o, Range) and isinstance(t, Range)
        lo, hi = max(o.lo, t.lo), min(o.hi, t.hi)
        out[same] = Range(o.col, o.type, lo, hi) if lo <= hi else Range(o.col, o.type, 1, 0)
    return out


def ints(a: pa.Array) -> np.ndarray:
    """``a``'s values as numpy integers, without a copy: a decimal's low 64 bits (a strided
    view), an integer or a date's days as they are stored."""
    if pa.types.is_decimal(a.type):
        return np.frombuffer(a.buffers()[1], np.int64, count=2 * len(a),
                             offset=16 * a.offset)[::2]
    dt = np.dtype(INTS[a.type])
    return np.frombuffer(a.buffers()[1], dt, count=len(a), offset=dt.itemsize * a.offset)


def run_test(t: Test, b: pa.RecordBatch, rows: np.ndarray | None) -> np.ndarray:
    """Where ``t`` is true over ``b``'s rows (those at ``rows``, all if None); NULL is false."""
    if isinstance(t, Tree):
        out = run_test(t.parts[0], b, rows)
        for p in t.parts[1:]:
            out = out & run_test(p, b, rows) if t.all else out | run_test(p, b, rows)
        return out
    a = b.column(t.col)
    x = ints(a)
    if rows is not None:
        x = x[rows]
    if isinstance(t, Members):
        m = t.mask(x)
    elif isinstance(t, Pair):
        other = b.column(t.other)
        y = ints(other)
        m = PAIRED[t.fn](x, y if rows is None else y[rows])
        drop_nulls(m, other, rows)
    else:
        m = in_range(x, t)
        if t.negate:
            m = ~m
    drop_nulls(m, a, rows)
    return m


def drop_nulls(m: np.ndarray, a: pa.Array, rows: np.ndarray | None) -> None:
    """Clear ``m`` where ``a`` (at ``rows``, all if None) is NULL."""
    if a.null_count:
        valid = np.unpackbits(np.frombuffer(a.buffers()[0], np.uint8), count=a.offset + len(a),
                              bitorder="little")[a.offset:].view(bool)
        m &= valid if rows is None else valid[rows]


def in_range(x: np.ndarray, t: Range) -> np.ndarray:
    """``t.lo <= x <= t.hi`` in one pass: ``x - lo`` wraps around in ``x``'s width, and read
    as unsigned it is at most ``hi - lo`` exactly for the values in the range."""
    if t.lo > t.hi:
        return np.zeros(len(x), bool)
    least, most = limits(t.type)
    if t.lo == least and t.hi == most:
        return np.ones(len(x), bool)
    unsigned = np.dtype(f"u{x.dtype.itemsize}")
    return (x - x.dtype.type(t.lo)).view(unsigned) <= unsigned.type(t.hi - t.lo)


def ranges(t: Test) -> list[Range | Members | Pair]:
    """The comparisons in ``t``."""
    return [t] if isinstance(t, LEAVES) else [r for p in t.parts for r in ranges(p)]


def fits(t: Test, schema: pa.Schema) -> bool:
    """Whether every column ``t`` reads has, in ``schema``, the type ``t`` was made for."""
    types = {f.name: f.type for f in schema}
    return all(types.get(c) == r.type for r in ranges(t)
               for c in ((r.col, r.other) if isinstance(r, Pair) else (r.col,)))
