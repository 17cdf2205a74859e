"""Encoding of a commit's physical operations as one WAL payload.

Layout: ``u32 header length | JSON header | blobs``; the header lists the operations and each
blob is an Arrow IPC stream (rows, keys) or raw little-endian uint32 offsets, referenced by
index. Arrow IPC keeps every column type exact, string_view and decimal included.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pyarrow as pa

from .errors import CorruptionError

_IPC_OPTIONS = pa.ipc.IpcWriteOptions()


class OpLog:
    """Operations collected by one transaction, in order."""

    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []
        self.blobs: list[bytes] = []

    def __len__(self) -> int:
        return len(self.ops)

    def add(self, kind: str, **fields: Any) -> None:
        self.ops.append({"k": kind, **fields})

    def blob_table(self, table: pa.Table) -> int:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema, options=_IPC_OPTIONS) as w:
            w.write_table(table)
        self.blobs.append(sink.getvalue().to_pybytes())
        return len(self.blobs) - 1

    def blob_offsets(self, offsets: np.ndarray) -> int:
        self.blobs.append(np.asarray(offsets, dtype="<u4").tobytes())
        return len(self.blobs) - 1

    def truncate(self, n_ops: int, n_blobs: int) -> None:
        del self.ops[n_ops:]
        del self.blobs[n_blobs:]

    def encode(self) -> bytes:
        header = json.dumps({"ops": self.ops, "blobs": [len(b) for b in self.blobs]},
                            separators=(",", ":")).encode()
        return b"".join([struct.pack("<I", len(header)), header, *self.blobs])


class DecodedOps:
    def __init__(self, payload: bytes) -> None:
        try:
            (n,) = struct.unpack_from("<I", payload)
            header = json.loads(payload[4:4 + n])
            self.ops: list[dict[str, Any]] = header["ops"]
            self._blobs: list[memoryview] = []
            pos = 4 + n
            view = memoryview(payload)
            for size in header["blobs"]:
                self._blobs.append(view[pos:pos + size])
                pos += size
        except (struct.error, ValueError, KeyError) as exc:
            raise CorruptionError(f"undecodable commit record: {exc}") from exc

    def table(self, i: int) -> pa.Table:
        return pa.ipc.open_stream(pa.py_buffer(self._blobs[i])).read_all()

    def offsets(self, i: int) -> np.ndarray:
        return np.frombuffer(self._blobs[i], dtype="<u4").astype(np.int64)
