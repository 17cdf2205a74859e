"""``kodiak serve``: the Flight SQL server over a data directory, until SIGINT or SIGTERM."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from .. import logs
from ..config import Config
from . import allocator, collector
from .discovery import record, remove
from .options import DataDirOpt, load_config

log = logging.getLogger("kodiak")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def server_uri(scheme: str, host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def fail(message: str, code: int) -> NoReturn:
    """Stop with ``error: message`` (no traceback even with --debug: a usage problem)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


LIMITS = ("memory_limit", "query_memory_limit", "max_sessions", "max_queries_per_user",
          "max_result_bytes", "max_statement_bytes")
PL_LIMITS = ("pl_max_depth", "pl_max_stack", "pl_max_loop_iterations", "job_workers",
             "job_timeout")


def size(text: str) -> int:
    """A flag's size: bytes, or with a unit (512MiB, 2GB)."""
    from ..sql.memory import parse_size

    try:
        return parse_size(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a size (bytes, or e.g. 512MiB)") from None


@dataclass
class ServeSettings:
    """``serve``'s options after the flag > environment > file > default rule."""

    host: str
    port: int
    data_dir: Path
    tls_cert: Path | None
    tls_key: Path | None
    tls_client_ca: Path | None
    allow_insecure_remote: bool
    log_level: str
    log_format: str
    metrics_port: int | None
    health_port: int | None
    query_timeout: float | None
    shutdown_grace: float
    file_root: Path | None
    backup_root: Path | None
    result_cache_bytes: int
    memory_limit: int | None = None
    query_memory_limit: int | None = None
    max_sessions: int | None = None
    max_queries_per_user: int | None = None
    max_result_bytes: int | None = None
    max_statement_bytes: int | None = None
    master_key_file: Path | None = None
    pl_max_depth: int = 32
    pl_max_stack: int = 64
    pl_max_loop_iterations: int | None = None
    job_workers: int = 2
    job_timeout: float | None = None

    def limits(self) -> Any:
        from ..server.limits import Limits

        return Limits(**{name: getattr(self, name) for name in LIMITS})

    def pl(self) -> Any:
        """The SQL layer's limits for scripts and jobs (``sql/pl/limits.py``)."""
        from ..sql.pl.limits import PlOptions

        return PlOptions(self.pl_max_depth, self.pl_max_stack, self.pl_max_loop_iterations,
                         self.job_workers, self.job_timeout)

    @classmethod
    def resolve(cls, cfg: Config, **flags: Any) -> ServeSettings:
        """Each flag, else its setting: ``serve.NAME``, or the shared ``data_dir``."""
        return cls(**{name: cfg.get("data_dir" if name == "data_dir" else f"serve.{name}",
                                    value) for name, value in flags.items()})

    def check(self) -> None:
        """The checks that need no files read (exit status 2)."""
        for flag, value in (("--file-root", self.file_root),
                            ("--backup-root", self.backup_root)):
            if value is not None and not Path(value).is_dir():
                fail(f"{flag} {value} is not a directory", 2)
        if self.query_timeout is not None and self.query_timeout <= 0:
            fail("--query-timeout must be a positive number of seconds", 2)
        if self.shutdown_grace < 0:
            fail("--shutdown-grace must be zero or a positive number of seconds", 2)
        if self.result_cache_bytes < 0:
            fail("--result-cache-bytes must be zero (no cache) or a positive number", 2)
        if self.log_format not in ("text", "json"):
            fail(f"--log-format must be text or json, not {self.log_format!r}", 2)
        for flag, port in (("--metrics-port", self.metrics_port),
                           ("--health-port", self.health_port)):
            if port is not None and not 0 <= port <= 65535:
                fail(f"{flag} must be a TCP port (0 to 65535), not {port}", 2)
        for name in (*LIMITS, *PL_LIMITS):
            value = getattr(self, name)
            if value is not None and value <= 0:
                fail(f"--{name.replace('_', '-')} must be positive", 2)

    def check_master_key(self) -> None:
        """Use the master key file, refused now if others may read it (exit status 2)."""
        from ..sql.secrets import keyring

        try:
            keyring.use_master_key_file(self.master_key_file)
        except keyring.MasterKeyError as e:
            fail(f"--master-key-file: {e}", 2)

    def check_tls(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            fail("--tls-cert and --tls-key go together", 2)
        if self.tls_client_ca is not None and self.tls_cert is None:
            fail("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key", 2)

    def check_exposure(self, auth: Any) -> None:
        """Refuse an open server off loopback; warn of passwords sent in the clear."""
        if is_loopback(self.host):
            return
        if auth is None and not self.allow_insecure_remote:
            fail(f"refusing to listen on {self.host} without authentication; set "
                 "KODIAK_PASSWORD or add users with `kodiak user add` (and use "
                 "--tls-cert/--tls-key), or pass --allow-insecure-remote", 2)
        if auth is not None and self.tls_cert is None:
            log.warning("passwords and tokens travel unencrypted: serve with "
                        "--tls-cert/--tls-key")

    def certificates(self) -> list[Any] | None:
        import pyarrow.flight as flight

        if self.tls_cert is None or self.tls_key is None:
            return None
        return [flight.CertKeyPair(cert=self.tls_cert.read_bytes(),
                                   key=self.tls_key.read_bytes())]

    def client_ca(self) -> bytes | None:
        """The CA certificates a client's certificate must be signed by (mutual TLS)."""
        if self.tls_client_ca is None:
            return None
        try:
            pem = self.tls_client_ca.read_bytes()
        except OSError as exc:
            fail(f"cannot read --tls-client-ca {self.tls_client_ca}: {exc.strerror}", 1)
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            fail(f"--tls-client-ca {self.tls_client_ca} holds no PEM certificate", 1)
        return pem


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(
        help="Address to listen on (KODIAK_HOST; default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(
        help="TCP port, 0 picks a free one (KODIAK_PORT; default 31337).")] = None,
    data_dir: DataDirOpt = None,
    tls_cert: Annotated[Path | None, typer.Option(
        help="PEM certificate chain: serve grpc+tls (KODIAK_TLS_CERT).")] = None,
    tls_key: Annotated[Path | None, typer.Option(
        help="PEM private key for --tls-cert (KODIAK_TLS_KEY).")] = None,
    tls_client_ca: Annotated[Path | None, typer.Option(
        help="PEM CA certificate(s): require a client certificate signed by them (mutual "
             "TLS; needs --tls-cert/--tls-key; KODIAK_TLS_CLIENT_CA).")] = None,
    allow_insecure_remote: Annotated[bool | None, typer.Option(
        "--allow-insecure-remote/--no-allow-insecure-remote",
        help="Allow a non-loopback address without authentication.")] = None,
    log_level: Annotated[str | None, typer.Option(
        help="debug, info, warning or error (KODIAK_LOG_LEVEL).")] = None,
    log_format: Annotated[str | None, typer.Option(
        help="text, or json: one JSON object per line, with the query id of a query's "
             "lines (KODIAK_LOG_FORMAT; default text).")] = None,
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve Prometheus /metrics and /healthz over HTTP on this port, 0 picks one "
             "(KODIAK_METRICS_PORT; default: off).")] = None,
    health_port: Annotated[int | None, typer.Option(
        help="Serve the gRPC health-checking service (grpc.health.v1.Health) on this "
             "port, 0 picks one (KODIAK_HEALTH_PORT; default: off).")] = None,
    query_timeout: Annotated[float | None, typer.Option(
        help="Stop a query whose result is still streaming after this many seconds "
             "(KODIAK_QUERY_TIMEOUT; default: no limit).")] = None,
    shutdown_grace: Annotated[float | None, typer.Option(
        help="On SIGINT/SIGTERM, cancel running queries and give calls and commits in "
             "flight this many seconds before exiting; a second signal exits at once "
             "(KODIAK_SHUTDOWN_GRACE; default 10).")] = None,
    file_root: Annotated[Path | None, typer.Option(
        help="Let clients' SQL read and write files under this directory on the server "
             "(read_csv, COPY; KODIAK_FILE_ROOT; default: no files).")] = None,
    backup_root: Annotated[Path | None, typer.Option(
        help="Write online backups (kodiak backup --uri) only under this directory "
             "(KODIAK_BACKUP_ROOT; default: anywhere the server can write).")] = None,
    result_cache_bytes: Annotated[int | None, typer.Option(
        help="Keep up to this many bytes of query results, served again while the tables "
             "they read are unchanged (KODIAK_RESULT_CACHE_BYTES; default 0: off).")] = None,
    memory_limit: Annotated[int | None, typer.Option(
        parser=size, metavar="SIZE",
        help="Memory all running queries may allocate together, e.g. 2GiB; over it a "
             "query is stopped (KODIAK_MEMORY_LIMIT; default: no limit).")] = None,
    query_memory_limit: Annotated[int | None, typer.Option(
        parser=size, metavar="SIZE",
        help="Memory one query may allocate, e.g. 512MiB (KODIAK_QUERY_MEMORY_LIMIT).")
    ] = None,
    max_sessions: Annotated[int | None, typer.Option(
        help="Client sessions open at once (KODIAK_MAX_SESSIONS; default: no limit).")] = None,
    max_queries_per_user: Annotated[int | None, typer.Option(
        help="Queries one user may have running at once (KODIAK_MAX_QUERIES_PER_USER).")
    ] = None,
    max_result_bytes: Annotated[int | None, typer.Option(
        parser=size, metavar="SIZE",
        help="Bytes one query's result may stream (KODIAK_MAX_RESULT_BYTES).")] = None,
    max_statement_bytes: Annotated[int | None, typer.Option(
        parser=size, metavar="SIZE",
        help="Bytes of SQL text one statement may have (KODIAK_MAX_STATEMENT_BYTES).")] = None,
    master_key_file: Annotated[Path | None, typer.Option(
        help="File holding the master key that protects stored secrets, readable by its "
             "owner only (KODIAK_MASTER_KEY_FILE; else the KODIAK_MASTER_KEY variable).")
    ] = None,
    pl_max_depth: Annotated[int | None, typer.Option(
        help="Nested calls of one function (recursion) a script may make; a session may "
             "lower it with SET pl_max_depth (KODIAK_PL_MAX_DEPTH; default 32).")] = None,
    pl_max_stack: Annotated[int | None, typer.Option(
        help="Nested function calls in all a script may make (KODIAK_PL_MAX_STACK; "
             "default 64).")] = None,
    pl_max_loop_iterations: Annotated[int | None, typer.Option(
        help="Turns one WHILE or FOR loop of a script may take "
             "(KODIAK_PL_MAX_LOOP_ITERATIONS; default: no limit).")] = None,
    job_workers: Annotated[int | None, typer.Option(
        help="Background jobs run at once (KODIAK_JOB_WORKERS; default 2).")] = None,
    job_timeout: Annotated[float | None, typer.Option(
        help="Stop a background job after it has run this many seconds; it ends as "
             "timed_out (KODIAK_JOB_TIMEOUT; default: no limit).")] = None,
) -> None:
    """Serve the database in --data-dir over Arrow Flight SQL until SIGINT or SIGTERM.

    Authentication is on when the data directory has a users file (`kodiak user add`) or
    KODIAK_PASSWORD (or KODIAK_PASSWORD_HASH, from `kodiak hash-password`) is set; that
    single user's name is KODIAK_USER (default "kodiak").
    """
    s = ServeSettings.resolve(
        load_config(ctx), host=host, port=port, data_dir=data_dir, tls_cert=tls_cert,
        tls_key=tls_key, tls_client_ca=tls_client_ca,
        allow_insecure_remote=allow_insecure_remote, log_level=log_level,
        log_format=log_format, metrics_port=metrics_port, health_port=health_port,
        query_timeout=query_timeout, shutdown_grace=shutdown_grace, file_root=file_root,
        backup_root=backup_root, result_cache_bytes=result_cache_bytes, memory_limit=memory_limit,
        query_memory_limit=query_memory_limit, max_sessions=max_sessions,
        max_queries_per_user=max_queries_per_user, max_result_bytes=max_result_bytes,
        max_statement_bytes=max_statement_bytes, master_key_file=master_key_file,
        pl_max_depth=pl_max_depth, pl_max_stack=pl_max_stack,
        pl_max_loop_iterations=pl_max_loop_iterations, job_workers=job_workers,
        job_timeout=job_timeout)
    s.check()
    s.check_master_key()
    logs.configure(s.log_level, s.log_format)
    from ..users import authenticator_for

    s.check_tls()
    auth = authenticator_for(s.data_dir)
    os.environ.pop("KODIAK_PASSWORD", None)  # only the scrypt hash stays in this process
    s.check_exposure(auth)
    allocator.tune()
    run(s, auth, s.certificates(), s.client_ca())


