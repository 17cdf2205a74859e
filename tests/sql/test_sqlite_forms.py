"""Forms SQLite's corpus and users write that were refused or dropped: FETCH FIRST, blob
literals, INSERT OR REPLACE / OR IGNORE (compared with the stdlib's SQLite)."""

from __future__ import annotations

import sqlite3

import pytest

from kodiak_flight.sql import BindError, Session, SqlError


def rows(s: Session, sql: str) -> list[tuple]:
    return [tuple(r.values()) for r in s.execute(sql).reader.read_all().to_pylist()]


SETUP = ["create table t (a int primary key, b varchar)",
         "insert into t values (1, 'x'), (2, 'y'), (3, 'z')"]


def test_fetch_first(session: Session) -> None:
    for sql in SETUP:
        session.execute(sql)
    assert rows(session, "select a from t order by a fetch first 2 rows only") == [(1,), (2,)]
    assert rows(session, "select a from t order by a desc fetch first row only") == [(3,)]
    assert rows(session, "select a from t order by a offset 1 rows fetch next 1 rows only") \
        == [(2,)]
    assert rows(session, "select a from t order by a limit 70%") == [(1,), (2,)]  # floor
    assert rows(session, "select a from t order by a fetch first 1 rows with ties") == [(1,)]


def test_blob_literals(session: Session) -> None:
    assert rows(session, "select x'303132', X'', x'ff00'") == [(b"012", b"", b"\xff\x00")]
    with pytest.raises(BindError, match="even number"):
        session.execute("select x'123'")
    session.execute("create view v as select x'41' as c")  # stored text parses again
    assert rows(session, "select * from v") == [(b"A",)]


@pytest.mark.parametrize("verb", ["replace", "ignore"])
def test_insert_or(session: Session, verb: str) -> None:
    lite = sqlite3.connect(":memory:")
    for sql in SETUP + ["create table k (a int, b varchar)"]:
        session.execute(sql)
        lite.execute(sql)
    for sql in [f"insert or {verb} into t values (1, 'q'), (4, 'n')",
                f"insert or {verb} into t (a, b) values (2, 'r')",
                f"insert or {verb} into k values (1, 'a'), (1, 'b')"]:
        session.execute(sql)
        lite.execute(sql)
    for table in ("t", "k"):
        sql = f"select a, b from {table} order by a, b"
        assert rows(session, sql) == lite.execute(sql).fetchall()


PARENTHESISED = [
    "select * from (t cross join u) order by all",
    "select t.a, u.c, w.e from (t join u on t.a = u.a) join w on w.a = t.a order by all",
    "select x.b, x.c from (t join u on t.a = u.a) as x order by all",
    "select * from ((t join u on t.a = u.a) left join w on w.a = u.a) order by all",
    "select t.b, w.e from w, (t left join u on t.a = u.a) where w.a = t.a order by all",
]


def test_parenthesised_joins(session: Session) -> None:
    import duckdb

    duck = duckdb.connect()
    for sql in ["create table t (a int, b int)", "create table u (a int, c int)",
                "create table w (a int, e int)",
                "insert into t values (1, 10), (2, 20), (3, 30)",
                "insert into u values (1, 100), (2, 200), (4, 400)",
                "insert into w values (1, 7), (3, 9)"]:
        session.execute(sql)
        duck.execute(sql)
    for sql in PARENTHESISED:
        got = session.execute(sql).reader.read_all()
        cols = [c.to_pylist() for c in got.columns]
        assert list(zip(*cols, strict=True)) == duck.execute(sql).fetchall(), sql


def test_reindex_rebuilds_an_index_or_a_tables_indexes(session):
    """REINDEX (SQLite's and PostgreSQL's) drops and rebuilds; lookups still find the rows."""
    session.execute("create table ri (x integer, y varchar)")
    session.execute("insert into ri values (1, 'a'), (0, 'b'), (null, 'c')")
    session.execute("create index ri_x on ri (x)")
    session.execute("reindex ri_x")
    session.execute("REINDEX ri;")
    got = session.execute("select y from ri where x = 1").reader.read_all()
    assert got.column("y").to_pylist() == ["a"]
    with pytest.raises(SqlError, match="no index or table named 'nope'"):
        session.execute("reindex nope")


def test_unsupported_statements_are_named_as_typed(session):
    for sql, words in (("create virtual table v using fts5(a)", "CREATE VIRTUAL"),
                       ("detach database x", "DETACH")):
        with pytest.raises(SqlError, match=f"statement {words} is not supported"):
            session.execute(sql)
