"""Catalog objects, drop_schema, catalog and data versions, and manifest format 2."""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import zlib

import pyarrow as pa
import pytest

import engine
from engine import manifest
from engine.backup import restore, verify
from engine.catalog import Catalog, ObjectDef, object_problems
from engine.errors import (
    AlreadyExists,
    ConstraintError,
    CorruptionError,
    KodiakError,
    NotFound,
    SchemaError,
)

from .faultfs import FaultyFileSystem

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "format1")
KV = pa.schema([("id", pa.int64()), ("v", pa.string())])
VIEW = {"sql": "SELECT 1 AS a", "columns": ["a"], "nested": {"n": [1, 2.5, None, True]}}


def read_doc(path: str) -> dict:
    raw = open(os.path.join(path, "MANIFEST"), "rb").read()
    return json.loads(raw[len(manifest.MAGIC) + 4:])


def write_doc(path: str, doc: dict) -> None:
    """Hand-edit a manifest: write ``doc`` with a valid checksum."""
    body = json.dumps(doc).encode()
    with open(os.path.join(path, "MANIFEST"), "wb") as f:
        f.write(manifest.MAGIC + struct.pack("<I", zlib.crc32(body)) + body)


def names(snap: engine.Snapshot) -> list[tuple[str, str, str]]:
    return [(o.kind, o.schema, o.name) for o in snap.objects()]


# -- objects ------------------------------------------------------------------------------

def test_create_replace_drop_and_list(db):
    db.create_schema("s")
    db.create_object("view", "s", "v", VIEW)
    db.create_object("view", "main", "b", {"x": 1})
    db.create_object("sequence", "main", "seq", {"start": 1})
    db.create_object("view", "main", "a", {"x": 2})
    snap = db.snapshot()
    assert names(snap) == [("sequence", "main", "seq"), ("view", "main", "a"),
                           ("view", "main", "b"), ("view", "s", "v")]
    assert [o.name for o in snap.objects(kind="view")] == ["a", "b", "v"]
    assert [o.name for o in snap.objects(schema="main")] == ["seq", "a", "b"]
    assert [o.name for o in snap.objects("view", "s")] == ["v"]
    v = snap.object("view", "s", "v")
    assert isinstance(v, engine.ObjectInfo)
    assert (v.kind, v.schema, v.name, v.definition) == ("view", "s", "v", VIEW)
    assert v.version == snap.catalog_version - 3  # three commits since
    assert snap.object("view", "s", "nope") is None
    assert snap.object("sequence", "s", "v") is None  # the kind is part of the identity

    with pytest.raises(AlreadyExists, match="view s.v already exists"):
        db.create_object("view", "s", "v", {"other": 1})
    db.create_object("view", "s", "v", {"other": 1}, if_not_exists=True)
    assert db.snapshot().object("view", "s", "v") == v  # untouched, version too
    db.create_object("view", "s", "v", {"other": 2}, replace=True)
    v2 = db.snapshot().object("view", "s", "v")
    assert v2.definition == {"other": 2} and v2.version > v.version

    assert db.drop_object("view", "s", "v") is True
    assert db.snapshot().object("view", "s", "v") is None
    assert db.drop_object("view", "s", "v", if_exists=True) is False
    with pytest.raises(NotFound, match="view s.v does not exist"):
        db.drop_object("view", "s", "v")
    assert db.check() == []


def test_names_are_stored_as_given(db):
    db.create_object("View", "main", "MixedCase", {})
    assert names(db.snapshot()) == [("View", "main", "MixedCase")]
    assert db.snapshot().object("view", "main", "mixedcase") is None


def test_definitions_are_copies_and_validated(db):
    mine = {"list": [1, 2], "inner": {"k": "v"}}
    db.create_object("view", "main", "v", mine)
    mine["list"].append(3)  # the caller's dict is not the catalog's
    got = db.snapshot().object("view", "main", "v")
    assert got.definition == {"list": [1, 2], "inner": {"k": "v"}}
    got.definition["inner"]["k"] = "changed"  # nor is the one handed out
    assert db.snapshot().object("view", "main", "v").definition["inner"] == {"k": "v"}
    with pytest.raises(AttributeError):
        got.version = 0  # frozen
    for bad in ([1, 2], "text", {"t": (1, 2)}, {1: "int key"}, {"x": math.nan},
                {"x": object()}, {"x": {1, 2}}):
        with pytest.raises(SchemaError):
            db.create_object("view", "main", "bad", bad)
    for kind, name in (("", "x"), ("view", ""), (None, "x")):
        with pytest.raises(SchemaError, match="non-empty string"):
            db.create_object(kind, "main", name, {})
    with pytest.raises(NotFound, match="schema 'nope' does not exist"):
        db.create_object("view", "nope", "v", {})
    assert names(db.snapshot()) == [("view", "main", "v")]


