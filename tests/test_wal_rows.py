"""The lean WAL record for small row writes, and the preallocated WAL file.

* ``rowcodec`` round-trips every value its types can hold, and refuses damaged groups.
* Single-row commits log compact records (no JSON, no Arrow schema) for tables whose column
  types all fit; replay after reopen gives back exactly what was acknowledged, row ids and
  secondary indexes included. Tables with other types (decimal, timestamps with a time
  zone, lists, structs …) keep logging Arrow IPC, and replay those exactly too.
* Torn tails of compact records: every cut and every flipped byte of the last frame gives
  the committed prefix (or CorruptionError), never anything else.
* The preallocated zero tail of a WAL file is its clean end: no warning after a crash, and a
  clean close trims it; zeros where a later file proves frames belong are corruption.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
import shutil
import struct

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.errors import ConstraintError, CorruptionError
from engine.oplog import COMPACT, DecodedOps
from engine.rowcodec import decode_group, encode_group, lean_type, row_encoder
from engine.wal import HEADER, MAGIC, WriteAheadLog, iter_frames

from .faultfs import NoSyncFileSystem

FS = NoSyncFileSystem()

LEAN = pa.schema([
    pa.field("id", pa.int64(), False),
    ("i8", pa.int8()), ("i16", pa.int16()), ("i32", pa.int32()), ("u8", pa.uint8()),
    ("u32", pa.uint32()), ("u64", pa.uint64()), ("f32", pa.float32()), ("f64", pa.float64()),
    ("b", pa.bool_()), ("s", pa.string()), ("ls", pa.large_string()),
    ("sv", pa.string_view()), ("bin", pa.binary()), ("lbin", pa.large_binary()),
    ("fbin", pa.binary(3)),
])

LEAN_ROWS = [
    {"id": 1, "i8": -128, "i16": 32767, "i32": -(2**31), "u8": 255, "u32": 2**32 - 1,
     "u64": 2**64 - 1, "f32": 1.5, "f64": -0.0, "b": True, "s": "héllo ✓", "ls": "",
     "sv": "view", "bin": b"\x00\xff", "lbin": b"", "fbin": b"abc"},
    {"id": 2, "i8": None, "i16": None, "i32": None, "u8": None, "u32": None, "u64": 0,
     "f32": None, "f64": float("inf"), "b": False, "s": None, "ls": "x" * 1000, "sv": None,
     "bin": None, "lbin": b"\x00" * 300, "fbin": None},
    {"id": -(2**63), "i8": 0, "i16": 0, "i32": 0, "u8": 0, "u32": 0, "u64": 2**63,
     "f32": -3.25, "f64": 1e-310, "b": None, "s": "\x00nul", "ls": "ß", "sv": "",
     "bin": b"", "lbin": None, "fbin": b"\x00\x00\x00"},
    {"id": 2**63 - 1, "i8": 1, "i16": -1, "i32": 7, "u8": 1, "u32": 1, "u64": None,
     "f32": float("-inf"), "f64": float("nan"), "b": True, "s": "z", "ls": None, "sv": "q",
     "bin": b"b", "lbin": b"lb", "fbin": b"xyz"},
]

RICH = pa.schema([
    pa.field("id", pa.int64(), False),
    ("d", pa.decimal128(20, 4)), ("ts", pa.timestamp("us", tz="Europe/Paris")),
    ("day", pa.date32()), ("l", pa.list_(pa.int32())),
    ("st", pa.struct([("a", pa.int64()), ("b", pa.string())])), ("s", pa.string()),
])

RICH_ROWS = [
    {"id": 1, "d": decimal.Decimal("12345.6789"),
     "ts": dt.datetime(2024, 3, 31, 1, 30, tzinfo=dt.UTC), "day": dt.date(2024, 2, 29),
     "l": [1, None, 3], "st": {"a": 5, "b": "x"}, "s": "one"},
    {"id": 2, "d": None, "ts": None, "day": None, "l": None, "st": None, "s": None},
    {"id": 3, "d": decimal.Decimal("-0.0001"), "ts": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
     "day": dt.date(1, 1, 1), "l": [], "st": {"a": None, "b": None}, "s": "three"},
]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, float) and isinstance(b, float) and a == 0 and b == 0:
        return math.copysign(1, a) == math.copysign(1, b)
    return a == b


def _rows(db: engine.Database, name: str) -> list[dict]:
    t = db.snapshot().scan(name).read_all()
    return sorted(t.to_pylist(), key=lambda r: r["id"])


def _assert_rows(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k in w:
            assert _same(g[k], w[k]), (k, g[k], w[k])


def _payloads(root: str) -> list[bytes]:
    """Every record's payload in the database's WAL files, oldest first."""
    out = []
    wal = os.path.join(root, "wal")
    for name in sorted(os.listdir(wal)):
        with open(os.path.join(wal, name), "rb") as f:
            data = f.read()
        for pos, length, _ in iter_frames(data):
            out.append(data[pos + HEADER.size: pos + HEADER.size + length])
    return out


def _is_compact(payload: bytes) -> bool:
    return struct.unpack_from("<I", payload)[0] == COMPACT


# -- the codec ------------------------------------------------------------------------------

def test_codec_round_trips_values():
    rows = [(None, False, True, 0, -1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, 0.0, -0.0,
             1e308, float("inf"), "", "ünï\x00", b"", b"\x00\xff")]
    rows.append(tuple(reversed(rows[0])))
    got = decode_group(encode_group(7, rows, len(rows[0])))
    assert got[:3] == (7, None, len(rows[0]))
    for g, w in zip(got[3], rows, strict=True):
        assert len(g) == len(w)
        for a, b in zip(g, w, strict=True):
            assert type(a) is type(b) and _same(a, b)
    nan = decode_group(encode_group(1, [(float("nan"),)], 1))[3][0][0]
    assert math.isnan(nan)
    assert decode_group(encode_group(3, [(1,), (2,)], 1, first_rowid=40)) == (
        3, 40, 1, [(1,), (2,)])
    with pytest.raises(TypeError):
        encode_group(1, [(decimal.Decimal(1),)], 1)


_ENCODED = {pa.int64(): st.integers(-(2**63), 2**63 - 1), pa.int8(): st.integers(-128, 127),
            pa.uint32(): st.integers(0, 2**32 - 1), pa.float64(): st.floats(),
            pa.bool_(): st.booleans(), pa.string(): st.text(), pa.large_string(): st.text(),
            pa.binary(): st.binary(), pa.large_binary(): st.binary()}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(_ENCODED)), max_size=7).flatmap(
    lambda types: st.tuples(st.just(types), st.tuples(*(
        st.one_of(st.none(), _ENCODED[t]) for t in types)))))
def test_generated_row_encoder_matches_the_codec(case):
    """A table's generated one-row encoder writes encode_group's bytes exactly, and hands
    rows it does not cover (a None, a value of another type) back to it."""
    types, row = case
    enc = row_encoder(types, b"MARK")
    assert enc is not None
    got = enc(9, row)
    if any(v is None for v in row):
        assert got is None
    else:
        assert got == b"MARK" + encode_group(9, [row], len(types))
    if types and row[0] is not None:
        wrong = ("x" if type(row[0]) is not str else 1, *row[1:])
        assert enc(9, wrong) is None
    assert row_encoder([*types, pa.uint64()]) is None  # above int64: the codec's UINT tag


def test_codec_refuses_damage():
    good = encode_group(5, [(1, "abc", 2.5, None)], 4)
    for cut in range(len(good)):
        with pytest.raises(CorruptionError):
            decode_group(good[:cut])
    with pytest.raises(CorruptionError):
        decode_group(good + b"\x00")
    bad_tag = bytearray(good)
    bad_tag[15] = 99  # the first value's tag
    with pytest.raises(CorruptionError):
        decode_group(bytes(bad_tag))
    with pytest.raises(CorruptionError):
        DecodedOps(struct.pack("<I", COMPACT) + good[:-1])


def test_lean_types():
    for t in LEAN.types:
        assert lean_type(engine.catalog.storage_type(t)), t
    for t in RICH.types[1:-1]:
        assert not lean_type(t), t
    assert not lean_type(pa.float16())


# -- round trips through replay ---------------------------------------------------------------

def test_lean_single_row_commits_replay_exactly(tmp_path):
    root = str(tmp_path / "db")
    db = engine.Database.open(root)
    db.create_table("t", LEAN, primary_key=["id"])
    for r in LEAN_ROWS:
        assert db.insert("t", pa.Table.from_pylist([r], schema=LEAN)) == 1
    with pytest.raises(ConstraintError):
        db.insert("t", pa.Table.from_pylist([LEAN_ROWS[0]], schema=LEAN))
    with pytest.raises(ConstraintError):  # NULL in the NOT NULL key
        db.insert("t", pa.Table.from_pylist([{**LEAN_ROWS[0], "id": None}], schema=LEAN))
    want = sorted(LEAN_ROWS, key=lambda r: r["id"])
    _assert_rows(_rows(db, "t"), want)
    db.close()
    payloads = _payloads(root)
    assert len(payloads) == 1 + len(LEAN_ROWS)  # create, then one record per commit
    assert all(_is_compact(p) for p in payloads[1:])
    for _ in range(2):  # replayed, then replayed again after a commit on top
        db = engine.Database.open(root)
        _assert_rows(_rows(db, "t"), want)
        assert db.check() == []
        assert db.snapshot().get("t", 2**63 - 1)["s"] == "z"
        db.close()


def test_multi_statement_and_mixed_transactions(tmp_path):
    root = str(tmp_path / "db")
    db = engine.Database.open(root)
    schema = pa.schema([pa.field("id", pa.int64(), False), ("s", pa.string())])
    with db.begin() as tx:  # DDL and rows in one record: JSON header with "rows" ops
        tx.create_table("a", schema, primary_key=["id"])
        tx.create_table("b", schema)  # keyless: row ids in the record
        tx.insert("a", pa.table({"id": [1, 2], "s": ["x", None]}, schema=schema))
        tx.insert("b", pa.table({"id": [9], "s": ["k"]}, schema=schema))
    with db.begin() as tx:  # only rows: one compact record with two groups per table
        tx.insert("a", pa.table({"id": [3], "s": ["y"]}, schema=schema))
        tx.insert("b", pa.table({"id": [8, 8], "s": ["l", "m"]}, schema=schema))
        tx.insert("a", pa.table({"id": [4], "s": ["z"]}, schema=schema))
    db.insert("b", pa.table({"id": [7], "s": ["n"]}, schema=schema))
    with db.begin() as tx:  # a failed statement leaves no group behind
        tx.insert("a", pa.table({"id": [5], "s": ["ok"]}, schema=schema))
        with pytest.raises(ConstraintError):
            tx.insert("a", pa.table({"id": [1], "s": ["dup"]}, schema=schema))
    db.close()
    kinds = [DecodedOps(p).ops for p in _payloads(root)]
    assert [op["k"] for op in kinds[0]] == ["create", "create", "rows", "rows"]
    assert [op["k"] for op in kinds[1]] == ["rows", "rows", "rows"]
    assert [op["k"] for op in kinds[3]] == ["rows"]
    db = engine.Database.open(root)
    snap = db.snapshot()
    assert snap.scan("a").read_all().sort_by("id").to_pydict() == {
        "id": [1, 2, 3, 4, 5], "s": ["x", None, "y", "z", "ok"]}
    b = snap.scan("b").read_all()
    assert sorted(zip(b["id"].to_pylist(), b["s"].to_pylist(), strict=True)) == [
        (7, "n"), (8, "l"), (8, "m"), (9, "k")]
    db.insert("b", pa.table({"id": [6], "s": ["o"]}, schema=schema))  # row ids go on
    assert db.snapshot().table("b").row_count == 5
    assert db.check() == []
    db.close()


def test_unique_index_kept_by_replay(tmp_path):
    root = str(tmp_path / "db")
    schema = pa.schema([pa.field("id", pa.int64(), False), ("email", pa.string())])
    db = engine.Database.open(root)
    db.create_table("u", schema, primary_key=["id"], unique=[["email"]])
    db.insert("u", pa.table({"id": [1], "email": ["a@x"]}, schema=schema))
    db.insert("u", pa.table({"id": [2], "email": [None]}, schema=schema))
    with pytest.raises(ConstraintError):
        db.insert("u", pa.table({"id": [3], "email": ["a@x"]}, schema=schema))
    db.close()
    db = engine.Database.open(root)
    assert db.check() == []
    with pytest.raises(ConstraintError):
        db.insert("u", pa.table({"id": [4], "email": ["a@x"]}, schema=schema))
    db.insert("u", pa.table({"id": [5], "email": ["b@x"]}, schema=schema))
    assert db.snapshot().table("u").row_count == 3
    db.close()


def test_other_types_fall_back_to_arrow_ipc(tmp_path):
    root = str(tmp_path / "db")
    db = engine.Database.open(root)
    db.create_table("r", RICH, primary_key=["id"])
    for r in RICH_ROWS:
        db.insert("r", pa.Table.from_pylist([r], schema=RICH))
    want = _rows(db, "r")
    db.close()
    payloads = _payloads(root)
    assert not any(_is_compact(p) for p in payloads)
    assert all([op["k"] for op in DecodedOps(p).ops] == ["put"] for p in payloads[1:])
    db = engine.Database.open(root)
    got = _rows(db, "r")
    assert got == want
    assert got[0]["d"] == decimal.Decimal("12345.6789") and got[0]["l"] == [1, None, 3]
    assert got[0]["ts"] == RICH_ROWS[0]["ts"] and got[0]["ts"].tzinfo is not None
    assert db.snapshot().scan("r").read_all().schema.field("ts").type == RICH.field("ts").type
    assert db.check() == []
    db.close()


def test_inexact_shapes_still_use_lean_records(tmp_path):
    """Input needing casts, reordering or defaults goes through conform, then is logged
    in the lean encoding all the same when the table's types allow it."""
    root = str(tmp_path / "db")
    schema = pa.schema([pa.field("id", pa.int64(), False), ("n", pa.int32()), ("s", pa.string())])
    db = engine.Database.open(root)
    db.create_table("t", schema, primary_key=["id"], defaults={"s": "dflt"})
    db.insert("t", pa.table({"n": pa.array([5], pa.int64()), "id": pa.array([1], pa.int8())}))
    db.close()
    assert _is_compact(_payloads(root)[-1])
    db = engine.Database.open(root)
    assert db.snapshot().scan("t").read_all().to_pylist() == [{"id": 1, "n": 5, "s": "dflt"}]
    db.close()


