"""UNION, INTERSECT and EXCEPT, with and without ALL (NULLs compare equal, as in
DISTINCT)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from ..plan import SetOp
from .acero import seq, union
from .core import Executor, Out, operator
from .kernels import unsigned_columns, unsigned_zero, zero


@operator(SetOp)
def run_setop(ex: Executor, node: SetOp) -> Out:
    left, right = ex.run(node.left), ex.run(node.right)
    ids = node.left.out_ids()
    # compared as keys (all but UNION ALL): -0.0 as 0.0, one value in SQL, two to a hash
    floats = set() if node.kind == "union" and node.all else \
        {n for n, (_, t) in enumerate(node.output) if pa.types.is_floating(t)}
    if node.kind == "union" and node.all:
        return _concatenated(ex, left, right, ids)
    if node.kind == "union":
        u = union(as_nullable(ex.as_decl(left), ids, floats),
                  as_nullable(ex.as_decl(right), node.right.out_ids(), floats))
        if node.all:
            return Out(decl=u)
        return Out(decl=seq(u, ac.Declaration("aggregate", ac.AggregateNodeOptions(
            [], keys=ids))))
    if node.all:
        return Out(table=multiset(unsigned(ex.as_table(left), floats),
                                  unsigned(ex.as_table(right), floats), ids,
                                  node.kind == "intersect"))
    return Out(decl=distinct_semi_join(ex, node, Out(decl=as_nullable(
        ex.as_decl(left), ids, floats)), Out(decl=as_nullable(
            ex.as_decl(right), node.right.out_ids(), floats))))


def _concatenated(ex: Executor, left: Out, right: Out, ids: list[str]) -> Out:
    """UNION ALL: the left rows, then the right ones, as every other database gives them
    (Acero's union node interleaves its inputs in whatever order they finish)."""
    first, second = ex.as_reader(left), ex.as_reader(right)
    schema = pa.schema([pa.field(i, f.type) for i, f in zip(ids, first.schema, strict=True)])

    def batches() -> Iterator[pa.RecordBatch]:
        for reader in (first, second):
            for b in reader:
                cols = [c if c.type == f.type else c.cast(f.type)
                        for c, f in zip(b.columns, schema, strict=True)]
                yield pa.RecordBatch.from_arrays(cols, schema=schema)
    reader = pa.RecordBatchReader.from_batches(schema, batches())
    if left.table is not None and right.table is not None:
        return Out(table=reader.read_all(), ordered=left.ordered and right.ordered)
    return Out(reader=reader)


def unsigned(t: pa.Table, floats: set[int]) -> pa.Table:
    """``t`` with its columns at positions ``floats`` holding 0.0 for -0.0."""
    return unsigned_columns(t, [t.column_names[n] for n in floats])


def as_nullable(decl: ac.Declaration, ids: list[str], floats: set[int] | None = None
                ) -> ac.Declaration:
    """``decl``'s columns, every one nullable: Acero's union refuses inputs whose schemas
    differ in nullability alone (a primary key's column is NOT NULL, another table's is
    not), and a projection of plain columns (zero copy) declares them all nullable. The
    columns at positions ``floats`` hold 0.0 for -0.0 (``kernels.unsigned_zero``)."""
    floats = floats or set()
    return seq(decl, ac.Declaration("project", ac.ProjectNodeOptions(
        [pc.field(i) if n not in floats else unsigned_zero(pc.field(i))
         for n, i in enumerate(ids)], ids)))


def distinct_semi_join(ex: Executor, node: SetOp, left: Out, right: Out) -> ac.Declaration:
    """INTERSECT / EXCEPT: the distinct left rows with / without a match on the right, as
    a semi / anti hash join on (is-null flag, value) pairs so that NULLs match."""
    ids = node.left.out_ids()
    ldist = seq(ex.as_decl(left),
                ac.Declaration("aggregate", ac.AggregateNodeOptions([], keys=ids)))
    types = dict(node.output)
    lexprs, rexprs, lnames, rnames = [], [], [], []
    for n, (li, ri) in enumerate(zip(ids, node.right.out_ids(), strict=True)):
        z = zero(types[li])
        for side, i, exprs, names in (("l", li, lexprs, lnames), ("r", ri, rexprs, rnames)):
            exprs.append(pc.field(i).is_null())
            names.append(f"__{side}n{n}")
            if not pa.types.is_null(types[li]):  # (an all-NULL column: the flag is all)
                exprs.append(pc.Expression._call("coalesce", [pc.field(i), pc.scalar(z)]))
                names.append(f"__{side}v{n}")
    lproj = seq(ldist, ac.Declaration("project", ac.ProjectNodeOptions(
        [pc.field(i) for i in ids] + lexprs, ids + lnames)))
    rproj = seq(ex.as_decl(right), ac.Declaration("project", ac.ProjectNodeOptions(
        rexprs, rnames)))
    jt = "left semi" if node.kind == "intersect" else "left anti"
    return ac.Declaration("hashjoin", ac.HashJoinNodeOptions(jt, lnames, rnames,
                                                             left_output=ids, right_output=[]),
                          inputs=[lproj, rproj])


def multiset(left: pa.Table, right: pa.Table, ids: list[str], intersect: bool) -> pa.Table:
    """INTERSECT ALL / EXCEPT ALL: a row ``m`` times on the left and ``n`` times on the right
    comes out ``min(m, n)`` or ``max(m - n, 0)`` times (NULLs equal, as in DISTINCT)."""
    right = right.rename_columns(ids)
    lg = left.group_by(ids, use_threads=False).aggregate([([], "count_all")])
    rg = right.group_by(ids, use_threads=False).aggregate([([], "count_all")])

    def null_safe(g: pa.Table) -> tuple[list, list[str]]:
        cols, names = [], []
        for n, name in enumerate(ids):
            c = g.column(name)
            cols += [pc.is_null(c), pc.coalesce(c, zero(c.type))]
            names += [f"__n{n}", f"__v{n}"]
        return cols, names

    lcols, keys = null_safe(lg)
    rcols, _ = null_safe(rg)
    lkeys = pa.table([*lcols, pa.array(np.arange(lg.num_rows))], names=[*keys, "__row"])
    rkeys = pa.table([*rcols, rg.column("count_all")], names=[*keys, "__rcount"])
    joined = lkeys.join(rkeys, keys, join_type="left outer", use_threads=False)
    rows = joined.column("__row").to_numpy()
    m = lg.column("count_all").to_numpy()[rows]
    n = joined.column("__rcount").fill_null(0).to_numpy()
    times = np.minimum(m, n) if intersect else np.maximum(m - n, 0)
    return lg.select(ids).take(pa.array(np.repeat(rows, times)))
