"""Column statistics for the optimizer: distinct-value counts, sampled and cached.

The engine keeps exact row counts but no distinct counts, which join ordering needs (the
size of ``R JOIN S ON R.a = S.b`` is about ``|R| |S| / max(ndv(a), ndv(b))``). We count
distinct values over the first ``SAMPLE_ROWS`` rows of a column (all of it for smaller
tables) the first time a plan needs them, and keep the answer per database, table, row
count and column set, so repeated queries pay nothing. Beyond the sample we extrapolate: a
column whose sample is mostly repeats is taken as saturated, one whose sample is mostly
distinct as growing with the table.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

SAMPLE_ROWS = 1 << 20

_lock = threading.Lock()
_by_db: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()
_fallback: dict = {}


def cache_for(db: Any) -> dict:
    """The statistics cache shared by every session on ``db``."""
    with _lock:
        try:
            c = _by_db.get(db)
            if c is None:
                c = {}
                _by_db[db] = c
            return c
        except TypeError:  # not weak-referenceable
            return _fallback


def ndv(cache: dict, snap: Any, table: str, row_count: int, columns: tuple[str, ...]) -> float:
    """Estimated number of distinct (combinations of) values of ``columns``."""
    key = (table, row_count, columns)
    hit = cache.get(key)
    if hit is not None:
        return hit
    est = _sample_ndv(snap, table, row_count, columns)
    with _lock:
        if len(cache) > 10_000:
            cache.clear()
        cache[key] = est
    return est


def minmax(cache: dict, snap: Any, table: str, row_count: int, column: str
           ) -> tuple[float, float] | None:
    """(min, max) of a numeric or temporal column as floats (dates as day numbers), from
    the same sample; None when unknown or not ordered numerically."""
    key = (table, row_count, (column,), "minmax")
    if key in cache:
        return cache[key]
    out = None
    try:
        sample = _sample(snap, table, (column,))
        if sample.num_rows:
            col = sample.column(0)
            t = col.type
            if pa.types.is_date(t):
                col = col.cast(pa.int32())
            elif pa.types.is_timestamp(t):
                col = col.cast(pa.int64())
            if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or \
                    pa.types.is_decimal(col.type):
                mm = pc.min_max(col)
                lo, hi = mm["min"].as_py(), mm["max"].as_py()
                if lo is not None and hi is not None:
                    out = (float(lo), float(hi))
    except Exception:
        out = None
    with _lock:
        cache[key] = out
    return out


def clustered(cache: dict, snap: Any, table: str, row_count: int, column: str) -> bool:
    """Whether ``column`` looks sorted (either way) in storage order, judged on the sample:
    then min/max statistics let the engine skip segments for a range or equality on it."""
    key = (table, row_count, (column,), "clustered")
    if key in cache:
        return cache[key]
    out = True
    try:
        if row_count >= 2:
            col = _sample(snap, table, (column,)).column(0).drop_null()
            if pa.types.is_string_view(col.type):
                col = col.cast(pa.large_string())
            col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
            if len(col) >= 2:
                out = pairs_in_order(pa.table({"c": col})) >= 0.95 * (len(col) - 1)
    except Exception:
        out = True
    with _lock:
        cache[key] = out
    return out


def single_bytes(cache: dict, snap: Any, table: str, row_count: int, column: str) -> bool:
    """Whether every sampled value of a string column is one byte long, none NULL (flags,
    codes): such a column groups as its bytes (``optimizer/integer_decimals.py``)."""
    key = (table, row_count, (column,), "single_bytes")
    if key in cache:
        return cache[key]
    out = False
    try:
        col = _sample(snap, table, (column,)).column(0)
        if pa.types.is_string_view(col.type):
            col = col.cast(pa.large_string())
        out = len(col) > 0 and col.null_count == 0 and \
            pc.min_max(pc.binary_length(col)).as_py() == {"min": 1, "max": 1}
    except Exception:  # statistics are advisory; never fail a query for them
        out = False
    with _lock:
        cache[key] = out
    return out


def kept_share(cache: dict, snap: Any, table: str, row_count: int, column: str, fn: str,
               value: Any) -> float | None:
    """The share of the sampled rows that ``column <fn> value`` keeps (``fn`` an Arrow
    comparison: ``equal``, ``not_equal``...), or None when it cannot be computed. One value
    can be most of a column (ClickBench's search phrases are 85% empty strings), which a
    distinct count does not tell."""
    key = (table, row_count, (column,), "kept", fn, repr(value))
    if key in cache:
        return cache[key]
    out: float | None = None
    try:
        col = _sample(snap, table, (column,)).column(0)
        if len(col):  # (a NULL compares as NULL: not kept)
            out = (pc.sum(pc.call_function(fn, [col, value])).as_py() or 0) / len(col)
    except Exception:  # statistics are advisory; never fail a query for them
        out = None
    with _lock:
        cache[key] = out
    return out


def as_number(v: Any) -> float | None:
    """A constant on the scale ``minmax`` uses, or None."""
    import datetime as dt
    from decimal import Decimal
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, Decimal)):
        return float(v)
    if isinstance(v, dt.datetime):
        return None
    if isinstance(v, dt.date):
        return float((v - dt.date(1970, 1, 1)).days)
    return None


class TableStats:
    """The statistics of one table as the optimizer asks for them (a ``Scan`` holds one)."""

    def __init__(self, cache: dict, snap: Any, table: str, row_count: int) -> None:
        self.cache, self.snap, self.table, self.row_count = cache, snap, table, row_count

    def ndv(self, columns: tuple[str, ...]) -> float:
        return ndv(self.cache, self.snap, self.table, self.row_count, columns)

    def minmax(self, column: str) -> tuple[float, float] | None:
        return minmax(self.cache, self.snap, self.table, self.row_count, column)

    def clustered(self, column: str) -> bool:
        return clustered(self.cache, self.snap, self.table, self.row_count, column)

    def single_bytes(self, column: str) -> bool:
        return single_bytes(self.cache, self.snap, self.table, self.row_count, column)

    def kept_share(self, column: str, fn: str, value: Any) -> float | None:
        return kept_share(self.cache, self.snap, self.table, self.row_count, column, fn, value)


def _sample(snap: Any, table: str, columns: tuple[str, ...]) -> pa.Table:
    """The first SAMPLE_ROWS rows of ``columns`` (the one sampling loop every statistic
    uses). Not cached: a 1M-row sample per column would outlive its use; the statistics
    computed from it are what the cache keeps. View columns come as stored (large_string),
    which every statistic below works on, without the round trip through the view type."""
    reader = snap.scan(table, columns=list(columns), stored_types=True)
    batches, n = [], 0
    for b in reader:
        batches.append(b)
        n += b.num_rows
        if n >= SAMPLE_ROWS:
            break
    reader.close()
    return pa.Table.from_batches(batches, schema=reader.schema)


def _sample_ndv(snap: Any, table: str, row_count: int, columns: tuple[str, ...]) -> float:
    if row_count <= 0:
        return 1.0
    try:
        t = _sample(snap, table, columns)
    except Exception:  # statistics are advisory; never fail a query for them
        return float(row_count)
    if not t.num_rows:
        return 1.0
    try:
        return extrapolate_ndv(_groupable(t), row_count)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return float(row_count)  # values that cannot be grouped: taken as all distinct


def _groupable(t: pa.Table) -> pa.Table:
    """``t`` with view columns as ``large_string``/``large_binary`` (which grouping and
    comparison kernels take), under plain names."""
    cols = []
    for c in t.columns:
        if pa.types.is_string_view(c.type):
            c = c.cast(pa.large_string())
        elif pa.types.is_binary_view(c.type):
            c = c.cast(pa.large_binary())
        cols.append(c)
    return pa.table(cols, names=[f"c{i}" for i in range(len(cols))])


def extrapolate_ndv(sample: pa.Table, row_count: int) -> float:
    """The distinct (combinations of) values of a table of ``row_count`` rows whose first
    rows are ``sample``.

    A sample in sorted order (keys stored as generated, a date column loaded in order) sees
    the values of its own stretch of rows only: every other stretch brings as many new
    ones, so the count grows with the rows (TPC-H ``l_orderkey``: 0.25 M distinct in the
    first 1 M rows, 15 M in SF10's 60 M). Otherwise the sample is taken as a random one and
    the unseen values estimated from the values seen once and twice (Chao's estimator):
    many values seen once means many not seen at all (``l_partkey`` at SF10: 0.79 M in the
    sample, 2 M in the table), none means the sample saw (nearly) every value. Scaling the
    sample's count by a power of the row ratio, as before, put ``l_partkey`` at 20 M and
    ``l_orderkey`` at 0.7 M at SF10, and so chose a join order that built hash tables of
    millions of rows (TPC-H Q9)."""
    n = sample.num_rows
    if n >= row_count:  # the whole table: its count as it is
        if sample.num_columns == 1:
            return max(1.0, float(pc.count_distinct(sample.column(0), mode="all").as_py()))
        return max(1.0, float(sample.group_by(sample.column_names, use_threads=False)
                              .aggregate([]).num_rows))
    counts = sample.group_by(sample.column_names, use_threads=False) \
        .aggregate([([], "count_all")]).column("count_all")
    d = float(len(counts))
    if d <= 1:
        return 1.0
    if sorted_rows(sample):
        est = d * row_count / n
    else:
        f1 = float(pc.sum(pc.equal(counts, 1)).as_py() or 0)
        f2 = float(pc.sum(pc.equal(counts, 2)).as_py() or 0)
        est = d + f1 * (f1 - 1) / (2 * (f2 + 1))
    return max(1.0, min(float(row_count), est))


def sorted_rows(t: pa.Table, share: float = 0.95) -> bool:
    """Whether the rows of ``t`` are in ascending or descending order of its columns
    (lexicographically), but for a few: under ``1 - share`` of the adjacent pairs out of
    order. Columns that cannot be compared are taken as unordered."""
    if t.num_rows < 2:
        return False
    try:
        return pairs_in_order(t) >= share * (t.num_rows - 1)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return False


def pairs_in_order(t: pa.Table) -> int:
    """How many adjacent pairs of ``t``'s rows are in order, counted the way (ascending or
    descending, lexicographically over its columns) that gives more; equal rows count
    either way, NULLs neither. Raises Arrow's error for columns that cannot be compared."""
    up = down = ties = None
    for c in reversed(t.columns):  # each column decides the ties of the ones before it
        c = c.chunk(0) if c.num_chunks == 1 else c.combine_chunks()  # (one chunk: no copy)
        a, b = c.slice(0, len(c) - 1), c.slice(1)
        eq, lt, gt = (pc.fill_null(f(a, b), False) for f in (pc.equal, pc.less, pc.greater))
        if up is None:
            up, down, ties = lt, gt, eq
        else:
            up, down = pc.or_(lt, pc.and_(eq, up)), pc.or_(gt, pc.and_(eq, down))
            ties = pc.and_(eq, ties)
    return max(pc.sum(pc.or_(side, ties)).as_py() or 0 for side in (up, down))
