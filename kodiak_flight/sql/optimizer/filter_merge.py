"""Two filters over a table scan made one again, where the columns the pruned scan gives
make the first filter's copy of its survivors cost more than the second filter saves
(``scan_predicates.split_pays``)."""

from __future__ import annotations

from ..expr import and_all, conjuncts
from ..plan import Filter, Node, Scan
from .early_projection import cannot_raise
from .scan_predicates import split_pays


def merge_scan_filters(node: Node) -> Node:
    """The rule: every ``Filter(Filter(Scan))`` the optimizer split, merged (in place) where
    one filter is cheaper. Only when the upper conditions cannot raise: merged, they are
    evaluated on rows the lower filter would have dropped."""
    stack = [node]
    while stack:
        n = stack.pop()
        if type(n) is Filter and type(n.input) is Filter and isinstance(n.input.input, Scan):
            first, then = conjuncts(n.input.cond), conjuncts(n.cond)
            if all(cannot_raise(c) for c in then) and \
                    not split_pays(n.input.input, first, then):
                n.cond = and_all(first + then)
                n.input = n.input.input
        stack.extend(n.children())
    return node
