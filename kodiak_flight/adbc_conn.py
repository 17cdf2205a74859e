"""A Flight SQL connection through ADBC's driver manager, without ADBC's DB-API.

The DB-API module imports ``pyarrow.dataset``, pandas and polars when they are installed:
most of a second before a ``kodiak`` command could send its first statement. The CLI needs
only this much of it: statements, their result streams, bulk ingest, cancel, and the catalog
calls, which the driver manager's own objects answer directly. Errors are the driver
manager's (the same classes and texts as through the DB-API).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

INGEST_MODES = {"create": "adbc.ingest.mode.create", "append": "adbc.ingest.mode.append",
                "replace": "adbc.ingest.mode.replace",
                "create_append": "adbc.ingest.mode.create_append"}


def connect(uri: str, db_kwargs: dict[str, str]) -> Connection:
    """An autocommit connection to the Flight SQL server at ``uri``."""
    import adbc_driver_flightsql
    import adbc_driver_manager

    db = adbc_driver_flightsql.connect(uri, db_kwargs=db_kwargs)
    try:
        return Connection(db, adbc_driver_manager.AdbcConnection(db))
    except BaseException:
        db.close()
        raise


class Connection:
    def __init__(self, db: Any, conn: Any) -> None:
        self.db, self.conn = db, conn

    def cursor(self) -> Cursor:
        return Cursor(self.conn)

    def adbc_get_objects(self, *, depth: str, catalog_filter: str | None = None,
                         table_types_filter: list[str] | None = None) -> pa.RecordBatchReader:
        from adbc_driver_manager import GetObjectsDepth

        handle = self.conn.get_objects(GetObjectsDepth[depth.upper()], catalog_filter, None,
                                       None, table_types_filter, None)
        return pa.RecordBatchReader.from_stream(handle)

    def adbc_get_table_schema(self, table_name: str, *, db_schema_filter: str | None = None
                              ) -> pa.Schema:
        return pa.schema(self.conn.get_table_schema(None, db_schema_filter, table_name))

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            self.db.close()


class Cursor:
    """One statement at a time: ``execute`` then ``description``/``rowcount`` and
    ``fetch_record_batch``; ``adbc_cancel`` from another thread."""

    def __init__(self, conn: Any) -> None:
        import adbc_driver_manager

        self.stmt = adbc_driver_manager.AdbcStatement(conn)
        self.reader: pa.RecordBatchReader | None = None
        self.rowcount = -1

    def execute(self, sql: str) -> None:
        from adbc_driver_manager import NotSupportedError

        self.stmt.set_sql_query(sql)
        try:
            self.stmt.prepare()
        except NotSupportedError:
            pass
        handle, self.rowcount = self.stmt.execute_query()
        self.reader = pa.RecordBatchReader.from_stream(handle)

    @property
    def description(self) -> list[str] | None:
        """The result's column names, or None for a statement without a result."""
        if self.reader is None or not len(self.reader.schema):
            return None
        return self.reader.schema.names

    def fetch_record_batch(self) -> pa.RecordBatchReader:
        assert self.reader is not None
        return self.reader

    def adbc_ingest(self, table_name: str, data: pa.RecordBatchReader, *, mode: str,
                    db_schema_name: str | None = None) -> int:
        from adbc_driver_manager import StatementOptions

        options = {StatementOptions.INGEST_TARGET_TABLE.value: table_name,
                   StatementOptions.INGEST_MODE.value: INGEST_MODES[mode]}
        if db_schema_name is not None:
            options[StatementOptions.INGEST_TARGET_DB_SCHEMA.value] = db_schema_name
        self.stmt.set_options(**options)
        self.stmt.bind_stream(data)
        return self.stmt.execute_update()

    def adbc_cancel(self) -> None:
        self.stmt.cancel()

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        self.stmt.close()
