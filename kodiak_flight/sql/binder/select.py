"""SELECT: the query dispatcher and one SELECT block: select list and ``*`` expansion,
GROUP BY keys, aggregation, HAVING, windows and QUALIFY, ORDER BY, LIMIT, DISTINCT [ON], and
the outputs a correlated subquery exposes to its caller."""

from __future__ import annotations

import itertools
from typing import NamedTuple

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from .. import grouping
from ..errors import BindError, NotSupportedError, SqlTypeError, suggest
from ..expr import Col, Expr, Lit, and_all, fold, substitute
from ..plan import (
    AggCall,
    Aggregate,
    Filter,
    Limit,
    Node,
    PercentLimit,
    Project,
    Sort,
    SortKey,
    Window,
    WindowCall,
)
from ..scope import ColInfo, Scope
from ..types import check_key
from . import naming, ties
from .aggregates import AggState, contains_aggregate
from .context import BinderState, Bound, new_id
from .sample import sampled
from .windows import contains_window


def _names(ref: exp.Expression, c: ColInfo) -> bool:
    """Whether ``ref`` (``* EXCLUDE``'s ``[schema.][table.]column``) names column ``c``."""
    return ref.name.lower() == c.name.lower() and \
        all(not part or part.lower() == (have or "").lower()
            for part, have in ((ref.text("table"), c.qual), (ref.text("db"), c.schema)))


def named_windows(sel: exp.Select) -> dict[str, exp.Expression]:
    """The WINDOW clause's definitions by name; a name defined twice is refused."""
    out: dict[str, exp.Expression] = {}
    for w in sel.args.get("windows") or []:
        name = w.this.name.lower()
        if name in out:
            raise BindError(f"window {name!r} is defined more than once")
        out[name] = w
    return out


class _Outputs(NamedTuple):
    """A SELECT block bound up to its windows and projection."""

    plan: Node
    sel_exprs: list[tuple[str, Expr]]  # (output name, expression)
    order_bound: list  # (select-list position or expression, desc, nulls first)
    qualify: Expr | None
    corr_out: list[tuple[Expr, Expr]]  # (inner, outer) correlation keys
    empty: list[Expr | None] | None  # outputs over no rows, for an ungrouped aggregation


