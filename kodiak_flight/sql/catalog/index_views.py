"""``kodiak_indexes``: each table's primary key, UNIQUE constraints and indexes, one row each,
so that a client (the shell's ``.schema`` and ``\\d``) shows them the same way embedded and
over a server."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from .system import SystemView, ViewSchema, register


def _keys(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    rows = []
    for rel in r.relations():
        if rel.kind != "table":
            continue
        info = rel.table
        base = {"table_schema": rel.schema, "table_name": rel.name}
        if info.primary_key:
            rows.append({**base, "kind": "PRIMARY KEY", "index_name": None,
                         "column_names": ", ".join(info.primary_key)})
        for cols in info.unique:
            rows.append({**base, "kind": "UNIQUE", "index_name": None,
                         "column_names": ", ".join(cols)})
        for ix in info.indexes.values():
            if ix.unique and ix.columns in info.unique and ix.name.startswith(
                    f"{rel.name}_unique_"):
                continue  # the index behind a UNIQUE constraint, listed above
            rows.append({**base, "kind": "UNIQUE INDEX" if ix.unique else "INDEX",
                         "index_name": ix.name, "column_names": ", ".join(ix.columns)})
    return rows


register(SystemView("kodiak_indexes", pa.schema([
    pa.field(n, pa.string()) for n in ("table_schema", "table_name", "kind", "index_name",
                                       "column_names")]), _keys))
