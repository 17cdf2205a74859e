"""Opening a file in any registered format: decompression, then the format's reader,
with errors that name the file (and, for progress bars, how far through it we are)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from .compression import codec_for, decompressing
from .errors import FormatError
from .registry import detect_format, format_for
from .streams import Counting

TYPES_HINT = (" (column types are inferred from the first 1 MiB; create the table with the "
              "right types first and import with --append)")


@dataclass
class Source:
    """A streaming reader over a file and how far through it we are (for progress bars)."""

    reader: pa.RecordBatchReader
    total: int | None  # in ``unit``s; None when unknown
    unit: str  # "bytes" or "rows"
    position: Callable[[], int]
    close: Callable[[], None]


def open_file(path: Path | str, fmt: str | None = None,
              options: Mapping[str, Any] | None = None) -> Source:
    """A streaming reader over ``path`` in format ``fmt`` (default: from the name).

    ``options``: the format's (see ``registry.Format``) and ``compression`` (a codec name;
    default from the name). Uncompressed files of formats that seek are read by path
    (progress in rows), everything else as a stream (progress in bytes of the file)."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    form = format_for(path, fmt)
    opts = {**form.defaults(str(path)), **(options or {})}
    codec = codec_for(path, opts.pop("compression", None))
    try:
        if codec is None and form.seekable:
            return _by_path(path, form, opts)
        return _by_stream(path, form, opts, codec)
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None
    except pa.ArrowException as exc:
        raise FormatError(f"{path}: {first_line(exc)}") from None


def _by_path(path: Path, form: Any, opts: dict[str, Any]) -> Source:
    reader = form.open(str(path), opts)
    done = [0]

    def counted() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            done[0] += batch.num_rows
            yield batch

    counting = pa.RecordBatchReader.from_batches(reader.schema, counted())
    return Source(errors_named(counting, path), form.rows(str(path)), "rows",
                  lambda: done[0], reader.close)


def _by_stream(path: Path, form: Any, opts: dict[str, Any], codec: str | None) -> Source:
    counting = Counting(open(path, "rb"))  # noqa: SIM115 - closed by Source.close
    try:
        stream = decompressing(io.BufferedReader(counting, buffer_size=1 << 20), codec)
        reader = form.open(stream, opts)
    except BaseException:
        counting.close()
        raise
    return Source(errors_named(reader, path), os.path.getsize(path), "bytes",
                  lambda: counting.count, counting.close)


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def errors_named(reader: pa.RecordBatchReader, path: Path) -> pa.RecordBatchReader:
    """Errors in later blocks name the file and, for a type change, say what to do."""

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, FormatError) as exc:
                hint = TYPES_HINT if "conversion error" in str(exc) or "changed" in str(exc) \
                    else ""
                raise FormatError(f"{path}: {exc}{hint}") from None
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def open_source(path: Path | str, fmt: str | None = None, *,
                column_types: dict[str, pa.DataType] | None = None,
                delimiter: str | None = None, block_size: int = 1 << 20) -> Source:
    """A streaming reader over ``path`` for ``kodiak import``.

    ``column_types`` (by lower-cased column name) fixes the types CSV and JSON columns are
    read as, e.g. an existing table's; otherwise they are inferred from the first block
    (1 MiB), with all-NULL columns read as strings. pyarrow reads CSV and JSON up to 32
    blocks of ``block_size`` ahead of the batch being consumed, so memory stays bounded.
    """
    options: dict[str, Any] = {"block_size": block_size}
    if column_types:
        options["column_types"] = column_types
    if delimiter is not None:
        options["delimiter"] = delimiter
    if Path(path).is_file():
        fmt = detect_format(path, fmt)  # its message says to pass --format
    return open_file(path, fmt, options)
