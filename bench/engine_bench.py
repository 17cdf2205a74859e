"""Storage-engine benchmarks: Kodiak against a peer measured in the same run.

1. ``bulk_load``: TPC-H lineitem into a keyless table (one durable ``db.insert``) against a
   plain uncompressed Feather write of the same table plus fsync.
2. ``point_lookup``: primary-key lookups in a 1 M-row table against SQLite (WAL, INTEGER
   PRIMARY KEY): ``snap.get`` (one row by key, the point-lookup API: the target), and for
   information ``snap.lookup`` (Arrow in, Arrow out) and ``scan(predicate=col("id") == k)``.
3. ``commits``: single-row autocommitted inserts against SQLite autocommit inserts in WAL
   mode with synchronous=FULL: from 1 thread with each row a Python tuple (as SQLite gets
   it; the target), from 1 thread with each row a one-row Arrow table, and from 4 threads.
4. ``range_scan``: a 1 % primary-key range of a 10 M-row table, read through an inspectable
   predicate, against a full scan whose opaque pyarrow predicate the engine cannot prune with.

Every benchmark repeats its measurement, alternating Kodiak and the peer so drift in the
machine (page cache, disk) hits both alike, and reports medians. Each runs in its own process
(see ``bench.__main__``), so its peak RSS is its own.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import engine
from engine import col

from .common import Row, dir_bytes, feather_peer, judge, log, median, percentile, scratch
from .tpch import lineitem_path

FULL: dict[str, Any] = {
    "scale": 1,  # TPC-H scale factor for bulk_load
    "load_repeats": 5,
    "lookup_rows": 1_000_000,
    "lookup_rounds": 5,
    "lookup_keys": 1000,  # per round
    "scan_keys": 200,  # per round, for the scan(predicate) path
    "commit_total": 100_000,  # per system and thread count
    "commit_round": 2_000,  # commits per alternating round
    "commit_budget_s": 240,  # per thread count, both systems together
    "range_rows": 10_000_000,
    "range_repeats": 5,
}

QUICK: dict[str, Any] = {
    "scale": 0.1,
    "load_repeats": 3,
    "lookup_rows": 100_000,
    "lookup_rounds": 3,
    "lookup_keys": 300,
    "scan_keys": 100,
    "commit_total": 5_000,
    "commit_round": 500,
    "commit_budget_s": 60,
    "range_rows": 1_000_000,
    "range_repeats": 5,
}


def paired(a: list[float], b: list[float]) -> float:
    """Median over repeats of a[r] / b[r]: each ratio compares measurements taken moments
    apart, so drift in the machine's load cancels out better than in a ratio of medians."""
    return median([x / y for x, y in zip(a, b, strict=True)])


def _order(r: int) -> tuple[str, str]:
    """Alternate who goes first in each repeat."""
    return ("kodiak", "peer") if r % 2 == 0 else ("peer", "kodiak")


def _m(n: float) -> str:
    return f"{n / 1e6:g} M" if n >= 1e6 else f"{n / 1e3:g} k"


# -- 1. bulk load -----------------------------------------------------------------------------


