"""``python -m tests.sql.sqllogictest FILE_OR_DIR... [--report] [--json OUT]``

Runs each sqllogictest file on a fresh embedded Kodiak database and prints, per file,
statements ok/failed, queries passed/failed/skipped and the time taken; ``--report`` adds
every failure (line, category, reason, SQL) and the failure counts per category;
``--write-known FILE`` writes the failures as a known-failures list (see ``known``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from .known import render
from .runner import FileReport, run_file


def files_of(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.rglob("*.test")) if p.is_dir() else [p])
    return out


def summary(r: FileReport) -> str:
    q_ok, q_bad = r.count("query", "ok"), r.count("query", "failed")
    pct = 100.0 * q_ok / (q_ok + q_bad) if q_ok + q_bad else 100.0
    halted = f", halted at line {r.halted_at}" if r.halted_at else ""
    return (f"{r.path}: statements {r.count('statement', 'ok')} ok, "
            f"{r.count('statement', 'failed')} failed, {r.count('statement', 'skipped')} "
            f"skipped; queries {q_ok} passed, {q_bad} failed, "
            f"{r.count('query', 'skipped')} skipped ({pct:.2f}% pass); "
            f"{r.seconds:.1f} s{halted}")


def details(r: FileReport) -> list[str]:
    lines = []
    for o in r.failures:
        sql = o.sql.replace("\n", "\n      ")
        lines.append(f"  {r.path}:{o.line} [{o.kind}] {o.category}\n    reason: {o.reason}\n"
                     f"    sql:  {sql}")
    counts = Counter(o.category for o in r.failures)
    for cat, n in counts.most_common():
        lines.append(f"  {n:6d}  {cat}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.sql.sqllogictest",
                                 description="Run sqllogictest files on an embedded Kodiak.")
    ap.add_argument("paths", nargs="+", help="test files, or directories of *.test files")
    ap.add_argument("--report", action="store_true",
                    help="list every failure (line, category, reason, SQL)")
    ap.add_argument("--json", metavar="OUT", help="write the outcomes as JSON to OUT")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds a record may run before it is stopped (default 60)")
    ap.add_argument("--no-explain", action="store_true",
                    help="do not re-run failing queries with SQLite's division")
    ap.add_argument("--write-known", metavar="FILE",
                    help="write this run's failures as a known-failures list to FILE")
    ap.add_argument("--trace", action="store_true",
                    help="print each record's line on stderr before running it (so a crash "
                         "shows which record killed the interpreter)")
    args = ap.parse_args(argv)
    reports = []
    for path in files_of(args.paths):
        before = (lambda rec, p=path: print(f"{p}:{rec.line}", file=sys.stderr, flush=True)) \
            if args.trace else None
        r = run_file(path, args.timeout, not args.no_explain, before=before)
        reports.append(r)
        print(summary(r), flush=True)
        if args.report and r.failures:
            print("\n".join(details(r)), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in reports]))
    if args.write_known:
        Path(args.write_known).write_text(render(reports))
    return 1 if any(r.failures for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
