"""ROLLUP / CUBE / GROUPING SETS: which form the rewrite takes (results: test_queries.py)."""

from __future__ import annotations

import pytest

from kodiak_flight.sql import grouping
from kodiak_flight.sql.binder.naming import output_name
from kodiak_flight.sql.dialect import parse


@pytest.mark.parametrize("sql, once", [
    ("select a, b, sum(x), count(*), avg(y), min(y), max(y) from t group by rollup (a, b)",
     True),
    ("select a, grouping(a), bool_and(f) from t group by cube (a)", True),
    ("select a, count(distinct x) from t group by rollup (a)", False),
    ("select a, string_agg(s, ',') from t group by rollup (a)", False),
    ("select a, sum(x) filter (where x > 0) from t group by rollup (a)", False),
    ("select a, sum(x), rank() over (order by a) from t group by rollup (a)", False),
])
def test_which_aggregates_read_the_input_once(sql, once):
    assert (grouping.reaggregated(parse(sql)[0], output_name) is not None) == once


def test_the_input_is_scanned_once(session):
    """EXPLAIN of the read-once form shows one scan of the table, shared by the branches;
    the per-set form shows one per grouping set."""
    session.execute("create table g (a int, b int, x int)")
    session.execute("insert into g values (1, 1, 1), (1, 2, 2), (2, 1, 3)")

    def scans(sql: str) -> int:
        plan = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
        return sum("Scan main.g " in line for line in plan)

    assert scans("select a, b, sum(x) from g group by rollup (a, b)") == 1
    assert scans("select a, b, count(distinct x) from g group by rollup (a, b)") == 3
