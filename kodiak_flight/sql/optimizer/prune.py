"""Column pruning: every operator keeps only the columns used above it."""

from __future__ import annotations

from ..plan import (
    Aggregate,
    FileScan,
    Filter,
    Join,
    Limit,
    Node,
    PercentLimit,
    Project,
    RecursiveCTE,
    Sample,
    Scan,
    SetOp,
    Shared,
    Sort,
    Unnest,
    Values,
    Window,
    WorkTable,
)
from .util import id_set


def prune_columns(node: Node) -> Node:
    """The rule: prune the plan to the columns of its output."""
    return prune(node, set(node.out_ids()))


def prune(node: Node, required: set[str]) -> Node:
    """``node`` computing only the columns ``required`` (at least one per operator)."""
    if isinstance(node, Scan):
        cols = [c for c in node.columns if c[1] in required]
        node.columns = cols or node.columns[:1]
        return node
    if isinstance(node, FileScan):
        node.columns = [c for c in node.columns if c[1] in required] or node.columns[:1]
        return node
    if isinstance(node, Values):
        keep = [n for n in node.table.column_names if n in required]
        node.table = node.table.select(keep or node.table.column_names[:1])
        return node
    if isinstance(node, Filter):
        node.input = prune(node.input, required | node.cond.col_ids())
        return node
    if isinstance(node, Project):
        exprs = [(i, e) for i, e in node.exprs if i in required] or node.exprs[:1]
        node.exprs = exprs
        need = set().union(*(e.col_ids() for _, e in exprs)) if exprs else set()
        node.input = prune(node.input, need)
        return node
    if isinstance(node, Aggregate):
        node.aggs = [a for a in node.aggs if a.id in required] if node.keys else node.aggs
        need = set(node.keys) | {a.arg for a in node.aggs if a.arg} | \
            {o[0] for a in node.aggs for o in a.order} | {a.keep for a in node.aggs if a.keep}
        node.input = prune(node.input, need)
        return node
    if isinstance(node, Join):
        lids, rids = id_set(node.left), id_set(node.right)
        extra = set().union(*(k.col_ids() for k in node.left_keys + node.right_keys)) \
            if node.left_keys else set()
        if node.residual is not None:
            extra |= node.residual.col_ids()
        node.left = prune(node.left, (required | extra) & lids)
        node.right = prune(node.right, (required | extra) & rids)
        return node
    if isinstance(node, Sort):
        need = required | set().union(*(k.expr.col_ids() for k in node.keys))
        node.input = prune(node.input, need)
        return node
    if isinstance(node, (Limit, Sample, PercentLimit)):
        node.input = prune(node.input, required)
        return node
    if isinstance(node, SetOp):
        node.left = prune(node.left, id_set(node.left))
        node.right = prune(node.right, id_set(node.right))
        return node
    if isinstance(node, RecursiveCTE):
        node.anchor = prune(node.anchor, id_set(node.anchor))
        node.step = prune(node.step, id_set(node.step))
        return node
    if isinstance(node, Unnest):
        elements = {i for i, _ in node.elements}
        node.input = prune(node.input, (required - elements) | set(node.lists))
        return node
    if isinstance(node, (WorkTable, Shared)):
        return node
    if isinstance(node, Window):
        node.calls = [c for c in node.calls if c.id in required] or node.calls[:1]
        need = set(required) - {c.id for c in node.calls}
        for c in node.calls:
            for e in c.args + c.partition:
                need |= e.col_ids()
            for k in c.order:
                need |= k.expr.col_ids()
        node.input = prune(node.input, need & id_set(node.input))
        return node
    return node
