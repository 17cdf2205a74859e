"""``kodiak_flight.connect``: Kodiak in this process, DuckDB's way and PEP 249's.

Transactions. By default a connection autocommits, as DuckDB does: each statement commits on
its own unless ``begin()`` (or ``BEGIN``) opened a transaction, which ``commit()`` or
``rollback()`` ends; ``commit()``/``rollback()`` without one do nothing. With
``autocommit=False`` it behaves as Python's ``sqlite3`` does by default: the first INSERT,
UPDATE, DELETE or MERGE opens a transaction implicitly and nothing it wrote is kept until
``commit()``; queries and DDL outside a transaction need no commit. ``close()`` rolls back what
is not committed; leaving a ``with`` block commits it, or rolls it back on an exception, then
closes.

The engine allows one writing transaction at a time per database: while one connection holds a
transaction open, another's writes wait for it (and fail after a few seconds).
"""

from __future__ import annotations

import os
import weakref
from typing import Any

import pyarrow as pa
from sqlglot import exp

from kodiak_flight.sql import NotSupportedError as SqlNotSupported
from kodiak_flight.sql import Prepared, Result, Session
from kodiak_flight.sql.dialect import parse
from kodiak_flight.sql.pl.parser import is_script
from kodiak_flight.sql.statements import statement_for

from . import databases, errors, params
from .cursor import Cursor
from .errors import ProgrammingError, translated
from .params import Params, one_row
from .relation import Relation

_IMPLICIT_BEGIN = (exp.Insert, exp.Update, exp.Delete, exp.Merge)  # as sqlite3's DML


def connect(database: str | os.PathLike[str] = databases.MEMORY, *,
            autocommit: bool = True) -> Connection:
    """Open the data directory ``database`` (created if missing) in this process;
    ``":memory:"`` (the default) is a temporary database removed at ``close()``."""
    return Connection(database, autocommit=autocommit)


