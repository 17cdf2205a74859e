"""Expressions computed below a join when that carries one column through it instead of
several.

TPC-H Q9 computes ``l_extendedprice * (1 - l_discount) - ps_supplycost * l_quantity`` over
the join of lineitem, partsupp and orders: bound as written, four decimal columns go
through the join with orders (its build side) to be combined above it. Computed on the
join input that holds them, one column goes through instead.

Only expressions that cannot raise move: below the join they also see the input rows the
join drops. Checked decimal arithmetic cannot overflow when its exact result fits 38
digits (``cannot_raise``), so it moves too.
"""

from __future__ import annotations

import pyarrow as pa

from ..binder.context import new_id
from ..expr import Call, Col, Expr, Lit
from ..functions.operators import cast_can_fail
from ..plan import Join, Node, Project
from .cardinality import estimate

# calls that raise for no input and depend on their arguments alone
SAFE = frozenset({
    "add", "subtract", "multiply", "negate", "abs", "year", "month", "day", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal", "and_kleene", "or_kleene",
    "invert", "is_null", "is_valid", "coalesce", "if_else",
})
DECIMAL_OPS = frozenset({"add_checked", "subtract_checked", "multiply_checked"})
INT_DIGITS = {8: 3, 16: 5, 32: 10, 64: 20}


def compute_early(node: Node) -> Node:
    """The rule: every projection over an inner join computes below it the expressions
    that read several columns of one input and nothing else reads."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Project) and isinstance(n.input, Join):
            _push(n)
        stack.extend(n.children())
    return node


def _push(p: Project) -> None:
    j = p.input
    assert isinstance(j, Join)
    if j.kind not in ("inner", "cross"):
        return
    for side in ("left", "right"):
        child = getattr(j, side)
        if estimate(child) > 1.5 * estimate(j):
            continue  # (computed on many more rows than come out of the join)
        ids = set(child.out_ids())
        moved: list[tuple[str, Expr]] = []
        exprs = []
        for i, e in p.exprs:
            cols = e.col_ids()
            if isinstance(e, Call) and len(cols) >= 2 and cols <= ids and cannot_raise(e) \
                    and not cols & _read_elsewhere(p, j, i):
                nid = new_id()
                moved.append((nid, e))
                exprs.append((i, Col(nid, e.type)))
            else:
                exprs.append((i, e))
        if moved:
            types = dict(child.output)
            below = Project(child, [(c, Col(c, types[c])) for c in child.out_ids()] + moved)
            setattr(j, side, below)
            p.exprs = exprs
            if isinstance(child, Join):
                _push(below)


def _read_elsewhere(p: Project, j: Join, own: str) -> set[str]:
    """Columns the projection's other expressions or the join's conditions read."""
    out: set[str] = set()
    for i, e in p.exprs:
        if i != own:
            out |= e.col_ids()
    for k in (*j.left_keys, *j.right_keys):
        out |= k.col_ids()
    if j.residual is not None:
        out |= j.residual.col_ids()
    return out


def cannot_raise(e: Expr) -> bool:
    """Whether ``e`` raises for no row (checked decimal arithmetic whose exact result fits
    38 digits included)."""
    if isinstance(e, (Col, Lit)):
        return True
    if not isinstance(e, Call) or not all(cannot_raise(a) for a in e.args):
        return False
    if e.fn in SAFE:
        return True
    if e.fn == "cast":
        return not cast_can_fail(e.args[0].type, e.type)
    if e.fn in DECIMAL_OPS and len(e.args) == 2:
        digits = [_digits(a.type) for a in e.args]
        if None in digits:
            return False
        (p1, s1), (p2, s2) = digits  # type: ignore[misc]
        need = p1 + p2 + 1 if e.fn == "multiply_checked" else \
            max(s1, s2) + max(p1 - s1, p2 - s2) + 1
        return need <= 38
    return False


def _digits(t: pa.DataType) -> tuple[int, int] | None:
    """(precision, scale) of a decimal or integer type."""
    if pa.types.is_decimal(t):
        return t.precision, t.scale
    if pa.types.is_integer(t):
        return INT_DIGITS[t.bit_width], 0
    return None
