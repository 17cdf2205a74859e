"""Aggregation by runs: a grouping on one integer key whose rows arrive in runs of equal
keys (a table stored in key order) is summed run by run in numpy, without a hash table.

TPC-H Q18 groups lineitem's 6 M rows by ``l_orderkey`` into 1.5 M groups; Acero's hash
aggregation took about 600 ms of CPU for it (its hash table outgrows the caches), while
``np.add.reduceat`` over the runs of equal keys took about 60. lineitem is stored in
``l_orderkey`` order, so its scan's batches arrive in key order.

Each batch of the scan is folded run by run into partial rows (one per run of equal
adjacent keys: a count, a sum, a min or max of its values as integers, the number of its
non-NULL values). Folding runs is exact in any order; if every batch was sorted and each
began at or after the previous one's last key, the partial rows are in key order and
adjacent equal keys are merged the same way; otherwise Acero's hash aggregation combines
them (a sum of sums, a min of mins). The first batch decides: unless it folds to at most
half its rows, the plain hash aggregation runs over all the input. A key that is a scan's
column the sampled statistics call unordered is not tried at all (``likely``).

Values are integers (up to 64 bits) or decimals of precision <= 18, read as their unscaled
int64 values (``int_tests.ints``); a sum that could leave int64 (the largest value times
the longest run) is not folded in numpy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..optimizer.util import column_source
from ..plan import AggCall, Aggregate
from . import sum_check
from .int_tests import INTS, ints

FUNCS = ("count", "count_star", "sum", "min", "max")
LIMIT = 2 ** 62  # sums kept under this in magnitude cannot overflow int64 when added once more
COMBINE = {"count": "sum", "count_star": "sum", "sum": "sum", "min": "min", "max": "max"}


def applies(node: Aggregate, schema: pa.Schema) -> bool:
    """One integer key, and only counts or sums/min/max of integers and decimals(<= 18)."""
    if len(node.keys) != 1 or schema.field(node.keys[0]).type not in INTS or not node.aggs:
        return False
    for a in node.aggs:
        if a.func not in FUNCS or a.distinct or a.order or a.extra is not None:
            return False
        if a.func in ("sum", "min", "max") and not integral(schema.field(a.arg).type):
            return False
    return True


def likely(node: Aggregate) -> bool:
    """Whether the key may come in runs: False when it is a scan's column (through renames
    and filters) that the table's sampled statistics say is not stored in order. Probing
    the first batch costs little CPU but reads it before Acero starts (TPC-H Q15's
    ``l_suppkey``: about 6 ms of wall time)."""
    src = column_source(node.input, node.keys[0])
    if src is None or src[2] or src[0].stats is None:
        return True  # (past a join or a computed key: not known, so tried)
    scan, cid, _ = src
    return scan.stats.clustered({i: s for s, i, _ in scan.columns}[cid])


def integral(t: pa.DataType) -> bool:
    """Whether ``t``'s values are exact int64s: signed integers, decimals of precision <= 18."""
    if pa.types.is_decimal(t):
        return pa.types.is_decimal128(t) and t.precision <= 18
    return t in INTS and not pa.types.is_date(t)


@dataclass
class Partials:
    """The partial rows folded so far: per batch, the run keys and each aggregate's int64
    values and non-NULL counts."""

    keys: list[pa.Array] = field(default_factory=list)
    values: list[list[np.ndarray]] = field(default_factory=list)
    counts: list[list[np.ndarray]] = field(default_factory=list)
    ordered: bool = True
    last: int | None = None


def aggregate(node: Aggregate, reader: pa.RecordBatchReader) -> pa.Table | pa.RecordBatchReader:
    """``node``'s result, or a reader of all of ``reader``'s batches when its first batch
    does not fold (the caller then runs the hash aggregation over it)."""
    batches = iter(reader)
    first = next(batches, None)
    if first is None:
        return pa.RecordBatchReader.from_batches(reader.schema, iter(()))
    starts = run_starts(first, node.keys[0])
    if len(starts) * 2 > max(first.num_rows, 1):
        return pa.RecordBatchReader.from_batches(reader.schema,
                                                 itertools.chain([first], batches))
    parts = Partials()
    fold(parts, node, first, starts)
    for b in batches:
        if b.num_rows:
            fold(parts, node, b, run_starts(b, node.keys[0]))
    return finish(parts, node)


def run_starts(b: pa.RecordBatch, key: str) -> np.ndarray:
    """The row positions where a run of equal keys begins in ``b``."""
    col = b.column(key)
    k = ints(col)
    change = k[1:] != k[:-1]
    if col.null_count:
        valid = np.asarray(col.is_valid())
        change |= valid[1:] != valid[:-1]
    return np.concatenate([[0], np.flatnonzero(change) + 1]) if len(k) else \
        np.zeros(0, np.int64)


def fold(parts: Partials, node: Aggregate, b: pa.RecordBatch, starts: np.ndarray) -> None:
    """Add ``b``'s runs to ``parts`` (each row its own run where a sum could overflow)."""
    col = b.column(node.keys[0])
    k = ints(col)
    if col.null_count or np.any(k[1:] < k[:-1]) or (
            parts.last is not None and len(k) and k[0] < parts.last):
        parts.ordered = False
    if len(k):
        parts.last = int(k[-1])
    lengths = np.diff(np.append(starts, b.num_rows))
    longest = int(lengths.max()) if len(lengths) else 0
    if any(a.func == "sum" and magnitude(b.column(a.arg)) * longest >= LIMIT for a in node.aggs):
        starts = np.arange(b.num_rows)
        parts.ordered = False  # the rows stay unfolded: the hash aggregation sums them
    parts.keys.append(col.take(pa.array(starts)))
    vals, cnts = [], []
    for a in node.aggs:
        v, c = folded(a, b, starts)
        vals.append(v)
        cnts.append(c)
    parts.values.append(vals)
    parts.counts.append(cnts)


