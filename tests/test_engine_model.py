"""The engine against a trivially correct model: a dict of rows, under random operations.

Small thresholds force every path: rows in the write buffer and in bulk segments, deletion
vectors, checkpoints, compaction, reopen and WAL replay.
"""

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import engine
from engine import col

SCHEMA = pa.schema([("k", pa.int64()), ("g", pa.string()), ("v", pa.float64())])


def make_rows(rng, keys):
    return pa.table({
        "k": pa.array(keys, pa.int64()),
        "g": [rng.choice(["a", "b", "c", None]) for _ in keys],
        "v": [rng.choice([None, rng.random() * 100]) for _ in keys],
    })


def as_dict(table):
    return {r["k"]: (r["g"], r["v"]) for r in table.to_pylist()}


def predicate(rng):
    lo = rng.randrange(0, 400)
    return rng.choice([
        col("k") >= lo,
        (col("k") >= lo) & (col("k") < lo + rng.randrange(1, 60)),
        col("k").isin([rng.randrange(0, 400) for _ in range(5)]),
        col("g") == rng.choice(["a", "b"]),
        col("v").is_null(),
        (col("g") == "a") | (col("k") < 20),
    ])


def matches(pred, k, row):
    g, v = row
    t = pa.table({"k": [k], "g": pa.array([g], pa.string()), "v": pa.array([v], pa.float64())})
    return t.filter(pred.to_arrow()).num_rows == 1


@pytest.mark.parametrize("seed", range(6))
def test_random_operations_match_model(tmp_path, seed):
    rng = random.Random(seed)
    opts = dict(checkpoint_rows=rng.choice([50, 300, 10_000]), bulk_rows=rng.choice([8, 64]),
                compact_below=64)
    path = str(tmp_path / "db")
    db = engine.Database.open(path, **opts)
    db.create_table("t", SCHEMA, primary_key=["k"])
    model: dict[int, tuple] = {}
    for step in range(250):
        op = rng.random()
        if op < 0.35:
            n = rng.choice([1, 1, 3, 20, 100])
            keys = rng.sample(range(0, 400), n)
            rows = make_rows(rng, keys)
            if any(k in model for k in keys):
                with pytest.raises(engine.errors.ConstraintError):
                    db.insert("t", rows)
            else:
                assert db.insert("t", rows) == n
                model.update(as_dict(rows))
        elif op < 0.5:
            keys = rng.sample(range(0, 400), rng.choice([1, 5, 40]))
            rows = make_rows(rng, keys)
            update = rng.choice([None, ["v"], []])
            got = db.upsert("t", rows, update)
            new = as_dict(rows)
            count = 0
            for k, (g, v) in new.items():
                if k not in model:
                    model[k] = (g, v)
                    count += 1
                elif update is None:
                    model[k] = (g, v)
                    count += 1
                elif update == ["v"]:
                    model[k] = (model[k][0], v)
                    count += 1
            assert got == count
        elif op < 0.65:
            pred = predicate(rng)
            dead = [k for k, r in model.items() if matches(pred, k, r)]
            assert db.delete("t", pred) == len(dead)
            for k in dead:
                del model[k]
        elif op < 0.78:
            pred = predicate(rng)
            hit = [k for k, r in model.items() if matches(pred, k, r)]
            assert db.update("t", {"v": pc.field("v") + 1.0}, pred) == len(hit)
            for k in hit:
                g, v = model[k]
                model[k] = (g, None if v is None else v + 1.0)
        elif op < 0.85:
            with db.begin() as tx:  # a rolled-back transaction leaves no trace
                tx.delete("t")
                tx.insert("t", make_rows(rng, [1000, 1001]))
                tx.rollback()
        elif op < 0.9:
            db.checkpoint(compact=rng.random() < 0.5)
        elif op < 0.94:
            db.close()
            db = engine.Database.open(path, **opts)
        else:
            pred = predicate(rng)
            want = {k: r for k, r in model.items() if matches(pred, k, r)}
            got = as_dict(db.scan("t", predicate=pred).read_all())
            assert got == want, f"step {step}: scan with {pred}"
        if step % 25 == 0:
            assert as_dict(db.scan("t").read_all()) == model
            assert db.snapshot().table("t").row_count == len(model)
            probe = rng.sample(range(0, 400), 10)
            got = as_dict(db.lookup("t", pa.table({"k": pa.array(probe, pa.int64())})))
            assert got == {k: model[k] for k in probe if k in model}
            snap = db.snapshot()
            for k in probe:  # the single-key fast paths agree with the model too
                row = snap.get("t", k)
                assert (None if row is None else (row["g"], row["v"])) == model.get(k)
                one = as_dict(snap.lookup("t", pa.table({"k": pa.array([k], pa.int64())})))
                assert one == ({k: model[k]} if k in model else {})
    assert as_dict(db.scan("t").read_all()) == model
    assert db.check() == []
    db.close()
    db = engine.Database.open(path)
    assert as_dict(db.scan("t").read_all()) == model
    assert db.check() == []
    db.close()


@pytest.mark.parametrize("seed", range(3))
def test_keyless_table_matches_model(tmp_path, seed):
    rng = random.Random(100 + seed)
    path = str(tmp_path / "db")
    db = engine.Database.open(path, checkpoint_rows=100, bulk_rows=32, compact_below=64)
    db.create_table("t", SCHEMA)
    model: list[tuple] = []
    for _ in range(150):
        op = rng.random()
        if op < 0.5:
            rows = make_rows(rng, [rng.randrange(0, 50) for _ in range(rng.choice([1, 10, 50]))])
            db.insert("t", rows)
            model.extend((r["k"], r["g"], r["v"]) for r in rows.to_pylist())
        elif op < 0.7:
            k = rng.randrange(0, 50)
            assert db.delete("t", col("k") == k) == sum(1 for r in model if r[0] == k)
            model = [r for r in model if r[0] != k]
        elif op < 0.8:
            k = rng.randrange(0, 50)
            n = db.update("t", {"g": pa.scalar("z")}, col("k") == k)
            assert n == sum(1 for r in model if r[0] == k)
            model = [(a, "z" if a == k else b, c) for a, b, c in model]
        elif op < 0.9:
            db.checkpoint(compact=rng.random() < 0.5)
        else:
            db.close()
            db = engine.Database.open(path, checkpoint_rows=100, bulk_rows=32,
                                      compact_below=64)
        got = [tuple(r.values()) for r in db.scan("t").read_all().to_pylist()]
        assert sorted(got, key=repr) == sorted(model, key=repr)
    assert db.check() == []
    db.close()
