"""Immutable Feather (Arrow IPC file) segments and their statistics.

A segment is written once, fsynced, and never modified: deletes are recorded in deletion
vectors, and compaction writes new segments. Files are uncompressed so a reader memory-maps
them and serves the buffers without copying. Each segment carries min/max/null-count
statistics per column, for the whole file and for each record batch, so scans skip files and
batches that cannot match.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import decimal
import os
import struct
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa

from . import checksum
from .errors import CorruptionError
from .fileio import File, FileSystem
from .minmax import min_max
from .rowreader import BatchRows

BATCH_ROWS = 65536  # rows per stored batch: shorter written batches are gathered to it
Stats = dict[str, tuple[Any, Any, int, int]]  # column -> (min, max, null_count, rows)


def _json_value(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, dt.datetime):
        return ["ts", v.isoformat()]
    if isinstance(v, dt.date):
        return ["d", v.isoformat()]
    if isinstance(v, dt.time):
        return ["t", v.isoformat()]
    if isinstance(v, decimal.Decimal):
        return ["dec", str(v)]
    if isinstance(v, bytes):
        return ["b", base64.b64encode(v).decode()]
    raise TypeError


def _from_json_value(v: Any) -> Any:
    if not isinstance(v, list):
        return v
    tag, s = v
    return {
        "ts": dt.datetime.fromisoformat,
        "d": dt.date.fromisoformat,
        "t": dt.time.fromisoformat,
        "dec": decimal.Decimal,
        "b": lambda x: base64.b64decode(x),
    }[tag](s)


def _sortable(t: pa.DataType) -> bool:
    return not (pa.types.is_nested(t) or pa.types.is_dictionary(t) or pa.types.is_null(t)
                or pa.types.is_interval(t))


def compute_stats(batch: pa.RecordBatch | pa.Table) -> Stats:
    stats: Stats = {}
    n = batch.num_rows
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        nulls = column.null_count
        lo = hi = None
        if _sortable(column.type) and nulls < n:
            try:
                lo, hi = min_max(column)
                if isinstance(lo, float) and (lo != lo or hi != hi):  # NaN: unknown
                    lo = hi = None
                _json_value(lo), _json_value(hi)
            except (pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError):
                lo = hi = None
        stats[name] = (lo, hi, nulls, n)
    return stats


_POOLS: dict[str, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _pool(name: str, workers: int) -> ThreadPoolExecutor:
    pool = _POOLS.get(name)
    if pool is None:
        with _POOL_LOCK:
            pool = _POOLS.get(name)
            if pool is None:
                pool = _POOLS[name] = ThreadPoolExecutor(workers,
                                                         thread_name_prefix=f"kodiak-{name}")
    return pool


def stats_pool() -> ThreadPoolExecutor:
    """Worker threads for segment statistics (one per core, created on first use)."""
    return _pool("stats", max(1, min(4, os.cpu_count() or 1)))


def crc_thread() -> ThreadPoolExecutor:
    """One worker thread for segment checksums: one thread, so jobs run in order."""
    return _pool("crc", 1)


def sync_thread() -> ThreadPoolExecutor:
    """One worker thread for the early fsyncs of segments being written."""
    return _pool("sync", 1)


def stats_to_json(stats: Stats) -> dict:
    return {k: [_json_value(lo), _json_value(hi), nulls, rows]
            for k, (lo, hi, nulls, rows) in stats.items()}


def stats_from_json(data: dict) -> Stats:
    return {k: (_from_json_value(v[0]), _from_json_value(v[1]), v[2], v[3])
            for k, v in data.items()}


class Segment:
    """One immutable data file; caches its memory-mapped table, shared by every snapshot."""

    def __init__(self, seg_id: int, file: str, rows: int, stats: Stats,
                 batches: list[tuple[int, int, Stats]], crc: int, size: int) -> None:
        self.id = seg_id
        self.file = file
        self.rows = rows
        self.crc = crc  # of the whole file: checked before pyarrow parses a single byte
        self.size = size
        self.stats = stats
        self.batches = batches  # (start row, rows, stats)
        self._table: pa.Table | None = None
        self.verified = False  # set when this process wrote the bytes and checksummed them
        self._starts: np.ndarray | None = None
        self._starts_py: list[int] | None = None
        self._batches: list[pa.RecordBatch] | None = None
        self._rows: list[BatchRows | None] | None = None
        self._sorted_cols: dict[str, list] | None = None  # find_sorted's batches, per column
        # where a point read's columns are in this segment's rows, per column list
        # (``snapshot._row_picks``); it lives and goes with the segment
        self.picks: dict[int, tuple[Any, Any, list[int] | None]] = {}
        self._lock = threading.Lock()

    def table(self, fs: FileSystem, root: str) -> pa.Table:
        if self._table is None:
            with self._lock:
                if self._table is None:
                    path = os.path.join(root, self.file)
                    try:
                        mm = fs.memory_map(path)
                        if mm.size() != self.size:
                            raise CorruptionError(f"segment {path} is {mm.size()} bytes, "
                                                  f"manifest says {self.size} (offset 0)")
                        if not self.verified and _crc_file(fs, path) != self.crc:
                            raise CorruptionError(f"segment {path} fails its checksum "
                                                  "(offset 0)")
                        reader = pa.ipc.open_file(mm)
                        table = reader.read_all()
                    except (pa.ArrowInvalid, OSError) as exc:
                        raise CorruptionError(f"segment {path} unreadable: {exc}") from exc
                    if table.num_rows != self.rows:
                        raise CorruptionError(
                            f"segment {path} holds {table.num_rows} rows, manifest says "
                            f"{self.rows}")
                    self._table = table
        return self._table

    def row(self, fs: FileSystem, root: str, offset: int) -> pa.RecordBatch:
        """The one-row slice at ``offset``: the point-lookup fast path."""
        if self._batches is None:
            self._batches = self.table(fs, root).to_batches()
            self._starts = np.asarray([b[0] for b in self.batches], dtype=np.int64)
        i = bisect.bisect_right(self._starts_list(), offset) - 1
        return self._batches[i].slice(offset - self.batches[i][0], 1)

    def row_values(self, fs: FileSystem, root: str, offset: int) -> dict[str, Any]:
        """The row at ``offset`` as {physical column: Python value}, for ``Snapshot.get``."""
        if self._batches is None:
            self.row(fs, root, offset)
        i = bisect.bisect_right(self._starts_list(), offset) - 1
        rows = self._rows[i] if self._rows is not None else None
        if rows is None:
            if self._rows is None:
                self._rows = [None] * len(self.batches)
            rows = self._rows[i] = BatchRows(self._batches[i])
        return dict(zip(rows.names, rows.row(offset - self.batches[i][0]), strict=True))

    def find_sorted(self, fs: FileSystem, root: str, column: str,
                    probe: np.ndarray) -> np.ndarray:
        """Offsets of the values of sorted ``probe`` found in ``column``, sorted within the
        segment (a keyless table's row ids): batch by batch over the mapped column, no copy,
        skipping batches whose range holds no probe; a batch of consecutive ids is answered
        by arithmetic."""
        out = []
        for start, ids, lo, hi in self._sorted_chunks(fs, root, column):
            if probe[-1] < lo or probe[0] > hi:
                continue
            inside = probe[(probe >= lo) & (probe <= hi)]
            if hi - lo == len(ids) - 1:  # consecutive ids: position = id - first id
                out.append(inside - lo + start)
                continue
            pos = np.searchsorted(ids, inside)
            ok = pos < len(ids)
            ok[ok] = ids[pos[ok]] == inside[ok]
            out.append(pos[ok] + start)
        return np.concatenate(out) if out else np.empty(0, dtype=np.int64)

    def find_one(self, fs: FileSystem, root: str, column: str, value: int) -> int | None:
        """The offset of ``value`` in sorted ``column`` (a row id), or None: ``find_sorted``
        for one probe in plain integers (a point lookup's row id, no numpy on the way)."""
        for start, ids, lo, hi in self._sorted_chunks(fs, root, column):
            if lo <= value <= hi:
                if hi - lo == len(ids) - 1:
                    return value - lo + start
                pos = int(np.searchsorted(ids, value))
                return pos + start if ids[pos] == value else None
        return None

    def _sorted_chunks(self, fs: FileSystem, root: str, column: str) -> list:
        """(start offset, mapped values, first, last) of each batch of a sorted column."""
        if self._sorted_cols is None:
            self._sorted_cols = {}
        chunks = self._sorted_cols.get(column)
        if chunks is None:
            start = 0
            chunks = []
            for c in self.table(fs, root).column(column).chunks:
                ids = c.to_numpy(zero_copy_only=True)
                if len(ids):
                    chunks.append((start, ids, int(ids[0]), int(ids[-1])))
                start += len(c)
            self._sorted_cols[column] = chunks
        return chunks

    def _starts_list(self) -> list[int]:
        if self._starts_py is None:
            self._starts_py = [b[0] for b in self.batches]
        return self._starts_py

    def take(self, fs: FileSystem, root: str, offsets: np.ndarray,
             columns: list[str]) -> pa.Table:
        """Rows at sorted ``offsets``, taken batch by batch: ``Table.take`` on a table of
        many chunks concatenates them first, which costs more than the whole lookup."""
        table = self.table(fs, root).select(columns)
        if self._starts is None:
            self._starts = np.asarray([b[0] for b in self.batches], dtype=np.int64)
        if len(offsets) == 1:  # a point lookup
            return table.slice(int(offsets[0]), 1)
        if len(offsets) > 1 and offsets[-1] - offsets[0] + 1 == len(offsets) \
                and (np.diff(offsets) == 1).all():
            # contiguous (a key range of a key-sorted segment): one zero-copy slice
            return table.slice(int(offsets[0]), len(offsets))
        which = np.searchsorted(self._starts, offsets, side="right") - 1
        out = []
        for i in np.unique(which):
            start, n, _ = self.batches[i]
            local = offsets[which == i] - start
            batch = table.slice(start, n)
            if len(local) == 1:
                out.append(batch.slice(int(local[0]), 1))
            else:
                out.append(batch.take(pa.array(local)))
        if not out:
            return table.schema.empty_table()
        return pa.concat_tables(out) if len(out) > 1 else out[0]

    def to_json(self) -> dict:
        return {"id": self.id, "file": self.file, "rows": self.rows, "crc": self.crc,
                "size": self.size, "stats": stats_to_json(self.stats),
                "batches": [[s, n, stats_to_json(st)] for s, n, st in self.batches]}

    @classmethod
    def from_json(cls, d: dict) -> Segment:
        return cls(d["id"], d["file"], d["rows"], stats_from_json(d["stats"]),
                   [(s, n, stats_from_json(st)) for s, n, st in d["batches"]],
                   d["crc"], d["size"])


def write_segment(fs: FileSystem, root: str, seg_id: int, table: pa.Table,
                  sync_dir: bool = True) -> Segment:
    """Write ``table`` as a new durable segment file and describe it.

    With ``sync_dir`` False the caller fsyncs the segments directory itself, once for all the
    files it wrote, before anything names them (a transaction does so at commit).
    """
    table = table.combine_chunks() if table.num_rows and _too_fragmented(table) else table
    writer = SegmentWriter(fs, root, seg_id, table.schema)
    try:
        for b in table.to_batches(max_chunksize=BATCH_ROWS):
            writer.write(b)
    except BaseException:
        writer.abort()
        raise
    return writer.finish(sync_dir)


class SegmentWriter:
    """A segment written batch by batch, as the batches arrive (a bulk load streams its
    upload through one, so receiving the next batch overlaps writing this one).

    The IPC writer streams straight into the file (no in-memory copy of the whole segment)
    while the CRC is computed over the same bytes on their way out. Each batch's statistics
    (min/max kernels, which release the GIL) run on worker threads meanwhile, and so, every
    ``SYNC_STEP`` bytes, does an fsync of what is written so far (when the file system
    allows it), so that the disk writes most of the file while the rest arrives. ``finish``
    fsyncs the file (its durability does not rest on the early ones); ``abort`` (on any
    failure) removes it.
    """

    WRITE_SIZE = 1 << 20  # bytes gathered into one write to the file
    SYNC_STEP = 32 << 20  # bytes written between early fsyncs

    def __init__(self, fs: FileSystem, root: str, seg_id: int, schema: pa.Schema) -> None:
        self.fs = fs
        self.seg_id = seg_id
        self.rel = os.path.join("segments", f"{seg_id:010d}.arrow")
        self.path = os.path.join(root, self.rel)
        self.rows = 0
        self._batches: list[tuple[int, int]] = []  # (start row, rows)
        self._pending: list[Future] = []
        self._held: list[pa.RecordBatch] = []
        self._held_rows = 0
        self._names = schema.names
        self._sync: Future | None = None  # the early fsync in flight
        self._synced = 0  # bytes written when the last early fsync started
        self._file = fs.create(self.path)
        self._out = _ChecksummedWriter(self._file)
        try:
            # pyarrow hands the IPC writer's buffers over one by one (a few per column per
            # batch); gathered natively into large writes, each costs one trip through
            # Python (and the GIL) per megabyte rather than per buffer.
            self._sink = pa.BufferedOutputStream(pa.PythonFile(self._out, mode="w"),
                                                 self.WRITE_SIZE)
            self._ipc = pa.ipc.new_file(self._sink, schema)
        except BaseException:
            self.abort()
            raise

    @property
    def held(self) -> int:
        """Rows given to ``write`` but not yet in the file (small batches being gathered)."""
        return self._held_rows

    def write(self, batch: pa.RecordBatch) -> None:
        """Append ``batch`` as ``BATCH_ROWS``-row batches: full pieces of it as they are
        (zero-copy), the rest gathered with its neighbours (a copy). Every scan pays per
        stored batch (statistics, the filter's calls), so a client's batch size must not
        become the file's: a load in 8,192-row batches stored as they came made TPC-H
        through Flight 1.9x slower (docs/performance.md, "A client's batch size")."""
        if self._held_rows:
            need = BATCH_ROWS - self._held_rows
            self._hold(batch.slice(0, need))
            if self._held_rows < BATCH_ROWS:
                return
            self._flush_held()
            batch = batch.slice(need)
        full = batch.num_rows - batch.num_rows % BATCH_ROWS
        for start in range(0, full, BATCH_ROWS):
            self._append(batch if batch.num_rows == BATCH_ROWS
                         else batch.slice(start, BATCH_ROWS))
        if full < batch.num_rows:
            self._hold(batch.slice(full))

    def _hold(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._held.append(batch)
            self._held_rows += batch.num_rows

    def _flush_held(self) -> None:
        """Write the gathered batches (at most ``BATCH_ROWS`` rows) as one."""
        if not self._held:
            return
        held = pa.Table.from_batches(self._held).combine_chunks()
        self._held, self._held_rows = [], 0
        for b in held.to_batches():
            self._append(b)

    def _append(self, b: pa.RecordBatch) -> None:
        self._pending.append(stats_pool().submit(compute_stats, b))
        self._ipc.write_batch(b)
        self._batches.append((self.rows, b.num_rows))
        self.rows += b.num_rows
        if self._out.size - self._synced >= self.SYNC_STEP and self.fs.background_sync \
                and (self._sync is None or self._sync.done()):
            self._wait_sync()  # raises the last early fsync's error, if any
            self._synced = self._out.size
            self._sync = sync_thread().submit(self._file.sync)

    def _wait_sync(self) -> None:
        sync, self._sync = self._sync, None
        if sync is not None:
            sync.result()

    def finish(self, sync_dir: bool = True) -> Segment:
        """Close and fsync the file (and with ``sync_dir`` its directory); describe it."""
        try:
            self._flush_held()
            self._ipc.close()
            self._sink.close()  # its last bytes reach the file (and the CRC)
            crc = self._out.finish()
            self._wait_sync()
            self._file.sync()
            self._file.close()
            batch_stats = [(s, n, fut.result()) for (s, n), fut
                           in zip(self._batches, self._pending, strict=True)]
            if sync_dir:
                self.fs.sync_dir(os.path.dirname(self.path))
        except BaseException:
            self.abort()
            raise
        seg = Segment(self.seg_id, self.rel, self.rows, _merge_stats(batch_stats, self._names),
                      batch_stats, crc, self._out.size)
        seg.verified = True  # these bytes were checksummed as they were written
        return seg

    def abort(self) -> None:
        """Give the file up: close and remove it (the next open removes it otherwise)."""
        for fut in self._pending:
            fut.cancel()
        self._out.dropped = True  # the IPC writer, if still open, writes nowhere
        try:
            self._wait_sync()  # never close the descriptor under a running fsync
        except OSError:
            pass  # the file is given up anyway
        self._file.close()
        try:
            self.fs.remove(self.path)
        except OSError:
            pass  # the next open removes files no manifest or log names


class _ChecksummedWriter:
    """A write-only file object for pyarrow that checksums what it forwards.

    With a fast CRC (``checksum.FAST``) each write is checksummed on the spot. Otherwise
    the CRC runs on a worker thread, over the same buffers in the same order, while this
    thread goes on writing (both release the GIL); the buffers pyarrow hands over are the
    batches' own (immutable) or fresh bytes, so holding them until the CRC is done is safe.
    """

    closed = False
    STEP = 1 << 20  # bytes gathered before a CRC job: fewer, larger jobs

    def __init__(self, f: File) -> None:
        self.f = f
        self.crc = 0
        self.size = 0
        self.dropped = False  # set when the file is given up: later writes go nowhere
        self._gathered: list[memoryview] = []
        self._gathered_bytes = 0
        self._last: Future | None = None

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        if self.dropped:
            return len(view)
        self.f.write(view)
        self.size += len(view)
        if checksum.FAST:
            self.crc = checksum.crc32(view, self.crc)
            return len(view)
        self._gathered.append(view)
        self._gathered_bytes += len(view)
        if self._gathered_bytes >= self.STEP:
            self._submit()
        return len(view)

    def _submit(self) -> None:
        views, self._gathered, self._gathered_bytes = self._gathered, [], 0
        self._last = crc_thread().submit(self._checksum, views)

    def _checksum(self, views: list[memoryview]) -> None:
        crc = self.crc
        for v in views:  # one thread runs the jobs in order: the CRC chains correctly
            crc = checksum.crc32(v, crc)
        self.crc = crc

    def finish(self) -> int:
        """The CRC of everything written (waits for the worker)."""
        if self._gathered:
            self._submit()
        if self._last is not None:
            self._last.result()
            self._last = None
        return self.crc

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        pass


def file_crc(buf: pa.Buffer | pa.MemoryMappedFile) -> int:
    """CRC-32 over a buffer or mapped file, in 64 MiB steps (no whole-file copy)."""
    if isinstance(buf, pa.MemoryMappedFile):
        buf.seek(0)
        data = buf.read_buffer()
    else:
        data = buf
    view = memoryview(data)
    crc = 0
    step = 64 << 20
    for i in range(0, len(view), step):
        crc = checksum.crc32(view[i:i + step], crc)
    return crc


def _crc_file(fs: FileSystem, path: str) -> int:
    """CRC-32 of a file through a mapping of its own, unmapped on return.

    Checked through the segment's cached mapping, every page of the file would stay mapped,
    resident and counted in the process's RSS for as long as the segment is loaded: the
    whole database, once open has verified it.
    """
    mm = fs.memory_map(path)
    try:
        return file_crc(mm)
    finally:
        mm.close()


def _too_fragmented(table: pa.Table) -> bool:
    return any(c.num_chunks > max(1, table.num_rows // 1024) for c in table.columns)


def _merge_stats(batches: list[tuple[int, int, Stats]], names: list[str]) -> Stats:
    out: Stats = {}
    for name in names:
        lo = hi = None
        nulls = rows = 0
        known = True
        for _, n, st in batches:
            blo, bhi, bnulls, _ = st[name]
            nulls += bnulls
            rows += n
            if bnulls == n:
                continue
            if blo is None:
                known = False
                continue
            lo = blo if lo is None or blo < lo else lo
            hi = bhi if hi is None or bhi > hi else hi
        out[name] = (lo, hi, nulls, rows) if known else (None, None, nulls, rows)
    return out


# -- deletion vectors ---------------------------------------------------------------------

DV_HEADER = struct.Struct("<8sII")  # magic, crc32 of the offsets, count
DV_MAGIC = b"KDKDEL01"


class DeletionVector:
    """The deleted row offsets of one segment; immutable, so snapshots share it safely.

    Small deletes append a chunk; chunks merge once there are many, so a run of single-row
    deletes costs amortised O(chunk) copying rather than O(deleted rows) each.
    """

    __slots__ = ("_chunks", "_merged", "_mask", "file", "base_file")

    def __init__(self, chunks: tuple[np.ndarray, ...] = (), file: str | None = None,
                 base_file: str | None = None) -> None:
        self._chunks = chunks
        self._merged: np.ndarray | None = chunks[0] if len(chunks) == 1 else None
        self._mask: np.ndarray | None = None
        self.file = file  # persisted copy, if this exact vector is on disk
        self.base_file = base_file  # the persisted vector this one grew from, if any

    def __len__(self) -> int:
        return int(self.offsets().size)

    def offsets(self) -> np.ndarray:
        if self._merged is None:
            self._merged = (np.unique(np.concatenate(self._chunks)) if self._chunks
                            else np.empty(0, np.uint32))
        return self._merged

    def add(self, offsets: np.ndarray) -> DeletionVector:
        chunk = np.asarray(offsets, dtype=np.uint32)
        if chunk.size == 0:
            return self
        chunks = (*self._chunks, chunk)
        if len(chunks) > 32:
            chunks = (np.unique(np.concatenate(chunks)),)
        return DeletionVector(chunks, None, self.file or self.base_file)

    def live_mask(self, rows: int) -> np.ndarray | None:
        """Boolean array, True where the row is live; None when nothing is deleted."""
        if not self._chunks:
            return None
        if self._mask is None:
            mask = np.ones(rows, dtype=bool)
            mask[self.offsets()] = False
            self._mask = mask
        return self._mask

    def write(self, fs: FileSystem, root: str, rel: str) -> DeletionVector:
        data = self.offsets().astype("<u4").tobytes()
        header = DV_HEADER.pack(DV_MAGIC, zlib.crc32(data), len(data) // 4)
        fs.write_durable(os.path.join(root, rel), header + data)
        dv = DeletionVector((self.offsets(),), rel)
        return dv

    @classmethod
    def read(cls, fs: FileSystem, root: str, rel: str) -> DeletionVector:
        path = os.path.join(root, rel)
        try:
            raw = fs.read_bytes(path)
        except OSError as exc:
            raise CorruptionError(f"deletion vector {path} unreadable: {exc}") from exc
        if len(raw) < DV_HEADER.size:
            raise CorruptionError(f"deletion vector {path} truncated (offset 0)")
        magic, crc, count = DV_HEADER.unpack_from(raw)
        data = raw[DV_HEADER.size:]
        if magic != DV_MAGIC or len(data) != count * 4 or zlib.crc32(data) != crc:
            raise CorruptionError(f"deletion vector {path} fails its checksum (offset 0)")
        return cls((np.frombuffer(data, dtype="<u4").astype(np.uint32),), rel)
