"""Bound parameters: the batch a client sends with DoPut, as the SQL layer takes it."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..status import InvalidArgument


def params(table: pa.Table) -> pa.Table | None:
    """Bound parameters as the SQL layer takes them (None when the client bound none)."""
    if table.num_columns == 0:
        return None
    return plain_params(table)


def check_param_count(prepared: Any, params: pa.Table | None) -> None:
    """Refuse a parameter batch with more or fewer columns than the statement has
    placeholders (the SQL layer would otherwise ignore extra columns)."""
    schema = getattr(prepared, "parameter_schema", None)
    if params is None or schema is None:
        return
    if params.num_columns != len(schema):
        raise InvalidArgument(f"the statement takes {len(schema)} parameter"
                              f"{'' if len(schema) == 1 else 's'}, but {params.num_columns} "
                              f"{'was' if params.num_columns == 1 else 'were'} bound",
                              "ParameterError")


def plain_params(table: pa.Table) -> pa.Table:
    """Union-typed parameter columns as plain columns.

    Some clients (flightsql-dbapi) bind every parameter as a one-value dense union of
    int64/double/utf8/binary/bool, so one statement can take values of different types. A
    column whose values all use one member becomes that member's type; a column mixing
    members is rebuilt from its Python values (INVALID_ARGUMENT if they have no common type).
    """
    if not any(pa.types.is_union(t) for t in table.schema.types):
        return table
    fields, columns = [], []
    for i, (f, col) in enumerate(zip(table.schema, table.columns, strict=True)):
        if pa.types.is_union(f.type):
            col = plain_union(col, i + 1)
            f = pa.field(f.name, col.type)
        fields.append(f)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def plain_union(col: pa.ChunkedArray, position: int) -> pa.ChunkedArray:
    """One union-typed parameter column (the ``position``-th) as a plain column."""
    chunks = [c for c in col.chunks if len(c)]
    codes = {code for c in chunks for code in c.type_codes.to_pylist()}
    if len(codes) <= 1:
        return _one_member(col.type, chunks, codes.pop() if codes else None)
    try:
        return pa.chunked_array([pa.array(col.to_pylist())])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise InvalidArgument(f"parameter {position} is bound to values of different types",
                              "ParameterError") from None


def _one_member(utype: pa.UnionType, chunks: list[pa.UnionArray],
                code: int | None) -> pa.ChunkedArray:
    """The values of union chunks that all use the member with type code ``code``."""
    child = utype.type_codes.index(utype.type_codes[0] if code is None else code)
    out = []
    for c in chunks:
        values = c.field(child)
        if utype.mode == "dense":
            values = values.take(c.offsets)
        out.append(values)
    return pa.chunked_array(out, type=utype.field(child).type)
