"""Wrong answers and refusals found by a second run over DuckDB's own test corpus (more of
its sqllogictest files, record by record on Kodiak and on DuckDB), each checked against
DuckDB.

Found: FROM-first queries dropped every join after their first table (``FROM a, b SELECT
count(*)`` counted a's rows; ``FROM a JOIN b USING (i)`` gave a whole); sqlglot hangs those
joins on the first FROM item."""

from __future__ import annotations

import pyarrow as pa
import pytest

from .harness import check, paired


@pytest.fixture
def pair(db, session):
    integers = pa.table({"i": pa.array([1, 2, 3, None], pa.int32())})
    return paired(db, session, {"integers": integers})


@pytest.mark.parametrize("sql", [
    "FROM integers JOIN integers i2 USING (i)",
    "FROM integers i1, integers i2 SELECT count(*)",
    "FROM integers i1 JOIN integers i2 ON i1.i = i2.i SELECT count(*)",
    "FROM integers i1, integers i2 SELECT count(*) UNION ALL SELECT 5",
    "SELECT * FROM (FROM integers a, integers b SELECT count(*))",
    "FROM (FROM integers) s, integers t SELECT count(*)",
    "SELECT count(*) FROM (integers a JOIN integers b USING (i))"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


def test_from_first_pipe_join(pair):
    session, _ = pair
    got = session.execute("FROM integers i1 JOIN integers i2 ON i1.i = i2.i "
                          "|> AGGREGATE count(*) AS n").reader.read_all()
    assert got.column("n").to_pylist() == [3]
