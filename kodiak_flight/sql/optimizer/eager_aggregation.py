"""Aggregation before a join, by the join key, when the join does not reduce the rows.

TPC-H Q13 counts each customer's orders: ``customer LEFT JOIN orders ON c_custkey =
o_custkey GROUP BY c_custkey`` with ``count(o_orderkey)``. The join probes and copies 1.5 M
order rows only for the aggregation to fold them into 150 K groups. Counting the orders by
``o_custkey`` first folds them into about 100 K rows in one hash pass, and the join then
matches those (``count`` becomes the ``sum`` of the partial counts).

``Agg(G; f(x)) over L JOIN S ON L.a = S.b`` (G from L, x from S, the join inner or a LEFT
JOIN keeping L) is ``Agg(G; g(p)) over L JOIN (Agg(S.b; p = f(x)) over S)``: every L row
meets the same S rows either way, so one partial value per key stands for them. ``g`` is
``sum`` for ``count`` and ``sum``, ``min``/``max`` for themselves; a row of L that meets
nothing gets NULL from the LEFT JOIN, which ``count`` reads as 0 (``count(*)``: 1) and the
others as NULL, as over the unreduced join. Duplicate keys in L need no care: each L row
still gets its key's partial value once per row, as it got the key's S rows.

The LEFT JOIN's hashed side is chosen again, for the reduced sizes: hashing the preserved
side (as Q13 did before, customer being the smaller) makes Acero emit its unmatched rows
last in its hash table's order, and the aggregation above then took 120 ms of CPU to group
150 K rows arriving in that order (7 ms in scan order).

Only applied where the statistics say S has at most half as many distinct join keys as rows
and the join keeps at least half of S's rows (so Q18, whose join keeps 399 of 6 M lineitem
rows, keeps the join first); the grouping and aggregate columns must reach the join through
column renames only.
"""

from __future__ import annotations

import pyarrow as pa

from ..binder.context import new_id
from ..expr import Call, Col, Expr, Lit
from ..plan import AggCall, Aggregate, Join, Node, Project
from .cardinality import estimate, side_ndv
from .util import id_set, rewrite_aggregates

# partial aggregate -> the aggregate that combines the partial values
COMBINE = {"count": "sum", "count_star": "sum", "sum": "sum", "min": "min", "max": "max"}


def aggregate_early(node: Node) -> Node:
    """The rule: every qualifying aggregation over a join aggregates its other side first."""
    return rewrite_aggregates(node, rewritten)


def traced(agg: Aggregate) -> tuple[Join, dict[str, str]] | None:
    """The join under ``agg`` (through renaming projections) and, for each column ``agg``
    reads, the join output column it is."""
    need = list(agg.keys) + [a.arg for a in agg.aggs if a.arg is not None]
    ids = {i: i for i in need}
    node = agg.input
    while isinstance(node, Project):
        exprs = dict(node.exprs)
        for i, cur in ids.items():
            e = exprs.get(cur)
            if not isinstance(e, Col):
                return None
            ids[i] = e.id
        node = node.input
    if not isinstance(node, Join) or node.residual is not None or not node.left_keys:
        return None
    return node, ids


def qualifies(agg: Aggregate) -> bool:
    """Aggregates that combine from per-key partial values (no DISTINCT, no ordering)."""
    return bool(agg.keys) and bool(agg.aggs) and all(
        a.func in COMBINE and not a.distinct and not a.order and a.extra is None
        for a in agg.aggs)


def rewritten(agg: Aggregate) -> Node | None:
    """``agg`` with its join's aggregated side reduced by the join key first, or None."""
    if not qualifies(agg):
        return None
    found = traced(agg)
    if found is None:
        return None
    join, ids = found
    args = {ids[a.arg] for a in agg.aggs if a.arg is not None}
    keys = {ids[k] for k in agg.keys}
    sides = [("right", join.right, join.right_keys, join.left)]
    if join.kind == "inner":
        sides.append(("left", join.left, join.left_keys, join.right))
    elif join.kind != "left":
        return None
    for name, side, side_keys, other in sides:
        if not all(isinstance(k, Col) for k in side_keys):
            continue
        if not args <= id_set(side) or not keys <= id_set(other):
            continue
        if not worth_it(join, side, side_keys):
            continue
        return regrouped(agg, join, name, side, side_keys, ids)
    return None


def worth_it(join: Join, side: Node, side_keys: list[Expr]) -> bool:
    """Whether the side folds to at most half its rows by the join key, and the join keeps
    at least half of them (a join that drops most rows is cheaper to run first)."""
    rows = estimate(side)
    return side_ndv(side, side_keys, rows) * 2 <= rows and estimate(join) * 2 >= rows


def regrouped(agg: Aggregate, join: Join, name: str, side: Node, side_keys: list[Expr],
              ids: dict[str, str]) -> Node:
    """The rewritten plan: partial aggregates by the join key on ``side``, the join, then
    the original groups combining the partial values."""
    partial, final, fills = [], [], []
    for a in agg.aggs:
        pid, fid = new_id(), new_id()
        t = pa.int64() if a.func in ("count", "count_star") else a.type
        arg = ids[a.arg] if a.arg is not None else None
        partial.append(AggCall(pid, a.func, arg, t))
        final.append(AggCall(a.id, COMBINE[a.func], fid, a.type))
        fills.append((fid, filled(Col(pid, t), a.func, join.kind)))
    reduced = Aggregate(side, [k.id for k in side_keys if isinstance(k, Col)], partial)
    left, right = (join.left, reduced) if name == "right" else (reduced, join.right)
    new = Join(left, right, join.kind, list(join.left_keys), list(join.right_keys))
    if join.kind == "left":  # as pushdown chooses, for the new sizes (see above)
        new.build_left = estimate(left) * 2 < estimate(right)
    types = dict(new.output)
    exprs: list[tuple[str, Expr]] = [(k, Col(ids[k], types[ids[k]])) for k in agg.keys]
    return Aggregate(Project(new, exprs + fills), list(agg.keys), final)


def filled(col: Col, func: str, kind: str) -> Expr:
    """A partial count read as 0 (``count(*)``: 1, the row itself) where a LEFT JOIN found
    no match; other partial values stay NULL there."""
    if kind != "left" or func not in ("count", "count_star"):
        return col
    return Call("coalesce", (col, Lit(1 if func == "count_star" else 0, pa.int64())), None,
                pa.int64())
