"""Rows out of a result stream, a slice at a time.

``fetchone``/``fetchmany`` convert only the slice they need to Python tuples (column by
column, never value by value), so fetching the first rows of a large result does not
materialise it; the Arrow forms hand over the rest of the stream as Arrow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from .errors import translated

_SLICE = 1024  # rows converted at once for fetchone / small fetchmany


def to_rows(batch: pa.RecordBatch | pa.Table) -> list[tuple[Any, ...]]:
    """The rows of ``batch`` as tuples."""
    if batch.num_columns == 0:
        return [()] * batch.num_rows
    return list(zip(*(c.to_pylist() for c in batch.columns), strict=True))


class RowStream:
    """What is left of one result: the slice being fetched, the rest of its batch, and the
    reader after it."""

    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self.schema = reader.schema
        self._reader: pa.RecordBatchReader | None = reader
        self._batch: pa.RecordBatch | None = None  # the batch slices are cut from
        self._offset = 0  # rows of ``_batch`` already cut
        self._slice: pa.RecordBatch | None = None  # the slice ``_rows`` holds, as Arrow
        self._rows: list[tuple[Any, ...]] = []
        self._pos = 0  # rows of ``_rows`` fetched

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        while len(out) < size:
            if self._pos >= len(self._rows) and not self._cut(size - len(out)):
                break
            take = self._rows[self._pos:self._pos + size - len(out)]
            self._pos += len(take)
            out += take
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        out = self._rows[self._pos:]
        self._pos = len(self._rows)
        return out + to_rows(self.arrow())

    def arrow(self) -> pa.Table:
        """The rows not fetched yet, as one table."""
        return pa.Table.from_batches(list(self.batches()), self.schema)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows not fetched yet, as batches read from the stream as they are asked for."""
        if self._slice is not None and self._pos < len(self._rows):
            yield self._slice.slice(self._pos)
        self._slice, self._rows, self._pos = None, [], 0
        if self._batch is not None and self._offset < self._batch.num_rows:
            yield self._batch.slice(self._offset)
        self._batch = None
        while (batch := self._next_batch()) is not None:
            yield batch

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self.batches())

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._batch = self._slice = None
        self._rows, self._pos = [], 0

    def _cut(self, wanted: int) -> bool:
        """Convert the next slice of rows (``wanted`` of them, if the batch has that many)."""
        while self._batch is None or self._offset >= self._batch.num_rows:
            self._batch, self._offset = self._next_batch(), 0
            if self._batch is None:
                return False
        self._slice = self._batch.slice(self._offset, max(wanted, _SLICE))
        self._offset += self._slice.num_rows
        self._rows, self._pos = to_rows(self._slice), 0
        return True

    def _next_batch(self) -> pa.RecordBatch | None:
        if self._reader is None:
            return None
        with translated():
            try:
                return self._reader.read_next_batch()
            except StopIteration:
                self._reader = None
                return None
