"""``outside_tpch``: the outside harness's TPC-H case, through Flight SQL on both sides.

The eight TPC-H tables are shaped as the harness holds them (``bench.outside.harness_table``:
DuckDB's Parquet files read with ``read_table``, strings cast to plain ``string``) and loaded
into a real ``kodiak serve`` with ``adbc_ingest(mode="create")`` in 65,536-row batches: no
primary keys, no indexes, the types the client sent. The peer is DuckDB behind a bare Flight
SQL front (``python -m bench.outside_tpch peer SCALE`` in a subprocess of its own): the same
Parquet files loaded into DuckDB's own tables, a query run by DuckDB when GetFlightInfo
asks for it and its result streamed by DoGet. Both are driven by the same ADBC client
(``cursor.execute`` + ``fetch_arrow_table``), so each side pays the same transport.

For information the run is repeated on tables loaded in 8,192-row batches (a client's other
batch size: the stored batches must not follow it). Per query: a warm-up on each side, then
``repeats`` runs alternating which side goes first; the ratio is the median of the paired
ratios. Targets (issue 17): geomean ≤ 1.5× and no query
over 2.5×. DuckDB only answers for the peer: no Kodiak query runs in it.

``python -m bench.outside_tpch run -q 21,4 -r 5`` runs chosen queries (and scale, repeats,
``-b`` rows per ingested batch, ``-t`` the string columns' type) without the
``python -m bench`` parent.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from .common import Row, judge, log, median, scratch
from .engine_bench import _order, paired
from .flight_bench import _adbc, _process, kodiak_server
from .outside import BATCH_ROWS, announce, command, duckdb_parquet, harness_reader, harness_table
from .sql_bench import _queries
from .tpch import TABLES

# variant_batch_rows: the same run again (info) on tables loaded in batches of that size
FULL: dict[str, Any] = {"scale": 1, "repeats": 3, "queries": None, "variant_batch_rows": 8192}
QUICK: dict[str, Any] = {"scale": 0.2, "repeats": 3, "queries": None,
                         "variant_batch_rows": 8192}
GEOMEAN_TARGET = 1.5
QUERY_TARGET = 2.5


class DuckDBFront(flight.FlightServerBase):
    """DuckDB behind a bare Flight SQL front: CommandStatementQuery runs the query in
    GetFlightInfo, DoGet streams the kept result once. Nothing else is served."""

    def __init__(self, con: Any) -> None:
        super().__init__("grpc://127.0.0.1:0")
        from kodiak_flight import flightsql as fsql

        self.fsql, self.con = fsql, con
        self.results: dict[bytes, pa.Table] = {}
        self.lock = threading.Lock()
        self.ids = itertools.count()

    def get_flight_info(self, context: Any, descriptor: flight.FlightDescriptor
                        ) -> flight.FlightInfo:
        query = self.fsql.unpack(descriptor.command, what="command").query
        with self.lock:  # one DuckDB connection: its own threads run each query
            table = self.con.sql(query).to_arrow_table()
            ticket = str(next(self.ids)).encode()
            self.results[ticket] = table
        return flight.FlightInfo(table.schema, descriptor,
                                 [flight.FlightEndpoint(flight.Ticket(ticket), [])],
                                 table.num_rows, -1)

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.FlightDataStream:
        with self.lock:
            table = self.results.pop(ticket.ticket)
        return flight.RecordBatchStream(table)


def run_peer(scale: float) -> None:
    """Serve DuckDB over the harness's Parquet files (already written by the parent)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for name in TABLES:
        path = duckdb_parquet(name, scale)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
    server = DuckDBFront(con)
    print(f"grpc://127.0.0.1:{server.port}", flush=True)
    server.serve()


def _peer(scale: float) -> Any:
    return _process([sys.executable, "-m", "bench.outside_tpch", "peer", f"{scale:g}"])


