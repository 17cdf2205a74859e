"""How the shell shows a result (``.mode``): rich tables (``table``, ``box``), ``markdown``,
``line`` (one ``column = value`` per line, as sqlite), and the text formats ``csv``, ``json``,
``ndjson``. ``headers`` (``.headers on|off``) applies to the tabular modes and CSV."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
from rich import box
from rich.console import Console

MODES = ("table", "box", "markdown", "line", "csv", "json", "ndjson")


def cell(v: Any) -> str:
    """A value as the plain-text modes print it."""
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    return str(v)


def rows_of(reader: pa.RecordBatchReader, max_rows: int) -> tuple[list[list[Any]], int]:
    """Up to ``max_rows`` rows as Python lists, and the total row count."""
    rows: list[list[Any]] = []
    total = 0
    for batch in reader:
        total += batch.num_rows
        take = batch.slice(0, max(0, max_rows - len(rows)))
        cols = [c.to_pylist() for c in take.columns]
        rows.extend([c[i] for c in cols] for i in range(take.num_rows))
    return rows, total


def footer(console: Console, shown: int, total: int) -> None:
    rows = "row" if total == 1 else "rows"
    if shown < total:
        console.print(f"({total} {rows}, {shown} shown; .maxrows N shows more)", style="dim")


def render_markdown(console: Console, reader: pa.RecordBatchReader, headers: bool,
                    max_rows: int) -> int:
    rows, total = rows_of(reader, max_rows)
    esc = [[cell(v).replace("|", "\\|") for v in r] for r in rows]
    lines = []
    if headers:
        lines.append("| " + " | ".join(reader.schema.names) + " |")
        lines.append("|" + "|".join("---" for _ in reader.schema.names) + "|")
    lines += ["| " + " | ".join(r) + " |" for r in esc]
    console.print("\n".join(lines), markup=False, highlight=False)
    footer(console, len(rows), total)
    return total


def render_line(console: Console, reader: pa.RecordBatchReader, max_rows: int) -> int:
    rows, total = rows_of(reader, max_rows)
    names = reader.schema.names
    width = max((len(n) for n in names), default=0)
    blocks = ["\n".join(f"{n.rjust(width)} = {cell(v)}" for n, v in zip(names, r, strict=True))
              for r in rows]
    console.print("\n\n".join(blocks), markup=False, highlight=False)
    footer(console, len(rows), total)
    return total


def render_box(console: Console, reader: pa.RecordBatchReader, headers: bool,
               max_rows: int) -> int:
    from rich.table import Table

    from ..render import NUMERIC

    rows, total = rows_of(reader, max_rows)
    table = Table(box=box.SQUARE, show_header=headers, header_style="bold")
    for f in reader.schema:
        table.add_column(f.name, justify="right" if any(t(f.type) for t in NUMERIC) else "left")
    for r in rows:
        table.add_row(*(cell(v) for v in r))
    console.print(table, markup=False, highlight=False)
    footer(console, len(rows), total)
    return total


def render_csv(console: Console, reader: pa.RecordBatchReader, headers: bool) -> int:
    from ..render import render_text

    if headers:
        return render_text(console, reader, "csv")
    buf = io.StringIO()
    n = render_text(Console(file=buf, width=100_000), reader, "csv")
    console.file.write(buf.getvalue().split("\n", 1)[1] if "\n" in buf.getvalue() else "")
    return n


def render(console: Console, reader: pa.RecordBatchReader, mode: str, *,
           headers: bool = True, max_rows: int = 1000) -> int:
    """Show ``reader`` in ``mode``; the number of rows."""
    from ..render import render_table, render_text

    if mode == "table":
        if not headers:
            return render_box(console, reader, False, max_rows)
        return render_table(console, reader, max_rows=max_rows)
    if mode == "box":
        return render_box(console, reader, headers, max_rows)
    if mode == "markdown":
        return render_markdown(console, reader, headers, max_rows)
    if mode == "line":
        return render_line(console, reader, max_rows)
    if mode == "csv":
        return render_csv(console, reader, headers)
    return render_text(console, reader, mode)
