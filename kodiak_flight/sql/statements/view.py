"""CREATE [OR REPLACE] VIEW and DROP VIEW: views are objects in the engine's catalog."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from engine import errors

from ..binder import Binder, Context, naming
from ..catalog import View, drop_view, fold, put_view
from ..dialect import Grizzly
from ..errors import BindError, NotSupportedError, suggest
from ..execution import ExecContext
from ..result import Result, done
from ..triggers.model import table_moved
from .registry import Statement, register


@register
class CreateView(Statement):
    node = exp.Create
    kind = "VIEW"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        create_view(ex.tx, ex.bind, node)
        return done()


@register
class DropView(Statement):
    node = exp.Drop
    kind = "VIEW"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        exists = bool(node.args.get("exists"))
        for t in node.args.get("tables") or [node.this]:
            _drop_view(ex.tx, ex.bind, t, exists)
        return done()


def create_view(tx: Any, ctx: Context, node: exp.Create) -> None:
    target = node.this
    cols: list[str] = []
    if isinstance(target, exp.Schema):
        cols = [i.name for i in target.expressions]
        target = target.this
    schema, name = fold(target.text("db") or ctx.schema), fold(target.name)
    if schema == "temp":
        raise NotSupportedError("temporary views are not supported")
    ctx.rights.require("create", "schema", schema)
    query = node.args.get("expression")
    if query is None:
        raise BindError("CREATE VIEW needs AS <query>")
    if any(True for _ in query.find_all(exp.Placeholder, exp.Parameter)):
        raise BindError("a view cannot have parameters")
    existing = ctx.resolver.resolve(name, schema)
    if existing is not None and existing.kind != "view":
        ctx.resolver.check_free(schema, name)  # a table of that name: refused, named
    if existing is not None and not node.args.get("replace"):
        if node.args.get("exists"):
            return
        raise errors.AlreadyExists(f"view {existing.qualified!r} already exists")
    if existing is None:
        ctx.resolver.check_schema(schema)
    bound = Binder(ctx).bind_query(query)  # it must bind now
    if cols and len(cols) != len(bound.cols):
        raise BindError(f"view {name!r} names {len(cols)} columns but its query returns "
                        f"{len(bound.cols)}")
    stored = naming.with_generated_aliases(query).sql(dialect=Grizzly)
    view = View(schema, name, stored, tuple(cols), fold(ctx.schema), named=True,
                owner=ctx.rights.user)
    put_view(tx, view, replace=existing is not None)


def _drop_view(tx: Any, ctx: Context, t: exp.Table, if_exists: bool) -> None:
    rel = ctx.resolve(t)
    if rel is None:
        if if_exists:
            return
        views = [r.name for r in ctx.resolver.relations() if r.kind == "view"]
        raise BindError(f"view {t.name!r} does not exist" + suggest(t.name, views))
    if rel.kind == "table":
        raise BindError(f"{t.name!r} is a table; use DROP TABLE")
    if rel.kind == "system":
        raise BindError(f"{rel.qualified!r} is a read-only system view")
    ctx.check_table("create", rel.qualified)
    table_moved(tx, rel.qualified, None)  # its INSTEAD OF triggers go with it (SQLite)
    drop_view(tx, rel.schema, rel.name)
