"""Aggregation reduced by a join: ``Agg(R) GROUP BY k JOIN S ON k = S.x`` with S small
aggregates only the rows of R whose ``k`` occurs in S; when R is a join, the rows of the
relation in it that ``k`` comes from."""

from __future__ import annotations

from ..expr import Col, cast
from ..plan import Aggregate, Join, Node, Project
from ..types import common_type
from .cardinality import estimate
from .plan_copy import copy_plan, copyable
from .util import id_set


def aggregate_below(node: Node) -> tuple[Aggregate | None, dict[str, str]]:
    """The Aggregate under a chain of column-renaming Projects, with output id -> key id."""
    mapping = {i: i for i in node.out_ids()}
    while isinstance(node, Project):
        inner = {i: e.id for i, e in node.exprs if isinstance(e, Col)}
        mapping = {o: inner[m] for o, m in mapping.items() if m in inner}
        node = node.input
    if isinstance(node, Aggregate) and node.keys:
        return node, {o: m for o, m in mapping.items() if m in node.keys}
    return None, {}


def reduce_aggregates(j: Join) -> None:
    """``Agg(R) GROUP BY k JOIN S ON k = S.x`` with S small: aggregate only the rows of R
    whose k occurs in S (a semi join below the aggregation; S is read twice)."""
    for agg_side, other, akeys, okeys in ((j.left, j.right, j.left_keys, j.right_keys),
                                          (j.right, j.left, j.right_keys, j.left_keys)):
        agg, mapping = aggregate_below(agg_side)
        if agg is None:
            continue
        pairs = [(mapping[a.id], o) for a, o in zip(akeys, okeys, strict=True)
                 if isinstance(a, Col) and a.id in mapping]
        if not pairs or not copyable(other):
            continue
        if estimate(other) * 4 > estimate(agg.input):
            continue
        types = dict(agg.input.output)
        semi = Join(agg.input, copy_plan(other), "semi",
                    [Col(k, types[k]) for k, _ in pairs], [o for _, o in pairs])
        for idx, (a, b) in enumerate(zip(semi.left_keys, semi.right_keys, strict=True)):
            if a.type != b.type:
                t = common_type(a.type, b.type)
                semi.left_keys[idx], semi.right_keys[idx] = cast(a, t), cast(b, t)
        agg.input = sunk(semi)


def sunk(semi: Join) -> Node:
    """``semi`` moved below the renaming projections under it and into the side
    of each inner join there that holds its keys, while that side is still several times
    the size of the semi join's build side: the rows it drops then never reach those joins.
    (TPC-H Q2's subquery: the 747 parts the outer query wants filter partsupp's 800 K rows
    before they join the European suppliers, instead of the 159 K rows that join makes.)
    A semi join on one side's columns commutes with an inner join and a rename."""
    node = semi.left
    if not all(isinstance(k, Col) for k in semi.left_keys):
        return semi
    if isinstance(node, Project):
        exprs = dict(node.exprs)
        below = [exprs.get(k.id) for k in semi.left_keys]
        if not all(isinstance(e, Col) and e.type == k.type
                   for e, k in zip(below, semi.left_keys, strict=True)):
            return semi
        semi.left_keys = list(below)  # type: ignore[arg-type]  # all Cols (checked)
        semi.left = node.input
        node.input = sunk(semi)
        return node
    if isinstance(node, Join) and node.kind == "inner":
        need = {k.id for k in semi.left_keys}  # type: ignore[attr-defined]  # Cols
        small = estimate(semi.right)
        for side in ("left", "right"):
            child = getattr(node, side)
            if need <= id_set(child) and small * 4 <= estimate(child):
                semi.left = child
                setattr(node, side, sunk(semi))
                return node
    return semi