def bench_bulk_load(cfg: dict) -> list[Row]:
    scale = cfg["scale"]
    path = lineitem_path(scale)
    table = pq.read_table(path)
    n = table.num_rows
    log(f"bulk_load: lineitem SF{scale:g}, {n:,} rows, {table.nbytes / 2**20:,.0f} MiB in "
        f"memory; types kept: {sorted({str(f.type) for f in table.schema})}")
    k_times: list[float] = []
    f_times: list[float] = []
    k_bytes = f_bytes = 0
    with scratch("bulk_load") as work:
        for r in range(cfg["load_repeats"]):
            for who in _order(r):
                if who == "peer":
                    seconds, f_bytes = feather_peer(table, work)
                    f_times.append(seconds)
                else:
                    d = work / "kodiak"
                    db = engine.Database.open(str(d))
                    db.create_table("lineitem", table.schema)
                    t0 = time.perf_counter()
                    db.insert("lineitem", table)  # autocommit: durable when it returns
                    k_times.append(time.perf_counter() - t0)
                    info = db.snapshot().table("lineitem")
                    assert info.row_count == n, (info.row_count, n)
                    assert [f.type for f in info.schema] == [f.type for f in table.schema]
                    k_bytes = dir_bytes(d)
                    db.close()
                    shutil.rmtree(d)
            log(f"bulk_load repeat {r + 1}: Kodiak {k_times[-1]:.2f} s, "
                f"Feather {f_times[-1]:.2f} s")
    k_rate = n / median(k_times)
    f_rate = n / median(f_times)
    ratio = paired(f_times, k_times)  # throughput ratio = peer time / Kodiak time
    detail = (f"{n:,} rows; Kodiak times {_list(k_times)} s, {k_bytes / 2**20:,.0f} MiB on disk; "
              f"Feather times {_list(f_times)} s, {f_bytes / 2**20:,.0f} MiB")
    return [
        Row("bulk_load", f"lineitem SF{scale:g} into a keyless table, vs Feather", k_rate,
            "rows/s", "write_feather (uncompressed) + fsync", f_rate, ratio, "≥ 0.5× peer",
            judge(ratio >= 0.5), detail),
        Row("bulk_load", f"lineitem SF{scale:g}, absolute rate", k_rate, "rows/s",
            target="≥ 1 M rows/s", status=judge(k_rate >= 1e6)),
    ]


def _list(xs: list[float]) -> str:
    return "[" + ", ".join(f"{x:.2f}" for x in xs) + "]"


# -- 2. point lookup --------------------------------------------------------------------------


def _keyed_table(n: int, rng: np.random.Generator) -> pa.Table:
    return pa.table({
        "id": pa.array(np.arange(n, dtype=np.int64)),
        "qty": pa.array(rng.integers(1, 50, n, dtype=np.int32)),
        "price": pa.array(np.round(rng.random(n) * 1000, 2)),
        "name": pa.array([f"item-{i:08d}" for i in range(n)]),
    }, schema=pa.schema([pa.field("id", pa.int64(), False), ("qty", pa.int32()),
                         ("price", pa.float64()), ("name", pa.string())]))


