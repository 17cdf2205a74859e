"""Executor: logical plan -> Acero declarations and vectorised pyarrow steps.

Streaming operators (scan, filter, project, hash join, aggregation) become one Acero plan
fed by the engine's record-batch readers, so results stream batch by batch. Operators Acero
lacks or that must see all rows anyway (sort, limit/offset over sorted input, exact
quantiles, window functions, set operations) run on whole Arrow tables with pyarrow
compute - column at a time, never row at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from .errors import ExecutionError
from .expr import Call, Col, Expr, Lit, SubqueryValue, to_arrow
from .plan import (
    AggCall,
    Aggregate,
    Filter,
    Join,
    Limit,
    Node,
    Project,
    Scan,
    SetOp,
    Sort,
    Values,
    Window,
)


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


def _arrow_errors(fn: Any) -> Any:
    def wrapped(*a: Any, **k: Any) -> Any:
        try:
            return fn(*a, **k)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
            raise ExecutionError(str(e).split("\n")[0]) from None
    return wrapped


class Executor:
    def __init__(self, snap: Any) -> None:
        self.snap = snap
        self._subqueries: dict[int, Expr] = {}

    # ------------------------------------------------------------------ public

    def reader(self, node: Node, names: list[str] | None = None) -> pa.RecordBatchReader:
        out = self.run(node)
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
        table = self._as_table(self.run(plan))
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

    def compile(self, e: Expr) -> pc.Expression:
        return to_arrow(self.resolve(e))

    # ------------------------------------------------------------------ operators

    def _run_Scan(self, node: Scan) -> Out:
        src_cols = [s for s, _, _ in node.columns]
        reader = self.snap.scan(node.table, columns=src_cols, predicate=node.predicate)
        exprs, names = [], []
        rschema = reader.schema
        for s, i, t in node.columns:
            f = pc.field(s)
            if rschema.field(s).type != t:
                f = f.cast(t)
            exprs.append(f)
            names.append(i)
        return Out(decl=_seq(_source_reader(reader),
                             ac.Declaration("project", ac.ProjectNodeOptions(exprs, names))))

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
        return self._pipe(inp, ac.Declaration("filter", ac.FilterNodeOptions(to_arrow(cond))))

    def _run_Project(self, node: Project) -> Out:
        inp = self.run(node.input)
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
        left, right = self.run(node.left), self.run(node.right)
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
        if node.kind in ("semi", "anti"):
            opts = ac.HashJoinNodeOptions(jt, lnames, rnames, left_output=lids,
                                          right_output=[], filter_expression=residual)
        else:
            opts = ac.HashJoinNodeOptions(jt, lnames, rnames, left_output=lids,
                                          right_output=rids, filter_expression=residual)
        return Out(decl=ac.Declaration("hashjoin", opts, inputs=[ldecl, rdecl]))

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
        decl = self._as_decl(inp)
        keys = list(node.keys)
        if not keys:
            in_ids = node.input.out_ids()
            exprs = [pc.field(i) for i in in_ids] + [pc.scalar(0)]
            decl = _seq(decl, ac.Declaration("project",
                                             ac.ProjectNodeOptions(exprs, in_ids + ["__g"])))
            keys = ["__g"]
        specs = [_agg_spec(a) for a in node.aggs]
        decl = _seq(decl, ac.Declaration("aggregate", ac.AggregateNodeOptions(specs, keys=keys)))
        t = self._as_table(Out(decl=decl))
        cols = {}
        for a in node.aggs:
            cols[a.id] = _finalize(a, t.column(a.id))
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
            from .errors import NotSupportedError
            raise NotSupportedError(f"{node.kind.upper()} ALL is not supported")
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

    def _run_Window(self, node: Window) -> Out:
        from .window import run_window
        t = self._as_table(self.run(node.input))
        return Out(table=run_window(self, node, t), ordered=False)


class _ErrorMappingReader:
    @staticmethod
    def wrap(r: pa.RecordBatchReader) -> pa.RecordBatchReader:
        def gen() -> Iterator[pa.RecordBatch]:
            try:
                yield from r
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                raise ExecutionError(str(e).split("\n")[0]) from None
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


def _finalize(a: AggCall, col: pa.ChunkedArray) -> pa.Array:
    arr = col.combine_chunks() if col.num_chunks else pa.array([], col.type)
    if a.func not in _LISTY or a.func == "list":
        return arr
    n = len(arr)
    values = pc.list_flatten(arr)
    parents = pc.list_parent_indices(arr)
    valid = pc.is_valid(values)
    values = values.filter(valid)
    parents = parents.filter(valid).to_numpy(zero_copy_only=False)
    counts = np.bincount(parents, minlength=n) if n else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    if a.func == "string_agg":
        lists = pa.ListArray.from_arrays(pa.array(offsets), values)
        joined = pc.binary_join(lists, a.extra)
        return pc.if_else(pa.array(counts > 0), joined, pa.nulls(n, pa.string()))
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
