"""The ``kodiak`` command line.

``serve`` runs the Flight SQL server; ``sql``, ``shell``, ``import``, ``export``, ``info``
and ``backup`` work against a server (``--uri``) or embedded on a data directory
(``--data-dir``); ``restore`` and ``check`` work on a data directory; ``user`` manages the
users a server accepts. Settings come from flags, then ``KODIAK_*`` environment variables, then
``kodiak.toml``, then defaults (see ``kodiak_flight.config`` and docs/operations.md).

Every error is one line on stderr and a non-zero exit; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import contextlib
import getpass
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from .config import SETTINGS, Config

app = typer.Typer(help="Kodiak: an analytics database served over Arrow Flight SQL.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None)
user_app = typer.Typer(help="Manage the users a server accepts (the users file in the data "
                       "directory).", no_args_is_help=True)
app.add_typer(user_app, name="user")

log = logging.getLogger("kodiak")


class CliError(Exception):
    """A message for the user; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _uri(scheme: str, host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


# -------------------------------------------------------------------------------------------
# Shared options


ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="TOML settings file (default: ./kodiak.toml if present; KODIAK_CONFIG).")]
UriOpt = Annotated[str | None, typer.Option(
    "--uri", help="Server to use, e.g. grpc://127.0.0.1:31337 (KODIAK_URI).")]
DataDirOpt = Annotated[Path | None, typer.Option(
    "--data-dir", help="Database directory, opened embedded (KODIAK_DATA_DIR; default ./data).")]
UserOpt = Annotated[str | None, typer.Option(
    "--user", help="User name for a server with authentication (KODIAK_USER); the password "
    "comes from KODIAK_PASSWORD or the config file, else a prompt.")]
TlsRootOpt = Annotated[Path | None, typer.Option(
    "--tls-root-certs", help="PEM certificates to trust for grpc+tls (KODIAK_TLS_ROOT_CERTS).")]
TlsSkipOpt = Annotated[bool | None, typer.Option(
    "--tls-skip-verify/--tls-verify", help="Skip verifying the server certificate (testing).")]
TlsClientCertOpt = Annotated[Path | None, typer.Option(
    "--tls-client-cert", help="PEM client certificate for a server that requires one "
    "(mutual TLS; KODIAK_TLS_CLIENT_CERT).")]
TlsClientKeyOpt = Annotated[Path | None, typer.Option(
    "--tls-client-key", help="PEM private key for --tls-client-cert (KODIAK_TLS_CLIENT_KEY).")]
ProgressOpt = Annotated[bool | None, typer.Option(
    "--progress/--no-progress", help="Progress bars (default: on when stderr is a terminal).")]


