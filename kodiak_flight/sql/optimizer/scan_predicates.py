"""Conditions pushed into table scans: the engine evaluates those a key, an index or
min/max statistics help with; the rest become filters, the most selective cheap ones
first."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from engine import predicate as P

from ..expr import Call, Col, Expr, Lit
from ..functions.udf import is_kernel
from ..plan import Filter, Node, Scan
from .cardinality import engine_selectivity, pred_selectivity
from .engine_predicates import scan_names, to_engine_predicate
from .util import has_subquery, with_filter


def engine_helps(node: Scan, ep: P.Predicate) -> bool:
    """Whether the engine can do better than a filter: a key or index answers it, or the
    column is clustered so min/max statistics skip segments. Otherwise an Acero filter
    (parallel, vectorised) is cheaper than the engine's per-segment filtering."""
    cols = ep.columns()
    if not cols:
        return False
    if cols & node.keyed:
        return True
    if isinstance(ep, P.Compare) and ep.op == "==" and \
            pa.types.is_string_view(node.raw_types.get(ep.column, pa.null())):
        # the engine filters its stored strings before turning them into string_view,
        # sparing the conversions (theirs and ours) for the rows an equality drops
        return True
    if node.stats is None:
        return True  # no statistics: let the engine try
    return all(node.stats.clustered(c) for c in cols)


def push_into_scan(node: Scan, preds: list[Expr]) -> Node:
    """``node`` with the conjuncts the engine helps with in its predicate, the rest in
    filters above it."""
    names = scan_names(node)
    pushed: list[P.Predicate] = []
    rest: list[Expr] = []
    for p in preds:
        ep = None if has_subquery(p) else to_engine_predicate(p, names)
        if ep is None or not engine_helps(node, ep):
            rest.append(p)
        else:
            pushed.append(ep)
    if pushed:
        parts = ([node.predicate] if node.predicate is not None else []) + pushed
        node.predicate = parts[0] if len(parts) == 1 else P.And(tuple(parts))
    if len(rest) < 2:
        return with_filter(node, rest)
    return selective_first(node, rest, names)


def selective_first(node: Scan, rest: list[Expr], names: dict[str, str]) -> Node:
    """The cheapest-yet-selective conjuncts first, in a filter of their own: the others then
    run on the (fewer) rows it keeps instead of on every row."""
    types = dict(node.output)
    groups: dict[frozenset, list[Expr]] = {}
    for c in rest:
        groups.setdefault(frozenset(c.col_ids()), []).append(c)
    scored = []
    for cs in groups.values():
        eps = [None if has_subquery(c) else to_engine_predicate(c, names) for c in cs]
        sampled = [sampled_share(node, c, names) for c in cs]
        if all(s is not None for s in sampled):
            sel = math.prod(s for s in sampled if s is not None)
        elif all(e is not None for e in eps):
            sel = engine_selectivity(node, eps[0] if len(eps) == 1 else P.And(tuple(eps)))
        else:
            sel = math.prod(pred_selectivity(node, c) for c in cs)
        scored.append((sel, sum(condition_cost(c, types) for c in cs), cs,
                       all(s is not None for s in sampled)))
    total = sum(c for _, c, _, _ in scored)
    best = min(scored, key=lambda x: x[1] + x[0] * (total - x[1]))
    if best[0] > 0.5 or len(scored) < 2:
        return with_filter(node, rest)
    others = [c for _, _, cs, _ in scored if cs is not best[2] for c in cs]
    first = with_filter(node, best[2])
    if best[3] and isinstance(first, Filter):
        first.on_batches = True  # (the estimates without samples may think it keeps all)
    return with_filter(first, others)


# functions that search inside strings: per row they cost several string comparisons
SEARCHES = ("match_like", "match_substring", "match_substring_regex")


def condition_cost(c: Expr, types: dict) -> float:
    """A condition's relative cost per row: a search inside strings (LIKE) 10, another
    condition on strings 3, any other 1."""
    if any(isinstance(x, Call) and (x.fn in SEARCHES or is_kernel(x.fn, "like_contains"))
           for x in c.walk()):
        return 10.0
    return 3.0 if any(is_stringy(types.get(i)) for i in c.col_ids()) else 1.0


def sampled_share(node: Scan, c: Expr, names: dict[str, str]) -> float | None:
    """The share of rows an equality or inequality of a scan column with a constant keeps,
    counted on the table's sample; None for other conditions or without statistics."""
    if node.stats is None or not (isinstance(c, Call) and c.fn in ("equal", "not_equal")):
        return None
    a, b = c.args
    if isinstance(a, Lit) and isinstance(b, Col):
        a, b = b, a
    if not (isinstance(a, Col) and a.id in names and type(b) is Lit and b.value is not None):
        return None
    return node.stats.kept_share(names[a.id], c.fn, b.scalar())


def is_stringy(t: Any) -> bool:
    """Whether conditions on a column of type ``t`` cost more (strings, binary)."""
    return t is not None and (pa.types.is_string(t) or pa.types.is_large_string(t) or
                              pa.types.is_binary(t))
