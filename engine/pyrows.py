"""Rows given as Python tuples (``db.insert("t", [(1, 0.5, "a")])``), values in column order.

A single-row commit from Python code has its values as Python objects already; wrapping them
in a one-row Arrow table only to take them out again cost a fifth of the commit. For a few
rows (at most ``LEAN_ROWS``) of a table whose columns are all of the plain types the lean
WAL encoding stores, each value is checked here against its column (exact Python type,
integer range, NOT NULL) and the tuples go straight to the write buffer, holding exactly the
values ``to_pylist`` of the equivalent Arrow table would give. Other tables, and more rows,
get an Arrow table built from the rows (one conversion per column in C++, no Python loop
over the rows), checked by Arrow's conversion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .errors import ConstraintError, SchemaError

if TYPE_CHECKING:
    from .catalog import ColumnDef, TableDef

Check = Callable[[Any], Any]  # a value in, the value to store out (or an exception)

_INT_RANGES = {pa.int8(): 8, pa.int16(): 16, pa.int32(): 32, pa.int64(): 64}
_UINT_RANGES = {pa.uint8(): 8, pa.uint16(): 16, pa.uint32(): 32, pa.uint64(): 64}


def checks_for(td: TableDef) -> tuple[Check, ...] | None:
    """One check per column, or None when some column's type takes the Arrow path."""
    out = []
    for c in td.columns:
        check = _check(td, c)
        if check is None:
            return None
        out.append(check)
    return tuple(out)


def _bad(td: TableDef, c: ColumnDef, v: Any) -> SchemaError:
    return SchemaError(f"column {c.name!r} of table {td.qualified!r} is {c.type}; cannot "
                       f"store the {type(v).__name__} value {v!r} in it")


def _check(td: TableDef, c: ColumnDef) -> Check | None:
    t, nullable = c.stored, c.nullable

    def none() -> None:
        if not nullable:
            raise ConstraintError(f"NULL in NOT NULL column {c.name!r} of table "
                                  f"{td.qualified!r}")

    def typed(kind: type, lo: int | None = None, hi: int | None = None) -> Check:
        def check(v: Any) -> Any:
            if type(v) is kind and (lo is None or lo <= v <= hi):
                return v
            if v is None:
                return none()
            raise _bad(td, c, v)
        return check

    if t in _INT_RANGES:
        bits = _INT_RANGES[t]
        return typed(int, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    if t in _UINT_RANGES:
        return typed(int, 0, (1 << _UINT_RANGES[t]) - 1)
    if t == pa.float64():
        def check_float(v: Any) -> Any:
            if type(v) is float:
                return v
            if type(v) is int:  # as Arrow converts it
                try:
                    return float(v)
                except OverflowError:
                    raise _bad(td, c, v) from None
            if v is None:
                return none()
            raise _bad(td, c, v)
        return check_float
    if t in (pa.string(), pa.large_string()):
        return typed(str)
    if t in (pa.binary(), pa.large_binary()):
        return typed(bytes)
    if t == pa.bool_():
        return typed(bool)
    return None  # float32, fixed-size binary, temporal, decimal, nested...: Arrow converts


def checked_rows(td: TableDef, rows: list, checks: tuple[Check, ...]) -> list[tuple]:
    """``rows`` as tuples of the values to store; raises naming the column."""
    n = len(checks)
    out = []
    for row in rows:
        if len(row) != n:
            raise _width(td, len(row))
        out.append(tuple([check(v) for check, v in zip(checks, row, strict=True)]))
    return out


def rows_table(td: TableDef, rows: list) -> pa.Table:
    """``rows`` as an Arrow table with the table's column names and stored types."""
    widths = set(map(len, rows))
    if widths - {len(td.columns)}:
        raise _width(td, min(widths - {len(td.columns)}))
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(td.columns)
    arrays = []
    for c, values in zip(td.columns, columns, strict=True):
        try:
            arrays.append(pa.array(values, type=c.stored))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
            raise SchemaError(f"column {c.name!r} of table {td.qualified!r} is {c.type}; "
                              f"cannot store the given values: {exc}") from None
    return pa.Table.from_arrays(arrays, names=[c.name for c in td.columns])


def _width(td: TableDef, got: int) -> SchemaError:
    return SchemaError(f"a row of {got} values for table {td.qualified!r}, which has "
                       f"{len(td.columns)} columns (rows are tuples in column order)")