def run(s: ServeSettings, auth: Any, certs: list[Any] | None, client_ca: bytes | None
        ) -> NoReturn:
    """Open the database, serve it until a signal, then shut down in order."""
    import engine

    from .hints import in_use

    port_free(s.host, s.port)
    try:
        db = engine.Database.open(str(s.data_dir))
    except engine.errors.StorageError as exc:
        if "in use" in str(exc):
            fail(in_use(s.data_dir, "serve"), 1)
        raise
    try:
        server = start(db, s, auth, certs, client_ca)
    except Exception as exc:
        db.close()
        port_free(s.host, s.port)
        fail(f"cannot serve on {s.host}:{s.port}: {exc}", 1)
    collector.settle()  # the start-up's objects out of the garbage collector's walks
    stop = stop_on_signals()
    uri = server_uri("grpc+tls" if certs else "grpc", connectable_host(s.host), server.port)
    record(s.data_dir, uri, s.tls_cert if certs else None)
    try:
        typer.echo(uri)
        sys.stdout.flush()
        log.info("serving %s on %s (auth %s%s; %s)", s.data_dir, uri, "on" if auth else "off",
                 ", client certificates required" if client_ca else "",
                 f"clients' SQL may use files under {s.file_root}" if s.file_root is not None
                 else "no server files for clients' SQL")
        if connectable_host(s.host) != s.host:
            log.info("listening on every address of this machine (%s)", s.host)
        log_side_ports(server)
        while not stop.wait(0.5):
            pass
        if not shut_down(server, s.shutdown_grace):
            # calls still hold the server (an upload left open): closing the server or the
            # database would wait for them, so exit now, as a second signal would
            remove(s.data_dir)
            logging.shutdown()
            os._exit(0)
    finally:
        remove(s.data_dir)
    db.close()
    raise typer.Exit(0)


