"""``outside_ingest``: the outside harness's ingest case, and two variants of its shape.

``adbc_ingest(mode="create")`` of TPC-H lineitem as ``pyarrow.parquet.read_table`` gives it
(DuckDB's file), string columns cast to plain ``string``, in 65,536-row batches, into a
``kodiak serve`` subprocess (durable when it returns), against ``write_feather(uncompressed)``
+ fsync of the same table. Alternating order, paired ratios, median. Target: ≥ 0.5× the
peer's rows/s. For information, the same with 8,192-row batches and with ``large_string``
columns (fewer repeats), so that the measure does not fit one shape only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import pyarrow as pa

from .common import Row, feather_peer, judge, log, median, scratch
from .engine_bench import _list, _order, paired
from .flight_bench import _adbc, _execute, kodiak_server
from .outside import BATCH_ROWS, announce, command, harness_reader, harness_table

FULL: dict[str, Any] = {"scale": 1, "repeats": 5, "variant_repeats": 3}
QUICK: dict[str, Any] = {"scale": 0.2, "repeats": 5, "variant_repeats": 3}


class Shape(NamedTuple):
    label: str
    batch_rows: int
    string_type: pa.DataType
    target: bool  # the harness's own case, judged; the others are information


SHAPES = (Shape("string, 65,536-row batches", BATCH_ROWS, pa.string(), True),
          Shape("string, 8,192-row batches", 8_192, pa.string(), False),
          Shape("large_string, 65,536-row batches", BATCH_ROWS, pa.large_string(), False))


def ingest(uri: str, table: Any, batch_rows: int = BATCH_ROWS) -> int:
    with _adbc(uri) as conn, conn.cursor() as cur:
        return cur.adbc_ingest("lineitem", harness_reader(table, batch_rows), mode="create")


def bench_outside_ingest(cfg: dict) -> list[Row]:
    scale = cfg["scale"]
    quick = scale != FULL["scale"]
    rows = []
    for shape in SHAPES:
        table = harness_table("lineitem", scale, shape.string_type)
        repeats = cfg["repeats"] if shape.target else cfg["variant_repeats"]
        k_t, f_t = measure(table, shape, repeats)
        n = table.num_rows
        ratio = paired(f_t, k_t)
        if shape.target:
            announce("outside_ingest", ratio, quick)
        rows.append(Row("outside_ingest", f"adbc_ingest create, lineitem SF{scale:g}, "
                        f"{shape.label}", n / median(k_t), "rows/s",
                        "write_feather (uncompressed) + fsync", n / median(f_t), ratio,
                        "≥ 0.5× peer" if shape.target else "—",
                        judge(ratio >= 0.5) if shape.target else "info",
                        f"Kodiak {_list(k_t)} s, Feather {_list(f_t)} s; "
                        f"`{command('outside_ingest', quick)}`"))
        del table
    return rows


def measure(table: pa.Table, shape: Shape, repeats: int) -> tuple[list[float], list[float]]:
    """Kodiak's and Feather's times over ``repeats`` alternating rounds."""
    n = table.num_rows
    log(f"outside_ingest ({shape.label}): lineitem, {n:,} rows, types "
        f"{sorted({str(f.type) for f in table.schema})}")
    k_t: list[float] = []
    f_t: list[float] = []
    with scratch("outside_ingest") as work, kodiak_server(work / "kodiak") as uri:
        for r in range(repeats):
            for who in _order(r):
                if who == "peer":
                    f_t.append(feather_peer(table, work)[0])
                    continue
                if r > 0:
                    _execute(uri, "drop table lineitem")
                t0 = time.perf_counter()
                count = ingest(uri, table, shape.batch_rows)
                k_t.append(time.perf_counter() - t0)
                assert count in (n, -1), (count, n)
            log(f"outside_ingest ({shape.label}) repeat {r + 1}: Kodiak {k_t[-1]:.2f} s, "
                f"Feather {f_t[-1]:.2f} s")
    return k_t, f_t


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"outside_ingest": bench_outside_ingest}
