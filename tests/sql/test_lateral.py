"""LATERAL subqueries in FROM: correlated to the FROM items before them, with LIMIT per
left row, aggregates over no rows, NULL keys, chains and LEFT JOIN LATERAL; against
DuckDB."""

from __future__ import annotations

import pyarrow as pa
import pytest

from .harness import check, paired, refused


@pytest.fixture
def pair(db, session):
    t = pa.table({"g": pa.array([0, 1, 2, None, 1], pa.int32()), "s": ["a", "b", "c", "d", "e"]})
    u = pa.table({"g": pa.array([0, 1, 1, 2, None, 5], pa.int32()),
                  "w": ["p", "q", "r", None, "s", "t"],
                  "v": pa.array([1, 2, 3, 4, 5, 6], pa.int64())})
    return paired(db, session, {"t": t, "u": u})


@pytest.mark.parametrize("sql", [
    "select t.g, x.w from t, lateral (select w from u where u.g = t.g order by w limit 1) x",
    "select t.g, t.s, x.* from t cross join lateral (select w, v from u where u.g = t.g) x",
    "select t.s, x.w from t left join lateral (select w from u where u.g = t.g and v > 1) x "
    "on true",
    "select t.s, x.total from t, lateral (select sum(v) as total from u where u.g >= t.g) x",
    "select t.s, x.a from t, lateral (select count(*) as a from u where u.g = t.g) x",
    "select t.s, x.k from t, lateral (select 1 as k) x",
    "select t.s, x.w from t left join lateral (select w from u where u.g = t.g "
    "order by v desc limit 1) x on true",
    "select t.s, x.n from t, lateral (select t.g * 10 as n) x",
    "select a.s, b.s, x.w from t a join t b on a.g = b.g, "
    "lateral (select w from u where u.g = a.g and u.v > b.g) x",
    "select t.s, x.w, y.c from t, lateral (select w, v from u where u.g = t.g) x, "
    "lateral (select count(*) as c from u where u.v <= x.v) y",
    "select count(*), sum(x.v) from t, lateral (select v from u where u.g = t.g) x "
    "where t.s > 'a'",
    "select t.s, x.a, x.b from t, lateral (select w, v from u where u.g = t.g) x(a, b)",
    "select t.s, x.w from t join lateral (select w from u where u.g = t.g) x on x.w > 'p'"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


@pytest.mark.parametrize("sql,message", [
    ("select * from t right join lateral (select 1) x on true", "LEFT JOIN ... ON true only"),
    ("select * from t left join lateral (select w from u where u.g = t.g) x on x.w = 'p'",
     "LEFT JOIN ... ON true only"),
    ("select * from lateral (select 1) x", "is not supported")])
def test_refused(pair, sql, message):
    refused(pair[0], sql, message)
