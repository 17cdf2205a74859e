"""Streaming readers and writers for ``kodiak import`` / ``export`` / ``sql --format``.

Formats: CSV (``.csv``, ``.tsv``), Parquet (``.parquet``, ``.pq``), JSON (an array of objects,
``.json``), NDJSON (``.ndjson``, ``.jsonl``), Arrow IPC file / Feather (``.arrow``,
``.feather``, ``.ipc``) and Arrow IPC stream (``.arrows``). CSV, JSON and NDJSON may be
compressed (``.gz``, ``.bz2``, ``.zst``, ``.lz4``).

Nothing is read or written whole: readers are ``RecordBatchReader``s over
``pyarrow.csv.open_csv``, ``ParquetFile.iter_batches``, ``pyarrow.json.open_json`` and the IPC
readers; writers take one record batch at a time.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.json as pajson
import pyarrow.parquet as pq

FORMATS = ("csv", "parquet", "json", "ndjson", "arrow", "arrows")
_EXT = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
        ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".arrow": "arrow",
        ".feather": "arrow", ".ipc": "arrow", ".arrows": "arrows"}
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}
# ADBC refuses gRPC messages over 16 MiB; keep every batch well below that.
MAX_BATCH_BYTES = 8 << 20


class FormatError(Exception):
    pass


def _suffixes(path: Path) -> tuple[str, str | None]:
    """(format suffix, compression codec) of a file name."""
    suffixes = [s.lower() for s in path.suffixes]
    codec = None
    if suffixes and suffixes[-1] in _COMPRESSION:
        codec = _COMPRESSION[suffixes.pop()]
    return (suffixes[-1] if suffixes else ""), codec


def detect_format(path: Path | str, given: str | None = None) -> str:
    if given:
        fmt = given.lower()
        if fmt == "feather":
            fmt = "arrow"
        if fmt == "jsonl":
            fmt = "ndjson"
        if fmt not in FORMATS:
            raise FormatError(f"unknown format {given!r} (choose from {', '.join(FORMATS)})")
        return fmt
    ext, _ = _suffixes(Path(path))
    if ext not in _EXT:
        raise FormatError(f"cannot tell the format of {path} from its name; pass --format "
                          f"({', '.join(FORMATS)})")
    return _EXT[ext]


# -------------------------------------------------------------------------------------------
# Types


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


def storable_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, storable_type(f.type)) for f in schema])


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


# -------------------------------------------------------------------------------------------
# Reading


@dataclass
class Source:
    """A streaming reader over a file and how far through it we are (for progress bars)."""

    reader: pa.RecordBatchReader
    total: int | None  # in ``unit``s; None when unknown
    unit: str  # "bytes" or "rows"
    position: Callable[[], int]
    close: Callable[[], None]


class _Counting(io.RawIOBase):
    """A raw binary file that counts the bytes read through it."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.f.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        self.f.close()
        super().close()


