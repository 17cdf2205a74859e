"""Views, CREATE OR REPLACE, DROP SCHEMA, recursive CTE limits, division by zero, QUALIFY
and other statement-level behaviour (not expressible as a DuckDB comparison)."""

from __future__ import annotations

import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import BindError, ExecutionError, NotSupportedError, Session


def rows(session: Session, sql: str, params=None) -> list[tuple]:
    t = session.execute(sql, params).reader.read_all()
    return [tuple(r.values()) for r in t.to_pylist()]


@pytest.fixture
def s(session):
    session.execute("create table t (a int primary key, b varchar)")
    session.execute("insert into t values (1, 'x'), (2, 'y'), (3, null)")
    return session


def test_view_basics(s):
    s.execute("create view v as select a, b from t where a > 1")
    assert rows(s, "select * from v order by a") == [(2, "y"), (3, None)]
    s.execute("insert into t values (4, 'w')")
    assert rows(s, "select count(*) from v") == [(3,)]  # a view reads current data
    s.execute("create view v2 (k, up) as select a * 10, upper(b) from v")
    assert rows(s, "select k, up from v2 order by k") == [(20, "Y"), (30, None), (40, "W")]
    assert rows(s, "select v.a, v2.k from v join v2 on v.a * 10 = v2.k where v.a = 2") == \
        [(2, 20)]
    with pytest.raises(engine.errors.AlreadyExists):
        s.execute("create view v as select 1")
    s.execute("create view if not exists v as select 1")
    s.execute("create or replace view v as select a from t where a < 3")
    assert rows(s, "select * from v order by a") == [(1,), (2,)]
    with pytest.raises(BindError, match="no longer binds"):  # v2 reads v.b, now gone
        s.execute("select * from v2")


def test_view_errors_and_drop(s):
    s.execute("create view v as select a from t")
    with pytest.raises(BindError, match="DROP VIEW"):
        s.execute("drop table v")
    with pytest.raises(BindError, match="DROP TABLE"):
        s.execute("drop view t")
    with pytest.raises(engine.errors.AlreadyExists):
        s.execute("create view t as select 1")
    with pytest.raises(engine.errors.AlreadyExists):
        s.execute("create table v (x int)")
    with pytest.raises(BindError, match="2 columns"):
        s.execute("create view w (p, q) as select a from t")
    with pytest.raises(BindError):
        s.execute("create view w as select nope from t")  # must bind when created
    with pytest.raises(BindError, match="parameters"):
        s.execute("create view w as select a from t where a = ?")
    s.execute("drop view v")
    with pytest.raises(BindError, match="does not exist"):
        s.execute("drop view v")
    s.execute("drop view if exists v")
    with pytest.raises(BindError):
        s.execute("select * from v")


def test_view_is_durable_and_transactional(tmp_path):
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    s = Session(db)
    s.execute("create table t (a int)")
    s.execute("insert into t values (1), (2)")
    s.execute("create view v as from t |> where a > 1 |> set a = a * 100")
    s.execute("begin")
    s.execute("create view gone as select 1")
    s.execute("rollback")
    s.close()
    db.close()
    db = engine.Database.open(path)
    s = Session(db)
    assert rows(s, "select * from v") == [(200,)]
    with pytest.raises(BindError):
        s.execute("select * from gone")
    assert db.snapshot().object("view", "main", "v") is not None  # an engine object
    s.close()
    db.close()


def test_view_in_other_schema_and_recursion(s):
    s.execute("create schema s2")
    s.execute("create table s2.x as select 1 as one")
    s.execute("create view s2.vx as select one + 1 as two from s2.x")
    assert rows(s, "select * from s2.vx") == [(2,)]
    s.execute("create view rv as with recursive r(n) as (select 1 union all "
              "select n + 1 from r where n < 4) select * from r")
    assert rows(s, "select sum(n) from rv") == [(10,)]


def test_drop_schema(s):
    s.execute("create schema s2")
    s.execute("create table s2.x (a int)")
    s.execute("create view s2.v as select * from s2.x")
    with pytest.raises(BindError, match="CASCADE"):
        s.execute("drop schema s2")
    s.execute("drop schema s2 cascade")
    with pytest.raises(BindError):
        s.execute("select * from s2.x")
    with pytest.raises(engine.errors.NotFound):
        s.execute("create table s2.y (a int)")
    assert "s2" not in s.resolver().schemas()
    s.execute("drop schema if exists s2")
    with pytest.raises(engine.errors.NotFound):
        s.execute("drop schema s2")
    s.execute("create schema s2")  # may come back
    s.execute("create table s2.y (a int)")
    assert "s2" in s.resolver().schemas()
    s.execute("create schema empty")
    s.execute("drop schema empty")
    with pytest.raises(BindError):
        s.execute("drop schema main")


def test_create_or_replace_table(s):
    s.execute("create or replace table t2 as select * from t")
    assert rows(s, "select count(*) from t2") == [(3,)]
    s.execute("create or replace table t2 as select a from t2 where a > 1")  # reads old t2
    assert rows(s, "select a from t2 order by a") == [(2,), (3,)]
    s.execute("create or replace table t2 (z int primary key)")
    assert rows(s, "select * from t2") == []
    assert s.db.snapshot().table("t2").primary_key == ("z",)
    with pytest.raises(BindError):
        s.execute("create or replace table if not exists t2 (z int)")