class SelectBinder(BinderState):
    """Binds queries and SELECT blocks; FROM, WHERE and expressions come from the other
    mixins."""

    def bind_query(self, node: exp.Expression, corr_mode: str | None = None) -> Bound:
        """Bind a query (SELECT, set operation, VALUES, with its WITH clause).

        ``corr_mode`` says what kind of subquery this is ("scalar", "in", "exists"), which
        decides the correlation it may have."""
        with self.with_clause(node):
            if self.domain is not None and (isinstance(node, exp.SetOperation) or (
                    isinstance(node, exp.Select) and grouping.has_grouping_sets(node))):
                raise NotSupportedError("set operations and grouping sets in a correlated "
                                        "subquery are not supported")
            if isinstance(node, exp.Select) and grouping.has_grouping_sets(node):
                node = grouping.order_by_items(node)
                once = grouping.reaggregated(node, self.output_name)
                if once is not None:
                    try:  # the input read once; if that form does not bind, the plain one
                        return self.nested(self.outer).bind_query(once, corr_mode)
                    except (BindError, SqlTypeError, NotSupportedError):
                        pass
                return self.bind_query(grouping.rewrite(node, self.output_name), corr_mode)
            if isinstance(node, exp.Select):
                return self.bind_select(node, corr_mode)
            if isinstance(node, exp.SetOperation):
                return self.bind_setop(node)
            if isinstance(node, exp.Subquery):
                return self.bind_query(node.this, corr_mode)
            if isinstance(node, exp.Values):
                return self.bind_values(node)
            if isinstance(node, exp.Pivot):  # PIVOT t ON ... USING ... (DuckDB's statement)
                return self.bind_query(self.pivot_statement(node), corr_mode)
            raise NotSupportedError(f"{node.key.upper()} is not supported as a query")

    def bind_select(self, sel: exp.Select, corr_mode: str | None = None) -> Bound:
        """One SELECT block. In a correlated subquery the WHERE conjuncts that read outer
        columns become ``corr_keys`` (equalities) and ``corr_residual`` of the result."""
        distinct = sel.args.get("distinct")
        if distinct is not None and distinct.args.get("on"):
            sel = _distinct_on(sel)
        if _with_ties(sel):
            sel = ties.as_rank_filter(sel)
        plan, scope = self.bind_from(sel)
        if sel.args.get("sample") is not None:  # USING SAMPLE: after FROM, before WHERE
            plan = sampled(plan, sel.args["sample"])
        self.plan = plan
        self.scope = scope
        where = sel.args.get("where")
        corr: list[Expr] = []
        if where is not None:
            corr = self.bind_where(_replace_aliases(where.this, _alias_items(sel), scope),
                                   scope)
        plan = self.plan

        items = self.expand_select(sel, scope)
        plan, scope, items = self.unnest_select_items(plan, scope, items, sel)  # type: ignore
        self.plan, self.scope = plan, scope
        self.named_windows = named_windows(sel)
        qualify = sel.args.get("qualify")
        qualify_ast = _replace_aliases(qualify.this, items, scope) if qualify is not None \
            else None
        group = sel.args.get("group")
        having = sel.args.get("having")
        if having is not None:
            having = exp.Having(this=_replace_aliases(having.this, items, scope))
        order = order_all(sel.args.get("order"), len(items))
        agg_present = any(contains_aggregate(e) for _, e in items) or \
            (having is not None) or (group is not None) or \
            (order is not None and any(contains_aggregate(o) for o in order.expressions))
        outer_ids = scope.outer_ids() - self.domain_ids
        corr_eq, corr_res = self.split_correlation(corr, outer_ids)
        if self.discovering and (corr and (sel.args.get("limit") or sel.args.get("offset")
                                           or _has_window(sel))
                                 or corr_res and (agg_present or corr_mode == "scalar")):
            # LIMIT or a window per outer row, non-equality correlation
            self.needs_general = True
            corr_res = []
        if corr_res and (agg_present or corr_mode == "scalar"):
            raise NotSupportedError("correlated subqueries with non-equality correlation "
                                    "are supported only in EXISTS / IN")
        if self.domain is not None:  # the domain's columns: keys of every group, outputs
            corr_eq = [(Col(i, t), o) for i, t, o in zip(self.domain.ids, self.domain.types,
                                                          self.domain.outer, strict=True)]

        if agg_present:
            out = self._bind_grouped(plan, scope, items, group, having, order, qualify_ast,
                                     corr_eq)
        else:
            out = self._bind_plain(plan, scope, items, order, qualify_ast, corr_eq)
        plan, sel_exprs, order_bound, qualify_expr, corr_out = out[:5]

        # window functions: computed over the (aggregated) input before projection
        if self.window_calls:
            plan = Window(plan, self.window_calls)
            self.window_calls = []
        if qualify_expr is not None:
            if not contains_window(qualify_ast) and not any(
                    contains_window(e) for _, e in items):
                raise BindError("QUALIFY needs a window function in the SELECT list or in "
                                "QUALIFY itself")
            plan = Filter(plan, qualify_expr)

        # projection (+ hidden sort keys and correlation outputs)
        proj: list[tuple[str, Expr]] = []
        cols: list[ColInfo] = []
        for name, e in sel_exprs:
            cid = new_id()
            proj.append((cid, e))
            cols.append(ColInfo(name, cid, e.type))
        for e in itertools.chain(*(x.walk() for _, x in proj)):
            if isinstance(e, Col) and e.id in outer_ids:
                if self.discovering:
                    self.needs_general = True
                    break
                raise NotSupportedError("correlated column references are supported only in "
                                        "the WHERE clause of a subquery")
        n_visible = len(proj)
        sort_keys = _sort_keys(order_bound, proj, bool(sel.args.get("distinct")))
        corr_keys: list[tuple[str, Expr]] = []
        for inner, outer in corr_out:
            kid = new_id()
            proj.append((kid, inner))
            corr_keys.append((kid, outer))
        residual = None
        if corr_res:
            inner_ids = set().union(*(r.col_ids() for r in corr_res)) - outer_ids
            types = dict(plan.output)
            have = {c for c, _ in proj}
            for i in sorted(inner_ids):
                if i not in have:
                    proj.append((i, Col(i, types[i])))
            residual = and_all(corr_res)
        plan = Project(plan, proj)

        if sel.args.get("distinct"):
            for _, e in proj:
                check_key(e.type, "SELECT DISTINCT", order=False)
            plan = Aggregate(plan, [c for c, _ in proj], [])
        bound = Bound(plan, cols, corr_keys, residual)
        if out.empty is not None:
            bound.empty = out.empty
        if self.domain is not None and (sel.args.get("limit") or sel.args.get("offset")):
            bound.plan = self._limit_per_domain(sel, bound, sort_keys)
            return bound
        if sort_keys:
            bound.plan = Sort(bound.plan, sort_keys)
        bound = self.limit(sel, bound)
        if len(proj) > n_visible and not corr_keys and residual is None:
            keep = [(c.id, Col(c.id, c.type)) for c in cols]
            bound.plan = Project(bound.plan, keep)
        return bound

    def _bind_grouped(self, plan: Node, scope: Scope, items: list[tuple[str, exp.Expression]],
                      group: exp.Group | None, having: exp.Having | None,
                      order: exp.Order | None, qualify_ast: exp.Expression | None,
                      corr_eq: list[tuple[Expr, Expr]]) -> _Outputs:
        """An aggregating block: group keys (and correlation keys) and aggregates computed by
        an ``Aggregate`` over ``plan``, outputs, HAVING, ORDER BY and QUALIFY over it."""
        self.plan = plan  # (a correlated subquery in a key or an aggregate's argument
        # joins onto the rows being aggregated)
        key_asts = self._group_keys(group, items) if group is not None else []
        key_exprs = [self.expr(k, scope) for k in key_asts]
        for e in key_exprs:
            check_key(e.type, "GROUP BY", order=False)
        if corr_eq:
            key_exprs += [inner for inner, _ in corr_eq]
        key_cols = []
        pre: dict[str, Expr] = {}
        for e in key_exprs:
            kid = new_id()
            pre[kid] = e
            key_cols.append(Col(kid, e.type))
        agg = AggState(key_asts, key_cols[:len(key_asts)])
        agg.extra_keys = key_cols[len(key_asts):]
        agg.pre = pre
        with self.windows(True):
            sel_exprs = [(name, self.expr(e, scope, agg)) for name, e in items]
        having_expr = F.as_condition(self.expr(having.this, scope, agg)) \
            if having is not None else None
        with self.windows(True):
            order_bound = self._bind_order_items(order, items, sel_exprs, scope, agg)
            qualify_expr = F.as_condition(self.expr(qualify_ast, scope, agg)) \
                if qualify_ast is not None else None
        plan = Aggregate(Project(self.plan, list(agg.pre.items())), [c.id for c in key_cols],
                         agg.aggs)
        if self.domain is not None and group is None:
            plan = self.domain_complete(plan, key_cols, agg.aggs)
        if agg.pending:
            plan = self.apply_pending(plan, agg)
        if having_expr is not None:
            plan = Filter(plan, having_expr)
        corr_out: list[tuple[Expr, Expr]] = [
            (key_cols[len(key_asts) + i], outer) for i, (_, outer) in enumerate(corr_eq)]
        empty = _empty_values(sel_exprs, agg.aggs) if group is None else None
        return _Outputs(plan, sel_exprs, order_bound, qualify_expr, corr_out, empty)

    def _bind_plain(self, plan: Node, scope: Scope, items: list[tuple[str, exp.Expression]],
                    order: exp.Order | None, qualify_ast: exp.Expression | None,
                    corr_eq: list[tuple[Expr, Expr]]) -> _Outputs:
        """A block without aggregation: outputs, ORDER BY and QUALIFY over ``plan`` (which a
        correlated scalar subquery in them extends with a join)."""
        self.plan = plan
        with self.windows(True):
            sel_exprs = [(name, self.expr(e, scope)) for name, e in items]
            order_bound = self._bind_order_items(order, items, sel_exprs, scope, None)
            qualify_expr = F.as_condition(self.expr(qualify_ast, scope)) \
                if qualify_ast is not None else None
        return _Outputs(self.plan, sel_exprs, order_bound, qualify_expr, list(corr_eq), None)

    def expand_select(self, sel: exp.Select, scope: Scope
                      ) -> list[tuple[str, exp.Expression]]:
        """The select list as (output name, expression), ``*`` expanded (with EXCLUDE,
        REPLACE and RENAME)."""
        out: list[tuple[str, exp.Expression]] = []
        for item in sel.expressions:
            star = item if isinstance(item, exp.Star) else \
                item.this if isinstance(item, exp.Column) and isinstance(item.this, exp.Star) \
                else None
            if star is not None:
                qual = item.text("table") if isinstance(item, exp.Column) else None
                excluded = star.args.get("except_") or star.args.get("except") or []
                excl = {c.name.lower() for c in excluded}
                repl = {a.alias.lower(): a.this for a in (star.args.get("replace") or [])}
                renames = {a.this.name.lower(): a.alias for a in (star.args.get("rename") or [])}
                cols = [c for c in scope.cols if not c.hidden and
                        (qual is None or (c.qual or "").lower() == qual.lower())]
                if qual and not cols:
                    raise BindError(f"table {qual!r} not found in FROM clause"
                                    + suggest(qual, {c.qual for c in scope.cols if c.qual}))
                names = {c.name.lower() for c in cols}
                for k in list(excl) + list(repl) + list(renames):
                    if k not in names:
                        raise BindError(f"column {k!r} in * EXCLUDE/REPLACE/RENAME not found"
                                        + suggest(k, [c.name for c in cols]))
                for c in cols:
                    if any(_names(x, c) for x in excluded):
                        continue
                    ref = exp.column(c.name, table=c.qual, db=c.schema, quoted=True) \
                        if c.qual else exp.column(c.name, quoted=True)
                    out.append((renames.get(c.name.lower(), c.name), repl.get(c.name.lower(), ref)))
                if excluded and not out:
                    raise BindError("the select list is empty once * EXCLUDE has left out "
                                    "its columns")
                continue
            if isinstance(item, exp.Alias):
                out.append((item.alias, item.this))
            else:
                out.append((self.output_name(item, scope), item))
        return out

    def output_name(self, item: exp.Expression, scope: Scope | None = None) -> str:
        """An unaliased select item's name (``naming``): a column reference is named by the
        column it resolves to in ``scope``; a view stored without its column names keeps
        the names it was given then."""
        if self.ctx.legacy_names:
            return naming.legacy_name(item)
        resolved = None
        if scope is not None and isinstance(item, exp.Column) and \
                not isinstance(item.this, exp.Star):
            try:
                resolved = scope.resolve(item.name, item.table or None)[0].name
            except BindError:
                pass  # binding the item reports it
        return naming.output_name(item, resolved)

    def _group_keys(self, group: exp.Group, items: list[tuple[str, exp.Expression]]
                    ) -> list[exp.Expression]:
        """GROUP BY keys, positions and select-list aliases resolved (GROUP BY ALL: every
        non-aggregate item)."""
        if group.args.get("all"):
            return [e for _, e in items if not contains_aggregate(e) and not
                    contains_window(e)]
        if group.args.get("rollup") or group.args.get("cube") or \
                group.args.get("grouping_sets"):
            raise NotSupportedError("ROLLUP / CUBE / GROUPING SETS are not supported")
        keys = []
        aliases = {name.lower(): e for name, e in items}
        in_cols = {c.name.lower() for c in self.scope.cols}
        for k in group.expressions:
            if isinstance(k, exp.Literal) and not k.is_string:
                idx = int(k.this) - 1
                if not 0 <= idx < len(items):
                    raise BindError(f"GROUP BY position {idx + 1} is out of range")
                keys.append(items[idx][1])
            elif isinstance(k, exp.Column) and not k.table and k.name.lower() in aliases \
                    and k.name.lower() not in in_cols:
                keys.append(aliases[k.name.lower()])
            else:
                keys.append(k)
        return keys

    def _bind_order_items(self, order: exp.Order | None, items: list, sel_exprs: list,
                          scope: Scope, agg: AggState | None) -> list:
        if order is None:
            return []
        out = []
        aliases: dict[str, int] = {}
        twice: set[str] = set()  # names two different output columns have
        for i, (name, ast) in enumerate(items):
            first = aliases.setdefault(name.lower(), i)
            if first != i and items[first][1] != ast:
                twice.add(name.lower())
        for o in order.expressions:
            e = o.this
            desc = bool(o.args.get("desc"))
            nf = bool(o.args.get("nulls_first"))
            if isinstance(e, exp.Literal) and not e.is_string:
                idx = int(e.this) - 1
                if not 0 <= idx < len(items):
                    raise BindError(f"ORDER BY position {idx + 1} is out of range")
                out.append((idx, desc, nf))
                continue
            if isinstance(e, exp.Column) and not e.table and e.name.lower() in twice:
                raise BindError(f"ORDER BY {e.name!r} is ambiguous: two result columns have "
                                "that name")
            if isinstance(e, exp.Column) and not e.table and e.name.lower() in aliases:
                out.append((aliases[e.name.lower()], desc, nf))
                continue
            match = next((i for i, (_, ast) in enumerate(items) if ast == e), None)
            if match is not None:
                out.append((match, desc, nf))
                continue
            out.append((self.expr(_replace_aliases(e, items, scope), scope, agg), desc, nf))
        return out

    def _limit_per_domain(self, sel: exp.Select, bound: Bound, sort_keys: list[SortKey]
                          ) -> Node:
        """LIMIT / OFFSET of a subquery bound over a domain: per domain row (a row number
        partitioned by the domain's columns, in ORDER BY's order)."""
        lim = sel.args.get("limit")
        off = sel.args.get("offset")
        n = self._const_int(_limit_count(lim), "LIMIT") if lim is not None else None
        o = (self._const_int(off.expression, "OFFSET") or 0) if off is not None else 0
        types = dict(bound.plan.output)
        rn = Col(new_id(), pa.int64())
        part: list[Expr] = [Col(k, types[k]) for k, _ in bound.corr_keys]
        w = Window(bound.plan, [WindowCall(rn.id, "row_number", [], rn.type, part, sort_keys)])
        cond = F.compare("greater", rn, Lit(o, pa.int64()))
        if n is not None:
            cond = F.and_(cond, F.compare("less_equal", rn, Lit(o + n, pa.int64())))
        return Project(Filter(w, cond), [(i, Col(i, t)) for i, t in bound.plan.output])

    def limit(self, node: exp.Expression, bound: Bound) -> Bound:
        """``node``'s LIMIT / OFFSET (constants) applied to ``bound``."""
        lim = node.args.get("limit")
        off = node.args.get("offset")
        if lim is None and off is None:
            return bound
        o = self._const_int(off.expression, "OFFSET") if off is not None else 0
        opts = lim.args.get("limit_options") if lim is not None else None
        if opts is not None and opts.args.get("with_ties"):  # a SELECT block rewrites it
            raise NotSupportedError(f"{lim.sql(dialect='postgres')} is not supported here")
        if opts is not None and opts.args.get("percent"):
            bound.plan = PercentLimit(bound.plan, ties.percent(lim), o)
            return bound
        n = self._const_int(_limit_count(lim), "LIMIT") if lim is not None else None
        bound.plan = Limit(bound.plan, n, o)
        return bound

    def _const_int(self, e: exp.Expression, what: str) -> int | None:
        v = self.expr(e, Scope([]))
        if not isinstance(v, Lit) or (v.value is not None and not isinstance(v.value, int)):
            raise BindError(f"{what} must be a constant integer")
        if v.value is not None and v.value < 0:
            raise BindError(f"{what} must not be negative")
        return v.value


