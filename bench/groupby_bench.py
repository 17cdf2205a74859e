"""Group-by benchmark: aggregations over all of TPC-H lineitem at SF10 (60M rows), streamed.

The question it answers: does a group-by over a table much larger than what should be held
in memory stream through embedded Kodiak with a bounded peak RSS? Target: the Q1-style
group-by (``l_returnflag, l_linestatus``: 4 groups) peaks under 3 GiB (3,072 MiB).

Data: ``tpchgen-cli parquet --parts=10`` (``bench.tpch.table_parts``, cached in
``bench/.data/tpch/sf10/lineitem/``). Kodiak's copy is loaded once into an on-disk
``engine.Database`` under ``bench/.data/kodiak/`` (cached; reloaded when missing or
incomplete) by streaming Parquet row groups into one ``Transaction.insert`` of a
``RecordBatchReader``, which writes a segment per ``segment_rows`` (1M) rows; the whole
table is never in memory. The load runs in a child process of its own and its time and peak
RSS are reported apart from the queries.

Queries, each through ``kodiak_flight.sql.session.Session(db).execute(sql)`` with the result
reader read to the end batch by batch:

- ``q1``: ``group by l_returnflag, l_linestatus`` with sum/sum/avg/count (4 groups);
- ``orderkey``: ``group by l_orderkey`` with sum/count (15M groups at SF10): its memory is
  the hash table plus the result, which no streaming can avoid.

Every (system, query) pair runs in a fresh child process, so ``ru_maxrss`` is that query's
own peak (plus the interpreter and imports); the child runs the query ``repeats`` times
(the first run is cold: it opens and checksums segments, samples statistics) and reports the
median and the first. The peer is DuckDB in process over the same Parquet files
(``read_parquet``), also in a child of its own. Kodiak and DuckDB children alternate. A
sampler thread also records the peak anonymous and file-backed resident memory separately
(``RssAnon``/``RssFile``): Kodiak's segments are memory-mapped, and mapped pages the scan has
touched count in RSS while the mapping lives.

Run: ``python -m bench groupby_sf10`` (``--quick``: SF1), or standalone
``python -m bench.groupby_bench [-s SCALE] [-r REPEATS]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .common import DATA_DIR, Row, dir_bytes, judge, log, peak_rss_mib

FULL: dict[str, Any] = {"scale": 10, "repeats": 3}
QUICK: dict[str, Any] = {"scale": 1, "repeats": 2}

RSS_TARGET_MIB = 3072
DB_DIR = DATA_DIR / "kodiak"  # git-ignored, like all of bench/.data

QUERIES = {
    "q1": ("Q1-style group by l_returnflag, l_linestatus (4 groups)",
           "select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty, "
           "sum(l_extendedprice) as sum_base_price, avg(l_discount) as avg_disc, "
           "count(*) as count_order from {table} group by 1, 2"),
    "orderkey": ("group by l_orderkey (high cardinality)",
                 "select l_orderkey, sum(l_quantity) as sum_qty, count(*) as n "
                 "from {table} group by l_orderkey"),
}

ROOT = Path(__file__).resolve().parent.parent


# -- data ---------------------------------------------------------------------------------------


def parquet_files(scale: float) -> list[Path]:
    """lineitem at ``scale`` as Parquet: one cached file below SF10, ten parts from SF10 on."""
    from .tpch import lineitem_path, table_parts

    return table_parts("lineitem", scale) if scale >= 10 else [lineitem_path(scale)]


def db_path(scale: float) -> Path:
    return DB_DIR / f"lineitem-sf{scale:g}"


def _marker(scale: float) -> Path:
    return db_path(scale) / "bench-loaded.json"  # written only after a complete load


def _stream(files: list[Path], batch_rows: int = 65536) -> Any:
    """All parts as one RecordBatchReader, read a row-group's worth of batches at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(files[0]).remove_metadata()
    schema = pa.schema([f.remove_metadata() for f in schema])

    def batches() -> Any:
        for f in files:
            pf = pq.ParquetFile(f)
            for b in pf.iter_batches(batch_size=batch_rows):
                yield pa.RecordBatch.from_arrays(b.columns, schema=schema)
            pf.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def load(scale: float) -> dict[str, Any]:
    """Child: load lineitem into a fresh database at ``db_path(scale)``; returns the figures."""
    import engine

    files = parquet_files(scale)
    path = db_path(scale)
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    sampler = _Sampler()
    t0 = time.perf_counter()
    db = engine.Database.open(str(path))
    try:
        reader = _stream(files)
        with db.begin() as tx:
            tx.create_table("lineitem", reader.schema)
            rows = tx.insert("lineitem", reader)
        t_insert = time.perf_counter() - t0
        db.checkpoint()  # the manifest names the segments: opening replays no log
    finally:
        db.close()
    seconds = time.perf_counter() - t0
    sampler.stop()
    out = {"rows": rows, "seconds": seconds, "insert_seconds": t_insert,
           "bytes": dir_bytes(path), "peak_rss_mib": peak_rss_mib(), **sampler.peaks(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    _marker(scale).write_text(json.dumps(out))
    return out


# -- memory -------------------------------------------------------------------------------------


class _Sampler:
    """Peak RssAnon and RssFile of this process, sampled every 20 ms in a daemon thread."""

    def __init__(self) -> None:
        self.anon = self.file = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _sample(self) -> None:
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        self.anon = max(self.anon, int(line.split()[1]))
                    elif line.startswith("RssFile:"):
                        self.file = max(self.file, int(line.split()[1]))
        except (OSError, ValueError):
            pass

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()

    def stop(self) -> None:
        self._stop.set()
        self._t.join()
        self._sample()

    def peaks(self) -> dict[str, float]:
        return {"peak_anon_mib": self.anon / 1024, "peak_file_mib": self.file / 1024}


# -- one query in this process --------------------------------------------------------------------


def query(system: str, name: str, scale: float, repeats: int) -> dict[str, Any]:
    """Child: run query ``name`` ``repeats`` times on ``system``; times, rows, peak memory."""
    sampler = _Sampler()
    base = peak_rss_mib()
    times: list[float] = []
    rows = 0
    if system == "kodiak":
        import engine
        from kodiak_flight.sql.session import Session

        db = engine.Database.open(str(db_path(scale)))
        session = Session(db)
        sql = QUERIES[name][1].format(table="lineitem")
        base = peak_rss_mib()
        for _ in range(repeats):
            t0 = time.perf_counter()
            reader = session.execute(sql).reader
            rows = sum(b.num_rows for b in reader)  # read to the end, keep nothing
            times.append(time.perf_counter() - t0)
        session.close()
        db.close()
    else:
        import duckdb

        files = ", ".join(f"'{f}'" for f in parquet_files(scale))
        sql = QUERIES[name][1].format(table=f"read_parquet([{files}])")
        con = duckdb.connect()
        base = peak_rss_mib()
        for _ in range(repeats):
            t0 = time.perf_counter()
            reader = con.sql(sql).to_arrow_reader(65536)
            rows = sum(b.num_rows for b in reader)
            times.append(time.perf_counter() - t0)
        con.close()
    sampler.stop()
    return {"times": times, "rows": rows, "peak_rss_mib": peak_rss_mib(),
            "base_rss_mib": base, **sampler.peaks()}


# -- the parent -----------------------------------------------------------------------------------


def _child(args: list[str]) -> dict[str, Any]:
    """Run ``python -m bench.groupby_bench ARGS`` in a fresh process; its JSON answer."""
    out = subprocess.run([sys.executable, "-m", "bench.groupby_bench", *args], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"child {' '.join(args)} failed with exit status {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_loaded(scale: float) -> tuple[dict[str, Any], bool]:
    """The load figures, loading first (in a child) unless a complete copy is cached."""
    parquet_files(scale)  # generate in this process, so the load child times only loading
    marker = _marker(scale)
    if marker.exists():
        return json.loads(marker.read_text()), True
    log(f"loading lineitem SF{scale:g} into Kodiak at {db_path(scale)} (child process)")
    return _child(["--load", "-s", f"{scale:g}"]), False


def run(params: dict[str, Any]) -> dict[str, Any]:
    scale = float(params["scale"])
    repeats = int(params["repeats"])
    loaded, cached = ensure_loaded(scale)
    log(f"load: {loaded['rows']:,} rows in {loaded['seconds']:.1f} s, peak RSS "
        f"{loaded['peak_rss_mib']:,.0f} MiB{' (cached from ' + loaded['date'] + ')' if cached else ''}")
    results: dict[str, Any] = {"load": loaded, "cached": cached, "queries": {}}
    for name in params.get("queries") or list(QUERIES):
        r = {}
        for system in ("kodiak", "duckdb"):
            log(f"{name} on {system}: {repeats} runs in a fresh process")
            try:
                r[system] = _child(["--query", system, "--name", name, "-s", f"{scale:g}",
                                    "-r", str(repeats)])
            except RuntimeError as e:
                r[system] = {"error": str(e)}
                continue
            x = r[system]
            log(f"  {system}: median {statistics.median(x['times']):.2f} s (first "
                f"{x['times'][0]:.2f} s), {x['rows']:,} rows, peak RSS "
                f"{x['peak_rss_mib']:,.0f} MiB (anon {x['peak_anon_mib']:,.0f}, file-backed "
                f"{x['peak_file_mib']:,.0f})")
        results["queries"][name] = r
    return results


def _mem_detail(x: dict[str, Any]) -> str:
    return (f"peak RSS {x['peak_rss_mib']:,.0f} MiB = at most {x['peak_anon_mib']:,.0f} "
            f"anonymous + {x['peak_file_mib']:,.0f} file-backed (sampled), "
            f"{x['base_rss_mib']:,.0f} MiB before the first query")


def groupby_sf10(params: dict[str, Any]) -> list[Row]:
    res = run(params)
    sf = f"SF{float(params['scale']):g}"
    ld = res["load"]
    rows = [Row("groupby_sf10", f"{sf} lineitem load (Parquet parts → engine, streamed)",
                ld["rows"] / ld["seconds"], "rows/s",
                detail=f"{ld['rows']:,} rows in {ld['seconds']:.1f} s (insert "
                       f"{ld['insert_seconds']:.1f} s, rest checkpoint), {ld['bytes'] / 2**30:.1f}"
                       f" GiB on disk, peak RSS {ld['peak_rss_mib']:,.0f} MiB"
                       + (f"; cached, measured {ld['date']}" if res["cached"] else ""),
                rss_mib=ld["peak_rss_mib"], extra={"load": ld})]
    for name, r in res["queries"].items():
        label = QUERIES[name][0]
        k, d = r.get("kodiak", {}), r.get("duckdb", {})
        if "error" in k or not k:
            rows.append(Row("groupby_sf10", f"{sf} {label}", 0.0, "s", status="ERROR",
                            detail=k.get("error", "not run")))
            continue
        kt = statistics.median(k["times"])
        dt = statistics.median(d["times"]) if "times" in d else None
        detail = [f"first run {k['times'][0]:.2f} s", f"{k['rows']:,} groups"]
        if "rows" in d and d["rows"] != k["rows"]:
            detail.append(f"DuckDB returned {d['rows']:,} rows")
        if "error" in d:
            detail.append(f"DuckDB: {d['error']}")
        rows.append(Row("groupby_sf10", f"{sf} {label}: time", kt, "s", "DuckDB (Parquet)", dt,
                        kt / dt if dt else None, "", "info", "; ".join(detail),
                        rss_mib=k["peak_rss_mib"], extra={"kodiak": k, "duckdb": d}))
        kr, dr = k["peak_rss_mib"], d.get("peak_rss_mib")
        if name == "q1":
            target, status = f"< {RSS_TARGET_MIB:,} MiB", judge(kr < RSS_TARGET_MIB)
        else:
            target, status = "", "info"
        rows.append(Row("groupby_sf10", f"{sf} {label}: peak RSS", kr, "MiB",
                        "DuckDB (Parquet)", dr, kr / dr if dr else None, target, status,
                        "Kodiak " + _mem_detail(k)
                        + ("; DuckDB " + _mem_detail(d) if "times" in d else ""),
                        rss_mib=kr))
    return rows


BENCHMARKS = {"groupby_sf10": groupby_sf10}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.groupby_bench",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("-s", "--scale", type=float, default=FULL["scale"])
    ap.add_argument("-r", "--repeats", type=int, default=FULL["repeats"])
    ap.add_argument("-q", "--queries", help=f"comma-separated, from {', '.join(QUERIES)}")
    ap.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--query", choices=("kodiak", "duckdb"), help=argparse.SUPPRESS)
    ap.add_argument("--name", choices=list(QUERIES), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.load:
        print(json.dumps(load(args.scale)))
        return
    if args.query:
        print(json.dumps(query(args.query, args.name, args.scale, args.repeats)))
        return
    params = {"scale": args.scale, "repeats": args.repeats,
              "queries": args.queries.split(",") if args.queries else None}
    from .__main__ import table_lines

    for line in table_lines(groupby_sf10(params), markdown=True):
        print(line)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()


__all__ = ["BENCHMARKS", "FULL", "QUICK", "groupby_sf10", "load", "query", "run"]
