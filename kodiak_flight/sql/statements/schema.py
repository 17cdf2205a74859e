"""CREATE SCHEMA and DROP SCHEMA [CASCADE]: schemas are the engine's, reserved ones refused."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from engine import errors

from ..binder import Context
from ..catalog import DEFAULT_SCHEMA, fold, is_reserved
from ..errors import BindError, suggest
from ..execution import ExecContext
from ..result import Result, done
from .registry import Statement, register


def _name(t: exp.Expression) -> str:
    return fold(t.text("db") or t.name)


@register
class CreateSchema(Statement):
    node = exp.Create
    kind = "SCHEMA"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        name = _name(node.this)
        if is_reserved(name):
            raise BindError(f"schema {name!r} is reserved for Kodiak's own use")
        ex.bind.rights.require("create", "database")
        ex.tx.create_schema(name, if_not_exists=bool(node.args.get("exists")))
        return done()


@register
class DropSchema(Statement):
    node = exp.Drop
    kind = "SCHEMA"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        for t in node.args.get("tables") or [node.this]:
            drop_schema(ex.tx, ex.bind, _name(t), bool(node.args.get("exists")),
                        bool(node.args.get("cascade")))
        return done()


def drop_schema(tx: Any, ctx: Context, name: str, if_exists: bool, cascade: bool) -> None:
    """Drop a schema; without CASCADE only an empty one (the error names what it holds)."""
    if name == DEFAULT_SCHEMA or is_reserved(name):
        raise BindError(f"schema {name!r} cannot be dropped")
    ctx.rights.require("create", "database")
    schemas = ctx.resolver.schemas()
    if name not in schemas:
        if if_exists:
            return
        raise errors.NotFound(f"schema {name!r} does not exist" + suggest(name, schemas))
    held = [r.name for r in ctx.resolver.relations(name)]
    held += [f"{o.kind} {o.name}" for o in ctx.snap.objects(schema=name)
             if o.name not in held]
    if held and not cascade:
        raise BindError(f"schema {name!r} is not empty (it holds {', '.join(sorted(held))}); "
                        f"use DROP SCHEMA {name} CASCADE")
    tx.drop_schema(name, cascade=cascade)
