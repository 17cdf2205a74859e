"""UPDATE and DELETE on a table without a primary key, whose rows a query picks (a join
with other tables, a correlated subquery): the query cannot name the rows it picks by key,
so rows are told apart by their values. Two rows with the same values are the same to any
condition or SET expression that draws no random numbers, so the rows to change are those
whose values, every column written as one text (the *value key*), are among the keys the
query picks; an UPDATE's new values are looked up by that key as the engine updates each
batch (``Transaction.update``, which also fires UPDATE triggers as any UPDATE does)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from engine import errors

from ..binder import Binder, Context
from ..dialect import Grizzly, parse
from ..errors import NotSupportedError
from ..expr import Expr, Lit, call
from ..functions.udf import udf
from ..types import normalize, sql_name
from .common import (
    cast_table,
    compile_row_expr,
    join_query,
    project,
    quoted,
    returning,
    row_scope,
    run_query,
    set_clauses,
)
from .row_security import mark_target


def value_key(alias: str, info: Any, what: str) -> str:
    """SQL text of the value key of a row of ``info`` named ``alias``: each column as
    ``v<length>:<text>``, or ``n`` for NULL, one after the other (no two rows with different
    values give the same text)."""
    nested = [f"{c} ({sql_name(t)})" for c, t in zip(info.schema.names, info.schema.types,
                                                       strict=True) if pa.types.is_nested(t)]
    if nested:
        raise NotSupportedError(f"{what} on {info.name!r} (no primary key) tells rows apart "
                                f"by their values, which it cannot for {', '.join(nested)}: "
                                "give the table a primary key")
    a = quoted(alias)
    return " || ".join(f"coalesce('v' || length(CAST({a}.{quoted(c)} AS VARCHAR)) || ':' || "
                       f"CAST({a}.{quoted(c)} AS VARCHAR), 'n')" for c in info.schema.names)


def delete_by_values(node: exp.Delete, info: Any, using: list[exp.Expression]
                     ) -> exp.Delete:
    """``DELETE FROM t [USING ...] WHERE p`` as ``DELETE FROM t WHERE key(t) IN (SELECT
    DISTINCT key(t) FROM t, ... WHERE p)``, a query free to join and to run correlated
    subqueries."""
    key = value_key(node.this.alias_or_name, info, "DELETE of rows a query picks")
    picked = join_query(node, f"DISTINCT {key}", using)
    out = node.copy()
    out.set("using", None)
    out.set("where", exp.Where(this=exp.In(this=_expression(key),
                                           query=exp.Subquery(this=picked))))
    return out


_KEY = "__kodiak_value_key"


def update_by_values(tx: Any, ctx: Context, node: exp.Update, info: Any,
                     frm: exp.Expression | None) -> int | pa.Table:
    """UPDATE ... FROM / with a correlated subquery: a query gives each picked value key
    its new values; the engine updates the rows with those keys to the values looked up."""
    alias = node.this.alias_or_name
    key = value_key(alias, info, "UPDATE of rows a query picks")
    sets = set_clauses(info, node.expressions)
    items = [f"{key} AS {quoted(_KEY)}"] + [f"({sets[c].sql(dialect=Grizzly)}) AS {quoted(c)}"
                                            for c in sets]
    found = run_query(ctx, mark_target(join_query(node, "DISTINCT " + ", ".join(items),
                                                  [frm.this] if frm is not None else []),
                                       node, "update"))
    ret = returning(ctx, info, node)
    if not found.num_rows:
        return project(info.schema.empty_table(), ret) if ret is not None else 0
    keys = found.column(0).combine_chunks()
    if pc.count_distinct(keys).as_py() != len(keys):
        raise errors.ConstraintError(
            f"UPDATE of {info.name!r}: a row matches more than one row of the FROM tables "
            "with different new values; the new value would be ambiguous")
    values = cast_table(found.select(list(range(1, found.num_columns)))
                        .rename_columns(list(sets)),
                        [normalize(info.schema.field(c).type) for c in sets])
    scope, fixes = row_scope(info, alias)
    row_key = Binder(ctx).expr(_expression(key), scope)
    assignments = {c: compile_row_expr(ctx, _looked_up(row_key, keys, values.column(c)), fixes)
                   for c in sets}
    pred = compile_row_expr(ctx, call("is_in", [row_key], pc.SetLookupOptions(keys)), fixes)
    if ret is not None:
        return project(tx.update_rows(info.name, assignments, pred), ret)
    return tx.update(info.name, assignments, pred)


def _expression(sql: str) -> exp.Expression:
    return parse(f"SELECT {sql}")[0].expressions[0]


def _one_list(values: pa.Array | pa.ChunkedArray) -> Lit:
    """``values`` as one LIST constant (built from the array, not from Python values)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    listed = pa.ListArray.from_arrays(pa.array([0, len(arr)], pa.int32()), arr)
    return Lit(listed[0], listed.type)


def _lookup(rows: pa.Array, keys: pa.ListScalar, values: pa.ListScalar) -> pa.Array:
    return values.values.take(pc.index_in(rows, value_set=keys.values))


def _looked_up(row_key: Expr, keys: pa.Array, values: pa.ChunkedArray) -> Expr:
    """The new value of each row: ``values`` at the position of the row's key in ``keys``."""
    return udf("value_lookup", _lookup, [row_key, _one_list(keys), _one_list(values)],
               values.type, what="UPDATE", scalars=True)
