"""``kodiak sql`` (statements from the command line or stdin) and ``kodiak shell``."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..config import Config
from .errors import CliError
from .options import (
    Connection,
    DataDirOpt,
    TlsClientCertOpt,
    TlsClientKeyOpt,
    TlsRootOpt,
    TlsSkipOpt,
    UriOpt,
    UserOpt,
    load_config,
)

if TYPE_CHECKING:
    from ..client import Outcome

FORMATS = ("table", "csv", "json", "ndjson", "arrow", "arrows", "parquet")


def read_statements(text: str) -> list[str]:
    """The statements to send one by one; a PL-Grizzly script is sent whole (the server
    runs it in one scope: a ``LET`` is seen by the statements after it)."""
    from ..sqltext import is_script, split_statements

    stmts = split_statements(text)
    if not stmts:
        raise CliError("no SQL statement given", 2)
    return [text.strip()] if is_script(stmts) else stmts


def output_format(cfg: Config, format: str | None, output: Path | None) -> str:
    """The format asked for, else the output file's, else the configured one."""
    if format is None and output is not None and cfg.source("format") == "default":
        from ..sql.formats import detect_format

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
    if fmt not in FORMATS:
        raise CliError(f"unknown format {fmt!r} (choose table, csv, json, ndjson, arrow or "
                       "parquet)", 2)
    if fmt in ("arrow", "arrows", "parquet") and output is None and sys.stdout.isatty():
        raise CliError(f"{fmt} is binary; use --output FILE or redirect stdout", 2)
    return fmt


def write_outcome(outcome: Outcome, fmt: str, output: Path | None, limit: int,
                  last: bool) -> None:
    """Show a table of every result; in the other formats write the last statement's."""
    from ..render import make_console, render_table

    assert outcome.reader is not None
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
        from ..sql.formats import write_file

        write_file(outcome.reader, output, fmt)
    else:
        from ..sql.formats import write_stream

        write_stream(outcome.reader, sys.stdout.buffer, fmt)
        sys.stdout.buffer.flush()


def sql(
    ctx: typer.Context,
    statements: Annotated[str | None, typer.Argument(
        help="SQL, several statements separated by ';'. Omitted or '-': read stdin.")] = None,
    command: Annotated[str | None, typer.Option(
        "--command", "-c", help="SQL to run (as the argument; psql's and DuckDB's -c).")
    ] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", help="Run the SQL script in FILE ('-': stdin); it may hold the "
        "shell's dot commands (.mode csv, .read ...).")] = None,
    format: Annotated[str | None, typer.Option(
        "--format", help="table, csv, json, ndjson, arrow (IPC stream) or parquet "
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
    statements without a result go to stderr. A script with the shell's dot commands runs as
    the shell runs it, stopping at the first error.
    """
    from ..render import make_console
    from .script import has_shell_commands, read_script, reports_rows

    cfg = load_config(ctx)
    text = read_script(statements, command, file)
    fmt = output_format(cfg, format, output)
    limit = cfg.get("max_rows", max_rows)
    conn = Connection.from_options(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                                   tls_client_cert, tls_client_key)
    if has_shell_commands(text):
        run_as_shell(conn, text, fmt, output, limit)
        return
    stmts = read_statements(text)
    err = make_console(stderr=True)
    with conn.open() as backend:
        for i, stmt in enumerate(stmts):
            outcome = backend.execute(stmt)
            try:
                if outcome.reader is not None:
                    write_outcome(outcome, fmt, output, limit, i == len(stmts) - 1)
                elif reports_rows(stmt, outcome.rowcount):
                    n = outcome.rowcount
                    err.print(f"{n} row{'' if n == 1 else 's'} affected", style="dim")
            finally:
                outcome.close()


def run_as_shell(conn: Connection, text: str, fmt: str, output: Path | None,
                 limit: int) -> None:
    """Run a script holding dot commands through the shell (non-interactive, stopping at
    the first error); exit status 1 if a statement failed."""
    from ..render import make_console
    from ..shell import MODES, Shell

    if fmt not in MODES:
        raise CliError(f"a script with dot commands writes text: --format {fmt} is not one of "
                       f"{', '.join(MODES)}", 2)
    with conn.open() as backend, contextlib.ExitStack() as stack:
        out = None if output is None else stack.enter_context(
            open(output, "w", encoding="utf-8"))
        sh = Shell(backend, make_console(out), make_console(stderr=True), mode=fmt,
                   max_rows=limit, bail=True)
        sh.notes = sh.err
        sh.run_lines(text.splitlines())
        if sh.errors:
            raise typer.Exit(1)


def shell(
    ctx: typer.Context,
    uri: UriOpt = None, data_dir: DataDirOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
    mode: Annotated[str, typer.Option(
        help="table, box, markdown, line, csv, json or ndjson.")] = "table",
    history_file: Annotated[Path | None, typer.Option(
        help="History file (KODIAK_HISTORY_FILE; default ~/.kodiak_history).")] = None,
) -> None:
    """Interactive SQL shell: history, completion, multi-line statements, .help commands.

    With stdin not a terminal, runs the piped lines as a script; the exit status is 1 if any
    statement failed.
    """
    from ..render import make_console
    from ..shell import MODES, Shell
    from .login import open_logged_in

    cfg = load_config(ctx)
    if mode not in MODES:
        raise CliError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}", 2)
    conn = Connection.from_options(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                                   tls_client_cert, tls_client_key)
    with open_logged_in(conn) as backend:
        sh = Shell(backend, make_console(), make_console(stderr=True), mode=mode,
                   max_rows=cfg.get("max_rows"))
        if sys.stdin.isatty():
            sh.interactive(history_file=cfg.get("history_file", history_file))
        else:
            sh.run_lines(sys.stdin)
            if sh.errors:
                raise typer.Exit(1)
