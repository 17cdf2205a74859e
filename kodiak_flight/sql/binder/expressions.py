"""Expressions: the ``_x_<sqlglot class>`` visitors that type literals, column references,
parameters, operators, casts, LIKE/GLOB, CASE, intervals and scalar function calls.

``expr`` dispatches on the node's class; aggregates, window functions and subqueries are
bound by the mixins that own them (``aggregates``, ``windows``, ``subqueries``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from .. import functions as F
from ..access.attributes import user_attribute
from ..errors import BindError, NotSupportedError, ParameterError
from ..expr import Col, Expr, Lit, call, cast, lit
from ..functions import conditional, dates, strings
from ..functions.similar import similar_to
from ..functions.try_casts import try_cast
from ..pl import inline
from ..pl import types as user_types
from ..scope import Scope
from ..secrets.reveal import reveal
from ..types import check_key, from_sql, sql_name
from . import quantified, tuple_in
from .aggregates import AggState, is_aggregate
from .calls import func_args, function_name, typed_name
from .context import BinderState, param_number
from .literals import interval_literal, number_literal
from .subqueries import qualifier


class ExpressionBinder(BinderState):
    """Binds scalar expressions; one ``_x_<class>`` method per sqlglot node class."""

    def expr(self, node: exp.Expression, scope: Scope, agg: AggState | None = None) -> Expr:
        """``node`` as a typed expression over ``scope`` (under ``agg``: over its output)."""
        if agg is not None:
            for k_ast, k_col in zip(agg.key_asts, agg.key_cols, strict=True):
                if node == k_ast:
                    return k_col
            if is_aggregate(node):
                return self.aggregate(node, scope, agg)
        if quantified.is_quantified(node):  # x op ANY/ALL (subquery)
            return self.expr(quantified.rewrite(node), scope, agg)
        method: Callable[..., Expr] | None = getattr(self, f"_x_{type(node).__name__}", None)
        if method is not None:
            out = method(node, scope, agg)
            if node.args.get("negate") is True and isinstance(
                    node, (exp.Like, exp.ILike, exp.Glob, exp.RegexpLike, exp.SimilarTo)):
                out = F.not_(out)
            return out
        if isinstance(node, exp.Func):
            return self.function(node, scope, agg)
        raise NotSupportedError(f"expression {node.sql(dialect='duckdb')!r} "
                                f"({type(node).__name__}) is not supported")

    def _x_Column(self, node: exp.Column, scope: Scope, agg: AggState | None) -> Expr:
        if isinstance(node.this, exp.Star):
            raise BindError("* is not allowed here")
        try:
            col, outer = scope.resolve(node.name, node.text("table") or None,
                                       node.text("db") or None)
        except BindError:
            field = self.struct_path(node, scope, agg) if node.table else None  # type: ignore[attr-defined]
            if field is None:
                raise
            return field
        if outer:
            for seen in self.ctx.corr_recorders:  # subqueries finding their correlation
                seen.append(col.id)
        if agg is not None and (not outer or col.id in self.domain_ids):
            for k_col in agg.key_cols + agg.extra_keys:
                src = agg.pre.get(k_col.id)
                if isinstance(src, Col) and src.id == col.id:
                    return k_col
            raise BindError(f"column {node.sql(dialect='duckdb')!r} must appear in the GROUP BY "
                            "clause or be used in an aggregate function")
        return Col(col.id, col.type)

    def _x_Identifier(self, node: exp.Identifier, scope: Scope, agg: AggState | None) -> Expr:
        return self._x_Column(exp.Column(this=node), scope, agg)

    def _x_Paren(self, node: exp.Paren, scope: Scope, agg: AggState | None) -> Expr:
        return self.expr(node.this, scope, agg)

    def _x_IgnoreNulls(self, node: exp.IgnoreNulls, scope: Scope, agg: AggState | None) -> Expr:
        return self.expr(node.this, scope, agg)  # aggregates already skip NULLs

    def _x_Alias(self, node: exp.Alias, scope: Scope, agg: AggState | None) -> Expr:
        return self.expr(node.this, scope, agg)

    def _x_HexString(self, node: exp.HexString, scope: Scope, agg: AggState | None) -> Expr:
        """``x'303132'``: a BLOB literal, two hex digits a byte."""
        try:
            return lit(bytes.fromhex(node.this), pa.binary())
        except ValueError:
            raise BindError(f"x'{node.this}' is not a BLOB literal: it needs an even number "
                            "of hexadecimal digits") from None

    def _x_ByteString(self, node: exp.ByteString, scope: Scope, agg: AggState | None
                      ) -> Expr:
        """``E'a\\nb'``: PostgreSQL's escape string, text (the tokenizer read its escapes)."""
        return lit(node.this, pa.string())

    def _x_Literal(self, node: exp.Literal, scope: Scope, agg: AggState | None) -> Expr:
        if node.is_string:
            return lit(node.this, pa.string())
        return number_literal(node.this)

    def _x_Boolean(self, node: exp.Boolean, scope: Scope, agg: AggState | None) -> Expr:
        return Lit(bool(node.this), pa.bool_())

    def _x_Null(self, node: exp.Null, scope: Scope, agg: AggState | None) -> Expr:
        return Lit(None, pa.null())

    def _x_Placeholder(self, node: exp.Placeholder, scope: Scope, agg: AggState | None) -> Expr:
        if node.this is None:
            raise ParameterError("unnumbered placeholder")
        n = param_number(node)
        return self.ctx.param(n) if n is not None else self.ctx.variable(str(node.this))

    def _x_Parameter(self, node: exp.Parameter, scope: Scope, agg: AggState | None) -> Expr:
        return self.ctx.param(int(node.name))

    def _x_Cast(self, node: exp.Cast, scope: Scope, agg: AggState | None) -> Expr:
        to = from_sql(node.args["to"], self.ctx.user_type)
        inner = self.expr(node.this, scope, agg)
        safe = isinstance(node, exp.TryCast) or node.args.get("safe")
        if user_types.user_type_name(to):  # ``{x: 1, y: 2}::point``: fields by name
            return user_types.coerce(inner, to, f"CAST to {sql_name(to)}",
                                     try_cast if safe else None)
        if safe:
            return try_cast(inner, to)
        return cast(inner, to)

    _x_TryCast = _x_Cast

    def _x_Interval(self, node: exp.Interval, scope: Scope, agg: AggState | None) -> Expr:
        val = node.this
        unit = node.args.get("unit")
        text = val.name if isinstance(val, (exp.Literal, exp.Identifier)) else None
        if text is None:
            v = self.expr(val, scope, agg)
            if not isinstance(v, Lit):
                if unit is None:
                    raise NotSupportedError("INTERVAL of an expression needs a unit: "
                                            "INTERVAL (n) DAY")
                # INTERVAL (n) HOUR: n times one hour (a column of days and smaller units)
                return F.arith("*", interval_literal("1", unit.name), v)
            text = str(v.value)
        return interval_literal(text, unit.name if unit is not None else None)

    # arithmetic / comparison / logic ---------------------------------------

    def _bin(self, node: exp.Binary, scope: Scope, agg: AggState | None) -> tuple[Expr, Expr]:
        a = self.expr(node.this, scope, agg)
        b = self.expr(node.expression, scope, agg)
        self._hint_params(node.this, b)
        self._hint_params(node.expression, a)
        return a, b

    def _hint_params(self, ast: exp.Expression, other: Expr) -> None:
        if isinstance(ast, exp.Placeholder) and (n := param_number(ast)) is not None and \
                not pa.types.is_null(other.type):
            self.ctx.param_types.setdefault(n, other.type)

    def _x_Add(self, n: exp.Add, s: Scope, g: AggState | None) -> Expr:
        return F.arith("+", *self._bin(n, s, g))

    def _x_Sub(self, n: exp.Sub, s: Scope, g: AggState | None) -> Expr:
        return F.arith("-", *self._bin(n, s, g))

    def _x_Mul(self, n: exp.Mul, s: Scope, g: AggState | None) -> Expr:
        return F.arith("*", *self._bin(n, s, g))

    def _x_BitwiseAnd(self, n: exp.BitwiseAnd, s: Scope, g: AggState | None) -> Expr:
        return F.bits.bitwise("&", *self._bin(n, s, g))

    def _x_BitwiseOr(self, n: exp.BitwiseOr, s: Scope, g: AggState | None) -> Expr:
        return F.bits.bitwise("|", *self._bin(n, s, g))

    def _x_BitwiseXor(self, n: exp.BitwiseXor, s: Scope, g: AggState | None) -> Expr:
        return F.bits.bitwise("xor", *self._bin(n, s, g))

    def _x_BitwiseLeftShift(self, n: exp.BitwiseLeftShift, s: Scope, g: AggState | None
                            ) -> Expr:
        return F.bits.bitwise("<<", *self._bin(n, s, g))

    def _x_BitwiseRightShift(self, n: exp.BitwiseRightShift, s: Scope, g: AggState | None
                             ) -> Expr:
        return F.bits.bitwise(">>", *self._bin(n, s, g))

    def _x_BitwiseNot(self, n: exp.BitwiseNot, s: Scope, g: AggState | None) -> Expr:
        return F.bits.bit_not(self.expr(n.this, s, g))

    def _x_Div(self, n: exp.Div, s: Scope, g: AggState | None) -> Expr:
        return F.arith("/", *self._bin(n, s, g))

    def _x_IntDiv(self, n: exp.IntDiv, s: Scope, g: AggState | None) -> Expr:
        return F.arith("//", *self._bin(n, s, g))

    def _x_Mod(self, n: exp.Mod, s: Scope, g: AggState | None) -> Expr:
        return F.arith("%", *self._bin(n, s, g))

    def _x_Neg(self, n: exp.Neg, s: Scope, g: AggState | None) -> Expr:
        e = self.expr(n.this, s, g)
        if isinstance(e, Lit) and isinstance(e.value, (float, Decimal)):
            return Lit(-e.value, e.type)  # (integers fold in ``call``, unless they overflow)
        return call("negate_checked", [e], what="unary -")

    def _x_EQ(self, n: exp.EQ, s: Scope, g: AggState | None) -> Expr:
        return F.compare("equal", *self._bin(n, s, g))

    def _x_NEQ(self, n: exp.NEQ, s: Scope, g: AggState | None) -> Expr:
        return F.compare("not_equal", *self._bin(n, s, g))

    def _x_LT(self, n: exp.LT, s: Scope, g: AggState | None) -> Expr:
        return F.compare("less", *self._bin(n, s, g))

    def _x_LTE(self, n: exp.LTE, s: Scope, g: AggState | None) -> Expr:
        return F.compare("less_equal", *self._bin(n, s, g))

    def _x_GT(self, n: exp.GT, s: Scope, g: AggState | None) -> Expr:
        return F.compare("greater", *self._bin(n, s, g))

    def _x_GTE(self, n: exp.GTE, s: Scope, g: AggState | None) -> Expr:
        return F.compare("greater_equal", *self._bin(n, s, g))

    def _x_NullSafeEQ(self, n: exp.NullSafeEQ, s: Scope, g: AggState | None) -> Expr:
        a, b = self._bin(n, s, g)
        eq = F.compare("equal", a, b)
        both_null = F.and_(call("is_null", [a]), call("is_null", [b]))
        any_null = F.or_(call("is_null", [a]), call("is_null", [b]))
        return call("if_else", [any_null, both_null, eq])

    def _x_NullSafeNEQ(self, n: exp.NullSafeNEQ, s: Scope, g: AggState | None) -> Expr:
        return F.not_(self._x_NullSafeEQ(n, s, g))  # type: ignore[arg-type]

    def _x_And(self, n: exp.And, s: Scope, g: AggState | None) -> Expr:
        return F.and_(*self._bin(n, s, g))

    def _x_Or(self, n: exp.Or, s: Scope, g: AggState | None) -> Expr:
        return F.or_(*self._bin(n, s, g))

    def _x_Not(self, n: exp.Not, s: Scope, g: AggState | None) -> Expr:
        return F.not_(self.expr(n.this, s, g))

    def _x_Xor(self, n: exp.Xor, s: Scope, g: AggState | None) -> Expr:
        return call("xor", [F.as_condition(x) for x in self._bin(n, s, g)])

    def _x_DPipe(self, n: exp.DPipe, s: Scope, g: AggState | None) -> Expr:
        return strings.concat(list(self._bin(n, s, g)), skip_nulls=False)

    def _x_Like(self, n: exp.Like, s: Scope, g: AggState | None) -> Expr:
        return F.strict(strings.like, list(self._bin(n, s, g)))

    def _x_ILike(self, n: exp.ILike, s: Scope, g: AggState | None) -> Expr:
        return F.strict(lambda a: strings.like(a, ignore_case=True), list(self._bin(n, s, g)))

    def _x_Escape(self, n: exp.Escape, s: Scope, g: AggState | None) -> Expr:
        like = n.this
        esc = self.expr(n.expression, s, g)
        if isinstance(like, exp.SimilarTo):
            if not isinstance(esc, Lit):
                raise NotSupportedError("SIMILAR TO ... ESCAPE needs a constant")
            if esc.value is None:
                return Lit(None, pa.bool_())
            out = similar_to(self.expr(like.this, s, g), self.expr(like.expression, s, g),
                             str(esc.value))
            return F.not_(out) if like.args.get("negate") is True else out
        pat = self.expr(like.expression, s, g)
        if not isinstance(pat, Lit) or not isinstance(esc, Lit):
            raise NotSupportedError("LIKE ... ESCAPE needs constants")
        if pat.value is None or esc.value is None:
            return Lit(None, pa.bool_())
        pattern = _translate_escape(str(pat.value), str(esc.value))
        a = self.expr(like.this, s, g)
        out = strings.like([a, lit(pattern)], ignore_case=isinstance(like, exp.ILike))
        return F.not_(out) if like.args.get("negate") is True else out  # NOT LIKE ... ESCAPE

    def _x_Glob(self, n: exp.Glob, s: Scope, g: AggState | None) -> Expr:
        a, b = self._bin(n, s, g)
        if not isinstance(b, Lit):
            raise NotSupportedError("GLOB pattern must be a constant")
        if b.value is None:
            return Lit(None, pa.bool_())
        return call("match_substring_regex", [strings.to_string(a)],
                    pc.MatchSubstringOptions(_glob_regex(str(b.value))))

    def _x_RegexpLike(self, n: exp.RegexpLike, s: Scope, g: AggState | None) -> Expr:
        args = list(self._bin(n, s, g))
        if n.args.get("flag") is not None:  # regexp_matches(s, re, options)
            args.append(self.expr(n.args["flag"], s, g))
        return F.strict(strings.regexp_matches, args)

    def _x_SimilarTo(self, n: exp.SimilarTo, s: Scope, g: AggState | None) -> Expr:
        return F.strict(lambda a: similar_to(a[0], a[1]), list(self._bin(n, s, g)))

    def _x_Between(self, n: exp.Between, s: Scope, g: AggState | None) -> Expr:
        x = self.expr(n.this, s, g)
        lo = self.expr(n.args["low"], s, g)
        hi = self.expr(n.args["high"], s, g)
        return F.and_(F.compare("greater_equal", x, lo), F.compare("less_equal", x, hi))

    def _x_In(self, n: exp.In, s: Scope, g: AggState | None) -> Expr:
        if tuple_in.is_tuple_in(n):
            return self.expr(tuple_in.rewrite(n, False, qualifier(s)), s, g)
        x = self.expr(n.this, s, g)
        q = n.args.get("query")
        if q is not None:
            check_key(x.type, "IN (subquery)", order=False)  # (it runs as a join on x)
            return self.in_subquery(x, q, s, g)
        if n.args.get("unnest") is not None:
            raise NotSupportedError("IN UNNEST is not supported")
        if n.args.get("field") is not None:  # x IN list_column: membership, as DuckDB's
            return self.call_function(F.require("list_contains"),
                                      [self.expr(n.args["field"], s, g), x])
        items = [self.expr(i, s, g) for i in n.expressions]
        for i in n.expressions:
            self._hint_params(i, x)
        return F.in_list(x, items)

    def _x_Is(self, n: exp.Is, s: Scope, g: AggState | None) -> Expr:
        x = self.expr(n.this, s, g)
        rhs = n.expression
        if isinstance(rhs, exp.Null):
            return call("is_null", [x])
        if isinstance(rhs, exp.Boolean):
            xb = F.as_condition(x)
            v = call("equal", [xb, lit(bool(rhs.this))])
            return call("coalesce", [v, lit(False)])
        raise NotSupportedError(f"IS {rhs.sql()} is not supported")

    def _x_Case(self, n: exp.Case, s: Scope, g: AggState | None) -> Expr:
        base = self.expr(n.this, s, g) if n.this is not None else None
        conds, vals = [], []
        for i in n.args.get("ifs") or []:
            c = self.expr(i.this, s, g)
            if base is not None:
                c = F.compare("equal", base, c)
            conds.append(c)
            vals.append(self.expr(i.args["true"], s, g))
        default = n.args.get("default")
        return F.case_when(conds, vals, self.expr(default, s, g) if default is not None
                           else None)

    def _x_If(self, n: exp.If, s: Scope, g: AggState | None) -> Expr:
        f = n.args.get("false")
        return F.case_when([self.expr(n.this, s, g)], [self.expr(n.args["true"], s, g)],
                           self.expr(f, s, g) if f is not None else None)

    def _x_Coalesce(self, n: exp.Coalesce, s: Scope, g: AggState | None) -> Expr:
        args = [self.expr(n.this, s, g)] + [self.expr(e, s, g) for e in n.expressions]
        return F.coalesce(args)

    def _x_Nullif(self, n: exp.Nullif, s: Scope, g: AggState | None) -> Expr:
        return conditional.nullif([self.expr(n.this, s, g), self.expr(n.expression, s, g)])

    def _x_Extract(self, n: exp.Extract, s: Scope, g: AggState | None) -> Expr:
        return dates.extract(n.this.name, self.expr(n.expression, s, g))

    def _x_Substring(self, n: exp.Substring, s: Scope, g: AggState | None) -> Expr:
        args = [self.expr(n.this, s, g), self.expr(n.args.get("start") or exp.Literal.number(1),
                                                    s, g)]
        if n.args.get("length") is not None:
            args.append(self.expr(n.args["length"], s, g))
        return F.strict(strings.substring, args)

    def _x_Trim(self, n: exp.Trim, s: Scope, g: AggState | None) -> Expr:
        x = self.expr(n.this, s, g)
        side = (n.text("position") or "BOTH").lower()
        chars = n.args.get("expression")
        args = [x] + ([self.expr(chars, s, g)] if chars is not None else [])
        return F.strict(lambda a: strings.trim(a, side), args)

    def _x_Pad(self, n: exp.Pad, s: Scope, g: AggState | None) -> Expr:
        args = [self.expr(n.this, s, g), self.expr(n.expression, s, g)]
        if n.args.get("fill_pattern") is not None:
            args.append(self.expr(n.args["fill_pattern"], s, g))
        left = bool(n.args.get("is_left"))
        return F.strict(lambda a: strings.pad(a, left=left), args)

    def _x_TimestampTrunc(self, n: exp.TimestampTrunc, s: Scope, g: AggState | None) -> Expr:
        return F.strict(dates.date_trunc, [self.unit_argument(n.args.get("unit"), s, g),
                                           self.expr(n.this, s, g)])

    _x_DateTrunc = _x_TimestampTrunc

    def _x_CurrentDate(self, n: exp.Expression, s: Scope, g: AggState | None) -> Expr:
        return self.call_function(F.require("current_date"), [])

    def _x_CurrentTimestamp(self, n: exp.Expression, s: Scope, g: AggState | None) -> Expr:
        return self.call_function(F.require("now"), [])

    def _x_CurrentUser(self, n: exp.Expression, s: Scope, g: AggState | None) -> Expr:
        """The session's user (NULL without one), fixed for the statement."""
        return Lit(self.ctx.user, pa.string())

    def _x_Tuple(self, n: exp.Tuple, s: Scope, g: AggState | None) -> Expr:
        raise NotSupportedError("row values (tuples) are not supported")

    def _x_Star(self, n: exp.Star, s: Scope, g: AggState | None) -> Expr:
        raise BindError("* is only allowed in the select list or count(*)")

    def function(self, node: exp.Func, scope: Scope, agg: AggState | None) -> Expr:
        """A scalar function call (aggregates and window functions are bound elsewhere)."""
        name = typed_name(node)  # in messages; the registry knows sqlglot's name too
        if function_name(node) in ("secret", "current_user_attr"):  # read the catalog
            args = [a.name if isinstance(a, exp.Literal) and a.is_string else a
                    for a in func_args(node)]
            if function_name(node) == "current_user_attr":
                return user_attribute(self.ctx, args)
            return reveal(self.ctx, args)
        if isinstance(node, exp.Anonymous) and F.lookup(function_name(node)) is None:
            made = self.type_constructor(node, scope, agg)  # type: ignore[attr-defined]
            if made is not None:  # ``point(1, 2)``
                return made
            return inline.bind_call(self, node, scope, agg)  # a user function (pl/)
        fn = F.require(function_name(node), name)
        if fn.kind == F.AGGREGATE:
            raise BindError(f"aggregate function {name}() is not allowed here")
        if fn.kind == F.WINDOW:
            raise BindError(f"window function {name}() requires an OVER clause")
        if fn.kind == F.TABLE:
            raise BindError(f"table function {name}() can only be used in FROM")
        args = [self.expr(a, scope, agg) for a in func_args(node)]
        carrier = row_carrier(scope, agg) if fn.rows else None
        return self.call_function(fn, args, name, carrier)

    def call_function(self, fn: F.Function, args: list[Expr], name: str | None = None,
                      carrier: Expr | None = None) -> Expr:
        """Scalar function ``fn`` applied to ``args``; a plan holding a function that is not
        immutable (now(), current_date) is not reused by later executions. ``carrier``: a
        column of the rows a function such as random() is computed for."""
        if not fn.immutable:
            self.ctx.volatile = True
        if fn.volatility == F.STABLE and not args:  # one value for the whole statement
            memo = self.ctx.stable_calls
            if fn.name not in memo:
                memo[fn.name] = F.apply(fn, args, name)
            return copy.copy(memo[fn.name])
        return F.apply(fn, args, name, carrier)


def row_carrier(scope: Scope, agg: AggState | None) -> Expr | None:
    """A column of the rows an expression in ``scope`` is computed for (after ``agg``, a
    group key); None where they are one row (no FROM, no GROUP BY over an aggregate)."""
    if agg is not None:
        keys = agg.key_cols + agg.extra_keys
        return keys[0] if keys else None
    return Col(scope.cols[0].id, scope.cols[0].type) if scope.cols else None


def _glob_regex(pattern: str) -> str:
    """GLOB (``*``, ``?``, ``[...]``) as an anchored RE2 pattern."""
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)


def _translate_escape(pattern: str, esc: str) -> str:
    """A LIKE pattern with escape character ``esc`` rewritten to backslash escapes."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == esc and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append("\\" + nxt if nxt in "%_\\" else nxt)
            i += 2
            continue
        if ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)
        i += 1
    return "".join(out)

