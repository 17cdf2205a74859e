"""Cardinality estimates: row counts, predicate selectivity and distinct-value counts.

Join ordering, the build side of hash joins, index joins and the early filters of a scan
all steer by these. Sizes come from the scans' row counts and sampled statistics
(``stats.TableStats``); without them, fixed guesses stand in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from engine import predicate as P

from ..expr import Call, Col, Expr, Lit, Param, conjuncts
from ..functions.udf import is_kernel
from ..plan import (
    Aggregate,
    Filter,
    Generated,
    Join,
    Limit,
    Node,
    Project,
    Scan,
    Shared,
    Sort,
    Values,
)
from ..stats import as_number
from .engine_predicates import scan_names, to_engine_predicate
from .util import has_subquery, id_set

FILTER_SELECTIVITY = 0.3
EQ_SELECTIVITY = 0.05  # equality with a constant when the distinct count is unknown
LIKE_SELECTIVITY = 0.1


# Estimates of one top-level call, by node: estimating a join asks for its inputs' sizes and
# distinct counts, which ask for theirs again, so without a memo a chain of n joins costs 2^n.
MEMO: ContextVar[dict | None] = ContextVar("cardinality_memo", default=None)


# Row counts of plan nodes already run (by node identity), which ``estimate`` takes over its
# guesses: set by the executor (``Executor.estimate``) for choices made while running, such
# as a hash join's build side once a filtered aggregate below it turned out small.
KNOWN: ContextVar[dict[int, int] | None] = ContextVar("cardinality_known", default=None)


def memoized(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(node, *args)`` computed once per node and arguments within one outermost call
    (the plan does not change during it)."""
    def wrapped(node: Node, *args: Any) -> Any:
        memo = MEMO.get()
        if memo is None:
            token = MEMO.set({})
            try:
                return wrapped(node, *args)
            finally:
                MEMO.reset(token)
        key = (fn.__name__, id(node), *args)
        hit = memo.get(key)
        if hit is None or hit[0] is not node:  # (the node is held: its id is not reused)
            hit = memo[key] = (node, fn(node, *args))
        return hit[1]
    return functools.wraps(fn)(wrapped)


@memoized
def col_ndv(node: Node, ids: tuple[str, ...]) -> float | None:
    """Distinct count of the columns ``ids`` of ``node``'s output, if we can tell."""
    if isinstance(node, Scan):
        src = {i: s for s, i, _ in node.columns}
        if node.stats is None or not all(i in src for i in ids):
            return None
        return node.stats.ndv(tuple(src[i] for i in ids))
    if isinstance(node, (Filter, Sort, Limit)):
        v = col_ndv(node.input, ids)
        return None if v is None else min(v, estimate(node))
    if isinstance(node, Project):
        m = {i: e for i, e in node.exprs}
        inner = []
        for i in ids:
            e = m.get(i)
            if not isinstance(e, Col):
                return None
            inner.append(e.id)
        return col_ndv(node.input, tuple(inner))
    if isinstance(node, Aggregate):
        if node.keys and set(node.keys) <= set(ids):
            return estimate(node)  # group keys are unique in the output
        if all(i in node.keys for i in ids):
            v = col_ndv(node.input, ids)
            return None if v is None else min(v, estimate(node))
        return None
    if isinstance(node, Shared):
        inner = dict(zip(node.out_ids(), node.holder.plan.out_ids(), strict=True))
        return col_ndv(node.holder.plan, tuple(inner[i] for i in ids))
    if isinstance(node, Join):
        lids = id_set(node.left)
        side = node.left if set(ids) <= lids else node.right if set(ids) <= id_set(node.right) \
            else None
        if side is None:
            return None
        v = col_ndv(side, ids)
        return None if v is None else min(v, estimate(node))
    return None


