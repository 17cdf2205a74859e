"""``Snapshot.count``: how many rows a scan with the same predicate yields, counted from
masks, through pruned and read batches, deletes, the write buffer, key and index probes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import engine
from engine.predicate import And, Compare, In, IsNull, Not, Or


@pytest.fixture
def db(tmp_path):
    d = engine.Database.open(str(tmp_path / "db"))
    rng = np.random.default_rng(1)
    n = 150_000
    t = pa.table({"id": pa.array(np.arange(n), pa.int64()),
                  "g": pa.array(rng.integers(0, 50, n), pa.int16()),
                  "s": pa.array([f"s{v}" for v in rng.integers(0, 9, n)],
                                mask=rng.random(n) < 0.05)})
    d.create_table("main.t", t.schema, primary_key=["id"])
    d.insert("main.t", t)
    d.create_table("main.k", t.schema)  # keyless
    d.insert("main.k", t)
    with d.begin() as tx:
        tx.create_index("k_g", "main.k", ["g"])
        tx.delete("main.t", Compare("g", "==", 3))
        tx.delete("main.k", Compare("id", "<", 1000))
        tx.insert("main.t", pa.table({"id": pa.array([n + 1, n + 2], pa.int64()),
                                      "g": pa.array([3, 7], pa.int16()),
                                      "s": ["s1", None]}))
    yield d
    d.close()


PREDICATES = [None, Compare("g", "==", 7), Compare("g", "!=", 7), Compare("id", "<", 70_000),
              Compare("id", ">=", 149_000), Compare("id", "==", 5), In("id", (1, 2, 150_001)),
              Compare("g", "==", 300), IsNull("s", False), IsNull("s", True),
              And((Compare("g", "<", 10), Compare("s", "==", "s1"))),
              Or((Compare("g", "==", 3), Compare("id", ">", 149_990))),
              Not(Compare("g", ">", 2)), In("g", (1, 2, 3))]


@pytest.mark.parametrize("table", ["main.t", "main.k"])
@pytest.mark.parametrize("p", PREDICATES, ids=str)
def test_count_is_what_the_scan_yields(db, table, p):
    snap = db.snapshot()
    assert snap.count(table, p) == snap.scan(table, columns=["id"], predicate=p).read_all() \
        .num_rows
