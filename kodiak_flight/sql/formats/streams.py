"""Small binary stream adapters the readers and writers share."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa


class Counting(io.RawIOBase):
    """A raw binary file that counts the bytes read through it (for progress bars)."""

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


class Replay(io.RawIOBase):
    """``head`` (bytes already read from ``rest``) followed by the rest of ``rest``: lets a
    reader look at the start of a stream (to infer types) and then read it all."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self.head = memoryview(head)
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        """Fills ``buf`` but at the end (pyarrow's IPC reader takes a short read as the end)."""
        view = memoryview(buf).cast("B")
        n = min(len(view), len(self.head))
        view[:n] = self.head[:n]
        self.head = self.head[n:]
        while n < len(view):
            data = self.rest.read(len(view) - n)
            if not data:
                break
            view[n:n + len(data)] = data
            n += len(data)
        return n


class Position(io.RawIOBase):
    """A write-only stream that knows its position (Parquet and IPC file writers ask for
    it), so they can write to a pipe or a compressor. Closing it leaves ``f`` open."""

    def __init__(self, f: Any) -> None:
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

    def close(self) -> None:
        if not self.closed:
            self.f.flush()
        super().close()


def read_head(stream: Any, size: int) -> bytes:
    """Up to ``size`` bytes from the start of ``stream`` (fewer only at its end)."""
    parts, got = [], 0
    while got < size:
        data = stream.read(size - got)
        if not data:
            break
        parts.append(bytes(data))
        got += len(data)
    return b"".join(parts)


def cut_at_newline(head: bytes) -> bytes:
    """``head`` without a last line that may be cut short (all of it if one line)."""
    end = head.rfind(b"\n")
    return head[:end + 1] if end >= 0 else head


def spool(stream: Any) -> IO[bytes]:
    """A seekable temporary file holding the rest of ``stream`` (for formats that need to
    seek, read from a compressed file): disk, not memory, holds it."""
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 - the reader that uses it closes it
    shutil.copyfileobj(stream, tmp, 1 << 20)
    tmp.seek(0)
    return tmp


def closing(reader: pa.RecordBatchReader, stream: Any) -> pa.RecordBatchReader:
    """``reader``, closing ``stream`` once read to the end, closed or dropped."""
    def batches() -> Iterator[pa.RecordBatch]:
        try:
            while True:
                try:
                    yield reader.read_next_batch()
                except StopIteration:
                    return
        finally:
            stream.close()

    return pa.RecordBatchReader.from_batches(reader.schema, batches())

