"""``kodiak import``'s care with CSV files: the delimiter detected when the default would
read a one-column table, errors placed at their file, line and column, and bad rows skipped
(``--max-errors``) into a rejects file.

Locating an error re-reads the file up to the bad row in Python: that is the error path, not
the load. Skipping bad rows reads the columns as text and converts each batch with pyarrow;
only a batch that fails is bisected (vectorised casts of halves) down to its bad rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

CANDIDATES = (",", ";", "\t", "|")
_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to ([\w\[\], ]+?): "
                         r"invalid value '(.*)'")
_FIELDS = re.compile(r"Expected (\d+) columns, got (\d+)")


def is_plain_csv(path: Path, fmt: str | None) -> bool:
    """An uncompressed CSV file (what these checks can read line by line)."""
    if fmt is not None:
        return fmt.lower() == "csv" and path.suffix.lower() in (".csv", ".txt")
    return path.suffix.lower() in (".csv", ".txt")


def head_lines(path: Path, n: int = 20) -> list[str]:
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        text = f.read(1 << 16)
    lines = text.splitlines()
    return lines[:n] if len(lines) <= n else lines[:n]


def sniff_delimiter(path: Path) -> str | None:
    """Another delimiter when a comma would read a one-column table and it splits every
    head line into the same number (>1) of fields; else None."""
    lines = [line for line in head_lines(path) if line.strip()]
    if len(lines) < 1:
        return None

    def widths(sep: str) -> set[int]:
        return {len(row) for row in csv.reader(lines, delimiter=sep)}

    if widths(",") != {1}:
        return None
    for sep in CANDIDATES[1:]:
        found = widths(sep)
        if len(found) == 1 and found.pop() > 1:
            return sep
    return None


def rows_with_lines(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, fields) of every record, header included."""
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        start = 1
        for row in reader:
            yield start, row
            start = reader.line_num + 1


def locate(path: Path, message: str, delimiter: str) -> str | None:
    """``message`` (pyarrow's CSV error) placed at its line and column of ``path``, or None
    when it is not one this knows."""
    conv = _CONVERSION.search(message)
    if conv:
        col, type_name, value = int(conv.group(1)), conv.group(2), conv.group(3)
        header: list[str] = []
        for line, row in rows_with_lines(path, delimiter):
            if not header:
                header = row
            elif len(row) > col and row[col] == value:
                name = header[col] if col < len(header) else f"#{col + 1}"
                return (f"{path}, line {line}, column {col + 1} ({name}): {value!r} is not "
                        f"a valid {type_name} value")
        return None
    fields = _FIELDS.search(message)
    if fields:
        expected, got = int(fields.group(1)), int(fields.group(2))
        for line, row in rows_with_lines(path, delimiter):
            if len(row) == got:
                return f"{path}, line {line}: {got} fields where the header has {expected}"
    return None


@dataclass
class Rejects:
    """Rows skipped so far, written to ``path`` as ``line,column,reason,row``."""

    limit: int
    path: Path
    found: list[tuple[int | None, str, str, str]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def add(self, line: int | None, column: str, reason: str, text: str) -> None:
        self.found.append((line, column, reason, text))

    def check(self) -> None:
        """Stop the load when more rows were bad than allowed."""
        if len(self.found) > self.limit:
            line, _, reason, _ = self.found[-1]
            where = f"line {line}" if line is not None else "a row"
            raise RejectLimit(f"more than {self.limit} bad rows (--max-errors); the last, at "
                              f"{where}: {reason}")

    def on_invalid_row(self, row: Any) -> str:
        """pyarrow's handler for a row with the wrong number of fields: skip it. (pyarrow
        parses the file's first block twice, so a row already seen is not counted again;
        it reports no line number for these rows.)"""
        if row.text not in self.seen:
            self.seen.add(row.text)
            self.add(row.number, "", f"{row.actual_columns} fields where the header has "
                     f"{row.expected_columns}", row.text)
        return "skip"

    def write(self) -> None:
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(["line", "column", "reason", "row"])
        for r in self.found:
            out.writerow(["" if r[0] is None else r[0], *r[1:]])
        self.path.write_text(buf.getvalue(), encoding="utf-8")


def skip_all(row: Any) -> str:
    """Skip rows of the wrong width while the column types are inferred."""
    return "skip"


class RejectLimit(Exception):
    """More bad rows than ``--max-errors`` allows."""


def bad_rows(values: pa.Array, to: pa.DataType) -> list[int]:
    """Indexes of ``values`` (text) that do not convert to ``to``: bisecting a failing
    cast down to the single values that fail."""
    try:
        values.cast(to)
        return []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(values) == 1:
            return [0]
    half = len(values) // 2
    return bad_rows(values.slice(0, half), to) + [half + i for i in
                                                  bad_rows(values.slice(half), to)]


def converted(reader: pa.RecordBatchReader, schema: pa.Schema, rejects: Rejects,
              first_line: int = 2) -> Iterator[pa.RecordBatch]:
    """``reader``'s batches (columns as text) converted to ``schema``, rows that do not
    convert skipped into ``rejects``. Line numbers assume one line per record and count no
    rows skipped for their width."""
    import numpy as np
    import pyarrow.compute as pc

    row = 0
    for batch in reader:
        bad: dict[int, tuple[str, str]] = {}
        for f in schema:
            col = batch.column(batch.schema.get_field_index(f.name))
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
                continue
            for i in bad_rows(col, f.type):
                bad.setdefault(i, (f.name, f"{col[i].as_py()!r} is not a valid {f.type} "
                                          "value"))
        if bad:
            for i, (name, reason) in sorted(bad.items()):
                text = ",".join("" if v is None else str(v)
                                for v in batch.slice(i, 1).to_pylist()[0].values())
                rejects.add(first_line + row + i, name, reason, text)
            keep = np.ones(batch.num_rows, dtype=bool)
            keep[list(bad)] = False
            batch = pc.filter(batch, pa.array(keep))
        row += batch.num_rows + len(bad)
        rejects.check()
        yield pa.RecordBatch.from_arrays(
            [batch.column(batch.schema.get_field_index(f.name)).cast(f.type) for f in schema],
            schema=schema)
