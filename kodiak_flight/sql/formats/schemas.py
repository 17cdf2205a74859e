"""Column types of data read from files: which types reading pins, what a table created
from a file gets, and converting a reader's batches to a table's schema."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pyarrow as pa

from .errors import FormatError

# ADBC refuses gRPC messages over 16 MiB; keep every batch well below that.
MAX_BATCH_BYTES = 8 << 20


def pinned_types(names: list[str], inferred: list[pa.DataType],
                 column_types: dict[str, pa.DataType]) -> dict[str, pa.DataType]:
    """The columns a text format must be read again with fixed types: those
    ``column_types`` names (by lower-cased name), and all-NULL ones (as strings)."""
    out = {}
    for n, t in zip(names, inferred, strict=True):
        if n.lower() in column_types:
            out[n] = column_types[n.lower()]
        elif pa.types.is_null(t):
            out[n] = pa.string()
    return out


def storable_type(t: pa.DataType) -> pa.DataType:
    """The type a column created from a file gets: no dictionary, view, null or half types."""
    if pa.types.is_dictionary(t):
        return storable_type(t.value_type)
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(storable_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(storable_type(t.field(i).type))
                          for i in range(t.num_fields)])
    return t


def target_schema(file_schema: pa.Schema, table: pa.Schema | None) -> pa.Schema:
    """What to convert a file's batches to: the table's type for columns it has (by
    case-insensitive name), a storable version of the file's type otherwise."""
    existing = {f.name.lower(): f.type for f in table} if table is not None else {}
    return pa.schema([pa.field(f.name, existing.get(f.name.lower(), storable_type(f.type)))
                      for f in file_schema])


def cast_reader(reader: pa.RecordBatchReader, schema: pa.Schema) -> pa.RecordBatchReader:
    """``reader`` with every batch cast to ``schema`` and split below MAX_BATCH_BYTES."""
    same = reader.schema.remove_metadata() == schema

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            if not same:
                try:
                    batch = batch.cast(schema)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise FormatError(f"cannot convert the file's data: {exc}") from None
            yield from split_batch(batch)

    return pa.RecordBatchReader.from_batches(schema, batches())


def split_batch(batch: pa.RecordBatch, limit: int = MAX_BATCH_BYTES) -> Iterator[pa.RecordBatch]:
    size = batch.nbytes
    if size <= limit or batch.num_rows <= 1:
        yield batch
        return
    pieces = math.ceil(size / limit)
    step = max(1, math.ceil(batch.num_rows / pieces))
    for start in range(0, batch.num_rows, step):
        yield batch.slice(start, step)
