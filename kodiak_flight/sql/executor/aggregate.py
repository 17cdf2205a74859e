"""Aggregation: Acero's hash (or scalar) aggregate node, or direct kernel calls on a small
table; ordered, DISTINCT and quantile aggregates are finished from per-group value lists
(``finalize``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from ..errors import ExecutionError
from ..functions import aggregate_spec
from ..plan import AggCall, Aggregate, Node, Project
from . import runs, sum_check
from .acero import seq
from .arrow_errors import arrow_errors
from .core import Executor, Out, is_small, operator
from .kernels import chunk, unsigned_columns, unsigned_zero
from .quantiles import quantile
from .scan import scan_below


@operator(Aggregate)
def run_aggregate(ex: Executor, node: Aggregate) -> Out:
    counted = counted_rows(ex, node)
    if counted is not None:
        return Out(table=counted, ordered=True)
    below = node.input
    if not node.keys and all(a.func == "count_star" for a in node.aggs) and \
            isinstance(below, Project) and not below.exprs:
        below = below.input  # rows counted, no column read: the projection is moot
    inp = ex.run(below)
    if not node.keys and node.aggs and not any(via_list(a) for a in node.aggs):
        return scalar_aggregate(ex, node, inp)
    if not node.keys and node.aggs and all(whole_quantile(a) for a in node.aggs):
        return Out(table=whole_quantiles(ex, node, ex.as_table(inp)), ordered=True)
    if inp.reader is not None or (inp.table is not None and not is_small(inp)):
        reader = ex.as_reader(inp)
        if runs.applies(node, reader.schema) and runs.likely(node):
            # rows arriving in runs of equal keys (a table stored in key order) fold in numpy
            folded = runs.aggregate(node, reader)
            if isinstance(folded, pa.Table):
                ex.checkpoint()
                types = pa.schema([pa.field(i, t) for i, t in node.output])
                return Out(table=folded.cast(types), ordered=False)
            if inp.reader is not None:  # (a table stays a table, for Acero's table source)
                inp = Out(reader=folded, ordered=inp.ordered)
    return grouped_aggregate(ex, node, inp)


# the aggregates ``counted_rows`` answers from what the engine keeps for a snapshot
FROM_STATISTICS = {"count_star", "min", "max"}


def counted_rows(ex: Executor, node: Aggregate) -> pa.Table | None:
    """``count(*)``, ``min(c)`` and ``max(c)`` of a whole table (no GROUP BY, no WHERE) from
    what the engine keeps for the snapshot: the live row count, and the columns' minimum and
    maximum from their segments' statistics while no row was deleted from a segment
    (``Snapshot.column_bounds``), instead of columns read through Acero (1 ms for a count of
    300 K rows, 2.3 ms for three extremes). None for any other aggregation."""
    if node.keys or not node.aggs or any(a.distinct or a.func not in FROM_STATISTICS
                                         for a in node.aggs):
        return None
    found = scan_below(node.input, [a.arg for a in node.aggs if a.arg is not None])
    if found is not None and found[0].predicate is not None and \
            all(a.func == "count_star" for a in node.aggs):
        # (masks counted, no column)
        return counts_table(node, ex.snap.count(found[0].table, found[0].predicate))
    if found is None or found[0].predicate is not None:
        return None
    scan, columns, _ = found
    values = []
    for a in node.aggs:
        if a.func == "count_star":
            values.append(ex.snap.table(scan.table).row_count)
            continue
        t = a.type
        if a.arg is None or not (pa.types.is_integer(t) or pa.types.is_floating(t) or
                                 pa.types.is_decimal(t) or pa.types.is_date(t)):
            return None
        bounds = ex.snap.column_bounds(scan.table, columns[a.arg], exact=True)
        if bounds is None:
            return None
        values.append(bounds[0] if a.func == "min" else bounds[1])
    return pa.Table.from_arrays([pa.array([v], a.type) for v, a in zip(values, node.aggs,
                                                                        strict=True)],
                                names=[a.id for a in node.aggs])


def scalar_aggregate(ex: Executor, node: Aggregate, inp: Out) -> Out:
    """No GROUP BY: scalar aggregation (one row, even over no input)."""
    specs = [(t, fn.removeprefix("hash_"), o, n) for a in node.aggs
             for t, fn, o, n in agg_specs(a)]
    if is_small(inp):
        assert inp.table is not None
        small = scalar_aggregates(unsigned_columns(inp.table, signed_zero_ids(node)), node,
                                  specs)
        sum_check.verify(node, {a.id: small.column(a.id) for a in sum_check.checked(node)},
                         {a.id: pc.sum(inp.table.column(a.arg).cast(pa.float64(), safe=False))
                          for a in sum_check.checked(node)})
        return Out(table=small, ordered=True)
    if inp.reader is not None and all(a.func == "count_star" for a in node.aggs):
        return Out(table=counts_table(node, counted_rows_of(ex, inp.reader)), ordered=True)
    decl = hashed_input(ex.as_decl(inp), node, sum_check.float_inputs(node))
    specs += sum_check.float_specs(node, "sum", aggregate_spec("sum").options)
    decl = seq(decl, ac.Declaration("aggregate", ac.AggregateNodeOptions(specs, keys=[])))
    t = ex.as_table(Out(decl=decl))
    sum_check.verify_table(node, t)
    types = dict(node.output)
    arrays = [chunk(t.column(a.id)).cast(types[a.id]) for a in node.aggs]
    return Out(table=pa.Table.from_arrays(arrays, names=[a.id for a in node.aggs]),
               ordered=True)


def counts_table(node: Aggregate, n: int) -> pa.Table:
    """The one row of an aggregation of ``count(*)`` calls only, each ``n``."""
    return pa.Table.from_arrays([pa.array([n], pa.int64())] * len(node.aggs),
                                names=[a.id for a in node.aggs])


def counted_rows_of(ex: Executor, reader: pa.RecordBatchReader) -> int:
    """The rows a stream holds, read batch by batch on this thread: a ``count(*)`` over a
    filtered scan (ClickBench's ``WHERE AdvEngineID <> 0``) spent more starting an Acero
    plan to count than the engine spent filtering."""
    n = 0
    for b in reader:
        n += b.num_rows
        ex.checkpoint()
    return n


def whole_quantile(a: AggCall) -> bool:
    """A quantile of a column over all the rows (no DISTINCT, no ORDER BY within it)."""
    return a.func in ("quantile_cont", "quantile_disc") and a.arg is not None \
        and not a.distinct and not a.order


def whole_quantiles(ex: Executor, node: Aggregate, t: pa.Table) -> pa.Table:
    """Quantiles without GROUP BY, selected from the input's columns themselves: a hash
    aggregation into one value list first copied every value (a median of 300 K values
    spent a third of its time there)."""
    arrays = []
    for a in node.aggs:
        ex.checkpoint()
        values = chunk(t.column(a.arg)).drop_null()
        n = len(values)
        arrays.append(quantile(a, values, np.zeros(n, np.int64), np.array([n]),
                               np.array([0, n])))
    return pa.Table.from_arrays(arrays, names=[a.id for a in node.aggs])


def grouped_aggregate(ex: Executor, node: Aggregate, inp: Out) -> Out:
    """Hash aggregation (without GROUP BY, over one constant group ``__g``), then the
    aggregates computed from value lists finished."""
    keys = list(node.keys)
    decl = hashed_input(ex.as_decl(inp), node, sum_check.float_inputs(node) +
                        ([] if keys else [("__g", pc.scalar(0))]))
    keys = keys or ["__g"]
    specs, constant = constant_list_specs([sp for a in node.aggs for sp in agg_specs(a)],
                                          constant_ids(node.input))
    specs += sum_check.float_specs(node, "hash_sum", aggregate_spec("sum").options)
    decl = seq(decl, ac.Declaration("aggregate", ac.AggregateNodeOptions(specs, keys=keys)))
    # a small input on one thread: its value lists (string_agg, list) keep the rows' order
    t = arrow_errors(decl.to_table)(use_threads=False) if is_small(inp) else \
        ex.as_table(Out(decl=decl))
    t = repeat_constants(t, constant)
    sum_check.verify_table(node, t)
    cols = {}
    for a in node.aggs:
        order_cols = [t.column(f"{a.id}__o{k}") for k in range(len(a.order))]
        cols[a.id] = finalize(a, t.column(a.id), order_cols,
                              t.column(f"{a.id}__k") if a.keep else None)
    if not node.keys and t.num_rows == 0:
        arrays = [pa.array([aggregate_spec(a.func).empty], type=a.type) for a in node.aggs]
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


def hashed_input(decl: ac.Declaration, node: Aggregate, extra: list[tuple[str, Any]]
                 ) -> ac.Declaration:
    """``decl`` as the aggregation hashes it: its doubles with -0.0 as 0.0
    (``signed_zero_ids``), and the ``extra`` (name, expression) columns added."""
    signed = signed_zero_ids(node)
    if not extra and not signed:
        return decl
    in_ids = node.input.out_ids()
    exprs = [pc.field(i) if i not in signed else unsigned_zero(pc.field(i)) for i in in_ids]
    return seq(decl, ac.Declaration("project", ac.ProjectNodeOptions(
        exprs + [e for _, e in extra], in_ids + [n for n, _ in extra])))


def signed_zero_ids(node: Aggregate) -> set[str]:
    """The floating input columns ``node`` hashes (its keys, its DISTINCT aggregates'
    arguments): Acero hashes a double's bits, so -0.0 and 0.0, equal in SQL, would be two
    groups."""
    types = dict(node.input.output)
    ids = set(node.keys) | {a.arg for a in node.aggs if a.distinct and a.arg is not None}
    return {i for i in ids if pa.types.is_floating(types.get(i, pa.null()))}


@arrow_errors
def scalar_aggregates(t: pa.Table, node: Aggregate, specs: list[tuple]) -> pa.Table:
    """Aggregates without GROUP BY over a small in-memory table, one kernel call each (the
    kernels Acero's scalar aggregate node runs, without starting a plan)."""
    types = dict(node.output)
    arrays = []
    for target, fn, opts, name in specs:
        if fn == "count_all":
            v: pa.Scalar = pa.scalar(t.num_rows, pa.int64())
        else:
            v = pc.call_function(fn, [chunk(t.column(target))], opts)
        arrays.append(pa.repeat(v, 1).cast(types[name]))
    return pa.Table.from_arrays(arrays, names=[n for *_, n in specs])


def agg_spec(a: AggCall) -> tuple:
    """``(input, Acero hash kernel, options, output name)`` of aggregate ``a``, from the
    function registry's ``AggregateSpec``."""
    spec = aggregate_spec(a.func)
    target: Any = a.arg if a.arg is not None else []
    kernel = spec.distinct_kernel if a.distinct and spec.distinct_kernel else spec.kernel
    return (target, kernel, spec.options, a.id)


def via_list(a: AggCall) -> bool:
    """Computed from per-group value lists (ordered or DISTINCT aggregates, quantiles...)."""
    spec = aggregate_spec(a.func)
    return bool(a.order) or (a.distinct and not spec.plain_distinct) or spec.via_list


def agg_specs(a: AggCall) -> list[tuple]:
    if not via_list(a):
        return [agg_spec(a)]
    return [(a.arg, "hash_list", None, a.id)] + [
        (oid, "hash_list", None, f"{a.id}__o{k}") for k, (oid, _, _) in enumerate(a.order)
    ] + ([(a.keep, "hash_list", None, f"{a.id}__k")] if a.keep else [])


def constant_ids(inp: Node) -> set[str]:
    """Ids of the columns ``inp`` computes without reading any column (constants)."""
    if not isinstance(inp, Project):
        return set()
    return {i for i, e in inp.exprs if not e.col_ids()}


def constant_list_specs(specs: list[tuple], constant: set[str]) -> tuple[list[tuple], list[str]]:
    """``specs`` with each ``hash_list`` of a constant column replaced by its distinct value:
    Acero's ``hash_list`` gives empty lists for a constant (a scalar datum in the batch), so
    ``sum(DISTINCT 71)`` came out NULL. ``repeat_constants`` rebuilds those lists."""
    names = [n for tgt, fn, _, n in specs if fn == "hash_list" and tgt in constant]
    if not names:
        return specs, []
    out = [(tgt, "hash_distinct", pc.CountOptions("all"), n) if n in names else
           (tgt, fn, o, n) for tgt, fn, o, n in specs]
    return out + [([], "hash_count_all", None, "__n")], names


def repeat_constants(t: pa.Table, names: list[str]) -> pa.Table:
    """Each list column ``names`` (one distinct constant per group) as the constant repeated
    once per row of its group (``__n``), as ``hash_list`` gives for a column."""
    if not names:
        return t
    counts = chunk(t.column("__n")).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    rows = pa.array(np.repeat(np.arange(len(counts)), counts))
    for n in names:
        lists = chunk(t.column(n))
        has = pc.greater(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
        first = pc.list_flatten(lists).take(
            pa.array(np.cumsum(has) - 1, mask=~has))  # the group's constant, or NULL
        lists = pa.ListArray.from_arrays(offsets, first.take(rows), type=lists.type)
        t = t.set_column(t.column_names.index(n), n, lists)
    return t.drop_columns(["__n"])


def finalize(a: AggCall, col: pa.ChunkedArray, order_cols: list | None = None,
             keep: pa.ChunkedArray | None = None) -> pa.Array:
    """The values of aggregate ``a`` from Acero's output column ``col``: aggregates computed
    from per-group value lists (``via_list``) are finished here, others pass through."""
    arr = chunk(col)
    if keep is not None:
        arr, order_cols = kept(arr, order_cols or [], chunk(keep))
    if not via_list(a) or (a.func == "list" and not a.order and not a.distinct):
        return arr
    n = len(arr)
    finish = aggregate_spec(a.func).finish
    if finish is not None:  # (mode, histogram, arg_min: all values, keys unsorted)
        parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False).astype(np.int64)
        keys = [pc.list_flatten(chunk(c)) for c in order_cols or []]
        return finish(parents, pc.list_flatten(arr), keys, n, a.extra).cast(a.type)
    parents, values = arranged(a, arr, order_cols)
    if a.func == "list":
        counts = np.bincount(parents, minlength=n) if n else np.zeros(0, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), values,  # (none: FILTER's)
                                        mask=pa.array(counts == 0))
    valid = pc.is_valid(values)
    values = values.filter(valid)
    parents = parents[valid.to_numpy(zero_copy_only=False)]
    counts = np.bincount(parents, minlength=n) if n else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    if a.func == "string_agg":
        if a.extra is None:  # a NULL separator
            return pa.nulls(n, pa.string())
        lists = pa.ListArray.from_arrays(pa.array(offsets), values)
        joined = pc.binary_join(lists, a.extra)
        return pc.if_else(pa.array(counts > 0), joined, pa.nulls(n, pa.string()))
    if a.func not in ("quantile_cont", "quantile_disc"):
        return distinct_aggregate(a, parents, values, n)
    return quantile(a, values, parents, counts, offsets)


def kept(arr: pa.ListArray, order_cols: list, keep: pa.ListArray) -> tuple[pa.ListArray, list]:
    """An aggregate's value lists (and its ORDER BY key lists) without the rows its FILTER
    drops: ``keep`` holds each row's condition, in lists aligned with the values."""
    mask = pc.list_flatten(keep)
    parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
    counts = np.bincount(parents[mask.to_numpy(zero_copy_only=False)], minlength=len(arr)) \
        if len(arr) else np.zeros(0, np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))

    empty = pa.array(counts == 0)  # a group with no row kept: NULL, as over no rows

    def rebuilt(lists: pa.Array) -> pa.ListArray:
        return pa.ListArray.from_arrays(offsets, pc.list_flatten(lists).filter(mask),
                                        mask=empty)
    return rebuilt(arr), [rebuilt(chunk(c)) for c in order_cols]


