"""Each partition's first row, when a filter keeps only ``row_number() = 1``.

``select * from (select ..., row_number() over (partition by c order by d desc) rn from t)
where rn = 1`` (the latest row of each customer, a de-duplication) numbered every row, after a
sort of all of them, to keep one row a partition: 123 ms over 1.5 M orders against DuckDB's
31. The window is marked ``first_only`` and its executor finds those rows by grouping
(``window.first_of_each``); the filter stays, and passes every row it gets.
"""

from __future__ import annotations

from ..expr import Call, Col, Expr, Lit, conjuncts
from ..plan import Filter, Node, Window


def first_rows_only(node: Node) -> Node:
    """The rule: mark every window a filter directly above keeps at row number 1."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Filter) and isinstance(n.input, Window) and _first_only(n.input) \
                and any(_is_one(c, n.input.calls[0].id) for c in conjuncts(n.cond)):
            n.input.first_only = True
        stack.extend(n.children())
    return node


def _first_only(w: Window) -> bool:
    """One ``row_number()`` over a partition in an order (the one call: any other would need
    every row)."""
    if len(w.calls) != 1:
        return False
    c = w.calls[0]
    return c.func == "row_number" and bool(c.partition) and bool(c.order)


def _is_one(e: Expr, rn: str) -> bool:
    """``rn = 1`` (either way round)."""
    if not (isinstance(e, Call) and e.fn == "equal" and len(e.args) == 2):
        return False
    a, b = e.args
    if isinstance(b, Col):
        a, b = b, a
    return isinstance(a, Col) and a.id == rn and isinstance(b, Lit) and b.value == 1 \
        and not isinstance(b.value, bool)
