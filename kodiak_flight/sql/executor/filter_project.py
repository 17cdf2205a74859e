"""Filter and projection: an Acero node each, or direct kernel calls on a small table."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.acero as ac

from ..expr import Col, Expr, Lit, and_all, conjuncts, to_arrow
from ..optimizer import estimate
from ..plan import Filter, Project, Scan, SecureFilter
from .core import Executor, Out, is_small, operator, picked
from .int_tests import LEAVES, Test, Tree, compile_test, fits, merged, run_test
from .kernels import chunk, evaluate


@operator(SecureFilter)  # a row-level security policy runs as the filter it is
@operator(Filter)
def run_filter(ex: Executor, node: Filter) -> Out:
    chain, tests, rest = on_scan(node) if ex.merges_filters else ([node], [], [])
    if len(chain) > 1:
        # integer tests stacked on a filter that runs on a scan's batches: all run there,
        # each on the rows the ones below it keep, and the batch's columns are taken once;
        # the other conditions of the filters above run in Acero on the rows kept
        inp = ex.run(chain[0].input)
        if batch_ready(inp):
            assert inp.reader is not None
            conds = [ex.resolve(chain[0].cond), *(ex.resolve(c) for c in tests)]
            out = Out(reader=filtered(inp.reader, conds), ordered=inp.ordered)
            if not rest:
                return out
            cond = to_arrow(ex.resolve(and_all(rest)))
            return ex.pipe(out, ac.Declaration("filter", ac.FilterNodeOptions(cond)))
        for f in chain:
            inp = filter_out(ex, f, inp)
        return inp
    return filter_out(ex, node, ex.run(node.input))


def on_scan(node: Filter) -> tuple[list[Filter], list[Expr], list[Expr]]:
    """The filters from the one right above a scan up to ``node``, lowest first, when the
    lowest runs on the scan's batches and those above hold integer tests; with them the
    conjuncts of those above that are integer tests, and those that are not. Else
    ``([node], [], [])``. The others stay in Acero, whose filter nodes run in parallel,
    after the tests (TPC-H Q12's shipmode on the reading thread, over the 15% its date range
    keeps, took its wall time from about 80 to 100 ms; after its date-to-date comparisons
    too, over 2% of the rows, it is Acero's filter over those rows that is left)."""
    chain = [node]
    while isinstance(chain[-1].input, Filter):
        chain.append(chain[-1].input)
    low = chain[-1]
    if len(chain) == 1 or not isinstance(low.input, Scan) or not (
            low.on_batches or estimate(low) <= KEPT_SHARE * estimate(low.input)):
        return [node], [], []
    tests: list[Expr] = []
    rest: list[Expr] = []
    for f in chain[-2::-1]:  # (lowest first, as the conditions run)
        for c in conjuncts(f.cond):
            (rest if compile_test(c) is None else tests).append(c)
    if not tests:
        return [node], [], []
    return chain[::-1], tests, rest


def batch_ready(inp: Out) -> bool:
    """Whether ``inp`` is a reader a filter can run on batch by batch."""
    return inp.reader is not None and bool(inp.reader.schema.names)


def filter_out(ex: Executor, node: Filter, inp: Out) -> Out:
    """``node``'s filter over its computed input."""
    cond = ex.resolve(node.cond)
    if isinstance(cond, Lit):
        if cond.value:
            return inp
        return Out(table=pa.schema([pa.field(i, t) for i, t in node.output]).empty_table(),
                   ordered=True)
    if inp.table is not None and inp.table.num_columns:
        # rows in memory already (small ones, an aggregate's groups): filtered here, so the
        # rows kept are counted before the joins above are built (``run_join``'s build side)
        return Out(table=inp.table.filter(evaluate(inp.table, cond)), ordered=inp.ordered)
    if batch_ready(inp) and isinstance(node.input, Scan) and \
            (node.on_batches or estimate(node) <= KEPT_SHARE * estimate(node.input)):
        assert inp.reader is not None
        return Out(reader=filtered(inp.reader, [cond]), ordered=inp.ordered)
    return ex.pipe(inp, ac.Declaration("filter", ac.FilterNodeOptions(to_arrow(cond))))


@operator(Project)
def run_project(ex: Executor, node: Project) -> Out:
    return project_out(ex, node, ex.run(node.input))


def project_out(ex: Executor, node: Project, inp: Out) -> Out:
    """``node``'s projection over its computed input."""
    names = [i for i, _ in node.exprs]
    if is_small(inp) and node.exprs:  # (a table without columns would lose its row count)
        t = inp.table
        assert t is not None
        if all(isinstance(e, Col) for _, e in node.exprs):  # chosen and renamed only
            return Out(table=pa.Table.from_arrays([t.column(e.id) for _, e in node.exprs],
                                                  names=names), ordered=inp.ordered)
        cols = [evaluate(t, ex.resolve(e)) for _, e in node.exprs]
        return Out(table=pa.table(cols, names=names), ordered=inp.ordered)
    if inp.reader is not None and node.exprs and all(isinstance(e, Col) for _, e in node.exprs):
        # columns chosen and renamed: the input's batches pass through untouched
        ids = inp.reader.schema.names
        return Out(reader=picked(inp.reader, [ids.index(e.id) for _, e in node.exprs], names),
                   ordered=inp.ordered)
    exprs = [ex.compile(e) for _, e in node.exprs]
    return ex.pipe(inp, ac.Declaration("project", ac.ProjectNodeOptions(exprs, names)))


# A scan's filter expected to keep at most this share of its rows runs on the scan's
# batches (``filtered``); one keeping more stays an Acero filter node
KEPT_SHARE = 0.5


def filtered(r: pa.RecordBatchReader, conds: list[Expr]) -> pa.RecordBatchReader:
    """The rows of ``r``'s batches all of ``conds`` keep, with direct kernel calls per batch,
    on the thread that reads the scan.

    Acero's filter node filters each column in a pass of its own over the mask; a record
    batch's filter turns the mask into indices once and takes every column with them. With
    few rows kept that costs a fraction: TPC-H Q15's date filter on four lineitem columns
    (4% kept) took 72 ms of CPU in Acero and 25 ms here. With most rows kept the two cost
    about the same, and Acero's runs in parallel (``KEPT_SHARE``).

    Each condition runs on the rows those before it keep (``steps``), and the batch's columns
    are taken once at the end: TPC-H Q6 took three decimal columns at the 15% its date range
    keeps, then filtered them again in Acero on its decimal comparisons."""
    plan = steps(conds, r.schema)

    def batches() -> Iterator[pa.RecordBatch]:
        for b in r:
            rows = kept_rows(b, plan)
            if rows is None:
                yield b
            elif len(rows):
                yield b.take(pa.array(rows))
    return pa.RecordBatchReader.from_batches(r.schema, gathered(batches()))


# Acero pulls each batch of a Python reader through a thread hand-off (~65 us a batch
# measured: 101 batches of a filtered lineitem scan cost 6.5 ms more read by Acero than read
# in Python); a filter keeping few rows hands on fewer, larger batches
GATHER_ROWS = 65_536


def gathered(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` with small neighbours joined (a copy of the few rows they hold) until
    ``GATHER_ROWS`` rows or as many batches as the last output joined, doubled: the first
    rows still come after one batch (a LIMIT above stops early), a long scan hands on few.
    A batch of half that many rows or more passes as it is (never copied)."""
    held: list[pa.RecordBatch] = []
    rows, most = 0, 1
    for b in batches:
        if b.num_rows >= GATHER_ROWS // 2:
            if held:
                yield joined(held)
                held, rows = [], 0
            yield b
            continue
        held.append(b)
        rows += b.num_rows
        if rows >= GATHER_ROWS or len(held) >= most:
            yield joined(held)
            held, rows, most = [], 0, min(2 * most, 64)
    if held:
        yield joined(held)


def joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    """One batch of ``batches`` (not copied when it is the only one)."""
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)


Step = Test | Expr


def steps(conds: list[Expr], schema: pa.Schema) -> list[Step]:
    """``conds``' conjuncts in order, runs of them evaluated together, except that the ones
    that are integer tests (``int_tests``) run as one group where the first of them
    stood: they never fail, so running one before a condition it followed changes nothing."""
    tests: list[Test] = []
    out: list[list[Expr] | None] = []  # None: where the tests run
    for c in (c for cond in conds for c in conjuncts(cond)):
        t = compile_test(c)
        if t is not None and fits(t, schema):
            if not tests:
                out.append(None)
            tests.append(t)
        elif out and out[-1] is not None:
            out[-1].append(c)
        else:
            out.append([c])
    done: list[Step] = []
    for group in out:
        if group is None:
            done.extend(merged(tests))
        else:
            done.append(and_all(group))  # type: ignore[arg-type]  # never empty
    return done


# Tests run over a whole batch while it keeps at least 1 / SPARSE of its rows (a pass in
# order over the column), on the kept rows only once fewer are left
SPARSE = 8


def kept_rows(b: pa.RecordBatch, plan: list[Step]) -> np.ndarray | None:
    """The positions of the rows of ``b`` every step keeps (None: all of them)."""
    n = b.num_rows
    mask: np.ndarray | None = None  # the rows kept so far, while many are
    rows: np.ndarray | None = None  # their positions, once few are (or a condition ran)
    for s in plan:
        if isinstance(s, (*LEAVES, Tree)) and rows is None:
            m = run_test(s, b, None)
            mask = m if mask is None else mask & m
        elif isinstance(s, (*LEAVES, Tree)):
            rows = rows[run_test(s, b, rows)]
        else:
            if mask is not None:
                rows, mask = np.flatnonzero(mask), None
            part = b if rows is None or len(rows) == n else \
                b.select(sorted(s.col_ids()) or [0]).take(pa.array(rows))
            found = true_rows(chunk(evaluate(pa.Table.from_batches([part]), s)))
            rows = found if rows is None or len(rows) == n else rows[found]
        if mask is not None and np.count_nonzero(mask) * SPARSE < n:
            rows, mask = np.flatnonzero(mask), None
        if rows is not None and not len(rows):
            return rows
    if mask is not None:
        rows = np.flatnonzero(mask)
    return None if rows is None or len(rows) == n else rows


def true_rows(mask: pa.Array) -> np.ndarray:
    """The positions where a boolean array is true (not false, not NULL)."""
    if mask.null_count == len(mask):
        return np.empty(0, np.int64)

    def bits(buf: pa.Buffer) -> np.ndarray:
        return np.unpackbits(np.frombuffer(buf, np.uint8), count=mask.offset + len(mask),
                             bitorder="little")[mask.offset:].view(bool)
    m = bits(mask.buffers()[1])
    if mask.null_count:
        m = m & bits(mask.buffers()[0])
    return np.flatnonzero(m)
