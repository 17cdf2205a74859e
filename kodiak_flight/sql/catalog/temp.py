"""Temporary tables: engine tables in the reserved schema, one name prefix per session."""

from __future__ import annotations

from typing import Any

from .names import TEMP_SCHEMA


def drop_temp_tables(db: Any, prefix: str = "") -> int:
    """Drop the temporary tables whose engine name starts with ``TEMP_SCHEMA.prefix``: one
    session's when it closes, or every session's when a server starts (a crash leaves them)."""
    start = f"{TEMP_SCHEMA}.{prefix}"
    snap = db.snapshot()
    if TEMP_SCHEMA not in snap.schemas():
        return 0
    names = [t for t in snap.tables(TEMP_SCHEMA) if t.startswith(start)]
    if not names:
        return 0
    with db.begin() as tx:
        for n in names:
            tx.drop_table(n, if_exists=True)
    return len(names)
