"""Stopping benchmark: time from a cancel to an idle CPU, for each kind of running query.

A join, a sort, an aggregation, a window function (over a join of ``rows``² / 50 pairs with
a costly condition), a sort of millions of joined rows (cancelled during its sorting), and a
recursive CTE of ``iterations`` steps each run in a
thread for ``warmup`` seconds, then are cancelled through their ``Interrupt``. Reported per
kind: seconds from the cancel until the call returned, and until the process's CPU was idle
again (under a tenth of a core over a 50 ms window, sampled with ``time.process_time``);
the target is 1 s to idle (issue 12). ``rounds`` runs of each kind, the worst one reported.

Two kinds do their work in one Acero step without a check inside, over a table of
``build_rows`` rows joined to itself on a unique key, or grouped by it: a hash join's table
build and an aggregation's final merge. Each is timed once uncancelled (D), then cancelled
at a quarter, a half and three quarters of D, so one cancel lands in that step; the worst is
reported. A cancel that finds the query stuck (no end within 60 s) is reported as such:
Acero sometimes never ends a plan stopped by an error (below).

``acero_error_hang`` is plain pyarrow, no Kodiak: a hash join of ``build_rows`` rows with a
filter after it that fails (a division by zero) on its first probe batch, run ``hang_runs``
times, each given 30 s. Acero (pyarrow 26) sometimes never ends such a plan: its reader waits
for good at no CPU. Kodiak's stops are errors raised inside plans (``executor/checked.py``),
so a cancel, a deadline or a memory limit can meet the same hang; the row counts the runs
that hung. A second row runs a failing Kodiak query (a semi join whose key cast fails)
``query_runs`` times: none may hang or lose its error (``executor/watch.py`` sees a stuck
plan and runs it again on one thread; the row says how often it did).

Run: ``python -m bench stop [--quick]``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .common import Row, judge, log, scratch

FULL: dict[str, Any] = {"rows": 100_000, "iterations": 200_000, "warmup": 1.0, "rounds": 3,
                        "build_rows": 4_000_000, "hang_runs": 12,
                        "query_runs": 3000}
QUICK: dict[str, Any] = {"rows": 60_000, "iterations": 90_000, "warmup": 0.5, "rounds": 1,
                         "build_rows": 1_000_000, "hang_runs": 6,
                         "query_runs": 500}
ONE_STEP = {  # over u: k unique, g a permutation of k
    "hash join, large build": "select count(*) from u a join u b on a.k = b.g",
    "aggregation, many groups": "select count(*), sum(s) from "
                                "(select g, sum(v) as s from u group by g)",
}
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
        rows += one_step(db, s, int(params["build_rows"]))
        s.close()
        db.close()
    return rows


def one_step(db: Any, s: Any, n: int) -> list[Row]:
    """The ``ONE_STEP`` kinds, cancelled at three points of their uncancelled time."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(1)
    s.execute("create table u (k bigint, g bigint, v bigint)")
    db.insert("u", pa.table({"k": np.arange(n), "g": rng.permutation(n),
                             "v": rng.integers(0, 1 << 40, n)}))
    db.checkpoint()
    rows = []
    for kind, sql in ONE_STEP.items():
        for _ in range(2):  # the first run reads the segments cold: time the second
            t0 = time.monotonic()
            r = s.execute(sql)
            (r.table if r.table is not None else r.reader.read_all())
            whole = time.monotonic() - t0
        results = [_one(s, sql, whole * f) for f in (0.25, 0.5, 0.75)]
        returned, idle, end = max(results, key=lambda r: r[1])
        log(f"{kind}: {whole:.2f} s uncancelled; cancelled: {results}")
        rows.append(Row("stop", f"{kind}: cancel → idle CPU", idle, "s",
                        target=f"<= {TARGET:g} s",
                        status=judge(idle <= TARGET and end in ("QueryCancelled", "finished")),
                        detail=f"worst of cancels at 1/4, 1/2, 3/4 of its {whole:.2f} s; "
                               f"call returned after {returned:.3f} s ({end}); {n:,} rows"))
    return rows


