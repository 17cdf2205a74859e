"""``kodiak import`` and ``kodiak export``: files in and out of tables, streamed, with
progress bars on a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .errors import CliError
from .options import (
    Connection,
    DataDirOpt,
    ProgressOpt,
    TlsClientCertOpt,
    TlsClientKeyOpt,
    TlsRootOpt,
    TlsSkipOpt,
    UriOpt,
    UserOpt,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from ..client import Backend, Outcome

FormatOpt = Annotated[str | None, typer.Option(
    "--format", "-f", help="csv, parquet, json, ndjson, arrow or arrows (default: from "
    "the file name).")]
DelimiterOpt = Annotated[str | None, typer.Option(help="CSV field delimiter.")]


def progress_enabled(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(enabled: bool, description: str, total: int | None, unit: str
                 ) -> Iterator[Any]:
    """A rich progress bar on stderr (None when disabled); its task is ``bar.task``."""
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

    from ..render import make_console

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


def ingest_mode(create: bool, append: bool, replace: bool) -> str:
    if create + append + replace > 1:
        raise CliError("choose one of --create, --append and --replace", 2)
    if create:
        return "create"
    if append:
        return "append"
    if replace:
        return "replace"
    return "create_append"


def import_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV, Parquet, JSON, NDJSON or Arrow file.")],
    table: Annotated[str, typer.Argument(help="Table to load into ([schema.]name).")],
    format: FormatOpt = None,
    create: Annotated[bool, typer.Option(
        "--create", help="The table must not exist; create it from the file's schema.")
    ] = False,
    append: Annotated[bool, typer.Option("--append", help="The table must exist.")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Drop the table if it exists and create it from the file.")] = False,
    delimiter: DelimiterOpt = None,
    max_errors: Annotated[int, typer.Option(
        help="CSV: skip up to this many bad rows (wrong number of fields, values of the "
             "wrong type) instead of failing; they are written to --rejects.")] = 0,
    rejects: Annotated[Path | None, typer.Option(
        help="Where --max-errors writes the skipped rows, as CSV (line, column, reason, "
             "row); default FILE.rejects.csv.")] = None,
    progress: ProgressOpt = None,
    uri: UriOpt = None, data_dir: DataDirOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
) -> None:
    """Load a file into a table, streaming, in one transaction.

    Without --create/--append/--replace the table is created from the file's schema if it
    does not exist and appended to if it does. When appending, CSV and JSON columns are read
    as the table's types. A CSV file whose header has no comma but splits on ';', tab or '|'
    is read with that delimiter (said on stderr).
    """
    from ..sql.formats.source import TYPES_HINT
    from . import import_checks as checks

    mode = ingest_mode(create, append, replace)
    if max_errors < 0:
        raise CliError("--max-errors must be zero or more", 2)
    plain_csv = file.is_file() and checks.is_plain_csv(file, format)
    if max_errors and not plain_csv:
        raise CliError("--max-errors works on uncompressed CSV files only", 2)
    if delimiter is None and plain_csv:
        delimiter = checks.sniff_delimiter(file)
        if delimiter is not None:
            typer.echo(f"{file}: fields separated by {delimiter!r} (detected; --delimiter "
                       "chooses)", err=True)
    bad = checks.Rejects(max_errors, rejects or file.with_name(file.name + ".rejects.csv"))
    conn = Connection.from_options(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                                   tls_client_cert, tls_client_key)
    with conn.open() as backend:
        try:
            count = load_file(backend, file, table, mode, format, delimiter,
                              progress_enabled(progress), bad if max_errors else None)
        except checks.RejectLimit as exc:
            raise CliError(f"{file}: {exc}; nothing was imported") from None
        except Exception as exc:
            place = checks.locate(file, str(exc), delimiter or ",") if plain_csv else None
            if place is None:
                raise
            hint = TYPES_HINT if TYPES_HINT in str(exc) else ""
            raise CliError(place + hint) from None
    if bad.found:
        bad.write()
        typer.echo(f"skipped {len(bad.found)} bad rows, written to {bad.path}", err=True)
    typer.echo(f"imported {count} rows into {table}")


def load_file(backend: Backend, file: Path, table: str, mode: str, format: str | None,
              delimiter: str | None, show_progress: bool, rejects: Any = None) -> int:
    """Stream ``file`` into ``table`` (read as the table's types when it exists); the rows
    loaded. With ``rejects`` (CSV), rows that do not parse or convert are skipped into it."""
    import pyarrow as pa

    from ..sql.formats import cast_reader, open_file, open_source, target_schema
    from .import_checks import converted

    existing = backend.table_schema(table) if mode != "replace" else None
    types = {f.name.lower(): f.type for f in existing} if existing is not None else None
    if rejects is None:
        src = open_source(file, format, column_types=types, delimiter=delimiter)
    else:  # read as text, convert here, skipping what does not convert
        from .import_checks import skip_all

        src = open_file(file, "csv", {"delimiter": delimiter, "invalid_row_handler": skip_all})
        wanted = target_schema(src.reader.schema, existing)
        src.close()
        src = open_file(file, "csv", {"column_types": {n.lower(): pa.string()
                                                       for n in wanted.names},
                                      "delimiter": delimiter,
                                      "invalid_row_handler": rejects.on_invalid_row})
    try:
        schema = target_schema(src.reader.schema, existing)
        if rejects is not None:
            schema = wanted
            reader = pa.RecordBatchReader.from_batches(
                schema, converted(src.reader, schema, rejects))
        else:
            reader = cast_reader(src.reader, schema)
        rows = [0]
        with progress_bar(show_progress, f"importing {file.name}", src.total,
                          src.unit) as bar:
            def counted() -> Iterator[pa.RecordBatch]:
                for batch in reader:
                    rows[0] += batch.num_rows
                    if bar is not None:
                        bar.update(bar.task, completed=src.position())
                    yield batch

            stream = pa.RecordBatchReader.from_batches(schema, counted())
            n = backend.ingest(table, stream, mode)
        if rejects is not None:
            rejects.check()
    finally:
        src.close()
    return n if isinstance(n, int) and n >= 0 else rows[0]


def export_cmd(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A table name or a query.")],
    file: Annotated[Path, typer.Argument(help="Output file; '-' writes to stdout.")],
    format: FormatOpt = None,
    delimiter: DelimiterOpt = None,
    progress: ProgressOpt = None,
    uri: UriOpt = None, data_dir: DataDirOpt = None, user: UserOpt = None,
    tls_root_certs: TlsRootOpt = None, tls_skip_verify: TlsSkipOpt = None,
    tls_client_cert: TlsClientCertOpt = None, tls_client_key: TlsClientKeyOpt = None,
) -> None:
    """Write a table or a query's result to a file, batch by batch.

    The file appears only when complete (it is written under a temporary name first).
    """
    from ..sql.formats import detect_format
    from ..sqltext import looks_like_query, quote_ident

    to_stdout = str(file) == "-"
    if to_stdout and format is None:
        raise CliError("--format is required when writing to stdout", 2)
    fmt = detect_format(file, format) if not to_stdout else detect_format("-", format)
    is_query = looks_like_query(source)
    query = source if is_query else f"SELECT * FROM {quote_ident(source)}"
    conn = Connection.from_options(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                                   tls_client_cert, tls_client_key)
    with conn.open() as backend:
        total = None if is_query else backend.row_count(source)
        outcome = backend.execute(query)
        try:
            if outcome.reader is None:
                raise CliError("the statement returned no result to export")
            with progress_bar(progress_enabled(progress) and not to_stdout,
                              f"exporting to {file.name}", total, "rows") as bar:
                rows = write_result(outcome, file, fmt, delimiter, bar)
        finally:
            outcome.close()
    typer.echo(f"exported {rows} rows to {file}", err=True)


def write_result(outcome: Outcome, file: Path, fmt: str, delimiter: str | None,
                 bar: Any) -> int:
    """Write a query's result to ``file`` (stdout for ``-``), advancing ``bar``; the rows."""
    from ..sql.formats import write_file, write_stream

    def advance(batch: Any) -> None:
        if bar is not None:
            bar.update(bar.task, advance=batch.num_rows)

    assert outcome.reader is not None
    if str(file) != "-":
        return write_file(outcome.reader, file, fmt, delimiter=delimiter, on_batch=advance)
    rows = write_stream(outcome.reader, sys.stdout.buffer, fmt, delimiter=delimiter,
                        on_batch=advance)
    sys.stdout.buffer.flush()
    return rows
