"""I/O errors, SQLite style: fail the Nth file operation for N = 1, 2, 3 ... during one
operation (a small insert, a bulk insert, a checkpoint, ...) until it gets through.

Each failing attempt must raise a KodiakError (StorageError, or DatabaseClosed when a failed
fsync poisoned the handle). Afterwards the database holds all or none of that commit, a
StorageError meaning none ("the failed commit changed nothing"); a handle that was not
poisoned keeps working; the directory reopens to the same all-or-none state; and
``db.check()`` finds nothing, before and after the reopen.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import engine
from engine import col
from engine.errors import CorruptionError, DatabaseClosed, KodiakError, StorageError

from .faultfs import FaultyFileSystem

KV = pa.schema([("k", pa.int64()), ("v", pa.int64())])
LOG = pa.schema([("g", pa.int64()), ("v", pa.int64())])
MAX_N = 200


def kv_rows(keys, v=0) -> pa.Table:
    keys = list(keys)
    return pa.table({"k": pa.array(keys, pa.int64()), "v": pa.array([v] * len(keys),
                                                                      pa.int64())})


def log_rows(g, n) -> pa.Table:
    return pa.table({"g": pa.array([g] * n, pa.int64()), "v": pa.array(range(n), pa.int64())})


State = tuple[dict, list]


def read(db: engine.Database) -> State:
    snap = db.snapshot()
    t = snap.scan("kv").read_all().to_pydict()
    kv = dict(zip(t["k"], t["v"], strict=True))
    assert len(kv) == len(t["k"]) == snap.table("kv").row_count
    lg = snap.scan("log").read_all().to_pydict()
    return kv, sorted(zip(lg["g"], lg["v"], strict=True))


def _seed(db: engine.Database) -> None:
    """Rows in segments (with deletion vectors), in the write buffer, and deleted ones."""
    db.create_table("kv", KV, primary_key=["k"])
    db.create_table("log", LOG)
    db.insert("kv", kv_rows(range(0, 5000)))  # a bulk segment
    db.insert("log", log_rows(1, 4500))
    db.checkpoint()
    db.insert("kv", kv_rows(range(10_000, 10_050)))  # buffered
    db.delete("kv", col("k") < 100)  # deletes in a segment
    db.delete("log", col("v") < 10)
    db.update("kv", {"v": pc.field("v") + 1}, col("k") >= 10_040)  # buffered rows


@dataclass
class Scenario:
    name: str
    run: Callable[[engine.Database], object]
    changes: bool = True  # whether a successful run changes the data
    opts: dict | None = None


SCENARIOS = [
    Scenario("small insert", lambda db: db.insert("kv", kv_rows([20_000, 20_001], 7))),
    Scenario("bulk insert", lambda db: db.insert("kv", kv_rows(range(30_000, 34_500), 8))),
    Scenario("bulk insert, keyless", lambda db: db.insert("log", log_rows(2, 4200))),
    Scenario("update and delete",
             lambda db: (db.update("kv", {"v": pc.field("v") * 2}, col("k") < 3000),
                         db.delete("log", col("v") > 4000))),
    Scenario("multi-statement transaction", lambda db: _multi(db)),
    Scenario("upsert", lambda db: db.upsert("kv", kv_rows(range(4000, 9000), 9))),
    Scenario("checkpoint", lambda db: db.checkpoint(), changes=False),
    Scenario("compact", lambda db: db.checkpoint(compact=True), changes=False),
    # Every commit checkpoints (wal_limit=1): faults there come after the commit is durable.
    Scenario("small insert + automatic checkpoint",
             lambda db: db.insert("kv", kv_rows([20_000, 20_001], 7)), opts={"wal_limit": 1}),
    Scenario("bulk insert + automatic checkpoint",
             lambda db: db.insert("kv", kv_rows(range(30_000, 34_500), 8)),
             opts={"wal_limit": 1}),
]


def _multi(db: engine.Database) -> None:
    with db.begin() as tx:
        tx.insert("kv", kv_rows(range(40_000, 44_200), 3))
        tx.delete("kv", (col("k") >= 100) & (col("k") < 200))
        tx.insert("log", log_rows(3, 5))
        tx.upsert("kv", kv_rows([150, 10_001, 50_000], 4))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A seeded data directory, and its state before and after each scenario runs cleanly."""
    root = str(tmp_path_factory.mktemp("iofaults") / "seed")
    db = engine.Database.open(root)
    _seed(db)
    db.close()
    os.remove(os.path.join(root, "LOCK"))
    expected = {}
    for sc in SCENARIOS:
        d = root + "-" + sc.name.replace(" ", "_")
        shutil.copytree(root, d)
        db = engine.Database.open(d, **(sc.opts or {}))
        before = read(db)
        sc.run(db)
        after = read(db)
        assert db.check() == []
        db.close()
        assert (after != before) == sc.changes, sc.name
        expected[sc.name] = (before, after)
        shutil.rmtree(d)
    return root, expected


