"""x op ANY / ALL (subquery): every operator, empty and NULL-holding subqueries, NULL x,
correlated or not, grouped or limited subqueries; checked against DuckDB."""

from __future__ import annotations

import itertools

import duckdb
import pytest

import kodiak_flight
from kodiak_flight.embedded.errors import NotSupportedError

SOURCES = ["(select b from t1)", "(select v from e)", "(select v from n)",
           "(select b from t1 x where x.b < t1.b)", "(select b from t1 x where x.a = t1.a)",
           "(select max(b) from t1 group by b % 2)", "(select b from t1 order by b limit 2)"]


@pytest.fixture(scope="module")
def both():
    con, duck = kodiak_flight.connect(), duckdb.connect()
    for c in (con, duck):
        c.execute("create table t1 (a int, b int)")
        c.execute("insert into t1 values (1, 2), (3, 4), (null, 5), (4, 1)")
        c.execute("create table e (v int)")
        c.execute("create table n (v int)")
        c.execute("insert into n values (2), (null)")
    yield con, duck
    con.close()


@pytest.mark.parametrize("op,quant,src", list(itertools.product(
    ["=", "<>", "<", "<=", ">", ">="], ["any", "all"], SOURCES)))
def test_quantified_comparison(both, op, quant, src):
    con, duck = both
    sql = f"select a, a {op} {quant} {src} from t1 order by a nulls first, b"
    assert con.sql(sql).fetchall() == duck.execute(sql).fetchall()


def test_quantified_in_where(both):
    con, duck = both
    sql = "select a from t1 where a > all (select b from t1 x where x.b < t1.b) order by a"
    assert con.sql(sql).fetchall() == duck.execute(sql).fetchall()


def test_any_needs_a_subquery(both):
    con, _ = both
    with pytest.raises(NotSupportedError,
                       match="ANY needs a subquery"):
        con.sql("select 1 = any (1, 2)").fetchall()
