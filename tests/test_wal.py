"""Torn and corrupted write-ahead logs (DuckDB's torn-write test, byte by byte).

A small database with a handful of one-row commits is made once; every case works on a
fresh copy of its directory (shutil.copytree), damages the WAL file there and reopens it.

* The last frame cut at every byte offset: exactly the commits before it (all of them when
  the frame is whole), never anything else.
* Each byte of the last frame flipped: the committed prefix, or CorruptionError.
* A byte flipped in an earlier frame, which the frames after it prove was acknowledged:
  strict recovery raises CorruptionError naming the file and the frame's offset;
  ``recovery="point_in_time"`` keeps the valid prefix, and the result stays put.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import pyarrow as pa
import pytest

import engine
from engine import col
from engine.errors import CorruptionError
from engine.wal import HEADER, MAGIC, iter_frames

from .faultfs import NoSyncFileSystem

FS = NoSyncFileSystem()  # thousands of reopens; durability is not what is tested here

SCHEMA = pa.schema([("k", pa.int64()), ("v", pa.int64())])


def _commits():
    """(what it does to the database, what it does to the model), one per data commit."""

    def ins(k, v):
        return (lambda db: db.insert("t", pa.table({"k": [k], "v": [v]}, schema=SCHEMA)),
                lambda m: m.__setitem__(k, v))

    def dele(k):
        return (lambda db: db.delete("t", col("k") == k), lambda m: m.pop(k))

    def ups(k, v):
        return (lambda db: db.upsert("t", pa.table({"k": [k], "v": [v]}, schema=SCHEMA)),
                lambda m: m.__setitem__(k, v))

    return [ins(0, 0), ins(1, 10), ins(2, 20), dele(1), ups(0, 99), ins(3, 30), ins(4, 40)]


COMMITS = _commits()
N = len(COMMITS)


@dataclass
class Base:
    root: str
    wal_rel: str  # the WAL file, relative to root
    data: bytes  # its bytes
    frames: list[tuple[int, int]]  # (start, end) of each frame; frame 0 creates the table
    states: list[dict[int, int]]  # states[j]: the table after the first j data commits

    def frame(self, i: int) -> tuple[int, int]:
        return self.frames[i]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    root = str(tmp_path_factory.mktemp("wal") / "db")
    db = engine.Database.open(root)
    db.create_table("t", SCHEMA, primary_key=["k"])
    states: list[dict[int, int]] = [{}]
    for run, effect in COMMITS:
        run(db)
        m = dict(states[-1])
        effect(m)
        states.append(m)
    assert read(db) == states[-1]
    db.close()
    logs = sorted(n for n in os.listdir(os.path.join(root, "wal")) if n.endswith(".log"))
    assert len(logs) == 1, logs
    wal_rel = os.path.join("wal", logs[0])
    with open(os.path.join(root, wal_rel), "rb") as f:
        data = f.read()
    frames = [(pos, pos + HEADER.size + length) for pos, length, _ in iter_frames(data)]
    assert len(frames) == N + 1, "one frame for the table and one per commit"
    assert frames[-1][1] == len(data)
    os.remove(os.path.join(root, "LOCK"))  # not part of the data; each open makes its own
    return Base(root, wal_rel, data, frames, states)


def read(db: engine.Database) -> dict[int, int] | None:
    snap = db.snapshot()
    if not snap.has_table("t"):
        return None
    t = snap.scan("t").read_all().to_pydict()
    out = dict(zip(t["k"], t["v"], strict=True))
    assert len(out) == len(t["k"]), "duplicate primary key in a scan"
    assert snap.table("t").row_count == len(out)
    return out


class Case:
    """A fresh copy of the base directory with the WAL replaced by ``wal``."""

    counter = 0

    def __init__(self, base: Base, tmp: str, wal: bytes) -> None:
        Case.counter += 1
        self.root = os.path.join(tmp, f"case{Case.counter}")
        shutil.copytree(base.root, self.root)
        self.wal_path = os.path.join(self.root, base.wal_rel)
        with open(self.wal_path, "wb") as f:
            f.write(wal)

    def open(self, **kw) -> engine.Database:
        return engine.Database.open(self.root, fs=FS, **kw)

    def recover(self, **kw) -> dict[int, int] | None:
        db = self.open(**kw)
        try:
            state = read(db)
            assert db.check() == []
        finally:
            db.close()
        return state

    def drop(self) -> None:
        shutil.rmtree(self.root)


def flipped(data: bytes, i: int) -> bytes:
    b = bytearray(data)
    b[i] ^= 0xFF
    return bytes(b)


# -- the last frame: a torn write of a commit that was never acknowledged -----------------

def test_last_frame_cut_at_every_offset(base, tmp_path):
    start, end = base.frame(-1)
    for cut in range(start, end + 1):
        case = Case(base, str(tmp_path), base.data[:cut])
        want = base.states[N] if cut == end else base.states[N - 1]
        got = case.recover()
        assert got == want, f"WAL cut at offset {cut} (last frame {start}..{end})"
        if cut % 16 == 0 or cut == end - 1:
            # Recovery left a log that takes new commits and reopens cleanly, twice.
            db = case.open()
            db.insert("t", pa.table({"k": [100], "v": [1]}, schema=SCHEMA))
            db.close()
            assert case.recover() == {**want, 100: 1}, f"after cut {cut} and a new commit"
            assert case.recover() == {**want, 100: 1}
        case.drop()


def test_last_frame_each_byte_flipped(base, tmp_path):
    start, end = base.frame(-1)
    for i in range(start, end):
        case = Case(base, str(tmp_path), flipped(base.data, i))
        try:
            got = case.recover()
        except CorruptionError:
            case.drop()
            continue
        assert got in (base.states[N - 1], base.states[N]), (
            f"byte {i} of the last frame ({start}..{end}) flipped: wrong data {got}")
        case.drop()


def test_trailing_garbage_and_zeros_after_last_frame(base, tmp_path):
    for tail in (b"\0" * 5, b"\0" * 100, b"\xff" * 30, HEADER.pack(0, 0, 0, 0)):
        case = Case(base, str(tmp_path), base.data + tail)
        assert case.recover() == base.states[N]
        case.drop()


# -- earlier frames: acknowledged commits, proven durable by the frames after them --------

def _check_earlier_frame_byte(base: Base, tmp: str, f: int, i: int, pit: bool = True) -> None:
    start, end = base.frame(f)
    what = f"byte {i} of frame {f} ({start}..{end}) flipped"
    damaged = flipped(base.data, i)
    case = Case(base, tmp, damaged)
    try:
        got = case.recover()
    except CorruptionError as exc:
        msg = str(exc)
    else:
        pytest.fail(f"{what}: strict recovery opened the database holding {got} instead of "
                    f"{base.states[N]}: acknowledged commits dropped without an error")
    assert case.wal_path in msg and f"offset {start}" in msg, (
        f"{what}: the error should name the file and offset {start}: {msg}")
    case.drop()
    if not pit:
        return
    case = Case(base, tmp, damaged)
    db = case.open(recovery="point_in_time")
    try:
        want = None if f == 0 else base.states[f - 1]
        assert read(db) == want, f"{what}: point_in_time must keep the valid prefix"
        assert db.recovery_warnings, f"{what}: dropping commits must not be silent"
        assert db.check() == []
    finally:
        db.close()
    assert case.recover() == want, f"{what}: the point-in-time result must stick"
    case.drop()


@pytest.mark.parametrize("f", range(1, N))
def test_earlier_frame_byte_flipped(base, tmp_path, f):
    """Strict mode for every byte of frame 2 (the third commit); otherwise the header and a
    spread of payload bytes, to keep the run short."""
    start, end = base.frame(f)
    sample = {*range(start, start + HEADER.size), *range(start + HEADER.size, end, 23), end - 1}
    for i in range(start, end) if f == 2 else sorted(sample):
        _check_earlier_frame_byte(base, str(tmp_path), f, i, pit=i in sample)


def test_first_frame_byte_flipped(base, tmp_path):
    """The first frame of the oldest WAL file is as acknowledged as any other: the frames
    after it prove it. Treating its damage as a torn tail would silently drop every commit
    in the log."""
    start, end = base.frame(0)
    for i in sorted({*range(start, start + HEADER.size), *range(start + HEADER.size, end, 41)}):
        _check_earlier_frame_byte(base, str(tmp_path), 0, i)


def test_file_magic_flipped(base, tmp_path):
    for i in range(len(MAGIC)):
        case = Case(base, str(tmp_path), flipped(base.data, i))
        with pytest.raises(CorruptionError) as info:
            case.recover()
        assert case.wal_path in str(info.value)
        case.drop()


def test_damage_at_the_end_of_a_file_followed_by_another(tmp_path):
    """A WAL file is finished (fsynced) before the next one starts, so damage at its end is
    damage to acknowledged commits even without a frame after it in the same file."""
    root = str(tmp_path / "db")
    db = engine.Database.open(root)
    db.create_table("t", SCHEMA, primary_key=["k"])
    db.insert("t", pa.table({"k": [1], "v": [1]}, schema=SCHEMA))
    db.close()
    db = engine.Database.open(root)  # a new WAL file starts here
    db.insert("t", pa.table({"k": [2], "v": [2]}, schema=SCHEMA))
    db.close()
    logs = sorted(n for n in os.listdir(os.path.join(root, "wal")) if n.endswith(".log"))
    assert len(logs) == 2
    first = os.path.join(root, "wal", logs[0])
    with open(first, "rb") as fh:
        data = fh.read()
    start = list(iter_frames(data))[-1][0]
    for damage in (data[:-1], data[:start + 3], flipped(data, len(data) - 1)):
        case = str(tmp_path / f"case{len(damage)}-{damage[-1]}")
        shutil.copytree(root, case)
        with open(os.path.join(case, "wal", logs[0]), "wb") as fh:
            fh.write(damage)
        with pytest.raises(CorruptionError) as info:
            engine.Database.open(case, fs=FS)
        assert logs[0] in str(info.value)
        shutil.rmtree(case)