def test_rollback_and_savepoints_undo_objects(db):
    db.create_object("view", "main", "keep", {"n": 0})
    before = db.snapshot()
    with pytest.raises(RuntimeError):
        with db.begin() as tx:
            tx.create_object("view", "main", "gone", {})
            tx.drop_object("view", "main", "keep")
            assert names(tx.snapshot()) == [("view", "main", "gone")]
            raise RuntimeError
    assert names(db.snapshot()) == [("view", "main", "keep")]
    assert db.snapshot().catalog_version == before.catalog_version
    with db.begin() as tx:
        tx.create_object("view", "main", "a", {})
        tx.savepoint("sp")
        tx.create_object("view", "main", "b", {})
        tx.create_object("view", "main", "keep", {"n": 1}, replace=True)
        tx.rollback_to("sp")
        assert names(tx.snapshot()) == [("view", "main", "a"), ("view", "main", "keep")]
        assert tx.snapshot().object("view", "main", "keep").definition == {"n": 0}
    snap = db.snapshot()
    assert names(snap) == [("view", "main", "a"), ("view", "main", "keep")]
    assert snap.object("view", "main", "a").version == snap.lsn == snap.catalog_version


def test_a_failed_statement_leaves_objects_alone(db):
    with db.begin() as tx:
        tx.create_object("view", "main", "v", {})
        with pytest.raises(AlreadyExists):
            tx.create_object("view", "main", "v", {})
        with pytest.raises(SchemaError):
            tx.create_object("view", "main", "w", {"bad": (1,)})
    assert names(db.snapshot()) == [("view", "main", "v")]


def test_objects_survive_wal_replay_and_checkpoint(tmp_path):
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    db.create_schema("s")
    db.create_object("view", "s", "v", VIEW)
    db.create_object("view", "main", "w", {"a": 1})
    db.create_object("view", "main", "w", {"a": 2}, replace=True)
    db.create_object("seq", "main", "gone", {})
    db.drop_object("seq", "main", "gone")
    want = db.snapshot().objects()
    db.close()
    db = engine.Database.open(path)  # from the WAL alone
    assert db.snapshot().objects() == want
    db.checkpoint()
    db.close()
    doc = read_doc(path)
    assert doc["format"] == 2
    assert [o["name"] for o in doc["catalog"]["objects"]] == ["w", "v"]
    db = engine.Database.open(path)  # from the manifest alone
    assert db.snapshot().objects() == want
    assert db.check() == []
    db.close()


def test_power_loss_keeps_synced_objects_and_drops_unsynced(tmp_path):
    path = str(tmp_path / "db")
    os.makedirs(path)
    fs = FaultyFileSystem(path)
    db = engine.Database.open(path, fs=fs)
    db.create_object("view", "main", "kept", {"n": 1})  # acknowledged: synced
    fs.crash_at(2)  # the next commit writes its frame, then the machine dies at its fsync
    with pytest.raises(KodiakError):
        db.create_object("view", "main", "lost", {"n": 2})
    fs.power_loss()
    db.close()
    db = engine.Database.open(path)
    try:
        assert names(db.snapshot()) == [("view", "main", "kept")]
        assert db.check() == []
    finally:
        db.close()


def test_backup_and_restore_carry_objects_and_versions(tmp_path):
    live = str(tmp_path / "live")
    db = engine.Database.open(live)
    db.create_schema("s")
    db.create_table("s.t", KV, primary_key=["id"])
    db.insert("s.t", [(1, "a")])
    db.create_object("view", "s", "v", VIEW)
    db.insert("s.t", [(2, "b")])
    snap = db.snapshot()
    db.backup(str(tmp_path / "bk"))
    db.create_object("view", "main", "after", {})
    db.close()
    assert verify(str(tmp_path / "bk")) == []
    restore(str(tmp_path / "bk"), live)
    db = engine.Database.open(live)
    got = db.snapshot()
    assert got.objects() == snap.objects()
    assert got.catalog_version == snap.catalog_version
    assert got.data_version("s.t") == snap.data_version("s.t")
    db.close()