class Connection:
    """A session on an embedded database: ``sql()`` for relations, ``execute()`` and cursors
    for PEP 249. Not to be shared between threads: open one per thread."""

    # PEP 249's optional extension: the exception classes as connection attributes
    Warning = errors.Warning
    Error = errors.Error
    InterfaceError = errors.InterfaceError
    DatabaseError = errors.DatabaseError
    DataError = errors.DataError
    OperationalError = errors.OperationalError
    IntegrityError = errors.IntegrityError
    InternalError = errors.InternalError
    ProgrammingError = errors.ProgrammingError
    NotSupportedError = errors.NotSupportedError

    def __init__(self, database: str | os.PathLike[str] | None = databases.MEMORY, *,
                 autocommit: bool = True) -> None:
        handle = databases.acquire(database)
        try:
            with translated():
                session = Session(handle.db)
        except BaseException:
            databases.release(handle)
            raise
        self._session = session
        self.database = databases.MEMORY if handle.temporary else handle.path
        self.path = handle.path  # the data directory (for :memory:, the temporary one)
        self._autocommit = autocommit
        self._default: Cursor | None = None
        self._closed = False
        # closes the session and the database if the connection is dropped unclosed
        self._finalizer = weakref.finalize(self, _release, session, handle)

    # ------------------------------------------------------------------ DuckDB style

    def sql(self, query: str, params: Params = None) -> Relation | None:
        """A relation over the rows of ``query``, or None for a statement without rows (run
        now). A query without parameters is bound now (its errors raised here) and runs when
        its rows are asked for, as DuckDB's relations do; others run now."""
        batch = one_row(params)
        if batch is None:
            schema = self._query_schema(query)
            if schema is not None:
                return Relation(self, query, None, schema)
        result = self.run(query, batch)
        if result.reader is None or not len(result.schema):
            return None
        return Relation(self, query, batch, result.schema, result)

    query = sql

    def table(self, name: str) -> Relation:
        """A relation over every row of table or view ``name``."""
        rel = self.sql(f"SELECT * FROM {exp.to_table(name).sql()}")
        assert rel is not None
        return rel

    def execute(self, query: str, parameters: Params = None) -> Connection:
        """Run ``query`` on the connection's own cursor; fetch from the connection
        (``con.execute(q).fetchall()``), as with DuckDB."""
        self._cursor().execute(query, parameters)
        return self

    def executemany(self, query: str, seq_of_parameters: Any) -> Connection:
        self._cursor().executemany(query, seq_of_parameters)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cursor().fetchone()

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._cursor().fetchmany(size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor().fetchall()

    def fetch_arrow_table(self) -> pa.Table:
        return self._cursor().fetch_arrow_table()

    arrow = to_arrow_table = fetch_arrow_table

    def fetch_record_batch(self) -> pa.RecordBatchReader:
        return self._cursor().fetch_record_batch()

    to_arrow_reader = fetch_record_batch

    def df(self) -> Any:
        return self._cursor().df()

    fetchdf = df

    def pl(self) -> Any:
        return self._cursor().pl()

    @property
    def description(self) -> list[tuple] | None:
        return self._cursor().description

    @property
    def rowcount(self) -> int:
        return self._cursor().rowcount

    # ------------------------------------------------------------------ PEP 249

    def cursor(self) -> Cursor:
        self.check_open()
        return Cursor(self)

    def begin(self) -> None:
        """Open a transaction explicitly (also with ``autocommit=True``)."""
        self.check_open()
        with translated():
            self._session.begin()

    def commit(self) -> None:
        """Commit the open transaction; nothing to do without one."""
        self.check_open()
        if self._session.in_transaction:
            with translated():
                self._session.commit()

    def rollback(self) -> None:
        """Undo the open transaction; nothing to do without one."""
        self.check_open()
        if self._session.in_transaction:
            with translated():
                self._session.rollback()

    @property
    def in_transaction(self) -> bool:
        return not self._closed and self._session.in_transaction

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        """Switching autocommit on commits the open transaction (as sqlite3 does)."""
        if value and not self._autocommit:
            self.commit()
        self._autocommit = bool(value)

    def close(self) -> None:
        """Roll back what is not committed, drop temporary tables, release the database
        (removed, for ``:memory:``). Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        if self._default is not None:
            self._default.close()
        self._finalizer()

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        if self._closed:
            raise ProgrammingError("the connection is closed")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if not self._closed:
                (self.rollback if exc_type is not None else self.commit)()
        finally:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<kodiak_flight Connection {self.database!r} ({state})>"

    # ------------------------------------------------------------------ running

    def run(self, sql: str, batch: pa.RecordBatch | pa.Table | None) -> Result:
        """The result of ``sql`` with the parameter rows ``batch`` (for cursors and
        relations); Kodiak's errors come out as PEP 249's."""
        self.check_open()
        if not isinstance(sql, str):
            raise ProgrammingError(f"SQL must be a string, not {type(sql).__name__}")
        with translated():
            prepared = self._prepare(sql)
            if prepared is None:
                return self._script(sql, batch)
            _check_count(len(prepared.parameter_schema), params.count(batch))
            self._implicit_begin([prepared.stmt])
            return prepared.execute(batch)

    def _query_schema(self, sql: str) -> pa.Schema | None:
        """The result schema of ``sql`` if it is one statement that only reads, else None."""
        self.check_open()
        with translated():
            prepared = self._prepare(sql)
        if prepared is None or prepared.is_update or statement_for(prepared.stmt).writes:
            return None
        schema = prepared.dataset_schema
        return schema if schema is not None and len(schema) else None

    def _prepare(self, sql: str) -> Prepared | None:
        """The prepared statement (kept by the session for reuse), or None for a script."""
        try:
            prepared = self._session.prepare(sql)
            return None if prepared.stmt is None else prepared  # a PL script runs whole
        except SqlNotSupported:
            if len(parse(sql)) > 1:
                return None
            raise

    def _script(self, sql: str, batch: pa.RecordBatch | pa.Table | None) -> Result:
        if batch is not None:
            raise ProgrammingError("parameters bind one statement; this SQL holds several "
                                   "(run them one at a time)")
        if not is_script(sql):  # a PL script keeps the session's transaction rules
            self._implicit_begin(parse(sql))
        return self._session.execute(sql)

    def _implicit_begin(self, stmts: list[exp.Expression]) -> None:
        if self._autocommit or self._session.in_transaction:
            return
        if any(isinstance(s, _IMPLICIT_BEGIN) for s in stmts):
            self._session.begin()

    def _cursor(self) -> Cursor:
        self.check_open()
        if self._default is None:
            self._default = Cursor(self)
        return self._default


def _check_count(expected: int, given: int) -> None:
    if expected != given:
        raise ProgrammingError(
            f"the statement has {expected} parameter{'' if expected == 1 else 's'} (? or $n) "
            f"but {given} value{'' if given == 1 else 's'} were given")


def _release(session: Session, handle: databases.Handle) -> None:
    try:
        session.close()
    finally:
        databases.release(handle)
