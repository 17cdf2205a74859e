"""Each statement the server runs, observed: a query id, its log lines, its metrics.

A statement (GetFlightInfo of a query, DoPut of an update or a bulk ingest) runs under
:meth:`QueryTracker.run`, which gives it a :class:`Query`: a short random id that every log
line written meanwhile carries (``kodiak_flight.logs``) and that error messages sent to the
client end with (``... (query id 3f2a9c01d4e5b6a7)``), so an operator can find the query's log
lines from what a user reports. A result that streams (DoGet) keeps its query running until
the stream ends: :func:`streamed` counts its rows and bytes and records how it ended.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from ..flightsql import pb
from ..logs import query_context
from ..sql.activity import shown_text
from ..status import ClientFacing
from .metrics import Metrics
from .sessions import handle_query

log = logging.getLogger("kodiak.query")

# The statement kinds counted apart; anything else is "other" (labels must stay few).
KINDS = {"select", "insert", "update", "delete", "merge", "create", "drop", "alter",
         "copy", "explain", "begin", "commit", "rollback", "set", "show", "describe",
         "truncate", "call", "reindex", "vacuum", "analyze", "checkpoint"}
_AS_SELECT = {"with", "values", "table", "from", "("}
_LEADING = re.compile(r"\s*(?:--[^\n]*(?:\n|$)\s*|/\*.*?\*/\s*)*(\(|[A-Za-z_]+)", re.S)

CURRENT: contextvars.ContextVar[Query | None] = contextvars.ContextVar("kodiak_query",
                                                                      default=None)


def statement_kind(sql: str | None) -> str:
    """The metric label of a statement: its leading keyword, ``select`` for a query."""
    m = _LEADING.match(sql or "")
    word = m.group(1).lower() if m else ""
    if word in _AS_SELECT:
        return "select"
    return word if word in KINDS else "other"


class Query:
    """One statement's run: id, kind, start, rows and bytes streamed, how it ended."""

    def __init__(self, tracker: QueryTracker, kind: str, sql: str | None) -> None:
        self.id = secrets.token_hex(8)
        self.kind = kind
        self.sql = sql
        self.started = time.monotonic()
        self.rows = 0
        self.bytes = 0
        self.deferred = False  # its result streams: it ends with the stream
        self.streaming = False  # a DoGet is sending its result
        self.outcome: str | None = None
        self._tracker = tracker
        self._lock = threading.Lock()

    def end(self, outcome: str, error: BaseException | None = None) -> None:
        """Record how the query ended (only the first call counts)."""
        with self._lock:
            if self.outcome is not None:
                return
            self.outcome = outcome
        self._tracker.ended(self, error)


class QueryTracker:
    """Starts and ends the server's queries, feeding ``metrics``."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.lock = threading.Lock()
        self.running: dict[str, Query] = {}  # by id: running, or streaming their result
        metrics.active_queries.set_function(lambda: len(self.running))

    def start(self, kind: str, sql: str | None) -> Query:
        q = Query(self, kind, sql)
        with self.lock:
            self.running[q.id] = q
        if log.isEnabledFor(logging.DEBUG):  # (masking the text costs more than the lookup)
            with query_context(q.id):
                log.debug("%s started: %s", kind, _short(sql))
        return q

    def ended(self, q: Query, error: BaseException | None) -> None:
        seconds = time.monotonic() - q.started
        with self.lock:
            self.running.pop(q.id, None)
        self.metrics.query_done(q.kind, q.outcome or "ok", seconds)
        if error is None:
            if log.isEnabledFor(logging.DEBUG):
                with query_context(q.id):
                    log.debug("%s %s after %.3f s, %d rows", q.kind, q.outcome, seconds,
                              q.rows)
        elif log.isEnabledFor(logging.INFO):
            with query_context(q.id):
                log.info("%s %s after %.3f s: %s", q.kind, q.outcome, seconds, error)

    @contextlib.contextmanager
    def run(self, rpc: str, cmd: Any) -> Iterator[Query | None]:
        """Observe the statement ``cmd`` sent with ``rpc`` (nothing for other commands):
        errors raised in the block leave it with the query id in their message."""
        kind_sql = _statement(rpc, cmd)
        if kind_sql is None:
            yield None
            return
        q = self.start(*kind_sql)
        token = CURRENT.set(q)
        try:
            with query_context(q.id):
                yield q
        except BaseException as exc:
            q.end(outcome_of(exc), exc)
            raise with_query_id(exc, q.id) from None
        finally:
            CURRENT.reset(token)
        if not q.deferred:
            q.end("ok")


def _statement(rpc: str, cmd: Any) -> tuple[str, str | None] | None:
    """(kind, SQL text) of a command that runs a statement with ``rpc``; None otherwise."""
    if isinstance(cmd, pb.CommandStatementQuery | pb.CommandStatementUpdate):
        return statement_kind(cmd.query), cmd.query
    if isinstance(cmd, pb.CommandPreparedStatementUpdate) or (
            rpc == "GetFlightInfo" and isinstance(cmd, pb.CommandPreparedStatementQuery)):
        sql = handle_query(bytes(cmd.prepared_statement_handle))
        return statement_kind(sql), sql
    if isinstance(cmd, pb.CommandStatementIngest):
        return "ingest", None
    return None


def current() -> Query | None:
    """The query running on this thread, if any."""
    return CURRENT.get()


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, flight.FlightCancelledError | GeneratorExit):
        return "cancelled"
    if isinstance(exc, flight.FlightTimedOutError):
        return "timeout"
    return "error"


def with_query_id(exc: BaseException, query_id: str) -> BaseException:
    """``exc`` again, its message ending with the query id (one the client will see)."""
    message = f"{exc} (query id {query_id})"
    try:
        if isinstance(exc, flight.FlightError):
            return type(exc)(message, exc.extra_info)
        if isinstance(exc, ClientFacing):
            return type(exc)(message, exc.kind)  # type: ignore[call-arg]
    except Exception:  # a class with another signature: keep it as it is
        pass
    return exc


def streamed(metrics: Metrics, q: Query | None,
             batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` sent to a client: counted, logged under the query, ended with it."""
    if q is not None:
        q.streaming = True
    it = iter(batches)
    try:
        while True:
            with query_context(q.id) if q is not None else contextlib.nullcontext():
                try:
                    batch = next(it)
                except StopIteration:
                    break
            nbytes = batch.nbytes
            metrics.streamed(batch.num_rows, nbytes)
            if q is not None:
                q.rows += batch.num_rows
                q.bytes += nbytes
            yield batch
    except BaseException as exc:
        if q is None:
            raise
        q.end(outcome_of(exc), exc)
        if isinstance(exc, GeneratorExit):
            raise
        raise with_query_id(exc, q.id) from None
    finally:
        if hasattr(it, "close"):
            it.close()
    if q is not None:
        q.end("ok")


def _short(sql: str | None, limit: int = 200) -> str:
    if sql is None:
        return "(bulk ingest)"
    one_line = shown_text(sql)  # string literals masked in statements about secrets
    return one_line if len(one_line) <= limit else one_line[:limit] + "…"
