"""The pipelined segment write and the keyless row-id probe give what the plain ones gave.

Statistics and the CRC of a new segment are computed on worker threads while the batches are
written; a keyless table's secondary-index probe finds row ids batch by batch in the mapped
column (arithmetic for consecutive ids, binary search otherwise) instead of copying the
whole column per probe. These tests pin the results, not the speed (bench/ measures that).
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import engine
from engine import col
from engine.catalog import ROWID
from engine.segment import compute_stats, file_crc


def _table(n: int, start: int = 0) -> pa.Table:
    ids = np.arange(start, start + n, dtype=np.int64)
    return pa.table({"k": pa.array(ids), "s": pa.array([f"v{i % 977:05d}" for i in ids],
                                                       pa.string()),
                     "d": pa.array(ids % 1000, pa.int64()).cast(pa.decimal128(22, 2))})


def test_segment_crc_and_stats_match_its_bytes(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"))
    data = _table(150_000)
    db.create_table("t", data.schema)
    db.insert("t", data)
    parts = db.snapshot().data("t").parts
    assert len(parts) == 1
    seg = parts[0].segment
    path = os.path.join(str(tmp_path / "db"), seg.file)
    with pa.memory_map(path) as mm:
        assert file_crc(mm) == seg.crc
        batches = pa.ipc.open_file(mm).read_all().to_batches()
    assert [(s, n) for s, n, _ in seg.batches] == [(0, 65536), (65536, 65536),
                                                   (131072, 150_000 - 131072)]
    for (_, _, st), b in zip(seg.batches, batches, strict=True):
        assert st == compute_stats(b)
    k = db.snapshot().data("t").tdef.column("k").physical
    assert seg.stats[k][:2] == (0, 149_999)
    db.close()
    db = engine.Database.open(str(tmp_path / "db"))  # reopened: the CRC is checked
    assert db.snapshot().table("t").row_count == 150_000
    assert db.scan("t").read_all().column("k").to_pylist() == list(range(150_000))
    db.close()


def test_keyless_index_probe_with_gaps_in_row_ids(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"), compact_below=1 << 30)
    db.create_table("t", _table(0).schema)
    for start in (0, 70_000, 140_000):  # three segments
        db.insert("t", _table(70_000, start))
    with db.begin() as tx:
        tx.create_index("t_s", "t", ["s"])
    with db.begin() as tx:  # every other row gone, then compacted: row ids with gaps
        tx.delete("t", pc.equal(pc.bit_wise_and(pc.field("k"), 1), 0))
    db.compact()
    parts = db.snapshot().data("t").parts
    rowids = parts[0].segment.table(db.fs, db.root).column(ROWID).to_numpy()
    assert (np.diff(rowids) > 1).any()  # the binary-search branch is exercised
    full = db.scan("t").read_all()
    for value in ("v00000", "v00123", "v00976", "nothing"):
        got = db.scan("t", predicate=col("s") == value).read_all()
        want = full.filter(pc.equal(full.column("s"), value))
        assert sorted(got.column("k").to_pylist()) == sorted(want.column("k").to_pylist())
    db.close()


def test_map_buffer_maps_the_whole_file_until_released(tmp_path):
    """``FileSystem.map_buffer``: the file's bytes, zero-copy, unmapped with the last buffer
    sliced from it; an empty file is an empty buffer (``mmap`` refuses length 0)."""
    import gc
    import sys

    from engine.fileio import FileSystem

    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 64
    path.write_bytes(data)
    fs = FileSystem()
    buf = fs.map_buffer(str(path))
    piece = buf.slice(100, 10)
    del buf
    assert piece.to_pybytes() == data[100:110]

    def mapped() -> int:
        with open("/proc/self/maps") as f:
            return sum(str(path) in line for line in f)

    if sys.platform.startswith("linux"):
        assert mapped() == 1
        del piece
        gc.collect()
        assert mapped() == 0
    (tmp_path / "empty").write_bytes(b"")
    assert fs.map_buffer(str(tmp_path / "empty")).size == 0
