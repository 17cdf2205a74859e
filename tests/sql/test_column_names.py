"""Result column names of unaliased expressions, checked against DuckDB's (the reference),
with the differences Kodiak keeps on purpose spelled out (docs/sql.md, "Column names")."""

from __future__ import annotations

import pytest

from kodiak_flight.sql import Session
from kodiak_flight.sql.binder import naming
from kodiak_flight.sql.catalog import View, put_view

from .harness import twin

SETUP = [
    "create table t (a int, b varchar, d date)",
    "create table u (a int, c int)",
    "insert into t values (1, 'x', date '2020-01-15'), (2, 'yy', date '2020-02-01')",
    "insert into u values (1, 10)",
]


@pytest.fixture
def pair(session: Session):
    """(session, duckdb connection) with the same tables, made by the same statements."""
    with twin(session, SETUP) as both:
        yield both


def names(session: Session, sql: str) -> list[str]:
    return session.execute(sql).schema.names


def duck_names(con, sql: str) -> list[str]:
    return [d[0] for d in con.execute(sql).description]


# select lists named exactly as DuckDB names them
SAME = [
    # columns: the name of the column they resolve to
    "a", "t.a", "A", "T.A", '"a"', "(a)", "t.*", "*",
    # functions: lower-case as typed, arguments as typed
    "sum(a)", "Sum( a )", "COUNT(A)", "count(a)", "upper('X')", "upper(b)",
    "date_trunc('month', d)", "DATE_TRUNC('month', d)", "len(b)", "length(b)",
    "round(a / 3.0, 2)", "abs(-a)", "greatest(a, 2)", "sum(a+1)", "ln(a)",
    "coalesce(a, 0)", "substr(b, 1, 1)",
    # aggregates with DISTINCT / FILTER / ORDER BY
    "count(distinct a)", "sum(DISTINCT a)", "count(a) filter (where a > 1)",
    "string_agg(b, ',' order by b)", "list(a order by a desc)",
    # operators, parenthesised
    "a+1", "1 + 2", "(a + 1) * 2", "a * (a + 1)", "sum(a)+1", "a // 2", "a % 2", "a - -1",
    "a || b", "a > 1", "a <> 1", "a != 1", "a = 1 and b = 'x'", "a > 1 or b is null",
    "not a > 1", "a is null", "a is not null", "a between 1 and 2", "a not between 1 and 2",
    "a in (1, 2)", "a not in (1, 2)", "a is distinct from 1", "a is not distinct from 1",
    "-a", "t.a + 1", '"a" + 1',
    # casts
    "a::bigint", "cast(a as varchar)", "a::varchar", "CAST(a AS int)", "avg(a)::int",
    "a::decimal(10,2)",
    # literals as written
    "'x'", "'it''s'", "x'ff'", "1", "1.5", "1.50", "-1", "1e3", "null", "true",
    # subqueries and windows
    "(select 1)", "exists (select 1)", "row_number() over ()",
    "sum(a) over (partition by b order by a)", "rank() over (order by a desc)",
    "rank() over (order by a desc nulls first)", "list(a order by a asc)",
    "sum(a) over (order by a rows between 1 preceding and current row)",
    # several at once
    "a, a", "a, A, t.a", "count(a), sum(a), max(a) + 1",
]

# what Kodiak names differently on purpose: DuckDB names its internal rewrite of what was
# typed (count_star, ~~, a simple CASE as a searched one), quotes function names that are
# keywords, or keeps a type alias as typed; Kodiak names what the user wrote
DIFFERENT = {
    "count(*)": ("count(*)", "count_star()"),
    "count()": ("count()", "count_star()"),
    "count(*) over ()": ("count(*) OVER ()", "count() OVER ()"),
    "count(*) filter (where a > 1)": ("count(*) FILTER (WHERE (a > 1))",
                                      "count_star() FILTER (WHERE (a > 1))"),
    "b like 'x%'": ("(b LIKE 'x%')", "(b ~~ 'x%')"),
    "b not like 'x%'": ("(b NOT LIKE 'x%')", "(b !~~ 'x%')"),
    "b ilike 'X%'": ("(b ILIKE 'X%')", "(b ~~* 'X%')"),
    "case when a > 1 then 'y' else 'n' end": ("CASE WHEN (a > 1) THEN 'y' ELSE 'n' END",
                                              "CASE  WHEN ((a > 1)) THEN ('y') ELSE 'n' END"),
    "case a when 1 then 'y' end": ("CASE a WHEN 1 THEN 'y' END",
                                   "CASE  WHEN ((a = 1)) THEN ('y') ELSE NULL END"),
    "substring(b, 1, 2)": ("substring(b, 1, 2)", '"substring"(b, 1, 2)'),
    "nullif(a, 1)": ("nullif(a, 1)", '"nullif"(a, 1)'),
    "year(d)": ("year(d)", '"year"(d)'),
    "a::int8": ("CAST(a AS BIGINT)", "CAST(a AS int8)"),
    "a::double": ("CAST(a AS DOUBLE)", "CAST(a AS double)"),
    "(select max(a) from u)": ("(SELECT max(a) FROM u)", "(SELECT max(a) FROM u)"),
    "exists (select 1 from u where c > 1)": ("EXISTS(SELECT 1 FROM u WHERE c > 1)",
                                             "EXISTS(SELECT 1 FROM u WHERE (c > 1))"),
}


