"""Upgrade of data directories whose views were kept in tables (before object catalogs).

Earlier releases stored views as rows of ``kodiak_catalog.views`` and schemas dropped by SQL
in ``kodiak_catalog.dropped_schemas``. On first use such a directory is upgraded in one
transaction: each row becomes a view object, each recorded schema is really dropped, and the
legacy tables and schema go away.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from .names import LEGACY_SCHEMA
from .views import View, put_view

_VIEWS = f"{LEGACY_SCHEMA}.views"
_DROPPED = f"{LEGACY_SCHEMA}.dropped_schemas"
# Databases already upgraded or found current: sessions come and go, the check runs once.
_CURRENT: weakref.WeakSet[Any] = weakref.WeakSet()


def needs_upgrade(snap: Any) -> bool:
    return LEGACY_SCHEMA in snap.schemas()


def upgrade_legacy_catalog(db: Any) -> bool:
    """Move legacy views and schema drops into the engine catalog; True if anything moved."""
    if db in _CURRENT:
        return False
    if not needs_upgrade(db.snapshot()):
        _CURRENT.add(db)
        return False
    with db.begin() as tx:
        snap = tx.snapshot()
        if not needs_upgrade(snap):
            return False
        for view in _legacy_views(snap):
            put_view(tx, view, replace=True)
        for name in _legacy_dropped(snap):
            tx.drop_schema(name, cascade=True, if_exists=True)
        tx.drop_schema(LEGACY_SCHEMA, cascade=True)
    _CURRENT.add(db)
    return True


def _legacy_views(snap: Any) -> list[View]:
    if not snap.has_table(_VIEWS):
        return []
    t = snap.scan(_VIEWS).read_all().to_pylist()
    out = []
    for row in t:
        schema, name = row["name"].split(".", 1)
        cols = tuple(json.loads(row["columns"])) if row["columns"] else ()
        out.append(View(schema, name, row["sql"], cols, row["schema"].lower()))
    return out


def _legacy_dropped(snap: Any) -> list[str]:
    if not snap.has_table(_DROPPED):
        return []
    return snap.scan(_DROPPED).read_all().column("name").to_pylist()
