"""Online backup while a writer keeps committing, and restore that verifies first."""

import threading

import pyarrow as pa
import pytest

import engine
from engine.backup import restore, verify


def test_backup_is_consistent_during_writes_and_restores(tmp_path):
    db = engine.Database.open(str(tmp_path / "live"), bulk_rows=64)
    db.create_table("t", pa.schema([("id", pa.int64()), ("g", pa.int64())]),
                    primary_key=["id"])
    db.insert("t", pa.table({"id": list(range(1000)), "g": [0] * 1000}))
    db.delete("t", engine.col("id") < 10)
    stop = threading.Event()

    def writer():
        i = 10_000
        while not stop.is_set():  # each commit adds a pair: a backup sees both or neither
            db.insert("t", pa.table({"id": [i, i + 1], "g": [i, i]}))
            i += 2

    t = threading.Thread(target=writer)
    t.start()
    try:
        info = db.backup(str(tmp_path / "bk"))
    finally:
        stop.set()
        t.join()
    assert verify(str(tmp_path / "bk")) == []
    b = engine.Database.open(str(tmp_path / "bk"))
    rows = b.scan("t").read_all()
    assert rows.num_rows == info["rows"]
    pairs = [r for r in rows.to_pylist() if r["id"] >= 10_000]
    assert len(pairs) % 2 == 0 and all(r["g"] in (r["id"], r["id"] - 1) for r in pairs)
    assert b.snapshot().get("t", 5) is None and b.snapshot().get("t", 50)["g"] == 0
    b.close()
    live_rows = db.snapshot().table("t").row_count
    db.close()
    restore(str(tmp_path / "bk"), str(tmp_path / "live"))
    r = engine.Database.open(str(tmp_path / "live"))
    assert r.snapshot().table("t").row_count == info["rows"] <= live_rows
    assert r.check() == []
    r.close()


def test_restore_refuses_damaged_backup_and_keeps_target(tmp_path):
    db = engine.Database.open(str(tmp_path / "live"))
    db.create_table("t", pa.schema([("id", pa.int64())]))
    db.insert("t", pa.table({"id": list(range(10_000))}))
    db.backup(str(tmp_path / "bk"))
    db.close()
    seg = next((tmp_path / "bk" / "segments").iterdir())
    data = bytearray(seg.read_bytes())
    data[100] ^= 0xFF
    seg.write_bytes(bytes(data))
    with pytest.raises(engine.errors.CorruptionError, match="verification"):
        restore(str(tmp_path / "bk"), str(tmp_path / "live"))
    live = engine.Database.open(str(tmp_path / "live"))
    assert live.snapshot().table("t").row_count == 10_000
    live.close()


def test_restore_refuses_open_target(tmp_path):
    db = engine.Database.open(str(tmp_path / "live"))
    db.create_table("t", pa.schema([("id", pa.int64())]))
    db.backup(str(tmp_path / "bk"))
    with pytest.raises(engine.errors.StorageError, match="in use"):
        restore(str(tmp_path / "bk"), str(tmp_path / "live"))
    db.close()