def acero_error_hang(params: dict[str, Any]) -> list[Row]:
    """Plain pyarrow: how many runs of a failing plan with a hash join never end."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.acero as ac
    import pyarrow.compute as pc

    n, runs = int(params["build_rows"]), int(params["hang_runs"])
    rng = np.random.default_rng(1)
    t = pa.table({"k": np.arange(n), "g": rng.permutation(n)})

    def source(col: str) -> ac.Declaration:
        part = t.select([col])
        return ac.Declaration("record_batch_reader_source", ac.RecordBatchReaderSourceNodeOptions(
            pa.RecordBatchReader.from_batches(part.schema, part.to_batches(65_536))))

    def run(box: dict[str, str]) -> None:
        join = ac.Declaration("hashjoin", ac.HashJoinNodeOptions("inner", ["k"], ["g"]),
                              inputs=[source("k"), source("g")])
        fails = pc.greater(pc.divide(pc.scalar(1), pc.subtract(pc.field("k"), pc.scalar(100))),
                           pc.scalar(-5))
        try:
            ac.Declaration.from_sequence([join, ac.Declaration(
                "filter", ac.FilterNodeOptions(fails))]).to_table(use_threads=True)
            box["end"] = "finished"
        except pa.ArrowInvalid as e:
            box["end"] = str(e)

    hung = 0
    for _ in range(runs):
        box: dict[str, str] = {}
        th = threading.Thread(target=run, args=(box,), daemon=True)
        th.start()
        th.join(30)
        hung += th.is_alive()
    log(f"acero_error_hang: {hung} of {runs} runs hung")
    return [Row("stop", "failing plan with a hash join: runs that never end", hung, "runs",
                target="0", status=judge(hung == 0),
                detail=f"plain pyarrow {pa.__version__}, {n:,} rows, {runs} runs of 30 s"),
            kodiak_failing_query(int(params["query_runs"]))]


def kodiak_failing_query(runs: int) -> Row:
    """The same fault through Kodiak: a query whose semi join fails on a cast, ``runs``
    times; each must end with its own error (``executor/watch.py`` runs a stuck plan again
    on one thread)."""
    import logging

    import engine
    from kodiak_flight.sql import Session
    from kodiak_flight.sql.errors import ExecutionError

    stalls: list[str] = []

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            stalls.append(record.getMessage())

    counter = Count(logging.WARNING)
    logging.getLogger("kodiak_flight.sql.executor.core").addHandler(counter)
    sql = "select a from t where 'hello' in (select a from t)"
    wrong = hung = 0
    with scratch("failing_query") as d:
        db = engine.Database.open(str(d))
        s = Session(db)
        s.execute("create table t (a int)")
        s.execute("insert into t values (1), (3), (4)")
        for _ in range(runs):
            box: dict[str, str] = {}

            def run(box: dict[str, str] = box) -> None:
                try:
                    r = s.execute(sql)
                    r.table if r.table is not None else r.reader.read_all()
                    box["end"] = "finished"
                except ExecutionError as e:
                    box["end"] = str(e)

            th = threading.Thread(target=run, daemon=True)
            th.start()
            th.join(30)
            hung += th.is_alive()
            wrong += box.get("end") != "could not convert string 'hello' to INTEGER"
        db.close()
    logging.getLogger("kodiak_flight.sql.executor.core").removeHandler(counter)
    log(f"kodiak failing query: {hung} hung, {wrong} wrong, {len(stalls)} stalls recovered")
    return Row("stop", "failing query with a semi join: runs that hung or lost the error",
               hung + wrong, "runs", target="0", status=judge(hung + wrong == 0),
               detail=f"{runs} runs of 30 s; {len(stalls)} stalled plans run again on one "
                      "thread")


BENCHMARKS = {"stop": stop, "acero_error_hang": acero_error_hang}