def test_check_reports_a_corrupted_object_entry(tmp_path):
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    db.create_schema("s")
    db.create_object("view", "s", "v", {"a": 1})
    db.create_object("view", "main", "w", {"a": 2})
    db.checkpoint()
    good = read_doc(path)
    entry = good["catalog"]["objects"][0]
    cases = {
        "which does not exist": {**entry, "schema": "nowhere"},
        "not a JSON object": {**entry, "definition": [1, 2]},
        "twice": None,
        "malformed": {**entry, "name": 7},
    }
    for problem, bad in cases.items():
        doc = json.loads(json.dumps(good))
        objs = doc["catalog"]["objects"]
        objs.append(dict(objs[0]) if bad is None else bad)
        write_doc(path, doc)
        found = db.check()
        assert len(found) == 1 and found[0].startswith("manifest:") and problem in found[0], \
            found
    db.close()
    with pytest.raises(CorruptionError, match="malformed"):
        engine.Database.open(path)
    write_doc(path, good)
    db = engine.Database.open(path)
    assert db.check() == []
    db.close()


def test_check_of_the_live_catalog():
    cat = Catalog().with_object(ObjectDef("view", "main", "v", '{"a":1}', 3))
    assert object_problems(cat) == []
    bad = Catalog(objects={("view", "main", "v"): ObjectDef("view", "main", "v", "[1]", 3),
                           ("view", "s", "w"): ObjectDef("view", "s", "w", "{", 3),
                           ("view", "main", "x"): ObjectDef("view", "main", "y", "{}", 3)})
    found = object_problems(bad)
    assert any("not a JSON object" in p for p in found)
    assert any("which does not exist" in p for p in found)
    assert any("not JSON" in p for p in found)
    assert any("filed under" in p for p in found)


# -- drop_schema --------------------------------------------------------------------------

def make_schema(db: engine.Database) -> None:
    db.create_schema("s")
    db.create_table("s.t", KV, primary_key=["id"])
    db.create_index("t_v", "s.t", ["v"])
    db.create_table("s.u", KV)
    db.insert("s.t", [(1, "a")])
    db.create_object("view", "s", "v", {})
    db.create_table("keep", KV)
    db.create_object("view", "main", "w", {})


def test_drop_schema_refuses_a_non_empty_schema(db):
    make_schema(db)
    with pytest.raises(ConstraintError, match=r"'s' is not empty: it holds table t, "
                                              r"table u, view v"):
        db.drop_schema("s")
    assert db.snapshot().schemas() == ["main", "s"]
    with pytest.raises(SchemaError, match="'main' cannot be dropped"):
        db.drop_schema("main", cascade=True)
    with pytest.raises(NotFound, match="schema 'nope' does not exist"):
        db.drop_schema("nope")
    assert db.drop_schema("nope", if_exists=True) is False
    db.drop_object("view", "s", "v")
    db.drop_table("s.t")
    db.drop_table("s.u")
    assert db.drop_schema("S") is True  # schema names fold to lower case, as at creation
    assert db.snapshot().schemas() == ["main"]


def test_drop_schema_cascade_and_create_again(tmp_path):
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    make_schema(db)
    with pytest.raises(RuntimeError):
        with db.begin() as tx:
            tx.drop_schema("s", cascade=True)
            assert tx.snapshot().schemas() == ["main"]
            raise RuntimeError
    assert db.snapshot().tables("s") == ["s.t", "s.u"]
    db.drop_schema("s", cascade=True)
    snap = db.snapshot()
    assert snap.schemas() == ["main"]
    assert snap.tables() == ["main.keep"]
    assert names(snap) == [("view", "main", "w")]
    with pytest.raises(NotFound):
        db.create_index("t_v2", "s.t", ["v"])
    db.create_schema("s")  # again, empty
    db.create_table("s.t", KV, primary_key=["id"])
    db.create_index("t_v", "s.t", ["v"])  # the index name is free again
    assert db.scan("s.t").read_all().num_rows == 0
    db.close()
    db = engine.Database.open(path)  # WAL replay
    assert db.snapshot().tables() == ["main.keep", "s.t"]
    assert db.scan("s.t").read_all().num_rows == 0
    assert names(db.snapshot()) == [("view", "main", "w")]
    db.checkpoint()
    db.drop_schema("s", cascade=True)
    db.checkpoint()
    db.close()
    db = engine.Database.open(path)  # manifest
    assert db.snapshot().schemas() == ["main"]
    assert db.check() == []
    db.close()


