"""Small helpers several optimizer rules share."""

from __future__ import annotations

from typing import Any

from ..expr import Call, Col, Expr, Lit, SubqueryValue, and_all
from ..plan import Filter, Node


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
    if isinstance(e, Lit):
        return ("lit", repr(e.value), str(e.type))
    if isinstance(e, Call):
        return ("call", e.fn, tuple(key(a) for a in e.args), str(e.options))
    return ("other", id(e))
