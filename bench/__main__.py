"""``python -m bench [TARGET ...] [--quick] [--markdown] [--json FILE] [--strict]``

TARGET is a group (``engine``, ``sql``, ``flight``, ``all``) or a benchmark name
(``bulk_load``, ``point_lookup``, ``commits``, ``range_scan``, ``tpch``, ``groupby_sf10``,
``flight_doget``, ``flight_lookup``, ``flight_concurrency``, ``concurrency`` (1 vs 16
clients on a read mix, group ``flight``), ``concurrency_kinds`` (each operation of that mix
alone; not in ``all``), ``result_cache`` (group ``cache``), ``pl_functions``, ``pl_loop`` (group ``pl``),
``access_checks`` (group ``access``), ``stop`` (group ``ops``: time from a cancel to an idle CPU per kind of query),
``acero_error_hang`` (group ``ops``: plain pyarrow, failing plans with a hash join that never end),
``cli_startup`` (group ``cli``: ``kodiak --version`` and ``kodiak sql -c`` start-up),
``outside_doget``, ``outside_ingest``, ``outside_lookup`` (group ``outside``: the outside
harness's exact cases, strings as ``string`` and a secondary index),
``app_queries`` (group ``sql``: short queries applications send, against DuckDB),
``analytic_queries`` (group ``sql``: windows, quantiles and other analysis shapes TPC-H leaves
out, against DuckDB),
``clickbench`` (group ``sql``: ClickBench's 43 queries over a synthetic ``hits`` table, against
DuckDB),
``tpch_scale`` (group ``scale``: the 22 queries at SF1 and SF10, growth and peak RSS),
``jdbc_lookup`` (group ``clients``: the outside lookup through the Flight SQL JDBC driver,
key in the text and prepared; needs a JDK and the driver's jars),
``hostile``: 10,000 generated hostile requests, 1,000 with --quick; not in ``all``); the default
is everything. Each
benchmark runs in a child process of its own, so one benchmark's memory never inflates the
next one's peak RSS and a crash in one still lets the others report. Progress goes to stderr, the results table to
stdout. The exit status is 1 if a benchmark failed to run, and with ``--strict`` also if a
target was missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Row, log, peak_rss_mib

ROOT = Path(__file__).resolve().parent.parent


# Every benchmark module: each holds BENCHMARKS (name -> function) and its QUICK/FULL settings.
# A new measure is one module added here (and to a group below).
MODULES = ("engine_bench", "sql_bench", "groupby_bench", "flight_bench", "cache_bench",
           "hostile", "pl_bench", "access_bench", "startup_bench", "stop_bench",
           "outside_doget", "outside_ingest", "outside_lookup", "outside_tpch", "tpch_scale",
           "concurrency", "jdbc_lookup", "app_queries", "analytic_queries", "clickbench")
# The outside harness's exact cases, one module per measure (see bench/outside.py).
OUTSIDE = ("outside_doget", "outside_ingest", "outside_lookup", "outside_tpch")


def _module(name: str):  # noqa: ANN202 - a bench module
    import importlib

    return importlib.import_module(f".{name}", __package__)


def _owner(benchmark: str):  # noqa: ANN202 - a bench module
    """The module defining ``benchmark``."""
    for m in MODULES:
        mod = _module(m)
        if benchmark in mod.BENCHMARKS:
            return mod
    raise KeyError(benchmark)


def _benchmarks() -> dict:
    out: dict = {}
    for m in MODULES:
        out.update(_module(m).BENCHMARKS)
    return out


GROUPS = {"engine": ["bulk_load", "point_lookup", "commits", "range_scan"],
          "sql": ["tpch", "groupby_sf10", "app_queries", "analytic_queries", "clickbench"],
          "flight": ["flight_doget", "flight_lookup", "flight_concurrency", "concurrency"],
          "cache": ["result_cache"],
          "pl": ["pl_functions", "pl_loop"],
          "access": ["access_checks"],
          "cli": ["cli_startup"],
          "outside": list(OUTSIDE),
          "clients": ["jdbc_lookup"],
          "ops": ["stop", "acero_error_hang"],
          "scale": ["tpch_scale"]}


def resolve(targets: list[str]) -> list[str]:
    names: list[str] = []
    known = _benchmarks()
    for t in targets or ["all"]:
        if t == "all":
            picked = [n for g in GROUPS.values() for n in g]
        elif t in GROUPS:
            picked = GROUPS[t]
        elif t in known:
            picked = [t]
        else:
            raise SystemExit(f"unknown benchmark or group {t!r}; choose from "
                             f"{', '.join(['all', *GROUPS, *known])}")
        names += [n for n in picked if n not in names]
    return names


# -- the child: one benchmark, results as JSON ---------------------------------------------------


def run_child(name: str, quick: bool, out: str) -> None:
    mod = _owner(name)
    rows = mod.BENCHMARKS[name](dict(mod.QUICK if quick else mod.FULL))
    rss = peak_rss_mib()
    for r in rows:
        r.rss_mib = rss if r.rss_mib is None else r.rss_mib  # a row may measure its own
    Path(out).write_text(json.dumps([r.to_json() for r in rows]))


# -- the parent ---------------------------------------------------------------------------------


def environment() -> dict:
    import numpy
    import pyarrow

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        mem = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = git("rev-parse", "--short", "HEAD")
    if commit and git("status", "--porcelain", "--untracked-files=no", "--", "engine"):
        commit += " + uncommitted changes in engine/"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "commit": commit,
    }


def fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "×":
        return f"{v:.2f}×"
    if unit == "s":
        if v < 1e-3:
            return f"{v * 1e6:.1f} µs"
        if v < 1:
            return f"{v * 1e3:.2f} ms"
        return f"{v:.2f} s"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M {unit}"
    if v >= 1e4:
        return f"{v / 1e3:.1f} k {unit}"
    return f"{v:,.0f} {unit}"


def table_lines(rows: list[Row], markdown: bool) -> list[str]:
    head = ["benchmark", "case", "Kodiak", "peer", "peer value", "ratio", "target", "result",
            "peak RSS"]
    body = []
    for r in rows:
        body.append([
            r.bench, r.case, fmt_value(r.kodiak, r.unit) if r.status != "ERROR" else "—",
            r.peer_name or "—", fmt_value(r.peer, r.unit),
            "—" if r.ratio is None else f"{r.ratio:.2f}×", r.target or "—", r.status,
            "—" if r.rss_mib is None else f"{r.rss_mib:,.0f} MiB",
        ])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in body]
        return out
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*head), fmt.format(*("-" * w for w in widths))] + \
        [fmt.format(*line) for line in body]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench",
                                 description="Kodiak against peers, measured in the same run.")
    ap.add_argument("targets", nargs="*", help="group (engine, sql, flight, all) or benchmark names")
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--json", metavar="FILE", help="also write results and environment here")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        run_child(args.child, args.quick, args.out)
        return 0

    names = resolve(args.targets)
    env = environment()
    rows: list[Row] = []
    failed = False
    started = time.perf_counter()
    for name in names:
        log(f"== {name}{' (quick)' if args.quick else ''}")
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out = tmp.name
        try:
            cmd = [sys.executable, "-m", "bench", "--child", name, "--out", out]
            if args.quick:
                cmd.append("--quick")
            t0 = time.perf_counter()
            load_before = os.getloadavg()[0]
            rc = subprocess.run(cmd, cwd=ROOT).returncode
            load = f"{load_before:.1f} → {os.getloadavg()[0]:.1f}"
            log(f"== {name} done in {time.perf_counter() - t0:.0f} s; 1-minute load average "
                f"{load} on {os.cpu_count()} cores")
            if rc == 0:
                got = [Row(**d) for d in json.loads(Path(out).read_text())]
                for r in got:
                    r.extra["load"] = load
                    r.extra["seconds"] = round(time.perf_counter() - t0, 1)
                rows += got
            else:
                failed = True
                rows.append(Row(name, f"failed (exit status {rc}); see stderr", 0.0, "s",
                                status="ERROR"))
        finally:
            os.unlink(out)
    total = time.perf_counter() - started

    print()
    print(f"Kodiak benchmarks{' (--quick sizes)' if args.quick else ''}, {env['date']}: "
          f"{env['cpus']} cores, {env['memory']}, Linux {env['kernel']}, Python "
          f"{env['python']}, pyarrow {env['pyarrow']}, SQLite {env['sqlite']}, "
          f"commit {env['commit'] or '?'}; total {total:.0f} s")
    print()
    for line in table_lines(rows, args.markdown):
        print(line)
    details = [r for r in rows if r.detail]
    if details:
        print()
        for r in details:
            print(f"- {r.bench} / {r.case}: {r.detail}")
    loads = {r.bench: r.extra["load"] for r in rows if "load" in r.extra}
    if loads:
        print()
        print("1-minute load average before → after each benchmark (other work on the "
              "machine skews absolute figures; the paired ratios are meant to absorb it): "
              + ", ".join(f"{b} {v}" for b, v in loads.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"environment": env, "quick": args.quick, "seconds": total,
             "results": [r.to_json() for r in rows]}, indent=2))
    missed = any(r.status == "MISS" for r in rows)
    return 1 if failed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