def bench_point_lookup(cfg: dict) -> list[Row]:
    n = cfg["lookup_rows"]
    rng = np.random.default_rng(42)
    data = _keyed_table(n, rng)
    with scratch("point_lookup") as work:
        db = engine.Database.open(str(work / "kodiak"))
        db.create_table("t", data.schema, primary_key=["id"])
        t0 = time.perf_counter()
        db.insert("t", data)
        log(f"point_lookup: Kodiak loaded {n:,} rows in {time.perf_counter() - t0:.2f} s")

        con = sqlite3.connect(str(work / "lookup.sqlite"), isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, qty INTEGER, price REAL, "
                    "name TEXT)")
        t0 = time.perf_counter()
        con.execute("BEGIN")
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)",
                        zip(*(data.column(c).to_pylist() for c in data.column_names),
                            strict=True))
        con.execute("COMMIT")
        log(f"point_lookup: SQLite loaded {n:,} rows in {time.perf_counter() - t0:.2f} s")
        sql = "SELECT * FROM t WHERE id = ?"

        snap = db.snapshot()
        # Same random keys for both; warm both paths first.
        for k in rng.integers(0, n, 200).tolist():
            snap.lookup("t", pa.table({"id": [k]}))
            con.execute(sql, (k,)).fetchall()
        k_lat: list[float] = []
        s_lat: list[float] = []
        scan_lat: list[float] = []
        k_rounds: list[float] = []
        s_rounds: list[float] = []
        scan_rounds: list[float] = []
        arrow_lat: list[float] = []
        arrow_rounds: list[float] = []
        perf = time.perf_counter
        for r in range(cfg["lookup_rounds"]):
            keys = rng.integers(0, n, cfg["lookup_keys"]).tolist()
            for who in _order(r):
                if who == "kodiak":
                    lat = []
                    for k in keys:
                        t0 = perf()
                        row = snap.get("t", k)
                        lat.append(perf() - t0)
                        assert row is not None
                    k_lat += lat
                    k_rounds.append(median(lat))
                else:
                    lat = []
                    for k in keys:
                        t0 = perf()
                        rows = con.execute(sql, (k,)).fetchall()
                        lat.append(perf() - t0)
                        assert len(rows) == 1
                    s_lat += lat
                    s_rounds.append(median(lat))
            lat = []
            for k in keys:
                t0 = perf()
                res = snap.lookup("t", pa.table({"id": [k]}))
                lat.append(perf() - t0)
                assert res.num_rows == 1
            arrow_lat += lat
            arrow_rounds.append(median(lat))
            lat = []
            for k in keys[: cfg["scan_keys"]]:
                t0 = perf()
                res = db.snapshot().scan("t", predicate=col("id") == k).read_all()
                lat.append(perf() - t0)
                assert res.num_rows == 1
            scan_lat += lat
            scan_rounds.append(median(lat))
            log(f"point_lookup round {r + 1}: Kodiak get {median(k_lat) * 1e6:.0f} µs, "
                f"lookup {median(arrow_lat) * 1e6:.0f} µs, "
                f"scan {median(scan_lat) * 1e6:.0f} µs, SQLite {median(s_lat) * 1e6:.1f} µs")
        # Same answers: one row compared field by field.
        k = int(rng.integers(0, n))
        got = snap.lookup("t", pa.table({"id": [k]})).to_pylist()[0]
        want = con.execute(sql, (k,)).fetchone()
        assert tuple(got.values()) == want, (got, want)
        assert snap.get("t", k) == got
        con.close()
        db.close()
    km, sm, scm = median(k_lat), median(s_lat), median(scan_lat)
    sqlite_name = f"SQLite {sqlite3.sqlite_version} (WAL, INTEGER PRIMARY KEY)"
    return [
        Row("point_lookup", f"snap.get by int64 key, {_m(n)} rows (median latency)", km,
            "s", sqlite_name, sm, paired(k_rounds, s_rounds), "≤ 2× peer",
            judge(paired(k_rounds, s_rounds) <= 2),
            f"p99 Kodiak {percentile(k_lat, .99) * 1e6:.0f} µs, SQLite "
            f"{percentile(s_lat, .99) * 1e6:.1f} µs; {len(k_lat)} lookups each"),
        Row("point_lookup", "snap.lookup(pa.table({'id': [k]})) (Arrow in and out)",
            median(arrow_lat), "s", sqlite_name, sm, paired(arrow_rounds, s_rounds), "", "info",
            f"p99 {percentile(arrow_lat, .99) * 1e6:.0f} µs"),
        Row("point_lookup", "db.snapshot().scan(predicate=col('id') == k).read_all()", scm, "s",
            sqlite_name, sm, paired(scan_rounds, s_rounds), "", "info",
            f"p99 {percentile(scan_lat, .99) * 1e6:.0f} µs; {len(scan_lat)} scans"),
    ]


# -- 3. single-row commits --------------------------------------------------------------------


def _threaded(jobs: list[Callable[[], None]]) -> float:
    """Run ``jobs`` concurrently (one thread each; inline if only one); wall time in s."""
    if len(jobs) == 1:
        t0 = time.perf_counter()
        jobs[0]()
        return time.perf_counter() - t0
    start = threading.Barrier(len(jobs) + 1)
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        start.wait()
        try:
            job()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return elapsed


COMMIT_SCHEMA = pa.schema([pa.field("id", pa.int64(), False), ("v", pa.float64()),
                           ("s", pa.string())])