def _describe(state: State, before: State, after: State) -> str:
    if state == after:  # first: for a checkpoint the two are the same
        return "after"
    if state == before:
        return "before"
    kv, lg = state
    return (f"neither: kv {len(kv)} rows (before {len(before[0])}, after {len(after[0])}), "
            f"log {len(lg)} rows (before {len(before[1])}, after {len(after[1])})")


class Problem(Exception):
    pass


def attempt(base, tmp: str, sc: Scenario, n: int, sticky: bool) -> tuple[bool, str]:
    """Run the scenario with the n-th operation failing; (whether the fault fired, a
    description of what went wrong or "")."""
    root, expected = base
    before, after = expected[sc.name]
    follow_up = kv_rows([99_999], 1)
    d = os.path.join(tmp, f"n{n}")
    shutil.copytree(root, d)
    fs = FaultyFileSystem(d)
    db = engine.Database.open(d, fs=fs, **(sc.opts or {}))
    first = fs.ops
    fs.fail_at(n, errno.ENOSPC if n % 2 else errno.EIO, sticky=sticky)
    error = None
    try:
        sc.run(db)
    except Exception as exc:  # noqa: BLE001
        error = exc
    fired = fs.injected > 0
    fs.disarm()
    kind, path = fs.trace[first + n - 1] if fired else ("-", d)
    what = f"fault at op {n}{'+' if sticky else ''} ({kind} {os.path.relpath(path, d)})"

    def problem(msg: str) -> Problem:
        return Problem(f"{what}: {msg}")

    try:
        if error is not None and not isinstance(error, KodiakError):
            raise problem(f"raised {type(error).__name__}, not a KodiakError: {error}")
        if error is not None and not fired:
            raise problem(f"raised without an injected fault: {error!r}")
        poisoned = isinstance(error, DatabaseClosed)
        promise = ("after" if error is None else "before"
                   if isinstance(error, StorageError) and sc.changes else None)
        if not poisoned:
            try:
                state, problems = read(db), db.check()
            except Exception as exc:  # noqa: BLE001
                raise problem(f"raised {error!r}; then reading the live handle raised "
                              f"{type(exc).__name__}: {exc}") from exc
            desc = _describe(state, before, after)
            if promise and desc != promise:
                raise problem(f"raised {error!r}, but the live handle shows the {desc} state"
                              if error else f"succeeded, but the handle shows {desc}")
            if problems:
                raise problem(f"raised {error!r}; check() on the live handle: {problems}")
            try:  # the handle must keep working
                db.insert("kv", follow_up)
            except DatabaseClosed:
                poisoned = True  # e.g. the WAL could not be restarted: must reopen
        db.close()
        try:
            db = engine.Database.open(d)
        except Exception as exc:  # noqa: BLE001
            raise problem(f"raised {error!r}; afterwards the database does not open: "
                          f"{type(exc).__name__}: {exc}") from exc
        try:
            state, problems = read(db), db.check()
        except Exception as exc:  # noqa: BLE001
            raise problem(f"raised {error!r}; after reopen reading raised "
                          f"{type(exc).__name__}: {exc}") from exc
        finally:
            db.close()
        kv, lg = state
        if not poisoned:
            if 99_999 not in kv:
                raise problem("the commit after the fault was acknowledged but lost")
            kv = {k: v for k, v in kv.items() if k != 99_999}
        desc = _describe((kv, lg), before, after)
        if desc not in ("before", "after") or (promise and desc != promise):
            raise problem(f"raised {error!r}; after reopen the state is {desc}")
        if problems:
            raise problem(f"raised {error!r}; check() after reopen: {problems}")
    except Problem as exc:
        return fired, str(exc).replace(d + os.sep, "").replace(d, "<db>")
    finally:
        db.close()
        shutil.rmtree(d)
    return fired, ""


