"""range(), generate_series() and UNNEST, checked against DuckDB on the same data."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from kodiak_flight.sql import BindError, Session
from kodiak_flight.sql.errors import NotSupportedError, SqlError
from kodiak_flight.sql.functions import series as series_mod

from .harness import check, load

LISTS = pa.table({
    "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
    "l": pa.array([[1, 2], [], None, [3, None, 5], [7]], pa.list_(pa.int64())),
    "m": pa.array([["a"], ["b", "c"], ["d"], None, ["e", "f", "g"]], pa.list_(pa.string())),
})


@pytest.fixture
def pair(session: Session, db):
    """(session, duckdb) with table ``lt`` (list columns) and ``n`` in both."""
    con = duckdb.connect()
    load(db, "lt", LISTS)
    con.register("lt_src", LISTS)
    con.execute("create table lt as select * from lt_src")
    for sql in ["create table n (k int, v varchar)",
                "insert into n values (0, 'zero'), (2, 'two'), (5, 'five'), (null, 'x')"]:
        session.execute(sql)
        con.execute(sql)
    yield session, con
    con.close()


def kodiak_types(session: Session, sql: str) -> list[pa.DataType]:
    return [f.type for f in session.execute(sql).reader.read_all().schema]


SERIES = [
    "select * from range(5)",
    "select * from range(2, 7)",
    "select * from range(1, 10, 3)",
    "select * from range(10, 1, -3)",
    "select * from range(5, 1)",
    "select * from range(1, 5, -1)",
    "select * from range(0)",
    "select * from generate_series(5)",
    "select * from generate_series(2, 7)",
    "select * from generate_series(1, 10, 3)",
    "select * from generate_series(10, 1, -3)",
    "select * from generate_series(10, 1, -1)",
    "select * from generate_series(3, 3)",
    "select * from generate_series(4, 3)",
    "select * from range(-3, 3)",
    "select * from range(3::int)",
    "select * from range(null)",
    "select * from range(1, null)",
    "select * from generate_series(9223372036854775805, 9223372036854775807)",
    "select * from range(-9223372036854775807, 9223372036854775807, 4611686018427387904)",
    "select * from range(date '2020-01-01', date '2020-01-05', interval 1 day)",
    "select * from generate_series(date '2020-01-01', date '2020-01-05', interval 1 day)",
    "select * from generate_series(timestamp '2020-01-01', timestamp '2020-01-02', "
    "interval 6 hour)",
    "select * from range(timestamp '2020-01-31', timestamp '2020-06-01', interval 1 month)",
    "select * from generate_series(timestamp '2020-01-31', timestamp '2020-05-29', "
    "interval 1 month)",
    "select * from range(timestamp '2021-03-31', timestamp '2020-01-01', "
    "interval (-2) month)",
    "select * from range(timestamp '2020-01-05', timestamp '2020-01-01', interval 1 day)",
    "select * from generate_series(timestamp '2020-01-05 10:00', timestamp '2020-01-01', "
    "interval (-1) day)",
    "select * from range(date '2019-12-31', date '2022-12-31', interval 1 year)",
    "select * from range(3) t(i)",
    "select t from range(3) t",
    "select t.range from range(3) t",
    "select * from range(4) a join range(2, 6) b on a.range = b.range",
    "select a.i, b.j from range(3) a(i), range(2) b(j)",
    "select k, v, r from n join range(3) x(r) on n.k = x.r",
    "select count(*), sum(range), min(range), max(range) from range(100000)",
    "select range * 2 as d from range(5) where range % 2 = 1",
]


@pytest.mark.parametrize("sql", SERIES)
def test_series_match_duckdb(pair, sql):
    check(*pair, sql)


@pytest.mark.parametrize("sql, want", [
    ("select * from range(3)", [pa.int64()]),
    ("select * from range(3::utinyint)", [pa.int64()]),
    ("select * from range(date '2020-01-01', date '2020-01-03', interval 1 day)",
     [pa.timestamp("us")]),
    ("select * from range(timestamptz '2020-01-01 00:00:00+00', "
     "timestamptz '2020-01-03 00:00:00+00', interval 1 day)", [pa.timestamp("us", tz="UTC")]),
])
def test_series_types(session, sql, want):
    assert kodiak_types(session, sql) == want


def test_column_names(session):
    for sql, name in [("select * from range(2)", "range"),
                      ("select * from generate_series(2)", "generate_series"),
                      ("select * from range(2) t", "t"), ("select * from range(2) t(i)", "i")]:
        assert session.execute(sql).reader.read_all().column_names == [name]


@pytest.mark.parametrize("sql, message", [
    ("select * from range(1, 5, 0)", "range(): the step must not be zero"),
    ("select * from generate_series(1, 5, 0)", "generate_series(): the step must not be"),
    ("select * from range(timestamp '2020-01-01', timestamp '2020-01-05', interval 0 day)",
     "range(): the step must not be zero"),
    ("select * from range(1, 2, 3, 4)", "wrong number of arguments to range(): expected 1 "
     "to 3, got 4"),
    ("select * from generate_series()", "wrong number of arguments to generate_series()"),
    ("select * from range(date '2020-01-01', date '2020-01-05')",
     "range(DATE, DATE) is not defined"),
    ("select * from range(1.5)", "range(DECIMAL(2,1)) is not defined"),
    ("select * from range('a')", "range(VARCHAR) is not defined"),
    ("select * from range((select max(k) from n))", "must be constants"),
])
def test_series_errors_name_the_function(session, sql, message):
    session.execute("create table n (k int)")
    with pytest.raises(SqlError) as e:
        session.execute(sql).reader.read_all()
    assert message in str(e.value)


def test_month_steps_mixed_with_days_refused():
    step = pa.scalar((1, 1, 0), pa.month_day_nano_interval()).as_py()
    with pytest.raises(SqlError, match="mixing months with days"):
        series_mod.series("range", [dt.datetime(2020, 1, 1), dt.datetime(2020, 3, 1), step],
                          [pa.timestamp("us")] * 2 + [pa.month_day_nano_interval()])


def test_large_range_streams_in_batches(session, monkeypatch):
    """A big range is made a batch at a time, never as one array."""
    sizes = []
    real = series_mod._arithmetic

    def spy(*a, **k):
        s = real(*a, **k)

        def batches():
            for b in s.batches():
                sizes.append(len(b))
                yield b
        return series_mod.Series(s.type, s.rows, batches)
    monkeypatch.setattr(series_mod, "_arithmetic", spy)
    n = 5 * series_mod.BATCH_ROWS + 7
    got = session.execute(f"select count(*), sum(range) from range({n})").reader.read_all()
    assert got.to_pylist() == [{"count_star()": n, "sum(range)": n * (n - 1) // 2}] or \
        list(got.to_pylist()[0].values()) == [n, n * (n - 1) // 2]
    assert max(sizes) == series_mod.BATCH_ROWS and len(sizes) == 6


def test_range_in_prepared_statement(session):
    got = session.execute("select * from range(?)", pa.table({"p": [3]})).reader.read_all()
    assert got.column(0).to_pylist() == [0, 1, 2]


UNNESTS = [
    "select id, unnest(l) from lt",
    "select id, unnest(m) from lt",
    "select id, unnest(l) as x, unnest(m) as y from lt",
    "select id, unnest(l) + 1 as x from lt where id > 1",
    "select unnest(l) as x from lt order by x desc nulls last",
    "select sum(x), count(x), count(*) from (select unnest(l) as x from lt)",
    "select id, x from lt, unnest(lt.l) as u(x)",
    "select id, u.x from lt cross join unnest(m) u(x) where id < 5",
    "select * from lt, unnest(l)",
    "select lt.id, x, n.v from lt, unnest(lt.l) u(x) join n on n.k = u.x",
]


@pytest.mark.parametrize("sql", UNNESTS)
def test_unnest_matches_duckdb(pair, sql):
    check(*pair, sql)


def test_unnest_list_literal_if_lists_bind(pair):
    """``[1, 2, 3]`` literals come from another change; test them once they bind."""
    session, con = pair
    try:
        session.execute("select [1, 2]").reader.read_all()
    except SqlError:
        pytest.skip("list literals do not bind yet")
    check(session, con, "select unnest([1, 2, 3])")
    check(session, con, "select * from unnest([1, 2, 3])")
    check(session, con, "select * from unnest([4, 5]) t(x)")


def test_unnest_streams_over_batches(session, db):
    n = 70_000
    t = pa.table({"id": pa.array(range(n), pa.int64()),
                  "l": pa.array([[i, i] for i in range(n)], pa.list_(pa.int64()))})
    load(db, "big", t)
    got = session.execute("select count(*), sum(x) from (select unnest(l) as x from big)"
                          ).reader.read_all()
    assert list(got.to_pylist()[0].values()) == [2 * n, n * (n - 1)]


@pytest.mark.parametrize("sql, error, message", [
    ("select id from lt where unnest(l) > 1", NotSupportedError, "select list and in FROM"),
    ("select count(*), unnest(l) from lt", NotSupportedError, "with aggregates"),
    ("select unnest(unnest(l)) from lt", NotSupportedError, "nested"),
    ("select unnest(id) from lt", SqlError, "UNNEST needs a list, not BIGINT"),
    ("select * from lt left join unnest(l) on true", NotSupportedError, "CROSS JOIN"),
])
def test_unnest_refusals(pair, sql, error, message):
    with pytest.raises(error) as e:
        pair[0].execute(sql).reader.read_all()
    assert message in str(e.value)


def test_unnest_ast_reusable(pair):
    """A prepared statement binds its AST again: unnest must not rewrite it in place."""
    session = pair[0]
    p = session.prepare("select id, unnest(l) from lt where id = ?")
    for k, want in [(1, [1, 2]), (5, [7])]:
        got = p.execute(pa.table({"p": [k]})).reader.read_all()
        assert got.column(1).to_pylist() == want


def test_missing_table_function_names_it(session):
    with pytest.raises(BindError):
        session.execute("select * from range(3) t join nope on true")
