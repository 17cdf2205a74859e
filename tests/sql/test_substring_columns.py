"""substring with positions from columns (it was refused: Arrow's slice takes constants)
and with negative lengths (the characters before the start, DuckDB's; a constant one gave
''), over Unicode text, against DuckDB."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from .harness import check, paired


@pytest.fixture
def pair(db, session):
    rr = random.Random(1)
    vals = ["", "a", "hello", "héllo wörld", "日本語テキスト", "😀ab😀", None]
    n = 300
    t = pa.table({"s": [rr.choice(vals) for _ in range(n)],
                  "a": pa.array([rr.choice([None, -9, -3, -1, 0, 1, 2, 5, 20])
                                 for _ in range(n)], pa.int64()),
                  "l": pa.array([rr.choice([None, -2, 0, 1, 2, 3, 100]) for _ in range(n)],
                                pa.int32())})
    return paired(db, session, {"t": t})


@pytest.mark.parametrize("sql", [
    "select s, a, l, substr(s, a, l) from t", "select s, a, substring(s, a) from t",
    "select s, l, substr(s, 2, l) from t", "select substr(s, a, 2) from t",
    "select s, a, substr(s, a, l) from t where a < 0",
    "select substr(s, 3, -2), substr(s, -3, -2), substr(s, 0, 2), substr(s, -10, 7) from t",
    "select substring(s from a for l) from t where l > 0",
    "select s, a, left(s, a), right(s, a), left(s, l), right(s, l) from t",
    # a padding of several characters (Arrow's kernel takes one)
    "select lpad(s, 8, 'ab'), rpad(s, 7, 'xyz'), lpad(s, 2, 'ab'), lpad(s, 6, '日本') from t",
    # an empty separator splits into characters (was refused)
    "select string_split(s, ''), split_part(s, '', 2), split_part(s, '', -1) from t"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)