def run_faults(base, tmp: str, sc: Scenario, sticky: bool) -> int:
    """Fail operation 1, 2, 3 ... until the scenario gets through; report every problem."""
    found = []
    for n in range(1, MAX_N + 1):
        fired, msg = attempt(base, tmp, sc, n, sticky)
        if msg:
            found.append(msg)
        if not fired:
            break
    else:
        found.append(f"still failing after {MAX_N} faults")
    if found:
        pytest.fail(f"{sc.name}: {len(found)} of {n} fault points went wrong:\n"
                    + "\n".join(found), pytrace=False)
    return n


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fail_nth_operation(base, tmp_path, sc):
    n = run_faults(base, str(tmp_path), sc, sticky=False)
    assert n >= 2 if sc.changes else n >= 1


@pytest.mark.parametrize("sc", [s for s in SCENARIOS if s.name in (
    "bulk insert", "checkpoint", "bulk insert + automatic checkpoint")], ids=lambda s: s.name)
def test_fail_every_operation_from_nth(base, tmp_path, sc):
    """Persistent failure (a full disk stays full): every operation from the Nth fails."""
    run_faults(base, str(tmp_path), sc, sticky=True)


def test_enospc_then_retry_succeeds(tmp_path):
    """A full disk refuses one commit; once there is room the same handle commits again."""
    path = str(tmp_path / "db")
    os.makedirs(path)
    fs = FaultyFileSystem(path)
    db = engine.Database.open(path, fs=fs)
    db.create_table("kv", KV, primary_key=["k"])
    rng = random.Random(5)
    model = {}
    for i in range(40):
        keys = [i * 10 + j for j in range(rng.choice([1, 3]))]
        if rng.random() < 0.3:
            fs.fail_at(1, errno.ENOSPC)  # the WAL write
            with pytest.raises(StorageError):
                db.insert("kv", kv_rows(keys, i))
            fs.disarm()
        else:
            db.insert("kv", kv_rows(keys, i))
            model.update({k: i for k in keys})
    assert dict(zip(*db.scan("kv").read_all().to_pydict().values(), strict=True)) == model
    db.close()
    db = engine.Database.open(path)
    assert dict(zip(*db.scan("kv").read_all().to_pydict().values(), strict=True)) == model
    assert db.check() == []
    db.close()


# -- one test per failure found by the sweeps above, each at a single named operation -----

def _op_number(base, sc: Scenario, kind: str, suffix: str) -> int:
    """Which operation of a clean run of ``sc`` is the first ``kind`` on a path ending in
    ``suffix`` (counted as fail_at counts)."""
    root, _ = base
    d = root + "-dry"
    shutil.copytree(root, d)
    try:
        fs = FaultyFileSystem(d)
        db = engine.Database.open(d, fs=fs, **(sc.opts or {}))
        first = fs.ops
        sc.run(db)
        db.close()
        for i, (k, p) in enumerate(fs.trace[first:], start=1):
            if k == kind and p.endswith(suffix):
                return i
        raise AssertionError(f"{sc.name} does no {kind} on *{suffix}: {fs.trace[first:]}")
    finally:
        shutil.rmtree(d)


