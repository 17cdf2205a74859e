"""What the shell's ``.schema`` and ``\\d NAME`` print: a table's columns with its primary
key, UNIQUE constraints and indexes, read the same way embedded and over a server (from
``information_schema.kodiak_indexes``; from the backend's primary key on another server)."""

from __future__ import annotations

from dataclasses import dataclass

from ..client import Backend
from ..sqltext import split_table

LIST_TABLES = ("SELECT table_schema AS schema, table_name AS name FROM information_schema.tables "
               "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2")
LIST_RELATIONS = ("SELECT table_schema AS schema, table_name AS name, lower(table_type) AS type "
                  "FROM information_schema.tables WHERE table_type <> 'SYSTEM VIEW' "
                  "ORDER BY 1, 2")


@dataclass(frozen=True)
class Key:
    kind: str  # PRIMARY KEY, UNIQUE, INDEX, UNIQUE INDEX
    name: str | None
    columns: str


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_filter(table: str) -> str:
    """A WHERE condition on information_schema's table_schema/table_name for ``table``."""
    schema, name = split_table(table)
    where = f"lower(table_name) = {quote(name.strip(chr(34)).lower())}"
    if schema is not None:
        where += f" AND lower(table_schema) = {quote(schema.strip(chr(34)).lower())}"
    return where


def columns_query(table: str) -> str:
    """psql's ``\\d NAME`` columns, as a query."""
    return ("SELECT column_name AS column, data_type AS type, is_nullable AS nullable FROM "
            f"information_schema.columns WHERE {table_filter(table)} ORDER BY ordinal_position")


def keys(backend: Backend, table: str) -> list[Key]:
    """The table's primary key, UNIQUE constraints and indexes."""
    where = table_filter(table)
    try:
        outcome = backend.execute("SELECT kind, index_name, column_names FROM "
                                  f"information_schema.kodiak_indexes WHERE {where}")
    except Exception:  # noqa: BLE001 - not a Kodiak server (or an older one)
        pk = backend.primary_key(table)
        return [Key("PRIMARY KEY", None, ", ".join(pk))] if pk else []
    try:
        assert outcome.reader is not None
        rows = outcome.reader.read_all().to_pylist()
    finally:
        outcome.close()
    return [Key(r["kind"], r["index_name"], r["column_names"]) for r in rows]


def create_table(backend: Backend, table: str) -> str:
    """``CREATE TABLE`` with its constraints, then a ``CREATE INDEX`` per index."""
    cols = backend.columns(table)
    found = keys(backend, table)
    pk = next((k.columns.split(", ") for k in found if k.kind == "PRIMARY KEY"), [])
    lines = [f"  {c.name} {c.type_name}{'' if c.nullable or c.name in pk else ' NOT NULL'}"
             for c in cols]
    lines += [f"  {k.kind} ({k.columns})" for k in found if k.kind in ("PRIMARY KEY", "UNIQUE")]
    text = f"CREATE TABLE {table} (\n" + ",\n".join(lines) + "\n);"
    for k in found:
        if k.name is not None:
            text += f"\nCREATE {k.kind} {k.name} ON {table} ({k.columns});"
    return text


def index_lines(backend: Backend, table: str) -> list[str]:
    """psql's ``\\d NAME`` footer: one line per key and index."""
    out = []
    for k in keys(backend, table):
        label = k.kind if k.name is None else f"{k.name} {k.kind}"
        out.append(f"    {label} ({k.columns})")
    return ["Indexes:", *out] if out else []
