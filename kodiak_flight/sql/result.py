"""What running a statement gives back: a schema, a stream of batches, a row count."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass
class Result:
    schema: pa.Schema
    reader: pa.RecordBatchReader | None
    rowcount: int  # rows written; -1 where SQL has no count (queries, most DDL)
    table: pa.Table | None = None  # the whole result, when it was computed in memory anyway


def done() -> Result:
    """The result of a statement with neither rows nor a count (DDL, BEGIN, USE)."""
    return Result(pa.schema([]), None, -1)


def written(n: int | pa.Table) -> Result:
    """A write's result: its row count, or the table its RETURNING clause asks for."""
    if isinstance(n, pa.Table):
        return Result(n.schema, n.to_reader(), n.num_rows, n)
    return Result(pa.schema([]), None, n)


def rows(out: pa.Table | pa.RecordBatchReader) -> Result:
    """A query's result, streamed or already in memory."""
    if isinstance(out, pa.Table):
        return Result(out.schema, out.to_reader(), -1, out)
    return Result(out.schema, out, -1)
