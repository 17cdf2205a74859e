"""Leaf operators: table scans (with primary-key lookups), file scans and VALUES."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from engine import predicate as P

from ..expr import Col
from ..files import open_reader
from ..optimizer import estimate
from ..plan import FileScan, Node, Project, Scan, Values
from .acero import seq, source_reader
from .core import SMALL_ROWS, Executor, Out, operator, picked, shortcut
from .filter_project import gathered


@shortcut
def point_read(ex: Executor, node: Node) -> pa.Table | None:
    """A projection of plain columns over a scan the engine answers by key or index alone
    (``engine_point``): its rows under the projection's ids from one engine call and one
    table build, no operator in between (a prepared point lookup's whole plan, ~40 µs less
    than scan, rename and project one after the other); rows not stored as the plan's types
    are converted as ``run_scan`` does. None for any other plan."""
    if not isinstance(node, Project) or not isinstance(node.input, Scan) or not node.exprs:
        return None
    scan = node.input
    at = {i: k for k, (_, i, _) in enumerate(scan.columns)}
    picks = [at.get(e.id) if isinstance(e, Col) else None for _, e in node.exprs]
    if None in picks:
        return None
    t = engine_point(ex, scan)
    if t is None:
        return None
    if t.schema.types != [ty for _, _, ty in scan.columns]:
        t = scan_table(scan, t)  # (view types as the plan's; the columns stay in order)
    return pa.Table.from_arrays([t.column(k) for k in picks], names=[i for i, _ in node.exprs])


def engine_point(ex: Executor, node: Scan) -> pa.Table | None:
    """The scan's rows (source names) when a primary-key lookup (``point_lookup``, the
    whole predicate) or a secondary index alone (``index_point``) answers it, else None."""
    src_cols = [s for s, _, _ in node.columns]
    if isinstance(node.predicate, (P.Compare, P.In)) and \
            (point := point_lookup(node)) is not None:
        # a handful of rows found through the primary key: no Acero plan for them
        return ex.snap.lookup(node.table, point, columns=src_cols)
    if index_point(node):
        # the rows of a few values of an indexed column: the index finds them, read at once
        # (no estimate, no reader to wrap; one row sliced from its batch); None when the
        # index does not decide it alone (a float, a date)
        return ex.snap.index_rows(node.table, node.predicate, src_cols)
    return None


@operator(Scan)
def run_scan(ex: Executor, node: Scan) -> Out:
    src_cols = [s for s, _, _ in node.columns]
    t = engine_point(ex, node)
    if t is None and (point_lookup(node) is not None or index_point(node)):
        t = ex.snap.scan(node.table, columns=src_cols, predicate=node.predicate).read_all()
    if t is not None:
        return Out(table=scan_table(node, t))
    reader = ex.snap.scan(node.table, columns=src_cols, predicate=node.predicate,
                          stored_types=read_stored(node))
    if few_rows(node):
        # a key range expected to hold a few rows: read them here (stopping if there are
        # more after all) so the operators above can skip Acero too
        batches, rows = [], 0
        for b in reader:
            batches.append(b)
            rows += b.num_rows
            if rows > 4 * SMALL_ROWS:
                reader = pa.RecordBatchReader.from_batches(
                    reader.schema, itertools.chain(batches, reader))
                break
        else:
            return Out(table=scan_table(node, pa.Table.from_batches(batches, reader.schema)))
    rschema = reader.schema
    if node.predicate is not None:
        # the engine's filtering leaves small batches (AdvEngineID <> 0: 76 of ~2 K rows at
        # 5 M rows), and Acero pulls each through a thread hand-off: joined as a filter's are
        reader = pa.RecordBatchReader.from_batches(rschema, gathered(iter(reader)))
    if ex.interrupt is not None:
        reader = ex.interrupt.guard(reader)
    if all(rschema.field(k).type == t for k, (_, _, t) in enumerate(node.columns)):
        # stored as declared: the engine's batches go on as they are (zero copy), into Acero
        # only if an operator above needs it
        return Out(reader=picked(reader, list(range(len(node.columns))),
                                 [i for _, i, _ in node.columns]))
    if all(narrowing(rschema.field(k).type, t) for k, (_, _, t) in enumerate(node.columns)):
        # large strings as the plan's strings: a cast of the offsets per batch, cheaper than
        # an Acero projection (and a filter above can stay out of Acero too)
        return Out(reader=cast_batches(reader, pa.schema(
            [pa.field(i, t) for _, i, t in node.columns])))
    exprs, names = [], []
    for s, i, t in node.columns:
        f = pc.field(s)
        if rschema.field(s).type != t:
            f = f.cast(t)
        exprs.append(f)
        names.append(i)
    # Every scan streams, several in one plan included: Acero pulls the engine's readers
    # from its own threads (tests/test_engine.py test_two_readers_under_acero).
    return Out(decl=seq(source_reader(reader), ac.Declaration(
        "project", ac.ProjectNodeOptions(exprs, names))))


@operator(FileScan)
def run_file_scan(ex: Executor, node: FileScan) -> Out:
    reader = open_reader(node.path, node.format, node.options,
                         columns=[s for s, _, _ in node.columns])
    if ex.interrupt is not None:
        reader = ex.interrupt.guard(reader)
    exprs = []
    for s, _, t in node.columns:
        f = pc.field(s)
        exprs.append(f.cast(t) if reader.schema.field(s).type != t else f)
    return Out(decl=seq(source_reader(reader), ac.Declaration(
        "project", ac.ProjectNodeOptions(exprs, [i for _, i, _ in node.columns]))))


@operator(Values)
def run_values(ex: Executor, node: Values) -> Out:
    return Out(table=node.table, ordered=True)


def narrowing(src: pa.DataType, dst: pa.DataType) -> bool:
    """Whether a cast from ``src`` to ``dst`` only narrows offsets (or is none)."""
    return src == dst or (pa.types.is_large_string(src) and pa.types.is_string(dst)) or \
        (pa.types.is_large_binary(src) and pa.types.is_binary(dst))


def cast_batches(r: pa.RecordBatchReader, schema: pa.Schema) -> pa.RecordBatchReader:
    """``r``'s batches cast to ``schema`` (its names given by position), one by one."""
    def batches() -> Iterator[pa.RecordBatch]:
        for b in r:
            yield pa.RecordBatch.from_arrays(
                [c if c.type == f.type else c.cast(f.type) for c, f in zip(b.columns, schema,
                                                                           strict=True)],
                schema=schema)
    return pa.RecordBatchReader.from_batches(schema, batches())


