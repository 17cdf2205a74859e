"""Common table expressions: shared ones (run once per statement, read by every
reference) and recursive ones (iterated over a work table until nothing new appears)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError
from ..optimizer import optimize
from ..plan import RecursiveCTE, Shared, WorkTable
from .core import Executor, Out, operator

MAX_RECURSION = 100_000  # iterations of a recursive CTE before we call it runaway


@operator(Shared)
def run_shared(ex: Executor, node: Shared) -> Out:
    t = ex.shared.get(node.key)
    if t is None:
        if not node.holder.optimized:
            node.holder.plan = optimize(node.holder.plan)
            node.holder.optimized = True
        t = ex.run_separately(node.holder.plan)
        ex.shared[node.key] = t
    return Out(table=pa.Table.from_arrays(t.columns, names=[i for i, _ in node.fields]),
               ordered=False)


@operator(WorkTable)
def run_work_table(ex: Executor, node: WorkTable) -> Out:
    t = ex.work[node.key]
    return Out(table=pa.Table.from_arrays(t.columns, names=[i for i, _ in node.fields]),
               ordered=False)


@operator(RecursiveCTE)
def run_recursive_cte(ex: Executor, node: RecursiveCTE) -> Out:
    ids = node.anchor.out_ids()
    schema = pa.schema([pa.field(i, t) for i, t in node.output])

    def conform(t: pa.Table) -> pa.Table:
        return pa.Table.from_arrays(t.columns, schema=schema) if t.schema == schema \
            else pa.Table.from_arrays([c.cast(f.type) for c, f in zip(t.columns, schema,
                                                                      strict=True)],
                                      schema=schema)

    work = conform(ex.as_table(ex.run(node.anchor)))
    if not node.all:
        work = distinct(work)
    parts = [work]
    seen = work
    saved = ex.work.get(node.key)
    before = ex.cached_keys()
    try:
        for _ in range(MAX_RECURSION):
            if work.num_rows == 0:
                break
            ex.work[node.key] = work
            ex.checkpoint()  # an iteration over in-memory rows has no scan to check
            new = conform(ex.as_table(ex.run(node.step)))
            # what the step computed once (a decorrelated subquery's shared rows, a
            # subquery's value) may read the work table: the next iteration computes it anew
            ex.forget_cached(before)
            if not node.all:
                new = new_rows(distinct(new), seen)
                seen = pa.concat_tables([seen, new])
            parts.append(new)
            work = new
        else:
            raise ExecutionError(f"recursive CTE did not finish after {MAX_RECURSION} "
                                 "iterations")
    finally:
        if saved is None:
            ex.work.pop(node.key, None)
        else:
            ex.work[node.key] = saved
    out = pa.concat_tables(parts).combine_chunks()
    return Out(table=out.rename_columns(ids), ordered=False)


def distinct(t: pa.Table) -> pa.Table:
    """The distinct rows of ``t``."""
    if not t.num_rows:
        return t
    return t.group_by(t.column_names, use_threads=False).aggregate([]).select(t.column_names)


def new_rows(new: pa.Table, seen: pa.Table) -> pa.Table:
    """Rows of ``new`` not in ``seen`` (NULLs equal), both already distinct."""
    if not new.num_rows or not seen.num_rows:
        return new
    names = new.column_names
    both = pa.concat_tables([
        seen.append_column("__m", pa.array(np.zeros(seen.num_rows, dtype=np.int8))),
        new.append_column("__m", pa.array(np.ones(new.num_rows, dtype=np.int8)))])
    g = both.group_by(names, use_threads=False).aggregate([("__m", "min")])
    return g.filter(pc.equal(g.column("__m_min"), 1)).select(names)
