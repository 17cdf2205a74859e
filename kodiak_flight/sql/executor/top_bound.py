"""A top-N over a filter on a wide scan, bounded by a first pass over two columns.

``SELECT * FROM hits WHERE URL LIKE '%google%' ORDER BY EventTime LIMIT 10`` (ClickBench's
Q23; a search sorted by date in an application) filtered every batch and took all 38
columns of each of the 225 K rows the search kept, to keep 10. Here a first pass runs the
same filter over a scan of only the columns the filter and the first sort key read, and
finds that key's ``n``-th value among the rows it keeps; the query then runs as planned
with the scan bounded by it (``key <= value``, or ``>=`` descending: the engine compares
the key per batch before the filter runs, so the filter and the take see the few rows
that can still be among the first ``n``, ties on the key included).

Only for a sort whose first key is an integer, date or timestamp column of the scan (not
NULLS FIRST: a bound never keeps a NULL) under projections of plain columns and one
filter, and only when the scan reads at least ``MIN_SAVED`` more columns than the first
pass needs. When the filter keeps fewer than ``n`` rows there is no bound and the query
runs as planned (its take is small then).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyarrow as pa

from engine import predicate as P

from ..expr import Col
from ..plan import Filter, Node, Project, Scan, Sort

MIN_SAVED = 4  # columns the first pass must leave out to be worth its filter
MAX_N = 10_000  # rows a bound is looked for up to


def bounded_input(ex: Any, node: Sort, n: int) -> Node | None:
    """``node``'s input with its scan bounded by the first key's ``n``-th value among the
    rows the filter keeps; None when the shape does not apply or no bound is found."""
    key = node.keys[0]
    if key.nulls_first or not isinstance(key.expr, Col) or not 1 <= n <= MAX_N or \
            not _bounded_type(key.expr.type):
        return None
    found = _filtered_scan(node.input, key.expr.id)
    if found is None:
        return None
    chain, filt, scan, kid = found
    need = filt.cond.col_ids() | {kid}
    if len(scan.columns) - len(need) < MIN_SAVED:
        return None
    first = dataclasses.replace(filt, input=dataclasses.replace(
        scan, columns=[c for c in scan.columns if c[1] in need]))
    value = _nth(ex.as_table(ex.run(first)).column(kid), n, key.desc)
    if value is None:
        return None
    column = {i: s for s, i, _ in scan.columns}[kid]
    bound = P.Compare(column, ">=" if key.desc else "<=", value)
    out: Node = dataclasses.replace(filt, input=dataclasses.replace(
        scan, predicate=bound if scan.predicate is None else P.And((scan.predicate, bound))))
    for proj in reversed(chain):
        out = dataclasses.replace(proj, input=out)
    return out


def _bounded_type(t: pa.DataType) -> bool:
    """Types whose values the engine's statistics and comparisons take as Python values."""
    if pa.types.is_timestamp(t):
        return t.tz is None and t.unit != "ns"
    return pa.types.is_integer(t) or pa.types.is_date32(t)


def _filtered_scan(node: Node, kid: str) -> tuple[list[Project], Filter, Scan, str] | None:
    """Projections of plain columns (top first), the filter and the scan under ``node``,
    and the scan's id for ``kid``; None for any other shape."""
    chain: list[Project] = []
    while isinstance(node, Project) and all(isinstance(e, Col) for _, e in node.exprs):
        e = dict(node.exprs).get(kid)
        if not isinstance(e, Col):
            return None
        kid = e.id
        chain.append(node)
        node = node.input
    if type(node) is not Filter or type(node.input) is not Scan:
        return None
    scan = node.input
    if kid not in {i for _, i, _ in scan.columns}:
        return None
    return chain, node, scan, kid


def _nth(col: pa.ChunkedArray, n: int, desc: bool) -> Any:
    """The ``n``-th value of ``col`` (NULLs left out: they sort last) in the sort's
    direction, as a Python value; None when there are not more than ``n``."""
    values = col.drop_null()
    if len(values) <= n:
        return None
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    t = arr.type
    ints = (arr if pa.types.is_integer(t) else
            arr.view(pa.int32() if t.bit_width == 32 else pa.int64())).to_numpy()
    k = len(ints) - n if desc else n - 1
    return arr[int(np.argpartition(ints, k)[k])].as_py()
