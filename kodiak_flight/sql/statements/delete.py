"""DELETE, and DELETE ... USING (the rows a join with the other tables picks, by key; on a
table without one, by their values: ``keyless.py``)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..binder import Context
from ..binder.correlated import CorrelatedOutsideQuery
from ..execution import ExecContext
from ..result import Result, written
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
from .keyless import delete_by_values
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
        return delete(tx, ctx, delete_by_values(node, info, using))
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
