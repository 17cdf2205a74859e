"""Turning Kodiak errors into Flight/gRPC statuses the client can read.

pyarrow.flight decides the gRPC status code from the *type* of the exception a handler raises:

=================================  ======================  ====================================
raised in a handler                gRPC status             what the client sees
=================================  ======================  ====================================
``pa.ArrowInvalid``/``ValueError``  INVALID_ARGUMENT        message + Python traceback
``KeyError``/``pa.ArrowKeyError``   NOT_FOUND               message + Python traceback
``NotImplementedError``             UNIMPLEMENTED           message + Python traceback
``flight.FlightServerError``        UNKNOWN                 message only
``flight.FlightInternalError``      INTERNAL                message only
``flight.FlightUnavailableError``   UNAVAILABLE             message only
``flight.FlightUnauthenticated..``  UNAUTHENTICATED         message only
``flight.FlightUnauthorizedError``  PERMISSION_DENIED       message only
``flight.FlightCancelledError``     CANCELLED               message only
``flight.FlightTimedOutError``      DEADLINE_EXCEEDED       message only
anything else                       UNKNOWN                 message + Python traceback
=================================  ======================  ====================================

(ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED and RESOURCE_EXHAUSTED cannot be produced from
Python: Arrow's gRPC transport turns a status into one of its own transport codes first, and
none of them is RESOURCE_EXHAUSTED. Limits are refused as :func:`resource_exhausted` says.)

The first three are the codes SQL errors need, but pyarrow appends the formatted Python
traceback to their message (``"... Detail: Python exception: Traceback ..."``): it formats the
exception with ``traceback.format_exception`` when the status is sent. :func:`install` wraps that
function so that, for the three client-facing classes defined here only, the "traceback" is the
error's kind (``"ParseError"``) instead; every other exception is formatted as before. The client
then sees ``"<message>. Detail: Python exception: ParseError"`` with the right status code, and
the server log keeps the real traceback of unexpected errors.
"""

from __future__ import annotations

import logging
import secrets
import threading
import traceback
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

log = logging.getLogger("kodiak.flight")


class ClientFacing:
    """Marker: an error whose message is meant for the client; never show its traceback."""

    kind: str = ""

    def _init_kind(self, kind: str | None) -> None:
        self.kind = kind or type(self).__name__


