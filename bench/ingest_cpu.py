"""Where an outside-harness ingest spends its CPU: the server process against the client.

``python -m bench.ingest_cpu -s 0.2 -r 3`` starts ``kodiak serve``, ingests lineitem the
harness's way (``bench/outside.py``) ``-r`` times, and prints each ingest's wall time with
the server's CPU time (user + system, from ``/proc/<pid>/stat``, all its threads: gRPC
receive and decode, the engine's statistics, checksum and write) and this process's (the
ADBC client's encode and send). CPU time moves less than wall time on a loaded machine, so
it is what an A/B of a change to the ingest path should compare.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from .common import scratch
from .flight_bench import ROOT, _execute
from .outside import harness_table
from .outside_ingest import ingest


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-s", "--scale", type=float, default=0.2)
    ap.add_argument("-r", "--repeats", type=int, default=3)
    args = ap.parse_args()
    table = harness_table("lineitem", args.scale)
    with scratch("ingest_cpu") as work:
        proc = subprocess.Popen([sys.executable, "-c", "from kodiak_flight.cli import main; "
                                 "main()", "serve", "--port", "0", "--data-dir",
                                 str(work / "kodiak"), "--log-level", "warning"],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            uri = proc.stdout.readline().strip()
            for r in range(args.repeats):
                if r:
                    _execute(uri, "drop table lineitem")
                s0, c0, w0 = cpu_seconds(proc.pid), time.process_time(), time.perf_counter()
                ingest(uri, table)
                print(f"ingest {r + 1}: wall {time.perf_counter() - w0:.2f} s, server CPU "
                      f"{cpu_seconds(proc.pid) - s0:.2f} s, client CPU "
                      f"{time.process_time() - c0:.2f} s", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
