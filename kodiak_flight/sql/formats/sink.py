"""Writing a reader to a stream or a file in any registered format.

A file is written under a temporary name in its directory (compressed on the way when its
name or the ``compression`` option says so) and renamed into place only when complete, so
readers never see half a file and a failure leaves nothing behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from .compression import codec_for
from .errors import FormatError
from .registry import format_for
from .streams import Position

OnBatch = Callable[[pa.RecordBatch], None] | None


def write_stream(reader: pa.RecordBatchReader, out: IO[bytes], fmt: str, *,
                 delimiter: str | None = None, on_batch: OnBatch = None,
                 options: Mapping[str, Any] | None = None) -> int:
    """Write every batch of ``reader`` to ``out`` (left open); the number of rows written.
    An empty result still gets its header / schema."""
    form = format_for("", fmt)
    opts = dict(options or {})
    if delimiter is not None:
        opts["delimiter"] = delimiter
    failed: list[BaseException] = []
    sink = Position(out)
    try:
        rows = form.write(_watched(reader, on_batch, failed), sink, opts)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        if failed:  # the reader's own error, not the writer's
            raise
        raise FormatError(f"cannot write {form.name}: {exc}") from None
    if not sink.closed:
        sink.flush()
    return rows


def _watched(reader: pa.RecordBatchReader, on_batch: OnBatch,
             failed: list[BaseException]) -> pa.RecordBatchReader:
    """``reader``, calling ``on_batch`` after each batch and noting its own errors."""
    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                yield batch
                if on_batch is not None:
                    on_batch(batch)
        except BaseException as exc:
            failed.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def write_file(reader: pa.RecordBatchReader, path: Path | str, fmt: str | None = None, *,
               delimiter: str | None = None, on_batch: OnBatch = None,
               options: Mapping[str, Any] | None = None) -> int:
    """Write to ``path`` via a temporary file renamed into place only when complete."""
    path = Path(path)
    form = format_for(path, fmt)
    opts = {**form.defaults(str(path)), **(options or {})}
    codec = codec_for(path, opts.pop("compression", None))
    directory = path.absolute().parent
    if not directory.is_dir():
        raise FormatError(f"directory {str(directory)!r} for {str(path)!r} does not exist")
    tmp = directory / f".{path.name}.{uuid.uuid4().hex[:12]}.kodiak-tmp"
    try:
        with pa.output_stream(str(tmp), compression=codec) as out:
            rows = write_stream(reader, out, form.name, delimiter=delimiter,
                                on_batch=on_batch, options=opts)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows
