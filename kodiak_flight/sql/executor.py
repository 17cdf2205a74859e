"""Executor: logical plan -> Acero declarations and vectorised pyarrow steps.

Streaming operators (scan, filter, project, hash join, aggregation) become one Acero plan
fed by the engine's record-batch readers, so results stream batch by batch. Operators Acero
lacks or that must see all rows anyway (sort, limit/offset over sorted input, exact
quantiles, window functions, set operations) run on whole Arrow tables with pyarrow
compute - column at a time, never row at a time.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from engine import predicate as P

from .errors import ExecutionError
from .expr import Call, Col, Expr, Lit, SubqueryValue, to_arrow
from .interrupt import Interrupt
from .plan import (
    AggCall,
    Aggregate,
    FileScan,
    Filter,
    Join,
    Limit,
    Node,
    Project,
    RecursiveCTE,
    Scan,
    SetOp,
    Shared,
    Sort,
    Values,
    Window,
    WorkTable,
)
from .types import normalize

MAX_RECURSION = 100_000  # iterations of a recursive CTE before we call it runaway
# Below this many rows in memory, filter and project call the kernels directly: starting an
# Acero plan costs about 0.2 ms, more than a primary-key lookup's whole engine work.
SMALL_ROWS = 4096


@dataclass
class Out:
    """An operator's output: an Acero declaration (unordered), or ordered data."""

    decl: ac.Declaration | None = None
    table: pa.Table | None = None
    reader: pa.RecordBatchReader | None = None
    ordered: bool = False


def _source_table(t: pa.Table) -> ac.Declaration:
    return ac.Declaration("table_source", ac.TableSourceNodeOptions(t))


def _source_reader(r: pa.RecordBatchReader) -> ac.Declaration:
    return ac.Declaration("record_batch_reader_source", ac.RecordBatchReaderSourceNodeOptions(r))


def _seq(*decls: ac.Declaration) -> ac.Declaration:
    return ac.Declaration.from_sequence(list(decls))


def execution_error(e: Exception) -> ExecutionError:
    msg = str(e).split("\n")[0]
    if msg.lower().endswith("divide by zero"):
        msg = "division by zero"
    return ExecutionError(msg)


def _arrow_errors(fn: Any) -> Any:
    def wrapped(*a: Any, **k: Any) -> Any:
        try:
            return fn(*a, **k)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
            raise execution_error(e) from None
    return wrapped


