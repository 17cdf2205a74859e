"""Aggregates: recognising aggregate calls in the AST and binding them into the ``AggCall``s
of one SELECT block's ``Aggregate`` node, with their arguments pre-projected."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..errors import BindError, NotSupportedError
from ..expr import Col, Expr, Lit, call, cast, lit
from ..plan import AggCall
from ..scope import Scope
from .calls import func_args, function_name
from .context import BinderState, new_id

# the aggregates the executor computes (after ``F.canonical_agg`` and the rewrites below)
_AGG_FUNCS = {"count", "count_star", "sum", "avg", "min", "max", "stddev_samp", "stddev_pop",
              "var_samp", "var_pop", "quantile_cont", "quantile_disc", "string_agg",
              "bool_and", "bool_or", "any_value", "list", "approx_count_distinct", "product"}


class AggState:
    """Aggregation context of one SELECT block: group keys and collected aggregates."""

    def __init__(self, key_asts: list[exp.Expression], key_cols: list[Col]) -> None:
        self.key_asts = key_asts
        self.key_cols = key_cols
        self.pre: dict[str, Expr] = {}  # pre-projection id -> expr over the input
        self.aggs: list[AggCall] = []
        self.seen: dict[str, Col] = {}


def is_aggregate(node: exp.Expression) -> bool:
    if isinstance(node, exp.Filter) and is_aggregate(node.this):
        return True
    if isinstance(node, exp.AggFunc):
        return True
    if isinstance(node, exp.Anonymous) and node.name.lower() in F.AGGREGATES:
        return True
    return False


def contains_aggregate(node: exp.Expression) -> bool:
    """Does ``node`` call an aggregate of this block (not of a subquery, not windowed)?"""
    for n in node.walk(bfs=False, prune=lambda x: isinstance(x, (exp.Subquery, exp.Window,
                                                                  exp.Select))):
        if n is not node and isinstance(n, (exp.Select, exp.Subquery)):
            continue
        if is_aggregate(n) and not isinstance(n.parent, exp.Window):
            return True
    return False


class AggregateBinder(BinderState):
    """Binds aggregate calls (``sum(x)``, ``count(DISTINCT x)``, ``... FILTER (WHERE c)``,
    ``string_agg(x, ',' ORDER BY y)``) to columns of the block's ``Aggregate``."""

    def aggregate(self, node: exp.Expression, scope: Scope, agg: AggState) -> Expr:
        key = node.sql(dialect="duckdb")
        if key in agg.seen:
            return agg.seen[key]
        filt: exp.Expression | None = None
        if isinstance(node, exp.Filter):
            filt = node.expression.this if isinstance(node.expression, exp.Where) \
                else node.expression
            node = node.this
        name = F.canonical_agg(function_name(node))
        distinct = False
        args = func_args(node)
        order_items: list[exp.Ordered] = []
        if args and isinstance(args[0], exp.Order):
            order_items = list(args[0].expressions)
            args = [args[0].this] + args[1:]
        if args and isinstance(args[0], exp.Distinct):
            distinct = True
            args = list(args[0].expressions) + args[1:]
        if name == "count" and (not args or isinstance(args[0], exp.Star)):
            name, args = "count_star", []
        name, args, extra = self._agg_extra(name, args, scope)
        if len(args) > 1:
            raise NotSupportedError(f"{name}() with {len(args)} arguments is not supported")
        cond = F.as_condition(self.expr(filt, scope)) if filt is not None else None
        if cond is not None and contains_aggregate(filt):
            raise BindError("aggregate functions are not allowed in FILTER")
        if cond is not None and name == "count_star":
            name, args = "count", [exp.Literal.number(1)]
        arg_id = None
        t: pa.DataType = pa.null()
        if args:
            e = self._agg_argument(name, args[0], cond, scope)
            arg_id = new_id()
            agg.pre[arg_id] = e
            t = e.type
        order = self._agg_order(name, order_items, scope, agg)
        if distinct and name in ("quantile_cont", "quantile_disc"):
            raise NotSupportedError(f"{name}(DISTINCT ...) is not supported")
        rt = F.agg_type(name, t)
        if name not in _AGG_FUNCS:
            raise NotSupportedError(f"aggregate {name}() is not supported")
        c = AggCall(new_id(), name, arg_id, rt, distinct, extra, order)
        agg.aggs.append(c)
        out = Col(c.id, rt)
        agg.seen[key] = out
        return out

    def _agg_extra(self, name: str, args: list[exp.Expression], scope: Scope
                   ) -> tuple[str, list[exp.Expression], Any]:
        """The constant second argument (separator, quantile) taken out of ``args``."""
        extra = None
        if name in ("string_agg",):
            sep = self.expr(args[1], scope) if len(args) > 1 else lit(",")
            if not isinstance(sep, Lit):
                raise NotSupportedError("string_agg separator must be a constant")
            extra = sep.value
            args = args[:1]
        if name in ("quantile_cont", "quantile_disc"):
            if len(args) < 2:
                raise BindError(f"{name} needs a quantile argument")
            q = self.expr(args[1], scope)
            if not isinstance(q, Lit):
                raise NotSupportedError("quantile must be a constant")
            extra = float(q.value)
            args = args[:1]
        if name == "median":
            name, extra = "quantile_cont", 0.5
        return name, args, extra

    def _agg_argument(self, name: str, arg: exp.Expression, cond: Expr | None,
                      scope: Scope) -> Expr:
        """The aggregate's input, cast to what it computes in and NULL where FILTER fails."""
        e = self.expr(arg, scope)
        if contains_aggregate(arg):
            raise BindError("aggregate function calls cannot be nested")
        if name in ("avg",) and pa.types.is_decimal(e.type):
            e = cast(e, pa.float64())
        if name in ("stddev_samp", "stddev_pop", "var_samp", "var_pop") and \
                not pa.types.is_floating(e.type):
            e = cast(e, pa.float64())
        if name == "string_agg":
            e = F._str(e)
        if name in ("bool_and", "bool_or"):
            e = F.as_condition(e)
        if cond is not None:
            e = call("if_else", [call("coalesce", [cond, lit(False)]), e,
                                 Lit(None, e.type)])
        return e

    def _agg_order(self, name: str, order_items: list[exp.Ordered], scope: Scope,
                   agg: AggState) -> list[tuple[str, bool, bool]]:
        """``agg(x ORDER BY y)``: the sort keys, pre-projected like the argument."""
        order: list[tuple[str, bool, bool]] = []
        if order_items and name == "any_value":
            raise NotSupportedError(f"{name}(... ORDER BY ...) is not supported")
        if order_items and name in ("string_agg", "list"):
            for o in order_items:
                oe = self.expr(o.this, scope)
                oid = new_id()
                agg.pre[oid] = oe
                order.append((oid, bool(o.args.get("desc")), bool(o.args.get("nulls_first"))))
        return order
