"""FILTER (WHERE ...) where an aggregate keeps NULL values (list), over windows, and
first/last with ORDER BY, against DuckDB.

Found by a differential fuzz: FILTER made the rows it drops NULL values of the argument,
which every aggregate skipping NULLs ignores but list() kept ([NULL, NULL, 2] for [2]);
`agg(x) FILTER (...) OVER (...)` was an internal error; first(x ORDER BY y) was refused
and last() unknown."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kodiak_flight.sql.errors import SqlError

from .harness import check, paired


@pytest.fixture
def pair(db, session):
    t = pa.table({"g": pa.array([1, 1, 1, 2, 2, 3], pa.int32()),
                  "x": pa.array([None, 5, 3, 7, None, None], pa.int64()),
                  "y": pa.array([1, 2, 3, 2, 1, 1], pa.int64())})
    return paired(db, session, {"t": t})


@pytest.mark.parametrize("sql", [
    "select list(y order by y) filter (where y > 1) from t",
    "select g, list(x order by y) filter (where y > 1) from t group by g",
    "select g, list(x) filter (where y > 1) from t group by g",
    "select g, list(x order by y) filter (where y < 2), count(*) filter (where x is null) "
    "from t group by g",
    "select g, first(x order by y), last(x order by y), first(x order by y desc) "
    "from t group by g",
    "select first(x order by y), last(x order by y) filter (where x is not null) from t",
    "select g, first(x order by y) filter (where y > 1) from t group by g",
    "select g, count(*) filter (where y > 1) over (partition by g), "
    "sum(x) filter (where y > 1) over (partition by g order by y) from t",
    "select g, avg(x) filter (where x > 3) over (), min(y) filter (where g > 1) over () "
    "from t"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


def test_list_filter_over_a_window_refused(pair):
    session, _ = pair
    with pytest.raises(SqlError, match="over a window is not supported"):
        session.execute("select list(x) filter (where y > 1) over (partition by g) from t")