def read_stored(node: Scan) -> bool:
    """Whether to read the scan's view columns as the engine stores them (``large_string``,
    ``large_binary``): the plan computes them as ``string`` (``types.normalize``), and from
    ``large_string`` that cast only narrows the offsets, where from ``string_view`` it copies
    every value after the engine made the views (TPC-H Q1's two flag columns: about 120 ms
    of CPU at SF1). Not when a view sits inside a nested column, which the plan keeps."""
    raw = [node.raw_types.get(s) for s, _, _ in node.columns]
    flat = [t for t in raw if t is not None and
            (pa.types.is_string_view(t) or pa.types.is_binary_view(t))]
    return bool(flat) and not any(t is not None and pa.types.is_nested(t) for t in raw)


def scan_table(node: Scan, t: pa.Table) -> pa.Table:
    """Scanned rows under the plan's column ids and types (every field nullable, no
    metadata, as the plan's own columns)."""
    ids = [i for _, i, _ in node.columns]
    if t.column_names == [s for s, _, _ in node.columns] and \
            t.schema.types == [ty for _, _, ty in node.columns]:
        return pa.Table.from_arrays(t.columns, names=ids)  # as read: one call, no per-column work
    schema = t.schema
    cols = [t.column(s) if schema.field(s).type == ty else t.column(s).cast(ty)
            for s, _, ty in node.columns]
    return pa.table(cols, names=ids)


def few_rows(node: Scan) -> bool:
    """A key or index predicate the optimiser expects to leave at most ``SMALL_ROWS`` rows."""
    p = node.predicate
    return isinstance(p, P.Predicate) and bool(p.columns() & node.keyed) and \
        estimate(node) <= SMALL_ROWS


def index_point(node: Scan) -> bool:
    """Whether the scan's whole predicate is ``column = v`` or a short ``column IN (...)`` on
    the first column of a secondary index (the engine probes the index for it)."""
    p = node.predicate
    if isinstance(p, P.Compare):
        pinned = p.op == "=="
    else:
        pinned = isinstance(p, P.In) and len(p.values) <= SMALL_ROWS
    return pinned and p.column in node.keyed and list(node.primary_key[:1]) != [p.column]


def point_lookup(node: Scan) -> list | None:
    """The keys, when the engine answers the scan by probing its primary key for a few."""
    p = node.predicate
    key = node.primary_key
    if p is None or len(key) != 1:
        return None
    for q in p.parts if isinstance(p, P.And) else (p,):
        if isinstance(q, P.Compare) and q.op == "==" and q.column == key[0]:
            return [q.value]
        if isinstance(q, P.In) and q.column == key[0] and len(q.values) <= SMALL_ROWS:
            return list(q.values)
    return None


def scan_below(node: Node, ids: list[str]) -> tuple[Scan, dict[str, str], list[Project]] | None:
    """The table scan under ``node`` through projections that only pick or rename columns:
    the scan, the source column each of ``ids`` (columns of ``node``'s output) reads, and
    the projections passed, top first. None when another operator stands between, or an id
    is not a column the scan reads."""
    chain: list[Project] = []
    at = {i: i for i in ids}
    while isinstance(node, Project) and all(isinstance(e, Col) for _, e in node.exprs):
        below = {i: e.id for i, e in node.exprs}  # type: ignore[union-attr]
        if any(i not in below for i in at.values()):
            return None
        at = {k: below[i] for k, i in at.items()}
        chain.append(node)
        node = node.input
    if type(node) is not Scan:
        return None
    source = {i: s for s, i, _ in node.columns}
    if any(i not in source for i in at.values()):
        return None
    return node, {k: source[i] for k, i in at.items()}, chain
