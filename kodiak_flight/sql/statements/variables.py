"""Session variables: ``SET [VARIABLE] name = expr``, ``RESET name | ALL``, ``SHOW VARIABLES``.

Outside a script ``SET`` sets a session variable (inside one, ``pl/parser.py`` reads it as a
reassignment). The value is computed by running ``SELECT expr`` with the variables bound.
The names of session settings (``settings.py``: ``memory_limit``, ``query_timeout``) win
over variables: ``SET memory_limit = '64MiB'`` sets the setting, ``RESET memory_limit``
resets it, ``SHOW SETTINGS`` lists them. ``SET GLOBAL`` / ``SET LOCAL`` and the like are
refused by name.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from ..binder import Context
from ..errors import NotSupportedError, ParseError
from ..execution import ExecContext
from ..pl.interpreter import materialised
from ..result import Result, done, rows
from ..settings import is_setting
from ..types import sql_name
from .describe import claim_show, shown
from .registry import Statement, register

VARIABLES = pa.schema([pa.field("name", pa.string()), pa.field("value", pa.string()),
                       pa.field("type", pa.string())])
claim_show("VARIABLES")


@register
class SetVariable(Statement):
    node = exp.Set
    writes = False

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        for item in node.expressions:
            kind = (item.args.get("kind") or "").upper()
            eq = item.this
            if kind not in ("", "VARIABLE", "SESSION") or not isinstance(eq, exp.EQ) or \
                    not isinstance(eq.this, exp.Column):
                raise NotSupportedError(f"{node.sql(dialect='duckdb')} is not supported "
                                        "(SET name = expr sets a variable)")
            select = exp.Select(expressions=[eq.expression])
            table = materialised(ex.session.run_statement(select, None)).table
            if is_setting(eq.this.name):  # a setting's name wins over a variable's
                ex.session.settings.set(eq.this.name, table.column(0)[0])
            else:
                ex.session.variables.assign(eq.this.name, table.column(0)[0])
        return done()


@register
class Reset(Statement):
    node = exp.Command
    writes = False

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Command) and node.name.upper() == "RESET"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        arg = node.args.get("expression")
        name = (arg if isinstance(arg, str) else arg.name if arg is not None else "").strip()
        if not name:
            raise ParseError("RESET needs a variable's name (or ALL)")
        if name.upper() == "ALL":
            ex.session.variables.session.clear()
            ex.session.settings.reset()
        elif is_setting(name):
            ex.session.settings.reset(name)
        else:
            ex.session.variables.reset(name.lstrip("$"))
        return done()


@register
class ShowVariables(Statement):
    node = exp.Command
    writes = False

    def matches(self, node: exp.Expression) -> bool:
        return shown(node) == "VARIABLES"

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return VARIABLES

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        """The session's variables and those of the running script's scopes, by name."""
        seen = ex.session.variables.visible()
        out = [{"name": k, "value": _shown(v), "type": sql_name(v.type)}
               for k, v in sorted(seen.items())]
        return rows(pa.Table.from_pylist(out, schema=VARIABLES))


SETTINGS_SCHEMA = pa.schema([pa.field("name", pa.string()), pa.field("value", pa.string()),
                             pa.field("server_limit", pa.string()),
                             pa.field("meaning", pa.string())])
claim_show("SETTINGS")


@register
class ShowSettings(Statement):
    """``SHOW SETTINGS``: the session settings (``settings.py``), set or not."""

    node = exp.Command
    writes = False

    def matches(self, node: exp.Expression) -> bool:
        return shown(node) == "SETTINGS"

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return SETTINGS_SCHEMA

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        return rows(pa.Table.from_pylist(ex.session.settings.shown(), schema=SETTINGS_SCHEMA))


def _shown(v: pa.Scalar) -> str | None:
    py = v.as_py()
    return None if py is None else str(py)
