"""What a table's statistics tell of a column without reading it: the values it holds lie
within its segments' minima and maxima (and its write buffer's), and each batch's minimum or
maximum is reached by all of that batch's rows."""

from __future__ import annotations

from typing import Any

from .minmax import min_max
from .table import TableData


def column_bounds(data: TableData, column: str, *, exact: bool = False
                  ) -> tuple[Any, Any] | None:
    """The least and greatest non-NULL values column ``column`` holds: exact bounds from its
    segments' statistics and its write buffer (a row deleted since may lie within them; none
    lies outside), for a reader that must rule out an overflow. With ``exact``, the column's
    minimum and maximum themselves, or None when a segment has rows deleted (its statistics
    may be a deleted row's). ``(None, None)`` when it holds no value; None when a segment has
    no statistics for it. A segment written before the column was added holds its default."""
    col = data.tdef.column(column)
    found: list[tuple[Any, Any]] = []
    for part in data.parts:
        if exact and len(part.deletes):
            return None
        st = part.segment.stats.get(col.physical)
        if st is None:
            if col.default is not None:
                found.append((col.default, col.default))
            continue
        lo, hi, nulls, rows = st
        if nulls >= rows:
            continue
        if lo is None or hi is None:
            return None
        found.append((lo, hi))
    if data.buffer_rows:
        lo, hi = min_max(data.buffer_table.column(col.physical))
        if lo is not None:
            found.append((lo, hi))
    if not found:
        return None, None
    return min(lo for lo, _ in found), max(hi for _, hi in found)


def reached_by(data: TableData, column: str, n: int, desc: bool) -> Any | None:
    """A value that at least ``n`` live rows of ``column`` reach: are at least (``desc``) or
    at most, by the batches' statistics (the batches whose least values are greatest, or
    whose greatest are least, until they hold ``n`` rows). The first ``n`` rows in that order
    are all among the rows that reach it, so a reader after only those may skip the others.
    None when the statistics show fewer such rows (segments with deleted rows are not
    counted)."""
    phys = data.tdef.column(column).physical
    edges: list[tuple[Any, int]] = []
    for part in data.parts:
        if len(part.deletes):
            continue
        for _, rows, st in part.segment.batches:
            s = st.get(phys)
            if s is None or s[2] or s[0] is None:  # (NULLs, or no statistics)
                continue
            edges.append((s[0] if desc else s[1], rows))
    try:
        edges.sort(key=lambda e: e[0], reverse=desc)
    except TypeError:
        return None
    held = 0
    for edge, rows in edges:
        held += rows
        if held >= n:
            return edge
    return None
