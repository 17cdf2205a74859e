"""UPDATE, and UPDATE ... FROM: a query joins the target with the other tables and picks
the target's rows (by primary key) and their new values; the engine then replaces those rows
in one all-or-nothing statement (``Transaction.replace``). A table without a primary key is
updated by its rows' values instead (``keyless.py``)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from engine import errors

from ..binder import Binder, Context
from ..binder.correlated import CorrelatedOutsideQuery
from ..dialect import Grizzly
from ..errors import NotSupportedError
from ..execution import ExecContext
from ..expr import cast
from ..functions import coerce_literal
from ..result import Result, written
from ..triggers.firing import setting
from ..types import normalize
from .common import (
    RowWrite,
    cast_table,
    compile_row_expr,
    existing_table,
    join_query,
    project,
    quoted,
    returning,
    row_scope,
    run_query,
    set_clauses,
    where_predicate,
    write_right,
)
from .instead_of import view_target
from .keyless import update_by_values
from .registry import register
from .row_security import check_new_rows, check_reads, is_restricted, mark_target


@register
class Update(RowWrite):
    node = exp.Update

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        return written(update(ex.tx, ex.bind, node))


def update(tx: Any, ctx: Context, node: exp.Update) -> int | pa.Table:
    """The updated row count, or with RETURNING the table it asks for."""
    if (view := view_target(ctx, node)) is not None:  # its INSTEAD OF trigger runs
        return view.update(tx, ctx, node)
    if node.args.get("from_") or node.args.get("from") or restricted_write(ctx, node):
        return _update_from(tx, ctx, node)
    try:
        return _update_rows(tx, ctx, node)
    except CorrelatedOutsideQuery:  # (raised while binding, before anything is written)
        return _update_from(tx, ctx, node)


def _update_rows(tx: Any, ctx: Context, node: exp.Update) -> int | pa.Table:
    """UPDATE with row expressions: the engine evaluates SET and WHERE on each batch."""
    t = node.this
    info = existing_table(ctx, t, "update")
    check_reads(ctx, info, node)
    scope, fixes = row_scope(info, t.alias_or_name)
    assignments = {}
    for col, value in set_clauses(info, node.expressions, last_wins=True).items():
        target = normalize(info.schema.field(col).type)
        e = Binder(ctx).expr(value, scope)
        e = cast(coerce_literal(e, target), target)
        assignments[col] = compile_row_expr(ctx, e, fixes)
    pred = where_predicate(ctx, info, node, t.alias_or_name)
    ret = returning(ctx, info, node)
    if ret is not None:
        return project(tx.update_rows(info.name, assignments, pred), ret)
    return tx.update(info.name, assignments, pred)


_KEY = "__kodiak_key_"


def restricted_write(ctx: Context, node: exp.Expression) -> bool:
    """Whether row-level security restricts this UPDATE or DELETE (it then takes the keyed
    path, which reads the target under the user's policies)."""
    return is_restricted(ctx, existing_table(ctx, node.this, write_right(node)))


def keyed_target(ctx: Context, node: exp.Expression, what: str) -> tuple[Any, str]:
    t = node.this
    info = existing_table(ctx, t, write_right(node))
    check_reads(ctx, info, node)
    if is_restricted(ctx, info) and not info.primary_key:
        raise NotSupportedError(f"{write_right(node).upper()} of {info.name!r} by a user its "
                                "row-level security policies restrict needs a primary key "
                                "on the table")
    if not info.primary_key:
        raise NotSupportedError(f"{what} needs a primary key on the target table "
                                f"{info.name!r}, to tell its rows apart")
    return info, t.alias_or_name


def _update_from(tx: Any, ctx: Context, node: exp.Update) -> int | pa.Table:
    """UPDATE ... FROM, and UPDATE with a correlated subquery: a query picks the rows by key
    and computes their new values."""
    frm = node.args.get("from_") or node.args.get("from")
    target = existing_table(ctx, node.this, "update")
    if not target.primary_key and not restricted_write(ctx, node):
        check_reads(ctx, target, node)
        return update_by_values(tx, ctx, node, target, frm)
    info, alias = keyed_target(ctx, node, "UPDATE ... FROM" if frm is not None else
                               "UPDATE with a correlated subquery")
    ret = returning(ctx, info, node)
    names = list(info.schema.names)
    sets = set_clauses(info, node.expressions)
    items = [f"{quoted(alias)}.{quoted(k)} AS {quoted(_KEY + str(i))}"
             for i, k in enumerate(info.primary_key)]
    items += [f"({sets[c].sql(dialect=Grizzly)}) AS {quoted(c)}" if c in sets
              else f"{quoted(alias)}.{quoted(c)} AS {quoted(c)}" for c in names]
    nk = len(info.primary_key)
    found = run_query(ctx, mark_target(join_query(node, ", ".join(items), [frm.this] if frm
                                                  is not None else []), node, "update"))
    found = found.rename_columns(_update_columns(nk, names))
    if not found.num_rows:
        return 0
    keys = found.select(list(range(nk))).rename_columns(list(info.primary_key))
    per_key = keys.group_by(list(info.primary_key)).aggregate([([], "count_all")])
    if per_key.num_rows != keys.num_rows:
        # a row matched several times: fine if every match gives it the same new values
        found = _distinct(found).select(_update_columns(nk, names))
        keys = found.select(list(range(nk))).rename_columns(list(info.primary_key))
    if per_key.num_rows != keys.num_rows:
        twice = per_key.filter(pc.greater(per_key.column("count_all"), 1)).slice(0, 1)
        shown = ", ".join(f"{k} = {twice.column(k)[0].as_py()!r}" for k in info.primary_key)
        raise errors.ConstraintError(
            f"UPDATE ... FROM: the row of {info.name!r} with {shown} matches more than one "
            f"row of the FROM tables; the new value would be ambiguous")
    rows = found.select(list(range(nk, found.num_columns))).rename_columns(names)
    rows = cast_table(rows, [normalize(info.schema.field(c).type) for c in names])
    check_new_rows(ctx, info, "update", rows)
    setting(tx, list(sets))  # for UPDATE OF triggers
    tx.replace(info.name, keys, rows)
    if ret is not None:
        return project(rows.cast(info.schema), ret)
    return rows.num_rows


def _distinct(t: pa.Table) -> pa.Table:
    """Each distinct row of ``t`` once (in some order). A table whose values Arrow cannot
    group (lists, say) comes back as it is, so each copy counts as a different row."""
    try:
        return t.group_by(t.column_names, use_threads=False).aggregate([])
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return t


def _update_columns(nk: int, names: list[str]) -> list[str]:
    """Column names of ``_update_from``'s query: the old keys, then the new row."""
    return [_KEY + str(i) for i in range(nk)] + names