def magnitude(a: pa.Array) -> int:
    """The largest absolute value of ``a``'s integers (0 when empty)."""
    x = ints(a)
    if not len(x):
        return 0
    return max(abs(int(x.min())), abs(int(x.max())))


def folded(a: AggCall, b: pa.RecordBatch, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate ``a`` over each run: its int64 values and the run's non-NULL counts."""
    if a.func == "count_star":
        n = np.diff(np.append(starts, b.num_rows)).astype(np.int64)
        return n, n
    col = b.column(a.arg)
    valid = np.asarray(col.is_valid()) if col.null_count else None
    ones = valid.astype(np.int64) if valid is not None else np.ones(b.num_rows, np.int64)
    count = np.add.reduceat(ones, starts) if len(starts) else np.zeros(0, np.int64)
    if a.func == "count":
        return count, count
    x = ints(col).astype(np.int64, copy=False)
    if a.func == "sum":
        x = np.where(valid, x, 0) if valid is not None else x
        return reduced(np.add, x, starts), count
    fill = np.iinfo(np.int64).max if a.func == "min" else np.iinfo(np.int64).min
    x = np.where(valid, x, fill) if valid is not None else x
    return reduced(np.minimum if a.func == "min" else np.maximum, x, starts), count


def reduced(ufunc: np.ufunc, x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return ufunc.reduceat(x, starts) if len(starts) else np.zeros(0, np.int64)


def finish(parts: Partials, node: Aggregate) -> pa.Table:
    """The final groups: adjacent partial rows merged when in key order, else hashed."""
    keys = pa.concat_arrays(parts.keys)
    vals = [np.concatenate([v[i] for v in parts.values]) for i in range(len(node.aggs))]
    cnts = [np.concatenate([c[i] for c in parts.counts]) for i in range(len(node.aggs))]
    if parts.ordered:
        starts = np.concatenate([[0], np.flatnonzero(np.diff(ints(keys)) != 0) + 1]) \
            if len(keys) else np.zeros(0, np.int64)
        longest = int(np.diff(np.append(starts, len(keys))).max()) if len(keys) else 0
        if all(a.func != "sum" or int(np.abs(v).max(initial=0)) * longest < LIMIT
               for a, v in zip(node.aggs, vals, strict=True)):
            return merged(node, keys, vals, cnts, starts)
    return hashed(node, keys, vals, cnts)


def merged(node: Aggregate, keys: pa.Array, vals: list[np.ndarray], cnts: list[np.ndarray],
           starts: np.ndarray) -> pa.Table:
    """Partial rows in key order, adjacent equal keys merged."""
    arrays = [keys.take(pa.array(starts))]
    for a, v, c in zip(node.aggs, vals, cnts, strict=True):
        ufunc = np.add if COMBINE[a.func] == "sum" else np.minimum if a.func == "min" \
            else np.maximum
        arrays.append(as_arrow(a, node, reduced(ufunc, v, starts), reduced(np.add, c, starts)))
    return pa.Table.from_arrays(arrays, names=node.out_ids())


def hashed(node: Aggregate, keys: pa.Array, vals: list[np.ndarray],
           cnts: list[np.ndarray]) -> pa.Table:
    """Partial rows in any order, combined by Acero's hash aggregation."""
    ids = node.out_ids()
    cols = [keys] + [as_arrow(a, node, v, c) for a, v, c in
                     zip(node.aggs, vals, cnts, strict=True)]
    checked = sum_check.checked(node)
    twins = [pa.array(vals[node.aggs.index(a)].astype(np.float64)) for a in checked]
    t = pa.Table.from_arrays(cols + twins,
                             names=ids + [a.id + sum_check.SUFFIX for a in checked])
    out = t.group_by(ids[0], use_threads=False).aggregate(
        [(a.id, COMBINE[a.func]) for a in node.aggs] +
        [(a.id + sum_check.SUFFIX, "sum") for a in checked])
    n = len(node.aggs)
    sum_check.verify(node, {a.id: out.column(1 + k) for k, a in enumerate(node.aggs)},
                     {a.id: out.column(1 + n + k) for k, a in enumerate(checked)})
    return out.select(list(range(1 + n))).rename_columns(ids)  # (the key, the aggregates)


def as_arrow(a: AggCall, node: Aggregate, v: np.ndarray, count: np.ndarray) -> pa.Array:
    """Partial or final values of ``a`` as its SQL type (NULL where no value was counted)."""
    t = dict(node.output)[a.id]
    if a.func in ("count", "count_star"):
        return pa.array(v, pa.int64()).cast(t)
    mask = count == 0
    v = np.where(mask, 0, v)  # (a min or max over NULLs only holds the fill value)
    if pa.types.is_decimal(t):
        words = np.empty((len(v), 2), np.int64)
        words[:, 0] = v
        words[:, 1] = v >> 63
        arr = pa.Array.from_buffers(pa.decimal128(38, t.scale), len(v),
                                    [None, pa.py_buffer(words)])
        arr = arr.cast(t) if t != arr.type else arr
    else:
        arr = pa.array(v, pa.int64()).cast(t)
    if mask.any():
        arr = pc.if_else(pa.array(mask), pa.scalar(None, t), arr)
    return arr