def _replace_aliases(node: exp.Expression, items: list[tuple[str, exp.Expression]],
                     scope: Scope) -> exp.Expression:
    """Select-list aliases used in WHERE, HAVING, QUALIFY or an ORDER BY expression,
    replaced by the expressions they name (DuckDB's reading; a column of the FROM clause
    of that name wins, and a subquery's own columns are its own)."""
    aliases = {name.lower(): e for name, e in items}
    inputs = {c.name.lower() for c in scope.cols}

    def repl(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and not n.table and n.name.lower() in aliases and \
                n.name.lower() not in inputs and n.find_ancestor(exp.Query) is None:
            return aliases[n.name.lower()].copy()
        return n
    return node.copy().transform(repl)


def _has_window(sel: exp.Select) -> bool:
    """Whether the block computes a window function (in its own clauses, not a subquery's):
    correlated, it must see each outer row's rows alone."""
    return any(w.find_ancestor(exp.Query) is sel for w in sel.find_all(exp.Window))


def _alias_items(sel: exp.Select) -> list[tuple[str, exp.Expression]]:
    """The select list's aliased items, (alias, expression), before it is expanded."""
    return [(e.alias, e.this) for e in sel.expressions if isinstance(e, exp.Alias)]


def _empty_values(sel_exprs: list[tuple[str, Expr]], aggs: list[AggCall]
                  ) -> list[Expr | None]:
    """Each output's constant value over no input rows (counts 0, other aggregates NULL),
    or None where that is not a constant."""
    zero = {a.id: Lit(F.aggregate_spec(a.func).empty, a.type) for a in aggs}
    empties: list[Expr | None] = []
    for _, e in sel_exprs:
        v = fold(substitute(e, zero))
        empties.append(v if isinstance(v, Lit) else None)
    return empties


def _sort_keys(order_bound: list, proj: list[tuple[str, Expr]], distinct: bool
               ) -> list[SortKey]:
    """ORDER BY items as sort keys over the projection; an expression not in the select list
    is appended to ``proj`` as a hidden column."""
    sort_keys: list[SortKey] = []
    if order_bound:
        sel_ids = {id(e): cid for (cid, e) in proj}
        for e, desc, nf in order_bound:
            if isinstance(e, int):
                ref = Col(proj[e][0], proj[e][1].type)
            elif id(e) in sel_ids:
                ref = Col(sel_ids[id(e)], e.type)
            else:
                if distinct:
                    raise BindError("for SELECT DISTINCT, ORDER BY expressions must appear "
                                    "in the select list")
                hid = new_id()
                proj.append((hid, e))
                ref = Col(hid, e.type)
            check_key(ref.type, "ORDER BY", order=True)
            sort_keys.append(SortKey(ref, desc, nf))
    return sort_keys


def _distinct_on(sel: exp.Select) -> exp.Select:
    """``SELECT DISTINCT ON (k) ... ORDER BY o`` as ``SELECT ... QUALIFY row_number() OVER
    (PARTITION BY k ORDER BY o) = 1 ORDER BY o``: the first row of each ``k`` in ``o``'s
    order (an arbitrary one without ORDER BY), as in PostgreSQL and DuckDB."""
    sel = sel.copy()
    on = sel.args["distinct"].args["on"]
    items = list(sel.expressions)
    aliases = {e.alias: e.this for e in items if isinstance(e, exp.Alias)}

    def resolve(x: exp.Expression, what: str = "DISTINCT ON") -> exp.Expression:
        if isinstance(x, exp.Literal) and x.is_int:
            if not 1 <= int(x.name) <= len(items):
                raise BindError(f"{what} position {x.name} is out of range (1 to "
                                f"{len(items)})")
            x = items[int(x.name) - 1]
            return (x.this if isinstance(x, exp.Alias) else x).copy()
        if isinstance(x, exp.Column) and not x.table and x.name in aliases:
            return aliases[x.name].copy()
        return x.copy()

    keys = [resolve(k) for k in (on.expressions if isinstance(on, exp.Tuple) else [on])]
    order = sel.args.get("order")
    ordered = [exp.Ordered(this=resolve(o.this, "ORDER BY"), desc=o.args.get("desc"),
                           nulls_first=o.args.get("nulls_first"))
               for o in (order.expressions if order is not None else [])]
    window = exp.Window(this=exp.RowNumber(), partition_by=keys,
                        order=exp.Order(expressions=ordered) if ordered else None)
    first: exp.Expression = exp.EQ(this=window, expression=exp.Literal.number(1))
    if sel.args.get("qualify") is not None:
        first = exp.And(this=sel.args["qualify"].this, expression=first)
    sel.set("distinct", None)
    sel.set("qualify", exp.Qualify(this=first))
    return sel


def order_all(order: exp.Order | None, width: int) -> exp.Order | None:
    """DuckDB's ``ORDER BY ALL [DESC]``: every output column, left to right."""
    if order is None or len(order.expressions) != 1:
        return order
    o = order.expressions[0]
    e = o.this
    if not ((isinstance(e, exp.Var) or (isinstance(e, exp.Column) and not e.table
                                          and not e.this.quoted))
            and e.name.upper() == "ALL"):
        return order
    return exp.Order(expressions=[
        exp.Ordered(this=exp.Literal.number(i + 1), desc=o.args.get("desc"),
                    nulls_first=o.args.get("nulls_first")) for i in range(width)])


def _with_ties(sel: exp.Select) -> bool:
    lim = sel.args.get("limit")
    opts = lim.args.get("limit_options") if lim is not None else None
    return opts is not None and bool(opts.args.get("with_ties"))


def _limit_count(lim: exp.Expression) -> exp.Expression:
    """The row count of ``LIMIT n`` or ``FETCH FIRST n ROWS ONLY``."""
    if isinstance(lim, exp.Fetch):
        count = lim.args.get("count")
        return count if count is not None else exp.Literal.number(1)  # FETCH FIRST ROW ONLY
    return lim.expression
