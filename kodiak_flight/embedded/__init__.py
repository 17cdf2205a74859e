"""Embedded Kodiak: ``connect()`` a data directory in this process, DuckDB-style relations and
a PEP 249 DB-API (this package is the DB-API module: ``apilevel``, ``paramstyle``, the
exceptions and type objects). See docs/embedded.md.
"""

from .connection import Connection, connect
from .cursor import Cursor
from .dbapi import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    apilevel,
    paramstyle,
    threadsafety,
)
from .errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from .relation import Relation

__all__ = ["connect", "Connection", "Cursor", "Relation", "apilevel", "threadsafety",
           "paramstyle", "Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
           "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
           "NotSupportedError", "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "Date",
           "Time", "Timestamp", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks",
           "Binary"]
