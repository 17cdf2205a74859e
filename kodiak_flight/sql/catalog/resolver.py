"""One name resolver for tables, views, system views and the coming object kinds.

SQL statements, Flight metadata, bulk ingest and the CLI all ask a :class:`Resolver` what a
name means, so they cannot disagree: a name that is a view to a query is a view to ingest too,
and a table cannot be created where a view of that name exists. Resolution order for an
unqualified name: the session's temporary tables, then the current schema, then ``main``,
then the system views that go by bare names (``kodiak_queries``, ``kodiak_sessions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import errors as engine_errors

from ..errors import BindError, suggest
from . import system
from .kinds import relation_kinds
from .names import (
    AUDIT_SCHEMA,
    DEFAULT_SCHEMA,
    LEGACY_SCHEMA,
    SYSTEM_SCHEMA,
    TEMP_SCHEMA,
    fold,
    is_reserved,
)
from .views import View, find_view


@dataclass(frozen=True)
class Relation:
    """What a name in FROM (or a DML target) resolved to."""

    kind: str  # "table", "view" or "system"
    schema: str
    name: str
    table: Any = None  # engine TableInfo, for tables
    view: View | None = None  # for views

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


class Resolver:
    """Names as one session sees them in one snapshot."""

    def __init__(self, snap: Any, *, schema: str = DEFAULT_SCHEMA, catalog: str = "kodiak",
                 temp_prefix: str = "", viewer: Any = None, rights: Any = None) -> None:
        self.snap = snap
        self.rights = rights  # ``access.Rights``: listings show only what it may use
        self.viewer = viewer  # ``activity.Viewer``: what the activity views show, or None
        self.schema = fold(schema)
        self.catalog = catalog
        self.temp_prefix = temp_prefix  # "kodiak_temp.<session tag>_", or "" for none

    # ------------------------------------------------------------------ lookups

    def resolve(self, name: str, schema: str | None = None, catalog: str | None = None
                ) -> Relation | None:
        """The relation ``[catalog.][schema.]name`` names, or None."""
        if catalog and fold(catalog) != fold(self.catalog):
            raise BindError(f"unknown catalog {catalog!r}")
        name = fold(name)
        if self.temp_prefix and (schema is None or fold(schema) == "temp"):
            found = self._temp(self.temp_prefix + name, name)
            if found is not None or schema is not None:  # ``temp.x`` looks nowhere else
                return found
        for s in ([fold(schema)] if schema else self._search_path()):
            found = self._in_schema(s, name)
            if found is not None:
                return found
        if schema is None and system.unqualified(name):  # kodiak_queries, kodiak_sessions
            return Relation("system", SYSTEM_SCHEMA, name)
        return None

    def require(self, name: str, schema: str | None = None, catalog: str | None = None
                ) -> Relation:
        found = self.resolve(name, schema, catalog)
        if found is None:
            shown = f"{schema}.{name}" if schema else name
            raise BindError(f"table {shown!r} does not exist"
                            + suggest(name, [r.name for r in self.relations()]))
        return found

    def writable_table(self, name: str, schema: str | None = None,
                       catalog: str | None = None) -> Any:
        """The engine table a write (DML, ingest, COPY FROM) goes to; views and system
        views are refused by name."""
        rel = self.require(name, schema, catalog)
        if rel.kind == "view":
            raise BindError(f"{rel.qualified!r} is a view; a view is written only "
                            "by INSERT, UPDATE or DELETE through an INSTEAD OF trigger on "
                            "it for that statement")
        if rel.kind == "system":
            raise BindError(f"{rel.qualified!r} is a read-only system view")
        return rel.table

    def _search_path(self) -> list[str]:
        return [self.schema] if self.schema == DEFAULT_SCHEMA else [self.schema, DEFAULT_SCHEMA]

    def _temp(self, engine_name: str, name: str) -> Relation | None:
        if not self.snap.has_table(engine_name):
            return None
        return Relation("table", "temp", name, self.snap.table(engine_name))

    def _in_schema(self, schema: str, name: str) -> Relation | None:
        if schema == SYSTEM_SCHEMA:
            return Relation("system", schema, name) if system.exists(name) else None
        if schema in (TEMP_SCHEMA, LEGACY_SCHEMA, AUDIT_SCHEMA):
            return None
        qualified = f"{schema}.{name}"
        if self.snap.has_table(qualified):
            return Relation("table", schema, name, self.snap.table(qualified))
        view = find_view(self.snap, schema, name)
        if view is not None:
            return Relation("view", schema, name, view=view)
        return None

    # ------------------------------------------------------------------ listings

    def schemas(self) -> list[str]:
        """Schemas a user sees: the engine's less the internal ones, plus the system one
        (and, for a user with restricted rights, only those it holds a right in)."""
        found = {s for s in self.snap.schemas() if not is_reserved(s)}
        if self.rights is not None and not self.rights.is_admin:
            found = {s for s in found if self.rights.sees("schema", s)
                     or any(k != "database" and n.split(".", 1)[0] == s
                            for _, k, n in self.rights.held)}
        return sorted(found | {SYSTEM_SCHEMA})

    def relations(self, schema: str | None = None) -> list[Relation]:
        """Tables, views and system views, by schema and name (temporary tables excluded)."""
        out: list[Relation] = []
        visible = self.schemas()
        for s in visible if schema is None else [fold(schema)]:
            if s not in visible:
                continue
            if s == SYSTEM_SCHEMA:
                out += [Relation("system", s, n) for n in system.names()]
                continue
            out += [Relation("table", s, t.split(".", 1)[1], self.snap.table(t))
                    for t in self.snap.tables(s)]
            out += [Relation("view", s, v.name, view=v)
                    for o in self._relation_objects(s) for v in [View.from_object(o)]]
        if self.rights is not None and not self.rights.is_admin:
            out = [r for r in out if r.kind == "system" or self.rights.sees("table", r.qualified)]
        return sorted(out, key=lambda r: (r.schema, r.name))

    def _relation_objects(self, schema: str) -> list[Any]:
        return [o for k in relation_kinds() for o in self.snap.objects(k.name, schema)]

    # ------------------------------------------------------------------ checks for DDL

    def check_free(self, schema: str, name: str) -> None:
        """Refuse a new table or view whose name a relation in ``schema`` already has."""
        schema, name = fold(schema), fold(name)
        self.check_schema(schema)
        found = self._in_schema(schema, name)
        if found is not None:
            raise engine_errors.AlreadyExists(
                f"{found.qualified!r} already exists as a {_label(found)}")

    def check_schema(self, schema: str) -> None:
        """Refuse a reserved or missing schema as the home of something new."""
        schema = fold(schema)
        if is_reserved(schema):
            raise BindError(f"schema {schema!r} is reserved for Kodiak's own use")
        if schema not in self.snap.schemas():  # rights are checked after, naming them
            raise engine_errors.NotFound(f"schema {schema!r} does not exist"
                                         + suggest(schema, self.schemas()))


def _label(rel: Relation) -> str:
    return {"table": "table", "view": "view", "system": "system view"}[rel.kind]
