"""PIVOT and UNPIVOT, rewritten into plain SQL before binding.

``FROM t PIVOT (agg(x) FOR c IN (v1, v2))`` and DuckDB's ``PIVOT t ON c [IN (...)] USING
agg(x) [GROUP BY g]`` become one grouped SELECT with a filtered aggregate per value
(``agg(x) FILTER (WHERE c = v1) AS "v1"``), grouped by every other column (or by GROUP BY);
``UNPIVOT (v FOR n IN (a, b))`` and ``UNPIVOT t ON a, b INTO NAME n VALUE v`` become one
``UNION ALL`` branch per column. Without an IN list, the binder supplies the column's
distinct values by running a query (``values`` below), as DuckDB does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from sqlglot import exp

from ..errors import NotSupportedError
from .context import BinderState

# the distinct non-null values of column ``col`` of ``source``, sorted
ValuesOf = Callable[[exp.Expression, exp.Expression], list[exp.Expression]]


def strip_pivots(item: exp.Expression) -> tuple[exp.Expression, list[exp.Pivot]]:
    """``item`` without its PIVOT / UNPIVOT clauses, and those clauses."""
    pivots = list(item.args.get("pivots") or [])
    src = item.copy()
    src.set("pivots", None)
    return src, pivots


def rewrite_from_item(item: exp.Expression, values: ValuesOf) -> exp.Subquery:
    """A FROM item with ``PIVOT (...)`` / ``UNPIVOT (...)`` clauses as a subquery."""
    src, pivots = strip_pivots(item)
    alias = None
    for p in pivots:
        query = unpivot_query(src, p) if p.args.get("unpivot") else pivot_query(src, p, values)
        alias = p.args.get("alias")
        src = exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("__pivot")))
    name = alias.name if alias is not None and alias.name else None
    cols = alias.columns if alias is not None else []
    src.set("alias", exp.TableAlias(this=exp.to_identifier(name or "__pivot"),
                                    columns=[c.copy() for c in cols] or None))
    return src


def rewrite_statement(node: exp.Pivot, values: ValuesOf) -> exp.Query:
    """DuckDB's ``PIVOT t ON ... USING ...`` / ``UNPIVOT t ON ... INTO ...`` statements."""
    src = node.this
    if not isinstance(src, exp.Expression):
        raise NotSupportedError("PIVOT needs a table or subquery to pivot")
    if isinstance(src, exp.Table):
        src = src.copy()
    elif isinstance(src, exp.Subquery | exp.Select):
        src = exp.Subquery(this=src.unnest().copy() if isinstance(src, exp.Subquery)
                           else src.copy(), alias=exp.TableAlias(this=exp.to_identifier("__src")))
    if node.args.get("unpivot"):
        return _unpivot_statement(src, node)
    fields = [_as_in(e, src, values) for e in node.expressions]
    aggs = [a.copy() for a in node.args.get("using") or []] or [exp.Count(this=exp.Star())]
    group = node.args.get("group")
    keys = [g.copy() for g in group.expressions] if group is not None else None
    return _pivot_select(src, aggs, fields, keys)


def pivot_query(src: exp.Expression, p: exp.Pivot, values: ValuesOf) -> exp.Select:
    """The grouped SELECT a ``PIVOT (aggs FOR c IN (...) ...)`` clause stands for."""
    _refuse_extras(p, "PIVOT")
    fields = [_as_in(f, src, values) for f in p.args.get("fields") or []]
    aggs = [a.copy() for a in p.expressions]
    return _pivot_select(src, aggs, fields, None)


def _as_in(f: exp.Expression, src: exp.Expression, values: ValuesOf) -> exp.In:
    """A pivot field as ``col IN (values)``, the values queried when none are listed."""
    if isinstance(f, exp.In):
        if f.args.get("query") is not None or f.args.get("field") is not None:
            raise NotSupportedError(f"PIVOT ... {f.sql(dialect='duckdb')} is not supported "
                                    "(list the values)")
        return f
    if isinstance(f, exp.Column):
        return exp.In(this=f.copy(), expressions=values(src, f))
    raise NotSupportedError(f"PIVOT ON {f.sql(dialect='duckdb')} is not supported")


def _pivot_select(src: exp.Expression, aggs: list[exp.Expression], fields: list[exp.In],
                  keys: list[exp.Expression] | None) -> exp.Select:
    if not fields:
        raise NotSupportedError("PIVOT without a FOR / ON column is not supported")
    named = [(_agg_name(a), a.this if isinstance(a, exp.Alias) else a) for a in aggs]
    suffix = len(aggs) > 1 or any(isinstance(a, exp.Alias) for a in aggs)
    items: list[exp.Expression] = []
    for combo in itertools.product(*[[(f.this, v) for v in f.expressions] for f in fields]):
        conds = [_matches(col, v) for col, v in combo]
        label = "_".join(_value_name(v) for _, v in combo)
        for aname, agg in named:
            out = f"{label}_{aname}" if suffix else label
            cond = exp.and_(*conds) if len(conds) > 1 else conds[0]
            filtered = exp.Filter(this=agg.copy(), expression=exp.Where(this=cond))
            items.append(exp.alias_(filtered, out, quoted=True))
    if keys is not None:
        sel = exp.select(*keys, *items).from_(src.copy()).group_by(*[k.copy() for k in keys])
        return sel
    used = {c.name.lower() for f in fields for c in f.this.find_all(exp.Column)}
    used |= {c.name.lower() for _, a in named for c in a.find_all(exp.Column)}
    star = exp.Star(except_=[exp.column(n, quoted=True) for n in sorted(used)] or None)
    sel = exp.select(star, *items).from_(src.copy())
    sel.set("group", exp.Group(all=True))
    return sel


