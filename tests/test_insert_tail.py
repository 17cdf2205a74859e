"""The insert tail (``engine.table.InsertTail``): single-row inserts appended in O(1) and
folded into the trees later must look, to every reader at every version, exactly like rows
put into the trees at once.

The tail is shared between versions, so the dangerous cases are old snapshots read after
newer commits (and after newer folds), rolled-back appends, and readers racing the writer.
"""

import random
import threading

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import engine
import engine.table
from engine.errors import ConstraintError

SCHEMA = pa.schema([pa.field("k", pa.int64(), False), ("s", pa.string()), ("v", pa.float64())])


@pytest.fixture(params=[4, 256])
def tail_limit(request, monkeypatch):
    """A tiny limit makes the writer fold every few commits; the real one rarely."""
    monkeypatch.setattr(engine.table, "TAIL_LIMIT", request.param)
    return request.param


def rows_of(snap, name="t"):
    return {r["k"]: (r["s"], r["v"]) for r in snap.scan(name).read_all().to_pylist()}


def agrees(snap, model, rng):
    """Every read path of ``snap`` against the dict it should hold."""
    assert rows_of(snap) == model
    assert snap.table("t").row_count == len(model)
    probe = rng.sample(range(0, 300), 12)
    for k in probe:
        got = snap.get("t", k)
        assert (None if got is None else (got["s"], got["v"])) == model.get(k)
    found = snap.lookup("t", pa.table({"k": pa.array(probe, pa.int64())}))
    assert {r["k"]: (r["s"], r["v"]) for r in found.to_pylist()} == {
        k: model[k] for k in probe if k in model}
    lo = rng.randrange(0, 300)
    ranged = snap.scan("t", predicate=(engine.col("k") >= lo) & (engine.col("k") <= lo + 40)
                       ).read_all()
    assert sorted(ranged.column("k").to_pylist()) == sorted(
        k for k in model if lo <= k <= lo + 40)


@pytest.mark.parametrize("seed", range(4))
def test_every_version_reads_as_the_model(tmp_path, tail_limit, seed):
    rng = random.Random(seed)
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    db.create_table("t", SCHEMA, primary_key=["k"])
    model: dict[int, tuple] = {}
    held: list[tuple[object, dict]] = []  # (snapshot, what it must show forever)
    for step in range(400):
        op = rng.random()
        if op < 0.55:  # a single-row insert: the tail's path
            k = rng.randrange(0, 300)
            row = (k, rng.choice(["a", "b", None]), rng.choice([None, rng.random()]))
            data = [row] if rng.random() < 0.7 else pa.table(
                {"k": [row[0]], "s": pa.array([row[1]], pa.string()),
                 "v": pa.array([row[2]], pa.float64())}, schema=SCHEMA)
            if k in model:
                with pytest.raises(ConstraintError, match="duplicate primary key"):
                    db.insert("t", data)
            else:
                assert db.insert("t", data) == 1
                model[k] = row[1:]
        elif op < 0.7:  # several single-row inserts in one transaction, kept or not
            fresh = [k for k in rng.sample(range(0, 300), 5) if k not in model]
            keep = rng.random() < 0.5
            with db.begin() as tx:
                for k in fresh:
                    tx.insert("t", [(k, "tx", float(k))])
                if keep:
                    tx.commit()
                else:
                    tx.rollback()
            if keep:
                model.update({k: ("tx", float(k)) for k in fresh})
        elif op < 0.78 and model:  # other writes fold the tail first
            k = rng.choice(sorted(model))
            assert db.delete("t", engine.col("k") == k) == 1
            del model[k]
        elif op < 0.83 and model:
            k = rng.choice(sorted(model))
            assert db.update("t", {"s": pc.scalar("u")}, engine.col("k") == k) == 1
            model[k] = ("u", model[k][1])
        elif op < 0.9:
            held.append((db.snapshot(), dict(model)))
        elif op < 0.93:
            db.checkpoint()
        elif op < 0.95:
            db.close()
            db = engine.Database.open(path)
            held = []  # snapshots die with their handle
        if step % 40 == 0:
            agrees(db.snapshot(), model, rng)
            for snap, want in rng.sample(held, min(3, len(held))):
                agrees(snap, want, rng)  # old versions, after newer appends and folds
    for snap, want in held:
        agrees(snap, want, rng)
    assert db.check() == []
    db.close()
    db = engine.Database.open(path)  # replay gives the same table
    assert rows_of(db.snapshot()) == model
    assert db.check() == []
    db.close()


