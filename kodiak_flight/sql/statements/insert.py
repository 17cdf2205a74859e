"""INSERT: VALUES, a query, or a whole batch of bound parameter rows; ON CONFLICT and
RETURNING."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..binder import Binder, Context, param_number
from ..errors import BindError, NotSupportedError, SqlTypeError, suggest
from ..execution import ExecContext
from ..executor import Executor
from ..expr import Call, Expr, Lit, cast, cast_array
from ..functions import coerce_literal
from ..optimizer import optimize
from ..result import Result, written
from ..scope import Scope
from ..types import normalize, sql_name
from . import upsert
from .common import RowWrite, cast_table, existing_table, project, returning, returning_schema
from .instead_of import ViewTarget, view_target
from .registry import register
from .row_security import check_new_rows, refuse_upsert


@register
class Insert(RowWrite):
    node = exp.Insert

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema | None:
        if isinstance(node.expression, exp.Values):
            hint_parameters(ctx, node)
        return returning_schema(ctx, node)

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        return written(insert(ex.tx, ex.bind, node))


def hint_parameters(ctx: Context, stmt: exp.Insert) -> None:
    """Give each ``$n`` in VALUES the type of the column it fills (parameter schemas)."""
    target = stmt.this
    table = target.this if isinstance(target, exp.Schema) else target
    rel = ctx.resolve(table)
    if rel is None or rel.kind != "table":
        return
    info = rel.table
    names = [i.name for i in target.expressions] if isinstance(target, exp.Schema) \
        else list(info.schema.names)
    for row in stmt.expression.expressions:
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        for n, it in zip(names, items, strict=False):
            if isinstance(it, exp.Placeholder) and (k := param_number(it)) is not None:
                ctx.param_types.setdefault(k, normalize(info.schema.field(n).type))


def insert(tx: Any, ctx: Context, node: exp.Insert) -> int:
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    info = view_target(ctx, node) or existing_table(ctx, table, "insert")
    names = [i.name for i in target.expressions] if isinstance(target, exp.Schema) \
        else list(info.schema.names)
    for n in names:
        if n not in info.schema.names:
            raise BindError(f"column {n!r} not found in {info.name}"
                            + suggest(n, info.schema.names))
    src = node.expression
    if src is None:
        raise NotSupportedError("INSERT ... DEFAULT VALUES is not supported")
    if node.args.get("by_name"):
        return store(tx, ctx, info, node, _by_name(ctx, info, target, src))
    types = [normalize(info.schema.field(n).type) for n in names]
    if isinstance(src, exp.Values):
        data = _values_table(ctx, src, names, types)
    else:
        bound = Binder(ctx).bind_query(src)
        if len(bound.cols) != len(names):
            raise BindError(f"INSERT has {len(names)} target columns but the query returns "
                            f"{len(bound.cols)}")
        data = Executor(ctx.snap).table(optimize(bound.plan))
        data = data.rename_columns(names)
        data = cast_table(data, types)
    return store(tx, ctx, info, node, data)


def _by_name(ctx: Context, info: Any, target: exp.Expression, src: exp.Expression
             ) -> pa.Table:
    """``INSERT INTO t BY NAME SELECT ...`` (DuckDB's): each output column goes to the
    table's column of its name (any case); the others get their defaults."""
    if isinstance(target, exp.Schema) or isinstance(src, exp.Values):
        raise BindError("INSERT ... BY NAME takes a query with named columns and no column "
                        "list")
    bound = Binder(ctx).bind_query(src)
    by_lower = {n.lower(): n for n in info.schema.names}
    names = []
    for c in bound.cols:
        if c.name.lower() not in by_lower:
            raise BindError(f"column {c.name!r} not found in {info.name}"
                            + suggest(c.name, info.schema.names))
        names.append(by_lower[c.name.lower()])
    if len(set(names)) != len(names):
        raise BindError("INSERT ... BY NAME: the query names a column twice")
    data = Executor(ctx.snap).table(optimize(bound.plan)).rename_columns(names)
    return cast_table(data, [normalize(info.schema.field(n).type) for n in names])


def insert_table(tx: Any, ctx: Context, node: exp.Insert, data: pa.Table) -> int:
    """INSERT ... VALUES (?, ?, ...) bound to a whole parameter batch at once."""
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    info = view_target(ctx, node) or existing_table(ctx, table, "insert")
    names = [i.name for i in target.expressions] if isinstance(target, exp.Schema) \
        else list(info.schema.names)
    if data.num_columns != len(names):
        raise BindError(f"INSERT has {len(names)} target columns but {data.num_columns} "
                        "parameters were bound")
    data = data.rename_columns(names)
    types = [normalize(info.schema.field(n).type) for n in names]
    return store(tx, ctx, info, node, cast_table(data, types))


def store(tx: Any, ctx: Context, info: Any, node: exp.Insert, data: pa.Table
           ) -> int | pa.Table:
    if isinstance(info, ViewTarget):  # its INSTEAD OF trigger takes the rows
        return info.insert(tx, data)
    conflict = node.args.get("conflict")
    alternative = (node.args.get("alternative") or "").upper()
    if conflict is not None or alternative:  # may change rows the user cannot see
        refuse_upsert(ctx, info, "INSERT " + ("OR " + alternative if alternative else
                                              "... ON CONFLICT"))
    check_new_rows(ctx, info, "insert", data)
    ret = returning(ctx, info, node)
    if ret is not None:
        if conflict is not None or alternative:
            raise NotSupportedError("INSERT ... ON CONFLICT ... RETURNING is not supported")
        return project(tx.insert_rows(info.name, data), ret)
    if alternative:
        return _insert_or(tx, info, alternative, conflict, data)
    if conflict is None:
        return tx.insert(info.name, data)
    action = (conflict.args.get("action").name if conflict.args.get("action") is not None
              else "").upper()
    if "NOTHING" in action:
        return tx.upsert(info.name, data, update_columns=[])
    cols = upsert.simple(conflict)
    if cols is not None:  # SET col = excluded.col: the engine's own upsert
        upsert.conflict_key(info, conflict)
        return tx.upsert(info.name, data, update_columns=cols)
    target = node.this
    return upsert.upsert(tx, ctx, info, target.this if isinstance(target, exp.Schema)
                         else target, conflict, data)


def _insert_or(tx: Any, info: Any, alternative: str, conflict: Any, data: pa.Table) -> int:
    """SQLite's ``INSERT OR REPLACE`` (a row whose key exists replaces it) and ``INSERT OR
    IGNORE`` (such a row is skipped), as upserts on the primary key; a table without one has
    no conflicts, so they insert."""
    if conflict is not None:
        raise NotSupportedError(f"INSERT OR {alternative} cannot be combined with ON CONFLICT")
    if alternative not in ("REPLACE", "IGNORE"):
        raise NotSupportedError(f"INSERT OR {alternative} is not supported")
    if not info.primary_key:
        return tx.insert(info.name, data)
    return tx.upsert(info.name, data, update_columns=None if alternative == "REPLACE" else [])


def _literal_value(e: Expr, column: str, to: pa.DataType) -> Any:
    """The value a VALUES entry stores; a cast the binder could not fold (a bound string that
    is no number, say) is tried here so the error names the column and the value."""
    if isinstance(e, Lit):
        return e.value
    inner = e.args[0] if isinstance(e, Call) and e.args else e
    if not isinstance(inner, Lit):
        raise NotSupportedError("VALUES entries must be constants")
    folded = cast(Lit(inner.value, inner.type), to)
    if isinstance(folded, Lit):
        return folded.value
    try:
        return cast_array(pa.array([inner.value], inner.type), to)[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SqlTypeError(f"cannot store {inner.value!r} in column {column!r} of type "
                           f"{sql_name(to)}") from exc


def _values_table(ctx: Context, src: exp.Values, names: list[str], types: list[pa.DataType]
                  ) -> pa.Table:
    binder = Binder(ctx)
    columns: list[list[Any]] = [[] for _ in names]
    present = [True] * len(names)
    for row in src.expressions:
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(items) != len(names):
            raise BindError(f"INSERT has {len(names)} target columns but a VALUES row has "
                            f"{len(items)}")
        for i, it in enumerate(items):
            if isinstance(it, exp.Var) and it.name.upper() == "DEFAULT":
                raise NotSupportedError("DEFAULT in VALUES is not supported; omit the column")
            if isinstance(it, exp.Placeholder) and (k := param_number(it)) is not None:
                ctx.param_types.setdefault(k, types[i])
            e = binder.expr(it, Scope([]))
            e = Executor(ctx.snap).resolve(e)
            if not isinstance(e, Lit):
                raise NotSupportedError("VALUES entries must be constants")
            e = cast(coerce_literal(e, types[i]), types[i])
            columns[i].append(_literal_value(e, names[i], types[i]))
    arrays = [pa.array(v, type=t) for v, t, p in zip(columns, types, present, strict=True)]
    return pa.Table.from_arrays(arrays, names=names)


