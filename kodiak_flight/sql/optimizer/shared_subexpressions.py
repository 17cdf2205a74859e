"""Shared subexpressions: a projection computing the same arithmetic twice computes it once.

TPC-H Q1 asks for ``sum(price * (1 - disc))`` and ``sum(price * (1 - disc) * (1 + tax))``:
bound as written, the projection under the aggregation multiplies and subtracts decimals
over every row twice. This rule moves each repeated arithmetic expression into a projection
of its own below, and the expressions above read its column (a projection of plain column
references costs nothing in Acero).

Arrow evaluates every argument of a call for every row (a CASE branch guards its operands
with ``if_else(taken, x, NULL)``, so rows it does not take see NULLs, never an error): an
expression computed once below is exactly what each occurrence computed. Only functions
whose result depends on their arguments alone are shared (never ``random()``, a subquery's
value, a parameter, or Kodiak's interrupt check).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..binder.context import new_id
from ..expr import Call, Col, Expr, is_const
from ..plan import Node, Project
from .util import key

# Functions whose result depends only on their arguments.
SHAREABLE = frozenset({
    "add", "add_checked", "subtract", "subtract_checked", "multiply", "multiply_checked",
    "divide", "divide_checked", "negate", "negate_checked", "abs", "abs_checked", "cast",
    "power", "power_checked", "sqrt", "round", "equal", "not_equal", "less", "less_equal",
    "greater", "greater_equal", "and_kleene", "or_kleene", "invert", "coalesce", "if_else",
    "is_null", "is_valid", "match_like", "match_substring", "match_substring_regex",
    "starts_with", "ends_with",
})


def share_subexpressions(node: Node) -> Node:
    """The rule: every projection in ``node``'s plan computes each repeated expression once."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Project):
            _share(n)
        stack.extend(n.children())
    return node


def _share(node: Project) -> None:
    counts: Counter[Any] = Counter()
    found: dict[Any, Expr] = {}
    for _, e in node.exprs:
        _count(e, counts, found)
    repeated = {k for k, c in counts.items() if c > 1}
    if not repeated:
        return
    ids = {k: new_id() for k in repeated}
    exprs = [(i, _replace(e, ids)) for i, e in node.exprs]
    used = {k for _, e in exprs for k in _read(e, ids)}
    if not used:
        return
    inputs = dict(node.input.output)
    below = [(c, Col(c, inputs[c])) for c in sorted({c for _, e in exprs
                                                      for c in e.col_ids()} & inputs.keys())]
    below += [(ids[k], found[k]) for k in sorted(used, key=ids.get)]
    node.input = Project(node.input, below)
    node.exprs = exprs


def _count(e: Expr, counts: Counter[Any], found: dict[Any, Expr]) -> None:
    """Count every shareable call in ``e``; a repeated one's insides are not counted again
    for that occurrence (the largest repeated expression is the one worth sharing)."""
    if not _shareable(e):
        for a in e.children() if isinstance(e, Call) else ():
            _count(a, counts, found)
        return
    k = key(e)
    counts[k] += 1
    found.setdefault(k, e)
    if counts[k] == 1:
        for a in e.args:
            _count(a, counts, found)


def _shareable(e: Expr) -> bool:
    """A call of arithmetic or casts over columns and constants only (never a subquery, a
    parameter whose value comes at execution, a function like random(), anything
    conditional)."""
    if not isinstance(e, Call) or e.fn not in SHAREABLE:
        return False
    return all(isinstance(a, Col) or is_const(a) or _shareable(a) for a in e.args)


def _replace(e: Expr, ids: dict[Any, str]) -> Expr:
    if isinstance(e, Call):
        k = key(e)
        if k in ids:
            return Col(ids[k], e.type)
        return Call(e.fn, tuple(_replace(a, ids) for a in e.args), e.options, e.type)
    return e


def _read(e: Expr, ids: dict[Any, str]) -> set[Any]:
    by_id = {v: k for k, v in ids.items()}
    return {by_id[c] for c in e.col_ids() if c in by_id}
