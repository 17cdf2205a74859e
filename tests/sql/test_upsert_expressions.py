"""INSERT ... ON CONFLICT DO UPDATE with expressions over the stored and the incoming row
and a WHERE, against DuckDB. (Only SET col = excluded.col was taken before, and a WHERE on
it was ignored: every conflicting row was updated.)"""

from __future__ import annotations

import duckdb
import pytest

from kodiak_flight.sql.errors import SqlError

from .harness import check

SETUP = ["create table t (id integer primary key, n integer, s varchar)",
         "insert into t values (1, 10, 'a'), (2, 20, 'b'), (3, 30, null)"]


@pytest.fixture
def pair(session):
    duck = duckdb.connect()
    for sql in SETUP:
        session.execute(sql)
        duck.execute(sql)
    return session, duck


@pytest.mark.parametrize("stmt", [
    "insert into t values (1, 5, 'x'), (4, 1, 'new') on conflict (id) do update "
    "set n = t.n + excluded.n",
    "insert into t values (1, 5, 'x'), (2, 7, 'y') on conflict (id) do update "
    "set n = excluded.n * 2, s = coalesce(t.s, '') || excluded.s",
    "insert into t values (1, 5, 'x'), (2, 7, 'y'), (3, 1, 'z') on conflict (id) do update "
    "set s = excluded.s where t.n > 15",
    "insert into t values (2, 99, 'w') on conflict (id) do update set n = excluded.n "
    "where excluded.n < t.n",
    "insert into t values (3, 1, 'q') on conflict do update set n = n + 100, s = excluded.s",
    "insert into t select id, n + 1, s from t where id < 3 on conflict (id) do update "
    "set n = t.n + excluded.n"])
def test_against_duckdb(pair, stmt):
    session, duck = pair
    session.execute(stmt)
    duck.execute(stmt)
    check(session, duck, "select * from t")


@pytest.mark.parametrize("stmt,message", [
    ("insert into t values (1, 5, 'x') on conflict (n) do update set s = excluded.s",
     "must name the primary key"),
    ("insert into t values (1, 5, 'x') on conflict (id) do update set id = excluded.id + 10",
     "cannot change the primary key"),
    ("insert into t values (1, 5, 'x') on conflict (id) do update set nope = 1",
     "column 'nope' not found"),
    ("insert into t values (1, 5, 'x'), (1, 6, 'y') on conflict (id) do update "
     "set n = t.n + excluded.n", "cannot change a row twice")])
def test_refused(pair, stmt, message):
    session, _ = pair
    with pytest.raises(SqlError, match=message):
        session.execute(stmt)
    check(session, pair[1], "select * from t")  # nothing written


def test_in_a_transaction(session):
    """The stored rows the update reads include the transaction's own writes."""
    session.execute("create table c (id integer primary key, n integer)")
    session.execute("begin")
    session.execute("insert into c values (5, 1)")
    session.execute("insert into c values (5, 10), (6, 1) on conflict (id) do update "
                    "set n = c.n + excluded.n")
    session.execute("commit")
    got = session.execute("select * from c order by id").reader.read_all().to_pylist()
    assert got == [{"id": 5, "n": 11}, {"id": 6, "n": 1}]
