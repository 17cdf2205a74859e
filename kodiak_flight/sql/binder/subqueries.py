"""Subqueries: WHERE conjuncts with EXISTS / IN (subquery) planned as semi/anti joins,
correlated scalar aggregates by equalities as a left join on the correlation keys (the
other correlated forms: ``correlated``), uncorrelated ones as a ``SubqueryValue`` evaluated
once, and the split of a correlated WHERE into equality keys and
a residual."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..errors import BindError
from ..expr import Call, Col, Expr, Lit, SubqueryValue, and_all, call, cast, lit
from ..plan import Filter, Join, Limit, Node, Project
from ..scope import Scope
from ..types import check_key, common_type
from . import tuple_in
from .aggregates import AggState
from .context import new_id
from .correlated import CorrelatedBinder


class SubqueryBinder(CorrelatedBinder):
    """Binds WHERE (with its subquery conjuncts) and subquery expressions."""

    def bind_where(self, node: exp.Expression, scope: Scope) -> list[Expr]:
        """Bind WHERE into ``self.plan``; return the correlated conjuncts (for the caller)."""
        correlated: list[Expr] = []
        outer_ids = scope.outer_ids() - self.domain_ids
        filters: list[Expr] = []
        self.prior_filters = filters  # (a subquery over a domain applies them first)
        for part in _split_and(node):
            if self._subquery_conjunct(part, scope):
                continue
            e = F.as_condition(self.expr(part, scope))
            if filters or correlated:  # evaluated only where the earlier conjuncts hold
                prior = and_all([F.as_condition(x) for x in filters + correlated])
                assert prior is not None
                e = F.guard(e, call("coalesce", [prior, lit(True)]))
            if e.col_ids() & outer_ids:
                correlated.append(e)
            else:
                filters.append(e)
        self.prior_filters = None
        cond = and_all(filters)
        if cond is not None:
            self.plan = Filter(self.plan, cond)
        return correlated

    def _subquery_conjunct(self, part: exp.Expression, scope: Scope) -> bool:
        """Plan EXISTS / IN (subquery) conjuncts as semi/anti joins; False if not one (then
        the conjunct is bound as an expression: a constant, or a mark join)."""
        negated = False
        node = part
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Not):
            negated = True
            node = node.this
            while isinstance(node, exp.Paren):
                node = node.this
        if tuple_in.is_tuple_in(node):  # NOT (a, b) IN: three values, as an expression
            return not negated and self._subquery_conjunct(
                tuple_in.rewrite(node, True, qualifier(scope)), scope)
        if isinstance(node, exp.Exists):
            d = self.discover(node.this, scope, "exists")
            sub = d.bound
            if not d.refs or not self._semi_ok(d):
                self.remember(node.this, scope, "exists", d)
                return False  # uncorrelated: a constant; else a mark join
            self.plan = Join(self.plan, sub.plan, "anti" if negated else "semi",
                             [o for _, o in sub.corr_keys],
                             [Col(i, o.type) for i, o in sub.corr_keys], sub.corr_residual)
            self.fix_key_types(self.plan)
            return True
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            q = node.args["query"]
            inner_q = q.this if isinstance(q, exp.Subquery) else q
            d = self.discover(inner_q, scope, "in")
            sub = d.bound
            if len(sub.cols) != 1:
                raise BindError("subquery in IN must return exactly one column")
            if d.refs and (negated or not self._semi_ok(d)):
                self.remember(inner_q, scope, "in", d)
                return False  # NOT IN's NULLs per outer row: a mark join
            lhs = self.expr(node.this, scope)
            check_key(lhs.type, "IN (subquery)", order=False)  # (a semi join on it)
            c = sub.cols[0]
            lhs = F.coerce_literal(lhs, c.type)  # 'hello' IN (SELECT int): the cast fails
            lkeys = [lhs] + [o for _, o in sub.corr_keys]
            rkeys: list[Expr] = [Col(c.id, c.type)] + [Col(i, o.type) for i, o in
                                                       sub.corr_keys]
            if negated and not d.refs:
                # NOT IN is NULL (so false) if the subquery has a NULL, or lhs is NULL
                # and the subquery is non-empty.
                s1 = self.nested(scope).bind_query(inner_q)
                s2 = self.nested(scope).bind_query(inner_q)
                c1 = s1.cols[0]
                has_null = SubqueryValue(Filter(s1.plan, call("is_null", [Col(c1.id, c1.type)])),
                                         "exists", pa.bool_())
                nonempty = SubqueryValue(s2.plan, "exists", pa.bool_())
                guard = F.and_(F.not_(has_null), F.or_(call("is_valid", [lhs]),
                                                       F.not_(nonempty)))
                self.plan = Filter(self.plan, guard)
            self.plan = Join(self.plan, sub.plan, "anti" if negated else "semi", lkeys, rkeys,
                             sub.corr_residual)
            self.fix_key_types(self.plan)
            return True
        return False

    def _semi_ok(self, d: Any) -> bool:
        """Whether a correlated EXISTS / IN conjunct can be a semi/anti join: correlated
        only through its WHERE, and no ungrouped aggregate (which always has a row)."""
        return self.fast_ok(d) and not d.bound.empty and \
            bool(d.bound.corr_keys or d.bound.corr_residual is not None)

    def fix_key_types(self, j: Join) -> None:
        """Cast both sides of each equi-join key to their common type."""
        for i, (a, b) in enumerate(zip(j.left_keys, j.right_keys, strict=True)):
            if a.type != b.type:
                t = common_type(a.type, b.type, "join keys")
                j.left_keys[i], j.right_keys[i] = cast(a, t), cast(b, t)

    def split_correlation(self, corr: list[Expr], outer_ids: set[str]
                          ) -> tuple[list[tuple[Expr, Expr]], list[Expr]]:
        """Correlated conjuncts as (inner, outer) equalities and the rest (a residual)."""
        eq: list[tuple[Expr, Expr]] = []
        res: list[Expr] = []
        for c in corr:
            if isinstance(c, Call) and c.fn == "equal":
                a, b = c.args
                ai, bi = a.col_ids(), b.col_ids()
                if ai and not (ai & outer_ids) and bi and bi <= outer_ids:
                    eq.append((a, b))
                    continue
                if bi and not (bi & outer_ids) and ai and ai <= outer_ids:
                    eq.append((b, a))
                    continue
            res.append(c)
        return eq, res

    def _x_Subquery(self, n: exp.Subquery, s: Scope, g: AggState | None) -> Expr:
        d = self.discover(n.this, s, "scalar")
        sub = d.bound
        if len(sub.cols) != 1:
            raise BindError("scalar subquery must return exactly one column")
        c = sub.cols[0]
        if not d.refs:
            return SubqueryValue(Limit(sub.plan, 2, 0), "scalar", c.type, c.id)
        if g is not None:
            return self.defer(d, n.this, s, g, "scalar", c.type)
        if not self._grouped_ok(d, n.this):
            return self.correlated(d, n.this, s, "scalar")
        j = Join(self.plan, sub.plan, "left", [o for _, o in sub.corr_keys],
                 [Col(i, o.type) for i, o in sub.corr_keys])
        self.fix_key_types(j)
        self.plan = j
        out: Expr = Col(c.id, c.type)
        empty = sub.empty[0] if sub.empty else None
        if isinstance(empty, Lit) and empty.value is not None:
            kid = sub.corr_keys[0][0]
            ktype = dict(sub.plan.output)[kid]
            out = call("if_else", [call("is_valid", [Col(kid, ktype)]), out,
                                   cast(empty, c.type)])
        return out

    def _grouped_ok(self, d: Any, q: exp.Expression) -> bool:
        """Whether a correlated scalar subquery is an ungrouped aggregate correlated by
        equalities only (one row per key: a grouped aggregate joined back)."""
        sub = d.bound
        return self.fast_ok(d) and bool(sub.corr_keys) and sub.corr_residual is None \
            and bool(sub.empty) and isinstance(q, exp.Select) and not q.args.get("having") \
            and sub.empty[0] is not None

    def _x_Exists(self, n: exp.Exists, s: Scope, g: AggState | None) -> Expr:
        d = self.discover(n.this, s, "exists")
        if not d.refs:
            return SubqueryValue(Limit(d.bound.plan, 1, 0), "exists", pa.bool_())
        if g is not None:
            return self.defer(d, n.this, s, g, "exists", pa.bool_())
        return self.correlated(d, n.this, s, "exists")

    def in_subquery(self, x: Expr, q: exp.Expression, s: Scope, g: AggState | None = None
                    ) -> Expr:
        """``x IN (subquery)`` outside a WHERE conjunct: the uncorrelated subquery's values,
        computed once, or a mark join for a correlated one."""
        inner = q.this if isinstance(q, exp.Subquery) else q
        d = self.discover(inner, s, "in")
        sub = d.bound
        if len(sub.cols) != 1:
            raise BindError("subquery in IN must return exactly one column")
        if d.refs:
            if g is not None:
                return self.defer(d, inner, s, g, "in", pa.bool_(), x)
            return self.correlated(d, inner, s, "in", x=x)
        x, plan, c = in_operands(x, sub.plan, Col(sub.cols[0].id, sub.cols[0].type))
        values = SubqueryValue(plan, "set", c.type, c.id)
        return Call("is_in", (x,), values, pa.bool_())


def in_operands(x: Expr, plan: Node, c: Col) -> tuple[Expr, Node, Col]:
    """``x`` and the subquery's column ``c`` in their common type, as a comparison casts
    them (a string literal to the column's type, a NULL to any), the subquery's plan
    projecting ``c`` cast."""
    x = F.coerce_literal(x, c.type)
    if x.type == c.type:
        return x, plan, c
    if pa.types.is_decimal(x.type) or pa.types.is_decimal(c.type):
        x = F.narrow_int_literal(x)
    t = common_type(x.type, c.type, "IN (subquery)")
    out = Col(new_id(), t)
    return cast(x, t), Project(plan, [(out.id, cast(c, t))]), out


def _split_and(node: exp.Expression) -> list[exp.Expression]:
    """The conjuncts of ``node`` (an AND tree, parentheses dropped)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _split_and(node.this) + _split_and(node.expression)
    return [node]


def qualifier(scope: Scope) -> tuple_in.Qualify:
    """A column of ``scope`` named by its table (``t.a`` for ``a``), or None where it does
    not resolve to one table."""
    def qualify(c: exp.Column) -> exp.Column | None:
        try:
            info, _ = scope.resolve(c.name, c.table or None)
        except BindError:
            return None
        return exp.column(c.name, info.qual) if info.qual else None
    return qualify
