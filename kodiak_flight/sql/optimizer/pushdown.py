"""Predicate push-down: every conjunct moves to the lowest operator that sees all its
columns, through filters, projections, aggregations and joins, down into engine scans
and hash-join keys. On the way, a LEFT JOIN turns INNER when a filter above rejects the
NULLs it would add, and each tree of inner joins is reordered (``join_order``).
"""

from __future__ import annotations

from ..expr import Call, Col, Expr, Lit, and_all, conjuncts, substitute, volatile
from ..plan import (
    Aggregate,
    Filter,
    Join,
    Limit,
    Node,
    PercentLimit,
    Project,
    RecursiveCTE,
    Sample,
    Scan,
    SecureFilter,
    SetOp,
    Sort,
    Unnest,
    Window,
)
from .cardinality import estimate
from .equivalences import ClassCounter, implied_equalities
from .join_keys import split_keys
from .join_order import attach, flatten_joins, join_edges, join_tree, place_semis
from .or_factoring import derive_for, factored
from .scan_predicates import push_into_scan
from .util import has_subquery, id_set, with_filter

# functions whose result can be non-NULL (so true) when an argument is NULL
NULL_SAFE = {"is_null", "is_valid", "coalesce", "if_else", "case_when", "or_kleene",
             "invert", "is_in", "and_kleene", "fill_null", "make_struct",
             "binary_join_element_wise", "max_element_wise", "min_element_wise",
             "is_nan", "is_inf", "is_finite", "true_unless_null"}


def push_predicates(node: Node) -> Node:
    """The rule: push every filter of the plan down."""
    return push_down(node, [])


def push_down(node: Node, preds: list[Expr]) -> Node:
    """``node`` with the conjuncts ``preds`` (to apply above it) and its own filters pushed
    as far down as they go."""
    preds = factored(preds)
    if isinstance(node, SecureFilter):  # row-level security: only what cannot fail goes by
        safe = [p for p in preds if leakproof(p)]
        node.input = push_down(node.input, safe)
        return with_filter(node, [p for p in preds if p not in safe])
    if isinstance(node, Filter):
        return push_down(node.input, preds + conjuncts(node.cond))
    if isinstance(node, Project):
        mapping = {i: e for i, e in node.exprs}
        below, above = [], []
        for p in preds:
            if p.col_ids() <= set(mapping) and not has_subquery(p) \
                    and not any(volatile(mapping[c]) for c in p.col_ids()):
                below.append(substitute(p, mapping))
            else:
                above.append(p)
        node.input = push_down(node.input, below)
        return with_filter(node, above)
    if isinstance(node, Join):
        if node.kind == "left" and any(rejects_nulls(p, id_set(node.right)) for p in preds):
            node.kind = "inner"
        if node.kind in ("inner", "cross"):
            return reorder(node, preds)
        return push_join(node, preds)
    if isinstance(node, Aggregate):
        keys = set(node.keys)
        # (an aggregate without keys gives its one row even from no input: a constant
        # condition, HAVING 1 = 0, must filter that row, not the input)
        movable = [bool(keys) and p.col_ids() <= keys for p in preds]
        below = [p for p, m in zip(preds, movable, strict=True) if m]
        above = [p for p, m in zip(preds, movable, strict=True) if not m]
        node.input = push_down(node.input, below)
        return with_filter(node, above)
    if isinstance(node, Sort):
        node.input = push_down(node.input, preds)
        return node
    if isinstance(node, Scan):
        return push_into_scan(node, preds)
    if isinstance(node, (Limit, Window, Sample, PercentLimit)):
        node.input = push_down(node.input, [])
        return with_filter(node, preds)
    if isinstance(node, SetOp):
        node.left = push_down(node.left, [])
        node.right = push_down(node.right, [])
        return with_filter(node, preds)
    if isinstance(node, RecursiveCTE):
        node.anchor = push_down(node.anchor, [])
        node.step = push_down(node.step, [])
        return with_filter(node, preds)
    if isinstance(node, Unnest):  # a filter of the input rows may run before they repeat
        elements = {i for i, _ in node.elements}
        node.input = push_down(node.input, [p for p in preds if not p.col_ids() & elements])
        return with_filter(node, [p for p in preds if p.col_ids() & elements])
    return with_filter(node, preds)  # leaves, and shared CTEs (optimised on their own)


def rejects_nulls(p: Expr, right: set[str]) -> bool:
    """True if ``p`` cannot be true when every column of ``right`` is NULL."""
    if not (p.col_ids() & right) or has_subquery(p):
        return False
    return not any(isinstance(x, Call) and x.fn in NULL_SAFE for x in p.walk())


