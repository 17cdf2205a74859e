"""Kodiak's Arrow Flight SQL server.

:class:`KodiakFlightServer` is a ``pyarrow.flight.FlightServerBase`` that decodes Flight SQL
commands (``kodiak_flight.flightsql``), runs them through the SQL layer's ``Session`` and the
engine, and answers with Arrow streams. See ``docs/flight.md`` for what is served, the session
model, authentication and TLS.

State kept by the server, all in memory:

* client sessions (one SQL ``Session`` in autocommit mode each, plus the current catalog and
  schema), found by the ``arrow_flight_session_id`` cookie, else the bearer token's session id,
  else the gRPC peer address;
* prepared statements, by random handle;
* transactions, by random id, each with its own SQL ``Session`` holding the open transaction;
* executions: a statement that was run by GetFlightInfo, waiting for the DoGet of its ticket.

A statement runs exactly once per execution request: GetFlightInfo runs it and keeps the
outcome; DoGet only streams that outcome; GetSchema and CreatePreparedStatement never run
anything.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from . import admin, metadata, status
from . import flightsql as fsql
from .auth import Authenticator
from .flightsql import core_pb, pb
from .prefetch import prefetch
from .sql.files import FileAccess
from .sql.interrupt import Interrupt
from .status import InvalidArgument, NotFound, Unimplemented

# Explicit options: without them pyarrow reads an environment variable on every DoGet.
_IPC_OPTIONS = pa.ipc.IpcWriteOptions()
log = logging.getLogger("kodiak.flight")

SESSION_COOKIE = "arrow_flight_session_id"
MIDDLEWARE_KEY = "kodiak"

SessionFactory = Callable[..., Any]

MAX_SQL_NESTING = 500  # parentheses; deeper statements are refused before parsing


def _default_session_factory(db: Any, *, catalog: str, schema: str,
                             temp_tag: str | None = None) -> Any:
    from .sql.session import Session

    return Session(db, catalog=catalog, schema=schema, temp_tag=temp_tag)


def _server_version() -> str:
    try:
        from importlib.metadata import version

        return version("kodiak")
    except Exception:
        return "0.0.0"


# ---------------------------------------------------------------------------------------------
# Per-call middleware: authentication and session identification


class CallMiddleware(flight.ServerMiddleware):
    """Per-call state: who the caller is and which headers to send back."""

    def __init__(self, *, user: str | None = None, token_sid: str | None = None,
                 cookie_sid: str | None = None, new_token: str | None = None) -> None:
        self.user = user
        self.token_sid = token_sid
        self.cookie_sid = cookie_sid
        self.new_token = new_token
        self.set_cookie: str | None = None

    def sending_headers(self) -> dict[str, str]:
        headers = {}
        if self.new_token:
            headers["authorization"] = f"Bearer {self.new_token}"
        if self.set_cookie:
            headers["set-cookie"] = f"{SESSION_COOKIE}={self.set_cookie}"
        return headers

    def call_completed(self, exception: BaseException | None) -> None:
        pass


def _header(headers: dict[str, list[Any]], name: str) -> str | None:
    for key, values in headers.items():
        if key.lower() == name and values:
            value = values[0]
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


def _cookie(headers: dict[str, list[Any]], name: str) -> str | None:
    for key, values in headers.items():
        if key.lower() != "cookie":
            continue
        for value in values:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            for part in text.split(";"):
                k, _, v = part.strip().partition("=")
                if k == name and v:
                    return v
    return None


_COOKIE_METHODS = (flight.FlightMethod.GET_FLIGHT_INFO, flight.FlightMethod.GET_SCHEMA)


class CallMiddlewareFactory(flight.ServerMiddlewareFactory):
    """Authenticates every call when an :class:`Authenticator` is configured.

    * ``Handshake`` (and any other call) may carry ``authorization: Basic ...``: checked against
      the scrypt hash; the response carries ``authorization: Bearer <token>``.
    * Every other call must carry ``authorization: Bearer <token>``; a token past half its
      lifetime is renewed in the response headers.
    """

    def __init__(self, auth: Authenticator | None) -> None:
        super().__init__()
        self.auth = auth

    def start_call(self, info: flight.CallInfo, headers: dict[str, list[Any]]
                   ) -> CallMiddleware | None:
        cookie_sid = _cookie(headers, SESSION_COOKIE)
        if self.auth is None:
            if info.method == flight.FlightMethod.HANDSHAKE and _header(headers, "authorization"):
                raise flight.FlightUnauthenticatedError(
                    "this server has no password configured (KODIAK_PASSWORD is unset): connect "
                    "without a user name and password")
            if cookie_sid is None and info.method not in _COOKIE_METHODS:
                # Nothing to carry in or out: the session is found by the peer address. A
                # middleware instance costs two more Python callbacks per RPC, which under
                # many concurrent clients is GIL time every other call waits for. The unary
                # calls that start a query keep one, to hand out the session cookie (streaming
                # calls send their headers before the handler has found the session).
                return None
            return CallMiddleware(cookie_sid=cookie_sid)
        value = _header(headers, "authorization") or ""
        scheme = value.split(" ", 1)[0].lower()
        if scheme == "bearer":
            claims = self.auth.check_token(value.split(" ", 1)[1].strip() if " " in value else "")
            renewed = (self.auth.issue_token(claims.user, claims.sid)
                       if self.auth.needs_renewal(claims) else None)
            return CallMiddleware(user=claims.user, token_sid=claims.sid, cookie_sid=cookie_sid,
                                  new_token=renewed)
        if scheme == "basic":
            user = self.auth.check_basic(value)
            token = self.auth.issue_token(user)
            claims = self.auth.check_token(token)
            return CallMiddleware(user=user, token_sid=claims.sid, cookie_sid=cookie_sid,
                                  new_token=token)
        if info.method == flight.FlightMethod.HANDSHAKE:
            raise flight.FlightUnauthenticatedError(
                "authentication required: send 'authorization: Basic <base64 user:password>'")
        raise flight.FlightUnauthenticatedError(
            "authentication required: call Handshake with Basic credentials, then send the "
            "'authorization: Bearer <token>' header it returns")


class _HandshakeHandler(flight.ServerAuthHandler):
    """Lets Handshake succeed: the real checks happen in :class:`CallMiddlewareFactory`.

    Without any ServerAuthHandler, pyarrow answers Handshake with UNIMPLEMENTED, and ADBC, which
    calls Handshake whenever it is given a user name and password, would fail to connect.
    """

    def authenticate(self, outgoing: Any, incoming: Any) -> None:
        pass

    def is_valid(self, token: bytes) -> str:
        return ""


# ---------------------------------------------------------------------------------------------
# Server-side state


@dataclass
class ClientSession:
    id: str
    sql: Any
    catalog: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    last_used: float = field(default_factory=time.monotonic)
    aliases: set[tuple[str, str]] = field(default_factory=set)
    prepared: set[bytes] = field(default_factory=set)
    transactions: set[bytes] = field(default_factory=set)

    @property
    def schema(self) -> str:
        return self.sql.schema


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
class _Expired:
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

    def close(self) -> None:
        if self.reader is not None:
            with contextlib.suppress(Exception):
                self.reader.close()
            self.reader = None


def _is_update(result: Any) -> bool:
    rowcount = getattr(result, "rowcount", -1)
    return result.reader is None or (rowcount is not None and rowcount >= 0)


_HANDLE_MAGIC = b"KDK1"


def _make_handle(query: str) -> bytes:
    """A prepared-statement handle: magic, 12 random bytes, then the SQL text (UTF-8)."""
    return _HANDLE_MAGIC + secrets.token_bytes(12) + query.encode("utf-8")


def _handle_query(handle: bytes) -> str | None:
    if not handle.startswith(_HANDLE_MAGIC) or len(handle) < len(_HANDLE_MAGIC) + 12:
        return None
    try:
        return handle[len(_HANDLE_MAGIC) + 12:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _check_param_count(ps: PreparedStatement, params: pa.Table | None) -> None:
    """Refuse a parameter batch with more or fewer columns than the statement has
    placeholders (the SQL layer would otherwise ignore extra columns)."""
    schema = getattr(ps.prepared, "parameter_schema", None)
    if params is None or schema is None:
        return
    if params.num_columns != len(schema):
        raise InvalidArgument(f"the statement takes {len(schema)} parameter"
                              f"{'' if len(schema) == 1 else 's'}, but {params.num_columns} "
                              f"{'was' if params.num_columns == 1 else 'were'} bound",
                              "ParameterError")


def _params(table: pa.Table) -> pa.Table | None:
    """Bound parameters as the SQL layer takes them (None when the client bound none)."""
    if table.num_columns == 0:
        return None
    return _plain_params(table)


def _plain_params(table: pa.Table) -> pa.Table:
    """Union-typed parameter columns as plain columns.

    Some clients (flightsql-dbapi) bind every parameter as a one-value dense union of
    int64/double/utf8/binary/bool, so one statement can take values of different types. A
    column whose values all use one member becomes that member's type; a column mixing
    members is rebuilt from its Python values (INVALID_ARGUMENT if they have no common type).
    """
    if not any(pa.types.is_union(t) for t in table.schema.types):
        return table
    fields, columns = [], []
    for i, (f, col) in enumerate(zip(table.schema, table.columns, strict=True)):
        if pa.types.is_union(f.type):
            col = _plain_union(col, i + 1)
            f = pa.field(f.name, col.type)
        fields.append(f)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _plain_union(col: pa.ChunkedArray, position: int) -> pa.ChunkedArray:
    utype = col.type
    chunks = [c for c in col.chunks if len(c)]
    codes = {code for c in chunks for code in c.type_codes.to_pylist()}
    if len(codes) <= 1:
        code = codes.pop() if codes else utype.type_codes[0]
        child = utype.type_codes.index(code)
        out = []
        for c in chunks:
            values = c.field(child)
            if utype.mode == "dense":
                values = values.take(c.offsets)
            out.append(values)
        return pa.chunked_array(out, type=utype.field(child).type)
    try:
        return pa.chunked_array([pa.array(col.to_pylist())])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise InvalidArgument(f"parameter {position} is bound to values of different types",
                              "ParameterError") from None


# ---------------------------------------------------------------------------------------------
# The server


class KodiakFlightServer(flight.FlightServerBase):
    """Arrow Flight SQL over a Kodiak database.

    ``db`` is an ``engine.Database`` (metadata and bulk ingest use its snapshot/transaction API);
    ``session_factory(db, catalog=..., schema=...)`` makes SQL sessions (default:
    ``kodiak_flight.sql.session.Session``). ``file_root``: the directory whose files clients'
    SQL may read and write (``read_csv``, ``COPY``); None, the default, allows none.
    ``backup_root``: the directory online backups (``kodiak.backup``) must go under; None
    allows any absolute path the server process can write.
    """

    def __init__(self, db: Any, location: str | flight.Location = "grpc://127.0.0.1:0", *,
                 auth: Authenticator | None = None,
                 tls_certificates: list[flight.CertKeyPair] | None = None,
                 tls_client_ca: bytes | None = None,
                 session_factory: SessionFactory | None = None,
                 catalog: str = "kodiak", default_schema: str = "main",
                 session_idle_timeout: float = 3600.0,
                 transaction_idle_timeout: float = 300.0,
                 result_ttl: float = 600.0,
                 query_timeout: float | None = None,
                 max_sql_nesting: int = MAX_SQL_NESTING,
                 file_root: str | None = None, backup_root: str | None = None) -> None:
        status.install()
        if query_timeout is not None and query_timeout <= 0:
            raise ValueError("query_timeout must be positive (or None for no limit)")
        if tls_client_ca is not None and not tls_certificates:
            raise ValueError("tls_client_ca (mutual TLS) needs tls_certificates")
        self.query_timeout = query_timeout
        self.max_sql_nesting = max_sql_nesting
        self.db = db
        self.auth = auth
        self.catalog = catalog
        self.default_schema = default_schema
        self.session_factory = session_factory or _default_session_factory
        # SQL reads and writes files on this machine (read_csv, COPY): only under file_root
        if file_root is not None and not os.path.isdir(file_root):
            raise ValueError(f"file root {file_root!r} is not a directory")
        self.file_access = FileAccess.under(file_root) if file_root is not None \
            else FileAccess(())
        if backup_root is not None and not os.path.isdir(backup_root):
            raise ValueError(f"backup root {backup_root!r} is not a directory")
        self.backup_root = backup_root  # kodiak.backup writes only under it, when set
        self.session_idle_timeout = session_idle_timeout
        self.transaction_idle_timeout = transaction_idle_timeout
        self.result_ttl = result_ttl
        self.tls = bool(tls_certificates)
        self._lock = threading.RLock()
        self._sessions: dict[str, ClientSession] = {}
        self._aliases: dict[tuple[str, str], str] = {}
        self._transactions: dict[bytes, Transaction] = {}
        self._prepared: dict[bytes, PreparedStatement] = {}
        self._executions: dict[bytes, Execution] = {}  # waiting for their DoGet
        self._streaming: dict[bytes, Execution] = {}  # being read (still cancellable)
        self._expired: OrderedDict[bytes, _Expired] = OrderedDict()
        self._savepoints: dict[bytes, bytes] = {}  # savepoint id -> transaction id
        self._next_sweep = 0.0
        self._sweep_interval = max(0.05, min(5.0, transaction_idle_timeout / 4,
                                             session_idle_timeout / 4, result_ttl / 4))
        self._stop = threading.Event()
        self.sql_info = metadata.default_sql_info(server_version=_server_version(),
                                                  ingest_transactions=True, savepoints=True)
        if session_factory is None:  # temporary tables of sessions a crash or stop cut off
            from .sql.catalog import drop_temp_tables
            if dropped := drop_temp_tables(db):
                log.info("dropped %d temporary table(s) left by earlier sessions", dropped)
        super().__init__(location, auth_handler=_HandshakeHandler(),
                         tls_certificates=tls_certificates,
                         verify_client=tls_client_ca is not None,
                         root_certificates=tls_client_ca,
                         middleware={MIDDLEWARE_KEY: CallMiddlewareFactory(auth)})
        threading.Thread(target=self._sweeper, name="kodiak-sweeper", daemon=True).start()

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        scheme = "grpc+tls" if self.tls else "grpc"
        return f"{scheme}://{self._host}:{self.port}"

    _host = "127.0.0.1"

    def shutdown(self) -> None:
        """Stop serving (waits for running calls), then roll back and close all sessions."""
        self._stop.set()
        super().shutdown()
        self.close_all()

    def close_all(self) -> None:
        """Roll back open transactions and close every session."""
        self._stop.set()
        with self._lock:
            sessions = list(self._sessions.values())
            transactions = list(self._transactions.values())
            executions = list(self._executions.values())
            self._sessions.clear()
            self._aliases.clear()
            self._transactions.clear()
            self._prepared.clear()
            self._executions.clear()
        for ex in executions:
            ex.close()
        for txn in transactions:
            self._end_transaction(txn, commit=False, quiet=True)
        for s in sessions:
            self._close_sql(s.sql, s.lock)

    # -- helpers: sessions, transactions, errors --------------------------------------------

    @contextlib.contextmanager
    def _rpc(self, what: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            mapped = status.to_flight(exc, what=what)
            if mapped is exc:
                raise
            raise mapped from None

    def _guard(self, what: str, items: Iterable[Any]) -> Iterator[Any]:
        """Iterate ``items`` (a lazily evaluated stream) mapping errors to Flight statuses."""
        with self._rpc(what):
            yield from items

    def _middleware(self, context: flight.ServerCallContext) -> CallMiddleware | None:
        try:
            return context.get_middleware(MIDDLEWARE_KEY)
        except Exception:  # pragma: no cover
            return None

    def _new_sql(self, schema: str, owner: ClientSession | None = None) -> Any:
        """A SQL session; one for a transaction shares its connection's temporary tables."""
        tag = getattr(owner.sql, "temp_tag", None) if owner is not None else None
        if tag is None:
            sql = self.session_factory(self.db, catalog=self.catalog, schema=schema)
        else:
            sql = self.session_factory(self.db, catalog=self.catalog, schema=schema,
                                       temp_tag=tag)
        if hasattr(sql, "file_access"):  # the server's files, not the client's
            sql.file_access = self.file_access
        return sql

    def _client(self, context: flight.ServerCallContext) -> ClientSession:
        """The caller's session: by cookie, else bearer-token session id, else peer address."""
        now = time.monotonic()
        self._maybe_sweep(now)
        mw = self._middleware(context)
        with self._lock:
            session = None
            if mw is not None and mw.cookie_sid:
                session = self._sessions.get(mw.cookie_sid)
            if mw is not None and mw.token_sid:
                key = ("token", mw.token_sid)
            else:
                key = ("peer", context.peer())
            if session is None:
                sid = self._aliases.get(key)
                session = self._sessions.get(sid) if sid else None
            if session is None:
                sid = secrets.token_urlsafe(18)
                session = ClientSession(sid, self._new_sql(self.default_schema), self.catalog)
                self._sessions[sid] = session
            if mw is not None and mw.cookie_sid != session.id:
                mw.set_cookie = session.id  # (calls without a middleware cannot carry it)
            if key not in session.aliases:
                self._aliases[key] = session.id
                session.aliases.add(key)
            session.last_used = now
            return session

    def _target(self, client: ClientSession, transaction_id: bytes | None
                ) -> tuple[Any, threading.RLock, Transaction | None]:
        """The SQL session (and its lock) a statement runs in: its transaction's, or the
        client's autocommit session."""
        if transaction_id:
            txn = self._transaction(transaction_id, client)
            return txn.sql, txn.lock, txn
        return client.sql, client.lock, None

    @staticmethod
    def _txn_id(cmd: Any) -> bytes | None:
        return bytes(cmd.transaction_id) if cmd.HasField("transaction_id") \
            and cmd.transaction_id else None

    def _check_sql(self, query: str) -> None:
        """Refuse SQL nested deeper than ``max_sql_nesting`` parentheses before parsing it:
        a recursive-descent parser would otherwise exhaust the stack of the server thread."""
        limit = self.max_sql_nesting
        if query.count("(") <= limit:
            return
        depth = 0
        quote = ""
        for ch in query:
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch == "(":
                depth += 1
                if depth > limit:
                    raise InvalidArgument(f"the statement is nested too deeply (more than "
                                          f"{limit} levels of parentheses)", "TooComplex")
            elif ch == ")":
                depth -= 1

    def _prepare(self, sql: Any, query: str) -> Any:
        self._check_sql(query)
        return sql.prepare(query)

    def _interrupt(self) -> Interrupt:
        """A new query's interrupt, with the server's query timeout as its deadline."""
        if self.query_timeout is None:
            return Interrupt()
        return Interrupt(time.monotonic() + self.query_timeout, self.query_timeout)

    def _run_sql(self, client: ClientSession, query: str, txn_id: bytes | None, *,
                 update: bool, interrupt: Interrupt | None = None) -> Any:
        """Run SQL text once; inside a transaction, begin it first if the statement writes."""
        self._check_sql(query)
        sql, lock, txn = self._target(client, txn_id)
        with lock:
            if txn is not None and not txn.begun:
                if update or self._prepare(sql, query).is_update:
                    txn.ensure_begun()
            return sql.execute(query, interrupt=interrupt)

    def _transaction(self, transaction_id: bytes,
                     client: ClientSession | None = None) -> Transaction:
        transaction_id = bytes(transaction_id)
        with self._lock:
            txn = self._transactions.get(transaction_id)
            if txn is not None:
                txn.last_used = time.monotonic()
                return txn
            expired = self._expired.get(transaction_id)
            if expired is None:
                raise NotFound("unknown transaction (already ended, or from another server "
                               "process)", "UnknownTransaction")
            if expired.begun:
                raise NotFound(
                    f"the transaction was rolled back after {self.transaction_idle_timeout:.0f} s "
                    "without activity; nothing it wrote was kept", "TransactionExpired")
            # It expired before writing anything: nothing is lost by carrying on in a new one.
            del self._expired[transaction_id]
            owner_id = client.id if client is not None else expired.owner
            txn = Transaction(transaction_id, self._new_sql(
                expired.schema, self._sessions.get(owner_id)), owner_id)
            self._transactions[transaction_id] = txn
            owner = self._sessions.get(owner_id)
            if owner is not None:
                owner.transactions.add(transaction_id)
            return txn

    def _prepared_statement(self, handle: bytes, client: ClientSession) -> PreparedStatement:
        """The prepared statement behind ``handle``, ready to run for ``client``.

        Handles carry their SQL text, so a handle the server no longer knows (expired, or from
        before a restart) is prepared again. A statement whose transaction has ended runs in
        the caller's one open transaction if it has exactly one, else in autocommit mode: ADBC
        keeps using a prepared handle after commit()/rollback(), which begin a new transaction.
        """
        handle = bytes(handle)
        with self._lock:
            ps = self._prepared.get(handle)
            if ps is not None:
                ps.last_used = time.monotonic()
                if ps.transaction_id is None:
                    return ps
                txn = self._transactions.get(ps.transaction_id)
                if txn is not None:
                    txn.last_used = ps.last_used
                    return ps
            open_txns = [self._transactions[t] for t in client.transactions
                         if t in self._transactions]
        if ps is None:
            query = _handle_query(handle)
            if query is None:
                raise NotFound("unknown prepared statement handle", "UnknownPreparedStatement")
        else:
            query = ps.query
        if len(open_txns) == 1:
            sql, lock, txn_id = open_txns[0].sql, open_txns[0].lock, open_txns[0].id
        else:
            sql, lock, txn_id = client.sql, client.lock, None
        with lock:
            prepared = self._prepare(sql, query)
        with self._lock:
            ps = self._prepared.get(handle)
            if ps is None:
                ps = PreparedStatement(handle, query, prepared, sql, lock, client.id, txn_id)
                self._prepared[handle] = ps
                client.prepared.add(handle)
            else:
                ps.prepared, ps.sql, ps.lock, ps.transaction_id = prepared, sql, lock, txn_id
        return ps

    @staticmethod
    def _close_sql(sql: Any, lock: threading.RLock) -> None:
        try:
            with lock:
                sql.close()
        except Exception:
            log.exception("closing a SQL session failed")

    def _end_transaction(self, txn: Transaction, *, commit: bool, quiet: bool = False) -> None:
        with self._lock:
            for sp_id, _ in txn.savepoints:
                self._savepoints.pop(sp_id, None)
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
                self._close_sql(txn.sql, txn.lock)
                raise
            log.exception("rolling back an abandoned transaction failed")
        self._close_sql(txn.sql, txn.lock)

    def _sweeper(self) -> None:
        while not self._stop.wait(self._sweep_interval):
            try:
                self._maybe_sweep(time.monotonic())
            except Exception:  # pragma: no cover - keep sweeping
                log.exception("expiring idle state failed")

    def _maybe_sweep(self, now: float) -> None:
        """Expire idle sessions and transactions and unclaimed results.

        A transaction that has written (and so holds the engine's writer lock) is rolled back
        after ``transaction_idle_timeout``; one that has not, with its session.
        """
        if now < self._next_sweep:
            return
        with self._lock:
            if now < self._next_sweep:
                return
            self._next_sweep = now + self._sweep_interval / 2
            old_exec = [h for h, e in self._executions.items()
                        if now - e.created > self.result_ttl]
            executions = [self._executions.pop(h) for h in old_exec]
            old_txn = [t for t, x in self._transactions.items()
                       if now - x.last_used > (self.transaction_idle_timeout if x.begun
                                               else self.session_idle_timeout)]
            transactions = [self._transactions.pop(t) for t in old_txn]
            for txn in transactions:
                self._expired[txn.id] = _Expired(txn.owner, txn.sql.schema, txn.begun)
            while len(self._expired) > 10_000:
                self._expired.popitem(last=False)
            old_sessions = [s for s, x in self._sessions.items()
                            if now - x.last_used > self.session_idle_timeout
                            and not any(t in self._transactions for t in x.transactions)]
            sessions = [self._forget_session(s) for s in old_sessions]
            for ps_handle in [h for h, p in self._prepared.items()
                              if now - p.last_used > self.session_idle_timeout
                              or p.owner not in self._sessions]:
                self._prepared.pop(ps_handle, None)
        for ex in executions:
            ex.close()
        for txn in transactions:
            log.info("rolling back transaction idle for over %.0f s", self.transaction_idle_timeout)
            self._end_transaction(txn, commit=False, quiet=True)
        for s in sessions:
            self._close_sql(s.sql, s.lock)

    def _forget_session(self, sid: str) -> ClientSession:
        """Unregister a session and its prepared statements (caller holds ``_lock``)."""
        session = self._sessions.pop(sid)
        for key in session.aliases:
            if self._aliases.get(key) == sid:
                del self._aliases[key]
        for handle in session.prepared:
            self._prepared.pop(handle, None)
        return session

    def _register_execution(self, result: Any, interrupt: Interrupt) -> Execution:
        handle = secrets.token_bytes(16)
        if _is_update(result):
            # Side effects have happened; keep the (small) outcome, not a live reader.
            table = result.reader.read_all() if result.reader is not None \
                else (result.schema or pa.schema([])).empty_table()
            ex = Execution(handle, table.schema, table=table, rowcount=result.rowcount)
        elif getattr(result, "table", None) is not None:
            # computed in memory anyway (a key lookup, a sort, a small aggregate): DoGet sends
            # it from C++ without pulling batches through a Python generator
            ex = Execution(handle, result.table.schema, table=result.table)
        else:
            reader = result.reader
            ex = Execution(handle, reader.schema, reader=reader, interrupt=interrupt)
        with self._lock:
            self._executions[handle] = ex
        return ex

    def _statement_info(self, descriptor: flight.FlightDescriptor, ex: Execution
                        ) -> flight.FlightInfo:
        ticket = flight.Ticket(fsql.pack(pb.TicketStatementQuery(statement_handle=ex.handle)))
        total = -1
        if ex.table is not None:
            # A statement without a result set reports the rows it affected (ADBC turns
            # total_records into the DB-API rowcount); a result set reports its length.
            affected = ex.table.num_columns == 0 and ex.rowcount is not None and ex.rowcount >= 0
            total = int(ex.rowcount) if affected else ex.table.num_rows
        return flight.FlightInfo(ex.schema, descriptor, [flight.FlightEndpoint(ticket, [])],
                                 total, -1)

    def _command(self, descriptor: flight.FlightDescriptor) -> Any:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise InvalidArgument("Kodiak serves Flight SQL: the descriptor must be a command "
                                  "(path descriptors are not supported)", "ProtocolError")
        return fsql.unpack(descriptor.command, what="command")

    # -- GetFlightInfo / GetSchema ----------------------------------------------------------

    def get_flight_info(self, context: flight.ServerCallContext,
                        descriptor: flight.FlightDescriptor) -> flight.FlightInfo:
        with self._rpc("GetFlightInfo"):
            cmd = self._command(descriptor)
            client = self._client(context)
            if isinstance(cmd, pb.CommandStatementQuery):
                interrupt = self._interrupt()
                result = self._run_sql(client, cmd.query, self._txn_id(cmd), update=False,
                                       interrupt=interrupt)
                return self._statement_info(descriptor,
                                            self._register_execution(result, interrupt))
            if isinstance(cmd, pb.CommandPreparedStatementQuery):
                interrupt = self._interrupt()
                ps = self._prepared_statement(cmd.prepared_statement_handle, client)
                result = self._run_prepared(ps, ps.params, interrupt=interrupt)
                return self._statement_info(descriptor,
                                            self._register_execution(result, interrupt))
            if isinstance(cmd, fsql.METADATA_COMMANDS):
                ticket = flight.Ticket(fsql.pack(cmd))
                return flight.FlightInfo(metadata.result_schema(cmd), descriptor,
                                         [flight.FlightEndpoint(ticket, [])], -1, -1)
            raise self._wrong_rpc(cmd, "GetFlightInfo")

    def get_schema(self, context: flight.ServerCallContext,
                   descriptor: flight.FlightDescriptor) -> flight.SchemaResult:
        with self._rpc("GetSchema"):
            cmd = self._command(descriptor)
            client = self._client(context)
            if isinstance(cmd, pb.CommandStatementQuery):
                sql, lock, _ = self._target(client, self._txn_id(cmd))
                with lock:
                    prepared = self._prepare(sql, cmd.query)
                return flight.SchemaResult(prepared.dataset_schema or pa.schema([]))
            if isinstance(cmd, pb.CommandPreparedStatementQuery):
                ps = self._prepared_statement(cmd.prepared_statement_handle, client)
                return flight.SchemaResult(ps.prepared.dataset_schema or pa.schema([]))
            if isinstance(cmd, fsql.METADATA_COMMANDS):
                return flight.SchemaResult(metadata.result_schema(cmd))
            raise self._wrong_rpc(cmd, "GetSchema")

    @staticmethod
    def _wrong_rpc(cmd: Any, rpc: str) -> Exception:
        name = type(cmd).__name__
        if isinstance(cmd, pb.CommandStatementSubstraitPlan):
            return Unimplemented("Substrait plans are not supported; send SQL", "Unsupported")
        hint = ""
        if isinstance(cmd, pb.CommandStatementUpdate | pb.CommandPreparedStatementUpdate
                      | pb.CommandStatementIngest):
            hint = " (send it with DoPut)"
        elif isinstance(cmd, pb.TicketStatementQuery):
            hint = " (it is a ticket: send it with DoGet)"
        return InvalidArgument(f"{name} cannot be used with {rpc}{hint}", "ProtocolError")

    # -- DoGet ------------------------------------------------------------------------------

    def do_get(self, context: flight.ServerCallContext,
               ticket: flight.Ticket) -> flight.FlightDataStream:
        with self._rpc("DoGet"):
            cmd = fsql.unpack(ticket.ticket, what="ticket")
            if isinstance(cmd, pb.TicketStatementQuery):
                with self._lock:
                    ex = self._executions.pop(bytes(cmd.statement_handle), None)
                if ex is None:
                    raise NotFound("unknown statement ticket: tickets are single use and expire "
                                   f"after {self.result_ttl:.0f} s", "UnknownTicket")
                return self._stream(ex)
            if isinstance(cmd, fsql.METADATA_COMMANDS):
                client = self._client(context)
                return flight.RecordBatchStream(self._metadata(client, cmd),
                                                options=_IPC_OPTIONS)
            raise self._wrong_rpc(cmd, "DoGet")

    def _stream(self, ex: Execution) -> flight.FlightDataStream:
        if ex.table is not None:
            return flight.RecordBatchStream(ex.table, options=_IPC_OPTIONS)
        try:
            ex.interrupt.check()
        except Exception as e:
            ex.close()
            raise status.to_flight(e) from None
        with self._lock:
            self._streaming[ex.handle] = ex

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                reader = ex.reader
                while True:
                    # also checked by every scan, in the middle of Acero's work
                    ex.interrupt.check()
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        return
                    yield batch
            finally:
                with self._lock:
                    self._streaming.pop(ex.handle, None)
                ex.close()

        return flight.GeneratorStream(ex.schema, self._guard("DoGet", batches()),
                                      options=_IPC_OPTIONS)

    def _metadata(self, client: ClientSession, cmd: Any) -> pa.Table:
        if isinstance(cmd, pb.CommandGetSqlInfo):
            return metadata.sql_info(self.sql_info, cmd.info)
        if isinstance(cmd, pb.CommandGetXdbcTypeInfo):
            return metadata.xdbc_type_info(cmd)
        if isinstance(cmd, pb.CommandGetCatalogs):
            return metadata.catalogs(self.catalog)
        if isinstance(cmd, pb.CommandGetTableTypes):
            return metadata.table_types()
        if isinstance(cmd, pb.CommandGetExportedKeys | pb.CommandGetImportedKeys
                      | pb.CommandGetCrossReference):
            return metadata.foreign_keys()
        snap = self.db.snapshot()
        if isinstance(cmd, pb.CommandGetDbSchemas):
            return metadata.db_schemas(snap, self.catalog, cmd)
        if isinstance(cmd, pb.CommandGetTables):
            return metadata.tables(snap, self.catalog, cmd)
        if isinstance(cmd, pb.CommandGetPrimaryKeys):
            return metadata.primary_keys(snap, self.catalog, cmd)
        raise self._wrong_rpc(cmd, "DoGet")  # pragma: no cover

    # -- DoPut ------------------------------------------------------------------------------

    def do_put(self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor,
               reader: flight.MetadataRecordBatchReader,
               writer: flight.FlightMetadataWriter) -> None:
        with self._rpc("DoPut"):
            cmd = self._command(descriptor)
            client = self._client(context)
            if isinstance(cmd, pb.CommandStatementUpdate):
                result = self._run_sql(client, cmd.query, self._txn_id(cmd), update=True)
                writer.write(fsql.update_result(self._drain_rowcount(result)))
                return
            if isinstance(cmd, pb.CommandPreparedStatementQuery):
                ps = self._prepared_statement(cmd.prepared_statement_handle, client)
                params = _params(reader.read_all())
                _check_param_count(ps, params)
                with ps.lock:
                    ps.params = params
                writer.write(fsql.prepared_put_result(ps.handle))
                return
            if isinstance(cmd, pb.CommandPreparedStatementUpdate):
                ps = self._prepared_statement(cmd.prepared_statement_handle, client)
                params = _params(reader.read_all())
                _check_param_count(ps, params)
                result = self._run_prepared(ps, params if params is not None else ps.params,
                                            update=True)
                writer.write(fsql.update_result(self._drain_rowcount(result)))
                return
            if isinstance(cmd, pb.CommandStatementIngest):
                count = self._ingest(client, cmd, reader)
                writer.write(fsql.update_result(count))
                return
            if isinstance(cmd, pb.CommandStatementSubstraitPlan):
                raise Unimplemented("Substrait plans are not supported; send SQL", "Unsupported")
            raise InvalidArgument(f"{type(cmd).__name__} cannot be used with DoPut",
                                  "ProtocolError")

    def _run_prepared(self, ps: PreparedStatement, params: pa.Table | None, *,
                      update: bool = False, interrupt: Interrupt | None = None) -> Any:
        txn = self._transactions.get(ps.transaction_id) if ps.transaction_id else None
        with ps.lock:
            if txn is not None and (update or ps.prepared.is_update):
                txn.ensure_begun()
            return ps.prepared.execute(params, interrupt=interrupt)

    @staticmethod
    def _drain_rowcount(result: Any) -> int:
        """Row count of an update; a query sent as an update is run and its rows counted."""
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
        return -1 if rowcount is None else int(rowcount)

    # -- bulk ingest ------------------------------------------------------------------------

    _CREATE = pb.CommandStatementIngest.TableDefinitionOptions.TABLE_NOT_EXIST_OPTION_CREATE
    _NOT_EXIST_FAIL = pb.CommandStatementIngest.TableDefinitionOptions.TABLE_NOT_EXIST_OPTION_FAIL
    _EXISTS_FAIL = pb.CommandStatementIngest.TableDefinitionOptions.TABLE_EXISTS_OPTION_FAIL
    _APPEND = pb.CommandStatementIngest.TableDefinitionOptions.TABLE_EXISTS_OPTION_APPEND
    _REPLACE = pb.CommandStatementIngest.TableDefinitionOptions.TABLE_EXISTS_OPTION_REPLACE

    def _ingest(self, client: ClientSession, cmd: pb.CommandStatementIngest,
                reader: flight.MetadataRecordBatchReader) -> int:
        opts = cmd.table_definition_options
        if opts.if_not_exist not in (self._CREATE, self._NOT_EXIST_FAIL):
            raise InvalidArgument("ingest: table_definition_options.if_not_exist must be CREATE "
                                  "or FAIL", "ProtocolError")
        if opts.if_exists not in (self._EXISTS_FAIL, self._APPEND, self._REPLACE):
            raise InvalidArgument("ingest: table_definition_options.if_exists must be FAIL, "
                                  "APPEND or REPLACE", "ProtocolError")
        if cmd.temporary and cmd.HasField("schema") and cmd.schema:
            raise InvalidArgument("ingest: a temporary table has no schema (it lives in the "
                                  "connection's temporary space)", "ProtocolError")
        if not cmd.table:
            raise InvalidArgument("ingest: no target table named", "ProtocolError")
        if cmd.HasField("catalog") and cmd.catalog not in ("", self.catalog):
            raise NotFound(f"ingest: catalog {cmd.catalog!r} does not exist (the only catalog is "
                           f"{self.catalog!r})", "NotFound")
        txn_id = self._txn_id(cmd)
        txn = self._transaction(txn_id, client) if txn_id else None
        schema_name = cmd.schema if cmd.HasField("schema") and cmd.schema else \
            (txn.sql.schema if txn is not None else client.schema)
        name = f"{schema_name}.{cmd.table}"
        if cmd.temporary:  # dropped when the connection's session closes
            name = (txn.sql if txn is not None else client.sql).temp_table(cmd.table)
            schema_name = name.split(".", 1)[0]
        incoming = reader.schema.remove_metadata()
        stream = pa.RecordBatchReader.from_batches(
            incoming, prefetch(_put_batches(reader, incoming), depth=4))

        def load(tx: Any) -> int:
            if cmd.temporary:
                tx.create_schema(schema_name, if_not_exists=True)
            snap = tx.snapshot()
            if schema_name not in snap.schemas():
                raise NotFound(f"ingest: schema {schema_name!r} does not exist", "NotFound")
            exists = snap.has_table(name)
            if exists:
                if opts.if_exists == self._EXISTS_FAIL:
                    raise InvalidArgument(f"ingest: table {name!r} already exists",
                                          "AlreadyExists")
                if opts.if_exists == self._REPLACE:
                    tx.drop_table(name)
                    tx.create_table(name, incoming)
            else:
                if opts.if_not_exist == self._NOT_EXIST_FAIL:
                    raise NotFound(f"ingest: table {name!r} does not exist", "NotFound")
                tx.create_table(name, incoming)
            return tx.insert(name, stream)

        if txn is None:
            tx = self.db.begin()
            try:
                count = load(tx)
                tx.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    tx.rollback()
                raise
            return count
        with txn.lock:
            txn.ensure_begun()
            return load(self._engine_transaction(txn.sql))

    @staticmethod
    def _engine_transaction(sql: Any) -> Any:
        """The engine transaction a SQL session has open (for ingest inside a transaction)."""
        tx = sql.transaction
        if tx is None:  # pragma: no cover - ensure_begun() opened it
            raise InvalidArgument("ingest inside a transaction: the transaction is not open",
                                  "TransactionError")
        return tx

    # -- DoAction ---------------------------------------------------------------------------

    def list_actions(self, context: flight.ServerCallContext) -> list[tuple[str, str]]:
        return [
            (fsql.CREATE_PREPARED_STATEMENT, "Prepare a SQL statement"),
            (fsql.CLOSE_PREPARED_STATEMENT, "Close a prepared statement"),
            (fsql.BEGIN_TRANSACTION, "Begin a transaction"),
            (fsql.END_TRANSACTION, "Commit or roll back a transaction"),
            (fsql.BEGIN_SAVEPOINT, "Set a savepoint in a transaction"),
            (fsql.END_SAVEPOINT, "Release or roll back to a savepoint"),
            (fsql.CANCEL_FLIGHT_INFO, "Cancel a query whose results were not fully read"),
            (fsql.CANCEL_QUERY, "Cancel a query (deprecated Flight SQL action)"),
            (fsql.SET_SESSION_OPTIONS, "Set session options: catalog, schema"),
            (fsql.GET_SESSION_OPTIONS, "Get session options"),
            (fsql.CLOSE_SESSION, "Close the session"),
            *admin.ACTIONS,
        ]

    def do_action(self, context: flight.ServerCallContext,
                  action: flight.Action) -> Iterator[flight.Result]:
        with self._rpc(f"DoAction({action.type})"):
            results = self._action(context, action.type, action.body.to_pybytes()
                                   if action.body is not None else b"")
            return iter([flight.Result(r) for r in results])

    def _action(self, context: flight.ServerCallContext, kind: str, body: bytes) -> list[bytes]:
        client = self._client(context)
        if kind == fsql.CREATE_PREPARED_STATEMENT:
            req = fsql.unpack(body, what="action body")
            if not isinstance(req, pb.ActionCreatePreparedStatementRequest):
                raise InvalidArgument(f"CreatePreparedStatement expects "
                                      f"ActionCreatePreparedStatementRequest, got "
                                      f"{type(req).__name__}", "ProtocolError")
            return [self._create_prepared(client, req)]
        if kind == fsql.CLOSE_PREPARED_STATEMENT:
            req = fsql.unpack(body, what="action body")
            if not isinstance(req, pb.ActionClosePreparedStatementRequest):
                raise InvalidArgument("ClosePreparedStatement expects "
                                      "ActionClosePreparedStatementRequest", "ProtocolError")
            with self._lock:
                ps = self._prepared.pop(bytes(req.prepared_statement_handle), None)
                owner = self._sessions.get(ps.owner) if ps else None
                if owner is not None:
                    owner.prepared.discard(ps.handle)
            return []
        if kind == fsql.BEGIN_TRANSACTION:
            return [self._begin_transaction(client)]
        if kind == fsql.END_TRANSACTION:
            req = fsql.unpack(body, what="action body")
            if not isinstance(req, pb.ActionEndTransactionRequest):
                raise InvalidArgument("EndTransaction expects ActionEndTransactionRequest",
                                      "ProtocolError")
            if req.action not in (req.END_TRANSACTION_COMMIT, req.END_TRANSACTION_ROLLBACK):
                raise InvalidArgument("EndTransaction: action must be COMMIT or ROLLBACK",
                                      "ProtocolError")
            commit = req.action == req.END_TRANSACTION_COMMIT
            with self._lock:
                txn = self._transactions.pop(bytes(req.transaction_id), None)
                owner = self._sessions.get(txn.owner) if txn else None
                if owner is not None:
                    owner.transactions.discard(txn.id)
                expired = self._expired.pop(bytes(req.transaction_id), None) \
                    if txn is None else None
            if txn is None:
                if expired is not None and not (commit and expired.begun):
                    return []  # rolled back already / nothing to commit
                if expired is not None:
                    raise NotFound(
                        f"cannot commit: the transaction was rolled back after "
                        f"{self.transaction_idle_timeout:.0f} s without activity",
                        "TransactionExpired")
                raise NotFound("unknown transaction (already ended, or from another server "
                               "process)", "UnknownTransaction")
            self._end_transaction(txn, commit=commit)
            return []
        if kind == fsql.BEGIN_SAVEPOINT:
            req = fsql.unpack(body, what="action body")
            if not isinstance(req, pb.ActionBeginSavepointRequest):
                raise InvalidArgument("BeginSavepoint expects ActionBeginSavepointRequest",
                                      "ProtocolError")
            return [self._begin_savepoint(client, req)]
        if kind == fsql.END_SAVEPOINT:
            req = fsql.unpack(body, what="action body")
            if not isinstance(req, pb.ActionEndSavepointRequest):
                raise InvalidArgument("EndSavepoint expects ActionEndSavepointRequest",
                                      "ProtocolError")
            self._end_savepoint(req)
            return []
        if kind == fsql.CREATE_PREPARED_SUBSTRAIT_PLAN:
            raise Unimplemented("Substrait plans are not supported; send SQL", "Unsupported")
        if kind == fsql.CANCEL_FLIGHT_INFO:
            req = fsql.parse_raw(core_pb.CancelFlightInfoRequest, body, what="CancelFlightInfo")
            state = self._cancel(req.info)
            return [core_pb.CancelFlightInfoResult(status=state).SerializeToString()]
        if kind == fsql.CANCEL_QUERY:
            req = fsql.unpack(body, what="action body")
            if not isinstance(req, pb.ActionCancelQueryRequest):
                raise InvalidArgument("CancelQuery expects ActionCancelQueryRequest",
                                      "ProtocolError")
            state = self._cancel(req.info)
            return [fsql.pack(pb.ActionCancelQueryResult(result=state))]
        if kind == fsql.SET_SESSION_OPTIONS:
            req = fsql.parse_raw(core_pb.SetSessionOptionsRequest, body,
                                 what="SetSessionOptions")
            return [self._set_options(client, req).SerializeToString()]
        if kind == fsql.GET_SESSION_OPTIONS:
            out = core_pb.GetSessionOptionsResult()
            out.session_options["catalog"].string_value = client.catalog
            out.session_options["schema"].string_value = client.schema
            return [out.SerializeToString()]
        if kind == fsql.CLOSE_SESSION:
            self._close_session(client)
            return [core_pb.CloseSessionResult(
                status=core_pb.CloseSessionResult.CLOSED).SerializeToString()]
        if kind in (admin.ACTION_BACKUP, admin.ACTION_INFO, admin.ACTION_CHECK):
            return [self._admin_action(context, kind, body)]
        raise Unimplemented(f"unknown action type {kind!r}", "UnknownAction")

    def _admin_action(self, context: flight.ServerCallContext, kind: str, body: bytes) -> bytes:
        """``kodiak.backup`` / ``kodiak.info`` / ``kodiak.check``: JSON in, JSON out (see
        docs/flight.md).

        With authentication on, the caller must be an authenticated user (the middleware
        already refuses calls without credentials; this does not rely on it alone)."""
        mw = self._middleware(context)
        if self.auth is not None and (mw is None or not mw.user):
            raise flight.FlightUnauthenticatedError(f"{kind} requires an authenticated user")
        if kind == admin.ACTION_INFO:
            return admin.info_json(self.db)
        if kind == admin.ACTION_CHECK:
            out = admin.check_json(self.db)
            log.info("online check requested by %s: %s", (mw.user if mw else None)
                     or "anonymous", out[:200].decode("utf-8", "replace"))
            return out
        dest = admin.parse_backup_request(body)
        log.info("backup to %s requested by %s", dest, (mw.user if mw else None) or "anonymous")
        stats = admin.backup(self.db, dest, self.backup_root)
        log.info("backup to %s done: %s tables, %s rows, LSN %s", stats["dest"],
                 stats.get("tables"), stats.get("rows"), stats.get("lsn"))
        return json.dumps(stats).encode("utf-8")

    def _create_prepared(self, client: ClientSession,
                         req: pb.ActionCreatePreparedStatementRequest) -> bytes:
        txn_id = self._txn_id(req)
        sql, lock, _ = self._target(client, txn_id)
        with lock:
            prepared = self._prepare(sql, req.query)
        handle = _make_handle(req.query)
        ps = PreparedStatement(handle, req.query, prepared, sql, lock, client.id, txn_id)
        with self._lock:
            self._prepared[handle] = ps
            client.prepared.add(handle)
        result = pb.ActionCreatePreparedStatementResult(
            prepared_statement_handle=handle,
            dataset_schema=fsql.serialize_schema(prepared.dataset_schema),
            parameter_schema=fsql.serialize_schema(prepared.parameter_schema),
            is_update=bool(prepared.is_update),
        )
        return fsql.pack(result)

    def _begin_savepoint(self, client: ClientSession,
                         req: pb.ActionBeginSavepointRequest) -> bytes:
        """A savepoint in an open transaction. Savepoint names need not be unique (the id
        identifies it); the transaction begins here if it has not written yet, so a rollback
        to the savepoint undoes exactly what followed it."""
        if not req.transaction_id:
            raise InvalidArgument("BeginSavepoint: a transaction_id is required",
                                  "ProtocolError")
        txn = self._transaction(req.transaction_id, client)
        sp_id = secrets.token_bytes(16)
        internal = f"flightsql_sp_{sp_id.hex()}"
        with txn.lock:
            txn.ensure_begun()
            txn.sql.savepoint(internal)
            txn.savepoints.append((sp_id, internal))
        with self._lock:
            self._savepoints[sp_id] = txn.id
        return fsql.pack(pb.ActionBeginSavepointResult(savepoint_id=sp_id))

    def _end_savepoint(self, req: pb.ActionEndSavepointRequest) -> None:
        """RELEASE forgets the savepoint and every later one; ROLLBACK undoes what followed
        it and forgets the later ones (the savepoint itself stays, as in SQL)."""
        act = pb.ActionEndSavepointRequest
        if req.action not in (act.END_SAVEPOINT_RELEASE, act.END_SAVEPOINT_ROLLBACK):
            raise InvalidArgument("EndSavepoint: action must be RELEASE or ROLLBACK",
                                  "ProtocolError")
        sp_id = bytes(req.savepoint_id)
        with self._lock:
            txn_id = self._savepoints.get(sp_id)
            txn = self._transactions.get(txn_id) if txn_id is not None else None
        if txn is None:
            with self._lock:
                self._savepoints.pop(sp_id, None)
            raise NotFound("unknown savepoint (released, rolled back past, or its transaction "
                           "has ended)", "UnknownSavepoint")
        with txn.lock:
            ids = [s for s, _ in txn.savepoints]
            if sp_id not in ids:
                with self._lock:
                    self._savepoints.pop(sp_id, None)
                raise NotFound("unknown savepoint (released or rolled back past)",
                               "UnknownSavepoint")
            i = ids.index(sp_id)
            internal = txn.savepoints[i][1]
            if req.action == act.END_SAVEPOINT_RELEASE:
                txn.sql.release(internal)
                dropped = txn.savepoints[i:]
                del txn.savepoints[i:]
            else:
                txn.sql.rollback_to(internal)
                dropped = txn.savepoints[i + 1:]
                del txn.savepoints[i + 1:]
            txn.last_used = time.monotonic()
        with self._lock:
            for s, _ in dropped:
                self._savepoints.pop(s, None)

    def _begin_transaction(self, client: ClientSession) -> bytes:
        sql = self._new_sql(client.schema, client)  # begun at its first write: see Transaction
        txn_id = secrets.token_bytes(16)
        with self._lock:
            self._transactions[txn_id] = Transaction(txn_id, sql, client.id)
            client.transactions.add(txn_id)
        return fsql.pack(pb.ActionBeginTransactionResult(transaction_id=txn_id))

    def _cancel(self, info_bytes: bytes) -> int:
        """Cancel the statement behind a serialized FlightInfo; returns a CancelStatus."""
        try:
            info = flight.FlightInfo.deserialize(bytes(info_bytes))
        except Exception:
            raise InvalidArgument("cancel: the request does not carry a valid FlightInfo",
                                  "ProtocolError") from None
        found = False
        for endpoint in info.endpoints:
            try:
                cmd = fsql.unpack(endpoint.ticket.ticket, what="ticket")
            except status.ClientFacing:
                continue
            if not isinstance(cmd, pb.TicketStatementQuery):
                continue
            with self._lock:
                handle = bytes(cmd.statement_handle)
                ex = self._executions.get(handle) or self._streaming.get(handle)
            if ex is not None:
                ex.interrupt.cancel()
                found = True
        if not found:
            raise NotFound("cancel: no pending query for that FlightInfo (already finished or "
                           "never started)", "UnknownQuery")
        return core_pb.CANCEL_STATUS_CANCELLED

    def _set_options(self, client: ClientSession, req: core_pb.SetSessionOptionsRequest
                     ) -> core_pb.SetSessionOptionsResult:
        out = core_pb.SetSessionOptionsResult()
        errs = core_pb.SetSessionOptionsResult
        for name, value in req.session_options.items():
            kind = value.WhichOneof("option_value")
            if name not in ("catalog", "schema"):
                out.errors[name].value = errs.INVALID_NAME
                continue
            if kind is None:  # unset: back to the default
                text = self.catalog if name == "catalog" else self.default_schema
            elif kind == "string_value":
                text = value.string_value
            else:
                out.errors[name].value = errs.INVALID_VALUE
                continue
            if name == "catalog":
                if text != self.catalog:
                    out.errors[name].value = errs.INVALID_VALUE
                continue
            try:
                known = text in self.db.snapshot().schemas()
            except Exception:
                log.exception("listing schemas failed")
                known = False
            if not known:
                out.errors[name].value = errs.INVALID_VALUE
                continue
            with client.lock:
                client.sql.schema = text
        return out

    def _close_session(self, client: ClientSession) -> None:
        with self._lock:
            if self._sessions.get(client.id) is not client:
                return
            self._forget_session(client.id)
            transactions = [self._transactions.pop(t) for t in client.transactions
                            if t in self._transactions]
        for txn in transactions:
            self._end_transaction(txn, commit=False, quiet=True)
        self._close_sql(client.sql, client.lock)

    # -- the rest of Flight -----------------------------------------------------------------

    def list_flights(self, context: flight.ServerCallContext,
                     criteria: bytes) -> Iterator[flight.FlightInfo]:
        return iter(())

    def do_exchange(self, context: flight.ServerCallContext,
                    descriptor: flight.FlightDescriptor, reader: Any, writer: Any) -> None:
        raise Unimplemented("DoExchange is not supported by Kodiak", "Unsupported")


def _put_batches(reader: flight.MetadataRecordBatchReader,
                 schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The record batches of a DoPut stream, one at a time (never the whole upload)."""
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            return
        batch = chunk.data
        if batch is None:
            continue
        if batch.schema.metadata:
            batch = batch.replace_schema_metadata(None)
        if not batch.schema.equals(schema):
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        yield batch


def serve(db: Any, host: str = "127.0.0.1", port: int = 31337, **kwargs: Any
          ) -> KodiakFlightServer:
    """Start a server (it serves from construction on; call ``shutdown()`` to stop)."""
    scheme = "grpc+tls" if kwargs.get("tls_certificates") else "grpc"
    server = KodiakFlightServer(db, f"{scheme}://{host}:{port}", **kwargs)
    server._host = host
    return server