@app.callback()
def _root(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """Kodiak: an analytics database served over Arrow Flight SQL."""
    ctx.obj = config


def _config(ctx: typer.Context) -> Config:
    root = ctx.find_root()
    if isinstance(root.obj, Config):
        return root.obj
    cfg = Config.load(root.obj)
    root.obj = cfg
    return cfg


def _password(cfg: Config, user: str | None) -> str | None:
    password = cfg.get("password")
    if password is None and user and sys.stdin.isatty():
        password = getpass.getpass(f"Password for {user}: ")
    return password


def _backend(ctx: typer.Context, uri: str | None, data_dir: Path | None, user: str | None,
             tls_root_certs: Path | None = None, tls_skip_verify: bool | None = None,
             tls_client_cert: Path | None = None, tls_client_key: Path | None = None, *,
             must_exist: bool = False) -> Any:
    from .client import open_backend

    cfg = _config(ctx)
    if uri is not None and data_dir is not None:
        raise CliError("give --uri or --data-dir, not both", 2)
    uri, data_dir = cfg.target(uri, data_dir)
    user = cfg.get("user", user)
    return open_backend(uri, data_dir, must_exist=must_exist, user=user,
                        password=_password(cfg, user) if uri else None,
                        tls_root_certs=cfg.get("tls_root_certs", tls_root_certs),
                        tls_skip_verify=cfg.get("tls_skip_verify", tls_skip_verify),
                        tls_client_cert=cfg.get("tls_client_cert", tls_client_cert),
                        tls_client_key=cfg.get("tls_client_key", tls_client_key))


def _data_dir(ctx: typer.Context, data_dir: Path | None) -> Path:
    return _config(ctx).get("data_dir", data_dir)


def _existing_data_dir(ctx: typer.Context, data_dir: Path | None) -> Path:
    path = _data_dir(ctx, data_dir)
    if not path.is_dir():
        raise CliError(f"no database at {path} (directory does not exist)")
    return path


def _progress_enabled(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return sys.stderr.isatty()


@contextlib.contextmanager
def _progress(enabled: bool, description: str, total: int | None, unit: str) -> Iterator[Any]:
    """A rich progress bar on stderr (a no-op object when disabled)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from .render import make_console

    if not enabled:
        yield None
        return
    amount = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                          amount, TimeElapsedColumn()]
    if total:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=make_console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=total)
        progress.task = task  # type: ignore[attr-defined]
        yield progress


# -------------------------------------------------------------------------------------------
# serve


@app.command()
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
    query_timeout: Annotated[float | None, typer.Option(
        help="Stop a query whose result is still streaming after this many seconds "
             "(KODIAK_QUERY_TIMEOUT; default: no limit).")] = None,
    file_root: Annotated[Path | None, typer.Option(
        help="Let clients' SQL read and write files under this directory on the server "
             "(read_csv, COPY; KODIAK_FILE_ROOT; default: no files).")] = None,
    backup_root: Annotated[Path | None, typer.Option(
        help="Write online backups (kodiak backup --uri) only under this directory "
             "(KODIAK_BACKUP_ROOT; default: anywhere the server can write).")] = None,
) -> None:
    """Serve the database in --data-dir over Arrow Flight SQL until SIGINT or SIGTERM.

    Authentication is on when the data directory has a users file (`kodiak user add`) or
    KODIAK_PASSWORD (or KODIAK_PASSWORD_HASH, from `kodiak hash-password`) is set; that
    single user's name is KODIAK_USER (default "kodiak").
    """
    cfg = _config(ctx)
    host = cfg.get("serve.host", host)
    port = cfg.get("serve.port", port)
    data_dir = cfg.get("data_dir", data_dir)
    tls_cert = cfg.get("serve.tls_cert", tls_cert)
    tls_key = cfg.get("serve.tls_key", tls_key)
    tls_client_ca = cfg.get("serve.tls_client_ca", tls_client_ca)
    allow_insecure_remote = cfg.get("serve.allow_insecure_remote", allow_insecure_remote)
    log_level = cfg.get("serve.log_level", log_level)
    query_timeout = cfg.get("serve.query_timeout", query_timeout)
    file_root = cfg.get("serve.file_root", file_root)
    backup_root = cfg.get("serve.backup_root", backup_root)
    for flag, value in (("--file-root", file_root), ("--backup-root", backup_root)):
        if value is not None and not Path(value).is_dir():
            typer.echo(f"error: {flag} {value} is not a directory", err=True)
            raise typer.Exit(2)
    if query_timeout is not None and query_timeout <= 0:
        typer.echo("error: --query-timeout must be a positive number of seconds", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    import pyarrow.flight as flight

    import engine

    from .server import serve as start_server
    from .users import authenticator_for

    if (tls_cert is None) != (tls_key is None):
        typer.echo("error: --tls-cert and --tls-key go together", err=True)
        raise typer.Exit(2)
    if tls_client_ca is not None and tls_cert is None:
        typer.echo("error: --tls-client-ca (mutual TLS) needs --tls-cert and --tls-key",
                   err=True)
        raise typer.Exit(2)
    auth = authenticator_for(data_dir)
    os.environ.pop("KODIAK_PASSWORD", None)  # only the scrypt hash stays in this process
    if not is_loopback(host) and auth is None and not allow_insecure_remote:
        typer.echo(f"error: refusing to listen on {host} without authentication; set "
                   "KODIAK_PASSWORD or add users with `kodiak user add` (and use "
                   "--tls-cert/--tls-key), or pass --allow-insecure-remote", err=True)
        raise typer.Exit(2)
    if not is_loopback(host) and auth is not None and tls_cert is None:
        log.warning("passwords and tokens travel unencrypted: serve with --tls-cert/--tls-key")
    certs = None
    if tls_cert is not None and tls_key is not None:
        certs = [flight.CertKeyPair(cert=tls_cert.read_bytes(), key=tls_key.read_bytes())]
    client_ca = None
    if tls_client_ca is not None:
        try:
            client_ca = tls_client_ca.read_bytes()
        except OSError as exc:
            typer.echo(f"error: cannot read --tls-client-ca {tls_client_ca}: {exc.strerror}",
                       err=True)
            raise typer.Exit(1) from None
        if b"-----BEGIN CERTIFICATE-----" not in client_ca:
            typer.echo(f"error: --tls-client-ca {tls_client_ca} holds no PEM certificate",
                       err=True)
            raise typer.Exit(1)

    db = engine.Database.open(str(data_dir))
    try:
        server = start_server(db, host, port, auth=auth, tls_certificates=certs,
                              tls_client_ca=client_ca, query_timeout=query_timeout,
                              file_root=None if file_root is None else str(file_root),
                              backup_root=None if backup_root is None else str(backup_root))
    except Exception as exc:
        db.close()
        typer.echo(f"error: cannot serve on {host}:{port}: {exc}", err=True)
        raise typer.Exit(1) from None

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    uri = _uri("grpc+tls" if certs else "grpc", host, server.port)
    typer.echo(uri)
    sys.stdout.flush()
    log.info("serving %s on %s (auth %s%s; %s)", data_dir, uri, "on" if auth else "off",
             ", client certificates required" if client_ca else "",
             f"clients' SQL may use files under {file_root}" if file_root is not None
             else "no server files for clients' SQL")
    while not stop.wait(0.5):
        pass
    log.info("shutting down")
    done = threading.Thread(target=server.shutdown, daemon=True)
    done.start()
    done.join(timeout=10.0)  # in-flight calls get 10 s to finish
    if done.is_alive():
        log.warning("calls still running after 10 s; exiting anyway")
    server.close_all()
    db.close()
    raise typer.Exit(0)


@app.command("hash-password")
def hash_password_cmd() -> None:
    """Print a salted scrypt hash of a password, for KODIAK_PASSWORD_HASH."""
    from .auth import hash_password

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    typer.echo(hash_password(password))


@app.command("tls-cert")
def tls_cert_cmd(
    cert: Annotated[Path, typer.Argument(help="Where to write the certificate (PEM).")],
    key: Annotated[Path, typer.Argument(help="Where to write the private key (PEM, 0600).")],
    host: Annotated[list[str] | None, typer.Option(
        "--host", help="Name or IP address the certificate is for (repeatable; default "
        "localhost and 127.0.0.1).")] = None,
    days: Annotated[int, typer.Option(help="Validity in days.")] = 365,
) -> None:
    """Write a self-signed certificate and key for `kodiak serve --tls-cert/--tls-key`.

    Clients must trust the certificate itself (--tls-root-certs CERT).
    """
    from .tlscert import write_pair

    for p in (cert, key):
        if p.exists():
            raise CliError(f"{p} exists; not overwriting it")
    hosts = host or ["localhost", "127.0.0.1"]
    write_pair(cert, key, hosts, days)
    typer.echo(f"wrote {cert} and {key} for {', '.join(hosts)}")


@app.command("tls-client-cert")
def tls_client_cert_cmd(
    cert: Annotated[Path, typer.Argument(help="Where to write the client certificate (PEM).")],
    key: Annotated[Path, typer.Argument(help="Where to write its private key (PEM, 0600).")],
    ca_cert: Annotated[Path, typer.Option(
        help="CA certificate (PEM); created with --ca-key if neither exists.")],
    ca_key: Annotated[Path, typer.Option(help="CA private key (PEM, 0600).")],
    name: Annotated[str, typer.Option(help="The certificate's common name.")] = "kodiak-client",
    days: Annotated[int, typer.Option(help="Validity in days.")] = 365,
) -> None:
    """Write a client certificate and key signed by a CA, for mutual TLS.

    Serve with `kodiak serve --tls-client-ca CA_CERT ...`; clients connect with
    --tls-client-cert CERT --tls-client-key KEY.
    """
    from .tlscert import write_client_pair

    for p in (cert, key):
        if p.exists():
            raise CliError(f"{p} exists; not overwriting it")
    if ca_cert.exists() != ca_key.exists():
        missing = ca_key if ca_cert.exists() else ca_cert
        raise CliError(f"{missing} does not exist: give both CA files, or neither to "
                       "create a new CA")
    if write_client_pair(cert, key, ca_cert, ca_key, name, days):
        typer.echo(f"wrote a new CA: {ca_cert} and {ca_key}")
    typer.echo(f"wrote {cert} and {key} for {name}, signed by {ca_cert}")


# -------------------------------------------------------------------------------------------
# sql and shell


@app.command()
def sql(
    ctx: typer.Context,
    statements: Annotated[str | None, typer.Argument(
        help="SQL, several statements separated by ';'. Omitted or '-': read stdin.")] = None,
    format: Annotated[str | None, typer.Option(
        "--format", "-f", help="table, csv, json, ndjson, arrow (IPC stream) or parquet "
        "(KODIAK_FORMAT; default table, or from --output's extension).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the result to this file instead of stdout.")] = None,
    max_rows: Annotated[int | None, typer.Option(
        help="Rows a table shows (KODIAK_MAX_ROWS; default 1000).")] = None,
    uri: UriOpt = None, data_dir: DataDirOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
) -> None:
    """Run SQL statements and print the result.

    In table format every statement's result is shown; in the other formats the last
    statement's result is written (earlier statements run for their effects). Row counts of
    statements without a result go to stderr.
    """
    from .client import split_statements
    from .render import make_console, render_table
    from .sql.formats import detect_format, write_file, write_stream

    cfg = _config(ctx)
    if statements is None or statements == "-":
        if statements is None and sys.stdin.isatty():
            raise CliError("give SQL as an argument, or pipe it on stdin", 2)
        statements = sys.stdin.read()
    stmts = split_statements(statements)
    if not stmts:
        raise CliError("no SQL statement given", 2)
    if format is None and output is not None and cfg.source("format") == "default":
        try:
            fmt = detect_format(output)
        except Exception:
            fmt = "table"
    else:
        fmt = cfg.get("format", format).lower()
    if fmt == "ipc":
        fmt = "arrows"
    elif fmt == "arrow":
        fmt = "arrows" if output is None else "arrow"
    if fmt not in ("table", "csv", "json", "ndjson", "arrow", "arrows", "parquet"):
        raise CliError(f"unknown format {fmt!r} (choose table, csv, json, ndjson, arrow or "
                       "parquet)", 2)
    if fmt in ("arrow", "arrows", "parquet") and output is None and sys.stdout.isatty():
        raise CliError(f"{fmt} is binary; use --output FILE or redirect stdout", 2)
    limit = cfg.get("max_rows", max_rows)
    err = make_console(stderr=True)
    with _backend(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                  tls_client_cert, tls_client_key) as backend:
        for i, stmt in enumerate(stmts):
            last = i == len(stmts) - 1
            outcome = backend.execute(stmt)
            try:
                if outcome.reader is None:
                    if outcome.rowcount >= 0:
                        n = outcome.rowcount
                        err.print(f"{n} row{'' if n == 1 else 's'} affected", style="dim")
                    continue
                if fmt == "table":
                    if output is not None:
                        with open(output, "w", encoding="utf-8") as f:
                            render_table(make_console(f), outcome.reader, max_rows=limit)
                    else:
                        render_table(make_console(), outcome.reader, max_rows=limit)
                elif not last:
                    for _ in outcome.reader:
                        pass
                elif output is not None:
                    write_file(outcome.reader, output, fmt)
                else:
                    write_stream(outcome.reader, sys.stdout.buffer, fmt)
                    sys.stdout.buffer.flush()
            finally:
                outcome.close()


@app.command()
def shell(
    ctx: typer.Context,
    uri: UriOpt = None, data_dir: DataDirOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
    mode: Annotated[str, typer.Option(help="table, csv, json or ndjson.")] = "table",
    history_file: Annotated[Path | None, typer.Option(
        help="History file (KODIAK_HISTORY_FILE; default ~/.kodiak_history).")] = None,
) -> None:
    """Interactive SQL shell: history, completion, multi-line statements, .help commands.

    With stdin not a terminal, runs the piped lines as a script; the exit status is 1 if any
    statement failed.
    """
    from .render import make_console
    from .shell import MODES, Shell

    cfg = _config(ctx)
    if mode not in MODES:
        raise CliError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}", 2)
    with _backend(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                  tls_client_cert, tls_client_key) as backend:
        sh = Shell(backend, make_console(), make_console(stderr=True), mode=mode,
                   max_rows=cfg.get("max_rows"))
        if sys.stdin.isatty():
            sh.interactive(history_file=cfg.get("history_file", history_file))
        else:
            sh.run_lines(sys.stdin)
            if sh.errors:
                raise typer.Exit(1)


# -------------------------------------------------------------------------------------------
# import / export


def _ingest_mode(create: bool, append: bool, replace: bool) -> str:
    if create + append + replace > 1:
        raise CliError("choose one of --create, --append and --replace", 2)
    if create:
        return "create"
    if append:
        return "append"
    if replace:
        return "replace"
    return "create_append"


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV, Parquet, JSON, NDJSON or Arrow file.")],
    table: Annotated[str, typer.Argument(help="Table to load into ([schema.]name).")],
    format: Annotated[str | None, typer.Option(
        "--format", "-f", help="csv, parquet, json, ndjson, arrow or arrows (default: from "
        "the file name).")] = None,
    create: Annotated[bool, typer.Option(
        "--create", help="The table must not exist; create it from the file's schema.")
    ] = False,
    append: Annotated[bool, typer.Option("--append", help="The table must exist.")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Drop the table if it exists and create it from the file.")] = False,
    delimiter: Annotated[str | None, typer.Option(help="CSV field delimiter.")] = None,
    progress: ProgressOpt = None,
    uri: UriOpt = None, data_dir: DataDirOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
) -> None:
    """Load a file into a table, streaming, in one transaction.

    Without --create/--append/--replace the table is created from the file's schema if it
    does not exist and appended to if it does. When appending, CSV and JSON columns are read
    as the table's types.
    """
    import pyarrow as pa

    from .sql.formats import cast_reader, open_source, target_schema

    mode = _ingest_mode(create, append, replace)
    with _backend(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                  tls_client_cert, tls_client_key) as backend:
        existing = backend.table_schema(table) if mode != "replace" else None
        types = {f.name.lower(): f.type for f in existing} if existing is not None else None
        src = open_source(file, format, column_types=types, delimiter=delimiter)
        try:
            schema = target_schema(src.reader.schema, existing)
            reader = cast_reader(src.reader, schema)
            with _progress(_progress_enabled(progress), f"importing {file.name}",
                           src.total, src.unit) as bar:
                rows = [0]

                def counted() -> Iterator[Any]:
                    for batch in reader:
                        rows[0] += batch.num_rows
                        if bar is not None:
                            bar.update(bar.task, completed=src.position())
                        yield batch

                stream = pa.RecordBatchReader.from_batches(schema, counted())
                n = backend.ingest(table, stream, mode)
        finally:
            src.close()
    count = n if isinstance(n, int) and n >= 0 else rows[0]
    typer.echo(f"imported {count} rows into {table}")


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A table name or a query.")],
    file: Annotated[Path, typer.Argument(help="Output file; '-' writes to stdout.")],
    format: Annotated[str | None, typer.Option(
        "--format", "-f", help="csv, parquet, json, ndjson, arrow or arrows (default: from "
        "the file name).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV field delimiter.")] = None,
    progress: ProgressOpt = None,
    uri: UriOpt = None, data_dir: DataDirOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
) -> None:
    """Write a table or a query's result to a file, batch by batch.

    The file appears only when complete (it is written under a temporary name first).
    """
    from .client import looks_like_query, quote_ident
    from .sql.formats import detect_format, write_file, write_stream

    to_stdout = str(file) == "-"
    if to_stdout and format is None:
        raise CliError("--format is required when writing to stdout", 2)
    fmt = detect_format(file, format) if not to_stdout else detect_format("-", format)
    query = source if looks_like_query(source) else f"SELECT * FROM {quote_ident(source)}"
    with _backend(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                  tls_client_cert, tls_client_key) as backend:
        total = None
        if not looks_like_query(source) and backend.mode == "embedded":
            total = backend.db.snapshot().table(source).row_count
        outcome = backend.execute(query)
        try:
            if outcome.reader is None:
                raise CliError("the statement returned no result to export")
            with _progress(_progress_enabled(progress) and not to_stdout,
                           f"exporting to {file.name}", total, "rows") as bar:
                def advance(batch: Any) -> None:
                    if bar is not None:
                        bar.update(bar.task, advance=batch.num_rows)

                if to_stdout:
                    rows = write_stream(outcome.reader, sys.stdout.buffer, fmt,
                                        delimiter=delimiter, on_batch=advance)
                    sys.stdout.buffer.flush()
                else:
                    rows = write_file(outcome.reader, file, fmt, delimiter=delimiter,
                                      on_batch=advance)
        finally:
            outcome.close()
    typer.echo(f"exported {rows} rows to {file}", err=True)


# -------------------------------------------------------------------------------------------
# backup / restore / check / info


_IN_USE_HINT = ("; a running server holds it: stop the server first, or back it up through "
                "the server with `kodiak backup DEST --uri grpc://...` (see docs/operations.md)")


def _open_db(path: Path) -> Any:
    import engine
    from engine.errors import StorageError

    try:
        return engine.Database.open(str(path))
    except StorageError as exc:
        if "in use" in str(exc):
            raise CliError(f"{exc}{_IN_USE_HINT}") from None
        raise


@app.command()
def backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(
        help="New (or empty) directory for the backup; with --uri, on the server's machine.")],
    data_dir: DataDirOpt = None,
    uri: UriOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
) -> None:
    """Copy a consistent snapshot of the database to DEST (an ordinary data directory).

    Includes the users file. Embedded (--data-dir) the data directory must not be open in
    another process; with --uri the running server writes the backup online, into DEST on
    the server's machine (a relative DEST is made absolute against the current directory).
    """
    import shutil

    from .users import USERS_FILE

    cfg = _config(ctx)
    if uri is not None and data_dir is not None:
        raise CliError("give --uri or --data-dir, not both", 2)
    target_uri, _ = cfg.target(uri, data_dir)
    if target_uri:
        _remote_backup(ctx, target_uri, dest, user, tls_root_certs, tls_skip_verify,
                       tls_client_cert, tls_client_key)
        return
    src = _existing_data_dir(ctx, data_dir)
    db = _open_db(src)
    try:
        stats = db.backup(str(dest))
    finally:
        db.close()
    if (src / USERS_FILE).exists():
        shutil.copy2(src / USERS_FILE, dest / USERS_FILE)
    typer.echo(f"backed up {stats['tables']} tables, {stats['rows']} rows "
               f"({stats['bytes']} bytes of segments) to {dest}")


def _remote_backup(ctx: typer.Context, uri: str, dest: Path, user: str | None,
                   tls_root_certs: Path | None, tls_skip_verify: bool | None,
                   tls_client_cert: Path | None, tls_client_key: Path | None) -> None:
    from .client import Remote

    cfg = _config(ctx)
    user = cfg.get("user", user)
    dest_path = os.path.abspath(dest)
    with Remote(uri, user=user, password=_password(cfg, user),
                tls_root_certs=cfg.get("tls_root_certs", tls_root_certs),
                tls_skip_verify=cfg.get("tls_skip_verify", tls_skip_verify),
                tls_client_cert=cfg.get("tls_client_cert", tls_client_cert),
                tls_client_key=cfg.get("tls_client_key", tls_client_key)) as backend:
        stats = backend.backup(dest_path)
    typer.echo(f"backed up {stats['tables']} tables, {stats['rows']} rows "
               f"({stats['bytes']} bytes of segments) to {stats.get('dest', dest_path)} on the "
               f"server (LSN {stats.get('lsn')}, {stats.get('files')} files)")


@app.command()
def restore(
    ctx: typer.Context,
    src: Annotated[Path, typer.Argument(help="A backup made by `kodiak backup`.")],
    data_dir: DataDirOpt = None,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Replace an existing database without asking.")] = False,
) -> None:
    """Replace the data directory with the backup SRC, after verifying the backup.

    Nothing is changed if the backup fails verification. A users file in the backup is
    restored with it; otherwise the current users file is kept.
    """
    import shutil
    import tempfile

    from engine.backup import restore as engine_restore

    from .users import USERS_FILE

    target = _data_dir(ctx, data_dir)
    if not src.is_dir():
        raise CliError(f"no backup at {src} (directory does not exist)")
    if not (src / "MANIFEST").exists():
        raise CliError(f"{src} is not a Kodiak backup (no MANIFEST)")
    if target.exists() and any(target.iterdir()) and not yes:
        if not sys.stdin.isatty():
            raise CliError(f"{target} exists; pass --yes to replace it", 2)
        typer.confirm(f"Replace the database in {target} with {src}?", abort=True)
    kept = None
    if (target / USERS_FILE).exists() and not (src / USERS_FILE).exists():
        kept = Path(tempfile.mkdtemp()) / USERS_FILE
        shutil.copy2(target / USERS_FILE, kept)
    if target.exists():
        _open_db(target).close()  # a clear error when a server has it open
    engine_restore(str(src), str(target))
    if kept is not None:
        shutil.copy2(kept, target / USERS_FILE)
        shutil.rmtree(kept.parent, ignore_errors=True)
    typer.echo(f"restored {src} into {target}")


@app.command()
def check(
    ctx: typer.Context, data_dir: DataDirOpt = None,
    uri: UriOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
) -> None:
    """Verify checksums, the manifest, the write-ahead log, every segment and the indexes.

    Embedded (--data-dir) the data directory must not be open in another process; with --uri
    the running server checks its live database (a snapshot, while writes go on). Exit
    status 1 when a problem is found (each is printed on stderr).
    """
    cfg = _config(ctx)
    if uri is not None and data_dir is not None:
        raise CliError("give --uri or --data-dir, not both", 2)
    target_uri, _ = cfg.target(uri, data_dir)
    if target_uri:
        from .client import Remote

        user = cfg.get("user", user)
        with Remote(target_uri, user=user, password=_password(cfg, user),
                    tls_root_certs=cfg.get("tls_root_certs", tls_root_certs),
                    tls_skip_verify=cfg.get("tls_skip_verify", tls_skip_verify),
                    tls_client_cert=cfg.get("tls_client_cert", tls_client_cert),
                    tls_client_key=cfg.get("tls_client_key", tls_client_key)) as backend:
            doc = backend.check()
        _report_check([], doc["problems"], target_uri, doc["tables"], doc["rows"])
        return
    path = _existing_data_dir(ctx, data_dir)
    try:
        db = _open_db(path)
    except CliError:
        raise
    except Exception as exc:
        from .client import clean_error

        raise CliError(f"cannot open {path}: {clean_error(exc)}") from None
    try:
        warnings = list(db.recovery_warnings)
        problems = db.check()
        snap = db.snapshot()
        tables = snap.tables()
        rows = sum(snap.table(t).row_count for t in tables)
    finally:
        db.close()
    _report_check(warnings, problems, str(path), len(tables), rows)


def _report_check(warnings: list[str], problems: list[str], where: str, tables: int,
                  rows: int) -> None:
    for w in warnings:
        typer.echo(f"warning: recovery: {w}", err=True)
    for p in problems:
        typer.echo(f"problem: {p}", err=True)
    if problems:
        raise CliError(f"{len(problems)} problem(s) found in {where}")
    typer.echo(f"ok: {where}: {tables} tables, {rows} rows, no problems found")


def _human(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


@app.command()
def info(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    uri: UriOpt = None, data_dir: DataDirOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
) -> None:
    """Tables, row counts, sizes, segments and write-ahead log size.

    Embedded this reads the snapshot and file sizes; against a server (--uri) the server
    reports the same (a server without Kodiak's info action: tables, columns and row counts).
    """
    from dataclasses import asdict

    from rich.table import Table

    from .render import make_console

    with _backend(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                  tls_client_cert, tls_client_key, must_exist=True) as backend:
        tables, summary = backend.stats()
    if as_json:
        doc = {**summary, "tables": [{k: v for k, v in asdict(t).items() if k != "extra"}
                                     for t in tables]}
        typer.echo(json.dumps(doc, indent=2))
        return
    console = make_console()
    detailed = "wal_bytes" in summary
    t = Table(title=summary.get("uri") or summary.get("data_dir"))
    t.add_column("table")
    for col in ["rows", "columns"] + (["segments", "size", "deleted", "buffered"]
                                      if detailed else []):
        t.add_column(col, justify="right")
    for s in tables:
        cells = [s.name, str(s.rows), str(s.columns)]
        if detailed:
            cells += [str(s.segments), _human(s.segment_bytes), str(s.deleted_rows),
                      str(s.buffered_rows)]
        t.add_row(*cells)
    console.print(t)
    if detailed:
        console.print(f"write-ahead log: {_human(summary['wal_bytes'])} in "
                      f"{summary['wal_files']} file(s); total on disk "
                      f"{_human(summary['total_bytes'])}; last LSN {summary['lsn']}")


# -------------------------------------------------------------------------------------------
# users


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise CliError("no terminal to ask for the password: pass --password-stdin", 2)
    if not password:
        raise CliError("the password is empty", 2)
    return password


PasswordStdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin.")]


@user_app.command("add")
def user_add(ctx: typer.Context, name: str, data_dir: DataDirOpt = None,
             password_stdin: PasswordStdinOpt = False) -> None:
    """Add a user (asks for the password). Turns authentication on at the next start."""
    from .users import UsersError, add_user, check_name, load_users, users_path

    path = users_path(_data_dir(ctx, data_dir))
    if check_name(name) in load_users(path):  # before asking for a password
        raise UsersError(f"user {name!r} already exists (use `kodiak user passwd`)")
    add_user(path, name, _read_password(password_stdin))
    typer.echo(f"added user {name} to {path}")


@user_app.command("passwd")
def user_passwd(ctx: typer.Context, name: str, data_dir: DataDirOpt = None,
                password_stdin: PasswordStdinOpt = False) -> None:
    """Change a user's password; tokens issued before stop working."""
    from .users import UsersError, load_users, set_password, users_path

    path = users_path(_data_dir(ctx, data_dir))
    if name not in load_users(path):  # before asking for a password
        raise UsersError(f"no user {name!r} in {path}")
    set_password(path, name, _read_password(password_stdin))
    typer.echo(f"changed the password of {name}")


@user_app.command("remove")
def user_remove(ctx: typer.Context, name: str, data_dir: DataDirOpt = None) -> None:
    """Remove a user; their tokens stop working."""
    from .users import remove_user, users_path

    path = users_path(_data_dir(ctx, data_dir))
    remove_user(path, name)
    typer.echo(f"removed user {name}")


@user_app.command("list")
def user_list(ctx: typer.Context, data_dir: DataDirOpt = None) -> None:
    """List the users in the users file."""
    from .users import load_users, users_path

    for name in load_users(users_path(_data_dir(ctx, data_dir))):
        typer.echo(name)


# -------------------------------------------------------------------------------------------
# config


@app.command("config")
def config_cmd(ctx: typer.Context) -> None:
    """Show every setting, its value and where it came from (flag/env/file/default)."""
    from rich.table import Table

    from .render import make_console

    cfg = _config(ctx)
    t = Table(title=f"config file: {cfg.path or 'none'}")
    for col in ("setting", "value", "from", "environment variable"):
        t.add_column(col)
    for key, setting in SETTINGS.items():
        value = cfg.get(key)
        shown = "***" if key == "password" and value else ("" if value is None else str(value))
        t.add_row(key, shown, cfg.source(key), setting.env)
    make_console().print(t)


# -------------------------------------------------------------------------------------------
# entry point


def _message(exc: BaseException) -> str:
    from .client import clean_error

    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return clean_error(exc)


def main(argv: list[str] | None = None) -> None:
    """Every error is one line on stderr and a non-zero exit; ``--debug`` shows the
    traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        code = app(args=args, prog_name="kodiak", standalone_mode=False)
    except CliError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.code)
    except typer.TyperException as exc:  # usage errors: one line too
        if type(exc).__name__ == "NoArgsIsHelpError":
            ctx = getattr(exc, "ctx", None)
            if ctx is not None:
                print(ctx.get_help())
            sys.exit(2)
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2))
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:
        if debug:
            raise
        print(f"error: {_message(exc)}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
