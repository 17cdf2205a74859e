"""SQL benchmark: the 22 TPC-H queries on embedded Kodiak against DuckDB and Polars.

The TPC-H tables (``tpchgen-cli parquet``, cached by ``bench.tpch``) are read once as Arrow
tables. Kodiak gets them loaded into an ``engine.Database`` (on disk, as a server would hold
them) and runs each query through ``kodiak_flight.sql.session.Session``; DuckDB and Polars
run the same SQL in process over the very same Arrow tables (registered, not copied into
their own storage formats). No query ever runs in DuckDB or Polars on Kodiak's behalf.

Per query: one warm-up run per system (Kodiak's first run also samples the column
statistics its join ordering uses, once per table), then ``repeats`` timed runs alternating
Kodiak, DuckDB and Polars so drift in the machine hits all three alike; the median is
reported, with the full result materialised as an Arrow table (Polars: a DataFrame). Each
system's peak resident memory while running a query is measured by resetting the kernel's
high-water mark (``/proc/self/clear_refs``) before it and reading ``VmHWM`` after it; the
figure above the process's resident size before the query is the query's working memory.

Targets (issue 17; the first ones were 2.0 and 5x): geometric mean of Kodiak/DuckDB <= 1.5
and no query slower than 2.5x DuckDB. Row counts are compared with DuckDB's as a sanity check
(the full comparison lives in ``tests/sql/test_tpch.py``).

Run: ``python -m bench tpch [--quick] [--json FILE]`` (SF1; ``--quick`` uses SF0.1), then
``python -m bench.sql_bench --from-json FILE`` for the detailed table (Polars, memory, first
runs); or ``python -m bench.sql_bench [-s SCALE] [-r REPEATS] [-q 1,5,9]`` standalone.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from .common import Row, judge, log, peak_rss_mib, scratch
from .tpch import TABLES, read_table

FULL: dict[str, Any] = {"scale": 1, "repeats": 5, "queries": None}
QUICK: dict[str, Any] = {"scale": 0.1, "repeats": 3, "queries": None}

GEOMEAN_TARGET = 1.5
QUERY_TARGET = 2.5


def _queries() -> dict[int, str]:
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from tests.sql.tpch_queries import QUERIES

    return QUERIES


# -- memory ------------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _Mem:
    """Peak resident memory above the starting point, for one measured call."""

    def __enter__(self) -> _Mem:
        self.ok = _reset_peak()
        self.base = _status_kib("VmRSS") or 0
        return self

    def __exit__(self, *exc: object) -> None:
        peak = _status_kib("VmHWM") if self.ok else None
        self.mib = None if peak is None else max(0, peak - self.base) / 1024


# -- systems -----------------------------------------------------------------------------------


def _load(scale: float, path: Path) -> tuple[Any, Any, Any, dict[str, float]]:
    import duckdb
    import polars as pl

    import engine
    from kodiak_flight.sql.session import Session

    arrow = {}
    for name in TABLES:
        arrow[name] = read_table(name, scale)
    times = {}
    t0 = time.perf_counter()
    db = engine.Database.open(str(path))
    for name, table in arrow.items():
        with db.begin() as tx:
            tx.create_table(name, table.schema)
            tx.insert(name, table)
    times["kodiak"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con = duckdb.connect()
    for name, table in arrow.items():
        con.register(name, table)
    times["duckdb"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ctx = pl.SQLContext({name: pl.from_arrow(t) for name, t in arrow.items()}, eager=True)
    times["polars"] = time.perf_counter() - t0
    return Session(db), con, ctx, times


def _run_kodiak(session: Any, sql: str) -> int:
    return session.execute(sql).reader.read_all().num_rows


def _run_duckdb(con: Any, sql: str) -> int:
    return con.sql(sql).to_arrow_table().num_rows


def _run_polars(ctx: Any, sql: str) -> int:
    return ctx.execute(sql).height


def _timed(fn: Any, *args: Any) -> tuple[float, int | None, float | None, str | None]:
    with _Mem() as m:
        t0 = time.perf_counter()
        try:
            n = fn(*args)
            err = None
        except Exception as e:  # a peer that cannot run a query is reported, not fatal
            n, err = None, f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
        dt = time.perf_counter() - t0
    return dt, n, m.mib, err


def run(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Measure every query; one dict per query (times in seconds, memory in MiB)."""
    queries = _queries()
    picked = params.get("queries") or sorted(queries)
    repeats = int(params["repeats"])
    results = []
    with scratch("sql_tpch") as path:
        log(f"loading TPC-H SF{params['scale']:g} into Kodiak, DuckDB and Polars")
        session, con, ctx, load = _load(params["scale"], path / "db")
        log("load seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in load.items()))
        systems = {"kodiak": (_run_kodiak, session), "duckdb": (_run_duckdb, con),
                   "polars": (_run_polars, ctx)}
        for n in picked:
            sql = queries[n]
            r: dict[str, Any] = {"query": n, "times": {}, "rows": {}, "mem": {},
                                 "errors": {}, "first": {}}
            for name, (fn, obj) in systems.items():  # warm-up (Kodiak: statistics)
                dt, rows, mem, err = _timed(fn, obj, sql)
                r["first"][name] = dt
                r["rows"][name] = rows
                r["mem"][name] = mem
                if err:
                    r["errors"][name] = err
            samples: dict[str, list[float]] = {k: [] for k in systems}
            for _ in range(repeats):
                for name, (fn, obj) in systems.items():
                    if name in r["errors"]:
                        continue
                    dt, _, mem, err = _timed(fn, obj, sql)
                    if err:
                        r["errors"][name] = err
                        continue
                    samples[name].append(dt)
                    if mem is not None:
                        r["mem"][name] = max(r["mem"][name] or 0.0, mem)
            r["times"] = {k: statistics.median(v) if v else None for k, v in samples.items()}
            k, d, p = (r["times"][s] for s in ("kodiak", "duckdb", "polars"))
            log(f"Q{n:02d}: kodiak {_fmt(k)}  duckdb {_fmt(d)}  polars {_fmt(p)}  "
                f"ratio {k / d if k and d else float('nan'):.2f}"
                + (f"  errors {r['errors']}" if r["errors"] else ""))
            results.append(r)
        session.close()
        close = getattr(session.db, "close", None)
        if close:
            close()
    return results


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v * 1e3:8.1f} ms"


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    ratios = [r["times"]["kodiak"] / r["times"]["duckdb"] for r in results
              if r["times"].get("kodiak") and r["times"].get("duckdb")]
    pol = [r["times"]["kodiak"] / r["times"]["polars"] for r in results
           if r["times"].get("kodiak") and r["times"].get("polars")]
    return {"geomean": geomean(ratios), "worst": max(ratios, default=float("nan")),
            "geomean_polars": geomean(pol), "n": len(ratios)}


