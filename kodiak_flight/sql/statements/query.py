"""Queries (SELECT, set operations, VALUES): bind, optimise, run on Acero."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from .. import origins
from ..binder import Binder, Context
from ..execution import ExecContext
from ..executor import Executor
from ..optimizer import optimize
from ..result import Result, rows
from ..resultcache import request
from .registry import Statement, register

QUERY_NODES = (exp.Select, exp.SetOperation, exp.Subquery, exp.Values, exp.Pivot)


def is_query(node: exp.Expression) -> bool:
    return isinstance(node, QUERY_NODES)


def plan_query(ctx: Context, node: exp.Expression) -> tuple[Any, list[str]]:
    """The optimised plan of a query and its output column names."""
    bound = Binder(ctx).bind_query(node)
    return optimize(bound.plan), [c.name for c in bound.cols]


@register
class Query(Statement):
    node = QUERY_NODES
    writes = False

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        plan, names = plan_query(ctx, node)
        return pa.schema(origins.fields(plan, names, [t for _, t in plan.output],
                                        ctx.resolver.catalog))

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        cached = request(ex.session, node, ex.params, ex.snap)  # the result cache, if on
        if cached is not None and (table := cached.hit()) is not None:
            return rows(table)
        plan, names = plan_query(ex.bind, node)
        fields = origins.fields(plan, names, [t for _, t in plan.output], ex.session.catalog)
        out = Executor(ex.snap, ex.interrupt).output(plan, fields)
        if cached is not None:
            out = cached.keep(out, plan, ex.bind.volatile)
        return rows(out)
