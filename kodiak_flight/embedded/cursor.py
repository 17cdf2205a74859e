"""PEP 249 cursors over an embedded connection.

A cursor runs its statements in its connection's session, so all cursors of a connection share
its transaction. A query's rows stream: ``fetchone``/``fetchmany`` read the result a slice at a
time, and ``arrow()``/``df()``/``pl()`` take what is left as Arrow, pandas or Polars.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from kodiak_flight.sql import Result

from . import frames, params
from .dbapi import describe
from .errors import NotSupportedError, ProgrammingError
from .stream import RowStream

if TYPE_CHECKING:
    from .connection import Connection


class Cursor:
    """One result at a time: ``execute`` then ``fetch*``, ``description``, ``rowcount``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self.description: list[tuple] | None = None
        self.rowcount = -1  # rows written by the last statement; -1 for queries and DDL
        self.lastrowid = None  # Kodiak tables have no row ids
        self._stream: RowStream | None = None
        self._closed = False

    # ------------------------------------------------------------------ running statements

    def execute(self, operation: str, parameters: params.Params = None) -> Cursor:
        """Run one statement (or a script of several, without parameters); ``parameters``
        bind its ``?`` / ``$n`` placeholders in order. Returns the cursor."""
        self._check_open()
        self._reset()
        self._take(self.connection.run(operation, params.one_row(parameters)))
        return self

    def executemany(self, operation: str, seq_of_parameters: Iterable[params.Params]
                    ) -> Cursor:
        """Run a writing statement once per parameter row, all rows bound as one batch (an
        ``INSERT ... VALUES (?, ...)`` inserts them in one go); also takes an Arrow table."""
        self._check_open()
        self._reset()
        batch, n = params.many_rows(seq_of_parameters)
        if n == 0:
            self.rowcount = 0
            return self
        if batch is None:  # rows without values: run the statement n times
            total = sum(max(self.connection.run(operation, None).rowcount, 0)
                        for _ in range(n))
            self.rowcount = total
            return self
        result = self.connection.run(operation, batch)
        if result.reader is not None and len(result.schema):
            result.reader.close()
            raise ProgrammingError("executemany runs statements that return no rows; "
                                   "run a query with execute")
        self.rowcount = result.rowcount
        return self

    def _take(self, result: Result) -> None:
        self.description = describe(result.schema) if result.reader is not None else None
        if self.description is None:
            self.rowcount = result.rowcount
            if result.reader is not None:
                result.reader.close()
            return
        self.rowcount = result.rowcount if result.table is not None else -1
        self._stream = RowStream(result.reader)

    # ------------------------------------------------------------------ fetching

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._rows().fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._rows().fetchmany(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows().fetchall()

    def fetch_arrow_table(self) -> pa.Table:
        """The rows not fetched yet as an Arrow table."""
        return self._rows().arrow()

    arrow = to_arrow_table = fetch_arrow_table

    def fetch_record_batch(self) -> pa.RecordBatchReader:
        """The rows not fetched yet as a stream of Arrow record batches."""
        return self._rows().reader()

    to_arrow_reader = fetch_record_batch

    def df(self) -> Any:
        """The rows not fetched yet as a pandas DataFrame."""
        return frames.to_pandas(self.fetch_arrow_table())

    fetchdf = df

    def pl(self) -> Any:
        """The rows not fetched yet as a Polars DataFrame."""
        return frames.to_polars(self.fetch_arrow_table())

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self

    def __next__(self) -> tuple[Any, ...]:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def _rows(self) -> RowStream:
        self._check_open()
        if self._stream is None:
            raise ProgrammingError("no result to fetch: the last statement returned no rows "
                                   "(run a query first)")
        return self._stream

    # ------------------------------------------------------------------ the rest of PEP 249

    def setinputsizes(self, sizes: Any) -> None:
        """Accepted and ignored (PEP 249 allows it): parameter types come from the values."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """Accepted and ignored (PEP 249 allows it)."""

    def callproc(self, procname: str, parameters: Any = None) -> Any:
        raise NotSupportedError("Kodiak has no stored procedures (callproc)")

    def nextset(self) -> None:
        raise NotSupportedError("a statement gives one result set (nextset)")

    def close(self) -> None:
        self._reset()
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed or self.connection.closed

    def _reset(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self.description = None
        self.rowcount = -1

    def _check_open(self) -> None:
        if self._closed:
            raise ProgrammingError("the cursor is closed")
        self.connection.check_open()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
