"""Rule-based optimizer: predicate pushdown, join ordering, projection pruning.

The binder emits joins in FROM order with every condition in a filter above them, which
for comma-joined TPC-H queries means cross products. Pushdown turns conditions into join
keys and scan predicates; a greedy join order (largest relation probes, smallest connected
relation builds next) avoids cross products; pruning narrows every scan to the columns used.
"""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from engine import predicate as P

from .expr import Call, Col, Expr, Lit, SubqueryValue, and_all, conjuncts, substitute
from .plan import (
    Aggregate,
    Filter,
    Join,
    Limit,
    Node,
    Project,
    Scan,
    SetOp,
    Sort,
    Values,
    Window,
)

_FILTER_SELECTIVITY = 0.3


def optimize(node: Node) -> Node:
    node = push_down(node, [])
    return prune(node, set(node.out_ids()))


# ---------------------------------------------------------------------------- pushdown


def _ids(node: Node) -> set[str]:
    return set(node.out_ids())


def _filter(node: Node, preds: list[Expr]) -> Node:
    cond = and_all(preds)
    return node if cond is None else Filter(node, cond)


def _has_subquery(e: Expr) -> bool:
    return any(isinstance(x, SubqueryValue) or (isinstance(x, Call) and
                                                 isinstance(x.options, SubqueryValue))
               for x in e.walk())


def push_down(node: Node, preds: list[Expr]) -> Node:
    if isinstance(node, Filter):
        return push_down(node.input, preds + conjuncts(node.cond))
    if isinstance(node, Project):
        mapping = {i: e for i, e in node.exprs}
        below, above = [], []
        for p in preds:
            if p.col_ids() <= set(mapping) and not _has_subquery(p):
                below.append(substitute(p, mapping))
            else:
                above.append(p)
        node.input = push_down(node.input, below)
        return _filter(node, above)
    if isinstance(node, Join):
        if node.kind in ("inner", "cross"):
            return _reorder(node, preds)
        return _push_join(node, preds)
    if isinstance(node, Aggregate):
        keys = set(node.keys)
        below = [p for p in preds if p.col_ids() <= keys]
        above = [p for p in preds if not p.col_ids() <= keys]
        node.input = push_down(node.input, below)
        return _filter(node, above)
    if isinstance(node, Sort):
        node.input = push_down(node.input, preds)
        return node
    if isinstance(node, Scan):
        return _push_scan(node, preds)
    if isinstance(node, (Limit, Window)):
        node.input = push_down(node.input, [])
        return _filter(node, preds)
    if isinstance(node, SetOp):
        node.left = push_down(node.left, [])
        node.right = push_down(node.right, [])
        return _filter(node, preds)
    return _filter(node, preds)


def _split_keys(node: Join, conds: list[Expr]) -> list[Expr]:
    """Move ``left = right`` conjuncts into the join keys; return the rest."""
    lids, rids = _ids(node.left), _ids(node.right)
    rest = []
    for c in conds:
        pair = _equi(c, lids, rids)
        if pair is not None:
            node.left_keys.append(pair[0])
            node.right_keys.append(pair[1])
        else:
            rest.append(c)
    return rest


def _equi(c: Expr, lids: set[str], rids: set[str]) -> tuple[Expr, Expr] | None:
    if isinstance(c, Call) and c.fn == "equal" and not _has_subquery(c):
        a, b = c.args
        ai, bi = a.col_ids(), b.col_ids()
        if ai and bi and ai <= lids and bi <= rids:
            return a, b
        if ai and bi and ai <= rids and bi <= lids:
            return b, a
    return None


def _push_join(node: Join, preds: list[Expr]) -> Node:
    lids, rids = _ids(node.left), _ids(node.right)
    on = conjuncts(node.residual)
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
                not _has_subquery(c):
            to_right.append(c)
        elif ids and ids <= lids and node.kind == "semi" and not _has_subquery(c):
            to_left.append(c)
        else:
            keep.append(c)
    keep = _split_keys(node, keep)
    node.residual = and_all(keep)
    node.left = push_down(node.left, to_left)
    node.right = push_down(node.right, to_right)
    return _filter(node, above)


def _flatten(node: Node, rels: list[Node], conds: list[Expr]) -> None:
    if isinstance(node, Join) and node.kind in ("inner", "cross"):
        _flatten(node.left, rels, conds)
        _flatten(node.right, rels, conds)
        conds.extend(conjuncts(node.residual))
        for a, b in zip(node.left_keys, node.right_keys, strict=True):
            conds.append(Call("equal", (a, b), None, _bool_type()))
        return
    rels.append(node)


def _bool_type() -> Any:
    import pyarrow as pa
    return pa.bool_()


def estimate(node: Node) -> float:
    if isinstance(node, Scan):
        n = float(node.est_rows)
        if node.predicate is not None:
            n *= _FILTER_SELECTIVITY ** len(P.And((node.predicate,)).parts)
        return max(n, 1.0)
    if isinstance(node, Filter):
        return max(1.0, estimate(node.input) * _FILTER_SELECTIVITY ** len(conjuncts(node.cond)))
    if isinstance(node, Values):
        return float(node.table.num_rows)
    if isinstance(node, Aggregate):
        return 1.0 if not node.keys else max(1.0, estimate(node.input) * 0.3)
    if isinstance(node, Join):
        if node.kind in ("semi", "anti"):
            return estimate(node.left) * 0.5
        return max(estimate(node.left), estimate(node.right))
    if isinstance(node, Limit) and node.limit is not None:
        return min(float(node.limit), estimate(node.input))
    kids = node.children()
    return max((estimate(k) for k in kids), default=1.0)