def _commit_run(work: Any, threads: int, cfg: dict,
                rows_as: str = "python") -> tuple[list[float], list[float], int, int]:
    """Rates (commits/s) per round for Kodiak and SQLite with ``threads`` writer threads, the
    commits each made, and how many Kodiak inserts gave up on the writer lock and were retried.

    ``rows_as``: what each Kodiak insert gets, ``"python"`` a list of one tuple (the values
    SQLite's ``execute`` gets) or ``"arrow"`` a one-row Arrow table.

    Rounds alternate between the two until ``commit_total`` commits each, or until
    ``commit_budget_s`` is spent (fsync latency on a shared disk varies 10×)."""
    total, size, budget = cfg["commit_total"], cfg["commit_round"], cfg["commit_budget_s"]
    db = engine.Database.open(str(work / f"kodiak{threads}{rows_as}"))
    db.create_table("t", COMMIT_SCHEMA, primary_key=["id"])
    path = str(work / f"commits{threads}{rows_as}.sqlite")
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL, s TEXT)")
    cons = []
    for _ in range(threads):
        c = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        c.execute("PRAGMA synchronous=FULL")  # per connection: sync the WAL at every commit
        c.execute("PRAGMA busy_timeout=60000")
        cons.append(c)
    k_rates: list[float] = []
    s_rates: list[float] = []
    retries = [0]
    retry_lock = threading.Lock()
    done = 0
    started = time.perf_counter()
    r = 0
    while done < total:
        per = min(size, total - done)
        lo = done
        for who in _order(r):
            if who == "kodiak":
                # Client-side row building stays outside the timed region (for SQLite too).
                tables: list[Any] = [
                    [(i, i * 0.5, f"row-{i}")] if rows_as == "python" else
                    pa.table({"id": [i], "v": [i * 0.5], "s": [f"row-{i}"]},
                             schema=COMMIT_SCHEMA) for i in range(lo, lo + per)]

                def kjob(part: list[Any]) -> Callable[[], None]:
                    def go() -> None:
                        for t in part:
                            while True:
                                try:
                                    db.insert("t", t)  # its own durable transaction
                                    break
                                except engine.errors.ConflictError:
                                    # db.insert waits at most 5 s for the writer lock; count
                                    # it and retry (the wait stays in the measured time)
                                    with retry_lock:
                                        retries[0] += 1
                    return go

                el = _threaded([kjob(tables[j::threads]) for j in range(threads)])
                k_rates.append(per / el)
            else:
                rows = [(i, i * 0.5, f"row-{i}") for i in range(lo, lo + per)]

                def sjob(c: sqlite3.Connection, part: list[tuple]) -> Callable[[], None]:
                    def go() -> None:
                        for row in part:
                            c.execute("INSERT INTO t VALUES (?, ?, ?)", row)  # autocommit
                    return go

                el = _threaded([sjob(cons[j], rows[j::threads]) for j in range(threads)])
                s_rates.append(per / el)
        done += per
        r += 1
        log(f"commits, {threads} thread(s), round {r} ({done:,} done): Kodiak "
            f"{k_rates[-1]:,.0f}/s, SQLite {s_rates[-1]:,.0f}/s")
        if time.perf_counter() - started > budget and done < total:
            log(f"commits, {threads} thread(s): time budget of {budget} s spent; stopping at "
                f"{done:,} commits each")
            break
    assert db.snapshot().table("t").row_count == done
    assert setup.execute("SELECT count(*) FROM t").fetchone()[0] == done
    for c in cons:
        c.close()
    setup.close()
    db.close()
    return k_rates, s_rates, done, retries[0]


def bench_commits(cfg: dict) -> list[Row]:
    total = cfg["commit_total"]
    out: list[Row] = []
    single = None
    with scratch("commits") as work:
        for threads, rows_as in ((1, "python"), (1, "arrow"), (4, "python")):
            k_rates, s_rates, done, retries = _commit_run(work, threads, cfg, rows_as)
            k, s = median(k_rates), median(s_rates)
            ratio = paired(k_rates, s_rates)
            count = f"{done:,} commits each" + (
                "" if done == total else
                f" (of {total:,} planned: stopped by the {cfg['commit_budget_s']} s budget)")
            detail = (f"{count}, {len(k_rates)} alternating rounds; round rates "
                      f"Kodiak {_rates(k_rates)}, SQLite {_rates(s_rates)}")
            if retries:
                detail += (f"; {retries} Kodiak inserts hit the 5 s writer-lock timeout "
                           "(ConflictError) and were retried")
            sq = f"SQLite {sqlite3.sqlite_version} autocommit, WAL, synchronous=FULL"
            if threads == 1 and rows_as == "python":
                single = k
                out.append(Row("commits", "single-row durable inserts, 1 thread", k,
                               "commits/s", sq, s, ratio, "≥ 1× peer", judge(ratio >= 1),
                               "each db.insert gets one Python row tuple, as SQLite's execute "
                               "does; " + detail))
            elif threads == 1:
                out.append(Row("commits", "same, each row as a one-row Arrow table", k,
                               "commits/s", sq, s, ratio, "", "info", detail))
            else:
                assert single is not None
                detail += f"; Kodiak 4 threads / Kodiak 1 thread = {k / single:.2f}×"
                out.append(Row("commits", "single-row durable inserts, 4 writer threads", k,
                               "commits/s", sq + ", 4 connections", s, ratio, "", "info",
                               detail))
    return out


