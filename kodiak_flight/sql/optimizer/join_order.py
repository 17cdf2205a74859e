"""Cost-based order of inner joins.

The relations of a tree of inner joins and their equality conditions form a join graph.
Up to ``DP_LIMIT`` relations, dynamic programming over connected sub-plans finds the bushy
tree with the smallest sum of intermediate result sizes; beyond, greedy pairing joins the
connected pair with the smallest result first. Sizes come from ``cardinality``, and the
larger input of each join is its probe side (Acero hashes the right input).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from ..expr import Call, Col, Expr, and_all, conjuncts
from ..plan import Join, Node
from .cardinality import estimate, side_ndv
from .equivalences import ClassCounter, UnionFind
from .join_keys import equi_pair, split_keys
from .reduce_aggregates import reduce_aggregates
from .util import has_subquery, id_set, with_filter

DP_LIMIT = 9


class Edge:
    """Equality conditions between two base relations of a join graph."""

    def __init__(self, i: int, j: int) -> None:
        self.i, self.j = i, j
        self.ikeys: list[Expr] = []
        self.jkeys: list[Expr] = []
        self.sel = 1.0


def flatten_joins(node: Node, rels: list[Node], conds: list[Expr]) -> None:
    """Collect the relations under a tree of inner/cross joins and all their conditions."""
    if isinstance(node, Join) and node.kind in ("inner", "cross"):
        flatten_joins(node.left, rels, conds)
        flatten_joins(node.right, rels, conds)
        conds.extend(conjuncts(node.residual))
        for a, b in zip(node.left_keys, node.right_keys, strict=True):
            conds.append(Call("equal", (a, b), None, pa.bool_()))
        return
    rels.append(node)


def join_edges(rels: list[Node], rel_ids: list[set[str]], cards: list[float],
               conds: list[Expr]) -> dict[tuple[int, int], Edge]:
    """The join graph's edges: equalities between two relations, with their selectivity."""
    edges: dict[tuple[int, int], Edge] = {}
    owner = {cid: k for k, ids in enumerate(rel_ids) for cid in ids}
    for c in conds:
        if has_subquery(c):
            continue
        touched = sorted({owner[x] for x in c.col_ids() if x in owner})
        if len(touched) != 2:  # (an equality of two relations touches exactly those)
            continue
        i, j = touched
        pair = equi_pair(c, rel_ids[i], rel_ids[j])
        if pair is not None:
            e = edges.setdefault((i, j), Edge(i, j))
            e.ikeys.append(pair[0])
            e.jkeys.append(pair[1])
    for (i, j), e in edges.items():
        di = side_ndv(rels[i], e.ikeys, cards[i])
        dj = side_ndv(rels[j], e.jkeys, cards[j])
        e.sel = 1.0 / max(di, dj, 1.0)
    return edges


def place_semis(semis: list[Join], rels: list[Node], rel_ids: list[set[str]],
                cards: list[float], edges: dict[tuple[int, int], Edge]) -> list[Join]:
    """Semi/anti joins touching one relation: apply them to it first (in ``rels``) when that
    relation is smaller than the join result they would otherwise probe, and their build
    side is small. Returns the others, to apply above the joins."""
    late: list[Join] = []
    total = math.prod(cards) * math.prod(e.sel for e in edges.values())
    for sj in semis:
        need = set().union(*(k.col_ids() for k in sj.left_keys)) | \
            ((sj.residual.col_ids() if sj.residual is not None else set())
             - id_set(sj.right))
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
    return late


def join_tree(cards: list[float], edges: dict[tuple[int, int], Edge],
              counter: ClassCounter | None = None) -> Any:
    """A join tree over relation indices (int leaves, (left, right) pairs) by estimated
    cost: the sum of intermediate result sizes (``counter``: count each class of equal
    columns once, see ``equivalences``)."""
    n = len(cards)
    if n == 1:
        return 0
    adj = [0] * n
    for (i, j) in edges:
        adj[i] |= 1 << j
        adj[j] |= 1 << i
    card = mask_card(cards, edges, counter)
    return dp_tree(cards, adj, card) if n <= DP_LIMIT else greedy_tree(n, adj, card)


