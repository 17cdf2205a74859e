"""PL exceptions and the PL stack trace.

``RAISE not_found(message => 'x', key => 3)`` raises a :class:`PlException`: the exception
type's name and its fields. Any error leaving a script (a PL exception, or one of Kodiak's own
errors) carries the PL stack trace: one line per frame, innermost first, naming the function
(or ``script``) and the line in its body. Never a Python traceback.

Kodiak's own errors are caught by ``CATCH error`` (or ``CATCH _``); cancellation and the
query timeout (:data:`UNCATCHABLE`) are never caught, so they stop a script whatever it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..errors import QueryCancelled, QueryTimedOut, SqlError

ERROR = "error"  # the built-in exception name of Kodiak's own errors
UNCATCHABLE = (QueryCancelled, QueryTimedOut)
TRACE = "pl_trace"  # attribute an error crossing PL frames gathers them in
OWNER = "pl_owner"  # ... and the running body that added the last one


@dataclass(frozen=True)
class Frame:
    """Where a PL error passed: a function (or ``script``) and a line of its body."""

    name: str
    line: int

    def __str__(self) -> str:
        return f"  at {self.name}, line {self.line}"


class PlException(SqlError):
    """A raised exception of a user exception type (``CREATE TYPE ... AS EXCEPTION``)."""

    def __init__(self, type_name: str, fields: dict[str, Any], value: pa.StructScalar) -> None:
        super().__init__(type_name)
        self.type_name = type_name
        self.fields = fields  # Python values, for messages and clients
        self.value = value  # what ``CATCH t AS e`` binds ``e`` to

    def __str__(self) -> str:
        shown = ", ".join(f"{k} => {v!r}" for k, v in self.fields.items())
        return f"{self.type_name}({shown})" + trace_text(self)


class PlLimit(SqlError):
    """A call nested past the recursion depth or call-stack limit."""


class ControlError(SqlError):
    """``BREAK`` / ``CONTINUE`` outside a loop, ``RETURN`` where nothing can return."""


def add_frame(error: BaseException, frame: Frame, owner: object) -> None:
    """Record that ``error`` passed through ``frame`` (innermost first): the first line of
    each ``owner`` (a running script or function body) it leaves, the innermost one."""
    trace = getattr(error, TRACE, None)
    if trace is None:
        trace = []
        setattr(error, TRACE, trace)
    if getattr(error, OWNER, None) is not owner:
        trace.append(frame)
        setattr(error, OWNER, owner)


def trace_text(error: BaseException) -> str:
    trace = getattr(error, TRACE, None) or []
    return "".join("\n" + str(f) for f in trace)


def with_trace(error: BaseException) -> BaseException:
    """``error`` as the client sees it: its message followed by the PL stack trace (a PL
    exception prints its own). Kept of its class, so the server maps it as before."""
    if isinstance(error, PlException) or not getattr(error, TRACE, None):
        return error
    if error.args and isinstance(error.args[0], str):
        error.args = (error.args[0] + trace_text(error), *error.args[1:])
        setattr(error, TRACE, [])
    return error


def error_value(error: BaseException) -> pa.StructScalar:
    """What ``CATCH error AS e`` binds: ``e.kind`` (the error's class) and ``e.message``."""
    message = str(error.args[0]) if error.args else str(error)
    return pa.scalar({"kind": type(error).__name__, "message": message},
                     pa.struct([("kind", pa.string()), ("message", pa.string())]))
