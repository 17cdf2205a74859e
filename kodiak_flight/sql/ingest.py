"""Bulk ingest: the one path by which Flight's CommandStatementIngest and ``kodiak import``
load a stream of Arrow batches into a table.

Names resolve through the same :class:`~.catalog.Resolver` as SQL, so ingest cannot create a
table where a view of that name exists, nor load into a dropped or reserved schema. Modes are
the Flight SQL pair: what to do when the table is missing (``create`` or ``fail``) and when it
exists (``fail``, ``append`` or ``replace``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from engine import errors as engine_errors

from .access.policies import restricted
from .catalog import Resolver, fold
from .errors import BindError, NotSupportedError
from .incoming import checked
from .types import declared_schema

IF_MISSING = ("create", "fail")
IF_EXISTS = ("fail", "append", "replace")
# ADBC's and the CLI's mode names, as (if missing, if exists)
MODES = {"create": ("create", "fail"), "append": ("fail", "append"),
         "replace": ("create", "replace"), "create_append": ("create", "append")}


@dataclass(frozen=True)
class IngestTarget:
    table: str  # as the client named it
    schema: str | None = None  # None: the session's current schema
    if_missing: str = "create"
    if_exists: str = "append"
    temporary: bool = False

    def __post_init__(self) -> None:
        if self.if_missing not in IF_MISSING or self.if_exists not in IF_EXISTS:
            raise BindError("ingest: unknown mode (if the table is missing: create or fail; "
                            "if it exists: fail, append or replace)")
        if not self.table:
            raise BindError("ingest: no target table named")
        if self.temporary and self.schema:
            raise BindError("ingest: a temporary table has no schema (it lives in the "
                            "session's temporary space)")

    @classmethod
    def from_mode(cls, table: str, mode: str, schema: str | None = None) -> IngestTarget:
        if mode not in MODES:
            raise BindError(f"ingest: unknown mode {mode!r} (one of {', '.join(MODES)})")
        missing, existing = MODES[mode]
        return cls(table, schema, missing, existing)


def ingest(tx: Any, resolver: Resolver, target: IngestTarget, data: pa.RecordBatchReader,
           temp_table: str | None = None) -> int:
    """Load ``data`` into ``target`` inside ``tx``; the number of rows loaded. ``temp_table``
    is the engine name of the session's temporary table when ``target.temporary``."""
    schema = data.schema.remove_metadata()
    name = temp_table if target.temporary else _engine_name(resolver, target)
    if target.temporary:
        tx.create_schema(name.split(".", 1)[0], if_not_exists=True)
    exists = tx.snapshot().has_table(name)
    if exists and target.if_exists == "fail":
        raise engine_errors.AlreadyExists(f"ingest: table {target.table!r} already exists")
    if not exists and target.if_missing == "fail":
        raise engine_errors.NotFound(f"ingest: table {target.table!r} does not exist")
    if not target.temporary:
        _check_rights(resolver, name, exists, target)
    if exists and target.if_exists == "replace":
        tx.drop_table(name)
        exists = False
    if not exists:
        tx.create_table(name, declared_schema(schema))
    return tx.insert(name, checked(data, "ingest"))


def _check_rights(resolver: Resolver, name: str, exists: bool, target: IngestTarget) -> None:
    """Ingest into a table needs INSERT on it; creating or replacing one, CREATE on its
    schema (the same rights as CREATE TABLE and INSERT)."""
    rights = resolver.rights
    if rights is None:
        return
    if not exists or target.if_exists == "replace":
        rights.require("create", "schema", name.split(".", 1)[0])
    if exists:
        rights.require("insert", "table", name)
        if target.if_exists != "replace" and restricted(rights, resolver.snap, name):
            raise NotSupportedError(f"ingest into {name} is not supported for a user its "
                                    "row-level security policies restrict (use INSERT)")


def _engine_name(resolver: Resolver, target: IngestTarget) -> str:
    """The engine name of a regular target, refusing views, system views and reserved or
    missing schemas."""
    schema = fold(target.schema) if target.schema else resolver.schema
    resolver.check_schema(schema)
    rel = resolver.resolve(target.table, schema)
    if rel is not None and rel.kind != "table":
        what = "view" if rel.kind == "view" else "system view"
        raise BindError(f"ingest: {rel.qualified!r} is a {what}, not a table")
    return f"{schema}.{fold(target.table)}"
