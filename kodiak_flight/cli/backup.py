"""``kodiak backup``, ``restore`` and ``check``: copies of a database and its verification,
embedded on a data directory or (backup, check) by a running server."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

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
    resolve_data_dir,
)


def open_db(path: Path, command: str) -> Any:
    """The database at ``path``, opened here for ``command``; what to do instead when a
    server holds it."""
    import engine

    from .hints import in_use

    try:
        return engine.Database.open(str(path))
    except engine.errors.StorageError as exc:
        if "in use" in str(exc):
            raise CliError(in_use(path, command)) from None
        raise


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
    conn = Connection.from_options(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                                   tls_client_cert, tls_client_key)
    if conn.uri:
        remote_backup(conn, dest)
    else:
        embedded_backup(conn.existing_data_dir(), dest)


def embedded_backup(src: Path, dest: Path) -> None:
    from ..users import USERS_FILE

    db = open_db(src, "backup")
    try:
        stats = db.backup(str(dest))
    finally:
        db.close()
    if (src / USERS_FILE).exists():
        shutil.copy2(src / USERS_FILE, dest / USERS_FILE)
    typer.echo(f"backed up {stats['tables']} tables, {stats['rows']} rows "
               f"({stats['bytes']} bytes of segments) to {dest}")


def remote_backup(conn: Connection, dest: Path) -> None:
    dest_path = os.path.abspath(dest)
    with conn.remote() as backend:
        stats = backend.backup(dest_path)
    typer.echo(f"backed up {stats['tables']} tables, {stats['rows']} rows "
               f"({stats['bytes']} bytes of segments) to {stats.get('dest', dest_path)} on the "
               f"server (LSN {stats.get('lsn')}, {stats.get('files')} files)")


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
    target = resolve_data_dir(ctx, data_dir)
    if not src.is_dir():
        raise CliError(f"no backup at {src} (directory does not exist)")
    if not (src / "MANIFEST").exists():
        raise CliError(f"{src} is not a Kodiak backup (no MANIFEST)")
    if target.exists() and any(target.iterdir()) and not yes:
        if not sys.stdin.isatty():
            raise CliError(f"{target} exists; pass --yes to replace it", 2)
        typer.confirm(f"Replace the database in {target} with {src}?", abort=True)
    replace_data_dir(src, target)
    typer.echo(f"restored {src} into {target}")


def replace_data_dir(src: Path, target: Path) -> None:
    """Restore ``src`` into ``target``, keeping target's users file when src has none."""
    import engine

    from ..users import USERS_FILE

    kept = None
    if (target / USERS_FILE).exists() and not (src / USERS_FILE).exists():
        kept = Path(tempfile.mkdtemp()) / USERS_FILE
        shutil.copy2(target / USERS_FILE, kept)
    if target.exists():
        open_db(target, "restore").close()  # a clear error when a server has it open
    engine.restore(str(src), str(target))
    if kept is not None:
        shutil.copy2(kept, target / USERS_FILE)
        shutil.rmtree(kept.parent, ignore_errors=True)


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
    conn = Connection.from_options(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                                   tls_client_cert, tls_client_key)
    if conn.uri:
        with conn.remote() as backend:
            doc = backend.check()
        report_check([], doc["problems"], conn.uri, doc["tables"], doc["rows"])
    else:
        path = conn.existing_data_dir()
        warnings, problems, tables, rows = embedded_check(path)
        report_check(warnings, problems, str(path), tables, rows)


def embedded_check(path: Path) -> tuple[list[str], list[str], int, int]:
    """Recovery warnings, problems, tables and rows of the database at ``path``."""
    from ..client import clean_error

    try:
        db = open_db(path, "check")
    except CliError:
        raise
    except Exception as exc:
        raise CliError(f"cannot open {path}: {clean_error(exc)}") from None
    try:
        warnings = list(db.recovery_warnings)
        problems = db.check()
        snap = db.snapshot()
        tables = snap.tables()
        rows = sum(snap.table(t).row_count for t in tables)
    finally:
        db.close()
    return warnings, problems, len(tables), rows


def report_check(warnings: list[str], problems: list[str], where: str, tables: int,
                 rows: int) -> None:
    for w in warnings:
        typer.echo(f"warning: recovery: {w}", err=True)
    for p in problems:
        typer.echo(f"problem: {p}", err=True)
    if problems:
        raise CliError(f"{len(problems)} problem(s) found in {where}")
    typer.echo(f"ok: {where}: {tables} tables, {rows} rows, no problems found")
