"""``kodiak info``: tables, row counts, sizes, segments and the write-ahead log's size."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .options import (
    Connection,
    DataDirOpt,
    TlsClientCertOpt,
    TlsClientKeyOpt,
    TlsRootOpt,
    TlsSkipOpt,
    UriOpt,
    UserOpt,
)

if TYPE_CHECKING:
    from ..client import TableStats


def human(n: int | None) -> str:
    """A byte count in B, KiB, MiB, GiB or TiB; ``-`` when unknown."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


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

    conn = Connection.from_options(ctx, uri, data_dir, user, tls_root_certs, tls_skip_verify,
                                   tls_client_cert, tls_client_key)
    with conn.open(must_exist=True) as backend:
        tables, summary = backend.stats()
    if as_json:
        doc = {**summary, "tables": [{k: v for k, v in asdict(t).items() if k != "extra"}
                                     for t in tables]}
        typer.echo(json.dumps(doc, indent=2))
    else:
        print_stats(tables, summary)


def print_stats(tables: list[TableStats], summary: dict[str, Any]) -> None:
    """A table of ``tables``; sizes and the write-ahead log when the backend reports them."""
    from rich.table import Table

    from ..render import make_console

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
            cells += [str(s.segments), human(s.segment_bytes), str(s.deleted_rows),
                      str(s.buffered_rows)]
        t.add_row(*cells)
    console.print(t)
    if detailed:
        console.print(f"write-ahead log: {human(summary['wal_bytes'])} in "
                      f"{summary['wal_files']} file(s); total on disk "
                      f"{human(summary['total_bytes'])}; last LSN {summary['lsn']}")