class Executor:
    def __init__(self, snap: Any, interrupt: Interrupt | None = None) -> None:
        self.snap = snap
        self.interrupt = interrupt  # checked by every scan before each batch
        self._subqueries: dict[int, Expr] = {}
        self._work: dict[int, pa.Table] = {}
        self._shared: dict[int, pa.Table] = {}

    # ------------------------------------------------------------------ public

    def reader(self, node: Node, names: list[str] | None = None) -> pa.RecordBatchReader:
        out = self.output(node, names)
        return out.to_reader() if isinstance(out, pa.Table) else out

    def output(self, node: Node, names: list[str] | None = None
               ) -> pa.Table | pa.RecordBatchReader:
        """The result: a table when the plan's last step produced one anyway (so a server can
        send it without pulling batches through Python), else a streaming reader."""
        out = self.run(node)
        if out.table is not None:
            return out.table if names is None else out.table.rename_columns(names)
        r = self._as_reader(out)
        if names is None:
            return r
        schema = pa.schema([pa.field(n, f.type) for n, f in zip(names, r.schema, strict=True)])
        return pa.RecordBatchReader.from_batches(schema, _renamed(r, schema))

    def table(self, node: Node) -> pa.Table:
        return self._as_table(self.run(node))

    # ------------------------------------------------------------------ plumbing

    def _as_decl(self, out: Out) -> ac.Declaration:
        if out.decl is not None:
            return out.decl
        if out.table is not None:
            return _source_table(out.table)
        assert out.reader is not None
        return _source_reader(out.reader)

    @_arrow_errors
    def _as_table(self, out: Out) -> pa.Table:
        if out.table is not None:
            return out.table
        if out.reader is not None:
            return out.reader.read_all()
        assert out.decl is not None
        return out.decl.to_table(use_threads=True)

    def _as_reader(self, out: Out) -> pa.RecordBatchReader:
        if out.reader is not None:
            return out.reader
        if out.table is not None:
            return out.table.to_reader()
        assert out.decl is not None
        return _ErrorMappingReader.wrap(out.decl.to_reader(use_threads=True))

    def _pipe(self, inp: Out, decl: ac.Declaration) -> Out:
        """Append a streaming Acero node; ordered input is processed single-threaded."""
        if inp.ordered:
            plan = _seq(self._as_decl(inp), decl)
            table = _arrow_errors(plan.to_table)(use_threads=False)
            return Out(table=table, ordered=True)
        return Out(decl=_seq(self._as_decl(inp), decl))

    def run(self, node: Node) -> Out:
        fn = getattr(self, f"_run_{type(node).__name__}")
        return fn(node)

    # ------------------------------------------------------------------ expressions

    def resolve(self, e: Expr) -> Expr:
        """Replace uncorrelated subqueries by their (cached) values."""
        if isinstance(e, SubqueryValue):
            return self._subquery(e)
        if isinstance(e, Call):
            args = tuple(self.resolve(a) for a in e.args)
            opts = e.options
            if isinstance(opts, SubqueryValue):
                values = self._subquery(opts)
                assert isinstance(values, Lit)
                uniq, had_null = values.value
                opts = pc.SetLookupOptions(uniq, skip_nulls=True)
                inner: Expr = Call("is_in", args, opts, pa.bool_())
                if had_null:  # x IN (..., NULL) is NULL, not false, when x is not found
                    inner = Call("if_else", (inner, Lit(True, pa.bool_()),
                                             Lit(None, pa.bool_())), None, pa.bool_())
                return Call("if_else", (Call("is_null", args, None, pa.bool_()),
                                        Lit(None, pa.bool_()), inner), None, pa.bool_())
            return Call(e.fn, args, opts, e.type)
        return e

    def _subquery(self, sq: SubqueryValue) -> Expr:
        if sq.key in self._subqueries:
            return self._subqueries[sq.key]
        from .optimizer import optimize
        plan = optimize(sq.plan)
        table = self._run_separately(plan)
        if sq.kind == "exists":
            val: Expr = Lit(table.num_rows > 0, pa.bool_())
        elif sq.kind == "scalar":
            if table.num_rows > 1:
                raise ExecutionError("more than one row returned by a subquery used as an "
                                     "expression")
            col = table.column(sq.out_id) if sq.out_id in table.column_names else table.column(0)
            v = col[0].as_py() if table.num_rows else None
            val = Lit(v, sq.type)
        else:
            col = table.column(sq.out_id) if sq.out_id in table.column_names else table.column(0)
            uniq = pc.unique(col.combine_chunks() if col.num_chunks else pa.array([], col.type))
            val = Lit((uniq.drop_null(), col.null_count > 0), sq.type)
        self._subqueries[sq.key] = val
        return val

    def _run_separately(self, plan: Node) -> pa.Table:
        """Run a sub-plan to completion now (subquery values, shared CTEs)."""
        return self._as_table(self.run(plan))

    def compile(self, e: Expr) -> pc.Expression:
        return to_arrow(self.resolve(e))

    # ------------------------------------------------------------------ operators

    def _run_Scan(self, node: Scan) -> Out:
        src_cols = [s for s, _, _ in node.columns]
        point = _point_lookup(node)
        if point is not None:
            # a handful of rows found through the primary key: no Acero plan for them
            t = self.snap.lookup(node.table, point, columns=src_cols) \
                if isinstance(node.predicate, (P.Compare, P.In)) else \
                self.snap.scan(node.table, columns=src_cols, predicate=node.predicate).read_all()
            return Out(table=_scan_table(node, t))
        reader = self.snap.scan(node.table, columns=src_cols, predicate=node.predicate)
        if _few_rows(node):
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
                return Out(table=_scan_table(node, pa.Table.from_batches(batches,
                                                                         reader.schema)))
        exprs, names = [], []
        rschema = reader.schema
        for s, i, t in node.columns:
            f = pc.field(s)
            if rschema.field(s).type != t:
                f = f.cast(t)
            exprs.append(f)
            names.append(i)
        # Every scan streams, several in one plan included: Acero pulls the engine's readers
        # from its own threads (the engine builds anything it would walk its trees for in
        # the caller's thread; tests/test_engine.py test_two_readers_under_acero).
        if self.interrupt is not None:
            reader = self.interrupt.guard(reader)
        return Out(decl=_seq(_source_reader(reader), ac.Declaration(
            "project", ac.ProjectNodeOptions(exprs, names))))

    def _run_FileScan(self, node: FileScan) -> Out:
        from .files import open_reader
        reader = open_reader(node.path, node.format, node.options,
                             columns=[s for s, _, _ in node.columns])
        if self.interrupt is not None:
            reader = self.interrupt.guard(reader)
        exprs = []
        for s, _, t in node.columns:
            f = pc.field(s)
            exprs.append(f.cast(t) if reader.schema.field(s).type != t else f)
        return Out(decl=_seq(_source_reader(reader), ac.Declaration(
            "project", ac.ProjectNodeOptions(exprs, [i for _, i, _ in node.columns]))))

    def _run_Values(self, node: Values) -> Out:
        return Out(table=node.table, ordered=True)

    def _run_Filter(self, node: Filter) -> Out:
        inp = self.run(node.input)
        cond = self.resolve(node.cond)
        if isinstance(cond, Lit):
            if cond.value:
                return inp
            return Out(table=pa.schema([pa.field(i, t) for i, t in node.output]).empty_table(),
                       ordered=True)
        if _small(inp) and inp.table is not None and inp.table.num_columns:
            return Out(table=inp.table.filter(_evaluate(inp.table, cond)), ordered=inp.ordered)
        return self._pipe(inp, ac.Declaration("filter", ac.FilterNodeOptions(to_arrow(cond))))

    def _run_Project(self, node: Project) -> Out:
        inp = self.run(node.input)
        if _small(inp) and node.exprs:  # (a table without columns would lose its row count)
            assert inp.table is not None
            cols = [_evaluate(inp.table, self.resolve(e)) for _, e in node.exprs]
            return Out(table=pa.table(cols, names=[i for i, _ in node.exprs]),
                       ordered=inp.ordered)
        exprs = [self.compile(e) for _, e in node.exprs]
        names = [i for i, _ in node.exprs]
        return self._pipe(inp, ac.Declaration("project", ac.ProjectNodeOptions(exprs, names)))

    def _run_Limit(self, node: Limit) -> Out:
        inp = self.run(node.input)
        if inp.table is not None:
            t = inp.table.slice(node.offset, node.limit) if node.limit is not None \
                else inp.table.slice(node.offset)
            return Out(table=t, ordered=True)
        r = self._as_reader(inp)
        gen = _limit_batches(r, node.offset, node.limit)
        return Out(reader=pa.RecordBatchReader.from_batches(r.schema, gen), ordered=inp.ordered)

    def _run_Sort(self, node: Sort) -> Out:
        t = self._as_table(self.run(node.input))
        keys, extra = [], {}
        for n, k in enumerate(node.keys):
            if isinstance(k.expr, Col):
                arr = t.column(k.expr.id)
                name = k.expr.id
            else:
                arr = _eval(t, self.compile(k.expr))
                name = f"__s{n}"
                extra[name] = arr
            if arr.null_count:
                nulls = pc.is_null(arr)
                extra[f"__n{n}"] = pc.invert(nulls) if k.nulls_first else nulls
                keys.append((f"__n{n}", "ascending"))
            keys.append((name, "descending" if k.desc else "ascending"))
        if not t.num_rows:
            return Out(table=t, ordered=True)
        tmp = t
        for name, arr in extra.items():
            tmp = tmp.append_column(name, arr)
        idx = pc.sort_indices(tmp, sort_keys=keys)
        return Out(table=t.take(idx), ordered=True)

    def _run_Join(self, node: Join) -> Out:
        lookup = _index_join(node)
        if lookup is None:
            left, right = self.run(node.left), self.run(node.right)
        else:
            left, right = self._index_join(node, *lookup)
        lids, rids = node.left.out_ids(), node.right.out_ids()
        lkeys, rkeys = node.left_keys, node.right_keys
        ldecl, rdecl = self._as_decl(left), self._as_decl(right)
        if not lkeys:
            lkeys, rkeys = [Lit(0, pa.int32())], [Lit(0, pa.int32())]
        ldecl, lnames = self._keyed(ldecl, lids, lkeys, "__lk")
        rdecl, rnames = self._keyed(rdecl, rids, rkeys, "__rk")
        jt = {"inner": "inner", "cross": "inner", "left": "left outer", "full": "full outer",
              "semi": "left semi", "anti": "left anti"}[node.kind]
        residual = self.compile(node.residual) if node.residual is not None else None
        if node.build_left and node.kind in ("semi", "anti", "left"):
            # Acero hashes its right input: swap the inputs, keep the semantics
            rjt = {"semi": "right semi", "anti": "right anti", "left": "right outer"}[node.kind]
            if node.kind == "left":
                opts = ac.HashJoinNodeOptions(rjt, rnames, lnames, left_output=rids,
                                              right_output=lids, filter_expression=residual)
                j = ac.Declaration("hashjoin", opts, inputs=[rdecl, ldecl])
                proj = ac.ProjectNodeOptions([pc.field(i) for i in lids + rids], lids + rids)
                return Out(decl=_seq(j, ac.Declaration("project", proj)))
            opts = ac.HashJoinNodeOptions(rjt, rnames, lnames, left_output=[],
                                          right_output=lids, filter_expression=residual)
            return Out(decl=ac.Declaration("hashjoin", opts, inputs=[rdecl, ldecl]))
        if node.kind in ("semi", "anti"):
            opts = ac.HashJoinNodeOptions(jt, lnames, rnames, left_output=lids,
                                          right_output=[], filter_expression=residual)
        else:
            opts = ac.HashJoinNodeOptions(jt, lnames, rnames, left_output=lids,
                                          right_output=rids, filter_expression=residual)
        return Out(decl=ac.Declaration("hashjoin", opts, inputs=[ldecl, rdecl]))

    def _index_join(self, node: Join, side: str, pos: int, column: str) -> tuple[Out, Out]:
        """Run the small side first, then read only the matching rows of the other side (a
        table scan) through its primary key or index: one batched B+ tree probe with the
        small side's distinct keys (an engine ``In`` predicate) instead of a full scan."""
        small_node, scan_node = (node.left, node.right) if side == "right" else \
            (node.right, node.left)
        small_keys = node.left_keys if side == "right" else node.right_keys
        small = self._as_table(self.run(small_node))
        keys = pc.unique(_evaluate(small, self.resolve(small_keys[pos]))).drop_null()
        if len(keys) <= INDEX_JOIN_KEYS:
            scan_node = _restricted(scan_node, P.In(column, tuple(keys.to_pylist())))
        outs = (Out(table=small), self.run(scan_node))
        return outs if side == "right" else (outs[1], outs[0])

    def _keyed(self, decl: ac.Declaration, ids: list[str], keys: list[Expr], prefix: str
               ) -> tuple[ac.Declaration, list[str]]:
        if all(isinstance(k, Col) for k in keys):
            return decl, [k.id for k in keys]  # type: ignore[attr-defined]
        names = [f"{prefix}{n}" for n in range(len(keys))]
        exprs = [pc.field(i) for i in ids] + [self.compile(k) for k in keys]
        proj = ac.Declaration("project", ac.ProjectNodeOptions(exprs, ids + names))
        return _seq(decl, proj), names

    def _run_Aggregate(self, node: Aggregate) -> Out:
        inp = self.run(node.input)
        keys = list(node.keys)
        if not keys and node.aggs and not any(_via_list(a) for a in node.aggs):
            # no GROUP BY: scalar aggregation (one row, even over no input)
            specs = [(t, fn.removeprefix("hash_"), o, n) for a in node.aggs
                     for t, fn, o, n in _agg_specs(a)]
            if _small(inp):
                assert inp.table is not None
                return Out(table=_scalar_aggregates(inp.table, node, specs), ordered=True)
        decl = self._as_decl(inp)
        if not keys and node.aggs and not any(_via_list(a) for a in node.aggs):
            decl = _seq(decl, ac.Declaration("aggregate",
                                             ac.AggregateNodeOptions(specs, keys=[])))
            t = self._as_table(Out(decl=decl))
            types = dict(node.output)
            arrays = [_chunk(t.column(a.id)).cast(types[a.id]) for a in node.aggs]
            return Out(table=pa.Table.from_arrays(arrays, names=[a.id for a in node.aggs]),
                       ordered=True)
        if not keys:
            in_ids = node.input.out_ids()
            exprs = [pc.field(i) for i in in_ids] + [pc.scalar(0)]
            decl = _seq(decl, ac.Declaration("project",
                                             ac.ProjectNodeOptions(exprs, in_ids + ["__g"])))
            keys = ["__g"]
        specs = [sp for a in node.aggs for sp in _agg_specs(a)]
        decl = _seq(decl, ac.Declaration("aggregate", ac.AggregateNodeOptions(specs, keys=keys)))
        t = self._as_table(Out(decl=decl))
        cols = {}
        for a in node.aggs:
            order_cols = [t.column(f"{a.id}__o{k}") for k in range(len(a.order))]
            cols[a.id] = _finalize(a, t.column(a.id), order_cols)
        if not node.keys and t.num_rows == 0:
            arrays = [pa.array([0 if a.func in ("count", "count_star",
                                                "approx_count_distinct") else None],
                               type=a.type) for a in node.aggs]
            return Out(table=pa.Table.from_arrays(arrays, names=[a.id for a in node.aggs]),
                       ordered=True)
        arrays = [t.column(k) for k in node.keys] + [cols[a.id] for a in node.aggs]
        names = list(node.keys) + [a.id for a in node.aggs]
        if not arrays:
            return Out(table=pa.table({"__g": t.column("__g")}).drop_columns(["__g"]),
                       ordered=False)
        out = pa.Table.from_arrays(arrays, names=names)
        types = dict(node.output)
        out = out.cast(pa.schema([pa.field(n, types[n]) for n in names]))
        return Out(table=out, ordered=False)

    def _run_SetOp(self, node: SetOp) -> Out:
        left, right = self.run(node.left), self.run(node.right)
        ids = node.left.out_ids()
        if node.kind == "union":
            u = ac.Declaration("union", None, inputs=[self._as_decl(left),
                                                      self._as_decl(right)])
            if node.all:
                return Out(decl=u)
            return Out(decl=_seq(u, ac.Declaration("aggregate", ac.AggregateNodeOptions(
                [], keys=ids))))
        if node.all:
            return Out(table=_multiset(self._as_table(left), self._as_table(right), ids,
                                       node.kind == "intersect"))
        ldist = _seq(self._as_decl(left),
                     ac.Declaration("aggregate", ac.AggregateNodeOptions([], keys=ids)))
        types = dict(node.output)
        lexprs, rexprs, lnames, rnames = [], [], [], []
        for n, (li, ri) in enumerate(zip(ids, node.right.out_ids(), strict=True)):
            zero = _zero(types[li])
            for side, i, ex, nm in (("l", li, lexprs, lnames), ("r", ri, rexprs, rnames)):
                ex.append(pc.field(i).is_null())
                ex.append(pc.Expression._call("coalesce", [pc.field(i), pc.scalar(zero)]))
                nm.extend([f"__{side}n{n}", f"__{side}v{n}"])
        lproj = _seq(ldist, ac.Declaration("project", ac.ProjectNodeOptions(
            [pc.field(i) for i in ids] + lexprs, ids + lnames)))
        rproj = _seq(self._as_decl(right), ac.Declaration("project", ac.ProjectNodeOptions(
            rexprs, rnames)))
        jt = "left semi" if node.kind == "intersect" else "left anti"
        j = ac.Declaration("hashjoin", ac.HashJoinNodeOptions(jt, lnames, rnames,
                                                              left_output=ids, right_output=[]),
                           inputs=[lproj, rproj])
        return Out(decl=j)

    def _run_Shared(self, node: Shared) -> Out:
        t = self._shared.get(node.key)
        if t is None:
            if not node.holder.optimized:
                from .optimizer import optimize
                node.holder.plan = optimize(node.holder.plan)
                node.holder.optimized = True
            t = self._run_separately(node.holder.plan)
            self._shared[node.key] = t
        return Out(table=pa.Table.from_arrays(t.columns, names=[i for i, _ in node.fields]),
                   ordered=False)

    def _run_WorkTable(self, node: WorkTable) -> Out:
        t = self._work[node.key]
        return Out(table=pa.Table.from_arrays(t.columns, names=[i for i, _ in node.fields]),
                   ordered=False)

    def _run_RecursiveCTE(self, node: RecursiveCTE) -> Out:
        ids = node.anchor.out_ids()
        schema = pa.schema([pa.field(i, t) for i, t in node.output])

        def conform(t: pa.Table) -> pa.Table:
            return pa.Table.from_arrays(t.columns, schema=schema) if t.schema == schema \
                else pa.Table.from_arrays([c.cast(f.type) for c, f in zip(t.columns, schema,
                                                                          strict=True)],
                                          schema=schema)

        work = conform(self._as_table(self.run(node.anchor)))
        if not node.all:
            work = _distinct(work)
        parts = [work]
        seen = work
        saved = self._work.get(node.key)
        try:
            for _ in range(MAX_RECURSION):
                if work.num_rows == 0:
                    break
                self._work[node.key] = work
                new = conform(self._as_table(self.run(node.step)))
                if not node.all:
                    new = _new_rows(_distinct(new), seen)
                    seen = pa.concat_tables([seen, new])
                parts.append(new)
                work = new
            else:
                raise ExecutionError(f"recursive CTE did not finish after {MAX_RECURSION} "
                                     "iterations")
        finally:
            if saved is None:
                self._work.pop(node.key, None)
            else:
                self._work[node.key] = saved
        out = pa.concat_tables(parts).combine_chunks()
        return Out(table=out.rename_columns(ids), ordered=False)

    def _run_Window(self, node: Window) -> Out:
        from .window import run_window
        t = self._as_table(self.run(node.input))
        return Out(table=run_window(self, node, t), ordered=False)


