"""Read-only system views: ``information_schema`` and Kodiak's own ``kodiak_*`` views.

Users read the catalog through these, never through internal tables: each view is computed
from the snapshot when a query names it, so it is read-only by construction and always
current. A new object kind adds its ``kodiak_<kind>s`` view here with :func:`register`;
``activity_views`` registers the views of running statements and sessions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..types import sql_name

ViewSchema = Callable[[Any], "pa.Schema | None"]  # a view's columns, None if it no longer binds


@dataclass(frozen=True)
class SystemView:
    name: str
    schema: pa.Schema
    rows: Callable[[Any, ViewSchema], list[dict[str, Any]]]  # (resolver, view_schema) -> rows
    volatile: bool = False  # rows change without a catalog change: plans reading it are not kept
    unqualified: bool = False  # also found by its bare name (``kodiak_queries``)


_VIEWS: dict[str, SystemView] = {}


def register(view: SystemView) -> SystemView:
    _VIEWS[view.name] = view
    return view


def exists(name: str) -> bool:
    return name in _VIEWS


def names() -> list[str]:
    return sorted(_VIEWS)


def view(name: str) -> SystemView:
    return _VIEWS[name]


def unqualified(name: str) -> bool:
    """Whether ``name`` is a system view found without ``information_schema.``."""
    return name in _VIEWS and _VIEWS[name].unqualified


def columns(name: str) -> pa.Schema:
    return _VIEWS[name].schema


def table(name: str, resolver: Any, view_schema: ViewSchema) -> pa.Table:
    """The current contents of system view ``name``."""
    v = _VIEWS[name]
    return pa.Table.from_pylist(v.rows(resolver, view_schema), schema=v.schema)


def _s(*names: str) -> pa.Schema:
    return pa.schema([pa.field(n, pa.string()) for n in names])


def _schemata(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    return [{"catalog_name": r.catalog, "schema_name": s} for s in r.schemas()]


_TABLE_TYPE = {"table": "BASE TABLE", "view": "VIEW", "system": "SYSTEM VIEW"}


def _tables(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    return [{"table_catalog": r.catalog, "table_schema": rel.schema, "table_name": rel.name,
             "table_type": _TABLE_TYPE[rel.kind]} for rel in r.relations()]


def _columns(r: Any, view_schema: ViewSchema) -> list[dict[str, Any]]:
    rows = []
    for rel in r.relations():
        schema, keys, not_null = _relation_columns(rel, view_schema)
        if schema is None:
            continue
        for pos, f in enumerate(schema, start=1):
            nullable = f.nullable and f.name not in keys and f.name not in not_null
            rows.append({"table_catalog": r.catalog, "table_schema": rel.schema,
                         "table_name": rel.name, "column_name": f.name,
                         "ordinal_position": pos, "is_nullable": "YES" if nullable else "NO",
                         "data_type": sql_name(f.type)})
    return rows


def _relation_columns(rel: Any, view_schema: ViewSchema
                      ) -> tuple[pa.Schema | None, tuple[str, ...], frozenset[str]]:
    if rel.kind == "table":
        t = rel.table
        return t.schema, tuple(t.primary_key), frozenset(t.not_null)
    if rel.kind == "view":
        return view_schema(rel.view), (), frozenset()
    return _VIEWS[rel.name].schema, (), frozenset()


def _views(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    return [{"table_catalog": r.catalog, "table_schema": rel.schema, "table_name": rel.name,
             "view_definition": rel.view.sql} for rel in r.relations() if rel.kind == "view"]


def _objects(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    visible = set(r.schemas())
    rights = getattr(r, "rights", None)
    return [{"kind": o.kind, "schema_name": o.schema, "object_name": o.name,
             "definition": json.dumps(dict(o.definition), sort_keys=True)}
            for o in r.snap.objects() if o.schema in visible and (
                rights is None or rights.sees("table" if o.kind == "view" else o.kind,
                                              f"{o.schema}.{o.name}"))]


register(SystemView("schemata", _s("catalog_name", "schema_name"), _schemata))
register(SystemView("tables", _s("table_catalog", "table_schema", "table_name", "table_type"),
                    _tables))
register(SystemView("columns", pa.schema([
    *_s("table_catalog", "table_schema", "table_name", "column_name"),
    pa.field("ordinal_position", pa.int32()),
    *_s("is_nullable", "data_type")]), _columns))
register(SystemView("views", _s("table_catalog", "table_schema", "table_name",
                                "view_definition"), _views))
register(SystemView("kodiak_objects", _s("kind", "schema_name", "object_name", "definition"),
                    _objects))


def _result_cache(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    from ..resultcache import for_root  # the cache imports the planner, which imports this

    cache = for_root(getattr(r.snap, "root", ""))
    stats = cache.stats() if cache is not None else {}
    return [{k: stats.get(k, 0) for k in _RESULT_CACHE_COLUMNS}]


_RESULT_CACHE_COLUMNS = ("max_bytes", "bytes", "entries", "hits", "misses", "stores",
                         "evictions", "invalidations", "uncacheable", "too_large")
register(SystemView("kodiak_result_cache", pa.schema(
    [pa.field(n, pa.int64()) for n in _RESULT_CACHE_COLUMNS]), _result_cache))
