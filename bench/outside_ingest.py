"""``outside_ingest``: the outside harness's ingest case, and two variants of its shape.

``adbc_ingest(mode="create")`` of TPC-H lineitem as ``pyarrow.parquet.read_table`` gives it
(DuckDB's file), string columns cast to plain ``string``, in 65,536-row batches, into a
``kodiak serve`` subprocess (durable when it returns), against ``write_feather(uncompressed)``
+ fsync of the same table. Alternating order, paired ratios, median. Target: ≥ 0.5× the
peer's rows/s. For information, the same with 8,192-row batches and with ``large_string``
columns (fewer repeats), so that the measure does not fit one shape only; and what the
transport allows: the harness's case into two bare servers (``bench.flight_bench``'s
``IngestPeer``), one that only receives the upload and one that also writes it into an Arrow
IPC file and fsyncs, each against Feather in rounds of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

from .common import Row, feather_peer, judge, log, median, scratch
from .engine_bench import _list, _order, paired
from .flight_bench import _adbc, _execute, kodiak_server, peer_server
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


class Server(NamedTuple):
    label: str  # what receives the upload
    start: Callable[[Path], AbstractContextManager[str]]  # scratch dir -> the server's URI
    drops: bool  # the table must be dropped before the next ingest


KODIAK = Server("Kodiak", lambda work: kodiak_server(work / "kodiak"), True)
# What the transport allows, for information: bare servers receiving the same upload.
BARE = (Server("bare server, receive only", lambda work: peer_server("ingest"), False),
        Server("bare server, receive + IPC file write + fsync",
               lambda work: peer_server("ingest", str(work)), False))


def bench_outside_ingest(cfg: dict) -> list[Row]:
    scale = cfg["scale"]
    quick = scale != FULL["scale"]
    rows = []
    for shape in SHAPES:
        table = harness_table("lineitem", scale, shape.string_type)
        repeats = cfg["repeats"] if shape.target else cfg["variant_repeats"]
        rows.append(_row(table, shape, KODIAK, repeats, scale))
        if shape.target:
            announce("outside_ingest", rows[-1].ratio, quick)
            rows += [_row(table, shape, bare, cfg["variant_repeats"], scale) for bare in BARE]
        del table
    return rows


def _row(table: pa.Table, shape: Shape, server: Server, repeats: int, scale: float) -> Row:
    """One server's ingest of ``table`` against Feather's write, ``repeats`` paired rounds."""
    quick = scale != FULL["scale"]
    s_t, f_t = measure(table, shape, repeats, server)
    n = table.num_rows
    ratio = paired(f_t, s_t)
    judged = shape.target and server is KODIAK
    case = f"adbc_ingest create, lineitem SF{scale:g}, {shape.label}"
    return Row("outside_ingest", case if server is KODIAK else f"{case}: {server.label}",
               n / median(s_t), "rows/s", "write_feather (uncompressed) + fsync",
               n / median(f_t), ratio, "≥ 0.5× peer" if judged else "—",
               judge(ratio >= 0.5) if judged else "info",
               f"{'Kodiak' if server is KODIAK else 'bare'} {_list(s_t)} s, Feather "
               f"{_list(f_t)} s; "
               f"`{command('outside_ingest', quick)}`")


def measure(table: pa.Table, shape: Shape, repeats: int, server: Server = KODIAK
            ) -> tuple[list[float], list[float]]:
    """The server's and Feather's times over ``repeats`` alternating rounds."""
    n = table.num_rows
    log(f"outside_ingest ({shape.label}, {server.label}): lineitem, {n:,} rows, types "
        f"{sorted({str(f.type) for f in table.schema})}")
    s_t: list[float] = []
    f_t: list[float] = []
    with scratch("outside_ingest") as work, server.start(work) as uri:
        for r in range(repeats):
            for who in _order(r):
                if who == "peer":
                    f_t.append(feather_peer(table, work)[0])
                    continue
                if r > 0 and server.drops:
                    _execute(uri, "drop table lineitem")
                t0 = time.perf_counter()
                count = ingest(uri, table, shape.batch_rows)
                s_t.append(time.perf_counter() - t0)
                assert count in (n, -1), (count, n)
            log(f"outside_ingest ({shape.label}, {server.label}) repeat {r + 1}: "
                f"{s_t[-1]:.2f} s, Feather {f_t[-1]:.2f} s")
    return s_t, f_t


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"outside_ingest": bench_outside_ingest}
