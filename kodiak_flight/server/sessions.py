"""Per-session state: client sessions, transactions, prepared statements, executions.

All in memory: a restart forgets them (prepared-statement handles carry their SQL text, so
they survive it). :class:`SessionStore` holds them under one lock, finds a caller's session,
ends transactions and expires idle state.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..sql.interrupt import Interrupt
from ..status import NotFound
from .limits import Limits, check_sessions

log = logging.getLogger("kodiak.flight")

MAX_EXPIRED = 10_000  # ids of idle-expired transactions remembered, for a clear error


@dataclass
class ClientSession:
    """A client connection's state: its autocommit SQL session and what it opened."""

    id: str
    sql: Any
    catalog: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    last_used: float = field(default_factory=time.monotonic)
    aliases: set[tuple[str, str]] = field(default_factory=set)
    prepared: set[bytes] = field(default_factory=set)
    transactions: set[bytes] = field(default_factory=set)
    user: str | None = None  # the authenticated user (None: authentication is off)

    @property
    def schema(self) -> str:
        return self.sql.schema

    def identify(self, user: str | None, peer: str) -> None:
        """Who is calling, for kodiak_sessions and kodiak_queries (and the right to KILL)."""
        info = getattr(self.sql, "activity_session", None)
        if info is not None:
            info.user, info.peer, info.last_used = user, peer, time.time()


@dataclass
class Transaction:
    """A Flight SQL transaction: its own SQL session, begun at its first write.

    ADBC opens a transaction as soon as it connects (autocommit is off by default) and after
    every commit, and the engine has one writer at a time; beginning the SQL session's
    transaction only when a statement with side effects arrives keeps read-only clients from
    holding the writer lock. Reads before the first write see the latest committed data.
    """

    id: bytes
    sql: Any
    owner: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    last_used: float = field(default_factory=time.monotonic)
    begun: bool = False
    # Open savepoints, oldest first: (Flight SQL savepoint id, name in the SQL session).
    savepoints: list[tuple[bytes, str]] = field(default_factory=list)

    def ensure_begun(self) -> None:
        with self.lock:
            if not self.begun:
                self.sql.begin()
                self.begun = True


@dataclass(frozen=True)
class ExpiredTransaction:
    """What is remembered of a transaction the server ended for being idle."""

    owner: str
    schema: str
    begun: bool


@dataclass
class PreparedStatement:
    handle: bytes
    query: str
    prepared: Any
    sql: Any
    lock: threading.RLock
    owner: str
    transaction_id: bytes | None
    params: pa.Table | None = None
    last_used: float = field(default_factory=time.monotonic)
    # The row count of the DoPut update that just ran this statement (one without a result
    # set), until its next bind or execution: a GetFlightInfo then answers it, not a second
    # run (a driver that misreads an update count asks for the "result set" that way).
    just_updated: int | None = None


@dataclass
class Execution:
    """The outcome of one statement run, waiting for the DoGet of its ticket."""

    handle: bytes
    schema: pa.Schema
    reader: pa.RecordBatchReader | None = None
    table: pa.Table | None = None
    rowcount: int = -1
    created: float = field(default_factory=time.monotonic)
    # cancels the query, and stops it at its deadline, also while Acero runs its scans
    interrupt: Interrupt = field(default_factory=Interrupt)
    query: Any = None  # its observe.Query, while its result is still to be streamed

    def close(self) -> None:
        if self.query is not None and not self.query.streaming:
            self.query.end("abandoned")  # expired or cancelled before any DoGet
        self.interrupt.release()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                self.reader.close()
            self.reader = None


HANDLE_MAGIC = b"KDK1"
_HANDLE_RANDOM = 12


def make_handle(query: str) -> bytes:
    """A prepared-statement handle: magic, 12 random bytes, then the SQL text (UTF-8)."""
    return HANDLE_MAGIC + secrets.token_bytes(_HANDLE_RANDOM) + query.encode("utf-8")


