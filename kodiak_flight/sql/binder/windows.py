"""Window functions in the SELECT list and QUALIFY: ``f(...) OVER (PARTITION BY ... ORDER BY
... frame)`` bound to a ``WindowCall`` that the block's ``Window`` node computes (see
``..window`` for how); named windows (``WINDOW w AS (...)``) merged in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..errors import BindError, NotSupportedError
from ..expr import Col, Expr, Lit, cast
from ..functions.windows import shape
from ..plan import SortKey, WindowCall
from ..scope import Scope
from ..types import check_key
from ..window import RUNNING, WHOLE, Frame
from .aggregates import AggState, computed_as
from .calls import func_args, function_name, typed_name
from .context import BinderState, new_id


def filtered_call(node: exp.Filter) -> exp.Expression:
    """``agg(x) FILTER (WHERE c)`` over a window as ``agg(CASE WHEN c THEN x END)`` (the
    aggregates a window computes skip NULLs); ``count(*)`` counts ``CASE WHEN c THEN 1``."""
    call = node.this.copy()
    cond = node.expression.this if isinstance(node.expression, exp.Where) else node.expression
    arg = call.this
    if not isinstance(call, exp.AggFunc) or isinstance(arg, (exp.Order, exp.Distinct)) or \
            isinstance(call, exp.ArrayAgg):
        raise NotSupportedError(f"{node.sql(dialect='duckdb')} over a window is not supported")
    value = exp.Literal.number(1) if isinstance(arg, exp.Star) or arg is None else arg
    call.set("this", exp.Case(ifs=[exp.If(this=cond.copy(), true=value)]))
    return call


def contains_window(node: exp.Expression) -> bool:
    """Does ``node`` call a window function (outside subqueries)?"""
    return any(isinstance(n, exp.Window) for n in node.walk(
        prune=lambda x: isinstance(x, (exp.Subquery, exp.Select)) and x is not node))


class WindowBinder(BinderState):
    """Binds window function calls into the block's ``window_calls``."""

    @contextlib.contextmanager
    def windows(self, allowed: bool) -> Iterator[None]:
        """Bind what is inside with window functions allowed or not (``windows_allowed``)."""
        before, self.windows_allowed = self.windows_allowed, allowed
        try:
            yield
        finally:
            self.windows_allowed = before

    def _x_Window(self, node: exp.Window, scope: Scope, agg: AggState | None) -> Expr:
        """``f(...) OVER (...)``: a ``WindowCall`` of the block, read back as a column."""
        if not self.windows_allowed:
            raise BindError("window functions are allowed only in the select list, ORDER BY "
                            "and QUALIFY (not in WHERE, GROUP BY, HAVING, ON, FILTER, an "
                            "aggregate's or another window function's arguments)")
        with self.windows(False):
            return self._window_call(node, scope, agg)

    def _window_call(self, node: exp.Window, scope: Scope, agg: AggState | None) -> Expr:
        node = self._resolve_named(node)
        fn = node.this
        ignore_nulls = False
        if isinstance(fn, exp.IgnoreNulls):
            ignore_nulls, fn = True, fn.this
        elif isinstance(fn, exp.RespectNulls):
            fn = fn.this
        if isinstance(fn, exp.Filter):
            fn = filtered_call(fn)
        distinct = False
        name = typed_name(fn)
        func = F.lookup(function_name(fn)) or F.lookup(name)
        if func is None or func.window is None:
            raise NotSupportedError(f"window function {name}() is not supported")
        if func.aggregate is not None and func.aggregate.by_argument:
            raise NotSupportedError(f"{name}() over a window is not supported")
        raw_args = func_args(fn)
        if raw_args and isinstance(raw_args[0], exp.Distinct):
            distinct = True
            raw_args = list(raw_args[0].expressions) + raw_args[1:]
        if func.name == "count" and (not raw_args or isinstance(raw_args[0], exp.Star)):
            func, raw_args = F.require("count_star"), []
        F.check_arity(func, len(raw_args), name)
        args = [self.expr(a, scope, agg) for a in raw_args]
        part: list[Expr] = []
        if self.domain is not None:  # a correlated subquery's rows, per outer row
            part = [Col(i, t) for i, t in zip(self.domain.ids, self.domain.types, strict=True)]
        for ast in node.args.get("partition_by") or []:
            p = self.expr(ast, scope, agg)
            check_key(p.type, "PARTITION BY", order=True)  # (partitions are found by sorting)
            # a NULL-typed key puts every row in one partition, as an INTEGER NULL does
            part.append(cast(p, pa.int32()) if pa.types.is_null(p.type) else p)
        order = []
        o = node.args.get("order")
        for item in (o.expressions if o is not None else []):
            key = self.expr(item.this, scope, agg)
            check_key(key.type, "a window's ORDER BY", order=True)
            order.append(SortKey(key, bool(item.args.get("desc")),
                                 bool(item.args.get("nulls_first"))))
        frame = self._frame(node.args.get("spec"), bool(order))
        if frame[0] == "range" and ("offset" in (frame[1][0], frame[2][0])) and len(order) != 1:
            raise BindError("RANGE with an offset needs exactly one ORDER BY expression")
        args, t, extra = shape(func, args)
        computes = computed_as(func)
        if distinct and not (func.aggregate is not None and func.aggregate.window_distinct):
            raise NotSupportedError(f"{computes}(DISTINCT ...) over a window is not supported")
        call = WindowCall(new_id(), computes, args, t, part, order, extra, frame, ignore_nulls,
                          distinct)
        self.window_calls.append(call)
        return Col(call.id, t)

    def _resolve_named(self, node: exp.Window) -> exp.Window:
        """Merge ``OVER w`` / ``OVER (w ORDER BY ...)`` with ``WINDOW w AS (...)``."""
        named = self.named_windows
        ref = node.args.get("alias")
        if ref is None:
            return node
        base = named.get(ref.name.lower())
        if base is None:
            raise BindError(f"window {ref.name!r} is not defined")
        base = self._resolve_named(base)
        merged = node.copy()
        merged.set("alias", None)
        for k in ("partition_by", "order", "spec"):
            if not merged.args.get(k) and base.args.get(k):
                merged.set(k, base.args[k].copy() if isinstance(base.args[k], exp.Expression)
                           else [x.copy() for x in base.args[k]])
        return merged

    def _frame(self, spec: exp.Expression | None, has_order: bool) -> Frame:
        """The frame clause (default: RANGE to the current row with ORDER BY, else all)."""
        if spec is None:
            return RUNNING if has_order else WHOLE
        if spec.args.get("exclude") is not None:
            raise NotSupportedError("EXCLUDE in window frames is not supported")
        mode = (spec.args.get("kind") or "range").lower()
        start = self._spec_bound(spec.args.get("start"), spec.args.get("start_side"), True)
        end_v = spec.args.get("end")
        end = self._spec_bound(end_v, spec.args.get("end_side"), False) \
            if end_v is not None else ("current", None)
        if start == ("unbounded", 1) or end == ("unbounded", -1):
            raise BindError("frame start cannot be UNBOUNDED FOLLOWING, nor end UNBOUNDED "
                            "PRECEDING")
        if mode == "range" and not has_order and ("offset" in (start[0], end[0])):
            raise BindError("RANGE with an offset needs an ORDER BY")
        return (mode, start, end)

    def _spec_bound(self, value: Any, side: Any, is_start: bool) -> tuple[str, Any]:
        """One frame bound: UNBOUNDED, CURRENT ROW or a constant offset (negative before)."""
        side_s = str(side or "").lower()
        if value is None:
            return ("current", None)
        if isinstance(value, str):
            v = value.upper()
            if v == "UNBOUNDED":
                if side_s == "following" or (not side_s and not is_start):
                    return ("unbounded", 1)
                return ("unbounded", -1)
            if v == "CURRENT ROW":
                return ("current", None)
            raise NotSupportedError(f"window frame bound {value} is not supported")
        off = self.expr(value, Scope([]))
        if not isinstance(off, Lit) or off.value is None:
            raise NotSupportedError("window frame offsets must be constants")
        v = off.value
        if pa.types.is_interval(off.type):
            if v.months:
                raise NotSupportedError("month/year intervals in RANGE frames are not supported")
            v = ("interval", v.days, v.nanoseconds)
            return ("offset", v if side_s == "following" else ("neg",) + v)
        if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "as_tuple"):
            raise BindError("window frame offsets must be numbers or intervals")
        if v < 0:
            raise BindError("window frame offsets must not be negative")
        return ("offset", v if side_s == "following" else -v)

