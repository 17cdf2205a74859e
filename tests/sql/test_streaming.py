"""Queries stream their scans: several per plan, and without pinning segment pages.

A group-by over a multi-segment table leaves no segment pages mapped behind it.

Segments are memory-mapped. A scan used to read them through each segment's cached mapping,
so every page it touched stayed mapped — resident, counted in the process's RSS — for as
long as the segment lived: a group-by over SF10 lineitem held 4 GiB of column pages while
its plan needed 260 MiB (``python -m bench groupby_sf10``). Large segments are now scanned
through a mapping of the scan's own, unmapped when the scan is done
(``engine.snapshot._scan_view``).

Measured with ``RssFile`` (resident file-backed pages of this process), Linux only.
"""

from __future__ import annotations

import gc
import sys

import numpy as np
import pyarrow as pa
import pytest

import engine
import engine.snapshot as snapshot
from kodiak_flight.sql import Session

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads RssFile from /proc/self/status")

ROWS = 1 << 21  # two segments of 1M rows (default segment_rows)
SEGMENT_MIB = 24  # k, v and the hidden row id: 8 bytes each per row
SQL = "select k, sum(v) as s, count(*) as n from t group by k"


def _rss_file_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssFile:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no RssFile in /proc/self/status")


def _pinned_by_group_by(session: Session) -> float:
    """RssFile growth left behind by one group-by over all of ``t``, result checked."""
    gc.collect()
    before = _rss_file_mib()
    reader = session.execute(SQL).reader
    out = reader.read_all()
    assert out.num_rows == 1000
    assert pa.compute.sum(out.column("n")).as_py() == ROWS
    assert pa.compute.sum(out.column("s")).as_py() == ROWS * (ROWS - 1) // 2
    del reader, out
    gc.collect()
    return _rss_file_mib() - before


def test_group_by_scan_unmaps_segments(tmp_path, monkeypatch):
    db = engine.Database.open(str(tmp_path / "db"))
    session = Session(db)
    try:
        i = np.arange(ROWS, dtype=np.int64)
        with db.begin() as tx:
            tx.create_table("t", pa.schema([("k", pa.int64()), ("v", pa.int64())]))
            tx.insert("t", pa.table({"k": i % 1000, "v": i}))
        segments = db.snapshot().data("t").parts
        assert len(segments) == 2 and all(p.segment.size > (16 << 20) for p in segments)

        # segments above the threshold: read through the scan's own mappings
        monkeypatch.setattr(snapshot, "SCAN_OWN_MAP_BYTES", 1 << 20)
        monkeypatch.setattr(snapshot, "SCAN_OWN_MAP_TABLE_BYTES", 1 << 20)
        pinned = _pinned_by_group_by(session)
        assert pinned < SEGMENT_MIB / 3, f"the group-by left {pinned:.0f} MiB of segments mapped"

        # a table below the table threshold is read through the cached mappings, and the
        # measurement sees the pinning: the k and v columns of both segments (32 MiB) stay
        monkeypatch.setattr(snapshot, "SCAN_OWN_MAP_TABLE_BYTES", 1 << 62)
        assert _pinned_by_group_by(session) > SEGMENT_MIB
    finally:
        session.close()
        db.close()


