"""corr, covar_pop/covar_samp, the regr_* family and bit_and/bit_or/bit_xor, grouped and
not, against DuckDB; where a variance is zero, NULL as PostgreSQL gives (DuckDB: NaN)."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql.errors import SqlError

from .harness import check


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    import engine
    from kodiak_flight.sql import Session

    rng = np.random.default_rng(1)
    n = 3000
    t = pa.table({"g": pa.array(rng.integers(0, 5, n), pa.int32()),
                  "x": pa.array(rng.normal(1e6, 3, n)), "y": pa.array(rng.normal(0, 1, n)),
                  "i": pa.array(rng.integers(-1000, 1000, n), pa.int64(),
                                mask=rng.random(n) < 0.1),
                  "d": pa.array([Decimal(int(v)) / 100 for v in rng.integers(0, 10**6, n)],
                                pa.decimal128(12, 2)),
                  "c": pa.array(np.full(n, 2.0))})
    db = engine.Database.open(str(tmp_path_factory.mktemp("stats")))
    db.create_table("main.t", t.schema)
    db.insert("main.t", t)
    duck = duckdb.connect()
    duck.register("t", t)
    yield Session(db), duck
    db.close()


@pytest.mark.parametrize("sql", [
    "select g, corr(y, x), covar_pop(y, x), covar_samp(y, i), regr_slope(y, x), "
    "regr_intercept(y, x), regr_r2(y, x) from t group by g",
    "select corr(y, x), covar_pop(i, y), regr_avgx(y, i), regr_avgy(y, i), regr_sxx(y, x), "
    "regr_syy(y, x), regr_sxy(y, d) from t",
    "select g, covar_samp(x, y) filter (where g = 0), corr(d, i) from t group by g",
    "select corr(y, x), covar_samp(y, x) from t where g > 10",
    "select g, bit_and(i), bit_or(i), bit_xor(i), bit_or(g) from t group by g",
    "select bit_and(i), bit_or(i), bit_xor(i) from t where i > 0",
    "select bit_or(i) from t where g > 10"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


def test_zero_variance_is_null(pair):
    session, _ = pair
    got = session.execute("select corr(c, x), regr_slope(y, c), regr_r2(c, x), "
                          "covar_samp(y, x) filter (where i = -1000 and g = 0 and y > 9) "
                          "from t").reader.read_all().to_pylist()[0]
    assert list(got.values()) == [None, None, 1.0, None]


@pytest.mark.parametrize("sql,message", [
    ("select corr(y, 'a') from t", "second argument is not defined for VARCHAR"),
    ("select corr('a', y) from t", "corr is not defined for VARCHAR"),
    ("select bit_or(x) from t", "bit_or is not defined for DOUBLE")])
def test_refused(pair, sql, message):
    session, _ = pair
    with pytest.raises(SqlError, match=message):
        session.execute(sql).reader.read_all()
