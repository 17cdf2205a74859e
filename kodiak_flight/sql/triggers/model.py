"""Triggers as engine objects of kind ``trigger``: transactional, logged in the WAL, in
snapshots, checkpoints and backups like views and user types.

A trigger lives in its table's schema under its own name (one namespace per schema, as in
SQLite); its definition is ``{"table", "timing", "event", "columns", "each", "when",
"body", "owner", "sql"}`` with ``table`` the engine's qualified table name. Dropping the
table drops its triggers and renaming it moves them (``access/tables.py`` calls
:func:`table_moved`). :func:`triggers_on` is asked by every write: it reads one index per
catalog, built once, so a table without triggers costs a dict lookup.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..catalog.kinds import ObjectKind, register
from ..catalog.system import SystemView, ViewSchema
from ..catalog.system import register as register_view

TRIGGER = register(ObjectKind("trigger", "trigger"))


@dataclass(frozen=True)
class Trigger:
    schema: str
    name: str
    table: str  # the engine's qualified table name ("main.t1")
    timing: str  # "before" | "after" | "instead of"
    event: str  # "insert" | "delete" | "update"
    columns: tuple[str, ...]  # UPDATE OF: fires only when SET names one of them
    each: str  # "row" | "statement"
    when: str | None
    body: str
    owner: str | None  # the body runs with its owner's rights
    sql: str

    def definition(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        del d["schema"], d["name"]
        d["columns"] = list(self.columns)
        return d

    @staticmethod
    def of(schema: str, name: str, d: dict[str, Any]) -> Trigger:
        return Trigger(schema, name, d["table"], d["timing"], d["event"],
                       tuple(d.get("columns") or ()), d.get("each", "row"), d.get("when"),
                       d["body"], d.get("owner"), d.get("sql", ""))

    def fires_on(self, timing: str, event: str, columns: frozenset[str] | None) -> bool:
        """Whether a ``timing`` ``event`` setting ``columns`` (None: unknown, all) fires it."""
        if self.timing != timing or self.event != event:
            return False
        return not self.columns or columns is None or bool(columns & set(self.columns))


def all_triggers(snap: Any, schemas: list[str] | None = None) -> list[Trigger]:
    return [Trigger.of(o.schema, o.name, o.definition) for o in snap.objects(TRIGGER.name)
            if schemas is None or o.schema in schemas]


_lock = threading.Lock()
_index: tuple[Any, dict[str, list[Trigger]]] = (None, {})


def triggers_on(snap: Any, table: str) -> list[Trigger]:
    """The triggers of engine table ``table`` (by name: PostgreSQL's firing order)."""
    global _index
    catalog = snap.state.catalog
    held, by_table = _index
    if held is not catalog:
        by_table = {}
        for t in all_triggers(snap):
            by_table.setdefault(t.table, []).append(t)
        with _lock:
            _index = (catalog, by_table)
    return by_table.get(table, [])


def table_moved(tx: Any, old: str, new: str | None) -> None:
    """Table ``old`` was dropped (``new`` None: its triggers go with it, as in SQLite) or
    renamed to ``new`` (they follow it)."""
    snap = tx.snapshot()
    for t in triggers_on(snap, old):
        tx.drop_object(TRIGGER.name, t.schema, t.name)
        if new is not None:
            moved = dataclasses.replace(t, schema=new.split(".", 1)[0], table=new)
            tx.create_object(TRIGGER.name, moved.schema, moved.name, moved.definition())


# ---------------------------------------------------------------------- system view


def _rows(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    visible = set(r.schemas())
    return [{"schema_name": t.schema, "trigger_name": t.name,
             "table_name": t.table.split(".", 1)[-1], "timing": t.timing.upper(),
             "event": t.event.upper(), "columns": ", ".join(t.columns) or None,
             "for_each": t.each.upper(), "condition": t.when, "owner": t.owner,
             "sql": t.sql} for t in all_triggers(r.snap) if t.schema in visible]


COLUMNS = ("schema_name", "trigger_name", "table_name", "timing", "event", "columns",
           "for_each", "condition", "owner", "sql")
register_view(SystemView("kodiak_triggers", pa.schema([pa.field(n, pa.string())
                                                      for n in COLUMNS]), _rows,
                         unqualified=True))