# -- versions -----------------------------------------------------------------------------

def test_catalog_and_data_versions(tmp_path):
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    assert db.snapshot().catalog_version == 0
    db.create_table("t", KV, primary_key=["id"])
    db.create_table("u", KV)
    s0 = db.snapshot()
    assert s0.catalog_version == s0.lsn
    assert s0.data_version("t") < s0.data_version("u") == s0.lsn  # creation counts
    db.insert("t", [(1, "a")])  # the single-row fast path
    s1 = db.snapshot()
    assert s1.catalog_version == s0.catalog_version  # rows are not the catalog
    assert s1.data_version("t") == s1.lsn > s0.data_version("t")
    assert s1.data_version("u") == s0.data_version("u")  # untouched
    db.insert("u", pa.table({"id": list(range(5000)), "v": ["x"] * 5000}))  # a segment
    db.delete("t", engine.col("id") == 1)
    with db.begin() as tx:
        tx.upsert("t", pa.table({"id": [2], "v": ["b"]}))
    s2 = db.snapshot()
    assert s2.catalog_version == s0.catalog_version
    assert s2.data_version("t") == s2.lsn and s1.lsn < s2.data_version("u") < s2.lsn
    assert s1.data_version("t") == s1.lsn  # an old snapshot keeps its versions
    for ddl in (lambda: db.create_schema("s"),
                lambda: db.create_object("view", "main", "v", {}),
                lambda: db.drop_object("view", "main", "v"), lambda: db.drop_schema("s"),
                lambda: db.add_column("t", pa.field("z", pa.int64())),
                lambda: db.create_index("i", "u", ["v"])):
        before = db.snapshot().catalog_version
        ddl()
        assert db.snapshot().catalog_version == db.snapshot().lsn > before
    altered = db.snapshot()  # altering a table counts as writing it (what rows read as)
    assert altered.data_version("u") == altered.lsn
    db.checkpoint()  # moves rows, changes no version
    s3 = db.snapshot()
    assert s3.data_version("u") == altered.data_version("u")
    assert s3.catalog_version == altered.catalog_version
    want = (s3.catalog_version, s3.data_version("t"), s3.data_version("u"))
    db.close()
    db = engine.Database.open(path)  # from the manifest
    s4 = db.snapshot()
    assert (s4.catalog_version, s4.data_version("t"), s4.data_version("u")) == want
    db.insert("u", [(9, "z")])
    db.create_object("view", "main", "v", {})
    s5 = db.snapshot()
    db.close()
    db = engine.Database.open(path)  # from manifest + WAL
    s6 = db.snapshot()
    assert (s6.catalog_version, s6.data_version("t"), s6.data_version("u")) == \
        (s5.catalog_version, s5.data_version("t"), s5.data_version("u"))
    assert s6.data_version("u") > want[2] and s6.catalog_version > want[0]
    db.drop_table("t")
    db.create_table("t", KV, primary_key=["id"])
    assert db.snapshot().data_version("t") > s6.data_version("t")
    db.close()


def test_versions_inside_a_transaction_are_pending(db):
    db.create_table("t", KV, primary_key=["id"])
    db.create_table("u", KV)
    base = db.snapshot()
    committed = {base.catalog_version, base.data_version("t"), base.data_version("u")}
    with db.begin() as tx:
        s = tx.snapshot()
        assert (s.catalog_version, s.data_version("t")) == \
            (base.catalog_version, base.data_version("t"))
        tx.insert("t", [(1, "a")])
        s1 = tx.snapshot()
        assert s1.data_version("t") < 0 and s1.data_version("t") not in committed
        assert s1.data_version("u") == base.data_version("u")
        assert s1.catalog_version == base.catalog_version
        assert tx.snapshot().data_version("t") == s1.data_version("t")  # same state
        tx.savepoint("sp")
        tx.insert("t", [(2, "b")])
        s2 = tx.snapshot()
        assert s2.data_version("t") < 0 and s2.data_version("t") != s1.data_version("t")
        tx.create_object("view", "main", "v", {})
        s3 = tx.snapshot()
        assert s3.catalog_version < 0
        assert s3.object("view", "main", "v").version == s3.catalog_version
        tx.rollback_to("sp")
        back = tx.snapshot()
        assert back.data_version("t") == s1.data_version("t")
        assert back.catalog_version == base.catalog_version
        assert s1.data_version("t") < 0  # snapshots taken earlier keep their values
        tx.insert("t", [(3, "c")])
        assert tx.snapshot().data_version("t") not in (s1.data_version("t"),
                                                       s2.data_version("t"))
    after = db.snapshot()
    assert after.data_version("t") == after.lsn and after.catalog_version == \
        base.catalog_version
    assert base.data_version("t") < after.data_version("t")
    with db.begin() as tx:  # another transaction's pending values are its own
        tx.insert("t", [(4, "d")])
        assert tx.snapshot().data_version("t") not in (s1.data_version("t"),
                                                       s2.data_version("t"))
        tx.rollback()
    assert db.snapshot().data_version("t") == after.data_version("t")


