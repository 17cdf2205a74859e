"""What a DuckDB user types to look around: ``DESCRIBE t`` / ``DESCRIBE SELECT ...`` /
``SHOW t``, ``SHOW TABLES [FROM s]``, ``SHOW ALL TABLES``, ``PRAGMA table_info('t')`` and
``PRAGMA show_tables``, with DuckDB's result columns. Names resolve through the one resolver,
so views, temporary tables and ``information_schema`` views describe like tables.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..binder import Context
from ..catalog import Relation
from ..dialect import Grizzly
from ..errors import BindError, NotSupportedError, ParseError, suggest
from ..execution import ExecContext
from ..result import Result, rows
from ..secrets.syntax import is_secret_command
from ..types import sql_name
from .query import QUERY_NODES, plan_query
from .registry import Statement, register


@dataclass(frozen=True)
class Column:
    """One column as DESCRIBE shows it."""

    name: str
    type: pa.DataType
    nullable: bool = True
    key: bool = False
    default: str | None = None


def _strings(*names: str) -> pa.Schema:
    return pa.schema([pa.field(n, pa.string()) for n in names])


DESCRIBE = _strings("column_name", "column_type", "null", "key", "default", "extra")
TABLE_INFO = pa.schema([pa.field("cid", pa.int32()), pa.field("name", pa.string()),
                        pa.field("type", pa.string()), pa.field("notnull", pa.bool_()),
                        pa.field("dflt_value", pa.string()), pa.field("pk", pa.bool_())])
TABLE_NAMES = _strings("name")
_OTHER_SHOWS = {"DATABASES", "SCHEMAS", "ALL"}
ALL_TABLES = pa.schema([pa.field("database", pa.string()), pa.field("schema", pa.string()),
                        pa.field("name", pa.string()),
                        pa.field("column_names", pa.list_(pa.string())),
                        pa.field("column_types", pa.list_(pa.string())),
                        pa.field("temporary", pa.bool_())])


_CLAIMED: set[str] = set()  # SHOW words another statement answers (SHOW TYPES)


def claim_show(word: str) -> None:
    """``SHOW <word>`` belongs to another statement: ``SHOW t`` leaves it alone."""
    _CLAIMED.add(word.upper())


def shown(node: exp.Expression) -> str | None:
    """What a ``SHOW ...`` statement names, upper case (``TYPES``), or None for another
    statement: the one test every ``SHOW <word>`` statement matches by."""
    if not isinstance(node, exp.Command) or node.name.upper() != "SHOW":
        return None
    arg = node.args.get("expression")
    text = arg if isinstance(arg, str) else arg.name if arg is not None else ""
    return text.strip().rstrip(";").strip().upper()


# ---------------------------------------------------------------------- columns of things


def query_columns(ctx: Context, node: exp.Expression) -> list[Column]:
    """The output columns of a query (bound and planned, not run)."""
    plan, names = plan_query(ctx, node)
    return [Column(n, t) for n, (_, t) in zip(names, plan.output, strict=True)]


def relation_columns(ctx: Context, table: exp.Table) -> list[Column]:
    """The columns of the table, view or system view ``table`` names (a BindError naming it
    if there is none)."""
    rel = ctx.require(table)
    if rel.kind != "table":
        return query_columns(ctx, exp.select("*").from_(table.copy()))
    if rel.schema != "temp" and not ctx.rights.sees("table", rel.qualified):
        ctx.check_read(rel)  # a table the user holds no right on: denied as SELECT
    return table_columns(rel.table)


def table_columns(info: Any) -> list[Column]:
    """A stored table's columns with their constraints and defaults."""
    keys = set(info.primary_key)
    return [Column(f.name, f.type, f.nullable and f.name not in keys and
                   f.name not in info.not_null, f.name in keys,
                   _default_sql(info.defaults[f.name]) if f.name in info.defaults else None)
            for f in info.schema]


def _default_sql(v: Any) -> str:
    return exp.convert(v).sql(dialect="duckdb")


def describe_table(cols: list[Column]) -> pa.Table:
    return pa.Table.from_pylist([
        {"column_name": c.name, "column_type": sql_name(c.type),
         "null": "YES" if c.nullable else "NO", "key": "PRI" if c.key else None,
         "default": c.default, "extra": None} for c in cols], schema=DESCRIBE)


def table_name(text: str) -> exp.Table:
    """A table name given as text (``SHOW s.t``, ``PRAGMA table_info('s.t')``)."""
    try:
        return exp.to_table(text.strip(), dialect=Grizzly)
    except Exception:
        raise ParseError(f"{text.strip()!r} is not a table name") from None


def listed(ctx: Context, schema: str | None = None) -> list[Relation]:
    """Tables and views (no system views) of ``schema``, or of every schema."""
    return [r for r in ctx.resolver.relations(schema) if r.kind != "system"]


def temp_tables(ctx: Context) -> list[tuple[str, Any]]:
    """The session's temporary tables: (name, engine table info)."""
    prefix = ctx.resolver.temp_prefix
    if not prefix:
        return []
    schema = prefix.split(".", 1)[0]
    return sorted((t[len(prefix):], ctx.snap.table(t)) for t in ctx.snap.tables(schema)
                  if t.startswith(prefix))


# ---------------------------------------------------------------------- statements


class _Rows(Statement):
    """A read-only statement answering with rows of a fixed schema."""

    writes = False
    schema: pa.Schema

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return self.schema

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        return rows(self.table(ex.bind, node))

    @abstractmethod
    def table(self, ctx: Context, node: exp.Expression) -> pa.Table:
        """The statement's rows."""