# -- torn and damaged compact records -------------------------------------------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("rows") / "db")
    db = engine.Database.open(root)
    db.create_table("t", LEAN, primary_key=["id"])
    for r in LEAN_ROWS:
        db.insert("t", pa.Table.from_pylist([r], schema=LEAN))
    db.close()
    os.remove(os.path.join(root, "LOCK"))
    (name,) = os.listdir(os.path.join(root, "wal"))
    with open(os.path.join(root, "wal", name), "rb") as f:
        data = f.read()
    frames = [(pos, pos + HEADER.size + length) for pos, length, _ in iter_frames(data)]
    assert frames[-1][1] == len(data), "a clean close trims the preallocated tail"
    return root, name, data, frames


def _recover(small, tmp_path, wal: bytes, tag: str) -> list[dict] | None:
    root, name, _, _ = small
    case = str(tmp_path / f"case-{tag}")
    shutil.copytree(root, case)
    with open(os.path.join(case, "wal", name), "wb") as f:
        f.write(wal)
    try:
        db = engine.Database.open(case, fs=FS)
    except CorruptionError:
        shutil.rmtree(case)
        return None
    try:
        assert db.check() == []
        return _rows(db, "t")
    finally:
        db.close()
        shutil.rmtree(case)


def test_compact_last_frame_cut_everywhere(small, tmp_path):
    _, _, data, frames = small
    start, end = frames[-1]
    full = sorted(LEAN_ROWS, key=lambda r: r["id"])
    before = sorted(LEAN_ROWS[:-1], key=lambda r: r["id"])
    for cut in range(start, end + 1):
        got = _recover(small, tmp_path, data[:cut], f"cut{cut}")
        assert got is not None
        _assert_rows(got, full if cut == end else before)
    # zeros after a cut (a torn write into preallocated space) change nothing
    got = _recover(small, tmp_path, data[:start + 10] + bytes(5000), "zeros")
    assert got is not None
    _assert_rows(got, before)


