"""Sums of a column plus a constant, from one sum and one count: ``SUM(x + k)`` is
``SUM(x) + k * COUNT(x)``.

Dashboards sum one measure under several offsets (ClickBench's Q29 sums
``ResolutionWidth + 0 .. + 89``): computed as written, each sum adds a projected column and
an aggregate over every row. Rewritten, the aggregation computes ``SUM(x)`` and
``COUNT(x)`` once and each result is one multiplication and one addition on its group's
row. A NULL ``x`` is left out of both, as it is of ``SUM(x + k)``; a group with no value
gives ``NULL + k * 0``, NULL, as the original sum does.

Only integers, where the two are equal (float sums round differently), and only where the
addition per row, which is checked, cannot overflow: ``x`` a narrower integer column
widened for the addition (``smallint + integer``), whose whole range plus ``k`` fits the
wider type. Then no row raises, and the sums are the same exact integers.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..binder.context import new_id
from ..expr import Call, Col, Expr, Lit, call
from ..plan import AggCall, Aggregate, Node, Project
from ..types import holds, int_bounds
from .util import key, rewrite_aggregates


def sums_of_offsets(node: Node) -> Node:
    """The rule: an aggregation's sums ``SUM(x + k)`` from one ``SUM(x)`` and ``COUNT(x)``."""
    return rewrite_aggregates(node, _rewritten)


def _rewritten(agg: Aggregate) -> Node | None:
    if not isinstance(agg.input, Project):
        return None
    exprs = dict(agg.input.exprs)
    found = {a.id: off for a in agg.aggs if (off := _offset(a, exprs)) is not None}
    if len(found) < 2:  # one sum made two aggregates gains nothing
        return None
    shared: dict[Any, tuple[AggCall, AggCall]] = {}  # key(x) -> (SUM(x), COUNT(x))
    aggs: list[AggCall] = []
    results: list[tuple[str, Expr]] = [(k, Col(k, t)) for k, t in agg.output[:len(agg.keys)]]
    for a in agg.aggs:
        if a.id not in found:
            aggs.append(a)
            results.append((a.id, Col(a.id, a.type)))
            continue
        x, k = found[a.id]
        if key(x) not in shared:
            xid = new_id()
            agg.input.exprs.append((xid, x))
            shared[key(x)] = (AggCall(new_id(), "sum", xid, pa.int64()),
                              AggCall(new_id(), "count", xid, pa.int64()))
            aggs += shared[key(x)]
        s, c = shared[key(x)]
        scaled = call("multiply_checked", [Lit(k, pa.int64()), Col(c.id, c.type)])
        results.append((a.id, call("add_checked", [Col(s.id, s.type), scaled])))
    return Project(Aggregate(agg.input, agg.keys, aggs), results)


def _offset(a: AggCall, exprs: dict[str, Expr]) -> tuple[Expr, int] | None:
    """``(x, k)`` when ``a`` is ``SUM(x + k)`` (or ``x - k``) the rule may rewrite."""
    if a.func != "sum" or a.distinct or a.arg is None or a.type != pa.int64():
        return None
    e = exprs.get(a.arg)
    if not isinstance(e, Call) or e.fn not in ("add_checked", "subtract_checked"):
        return None
    x, k = e.args
    if e.fn == "add_checked" and _integer_literal(x):
        x, k = k, x
    if not _integer_literal(k):
        return None
    value = k.value if e.fn == "add_checked" else -k.value
    return (x, value) if _fits(x, value, e.type) else None


def _integer_literal(e: Expr) -> bool:
    return type(e) is Lit and pa.types.is_integer(e.type) and isinstance(e.value, int) \
        and not isinstance(e.value, bool)


def _fits(x: Expr, k: int, wide: pa.DataType) -> bool:
    """Whether ``x + k`` lies inside ``wide`` for every value ``x`` can take: ``x`` a cast
    of a narrower integer column."""
    if not (isinstance(x, Call) and x.fn == "cast" and isinstance(x.args[0], Col)):
        return False
    src = x.args[0].type
    if not (pa.types.is_integer(src) and pa.types.is_integer(wide) and x.type == wide):
        return False
    least, most = int_bounds(src)
    return holds(wide, least + k) and holds(wide, most + k)
