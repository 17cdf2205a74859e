"""Result-cache benchmark: TPC-H Q1 computed against Q1 served from the query-result cache.

``lineitem`` at SF1 (SF0.1 with ``--quick``) is loaded into an ``engine.Database``; Q1 runs
``repeats`` times in a session without a cache (computed) and ``repeats`` times in a session
with one (after its first run, served from the cache), each run reading the whole result.
The ratio is the computed median over the cached median (target: at least 50x). Then one
row is committed to ``lineitem`` and the next run must compute again (the cache's store
count grows and the answer includes the new row); the benchmark fails if it does not.

Run: ``python -m bench result_cache [--quick]`` (or ``python -m bench cache``).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

from .common import Row, judge, log, scratch
from .tpch import read_table

FULL: dict[str, Any] = {"scale": 1, "repeats": 5}
QUICK: dict[str, Any] = {"scale": 0.1, "repeats": 3}
TARGET = 50.0


def _q1() -> str:
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from tests.sql.tpch_queries import QUERIES

    return QUERIES[1]


def _timed(session: Any, sql: str) -> tuple[float, Any]:
    t0 = time.perf_counter()
    table = session.execute(sql).reader.read_all()
    return time.perf_counter() - t0, table


def result_cache(params: dict[str, Any]) -> list[Row]:
    import pyarrow as pa

    import engine
    from kodiak_flight.sql.resultcache import ResultCache
    from kodiak_flight.sql.session import Session

    scale, repeats = params["scale"], int(params["repeats"])
    sql = _q1()
    with scratch("result_cache") as path:
        lineitem = read_table("lineitem", scale)
        db = engine.Database.open(str(path / "db"))
        log(f"loading lineitem SF{scale:g} ({lineitem.num_rows:,} rows)")
        with db.begin() as tx:
            tx.create_table("lineitem", lineitem.schema)
            tx.insert("lineitem", lineitem)
        cache = ResultCache(256 << 20)
        plain, cached = Session(db), Session(db, result_cache=cache)
        _timed(plain, sql)  # warm-up (column statistics, page cache)
        computed = [_timed(plain, sql)[0] for _ in range(repeats)]
        first, expected = _timed(cached, sql)  # computes and stores
        served = []
        for _ in range(repeats):
            dt, got = _timed(cached, sql)
            assert got.equals(expected), "the cache served a different result"
            served.append(dt)
        stores = cache.stats()["stores"]
        row = lineitem.slice(0, 1)
        with db.begin() as tx:
            tx.insert("lineitem", pa.Table.from_batches(row.to_batches(), row.schema))
        after, fresh = _timed(cached, sql)
        recomputed = cache.stats()["stores"] == stores + 1 and not fresh.equals(expected)
        stats = cache.stats()
        plain.close()
        cached.close()
        db.close()
    c, s = statistics.median(computed), statistics.median(served)
    ratio = c / s
    log(f"Q1 computed {c * 1e3:.1f} ms, cached {s * 1e3:.3f} ms ({ratio:,.0f}x); first "
        f"cached-session run {first * 1e3:.1f} ms; after a commit to lineitem "
        f"{after * 1e3:.1f} ms, recomputed: {recomputed}; {stats}")
    if not recomputed:
        raise SystemExit("a commit to lineitem did not make Q1 compute again")
    return [
        Row("result_cache", f"TPC-H Q1 SF{scale:g} served from the cache", s, "s",
            peer_name="computed", peer=c, ratio=ratio, target=f">= {TARGET:g}x",
            status=judge(ratio >= TARGET),
            detail=f"computed {c * 1e3:.1f} ms vs cached {s * 1e3:.3f} ms (medians of "
                   f"{repeats}); a commit to lineitem made the next run recompute "
                   f"({after * 1e3:.1f} ms)"),
    ]


BENCHMARKS = {"result_cache": result_cache}

__all__ = ["BENCHMARKS", "FULL", "QUICK", "result_cache"]
