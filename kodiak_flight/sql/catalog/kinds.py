"""The registry of object kinds the SQL layer keeps in the engine's object catalog.

An object kind (a view today; functions, types, secrets, triggers, jobs, models, attachments
and buckets later) is one module that registers an :class:`ObjectKind`: its name in the
engine catalog, the namespace its names live in (a view shares the namespace of tables, a
function has its own), and what GetTables reports it as, if anything. The resolver, the
system views and the Flight metadata ask this registry rather than knowing each kind.
"""

from __future__ import annotations

from dataclasses import dataclass

RELATION = "relation"  # the namespace of tables and views: one name, one relation


@dataclass(frozen=True)
class ObjectKind:
    name: str  # the engine catalog's kind, e.g. "view"
    namespace: str  # objects in one namespace and schema cannot share a name
    table_type: str | None = None  # GetTables / information_schema table type, if listed


KINDS: dict[str, ObjectKind] = {}


def register(kind: ObjectKind) -> ObjectKind:
    if kind.name in KINDS:
        raise ValueError(f"object kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def relation_kinds() -> list[ObjectKind]:
    """Kinds that share the namespace of tables (a table and one of these clash)."""
    return [k for k in KINDS.values() if k.namespace == RELATION]


def table_types() -> list[str]:
    """What GetTableTypes reports: tables, then each listed kind, then system views."""
    listed = [k.table_type for k in KINDS.values() if k.table_type]
    return ["TABLE", *dict.fromkeys(listed), "SYSTEM TABLE"]
