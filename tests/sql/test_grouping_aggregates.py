"""GROUPING SETS / ROLLUP / CUBE with aggregates the registry adds (product, mode, list,
median, string_agg), and keys written as select-list aliases or positions, against DuckDB.

Found by a differential fuzz: such aggregates are not sqlglot aggregate nodes, so the
rewrite that reads the input once took them for plain expressions and computed them over
its pre-grouped rows (product(g) over rollup(g) gave 2 for a group of two 2s, the total
NULL); ROLLUP(k) of an alias k failed to bind, and ROLLUP(1) set GROUPING() wrong."""

from __future__ import annotations

import pyarrow as pa
import pytest

from .harness import check, paired


@pytest.fixture
def pair(db, session):
    t = pa.table({"g": pa.array([0, 1, 2, 2, 3, 3, 3, None], pa.int32()),
                  "h": pa.array([1, 1, 1, 1, 2, 2, 2, 2], pa.int32()),
                  "s": ["a", "c", "c", "b", "d", "d", "e", "d"]})
    return paired(db, session, {"t": t})


@pytest.mark.parametrize("sql", [
    "select g, product(g), sum(g) from t group by grouping sets ((g), ())",
    "select h, mode(s), count(*) from t group by rollup(h)",
    "select g, h, count(*), product(g) from t group by rollup(h, g)",
    "select h, list(s order by s), median(g), string_agg(s, ',' order by s) "
    "from t group by cube(h)",
    "select h, product(h), min(s) from t group by rollup(h) having count(*) > 1",
    "select g % 2 as k, sum(g), grouping(k) from t group by rollup(k)",
    "select h * 10 as k, count(*) from t group by rollup(1)",
    "select h, g, median(g) filter (where g > 0) from t group by grouping sets ((h), (h, g))"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)
