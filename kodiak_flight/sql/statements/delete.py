"""DELETE, and DELETE ... USING (the rows a join with the other tables picks, by key)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..binder import Context
from ..binder.correlated import CorrelatedOutsideQuery
from ..dialect import parse
from ..errors import NotSupportedError
from ..execution import ExecContext
from ..result import Result, written
from ..types import sql_name
from .common import (
    RowWrite,
    existing_table,
    join_query,
    project,
    quoted,
    returning,
    run_query,
    where_predicate,
)
from .instead_of import view_target
from .registry import register
from .row_security import check_reads, mark_target
from .update import keyed_target, restricted_write


@register
class Delete(RowWrite):
    node = exp.Delete

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        return written(delete(ex.tx, ex.bind, node))


def delete(tx: Any, ctx: Context, node: exp.Delete) -> int | pa.Table:
    """The deleted row count, or with RETURNING the table it asks for."""
    if (view := view_target(ctx, node)) is not None:  # its INSTEAD OF trigger runs
        return view.delete(tx, ctx, node)
    if node.args.get("using") or restricted_write(ctx, node):
        return _delete_using(tx, ctx, node)
    t = node.this
    info = existing_table(ctx, t, "delete")
    check_reads(ctx, info, node)
    try:
        pred = where_predicate(ctx, info, node, t.alias_or_name)
    except CorrelatedOutsideQuery:  # a query picks the rows, by key
        return _delete_using(tx, ctx, node)
    ret = returning(ctx, info, node)
    if ret is not None:
        return project(tx.delete_rows(info.name, pred), ret)
    return tx.delete(info.name, pred)


def _delete_using(tx: Any, ctx: Context, node: exp.Delete) -> int | pa.Table:
    using = node.args.get("using") or []
    info = existing_table(ctx, node.this, "delete")
    if not info.primary_key and not restricted_write(ctx, node):
        return delete(tx, ctx, by_values(node, info, using))
    info, alias = keyed_target(ctx, node, "DELETE ... USING" if using else
                               "DELETE with a correlated subquery")
    ret = returning(ctx, info, node)
    # the whole rows when RETURNING needs them, else only their keys
    names = list(info.schema.names) if ret is not None else list(info.primary_key)
    cols = ", ".join(f"{quoted(alias)}.{quoted(c)}" for c in names)
    matched = run_query(ctx, mark_target(join_query(node, f"DISTINCT {cols}", using), node,
                                         "delete"))
    matched = matched.rename_columns(names)
    n = tx.replace(info.name, matched.select(list(info.primary_key))) \
        if matched.num_rows else 0
    if ret is not None:
        return project(matched.cast(info.schema), ret)
    return n




def by_values(node: exp.Delete, info: Any, using: list[exp.Expression]) -> exp.Delete:
    """``DELETE FROM t [USING ...] WHERE p`` on a table without a primary key, as ``DELETE
    FROM t WHERE key(t) IN (SELECT DISTINCT key(t) FROM t, ... WHERE p)``: a row is told
    apart by its values alone (rows with the same values are the same to any condition that
    does not draw random numbers), so the rows p picks are those whose values a query, free
    to join and to run correlated subqueries, picks. ``key`` writes every column, a NULL as
    such, into one text that no other values give."""
    nested = [f"{c} ({sql_name(t)})" for c, t in zip(info.schema.names, info.schema.types,
                                                       strict=True) if pa.types.is_nested(t)]
    if nested:
        raise NotSupportedError(f"DELETE of rows picked by a join or a correlated subquery, "
                                f"on {info.name!r} (no primary key), tells rows apart by "
                                f"their values, which it cannot for {', '.join(nested)}: "
                                "give the table a primary key")
    alias = quoted(node.this.alias_or_name)
    parts = [f"coalesce('v' || length(CAST({alias}.{quoted(c)} AS VARCHAR)) || ':' || "
             f"CAST({alias}.{quoted(c)} AS VARCHAR), 'n')" for c in info.schema.names]
    key = " || ".join(parts)
    picked = join_query(node, f"DISTINCT {key}", using)
    out = node.copy()
    out.set("using", None)
    out.set("where", exp.Where(this=exp.In(this=parse(f"SELECT {key}")[0].expressions[0],
                                           query=exp.Subquery(this=picked))))
    return out
