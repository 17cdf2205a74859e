"""Elapsed time: timestamp - timestamp, timestamp +- a duration, durations times integers,
INTERVAL texts of several parts, EXTRACT(EPOCH) of an interval; against DuckDB.

Found by a differential fuzz: `ts - ts` and `interval '1 day' * 2` were refused,
INTERVAL '1 month 2 days' did not parse, INTERVAL '5 ms' was five minutes and INTERVAL
'1 day 02:30:00' lost its time (sqlglot keeps the first number-unit pair)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from .harness import check, paired, refused


@pytest.fixture
def pair(db, session):
    t = pa.table({"ts": pa.array([dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 3, 1),
                                  dt.datetime(1999, 12, 31, 23, 59, 59, 500000), None],
                                 pa.timestamp("us")),
                  "d": pa.array([dt.date(2024, 1, 31), dt.date(2023, 2, 28), None,
                                 dt.date(2000, 1, 1)], pa.date32()),
                  "n": pa.array([2, 3, -1, None], pa.int32())})
    return paired(db, session, {"t": t})


@pytest.mark.parametrize("sql", [
    "select ts - timestamp '2024-01-01', timestamp '2024-06-01 12:00' - ts from t",
    "select ts - d, d - ts from t",
    "select ts + (ts - timestamp '2024-01-01'), ts - (ts - interval '3 days') from t",
    "select ts + interval '1 hour' * n, ts - n * interval '90 minutes' from t",
    "select extract(epoch from ts - timestamp '2024-01-01') from t",
    "select ts - interval '1 month 2 days', ts + interval '1 day 02:30:00', "
    "ts + interval '5 ms', ts - interval '-1.5 hours', ts + interval '2 years 3 months' from t",
    "select extract(epoch from interval '1 day 02:30:00'), "
    "extract(epoch from interval '1 month'), extract(epoch from interval '90 seconds')",
    "select count(*) from t where ts - timestamp '2024-01-01' > interval '1 day'",
    "select ts + interval '1 day' * 3 + interval '2 hours' from t",
    "select ts + interval '1 day' * 1.5, ts - 2.5 * interval '1 hour', "
    "ts + interval '1 month' * 1.5 from t"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


@pytest.mark.parametrize("sql,message", [
    ("select ts - interval '1 month' * n from t", "months has no fixed length"),
    ("select interval '3 fortnights'", "unknown unit"),
    ("select ts * 2 from t", "operator \\* is not defined"),
    ("select ts - now() from t", "cast one to the other's type")])
def test_refused(pair, sql, message):
    refused(pair[0], sql, message)