class _ArrayToConcatenated(io.RawIOBase):
    """Turns a JSON array of objects into whitespace-separated objects, streaming.

    ``pyarrow.json`` reads concatenated objects (with ``newlines_in_values``) but not an
    array; this drops the outer brackets and the commas between elements as bytes go by.
    """

    _SPECIAL = re.compile(rb'["\\\[\]{},]')

    def __init__(self, f: IO[bytes], chunk: int = 1 << 20) -> None:
        self.f = f
        self.chunk = chunk
        self.depth = 0
        self.in_string = False
        self.skip_first = False  # the character after a backslash in the previous chunk
        self.pending = b""
        self.seen_array = False
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        while not self.pending and not self.done:
            data = self.f.read(self.chunk)
            if not data:
                self.done = True
                if self.depth != 0 or self.in_string:
                    raise FormatError("the JSON file ends inside a value")
                break
            self.pending = self._convert(data)
        n = min(len(buf), len(self.pending))
        buf[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def _convert(self, data: bytes) -> bytes:
        out = bytearray(data)
        skip = 0 if self.skip_first else -1
        self.skip_first = False
        for m in self._SPECIAL.finditer(data):
            i = m.start()
            if i == skip:
                continue
            c = data[i]
            if self.in_string:
                if c == 0x5C:  # backslash: skip the next character
                    if i + 1 == len(data):
                        self.skip_first = True
                    skip = i + 1
                elif c == 0x22:
                    self.in_string = False
                continue
            if c == 0x22:
                self.in_string = True
            elif c in b"[{":
                if self.depth == 0:
                    if c != 0x5B or self.seen_array:
                        raise FormatError("a .json file must hold one array of objects "
                                          "(use .ndjson for one object per line)")
                    self.seen_array = True
                    out[i] = 0x20
                self.depth += 1
            elif c in b"]}":
                self.depth -= 1
                if self.depth == 0:
                    out[i] = 0x20
                elif self.depth < 0:
                    raise FormatError("unbalanced brackets in the JSON file")
            elif c == 0x2C and self.depth == 1:
                out[i] = 0x0A
        if not self.seen_array and data.strip():
            raise FormatError("a .json file must hold one array of objects "
                              "(use .ndjson for one object per line)")
        return bytes(out)

    def close(self) -> None:
        self.f.close()
        super().close()


def _open_text_source(path: Path) -> tuple[_Counting, Any, int]:
    raw = open(path, "rb")  # noqa: SIM115 - closed by Source.close
    counting = _Counting(raw)
    _, codec = _suffixes(path)
    stream: Any = io.BufferedReader(counting, buffer_size=1 << 20)
    if codec:
        stream = pa.CompressedInputStream(pa.PythonFile(stream, mode="r"), codec)
    return counting, stream, os.fstat(raw.fileno()).st_size


def open_source(path: Path | str, fmt: str | None = None, *,
                column_types: dict[str, pa.DataType] | None = None,
                delimiter: str | None = None, block_size: int = 1 << 20) -> Source:
    """A streaming reader over ``path``.

    ``column_types`` (by lower-cased column name) fixes the types CSV and JSON columns are
    read as, e.g. an existing table's; otherwise they are inferred from the first block
    (1 MiB), with all-NULL columns read as strings. pyarrow reads CSV and JSON up to 32
    blocks of ``block_size`` ahead of the batch being consumed, so memory stays bounded.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    fmt = detect_format(path, fmt)
    if fmt == "csv":
        return _open_csv(path, column_types or {}, delimiter, block_size)
    if fmt in ("json", "ndjson"):
        return _open_json(path, fmt, column_types or {}, block_size)
    if fmt == "parquet":
        pf = pq.ParquetFile(path)
        done = [0]

        def pq_batches() -> Iterator[pa.RecordBatch]:
            for b in pf.iter_batches(batch_size=65536):
                done[0] += b.num_rows
                yield b

        reader = pa.RecordBatchReader.from_batches(pf.schema_arrow, pq_batches())
        return Source(reader, pf.metadata.num_rows, "rows", lambda: done[0], pf.close)
    if fmt == "arrow":
        source = pa.memory_map(str(path))
        try:
            f = ipc.open_file(source)
        except pa.ArrowInvalid:
            source.close()
            return _open_ipc_stream(path)  # .arrow is used for both IPC forms
        done = [0]

        def ipc_batches() -> Iterator[pa.RecordBatch]:
            for i in range(f.num_record_batches):
                b = f.get_batch(i)
                done[0] = i + 1
                yield b

        reader = pa.RecordBatchReader.from_batches(f.schema, ipc_batches())
        return Source(reader, f.num_record_batches, "batches", lambda: done[0], source.close)
    return _open_ipc_stream(path)


def _open_ipc_stream(path: Path) -> Source:
    counting, stream, size = _open_text_source(path)
    try:
        reader = ipc.open_stream(stream)
    except pa.ArrowInvalid as exc:
        counting.close()
        raise FormatError(f"{path}: not an Arrow IPC file or stream: {exc}") from None
    return Source(reader, size, "bytes", lambda: counting.count, counting.close)


def _fixed_types(names: list[str], inferred: list[pa.DataType],
                 column_types: dict[str, pa.DataType]) -> dict[str, pa.DataType]:
    out = {}
    for n, t in zip(names, inferred, strict=True):
        if n.lower() in column_types:
            out[n] = column_types[n.lower()]
        elif pa.types.is_null(t):
            out[n] = pa.string()
    return out


def _open_csv(path: Path, column_types: dict[str, pa.DataType],
              delimiter: str | None, block_size: int) -> Source:
    ext, _ = _suffixes(path)
    parse = pacsv.ParseOptions(delimiter=delimiter or ("\t" if ext == ".tsv" else ","))
    read = pacsv.ReadOptions(block_size=block_size)
    counting, stream, size = _open_text_source(path)
    # An unquoted empty field is NULL, a quoted one ("") the empty string: what pyarrow's
    # (and so `kodiak export`'s) CSV writer produces.
    def convert(types: dict[str, pa.DataType] | None = None) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                    quoted_strings_can_be_null=False)

    try:
        head = pacsv.open_csv(stream, read_options=read, parse_options=parse,
                              convert_options=convert())
    except pa.ArrowInvalid as exc:
        counting.close()
        if "Empty CSV file" in str(exc):
            raise FormatError(f"{path}: empty CSV file (no header)") from None
        raise FormatError(f"{path}: {exc}") from None
    fixed = _fixed_types(head.schema.names, head.schema.types, column_types)
    if fixed:  # read again with the types pinned
        counting.close()
        counting, stream, size = _open_text_source(path)
        head = pacsv.open_csv(stream, read_options=read, parse_options=parse,
                              convert_options=convert(fixed))
    return Source(_errors_named(head, path), size, "bytes", lambda: counting.count,
                  counting.close)


def _open_json(path: Path, fmt: str, column_types: dict[str, pa.DataType],
               block_size: int) -> Source:
    def open_once(schema: pa.Schema | None) -> tuple[_Counting, pa.RecordBatchReader]:
        counting, stream, _ = _open_text_source(path)
        src: Any = _ArrayToConcatenated(stream) if fmt == "json" else stream
        parse = pajson.ParseOptions(newlines_in_values=(fmt == "json"),
                                    explicit_schema=schema,
                                    unexpected_field_behavior="infer")
        try:
            return counting, pajson.open_json(
                src, parse_options=parse, read_options=pajson.ReadOptions(block_size=block_size))
        except (pa.ArrowInvalid, FormatError) as exc:
            counting.close()
            raise FormatError(f"{path}: {exc}") from None

    counting, reader = open_once(None)
    # pyarrow's JSON parser reads dates, times, timestamps and decimals only from numbers:
    # read those columns as strings and let the cast to the table's type parse them.
    column_types = {k: (pa.string() if _parsed_from_text(t) else t)
                    for k, t in column_types.items()}
    fixed = _fixed_types(reader.schema.names, reader.schema.types, column_types)
    if fixed:
        counting.close()
        schema = pa.schema([pa.field(f.name, fixed.get(f.name, f.type))
                            for f in reader.schema])
        counting, reader = open_once(schema)
    size = path.stat().st_size
    return Source(_errors_named(reader, path), size, "bytes", lambda: counting.count,
                  counting.close)


def _parsed_from_text(t: pa.DataType) -> bool:
    return pa.types.is_temporal(t) or pa.types.is_decimal(t) or pa.types.is_binary(t) \
        or pa.types.is_large_binary(t)


def target_schema(file_schema: pa.Schema, table: pa.Schema | None) -> pa.Schema:
    """What to convert a file's batches to: the table's type for columns it has (by
    case-insensitive name), a storable version of the file's type otherwise."""
    existing = {f.name.lower(): f.type for f in table} if table is not None else {}
    return pa.schema([pa.field(f.name, existing.get(f.name.lower(), storable_type(f.type)))
                      for f in file_schema])


def _errors_named(reader: pa.RecordBatchReader, path: Path) -> pa.RecordBatchReader:
    """Parse errors in later blocks name the file and say what to do."""

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                hint = ""
                if "conversion error" in str(exc) or "changed" in str(exc):
                    hint = (" (column types are inferred from the first 1 MiB; create the "
                            "table with the right types first and import with --append)")
                raise FormatError(f"{path}: {exc}{hint}") from None
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


# -------------------------------------------------------------------------------------------
# Writing


class _Position(io.RawIOBase):
    """A write-only stream that knows its position (Parquet and IPC files ask for it), so
    they can be written to a pipe."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = self.f.write(data)
        n = len(data) if n is None else n
        self.pos += n
        return n

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        if not self.closed:
            self.f.flush()

    def close(self) -> None:  # writers may close their sink; the underlying file stays open
        if not self.closed:
            self.f.flush()
        super().close()


def _json_value(v: Any) -> Any:
    if isinstance(v, datetime.datetime | datetime.date | datetime.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    return str(v)


def _dumps(row: dict) -> str:
    # Finite floats, ints, strings, bools and None go straight through; the rest is mapped.
    for k, v in row.items():
        if v is not None and not isinstance(v, str | int | bool) and not (
                isinstance(v, float) and math.isfinite(v)):
            row[k] = _json_value(v)
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


class Sink:
    """Writes record batches to a file or a binary stream in one format."""

    def __init__(self, out: IO[bytes], fmt: str, *, delimiter: str | None = None) -> None:
        self.out = _Position(out)
        self.fmt = fmt
        self.delimiter = delimiter
        self.rows = 0
        self._writer: Any = None
        self._first = True

    def _open(self, schema: pa.Schema) -> None:
        try:
            self._open_writer(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise FormatError(f"cannot write {self.fmt}: {exc}") from None

    def _open_writer(self, schema: pa.Schema) -> None:
        if self.fmt == "csv":
            opts = pacsv.WriteOptions(delimiter=self.delimiter or ",")
            self._writer = pacsv.CSVWriter(self.out, schema, write_options=opts)
        elif self.fmt == "parquet":
            self._writer = pq.ParquetWriter(self.out, schema)
        elif self.fmt == "arrow":
            self._writer = ipc.new_file(self.out, schema)
        elif self.fmt == "arrows":
            self._writer = ipc.new_stream(self.out, schema)
        elif self.fmt == "json":
            self.out.write(b"[")
        elif self.fmt != "ndjson":
            raise FormatError(f"cannot write format {self.fmt!r}")

    def write(self, batch: pa.RecordBatch) -> None:
        if self._first:
            self._open(batch.schema)
            self._first = False
        if self.fmt in ("json", "ndjson"):
            lines = [_dumps(r).encode("utf-8") for r in batch.to_pylist()]
            if lines and self.fmt == "json":
                self.out.write((b"\n" if not self.rows else b",\n") + b",\n".join(lines))
            elif lines:
                self.out.write(b"\n".join(lines) + b"\n")
        else:
            try:
                self._writer.write_batch(batch)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise FormatError(f"cannot write {self.fmt}: {exc}") from None
        self.rows += batch.num_rows

    def close(self, schema: pa.Schema) -> None:
        """Finish the file (an empty result still gets its header/schema)."""
        if self._first:
            self._open(schema)
            self._first = False
        if self.fmt == "json":
            self.out.write(b"\n]\n" if self.rows else b"]\n")
        elif self._writer is not None:
            self._writer.close()
        if not self.out.closed:
            self.out.flush()


def write_stream(reader: pa.RecordBatchReader, out: IO[bytes], fmt: str, *,
                 delimiter: str | None = None,
                 on_batch: Callable[[pa.RecordBatch], None] | None = None) -> int:
    """Write every batch of ``reader`` to ``out``; the number of rows written."""
    sink = Sink(out, fmt, delimiter=delimiter)
    for batch in reader:
        sink.write(batch)
        if on_batch is not None:
            on_batch(batch)
    sink.close(reader.schema)
    return sink.rows


def write_file(reader: pa.RecordBatchReader, path: Path | str, fmt: str | None = None, *,
               delimiter: str | None = None,
               on_batch: Callable[[pa.RecordBatch], None] | None = None) -> int:
    """Write to ``path`` via a temporary file renamed into place only when complete."""
    path = Path(path)
    fmt = detect_format(path, fmt)
    ext, codec = _suffixes(path)
    if delimiter is None and ext == ".tsv":
        delimiter = "\t"
    tmp = path.with_name(f".{path.name}.kodiak-tmp")
    try:
        if codec:
            with pa.output_stream(str(tmp), compression=codec) as comp:
                rows = write_stream(reader, comp, fmt, delimiter=delimiter, on_batch=on_batch)
        else:
            with open(tmp, "wb") as raw:
                rows = write_stream(reader, raw, fmt, delimiter=delimiter, on_batch=on_batch)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
    return rows
