"""Syntax that was parsed and then ignored (a silently wrong answer): PIVOT / UNPIVOT,
TABLESAMPLE / USING SAMPLE, LIMIT p%, WITH TIES, EXPLAIN ANALYZE, REPLACE INTO; and the
walk that refuses by name whatever the binder would not read. Checked against DuckDB (and
SQLite for REPLACE INTO) where they take the same syntax."""

from __future__ import annotations

import re
import sqlite3

import duckdb
import pyarrow as pa
import pytest

from kodiak_flight.sql import BindError, NotSupportedError, Session, SqlError

from .harness import check, load


def rows(s: Session, sql: str) -> list[tuple]:
    return [tuple(r.values()) for r in s.execute(sql).reader.read_all().to_pylist()]


SETUP = [
    "create table t (i int, g int, c varchar, x double, b int)",
    "insert into t select range, range % 3, case when range = 9 then null else "
    "(range % 4)::varchar end, range * 1.5, range % 2 from range(10)",
    "create table big (i int)",
    "insert into big select range from range(20000)",
]


@pytest.fixture
def both(session: Session, db) -> tuple[Session, duckdb.DuckDBPyConnection]:
    duck = duckdb.connect()
    for sql in SETUP:
        duck.execute(sql)
    for table in ("t", "big"):
        load(db, table, pa.table(duck.sql(f"select * from {table}").arrow()))
    return session, duck


PIVOTS = [
    "select * from t pivot (sum(x) for c in ('0', '1'))",
    "select * from t pivot (sum(x) as s, count(*) as n for c in ('0', '1'))",
    "select * from t pivot (sum(x), count(*) for c in ('0', '1'))",
    "select * from (select g, c, x from t) pivot (sum(x) for c in ('0' as zero, '1')) p",
    "select * from t pivot (max(i) for g in (0, 1))",
    "select * from t pivot (sum(x) for c in ('0', '1')) as p (a1, a2, a3, a4, a5)",
    "pivot t on c using sum(x) group by g",  # values queried: '0' .. '3' (NULL left out)
    "pivot t on c, b using sum(x) group by g",
    "pivot t on c in ('0', '1') using sum(x) as s, max(i) group by g",
    "pivot t on g",
    "select * from (select i, g, b from t) unpivot (v for n in (g, b))",
    "select * from (select i, g, c from t) unpivot include nulls (v for n in (c))",
    "select * from (select i, g, c from t) unpivot (v for n in (c))",
    "select n, sum(v) s from (select i, g, b from t) unpivot (v for n in (g, b)) group by n",
]


@pytest.mark.parametrize("sql", PIVOTS)
def test_pivot_unpivot(both, sql: str) -> None:
    session, duck = both
    got = session.execute(sql).reader.read_all()
    want = duck.execute(sql)
    assert got.column_names == [d[0] for d in want.description]
    check(session, duck, sql)


def test_pivot_refusals(both) -> None:
    session, _ = both
    with pytest.raises(NotSupportedError, match="UNPIVOT"):
        session.execute("select * from t unpivot ((v1, v2) for n in ((g, b), (i, i)))")


def test_sample_percent_within_bounds(both) -> None:
    session, _ = both
    for sql in ["select count(*) from big using sample 10%",
                "select count(*) from big using sample 10 percent (bernoulli)",
                "select count(*) from big tablesample 10 percent",
                "select count(*) from big b tablesample bernoulli (10 percent)"]:
        (n,), = rows(session, sql)
        # binomial(20000, 0.1): mean 2000, sd ~42; six sd either side
        assert 1750 < n < 2250, (sql, n)


def test_sample_rows_and_seed(both) -> None:
    session, _ = both
    assert rows(session, "select count(*) from big using sample 7 rows") == [(7,)]
    assert rows(session, "select count(*) from big tablesample (5 rows)") == [(5,)]
    assert rows(session, "select count(*) from t using sample 50 rows") == [(10,)]
    assert rows(session, "select count(*) from big using sample 10% (reservoir)") == [(2000,)]
    for sql in ["select i from big using sample 1% (bernoulli, 42) order by i",
                "select i from big using sample 9 rows repeatable (3) order by i",
                "select i from big where i % 2 = 0 using sample 5% (system, 7) order by i"]:
        first = rows(session, sql)
        assert first == rows(session, sql), sql
        assert first != rows(session, sql.replace("42", "43").replace("(3)", "(4)")
                             .replace("7)", "8)"))


def test_sample_before_where(both) -> None:
    session, _ = both
    (n,), = rows(session, "select count(*) from big where i < 10000 using sample 50%")
    assert 4700 < n < 5300  # half of the half that passes the filter
    with pytest.raises(BindError, match="percentage"):
        session.execute("select * from big using sample 150%")
    with pytest.raises(NotSupportedError, match="BERNOULLI.*RESERVOIR"):  # as DuckDB
        session.execute("select * from big tablesample bernoulli (10)")


