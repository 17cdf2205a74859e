"""Scale benchmark: the 22 TPC-H queries at SF1 and SF10 on embedded Kodiak.

The performance issue asks that SF10 runs all 22 queries with a peak resident memory under
8 GB and a geometric-mean time at most 12x the SF1 geomean (near-linear growth). Each scale
is loaded once into an on-disk database under ``bench/.data/kodiak`` (from ``tpchgen-cli``
Parquet, read part by part so the load never holds a whole table), then measured in a fresh
child process so that scale's peak RSS (``VmHWM``, reset after opening) is its own.

Per query: one warm-up run, then ``repeats`` timed runs, the median reported. No peer system
runs here: the figure is Kodiak against itself at ten times the data (TPC-H ratios against
DuckDB are ``python -m bench tpch``).

Run: ``python -m bench tpch_scale`` (SF1 and SF10; ``--quick``: SF0.1 and SF1), or standalone
``python -m bench.tpch_scale [--small 1 --large 10 -r 1 --queries 9,18]``. Each query's CPU
time (the process's, all threads) is logged next to its wall time, and its geomean growth
reported as info: on a machine shared with other work the larger scale's wall time suffers
more than its CPU time. The log also gives each query's system CPU time, major page faults and
bytes read from disk per timed run: a run that read from disk measured the page cache, not
Kodiak, and system time is mostly the mapping of segment pages (see docs/performance.md,
"TPC-H SF10 growth: the scans' own mappings").
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import DATA_DIR, Row, judge, log

FULL: dict[str, Any] = {"small": 1, "large": 10, "repeats": 1}
QUICK: dict[str, Any] = {"small": 0.1, "large": 1, "repeats": 1}

RSS_TARGET_MIB = 8192
GROWTH_TARGET = 12.0
DB_DIR = DATA_DIR / "kodiak"
# Tables big enough at SF10 to be generated and read in parts.
PARTED = ("lineitem", "orders", "partsupp", "part", "customer")


def db_path(scale: float) -> Path:
    return DB_DIR / f"tpch-sf{scale:g}"


def _marker(scale: float) -> Path:
    return db_path(scale) / "bench-loaded.json"  # written only after a complete load


def _files(table: str, scale: float) -> list[Path]:
    from .tpch import table_parts, table_path

    return table_parts(table, scale) if scale >= 10 and table in PARTED \
        else [table_path(table, scale)]


def _reader(files: list[Path]) -> Any:
    """All of a table's Parquet files as one stream of 65,536-row batches."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([f.remove_metadata() for f in pq.read_schema(files[0])])

    def batches() -> Any:
        for f in files:
            with pq.ParquetFile(f) as pf:
                for b in pf.iter_batches(batch_size=65536):
                    yield pa.RecordBatch.from_arrays(b.columns, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def load(scale: float) -> dict[str, Any]:
    """Load every TPC-H table at ``scale`` into a fresh database (skipped if already done)."""
    import engine

    from .tpch import TABLES

    if _marker(scale).exists():
        return json.loads(_marker(scale).read_text())
    path = db_path(scale)
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    db = engine.Database.open(str(path))
    try:
        for name in TABLES:
            reader = _reader(_files(name, scale))
            with db.begin() as tx:
                tx.create_table(name, reader.schema)
                tx.insert(name, reader)
            log(f"SF{scale:g}: loaded {name}")
        db.checkpoint()
    finally:
        db.close()
    out = {"seconds": time.perf_counter() - t0}
    _marker(scale).write_text(json.dumps(out))
    return out


def measure(scale: float, repeats: int, only: list[int] | None = None) -> dict[str, Any]:
    """Child: time every query (or those in ``only``) on the loaded database, wall and CPU
    time; peak RSS from after opening it."""
    import engine
    from kodiak_flight.sql.session import Session

    from .sql_bench import _queries, _reset_peak, _status_kib

    db = engine.Database.open(str(db_path(scale)))
    session = Session(db)
    _reset_peak()
    times: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for n, sql in sorted(_queries().items()):
        if only and n not in only:
            continue
        session.execute(sql).reader.read_all()
        samples, cpu_samples = [], []
        before = io_counters()
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            session.execute(sql).reader.read_all()
            samples.append(time.perf_counter() - t0)
            cpu_samples.append(time.process_time() - c0)
        times[n], cpu[n] = statistics.median(samples), statistics.median(cpu_samples)
        log(f"SF{scale:g} Q{n:02d}: {times[n] * 1e3:.0f} ms ({cpu[n] * 1e3:.0f} ms CPU; "
            f"{io_note(before, io_counters(), repeats)})")
    peak = (_status_kib("VmHWM") or 0) / 1024
    session.close()
    db.close()
    return {"times": times, "cpu": cpu, "peak_rss_mib": peak}


def io_counters() -> tuple[float, int, int | None]:
    """System CPU seconds, major page faults and bytes read from disk so far (Linux's
    ``/proc/self/io``; None elsewhere): whether a timed run waited on the disk (the page
    cache holding too little of a scale's database) or spent its time mapping pages."""
    import resource

    use = resource.getrusage(resource.RUSAGE_SELF)
    disk = None
    try:
        with open("/proc/self/io") as f:
            disk = next(int(line.split()[1]) for line in f if line.startswith("read_bytes:"))
    except (OSError, StopIteration):
        pass
    return use.ru_stime, use.ru_majflt, disk


def io_note(before: tuple, after: tuple, repeats: int) -> str:
    sys_ms = (after[0] - before[0]) / repeats * 1e3
    note = f"{sys_ms:.0f} ms system, {(after[1] - before[1]) / repeats:.0f} major faults"
    if before[2] is not None and after[2] is not None:
        note += f", {(after[2] - before[2]) / repeats / 2**20:.0f} MiB from disk"
    return note


def _child(scale: float, repeats: int, only: list[int] | None = None) -> dict[str, Any]:
    picked = ["--queries", ",".join(map(str, only))] if only else []
    out = subprocess.run([sys.executable, "-m", "bench.tpch_scale", "--child", f"{scale:g}",
                          "-r", str(repeats), *picked], capture_output=True, text=True,
                         check=False,
                         cwd=Path(__file__).resolve().parent.parent)
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        raise RuntimeError(f"SF{scale:g} run failed (exit {out.returncode})")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("times", "cpu"):
        data[key] = {int(k): v for k, v in data[key].items()}
    return data


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def tpch_scale(params: dict[str, Any]) -> list[Row]:
    small, large, repeats = params["small"], params["large"], int(params["repeats"])
    only = params.get("queries")
    for s in (small, large):
        log(f"loading TPC-H SF{s:g} (once; cached in {db_path(s).name})")
        load(s)
    a, b = _child(small, repeats, only), _child(large, repeats, only)
    rows = [Row("tpch_scale", f"Q{n:02d} SF{large:g}/SF{small:g}", b["times"][n], "s",
                f"SF{small:g}", a["times"][n], b["times"][n] / a["times"][n])
            for n in sorted(a["times"])]
    growth = geomean([b["times"][n] for n in a["times"]]) / \
        geomean([a["times"][n] for n in a["times"]])
    rows.append(Row("tpch_scale", f"geomean SF{large:g} / SF{small:g}", growth, "x",
                    target=f"<= {GROWTH_TARGET:g}x", status=judge(growth <= GROWTH_TARGET)))
    # (info: the process's CPU time, all threads, grows the same way on a machine shared
    # with other work, where the wall time of the larger scale suffers more)
    cpu_growth = geomean([b["cpu"][n] for n in a["cpu"]]) / geomean([a["cpu"][n]
                                                                      for n in a["cpu"]])
    rows.append(Row("tpch_scale", f"geomean CPU time SF{large:g} / SF{small:g}", cpu_growth,
                    "x", status="info"))
    rows.append(Row("tpch_scale", f"peak RSS running the 22 queries at SF{large:g}",
                    b["peak_rss_mib"], "MiB", target=f"< {RSS_TARGET_MIB} MiB",
                    status=judge(b["peak_rss_mib"] < RSS_TARGET_MIB),
                    rss_mib=b["peak_rss_mib"]))
    return rows


BENCHMARKS = {"tpch_scale": tpch_scale}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.tpch_scale",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--small", type=float, default=FULL["small"])
    ap.add_argument("--large", type=float, default=FULL["large"])
    ap.add_argument("-r", "--repeats", type=int, default=FULL["repeats"])
    ap.add_argument("--queries", type=lambda v: [int(x) for x in v.split(",")],
                    help="only these query numbers, comma-separated (geomeans over them)")
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child, args.repeats, args.queries)))
        return
    for r in tpch_scale({"small": args.small, "large": args.large, "repeats": args.repeats,
                         "queries": args.queries}):
        print(f"{r.case:42s} {r.kodiak:10.3f} {r.unit:4s} {r.ratio or '':>8} {r.status}")


if __name__ == "__main__":
    main()
