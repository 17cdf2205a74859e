"""OR factoring: conjuncts common to every branch of an OR come out of it, and an OR over
several relations implies a weaker filter for each relation every branch constrains
(TPC-H Q7, Q19)."""

from __future__ import annotations

import pyarrow as pa

from ..expr import Call, Expr, and_all, conjuncts
from .util import has_subquery, key


def disjuncts(e: Expr) -> list[Expr]:
    """The branches of an OR (``e`` itself if it is none)."""
    if isinstance(e, Call) and e.fn == "or_kleene":
        return [d for a in e.args for d in disjuncts(a)]
    return [e]


def or_all(parts: list[Expr]) -> Expr:
    out = parts[0]
    for p in parts[1:]:
        out = Call("or_kleene", (out, p), None, pa.bool_())
    return out


def factor_or(e: Expr) -> list[Expr]:
    """``(a AND b) OR (a AND c)`` -> ``[a, b OR c]``: conjuncts every branch shares, out."""
    ds = disjuncts(e)
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
    return common + [or_all([and_all(r) for r in rests])]  # type: ignore[list-item]


def derive_for(e: Expr, ids: set[str]) -> Expr | None:
    """A filter on the columns ``ids`` implied by the OR ``e``: each branch must constrain
    them; the derived filter ORs those constraints (the original stays in place)."""
    ds = disjuncts(e)
    if len(ds) < 2:
        return None
    parts = []
    for d in ds:
        mine = [c for c in conjuncts(d) if c.col_ids() and c.col_ids() <= ids
                and not has_subquery(c)]
        if not mine:
            return None
        parts.append(and_all(mine))
    return or_all(parts)  # type: ignore[arg-type]


def factored(preds: list[Expr]) -> list[Expr]:
    """``preds`` split into conjuncts, each OR among them factored."""
    out: list[Expr] = []
    for p in preds:
        for c in conjuncts(p):
            out.extend(factor_or(c))
    return out
