"""Showing results: rich tables for people, CSV/JSON/Arrow/Parquet for programs."""

from __future__ import annotations

import io
import sys
from typing import IO, Any

import pyarrow as pa
from rich.console import Console
from rich.table import Table
from rich.text import Text

NUMERIC = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)


def make_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A console for ``file`` (stdout by default). When it is not a terminal, tables get
    their natural width instead of being squeezed into 80 columns."""
    target = file if file is not None else (sys.stderr if stderr else sys.stdout)
    console = Console(file=target, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(file=target, highlight=False, width=100_000, soft_wrap=False,
                          color_system=None)
    return console


def _cell(v: Any) -> Text:
    if v is None:
        return Text("NULL", style="dim")
    if isinstance(v, float):
        return Text(repr(v))
    if isinstance(v, bytes):
        return Text("\\x" + v.hex())
    return Text(str(v))


def render_table(console: Console, reader: pa.RecordBatchReader, *,
                 max_rows: int = 1000) -> int:
    """Print up to ``max_rows`` rows as a table; count the rest without keeping them.
    Returns the total number of rows."""
    schema = reader.schema
    table = Table(show_edge=True, header_style="bold", show_lines=False)
    for f in schema:
        numeric = any(test(f.type) for test in NUMERIC)
        table.add_column(f.name, justify="right" if numeric else "left", no_wrap=False)
    shown = total = 0
    for batch in reader:
        total += batch.num_rows
        if shown >= max_rows:
            continue
        take = batch.slice(0, max_rows - shown)
        cols = [c.to_pylist() for c in take.columns]
        for i in range(take.num_rows):
            table.add_row(*(_cell(c[i]) for c in cols))
        shown += take.num_rows
    if len(schema):
        console.print(table)
    rows = "row" if total == 1 else "rows"
    if shown < total:
        console.print(f"({total} {rows}, {shown} shown; use --max-rows or --format csv)",
                      style="dim")
    else:
        console.print(f"({total} {rows})", style="dim")
    return total


def render_text(console: Console, reader: pa.RecordBatchReader, fmt: str) -> int:
    """CSV, JSON or NDJSON as text on ``console``'s file (the shell's ``.mode``)."""
    class _Flush(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            console.file.write(bytes(data).decode("utf-8"))
            return len(data)

    from .sql.formats import write_stream

    rows = write_stream(reader, _Flush(), fmt)
    console.file.flush()
    return rows
