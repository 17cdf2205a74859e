"""Joins without equality keys (streamed nested loop) and ORDER BY … LIMIT (top-N), checked
against DuckDB; and that a satisfied LIMIT stops a cross join's work."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql import Session

from .harness import check, load


@pytest.fixture
def both(db):
    rng = np.random.default_rng(7)
    n = 300
    a = pa.table({"k": pa.array(np.arange(n), pa.int64()),
                  "x": pa.array(rng.integers(0, 50, n), pa.int64(),
                                mask=rng.random(n) < 0.1),
                  "s": pa.array([f"s{i % 17}" for i in range(n)], pa.string())})
    b = pa.table({"y": pa.array(rng.integers(0, 50, 40), pa.int64(),
                                mask=rng.random(40) < 0.1),
                  "t": pa.array([f"t{i % 5}" for i in range(40)], pa.string())})
    empty = pa.table({"z": pa.array([], pa.int64())})
    duck = duckdb.connect()
    for name, t in (("a", a), ("b", b), ("e", empty)):
        load(db, name, t)
        duck.register(f"{name}_src", t)
        duck.execute(f"create table {name} as select * from {name}_src")
    s = Session(db)
    yield s, duck
    s.close()


@pytest.mark.parametrize("sql", [
    "select count(*) from a, b",
    "select count(*), sum(x), sum(y) from a cross join b",
    "select k, y from a join b on a.x < b.y where k < 20",
    "select k, y, t from a, b where a.x <= b.y and b.t <> 't1'",
    "select count(*) from a, b, (select * from b limit 3) c where a.x > b.y + c.y",
    "select count(*) from a, e",
    "select count(*) from e, a",
    "select k, y from a join b on a.x + b.y = 60 or a.x = b.y",
    "select count(*) from a a1, a a2 where a1.x < a2.x",
])
def test_joins_without_equality_keys(both, sql):
    check(*both, sql)


@pytest.mark.parametrize("sql", [
    "select k, x from a order by x, k limit 7",
    "select k, x from a order by x desc, k limit 7",
    "select k, x from a order by x nulls first, k limit 9",
    "select k, x from a order by x desc nulls last, k limit 9 offset 4",
    "select k, x from a order by x + k, k limit 5",
    "select s, count(*) c from a group by s order by c desc, s limit 3",
    "select k from a order by s, k limit 1000",
    "select k from a order by k limit 0",
    "select a.k, b.y from a, b order by a.k * b.y desc, a.k, b.y limit 4",
])
def test_order_by_limit_is_a_top_n(both, sql):
    check(*both, sql)


def test_top_n_over_many_batches(db):
    """Top-N keeps a bounded buffer while many batches stream by: same answer as a sort."""
    n = 700_000
    t = pa.table({"v": pa.array((np.arange(n) * 7919) % 1_000_003, pa.int64())})
    load(db, "big", t)
    s = Session(db)
    got = s.execute("select v from big order by v desc limit 3 offset 2").reader.read_all()
    want = sorted(t.column("v").to_pylist(), reverse=True)[2:5]
    assert got.column("v").to_pylist() == want
    s.close()


SCRIPT = textwrap.dedent("""
    import sys, time
    import engine
    from kodiak_flight.sql import Session
    db = engine.Database.open(sys.argv[1])
    s = Session(db)
    s.execute("create table keep(a bigint)")
    s.execute("insert into keep values " + ",".join(f"({i})" for i in range(1000)))
    t = time.monotonic()
    r = s.execute("select * from keep, keep k2, keep k3, keep k4 limit 1")
    assert r.reader.read_all().num_rows == 1
    r = s.execute("select * from keep, keep k2, keep k3, keep k4")
    assert r.reader.read_next_batch().num_rows > 0
    r.reader.close()
    del r
    print(round(time.monotonic() - t, 3))
""")


def test_limit_stops_a_cross_join_and_the_process_exits(tmp_path):
    """A 10^12-row cross join under LIMIT 1, and one whose reader is closed after a batch,
    leave no work running: the process finishes at once (it used to keep computing)."""
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip()) < 30
