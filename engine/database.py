"""The database handle: opening and recovery, commit, checkpoint, compaction, file lifetimes.

On-disk layout of a data directory::

    LOCK                 held (flock) by the one process that has the database open
    MANIFEST             the live set: catalog, segments, deletion vectors, checkpoint LSN,
                         versions (format and upgrades: ``manifest``)
    segments/*.arrow     immutable Feather v2 files, uncompressed (memory-mapped)
    deletes/*.del        immutable deletion vectors (uint32 row offsets + CRC)
    wal/*.log            commits since the checkpoint

Open = read MANIFEST → rebuild indexes from the segments → replay WAL records newer than the
checkpoint LSN → remove files nothing references (segments of transactions that never
committed). Checkpoint = write the write buffers as sorted segments and pending deletion
vectors as files → install a new MANIFEST atomically → start a new WAL file and delete the
old ones.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .apply import Applier
from .betree import BeTree
from .btree import BPlusTree
from .catalog import Catalog
from .errors import (
    ConflictError,
    CorruptionError,
    DatabaseClosed,
    KodiakError,
    StorageError,
)
from .fileio import FileSystem
from .manifest import Manifest, ManifestInstalled, read_manifest, write_manifest
from .oplog import OpLog, encode_rows_record
from .segment import Segment, write_segment
from .shaping import small_rows
from .snapshot import Snapshot, State, to_physical
from .stats import EngineStats
from .table import OFFSET_BITS, Part, TableData, key_columns, keys_of
from .transaction import Transaction
from .wal import WriteAheadLog

log = logging.getLogger("kodiak.engine")

SMALL_CHECK_EVERY = 16
_new_tuple = tuple.__new__


class Database:
    """An open data directory. Thread-safe: one writer at a time, any number of readers."""

    def __init__(self, root: str, fs: FileSystem, *, checkpoint_rows: int,
                 wal_limit: int, bulk_rows: int, segment_rows: int,
                 compact_below: int, compact_after: int = 16) -> None:
        self.root = root
        self.fs = fs
        self.checkpoint_rows = checkpoint_rows
        self.wal_limit = wal_limit
        self.bulk_rows = bulk_rows
        self.segment_rows = segment_rows
        self.compact_below = compact_below
        # a table that gained this many segments under ``compact_below`` rows since its last
        # compaction is compacted by the next commit's checkpoint: every scan pays per
        # segment, and a pipeline appending a few thousand rows at a time would otherwise
        # make one segment per append
        if compact_after < 1:
            raise ValueError("compact_after must be at least 1")
        self.compact_after = compact_after
        self._small_parts: dict[int, tuple[tuple, int]] = {}  # table id -> (parts, count)
        # small segments each table kept after its last compaction (a configuration whose
        # merged segments are still small must not compact again at every commit)
        self._small_after: dict[int, int] = {}
        self.recovery_warnings: list[str] = []
        self.stats = EngineStats()  # commits, WAL fsyncs, checkpoints: totals and observers
        self.lock_timeout: float | None = 30.0
        self._writer = threading.Lock()
        self._publish = threading.Lock()
        self._live: weakref.WeakSet[Snapshot] = weakref.WeakSet()
        self._obsolete: list[tuple[str, int]] = []  # (file, first version without it)
        # Files a commit stopped using; the manifest still names them until the next
        # checkpoint, so they may not be deleted before then.
        self._unreferenced: list[str] = []
        self._seg_id = 1
        self._lockfile: int | None = None
        self._closed = False
        self._state: State
        self._latest: State
        self.wal: WriteAheadLog

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str, *, fs: FileSystem | None = None, recovery: str = "strict",
             checkpoint_rows: int = 200_000, wal_limit: int = 64 << 20,
             bulk_rows: int = 4096, segment_rows: int = 1 << 20,
             compact_below: int = 65536, compact_after: int = 16,
             lock_timeout: float | None = 30.0) -> Database:
        """Open (creating if needed) the data directory at ``path`` and recover it.

        ``recovery="strict"`` refuses to open when an acknowledged commit is damaged;
        ``"point_in_time"`` keeps the valid prefix of the log and drops the rest, loudly.
        ``lock_timeout`` is how long an autocommitted write (``db.insert`` …) waits for the
        writer lock before raising ConflictError; None waits forever. A table that reaches
        ``compact_after`` segments under ``compact_below`` rows is compacted by the next
        commit's checkpoint.
        """
        db = cls(os.path.abspath(path), fs or FileSystem(), checkpoint_rows=checkpoint_rows,
                 wal_limit=wal_limit, bulk_rows=bulk_rows, segment_rows=segment_rows,
                 compact_below=compact_below, compact_after=compact_after)
        db.lock_timeout = lock_timeout
        db._open(recovery)
        return db

    def _open(self, recovery: str) -> None:
        fs = self.fs
        for d in (self.root, self._p("segments"), self._p("deletes"), self._p("wal")):
            fs.makedirs_durable(d)
        self._lock_dir()
        try:
            m, tables = self._read_manifest()
            lsn = m.checkpoint_lsn if m else 0
            self._seg_id = m.next_segment_id if m else 1
            rec = WriteAheadLog.recover(fs, self._p("wal"), lsn, recovery)
            self.recovery_warnings = rec.truncated
            ap = Applier(m.catalog if m else Catalog(), tables, fs, self.root,
                         m.catalog_version if m else 0,
                         {tid: t.data_version for tid, t in m.tables.items()} if m else {})
            for rec_lsn, payload in rec.records:
                try:
                    ap.replay(payload)
                except CorruptionError as exc:
                    raise CorruptionError(f"write-ahead log record {rec_lsn}: {exc}") from exc
                ap.settle(rec_lsn)
            self._seg_id = max(self._seg_id, ap.max_segment_id + 1)
            state = State(ap.catalog, ap.tables, rec.last_lsn, 1, ap.catalog_version,
                          ap.data_versions)
            self._state = self._latest = state
            # Segments that log records adopt must outlive the log: the next open replays
            # those records again. So must the files the manifest on disk names (a table the
            # log dropped is still in it): until a checkpoint installs a manifest without
            # them, the next open loads them. Unused ones go after the next checkpoint.
            live = _files_of(state.tables)
            kept = ap.adopted | _files_of(tables)
            self._unreferenced = sorted(kept - live)
            self._remove_orphans(live | kept)
            self.wal = WriteAheadLog(fs, self._p("wal"), rec.last_lsn + 1)
            self.wal.on_sync = self._on_wal_sync
        except BaseException:
            self._unlock_dir()
            raise

    def _p(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def _lock_dir(self) -> None:
        fd = os.open(self._p("LOCK"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StorageError(
                f"data directory {self.root} is in use by another process") from None
        self._lockfile = fd

    def _unlock_dir(self) -> None:
        if self._lockfile is not None:
            os.close(self._lockfile)
            self._lockfile = None

    def _read_manifest(self) -> tuple[Manifest | None, dict[int, TableData]]:
        """The manifest (None for a new directory) and its tables with their indexes
        rebuilt; reads only, changes nothing (``check()`` calls it on a live handle)."""
        m = read_manifest(self.fs, self.root)
        if m is None:
            return None, {}
        tables: dict[int, TableData] = {}
        for tid, t in m.tables.items():
            tdef = m.catalog.tables[tid]
            data = TableData(tdef, t.parts, BeTree.empty(), 0, None, {}, t.next_rowid)
            tables[tid] = self._with_indexes(data)
        return m, tables

    def _with_indexes(self, data: TableData) -> TableData:
        """Rebuild a table's B+ trees from its segments (indexes are not persisted)."""
        loaded = [(p, p.segment.table(self.fs, self.root)) for p in data.parts]
        pk = None
        if data.tdef.primary_key:
            kc = key_columns(data.tdef)
            key_tables = []
            locs = []
            for p, t in loaded:
                kt = t.select(kc)
                offsets = np.arange(p.segment.rows, dtype=np.int64)
                mask = p.deletes.live_mask(p.segment.rows)
                if mask is not None:
                    kt = kt.filter(pa.array(mask))
                    offsets = offsets[mask]
                key_tables.append(kt)
                locs.append((p.segment.id << OFFSET_BITS) + offsets)
            if key_tables:
                keys_t = pa.concat_tables(key_tables)
                order = pc.sort_indices(keys_t, sort_keys=[(c, "ascending") for c in kc])
                all_locs = np.concatenate(locs)[order.to_numpy()]
                pk = BPlusTree.bulk_load(keys_of(data.tdef, keys_t.take(order)),
                                         all_locs.tolist())
            else:
                pk = BPlusTree.empty()
        data = data.replace(pk_tree=pk)
        sec = {ix.name: data.build_index(ix, loaded) for ix in data.tdef.indexes}
        return data.replace(secondary=sec)

    def _remove_orphans(self, live: set[str]) -> None:
        for d in ("segments", "deletes"):
            for name in self.fs.listdir(self._p(d)):
                rel = os.path.join(d, name)
                if rel not in live:
                    self._remove_quietly(rel)

    # -- reading ------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        self._check_open()
        return self._register(Snapshot(self._state, self.fs, self.root))

    def _register(self, snap: Snapshot) -> Snapshot:
        self._live.add(snap)
        return snap

    def scan(self, name: str, *args: Any, **kw: Any) -> pa.RecordBatchReader:
        return self.snapshot().scan(name, *args, **kw)

    def lookup(self, name: str, keys: pa.Table, columns: list[str] | None = None) -> pa.Table:
        return self.snapshot().lookup(name, keys, columns)

    # -- writing ------------------------------------------------------------------------

    def begin(self, timeout: float | None = 5.0) -> Transaction:
        """Start the one write transaction; wait up to ``timeout`` s for the writer lock."""
        self._check_open()
        ok = self._writer.acquire(timeout=-1 if timeout is None else timeout)
        if not ok:
            raise ConflictError(f"another transaction is writing; gave up after {timeout} s")
        if self._closed:
            self._writer.release()
            raise DatabaseClosed("database is closed")
        return Transaction(self, self._latest, self._writer)

    def _auto(self, method: str, *args: Any, **kw: Any) -> Any:
        with self.begin(self.lock_timeout) as tx:
            return getattr(tx, method)(*args, **kw)

    def insert(self, name: str, data: Any) -> int:
        """Autocommitted ``Transaction.insert``: an Arrow table, batch or reader, or a list
        of Python row tuples in column order.

        A few rows already in the table's shape (the single-row commit) skip the
        Transaction object: same checks, same buffer primitive, one compact WAL record.
        """
        if self._closed:
            raise DatabaseClosed("database is closed")
        timeout = self.lock_timeout
        if not self._writer.acquire(timeout=-1 if timeout is None else timeout):
            raise ConflictError(f"another transaction is writing; gave up after {timeout} s")
        try:
            if self._closed:
                raise DatabaseClosed("database is closed")
            base = self._latest
            td = base.catalog.find(name)
            tuples = small_rows(td, data) if td is not None else None
        except BaseException:
            self._writer.release()
            raise
        if tuples is None:  # the general path, with the writer lock already held
            with Transaction(self, base, self._writer) as tx:
                return tx.insert(name, data)
        try:
            if not tuples:
                return 0
            assert td is not None
            new, first = base.tables[td.id].insert_tuples(tuples)
            lsn = self.wal.append(encode_rows_record(td.id, tuples, len(td.columns), first,
                                                     td.row_encoder))
            tables = dict(base.tables)
            tables[td.id] = new
            versions = dict(base.data_versions)
            versions[td.id] = lsn
            # State(...) would do the same; its generated __new__ costs 0.2 µs more
            state = _new_tuple(State, (base.catalog, tables, lsn, base.version + 1,
                                       base.catalog_version, versions))
            self._latest = state
        finally:
            self._writer.release()
        # A commit of at most LEAN_ROWS rows sums the tables' buffers for the checkpoint
        # threshold every SMALL_CHECK_EVERY commits (the sum costs about 1 µs of its 14):
        # they can overshoot it by at most that many small commits.
        self._make_durable(lsn, state, count_buffers=not state.version % SMALL_CHECK_EVERY)
        return len(tuples)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name in _AUTOCOMMIT:
            return lambda *a, **k: self._auto(name, *a, **k)
        raise AttributeError(name)

    def _next_segment_id(self) -> int:
        sid = self._seg_id
        self._seg_id += 1
        return sid

    def _commit(self, tx: Transaction, work: Applier, ops: OpLog,
                dropped: list[str]) -> None:
        """Called by Transaction.commit while it holds the writer lock (released here)."""
        try:
            if not len(ops):
                return
            lsn = self.wal.append(ops.encode())
            tx.logged = True
            work.settle(lsn)
            state = State(work.catalog, work.tables, lsn, self._latest.version + 1,
                          work.catalog_version, work.data_versions)
            self._latest = state
            self._unreferenced.extend(dropped)
        finally:
            self._writer.release()
        self._make_durable(lsn, state)

    def _on_wal_sync(self, seconds: float) -> None:
        self.stats.record("wal_fsync", seconds)

    def _make_durable(self, lsn: int, state: State, count_buffers: bool = True) -> None:
        """After appending commit ``lsn`` (lock released): fsync, publish ``state``, then
        checkpoint if the log (or, if ``count_buffers``, the buffers) passed its limit."""
        started = time.perf_counter()
        self.wal.sync(lsn)
        self._publish_state(state)
        self.stats.record("commit", time.perf_counter() - started)
        try:
            self._maybe_checkpoint(count_buffers)
        except KodiakError as exc:  # the commit is durable; the checkpoint can wait (or, if
            # the log could not be restarted, the next write reports the handle as closed)
            log.warning("automatic checkpoint failed, will retry later: %s", exc)

    def _publish_state(self, state: State) -> None:
        with self._publish:
            if state.version > self._state.version:
                self._state = state
        if self._obsolete:
            self._collect()

    def _maybe_checkpoint(self, count_buffers: bool = True) -> None:
        compact = self._fragmented()
        if compact or self.wal.size >= self.wal_limit or (count_buffers and sum(
                [d.buffered_messages for d in self._latest.tables.values()]
                ) >= self.checkpoint_rows):
            try:
                self.checkpoint(timeout=0, compact=compact)
            except ConflictError:
                pass  # another writer is busy; a later commit will checkpoint

    def _fragmented(self) -> bool:
        """Whether a table has gained ``compact_after`` small segments since its last
        compaction."""
        return any(self._small(tid, data) - self._small_after.get(tid, 0) >= self.compact_after
                   for tid, data in self._latest.tables.items())

    def _small(self, tid: int, data: TableData) -> int:
        """The table's segments under ``compact_below`` rows, counted once per parts tuple
        (a commit that added no segment costs a lookup per table)."""
        known = self._small_parts.get(tid)
        if known is None or known[0] is not data.parts:
            known = (data.parts, sum(p.segment.rows < self.compact_below for p in data.parts))
            self._small_parts[tid] = known
        return known[1]

    # -- checkpoint and compaction ------------------------------------------------------

    def checkpoint(self, timeout: float | None = 5.0, compact: bool = False) -> None:
        """Move write buffers into segments, persist deletion vectors, install a manifest,
        and cut the WAL. With ``compact``, also merge small segments and drop deleted rows."""
        self._check_open()
        if not self._writer.acquire(timeout=-1 if timeout is None else timeout):
            raise ConflictError("checkpoint waits for the writer lock")
        started = time.perf_counter()
        try:
            state = self._latest
            self.wal.sync(state.lsn)
            new_files: list[str] = []
            obsolete: list[str] = []
            tables = {}
            try:
                for tid, data in state.tables.items():
                    data = self._flush_buffer(data, new_files)
                    if compact:
                        data = self._compact(data, new_files, obsolete)
                    tables[tid] = self._persist_deletes(data, state.version + 1, new_files,
                                                        obsolete)
                self._write_manifest(state, tables)
            except ManifestInstalled as exc:
                # The new manifest is in place but perhaps not durable: either manifest is
                # consistent with the WAL, so keep every file both name and carry on with the
                # old state; the next checkpoint writes a manifest that supersedes this one.
                self._unreferenced.extend(new_files)
                raise StorageError(f"checkpoint could not make its manifest durable: "
                                   f"{exc.__cause__}") from exc
            except BaseException as exc:
                for f in new_files:
                    self._remove_quietly(f)
                if isinstance(exc, OSError):
                    raise StorageError(f"checkpoint failed, nothing changed: {exc}") from exc
                raise
            old_wal = self.wal.rotate()
            for path in old_wal:
                self._remove_quietly(os.path.relpath(path, self.root))
            new_state = state._replace(tables=tables, version=state.version + 1)
            self._latest = new_state
            for f in obsolete + self._unreferenced:
                self._obsolete.append((f, new_state.version))
            self._unreferenced = []
            self._publish_state(new_state)
            if compact:
                self._small_after = {tid: self._small(tid, data) for tid, data in tables.items()}
        finally:
            self._writer.release()
        self.stats.record("checkpoint", time.perf_counter() - started)

    def _flush_buffer(self, data: TableData, new_files: list[str]) -> TableData:
        bt = data.buffer_table
        if bt.num_rows == 0:
            return data.replace(buffer_tree=BeTree.empty(), buffer_rows=0)
        seg = write_segment(self.fs, self.root, self._next_segment_id(), bt)
        new_files.append(seg.file)
        data = data.replace(buffer_tree=BeTree.empty(), buffer_rows=0)
        return _relocate(data, seg, bt, (*data.parts, Part(seg)))

    def _compact(self, data: TableData, new_files: list[str], obsolete: list[str]) -> TableData:
        """Merge the small segments (and those mostly deleted) into segments of up to
        ``segment_rows`` rows, their deleted rows dropped."""
        small = [p for p in data.parts
                 if p.segment.rows < self.compact_below or len(p.deletes) * 5 > p.segment.rows]
        if len(small) < 2 and not any(len(p.deletes) for p in small):
            return data
        parts = [p for p in data.parts if p not in small]
        for group in self._groups(small):
            merged = self._merged(data, group, obsolete)
            if merged.num_rows:
                seg = write_segment(self.fs, self.root, self._next_segment_id(), merged)
                new_files.append(seg.file)
                parts.append(Part(seg))
                data = _relocate(data, seg, merged, tuple(parts))
        return data.replace(parts=tuple(parts))

    def _groups(self, parts: list[Part]) -> Iterator[list[Part]]:
        """``parts`` in runs of at most ``segment_rows`` live rows (one part if larger), so
        that compacting many small segments never builds one huge table in memory."""
        group: list[Part] = []
        rows = 0
        for p in parts:
            if group and rows + p.live_rows > self.segment_rows:
                yield group
                group, rows = [], 0
            group.append(p)
            rows += p.live_rows
        if group:
            yield group

    def _merged(self, data: TableData, group: list[Part], obsolete: list[str]) -> pa.Table:
        """The live rows of ``group``'s segments as one table in key order; their files are
        marked obsolete."""
        tables = []
        for p in group:
            t = p.segment.table(self.fs, self.root)
            mask = p.deletes.live_mask(p.segment.rows)
            tables.append(t.filter(pa.array(mask)) if mask is not None else t)
            obsolete.append(p.segment.file)
            if p.deletes.file or p.deletes.base_file:
                obsolete.append(p.deletes.file or p.deletes.base_file)
        schema = data.tdef.physical_schema
        merged = pa.concat_tables([to_physical(t, data.tdef, schema.names).cast(schema)
                                   for t in tables])
        return merged.sort_by([(c, "ascending") for c in key_columns(data.tdef)])

    def _persist_deletes(self, data: TableData, version: int, new_files: list[str],
                         obsolete: list[str]) -> TableData:
        parts = []
        for p in data.parts:
            if p.live_rows == 0:
                obsolete.append(p.segment.file)
                if p.deletes.file or p.deletes.base_file:
                    obsolete.append(p.deletes.file or p.deletes.base_file)
                continue
            if len(p.deletes) and p.deletes.file is None:
                # Named from the persisted file counter: versions restart at every open.
                rel = os.path.join("deletes",
                                   f"{p.segment.id:010d}-{self._next_segment_id():010d}.del")
                old = p.deletes.base_file
                dv = p.deletes.write(self.fs, self.root, rel)
                new_files.append(rel)
                if old:
                    obsolete.append(old)
                p = Part(p.segment, dv)
            parts.append(p)
        return data.replace(parts=tuple(parts))

    def _write_manifest(self, state: State, tables: dict[int, TableData]) -> None:
        """Install the manifest of ``state`` with ``tables`` (its tables as checkpointed)."""
        write_manifest(self.fs, self.root, catalog=state.catalog, tables=tables,
                       lsn=state.lsn, next_segment_id=self._seg_id,
                       catalog_version=state.catalog_version,
                       data_versions=state.data_versions)

    def compact(self) -> None:
        self.checkpoint(compact=True)

    def backup(self, dest: str) -> dict:
        """A consistent copy of the committed state, taken while writers continue."""
        from .backup import backup

        self._check_open()
        return backup(self, dest)

    # -- file lifetimes -----------------------------------------------------------------

    def _collect(self) -> None:
        """Delete obsolete files that no open snapshot can still read."""
        if not self._obsolete:
            return
        versions = [s.state.version for s in list(self._live)]
        oldest = min(versions) if versions else None
        keep = []
        for f, v in self._obsolete:
            if oldest is not None and oldest < v:
                keep.append((f, v))
            else:
                self._remove_quietly(f)
        self._obsolete = keep

    def _remove_quietly(self, rel: str) -> None:
        try:
            self.fs.remove(self._p(rel))
        except FileNotFoundError:
            pass
        except OSError as exc:  # a leftover file is harmless: the next open removes it
            log.warning("could not remove %s: %s", rel, exc)

    # -- integrity and shutdown ---------------------------------------------------------

    def check(self) -> list[str]:
        """Verify checksums, the manifest, every segment and that indexes agree with data.

        Returns the problems found; an empty list means the database is consistent.
        """
        from .integrity import check_database

        return check_database(self)

    def close(self) -> None:
        if self._closed:
            return
        with self._writer:
            self._closed = True
            self.wal.close()
            self._unlock_dir()

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosed("database is closed")

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _files_of(tables: dict[int, TableData]) -> set[str]:
    """Every file these tables read, including persisted deletion vectors they have grown
    past (the manifest still names those)."""
    live = set()
    for data in tables.values():
        for p in data.parts:
            live.add(p.segment.file)
            live.update(f for f in (p.deletes.file, p.deletes.base_file) if f)
    return live


_AUTOCOMMIT = {
    "create_schema", "drop_schema", "create_object", "drop_object", "create_table", "drop_table", "rename_table", "add_column",
    "drop_column", "rename_column", "create_index", "drop_index", "upsert",
    "delete", "update", "replace", "insert_rows", "update_rows", "delete_rows",
}


def _relocate(data: TableData, seg: Segment, table: pa.Table,
              parts: tuple[Part, ...]) -> TableData:
    """Point the primary-key index at rows that moved into ``seg``."""
    if data.pk is None:
        return data.replace(parts=parts)
    keys = keys_of(data.tdef, table)
    base = seg.id << OFFSET_BITS
    if len(keys) * 8 < len(data.pk):
        pk = data.pk.update_many(puts=list(zip(keys, range(base, base + len(keys)),
                                              strict=True)))
    else:  # most keys move: rebuild rather than touch every leaf
        moved = dict(zip(keys, range(base, base + len(keys)), strict=True))
        items = [(k, moved.get(k, v)) for k, v in data.pk.items()]
        pk = BPlusTree.bulk_load([k for k, _ in items], [v for _, v in items])
    return data.replace(parts=parts, pk_tree=pk)

