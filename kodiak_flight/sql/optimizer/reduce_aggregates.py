"""Aggregation reduced by a join: ``Agg(R) GROUP BY k JOIN S ON k = S.x`` with S small
aggregates only the rows of R whose ``k`` occurs in S."""

from __future__ import annotations

from ..expr import Col, cast
from ..plan import Aggregate, Join, Node, Project
from ..types import common_type
from .cardinality import estimate
from .plan_copy import copy_plan, copyable


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
        agg.input = Join(agg.input, copy_plan(other), "semi",
                         [Col(k, types[k]) for k, _ in pairs], [o for _, o in pairs])
        for idx, (a, b) in enumerate(zip(agg.input.left_keys, agg.input.right_keys,
                                         strict=True)):
            if a.type != b.type:
                t = common_type(a.type, b.type)
                agg.input.left_keys[idx], agg.input.right_keys[idx] = cast(a, t), cast(b, t)