def test_rolled_back_appends_are_never_seen_and_keys_can_be_reused(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"))
    db.create_table("t", SCHEMA, primary_key=["k"])
    for k in range(10):
        db.insert("t", [(k, "a", 1.0)])
    before = db.snapshot()
    with db.begin() as tx:
        for k in range(10, 20):
            tx.insert("t", [(k, "gone", 0.0)])
        assert tx.snapshot().table("t").row_count == 20  # the transaction sees its rows
        tx.rollback()
    assert db.snapshot().get("t", 15) is None
    with pytest.raises(ConstraintError):  # keys kept in the tail's copy still count
        db.insert("t", [(3, "dup", 0.0)])
    db.insert("t", [(15, "b", 2.0)])  # the rolled-back key is free again
    db.insert("t", [(30, "c", 3.0)])
    with pytest.raises(ConstraintError):
        db.insert("t", [(15, "again", 0.0)])
    assert rows_of(before) == {k: ("a", 1.0) for k in range(10)}
    now = rows_of(db.snapshot())
    assert now == {**{k: ("a", 1.0) for k in range(10)}, 15: ("b", 2.0), 30: ("c", 3.0)}
    assert db.check() == []
    db.close()


def test_a_failed_wal_write_leaves_no_tail_entry(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"))
    db.create_table("t", SCHEMA, primary_key=["k"])
    db.insert("t", [(1, "a", 1.0)])
    real = db.wal.append

    def full(payload):
        raise engine.errors.StorageError("disk full (injected)")

    db.wal.append = full
    with pytest.raises(engine.errors.StorageError):
        db.insert("t", [(2, "lost", 0.0)])
    db.wal.append = real
    db.insert("t", [(2, "kept", 2.0)])  # appends after the entry the failure left behind
    assert rows_of(db.snapshot()) == {1: ("a", 1.0), 2: ("kept", 2.0)}
    assert db.check() == []
    db.close()


def test_readers_racing_the_writer_see_stable_versions(tmp_path, monkeypatch):
    monkeypatch.setattr(engine.table, "TAIL_LIMIT", 16)
    db = engine.Database.open(str(tmp_path / "db"))
    db.create_table("t", SCHEMA, primary_key=["k"])
    stop = threading.Event()
    problems: list[str] = []

    def read() -> None:
        while not stop.is_set():
            snap = db.snapshot()
            n = snap.table("t").row_count
            first = snap.scan("t").read_all().column("k").to_pylist()
            again = snap.scan("t").read_all().column("k").to_pylist()
            if len(first) != n or first != again or sorted(first) != list(range(n)):
                problems.append(f"snapshot of {n} rows read {len(first)} then {len(again)}")

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for k in range(600):
            db.insert("t", [(k, "x", float(k))])
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert problems == []
    assert db.snapshot().table("t").row_count == 600
    assert db.check() == []
    db.close()


def test_check_reports_a_tail_that_disagrees_with_the_trees(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"))
    db.create_table("t", SCHEMA, primary_key=["k"])
    db.insert("t", [(1, "a", 1.0)])
    db.insert("t", [(2, "b", 2.0)])
    data = next(iter(db._latest.tables.values()))
    assert data.tail_end == 2  # both rows are in the tail
    data.tail.where[2] = 0  # a corrupted position index
    assert any("insert tail" in p for p in db.check())
    db.close()


def test_single_row_commits_checkpoint_within_a_bound(tmp_path):
    """The short commit path sums the buffers every SMALL_CHECK_EVERY commits, so they
    overshoot the checkpoint threshold by at most that many rows, and do get flushed."""
    limit = 40
    db = engine.Database.open(str(tmp_path / "db"), checkpoint_rows=limit)
    db.create_table("t", SCHEMA, primary_key=["k"])
    most = 0
    for k in range(300):
        db.insert("t", [(k, "x", float(k))])
        data = next(iter(db.snapshot().state.tables.values()))
        most = max(most, data.buffered_messages)
    assert limit <= most <= limit + engine.database.SMALL_CHECK_EVERY
    assert len(data.parts) >= 300 // (limit + engine.database.SMALL_CHECK_EVERY)
    assert db.snapshot().table("t").row_count == 300
    db.close()
