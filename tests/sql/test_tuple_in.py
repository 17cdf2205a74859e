"""``(a, b) IN (SELECT x, y ...)``, NOT IN and as a value, with NULLs on both sides,
against DuckDB (which refuses the correlated form: checked against its EXISTS form)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from kodiak_flight.sql.errors import BindError

from .harness import check, paired


@pytest.fixture
def pair(db, session):
    t = pa.table({"a": pa.array([1, 2, 3, None, 5], pa.int32()),
                  "b": pa.array(["x", "y", None, "x", "z"])})
    u = pa.table({"p": pa.array([1, 2, None, 5], pa.int64()),
                  "q": pa.array(["x", None, "x", "w"])})
    return paired(db, session, {"t": t, "u": u})


@pytest.mark.parametrize("sql", [
    "select a, b from t where (a, b) in (select p, q from u)",
    "select a, b from t where (a, b) not in (select p, q from u)",
    "select a, b, (a, b) in (select p, q from u), (a, b) not in (select p, q from u) from t",
    "select a from t where not ((a, b) in (select p, q from u)) or a = 5",
    "select a, (b, a) in (select q, p from u where q is not null) from t",
    "select a, (a, b) in (select p, q from u union all select 3, null) from t",
    "select a from t where (a, b) in (select p, max(q) from u group by p)"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


def test_correlated(pair):
    session, duck = pair
    check(session, duck, "select a from t where (a, b) in (select p, q from u where p > t.a - 2)",
          duck_sql="select a from t where exists (select 1 from u where p > t.a - 2 and p = a "
                   "and q = b)")


def test_width_checked(pair):
    session, _ = pair
    with pytest.raises(BindError, match="returns 1 columns; the left side has 2"):
        session.execute("select a from t where (a, b) in (select p from u)")


def test_left_columns_not_captured(db, session):
    """``(i, g) IN (SELECT g, g FROM u)``: the left side's g is t's, though u has a g too
    (kept in the subquery's WHERE unqualified, u's g took it: 1,184 rows for 222)."""
    t = pa.table({"i": pa.array([0, 1, 2, 2, 3], pa.int32()),
                  "g": pa.array([0, 1, 2, 1, 3], pa.int32())})
    u = pa.table({"g": pa.array([0, 2, 2, None], pa.int32()), "w": ["a", "b", "c", "d"]})
    duck = duckdb.connect()
    for name, tab in (("t", t), ("u", u)):
        db.create_table(f"main.{name}", tab.schema)
        db.insert(f"main.{name}", tab)
        duck.register(name, tab)
    for sql in ["select i from t where (i, g) in (select g, g from u)",
                "select i, (i, g) in (select g, g from u) from t",
                "select i from t where (i, g) in (select g, g from u where w > 'a')",
                "select i from t a where (a.i, g) in (select g, g from t where i > 0)"]:
        check(session, duck, sql)
