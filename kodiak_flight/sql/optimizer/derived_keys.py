"""Group keys computed from other group keys, computed after the aggregation.

``GROUP BY ClientIP, ClientIP - 1, ClientIP - 2`` (ClickBench's Q35; reports grouping by a
date and by its month) forms the same groups as ``GROUP BY ClientIP``: a key that is a
function of other keys alone splits no group. Hashing the extra keys costs as much per row
as the first; computed once per group after the aggregation, they cost nothing per row.

A key qualifies when its expression in the projection under the aggregation reads only
columns that other keys pass through unchanged, and calls only functions whose result
depends on their arguments alone (``shared_subexpressions.SHAREABLE``). It raises where
the original would: the groups hold every value the rows held.
"""

from __future__ import annotations

from ..expr import Call, Col, Expr, Lit, Param, substitute
from ..plan import Aggregate, Node, Project
from .shared_subexpressions import SHAREABLE
from .util import rewrite_aggregates


def compute_derived_keys(node: Node) -> Node:
    """The rule: keys that are functions of other keys computed after the aggregation."""
    return rewrite_aggregates(node, _rewritten)


def _rewritten(agg: Aggregate) -> Node | None:
    if len(agg.keys) < 2 or not isinstance(agg.input, Project):
        return None
    exprs = dict(agg.input.exprs)
    passed = {e.id: k for k in agg.keys if isinstance(e := exprs[k], Col)}  # source -> key
    derived = {k: e for k in agg.keys if not isinstance(e := exprs[k], Col)
               and _computable(e, passed)}
    if not derived:
        return None
    kept = [k for k in agg.keys if k not in derived]
    if not kept:  # constant keys alone: no rows must still make no groups
        return None
    types = dict(agg.output)
    out = [(k, substitute(derived[k], {s: Col(key, types[key]) for s, key in passed.items()})
            if k in derived else Col(k, types[k])) for k in agg.keys]
    out += [(a.id, Col(a.id, a.type)) for a in agg.aggs]
    return Project(Aggregate(agg.input, kept, agg.aggs), out)


def _computable(e: Expr, passed: dict[str, str]) -> bool:
    """Whether ``e`` reads only ``passed`` columns through deterministic functions."""
    for x in e.walk():
        if isinstance(x, Col):
            if x.id not in passed:
                return False
        elif isinstance(x, Call):
            if x.fn not in SHAREABLE:
                return False
        elif not isinstance(x, Lit) or isinstance(x, Param):
            return False
    return True
