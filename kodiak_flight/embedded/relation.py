"""What ``connection.sql(query)`` answers: a query's rows, in whatever form is wanted.

A query is bound when ``sql()`` is called (so its errors surface there) and runs each time its
rows are asked for (``arrow()``, ``df()``, ``pl()``, ``fetchall()``), seeing the data as it is
then, as a DuckDB relation does. A query with parameters runs at ``sql()`` and its first read
takes that result. The rows of a write's RETURNING clause are kept, never written twice.
``fetchone``/``fetchmany`` read one stream across calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from kodiak_flight.sql import Result

from . import frames
from .dbapi import describe
from .stream import RowStream, to_rows

if TYPE_CHECKING:
    from .connection import Connection


class Relation:
    def __init__(self, connection: Connection, sql: str,
                 params: pa.RecordBatch | pa.Table | None, schema: pa.Schema,
                 result: Result | None = None) -> None:
        self._connection = connection
        self._sql = sql
        self._params = params
        self._pending = result  # a first run's result, not read yet
        self._kept = result.table if result is not None and result.rowcount >= 0 else None
        self._rows: RowStream | None = None
        self.schema = schema

    @property
    def columns(self) -> list[str]:
        return self.schema.names

    @property
    def types(self) -> list[pa.DataType]:
        return self.schema.types

    @property
    def description(self) -> list[tuple] | None:
        return describe(self.schema)

    def arrow(self) -> pa.Table:
        """All rows as an Arrow table."""
        return RowStream(self._reader()).arrow()

    fetch_arrow_table = to_arrow_table = arrow

    def fetch_record_batch(self) -> pa.RecordBatchReader:
        """All rows as a stream of Arrow record batches, read as they are consumed."""
        return RowStream(self._reader()).reader()

    fetch_arrow_reader = to_arrow_reader = fetch_record_batch

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        """The Arrow PyCapsule stream: ``pa.table(rel)``, ``pl.DataFrame(rel)``."""
        return self.fetch_record_batch().__arrow_c_stream__(requested_schema)

    def df(self) -> Any:
        """All rows as a pandas DataFrame."""
        return frames.to_pandas(self.arrow())

    fetchdf = df

    def pl(self) -> Any:
        """All rows as a Polars DataFrame."""
        return frames.to_polars(self.arrow())

    def fetchall(self) -> list[tuple[Any, ...]]:
        return to_rows(self.arrow())

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._stream().fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        return self._stream().fetchmany(size)

    def show(self, max_rows: int = 20) -> None:
        """Print the first rows as a table."""
        from kodiak_flight.render import make_console, render_table

        render_table(make_console(), self.fetch_record_batch(), max_rows=max_rows)

    def __repr__(self) -> str:
        cols = ", ".join(f"{f.name} {f.type}" for f in self.schema)
        return f"<kodiak Relation ({cols}): .arrow() .df() .pl() .fetchall() .show()>"

    def _stream(self) -> RowStream:
        if self._rows is None:
            self._rows = RowStream(self._reader())
        return self._rows

    def _reader(self) -> pa.RecordBatchReader:
        self._connection.check_open()
        if self._kept is not None:
            return self._kept.to_reader()
        result, self._pending = self._pending, None
        if result is None or result.reader is None:
            result = self._connection.run(self._sql, self._params)
        return result.reader