class InvalidArgument(pa.ArrowInvalid, ClientFacing):
    """gRPC INVALID_ARGUMENT: bad SQL, bad parameters, a constraint the data breaks."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self._init_kind(kind)


class NotFound(pa.ArrowKeyError, ClientFacing):
    """gRPC NOT_FOUND: unknown table, handle, transaction."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self._init_kind(kind)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Unimplemented(pa.ArrowNotImplementedError, ClientFacing):
    """gRPC UNIMPLEMENTED: valid request that Kodiak does not support."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self._init_kind(kind)


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Make pyarrow format :class:`ClientFacing` errors without a traceback (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        original = traceback.format_exception

        def format_exception(exc, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            value = args[0] if args else exc
            if isinstance(value, ClientFacing):
                return [value.kind or type(value).__name__]
            return original(exc, *args, **kwargs)

        format_exception.__wrapped__ = original  # type: ignore[attr-defined]
        traceback.format_exception = format_exception
        _installed = True


# Error classes of the layers below, by (module, class name). Matching by name keeps this module
# importable while those layers are still being written and avoids import cycles.
_SQL_MODULE = "kodiak_flight.sql.errors"
_ENGINE_MODULE = "engine.errors"

_ENGINE_INVALID = {"AlreadyExists", "ConstraintError", "SchemaError"}


def _lineage(exc: BaseException) -> list[tuple[str, str]]:
    return [(c.__module__, c.__name__) for c in type(exc).__mro__]


def to_flight(exc: BaseException, *, what: str = "request") -> BaseException:
    """The exception to raise to the client for ``exc`` (already-mapped errors pass through).

    Unexpected errors are logged here with their traceback and a short reference that the
    client's message repeats, so an operator can find the log entry.
    """
    if isinstance(exc, ClientFacing | flight.FlightError):
        return exc
    message = str(exc) or type(exc).__name__
    for module, name in _lineage(exc):
        out = None
        if module == _SQL_MODULE:  # (``TypeError_`` is known to users as SqlTypeError)
            kind = "SqlTypeError" if type(exc).__name__ == "TypeError_" else type(exc).__name__
            out = _from_sql(name, kind, message, exc)
        elif module == _ENGINE_MODULE:
            out = _from_engine(name, type(exc).__name__, message, what)
        if out is not None:
            return out
    return _from_python(exc, message, what)


def _from_sql(name: str, kind: str, message: str,
              exc: BaseException | None = None) -> BaseException | None:
    """The Flight error for SQL-layer error class ``name`` (None: not one mapped here)."""
    if name == "NotSupportedError":
        return Unimplemented(message, kind)
    if name == "QueryCancelled":
        return flight.FlightCancelledError(message)
    if name == "QueryTimedOut":
        return flight.FlightTimedOutError(message)
    if name == "ResourceExhausted":
        return resource_exhausted(message, retry=bool(getattr(exc, "retry", False)))
    if name == "AccessDenied":
        return flight.FlightUnauthorizedError(message)
    if name == "InternalError":  # a bug: the SQL layer logged its traceback
        return flight.FlightInternalError(message)
    if name == "SqlError":
        return InvalidArgument(message, kind)
    return None


def resource_exhausted(message: str, *, retry: bool) -> BaseException:
    """A refusal for a configured limit. pyarrow's Flight server cannot send gRPC
    RESOURCE_EXHAUSTED (its transport has no such code: see the module docstring), so a
    limit on what runs at once (``retry``) is UNAVAILABLE, the code clients may retry, and a
    request too big for its limit is INVALID_ARGUMENT; the message starts with
    "resource exhausted:" either way."""
    text = f"resource exhausted: {message}"
    if retry:
        return flight.FlightUnavailableError(text)
    return InvalidArgument(text, "ResourceExhausted")


def _from_engine(name: str, kind: str, message: str, what: str) -> BaseException | None:
    """The Flight error for engine error class ``name`` (None: not one mapped here)."""
    if name == "NotFound":
        return NotFound(message, "NotFound")
    if name in _ENGINE_INVALID:
        return InvalidArgument(message, name)
    if name == "ConflictError":
        return flight.FlightUnavailableError(f"{message} (the database is busy; retry)")
    if name in ("CorruptionError", "StorageError", "DatabaseClosed"):
        log.error("%s failed: %s: %s", what, name, message)
        return flight.FlightInternalError(f"{name}: {message}")
    if name == "KodiakError":
        return InvalidArgument(message, kind)
    return None


def _from_python(exc: BaseException, message: str, what: str) -> BaseException:
    """The Flight error for an exception from neither the SQL layer nor the engine."""
    if isinstance(exc, RecursionError):
        return InvalidArgument("the statement is nested too deeply or too complex to process",
                               "TooComplex")
    if isinstance(exc, pa.ArrowCapacityError):  # e.g. repeat('ab', 10000000000)
        return resource_exhausted("a value or column grew past what one Arrow array can "
                                  "hold (2 GiB of string or binary data)", retry=False)
    if isinstance(exc, pa.ArrowMemoryError | MemoryError):
        log.warning("%s ran out of memory: %s", what, message)
        return resource_exhausted("the server ran out of memory for this request", retry=True)
    # Arrow compute errors raised while evaluating a query: bad casts, overflow, ...
    if isinstance(exc, pa.ArrowNotImplementedError):
        return Unimplemented(message, "ArrowNotImplementedError")
    if isinstance(exc, pa.ArrowInvalid | pa.ArrowTypeError):
        return InvalidArgument(message, type(exc).__name__)
    ref = secrets.token_hex(4)
    log.error("%s failed unexpectedly [ref %s]", what, ref, exc_info=exc)
    return flight.FlightInternalError(
        f"internal error [ref {ref}]: {type(exc).__name__}: {message} (see the server log)")


class mapped:  # noqa: N801 - used as a function: ``with mapped("DoGet"):``
    """Raise what the block raises as the Flight status the client should see.

    A class, not a generator context manager: every RPC enters a few, and this costs a
    fifth as much."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if not isinstance(exc, Exception):
            return False
        out = to_flight(exc, what=self.what)
        if out is exc:
            return False
        try:
            raise out from None
        finally:
            # the raised error's traceback keeps this frame: without ``out`` (and the error
            # it replaces) the two form no cycle, so a stopped query's plan and batches (kept
            # by the frames of the error it replaces) are freed at once, not at some later
            # garbage collection
            del out, exc, tb


def guard(what: str, items: Iterable[Any]) -> Iterator[Any]:
    """Iterate ``items`` (a lazily evaluated stream) mapping errors to Flight statuses."""
    with mapped(what):
        yield from items
