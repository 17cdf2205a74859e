"""Encoding of a commit's physical operations as one WAL payload.

Two payload forms:

* general: ``u32 header length | JSON header | blobs``; the header lists the operations and
  each blob is an Arrow IPC stream (rows, keys), raw little-endian uint32 offsets, or a row
  group (``rowcodec``), referenced by index. Arrow IPC keeps every column type exact,
  string_view and decimal included.
* compact: ``u32 0xFFFFFFFF | row group | row group …``, for a commit that only put rows in
  the lean encoding (the usual small insert): no JSON, no schema. A general header is never
  that long (the payload limit is 4 GiB - 1 including the 4 length bytes), so the marker
  cannot be mistaken for one.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from .errors import CorruptionError
from .rowcodec import decode_group, encode_group, group_size

_IPC_OPTIONS = pa.ipc.IpcWriteOptions()
COMPACT = 0xFFFFFFFF
_COMPACT_MARK = struct.pack("<I", COMPACT)


class OpLog:
    """Operations collected by one transaction, in order."""

    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []
        self.blobs: list[bytes] = []

    def __len__(self) -> int:
        return len(self.ops)

    def add(self, op: str, **fields: Any) -> None:
        self.ops.append({"k": op, **fields})

    def add_rows(self, table_id: int, tuples: Sequence[tuple], ncols: int,
                 first_rowid: int | None = None) -> None:
        """Rows put into a table's buffer, in the lean row encoding (op ``rows``)."""
        self.blobs.append(encode_group(table_id, tuples, ncols, first_rowid))
        self.ops.append({"k": "rows", "b": len(self.blobs) - 1})

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
        if all(op["k"] == "rows" for op in self.ops):
            # rows ops are numbered in blob order, one blob each: the groups say it all
            return b"".join([_COMPACT_MARK, *self.blobs])
        header = json.dumps({"ops": self.ops, "blobs": [len(b) for b in self.blobs]},
                            separators=(",", ":")).encode()
        return b"".join([struct.pack("<I", len(header)), header, *self.blobs])


def encode_rows_record(table_id: int, tuples: Sequence[tuple], ncols: int,
                       first_rowid: int | None = None,
                       one_row: Callable[[int, tuple], bytes | None] | None = None) -> bytes:
    """The compact payload of a commit that put ``tuples`` into one table and nothing else:
    what ``OpLog.add_rows`` then ``encode`` give, without the OpLog. ``one_row``: the
    table's generated encoder of a single row (``TableDef.row_encoder``), tried first."""
    if one_row is not None and first_rowid is None and len(tuples) == 1:
        group = one_row(table_id, tuples[0])
        if group is not None:
            return _COMPACT_MARK + group
    return _COMPACT_MARK + encode_group(table_id, tuples, ncols, first_rowid)


class DecodedOps:
    def __init__(self, payload: bytes) -> None:
        try:
            (n,) = struct.unpack_from("<I", payload)
            view = memoryview(payload)
            self._blobs: list[memoryview] = []
            if n == COMPACT:
                self.ops: list[dict[str, Any]] = []
                pos = 4
                while pos < len(payload):
                    size = group_size(view, pos)
                    if pos + size > len(payload):
                        raise CorruptionError("row group runs past the end of the record")
                    self.ops.append({"k": "rows", "b": len(self._blobs)})
                    self._blobs.append(view[pos:pos + size])
                    pos += size
                return
            header = json.loads(payload[4:4 + n])
            self.ops = header["ops"]
            pos = 4 + n
            for size in header["blobs"]:
                self._blobs.append(view[pos:pos + size])
                pos += size
        except (struct.error, ValueError, KeyError) as exc:
            raise CorruptionError(f"undecodable commit record: {exc}") from exc

    def table(self, i: int) -> pa.Table:
        return pa.ipc.open_stream(pa.py_buffer(self._blobs[i])).read_all()

    def offsets(self, i: int) -> np.ndarray:
        return np.frombuffer(self._blobs[i], dtype="<u4").astype(np.int64)

    def rows(self, i: int) -> tuple[int, int | None, int, list[tuple]]:
        """(table id, first row id or None, columns, rows) of a row group blob."""
        return decode_group(self._blobs[i])
