"""The Flight RPC surface: :class:`KodiakFlightServer` and :func:`serve`.

Each RPC finds the caller's session and hands the request to its handler: commands by type
(``commands``), actions by name (``actions``); errors become Flight statuses
(``kodiak_flight.status``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow.flight as flight

from .. import flightsql as fsql
from .. import sqlinfo, status
from ..auth import Authenticator
from ..sql.files import FileAccess
from ..sql.pl.jobs import stop_jobs
from ..sql.pl.limits import PlOptions, apply_to_database, apply_to_session
from ..sql.resultcache import ResultCache, attach
from ..sql.session import Session
from ..status import Unimplemented
from ..users import directory_for, superuser_of
from .actions import ACTIONS, Action, listed
from .commands import DO_GET, DO_PUT, FLIGHT_INFO, SCHEMA, command, not_for_do_put, wrong_rpc
from .limits import Limits, QuerySlots, memory_limits
from .middleware import (
    MIDDLEWARE_KEY,
    SESSION_COOKIE,
    CallMiddlewareFactory,
    HandshakeHandler,
    call_middleware,
)
from .ops import Operations, location_host
from .sessions import ClientSession, Execution, SessionStore
from .statements import MAX_SQL_NESTING, watching

log = logging.getLogger("kodiak.flight")

SessionFactory = Callable[..., Any]
JOB_GRACE = 2.0  # seconds running background jobs get to stop at shutdown


def _default_session_factory(db: Any, *, catalog: str, schema: str,
                             temp_tag: str | None = None) -> Any:
    # Session is imported with this module, not here: importing the SQL layer takes about
    # half a second of CPU, which a server pays at start rather than in its first statement
    return Session(db, catalog=catalog, schema=schema, temp_tag=temp_tag)


def _server_version() -> str:
    try:
        from importlib.metadata import version

        return version("kodiak")
    except Exception:
        return "0.0.0"


def _check_options(query_timeout: float | None,
                   tls_certificates: list[flight.CertKeyPair] | None,
                   tls_client_ca: bytes | None) -> None:
    if query_timeout is not None and query_timeout <= 0:
        raise ValueError("query_timeout must be positive (or None for no limit)")
    if tls_client_ca is not None and not tls_certificates:
        raise ValueError("tls_client_ca (mutual TLS) needs tls_certificates")


def _checked_dir(path: str | None, what: str) -> str | None:
    if path is not None and not os.path.isdir(path):
        raise ValueError(f"{what} {path!r} is not a directory")
    return path


class KodiakFlightServer(flight.FlightServerBase):
    """Arrow Flight SQL over a Kodiak database.

    ``db`` is an ``engine.Database`` (metadata and bulk ingest use its snapshot/transaction API);
    ``session_factory(db, catalog=..., schema=...)`` makes SQL sessions (default:
    ``kodiak_flight.sql.session.Session``). ``file_root``: the directory whose files clients'
    SQL may read and write (``read_csv``, ``COPY``); None, the default, allows none.
    ``backup_root``: the directory online backups (``kodiak.backup``) must go under; None
    allows any absolute path the server process can write. ``result_cache_bytes``: the size
    of the query-result cache all sessions share (0, the default, turns it off).
    """

    actions: dict[str, Action] = ACTIONS  # the actions served, by name

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
                 max_sql_nesting: int = MAX_SQL_NESTING, limits: Limits | None = None,
                 file_root: str | None = None, backup_root: str | None = None,
                 result_cache_bytes: int = 0,
                 health_port: int | None = None, metrics_port: int | None = None,
                 pl: PlOptions | None = None) -> None:
        status.install()
        _check_options(query_timeout, tls_certificates, tls_client_ca)
        self.pl = pl or PlOptions()  # call, loop and job limits of scripts (serve.pl_*, job_*)
        self.pl.check()
        apply_to_database(db, self.pl)
        self.query_timeout = query_timeout
        self.limits = limits or Limits()
        self.limits.check()
        self.memory = memory_limits(self.limits)
        self.query_slots = QuerySlots(self.limits.max_queries_per_user)
        self.max_sql_nesting = max_sql_nesting
        self.db = db
        self.auth = auth
        self.catalog = catalog
        self.default_schema = default_schema
        self.session_factory = session_factory or _default_session_factory
        # SQL reads and writes files on this machine (read_csv, COPY): only under file_root
        file_root = _checked_dir(file_root, "file root")
        self.file_access = FileAccess.under(file_root) if file_root is not None \
            else FileAccess(())
        # kodiak.backup writes only under backup_root, when set
        self.backup_root = _checked_dir(backup_root, "backup root")
        self.tls = bool(tls_certificates)
        self.result_cache = ResultCache(result_cache_bytes) if result_cache_bytes else None
        if self.result_cache is not None:
            attach(db, self.result_cache)
        self.state = SessionStore(self.new_sql, catalog=catalog, default_schema=default_schema,
                                  session_idle_timeout=session_idle_timeout,
                                  transaction_idle_timeout=transaction_idle_timeout,
                                  result_ttl=result_ttl)
        self.state.limits = self.limits
        self.sql_info = sqlinfo.default_sql_info(server_version=_server_version(),
                                                 ingest_transactions=True, savepoints=True,
                                                 statement_timeout=query_timeout)
        if session_factory is None:
            self._drop_temp_tables()
        # health, metrics, query ids (docs/operations.md#monitoring)
        self.ops = Operations(db, lambda: len(self.state.sessions))
        self.metrics = self.ops.metrics
        if self.result_cache is not None:
            self.metrics.watch_cache(self.result_cache.stats)
        super().__init__(location, auth_handler=HandshakeHandler(),
                         tls_certificates=tls_certificates,
                         verify_client=tls_client_ca is not None,
                         root_certificates=tls_client_ca,
                         middleware={MIDDLEWARE_KEY: CallMiddlewareFactory(auth)})
        try:
            self.ops.listen(location_host(location), health_port, metrics_port)
        except BaseException:
            super().shutdown()
            raise
        threading.Thread(target=self.state.run_sweeper, name="kodiak-sweeper",
                         daemon=True).start()

    def _drop_temp_tables(self) -> None:
        """Drop temporary tables of sessions a crash or stop cut off."""
        from ..sql.catalog import drop_temp_tables

        if dropped := drop_temp_tables(self.db):
            log.info("dropped %d temporary table(s) left by earlier sessions", dropped)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        scheme = "grpc+tls" if self.tls else "grpc"
        return f"{scheme}://{self._host}:{self.port}"

    _host = "127.0.0.1"

    def shutdown(self) -> None:
        """Stop serving (waits for running calls), then roll back and close all sessions;
        background jobs are cancelled and recorded as such."""
        self.begin_drain()
        self.state.stop.set()
        self.state.cancel_running()
        stop_jobs(self.db, JOB_GRACE)
        super().shutdown()
        self.close_all()
        self.ops.stop()

    def begin_drain(self) -> None:
        """Tell health checks the server is stopping (NOT_SERVING, /healthz 503)."""
        self.ops.drain()

    def close_all(self) -> None:
        """Roll back open transactions and close every session."""
        self.state.close_all()

    # What tests inspect of the state (read only).
    @property
    def _sessions(self) -> dict[str, ClientSession]:
        return self.state.sessions

    @property
    def _streaming(self) -> dict[bytes, Execution]:
        return self.state.streaming

    # -- what every handler uses ------------------------------------------------------------

    def new_sql(self, schema: str, owner: ClientSession | None = None) -> Any:
        """A SQL session; one for a transaction shares its connection's temporary tables
        and variables."""
        tag = getattr(owner.sql, "temp_tag", None) if owner is not None else None
        if tag is None:
            sql = self.session_factory(self.db, catalog=self.catalog, schema=schema)
        else:
            sql = self.session_factory(self.db, catalog=self.catalog, schema=schema,
                                       temp_tag=tag)
        if hasattr(sql, "file_access"):  # the server's files, not the client's
            sql.file_access = self.file_access
        if hasattr(sql, "max_nesting"):
            sql.max_nesting = self.max_sql_nesting
        if hasattr(sql, "result_cache"):
            sql.result_cache = self.result_cache
        if hasattr(sql, "users"):  # CREATE USER and friends write the users file
            sql.users, sql.superuser = directory_for(self.auth), superuser_of(self.auth)
        if owner is not None and hasattr(sql, "user"):
            sql.user = getattr(owner.sql, "user", None)
        if owner is not None and hasattr(owner.sql, "variables"):  # one set per connection
            sql.variables = owner.sql.variables.shared()
        if hasattr(sql, "settings"):  # SET memory_limit / query_timeout: at most the server's
            if owner is not None and hasattr(owner.sql, "settings"):
                sql.settings = owner.sql.settings  # a transaction's: its connection's
            sql.settings.ceilings.update({
                "memory_limit": (self.limits.query_memory_limit, "serve.query_memory_limit"),
                "query_timeout": (self.query_timeout, "serve.query_timeout")})
            if owner is None and hasattr(sql, "variables"):  # SET pl_...: at most the server's
                apply_to_session(sql, self.pl)
        return sql

    def client(self, context: flight.ServerCallContext, *, unary: bool = False
               ) -> ClientSession:
        """The caller's session: by cookie, else bearer-token session id, else peer address.
        A ``unary`` call (GetFlightInfo, GetSchema: their headers go out with the answer)
        hands the session cookie to a caller that did not send it."""
        now = time.monotonic()
        self.state.sweep(now)
        mw = call_middleware(context)
        key = ("token", mw.token_sid) if mw is not None and mw.token_sid \
            else ("peer", context.peer())
        session = self.state.find_client(mw.cookie_sid if mw is not None else None, key, now)
        session.identify(mw.user if mw is not None else None, context.peer())
        session.user = mw.user if mw is not None else None
        if mw is not None and mw.cookie_sid != session.id:
            mw.set_cookie = session.id  # (streaming calls have sent their headers already)
        elif mw is None and unary:
            # an anonymous call without a cookie has no middleware (two Python callbacks
            # fewer per call): the header is added to the call's answer directly
            context.add_header("set-cookie", f"{SESSION_COOKIE}={session.id}")
        if mw is not None and mw.user is not None and hasattr(session.sql, "user"):
            session.sql.user = mw.user  # whose results the result cache keeps apart
        return session

    # -- commands ---------------------------------------------------------------------------

    def get_flight_info(self, context: flight.ServerCallContext,
                        descriptor: flight.FlightDescriptor) -> flight.FlightInfo:
        with status.mapped("GetFlightInfo"):
            cmd = command(descriptor, "GetFlightInfo")
            client = self.client(context, unary=True)
            handler = FLIGHT_INFO.get(type(cmd))
            if handler is None:
                raise wrong_rpc(cmd, "GetFlightInfo")
        with self.ops.queries.run("GetFlightInfo", cmd), status.mapped("GetFlightInfo"), \
                watching(context):
            return handler(self, client, descriptor, cmd)

    def get_schema(self, context: flight.ServerCallContext,
                   descriptor: flight.FlightDescriptor) -> flight.SchemaResult:
        with status.mapped("GetSchema"):
            cmd = command(descriptor, "GetSchema")
            client = self.client(context, unary=True)
            handler = SCHEMA.get(type(cmd))
            if handler is None:
                raise wrong_rpc(cmd, "GetSchema")
            return handler(self, client, cmd)

    def do_get(self, context: flight.ServerCallContext,
               ticket: flight.Ticket) -> flight.FlightDataStream:
        with status.mapped("DoGet"):
            cmd = fsql.unpack(ticket.ticket, what="ticket")
            handler = DO_GET.get(type(cmd))
            if handler is None:
                raise wrong_rpc(cmd, "DoGet")
            return handler(self, context, cmd)

    def do_put(self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor,
               reader: flight.MetadataRecordBatchReader,
               writer: flight.FlightMetadataWriter) -> None:
        with status.mapped("DoPut"):
            cmd = command(descriptor, "DoPut")
            client = self.client(context)
            handler = DO_PUT.get(type(cmd))
            if handler is None:
                raise not_for_do_put(cmd)
        with self.ops.queries.run("DoPut", cmd), status.mapped("DoPut"), watching(context):
            handler(self, client, cmd, reader, writer)

    # -- actions ----------------------------------------------------------------------------

    def list_actions(self, context: flight.ServerCallContext) -> list[tuple[str, str]]:
        return listed(self.actions)

    def do_action(self, context: flight.ServerCallContext,
                  action: flight.Action) -> Iterator[flight.Result]:
        with status.mapped(f"DoAction({action.type})"):
            body = action.body.to_pybytes() if action.body is not None else b""
            client = self.client(context)
            found = self.actions.get(action.type)
            if found is None:
                raise Unimplemented(f"unknown action type {action.type!r}", "UnknownAction")
            return iter([flight.Result(r) for r in found.handler(self, context, client, body)])

    # -- the rest of Flight -----------------------------------------------------------------

    def list_flights(self, context: flight.ServerCallContext,
                     criteria: bytes) -> Iterator[flight.FlightInfo]:
        return iter(())

    def do_exchange(self, context: flight.ServerCallContext,
                    descriptor: flight.FlightDescriptor, reader: Any, writer: Any) -> None:
        raise Unimplemented("DoExchange is not supported by Kodiak", "Unsupported")


def serve(db: Any, host: str = "127.0.0.1", port: int = 31337, **kwargs: Any
          ) -> KodiakFlightServer:
    """Start a server (it serves from construction on; call ``shutdown()`` to stop)."""
    scheme = "grpc+tls" if kwargs.get("tls_certificates") else "grpc"
    server = KodiakFlightServer(db, f"{scheme}://{host}:{port}", **kwargs)
    server._host = host
    return server
