"""Running SQL for a client: in its transaction or its autocommit session, once.

A statement runs exactly once per execution request: GetFlightInfo runs it and keeps the
outcome; DoGet only streams that outcome; GetSchema and CreatePreparedStatement never run
anything.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.flight as flight

from ..sql.interrupt import Interrupt
from ..sql.nesting import MAX_NESTING
from ..status import NotFound
from .limits import admit, check_statement
from .sessions import ClientSession, PreparedStatement, Transaction, handle_query

if TYPE_CHECKING:
    from .rpc import KodiakFlightServer

MAX_SQL_NESTING = MAX_NESTING  # the SQL layer refuses deeper statements before parsing
# gRPC's ServerContext.IsCancelled polls the call's completion queue: about 85 µs a call,
# more than a whole point lookup's SQL work once a query checks its interrupt a few times.
# A call is asked at most this often (seconds), and not before it has run this long.
CANCEL_POLL = 0.05


def prepare(server: KodiakFlightServer, sql: Any, query: str) -> Any:
    """Parse and bind ``query`` in a SQL session (the caller holds its lock)."""
    check_statement(server.limits, query)
    return sql.prepare(query)


class CallWatch:
    """Whether the client of the call in progress has cancelled it (ADBC's cancel, a client
    deadline), for the interrupts of the statements the call runs. gRPC's call context is
    valid only while the call lasts: :meth:`close` detaches it, under a lock, before the
    call returns, so a query still streaming afterwards never asks a dead context. gRPC is
    asked at most every :data:`CANCEL_POLL` seconds (short calls never ask)."""

    def __init__(self, context: Any) -> None:
        self.context: Any = context
        self.lock = threading.Lock()
        self.interrupts: list[Interrupt] = []
        self.next_poll = time.monotonic() + CANCEL_POLL

    def attach(self, interrupt: Interrupt) -> None:
        interrupt.caller_gone = self.cancelled
        self.interrupts.append(interrupt)

    def cancelled(self) -> bool:
        now = time.monotonic()
        if now < self.next_poll:
            return False
        with self.lock:
            self.next_poll = now + CANCEL_POLL
            return self.context is not None and self.context.is_cancelled()

    def gone(self) -> bool:
        """Whether the client has cancelled the call, asked of gRPC now (once, at the end of
        an upload: a cancelled stream reads as a finished one)."""
        with self.lock:
            return self.context is not None and self.context.is_cancelled()

    def close(self) -> None:
        with self.lock:
            self.context = None
        for interrupt in self.interrupts:
            interrupt.caller_gone = None


CALL: contextvars.ContextVar[CallWatch | None] = contextvars.ContextVar("call", default=None)


def check_finished(call: CallWatch | None, message: str) -> None:
    """Refuse an upload (a DoPut stream) that ended because the client cancelled the call:
    gRPC ends a cancelled stream the way it ends a finished one."""
    if call is not None and call.gone():
        raise flight.FlightCancelledError(message)


@contextlib.contextmanager
def watching(context: Any) -> Iterator[None]:
    """Statements run inside stop when the client cancels this call."""
    watch = CallWatch(context)
    token = CALL.set(watch)
    try:
        yield
    finally:
        CALL.reset(token)
        watch.close()


def new_interrupt(server: KodiakFlightServer, client: ClientSession | None = None
                  ) -> Interrupt:
    """A new query's interrupt, with the server's query timeout as its deadline; the server
    cancels it if it shuts down while the query runs. It takes one of the client's query
    slots and watches the query's memory (``limits``) until it is released."""
    if server.query_timeout is None:
        interrupt = Interrupt()
    else:
        interrupt = Interrupt(time.monotonic() + server.query_timeout, server.query_timeout)
    server.state.track(interrupt)
    watch = CALL.get()
    if watch is not None:
        watch.attach(interrupt)
    if client is not None:
        admit(server, client.user or f"session {client.id[:8]}", interrupt)
    return interrupt


@contextlib.contextmanager
def released_on_error(interrupt: Interrupt) -> Iterator[None]:
    """Release a query's slot and memory watch at once if starting it fails."""
    try:
        yield
    except BaseException:
        interrupt.release()
        raise


def transaction_id(cmd: Any) -> bytes | None:
    """The transaction a command names (None: autocommit)."""
    return bytes(cmd.transaction_id) if cmd.HasField("transaction_id") \
        and cmd.transaction_id else None