def _matches(col: exp.Expression, v: exp.Expression) -> exp.Expression:
    value = v.this if isinstance(v, exp.PivotAlias) else v
    return exp.EQ(this=col.copy(), expression=value.copy())


def _value_name(v: exp.Expression) -> str:
    """The output name a pivot value gives its columns: its alias, else its text."""
    if isinstance(v, exp.PivotAlias):
        return v.alias or v.args["alias"].name
    if isinstance(v, exp.Alias):
        return v.alias
    if isinstance(v, exp.Literal):
        return v.name
    return v.sql(dialect="duckdb")


def _agg_name(a: exp.Expression) -> str:
    """DuckDB's name for one aggregate of several: its alias, else its SQL."""
    if isinstance(a, exp.Alias):
        return a.alias
    if isinstance(a, exp.Count) and isinstance(a.this, exp.Star):
        return "count_star()"
    return a.sql(dialect="duckdb").lower()


def unpivot_query(src: exp.Expression, p: exp.Pivot) -> exp.Query:
    """The UNION ALL an ``UNPIVOT [INCLUDE NULLS] (v FOR n IN (a, b))`` clause stands for."""
    _refuse_extras(p, "UNPIVOT")
    fields = p.args.get("fields") or []
    if len(p.expressions) != 1 or len(fields) != 1 or not isinstance(fields[0], exp.In):
        raise NotSupportedError(f"UNPIVOT {p.sql(dialect='duckdb')} is not supported "
                                "(one value column FOR one name column)")
    value = p.expressions[0]
    if not isinstance(value, exp.Identifier | exp.Column):
        raise NotSupportedError(f"UNPIVOT value {value.sql(dialect='duckdb')} is not supported")
    f = fields[0]
    return _unpivot(src, f.expressions, f.this.name, value.name,
                    bool(p.args.get("include_nulls")))


def _unpivot_statement(src: exp.Expression, node: exp.Pivot) -> exp.Query:
    into = node.args.get("into")
    name, value = "name", "value"
    if into is not None:
        vals = into.expressions
        if len(vals) != 1:
            raise NotSupportedError("UNPIVOT ... INTO NAME n VALUE with several value columns "
                                    "is not supported")
        name, value = into.this.name, vals[0].name
    return _unpivot(src, node.expressions, name, value, False)


def _unpivot(src: exp.Expression, cols: list[exp.Expression], name: str, value: str,
             include_nulls: bool) -> exp.Query:
    pairs = []
    for c in cols:
        label = c.alias if isinstance(c, exp.PivotAlias) else None
        col = c.this if isinstance(c, exp.PivotAlias) else c
        if not isinstance(col, exp.Column):
            raise NotSupportedError(f"UNPIVOT ON {c.sql(dialect='duckdb')} is not supported "
                                    "(name the columns)")
        label_text = c.args["alias"].name if label is not None else col.name
        pairs.append((col, label_text))
    if not pairs:
        raise NotSupportedError("UNPIVOT without columns is not supported")
    drop = [exp.column(col.name, quoted=True) for col, _ in pairs]
    branches: list[exp.Select] = []
    for col, label in pairs:
        sel = exp.select(exp.Star(except_=[d.copy() for d in drop]),
                         exp.alias_(exp.Literal.string(label), name, quoted=True),
                         exp.alias_(col.copy(), value, quoted=True)).from_(src.copy())
        if not include_nulls:
            sel = sel.where(exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null())))
        branches.append(sel)
    query: exp.Query = branches[0]
    for b in branches[1:]:
        query = exp.Union(this=query, expression=b, distinct=False)
    return query


def _refuse_extras(p: exp.Pivot, what: str) -> None:
    for arg in ("default_on_null", "with_", "group", "using", "into"):
        if p.args.get(arg):
            raise NotSupportedError(f"{what} ... {arg.upper().replace('_', ' ')} is not "
                                    "supported")


class PivotBinder(BinderState):
    """Binds FROM items with PIVOT / UNPIVOT clauses and the PIVOT / UNPIVOT statements."""

    def pivoted_item(self, item: exp.Expression) -> exp.Subquery:
        return rewrite_from_item(item, self.pivot_values)

    def pivot_statement(self, node: exp.Pivot) -> exp.Query:
        return rewrite_statement(node, self.pivot_values)

    def pivot_values(self, src: exp.Expression, col: exp.Expression) -> list[exp.Expression]:
        """The distinct non-null values of ``col`` in ``src``, sorted: a query run now, so
        the plan holds them (it is not reused once the data changes)."""
        from ..executor import Executor  # the executor imports the optimizer, not the binder
        from ..optimizer import optimize

        query = exp.select(col.copy()).from_(src.copy()).where(
            exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null()))).group_by(col.copy())
        query.set("order", exp.Order(expressions=[exp.Ordered(this=exp.Literal.number(1))]))
        bound = self.nested(None).bind_query(query)
        table = Executor(self.ctx.snap).table(optimize(bound.plan))
        self.ctx.volatile = True
        return [exp.convert(v) for v in table.column(0).to_pylist()]