def test_division_by_zero_rule(s):
    # "/" is IEEE division; "//" and "%" raise where they are evaluated
    assert rows(s, "select 1 / 0, -1 / 0, 5 / 2") == [(float("inf"), float("-inf"), 2.5)]
    with pytest.raises(ExecutionError, match="division by zero"):
        s.execute("select 1 // 0").reader.read_all()
    with pytest.raises(ExecutionError, match="division by zero"):
        s.execute("select a % (a - 2) from t").reader.read_all()
    assert rows(s, "select null // 0, null % 0") == [(None, None)]
    # rows a CASE branch, AND/OR operand or COALESCE argument does not reach never raise
    assert rows(s, "select case when a <> 2 then 10 // (a - 2) end from t order by a") == \
        [(-10,), (None,), (10,)]
    assert rows(s, "select a from t where a <> 2 and 6 % (a - 2) = 0 order by a") == \
        [(1,), (3,)]
    assert rows(s, "select coalesce(b, (1 // (a - 2))::varchar) from t order by a") == \
        [("x",), ("y",), ("1",)]


def test_recursive_cte_guards(s):
    with pytest.raises(NotSupportedError):
        s.execute("with recursive r(n) as (select n from r) select * from r")
    with pytest.raises(BindError):
        s.execute("with recursive r(n, m) as (select 1 union all select n + 1 from r "
                  "where n < 3) select * from r")
    from kodiak_flight.sql.executor import cte
    old = cte.MAX_RECURSION
    cte.MAX_RECURSION = 50
    try:
        with pytest.raises(ExecutionError, match="did not finish"):
            s.execute("with recursive r(n) as (select 1 union all select n + 1 from r) "
                      "select count(*) from r").reader.read_all()
    finally:
        cte.MAX_RECURSION = old
    # UNION (distinct) stops when nothing new appears
    assert rows(s, "with recursive r(n) as (select 1 union select (n + 1) % 4 from r) "
                   "select count(*) from r") == [(4,)]


def test_qualify_and_windows_errors(s):
    with pytest.raises(BindError, match="window"):
        s.execute("select a from t qualify a > 1")
    with pytest.raises(NotSupportedError):
        s.execute("select sum(a) over (order by a rows between 1 preceding and 1 following "
                  "exclude current row) from t")
    with pytest.raises(BindError):
        s.execute("select ntile(0) over (order by a) from t")
    assert rows(s, "select a, row_number() over (order by a desc) rn from t qualify rn = 1") \
        == [(3, 1)]


def test_ordered_aggregate_is_deterministic(session):
    session.execute("create table w (g int, v int)")
    session.execute("insert into w values " + ", ".join(
        f"({i % 3}, {(i * 7919) % 1000})" for i in range(300)))
    got = rows(session, "select g, string_agg(v::varchar, ',' order by v desc) from w "
                        "group by g order by g")
    for _g, joined in got:
        vals = [int(x) for x in joined.split(",")]
        assert vals == sorted(vals, reverse=True)


def test_pipe_errors(s):
    from kodiak_flight.sql import ParseError
    with pytest.raises(ParseError):
        s.execute("from t |> set 1")
    with pytest.raises(BindError):
        s.execute("from t |> drop nope")
    assert rows(s, "from t |> rename a as id |> where id > 2 |> select id") == [(3,)]


def test_explain_shows_shared_cte_and_semi_join_side(s):
    text = "\n".join(rows_[0] for rows_ in rows(
        s, "explain with x as (select a from t) select * from x a join x b using (a)"))
    assert "Shared" in text
    s.execute("create table big (k int, v int)")
    s.execute("insert into big select t.a, t2.a from t, t t2, t t3")
    text = "\n".join(r[0] for r in rows(
        s, "explain select * from t where exists (select 1 from big where big.k = t.a and "
           "big.v <> t.a)"))
    assert "Join semi" in text


def test_params_still_bind_in_new_features(s):
    assert rows(s, "select a from t qualify row_number() over (order by a) <= ? order by a",
                pa.record_batch({"n": [2]})) == [(1,), (2,)]
    assert rows(s, "with recursive r(n) as (select 1 union all select n + 1 from r "
                   "where n < $1) select count(*) from r",
                pa.record_batch({"n": [5]})) == [(5,)]


def test_string_view_columns_filter_in_engine_and_acero(db):
    """Tables declared with string_view (as tpchgen writes them): equality is pushed into the
    engine scan, other predicates run as Acero filters, results agree with DuckDB's."""
    import duckdb
    t = pa.table({"k": pa.array(range(1000), pa.int64()),
                  "s": pa.array([["AIR", "MAIL", "SHIP", None][i % 4] for i in range(1000)],
                                pa.string_view())})
    with db.begin() as tx:
        tx.create_table("sv", t.schema)
        tx.insert("sv", t)
    s = Session(db)
    con = duckdb.connect()
    con.register("sv", t)
    for q in ["select count(*), sum(k) from sv where s = 'AIR'",
              "select count(*) from sv where s in ('MAIL', 'SHIP')",
              "select count(*) from sv where s like 'S%' or s is null",
              "select s, count(*) from sv where s <> 'AIR' group by s order by s"]:
        assert rows(s, q) == [tuple(r) for r in con.execute(q).fetchall()], q
    plan = "\n".join(r[0] for r in rows(s, "explain select k from sv where s = 'AIR'"))
    assert "predicate=Compare(column='s'" in plan
