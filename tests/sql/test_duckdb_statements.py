"""DESCRIBE, SHOW, SUMMARIZE and PRAGMA table_info / show_tables, checked against DuckDB
(the same statements run on both)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kodiak_flight.sql import BindError, Session
from kodiak_flight.sql.errors import NotSupportedError, SqlError

from .harness import compare, rows_of, twin

SETUP = [
    "create table t (a int primary key, b varchar not null default 'x', c double, d date, "
    "e decimal(10,2), g timestamp, h bigint default 7, k boolean)",
    "insert into t values (1, 'p', 1.5, '2020-01-01', 1.25, '2020-01-01 10:00:00.5', 4, true),"
    " (2, 'q', null, null, null, null, null, null),"
    " (3, 'q', 2.5, '2021-06-01', 3.5, '2021-01-01', -9, false),"
    " (4, 'r', -7.25, '1999-12-31', 10.0, '1999-12-31 23:59:59', 4, true),"
    " (5, 'p', 0.0, '2020-02-29', -2.75, '2020-02-29 12:00:00', 11, null)",
    "create view v as select a, c * 2 as c2, b || '!' as s from t",
    "create schema s",
    "create table s.x (z int, w varchar)",
    "create temp table tt (q int not null, r varchar)",
    "create table empty (a int, b varchar)",
]


@pytest.fixture
def pair(session: Session):
    """(session, duckdb connection) with the same tables, made by the same statements."""
    with twin(session, SETUP) as both:
        yield both


def both(pair, sql: str, duck_sql: str | None = None) -> tuple[pa.Table, list[tuple]]:
    session, con = pair
    got = session.execute(sql).reader.read_all()
    rel = con.sql(duck_sql or sql)
    return got, rel.fetchall()


def same(pair, sql: str, columns: list[int] | None = None, duck_sql: str | None = None,
         ordered: bool = True) -> pa.Table:
    """Kodiak and DuckDB give the same rows (in ``columns`` only, if given) and names."""
    session, con = pair
    got = session.execute(sql).reader.read_all()
    rel = con.sql(duck_sql or sql)
    assert got.column_names == rel.columns
    g, w = rows_of(got), [tuple(r) for r in rel.fetchall()]
    if columns is not None:
        g = [tuple(r[i] for i in columns) for r in g]
        w = [tuple(r[i] for i in columns) for r in w]
    compare(g, w, ordered)
    return got


@pytest.mark.parametrize("sql", [
    "describe t", "desc t", "describe table t", "show t", "describe s.x", "show s.x",
    "describe tt",
])
def test_describe(pair, sql):
    got = same(pair, sql)
    assert got.schema.field("column_type").type == pa.string()


@pytest.mark.parametrize("sql", [
    "describe select 1 as x, 'a' as y, 2.5 as z", "describe select a, b from t",
    "describe from t", "describe (select c, d from t)", "describe select * from range(3)",
])
def test_describe_query(pair, sql):
    """A query's columns: names and types (DuckDB also carries keys through queries)."""
    same(pair, sql, columns=[0, 1])


def test_describe_system_view(pair):
    got = pair[0].execute("describe information_schema.tables").reader.read_all()
    assert got.column("column_name").to_pylist()[:4] == [
        "table_catalog", "table_schema", "table_name", "table_type"]


def test_describe_view_names_and_types(pair):
    """DuckDB also infers a view column's key from the table; we report names and types."""
    same(pair, "describe v", columns=[0, 1])


def test_describe_information_schema_columns(pair):
    got = pair[0].execute("describe information_schema.columns").reader.read_all()
    assert "column_name" in got.column("column_name").to_pylist()


@pytest.mark.parametrize("sql", [
    "show tables", "show tables from s", "pragma show_tables", "show all tables",
])
def test_show_tables(pair, sql):
    columns = [1, 2, 3, 4, 5] if sql == "show all tables" else None  # database: our name
    same(pair, sql, columns=columns, ordered=True)


