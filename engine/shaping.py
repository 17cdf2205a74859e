"""Data given to a write, shaped to its table: matched by column name and cast (``conform``),
the short path of a few rows already in shape (``small_rows``), and cut into tables of a
segment's size (``chunks``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from .catalog import TableDef
from .errors import ConstraintError, NotFound, SchemaError

Data = pa.Table | pa.RecordBatch | pa.RecordBatchReader

# Statements putting at most this many rows log them in the lean row encoding (rowcodec):
# below it, that beats an Arrow IPC stream with its schema; above, IPC's columnar write wins.
LEAN_ROWS = 64


def chunks(data: Data, rows: int) -> Iterable[pa.Table]:
    """``data`` as tables of about ``rows`` rows (a reader's batches gathered, a table sliced)."""
    if isinstance(data, pa.RecordBatchReader):
        pending: list[pa.RecordBatch] = []
        count = 0
        for batch in data:
            pending.append(batch)
            count += batch.num_rows
            if count >= rows:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
        if pending:
            yield pa.Table.from_batches(pending)
        return
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if not isinstance(data, pa.Table):
        raise SchemaError(f"cannot insert a {type(data).__name__}; give Arrow data")
    if data.num_rows <= rows:
        yield data
        return
    for start in range(0, data.num_rows, rows):
        yield data.slice(start, rows)


def small_rows(td: TableDef, data: Any) -> list[tuple] | None:
    """The rows of ``data`` as tuples in table column order, if it is a few rows (at most
    ``LEAN_ROWS``) already in the table's exact shape and every column type fits the lean
    WAL encoding; else None (take the general path). The short path of single-row commits:
    no Arrow table rebuilt, no casts. Raises on a NULL in a NOT NULL column.

    ``data`` may also be a list of Python row tuples (``pyrows``), checked value by value."""
    if type(data) is list:
        check = td.row_check if td.lean else None
        if check is None or len(data) > LEAN_ROWS:
            return None
        return [check(data[0])] if len(data) == 1 else [check(row) for row in data]
    if not (type(data) is pa.Table or type(data) is pa.RecordBatch) or not td.lean:
        return None
    n = data.num_rows
    if n > LEAN_ROWS or not td.exact_shape(data.schema):
        return None
    if n == 0:
        return []
    if type(data) is pa.Table:
        batches = data.to_batches()
        if len(batches) == 1:  # a batch's plain arrays convert faster than chunked ones
            data = batches[0]
    cols = [c.to_pylist() for c in data.columns]
    for i in td.not_null_positions:
        if None in cols[i]:
            raise ConstraintError(f"NULL in NOT NULL column {td.columns[i].name!r} of table "
                                  f"{td.qualified!r}")
    return list(zip(*cols, strict=True))


def conform(td: TableDef, data: pa.Table) -> pa.Table:
    """Match ``data`` to the table by column name: cast, fill defaults, check NOT NULL.

    Returns the physical layout; raises before anything is written.
    """
    if td.exact_shape(data.schema):
        # Already the table's shape (the common case for prepared inserts): no casts, no
        # defaults; only NOT NULL remains to check.
        for c, arr in zip(td.columns, data.columns, strict=True):
            if not c.nullable and arr.null_count:
                raise ConstraintError(f"NULL in NOT NULL column {c.name!r} of table "
                                      f"{td.qualified!r}")
        return pa.Table.from_arrays(data.columns, schema=td.data_schema)
    given = {}
    for i, n in enumerate(data.column_names):
        low = n.lower()
        if low in given:
            raise SchemaError(f"column {low!r} given more than once")
        if not td.has_column(low):
            raise NotFound.named(f"column of table {td.qualified!r}:", n,
                                 [c.name for c in td.columns])
        given[low] = i
    arrays = []
    n = data.num_rows
    for c in td.columns:
        if c.name in given:
            arr = data.column(given[c.name])
            if arr.type != c.stored:
                try:
                    arr = arr.cast(c.stored, safe=True)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                    raise SchemaError(f"column {c.name!r} of {td.qualified!r} is {c.type}; "
                                      f"cannot store {arr.type} values in it: {e}") from e
        elif c.default is not None:
            arr = pa.array([c.default], c.stored).take(pa.array(np.zeros(n, dtype=np.int64)))
        else:
            arr = pa.nulls(n, c.stored)
        if not c.nullable and arr.null_count:
            raise ConstraintError(f"NULL in NOT NULL column {c.name!r} of table "
                                  f"{td.qualified!r}")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=td.data_schema)


__all__ = ["LEAN_ROWS", "Data", "chunks", "conform", "small_rows"]
