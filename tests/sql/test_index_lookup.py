"""Prepared point lookups through a secondary index answer from the index alone.

``engine.snapshot._answered_by_index`` lets an equality or IN on an index's first column skip
the re-check of the rows the index found (integer, string and bytes values), and
``executor.scan.index_point`` reads those rows at once. Answers are checked against DuckDB,
for keyless and keyed tables, unique and duplicate values, NULLs, misses, values of other
types than the column's, and rows moved from the buffer into segments.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

N = 3_000


def _rows() -> pa.Table:
    return pa.table({
        "k": pa.array([i * 3 for i in range(N)], pa.int64()),
        "grp": pa.array([None if i % 50 == 0 else i % 7 for i in range(N)], pa.int64()),
        "name": pa.array([f"n{i % 400}" for i in range(N)]),
        "score": pa.array([i / 4 for i in range(N)], pa.float64()),
    })


@pytest.fixture(params=["keyless", "keyed"])
def tables(request, session):
    rows = _rows()
    key = " primary key" if request.param == "keyed" else ""
    session.execute(f"create table t (k bigint{key}, grp bigint, name varchar, score double)")
    session.db.insert("t", rows)
    for ix, col in (("t_grp", "grp"), ("t_name", "name"), ("t_score", "score")):
        session.execute(f"create index {ix} on t ({col})")
    if request.param == "keyless":
        session.execute("create index t_k on t (k)")
    # a few rows in the write buffer too, one of them a duplicate value
    session.execute("insert into t values (9001, 3, 'n5', 0.25), (9004, null, 'new', 1.5)")
    duck = duckdb.connect()
    duck.register("src", rows)
    duck.execute("create table t as select * from src")
    duck.execute("insert into t values (9001, 3, 'n5', 0.25), (9004, null, 'new', 1.5)")
    yield session, duck
    duck.close()


def _same(session, duck, sql: str, params: list) -> None:
    stmt = session.prepare(sql)
    got = stmt.execute(pa.table({f"${i + 1}": [v] for i, v in enumerate(params)}))
    table = got.table if got.table is not None else got.reader.read_all()
    mine = sorted(tuple(r.values()) for r in table.to_pylist())
    want = sorted(duck.execute(sql, params).fetchall())
    assert mine == want, (sql, params)


@pytest.mark.parametrize("sql, values", [
    ("select * from t where k = ?", [0, 3, 8997, 9001, 4, -3]),
    ("select k, name from t where grp = ?", [0, 3, 6, 9]),
    ("select * from t where name = ?", ["n5", "n399", "new", "nope", ""]),
    ("select k from t where score = ?", [0.25, 1.5, 0.3, 749.75]),
])
def test_prepared_lookup_on_a_secondary_index_matches_duckdb(tables, sql, values):
    session, duck = tables
    for v in values:
        _same(session, duck, sql, [v])


def test_in_lists_and_a_second_condition(tables):
    session, duck = tables
    for sql in ("select k from t where grp in (1, 2, 99)",
                "select k from t where name in ('n1', 'new', 'zz')",
                "select k from t where grp = 3 and name = 'n5'",
                "select count(*) from t where grp is null"):
        mine = sorted(session.execute(sql).reader.read_all().to_pylist(),
                      key=lambda r: tuple(r.values()))
        want = sorted(duck.execute(sql).fetchall())
        assert sorted(tuple(r.values()) for r in mine) == want, sql


def test_lookups_after_the_buffer_moves_into_segments(tables):
    session, duck = tables
    session.db.checkpoint()
    for v in ("n5", "new"):
        _same(session, duck, "select k, grp from t where name = ?", [v])
    for v in (3, 9001):
        _same(session, duck, "select * from t where k = ?", [v])
