"""``app_queries``: the short queries applications send, against DuckDB over the same rows.

TPC-H measures analytics; dashboards, admin screens and ORMs send other shapes: the latest
rows (``order by ... limit 20``), a page further on, a search box (``like '%x%' limit 10``),
a lookup by a foreign key, an IN list of keys, counts and extremes. TPC-H orders as the
outside harness holds it (strings as ``string``), secondary indexes on ``o_orderkey`` and
``o_custkey`` on both sides; each query's p50 over repeats, Kodiak's embedded session and
DuckDB's in turn, alternating who goes first; the ratio per query is the median of the
rounds' paired ratios. Target: geomean ≤ 1.5×, no query over 3× (a shape a user hits and
finds far slower than the engine they compare with).

Run: ``python -m bench app_queries [--quick]`` (group ``sql``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from .common import Row, judge, log, median, scratch
from .engine_bench import _list, _order, paired
from .outside import announce, command, harness_table

FULL: dict[str, Any] = {"scale": 1, "rounds": 5, "repeats": 11}
QUICK: dict[str, Any] = {"scale": 0.2, "rounds": 3, "repeats": 9}

QUERIES = {
    "first rows": "select * from orders limit 10",
    "latest by key": "select * from orders order by o_orderkey desc limit 20",
    "latest by date": "select * from orders order by o_orderdate desc limit 20",
    "a page further on": "select * from orders order by o_orderkey limit 20 offset 10000",
    "count": "select count(*) from orders",
    "by foreign key": "select * from orders where o_custkey = 1234",
    "count by foreign key": "select count(*) from orders where o_custkey = 1234",
    "IN list of keys": "select * from orders where o_orderkey in (7, 1025, 4102, 23008, "
                       "40003, 81920, 100002, 150016)",
    "key range": "select * from orders where o_orderkey between 1000 and 1100",
    "search box": "select * from orders where o_comment like '%special%' limit 10",
    "search, no match": "select * from orders where o_comment like '%zzzz%' limit 10",
    "filter, limit": "select * from orders where o_totalprice > 100000 limit 10",
    "one day": "select * from orders where o_orderdate = date '1995-03-15' limit 50",
    "status counts": "select o_orderstatus, count(*) from orders group by 1",
    "extremes": "select min(o_orderdate), max(o_orderdate), max(o_totalprice) from orders",
    "distinct count": "select count(distinct o_custkey) from orders",
    "top customers": "select o_custkey, sum(o_totalprice) s from orders group by 1 "
                     "order by s desc limit 10",
}


INDEXES = ("create index orders_key on orders (o_orderkey)",
           "create index orders_cust on orders (o_custkey)")


def bench_app_queries(cfg: dict) -> list[Row]:
    return compare("app_queries", "application queries", QUERIES, ("orders",), INDEXES, cfg,
                   quick=cfg["scale"] != FULL["scale"])


def compare(bench: str, what: str, queries: dict[str, str], tables: tuple[str, ...],
            indexes: tuple[str, ...], cfg: dict, quick: bool) -> list[Row]:
    """``queries`` over the harness's ``tables`` at ``cfg["scale"]`` (see compare_tables)."""
    scale = cfg["scale"]
    return compare_tables(bench, f"{what}, {', '.join(tables)} SF{scale:g}", queries,
                          {t: harness_table(t, scale) for t in tables}, indexes, cfg, quick)


def compare_tables(bench: str, what: str, queries: dict[str, str], tables: dict[str, Any],
                   indexes: tuple[str, ...], cfg: dict, quick: bool) -> list[Row]:
    """``queries`` over ``tables`` (name -> Arrow table), Kodiak's embedded session against
    DuckDB over the same rows and ``indexes``: one row for the geomean of the per-query
    ratios (geomean <= 1.5x, none over 3x), one per query for information."""
    with scratch(bench) as work:
        session, db, con = load(tables, indexes, work)
        try:
            per = {name: _query(session, con, sql, cfg) for name, sql in queries.items()}
        finally:
            session.close()
            db.close()
            con.close()
    ratios = {name: paired(k, d) for name, (k, d) in per.items()}
    geo = math.exp(sum(math.log(r) for r in ratios.values()) / len(ratios))
    worst = max(ratios, key=lambda n: ratios[n])
    announce(bench, geo, quick)
    rows = [Row(bench, f"{len(queries)} {what}, geomean of p50 ratios", geo, "×", "DuckDB, same rows and indexes", None, geo,
                "≤ 1.5×, none over 3×", judge(geo <= 1.5 and ratios[worst] <= 3.0),
                f"worst: {worst} {ratios[worst]:.2f}×; `{command(bench, quick)}`")]
    for name, (k, d) in per.items():
        rows.append(Row(bench, f"{name}: {queries[name]}", median(k), "s", "DuckDB",
                        median(d), ratios[name], "", "info",
                        f"per-round p50 Kodiak {_list([x * 1e3 for x in k])} ms, DuckDB "
                        f"{_list([x * 1e3 for x in d])} ms"))
    return rows


def load(tables: dict[str, Any], indexes: tuple[str, ...], work: Any) -> tuple[Any, Any, Any]:
    """A Kodiak database and session and a DuckDB connection, each holding ``tables`` and
    ``indexes``."""
    import duckdb

    import engine
    from kodiak_flight.sql import Session

    db = engine.Database.open(str(work / "kodiak"))
    con = duckdb.connect()
    for name, t in tables.items():
        db.create_table(f"main.{name}", t.schema)
        db.insert(f"main.{name}", t)
        con.register("src", t)
        con.execute(f"create table {name} as select * from src")
        con.unregister("src")
    session = Session(db)
    for stmt in indexes:
        session.execute(stmt)
        con.execute(stmt)
    return session, db, con


def _query(session: Any, con: Any, sql: str, cfg: dict) -> tuple[list[float], list[float]]:
    """Per-round p50s of ``sql`` in Kodiak and in DuckDB."""
    def kodiak() -> None:
        r = session.execute(sql)
        if r.table is None:
            r.reader.read_all()

    def duck() -> None:
        con.sql(sql).to_arrow_table()

    k_p50: list[float] = []
    d_p50: list[float] = []
    for r in range(cfg["rounds"]):
        for who in _order(r):
            run = kodiak if who == "kodiak" else duck
            (k_p50 if who == "kodiak" else d_p50).append(_p50(run, cfg["repeats"]))
    log(f"app_queries {sql[:60]}: Kodiak {median(k_p50) * 1e3:.2f} ms, DuckDB "
        f"{median(d_p50) * 1e3:.2f} ms")
    return k_p50, d_p50


def _p50(run: Callable[[], None], repeats: int) -> float:
    run()  # (a first run: plans kept, pages mapped)
    lat = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        lat.append(time.perf_counter() - t0)
    return median(lat)


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"app_queries": bench_app_queries}