def test_show_all_tables_types(pair):
    got = pair[0].execute("show all tables").reader.read_all()
    assert got.schema.field("column_names").type == pa.list_(pa.string())
    assert got.schema.field("temporary").type == pa.bool_()
    assert set(got.column("database").to_pylist()) == {"kodiak", "temp"}


@pytest.mark.parametrize("sql", [
    "pragma table_info('t')", "pragma table_info(t)", "pragma table_info('s.x')",
    "pragma table_info('tt')",
])
def test_pragma_table_info(pair, sql):
    got = same(pair, sql)
    assert got.schema == pa.schema([("cid", pa.int32()), ("name", pa.string()),
                                    ("type", pa.string()), ("notnull", pa.bool_()),
                                    ("dflt_value", pa.string()), ("pk", pa.bool_())])


# column_name .. max, avg, std, count, null_percentage: exact; approx_unique is exact here
# (DuckDB's HyperLogLog is exact on a few values) and the quartiles are both approximate.
EXACT = [0, 1, 2, 3, 4, 5, 10, 11]


@pytest.mark.parametrize("sql", [
    "summarize t", "summarize select a, c, e from t where a > 1",
    "summarize select 1 as x", "summarize s.x", "summarize empty",
    "summarize select * from range(1000)", "summarize v",
])
def test_summarize(pair, sql):
    columns = [0, 1, 2, 3, 5, 10, 11] if "range" in sql else EXACT
    got = same(pair, sql, columns=columns)
    _, want = both(pair, sql)
    for g, w in zip(got.column("std").to_pylist(), [r[6] for r in want], strict=True):
        assert (g is None) == (w is None) and (g is None or abs(float(g) - float(w)) < 1e-9)
    assert got.schema.field("null_percentage").type == pa.decimal128(9, 2)
    assert got.schema.field("count").type == pa.int64()


def test_summarize_quartiles_lie_between_min_and_max(pair):
    got = pair[0].execute("summarize select a, c, h from t").reader.read_all().to_pylist()
    for row in got:
        lo, hi = float(row["min"]), float(row["max"])
        qs = [float(row[q]) for q in ("q25", "q50", "q75")]
        assert lo <= qs[0] <= qs[1] <= qs[2] <= hi


def test_summarize_many_rows_quartiles(pair):
    """On many values the t-digest quartiles agree with DuckDB's closely."""
    got, want = both(pair, "summarize select * from range(10000)")
    for g, w in zip(rows_of(got)[0][7:10], want[0][7:10], strict=True):
        assert abs(float(g) - float(w)) <= 50


@pytest.mark.parametrize("sql, error, message", [
    ("describe nope", BindError, "table 'nope' does not exist"),
    ("describe s.nope", BindError, "table 's.nope' does not exist"),
    ("show nope", BindError, "table 'nope' does not exist"),
    ("summarize nope", BindError, "table 'nope' does not exist"),
    ("summarize select nope from t", BindError, "column 'nope' not found"),
    ("pragma table_info('nope')", BindError, "table 'nope' does not exist"),
    ("pragma foo", NotSupportedError, "PRAGMA foo is not supported"),
    ("show databases", NotSupportedError, "SHOW DATABASES is not supported"),
    ("show tables from nope", BindError, "schema 'nope' does not exist"),
])
def test_errors_name_what_was_typed(pair, sql, error, message):
    with pytest.raises(error) as e:
        pair[0].execute(sql).reader.read_all()
    assert message in str(e.value)


def test_result_schemas_without_running(pair):
    """Prepared statements know the result columns before they run."""
    session = pair[0]
    for sql, first in [("describe t", "column_name"), ("summarize t", "column_name"),
                       ("show tables", "name"), ("pragma table_info('t')", "cid")]:
        p = session.prepare(sql)
        schema = getattr(p, "schema", None) or session.execute(sql).schema
        assert schema.names[0] == first


def test_describe_sees_transaction_changes(pair):
    session = pair[0]
    session.execute("begin")
    session.execute("create table later (n int)")
    got = session.execute("describe later").reader.read_all()
    assert got.column("column_name").to_pylist() == ["n"]
    session.execute("rollback")
    with pytest.raises(SqlError):
        session.execute("describe later")