def mask_card(cards: list[float], edges: dict[tuple[int, int], Edge],
              counter: ClassCounter | None = None) -> Callable[[int], float]:
    """The estimated size of joining the relations in a bit mask."""
    n = len(cards)
    logc = [math.log(max(c, 1.0)) for c in cards]
    edge_log = [(i, j, edge_classes(e, counter), math.log(e.sel))
                for (i, j), e in edges.items()]

    def card(mask: int) -> float:
        total = sum(logc[i] for i in range(n) if mask >> i & 1)
        total += ClassCounter.counted(edge_log, mask)
        return math.exp(min(total, 700.0))

    return card


def edge_classes(e: Edge, counter: ClassCounter | None) -> list[str] | None:
    """The classes of equal columns ``e``'s keys belong to, if all are plain columns."""
    if counter is None:
        return None
    ci, cj = counter.classes(e.ikeys), counter.classes(e.jkeys)
    return ci if ci is not None and ci == cj else None


def dp_tree(cards: list[float], adj: list[int], card: Callable[[int], float]) -> Any:
    """The cheapest bushy tree, by dynamic programming over connected subsets."""
    n = len(cards)
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
                    if sub in best and other in best and connected(sub, other, adj):
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
    comps = components(n, adj)
    trees = sorted(((cards_m.get(m, card(m)), best[m][1]) for m in comps),
                   key=lambda x: -x[0])
    tree = trees[0][1]
    for _, t in trees[1:]:
        tree = (tree, t)
    return tree


def greedy_tree(n: int, adj: list[int], card: Callable[[int], float]) -> Any:
    """Repeatedly join the connected pair with the smallest result."""
    items = [(1 << i, i) for i in range(n)]
    while len(items) > 1:
        cand = None
        for (ai, (am, _at)), (bi, (bm, _bt)) in itertools.combinations(enumerate(items), 2):
            if not connected(am, bm, adj):
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


def connected(a: int, b: int, adj: list[int]) -> bool:
    """Whether an edge links the relation sets ``a`` and ``b`` (bit masks)."""
    m = a
    while m:
        low = m & -m
        i = low.bit_length() - 1
        if adj[i] & b:
            return True
        m ^= low
    return False


def components(n: int, adj: list[int]) -> list[int]:
    """The connected components of the join graph, as bit masks."""
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


def attach(tree: Any, rels: list[Node], conds: list[Expr]) -> Node:
    """Build joins for ``tree``, applying each condition at the lowest join that sees all
    its columns (equalities between the sides become hash keys)."""
    pending = list(conds)
    equal = UnionFind()  # columns equated by the joins built so far

    def build(t: Any) -> Node:
        nonlocal pending
        if isinstance(t, int):
            return rels[t]
        left, right = build(t[0]), build(t[1])
        j = Join(left, right, "cross")
        ids = id_set(left) | id_set(right)
        here = [c for c in pending if c.col_ids() <= ids and not has_subquery(c)]
        pending = [c for c in pending if not any(c is h for h in here)]
        rest = split_keys(j, here)
        drop_implied_keys(j, equal)
        j.residual = and_all(rest)
        if j.left_keys or j.residual is not None:
            j.kind = "inner"
        if j.left_keys:
            reduce_aggregates(j)
        return j

    root = build(tree)
    return with_filter(root, pending)


def drop_implied_keys(j: Join, equal: UnionFind) -> None:
    """Drop the key pairs of ``j`` that the joins below and its other keys already imply
    (``l = l'`` below, ``l' = r'`` here, ``r' = r`` below: ``l = r`` holds), as implied
    equalities (``equivalences``) leave them; then record its keys in ``equal``."""
    keep: list[tuple[Expr, Expr]] = []
    for lk, rk in zip(j.left_keys, j.right_keys, strict=True):
        if isinstance(lk, Col) and isinstance(rk, Col) and any(
                isinstance(a, Col) and isinstance(b, Col) and
                equal.find(a.id) == equal.find(lk.id) and equal.find(b.id) == equal.find(rk.id)
                for a, b in keep):
            continue
        keep.append((lk, rk))
    j.left_keys, j.right_keys = [a for a, _ in keep], [b for _, b in keep]
    for lk, rk in keep:
        if isinstance(lk, Col) and isinstance(rk, Col):
            equal.union(lk.id, rk.id)
