"""``outside_ingest``: the outside harness's ingest case.

``adbc_ingest(mode="create")`` of TPC-H lineitem as ``pyarrow.parquet.read_table`` gives it,
string columns cast to plain ``string``, in 65,536-row batches, into a ``kodiak serve``
subprocess (durable when it returns), against ``write_feather(uncompressed)`` + fsync of the
same table. Alternating order, paired ratios, median. Target: ≥ 0.5× the peer's rows/s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .common import Row, feather_peer, judge, log, median, scratch
from .engine_bench import _list, _order, paired
from .flight_bench import _adbc, _execute, kodiak_server
from .outside import announce, command, harness_reader, harness_table

FULL: dict[str, Any] = {"scale": 1, "repeats": 5}
QUICK: dict[str, Any] = {"scale": 0.2, "repeats": 5}


def ingest(uri: str, table: Any) -> int:
    with _adbc(uri) as conn, conn.cursor() as cur:
        return cur.adbc_ingest("lineitem", harness_reader(table), mode="create")


def bench_outside_ingest(cfg: dict) -> list[Row]:
    scale = cfg["scale"]
    table = harness_table("lineitem", scale)
    n = table.num_rows
    log(f"outside_ingest: lineitem SF{scale:g}, {n:,} rows, types "
        f"{sorted({str(f.type) for f in table.schema})}")
    k_t: list[float] = []
    f_t: list[float] = []
    with scratch("outside_ingest") as work, kodiak_server(work / "kodiak") as uri:
        for r in range(cfg["repeats"]):
            for who in _order(r):
                if who == "peer":
                    f_t.append(feather_peer(table, work)[0])
                    continue
                if r > 0:
                    _execute(uri, "drop table lineitem")
                t0 = time.perf_counter()
                count = ingest(uri, table)
                k_t.append(time.perf_counter() - t0)
                assert count in (n, -1), (count, n)
            log(f"outside_ingest repeat {r + 1}: Kodiak {k_t[-1]:.2f} s, "
                f"Feather {f_t[-1]:.2f} s")
    ratio = paired(f_t, k_t)
    quick = scale != FULL["scale"]
    announce("outside_ingest", ratio, quick)
    return [Row("outside_ingest", f"adbc_ingest create, lineitem SF{scale:g}, string, 65,536-row "
                "batches", n / median(k_t), "rows/s", "write_feather (uncompressed) + fsync",
                n / median(f_t), ratio, "≥ 0.5× peer", judge(ratio >= 0.5),
                f"Kodiak {_list(k_t)} s, Feather {_list(f_t)} s; `{command('outside_ingest', quick)}`")]


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"outside_ingest": bench_outside_ingest}
