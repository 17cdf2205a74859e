"""Scan predicates the engine can reason about.

pyarrow compute expressions cannot be inspected from Python, so the engine could not prune
segments by their min/max statistics or turn key predicates into B+ tree lookups if it were
handed only a ``pc.Expression``. This module is the small, inspectable form the layer above
builds for the parts of a WHERE clause it wants pushed down: column-versus-constant
comparisons, IN lists, null tests, and AND/OR/NOT of those. Each predicate converts to a
pyarrow expression for the actual filtering, so both sides always agree on semantics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_OPS = ("==", "!=", "<", "<=", ">", ">=")
_KERNELS = {"==": "equal", "!=": "not_equal", "<": "less", "<=": "less_equal", ">": "greater",
            ">=": "greater_equal"}


class Predicate:
    """Base class; combine with ``&``, ``|`` and ``~``."""

    def to_arrow(self) -> pc.Expression:
        raise TypeError(f"{type(self).__name__} cannot be converted")  # pragma: no cover

    def mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        """The predicate over ``table``'s rows (NULL where SQL says unknown), computed kernel
        by kernel: what filtering with ``to_arrow()`` gives, without starting an Acero plan
        for every batch."""
        raise TypeError(f"{type(self).__name__} cannot be evaluated")  # pragma: no cover

    def columns(self) -> set[str]:
        return set()

    def may_match(self, stats: dict[str, tuple[Any, Any, int, int]]) -> bool:
        """False only when min/max/null-count statistics prove no row can match.

        ``stats`` maps a column to ``(min, max, null_count, row_count)``; a missing column
        means "unknown", which never prunes.
        """
        return True

    def __and__(self, other: Predicate) -> Predicate:
        return And((self, other))

    def __or__(self, other: Predicate) -> Predicate:
        return Or((self, other))

    def __invert__(self) -> Predicate:
        return Not(self)


@dataclass(frozen=True)
class Compare(Predicate):
    column: str
    op: str
    value: Any

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"unknown comparison operator {self.op!r}")
        if self.value is None:
            raise ValueError("comparison with NULL is never true; use is_null()")

    def to_arrow(self) -> pc.Expression:
        f = pc.field(self.column)
        v = self.value
        return {
            "==": lambda: f == v,
            "!=": lambda: f != v,
            "<": lambda: f < v,
            "<=": lambda: f <= v,
            ">": lambda: f > v,
            ">=": lambda: f >= v,
        }[self.op]()

    def mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        col = table.column(self.column)
        if self.op in ("==", "!=") and isinstance(self.value, str):
            chunks = [flag_equal(c, self.value) for c in col.chunks]
            if chunks and all(c is not None for c in chunks):
                out = pa.chunked_array(chunks, pa.bool_())
                return out if self.op == "==" else pc.invert(out)
        return pc.call_function(_KERNELS[self.op], [col, typed_value(self.value, col.type)])

    def columns(self) -> set[str]:
        return {self.column}

    def may_match(self, stats: dict[str, tuple[Any, Any, int, int]]) -> bool:
        s = stats.get(self.column)
        if s is None:
            return True
        lo, hi, nulls, rows = s
        if rows == nulls:  # every value NULL: no comparison is true
            return False
        if lo is None or hi is None:
            return True
        v = self.value
        try:
            if self.op == "==":
                return lo <= v <= hi
            if self.op == "!=":
                return not (lo == hi == v)
            if self.op == "<":
                return lo < v
            if self.op == "<=":
                return lo <= v
            if self.op == ">":
                return hi > v
            return hi >= v
        except TypeError:  # incomparable statistics: do not prune
            return True


def typed_value(value: Any, t: pa.DataType) -> Any:
    """An integer ``value`` as a scalar of the integer column type ``t`` when ``t`` holds it:
    a Python int is an int64 scalar, and comparing a smallint column with one cast every
    value to int64 first (87 against 20 us a 65,536-row batch)."""
    if not isinstance(value, int) or isinstance(value, bool) or not pa.types.is_integer(t):
        return value
    info = np.iinfo(t.to_pandas_dtype())
    return pa.scalar(value, t) if int(info.min) <= value <= int(info.max) else value


def flag_equal(arr: pa.Array, value: str) -> pa.Array | None:
    """``arr == value`` for a one-byte ``value`` over a string column (NULL stays NULL), in
    numpy: the length from the offsets and the one byte at each start. Arrow's kernel calls
    ``memcmp`` once a value; over TPC-H Q10's ``l_returnflag = 'R'``, in 65,536-row batches,
    it took 37 ms for 6 M rows against 13 here. None for other values and types."""
    raw = value.encode()
    large = pa.types.is_large_string(arr.type)
    if len(raw) != 1 or not (large or pa.types.is_string(arr.type)):
        return None
    if not len(arr):
        return pa.array([], pa.bool_())
    width = 8 if large else 4
    offsets = np.frombuffer(arr.buffers()[1], np.int64 if large else np.int32,
                            count=len(arr) + 1, offset=width * arr.offset)
    starts = offsets[:-1]
    data = arr.buffers()[2]
    if data is None or not data.size:
        hit = np.zeros(len(arr), np.bool_)
    else:
        byte = np.take(np.frombuffer(data, np.uint8), starts, mode="clip")
        hit = (offsets[1:] - starts == 1) & (byte == raw[0])
    out = pa.array(hit)
    if arr.null_count:
        out = pc.if_else(arr.is_valid(), out, pa.scalar(None, pa.bool_()))
    return out


@dataclass(frozen=True)
class In(Predicate):
    column: str
    values: tuple

    def to_arrow(self) -> pc.Expression:
        return pc.field(self.column).isin(list(self.values))

    def mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        col = table.column(self.column)
        return pc.is_in(col, value_set=pa.array(list(self.values), type=col.type))

    def columns(self) -> set[str]:
        return {self.column}

    def may_match(self, stats: dict[str, tuple[Any, Any, int, int]]) -> bool:
        s = stats.get(self.column)
        if s is None or s[0] is None or s[1] is None:
            return True
        lo, hi = s[0], s[1]
        try:
            return any(v is not None and lo <= v <= hi for v in self.values)
        except TypeError:
            return True


@dataclass(frozen=True)
class IsNull(Predicate):
    column: str
    negated: bool = False

    def to_arrow(self) -> pc.Expression:
        f = pc.field(self.column)
        return f.is_valid() if self.negated else f.is_null()

    def mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        col = table.column(self.column)
        return pc.is_valid(col) if self.negated else pc.is_null(col)

    def columns(self) -> set[str]:
        return {self.column}

    def may_match(self, stats: dict[str, tuple[Any, Any, int, int]]) -> bool:
        s = stats.get(self.column)
        if s is None:
            return True
        nulls, rows = s[2], s[3]
        return nulls < rows if self.negated else nulls > 0


@dataclass(frozen=True)
class And(Predicate):
    parts: tuple[Predicate, ...]

    def to_arrow(self) -> pc.Expression:
        expr = self.parts[0].to_arrow()
        for p in self.parts[1:]:
            expr = expr & p.to_arrow()
        return expr

    def mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        out = self.parts[0].mask(table)
        for p in self.parts[1:]:
            out = pc.and_kleene(out, p.mask(table))
        return out

    def columns(self) -> set[str]:
        return set().union(*(p.columns() for p in self.parts))

    def may_match(self, stats: dict[str, tuple[Any, Any, int, int]]) -> bool:
        return all(p.may_match(stats) for p in self.parts)


@dataclass(frozen=True)
class Or(Predicate):
    parts: tuple[Predicate, ...]

    def to_arrow(self) -> pc.Expression:
        expr = self.parts[0].to_arrow()
        for p in self.parts[1:]:
            expr = expr | p.to_arrow()
        return expr

    def mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        out = self.parts[0].mask(table)
        for p in self.parts[1:]:
            out = pc.or_kleene(out, p.mask(table))
        return out

    def columns(self) -> set[str]:
        return set().union(*(p.columns() for p in self.parts))

    def may_match(self, stats: dict[str, tuple[Any, Any, int, int]]) -> bool:
        return any(p.may_match(stats) for p in self.parts)


@dataclass(frozen=True)
class Not(Predicate):
    part: Predicate

    def to_arrow(self) -> pc.Expression:
        return ~self.part.to_arrow()

    def mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        return pc.invert(self.part.mask(table))

    def columns(self) -> set[str]:
        return self.part.columns()
    # may_match stays True: negation of a "maybe" proves nothing.


class _Column:
    """Builder: ``col("a") > 5`` makes ``Compare("a", ">", 5)``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, v: Any) -> Predicate:  # type: ignore[override]
        return Compare(self.name, "==", v)

    def __ne__(self, v: Any) -> Predicate:  # type: ignore[override]
        return Compare(self.name, "!=", v)

    def __lt__(self, v: Any) -> Predicate:
        return Compare(self.name, "<", v)

    def __le__(self, v: Any) -> Predicate:
        return Compare(self.name, "<=", v)

    def __gt__(self, v: Any) -> Predicate:
        return Compare(self.name, ">", v)

    def __ge__(self, v: Any) -> Predicate:
        return Compare(self.name, ">=", v)

    def isin(self, values: Any) -> Predicate:
        return In(self.name, tuple(values))

    def is_null(self) -> Predicate:
        return IsNull(self.name)

    def is_valid(self) -> Predicate:
        return IsNull(self.name, negated=True)

    __hash__ = None  # type: ignore[assignment]