def test_compact_last_frame_bytes_flipped(small, tmp_path):
    _, _, data, frames = small
    start, end = frames[-1]
    full = sorted(LEAN_ROWS, key=lambda r: r["id"])
    before = sorted(LEAN_ROWS[:-1], key=lambda r: r["id"])
    for i in range(start, end):
        b = bytearray(data)
        b[i] ^= 0xFF
        got = _recover(small, tmp_path, bytes(b), f"flip{i}")
        if got is not None:
            assert len(got) in (len(before), len(full))
            _assert_rows(got, full if len(got) == len(full) else before)


# -- the preallocated WAL file ---------------------------------------------------------------

def test_wal_file_is_preallocated_and_its_zero_tail_is_a_clean_end(tmp_path):
    root = str(tmp_path / "db")
    schema = pa.schema([pa.field("id", pa.int64(), False)])
    db = engine.Database.open(root)
    db.create_table("t", schema, primary_key=["id"])
    for i in range(50):
        db.insert("t", pa.table({"id": [i]}, schema=schema))
    path = db.wal.path
    assert os.path.getsize(path) > db.wal.size  # reserved ahead
    crashed = str(tmp_path / "crashed")  # the directory as a crash would leave it
    shutil.copytree(root, crashed, ignore=shutil.ignore_patterns("LOCK"))
    db.close()
    assert os.path.getsize(path) == _frames_end(path)  # a clean close trims the reserve
    again = engine.Database.open(crashed)
    assert again.recovery_warnings == []
    assert again.snapshot().table("t").row_count == 50
    again.insert("t", pa.table({"id": [50]}, schema=schema))  # a new file; the old keeps zeros
    again.close()
    again = engine.Database.open(crashed)
    assert again.recovery_warnings == [] and again.check() == []
    assert again.snapshot().table("t").row_count == 51
    again.close()