@pytest.mark.parametrize("p", [0, 15, 25, 34, 50, 99, 100])
def test_limit_percent(both, p: int) -> None:
    session, duck = both
    check(session, duck, f"select i from t order by i limit {p}%")
    check(session, duck, f"select i from t order by i desc limit {p} percent")
    check(session, duck, f"select g, count(*) from t group by g order by g limit {p}%")
    check(session, duck, f"select i from t order by i limit {p}% offset 3")


def test_with_ties(both) -> None:
    session, duck = both
    want = "select i from t qualify rank() over (order by g) <= {n} order by g"
    for n in (1, 2, 4, 5):
        check(session, duck, f"select i from t order by g fetch first {n} rows with ties",
              ordered=False, duck_sql=want.format(n=n))
    check(session, duck, "select g, sum(x) s from t group by g order by s desc "
          "fetch first 1 rows with ties", duck_sql="select g, sum(x) s from t group by g "
          "qualify rank() over (order by sum(x) desc) <= 1")
    with pytest.raises(BindError, match="ORDER BY"):
        session.execute("select i from t fetch first 2 rows with ties")


def test_explain_analyze(both) -> None:
    session, _ = both
    lines = [r[0] for r in rows(session, "explain analyze select g, count(*) from t "
                                         "where i > 2 group by g order by g")]
    assert re.match(r"Total: 3 rows in [\d.]+ ms", lines[-1])
    scan = next(x for x in lines if "Scan main.t" in x)
    assert re.search(r"actual rows=7 time=[\d.]+ ms", scan)  # i > 2: seven rows
    agg = next(x for x in lines if "Aggregate" in x)
    assert "actual rows=3 " in agg
    plain = [r[0] for r in rows(session, "explain select * from t")]
    assert not any("actual" in x for x in plain)
    lines = [r[0] for r in rows(session, "EXPLAIN ANALYSE select * from t using sample 3 rows")]
    assert "actual rows=3 " in next(x for x in lines if "Sample" in x)


def test_replace_into(session: Session) -> None:
    lite = sqlite3.connect(":memory:")
    for sql in ["create table k (a int primary key, b varchar)",
                "insert into k values (1, 'x'), (2, 'y')",
                "replace into k values (1, 'q'), (3, 'n')",
                "REPLACE INTO k (a, b) VALUES (2, 'r')"]:
        session.execute(sql)
        lite.execute(sql)
    sql = "select a, b from k order by a"
    assert rows(session, sql) == lite.execute(sql).fetchall()


REFUSED = [
    ("select i from t connect by prior i = g", "CONNECT BY"),
    ("select * into x from t", "INTO x"),
    ("select 1 from t order by i with fill", "WITH FILL"),
    ("explain select * from t union select * from t order by i with fill", "WITH FILL"),
    ("create view v as select * from t union select * from t order by i with fill",
     "WITH FILL"),
    ("insert into t select * from t union select * from t order by i with fill",
     "WITH FILL"),
]


@pytest.mark.parametrize("sql,words", REFUSED)
def test_refused_by_name(both, sql: str, words: str) -> None:
    session, _ = both
    with pytest.raises(NotSupportedError, match=f"{re.escape(words)}.* is not supported"):
        session.execute(sql)
    if not sql.startswith("explain"):  # EXPLAIN checks its query when it runs
        with pytest.raises(NotSupportedError, match=re.escape(words)):
            session.prepare(sql)


def test_python_errors_are_internal_errors(both, monkeypatch, caplog) -> None:
    from kodiak_flight.sql import InternalError
    from kodiak_flight.sql.binder import Binder

    def broken(self, *args, **kwargs):
        return None.sql  # a bug: AttributeError

    monkeypatch.setattr(Binder, "bind_select", broken)
    session, _ = both
    with pytest.raises(InternalError) as info:
        session.execute("select i from t")
    text = str(info.value)
    assert "select i from t" in text.lower() and "NoneType" not in text
    assert "AttributeError" in caplog.text  # the bug stays visible in the log


@pytest.mark.parametrize("sql,words", [("select * from nv for update", "FOR UPDATE"),
                                       ("select * from nv for share", "FOR SHARE")])
def test_row_locks_are_refused_by_name(session, sql, words):
    """Kodiak has no row locks: FOR UPDATE / FOR SHARE are refused, not ignored."""
    session.execute("create table nv (a int)")
    with pytest.raises(SqlError, match=f"{words} is not supported"):
        session.execute(sql)
