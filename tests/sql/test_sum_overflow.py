"""An integer SUM past its type's range raises instead of wrapping (``executor/sum_check``).

Arrow's sum kernels wrap: five rows of 2**62 summed to 2**62. Each path that sums integers
is covered: a small table's scalar sum, Acero's scalar and hash aggregations, the grouping
by runs (a table stored in key order), window sums (running, framed, whole partition),
FILTER and grouping sets. Sums that fit, however close to the edge, stay exact (against
DuckDB, which widens to HUGEINT and so gives the true value)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql.errors import ExecutionError

BIG = 2 ** 62
ROWS = 200_000  # past the small-table path


def load(db, name: str, t: pa.Table) -> None:
    db.create_table(f"main.{name}", t.schema)
    db.insert(f"main.{name}", t)


@pytest.fixture
def tables(db, session):
    load(db, "small", pa.table({"i": pa.array(np.full(5, BIG, np.int64)),
                                "u": pa.array(np.full(5, 2 ** 63, np.uint64)),
                                "g": [1, 1, 1, 2, 2], "j": [1, 2, 3, 4, 5]}))
    load(db, "big", pa.table({"i": pa.array(np.full(ROWS, 2 ** 50, np.int64)),
                              "g": np.arange(ROWS) // (ROWS // 4), "j": np.arange(ROWS)}))
    return session


@pytest.mark.parametrize("query", [
    "select sum(i) from small", "select sum(u) from small",
    "select g, sum(i) from small group by g", "select g, sum(u) from small group by g",
    "select j % 2, sum(i) from small group by j % 2",
    "select sum(i) from big", "select g, sum(i) from big group by g",
    "select j % 3, sum(i) from big group by j % 3",
    "select sum(i) filter (where j > 1) from small",
    "select sum(i) from small group by grouping sets ((g), ())",
    "select sum(i) over (order by j) from small",
    "select sum(i) over (order by j rows between 2 preceding and current row) from small",
    "select sum(i) over (partition by g) from small", "select sum(i) over () from big"])
def test_overflow_raises(tables, query):
    with pytest.raises(ExecutionError, match=r"SUM overflowed U?BIGINT: the total is out of "
                                             r"its range \(sum a wider type"):
        r = tables.execute(query)
        _ = r.table if r.table is not None else r.reader.read_all()


@pytest.mark.parametrize("query", [
    "select sum(i) from small where j = 1", "select g, sum(j) from small group by g",
    "select sum(i) from big where j < 8000", "select g, sum(i) from big where j % 1000 = 0 "
    "group by g", "select sum(i) over (order by j rows between 1 preceding and current row) "
    "from big where j < 10", "select sum(distinct i) from small", "select avg(i) from small",
    "select sum(i::hugeint) from small", "select sum(u::hugeint) from small"])
def test_fitting_sums_exact(tables, db, query):
    con = duckdb.connect()
    for name in ("small", "big"):
        con.register(name, db.snapshot().scan(f"main.{name}").read_all())
    r = tables.execute(query)
    got = (r.table if r.table is not None else r.reader.read_all()).to_pylist()
    want = con.execute(query).fetchall()
    assert sorted(tuple(row.values()) for row in got) == sorted(want)
