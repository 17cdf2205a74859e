"""``Session.execute`` of a query text it ran before skips parsing and binding: the query is
kept like a prepared statement (``plancache``), so a Flight SQL client's plain statements
(ADBC ``execute`` without parameters) bind once. Answers stay those of a fresh run."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import BindError

from .harness import check, duck_twin, thousand_rows


def rows(session: Session, sql: str) -> list[dict]:
    return session.execute(sql).reader.read_all().to_pylist()


@pytest.fixture
def filled(session: Session) -> Session:
    return thousand_rows(session, "create table t (id bigint, a int, s varchar)")


def test_the_same_text_binds_once(filled, binds):
    sql = "select a, count(*) as n from t where id < 100 group by a order by a"
    first = rows(filled, sql)
    binds.clear()
    for _ in range(3):
        assert rows(filled, sql) == first
    assert not binds
    rows(filled, sql + " ")  # another text: bound anew
    assert len(binds) == 1


def test_rows_written_since_are_seen(filled):
    sql = "select count(*) as n from t where a = 3"
    assert rows(filled, sql) == [{"n": 143}]
    filled.execute("insert into t values (5000, 3, 'x'), (5001, 3, 'y')")
    assert rows(filled, sql) == [{"n": 145}]


def test_a_catalog_change_binds_again(filled, binds):
    sql = "select * from t where id = 1"
    assert rows(filled, sql) == [{"id": 1, "a": 1, "s": "s1"}]
    filled.execute("alter table t add column b double default 2.5")
    binds.clear()
    assert rows(filled, sql) == [{"id": 1, "a": 1, "s": "s1", "b": 2.5}]
    assert len(binds) == 1
    filled.execute("drop table t")
    with pytest.raises(BindError):
        filled.execute(sql)


def test_a_temporary_table_shadows_after_the_first_run(filled):
    sql = "select count(*) as n from t"
    assert rows(filled, sql) == [{"n": 1000}]
    filled.execute("create temporary table t (x int)")
    filled.execute("insert into t values (1), (2)")
    assert rows(filled, sql) == [{"n": 2}]


def test_the_current_schema_is_part_of_the_key(session):
    session.execute("create schema other")
    session.execute("create table t (x int)")
    session.execute("create table other.t (x int)")
    session.execute("insert into t values (1)")
    session.execute("insert into other.t values (2), (3)")
    sql = "select count(*) as n from t"
    assert rows(session, sql) == [{"n": 1}]
    session.execute("use other")
    assert rows(session, sql) == [{"n": 2}]


def test_variables_and_now_are_read_per_run(filled, binds):
    """A text naming a variable runs as before (not kept); ``now()`` is read per run."""
    filled.execute("set k = 3")
    sql = "select count(*) as n from t where a = $k"
    assert rows(filled, sql) == [{"n": 143}]
    filled.execute("set k = 6")
    assert rows(filled, sql) == [{"n": 142}]
    assert not filled._queries
    now = "select current_timestamp as t"
    first = rows(filled, now)[0]["t"]
    time.sleep(0.01)
    assert rows(filled, now)[0]["t"] > first


def test_statements_and_parameters_take_the_usual_path(filled, binds):
    """Only a single query without parameters is kept: the rest run as before."""
    assert filled.execute("select 1 as x; select 2 as x").reader.read_all().to_pylist() == \
        [{"x": 2}]
    p = pa.record_batch([pa.array([5], pa.int64())], names=["p"])
    for _ in range(2):
        assert filled.execute("select s from t where id = ?", p).reader.read_all() \
            .to_pylist() == [{"s": "s5"}]
    assert not filled._queries


def test_answers_match_duckdb_when_run_again(session):
    rng = np.random.default_rng(3)
    n = 20_000
    orders = pa.table({"o_key": pa.array(np.arange(n), pa.int64()),
                       "o_status": pa.array(rng.choice(["F", "O", "P"], n))})
    lines = pa.table({"l_key": pa.array(np.sort(rng.integers(0, n, 4 * n)), pa.int64()),
                      "l_qty": pa.array(rng.integers(1, 50, 4 * n), pa.int64())})
    con = duck_twin(session.db, {"orders": orders, "lines": lines})
    sql = """select o_status, count(*) as n, sum(l_qty) as q from orders, lines
             where o_key = l_key and exists (select * from lines l2 where l2.l_key = o_key
                                             and l2.l_qty > 45)
             group by o_status order by o_status"""
    for _ in range(3):
        check(session, con, sql)
    con.close()


def test_a_transaction_sees_its_own_writes(filled):
    sql = "select count(*) as n from t where a = 0"
    assert rows(filled, sql) == [{"n": 143}]
    filled.execute("begin")
    filled.execute("insert into t values (7000, 0, 'z')")
    assert rows(filled, sql) == [{"n": 144}]
    filled.execute("rollback")
    assert rows(filled, sql) == [{"n": 143}]


def test_a_failed_first_run_is_not_kept_wrong(session):
    sql = "select count(*) as n from later"
    with pytest.raises(BindError):
        session.execute(sql)
    session.execute("create table later (x int)")
    session.execute("insert into later values (1), (2), (3)")
    assert rows(session, sql) == [{"n": 3}]


def test_a_join_is_optimised_again_only_when_row_counts_change(filled, optimizes):
    """Its join order follows the row counts: the same counts, the same plan (kept); other
    counts, optimised anew. Answers stay those of a fresh run."""
    filled.execute("create table u (a int, label varchar)")
    filled.execute("insert into u values (1, 'one'), (3, 'three')")
    sql = "select u.label, count(*) as n from t join u on t.a = u.a group by u.label " \
          "order by u.label"
    first = rows(filled, sql)
    assert first == [{"label": "one", "n": 143}, {"label": "three", "n": 143}]
    optimizes.clear()
    for _ in range(3):
        assert rows(filled, sql) == first
    assert not optimizes
    filled.execute("insert into u values (3, 'three again')")
    assert rows(filled, sql)[-1] == {"label": "three again", "n": 143}
    assert len(optimizes) == 1
    rows(filled, sql)
    assert len(optimizes) == 1
    filled.execute("delete from t where id = 1")  # a = 1
    assert rows(filled, sql)[0] == {"label": "one", "n": 142}
    assert len(optimizes) == 2


def test_a_subquery_is_planned_per_run(filled, optimizes):
    """Its plan is optimised in place as it runs: no plan holding one is shared."""
    sql = "select count(*) as n from t where a > (select avg(a) from t where id < 500)"
    first = rows(filled, sql)
    optimizes.clear()
    assert rows(filled, sql) == first
    assert optimizes