def split_join(node: Join, preds: list[Expr]) -> tuple[list[Expr], list[Expr]]:
    """Split an outer/semi/anti join's conditions: hash keys and residual stay, filters on
    the right input are pushed into it now; returns (filters for the left input, filters
    that stay above the join)."""
    lids, rids = id_set(node.left), id_set(node.right)
    on = factored(conjuncts(node.residual))
    to_left: list[Expr] = []
    to_right: list[Expr] = []
    above: list[Expr] = []
    for p in preds:
        if p.col_ids() <= lids and node.kind in ("left", "semi", "anti"):
            to_left.append(p)
        else:
            above.append(p)
    keep = []
    for c in on:
        ids = c.col_ids()
        if ids and ids <= rids and node.kind in ("left", "semi", "anti") and \
                not has_subquery(c):
            to_right.append(c)
        elif ids and ids <= lids and node.kind == "semi" and not has_subquery(c):
            to_left.append(c)
        else:
            if node.kind in ("left", "semi", "anti") and not has_subquery(c):
                d = derive_for(c, rids)
                if d is not None:
                    to_right.append(d)
            keep.append(c)
    keep = split_keys(node, keep)
    node.residual = and_all(keep)
    node.right = push_down(node.right, to_right)
    return to_left, above


def push_join(node: Join, preds: list[Expr]) -> Node:
    """Push down through an outer, semi or anti join (semi/anti joins over inner joins are
    placed by join ordering)."""
    if node.kind in ("semi", "anti"):
        chain = []
        cur: Node = node
        while isinstance(cur, Join) and cur.kind in ("semi", "anti"):
            chain.append(cur)
            cur = cur.left
        if isinstance(cur, Join) and cur.kind in ("inner", "cross"):
            # semi/anti joins over a join tree: let join ordering place them
            to_left: list[Expr] = []
            above: list[Expr] = []
            for sj in chain:
                tl, ab = split_join(sj, [])
                to_left += tl
                above += ab
            for p in preds:  # a semi/anti join outputs only its left columns
                to_left.append(p)
            return with_filter(reorder(cur, to_left, chain[::-1]), above)
    to_left, above = split_join(node, preds)
    node.left = push_down(node.left, to_left)
    if node.kind in ("semi", "anti", "left") and node.left_keys:
        node.build_left = estimate(node.left) * 2 < estimate(node.right)
    return with_filter(node, above)


def reorder(node: Join, preds: list[Expr], semis: list[Join] | None = None) -> Node:
    """A tree of inner joins with ``preds`` above it, and semi/anti joins ``semis`` over it,
    rebuilt in the cheapest order, each condition pushed into the relation it touches."""
    rels: list[Node] = []
    conds: list[Expr] = []
    flatten_joins(node, rels, conds)
    conds = factored(conds + preds)
    rel_ids = [id_set(r) for r in rels]
    owner = {cid: k for k, ids in enumerate(rel_ids) for cid in ids}
    homes: dict[int, list[Expr]] = {}  # relation -> the conditions on it alone
    spanning: dict[int, list[Expr]] = {}  # relation -> conditions on it and others
    rest = []
    for c in conds:  # (each condition's relations found once: linear in their number)
        ids, sub = c.col_ids(), has_subquery(c)
        touched = sorted({owner[x] for x in ids if x in owner})
        if ids and not sub and len(touched) == 1 and ids <= rel_ids[touched[0]]:
            homes.setdefault(touched[0], []).append(c)
            continue
        rest.append(c)
        if len(touched) > 1 and not sub:
            for k in touched:
                spanning.setdefault(k, []).append(c)
    conds = rest
    for i, r in enumerate(rels):
        mine = homes.get(i, [])
        for c in spanning.get(i, []):  # weaker per-relation filters implied by ORs
            d = derive_for(c, rel_ids[i])
            if d is not None:
                mine.append(d)
        rels[i] = push_down(r, mine)
    cards = [estimate(r) for r in rels]
    conds = conds + implied_equalities(conds, rel_ids)
    edges = join_edges(rels, rel_ids, cards, conds)
    late = place_semis(semis, rels, rel_ids, cards, edges) if semis else []
    tree = join_tree(cards, edges, ClassCounter(conds, rel_ids))
    root = attach(tree, rels, conds)
    for sj in most_selective_first(late, root):
        sj.left = root
        sj.build_left = bool(sj.left_keys) and estimate(root) * 2 < estimate(sj.right)
        root = sj
    return root


def most_selective_first(semis: list[Join], root: Node) -> list[Join]:
    """Semi/anti joins over the same rows in the order that drops rows soonest: each probes
    its own input whatever the order, and hashes (or probes with) the rows the ones before
    it kept (TPC-H Q21's NOT EXISTS keeps 6% of the rows its EXISTS keeps 96% of)."""
    if len(semis) < 2:
        return semis
    kept = []
    for sj in semis:
        sj.left = root
        kept.append(estimate(sj))
    return [sj for _, _, sj in sorted(zip(kept, range(len(semis)), semis, strict=True))]


# comparisons and logic that cannot raise an error, whatever the row (PostgreSQL's
# "leakproof"): only conditions made of these, columns and constants pass a SecureFilter
_LEAKPROOF = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
              "is_null", "is_valid", "and_kleene", "or_kleene", "invert", "is_in"}


def leakproof(e: Expr) -> bool:
    if isinstance(e, (Col, Lit)):
        return True
    return isinstance(e, Call) and e.fn in _LEAKPROOF and all(leakproof(a) for a in e.args)