# -- manifest format ----------------------------------------------------------------------

def test_format1_directory_opens_and_upgrades(tmp_path):
    path = str(tmp_path / "db")
    shutil.copytree(FIXTURE, path)
    assert read_doc(path)["format"] == 1
    db = engine.Database.open(path)
    snap = db.snapshot()
    assert snap.schemas() == ["main", "s"]
    assert snap.tables() == ["main.t", "s.u"]
    assert snap.table("t").primary_key == ("id",) and list(snap.table("t").indexes) == ["t_v"]
    assert snap.scan("t").read_all().to_pylist() == [
        {"id": 1, "v": "one"}, {"id": 3, "v": "three"}, {"id": 4, "v": "four"}]
    assert sorted(map(tuple, (r.values() for r in snap.scan("s.u").read_all().to_pylist()))
                  ) == [(10, 1.5), (20, 2.5), (30, 3.5)]
    assert snap.scan("t", predicate=engine.col("v") == "three").read_all().num_rows == 1
    assert snap.objects() == []
    checkpoint_lsn = read_doc(path)["checkpoint_lsn"]
    assert snap.catalog_version == checkpoint_lsn  # no DDL in the WAL tail
    assert snap.data_version("t") > checkpoint_lsn  # written in the WAL tail
    assert db.check() == []
    db.insert("t", [(5, "five")])
    db.create_object("view", "s", "v", {"a": 1})
    db.close()
    assert read_doc(path)["format"] == 1  # nothing rewritten before a checkpoint
    db = engine.Database.open(path)
    assert [r["id"] for r in db.scan("t").read_all().to_pylist()] == [1, 3, 4, 5]
    assert names(db.snapshot()) == [("view", "s", "v")]
    db.checkpoint()
    want = db.snapshot()
    db.close()
    doc = read_doc(path)
    assert doc["format"] == manifest.FORMAT == 2
    assert doc["catalog_version"] == want.catalog_version
    db = engine.Database.open(path)
    snap = db.snapshot()
    assert [r["id"] for r in db.scan("t").read_all().to_pylist()] == [1, 3, 4, 5]
    assert db.scan("s.u").read_all().num_rows == 3
    assert snap.objects() == want.objects()
    assert snap.data_version("t") == want.data_version("t")
    assert db.check() == []
    db.close()


def test_unknown_manifest_formats_are_refused(tmp_path, monkeypatch):
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    db.create_table("t", KV)
    db.checkpoint()
    db.close()
    doc = read_doc(path)
    write_doc(path, {**doc, "format": 3})
    with pytest.raises(CorruptionError, match="manifest format 3 is not one this Kodiak "
                                              "reads"):
        engine.Database.open(path)
    write_doc(path, doc)
    monkeypatch.setattr(manifest, "FORMAT", 1)  # code that only knows format 1
    with pytest.raises(CorruptionError, match="manifest format 2 is not one"):
        engine.Database.open(path)
    monkeypatch.undo()
    engine.Database.open(path).close()


def test_upgrade_of_a_format1_document():
    doc = {"format": 1, "checkpoint_lsn": 7, "next_segment_id": 3,
           "catalog": {"schemas": ["main"], "next_table_id": 2, "tables": []},
           "tables": {"1": {"next_rowid": 0, "segments": []}}}
    up = manifest.upgrade(doc)
    assert up["format"] == 2 and up["catalog_version"] == 7
    assert up["catalog"]["objects"] == [] and up["tables"]["1"]["data_version"] == 7
    assert doc["format"] == 1 and "objects" not in doc["catalog"]  # the input is unchanged
