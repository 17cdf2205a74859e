"""CSV and TSV (``.csv``, ``.tsv``, ``.txt``).

An unquoted empty field is NULL, a quoted one (``""``) the empty string: what pyarrow's CSV
writer (and so ``COPY ... TO`` and ``kodiak export``) produces. Column types are inferred
from the first block, with all-NULL columns read as strings and ``column_types`` pinned.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pacsv

from .compression import split_suffixes
from .errors import FormatError
from .registry import Input, register
from .schemas import pinned_types
from .streams import Replay, closing, cut_at_newline, read_head

if TYPE_CHECKING:  # imported when a dataset is read: it loads pandas (slow start-up)
    import pyarrow.dataset as ds


def parse_options(options: Mapping[str, Any]) -> pacsv.ParseOptions:
    delimiter = options.get("delimiter") or ","
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise FormatError(f"the CSV delimiter must be one character, not {delimiter!r}")
    # invalid_row_handler: ``kodiak import --max-errors`` skips rows of the wrong width
    return pacsv.ParseOptions(delimiter=delimiter,
                              invalid_row_handler=options.get("invalid_row_handler"))


def read_options(options: Mapping[str, Any]) -> pacsv.ReadOptions:
    return pacsv.ReadOptions(block_size=options.get("block_size", 1 << 20),
                             autogenerate_column_names=not options.get("header", True))


def convert_options(types: dict[str, pa.DataType] | None = None) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                quoted_strings_can_be_null=False)


class Csv:
    name = "csv"
    aliases = ("tsv",)
    extensions = (".csv", ".tsv", ".txt")
    sql_options = frozenset({"header", "delimiter"})
    seekable = False

    def defaults(self, path: str) -> dict[str, Any]:
        return {"delimiter": "\t"} if split_suffixes(path)[0] == ".tsv" else {}

    def open(self, source: Input, options: Mapping[str, Any]) -> pa.RecordBatchReader:
        stream: Any = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115
        try:
            head = read_head(stream, options.get("block_size", 1 << 20))
            if not head.strip():
                raise FormatError("empty CSV file (no header)")
            schema = self._open(io.BytesIO(cut_at_newline(head)), options, None).schema
            pins = pinned_types(schema.names, schema.types, options.get("column_types") or {})
            reader = self._open(Replay(head, stream), options, pins or None)
        except BaseException:
            stream.close()
            raise
        return closing(reader, stream)

    def _open(self, stream: Any, options: Mapping[str, Any],
              types: dict[str, pa.DataType] | None) -> pacsv.CSVStreamingReader:
        return pacsv.open_csv(stream, read_options=read_options(options),
                              parse_options=parse_options(options),
                              convert_options=convert_options(types))

    def dataset(self, path: str, options: Mapping[str, Any]) -> ds.Dataset:
        import pyarrow.dataset as ds

        def make(types: dict[str, pa.DataType] | None) -> ds.Dataset:
            return ds.dataset(path, format=ds.CsvFileFormat(
                parse_options=parse_options(options), read_options=read_options(options),
                convert_options=convert_options(types)))

        data = make(None)
        pins = pinned_types(data.schema.names, data.schema.types,
                            options.get("column_types") or {})
        return make(pins) if pins else data

    def rows(self, path: str) -> int | None:
        return None

    def write(self, reader: pa.RecordBatchReader, out: IO[bytes],
              options: Mapping[str, Any]) -> int:
        wo = pacsv.WriteOptions(include_header=bool(options.get("header", True)),
                                delimiter=options.get("delimiter") or ",")
        rows = 0
        with pacsv.CSVWriter(out, reader.schema, write_options=wo) as w:
            for batch in reader:
                w.write_batch(batch)
                rows += batch.num_rows
        return rows


CSV = register(Csv())
