"""Optimizer: predicate pushdown, cost-based join ordering, projection pruning.

The binder emits joins in FROM order with every condition in a filter above them, which
for comma-joined TPC-H queries means cross products. The optimizer

* pushes conjuncts down to the relation they touch, into engine scans where the engine can
  use them (zone maps, B+ tree), and into hash-join keys;
* factors conjuncts common to every branch of an OR out of it, and derives from an OR over
  several relations a weaker filter for each relation every branch constrains (TPC-H Q7,
  Q19);
* turns a LEFT JOIN into an INNER JOIN when a filter above rejects the NULLs it would add;
* orders inner joins by estimated cardinality: exhaustive dynamic programming over
  connected sub-plans (bushy trees) for up to ``DP_LIMIT`` relations, greedy pairing beyond,
  with join sizes from distinct-value counts (``stats``) and the smaller input as the hash
  build side;
* prunes every operator to the columns used above it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine import predicate as P

from .expr import Call, Col, Expr, Lit, SubqueryValue, and_all, conjuncts, substitute
from .plan import (
    Aggregate,
    FileScan,
    Filter,
    Join,
    Limit,
    Node,
    Project,
    RecursiveCTE,
    Scan,
    SetOp,
    Shared,
    Sort,
    Values,
    Window,
    WorkTable,
)
from .types import normalize

_FILTER_SELECTIVITY = 0.3
_EQ_SELECTIVITY = 0.05  # equality with a constant when the distinct count is unknown
_LIKE_SELECTIVITY = 0.1
DP_LIMIT = 9


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


def key(e: Expr) -> Any:
    """A structural identity for expressions (ids, literals, functions and options)."""
    if isinstance(e, Col):
        return ("col", e.id)
    if isinstance(e, Lit):
        return ("lit", repr(e.value), str(e.type))
    if isinstance(e, Call):
        return ("call", e.fn, tuple(key(a) for a in e.args), str(e.options))
    return ("other", id(e))


def _disjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Call) and e.fn == "or_kleene":
        return [d for a in e.args for d in _disjuncts(a)]
    return [e]


def _or_all(parts: list[Expr]) -> Expr:
    out = parts[0]
    for p in parts[1:]:
        out = Call("or_kleene", (out, p), None, pa.bool_())
    return out


def factor_or(e: Expr) -> list[Expr]:
    """``(a AND b) OR (a AND c)`` -> ``[a, b OR c]``: conjuncts every branch shares, out."""
    ds = _disjuncts(e)
    if len(ds) < 2:
        return [e]
    branches = [conjuncts(d) for d in ds]
    common_keys = set.intersection(*({key(c) for c in b} for b in branches))
    if not common_keys:
        return [e]
    common = [c for c in branches[0] if key(c) in common_keys]
    rests = [[c for c in b if key(c) not in common_keys] for b in branches]
    if any(not r for r in rests):  # one branch is just the common part: OR is implied
        return common
    return common + [_or_all([and_all(r) for r in rests])]  # type: ignore[list-item]


def derive_for(e: Expr, ids: set[str]) -> Expr | None:
    """A filter on the columns ``ids`` implied by the OR ``e``: each branch must constrain
    them; the derived filter ORs those constraints (the original stays in place)."""
    ds = _disjuncts(e)
    if len(ds) < 2:
        return None
    parts = []
    for d in ds:
        mine = [c for c in conjuncts(d) if c.col_ids() and c.col_ids() <= ids
                and not _has_subquery(c)]
        if not mine:
            return None
        parts.append(and_all(mine))
    return _or_all(parts)  # type: ignore[arg-type]


def _prepare(preds: list[Expr]) -> list[Expr]:
    out: list[Expr] = []
    for p in preds:
        for c in conjuncts(p):
            out.extend(factor_or(c))
    return out


def push_down(node: Node, preds: list[Expr]) -> Node:
    preds = _prepare(preds)
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
        if node.kind == "left" and any(_rejects_nulls(p, _ids(node.right)) for p in preds):
            node.kind = "inner"
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
    if isinstance(node, RecursiveCTE):
        node.anchor = push_down(node.anchor, [])
        node.step = push_down(node.step, [])
        return _filter(node, preds)
    if isinstance(node, Shared):
        if not node.holder.optimized:
            node.holder.plan = optimize(node.holder.plan)
            node.holder.optimized = True
        return _filter(node, preds)
    return _filter(node, preds)


# functions whose result can be non-NULL (so true) when an argument is NULL
_NULL_SAFE = {"is_null", "is_valid", "coalesce", "if_else", "case_when", "or_kleene",
              "invert", "is_in", "and_kleene", "fill_null", "make_struct",
              "binary_join_element_wise", "max_element_wise", "min_element_wise",
              "is_nan", "is_inf", "is_finite", "true_unless_null"}


def _rejects_nulls(p: Expr, right: set[str]) -> bool:
    """True if ``p`` cannot be true when every column of ``right`` is NULL."""
    if not (p.col_ids() & right) or _has_subquery(p):
        return False
    return not any(isinstance(x, Call) and x.fn in _NULL_SAFE for x in p.walk())


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


def _split_join(node: Join, preds: list[Expr]) -> tuple[list[Expr], list[Expr]]:
    """Split an outer/semi/anti join's conditions: hash keys and residual stay, filters on
    the right input are pushed into it now; returns (filters for the left input, filters
    that stay above the join)."""
    lids, rids = _ids(node.left), _ids(node.right)
    on = _prepare(conjuncts(node.residual))
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
            if node.kind in ("left", "semi", "anti") and not _has_subquery(c):
                d = derive_for(c, rids)
                if d is not None:
                    to_right.append(d)
            keep.append(c)
    keep = _split_keys(node, keep)
    node.residual = and_all(keep)
    node.right = push_down(node.right, to_right)
    return to_left, above


def _push_join(node: Join, preds: list[Expr]) -> Node:
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
                tl, ab = _split_join(sj, [])
                to_left += tl
                above += ab
            for p in preds:  # a semi/anti join outputs only its left columns
                to_left.append(p)
            return _filter(_reorder(cur, to_left, chain[::-1]), above)
    to_left, above = _split_join(node, preds)
    node.left = push_down(node.left, to_left)
    if node.kind in ("semi", "anti", "left") and node.left_keys:
        node.build_left = estimate(node.left) * 2 < estimate(node.right)
    return _filter(node, above)


def _flatten(node: Node, rels: list[Node], conds: list[Expr]) -> None:
    if isinstance(node, Join) and node.kind in ("inner", "cross"):
        _flatten(node.left, rels, conds)
        _flatten(node.right, rels, conds)
        conds.extend(conjuncts(node.residual))
        for a, b in zip(node.left_keys, node.right_keys, strict=True):
            conds.append(Call("equal", (a, b), None, pa.bool_()))
        return
    rels.append(node)


# ---------------------------------------------------------------------------- estimates


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
        lids = _ids(node.left)
        side = node.left if set(ids) <= lids else node.right if set(ids) <= _ids(node.right) \
            else None
        if side is None:
            return None
        v = col_ndv(side, ids)
        return None if v is None else min(v, estimate(node))
    return None


def _pred_selectivity(node: Node, p: Expr) -> float:
    if isinstance(p, Call):
        if p.fn == "and_kleene":
            return math.prod(_pred_selectivity(node, a) for a in p.args)
        if p.fn == "or_kleene":
            return min(1.0, sum(_pred_selectivity(node, a) for a in p.args))
        if p.fn == "equal" and len(p.args) == 2:
            a, b = p.args
            if isinstance(b, Col) and isinstance(a, Lit):
                a, b = b, a
            if isinstance(a, Col) and isinstance(b, Lit):
                d = col_ndv(node, (a.id,))
                return 1.0 / d if d else _EQ_SELECTIVITY
            return _EQ_SELECTIVITY
        if p.fn == "if_else" and p.args and isinstance(p.args[0], Call) and \
                p.args[0].fn == "is_null":  # IN list
            inner = p.args[2]
            vs = getattr(inner, "_values", None)
            x = inner.args[0] if isinstance(inner, Call) and inner.args else None
            if vs is not None and isinstance(x, Col):
                d = col_ndv(node, (x.id,))
                if d:
                    return min(1.0, len(vs) / d)
            return _FILTER_SELECTIVITY
        if p.fn in ("match_like", "match_substring", "match_substring_regex", "starts_with",
                    "ends_with"):
            return _LIKE_SELECTIVITY
        if p.fn == "invert":
            return 1.0 - _pred_selectivity(node, p.args[0]) * 0.9
        if p.fn == "is_null":
            return 0.1
    return _FILTER_SELECTIVITY


def _range_fraction(node: Scan, column: str, parts: list[Any]) -> float | None:
    """Fraction of [min, max] of ``column`` that comparisons ``parts`` leave."""
    bounds = node.stats.minmax(column) if node.stats is not None else None
    if bounds is None:
        return None
    from .stats import as_number
    lo, hi = bounds
    a, b = lo, hi
    for x in parts:
        v = as_number(x.value)
        if v is None:
            return None
        if x.op in (">", ">="):
            a = max(a, v)
        else:
            b = min(b, v)
    if hi <= lo:
        return 1.0 if a <= lo <= b else 0.0
    return min(1.0, max(0.0, (b - a) / (hi - lo)) + 1.0 / max(node.est_rows, 1))


def _engine_selectivity(node: Scan, p: Any) -> float:
    if isinstance(p, P.And):
        ranges: dict[str, list[Any]] = {}
        sel = 1.0
        for x in p.parts:
            if isinstance(x, P.Compare) and x.op in ("<", "<=", ">", ">="):
                ranges.setdefault(x.column, []).append(x)
            else:
                sel *= _engine_selectivity(node, x)
        for column, parts in ranges.items():
            f = _range_fraction(node, column, parts)
            sel *= f if f is not None else math.prod(
                _engine_selectivity(node, x) for x in parts) * _range_pairs(P.And(
                    tuple(parts)))
        return sel
    if isinstance(p, P.Or):
        return min(1.0, sum(_engine_selectivity(node, x) for x in p.parts))
    if isinstance(p, P.Compare):
        if p.op == "==":
            d = node.stats.ndv((p.column,)) if node.stats is not None else None
            return 1.0 / d if d else _EQ_SELECTIVITY
        if p.op == "!=":
            return 0.9
        f = _range_fraction(node, p.column, [p])
        return f if f is not None else _FILTER_SELECTIVITY
    if isinstance(p, P.In):
        d = node.stats.ndv((p.column,)) if node.stats is not None else None
        return min(1.0, len(p.values) / d) if d else _FILTER_SELECTIVITY
    return _FILTER_SELECTIVITY


def _range_pairs(p: Any) -> float:
    """A two-sided range on one column (``a >= x AND a < y``) counts once, not twice."""
    if not isinstance(p, P.And):
        return 1.0
    cols: dict[str, set[str]] = {}
    for x in p.parts:
        if isinstance(x, P.Compare) and x.op in ("<", "<=", ">", ">="):
            cols.setdefault(x.column, set()).add("lo" if x.op in (">", ">=") else "hi")
    pairs = sum(1 for v in cols.values() if len(v) == 2)
    return (1.0 / _FILTER_SELECTIVITY) ** pairs * 0.5 ** pairs if pairs else 1.0


def estimate(node: Node) -> float:
    if isinstance(node, Scan):
        n = float(node.est_rows)
        if node.predicate is not None:
            n *= min(1.0, _engine_selectivity(node, node.predicate))
        return max(n, 1.0)
    if isinstance(node, Filter):
        if isinstance(node.input, Scan):
            names = _scan_names(node.input)
            sel = 1.0
            for c in conjuncts(node.cond):
                ep = None if _has_subquery(c) else to_engine_predicate(c, names)
                sel *= _pred_selectivity(node.input, c) if ep is None else \
                    _engine_selectivity(node.input, ep)
            return max(1.0, estimate(node.input) * sel)
        return max(1.0, estimate(node.input) * _pred_selectivity(node.input, node.cond))
    if isinstance(node, Values):
        return float(node.table.num_rows)
    if isinstance(node, Aggregate):
        if not node.keys:
            return 1.0
        inp = estimate(node.input)
        d = col_ndv(node.input, tuple(node.keys))
        return max(1.0, min(inp, d) if d else inp * 0.3)
    if isinstance(node, Join):
        if node.kind in ("semi", "anti"):
            lc = estimate(node.left)
            if not node.left_keys:
                return lc * 0.5
            dl = _side_ndv(node.left, node.left_keys, lc)
            dr = _side_ndv(node.right, node.right_keys, estimate(node.right))
            frac = min(1.0, dr / max(dl, 1.0))
            return max(1.0, lc * (frac if node.kind == "semi" else max(0.1, 1.0 - frac)))
        lc, rc = estimate(node.left), estimate(node.right)
        if node.kind == "cross" or not node.left_keys:
            out = lc * rc
        else:
            out = _join_card(node.left, node.right, lc, rc, node.left_keys, node.right_keys)
        if node.kind in ("left", "full"):
            out = max(out, lc)
        return max(1.0, out)
    if isinstance(node, Limit) and node.limit is not None:
        return min(float(node.limit), estimate(node.input))
    if isinstance(node, Shared):
        return estimate(node.holder.plan)
    kids = node.children()
    return max((estimate(k) for k in kids), default=1.0)


def _side_ndv(node: Node, keys: list[Expr], card: float) -> float:
    ids = []
    for k in keys:
        if not isinstance(k, Col):
            return card
        ids.append(k.id)
    d = col_ndv(node, tuple(ids))
    return min(d, card) if d else card


def _join_card(left: Node, right: Node, lc: float, rc: float, lkeys: list[Expr],
               rkeys: list[Expr]) -> float:
    dl = _side_ndv(left, lkeys, lc)
    dr = _side_ndv(right, rkeys, rc)
    return lc * rc / max(dl, dr, 1.0)


# ---------------------------------------------------------------------------- join order


class _Edge:
    """Equality conditions between two base relations of a join graph."""

    def __init__(self, i: int, j: int) -> None:
        self.i, self.j = i, j
        self.ikeys: list[Expr] = []
        self.jkeys: list[Expr] = []
        self.sel = 1.0


def _reorder(node: Join, preds: list[Expr], semis: list[Join] | None = None) -> Node:
    rels: list[Node] = []
    conds: list[Expr] = []
    _flatten(node, rels, conds)
    conds = _prepare(conds + preds)
    rel_ids = [_ids(r) for r in rels]
    for i, r in enumerate(rels):
        mine = [c for c in conds if c.col_ids() and c.col_ids() <= rel_ids[i]
                and not _has_subquery(c)]
        conds = [c for c in conds if not any(c is m for m in mine)]
        for c in conds:  # weaker per-relation filters implied by ORs over several relations
            if len({k for k, ids in enumerate(rel_ids) if c.col_ids() & ids}) > 1 and \
                    not _has_subquery(c):
                d = derive_for(c, rel_ids[i])
                if d is not None:
                    mine.append(d)
        rels[i] = push_down(r, mine)
    cards = [estimate(r) for r in rels]
    edges: dict[tuple[int, int], _Edge] = {}
    others: list[Expr] = []
    for c in conds:
        placed = False
        if not _has_subquery(c):
            for (i, j) in itertools.combinations(range(len(rels)), 2):
                pair = _equi(c, rel_ids[i], rel_ids[j])
                if pair is not None:
                    e = edges.setdefault((i, j), _Edge(i, j))
                    e.ikeys.append(pair[0])
                    e.jkeys.append(pair[1])
                    placed = True
                    break
        if not placed:
            others.append(c)
    for (i, j), e in edges.items():
        di = _side_ndv(rels[i], e.ikeys, cards[i])
        dj = _side_ndv(rels[j], e.jkeys, cards[j])
        e.sel = 1.0 / max(di, dj, 1.0)
    # semi/anti joins touching one relation: apply them to it first when that relation is
    # smaller than the join result they would otherwise probe, and their build side is small
    late: list[Join] = []
    if semis:
        total = math.prod(cards) * math.prod(e.sel for e in edges.values())
        for sj in semis:
            need = set().union(*(k.col_ids() for k in sj.left_keys)) | \
                ((sj.residual.col_ids() if sj.residual is not None else set())
                 - _ids(sj.right))
            home = [i for i, ids in enumerate(rel_ids) if need and need <= ids]
            rc = estimate(sj.right)
            if home and sj.left_keys and cards[home[0]] < total and rc <= cards[home[0]]:
                i = home[0]
                sj.left = rels[i]
                sj.build_left = False
                frac = min(1.0, rc / max(cards[i], 1.0))
                cards[i] = max(1.0, cards[i] * (frac if sj.kind == "semi" else 1 - 0.5 * frac))
                rels[i] = sj
            else:
                late.append(sj)
    plan = _order(rels, cards, edges, others)
    root = _attach(plan, rels, conds)
    for sj in late:
        sj.left = root
        sj.build_left = bool(sj.left_keys) and estimate(root) * 2 < estimate(sj.right)
        root = sj
    return root


def _order(rels: list[Node], cards: list[float], edges: dict[tuple[int, int], _Edge],
           others: list[Expr]) -> Any:
    """A join tree over relation indices (int leaves, (left, right) pairs) by estimated
    cost: the sum of intermediate result sizes."""
    n = len(rels)
    if n == 1:
        return 0
    adj = [0] * n
    for (i, j) in edges:
        adj[i] |= 1 << j
        adj[j] |= 1 << i
    logc = [math.log(max(c, 1.0)) for c in cards]
    edge_log = {(i, j): math.log(e.sel) for (i, j), e in edges.items()}

    def card(mask: int) -> float:
        total = sum(logc[i] for i in range(n) if mask >> i & 1)
        for (i, j), lg in edge_log.items():
            if mask >> i & 1 and mask >> j & 1:
                total += lg
        return math.exp(min(total, 700.0))

    if n <= DP_LIMIT:
        best: dict[int, tuple[float, Any]] = {1 << i: (0.0, i) for i in range(n)}
        cards_m: dict[int, float] = {1 << i: cards[i] for i in range(n)}
        for size in range(2, n + 1):
            for combo in itertools.combinations(range(n), size):
                mask = sum(1 << i for i in combo)
                c_here = None
                # enumerate splits: sub ranges over non-empty proper subsets containing the
                # lowest member (each unordered split once)
                low = mask & -mask
                sub = (mask - 1) & mask
                while sub:
                    if sub & low:
                        other = mask ^ sub
                        if sub in best and other in best and _connected(sub, other, adj):
                            if c_here is None:
                                c_here = card(mask)
                                cards_m[mask] = c_here
                            cost = best[sub][0] + best[other][0] + c_here
                            if mask not in best or cost < best[mask][0]:
                                a, b = (sub, other) if cards_m[sub] >= cards_m[other] \
                                    else (other, sub)
                                best[mask] = (cost, (best[a][1], best[b][1]))
                    sub = (sub - 1) & mask
        full = (1 << n) - 1
        if full in best:
            return best[full][1]
        # disconnected: best plans of the components, cross-joined largest first
        comps = _components(n, adj)
        trees = sorted(((cards_m.get(m, card(m)), best[m][1]) for m in comps),
                       key=lambda x: -x[0])
        tree = trees[0][1]
        for _, t in trees[1:]:
            tree = (tree, t)
        return tree
    # greedy: repeatedly join the connected pair with the smallest result
    items = [(1 << i, i) for i in range(n)]
    while len(items) > 1:
        cand = None
        for (ai, (am, _at)), (bi, (bm, _bt)) in itertools.combinations(enumerate(items), 2):
            if not _connected(am, bm, adj):
                continue
            c = card(am | bm)
            if cand is None or c < cand[0]:
                cand = (c, ai, bi)
        if cand is None:  # no edges left: cross join the two largest
            order = sorted(range(len(items)), key=lambda k: -card(items[k][0]))
            cand = (0.0, order[0], order[1])
        _, ai, bi = cand
        (am, at), (bm, bt) = items[ai], items[bi]
        pair = (at, bt) if card(am) >= card(bm) else (bt, at)
        items = [x for k, x in enumerate(items) if k not in (ai, bi)] + [(am | bm, pair)]
    return items[0][1]


def _connected(a: int, b: int, adj: list[int]) -> bool:
    m = a
    while m:
        low = m & -m
        i = low.bit_length() - 1
        if adj[i] & b:
            return True
        m ^= low
    return False


def _components(n: int, adj: list[int]) -> list[int]:
    seen = 0
    comps = []
    for i in range(n):
        if seen >> i & 1:
            continue
        comp, frontier = 1 << i, 1 << i
        while frontier:
            low = frontier & -frontier
            j = low.bit_length() - 1
            frontier ^= low
            new = adj[j] & ~comp
            comp |= new
            frontier |= new
        seen |= comp
        comps.append(comp)
    return comps


def _attach(tree: Any, rels: list[Node], conds: list[Expr]) -> Node:
    """Build joins for ``tree``, applying each condition at the lowest join that sees all
    its columns (equalities between the sides become hash keys)."""
    pending = list(conds)

    def build(t: Any) -> Node:
        nonlocal pending
        if isinstance(t, int):
            return rels[t]
        left, right = build(t[0]), build(t[1])
        j = Join(left, right, "cross")
        ids = _ids(left) | _ids(right)
        here = [c for c in pending if c.col_ids() <= ids and not _has_subquery(c)]
        pending = [c for c in pending if not any(c is h for h in here)]
        rest = _split_keys(j, here)
        j.residual = and_all(rest)
        if j.left_keys or j.residual is not None:
            j.kind = "inner"
        if j.left_keys:
            _reduce_aggregates(j)
        return j

    root = build(tree)
    return _filter(root, pending)


def _aggregate_below(node: Node) -> tuple[Aggregate | None, dict[str, str]]:
    """The Aggregate under a chain of column-renaming Projects, with output id -> key id."""
    mapping = {i: i for i in node.out_ids()}
    while isinstance(node, Project):
        inner = {i: e.id for i, e in node.exprs if isinstance(e, Col)}
        mapping = {o: inner[m] for o, m in mapping.items() if m in inner}
        node = node.input
    if isinstance(node, Aggregate) and node.keys:
        return node, {o: m for o, m in mapping.items() if m in node.keys}
    return None, {}


def _reduce_aggregates(j: Join) -> None:
    """``Agg(R) GROUP BY k JOIN S ON k = S.x`` with S small: aggregate only the rows of R
    whose k occurs in S (a semi join below the aggregation; S is read twice)."""
    for agg_side, other, akeys, okeys in ((j.left, j.right, j.left_keys, j.right_keys),
                                          (j.right, j.left, j.right_keys, j.left_keys)):
        agg, mapping = _aggregate_below(agg_side)
        if agg is None:
            continue
        pairs = [(mapping[a.id], o) for a, o in zip(akeys, okeys, strict=True)
                 if isinstance(a, Col) and a.id in mapping]
        if not pairs or not _copyable(other):
            continue
        if estimate(other) * 4 > estimate(agg.input):
            continue
        types = dict(agg.input.output)
        agg.input = Join(agg.input, copy_plan(other), "semi",
                         [Col(k, types[k]) for k, _ in pairs], [o for _, o in pairs])
        for idx, (a, b) in enumerate(zip(agg.input.left_keys, agg.input.right_keys,
                                         strict=True)):
            if a.type != b.type:
                from .expr import cast
                from .types import common_type
                t = common_type(a.type, b.type)
                agg.input.left_keys[idx], agg.input.right_keys[idx] = cast(a, t), cast(b, t)


def _copyable(node: Node) -> bool:
    """Reading this plan twice gives the same rows (no LIMIT without a full order, no
    recursion or shared state)."""
    if isinstance(node, (Shared, WorkTable, RecursiveCTE, Limit)):
        return False
    return all(_copyable(c) for c in node.children())


def copy_plan(node: Node) -> Node:
    """A copy of ``node``'s tree whose operators can be rewritten independently (expressions
    and data are shared; they are never modified in place)."""
    import copy
    import dataclasses
    c = copy.copy(node)
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        v = getattr(node, f.name)
        if isinstance(v, list):
            setattr(c, f.name, list(v))
        elif isinstance(v, Node):
            setattr(c, f.name, copy_plan(v))
    return c


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


def _scan_names(node: Scan) -> dict[str, str]:
    # The engine filters on its stored types; view/large strings compare like utf8.
    return {i: s for s, i, t in node.columns if s in node.raw_types and
            normalize(node.raw_types[s]) == t}


def _engine_helps(node: Scan, ep: P.Predicate) -> bool:
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


def _push_scan(node: Scan, preds: list[Expr]) -> Node:
    names = _scan_names(node)
    pushed: list[P.Predicate] = []
    rest: list[Expr] = []
    for p in preds:
        ep = None if _has_subquery(p) else to_engine_predicate(p, names)
        if ep is None or not _engine_helps(node, ep):
            rest.append(p)
        else:
            pushed.append(ep)
    if pushed:
        parts = ([node.predicate] if node.predicate is not None else []) + pushed
        node.predicate = parts[0] if len(parts) == 1 else P.And(tuple(parts))
    if len(rest) < 2:
        return _filter(node, rest)
    # the cheapest-yet-selective conjuncts first, in a filter of their own: the others then
    # run on the (fewer) rows it keeps instead of on every row
    types = dict(node.output)
    groups: dict[frozenset, list[Expr]] = {}
    for c in rest:
        groups.setdefault(frozenset(c.col_ids()), []).append(c)
    scored = []
    for cs in groups.values():
        eps = [None if _has_subquery(c) else to_engine_predicate(c, names) for c in cs]
        if all(e is not None for e in eps):
            sel = _engine_selectivity(node, eps[0] if len(eps) == 1 else P.And(tuple(eps)))
        else:
            sel = math.prod(_pred_selectivity(node, c) for c in cs)
        cost = sum(3.0 if any(_is_stringy(types.get(i)) for i in c.col_ids()) else 1.0
                   for c in cs)
        scored.append((sel, cost, cs))
    total = sum(c for _, c, _ in scored)
    best = min(scored, key=lambda x: x[1] + x[0] * (total - x[1]))
    if best[0] > 0.5 or len(scored) < 2:
        return _filter(node, rest)
    others = [c for _, _, cs in scored if cs is not best[2] for c in cs]
    return _filter(_filter(node, best[2]), others)


def _is_stringy(t: Any) -> bool:
    return t is not None and (pa.types.is_string(t) or pa.types.is_large_string(t) or
                              pa.types.is_binary(t))


# ---------------------------------------------------------------------------- pruning


def prune(node: Node, required: set[str]) -> Node:
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
            {o[0] for a in node.aggs for o in a.order}
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
    if isinstance(node, RecursiveCTE):
        node.anchor = prune(node.anchor, _ids(node.anchor))
        node.step = prune(node.step, _ids(node.step))
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
        node.input = prune(node.input, need & _ids(node.input))
        return node
    return node
