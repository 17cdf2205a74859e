"""Many small appends do not leave a table in many small segments: every scan pays per
segment, so a commit's checkpoint compacts a table that has ``compact_after`` segments under
``compact_below`` rows, in merged segments of at most ``segment_rows`` rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import engine

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.string())])


def _rows(start: int, n: int) -> pa.Table:
    ids = np.arange(start, start + n, dtype=np.int64)
    return pa.table({"id": pa.array(ids), "v": pa.array([f"v{i}" for i in ids])},
                    schema=SCHEMA)


def _segments(db: engine.Database, name: str) -> list[int]:
    return [p.segment.rows for p in db.snapshot().data(name).parts]


@pytest.mark.parametrize("keyed", [False, True])
def test_small_appends_are_compacted_as_they_come(tmp_path, keyed):
    db = engine.Database.open(str(tmp_path / "db"), bulk_rows=1000, compact_after=4)
    db.create_table("t", SCHEMA, primary_key=["id"] if keyed else ())
    for i in range(10):  # each append is a segment of its own (over bulk_rows)
        db.insert("t", _rows(i * 5000, 5000))
        # what the last merge left (one segment, still small here) and three new ones
        assert len([r for r in _segments(db, "t") if r < db.compact_below]) <= 4
    assert sum(_segments(db, "t")) == 50_000
    got = db.scan("t").read_all().sort_by("id")
    assert got.column("id").to_pylist() == list(range(50_000))
    if keyed:
        assert db.snapshot().get("t", 31_337)["v"] == "v31337"
    assert db.check() == []
    db.close()
    db = engine.Database.open(str(tmp_path / "db"))  # the compacted state is what was saved
    assert db.scan("t").read_all().num_rows == 50_000 and db.check() == []
    db.close()


def test_compaction_merges_in_segments_of_at_most_segment_rows(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"), bulk_rows=1000, segment_rows=12_000,
                              compact_after=1000)  # no automatic compaction here
    db.create_table("t", SCHEMA, primary_key=["id"])
    for i in range(9):
        db.insert("t", _rows(i * 4000, 4000))
    assert _segments(db, "t") == [4000] * 9
    db.compact()
    assert sorted(_segments(db, "t")) == [12_000] * 3
    assert db.snapshot().get("t", 35_999)["v"] == "v35999"
    assert db.check() == []
    db.close()


def test_merged_segments_still_small_do_not_compact_at_every_commit(tmp_path):
    """With ``segment_rows`` under ``compact_below`` a merge leaves small segments: the next
    automatic compaction waits for ``compact_after`` new ones."""
    db = engine.Database.open(str(tmp_path / "db"), bulk_rows=1000, segment_rows=10_000,
                              compact_after=4)
    db.create_table("t", SCHEMA)
    before = db.stats.counts["checkpoint"]
    for i in range(12):
        db.insert("t", _rows(i * 4000, 4000))
    # merges after the 4th, 8th and 12th append at most, never at every commit
    assert 1 <= db.stats.counts["checkpoint"] - before <= 3
    assert sum(_segments(db, "t")) == 48_000 and db.check() == []
    db.close()
