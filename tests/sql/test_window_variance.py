"""Window stddev/variance over frames: a frame of equal values has variance 0 exactly.
Frames' sums are differences of prefix sums over the whole input, and their rounding
showed as a standard deviation of up to 0.003 for frames of equal values near 1e9
(DuckDB: 0); the rest agrees with DuckDB to a relative 1e-6."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa


def test_equal_values_have_no_variance(db, session):
    n = 20_000
    rng = np.random.default_rng(0)
    x = np.where(np.arange(n) % 1000 < 500, 1e9 + 7.0, rng.normal(1e9, 1000, n))
    t = pa.table({"id": np.arange(n), "x": x})
    db.create_table("main.t", t.schema)
    db.insert("main.t", t)
    q = ("select id, stddev_samp(x) over (order by id rows between 5 preceding and current "
         "row), var_pop(x) over (order by id rows between 3 preceding and 3 following) "
         "from t")
    got = session.execute(q).reader.read_all().sort_by("id")
    duck = duckdb.connect()
    duck.register("t", t)
    want = duck.execute(q + " order by id").fetchall()
    for k in (1, 2):
        a = np.array(got.column(k).to_pylist(), dtype=float)
        b = np.array([r[k] for r in want], dtype=float)
        assert ((b == 0) == (a == 0)).all()
        assert np.allclose(a, b, rtol=1e-6, atol=0, equal_nan=True)
