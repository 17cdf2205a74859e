"""``analytic_queries``: the analysis shapes TPC-H leaves out, against DuckDB over the same rows.

Window functions (the latest row per customer, running totals, ranks, lag, a share of a
partition's total, moving averages), medians and quantiles, and the grouping, string and
date shapes notebooks and BI tools send, over TPC-H orders, lineitem and customer as the
outside harness holds them (strings as ``string``). Measured as ``app_queries`` is: each
query's p50, Kodiak's embedded session and DuckDB's in turn, alternating; the ratio per query
is the median of the rounds' paired ratios. Target: geomean ≤ 1.5×, no query over 3×.

Run: ``python -m bench analytic_queries [--quick]`` (group ``sql``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .app_queries import compare
from .common import Row

FULL: dict[str, Any] = {"scale": 1, "rounds": 3, "repeats": 5}
QUICK: dict[str, Any] = {"scale": 0.2, "rounds": 3, "repeats": 5}

QUERIES = {
    "latest per customer": "select * from (select o_custkey, o_orderkey, o_totalprice, "
                           "row_number() over (partition by o_custkey order by o_orderdate "
                           "desc) rn from orders) where rn = 1",
    "row number": "select o_custkey, o_orderkey, row_number() over (partition by o_custkey "
                  "order by o_orderdate desc) rn from orders",
    "running total": "select o_orderdate, sum(o_totalprice) over (order by o_orderdate) "
                     "from orders",
    "rank": "select o_custkey, rank() over (order by o_totalprice desc) from orders",
    "change from previous": "select o_orderkey, o_totalprice - lag(o_totalprice) over "
                            "(order by o_orderkey) from orders",
    "share of partition": "select o_custkey, o_totalprice / sum(o_totalprice) over "
                          "(partition by o_custkey) from orders",
    "moving average": "select avg(o_totalprice) over (order by o_orderkey rows between 6 "
                      "preceding and current row) from orders",
    "quartiles": "select ntile(4) over (order by o_totalprice) from orders",
    "median": "select median(o_totalprice) from orders",
    "percentile by group": "select o_orderstatus, quantile_cont(o_totalprice, 0.9) from "
                           "orders group by 1",
    "monthly totals": "select date_trunc('month', o_orderdate) m, sum(o_totalprice) from "
                      "orders group by 1 order by 1",
    "distinct per group": "select o_orderstatus, count(distinct o_custkey) from orders "
                          "group by 1",
    "conditional sums": "select sum(case when o_orderpriority = '1-URGENT' then 1 else 0 "
                        "end), sum(case when o_totalprice > 200000 then o_totalprice end) "
                        "from orders",
    "customers without orders": "select count(*) from customer left join orders on "
                                "o_custkey = c_custkey where o_orderkey is null",
    "share by segment": "with big as (select o_custkey, sum(o_totalprice) t from orders "
                        "group by 1) select c_mktsegment, avg(t) from big join customer "
                        "on c_custkey = o_custkey group by 1",
    "ship modes": "select count(*) from lineitem where l_shipmode in ('MAIL', 'SHIP', 'AIR')",
    "above average": "select count(*) from orders where o_totalprice > (select "
                     "avg(o_totalprice) from orders)",
    "top by string": "select * from orders order by o_clerk limit 20",
}


def bench_analytic_queries(cfg: dict) -> list[Row]:
    return compare("analytic_queries", "analysis queries", QUERIES,
                   ("orders", "lineitem", "customer"), (), cfg,
                   quick=cfg["scale"] != FULL["scale"])


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"analytic_queries": bench_analytic_queries}
