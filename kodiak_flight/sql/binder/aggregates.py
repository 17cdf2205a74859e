"""Aggregates: recognising aggregate calls in the AST and binding them into the ``AggCall``s
of one SELECT block's ``Aggregate`` node, with their arguments pre-projected."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..errors import BindError, NotSupportedError, SqlTypeError
from ..expr import Col, Expr, Lit, call, cast, lit
from ..functions.aggregates import parameter
from ..plan import AggCall
from ..scope import Scope
from ..types import check_key, listable, sql_name
from .calls import func_args, function_name, typed_name
from .context import BinderState, new_id


class AggState:
    """Aggregation context of one SELECT block: group keys and collected aggregates."""

    def __init__(self, key_asts: list[exp.Expression], key_cols: list[Col]) -> None:
        self.key_asts = key_asts
        self.key_cols = key_cols
        self.pre: dict[str, Expr] = {}  # pre-projection id -> expr over the input
        self.aggs: list[AggCall] = []
        self.seen: dict[str, Expr] = {}
        # correlated subqueries over the aggregated rows: (placeholder column, binds it
        # over the plan once the Aggregate exists)
        self.pending: list[tuple[Col, Any]] = []
        self.extra_keys: list[Col] = []  # keys not in GROUP BY: correlation, domain columns


def is_aggregate(node: exp.Expression) -> bool:
    if isinstance(node, exp.Filter) and is_aggregate(node.this):
        return True
    if isinstance(node, exp.AggFunc):
        return True
    if isinstance(node, exp.Anonymous):
        fn = F.lookup(node.name)
        return fn is not None and fn.kind == F.AGGREGATE
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


def aggregate_function(name: str, typed: str | None = None) -> F.Function:
    """The registered aggregate called ``name`` (``typed``: as the user wrote it)."""
    fn = F.lookup(name) or (F.lookup(typed) if typed else None)
    typed = typed or name
    if fn is not None and fn.kind == F.WINDOW:
        raise BindError(f"window function {typed}() requires an OVER clause")
    if fn is None or fn.aggregate is None:
        raise NotSupportedError(f"aggregate {typed}() is not supported")
    return fn


def computed_as(fn: F.Function) -> str:
    """The aggregate the executor runs for ``fn`` (median runs as quantile_cont)."""
    spec = fn.aggregate
    return spec.runs_as[0] if spec is not None and spec.runs_as is not None else fn.name


# aggregates whose result holds NULL values (FILTER must drop rows, not make them NULL)
KEEPS_NULLS = ("list",)


def first_or_last(node: exp.Expression, filt: exp.Expression | None
                  ) -> exp.Expression | None:
    """``first(x ORDER BY k)`` / ``last(x ORDER BY k)`` as the first / last element of
    ``list(x ORDER BY k)`` (NULL values included, as DuckDB's are); ``last(x)`` with no
    order as ``first(x)`` (any value); None for other calls."""
    if not isinstance(node, (exp.First, exp.Last)):
        return None
    arg = node.this
    if not isinstance(arg, exp.Order):
        if isinstance(node, exp.First):
            return None
        call: exp.Expression = exp.First(this=arg.copy())
        return exp.Filter(this=call, expression=exp.Where(this=filt.copy())) \
            if filt is not None else call
    values: exp.Expression = exp.ArrayAgg(this=arg.copy())
    if filt is not None:
        values = exp.Filter(this=values, expression=exp.Where(this=filt.copy()))
    at = exp.Literal.number(1) if isinstance(node, exp.First) else \
        exp.Neg(this=exp.Literal.number(1))
    return exp.Anonymous(this="list_extract", expressions=[values, at])


def _plain_columns(node: exp.Expression) -> list[exp.Column]:
    """The columns ``node`` reads itself (not those of the subqueries inside it)."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, exp.Column):
            out.append(n)
        elif not isinstance(n, (exp.Select, exp.Subquery, exp.Lambda)):
            stack.extend(n.iter_expressions())
    return out


def _outer_only(args: list[exp.Expression], scope: Scope) -> bool:
    """Whether every column the arguments read comes from an enclosing query: the standard
    makes such an aggregate the enclosing query's (``(SELECT sum(outer.x) FROM t)``)."""
    if scope.parent is None:
        return False
    cols = [c for a in args for c in _plain_columns(a)]
    outer = scope.parent
    return bool(cols) and all(not scope.find(c.name, c.table or None)
                              and outer.resolvable(c.name, c.table or None) for c in cols)


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
        ends = first_or_last(node, filt)
        if ends is not None:
            out = self.expr(ends, scope, agg)  # type: ignore[attr-defined]
            agg.seen[key] = out
            return out
        name = typed_name(node)
        fn = aggregate_function(function_name(node), name)
        distinct = False
        args = func_args(node)
        order_items: list[exp.Ordered] = []
        if args and isinstance(args[0], exp.Order):
            order_items = list(args[0].expressions)
            args = [args[0].this] + args[1:]
        if args and isinstance(args[0], exp.Distinct):
            distinct = True
            args = list(args[0].expressions) + args[1:]
        if fn.name == "count" and (not args or isinstance(args[0], exp.Star)):
            fn, args = F.require("count_star"), []
        if _outer_only(args, scope):
            raise NotSupportedError(f"{name}() of an enclosing query's columns only, inside a "
                                    "subquery, is not supported (it would aggregate the "
                                    "enclosing query's rows)")
        F.check_arity(fn, len(args), name)
        if fn.name == "avg" and not distinct and not order_items:
            via_sum = self._decimal_avg(args[0], filt, scope, agg)
            if via_sum is not None:
                agg.seen[key] = via_sum
                return via_sum
        args, extra = self._agg_parameter(fn, args, scope)
        if fn.aggregate is not None and fn.aggregate.by_argument:  # arg_min(x, by)
            if order_items:
                raise NotSupportedError(f"{name}(... ORDER BY ...) is not supported")
            order_items, args = [exp.Ordered(this=args[1])], args[:1]
        with self.windows(False):  # type: ignore[attr-defined]
            cond = F.as_condition(self.expr(filt, scope)) if filt is not None else None
        if cond is not None and contains_aggregate(filt):
            raise BindError("aggregate functions are not allowed in FILTER")
        if cond is not None and fn.name == "count_star":
            fn, args = F.require("count"), [exp.Literal.number(1)]
        arg_id = None
        types: list[pa.DataType] = []
        if args:
            with self.windows(False):  # type: ignore[attr-defined]
                e = self._agg_argument(fn, args[0], cond, scope)
            arg_id = new_id()
            agg.pre[arg_id] = e
            types = [e.type]
        keep = None
        if cond is not None and fn.name in KEEPS_NULLS:
            # a NULL value is kept, a row FILTER drops is not: the condition goes beside
            # the values, and the rows it fails are dropped (``executor/aggregate.kept``)
            keep = new_id()
            agg.pre[keep] = call("coalesce", [cond, lit(False)])
        order = self._agg_order(fn, order_items, scope, agg)
        func = computed_as(fn)
        if distinct and fn.aggregate is not None and not fn.aggregate.distinct:
            raise NotSupportedError(f"{func}(DISTINCT ...) is not supported")
        if distinct and types:
            check_key(types[0], f"{name}(DISTINCT ...)", order=False)
        if types and fn.aggregate is not None and fn.aggregate.via_list \
                and not listable(types[0]):
            raise SqlTypeError(f"{name} is not defined for {sql_name(types[0])}")
        rt = F.result_type(fn, types, name)
        c = AggCall(new_id(), func, arg_id, rt, distinct, extra, order, keep=keep)
        agg.aggs.append(c)
        out = Col(c.id, rt)
        agg.seen[key] = out
        return out

    def _decimal_avg(self, arg: exp.Expression, filt: exp.Expression | None, scope: Scope,
                     agg: AggState) -> Expr | None:
        """``avg`` of a decimal column as its exact decimal sum over its count, the sum
        shared with a ``sum`` of the same column in the query (TPC-H Q1 asks for both):
        averaging the values cast to DOUBLE cast every row and ran a second, floating
        aggregation. The result is DOUBLE, as DuckDB's, which also divides an exact sum."""
        if not isinstance(arg, exp.Column) or \
                not pa.types.is_decimal(self.expr(arg, scope).type):
            return None
        parts = []
        for kind in (exp.Sum, exp.Count):
            node: exp.Expression = kind(this=arg.copy())
            if filt is not None:
                node = exp.Filter(this=node, expression=exp.Where(this=filt.copy()))
            parts.append(self.aggregate(node, scope, agg))
        total, count = parts
        return call("divide", [cast(total, pa.float64()), cast(count, pa.float64())])

    def _agg_parameter(self, fn: F.Function, args: list[exp.Expression], scope: Scope
                       ) -> tuple[list[exp.Expression], Any]:
        """The constant second argument (separator, quantile) taken out of ``args``."""
        spec = fn.aggregate
        assert spec is not None
        if spec.parameter is None or spec.runs_as is not None:
            return args, parameter(fn, [])
        return args[:1], parameter(fn, [self.expr(a, scope) for a in args[1:2]])

    def _agg_argument(self, fn: F.Function, arg: exp.Expression, cond: Expr | None,
                      scope: Scope) -> Expr:
        """The aggregate's input, cast to what it computes in and NULL where FILTER fails."""
        e = self.expr(arg, scope)
        if contains_aggregate(arg):
            raise BindError("aggregate function calls cannot be nested")
        if pa.types.is_null(e.type):  # Arrow's kernels miscount or refuse the NULL type
            spec = fn.aggregate
            boolean = spec is not None and spec.prepare is F.as_condition
            e = cast(e, pa.bool_() if boolean else pa.int32())
        if fn.aggregate is not None and fn.aggregate.prepare is not None:
            e = fn.aggregate.prepare(e)
        if cond is not None and fn.name not in KEEPS_NULLS:  # (those read ``keep``)
            e = call("if_else", [call("coalesce", [cond, lit(False)]), e,
                                 Lit(None, e.type)])
        return e

    def _agg_order(self, fn: F.Function, order_items: list[exp.Ordered], scope: Scope,
                   agg: AggState) -> list[tuple[str, bool, bool]]:
        """``agg(x ORDER BY y)``: the sort keys, pre-projected like the argument (for the
        aggregates whose result depends on the order; others ignore it)."""
        order: list[tuple[str, bool, bool]] = []
        use = fn.aggregate.order_by if fn.aggregate is not None else "ignored"
        if order_items and use == "refused":
            raise NotSupportedError(f"{fn.name}(... ORDER BY ...) is not supported")
        if order_items and use == "used":
            for o in order_items:
                oe = self.expr(o.this, scope)
                what = f"{fn.name}'s second argument" if fn.aggregate.by_argument \
                    else f"{fn.name}(... ORDER BY ...)"
                check_key(oe.type, what, order=True)
                accepts = fn.aggregate.by_accepts
                if accepts is not None and not accepts(oe.type):
                    raise SqlTypeError(f"{what} is not defined for {sql_name(oe.type)}")
                if fn.aggregate.via_list and not listable(oe.type):
                    raise SqlTypeError(f"{what} is not defined for {sql_name(oe.type)}")
                oid = new_id()
                agg.pre[oid] = oe
                order.append((oid, bool(o.args.get("desc")), bool(o.args.get("nulls_first"))))
        return order