def test_plans_with_several_scans_stream_them(tmp_path):
    """Joins pull both engine readers from Acero's threads, write buffers included (this once
    crashed the interpreter, so the plan ran in a child process)."""
    import subprocess
    script = f"""
import pyarrow as pa, engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.executor import core, scan
db = engine.Database.open({str(tmp_path / 'db')!r})
s = Session(db)
s.execute("create table a (k bigint primary key, v bigint)")
s.execute("create table b (k bigint, w bigint)")
db.insert("a", pa.table({{"k": list(range(20000)), "v": list(range(20000))}}))
db.insert("b", pa.table({{"k": [i % 20000 for i in range(50000)], "w": [1] * 50000}}))
for i in range(50):  # rows in the write buffers of both tables
    s.execute(f"insert into a values ({{20000 + i}}, 1)")
    s.execute(f"insert into b values ({{20000 + i}}, 2)")
reads = []
real = scan.source_reader
# a scan stored as declared reaches Acero through the executor's as_decl, others directly
scan.source_reader = core.source_reader = lambda r: reads.append(r) or real(r)
for _ in range(20):
    t = s.execute("select count(*) as n, sum(a.v) as sv, sum(b.w) as sw from a join b "
                  "on a.k = b.k where b.w > 0").reader.read_all()
    sv = 3 * sum(range(10000)) + 2 * sum(range(10000, 20000)) + 50
    assert t.to_pylist() == [{{"n": 50050, "sv": sv, "sw": 50100}}], t
    assert len(reads) % 2 == 0 and reads, len(reads)
print("ok", len(reads))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.startswith("ok 40"), done.stderr[-3000:]


def test_a_key_range_larger_than_expected_still_streams_whole(session, monkeypatch):
    """A range the optimiser thinks small is read ahead in the caller's thread; when it
    turns out big, the rows read so far and the rest continue as a stream."""
    from kodiak_flight.sql.executor import scan
    n = 50_000
    session.execute("create table r (id bigint primary key, v bigint)")
    session.db.insert("r", pa.table({"id": pa.array(np.arange(n), pa.int64()),
                                     "v": pa.array(np.arange(n) % 7, pa.int64())}))
    seen = []
    real = scan.few_rows
    monkeypatch.setattr(scan, "few_rows", lambda node: seen.append(1) or True)
    got = session.execute("select count(*) as c, sum(v) as s from r where id >= 10 and id < 45000"
                          ).reader.read_all().to_pylist()
    assert seen and got == [{"c": 44_990, "s": int((np.arange(10, 45000) % 7).sum())}]
    monkeypatch.setattr(scan, "few_rows", real)
    assert session.execute("select count(*) as c from r where id >= 10 and id < 20"
                           ).reader.read_all().to_pylist() == [{"c": 10}]


class _CountingFS(engine.FileSystem):
    """Counts how segment files are mapped: pyarrow's mapped file or a plain buffer."""

    def __init__(self) -> None:
        self.mapped_files: list[str] = []
        self.buffers: list[str] = []

    def memory_map(self, path: str) -> pa.MemoryMappedFile:
        self.mapped_files.append(path)
        return super().memory_map(path)

    def map_buffer(self, path: str) -> pa.Buffer:
        self.buffers.append(path)
        return super().map_buffer(path)


def test_own_mapped_scans_read_through_a_plain_buffer(tmp_path, monkeypatch):
    """A scan's own mapping is a buffer, not pyarrow's ``MemoryMappedFile``: the IPC reader
    advises ``WILLNEED`` over every range it reads from a mapped file, which made each scan
    of SF10 lineitem walk (or read from disk) all its columns' pages for the few it used.
    Only the segment's cached mapping, opened once, goes through ``memory_map``."""
    fs = _CountingFS()
    db = engine.Database.open(str(tmp_path / "db"), fs=fs, segment_rows=1 << 16)
    session = Session(db)
    try:
        n = 3 << 16
        i = np.arange(n, dtype=np.int64)
        with db.begin() as tx:
            tx.create_table("t", pa.schema([("k", pa.int64()), ("v", pa.int64())]))
            tx.insert("t", pa.table({"k": i % 10, "v": i}))
        assert len(db.snapshot().data("t").parts) == 3
        monkeypatch.setattr(snapshot, "SCAN_OWN_MAP_BYTES", 1)
        monkeypatch.setattr(snapshot, "SCAN_OWN_MAP_TABLE_BYTES", 1)
        fs.mapped_files.clear()
        for _ in range(3):
            out = session.execute("select sum(v) as s from t where k < 5").reader.read_all()
            assert out.to_pylist() == [{"s": int(i[i % 10 < 5].sum())}]
        assert len(fs.buffers) >= 9  # three queries, each scanning three segments
        assert len(fs.mapped_files) <= 3  # at most each segment's cached mapping, once
    finally:
        session.close()
        db.close()