def pred_selectivity(node: Node, p: Expr) -> float:
    """The fraction of ``node``'s rows the bound condition ``p`` keeps."""
    if isinstance(p, Call):
        if p.fn == "and_kleene":
            return math.prod(pred_selectivity(node, a) for a in p.args)
        if p.fn == "or_kleene":
            return min(1.0, sum(pred_selectivity(node, a) for a in p.args))
        if p.fn == "equal" and len(p.args) == 2:
            a, b = p.args
            if isinstance(b, Col) and isinstance(a, Lit):
                a, b = b, a
            if isinstance(a, Col) and isinstance(b, Lit):
                d = col_ndv(node, (a.id,))
                return 1.0 / d if d else EQ_SELECTIVITY
            return EQ_SELECTIVITY
        if p.fn == "if_else" and p.args and isinstance(p.args[0], Call) and \
                p.args[0].fn == "is_null":  # IN list
            inner = p.args[2]
            vs = getattr(inner, "_values", None)
            x = inner.args[0] if isinstance(inner, Call) and inner.args else None
            if vs is not None and isinstance(x, Col):
                d = col_ndv(node, (x.id,))
                if d:
                    return min(1.0, len(vs) / d)
            return FILTER_SELECTIVITY
        if p.fn in ("match_like", "match_substring", "match_substring_regex", "starts_with",
                    "ends_with") or is_kernel(p.fn, "like_contains"):
            return LIKE_SELECTIVITY
        if p.fn == "invert":
            return 1.0 - pred_selectivity(node, p.args[0]) * 0.9
        if p.fn == "is_null":
            return 0.1
    return FILTER_SELECTIVITY


def range_fraction(node: Scan, column: str, parts: list[Any]) -> float | None:
    """Fraction of [min, max] of ``column`` that comparisons ``parts`` leave."""
    bounds = node.stats.minmax(column) if node.stats is not None else None
    if bounds is None:
        return None
    lo, hi = bounds
    a, b = lo, hi
    for x in parts:
        # a parameter's value (a prepared template): reading it makes the plan per value
        v = as_number(x.value.value if isinstance(x.value, Param) else x.value)
        if v is None:
            return None
        if x.op in (">", ">="):
            a = max(a, v)
        else:
            b = min(b, v)
    if hi <= lo:
        return 1.0 if a <= lo <= b else 0.0
    return min(1.0, max(0.0, (b - a) / (hi - lo)) + 1.0 / max(node.est_rows, 1))


def engine_selectivity(node: Scan, p: Any) -> float:
    """The fraction of the scan's rows the engine predicate ``p`` keeps."""
    if isinstance(p, P.And):
        ranges: dict[str, list[Any]] = {}
        sel = 1.0
        for x in p.parts:
            if isinstance(x, P.Compare) and x.op in ("<", "<=", ">", ">="):
                ranges.setdefault(x.column, []).append(x)
            else:
                sel *= engine_selectivity(node, x)
        for column, parts in ranges.items():
            f = range_fraction(node, column, parts)
            sel *= f if f is not None else math.prod(
                engine_selectivity(node, x) for x in parts) * range_pairs(P.And(
                    tuple(parts)))
        return sel
    if isinstance(p, P.Or):
        return min(1.0, sum(engine_selectivity(node, x) for x in p.parts))
    if isinstance(p, P.Compare):
        if p.op == "==":
            d = node.stats.ndv((p.column,)) if node.stats is not None else None
            return 1.0 / d if d else EQ_SELECTIVITY
        if p.op == "!=":
            return 0.9
        f = range_fraction(node, p.column, [p])
        return f if f is not None else FILTER_SELECTIVITY
    if isinstance(p, P.In):
        d = node.stats.ndv((p.column,)) if node.stats is not None else None
        return min(1.0, len(p.values) / d) if d else FILTER_SELECTIVITY
    return FILTER_SELECTIVITY


