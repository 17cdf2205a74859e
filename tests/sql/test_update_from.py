"""UPDATE ... FROM and DELETE ... USING, statement by statement against DuckDB."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

import engine

SETUP = [
    "create table t (id integer primary key, v double, w varchar)",
    "create table u (id integer, v double, tag varchar)",
    "create table z (k integer, flag boolean)",
    "create table c (a integer, b varchar, n bigint, primary key (a, b))",
    "insert into t values (1, 1.0, 'a'), (2, 2.0, 'b'), (3, 3.0, 'c'), (4, null, 'd'), "
    "(5, 5.0, 'e')",
    "insert into u values (1, 10.0, 'x'), (3, 30.0, 'y'), (5, 50.0, 'z'), (7, 70.0, 'w')",
    "insert into z values (1, true), (3, false), (5, true)",
    "insert into c values (1, 'p', 10), (1, 'q', 11), (2, 'p', 20)",
]

# (statement, rows it changes: each target row once, as PostgreSQL counts; DuckDB 2.0.1
# counts an UPDATE ... FROM row once per match, so only the tables' contents are compared)
STATEMENTS = [
    ("update t set v = u.v + t.v, w = u.tag from u where t.id = u.id", 3),
    ("update t as a set w = 'q' from u join z on z.k = u.id where a.id = u.id and z.flag", 2),
    ("update t set v = 0 from u where true", 5),  # every match gives the same value
    ("delete from t using z where t.id = z.k and not z.flag", 1),
    ("update t set id = t.id + 100 from z where t.id = z.k and z.flag", 2),  # keys change
    ("update c set n = c.n * 2 from u where c.a = u.id", 2),
    ("delete from c using z where c.a = z.k", 2),
    ("delete from c as x using u, z where x.a = u.id and z.k = 5 and x.b = 'q'", 0),
    ("update t set w = 'none' from u where t.id = u.id and u.id > 1000", 0),
    ("delete from t using u where t.id = u.id + 100", 2),
]


def _table(con, name: str) -> list[dict]:
    return con.sql(f"select * from {name} order by all").to_arrow_table().to_pylist()


def _contents(session, name: str) -> list[dict]:
    return session.execute(f"select * from {name} order by all").reader.read_all().to_pylist()


@pytest.mark.parametrize("checkpoint", [False, True], ids=["buffered", "in-segments"])
def test_against_duckdb(session, checkpoint):
    duck = duckdb.connect()
    for sql in SETUP:
        session.execute(sql)
        duck.execute(sql)
    if checkpoint:  # the target rows then live in Feather segments, not the write buffer
        session.db.checkpoint()
    for sql, count in STATEMENTS:
        assert session.execute(sql).rowcount == count, sql
        duck.execute(sql)
        for name in ("t", "c"):
            assert _contents(session, name) == _table(duck, name), sql


def test_parameters(session):
    for sql in SETUP:
        session.execute(sql)
    n = session.execute("update t set w = ? from u where t.id = u.id and u.v > ?",
                        pa.record_batch({"p1": ["big"], "p2": [20.0]})).rowcount
    assert n == 2
    assert [r["w"] for r in _contents(session, "t")] == ["a", "b", "big", "d", "big"]


@pytest.mark.parametrize("sql, error", [
    ("update t set v = u.v from u where true", "matches more than one row"),  # ambiguous
    ("update t set id = 2 from u where t.id = u.id and u.id = 3",  # a key collision
     "duplicate primary key"),
])
def test_a_failing_statement_changes_nothing(session, sql, error):
    for setup in SETUP:
        session.execute(setup)
    before = _contents(session, "t")
    with pytest.raises(engine.errors.ConstraintError, match=error):
        session.execute(sql)
    assert _contents(session, "t") == before


def test_rolls_back_with_its_transaction(session):
    for sql in SETUP:
        session.execute(sql)
    before = _contents(session, "t")
    session.execute("begin")
    session.execute("update t set w = 'tx' from u where t.id = u.id")
    session.execute("delete from t using z where t.id = z.k")
    assert len(_contents(session, "t")) == 2  # the transaction sees its own changes
    session.execute("rollback")
    assert _contents(session, "t") == before


def test_keyless_target_and_unknown_column(session):
    for sql in SETUP:
        session.execute(sql)
    session.execute("update u set v = 1 from z where u.id = z.k")  # by its values
    session.execute("delete from u using z where u.id = z.k")  # by its values
    with pytest.raises(Exception, match="nope"):
        session.execute("update t set nope = 1 from u where t.id = u.id")
    with pytest.raises(Exception, match="more than once"):
        session.execute("update t set v = 1, v = 2 from u where t.id = u.id")


def test_order_by_all(session):
    """DuckDB's ORDER BY ALL, which the comparisons above rely on."""
    duck = duckdb.connect()
    for sql in ("create table o (a integer, b varchar)",
                "insert into o values (2, 'x'), (1, 'z'), (1, 'y'), (null, 'q')"):
        session.execute(sql)
        duck.execute(sql)
    for q in ("select * from o order by all", "select b, a from o order by all desc",
              "select a from o union select 5 order by all"):
        got = [tuple(r.values()) for r in session.execute(q).reader.read_all().to_pylist()]
        assert got == duck.sql(q).fetchall(), q
