"""User table functions (RETURNS TABLE): calls in FROM and by |> CALL, compared with DuckDB
running the body with the arguments written in; their errors, persistence and DROP."""

from __future__ import annotations

import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import BindError, NotSupportedError, ParseError

from .harness import check, twin

SETUP = [
    "create table o (id bigint, cust varchar, amt double, qty integer)",
    "insert into o values (1, 'ann', 10.5, 3), (2, 'bob', 99.0, 1), (3, 'ann', 42.0, 7), "
    "(4, 'cy', 5.25, 2), (5, 'bob', 61.0, 4), (6, 'dee', 77.5, 9)",
]
TOP_N = ("create function top_n(t table, n bigint default 3) returns table as "
         "(select * from t order by 1 desc limit n)")
BIG = ("create function big(t table, lo double) returns table as "
       "(select t.id, t.amt from t where t.amt > lo order by t.id)")
PER = ("create function per_cust(t table) returns table as "
       "(select cust, sum(amt) as total, count(*) as n from t group by cust order by cust)")


@pytest.fixture
def both(session):
    with twin(session, SETUP) as pair:
        s, _ = pair
        for sql in (TOP_N, BIG, PER):
            s.execute(sql)
        yield pair


@pytest.mark.parametrize("sql,duck", [
    ("select * from top_n(o, 2)", "select * from o order by 1 desc limit 2"),
    ("select * from top_n(o)", "select * from o order by 1 desc limit 3"),
    ("select * from top_n(o, n => 4)", "select * from o order by 1 desc limit 4"),
    ("select * from top_n((select id * 10 as x, cust from o where qty > 2), 2)",
     "select * from (select id * 10 as x, cust from o where qty > 2) order by 1 desc limit 2"),
    ("select * from top_n((select qty as n, id as t from o where qty > 2), 2)",  # untouched
     "select * from (select qty as n, id as t from o where qty > 2) order by 1 desc limit 2"),
    ("with w as (select * from o where cust = 'ann') select * from top_n(w, 5)",
     "with w as (select * from o where cust = 'ann') select * from w order by 1 desc limit 5"),
    ("select b.amt from big(o, 40) as b order by b.amt",
     "select b.amt from (select t.id, t.amt from o t where t.amt > 40) b order by b.amt"),
    ("select big.id from big(o, 40) order by 1",
     "select id from o where amt > 40 order by 1"),
    ("select * from per_cust(o)",
     "select cust, sum(amt), count(*) from o group by cust order by cust"),
    ("select p.cust, o.qty from per_cust(o) p join o on o.cust = p.cust order by 2",
     "select p.cust, o.qty from (select cust from o group by cust) p join o "
     "on o.cust = p.cust order by 2"),
    ("from o |> where qty > 1 |> call top_n(2)",
     "select * from o where qty > 1 order by 1 desc limit 2"),
    ("from o |> select id, amt |> call big(50) |> where id > 2",
     "select id, amt from o where amt > 50 and id > 2 order by id"),
    ("from o |> aggregate sum(amt) as s group by cust |> call top_n(1)",
     "select cust, sum(amt) from o group by cust order by 1 desc limit 1"),
    ("from o |> call big(50) as b |> where b.id > 2 |> select b.amt",
     "select amt from o where amt > 50 and id > 2 order by id"),
    ("from o |> call per_cust() as p |> join o on o.cust = p.cust |> select p.cust, o.qty "
     "|> order by 2, 1", "select cust, qty from o order by 2, 1"),
    ("from o |> call per_cust() |> call top_n(2)",
     "select cust, sum(amt), count(*) from o group by cust order by 1 desc limit 2"),
])
def test_calls_match_the_body_written_out(both, sql, duck):
    s, d = both
    check(s, d, sql, ordered=True, duck_sql=duck)


def test_variables_and_expressions_as_arguments(both):
    s, d = both
    s.execute("set k = 2")
    check(s, d, "select * from top_n(o, $k)", ordered=True,
          duck_sql="select * from o order by 1 desc limit 2")
    check(s, d, "from o |> call big($k * 20.0)", ordered=True,
          duck_sql="select id, amt from o where amt > 40 order by id")


def test_parameter_wins_over_a_column_of_the_same_name(both):
    s, d = both
    s.execute("create function above(t table, qty integer) returns table as "
              "(select id from t where t.qty > qty order by id)")
    check(s, d, "select * from above(o, 3)", ordered=True,
          duck_sql="select id from o where qty > 3 order by id")