def port_free(host: str, port: int) -> None:
    """Stop with a clear message when ``port`` is taken (gRPC would only say that the server
    "did not start properly")."""
    import errno
    import socket

    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except OSError:
        return  # gRPC will say what is wrong with the address
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is already in use (another `kodiak serve`?): "
                     "choose another --port, or --port 0 for a free one", 1)


def connectable_host(host: str) -> str:
    """The address a client on this machine connects to: loopback for a wildcard address
    (0.0.0.0 and :: are where a server listens, not where a client connects)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host.strip("[]") == "::":
        return "::1"
    return host


def start(db: Any, s: ServeSettings, auth: Any, certs: list[Any] | None,
          client_ca: bytes | None) -> Any:
    """The Flight SQL server over ``db``, listening."""
    from ..server import serve as start_server

    return start_server(db, s.host, s.port, auth=auth, tls_certificates=certs,
                        tls_client_ca=client_ca, query_timeout=s.query_timeout,
                        limits=s.limits(), pl=s.pl(),
                        file_root=None if s.file_root is None else str(s.file_root),
                        backup_root=None if s.backup_root is None else str(s.backup_root),
                        result_cache_bytes=s.result_cache_bytes,
                        metrics_port=s.metrics_port, health_port=s.health_port)


def log_side_ports(server: Any) -> None:
    """Say where health checks and metrics are served (the ports 0 picked, too)."""
    if server.ops.metrics_port is not None:
        log.info("metrics on port %d (/metrics, /healthz)", server.ops.metrics_port)
    if server.ops.health_port is not None:
        log.info("gRPC health checks on port %d", server.ops.health_port)


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM; a second signal exits at once (commits already
    acknowledged are in the fsynced WAL, so nothing acknowledged is lost)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if stop.is_set():
            log.warning("second signal: exiting now")
            logging.shutdown()
            os._exit(1)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stop


def shut_down(server: Any, grace: float) -> bool:
    """Stop the server: running queries are cancelled, calls in flight (commits among
    them) get ``grace`` seconds to finish. False: some did not, and the server is left
    as it is."""
    log.info("shutting down")
    done = threading.Thread(target=server.shutdown, daemon=True)
    done.start()
    done.join(timeout=grace)
    if done.is_alive():
        log.warning("calls still running after %g s; exiting anyway", grace)
        return False
    server.close_all()
    return True