def _run(conn: Any, sql: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetch_arrow_table().num_rows
    return time.perf_counter() - t0, rows


def _load(uri: str, scale: float, batch_rows: int = BATCH_ROWS,
          string_type: pa.DataType | None = None) -> None:
    with _adbc(uri) as conn, conn.cursor() as cur:
        for name in TABLES:
            table = harness_table(name, scale, string_type)
            cur.adbc_ingest(name, harness_reader(table, batch_rows), mode="create")


def _measure(uri: str, peer_uri: str, queries: dict[int, str], repeats: int
             ) -> Iterator[tuple[int, list[float], list[float]]]:
    with _adbc(uri) as kconn, _adbc(peer_uri) as pconn:
        conns = {"kodiak": kconn, "peer": pconn}
        for n, sql in queries.items():
            rows = {who: _run(c, sql)[1] for who, c in conns.items()}  # warm-up
            if rows["kodiak"] != rows["peer"]:
                raise RuntimeError(f"Q{n:02d}: Kodiak gave {rows['kodiak']} rows, "
                                   f"DuckDB {rows['peer']}")
            times: dict[str, list[float]] = {"kodiak": [], "peer": []}
            for r in range(repeats):
                for who in _order(r):
                    times[who].append(_run(conns[who], sql)[0])
            yield n, times["kodiak"], times["peer"]


def bench_outside_tpch(cfg: dict) -> list[Row]:
    scale = cfg["scale"]
    queries = _queries()
    picked = {n: queries[n] for n in (cfg.get("queries") or sorted(queries))}
    for name in TABLES:
        duckdb_parquet(name, scale)  # written once, before either server reads it
    quick = scale != FULL["scale"]
    with scratch("outside_tpch") as work, _peer(scale) as peer_uri:
        with kodiak_server(work / "kodiak") as uri:
            rows, geo, worst = _run_all(uri, peer_uri, scale, picked, cfg["repeats"],
                                        cfg.get("batch_rows", BATCH_ROWS),
                                        cfg.get("string_type"))
        announce("outside_tpch", geo, quick)
        rows.append(_geomean_row(scale, len(picked), geo, worst, quick))
        small = cfg.get("variant_batch_rows")
        if small:  # a client that sends smaller batches: the same queries, for information
            with kodiak_server(work / "kodiak_small") as uri:
                _, geo, worst = _run_all(uri, peer_uri, scale, picked, cfg["repeats"], small)
            rows.append(_geomean_row(scale, len(picked), geo, worst, quick, small))
    return rows


def _geomean_row(scale: float, queries: int, geo: float, worst: str, quick: bool,
                 batch_rows: int | None = None) -> Row:
    """The geomean's row: judged for the harness's load, information for ``batch_rows``."""
    case = f"TPC-H SF{scale:g}, {queries} queries, geomean"
    if batch_rows is not None:
        case += f", tables loaded in {batch_rows:,}-row batches"
    target = f"≤ {GEOMEAN_TARGET}× peer" if batch_rows is None else "—"
    result = judge(geo <= GEOMEAN_TARGET) if batch_rows is None else "info"
    return Row("outside_tpch", case, geo, "×", "DuckDB behind a bare Flight SQL front", 1.0,
               geo, target, result, f"worst {worst}; `{command('outside_tpch', quick)}`")


def _run_all(uri: str, peer_uri: str, scale: float, picked: dict[int, str], repeats: int,
             batch_rows: int, string_type: pa.DataType | None = None
             ) -> tuple[list[Row], float, str]:
    """Load the tables into Kodiak in ``batch_rows``-row batches, run the queries against
    the peer: a row per query, the geomean, the worst query."""
    _load(uri, scale, batch_rows, string_type)
    log(f"outside_tpch: TPC-H SF{scale:g} ingested through ADBC in {batch_rows:,}-row "
        f"batches, strings as {string_type or pa.string()}")
    rows: list[Row] = []
    ratios: list[float] = []
    for n, k, p in _measure(uri, peer_uri, picked, repeats):
        ratio = paired(k, p)
        ratios.append(ratio)
        log(f"Q{n:02d}: Kodiak {median(k) * 1e3:8.1f} ms  DuckDB front "
            f"{median(p) * 1e3:8.1f} ms  ratio {ratio:.2f}")
        rows.append(Row("outside_tpch", f"Q{n:02d} through Flight SQL (ADBC)", median(k),
                        "s", "DuckDB behind a bare Flight SQL front", median(p), ratio,
                        f"≤ {QUERY_TARGET}× peer", judge(ratio <= QUERY_TARGET)))
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    worst = max(zip(ratios, picked, strict=True), key=lambda x: x[0])
    return rows, geo, f"Q{worst[1]:02d} {worst[0]:.2f}×"


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"outside_tpch": bench_outside_tpch}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.outside_tpch")
    sub = p.add_subparsers(dest="cmd", required=True)
    peer = sub.add_parser("peer", help="serve DuckDB behind a bare Flight SQL front")
    peer.add_argument("scale", type=float)
    run = sub.add_parser("run", help="run chosen queries, fewer repeats, without the parent")
    run.add_argument("-s", "--scale", type=float, default=FULL["scale"])
    run.add_argument("-r", "--repeats", type=int, default=FULL["repeats"])
    run.add_argument("-q", "--queries", help="comma-separated query numbers (default: all)")
    run.add_argument("-b", "--batch-rows", type=int, default=BATCH_ROWS,
                     help="rows per ingested batch (default: the harness's 65,536)")
    run.add_argument("-t", "--strings", choices=["string", "large_string", "string_view"],
                     default="string", help="the string columns' type as ingested")
    args = p.parse_args(argv)
    if args.cmd == "peer":
        run_peer(args.scale)
        return
    picked = [int(q) for q in args.queries.split(",")] if args.queries else None
    for row in bench_outside_tpch({"scale": args.scale, "repeats": args.repeats,
                                   "queries": picked, "batch_rows": args.batch_rows,
                                   "string_type": getattr(pa, args.strings)()}):
        print(f"{row.case}: {row.ratio:.2f}×")


if __name__ == "__main__":
    main()