def test_survives_reopening_and_drop(tmp_path):
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    s = Session(db)
    for sql in SETUP:
        s.execute(sql)
    s.execute(TOP_N)
    s.close()
    db.close()
    db = engine.Database.open(path)
    s = Session(db)
    try:
        got = s.execute("from o |> call top_n(2) |> select id").reader.read_all()
        assert got.column(0).to_pylist() == [6, 5]
        shown = s.execute("show functions").reader.read_all().to_pylist()
        assert any("top_n" in str(r) for r in shown)
        s.execute("drop function top_n")
        with pytest.raises(NotSupportedError, match=r"table function top_n\(\) is not supp"):
            s.execute("select * from top_n(o)")
    finally:
        s.close()
        db.close()


@pytest.mark.parametrize("sql,err,match", [
    ("select * from nope(o)", NotSupportedError, r"table function nope\(\) is not supported"),
    ("select * from top_m(o)", NotSupportedError, r"did you mean: top_n"),
    ("select * from top_n(o, 1, 2)", BindError, r"top_n\(\) does not take 3 arguments"),
    ("select * from top_n()", BindError, r"top_n\(\) does not take 0"),
    ("select * from top_n(5)", BindError, r"parameter t is a TABLE"),
    ("select * from big(o, o)", BindError, r"parameter lo takes a double value"),
    ("from o |> call twice(2)", BindError, r"twice is not a table function"),
    ("select * from twice(2)", BindError, r"twice is not a table function"),
    ("select top_n(o)", BindError, r"top_n is a table function"),
    ("call top_n(1)", BindError, r"top_n is a table function"),
    ("from o |> call upper('x')", ParseError, r"upper is not a table function"),
    ("from o |> call top_n(1) as", ParseError, r"expected a name after \|> CALL top_n"),
    ("select * from top_n(nosuch)", BindError, r"nosuch"),
    ("select * from bad(o)", BindError, r"^in table function bad\(\): .*nocol"),
])
def test_errors_name_what_was_typed(both, sql, err, match):
    s, _ = both
    s.execute("create function twice(x bigint) returns bigint as x * 2")
    s.execute("create function bad(t table) returns table as (select nocol from t)")
    with pytest.raises(err, match=match):
        s.execute(sql)


@pytest.mark.parametrize("sql,err,match", [
    ("create function f(t table) returns table as 1 + 2", BindError, "one query"),
    ("create function f(t table) returns table as (select 1; select 2)", BindError,
     "not a query"),
    ("create function f(t table) returns table as (select 1) extra", BindError, "one query"),
    ("create function f(t table) returns table as begin return 1; end", NotSupportedError,
     "not a BEGIN ... END block"),
    ("create function f(t table) returns bigint as 1", BindError, "needs RETURNS TABLE"),
    ("create function f(t table default 1) returns table as (select * from t)",
     BindError, "cannot have a DEFAULT"),
    ("create function f(t table) returns table as (select * from f(t))",
     NotSupportedError, "calls itself"),
])
def test_create_refuses_bad_definitions(both, sql, err, match):
    s, _ = both
    with pytest.raises(err, match=match):
        s.execute(sql)


def test_mutual_recursion_is_refused_at_call(both):
    s, _ = both
    s.execute("create function ping(t table) returns table as (select * from t)")
    s.execute("create function pong(t table) returns table as (select * from ping(t))")
    s.execute("create or replace function ping(t table) returns table as "
              "(select * from pong(t))")
    with pytest.raises(NotSupportedError, match="calls itself"):
        s.execute("select * from ping(o)")


def test_execute_right_is_checked(db):
    from kodiak_flight.sql import PermissionDenied
    admin = Session(db)
    for sql in (*SETUP, TOP_N, "grant select on table o to bob"):
        admin.execute(sql)
    bob = Session(db, user="bob")
    try:
        with pytest.raises(PermissionDenied, match="EXECUTE function main.top_n"):
            bob.execute("select * from top_n(o)")
        with pytest.raises(PermissionDenied, match="EXECUTE function main.top_n"):
            bob.execute("from o |> call top_n(1)")
        admin.execute("grant execute on function top_n to bob")
        got = bob.execute("from o |> call top_n(1) |> select id").reader.read_all()
        assert got.column(0).to_pylist() == [6]
    finally:
        bob.close()
        admin.close()


def test_pipe_input_needs_a_table_first_parameter(both):
    s, _ = both
    s.execute("create function late(n bigint, t table) returns table as "
              "(select * from t limit n)")
    with pytest.raises(BindError, match=r"\|> CALL passes the pipe's rows as the first "
                                        r"argument of late\(\), but its parameter n"):
        s.execute("from o |> call late(1)")
    assert s.execute("select count(*) from late(2, o)").reader.read_all().column(0)[0] \
        .as_py() == 2
