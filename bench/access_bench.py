"""Access-control benchmark: the cost of rights checks on a prepared primary-key lookup.

One table of ``rows`` rows; the same prepared ``SELECT v FROM t WHERE id = ?`` runs
``lookups`` times per round in a session without a user (every right, no checks) and in one
whose user holds SELECT through a role (checked), rounds alternating so drift hits both
alike. The ratio is checked over unchecked medians (target: at most 1.05). A bound plan is
reused while the catalog version is unchanged, and rights are part of the catalog, so the
check runs at bind time only; the same ratio for ``execute`` (bound every time) is reported
for context.

Run: ``python -m bench access_checks [--quick]`` (or ``python -m bench access``).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from .common import Row, judge, log, scratch

FULL: dict[str, Any] = {"rows": 100_000, "lookups": 2_000, "rounds": 7}
QUICK: dict[str, Any] = {"rows": 10_000, "lookups": 300, "rounds": 5}
TARGET = 1.05


def _round(run: Any, keys: list[Any]) -> float:
    t0 = time.perf_counter()
    for k in keys:
        run(k)
    return (time.perf_counter() - t0) / len(keys)


def access_checks(params: dict[str, Any]) -> list[Row]:
    import pyarrow as pa

    import engine
    from kodiak_flight.sql.session import Session

    n, lookups, rounds = int(params["rows"]), int(params["lookups"]), int(params["rounds"])
    with scratch("access_checks") as path:
        db = engine.Database.open(str(path / "db"))
        admin = Session(db)
        admin.execute("create table t (id bigint primary key, v varchar)")
        with db.begin() as tx:
            tx.insert("main.t", pa.table({"id": pa.array(range(n), pa.int64()),
                                          "v": [f"v{i}" for i in range(n)]}))
        admin.execute("create role readers")
        admin.execute("grant select on t to readers")
        admin.execute("grant readers to ann")
        ann = Session(db, user="ann")
        keys = [pa.table({"p": pa.array([(i * 7919) % n], pa.int64())})
                for i in range(lookups)]
        sql = "select v from t where id = ?"
        runs = {}
        for name, s in (("unchecked", admin), ("checked", ann)):
            p = s.prepare(sql)
            runs[f"{name} prepared"] = lambda k, p=p: p.execute(k).reader.read_all()
            runs[f"{name} execute"] = lambda k, s=s: s.execute(sql, k).reader.read_all()
        for run in runs.values():  # warm-up: statistics, plans, page cache
            _round(run, keys[:50])
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(rounds):
            for name, run in runs.items():
                times[name].append(_round(run, keys))
        admin.close()
        ann.close()
        db.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    prepared = med["checked prepared"] / med["unchecked prepared"]
    executed = med["checked execute"] / med["unchecked execute"]
    log(f"prepared lookup {med['unchecked prepared'] * 1e6:.1f} us unchecked, "
        f"{med['checked prepared'] * 1e6:.1f} us checked ({prepared:.3f}x); execute "
        f"{med['unchecked execute'] * 1e6:.1f} vs {med['checked execute'] * 1e6:.1f} us "
        f"({executed:.3f}x)")
    return [
        Row("access_checks", f"prepared PK lookup, {n:,} rows, user with SELECT via a role",
            med["checked prepared"], "s", peer_name="no user", peer=med["unchecked prepared"],
            ratio=prepared, target=f"<= {TARGET:g}x", status=judge(prepared <= TARGET),
            detail=f"medians of {rounds} alternating rounds of {lookups:,} lookups"),
        Row("access_checks", "the same lookup bound at every execute",
            med["checked execute"], "s", peer_name="no user", peer=med["unchecked execute"],
            ratio=executed, detail="rights checked at each bind (context only)"),
    ]


BENCHMARKS = {"access_checks": access_checks}

__all__ = ["BENCHMARKS", "FULL", "QUICK", "access_checks"]