def _reorder(node: Join, preds: list[Expr]) -> Node:
    rels: list[Node] = []
    conds: list[Expr] = []
    _flatten(node, rels, conds)
    conds = conds + preds
    rel_ids = [_ids(r) for r in rels]
    pending = []
    for i, r in enumerate(rels):
        mine = [c for c in conds if c.col_ids() and c.col_ids() <= rel_ids[i]
                and not _has_subquery(c)]
        rels[i] = push_down(r, mine)
        conds = [c for c in conds if not any(c is m for m in mine)]
    pending = conds
    sizes = [estimate(r) for r in rels]
    remaining = list(range(len(rels)))
    start = max(remaining, key=lambda i: sizes[i])
    remaining.remove(start)
    current: Node = rels[start]
    cur_ids = set(rel_ids[start])
    while remaining:
        connected = [i for i in remaining if any(_equi(c, cur_ids, rel_ids[i]) for c in pending)]
        pool = connected or remaining
        nxt = min(pool, key=lambda i: sizes[i])
        remaining.remove(nxt)
        j = Join(current, rels[nxt], "inner" if connected else "cross")
        new_ids = cur_ids | rel_ids[nxt]
        here = [c for c in pending if c.col_ids() <= new_ids and not _has_subquery(c)]
        pending = [c for c in pending if not any(c is h for h in here)]
        rest = _split_keys(j, here)
        if j.left_keys:
            j.kind = "inner"
        j.residual = and_all(rest)
        if j.kind == "cross" and j.residual is not None:
            j.kind = "inner"
        current = j
        cur_ids = new_ids
    return _filter(current, pending)


# ---------------------------------------------------------------------------- scan pushdown

_CMP = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
        "greater_equal": ">="}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def to_engine_predicate(e: Expr, names: dict[str, str]) -> P.Predicate | None:
    """The inspectable engine form of ``e`` over scan columns, or None if not expressible."""
    if isinstance(e, Call):
        if e.fn in _CMP and len(e.args) == 2:
            a, b = e.args
            op = _CMP[e.fn]
            if isinstance(b, Col) and isinstance(a, Lit):
                a, b, op = b, a, _FLIP[op]
            if isinstance(a, Col) and a.id in names and isinstance(b, Lit) and \
                    b.value is not None and b.type == a.type:
                return P.Compare(names[a.id], op, b.value)
            return None
        if e.fn == "is_in" and isinstance(e.options, pc.SetLookupOptions):
            x = e.args[0]
            if isinstance(x, Col) and x.id in names:
                return None  # options are opaque; handled by the if_else form below
        if e.fn == "if_else" and len(e.args) == 3:
            c, v, inner = e.args
            if isinstance(c, Call) and c.fn == "is_null" and isinstance(v, Lit) and \
                    v.value is None and isinstance(inner, Call) and inner.fn == "is_in":
                x = inner.args[0]
                vs = getattr(inner, "_values", None)
                if isinstance(x, Col) and x.id in names and vs is not None:
                    return P.In(names[x.id], tuple(vs))
            return None
        if e.fn in ("is_null", "is_valid") and isinstance(e.args[0], Col) and \
                e.args[0].id in names:
            return P.IsNull(names[e.args[0].id], negated=e.fn == "is_valid")
        if e.fn in ("and_kleene", "or_kleene"):
            parts = [to_engine_predicate(a, names) for a in e.args]
            if any(p is None for p in parts):
                return None
            return P.And(tuple(parts)) if e.fn == "and_kleene" else P.Or(tuple(parts))
    return None


def _push_scan(node: Scan, preds: list[Expr]) -> Node:
    names = {i: s for s, i, t in node.columns if node.raw_types.get(s) == t}
    pushed: list[P.Predicate] = []
    rest: list[Expr] = []
    for p in preds:
        ep = None if _has_subquery(p) else to_engine_predicate(p, names)
        if ep is None:
            rest.append(p)
        else:
            pushed.append(ep)
    if pushed:
        parts = ([node.predicate] if node.predicate is not None else []) + pushed
        node.predicate = parts[0] if len(parts) == 1 else P.And(tuple(parts))
    return _filter(node, rest)


# ---------------------------------------------------------------------------- pruning


def prune(node: Node, required: set[str]) -> Node:
    if isinstance(node, Scan):
        cols = [c for c in node.columns if c[1] in required]
        node.columns = cols or node.columns[:1]
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
        need = set(node.keys) | {a.arg for a in node.aggs if a.arg}
        node.input = prune(node.input, need)
        return node
    if isinstance(node, Join):
        lids, rids = _ids(node.left), _ids(node.right)
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
    if isinstance(node, Limit):
        node.input = prune(node.input, required)
        return node
    if isinstance(node, SetOp):
        node.left = prune(node.left, _ids(node.left))
        node.right = prune(node.right, _ids(node.right))
        return node
    if isinstance(node, Window):
        node.calls = [c for c in node.calls if c.id in required] or node.calls[:1]
        need = set(required) - {c.id for c in node.calls}
        for c in node.calls:
            for e in c.args + c.partition:
                need |= e.col_ids()
            for k in c.order:
                need |= k.expr.col_ids()
        node.input = prune(node.input, need & _ids(node.input))
        return node
    return node