def _frames_end(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read()
    end = len(MAGIC)
    for pos, length, _ in iter_frames(data):
        end = pos + HEADER.size + length
    return end


def test_zeroed_frames_before_a_later_file_are_corruption(tmp_path):
    """Zeros in an older file are only its clean end if the next file starts right after
    its last frame; zeros over frames a later file proves existed are lost commits."""
    root = str(tmp_path / "db")
    schema = pa.schema([pa.field("id", pa.int64(), False)])
    db = engine.Database.open(root)
    db.create_table("t", schema, primary_key=["id"])
    db.insert("t", pa.table({"id": [1]}, schema=schema))
    db.insert("t", pa.table({"id": [2]}, schema=schema))
    db.close()
    db = engine.Database.open(root)  # a second WAL file starts here
    db.insert("t", pa.table({"id": [3]}, schema=schema))
    db.close()
    first = os.path.join(root, "wal", sorted(os.listdir(os.path.join(root, "wal")))[0])
    with open(first, "rb") as f:
        data = f.read()
    start = list(iter_frames(data))[-1][0]
    with open(first, "wb") as f:
        f.write(data[:start] + bytes(len(data) - start + 4096))
    with pytest.raises(CorruptionError):
        engine.Database.open(root, fs=FS)
    db = engine.Database.open(root, fs=FS, recovery="point_in_time")
    assert db.recovery_warnings
    assert db.snapshot().table("t").row_count == 1
    db.close()


def test_failed_preallocation_falls_back_to_appending(tmp_path):
    class NoFallocate(engine.fileio.File):
        def preallocate(self, offset: int, length: int) -> None:
            raise OSError(95, "Operation not supported")

    class FS2(engine.fileio.FileSystem):
        def create(self, path: str) -> engine.fileio.File:
            return NoFallocate(path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                                             0o644))

    wal = WriteAheadLog(FS2(), str(tmp_path / "wal"), 1)
    for i in range(3):
        wal.sync(wal.append(b"payload %d" % i))
    assert wal.preallocate == 0
    assert os.path.getsize(wal.path) == wal.size
    wal.close()
    rec = WriteAheadLog.recover(FS, str(tmp_path / "wal"), 0)
    assert [p for _, p in rec.records] == [b"payload 0", b"payload 1", b"payload 2"]
    assert rec.truncated == []


