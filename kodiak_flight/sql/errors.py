"""SQL-layer errors.

Each class maps to one gRPC status in the Flight server, so the layer raises the most specific
one it can. Storage errors are not wrapped: ``engine.errors.*`` pass through unchanged so the
server maps them by their own type.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SqlError(Exception):
    """Base of every error the SQL layer raises itself (gRPC INVALID_ARGUMENT by default)."""


class ParseError(SqlError):
    """The text is not valid PL-Grizzly SQL; the message names line, column and token."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 token: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.token = token


class BindError(SqlError):
    """A name does not resolve (unknown table, column, function) or is ambiguous."""


class TypeError_(SqlError):
    """Operands or arguments have types no kernel accepts."""


SqlTypeError = TypeError_


class NotSupportedError(SqlError):
    """Valid SQL that PL-Grizzly does not implement yet (gRPC UNIMPLEMENTED)."""


class ParameterError(SqlError):
    """Parameters missing, surplus, or of a shape that cannot bind."""


class TransactionError(SqlError):
    """BEGIN inside a transaction, COMMIT without one, and similar misuse."""


class ExecutionError(SqlError):
    """A runtime failure evaluating a query (division by zero, overflow, bad cast)."""


class QueryCancelled(SqlError):
    """Another thread cancelled the query while it ran (gRPC CANCELLED)."""


class QueryTimedOut(SqlError):
    """The query ran past its deadline (gRPC DEADLINE_EXCEEDED)."""


class TooComplex(SqlError):
    """A statement nested deeper than the layer can process (refused, never a crash)."""


class InternalError(SqlError):
    """A bug: a Python error escaped a statement (gRPC INTERNAL); the log has the traceback."""


class AccessDenied(SqlError):
    """A file outside what this session may read or write (gRPC PERMISSION_DENIED)."""


class PermissionDenied(AccessDenied):
    """The session's user lacks a right on an object: "permission denied: user bob may not
    SELECT table main.t" (gRPC PERMISSION_DENIED, as every ``AccessDenied``)."""

    def __init__(self, message: str, *, user: str | None = None, right: str = "",
                 kind: str = "", name: str = "") -> None:
        super().__init__(message)
        self.user, self.right, self.kind, self.name = user, right, kind, name


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean: a, b?)' hint listing the closest existing names, or ''."""
    cands = sorted(set(candidates))
    close = difflib.get_close_matches(name, cands, n=3, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in cands}
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=3,
                                                               cutoff=0.5)]
    return f" (did you mean: {', '.join(close)}?)" if close else ""


class ResourceExhausted(SqlError):
    """A query passed a configured limit (memory, result size): it is stopped, the server
    goes on. ``retry``: the same request may succeed later (a limit on what runs at once),
    else it is too big for the limit (see ``status`` for the gRPC codes)."""

    def __init__(self, message: str, *, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