@pytest.mark.parametrize("items", SAME)
def test_named_as_duckdb(pair, items):
    session, con = pair
    sql = f"select {items} from t"
    assert names(session, sql) == duck_names(con, sql)


@pytest.mark.parametrize("items", DIFFERENT)
def test_named_differently_on_purpose(pair, items):
    session, con = pair
    sql = f"select {items} from t"
    ours, duckdb_name = DIFFERENT[items]
    assert names(session, sql) == [ours]
    assert duck_names(con, sql) == [duckdb_name]  # fails if DuckDB changes its rule


# relations: a subquery, CTE, view or CREATE TABLE AS names repeated columns a, a_1...;
# a query's own result keeps its repeated names; set operations take the left side's
QUERIES = [
    'select "sum(a)" from (select sum(a) from t)',
    'select "SUM(A)" from (select sum(a) from t)',
    "select \"date_trunc('month', d)\" from (select date_trunc('month', d) from t)",
    'select "(a + 1)" * 2 from (select a + 1 from t)',
    "select * from (select a, a from t)",
    "select a_1 from (select a, a from t)",
    "select * from (select a, a + 1, a + 1, count(a) over () from t)",
    "select * from (select a, a_1, a from (select a, a as a_1 from t))",
    "select x.* from (select a, A from t) x",
    "select * from (select a, a from t) s(p)",
    "with q as (select a, a + 1, a + 1 from t) select * from q",
    "select * from (select a, b from t) join (select a, c from u) using (a)",
    "select a from t union select a + 1 from t",
    "select a + 1 from t union all select a from t",
    "select * from (values (1, 2))",
    "select * from (values (1, 2)) v(x)",
    "values (1, 'a'), (2, 'b')",
    "select * exclude (b) from t",
    'select "Mixed" + 1, "a b" + 1 from (select 1 as "Mixed", 2 as "a b")',
    'select * from (select 1 as "Mixed", 2 as mixed)',
    "select max(a), min(a) from t group by all",
    "select b, count(*) from t group by rollup (b)",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_relation_names_as_duckdb(pair, sql):
    session, con = pair
    want = duck_names(con, sql)
    if "count(*)" in sql and "over" not in sql:
        want = [n.replace("count_star()", "count(*)") for n in want]
    assert names(session, sql) == want


def test_values_alias_list_longer_than_row_refused(pair):
    session, _ = pair
    with pytest.raises(Exception, match="VALUES has 2 columns but 3 names"):
        session.execute("select * from (values (1, 2)) v(x, y, z)")


@pytest.mark.parametrize("ddl", [
    "create table c as select a, a, a + 1, a + 1, len(b) from t",
    "create view c as select a, a, a + 1, a + 1, len(b) from t",
    "create view c as select *, a + 1, date_trunc('month', d) from t",
    "create view c as select \"len(b)\" from (select len(b) from t)",
    "create view c as select * from (select a, a from t)",
    "create view c as select count(a), sum(a) from t union select 1, 2",
])
def test_stored_relations_as_duckdb(pair, ddl):
    session, con = pair
    session.execute(ddl)
    con.execute(ddl)
    assert names(session, "select * from c") == duck_names(con, "select * from c")


def test_view_names_survive_regeneration(session):
    """A view's SQL is stored as sqlglot regenerates it (``LENGTH(b)``, ``TIMESTAMP_TRUNC``),
    so the names it generated are stored with it."""
    session.execute("create table t (a int, b varchar, d date)")
    session.execute("create view v as select len(b), date_trunc('month', d), "
                    "\"substr(b, 1)\" from (select b, d, substr(b, 1) from t)")
    assert names(session, "select * from v") == [
        "len(b)", "date_trunc('month', d)", "substr(b, 1)"]


def test_views_stored_before_keep_their_names(session, db):
    """A view stored before names followed DuckDB (no ``named`` flag) is bound with the
    names it had then: persisted objects are not renamed."""
    session.execute("create table t (a int, b varchar)")
    with db.begin() as tx:
        put_view(tx, View("main", "old", 'SELECT "a + 1" * 2, COUNT(*), "a + 1" AS k '
                                         "FROM (SELECT a + 1 FROM t) GROUP BY 1, 3", (),
                          "main"))
    assert names(session, "select * from old") == ['"a + 1" * 2', "COUNT(*)", "k"]


@pytest.mark.parametrize("given, want", [
    (["a", "a", "a"], ["a", "a_1", "a_2"]),
    (["a", "a_1", "a"], ["a", "a_1", "a_2"]),
    (["a", "A"], ["a", "A_1"]),
    (["x", "y"], ["x", "y"]),
])
def test_unique_names(given, want):
    assert naming.unique_names(given) == want
