"""Implied join equalities: ``a = b`` and ``b = c`` between relations imply ``a = c``.

TPC-H Q9 joins ``part`` and ``partsupp`` only through ``lineitem``
(``p_partkey = l_partkey AND ps_partkey = l_partkey``); Q5 joins ``customer`` and
``nation`` only through ``supplier``. Without the implied ``p_partkey = ps_partkey`` (or
``c_nationkey = n_nationkey``) the join order cannot join the two small relations first, and
pushes the largest table through an extra join. The implied equalities are added as join
conditions; they hold wherever their sources hold (a NULL key equals nothing), so the
answer is the same.

Counting an implied equality's selectivity on top of its sources' would underestimate the
joins that hold all of them: ``ClassCounter`` counts each equivalence class once per
connected set of relations (an edge only shrinks the estimate when it links relations its
class had not linked yet).
"""

from __future__ import annotations

import itertools

import pyarrow as pa

from ..expr import Call, Col, Expr


def column_equality(c: Expr) -> tuple[Col, Col] | None:
    """``c`` as its two columns when it is ``column = column`` of one type."""
    if isinstance(c, Call) and c.fn == "equal" and len(c.args) == 2:
        a, b = c.args
        if isinstance(a, Col) and isinstance(b, Col) and a.type == b.type:
            return a, b
    return None


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def equivalence_classes(conds: list[Expr], owner: dict[str, int]) -> UnionFind:
    """Column ids made equal by ``column = column`` conditions between two relations."""
    uf = UnionFind()
    for c in conds:
        pair = column_equality(c)
        if pair is not None and pair[0].id in owner and pair[1].id in owner and \
                owner[pair[0].id] != owner[pair[1].id]:
            uf.union(pair[0].id, pair[1].id)
    return uf


def implied_equalities(conds: list[Expr], rel_ids: list[set[str]]) -> list[Expr]:
    """``column = column`` conditions between relations that ``conds`` imply but do not
    state (one per pair of relations and class)."""
    owner = {cid: k for k, ids in enumerate(rel_ids) for cid in ids}
    uf = equivalence_classes(conds, owner)
    members: dict[str, dict[int, Col]] = {}  # class -> relation -> a column of it
    stated: set[tuple[str, int, int]] = set()
    for c in conds:
        pair = column_equality(c)
        if pair is None or not all(x.id in owner for x in pair) or \
                owner[pair[0].id] == owner[pair[1].id]:
            continue  # (not one of the equalities ``equivalence_classes`` counted)
        root = uf.find(pair[0].id)
        for col in pair:
            members.setdefault(root, {}).setdefault(owner[col.id], col)
        i, j = sorted((owner[pair[0].id], owner[pair[1].id]))
        stated.add((root, i, j))
    out: list[Expr] = []
    for root, rels in members.items():
        for i, j in itertools.combinations(sorted(rels), 2):
            if (root, i, j) not in stated:
                out.append(Call("equal", (rels[i], rels[j]), None, pa.bool_()))
    return out


class ClassCounter:
    """Which edges of a join graph shrink the estimate of a set of relations: an edge
    whose keys are all columns of classes that already link its two relations (through
    other edges, stated ones first) adds no selectivity."""

    def __init__(self, conds: list[Expr], rel_ids: list[set[str]]) -> None:
        owner = {cid: k for k, ids in enumerate(rel_ids) for cid in ids}
        self.uf = equivalence_classes(conds, owner)

    def classes(self, keys: list[Expr]) -> list[str] | None:
        """The classes of an edge's keys (None when a key is not a plain column)."""
        out = []
        for k in keys:
            if not isinstance(k, Col) or k.id not in self.uf.parent:
                return None
            out.append(self.uf.find(k.id))
        return out

    @staticmethod
    def counted(edges: list[tuple[int, int, list[str] | None, float]], mask: int) -> float:
        """The summed log selectivity of the ``edges`` (i, j, classes, log sel) inside
        ``mask``, each class's links counted once."""
        linked: dict[str, UnionFind] = {}
        total = 0.0
        for i, j, classes, lg in edges:
            if not (mask >> i & 1 and mask >> j & 1):
                continue
            if classes is None:
                total += lg
                continue
            new = False
            for cl in classes:
                uf = linked.setdefault(cl, UnionFind())
                if uf.find(str(i)) != uf.find(str(j)):
                    new = True
                    uf.union(str(i), str(j))
            if new:
                total += lg
        return total
