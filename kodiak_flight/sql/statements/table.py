"""CREATE TABLE (columns and constraints, AS SELECT, OR REPLACE, TEMPORARY) and DROP TABLE."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..access import table_dropped
from ..binder import Binder, Context, naming
from ..catalog import TEMP_SCHEMA, fold
from ..errors import BindError, NotSupportedError, suggest
from ..execution import ExecContext
from ..executor import Executor
from ..expr import cast
from ..functions import coerce_literal
from ..optimizer import optimize
from ..result import Result, done, written
from ..types import check_key, from_sql
from .common import default_value
from .registry import Statement, register


@register
class CreateTable(Statement):
    node = exp.Create
    kind = "TABLE"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        n = create_table(ex.tx, ex.bind, node)
        return written(n) if n >= 0 else done()


@register
class DropTable(Statement):
    node = exp.Drop
    kind = "TABLE"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        exists = bool(node.args.get("exists"))
        for t in node.args.get("tables") or [node.this]:
            drop_table(ex.tx, ex.bind, t, exists)
        return done()


def create_table(tx: Any, ctx: Context, node: exp.Create) -> int:
    """-1, or for CREATE TABLE ... AS the number of rows it stored."""
    replace, exists = bool(node.args.get("replace")), bool(node.args.get("exists"))
    if replace and exists:
        raise BindError("CREATE OR REPLACE and IF NOT EXISTS cannot be combined")
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    name = _temporary_name(tx, ctx, table) if _is_temporary(node) \
        else _new_name(ctx, table, exists)
    if name is None or (exists and tx.snapshot().has_table(name)):
        return -1 if isinstance(target, exp.Schema) else 0
    if isinstance(target, exp.Schema):
        if replace and ctx.snap.has_table(name):
            tx.drop_table(name)
        return _create_with_columns(tx, ctx, name, target, exists)
    query = node.args.get("expression")
    if query is None:
        raise BindError("CREATE TABLE needs columns or AS SELECT")
    bound = Binder(ctx).bind_query(query)
    data = Executor(ctx.snap).table(optimize(bound.plan))  # read before REPLACE drops it
    data = data.rename_columns(naming.unique_names(c.name for c in bound.cols))
    if replace and ctx.snap.has_table(name):
        tx.drop_table(name)
    tx.create_table(name, data.schema)
    return tx.insert(name, data)


def _new_name(ctx: Context, table: exp.Table, if_not_exists: bool) -> str | None:
    """The engine name for a new regular table; None if a relation of another kind has
    the name and IF NOT EXISTS lets that pass."""
    schema = fold(table.text("db") or ctx.schema)
    if schema == "temp":
        raise BindError("use CREATE TEMPORARY TABLE for a table in the temporary schema")
    ctx.rights.require("create", "schema", schema)
    rel = ctx.resolver.resolve(table.name, schema, table.text("catalog") or None)
    if rel is None:
        ctx.resolver.check_schema(schema)
    elif rel.kind != "table":
        if if_not_exists:
            return None
        ctx.resolver.check_free(schema, table.name)  # names the clash
    return f"{schema}.{fold(table.name)}"


def _is_temporary(node: exp.Create) -> bool:
    props = node.args.get("properties")
    return props is not None and any(isinstance(p, exp.TemporaryProperty)
                                     for p in props.expressions)


def _temporary_name(tx: Any, ctx: Context, table: exp.Table) -> str:
    """The engine name of the session's temporary table (its own space, dropped at close)."""
    if not ctx.temp_prefix:
        raise NotSupportedError("this session cannot create temporary tables")
    db = table.text("db")
    if db and db.lower() != "temp":
        raise BindError(f"a temporary table cannot be created in schema {db!r}")
    tx.create_schema(TEMP_SCHEMA, if_not_exists=True)
    return ctx.temp_prefix + fold(table.name)


def drop_table(tx: Any, ctx: Context, t: exp.Table, if_exists: bool) -> None:
    rel = ctx.resolve(t)
    if rel is None:
        if if_exists:
            return
        ctx.require(t)  # raises, with suggestions
    if rel.kind == "view":
        raise BindError(f"{t.name!r} is a view; use DROP VIEW")
    if rel.kind == "system":
        raise BindError(f"{rel.qualified!r} is a read-only system view")
    ctx.check_table("create", rel.table.name)
    tx.drop_table(rel.table.name)
    table_dropped(tx, rel.table.name)


def _create_with_columns(tx: Any, ctx: Context, name: str, schema: exp.Schema,
                         exists: bool) -> int:
    fields, pk, not_null, defaults, unique = [], [], [], {}, []
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            cname = item.name
            t = from_sql(item.args["kind"], ctx.user_type) if item.args.get("kind") else pa.string()
            for c in item.args.get("constraints") or []:
                k = c.args.get("kind")
                if isinstance(k, exp.PrimaryKeyColumnConstraint):
                    pk.append(cname)
                elif isinstance(k, exp.NotNullColumnConstraint):
                    if not k.args.get("allow_null"):
                        not_null.append(cname)
                elif isinstance(k, exp.DefaultColumnConstraint):
                    v = default_value(ctx, k.this)
                    defaults[cname] = cast(coerce_literal(v, t), t).value \
                        if not pa.types.is_null(v.type) else None
                elif isinstance(k, exp.UniqueColumnConstraint):
                    unique.append((cname,))
                else:
                    raise NotSupportedError(f"column constraint {c.sql()} is not supported")
            fields.append(pa.field(cname, t))
        elif isinstance(item, exp.PrimaryKey):
            pk.extend(e.name for e in item.expressions)
        elif isinstance(item, exp.UniqueColumnConstraint):
            unique.append(tuple(e.name for e in item.this.expressions))
        else:
            raise NotSupportedError(f"table constraint {item.sql()} is not supported")
    names = [f.name for f in fields]
    for c in pk + not_null + [c for u in unique for c in u]:
        if c not in names:
            raise BindError(f"constraint names unknown column {c!r}" + suggest(c, names))
    if len(set(names)) != len(names):
        raise BindError("duplicate column name in CREATE TABLE")
    types = dict(zip(names, (f.type for f in fields), strict=True))
    for c in dict.fromkeys(pk + [c for u in unique for c in u]):
        check_key(types[c], f"a PRIMARY KEY or UNIQUE constraint on {c!r}", order=True)
    tx.create_table(name, pa.schema(fields), primary_key=tuple(pk), not_null=tuple(not_null),
                    defaults=defaults, unique=tuple(unique), if_not_exists=exists)
    return -1


