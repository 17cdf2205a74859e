"""A filter on a hash join's probe input evaluated by the join instead, on the rows that
find a match, when the join keeps fewer of those rows than the filter does.

TPC-H Q21 compares two columns of lineitem (``l_receiptdate > l_commitdate``, 63% kept)
on all 6 M rows, twice, before probing hash tables that about 5% of the rows match (the
suppliers of one nation; the orders of those suppliers' late lines): the filter copies 63%
of every column it passes on and the probe then discards most of it. As part of the join's
condition (Acero's residual filter) the comparison runs only on matched pairs, and the
probe reads the scan's batches as they come, rejecting most rows at its Bloom filter.

Where it applies: the probe side of an inner join (Acero hashes the right input, so the
left) or of a semi/anti join hashing its left input (the right), through projections that
only pass columns on, and only when the matched pairs are expected to be fewer than half
the rows the filter keeps. Filters that only compare integer, date or decimal columns with
constants stay: they run as numpy tests on the scan's batches, cheaper than probing the rows
they drop (moving Q7's ship-date range into its join with the suppliers of two nations, 8%
matched, cost about 10% more CPU). A left input's filter never joins an anti join's
condition (the rows it drops must stay dropped); row-level security filters never move.
"""

from __future__ import annotations

import pyarrow as pa

from ..expr import Call, Col, Expr, Lit, and_all, substitute
from ..plan import Filter, Join, Node, Project
from .cardinality import estimate, join_card
from .util import has_subquery

# the matched share of the probe rows must be at most this share of the filter's kept share
MATCHED_OVER_KEPT = 1.0


def filters_into_joins(node: Node) -> Node:
    """The rule: move every probe-side filter that a join makes cheaper into the join."""
    stack = [node]
    while stack:
        n = stack.pop()
        while isinstance(n, Join) and _move(n):  # (stacked filters: one at a time)
            pass
        stack.extend(n.children())
    return node


def probe_side(j: Join) -> str | None:
    """The input of ``j`` Acero streams through the hash table (None: neither qualifies)."""
    if not j.left_keys:
        return None
    if j.kind == "inner":
        return "left"
    if j.kind in ("semi", "anti") and j.build_left:
        return "right"
    return None


def _move(j: Join) -> bool:
    """Move the filter nearest ``j`` on its probe side into it, if that pays; whether it
    moved one."""
    side = probe_side(j)
    if side is None:
        return False
    path: list[Project] = []  # the pass-through projections from the join down to the filter
    node = getattr(j, side)
    while isinstance(node, Project) and all(isinstance(e, Col) for _, e in node.exprs):
        path.append(node)
        node = node.input
    if type(node) is not Filter or has_subquery(node.cond) or constant_tests(node.cond):
        return False
    kept = estimate(node) / estimate(node.input)
    attach(j, side, path, node.input)
    if matched_share(j, side) > MATCHED_OVER_KEPT * kept:  # not worth it: put it back
        attach(j, side, path, node)
        return False
    cond = lifted(node.cond, path)
    j.residual = and_all([c for c in (j.residual, cond) if c is not None])
    return True


def attach(j: Join, side: str, path: list[Project], node: Node) -> None:
    """``node`` as the input of the lowest projection of ``path`` (none: of ``j``)."""
    if path:
        path[-1].input = node
    else:
        setattr(j, side, node)


COMPARISONS = frozenset({"equal", "not_equal", "less", "less_equal", "greater",
                         "greater_equal"})


def constant_tests(e: Expr) -> bool:
    """Whether ``e`` is AND/OR of comparisons of integer, date or decimal columns with
    constants (what the executor tests in numpy on a scan's batches)."""
    if not isinstance(e, Call):
        return False
    if e.fn in ("and_kleene", "or_kleene"):
        return all(constant_tests(a) for a in e.args)
    if e.fn not in COMPARISONS or len(e.args) != 2:
        return False
    cols = [a for a in e.args if isinstance(a, Col)]
    lits = [a for a in e.args if isinstance(a, Lit)]
    return len(cols) == 1 and len(lits) == 1 and numeric(cols[0].type)


def numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_date(t) or pa.types.is_decimal(t)


def lifted(cond: Expr, path: list[Project]) -> Expr:
    """``cond`` (over the input of the lowest projection of ``path``) in the ids the highest
    one outputs; each projection passes on the columns it needs that it did not."""
    for p in reversed(path):
        out = {e.id: i for i, e in p.exprs if isinstance(e, Col)}  # type: ignore[attr-defined]
        types = dict(p.input.output)
        mapping: dict[str, Expr] = {}
        for cid in sorted(cond.col_ids()):
            if cid not in out:
                p.exprs.append((cid, Col(cid, types[cid])))
                out[cid] = cid
            mapping[cid] = Col(out[cid], types[cid])
        cond = substitute(cond, mapping)
    return cond


def matched_share(j: Join, side: str) -> float:
    """The expected number of matched pairs over the probe input's rows."""
    probe, build = (j.left, j.right) if side == "left" else (j.right, j.left)
    pkeys, bkeys = (j.left_keys, j.right_keys) if side == "left" else \
        (j.right_keys, j.left_keys)
    pc, bc = estimate(probe), estimate(build)
    return join_card(probe, build, pc, bc, pkeys, bkeys) / pc