def range_pairs(p: Any) -> float:
    """A two-sided range on one column (``a >= x AND a < y``) counts once, not twice."""
    if not isinstance(p, P.And):
        return 1.0
    cols: dict[str, set[str]] = {}
    for x in p.parts:
        if isinstance(x, P.Compare) and x.op in ("<", "<=", ">", ">="):
            cols.setdefault(x.column, set()).add("lo" if x.op in (">", ">=") else "hi")
    pairs = sum(1 for v in cols.values() if len(v) == 2)
    return (1.0 / FILTER_SELECTIVITY) ** pairs * 0.5 ** pairs if pairs else 1.0


@memoized
def estimate(node: Node) -> float:
    """The number of rows ``node`` is expected to output (at least 1)."""
    known = KNOWN.get()
    if known is not None and id(node) in known:
        return max(1.0, float(known[id(node)]))
    if isinstance(node, Scan):
        n = float(node.est_rows)
        if node.predicate is not None:
            n *= min(1.0, engine_selectivity(node, node.predicate))
        return max(n, 1.0)
    if isinstance(node, Filter):
        if isinstance(node.input, Scan):
            names = scan_names(node.input)
            sel = 1.0
            eps = []
            for c in conjuncts(node.cond):
                ep = None if has_subquery(c) else to_engine_predicate(c, names)
                if ep is None:
                    sel *= pred_selectivity(node.input, c)
                else:
                    eps.append(ep)
            if eps:  # together: both ends of a range on a column are one range
                sel *= engine_selectivity(node.input, eps[0] if len(eps) == 1 else
                                          P.And(tuple(eps)))
            return max(1.0, estimate(node.input) * sel)
        return max(1.0, estimate(node.input) * pred_selectivity(node.input, node.cond))
    if isinstance(node, Values):
        return float(node.table.num_rows)
    if isinstance(node, Generated):
        return float(max(1, node.est_rows))
    if isinstance(node, Aggregate):
        if not node.keys:
            return 1.0
        inp = estimate(node.input)
        d = col_ndv(node.input, tuple(node.keys))
        return max(1.0, min(inp, d) if d else inp * 0.3)
    if isinstance(node, Join):
        return join_estimate(node)
    if isinstance(node, Limit) and node.limit is not None:
        return min(float(node.limit), estimate(node.input))
    if isinstance(node, Shared):
        return estimate(node.holder.plan)
    kids = node.children()
    return max((estimate(k) for k in kids), default=1.0)


def join_estimate(node: Join) -> float:
    """The rows a join outputs: from the distinct counts of its keys on either side."""
    if node.kind in ("semi", "anti"):
        lc = estimate(node.left)
        if not node.left_keys:
            return lc * 0.5
        dl = side_ndv(node.left, node.left_keys, lc)
        dr = side_ndv(node.right, node.right_keys, estimate(node.right))
        frac = min(1.0, dr / max(dl, 1.0))
        return max(1.0, lc * (frac if node.kind == "semi" else max(0.1, 1.0 - frac)))
    lc, rc = estimate(node.left), estimate(node.right)
    if node.kind == "cross" or not node.left_keys:
        out = lc * rc
    else:
        out = join_card(node.left, node.right, lc, rc, node.left_keys, node.right_keys)
    if node.kind in ("left", "full"):
        out = max(out, lc)
    return max(1.0, out)


def side_ndv(node: Node, keys: list[Expr], card: float) -> float:
    """Distinct count of join ``keys`` over ``node`` (``card`` rows), at most ``card``."""
    ids = []
    for k in keys:
        if not isinstance(k, Col):
            return card
        ids.append(k.id)
    d = col_ndv(node, tuple(ids))
    return min(d, card) if d else card


def join_card(left: Node, right: Node, lc: float, rc: float, lkeys: list[Expr],
              rkeys: list[Expr]) -> float:
    """Rows of an equi-join: ``|L| * |R| / max(ndv(L keys), ndv(R keys))``."""
    dl = side_ndv(left, lkeys, lc)
    dr = side_ndv(right, rkeys, rc)
    return lc * rc / max(dl, dr, 1.0)
