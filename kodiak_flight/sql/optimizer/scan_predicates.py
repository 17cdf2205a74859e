"""Conditions pushed into table scans: the engine evaluates those a key, an index or
min/max statistics help with; the rest become filters, the most selective cheap ones
first."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from engine import predicate as P

from ..expr import Call, Expr
from ..plan import Node, Scan
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
    run on the (fewer) rows it keeps instead of on every row. Whether that pays also
    depends on the columns the first filter copies, known only once the plan is pruned:
    ``merge_scan_filters`` undoes the split where it does not."""
    types = dict(node.output)
    scored = []
    for cs in condition_groups(rest):
        sel = group_selectivity(node, cs, names)
        scored.append((sel, sum(condition_cost(c, types) for c in cs), cs))
    total = sum(c for _, c, _ in scored)
    best = min(scored, key=lambda x: x[1] + x[0] * (total - x[1]))
    if best[0] > 0.5 or len(scored) < 2:
        return with_filter(node, rest)
    others = [c for _, _, cs in scored if cs is not best[2] for c in cs]
    return with_filter(with_filter(node, best[2]), others)


def condition_groups(conds: list[Expr]) -> list[list[Expr]]:
    """``conds`` grouped by the set of columns each reads."""
    groups: dict[frozenset, list[Expr]] = {}
    for c in conds:
        groups.setdefault(frozenset(c.col_ids()), []).append(c)
    return list(groups.values())


def group_selectivity(node: Scan, cs: list[Expr], names: dict[str, str]) -> float:
    """The fraction of the scan's rows the conjuncts ``cs`` keep together."""
    eps = [None if has_subquery(c) else to_engine_predicate(c, names) for c in cs]
    if all(e is not None for e in eps):
        return engine_selectivity(node, eps[0] if len(eps) == 1 else P.And(tuple(eps)))
    return math.prod(pred_selectivity(node, c) for c in cs)


def split_pays(node: Scan, first: list[Expr], then: list[Expr]) -> bool:
    """Whether filtering the scan's rows by ``first`` and then by ``then`` costs less than
    one filter of both: the second runs on fewer rows, but the first copies its survivors
    of every column the scan gives (Acero has no selection vectors). TPC-H Q6 ran about
    40% slower as a date filter copying four columns, 15% of lineitem, before its three
    decimal comparisons."""
    types = dict(node.output)
    sel = group_selectivity(node, first, scan_names(node))
    cost = sum(condition_cost(c, types) for c in first)
    rest = sum(condition_cost(c, types) for c in then)
    carry = sum(copy_cost(t) for t in types.values())
    return cost + carry * min(1.0, COPY_RAMP * sel) + sel * rest < cost + rest


# Costs per input row, in units of one decimal128 comparison (about 2.5 ns on this
# project's 2-core reference machine, pyarrow 26; measured on TPC-H lineitem SF1): a
# comparison on a fixed-width 64-bit-or-narrower column costs a fifth of that, on strings
# three times, LIKE or a string function eight; a filter copies a surviving value of such a column for about 0.6, of a
# decimal128 for 1.0, of a string for 2.0. Below ~15% survivors the copy cost falls with
# the share that survives (the mask scan remains), hence the ramp.
COPY_RAMP = 6.0


def condition_cost(c: Expr, types: dict[str, Any]) -> float:
    """The cost per row of evaluating conjunct ``c`` (its widest column decides)."""
    ts = [types.get(i) for i in c.col_ids()]
    if any(is_stringy(t) for t in ts):
        return 3.0 if plain_comparison(c) else 8.0
    if ts and all(t is not None and is_narrow(t) for t in ts):
        return 0.2 * len(ts) if len(ts) > 1 else 0.2
    return 1.0


PLAIN = frozenset({"equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                   "is_in", "is_null", "is_valid", "if_else", "and_kleene", "or_kleene",
                   "invert"})


def plain_comparison(c: Expr) -> bool:
    """Whether ``c`` only compares columns with values (no LIKE, no string functions: those
    cost several times a comparison per row)."""
    if isinstance(c, Call):
        return c.fn in PLAIN and all(plain_comparison(a) for a in c.args)
    return True


def copy_cost(t: Any) -> float:
    """The cost per surviving row of a filter copying a column of type ``t``."""
    if is_stringy(t) or (t is not None and pa.types.is_string_view(t)):
        return 2.0
    return 0.6 if t is not None and is_narrow(t) else 1.0


def is_narrow(t: Any) -> bool:
    """A fixed-width type of at most 64 bits (integers, floats, dates, times, booleans)."""
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_temporal(t)
            or pa.types.is_boolean(t)) and not pa.types.is_interval(t)


def is_stringy(t: Any) -> bool:
    """Whether conditions on a column of type ``t`` cost more (strings, binary)."""
    return t is not None and (pa.types.is_string(t) or pa.types.is_large_string(t) or
                              pa.types.is_binary(t))
