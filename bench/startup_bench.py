"""CLI start-up: how long a client command takes from exec to exit.

Measures ``kodiak --version`` and ``kodiak sql -c 'select 1'`` against a server (started once,
on a free port, over a scratch data directory), each run as a new process, and reports the
median wall time (target: under 0.5 s for both). Python itself starting and importing
pyarrow is reported as the floor the command cannot go below; ``python -X importtime -m
kodiak_flight.cli ...`` shows where the rest goes.

Run: ``python -m bench cli_startup [--quick]`` (or ``python -m bench cli``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

from .common import Row, judge, log, scratch

FULL: dict[str, Any] = {"repeats": 10}
QUICK: dict[str, Any] = {"repeats": 3}
TARGET = 0.5


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KODIAK_")}


def _time(args: list[str], repeats: int) -> float:
    """Median seconds of ``args`` run as a new process, ``repeats`` times."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=_env())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cli_startup(params: dict[str, Any]) -> list[Row]:
    repeats = params["repeats"]
    kodiak = [sys.executable, "-m", "kodiak_flight.cli"]
    with scratch("cli_startup") as work:
        server = subprocess.Popen([*kodiak, "serve", "--port", "0", "--data-dir",
                                   str(work / "data")], stdout=subprocess.PIPE, text=True,
                                  stderr=subprocess.DEVNULL, env=_env())
        try:
            uri = server.stdout.readline().strip() if server.stdout else ""
            floor = _time([sys.executable, "-c", "import pyarrow"], repeats)
            version = _time([*kodiak, "--version"], repeats)
            select = _time([*kodiak, "sql", "--uri", uri, "-c", "select 1"], repeats)
        finally:
            server.terminate()
            server.wait()
    log(f"kodiak --version {version * 1e3:.0f} ms, sql -c 'select 1' {select * 1e3:.0f} ms, "
        f"python + import pyarrow {floor * 1e3:.0f} ms (medians of {repeats})")
    return [
        Row("cli_startup", "kodiak --version", version, "s", peer_name="python+pyarrow",
            peer=floor, ratio=version / floor, target=f"< {TARGET:g} s",
            status=judge(version < TARGET)),
        Row("cli_startup", "kodiak sql -c 'select 1' on a server", select, "s",
            peer_name="python+pyarrow", peer=floor, ratio=select / floor,
            target=f"< {TARGET:g} s", status=judge(select < TARGET)),
    ]


BENCHMARKS = {"cli_startup": cli_startup}

__all__ = ["BENCHMARKS", "FULL", "QUICK", "cli_startup"]