def markdown(results: list[dict[str, Any]], scale: float) -> list[str]:
    out = ["| query | Kodiak | DuckDB | Polars | Kodiak/DuckDB | Kodiak/Polars | "
           "Kodiak peak MiB | DuckDB peak MiB | rows |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        t = r["times"]
        k, d, p = t.get("kodiak"), t.get("duckdb"), t.get("polars")
        rows = r["rows"]
        same = rows.get("kodiak") == rows.get("duckdb")
        out.append(
            f"| Q{r['query']:02d} | {_ms(k)} | {_ms(d)} | {_ms(p)} | "
            f"{_ratio(k, d)} | {_ratio(k, p)} | {_mib(r['mem'].get('kodiak'))} | "
            f"{_mib(r['mem'].get('duckdb'))} | {rows.get('kodiak')}"
            f"{'' if same else ' (DuckDB: ' + str(rows.get('duckdb')) + ')'} |")
    s = summarize(results)
    out.append(f"| **geomean** | | | | **{s['geomean']:.2f}×** | {s['geomean_polars']:.2f}× | "
               f"| | |")
    return out


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v * 1e3:.1f} ms"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if not a or not b else f"{a / b:.2f}×"


def _mib(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


# -- bench harness entry -------------------------------------------------------------------------


def tpch(params: dict[str, Any]) -> list[Row]:
    results = run(params)
    rows: list[Row] = []
    for r in results:
        k, d, p = (r["times"].get(s) for s in ("kodiak", "duckdb", "polars"))
        ratio = k / d if k and d else None
        detail = []
        if r["rows"].get("kodiak") != r["rows"].get("duckdb"):
            detail.append(f"row count {r['rows'].get('kodiak')} vs DuckDB "
                          f"{r['rows'].get('duckdb')}")
        if r["errors"]:
            detail.append("; ".join(f"{k2}: {v}" for k2, v in r["errors"].items()))
        rows.append(Row(
            "tpch", f"SF{params['scale']:g} Q{r['query']:02d}", k if k is not None else 0.0,
            "s", "DuckDB", d, ratio, f"≤ {QUERY_TARGET:g}×",
            "ERROR" if k is None else judge(ratio is not None and ratio <= QUERY_TARGET),
            "; ".join(detail),
            extra={"polars_s": p, "kodiak_peak_mib": r["mem"].get("kodiak"),
                   "duckdb_peak_mib": r["mem"].get("duckdb"),
                   "polars_peak_mib": r["mem"].get("polars"), "first_run_s": r["first"]}))
    s = summarize(results)
    rows.append(Row("tpch", f"SF{params['scale']:g} geomean Kodiak/DuckDB", s["geomean"], "×",
                    "DuckDB", 1.0, s["geomean"], f"≤ {GEOMEAN_TARGET:g}×",
                    judge(s["geomean"] <= GEOMEAN_TARGET),
                    f"worst query {s['worst']:.2f}×; geomean Kodiak/Polars "
                    f"{s['geomean_polars']:.2f}×; peak RSS of the whole run "
                    f"{peak_rss_mib():,.0f} MiB (all three systems and the data)"))
    return rows


BENCHMARKS = {"tpch": tpch}


def from_json(path: str) -> list[str]:
    """The detailed Markdown table for the ``tpch`` rows of a ``python -m bench --json`` file."""
    import json

    data = json.loads(Path(path).read_text())
    env = data["environment"]
    out = [f"Run {env['date']}, {env['cpus']} cores, {env['memory']}, Linux {env['kernel']}, "
           f"Python {env['python']}, pyarrow {env['pyarrow']}, commit {env['commit']}.", "",
           "| query | Kodiak | DuckDB | Polars | Kodiak/DuckDB | Kodiak/Polars | "
           "Kodiak 1st run | Kodiak peak MiB | DuckDB peak MiB | Polars peak MiB |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    summary = None
    for r in data["results"]:
        if r["bench"] != "tpch":
            continue
        if "geomean" in r["case"]:
            summary = r
            continue
        x = r["extra"]
        out.append(f"| {r['case'].split()[-1]} | {_ms(r['kodiak'])} | {_ms(r['peer'])} | "
                   f"{_ms(x.get('polars_s'))} | {_ratio(r['kodiak'], r['peer'])} | "
                   f"{_ratio(r['kodiak'], x.get('polars_s'))} | "
                   f"{_ms(x.get('first_run_s', {}).get('kodiak'))} | "
                   f"{_mib(x.get('kodiak_peak_mib'))} | {_mib(x.get('duckdb_peak_mib'))} | "
                   f"{_mib(x.get('polars_peak_mib'))} |")
    if summary is not None:
        out.append(f"| **geomean** | | | | **{summary['ratio']:.2f}×** | | | | | |")
        out += ["", f"{summary['detail']}; result {summary['status']} against "
                    f"{summary['target']}."]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.sql_bench",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("-s", "--scale", type=float, default=1.0)
    ap.add_argument("-r", "--repeats", type=int, default=5)
    ap.add_argument("-q", "--queries", help="comma-separated query numbers (default: all)")
    ap.add_argument("--from-json", metavar="FILE",
                    help="print the detailed table from a `python -m bench --json` file")
    args = ap.parse_args(argv)
    if args.from_json:
        print("\n".join(from_json(args.from_json)))
        return
    params = {"scale": args.scale, "repeats": args.repeats,
              "queries": [int(q) for q in args.queries.split(",")] if args.queries else None}
    results = run(params)
    print()
    for line in markdown(results, args.scale):
        print(line)
    s = summarize(results)
    print()
    print(f"geomean Kodiak/DuckDB {s['geomean']:.2f}× (target ≤ {GEOMEAN_TARGET:g}×), worst "
          f"{s['worst']:.2f}× (target ≤ {QUERY_TARGET:g}×); peak RSS of this process "
          f"{peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()


__all__ = ["BENCHMARKS", "FULL", "QUICK", "run", "tpch"]
