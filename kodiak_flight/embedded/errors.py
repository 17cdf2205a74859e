"""PEP 249's exception hierarchy, and Kodiak's errors mapped onto it.

The SQL layer and the engine raise their own classes (``kodiak_flight.sql.errors``,
``engine.errors``); embedded callers see the PEP 249 class that means the same, with Kodiak's
message unchanged. The Kodiak error is kept as ``.original`` (its traceback is not repeated:
the message is the user's answer).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pyarrow as pa

from engine import errors as storage
from kodiak_flight.sql import errors as sql


class Warning(Exception):  # noqa: A001 - PEP 249's name
    """Important warnings (PEP 249); Kodiak raises none today."""


class Error(Exception):
    """Base of every error embedded Kodiak raises (PEP 249)."""

    original: BaseException | None = None


class InterfaceError(Error):
    """Misuse of the interface itself: a parameter value that cannot be bound."""


class DatabaseError(Error):
    """Errors related to the database."""


class DataError(DatabaseError):
    """Bad values: a failed cast, an overflow, data that does not fit the table."""


class OperationalError(DatabaseError):
    """The database's operation: a locked data directory, a busy writer, I/O, cancellation."""


class IntegrityError(DatabaseError):
    """A primary key, unique or NOT NULL constraint would be violated; nothing was written."""


class InternalError(DatabaseError):
    """A bug in Kodiak; the message says what statement met it."""


class ProgrammingError(DatabaseError):
    """Bad SQL: syntax, unknown names, wrong parameters, transaction misuse, closed objects."""


class NotSupportedError(DatabaseError):
    """Valid SQL or a DB-API method that Kodiak does not implement."""


# Most specific first: the first class the error is an instance of decides.
_MAPPING: list[tuple[type[BaseException], type[Error]]] = [
    (sql.NotSupportedError, NotSupportedError),
    (sql.InternalError, InternalError),
    (sql.ExecutionError, DataError),
    (sql.QueryCancelled, OperationalError),
    (sql.QueryTimedOut, OperationalError),
    (sql.TooComplex, OperationalError),
    (sql.AccessDenied, OperationalError),
    (sql.SqlError, ProgrammingError),  # ParseError, BindError, types, parameters, transactions
    (storage.ConstraintError, IntegrityError),
    (storage.SchemaError, DataError),
    (storage.NotFound, ProgrammingError),
    (storage.AlreadyExists, ProgrammingError),
    (storage.DatabaseClosed, ProgrammingError),
    (storage.ConflictError, OperationalError),
    (storage.CorruptionError, OperationalError),
    (storage.StorageError, OperationalError),
    (storage.KodiakError, DatabaseError),
    (pa.ArrowNotImplementedError, NotSupportedError),  # Arrow kernels met while streaming
    (pa.ArrowInvalid, DataError),
    (pa.ArrowTypeError, DataError),
]


def to_dbapi(exc: BaseException) -> Error | None:
    """The PEP 249 error for ``exc``, or None when it is not an error of Kodiak's."""
    if isinstance(exc, Error):
        return exc
    if isinstance(exc, RecursionError):
        out: Error = OperationalError("the statement is nested too deeply to process")
    else:
        cls = next((c for k, c in _MAPPING if isinstance(exc, k)), None)
        if cls is None:
            return None
        message = str(exc) or type(exc).__name__
        if isinstance(exc, storage.ConflictError):
            message += " (another connection holds the write transaction; retry)"
        out = cls(message)
    out.original = exc
    return out


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Raise Kodiak's errors inside the block as their PEP 249 classes."""
    try:
        yield
    except Exception as exc:
        out = to_dbapi(exc)
        if out is None or out is exc:
            raise
        raise out from None
