"""Copies of plan trees, for rewrites that read a sub-plan twice."""

from __future__ import annotations

import copy
import dataclasses

from ..plan import Limit, Node, PercentLimit, RecursiveCTE, Sample, Shared, WorkTable


def copyable(node: Node) -> bool:
    """Reading this plan twice gives the same rows (no LIMIT without a full order, no
    recursion or shared state)."""
    if isinstance(node, (Shared, WorkTable, RecursiveCTE, Limit, Sample, PercentLimit)):
        return False
    return all(copyable(c) for c in node.children())


def copy_plan(node: Node) -> Node:
    """A copy of ``node``'s tree whose operators can be rewritten independently (expressions
    and data are shared; they are never modified in place)."""
    c = copy.copy(node)
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        v = getattr(node, f.name)
        if isinstance(v, list):
            setattr(c, f.name, list(v))
        elif isinstance(v, Node):
            setattr(c, f.name, copy_plan(v))
    return c
