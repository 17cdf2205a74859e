"""Small helpers several optimizer rules share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..expr import Call, Col, Expr, Lit, Param, SubqueryValue, and_all
from ..plan import Aggregate, Filter, Join, Node, Project, Scan


def id_set(node: Node) -> set[str]:
    """The column ids ``node`` outputs."""
    return set(node.out_ids())


def with_filter(node: Node, preds: list[Expr]) -> Node:
    """``node`` under a filter of the conjuncts ``preds`` (none: ``node`` itself)."""
    cond = and_all(preds)
    return node if cond is None else Filter(node, cond)


def has_subquery(e: Expr) -> bool:
    """Whether ``e`` reads a subquery (such conditions stay where the binder put them)."""
    return any(isinstance(x, SubqueryValue) or (isinstance(x, Call) and
                                                 isinstance(x.options, SubqueryValue))
               for x in e.walk())


def key(e: Expr) -> Any:
    """A structural identity for expressions (ids, literals, functions and options)."""
    if isinstance(e, Col):
        return ("col", e.id)
    if isinstance(e, Param):  # by position: reading its value would make a plan per value
        return ("param", e.index, str(e.type))
    if isinstance(e, Lit):
        return ("lit", repr(e.value), str(e.type))
    if isinstance(e, Call):
        return ("call", e.fn, tuple(key(a) for a in e.args), str(e.options))
    return ("other", id(e))


def rewrite_aggregates(node: Node, rewritten: Callable[[Aggregate], Node | None]) -> Node:
    """``node`` with every aggregation ``rewritten`` gives a replacement for replaced (the
    walk the aggregation rules share; ``rewritten`` returns None to keep one)."""
    root = rewritten(node) if isinstance(node, Aggregate) else None
    node = root or node
    stack = [node]
    while stack:
        n = stack.pop()
        for attr in ("input", "left", "right"):
            child = getattr(n, attr, None)
            if isinstance(child, Aggregate):
                new = rewritten(child)
                if new is not None:
                    setattr(n, attr, new)
        stack.extend(n.children())
    return node


def column_source(node: Node, cid: str) -> tuple[Scan, str, bool] | None:
    """The scan column id ``cid`` of ``node``'s output reads (with whether the path to it
    crossed a join), through renames, filters and inner joins; None past anything else."""
    joined = False
    while True:
        if isinstance(node, Project):
            e = dict(node.exprs).get(cid)
            if not isinstance(e, Col):
                return None
            cid, node = e.id, node.input
        elif isinstance(node, Filter):
            node = node.input
        elif isinstance(node, Join) and node.kind in ("inner", "cross"):
            joined = True
            node = node.left if cid in node.left.out_ids() else node.right
        elif isinstance(node, Scan):
            return node, cid, joined
        else:
            return None