def test_autocommit_short_path_edges(tmp_path):
    """``db.insert`` of a few rows in the table's shape skips the Transaction object; it
    must still wait for and give up on the writer lock, refuse a closed handle, take
    record batches and empty tables, and change nothing when a row is refused."""
    from engine.errors import ConflictError, DatabaseClosed, NotFound

    root = str(tmp_path / "db")
    schema = pa.schema([pa.field("id", pa.int64(), False), pa.field("s", pa.string(), False)])
    db = engine.Database.open(root, lock_timeout=0.05)
    db.create_table("t", schema, primary_key=["id"])
    assert db.insert("t", pa.record_batch([pa.array([1]), pa.array(["a"])], schema=schema)) == 1
    assert db.insert("t", schema.empty_table()) == 0
    with pytest.raises(ConstraintError, match="NOT NULL column 's'"):
        db.insert("t", pa.table({"id": [2], "s": pa.array([None], pa.string())}, schema=schema))
    with pytest.raises(NotFound):
        db.insert("nope", pa.table({"id": [2], "s": ["b"]}, schema=schema))
    tx = db.begin()
    with pytest.raises(ConflictError):
        db.insert("t", pa.table({"id": [3], "s": ["c"]}, schema=schema))
    tx.rollback()
    lsn = db.wal.last_lsn
    with pytest.raises(ConstraintError):
        db.insert("t", pa.table({"id": [1], "s": ["dup"]}, schema=schema))
    assert db.wal.last_lsn == lsn  # nothing logged for a refused row
    db.insert("t", pa.table({"id": [4], "s": ["d"]}, schema=schema))
    assert db.snapshot().get("t", 4) == {"id": 4, "s": "d"}
    db.close()
    with pytest.raises(DatabaseClosed):
        db.insert("t", pa.table({"id": [5], "s": ["e"]}, schema=schema))
    db = engine.Database.open(root)
    assert db.snapshot().scan("t").read_all().sort_by("id").to_pydict() == {
        "id": [1, 4], "s": ["a", "d"]}
    db.close()
