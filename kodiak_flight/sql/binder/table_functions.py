"""Table functions that make rows in FROM (``range``, ``generate_series``) and UNNEST: in
FROM (over a constant list, or over the columns of the tables left of it, laterally) and in
the select list (rows repeat once per element; several UNNESTs zip)."""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from ..errors import BindError, NotSupportedError, SqlTypeError
from ..expr import Col, Expr, Lit, SubqueryValue, is_const
from ..functions.series import SeriesCall, series, series_type
from ..plan import Generated, Node, Project, Unnest, Values
from ..scope import ColInfo, Scope
from ..types import sql_name
from .aggregates import contains_aggregate
from .context import BinderState, new_id
from .from_ import item_alias
from .windows import contains_window


class TableFunctionBinder(BinderState):
    """Binds generated rows (``Generated``) and UNNEST (``Unnest``)."""

    def bind_series(self, call: SeriesCall, alias: str | None, col_aliases: list[str]
                    ) -> tuple[Node, list[ColInfo]]:
        """``range(...)`` / ``generate_series(...)``: its constant arguments bound now."""
        args = [self.expr(a, Scope([])) for a in call.args]
        for a, ast in zip(args, call.args, strict=True):
            if a.col_ids() or any(isinstance(x, SubqueryValue) for x in a.walk()):
                raise BindError(f"the arguments of {call.name}() must be constants, not "
                                f"{ast.sql(dialect='duckdb')!r}")
        types = [a.type for a in args]
        name = call.name
        t = series_type(name, types)
        rows = series(name, [a.value for a in args], types).rows \
            if all(is_const(a) for a in args) else 1000  # its errors now, where it can
        shown = f"{name}({', '.join(a.sql(dialect='duckdb') for a in call.args)})"
        cid = new_id()
        node = Generated(shown, cid, t, args,
                         lambda values: series(name, values, types).batches(), rows)
        # DuckDB names the one column after the alias when no column alias is given (and
        # still finds it by the function's name)
        shown_name = col_aliases[0] if col_aliases else alias or name
        cols = [ColInfo(shown_name, cid, t, alias or name)]
        if shown_name != name:
            cols.append(ColInfo(name, cid, t, alias or name, True))
        return node, cols

    def bind_unnest_from(self, item: exp.Unnest, alias: str | None, col_aliases: list[str]
                         ) -> tuple[Node, list[ColInfo]]:
        """``FROM unnest(list)``: the list's elements, one row each."""
        start: Node = Values(pa.table({new_id(): pa.array([0], pa.int32())}))
        return self.unnest_join(start, [], item, alias, col_aliases)

    def unnest_join(self, plan: Node, cols: list[ColInfo], item: exp.Unnest,
                    alias: str | None, col_aliases: list[str]
                    ) -> tuple[Node, list[ColInfo]]:
        """``..., unnest(t.l)``: each row of ``plan`` once per element of its list (rows
        with an empty or NULL list drop out, as in DuckDB's lateral join)."""
        if item.args.get("offset"):
            raise NotSupportedError("UNNEST ... WITH OFFSET is not supported")
        if len(item.expressions) != 1:
            raise NotSupportedError("UNNEST of several lists in FROM is not supported")
        scope = Scope(cols, self.outer)
        arg = self.expr(item.expressions[0], scope)
        plan, [(eid, etype)] = self.unnest_exprs(plan, [arg], [item.expressions[0]])
        qual = alias or "unnest"
        name = col_aliases[0] if col_aliases else alias or "unnest"
        return plan, cols + [ColInfo(name, eid, etype, qual)]

    def unnest_exprs(self, plan: Node, lists: list[Expr], asts: list[exp.Expression]
                     ) -> tuple[Node, list[tuple[str, pa.DataType]]]:
        """``plan`` with the list values ``lists`` unnested side by side; the new element
        columns as (id, type)."""
        passthrough = [(i, Col(i, t)) for i, t in plan.output]
        ids, elements = [], []
        for e, ast in zip(lists, asts, strict=True):
            if pa.types.is_null(e.type):  # unnest(NULL): no rows
                e = Lit(None, pa.list_(pa.int32()))
            if not (pa.types.is_list(e.type) or pa.types.is_large_list(e.type) or
                    pa.types.is_fixed_size_list(e.type)):
                raise SqlTypeError(f"UNNEST needs a list, not {sql_name(e.type)} "
                                   f"({ast.sql(dialect='duckdb')})")
            lid = new_id()
            passthrough.append((lid, e))
            ids.append(lid)
            elements.append((new_id(), e.type.value_type))
        return Unnest(Project(plan, passthrough), ids, elements), elements

    def _x_Explode(self, node: exp.Explode, scope: Scope, agg: object) -> Expr:
        """An ``unnest(...)`` the select list did not take (WHERE, ON, GROUP BY, ...)."""
        raise NotSupportedError(f"{node.sql(dialect='duckdb')}: UNNEST is supported in the "
                                "select list and in FROM only")

    def lateral_unnest(self, plan: Node, cols: list[ColInfo], j: exp.Join
                       ) -> tuple[Node, list[ColInfo]]:
        """``FROM t, unnest(t.l) [AS u(x)]`` (or CROSS JOIN / JOIN ... ON true)."""
        on = j.args.get("on")
        if j.side or j.args.get("using") or j.args.get("method") or (
                on is not None and not (isinstance(on, exp.Boolean) and on.this)):
            raise NotSupportedError("UNNEST in FROM is supported in a comma or CROSS JOIN "
                                    "only")
        item = j.this
        name, col_aliases = item_alias(item)
        return self.unnest_join(plan, cols, item, name, col_aliases)

    def unnest_select_items(self, plan: Node, scope: Scope,
                            items: list[tuple[str, exp.Expression]], sel: exp.Select
                            ) -> tuple[Node, Scope, list[tuple[str, exp.Expression]]]:
        """Select-list ``unnest(x)`` calls computed below the projection: the plan grows an
        ``Unnest``, the scope a hidden column per call, and each call in ``items`` becomes
        a reference to it."""
        per_item = [_unnest_calls(e) for _, e in items]
        calls = [c for cs in per_item for c in cs]
        if not calls:
            return plan, scope, items
        if any(c.this.find(exp.Explode) for c in calls):
            raise NotSupportedError("UNNEST nested in another UNNEST is not supported")
        if sel.args.get("group") or sel.args.get("having") or \
                any(contains_aggregate(e) or contains_window(e) for _, e in items):
            raise NotSupportedError("UNNEST in a select list with aggregates, GROUP BY or "
                                    "window functions is not supported; unnest in a "
                                    "subquery first")
        lists = [self.expr(c.this, scope) for c in calls]
        plan, elements = self.unnest_exprs(plan, lists, [c.this for c in calls])
        added = [ColInfo(f"__unnest_{i}", i, t, None, True) for i, t in elements]
        refs = iter(exp.column(c.name, quoted=True) for c in added)
        out = []
        for (name, e), cs in zip(items, per_item, strict=True):
            if cs:  # replaced in a copy: the statement's AST may be bound again
                e = e.copy()
                mine = {id(c): next(refs) for c in _unnest_calls(e)}
                e = mine[id(e)] if id(e) in mine else \
                    e.transform(lambda n, m=mine: m.get(id(n), n), copy=False)
            out.append((name, e))
        return plan, Scope(scope.cols + added, scope.parent, scope.tables), out


def _unnest_calls(e: exp.Expression) -> list[exp.Explode]:
    """The ``unnest(...)`` calls of select item ``e`` (not those of subqueries in it)."""
    out = []
    for n in e.find_all(exp.Explode):
        if isinstance(n, exp.Posexplode):
            continue
        p, inner = n.parent, False
        while p is not None and p is not e.parent:
            if isinstance(p, (exp.Select, exp.Subquery)):
                inner = True
                break
            p = p.parent
        if not inner:
            out.append(n)
    return out