@register
class Describe(_Rows):
    """``DESCRIBE t``, ``DESCRIBE SELECT ...``."""

    node = exp.Describe
    schema = DESCRIBE

    def table(self, ctx: Context, node: exp.Expression) -> pa.Table:
        target = node.this
        if isinstance(target, exp.Table):
            return describe_table(relation_columns(ctx, target))
        if isinstance(target, QUERY_NODES):
            return describe_table(query_columns(ctx, target))
        raise NotSupportedError(f"DESCRIBE {target.sql(dialect='duckdb')} is not supported")


@register
class ShowColumns(_Rows):
    """``SHOW t``: DuckDB's DESCRIBE under another name."""

    node = exp.Command
    schema = DESCRIBE

    def matches(self, node: exp.Expression) -> bool:
        word = shown(node)
        return word is not None and word not in _CLAIMED and \
            not is_secret_command("SHOW", word)  # statements/secret.py's

    def table(self, ctx: Context, node: exp.Expression) -> pa.Table:
        arg = node.args.get("expression")
        text = arg if isinstance(arg, str) else arg.name if arg is not None else ""
        if not text.strip():
            raise ParseError("SHOW needs a table name (or TABLES, ALL TABLES)")
        if text.strip().upper() in _OTHER_SHOWS:
            raise NotSupportedError(f"SHOW {text.strip().upper()} is not supported")
        return describe_table(relation_columns(ctx, table_name(text)))


@register
class Show(_Rows):
    """``SHOW TABLES [FROM schema]`` and ``SHOW ALL TABLES``."""

    node = exp.Show

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return ALL_TABLES if self._what(node) == "ALL TABLES" else TABLE_NAMES

    def _what(self, node: exp.Expression) -> str:
        what = " ".join(node.name.upper().split())
        if what not in ("TABLES", "ALL TABLES"):
            raise NotSupportedError(f"SHOW {what} is not supported")
        return what

    def table(self, ctx: Context, node: exp.Expression) -> pa.Table:
        if self._what(node) == "ALL TABLES":
            return all_tables(ctx)
        frm = node.args.get("from_") or node.args.get("from")
        schema = frm.name if frm is not None else None
        if schema is not None and schema.lower() not in ctx.resolver.schemas():
            raise BindError(f"schema {schema!r} does not exist"
                            + suggest(schema, ctx.resolver.schemas()))
        return show_tables(ctx, schema)


def show_tables(ctx: Context, schema: str | None) -> pa.Table:
    """Names of the tables and views of ``schema`` (the current one if None), and the
    session's temporary tables, sorted as DuckDB does."""
    names = {r.name for r in listed(ctx, schema or ctx.resolver.schema)}
    if schema is None:
        names |= {n for n, _ in temp_tables(ctx)}
    return pa.Table.from_pylist([{"name": n} for n in sorted(names)], schema=TABLE_NAMES)


def all_tables(ctx: Context) -> pa.Table:
    """Every table and view of every schema, temporary tables included, with columns."""
    out = []
    for n, info in temp_tables(ctx):  # DuckDB's temporary catalog is "temp"
        out.append(_all_row("temp", "main", n, table_columns(info), True))
    for r in listed(ctx):
        cols = table_columns(r.table) if r.kind == "table" else _view_columns(ctx, r)
        out.append(_all_row(ctx.catalog, r.schema, r.name, cols, False))
    out.sort(key=lambda row: (row["database"], row["schema"], row["name"]))
    return pa.Table.from_pylist(out, schema=ALL_TABLES)


def _view_columns(ctx: Context, r: Relation) -> list[Column]:
    try:
        return query_columns(ctx, exp.select("*").from_(exp.table_(r.name, db=r.schema)))
    except Exception:  # a view that no longer binds still has a name
        return []


def _all_row(database: str, schema: str, name: str, cols: list[Column], temporary: bool
             ) -> dict[str, Any]:
    return {"database": database, "schema": schema, "name": name,
            "column_names": [c.name for c in cols],
            "column_types": [sql_name(c.type) for c in cols], "temporary": temporary}


@register
class Pragma(_Rows):
    """``PRAGMA table_info('t')`` (SQLite's columns) and ``PRAGMA show_tables``."""

    node = exp.Pragma

    def _name(self, node: exp.Expression) -> str:
        return node.this.name.lower() if isinstance(node.this, (exp.Anonymous, exp.Column)) \
            else node.this.sql(dialect="duckdb")

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        name = self._name(node)
        if name == "table_info":
            return TABLE_INFO
        if name == "show_tables":
            return TABLE_NAMES
        raise NotSupportedError(f"PRAGMA {name} is not supported")

    def table(self, ctx: Context, node: exp.Expression) -> pa.Table:
        self.describe(ctx, node)
        if self._name(node) == "show_tables":
            return show_tables(ctx, None)
        args = node.this.expressions if isinstance(node.this, exp.Anonymous) else []
        if len(args) != 1:
            raise NotSupportedError("PRAGMA table_info takes one table name")
        arg = args[0]
        plain = isinstance(arg, exp.Literal) or (isinstance(arg, exp.Column) and not arg.table)
        cols = relation_columns(ctx, table_name(arg.name if plain else
                                                arg.sql(dialect="duckdb")))
        return pa.Table.from_pylist([
            {"cid": i, "name": c.name, "type": sql_name(c.type), "notnull": not c.nullable,
             "dflt_value": c.default, "pk": c.key} for i, c in enumerate(cols)],
            schema=TABLE_INFO)
