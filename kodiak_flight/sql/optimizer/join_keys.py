"""Equi-join keys: ``left = right`` conditions between a join's inputs become hash keys."""

from __future__ import annotations

from ..expr import Call, Expr
from ..plan import Join
from .util import has_subquery, id_set


def split_keys(node: Join, conds: list[Expr]) -> list[Expr]:
    """Move ``left = right`` conjuncts into the join keys; return the rest."""
    lids, rids = id_set(node.left), id_set(node.right)
    rest = []
    for c in conds:
        pair = equi_pair(c, lids, rids)
        if pair is not None:
            node.left_keys.append(pair[0])
            node.right_keys.append(pair[1])
        else:
            rest.append(c)
    return rest


def equi_pair(c: Expr, lids: set[str], rids: set[str]) -> tuple[Expr, Expr] | None:
    """``c`` as (left key, right key) when it equates an expression of each side."""
    if isinstance(c, Call) and c.fn == "equal" and not has_subquery(c):
        a, b = c.args
        ai, bi = a.col_ids(), b.col_ids()
        if ai and bi and ai <= lids and bi <= rids:
            return a, b
        if ai and bi and ai <= rids and bi <= lids:
            return b, a
    return None
