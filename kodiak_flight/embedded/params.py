"""Python parameter values as the Arrow parameter batch the SQL layer binds.

One row of values (``execute``) or many (``executemany``) become one RecordBatch, a column per
placeholder, so a statement runs once for all rows (an ``INSERT ... VALUES (?, ?)`` is one
vectorised insert). An Arrow table or batch passes through as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from .errors import InterfaceError, ProgrammingError

Params = Sequence[Any] | pa.RecordBatch | pa.Table | None


def one_row(params: Params) -> pa.RecordBatch | pa.Table | None:
    """The batch for one execution's parameters (None: no parameters)."""
    if params is None or isinstance(params, pa.RecordBatch | pa.Table):
        return params
    row = _as_row(params)
    if not row:
        return None
    return pa.record_batch([_column(i, [v]) for i, v in enumerate(row)], names=_names(len(row)))


def many_rows(seq: Iterable[Params]) -> tuple[pa.RecordBatch | pa.Table | None, int]:
    """The batch for ``executemany`` (one row per parameter sequence; None when the rows
    hold no values) and the number of rows."""
    if isinstance(seq, pa.RecordBatch | pa.Table):
        return (seq if seq.num_columns else None), seq.num_rows
    rows = [_as_row(r) for r in seq]
    if not rows:
        return None, 0
    width = len(rows[0])
    for n, r in enumerate(rows, 1):
        if len(r) != width:
            raise ProgrammingError(f"parameter row {n} has {len(r)} values; the first has "
                                   f"{width}")
    if not width:
        return None, len(rows)
    columns = [_column(i, list(values)) for i, values in enumerate(zip(*rows, strict=True))]
    return pa.record_batch(columns, names=_names(width)), len(rows)


def count(params: pa.RecordBatch | pa.Table | None) -> int:
    return 0 if params is None else params.num_columns


def _as_row(params: Any) -> Sequence[Any]:
    if isinstance(params, Mapping):
        raise ProgrammingError("parameters are positional (? or $1, $2 ...): pass a list or "
                               "tuple, not a mapping")
    if isinstance(params, str | bytes) or not isinstance(params, Sequence):
        raise ProgrammingError(f"parameters must be a list or tuple of values, not "
                               f"{type(params).__name__}")
    return params


def _column(i: int, values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        kinds = sorted({type(v).__name__ for v in values if v is not None})
        what = " and ".join(kinds) if len(kinds) > 1 else f"type {kinds[0]}" if kinds else "?"
        raise InterfaceError(f"parameter {i + 1}: cannot bind values of {what}") from None


def _names(n: int) -> list[str]:
    return [f"${i}" for i in range(1, n + 1)]
