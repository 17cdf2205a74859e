"""Bitwise operators and bit_count over integers of every width, against DuckDB."""

from __future__ import annotations

import pyarrow as pa
import pytest

from .harness import check, paired, refused


@pytest.fixture
def pair(db, session):
    t = pa.table({"a": pa.array([12, -1, 0, 2**31 - 1, -2**31, None], pa.int32()),
                  "b": pa.array([10, 3, -7, 2**62, None, 5], pa.int64()),
                  "u": pa.array([255, 0, 1, 128, 7, None], pa.uint8()),
                  "n": pa.array([1, 0, 3, 31, 2, 4], pa.int32())})
    return paired(db, session, {"t": t})


@pytest.mark.parametrize("sql", [
    "select a & b, a | b, xor(a, b), ~a, ~b, a & 5, 5 | u from t",
    "select b >> n, a >> n, u & 15 from t where n < 31",
    "select b << 1, a << 2 from t where b between 0 and 1000 and a >= 0",
    "select bit_count(a), bit_count(b), bit_count(u), bit_count(~a), bit_count(n::smallint) "
    "from t",
    "select a, b from t where a & 1 = 0 and b | 1 > 0",
    "select sum(a & 255), count(*) filter (where b & 2 = 2) from t",
    "select 12 & 10, 12 | 10, xor(12, 10), 1 << 4, 256 >> 4, ~5, 5 & null, null << 1"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


@pytest.mark.parametrize("sql,message", [
    ("select 1.5 & 1", "takes integers"), ("select 'a' | 1", "takes integers"),
    ("select bit_count(2.5)", "takes integers"),
    ("select 1 << 40", "shift amount must be from 0"),
    ("select a << -1 from t", "shift amount must be from 0")])
def test_refused(pair, sql, message):
    refused(pair[0], sql, message)
