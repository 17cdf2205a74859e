"""Where a query's result columns come from: the stored table column each one passes through.

A result column that is a stored column read unchanged (through aliases, subqueries, views,
CTEs, joins, filters, sorts and grouping keys) has an origin ``(catalog, schema, table,
column)``; a computed one (an expression, an aggregate, a literal, a set operation whose
sides differ) has none. The origin rides in the Arrow field metadata of the result under
``kodiak:origin:*`` keys, so it survives the result cache; the Flight server turns it into
the Flight SQL column metadata (``ARROW:FLIGHT:SQL:TABLE_NAME`` ...).
"""

from __future__ import annotations

import pyarrow as pa

from .catalog.names import TEMP_SCHEMA
from .expr import Col
from .plan import Node, Project, RecursiveCTE, Scan, SetOp, Shared

Origin = tuple[str, str, str]  # (schema, table, column)

KEYS = ("catalog", "schema", "table", "column")
PREFIX = "kodiak:origin:"


def origins(plan: Node) -> list[Origin | None]:
    """The origin of each output column of ``plan``, in order."""
    found = _found(plan, {})
    return [found.get(i) for i in plan.out_ids()]


def _found(node: Node, shared: dict[int, dict[str, Origin]]) -> dict[str, Origin]:
    """The origins of ``node``'s output columns by id (the sides of a set operation may use
    the same ids, so each node answers for its own output only)."""
    if isinstance(node, Shared):
        return _shared(node, shared)
    if isinstance(node, RecursiveCTE):
        return {}  # rows the recursion computed: no single stored column
    if isinstance(node, Scan):
        schema, _, table = node.table.partition(".")
        if schema == TEMP_SCHEMA or not table:
            return {}
        return {cid: (schema, table, source) for source, cid, _ in node.columns}
    if isinstance(node, SetOp):
        left, right = _found(node.left, shared), _found(node.right, shared)
        return {i: left[i] for i, j in zip(node.left.out_ids(), node.right.out_ids(),
                                           strict=False)
                if i in left and left[i] == right.get(j)}
    inputs: dict[str, Origin] = {}
    for child in node.children():
        inputs.update(_found(child, shared))
    if isinstance(node, Project):
        return {cid: inputs[e.id] for cid, e in node.exprs
                if isinstance(e, Col) and e.id in inputs}
    return {i: inputs[i] for i in node.out_ids() if i in inputs}


def _shared(node: Shared, shared: dict[int, dict[str, Origin]]) -> dict[str, Origin]:
    """A CTE read more than once: its plan's columns, under this reference's ids."""
    inner = node.holder.plan
    if node.key not in shared:
        shared[node.key] = _found(inner, shared)
    found = shared[node.key]
    return {cid: found[source] for (cid, _), source in zip(node.fields, inner.out_ids(),
                                                          strict=False)
            if source in found}


def metadata(origin: Origin | None, catalog: str) -> dict[bytes, bytes] | None:
    """The field metadata that records ``origin`` (None for a computed column)."""
    if origin is None:
        return None
    values = (catalog, *origin)
    return {(PREFIX + k).encode(): v.encode() for k, v in zip(KEYS, values, strict=True)}


def read(field: pa.Field) -> dict[str, str]:
    """A result field's origin as ``{"catalog": ..., "schema": ..., "table": ...,
    "column": ...}``; empty for a computed column."""
    md = field.metadata or {}
    out = {}
    for k in KEYS:
        v = md.get((PREFIX + k).encode())
        if v is not None:
            out[k] = v.decode()
    return out


def fields(plan: Node, names: list[str], types: list[pa.DataType], catalog: str
           ) -> list[pa.Field]:
    """The result fields of ``plan``: ``names`` and ``types``, with their origins."""
    return [pa.field(n, t, metadata=metadata(o, catalog))
            for n, t, o in zip(names, types, origins(plan), strict=True)]