class _ErrorMappingReader:
    @staticmethod
    def wrap(r: pa.RecordBatchReader) -> pa.RecordBatchReader:
        def gen() -> Iterator[pa.RecordBatch]:
            try:
                for b in r:  # noqa: UP028 (``yield from`` would close r with the error in flight)
                    yield b
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                raise execution_error(e) from None
            finally:
                # a reader closed early stops its plan; a scan interrupted meanwhile reports
                # QueryCancelled there, which the consumer, already gone, has no use for
                with contextlib.suppress(Exception):
                    r.close()
        return pa.RecordBatchReader.from_batches(r.schema, gen())


def _renamed(r: pa.RecordBatchReader, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for b in r:
        yield pa.RecordBatch.from_arrays(b.columns, schema=schema)


def _limit_batches(r: pa.RecordBatchReader, offset: int, limit: int | None
                   ) -> Iterator[pa.RecordBatch]:
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


def _distinct(t: pa.Table) -> pa.Table:
    if not t.num_rows:
        return t
    return t.group_by(t.column_names, use_threads=False).aggregate([]).select(t.column_names)


def _multiset(left: pa.Table, right: pa.Table, ids: list[str], intersect: bool) -> pa.Table:
    """INTERSECT ALL / EXCEPT ALL: a row ``m`` times on the left and ``n`` times on the right
    comes out ``min(m, n)`` or ``max(m - n, 0)`` times (NULLs equal, as in DISTINCT)."""
    right = right.rename_columns(ids)
    lg = left.group_by(ids, use_threads=False).aggregate([([], "count_all")])
    rg = right.group_by(ids, use_threads=False).aggregate([([], "count_all")])

    def null_safe(g: pa.Table) -> tuple[list, list[str]]:
        cols, names = [], []
        for n, name in enumerate(ids):
            c = g.column(name)
            cols += [pc.is_null(c), pc.coalesce(c, _zero(c.type))]
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


def _new_rows(new: pa.Table, seen: pa.Table) -> pa.Table:
    """Rows of ``new`` not in ``seen`` (NULLs equal), both already distinct."""
    if not new.num_rows or not seen.num_rows:
        return new
    names = new.column_names
    both = pa.concat_tables([
        seen.append_column("__m", pa.array(np.zeros(seen.num_rows, dtype=np.int8))),
        new.append_column("__m", pa.array(np.ones(new.num_rows, dtype=np.int8)))])
    g = both.group_by(names, use_threads=False).aggregate([("__m", "min")])
    return g.filter(pc.equal(g.column("__m_min"), 1)).select(names)


# A join whose one side is expected to have at most this many rows, and the other side to be
# a table scan at least INDEX_JOIN_RATIO times larger, looks the small side's keys up through
# the big side's primary key or index (``Executor._index_join``) instead of scanning it.
INDEX_JOIN_KEYS = 10_000
INDEX_JOIN_RATIO = 16
# (kinds for which restricting the right / the left input to the other's keys is exact)
_RESTRICT_RIGHT = {"inner", "left", "semi", "anti"}
_RESTRICT_LEFT = {"inner", "semi"}


def _index_join(node: Join) -> tuple[str, int, str] | None:
    """(side to look up, key position, source column) when an index join applies."""
    from .optimizer import estimate
    if not node.left_keys:
        return None
    for side, big, other, keys in (("right", node.right, node.left, node.right_keys),
                                   ("left", node.left, node.right, node.left_keys)):
        if node.kind not in (_RESTRICT_RIGHT if side == "right" else _RESTRICT_LEFT):
            continue
        small = estimate(other)
        if small > INDEX_JOIN_KEYS:
            continue
        other_keys = node.left_keys if side == "right" else node.right_keys
        for pos, k in enumerate(keys):
            found = _keyed_column(big, k)
            if found is None or other_keys[pos].type != k.type:
                continue
            scan, col = found
            if scan.est_rows >= INDEX_JOIN_RATIO * small:
                return side, pos, col
    return None


def _keyed_column(node: Node, key: Expr) -> tuple[Scan, str] | None:
    """The table scan below ``node`` (through filters and renames) and the column ``key``
    reads, if a primary key or index answers lookups on it with the join's equality."""
    while isinstance(key, Col):
        if isinstance(node, Filter):
            node = node.input
        elif isinstance(node, Project):
            key = dict(node.exprs).get(key.id)  # type: ignore[assignment]
            node = node.input
        elif isinstance(node, Scan):
            source = {i: (c, t) for c, i, t in node.columns}
            if key.id not in source:
                return None
            col, t = source[key.id]
            raw = node.raw_types.get(col)
            if col in node.keyed and raw is not None and normalize(raw) == t:
                return node, col  # (the engine compares as the join does)
            return None
        else:
            return None
    return None


def _restricted(node: Node, extra: P.Predicate) -> Node:
    """A copy of the path down to the Scan ``_keyed_column`` found, whose engine predicate
    also has ``extra``."""
    import copy
    if isinstance(node, (Filter, Project)):
        c = copy.copy(node)
        c.input = _restricted(node.input, extra)
        return c
    assert isinstance(node, Scan)
    scan = copy.copy(node)
    scan.predicate = extra if node.predicate is None else P.And((node.predicate, extra))
    return scan


def _small(out: Out) -> bool:
    return out.table is not None and out.table.num_rows <= SMALL_ROWS


def _scan_table(node: Scan, t: pa.Table) -> pa.Table:
    """Scanned rows under the plan's column ids and types."""
    cols = [t.column(s) if t.schema.field(s).type == ty else t.column(s).cast(ty)
            for s, _, ty in node.columns]
    return pa.table(cols, names=[i for _, i, _ in node.columns])


def _few_rows(node: Scan) -> bool:
    """A key or index predicate the optimiser expects to leave at most ``SMALL_ROWS`` rows."""
    from .optimizer import estimate
    p = node.predicate
    return isinstance(p, P.Predicate) and bool(p.columns() & node.keyed) and \
        estimate(node) <= SMALL_ROWS


def _point_lookup(node: Scan) -> list | None:
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


@_arrow_errors
def _evaluate(t: pa.Table, e: Expr) -> pa.Array | pa.ChunkedArray:
    """A bound expression over a small in-memory table, one kernel call per node: the same
    kernels an Acero project runs, without starting a plan."""
    if isinstance(e, Col):
        return t.column(e.id)
    v = _kernel(t, e)
    return pa.repeat(v, t.num_rows) if isinstance(v, pa.Scalar) else v


def _kernel(t: pa.Table, e: Expr) -> pa.Array | pa.Scalar:
    if isinstance(e, Col):
        return t.column(e.id).combine_chunks()
    if isinstance(e, Lit):
        return e.scalar()
    if isinstance(e, Call):
        return pc.call_function(e.fn, [_kernel(t, a) for a in e.args], e.options)
    raise TypeError(f"cannot evaluate {e!r}")  # pragma: no cover


def _eval(t: pa.Table, e: pc.Expression) -> pa.ChunkedArray:
    res = _seq(_source_table(t), ac.Declaration("project", ac.ProjectNodeOptions([e], ["v"]))
               ).to_table(use_threads=False)
    return res.column("v")


def _zero(t: pa.DataType) -> pa.Scalar:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pa.scalar("", t)
    if pa.types.is_binary(t):
        return pa.scalar(b"", t)
    if pa.types.is_boolean(t):
        return pa.scalar(False)
    if pa.types.is_null(t):
        return pa.scalar(None)
    return pa.scalar(0).cast(t) if not pa.types.is_temporal(t) else \
        pa.scalar(0, pa.int32() if pa.types.is_date32(t) else pa.int64()).cast(t)


_LISTY = {"string_agg", "quantile_cont", "quantile_disc", "list"}


@_arrow_errors
def _scalar_aggregates(t: pa.Table, node: Aggregate, specs: list[tuple]) -> pa.Table:
    """Aggregates without GROUP BY over a small in-memory table, one kernel call each (the
    kernels Acero's scalar aggregate node runs, without starting a plan)."""
    types = dict(node.output)
    arrays = []
    for target, fn, opts, name in specs:
        if fn == "count_all":
            v: pa.Scalar = pa.scalar(t.num_rows, pa.int64())
        else:
            v = pc.call_function(fn, [_chunk(t.column(target))], opts)
        arrays.append(pa.repeat(v, 1).cast(types[name]))
    return pa.Table.from_arrays(arrays, names=[n for *_, n in specs])


def _agg_spec(a: AggCall) -> tuple:
    f = a.func
    target: Any = a.arg if a.arg is not None else []
    if f == "count_star":
        return ([], "hash_count_all", None, a.id)
    if f == "count":
        fn = "hash_count_distinct" if a.distinct else "hash_count"
        return (target, fn, pc.CountOptions("only_valid"), a.id)
    if f == "approx_count_distinct":
        return (target, "hash_count_distinct", pc.CountOptions("only_valid"), a.id)
    if f in _LISTY:
        return (target, "hash_list", None, a.id)
    sao = pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)
    simple = {"sum": "hash_sum", "avg": "hash_mean", "min": "hash_min", "max": "hash_max",
              "bool_and": "hash_all", "bool_or": "hash_any", "product": "hash_product"}
    if f in simple:
        return (target, simple[f], sao, a.id)
    if f == "any_value":  # any value will do; hash_first needs single-threaded ordering
        return (target, "hash_min", sao, a.id)
    if f in ("stddev_samp", "stddev_pop", "var_samp", "var_pop"):
        fn = "hash_stddev" if f.startswith("stddev") else "hash_variance"
        return (target, fn, pc.VarianceOptions(ddof=1 if f.endswith("samp") else 0,
                                               min_count=1), a.id)
    raise ExecutionError(f"aggregate {f} is not implemented")  # pragma: no cover


