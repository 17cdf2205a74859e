"""Subqueries: WHERE conjuncts with EXISTS / IN (subquery) planned as semi/anti joins,
correlated scalar subqueries as a left join on the correlation keys, uncorrelated ones as a
``SubqueryValue`` evaluated once, and the split of a correlated WHERE into equality keys and
a residual."""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..errors import BindError, NotSupportedError
from ..expr import Call, Col, Expr, Lit, SubqueryValue, and_all, call, cast, lit
from ..plan import Filter, Join, Limit, Node, Project
from ..scope import Scope
from ..types import common_type
from .aggregates import AggState
from .context import BinderState, new_id


class SubqueryBinder(BinderState):
    """Binds WHERE (with its subquery conjuncts) and subquery expressions."""

    def bind_where(self, node: exp.Expression, scope: Scope) -> list[Expr]:
        """Bind WHERE into ``self.plan``; return the correlated conjuncts (for the caller)."""
        correlated: list[Expr] = []
        outer_ids = scope.outer_ids()
        filters: list[Expr] = []
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
        cond = and_all(filters)
        if cond is not None:
            self.plan = Filter(self.plan, cond)
        return correlated

    def _subquery_conjunct(self, part: exp.Expression, scope: Scope) -> bool:
        """Plan EXISTS / IN (subquery) conjuncts as semi/anti joins; False if not one."""
        negated = False
        node = part
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Not):
            negated = True
            node = node.this
            while isinstance(node, exp.Paren):
                node = node.this
        if isinstance(node, exp.Exists):
            sub = self.nested(scope).bind_query(node.this, corr_mode="exists")
            if not sub.corr_keys and sub.corr_residual is None:
                return False  # uncorrelated: evaluate once as a constant
            self.plan = Join(self.plan, sub.plan, "anti" if negated else "semi",
                             [o for _, o in sub.corr_keys],
                             [Col(i, o.type) for i, o in sub.corr_keys], sub.corr_residual)
            self.fix_key_types(self.plan)
            return True
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            lhs = self.expr(node.this, scope)
            q = node.args["query"]
            sub = self.nested(scope).bind_query(q.this if isinstance(q, exp.Subquery)
                                                     else q, corr_mode="in")
            if len(sub.cols) != 1:
                raise BindError("subquery in IN must return exactly one column")
            c = sub.cols[0]
            lhs = F.coerce_literal(lhs, c.type)  # 'hello' IN (SELECT int): the cast fails
            lkeys = [lhs] + [o for _, o in sub.corr_keys]
            rkeys: list[Expr] = [Col(c.id, c.type)] + [Col(i, o.type) for i, o in
                                                       sub.corr_keys]
            if negated and not sub.corr_keys and sub.corr_residual is None:
                # NOT IN is NULL (so false) if the subquery has a NULL, or lhs is NULL
                # and the subquery is non-empty.
                inner_q = q.this if isinstance(q, exp.Subquery) else q
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
        sub = self.nested(s).bind_query(n.this, corr_mode="scalar")
        if len(sub.cols) != 1:
            raise BindError("scalar subquery must return exactly one column")
        c = sub.cols[0]
        if not sub.corr_keys:
            return SubqueryValue(Limit(sub.plan, 2, 0), "scalar", c.type, c.id)
        if g is not None:
            raise NotSupportedError("correlated subqueries in an aggregating SELECT list or "
                                    "HAVING are not supported")
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

    def _x_Exists(self, n: exp.Exists, s: Scope, g: AggState | None) -> Expr:
        sub = self.nested(s).bind_query(n.this, corr_mode="exists")
        if sub.corr_keys or sub.corr_residual is not None:
            raise NotSupportedError("correlated EXISTS is supported only as a top-level WHERE "
                                    "condition")
        return SubqueryValue(Limit(sub.plan, 1, 0), "exists", pa.bool_())

    def in_subquery(self, x: Expr, q: exp.Expression, s: Scope) -> Expr:
        """``x IN (subquery)`` outside a WHERE conjunct: the uncorrelated subquery's values,
        computed once."""
        sub = self.nested(s).bind_query(q.this if isinstance(q, exp.Subquery) else q)
        if sub.corr_keys or sub.corr_residual is not None or len(sub.cols) != 1:
            raise NotSupportedError("correlated IN (subquery) is supported only as a "
                                    "top-level WHERE condition")
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
