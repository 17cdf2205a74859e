"""Statements from DuckDB's own test corpus (its sqllogictest files, run on Kodiak and on
DuckDB record by record) that ended in an internal error: Python's or Arrow's exception
text reaching the user. Each now gives DuckDB's answer or an error in SQL's words.

Found: string_agg with a NULL or non-text separator; lpad/rpad to an absurd width (a
capacity error, or a Python string of that size); right(s, -2**63); date_trunc with a
column or an unknown unit (sqlglot kept the column's name as the unit); DECIMAL(38, 35)
constants (Python's decimal context holds 28 digits); DECIMAL('hello') and DECIMAL(40);
intervals past their parts' range; unnest(outer.list) in a LATERAL subquery; EXTRACT(EPOCH)
of an INTERVAL column (AttributeError), and of its other parts (refused)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from .harness import check, paired, refused, run_both


@pytest.fixture
def pair(db, session):
    t = pa.table({"s": ["a", "b", None, "c"], "k": pa.array([1, 1, 2, None], pa.int32()),
                  "u": ["day", "month", None, "year"],
                  "d": pa.array([1_546_748_582_000_000, 946_684_800_000_000, None,
                                 -1_000_000_000], pa.timestamp("us"))})
    return paired(db, session, {"t": t})


@pytest.mark.parametrize("sql", [
    "select string_agg('a', ','), string_agg(NULL, ','), string_agg('a', NULL)",
    "select k, string_agg(s, NULL) from t group by k",
    "select k, string_agg(s, NULL) over (partition by k) from t",
    "select right('abc', -9223372036854775808), left('abc', -9223372036854775808)",
    "select date_trunc(NULL::VARCHAR, d), date_trunc(NULL, d) from t",
    "select date_trunc('decade', d), date_trunc('century', d), date_trunc('millennium', d), "
    "date_trunc('milliseconds', d), date_trunc('days', d) from t",
    "select 100::TINYINT::DECIMAL(38,35), 100::TINYINT::DECIMAL(9,6), "
    "(-2147483647)::INTEGER::DECIMAL(10,0)",
    "select CEIL('-9999999999999999999999999999999999999.9'::DECIMAL(38,1)), "
    "FLOOR('99999999999999999.9'::DECIMAL(18,1))",
    "select '0'::DECIMAL(38,10)::VARCHAR, '-0.00000012'::DECIMAL(38,10)::VARCHAR, "
    "1.5::DECIMAL(38,10)::VARCHAR, 0.0000001::DECIMAL(10,7)::VARCHAR",
    "select extract(epoch from interval '6 months ago'), "
    "extract(epoch from interval '1 month 2 days ago'), "
    "extract(epoch from interval '3 hours ago')",
    "select * from (select 2 as n union all select 3) t(n), "
    "lateral (select x * n from unnest([1, 2, 3]) u(x) where x < n) t2(b) order by 1, 2",
    "select * from (select 'a,b' as s union all select 'c') t(s), "
    "lateral (select * from unnest(string_split(t.s, ','))) t2(b) order by 1, 2"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


def test_decimal_text_of_a_column(pair):
    session, duck = pair
    run_both(session, duck, "create table dd (x decimal(38,10))",
             "insert into dd values (0), (0.0000001), (-0.00000012), (1.5), (null), (-3)")
    check(session, duck, "select x::varchar, cast(x as text) || 'z' from dd")


@pytest.mark.parametrize("sql,message", [
    ("select string_agg('a', 2)", "separator must be text"),
    ("select lpad('a', 100000000000000000, '0')", "width .* is too large"),
    ("select rpad('a', 100000000000000000, 'xy')", "width .* is too large"),
    ("select repeat('abcdefgh', 300000000)", "text result is too large"),
    ("select date_trunc(u, d) from t", "unit must be a constant"),
    ("select date_trunc('duck', d) from t", "does not know the unit 'duck'"),
    ("select 100::TINYINT::DECIMAL(38,37)", "does not fit in DECIMAL"),
    ("select '0.1'::DECIMAL('hello')", "precision and a scale"),
    ("select '0.1'::DECIMAL(40)", "precision must be 1 to 38"),
    ("select '0.1'::DECIMAL(3, 4)", "scale 0 to the precision"),
    ("select interval '100000000000000000year'", "out of range"),
    ("select interval '9223372036854775 msecs'", "out of range"),
    ("select interval ''", "cannot parse interval"),
    ("select * from (select [42, 43]) t(a), lateral (select * from unnest(t.a)) t2(b)",
     "correlated subquery reading a column of type INTEGER\\[\\]")])
def test_refused_in_sql_words(pair, sql, message):
    session, _ = pair
    refused(session, sql, message)


def test_start_transaction(session):
    """The standard's START TRANSACTION opens a transaction, as BEGIN does."""
    session.execute("create table r (i integer)")
    session.execute("start transaction")
    session.execute("insert into r values (1)")
    session.execute("rollback")
    assert session.execute("select count(*) from r").reader.read_all().column(0)[0].as_py() == 0


def test_interval_parts(pair):
    session, duck = pair
    run_both(session, duck, "create table iv (i interval)",
             "insert into iv values (interval '14 months 40 days 01:02:01.5'), "
             "(interval '-14 months -3 hours -30 seconds'), (null)")
    check(session, duck, "select extract(year from i), extract(month from i), "
          "extract(day from i), extract(hour from i), extract(minute from i), "
          "extract(second from i), extract(millisecond from i), extract(microsecond from i), "
          "extract(quarter from i), extract(decade from i), date_part('year', i), "
          "extract(epoch from i), extract(epoch from interval '14 months 3 days') from iv")
