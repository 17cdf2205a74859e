"""Stopping benchmark: time from a cancel to an idle CPU, for each kind of running query.

A join, a sort, an aggregation, a window function (over a join of ``rows``² / 50 pairs with
a costly condition), a sort of millions of joined rows (cancelled during its sorting), and a
recursive CTE of ``iterations`` steps each run in a
thread for ``warmup`` seconds, then are cancelled through their ``Interrupt``. Reported per
kind: seconds from the cancel until the call returned, and until the process's CPU was idle
again (under a tenth of a core over a 50 ms window, sampled with ``time.process_time``);
the target is 1 s to idle (issue 12). ``rounds`` runs of each kind, the worst one reported.

Run: ``python -m bench stop [--quick]``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .common import Row, judge, log, scratch

FULL: dict[str, Any] = {"rows": 100_000, "iterations": 200_000, "warmup": 1.0, "rounds": 3}
QUICK: dict[str, Any] = {"rows": 60_000, "iterations": 90_000, "warmup": 0.5, "rounds": 1}
TARGET = 1.0
WINDOW = 0.05


def queries(iterations: int) -> dict[str, str]:
    join = "from t a join t b on a.g = b.g where a.v || b.v like '%1234%5%'"
    return {
        "join": f"select a.k, b.k {join}",
        "sort": f"select a.k, b.k {join} order by a.v || b.v",
        "aggregation": f"select a.g, count(distinct b.v) {join} group by a.g",
        "window function": f"select a.k, row_number() over (partition by a.g order by b.v) "
                           f"{join}",
        # no residual to check in: 2,000 × rows/50 pairs reach the sort in few batches, so
        # the cancel may land inside its one sort_indices call, which finishes first
        "sort, large input": "select a.k, b.v from t a join t b on a.g = b.g "
                             "where a.k < 2000 order by b.v, a.v, a.k",
        "recursive CTE": "with recursive r(n) as (select 1 union all select n + 1 from r "
                         f"where n < {iterations}) select count(*) from r",
    }


def _idle_after(t0: float, limit: float = 30.0) -> float:
    """Seconds from ``t0`` until a ``WINDOW`` in which this process used under 10% of a core."""
    while time.monotonic() - t0 < limit:
        c = time.process_time()
        time.sleep(WINDOW)
        if time.process_time() - c < 0.1 * WINDOW:
            return time.monotonic() - t0 - WINDOW
    return limit


def _one(s: Any, sql: str, warmup: float) -> tuple[float, float, str]:
    from kodiak_flight.sql.interrupt import Interrupt

    interrupt = Interrupt()
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            r = s.execute(sql, interrupt=interrupt)
            (r.table if r.table is not None else r.reader.read_all())
            box["end"] = "finished"
        except Exception as e:  # noqa: BLE001 - reported
            box["end"] = type(e).__name__
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(warmup)
    t0 = time.monotonic()
    interrupt.cancel()
    t.join(60)
    returned = time.monotonic() - t0
    return returned, _idle_after(t0), box.get("end", "still running")


def stop(params: dict[str, Any]) -> list[Row]:
    import pyarrow as pa

    import engine
    from kodiak_flight.sql.session import Session

    n = int(params["rows"])
    rows = []
    with scratch("stop") as path:
        db = engine.Database.open(str(path / "db"))
        s = Session(db)
        s.execute("create table t (k bigint, g bigint, v varchar)")
        db.insert("t", pa.table({"k": pa.array(range(n), pa.int64()),
                                 "g": pa.array([i % 50 for i in range(n)], pa.int64()),
                                 "v": pa.array([f"v{(i * 7919) % n}" for i in range(n)])}))
        db.checkpoint()
        for kind, sql in queries(int(params["iterations"])).items():
            results = [_one(s, sql, float(params["warmup"])) for _ in range(int(params["rounds"]))]
            returned, idle, end = max(results, key=lambda r: r[1])
            log(f"{kind}: returned {returned:.3f} s, idle {idle:.3f} s after the cancel ({end})")
            rows.append(Row("stop", f"{kind}: cancel → idle CPU", idle, "s",
                            target=f"<= {TARGET:g} s",
                            status=judge(idle <= TARGET and end == "QueryCancelled"),
                            detail=f"call returned after {returned:.3f} s ({end}); worst of "
                                   f"{params['rounds']}, {n:,}-row table"))
        s.close()
        db.close()
    return rows


BENCHMARKS = {"stop": stop}