def _scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def test_failed_wal_fsync_keeps_the_commits_segment_files(base, tmp_path):
    """A bulk insert writes its segment, appends the WAL frame naming it, and the fsync of
    the WAL fails (DatabaseClosed). The frame is in the file, so reopening replays it; the
    segment it names must still exist."""
    sc = _scenario("bulk insert")
    n = _op_number(base, sc, "sync", ".log")
    fired, msg = attempt(base, str(tmp_path), sc, n, sticky=False)
    assert fired
    assert not msg, msg


def test_failed_manifest_directory_sync_keeps_the_new_files(base, tmp_path):
    """A checkpoint renames MANIFEST.tmp over MANIFEST and then the directory fsync fails:
    the new manifest is already the one on disk, so the segment and deletion-vector files it
    names must not be removed."""
    sc = _scenario("checkpoint")
    n = _op_number(base, sc, "sync_dir", os.path.basename(base[0] + "-dry"))
    fired, msg = attempt(base, str(tmp_path), sc, n, sticky=False)
    assert fired
    assert not msg, msg


@pytest.mark.parametrize("name", ["small insert + automatic checkpoint",
                                  "bulk insert + automatic checkpoint"])
def test_failed_automatic_checkpoint_does_not_fail_the_commit(base, tmp_path, name):
    """The commit is durable and visible before the automatic checkpoint runs; a checkpoint
    failure then must not surface as StorageError ("nothing changed") from the commit, nor
    remove the commit's segment files."""
    sc = _scenario(name)
    n = _op_number(base, sc, "create", ".arrow") if name.startswith("small") else \
        _op_number(base, sc, "create", "MANIFEST.tmp")
    fired, msg = attempt(base, str(tmp_path), sc, n, sticky=False)
    assert fired
    assert not msg, msg


def test_check_does_not_rewind_segment_ids(tmp_path):
    """Found by the sweep above (it calls check() between the fault and the next commit), but
    no fault is needed: check() re-reads the manifest, and reading it must not reset the
    segment-id counter to the manifest's, or the next checkpoint writes its segment under
    the id of a bulk insert's segment, overwriting that live file."""
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    db.create_table("kv", KV, primary_key=["k"])
    db.checkpoint()
    db.insert("kv", kv_rows(range(5000)))  # a bulk segment, newer than the manifest
    assert db.check() == []
    db.insert("kv", kv_rows([1_000_000], 1))  # buffered
    db.checkpoint()  # writes the buffer as a new segment
    db.close()
    try:
        db = engine.Database.open(path)
    except CorruptionError as exc:
        pytest.fail(f"a segment file was overwritten: {exc}")
    try:
        assert db.snapshot().table("kv").row_count == 5001
        assert db.check() == []
    finally:
        db.close()


@pytest.mark.parametrize("victim", ["segments", "deletes"])
def test_missing_file_named_by_the_manifest_is_a_corruption_error(tmp_path, victim):
    """A data file the manifest names has gone (found by the sweep when a checkpoint removed
    files its installed manifest named): open must raise CorruptionError naming it, not a
    bare OSError, and check() on a live handle must report it rather than raise."""
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    db.create_table("kv", KV, primary_key=["k"])
    db.insert("kv", kv_rows(range(5000)))
    db.delete("kv", col("k") < 10)
    db.checkpoint()
    name = sorted(os.listdir(os.path.join(path, victim)))[0]
    os.remove(os.path.join(path, victim, name))
    try:
        problems = db.check()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"check() raised {type(exc).__name__} instead of reporting: {exc}")
    finally:
        db.close()
    assert any(name in p for p in problems), problems
    with pytest.raises(CorruptionError) as info:
        engine.Database.open(path)
    assert name in str(info.value)
