"""Functions whose constant arguments Arrow's kernels take as options, given NULL or an
edge value, against DuckDB.

Found by a differential fuzz: a NULL there was read as the text 'None' (replace('None',
NULL, 'x') gave 'x', replace('abc', 'b', NULL) 'aNonec') or ended in an internal error
(lpad, strpos); replace(s, '', 'x') made Arrow's kernel grow the string until the server
ran out of memory; round(15, -1) gave 15."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kodiak_flight.sql.errors import SqlError

from .harness import check, paired


@pytest.fixture
def pair(db, session):
    t = pa.table({"s": ["abc", "", None, "héllo", "None"],
                  "i": pa.array([15, -15, 25, 3, None], pa.int32())})
    return paired(db, session, {"t": t})


@pytest.mark.parametrize("sql", [
    "select replace(s, null, 'x'), replace(s, 'b', null), replace(s, '', 'Z') from t",
    "select regexp_replace(s, null, 'x'), regexp_replace(s, 'b', null) from t",
    "select lpad(s, null, 'x'), rpad(s, 5, null), strpos(s, null), left(s, null), "
    "right(s, null) from t",
    "select substr(s, null), substr(s, 1, null), trim(s, null), split_part(s, null, 1), "
    "split_part(s, ',', null) from t",
    "select starts_with(s, null), ends_with(s, null), contains(s, null), s like null, "
    "regexp_matches(s, null) from t",
    "select s glob null, s like null escape '!', s like 'a%' escape null, s ilike null from t",
    "select round(i, null), round(1.5, null), date_trunc(null, date '2024-05-06'), "
    "date_diff(null, date '2024-01-01', date '2024-02-01'), "
    "date_part(null, date '2024-01-01'), extract(year from null::date) from t",
    "select round(i, -1), round(i::bigint, -2), round(i, 1), round(-5, -1) from t"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


@pytest.mark.parametrize("sql,sql_type", [
    ("select replace('a', null, 'x')", "VARCHAR"), ("select strpos('a', null)", "INTEGER"),
    ("select substr('abc', null)", "VARCHAR"), ("select round(1.5, null)", "DECIMAL(3,1)"),
    ("select date_trunc(null, date '2024-05-06')", "DATE")])
def test_null_has_the_calls_type(session, sql, sql_type):
    got = session.execute(f"select typeof(x) from ({sql} as x)").reader.read_all()
    assert got.column(0).to_pylist() == [sql_type]


def test_errors_stay(session):
    """A NULL constant does not hide a type error in another argument; rounding past the
    type is refused as DuckDB refuses it."""
    session.execute("create table v (s varchar)")
    with pytest.raises(SqlError, match="round is not defined"):
        session.execute("select round(s, null) from v")
    with pytest.raises(SqlError, match="overflow"):
        session.execute("select round(2147483647, -1)").reader.read_all()


@pytest.mark.parametrize("sql,values,want", [
    ("select replace(s, $1, $2) from t order by s", ["b", "X"], ["", "None", "aXc", "héllo", None]),
    ("select replace(s, $1, $2) from t", [None, "X"], [None] * 5),
    ("select round(i, $1) from t order by i", [-1], [-20, 0, 20, 30, None]),
    ("select date_trunc($1, date '2024-05-06') from t limit 1", ["month"], ["2024-05-01"]),
    ("select date_diff($1, date '2024-01-31', date '2024-03-01') from t limit 1", ["month"],
     [2]),
    ("select date_trunc($1, date '2024-05-06') from t limit 1", [None], [None])])
def test_parameters_as_constants(pair, sql, values, want):
    """Parameters where a kernel takes a constant (date_trunc's and date_diff's unit were
    read as the text '1', the parameter's number)."""
    session, _ = pair
    cols = {f"p{i}": pa.array([v], pa.string() if isinstance(v, str) else
                                pa.int64() if isinstance(v, int) else pa.null())
            for i, v in enumerate(values)}
    got = session.prepare(sql).execute(pa.table(cols)).reader.read_all().column(0)
    assert [str(v) if hasattr(v, "isoformat") else v for v in got.to_pylist()] == want