def handle_query(handle: bytes) -> str | None:
    """The SQL text a handle carries (None for a handle Kodiak did not make)."""
    start = len(HANDLE_MAGIC) + _HANDLE_RANDOM
    if not handle.startswith(HANDLE_MAGIC) or len(handle) < start:
        return None
    try:
        return handle[start:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def close_sql(sql: Any, lock: threading.RLock) -> None:
    """Close a SQL session, logging (not raising) a failure."""
    try:
        with lock:
            sql.close()
    except Exception:
        log.exception("closing a SQL session failed")


NewSql = Callable[[str, ClientSession | None], Any]


class SessionStore:
    """The server's sessions, transactions, prepared statements and executions.

    ``new_sql(schema, owner)`` makes a SQL session (one for a transaction shares its owner's
    temporary tables). Idle state is expired by :meth:`sweep`, called by every call that finds
    its session and by a background thread (:meth:`run_sweeper`).
    """

    def __init__(self, new_sql: NewSql, *, catalog: str, default_schema: str,
                 session_idle_timeout: float, transaction_idle_timeout: float,
                 result_ttl: float) -> None:
        self.new_sql = new_sql
        self.catalog = catalog
        self.default_schema = default_schema
        self.session_idle_timeout = session_idle_timeout
        self.transaction_idle_timeout = transaction_idle_timeout
        self.result_ttl = result_ttl
        self.lock = threading.RLock()
        self.sessions: dict[str, ClientSession] = {}
        self.aliases: dict[tuple[str, str], str] = {}
        self.transactions: dict[bytes, Transaction] = {}
        self.prepared: dict[bytes, PreparedStatement] = {}
        self.executions: dict[bytes, Execution] = {}  # waiting for their DoGet
        self.streaming: dict[bytes, Execution] = {}  # being read (still cancellable)
        self.expired: OrderedDict[bytes, ExpiredTransaction] = OrderedDict()
        self.savepoints: dict[bytes, bytes] = {}  # savepoint id -> transaction id
        self.next_sweep = 0.0
        self.sweep_interval = max(0.05, min(5.0, transaction_idle_timeout / 4,
                                            session_idle_timeout / 4, result_ttl / 4))
        self.stop = threading.Event()
        self.running: weakref.WeakSet[Interrupt] = weakref.WeakSet()  # queries' interrupts
        self.limits = Limits()

    def track(self, interrupt: Interrupt) -> None:
        """Cancel ``interrupt`` when the server stops (at once if it is stopping)."""
        with self.lock:
            self.running.add(interrupt)
            if self.stop.is_set():
                interrupt.cancel()

    def cancel_running(self) -> None:
        """Cancel every running query (the server is stopping)."""
        with self.lock:
            for interrupt in list(self.running):
                interrupt.cancel()

    # -- sessions ---------------------------------------------------------------------------

    def find_client(self, cookie_sid: str | None, key: tuple[str, str],
                    now: float) -> ClientSession:
        """The session named by the cookie, else the one ``key`` (token id or peer address)
        last used, else a new one; ``key`` then leads to it."""
        with self.lock:
            session = self.sessions.get(cookie_sid) if cookie_sid else None
            if session is None:
                sid = self.aliases.get(key)
                session = self.sessions.get(sid) if sid else None
            if session is None:
                check_sessions(self.limits, len(self.sessions))
                sid = secrets.token_urlsafe(18)
                session = ClientSession(sid, self.new_sql(self.default_schema, None),
                                        self.catalog)
                self.sessions[sid] = session
            if key not in session.aliases:
                self.aliases[key] = session.id
                session.aliases.add(key)
            session.last_used = now
            return session

    def forget_session(self, sid: str) -> ClientSession:
        """Unregister a session and its prepared statements (caller holds ``lock``)."""
        session = self.sessions.pop(sid)
        for key in session.aliases:
            if self.aliases.get(key) == sid:
                del self.aliases[key]
        for handle in session.prepared:
            self.prepared.pop(handle, None)
        return session

    def close_session(self, client: ClientSession) -> None:
        """End a session: roll back its transactions, close its SQL session."""
        with self.lock:
            if self.sessions.get(client.id) is not client:
                return
            self.forget_session(client.id)
            transactions = [self.transactions.pop(t) for t in client.transactions
                            if t in self.transactions]
        for txn in transactions:
            self.end_transaction(txn, commit=False, quiet=True)
        close_sql(client.sql, client.lock)

    def close_all(self) -> None:
        """Roll back open transactions and close every session."""
        self.stop.set()
        with self.lock:
            sessions = list(self.sessions.values())
            transactions = list(self.transactions.values())
            executions = list(self.executions.values())
            self.sessions.clear()
            self.aliases.clear()
            self.transactions.clear()
            self.prepared.clear()
            self.executions.clear()
        for ex in executions:
            ex.close()
        for txn in transactions:
            self.end_transaction(txn, commit=False, quiet=True)
        for s in sessions:
            close_sql(s.sql, s.lock)

    # -- transactions -----------------------------------------------------------------------

    def transaction(self, transaction_id: bytes,
                    client: ClientSession | None = None) -> Transaction:
        """The open transaction ``transaction_id``; one that expired before writing anything
        carries on in a new SQL session (nothing is lost)."""
        transaction_id = bytes(transaction_id)
        with self.lock:
            txn = self.transactions.get(transaction_id)
            if txn is not None:
                txn.last_used = time.monotonic()
                return txn
            expired = self.expired.get(transaction_id)
            if expired is None:
                raise NotFound("unknown transaction (already ended, or from another server "
                               "process)", "UnknownTransaction")
            if expired.begun:
                raise NotFound(
                    f"the transaction was rolled back after {self.transaction_idle_timeout:.0f} s "
                    "without activity; nothing it wrote was kept", "TransactionExpired")
            del self.expired[transaction_id]
            return self._resume(transaction_id, expired,
                                client.id if client is not None else expired.owner)

    def _resume(self, transaction_id: bytes, expired: ExpiredTransaction,
                owner_id: str) -> Transaction:
        """A new transaction under an expired one's id (caller holds ``lock``)."""
        owner = self.sessions.get(owner_id)
        txn = Transaction(transaction_id, self.new_sql(expired.schema, owner), owner_id)
        self.transactions[transaction_id] = txn
        if owner is not None:
            owner.transactions.add(transaction_id)
        return txn

    def end_transaction(self, txn: Transaction, *, commit: bool, quiet: bool = False) -> None:
        """Commit or roll back, then close the transaction's SQL session. ``quiet``: log a
        failure instead of raising it (for abandoned transactions)."""
        with self.lock:
            for sp_id, _ in txn.savepoints:
                self.savepoints.pop(sp_id, None)
        txn.savepoints.clear()
        try:
            with txn.lock:
                if not txn.begun:
                    pass  # nothing was written
                elif commit:
                    txn.sql.commit()
                else:
                    txn.sql.rollback()
        except Exception:
            if not quiet:
                with contextlib.suppress(Exception), txn.lock:
                    txn.sql.rollback()
                close_sql(txn.sql, txn.lock)
                raise
            log.exception("rolling back an abandoned transaction failed")
        close_sql(txn.sql, txn.lock)

    # -- executions -------------------------------------------------------------------------

    def add_execution(self, ex: Execution) -> None:
        with self.lock:
            self.executions[ex.handle] = ex

    def take_execution(self, handle: bytes) -> Execution:
        """The execution a statement ticket names; tickets are single use."""
        with self.lock:
            ex = self.executions.pop(bytes(handle), None)
        if ex is None:
            raise NotFound("unknown statement ticket: tickets are single use and expire "
                           f"after {self.result_ttl:.0f} s", "UnknownTicket")
        return ex

    # -- expiry -----------------------------------------------------------------------------

    def run_sweeper(self) -> None:
        """The background thread's loop: sweep until :attr:`stop` is set."""
        while not self.stop.wait(self.sweep_interval):
            try:
                self.sweep(time.monotonic())
            except Exception:  # pragma: no cover - keep sweeping
                log.exception("expiring idle state failed")

    def sweep(self, now: float) -> None:
        """Expire idle sessions and transactions and unclaimed results.

        A transaction that has written (and so holds the engine's writer lock) is rolled back
        after ``transaction_idle_timeout``; one that has not, with its session.
        """
        if now < self.next_sweep:
            return
        with self.lock:
            if now < self.next_sweep:
                return
            self.next_sweep = now + self.sweep_interval / 2
            executions = self._expire_executions(now)
            transactions = self._expire_transactions(now)
            sessions = self._expire_sessions(now)
        for ex in executions:
            ex.close()
        for txn in transactions:
            log.info("rolling back transaction idle for over %.0f s",
                     self.transaction_idle_timeout)
            self.end_transaction(txn, commit=False, quiet=True)
        for s in sessions:
            close_sql(s.sql, s.lock)

    def _expire_executions(self, now: float) -> list[Execution]:
        old = [h for h, e in self.executions.items() if now - e.created > self.result_ttl]
        return [self.executions.pop(h) for h in old]

    def _expire_transactions(self, now: float) -> list[Transaction]:
        old = [t for t, x in self.transactions.items()
               if now - x.last_used > (self.transaction_idle_timeout if x.begun
                                       else self.session_idle_timeout)]
        transactions = [self.transactions.pop(t) for t in old]
        for txn in transactions:
            self.expired[txn.id] = ExpiredTransaction(txn.owner, txn.sql.schema, txn.begun)
        while len(self.expired) > MAX_EXPIRED:
            self.expired.popitem(last=False)
        return transactions

    def _expire_sessions(self, now: float) -> list[ClientSession]:
        old = [s for s, x in self.sessions.items()
               if now - x.last_used > self.session_idle_timeout
               and not any(t in self.transactions for t in x.transactions)]
        sessions = [self.forget_session(s) for s in old]
        for handle in [h for h, p in self.prepared.items()
                       if now - p.last_used > self.session_idle_timeout
                       or p.owner not in self.sessions]:
            self.prepared.pop(handle, None)
        return sessions
