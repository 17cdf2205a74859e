"""A keyless table's bulk load from a stream writes each batch into the open segment as it
arrives (``Transaction._insert_stream``, ``SegmentWriter``). These tests pin what it stores:
the rows and their ids, segment cuts, gathered tiny batches, statistics and checksums that
match the bytes, and a failure part way that leaves nothing behind."""

from __future__ import annotations

import os
import threading

import numpy as np
import pyarrow as pa
import pytest

import engine
from engine import col
from engine.catalog import ROWID
from engine.segment import BATCH_ROWS, SegmentWriter, compute_stats, file_crc


def _table(n: int, start: int = 0) -> pa.Table:
    ids = np.arange(start, start + n, dtype=np.int64)
    return pa.table({"k": pa.array(ids), "s": pa.array([f"v{i % 977:05d}" for i in ids])})


def _reader(t: pa.Table, rows: int) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=rows))


def _segment_files(path) -> list[str]:
    return sorted(os.listdir(os.path.join(str(path), "segments")))


def test_stream_cuts_segments_and_numbers_rows(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"), segment_rows=50_000)
    data = _table(120_000)
    db.create_table("t", data.schema)
    assert db.insert("t", _reader(data, 20_000)) == 120_000
    db.insert("t", _reader(_table(10_000, 120_000), 5_000))
    parts = db.snapshot().data("t").parts
    assert [p.segment.rows for p in parts] == [60_000, 60_000, 10_000]
    for p in parts:
        seg = p.segment
        with pa.memory_map(os.path.join(str(tmp_path / "db"), seg.file)) as mm:
            assert file_crc(mm) == seg.crc
            batches = pa.ipc.open_file(mm).read_all().to_batches()
        assert [(s, n) for s, n, _ in seg.batches] == [
            (sum(b.num_rows for b in batches[:i]), b.num_rows) for i, b in enumerate(batches)]
        for (_, _, st), b in zip(seg.batches, batches, strict=True):
            assert st == compute_stats(b)
    ids = pa.concat_tables(p.segment.table(db.fs, db.root) for p in parts).column(ROWID)
    assert ids.to_pylist() == list(range(130_000))
    db.close()
    db = engine.Database.open(str(tmp_path / "db"))  # reopened: checksums checked
    assert db.scan("t").read_all().column("k").to_pylist() == list(range(130_000))
    db.close()


def test_tiny_batches_are_gathered(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"))
    data = _table(70_000)
    db.create_table("t", data.schema)
    db.insert("t", _reader(data, 300))
    seg = db.snapshot().data("t").parts[0].segment
    assert [n for _, n, _ in seg.batches] == [65_536, 70_000 - 65_536]
    assert db.scan("t").read_all().column("s").to_pylist() == data.column("s").to_pylist()
    db.close()


@pytest.mark.parametrize("batch_rows", [8_192, 50_000, 100_000])
def test_a_clients_batch_size_is_not_the_files(tmp_path, batch_rows):
    """Whatever the client's batch size, the rows are stored in full BATCH_ROWS batches (a
    scan pays per stored batch), the last one excepted; longer batches' remainders too."""
    db = engine.Database.open(str(tmp_path / "db"))
    data = _table(200_000)
    db.create_table("t", data.schema)
    batches = _reader(data, batch_rows).read_all().to_batches() + \
        _reader(_table(BATCH_ROWS), BATCH_ROWS).read_all().to_batches()
    db.insert("t", pa.RecordBatchReader.from_batches(data.schema, batches))
    sizes = [n for p in db.snapshot().data("t").parts for _, n, _ in p.segment.batches]
    assert sum(sizes) == 200_000 + BATCH_ROWS
    assert sizes[:3] == [BATCH_ROWS] * 3  # the first 196,608 rows, gathered
    assert set(sizes[3:]) <= {200_000 - 3 * BATCH_ROWS, BATCH_ROWS}
    got = db.scan("t").read_all().column("k").to_pylist()
    assert got == data.column("k").to_pylist() + list(range(BATCH_ROWS))
    db.close()


def test_a_short_stream_goes_to_the_write_buffer(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"), bulk_rows=4096)
    data = _table(1000)
    db.create_table("t", data.schema)
    db.insert("t", _reader(data, 100))
    assert db.snapshot().data("t").parts == ()
    assert db.scan("t").read_all().column("k").to_pylist() == list(range(1000))
    db.close()


def test_a_bad_batch_undoes_the_statement_and_its_files(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"), segment_rows=30_000)
    schema = pa.schema([pa.field("k", pa.int64(), nullable=False), pa.field("s", pa.string())])
    db.create_table("t", schema)
    good = _table(70_000)  # nullable "k" in the stream; the table refuses its NULL
    bad = pa.table({"k": pa.array([1, None], pa.int64()), "s": ["a", "b"]})
    batches = good.to_batches(max_chunksize=10_000) + bad.to_batches()
    with pytest.raises(engine.errors.ConstraintError):
        db.insert("t", pa.RecordBatchReader.from_batches(bad.schema, batches))
    assert db.snapshot().table("t").row_count == 0
    assert _segment_files(tmp_path / "db") == []
    db.insert("t", _reader(_table(5000), 5000))
    assert db.scan("t").read_all().num_rows == 5000
    db.close()


def test_stream_into_an_indexed_keyless_table(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"), segment_rows=40_000)
    data = _table(100_000)
    db.create_table("t", data.schema)
    with db.begin() as tx:
        tx.create_index("t_s", "t", ["s"])
    db.insert("t", _reader(data, 16_384))
    assert len(db.snapshot().data("t").parts) == 3
    for value in ("v00000", "v00500", "nothing"):
        got = db.scan("t", predicate=col("s") == value).read_all().column("k").to_pylist()
        want = [k for k in range(100_000) if f"v{k % 977:05d}" == value]
        assert sorted(got) == want
    db.close()


def test_segment_bytes_reach_the_file_in_large_writes(tmp_path):
    """The IPC writer's many small buffers (a few per column per batch) are gathered before
    they reach the file, its checksum and the GIL: a write per half megabyte at most (a
    stored batch's int64 column is itself 512 KiB, written as it is)."""
    from engine.fileio import File, FileSystem

    sizes: list[int] = []

    class Counting(File):
        def write(self, data: bytes | memoryview | pa.Buffer) -> int:
            if "segments" in self.path:
                sizes.append(len(memoryview(data)))
            return super().write(data)

    class CountingFS(FileSystem):
        def create(self, path: str) -> File:
            return Counting(path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))

    db = engine.Database.open(str(tmp_path / "db"), fs=CountingFS())
    data = pa.table({f"c{i}": pa.array(np.arange(200_000, dtype=np.int64) * i)
                     for i in range(8)})
    db.create_table("t", data.schema)
    assert db.insert("t", _reader(data, 20_000)) == 200_000
    assert sum(sizes) > 9 * 200_000 * 8  # eight columns and the row ids
    assert len(sizes) <= sum(sizes) // (512 << 10) + 2
    assert min(sizes[:-1]) >= 512 << 10  # none of a batch's small buffers alone
    db.close()
    db = engine.Database.open(str(tmp_path / "db"))  # reopened: the checksum still holds
    assert db.scan("t").read_all().column("c3").to_pylist() == list(range(0, 600_000, 3))
    db.close()


def _syncing_fs(log: list[tuple[str, str]], fail: bool = False):  # noqa: ANN202
    from engine.fileio import File, FileSystem

    class Syncing(File):
        def sync(self) -> None:
            if "segments" in self.path:
                log.append((threading.current_thread().name, self.path))
                if fail and threading.current_thread().name.startswith("kodiak-sync"):
                    raise OSError(5, "injected EIO")
            super().sync()

    class SyncingFS(FileSystem):
        def create(self, path: str) -> File:
            return Syncing(path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))

    return SyncingFS()


def test_segments_are_synced_early_in_the_background_and_at_the_end(tmp_path, monkeypatch):
    """A long segment is fsynced on a worker thread as it grows (the disk writes it while the
    rest arrives), and once more at the end, before anything names it."""
    monkeypatch.setattr(SegmentWriter, "SYNC_STEP", 1 << 20)
    log: list[tuple[str, str]] = []
    db = engine.Database.open(str(tmp_path / "db"), fs=_syncing_fs(log))
    data = pa.table({f"c{i}": pa.array(np.arange(200_000, dtype=np.int64)) for i in range(4)})
    db.create_table("t", data.schema)
    assert db.insert("t", _reader(data, 20_000)) == 200_000
    early = [t for t, _ in log if t.startswith("kodiak-sync")]
    assert early  # one at least (the next starts only once the last has ended)
    assert not log[-1][0].startswith("kodiak-sync")  # the last fsync is the writer's own
    db.close()
    db = engine.Database.open(str(tmp_path / "db"))
    assert db.scan("t").read_all().column("c2").to_pylist() == list(range(200_000))
    db.close()


def test_a_failed_early_sync_fails_the_load_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(SegmentWriter, "SYNC_STEP", 1 << 20)
    db = engine.Database.open(str(tmp_path / "db"), fs=_syncing_fs([], fail=True))
    data = pa.table({f"c{i}": pa.array(np.arange(200_000, dtype=np.int64)) for i in range(4)})
    db.create_table("t", data.schema)
    with pytest.raises(engine.errors.StorageError, match="injected EIO"):
        db.insert("t", _reader(data, 20_000))
    assert _segment_files(tmp_path / "db") == []
    assert db.scan("t").read_all().num_rows == 0
    db.close()