def col(name: str) -> _Column:
    return _Column(name)


def key_bounds(pred: Predicate | None, column: str) -> tuple[Any, Any, bool, bool, tuple | None]:
    """The range a conjunctive predicate allows for ``column``.

    Returns ``(lo, hi, lo_inclusive, hi_inclusive, in_values)``; ``None`` bounds mean
    unbounded, and ``in_values`` is the tuple of allowed values when the predicate pins the
    column to an equality or IN list. Only top-level AND parts are used: anything under OR or
    NOT is left to the filter.
    """
    lo = hi = None
    lo_inc = hi_inc = True
    values: tuple | None = None
    parts = pred.parts if isinstance(pred, And) else (pred,) if pred is not None else ()
    for p in parts:
        if isinstance(p, And):
            sub = key_bounds(p, column)
            if sub[4] is not None:
                values = sub[4] if values is None else tuple(v for v in values if v in sub[4])
            lo, lo_inc = _tighter_lo(lo, lo_inc, sub[0], sub[2])
            hi, hi_inc = _tighter_hi(hi, hi_inc, sub[1], sub[3])
        elif isinstance(p, Compare) and p.column == column:
            if p.op == "==":
                values = (p.value,) if values is None else tuple(v for v in values if v == p.value)
            elif p.op in (">", ">="):
                lo, lo_inc = _tighter_lo(lo, lo_inc, p.value, p.op == ">=")
            elif p.op in ("<", "<="):
                hi, hi_inc = _tighter_hi(hi, hi_inc, p.value, p.op == "<=")
        elif isinstance(p, In) and p.column == column:
            vals = tuple(v for v in p.values if v is not None)
            values = vals if values is None else tuple(v for v in values if v in vals)
    return lo, hi, lo_inc, hi_inc, values


def _tighter_lo(lo: Any, inc: bool, new: Any, new_inc: bool) -> tuple[Any, bool]:
    if new is None:
        return lo, inc
    if lo is None or new > lo or (new == lo and not new_inc):
        return new, new_inc
    return lo, inc


def _tighter_hi(hi: Any, inc: bool, new: Any, new_inc: bool) -> tuple[Any, bool]:
    if new is None:
        return hi, inc
    if hi is None or new < hi or (new == hi and not new_inc):
        return new, new_inc
    return hi, inc
