"""JSON: an array of objects (``.json``) or one object a line (``.ndjson``, ``.jsonl``).

Reading tells the two apart by the first character, whatever the name says. Writing:
format ``json`` writes an array, ``ndjson`` one object a line, the text built a batch at a
time by ``json_encode``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from .json_array import ArrayToConcatenated, complete_prefix
from .json_encode import lit, rows_json
from .registry import Input, register
from .schemas import pinned_types
from .streams import Replay, closing, cut_at_newline, read_head


def parsed_from_text(t: pa.DataType) -> bool:
    """pyarrow's JSON parser reads dates, times, timestamps and decimals only from numbers:
    columns of those types are read as strings and cast (by the caller) to the type."""
    return pa.types.is_temporal(t) or pa.types.is_decimal(t) or pa.types.is_binary(t) \
        or pa.types.is_large_binary(t)


class Json:
    aliases: tuple[str, ...] = ()
    sql_options: frozenset[str] = frozenset()
    seekable = False

    def __init__(self, name: str, extensions: tuple[str, ...], *, array: bool,
                 aliases: tuple[str, ...] = ()) -> None:
        self.name = name
        self.extensions = extensions
        self.array = array  # what ``write`` writes
        self.aliases = aliases

    def defaults(self, path: str) -> dict[str, Any]:
        return {}

    def dataset(self, path: str, options: Mapping[str, Any]) -> None:
        return None

    def rows(self, path: str) -> int | None:
        return None

    def open(self, source: Input, options: Mapping[str, Any]) -> pa.RecordBatchReader:
        stream: Any = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115
        try:
            block = options.get("block_size", 1 << 20)
            head = read_head(stream, block)
            array = head.lstrip()[:1] == b"["
            first = complete_prefix(head) if array else cut_at_newline(head)
            inferred = self._open(io.BytesIO(first), block, False, None).schema
            types = {k: (pa.string() if parsed_from_text(t) else t)
                     for k, t in (options.get("column_types") or {}).items()}
            pins = pinned_types(inferred.names, inferred.types, types)
            schema = pa.schema([pa.field(f.name, pins.get(f.name, f.type))
                                for f in inferred]) if pins else None
            body: Any = Replay(head, stream)
            reader = self._open(ArrayToConcatenated(body) if array else body, block, array,
                                schema)
        except BaseException:
            stream.close()
            raise
        return closing(reader, stream)

    def _open(self, stream: Any, block: int, array: bool,
              schema: pa.Schema | None) -> pa.RecordBatchReader:
        parse = pajson.ParseOptions(newlines_in_values=array, explicit_schema=schema,
                                    unexpected_field_behavior="infer")
        return pajson.open_json(stream, parse_options=parse,
                                read_options=pajson.ReadOptions(block_size=block))

    def write(self, reader: pa.RecordBatchReader, out: IO[bytes],
              options: Mapping[str, Any]) -> int:
        sep = b",\n" if self.array else b"\n"
        rows = 0
        if self.array:
            out.write(b"[")
        for batch in reader:
            if not batch.num_rows:
                continue
            if self.array:
                out.write(b"\n" if not rows else b",\n")
            text = joined(rows_json(batch), sep)
            out.write(text[:-len(sep)] if self.array else text)
            rows += batch.num_rows
        if self.array:
            out.write(b"\n]\n" if rows else b"]\n")
        return rows


def joined(text: pa.Array, sep: bytes) -> memoryview:
    """The values of a string array, each followed by ``sep``, as one buffer."""
    with_sep = pc.binary_join_element_wise(text, lit(sep.decode()), lit(""))
    _, offsets, data = with_sep.buffers()
    bounds = memoryview(offsets).cast("i")
    start, end = bounds[with_sep.offset], bounds[with_sep.offset + len(with_sep)]
    return memoryview(data)[start:end]


JSON = register(Json("json", (".json",), array=True))
NDJSON = register(Json("ndjson", (".ndjson", ".jsonl"), array=False, aliases=("jsonl",)))