def _rates(xs: list[float]) -> str:
    return "[" + ", ".join(f"{x:,.0f}" for x in xs) + "]"


# -- 4. key-range scan ------------------------------------------------------------------------


def bench_range_scan(cfg: dict) -> list[Row]:
    n = cfg["range_rows"]
    rng = np.random.default_rng(7)
    schema = pa.schema([pa.field("id", pa.int64(), False), ("qty", pa.int32()),
                        ("price", pa.float64())])
    data = pa.table({"id": np.arange(n, dtype=np.int64),
                     "qty": rng.integers(1, 50, n, dtype=np.int32),
                     "price": rng.random(n) * 1000}, schema=schema)
    span = n // 100
    with scratch("range_scan") as work:
        db = engine.Database.open(str(work / "kodiak"))
        db.create_table("t", schema, primary_key=["id"])
        t0 = time.perf_counter()
        db.insert("t", data)  # in key order
        log(f"range_scan: loaded {n:,} keyed rows in {time.perf_counter() - t0:.1f} s")
        # The same rows without a primary key: a range predicate can then only use the
        # per-segment and per-batch min/max statistics. Context for where the time goes.
        db.create_table("t_nokey", schema)
        t0 = time.perf_counter()
        db.insert("t_nokey", data)
        log(f"range_scan: loaded {n:,} keyless rows in {time.perf_counter() - t0:.1f} s")
        del data
        idx: list[float] = []
        full: list[float] = []
        stats: list[float] = []
        for r, a in enumerate(rng.integers(0, n - span, cfg["range_repeats"]).tolist()):
            b = a + span
            for who in _order(r):
                if who == "kodiak":
                    t0 = time.perf_counter()
                    got = db.snapshot().scan(
                        "t", predicate=(col("id") >= a) & (col("id") < b)).read_all()
                    idx.append(time.perf_counter() - t0)
                    assert got.num_rows == span, got.num_rows
                else:
                    t0 = time.perf_counter()
                    got = db.snapshot().scan(
                        "t", predicate=(pc.field("id") >= a) & (pc.field("id") < b)).read_all()
                    full.append(time.perf_counter() - t0)
                    assert got.num_rows == span, got.num_rows
            t0 = time.perf_counter()
            got = db.snapshot().scan(
                "t_nokey", predicate=(col("id") >= a) & (col("id") < b)).read_all()
            stats.append(time.perf_counter() - t0)
            assert got.num_rows == span, got.num_rows
            log(f"range_scan repeat {r + 1}: keyed range {idx[-1] * 1e3:.1f} ms, full scan "
                f"{full[-1] * 1e3:.1f} ms, keyless range (statistics) {stats[-1] * 1e3:.1f} ms")
        db.close()
    i, f, s = median(idx), median(full), median(stats)
    peer = "full scan, opaque pc.field predicate"
    speedup = paired(full, idx)
    return [
        Row("range_scan", f"1% key range of {_m(n)} keyed rows, col() predicate", i, "s",
            peer, f, speedup, "≥ 20× faster than peer", judge(speedup >= 20),
            f"{span:,} rows returned; times Kodiak {_ms(idx)} ms, full {_ms(full)} ms"),
        Row("range_scan", "same range, keyless copy (min/max statistics only)", s, "s", peer, f,
            paired(full, stats), "", "info", f"times {_ms(stats)} ms"),
    ]


def _ms(xs: list[float]) -> str:
    return "[" + ", ".join(f"{x * 1e3:.1f}" for x in xs) + "]"


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {
    "bulk_load": bench_bulk_load,
    "point_lookup": bench_point_lookup,
    "commits": bench_commits,
    "range_scan": bench_range_scan,
}

