"""Arrow IPC: the file format / Feather v2 (``.arrow``, ``.feather``, ``.ipc``) and the
stream format (``.arrows``). Either reads both (``.arrow`` is used for both in the wild);
they differ in what they write."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.ipc as ipc

from .registry import Input, register
from .streams import Replay, read_head, spool

MAGIC = b"ARROW1"


class Arrow:
    sql_options: frozenset[str] = frozenset()

    def __init__(self, name: str, extensions: tuple[str, ...], *, stream: bool,
                 aliases: tuple[str, ...] = ()) -> None:
        self.name = name
        self.extensions = extensions
        self.stream = stream  # what ``write`` writes
        self.aliases = aliases
        self.seekable = not stream

    def defaults(self, path: str) -> dict[str, Any]:
        return {}

    def dataset(self, path: str, options: Mapping[str, Any]) -> None:
        return None

    def rows(self, path: str) -> int | None:
        with pa.memory_map(str(path)) as source:
            try:
                f = ipc.open_file(source)
            except pa.ArrowInvalid:
                return None
            return sum(f.get_batch(i).num_rows for i in range(f.num_record_batches))

    def open(self, source: Input, options: Mapping[str, Any]) -> pa.RecordBatchReader:
        if isinstance(source, str | Path):
            mapped = pa.memory_map(str(source))
            if mapped.read(len(MAGIC)) == MAGIC:
                mapped.seek(0)
                return file_reader(mapped)
            mapped.seek(0)
            return ipc.open_stream(mapped)
        head = read_head(source, len(MAGIC))
        if head == MAGIC:
            return file_reader(spool(Replay(head, source)))  # needs to seek to the footer
        return ipc.open_stream(Replay(head, source))

    def write(self, reader: pa.RecordBatchReader, out: IO[bytes],
              options: Mapping[str, Any]) -> int:
        rows = 0
        new = ipc.new_stream if self.stream else ipc.new_file
        with new(out, reader.schema) as w:
            for batch in reader:
                w.write_batch(batch)
                rows += batch.num_rows
        return rows


def file_reader(source: Any) -> pa.RecordBatchReader:
    """The batches of an IPC file, in order; closes ``source`` when done."""
    try:
        f = ipc.open_file(source)
    except BaseException:
        source.close()
        raise

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for i in range(f.num_record_batches):
                yield f.get_batch(i)
        finally:
            source.close()

    return pa.RecordBatchReader.from_batches(f.schema, batches())


ARROW = register(Arrow("arrow", (".arrow", ".feather", ".ipc"), stream=False,
                       aliases=("feather", "ipc")))
ARROWS = register(Arrow("arrows", (".arrows",), stream=True))