def arranged(a: AggCall, arr: pa.Array, order_cols: list | None) -> tuple[np.ndarray, Any]:
    """The values of the lists ``arr`` with their group (parent) indices, de-duplicated
    (DISTINCT) and in the aggregate's ORDER BY within each group."""
    values = pc.list_flatten(arr)
    parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    keys = [pc.list_flatten(chunk(c)) for c in order_cols or []]
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
        values = chunk(t.column("v"))
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
    return parents, values


def distinct_aggregate(a: AggCall, parents: np.ndarray, values: Any, n: int) -> pa.Array:
    """A DISTINCT aggregate over the de-duplicated values of each of ``n`` groups."""
    plain = AggCall(a.id, a.func, "v", a.type, False, a.extra)
    target, fn, opts, _ = agg_spec(plain)
    g = pa.table({"p": parents, "v": values}).group_by("p", use_threads=False).aggregate(
        [(target, fn.removeprefix("hash_"), opts)])
    res = chunk(g.column([c for c in g.column_names if c != "p"][0]))
    slot = np.full(n, -1, dtype=np.int64)
    slot[g.column("p").to_numpy()] = np.arange(g.num_rows)
    out = res.take(pa.array(np.maximum(slot, 0))) if len(res) else pa.nulls(n, res.type)
    return pc.if_else(pa.array(slot >= 0), out, pa.nulls(n, out.type)).cast(a.type)
