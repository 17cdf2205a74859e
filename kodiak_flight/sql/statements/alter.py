"""ALTER TABLE: add, drop and rename columns; rename the table (to a name no relation has)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..access import table_renamed
from ..binder import Context
from ..catalog import fold
from ..errors import NotSupportedError
from ..execution import ExecContext
from ..expr import cast
from ..functions import coerce_literal
from ..result import Result, done
from ..types import from_sql
from .common import default_value, existing_table
from .registry import Statement, register


@register
class AlterTable(Statement):
    node = exp.Alter

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        if (node.args.get("kind") or "").upper() != "TABLE":
            raise NotSupportedError("only ALTER TABLE is supported")
        alter(ex.tx, ex.bind, node)
        return done()


def renamed(ctx: Context, info: Any, new: exp.Table) -> str:
    """The engine name a table is renamed to; the new name must be free in its schema (and
    the user may create there)."""
    schema = fold(new.text("db") or info.name.split(".", 1)[0])
    ctx.rights.require("create", "schema", schema)
    ctx.resolver.check_free(schema, new.name)
    return f"{schema}.{fold(new.name)}"


def alter(tx: Any, ctx: Context, node: exp.Alter) -> None:
    info = existing_table(ctx, node.this, "create")
    names = {n.lower() for n in info.schema.names}
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            if action.args.get("exists") and action.name.lower() in names:
                continue  # ADD COLUMN IF NOT EXISTS of a column it has
            t = from_sql(action.args["kind"], ctx.user_type)
            default = None
            nullable = True
            for c in action.args.get("constraints") or []:
                k = c.args.get("kind")
                if isinstance(k, exp.DefaultColumnConstraint):
                    v = default_value(ctx, k.this)
                    default = cast(coerce_literal(v, t), t).value
                elif isinstance(k, exp.NotNullColumnConstraint):
                    nullable = False
                else:
                    raise NotSupportedError(f"constraint {c.sql()} in ADD COLUMN")
            tx.add_column(info.name, pa.field(action.name, t, nullable=nullable),
                          default=default)
        elif isinstance(action, exp.Drop):
            for col in action.args.get("tables") or []:
                if action.args.get("exists") and col.name.lower() not in names:
                    continue  # DROP COLUMN IF EXISTS of a column it lacks
                tx.drop_column(info.name, col.name)
        elif isinstance(action, exp.RenameColumn):
            tx.rename_column(info.name, action.this.name, action.args["to"].name)
        elif isinstance(action, exp.AlterRename):
            new_name = renamed(ctx, info, action.this)
            tx.rename_table(info.name, new_name)
            table_renamed(tx, info.name, new_name)
        else:
            raise NotSupportedError(f"ALTER TABLE action {action.sql()} is not supported")