def target(server: KodiakFlightServer, client: ClientSession, txn_id: bytes | None
           ) -> tuple[Any, threading.RLock, Transaction | None]:
    """The SQL session (and its lock) a statement runs in: its transaction's, or the
    client's autocommit session."""
    if txn_id:
        txn = server.state.transaction(txn_id, client)
        return txn.sql, txn.lock, txn
    return client.sql, client.lock, None


def run_sql(server: KodiakFlightServer, client: ClientSession, query: str,
            txn_id: bytes | None, *, update: bool, interrupt: Interrupt | None = None) -> Any:
    """Run SQL text once; inside a transaction, begin it first if the statement writes."""
    check_statement(server.limits, query)
    sql, lock, txn = target(server, client, txn_id)
    with lock:
        if txn is not None and not txn.begun:
            if update or prepare(server, sql, query).is_update:
                txn.ensure_begun()
        return sql.execute(query, interrupt=interrupt)


def run_prepared(server: KodiakFlightServer, ps: PreparedStatement, params: pa.Table | None,
                 *, update: bool = False, interrupt: Interrupt | None = None) -> Any:
    """Run a prepared statement once with ``params``; begin its transaction if it writes."""
    txn = server.state.transactions.get(ps.transaction_id) if ps.transaction_id else None
    with ps.lock:
        if txn is not None and (update or ps.prepared.is_update):
            txn.ensure_begun()
        return ps.prepared.execute(params, interrupt=interrupt)


def drain_rowcount(result: Any) -> int:
    """Row count of an update; a query sent as an update is run and its rows counted.

    A statement without a row count (DDL, BEGIN, SET ...) reports 0, never -1: JDBC reads an
    update count of -1 as "this returned a result set" and runs the statement again to get it.
    """
    rowcount = getattr(result, "rowcount", -1)
    if result.reader is not None:
        rows = 0
        try:
            for batch in result.reader:
                rows += batch.num_rows
        finally:
            with contextlib.suppress(Exception):
                result.reader.close()
        if rowcount is None or rowcount < 0:
            rowcount = rows
    return 0 if rowcount is None or rowcount < 0 else int(rowcount)


def prepared_statement(server: KodiakFlightServer, handle: bytes,
                       client: ClientSession) -> PreparedStatement:
    """The prepared statement behind ``handle``, ready to run for ``client``.

    Handles carry their SQL text, so a handle the server no longer knows (expired, or from
    before a restart) is prepared again. A statement whose transaction has ended runs in
    the caller's one open transaction if it has exactly one, else in autocommit mode: ADBC
    keeps using a prepared handle after commit()/rollback(), which begin a new transaction.
    """
    handle = bytes(handle)
    state = server.state
    with state.lock:
        ps = state.prepared.get(handle)
        if ps is not None and _usable(server, ps):
            return ps
        open_txns = [state.transactions[t] for t in client.transactions
                     if t in state.transactions]
    query = ps.query if ps is not None else handle_query(handle)
    if query is None:
        raise NotFound("unknown prepared statement handle", "UnknownPreparedStatement")
    if len(open_txns) == 1:
        sql, lock, txn_id = open_txns[0].sql, open_txns[0].lock, open_txns[0].id
    else:
        sql, lock, txn_id = client.sql, client.lock, None
    with lock:
        prepared = prepare(server, sql, query)
    return _remember(server, PreparedStatement(handle, query, prepared, sql, lock, client.id,
                                               txn_id), client)


def _usable(server: KodiakFlightServer, ps: PreparedStatement) -> bool:
    """Touch ``ps``; whether it can run as it is (its transaction, if any, is open).
    The caller holds the state lock."""
    ps.last_used = time.monotonic()
    if ps.transaction_id is None:
        return True
    txn = server.state.transactions.get(ps.transaction_id)
    if txn is None:
        return False
    txn.last_used = ps.last_used
    return True


def _remember(server: KodiakFlightServer, fresh: PreparedStatement,
              client: ClientSession) -> PreparedStatement:
    """Register a (re)prepared statement, or update the one registered meanwhile."""
    state = server.state
    with state.lock:
        ps = state.prepared.get(fresh.handle)
        if ps is None:
            state.prepared[fresh.handle] = fresh
            client.prepared.add(fresh.handle)
            return fresh
        ps.prepared, ps.sql, ps.lock = fresh.prepared, fresh.sql, fresh.lock
        ps.transaction_id = fresh.transaction_id
        return ps
