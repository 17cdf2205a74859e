"""engine.Database.stats: commits, WAL fsyncs and checkpoints are counted and observed."""

from __future__ import annotations

import pyarrow as pa

import engine


def test_commits_fsyncs_and_checkpoints_are_counted_and_observed(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"))
    seen: list[tuple[str, float]] = []
    unsubscribe = db.stats.subscribe(lambda event, seconds: seen.append((event, seconds)))
    try:
        with db.begin() as tx:
            tx.create_table("t", pa.schema([("k", pa.int64())]), primary_key=["k"])
        db.insert("t", [(1,), (2,)])
        db.checkpoint()
        totals = db.stats.snapshot()
        assert totals["commit"]["count"] == 2
        assert totals["wal_fsync"]["count"] >= 2
        assert totals["checkpoint"]["count"] == 1
        events = [e for e, _ in seen]
        assert events.count("commit") == 2 and events.count("checkpoint") == 1
        assert all(s >= 0 for _, s in seen)
        unsubscribe()
        db.insert("t", [(3,)])
        assert [e for e, _ in seen].count("commit") == 2  # no longer told
        assert db.stats.snapshot()["commit"]["count"] == 3
    finally:
        db.close()


def test_a_failing_observer_never_fails_the_commit(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"))
    try:
        def boom(event: str, seconds: float) -> None:
            raise RuntimeError("observer bug")

        db.stats.subscribe(boom)
        with db.begin() as tx:
            tx.create_table("t", pa.schema([("k", pa.int64())]))
        db.insert("t", [(1,)])
        assert db.snapshot().table("t").row_count == 1
    finally:
        db.close()
