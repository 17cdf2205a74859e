"""ORDER BY (on a whole table) and LIMIT/OFFSET (sliced, or cut from a stream)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine import predicate as P

from ..expr import Col, Expr, Lit
from ..plan import Filter, Limit, Node, Project, Scan, Sort, SortKey
from .core import Executor, Out, operator
from .filter_project import batch_ready, filter_out, filtered, kept_rows, project_out, steps
from .kernels import evaluate_compiled, zero
from .radix import sort_order
from .scan import scan_below

# A LIMIT over an ORDER BY keeps at most this many candidate rows instead of sorting all.
TOP_N_MAX = 100_000
TOP_N_BUFFER = 262_144  # rows buffered before the candidates are cut back to n
# A sort of more rows than this (with an interrupt to check) runs one range at a time.
SORT_RANGE_ROWS = 262_144


# A LIMIT of at most this many rows over a filtered scan filters the scan's first
# FIRST_SCAN rows a slice at a time (``first_rows``), from FIRST_SLICE rows, doubling.
FIRST_ROWS_MAX = 4096
FIRST_SLICE = 2048
FIRST_SCAN = 65_536  # past these rows, the rest in parallel (Acero) as without the LIMIT


@operator(Limit)
def run_limit(ex: Executor, node: Limit) -> Out:
    if isinstance(node.input, Sort) and node.limit is not None \
            and node.offset + node.limit <= TOP_N_MAX:
        t = top_n(ex, node.input, node.offset + node.limit)
        return Out(table=t.slice(node.offset, node.limit), ordered=True)
    inp = limited_filter(ex, node)
    if inp is None:
        inp = ex.run(node.input)
    if inp.table is not None:
        t = inp.table.slice(node.offset, node.limit) if node.limit is not None \
            else inp.table.slice(node.offset)
        return Out(table=t, ordered=True)
    r = ex.as_reader(inp)
    gen = limit_batches(r, node.offset, node.limit)
    return Out(reader=pa.RecordBatchReader.from_batches(r.schema, gen), ordered=inp.ordered)


@operator(Sort)
def run_sort(ex: Executor, node: Sort) -> Out:
    return Out(table=sort_table(ex, ex.as_table(ex.run(node.input)), node.keys), ordered=True)


def sort_table(ex: Executor, t: pa.Table, sort_keys: list[SortKey]) -> pa.Table:
    """``t`` in the order of ``sort_keys`` (stable; NULLs placed as each key says)."""
    if not t.num_rows:
        return t
    tmp, keys = with_keys(ex, t, sort_keys)
    return t.take(sort_indices(ex, tmp, keys))


def top_rows(ex: Executor, t: pa.Table, sort_keys: list[SortKey], n: int) -> pa.Table:
    """``sort_table(ex, t, sort_keys).slice(0, n)``, by selecting ``n`` rows instead of
    sorting all (Arrow's ``select_k_unstable``; TPC-H Q3's 10 of 11.6 K groups: 0.15 ms
    against 1.3). The row's position is the selection's last key, so the rows chosen among
    ties, and their order, are the stable sort's. Floating keys (whose NaNs the two kernels
    place differently) and types the selection lacks are sorted whole."""
    if n >= t.num_rows:
        return sort_table(ex, t, sort_keys)
    tmp, keys = with_keys(ex, t, sort_keys)
    if len(keys) == 1 and (chosen := first_by_one_key(tmp.column(keys[0][0]), n,
                                                      keys[0][1] == "descending")) is not None:
        return t.take(chosen)
    if any(pa.types.is_floating(tmp.column(k).type) or not selectable(tmp.column(k).type)
           for k, _ in keys):
        return t.take(sort_indices(ex, tmp, keys)).slice(0, n)
    keys = [*keys, ("__pos", "ascending")]
    tmp = tmp.append_column("__pos", pa.array(np.arange(t.num_rows, dtype=np.int64)))
    try:
        chosen = pc.select_k_unstable(tmp, k=n, sort_keys=keys)
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return t.take(sort_indices(ex, tmp, keys)).slice(0, n)
    return t.take(chosen.take(pc.sort_indices(tmp.take(chosen), sort_keys=keys)))


def selectable(t: pa.DataType) -> bool:
    """Whether Arrow's ``select_k_unstable`` takes keys of type ``t``: for any other type
    (views, dictionaries, half floats, intervals, nested types) pyarrow 26 crashes the
    process instead of raising."""
    return pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_float32(t) or \
        pa.types.is_float64(t) or pa.types.is_decimal(t) or pa.types.is_string(t) or \
        pa.types.is_large_string(t) or pa.types.is_binary(t) or \
        pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t) or \
        pa.types.is_temporal(t) and not pa.types.is_interval(t) or pa.types.is_null(t)


def first_by_one_key(col: pa.ChunkedArray, n: int, desc: bool) -> np.ndarray | None:
    """The positions of the first ``n`` rows by one integer or temporal key without NULLs,
    in order, ties by position (the stable sort's): the rows on the right side of the
    ``n``-th value (``np.partition``), then those few sorted. Arrow's selection keeps a heap
    whose every replacement compares both keys (the value, then the position): a
    descending top 20 of an ascending column replaced it at every row (30 ms on 300 K
    rows, 1.5 here). None for any other column."""
    if n < 1:
        return np.empty(0, np.int64)
    v = key_values(col)
    if v is None:
        return None
    cut = nth_value(v, n, desc)
    if desc:
        better = np.flatnonzero(v > cut)
        better = better[np.argsort(~v[better], kind="stable")]  # (~x: descending, no overflow)
    else:
        better = np.flatnonzero(v < cut)
        better = better[np.argsort(v[better], kind="stable")]
    # the rows tying the n-th value follow in their own order, as many as are wanted: a
    # top 10,010 of group counts mostly 1 sorted 50 K tied rows (ClickBench Q41)
    ties = np.flatnonzero(v == cut)[:n - len(better)]
    return np.concatenate([better, ties])


def nth_value(v: np.ndarray, n: int, desc: bool) -> Any:
    """The ``n``-th value of ``v`` in ascending (or descending) order, ``1 <= n <= len(v)``.
    Values spanning a short range (group counts) are counted (``np.bincount``):
    ``np.partition`` slows down on many equal values (4 ms for the 10,010th of 50 K
    counts, mostly 1)."""
    lo, hi = int(v.min()), int(v.max())
    if hi - lo < 4 * len(v):
        # the offsets from the least value, in a type that holds them (int8 - -57 wraps)
        offsets = (v - v.dtype.type(lo)) if v.dtype == np.uint64 else v.astype(np.int64) - lo
        counts = np.bincount(offsets.astype(np.intp), minlength=hi - lo + 1)
        if desc:
            return type(v[0])(hi - int(np.searchsorted(np.cumsum(counts[::-1]), n)))
        return type(v[0])(lo + int(np.searchsorted(np.cumsum(counts), n)))
    k = len(v) - n if desc else n - 1
    return np.partition(v, k)[k]


def key_values(col: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """An integer or temporal key without NULLs as numpy integers (dates and times as their
    integers: numpy partitions datetime64 ten times slower); None for any other."""
    t = col.type
    if col.null_count or not (pa.types.is_integer(t) or pa.types.is_temporal(t)) or \
            pa.types.is_interval(t):
        return None
    if isinstance(col, pa.ChunkedArray):
        if col.num_chunks != 1:
            return None
        col = col.chunk(0)
    if not pa.types.is_integer(t):
        col = col.view(pa.int32() if t.bit_width == 32 else pa.int64())
    return col.to_numpy()


def with_keys(ex: Executor, t: pa.Table, sort_keys: list[SortKey]
              ) -> tuple[pa.Table, list[tuple[str, str]]]:
    """``t`` with the columns its sort needs added (computed keys, NULL indicators), and the
    (column, order) keys to sort it by."""
    keys, extra = [], {}
    for n, k in enumerate(sort_keys):
        if isinstance(k.expr, Col):
            arr = t.column(k.expr.id)
            name = k.expr.id
        else:
            arr = evaluate_compiled(t, ex.compile(k.expr))
            name = f"__s{n}"
            extra[name] = arr
        if arr.null_count:
            nulls = pc.is_null(arr)
            extra[f"__n{n}"] = pc.invert(nulls) if k.nulls_first else nulls
            keys.append((f"__n{n}", "ascending"))
        if k.desc and pa.types.is_floating(arr.type) and \
                pc.any(nan := pc.fill_null(pc.is_nan(arr), False)).as_py():
            # NaN is the greatest double (as in DuckDB and PostgreSQL), first when
            # descending: Arrow places NaN at the end in either direction
            extra[f"__x{n}"] = pc.invert(nan)
            keys.append((f"__x{n}", "ascending"))
        keys.append((name, "descending" if k.desc else "ascending"))
    tmp = t
    for name, arr in extra.items():
        tmp = tmp.append_column(name, arr)
    return tmp, keys


def sort_indices(ex: Executor, t: pa.Table, keys: list[tuple[str, str]]) -> pa.Array:
    """``pc.sort_indices(t, keys)``; a large input with an interrupt to check is sorted in
    ranges of its first key, one ``sort_indices`` call per range and a check between them,
    so a cancelled sort stops within one range's sort instead of after the whole one. Keys
    that pack into one integer sort by radix passes instead (``radix.sort_order``)."""
    n = t.num_rows
    fast = sort_order(t, keys, ex.checkpoint)
    if fast is not None:
        return fast
    if ex.interrupt is None or n <= SORT_RANGE_ROWS:
        return pc.sort_indices(t, sort_keys=keys)
    first, order = keys[0]
    col = t.column(first)
    ranges = -(-n // SORT_RANGE_ROWS)
    try:
        bucket = range_of(col, ranges, n)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return pc.sort_indices(t, sort_keys=keys)  # a type without an order to compare
    if bucket is None:
        return pc.sort_indices(t, sort_keys=keys)
    parts = []
    for b in (range(ranges) if order == "ascending" else range(ranges - 1, -1, -1)):
        ex.checkpoint()
        idx = pc.indices_nonzero(pc.equal(bucket, b))
        if len(idx):
            parts.append(idx.take(pc.sort_indices(t.take(idx), sort_keys=keys)))
    ex.checkpoint()
    return pa.concat_arrays(parts) if parts else pa.array([], pa.uint64())


def range_of(col: pa.ChunkedArray, ranges: int, n: int) -> pa.Array | None:
    """For each value of ``col`` (no NULLs), which of about ``ranges`` ranges of values it
    falls in (how many sampled boundaries are below it: equal values share a range); None
    when ``col`` has NULLs or too few distinct values to split."""
    if col.null_count or pa.types.is_floating(col.type):
        return None  # (NaN sorts after every number but compares below none)
    arr = col.combine_chunks()
    step = max(1, n // (ranges * 64))
    sample = pc.unique(arr.take(pa.array(range(0, n, step))))
    sample = sample.take(pc.sort_indices(sample))
    if len(sample) < 2:
        return None
    bounds = [sample[(i * len(sample)) // ranges] for i in range(1, ranges)]
    bucket = pa.repeat(pa.scalar(0, pa.int32()), n)
    for bound in dict.fromkeys(bounds):  # equal bounds once each
        bucket = pc.add(bucket, pc.cast(pc.less(bound, arr), pa.int32()))
    return bucket


def top_n(ex: Executor, node: Sort, n: int) -> pa.Table:
    """The first ``n`` rows of ``node``'s order, keeping only a bounded buffer of candidates
    while its input streams by (a top-N sort: memory follows ``n``, not the input, and a
    cancelled or overdue query stops between batches instead of after a full sort)."""
    cut = Cut(node.keys, n)
    bounded = narrowed(ex, node, n)
    r = cut_first(ex, node, cut) if bounded is None else None
    if r is None:
        r = ex.as_reader(ex.run(bounded or node.input))
    limit = max(4 * n, TOP_N_BUFFER)
    kept: list[pa.Table] = []
    held = 0
    in_order = False  # ``kept`` is one table: the first rows of what came, in order
    try:
        for b in r:
            ex.checkpoint()  # a join feeding it runs on after its scans' last check
            t = cut.passed(pa.Table.from_batches([b]))
            if t is None:
                continue
            reduced = t.num_rows > 4 * n
            if reduced:
                # a large batch's own first n rows, taken from it alone: rows taken from
                # many batches at once are taken after their columns are concatenated
                # (ORDER BY o_orderkey LIMIT 20 over orders copied every comment)
                t = top_rows(ex, t, node.keys, n)
            kept.append(t)
            held += t.num_rows
            in_order = reduced and len(kept) == 1
            if in_order:
                cut.learn(t)
            elif held >= limit or (cut.usable and (held > 4 * n or
                                                   (cut.value is None and held >= n))):
                kept = [top_rows(ex, pa.concat_tables(kept), node.keys, n)]
                held, in_order = kept[0].num_rows, True
                cut.learn(kept[0])
    finally:
        r.close()
    if not kept:
        return r.schema.empty_table()
    if in_order:
        return kept[0].combine_chunks()
    return top_rows(ex, pa.concat_tables(kept), node.keys, n).combine_chunks()


IDLE_CUTS = 2  # batches in a row a cut keeps most of, after which it is no longer tried


def cut_first(ex: Executor, node: Sort, cut: Cut) -> pa.RecordBatchReader | None:
    """The sort's input when it is filters on a scan's batches (under projections of
    columns), each scan batch cut by the top-N's running cut before the filters run: a row
    the cut drops can never be among the first ``n``, so the filters (a LIKE over URLs)
    and the take of every column see only the rows that still can (ClickBench Q23:
    ``SELECT * ... WHERE URL LIKE '%google%' ORDER BY EventTime LIMIT 10``). A cut that
    keeps most of ``IDLE_CUTS`` batches in a row is dropped (top-N's own cut, after the
    filters, still applies). None for any other input, and in EXPLAIN ANALYZE (which counts
    each operator's rows)."""
    found = filtered_scan(node.input, node.keys[0].expr.id) if cut.usable and \
        isinstance(node.keys[0].expr, Col) and ex.merges_filters else None
    if found is None:
        return None
    chain, filters, scan, kid = found
    conds = [ex.resolve(f.cond) for f in filters]
    if any(isinstance(c, Lit) for c in conds):
        return None
    inp = ex.run(scan)
    if not batch_ready(inp):
        return None
    assert inp.reader is not None

    def batches() -> Iterator[pa.RecordBatch]:
        idle = 0  # batches in a row the cut kept most of
        for b in inp.reader:
            if idle >= IDLE_CUTS:  # (values the filters drop sort first: ORDER BY phrase
                yield b  # WHERE phrase <> '' keeps every '' past the cut), left to them
                continue
            t = cut.passed(pa.Table.from_batches([b]), kid)
            if t is None:
                continue
            idle = idle + 1 if cut.value is not None and 2 * t.num_rows > b.num_rows else 0
            yield from t.to_batches()

    pre = pa.RecordBatchReader.from_batches(inp.reader.schema, batches())
    out = Out(reader=filtered(pre, conds), ordered=inp.ordered)
    for proj in reversed(chain):
        out = project_out(ex, proj, out)
    return ex.as_reader(out)


def filtered_scan(node: Node, kid: str) -> tuple[list[Project], list[Filter], Scan, str] | None:
    """Projections of plain columns (top first), the filters stacked on a scan (top first)
    and the scan under ``node``, with the scan's id for ``kid``; None for any other shape."""
    chain: list[Project] = []
    while isinstance(node, Project) and all(isinstance(e, Col) for _, e in node.exprs):
        e = dict(node.exprs).get(kid)
        if not isinstance(e, Col):
            return None
        kid = e.id
        chain.append(node)
        node = node.input
    filters: list[Filter] = []
    while type(node) is Filter:
        filters.append(node)
        node = node.input
    if not filters or type(node) is not Scan or kid not in {i for _, i, _ in node.columns}:
        return None
    return chain, filters, node, kid


def narrowed(ex: Executor, node: Sort, n: int) -> Node | None:
    """The sort's input bounded (None: as planned) when it reads a table (under projections
    of columns) sorted by one of its integer, date or decimal columns, NULLs last: only the
    rows at least as far up the order as a value ``n`` rows reach by the batches' statistics
    (``Snapshot.reached_by``): the scan skips every batch that cannot hold one of the first
    ``n``. ``order by id desc limit 20`` over a table stored in id order reads its last
    batch, not all of them."""
    key = node.keys[0] if len(node.keys) == 1 else None
    if key is None or key.nulls_first or not isinstance(key.expr, Col) or n < 1:
        return None
    t = key.expr.type
    found = scan_below(node.input, [key.expr.id]) if pa.types.is_integer(t) or \
        pa.types.is_date(t) or pa.types.is_decimal(t) else None
    if found is None:
        return None
    src, columns, chain = found
    column = columns[key.expr.id]
    edge = ex.snap.reached_by(src.table, column, n, key.desc)
    if edge is None:
        return None
    bound = P.Compare(column, ">=" if key.desc else "<=", edge)
    out: Node = dataclasses.replace(src, predicate=bound if src.predicate is None else
                                    P.And((src.predicate, bound)))
    for proj in reversed(chain):
        out = dataclasses.replace(proj, input=out)
    return out


class Cut:
    """For a top ``n`` whose first key is a plain column: that key's value in the ``n``-th
    of the candidates kept so far, once there are ``n``; a later row can only be among the
    first ``n`` if its value is strictly better (one key: ties go to the rows that came
    first), or at least as good (more keys: a tie on the first may win on the next).
    Checking that first leaves most batches with no row to take (a page at offset 10,000 of
    1.5 M orders by key took 10,020 rows from every batch; ClickBench's ``order by
    EventTime, SearchPhrase limit 10`` sorted every batch by both). Integer and temporal
    keys compare as numpy integers; string keys with NULLs last by Arrow's comparison
    (``order by o_clerk limit 20`` selected from every batch whole)."""

    def __init__(self, keys: list[SortKey], n: int) -> None:
        k = keys[0] if keys else None
        self.column = k.expr.id if k is not None and isinstance(k.expr, Col) else None
        self.desc = bool(k is not None and k.desc)
        self.ties = len(keys) > 1  # a tie on the first key may still win
        self.nulls_first = bool(k is not None and k.nulls_first)
        self.texts = k is not None and not k.nulls_first and (
            pa.types.is_string(k.expr.type) or pa.types.is_large_string(k.expr.type))
        self.n = n
        self.value: Any = None

    @property
    def usable(self) -> bool:
        return self.column is not None

    def learn(self, kept: pa.Table) -> None:
        """Note the ``n``-th value of ``kept`` (the first ``n`` rows, in order)."""
        if self.column is not None and kept.num_rows == self.n and self.n:
            col = kept.column(self.column).combine_chunks()
            v = key_values(col)
            if v is not None:
                self.value = v[-1]
            elif self.texts and col[-1].is_valid:
                self.value = col[-1]  # (a NULL n-th value: NULLs last, nothing cut yet)
            else:
                self.value = None

    def passed(self, t: pa.Table, column: str | None = None) -> pa.Table | None:
        """The rows of ``t`` that may still be among the first ``n`` (the key read from
        ``column`` when given: the scan's id for it); None if none."""
        if self.value is None or self.column is None:
            return t
        column = column or self.column
        if isinstance(self.value, pa.Scalar):
            better = {(True, False): pc.greater, (False, False): pc.less,
                      (True, True): pc.greater_equal, (False, True): pc.less_equal}[
                          (self.desc, self.ties)]
            kept = t.filter(better(t.column(column), self.value))  # (NULLs dropped)
            return kept if kept.num_rows else None
        col = t.column(column)
        v = key_values(col.fill_null(zero(col.type)) if col.null_count else col)
        if v is None:
            return t
        if self.ties:
            keep = v >= self.value if self.desc else v <= self.value
        else:
            keep = v > self.value if self.desc else v < self.value
        if col.null_count:  # a NULL is past every value, or (NULLS FIRST) before them all
            valid = np.asarray(col.is_valid())
            keep = keep | ~valid if self.nulls_first else keep & valid
        rows = np.flatnonzero(keep)
        if not len(rows):
            return None
        return t if len(rows) == len(v) else t.take(pa.array(rows))


def limited_filter(ex: Executor, node: Limit) -> Out | None:
    """The input of a short LIMIT that is a filter on a scan (under a projection, maybe),
    computed only as far as the LIMIT reads: an Acero filter node runs ahead over every
    batch the scan gives it before the LIMIT has closed its reader (``... where o_totalprice
    > 100000 limit 10`` filtered all of orders), and a whole 64 K-row batch is more than a
    LIMIT 10 needs of a LIKE that keeps one row in ten. None for any other plan."""
    proj = node.input if isinstance(node.input, Project) else None
    filt = proj.input if proj is not None else node.input
    if node.limit is None or node.offset + node.limit > FIRST_ROWS_MAX or \
            type(filt) is not Filter or not isinstance(filt.input, Scan) or \
            not ex.merges_filters:  # (EXPLAIN ANALYZE counts each operator's rows)
        return None
    inp = ex.run(filt.input)
    cond = ex.resolve(filt.cond)
    if batch_ready(inp) and not isinstance(cond, Lit):
        assert inp.reader is not None
        rest = Rest(ex, filt, inp.reader.schema)
        out = Out(reader=first_rows(inp.reader, cond, node.offset + node.limit, rest),
                  ordered=inp.ordered)
    else:
        out = filter_out(ex, filt, inp)
    return project_out(ex, proj, out) if proj is not None else out


class Rest:
    """The filter's usual path (Acero's filter node, in parallel) over what is left of a
    scan once ``first_rows`` has filtered ``FIRST_SCAN`` rows without finding enough."""

    def __init__(self, ex: Executor, node: Filter, schema: pa.Schema) -> None:
        self.ex, self.node, self.schema = ex, node, schema

    def filtered(self, batches: Iterator[pa.RecordBatch]) -> pa.RecordBatchReader:
        reader = pa.RecordBatchReader.from_batches(self.schema, batches)
        return self.ex.as_reader(filter_out(self.ex, self.node, Out(reader=reader)))


def first_rows(r: pa.RecordBatchReader, cond: Expr, n: int, rest: Rest
               ) -> pa.RecordBatchReader:
    """The first ``n`` rows of ``r`` that ``cond`` keeps: its first ``FIRST_SCAN`` rows
    filtered a slice at a time (``FIRST_SLICE`` rows, then twice as many each time), only
    the rows still wanted taken; past them, when matches are rare, the rest through
    ``rest``. ``r`` is closed once the rows are found."""
    plan = steps([cond], r.schema)

    def batches() -> Iterator[pa.RecordBatch]:
        left, size, seen = n, FIRST_SLICE, 0
        it = iter(r)
        try:
            for b in it:
                start = 0
                while start < b.num_rows and seen < FIRST_SCAN:
                    piece = b.slice(start, size)
                    start, size, seen = start + size, 2 * size, seen + piece.num_rows
                    rows = kept_rows(piece, plan)
                    got = piece.slice(0, left) if rows is None else \
                        piece.take(pa.array(rows[:left]))
                    if got.num_rows:
                        yield got
                        left -= got.num_rows
                        if left <= 0:
                            return
                if seen >= FIRST_SCAN:
                    tail = [b.slice(start)] if start < b.num_rows else []
                    yield from limit_batches(rest.filtered(itertools.chain(tail, it)), 0, left)
                    return
        finally:
            r.close()
    return pa.RecordBatchReader.from_batches(r.schema, batches())


def limit_batches(r: pa.RecordBatchReader, offset: int, limit: int | None
                  ) -> Iterator[pa.RecordBatch]:
    """The batches of ``r`` after ``offset`` rows, up to ``limit`` rows; closes ``r``."""
    skip, left = offset, limit
    try:
        for b in r:
            if skip:
                if b.num_rows <= skip:
                    skip -= b.num_rows
                    continue
                b = b.slice(skip)
                skip = 0
            if left is not None:
                if left <= 0:
                    break
                b = b.slice(0, left)
                left -= b.num_rows
            yield b
            if left is not None and left <= 0:
                break
    finally:
        r.close()