_PLAIN_DISTINCT = {"count", "min", "max", "any_value", "approx_count_distinct", "bool_and",
                   "bool_or"}


def _via_list(a: AggCall) -> bool:
    """Computed from per-group value lists (ordered or DISTINCT aggregates, quantiles...)."""
    return bool(a.order) or (a.distinct and a.func not in _PLAIN_DISTINCT) or a.func in _LISTY


def _agg_specs(a: AggCall) -> list[tuple]:
    if not _via_list(a):
        return [_agg_spec(a)]
    return [(a.arg, "hash_list", None, a.id)] + [
        (oid, "hash_list", None, f"{a.id}__o{k}") for k, (oid, _, _) in enumerate(a.order)]


def _chunk(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks else pa.array([], col.type)
    return col


def _finalize(a: AggCall, col: pa.ChunkedArray, order_cols: list | None = None) -> pa.Array:
    arr = _chunk(col)
    if not _via_list(a) or (a.func == "list" and not a.order and not a.distinct):
        return arr
    n = len(arr)
    values = pc.list_flatten(arr)
    parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    keys = [pc.list_flatten(_chunk(c)) for c in order_cols or []]
    if any(len(k) != len(values) for k in keys):  # pragma: no cover - Acero keeps them aligned
        raise ExecutionError("internal error: ordered aggregate lists are misaligned")
    if a.distinct:
        t = pa.table({"p": parents, "v": values}).group_by(["p", "v"], use_threads=False
                                                           ).aggregate([])
        desc = bool(a.order and a.order[0][1])
        perm = pc.sort_indices(t, sort_keys=[("p", "ascending"),
                                             ("v", "descending" if desc else "ascending",
                                              "at_start" if a.order and a.order[0][2]
                                              else "at_end")])
        t = t.take(perm)
        parents = t.column("p").to_numpy().astype(np.int64)
        values = _chunk(t.column("v"))
    elif keys:
        cols = {"p": parents}
        sk: list = [("p", "ascending")]
        for k, ((_, desc, nf), kv) in enumerate(zip(a.order, keys, strict=True)):
            cols[f"k{k}"] = kv
            sk.append((f"k{k}", "descending" if desc else "ascending",
                       "at_start" if nf else "at_end"))
        perm = pc.sort_indices(pa.table(cols), sort_keys=sk)
        values = values.take(perm)
        parents = parents[perm.to_numpy()]
    if a.func == "list":
        counts = np.bincount(parents, minlength=n) if n else np.zeros(0, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), values)
    valid = pc.is_valid(values)
    values = values.filter(valid)
    parents = parents[valid.to_numpy(zero_copy_only=False)]
    counts = np.bincount(parents, minlength=n) if n else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    if a.func == "string_agg":
        lists = pa.ListArray.from_arrays(pa.array(offsets), values)
        joined = pc.binary_join(lists, a.extra)
        return pc.if_else(pa.array(counts > 0), joined, pa.nulls(n, pa.string()))
    if a.func not in ("quantile_cont", "quantile_disc"):
        # a DISTINCT aggregate over the de-duplicated values of each group
        plain = AggCall(a.id, a.func, "v", a.type, False, a.extra)
        target, fn, opts, _ = _agg_spec(plain)
        g = pa.table({"p": parents, "v": values}).group_by("p", use_threads=False).aggregate(
            [(target, fn.removeprefix("hash_"), opts)])
        res = _chunk(g.column([c for c in g.column_names if c != "p"][0]))
        slot = np.full(n, -1, dtype=np.int64)
        slot[g.column("p").to_numpy()] = np.arange(g.num_rows)
        out = res.take(pa.array(np.maximum(slot, 0))) if len(res) else pa.nulls(n, res.type)
        return pc.if_else(pa.array(slot >= 0), out, pa.nulls(n, out.type)).cast(a.type)
    # exact quantiles: sort values within their group, then index (and interpolate)
    order = pc.sort_indices(pa.table({"p": parents, "v": values}),
                            sort_keys=[("p", "ascending"), ("v", "ascending")])
    sorted_vals = values.take(order)
    q = float(a.extra)
    has = counts > 0
    safe_counts = np.where(has, counts, 1)
    if a.func == "quantile_disc":
        idx = offsets[:-1] + np.floor(q * (safe_counts - 1) + 1e-9).astype(np.int64)
        idx = np.minimum(idx, max(len(sorted_vals) - 1, 0))
        res = sorted_vals.take(pa.array(np.where(has, idx, 0))) if len(sorted_vals) else \
            pa.nulls(n, a.type)
        return pc.if_else(pa.array(has), res, pa.nulls(n, res.type)).cast(a.type)
    fv = sorted_vals.cast(pa.float64()).to_numpy(zero_copy_only=False) if len(sorted_vals) \
        else np.zeros(1)
    pos = q * (safe_counts - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)
    base = offsets[:-1]
    lo_i = np.where(has, base + lo, 0)
    hi_i = np.where(has, base + hi, 0)
    res = fv[lo_i] + (fv[hi_i] - fv[lo_i]) * (pos - lo)
    return pa.array(res, pa.float64(), mask=~has)
