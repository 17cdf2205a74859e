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


def row_check_for(td: TableDef) -> Callable[[Any], tuple] | None:
    """A function checking one row (any sequence) and returning the tuple to store, or None
    when some column's type takes the Arrow path.

    The function is generated per table, like ``collections.namedtuple`` does: one inline
    type test per column, calling that column's full check only for what the test does not
    pass (None, a value to convert, an error to raise). A single-row commit's checks then
    cost one call instead of one per column."""
    checks: list[Check] = []
    tests: list[str] = []
    for c in td.columns:
        made = _check(td, c)
        if made is None:
            return None
        checks.append(made[0])
        tests.append(made[1])
    n = len(checks)
    names = [f"v{i}" for i in range(n)]
    lines = ["def check_row(row):",
             f"    if len(row) != {n}:",
             "        raise width(len(row))"]
    if n:
        lines.append(f"    {', '.join(names)}, = row")
    for i, test in enumerate(tests):
        v = names[i]
        lines.append(f"    if not ({test.format(v=v)}):")
        lines.append(f"        {v} = c{i}({v})")
    lines.append(f"    return ({''.join(v + ', ' for v in names)})")
    scope: dict[str, Any] = {f"c{i}": f for i, f in enumerate(checks)}
    scope["width"] = lambda got: _width(td, got)
    exec("\n".join(lines), scope)  # noqa: S102 - source built above from fixed templates
    return scope["check_row"]


def _bad(td: TableDef, c: ColumnDef, v: Any) -> SchemaError:
    return SchemaError(f"column {c.name!r} of table {td.qualified!r} is {c.type}; cannot "
                       f"store the {type(v).__name__} value {v!r} in it")


def _check(td: TableDef, c: ColumnDef) -> tuple[Check, str] | None:
    """The column's full check, and a Python expression (``{v}``: the value) true of the
    values it passes unchanged."""
    t, nullable = c.stored, c.nullable

    def none() -> None:
        if not nullable:
            raise ConstraintError(f"NULL in NOT NULL column {c.name!r} of table "
                                  f"{td.qualified!r}")

    def typed(kind: type, lo: int | None = None, hi: int | None = None) -> tuple[Check, str]:
        def check(v: Any) -> Any:
            if type(v) is kind and (lo is None or lo <= v <= hi):
                return v
            if v is None:
                return none()
            raise _bad(td, c, v)
        test = f"type({{v}}) is {kind.__name__}"
        if lo is not None:
            test += f" and {lo} <= {{v}} <= {hi}"
        return check, test

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
        return check_float, "type({v}) is float"
    if t in (pa.string(), pa.large_string()):
        return typed(str)
    if t in (pa.binary(), pa.large_binary()):
        return typed(bytes)
    if t == pa.bool_():
        return typed(bool)
    return None  # float32, fixed-size binary, temporal, decimal, nested...: Arrow converts


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
