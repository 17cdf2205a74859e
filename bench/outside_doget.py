"""``outside_doget``: the outside harness's streaming case.

``select * from lineitem`` through a raw ``pyarrow.flight`` Flight SQL client
(CommandStatementQuery → GetFlightInfo → DoGet ``read_all``) from a ``kodiak serve`` whose
lineitem was loaded the harness's way (``adbc_ingest`` of read_table's table with strings cast
to ``string``, 65,536-row batches), against a bare ``pyarrow.flight`` server streaming that same
in-memory table with ``RecordBatchStream``. Alternating order, paired ratios, median.
Target: ≥ 0.9× the peer's rows/s.

The peer runs by hand as ``python -m bench.outside_doget peer SCALE``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import pyarrow.flight as flight

from .common import Row, judge, log, median, scratch
from .engine_bench import _list, _order, paired
from .flight_bench import StreamPeer, _peer_read, _process, _statement_read, kodiak_server
from .outside import announce, command, harness_table
from .outside_ingest import ingest

FULL: dict[str, Any] = {"scale": 1, "repeats": 7}
QUICK: dict[str, Any] = {"scale": 0.2, "repeats": 7}


def bench_outside_doget(cfg: dict) -> list[Row]:
    scale = cfg["scale"]
    table = harness_table("lineitem", scale)
    n = table.num_rows
    log(f"outside_doget: lineitem SF{scale:g}, {n:,} rows, {table.nbytes / 2**20:,.0f} MiB")
    peer_cmd = [sys.executable, "-m", "bench.outside_doget", "peer", f"{scale:g}"]
    with scratch("outside_doget") as work, kodiak_server(work / "kodiak") as uri, \
            _process(peer_cmd) as peer_uri:
        assert ingest(uri, table) in (n, -1)
        del table
        kc, pc_ = flight.connect(uri), flight.connect(peer_uri)
        k_t: list[float] = []
        p_t: list[float] = []
        assert _statement_read(kc, "select * from lineitem").num_rows == n  # warm both
        assert _peer_read(pc_).num_rows == n
        for r in range(cfg["repeats"]):
            for who in _order(r):
                t0 = time.perf_counter()
                got = _statement_read(kc, "select * from lineitem") if who == "kodiak" \
                    else _peer_read(pc_)
                (k_t if who == "kodiak" else p_t).append(time.perf_counter() - t0)
                assert got.num_rows == n
                del got
            log(f"outside_doget repeat {r + 1}: Kodiak {k_t[-1]:.3f} s, peer {p_t[-1]:.3f} s")
        kc.close()
        pc_.close()
    ratio = paired(p_t, k_t)
    quick = scale != FULL["scale"]
    announce("outside_doget", ratio, quick)
    return [Row("outside_doget", f"select * from lineitem SF{scale:g} (string columns), DoGet "
                "read_all", n / median(k_t), "rows/s",
                "bare pyarrow.flight RecordBatchStream, same table in memory", n / median(p_t),
                ratio, "≥ 0.9× peer", judge(ratio >= 0.9),
                f"Kodiak {_list(k_t)} s, peer {_list(p_t)} s; `{command('outside_doget', quick)}`")]


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"outside_doget": bench_outside_doget}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.outside_doget")
    ap.add_argument("what", choices=["peer"])
    ap.add_argument("scale", type=float)
    args = ap.parse_args(argv)
    server = StreamPeer(harness_table("lineitem", args.scale))
    print(f"grpc://127.0.0.1:{server.port}", flush=True)
    server.serve()


if __name__ == "__main__":
    main()
