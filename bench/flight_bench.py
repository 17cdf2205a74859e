"""Flight SQL service benchmarks: ``kodiak serve`` against bare Arrow Flight servers, same run.

Kodiak runs as a real ``kodiak serve`` subprocess on loopback; each peer is a bare
``pyarrow.flight`` server in a subprocess of its own that does no database work, so a ratio
measures what Kodiak's service layer and engine cost on top of the transport.

1. ``flight_doget``: ``select * from lineitem`` (TPC-H) through a raw ``pyarrow.flight``
   Flight SQL client (CommandStatementQuery → GetFlightInfo → DoGet ``read_all``) against a
   bare Flight server streaming the same table from memory (GetFlightInfo → DoGet of a
   ``RecordBatchStream``). Target: ≥ 0.9× the peer's throughput.
2. ``flight_ingest``: ADBC ``adbc_ingest`` of lineitem into Kodiak (durable when it returns)
   against ``pyarrow.feather.write_feather(uncompressed)`` + fsync. Target: ≥ 0.5×.
3. ``flight_lookup``: a prepared primary-key lookup through ADBC
   (``cursor.execute("select * from t where id = ?", (k,))`` + ``fetchall``, repeated, on a
   keyed 1 M-row table) against a bare Flight SQL server answering the same ADBC calls
   (CreatePreparedStatement, DoPut bind, GetFlightInfo, DoGet, Close) with a fixed row.
   Target: p50 within 1.5× the peer's.
4. ``flight_concurrency``: 16 ADBC clients (threads, one connection each) running a mixed
   workload (point lookups, small aggregates, small inserts) against 1 client, in alternating
   rounds; the ratio is the median of the rounds' ratios. Target: throughput grows and no
   request fails. For context the same rounds run against the bare peer (fixed answers, no
   database work): its growth is the ceiling the client process and the machine's cores
   leave, since all of them share the machine.

Run: ``python -m bench flight [--quick]``. The peers can be started by hand with
``python -m bench.flight_bench peer stream PARQUET`` / ``peer lookup`` / ``peer ingest
[DIR]`` (the last one is ``outside_ingest``'s: it receives an ``adbc_ingest``, and with a
directory writes it there and fsyncs).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pyarrow.parquet as pq

from .common import Row, feather_peer, fsync_dir, fsync_file, judge, log, median, scratch
from .engine_bench import _keyed_table, _list, _order, paired
from .tpch import lineitem_path

ROOT = Path(__file__).resolve().parent.parent

FULL: dict[str, Any] = {
    "scale": 1,
    "doget_repeats": 5,
    "ingest_repeats": 3,
    "ingest_batch_rows": 65_536,
    "lookup_rows": 1_000_000,
    "lookup_rounds": 5,
    "lookup_keys": 1000,
    "clients": 16,
    "mix_seconds": 8.0,
    "mix_rounds": 3,
}

QUICK: dict[str, Any] = {
    "scale": 0.1,
    "doget_repeats": 3,
    "ingest_repeats": 3,
    "ingest_batch_rows": 65_536,
    "lookup_rows": 100_000,
    "lookup_rounds": 3,
    "lookup_keys": 300,
    "clients": 16,
    "mix_seconds": 4.0,
    "mix_rounds": 2,
}


# -- subprocesses ------------------------------------------------------------------------------


# the process id of each server ``_process`` is running, by its URI (for CPU accounting)
SERVER_PIDS: dict[str, int] = {}


@contextlib.contextmanager
def _process(cmd: list[str]) -> Iterator[str]:
    """Start a server subprocess that prints its URI as its first line; yield the URI."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    uri = ""
    try:
        assert proc.stdout is not None
        uri = proc.stdout.readline().strip()
        if not uri.startswith("grpc"):
            raise RuntimeError(f"server {cmd} did not start (printed {uri!r})")
        SERVER_PIDS[uri] = proc.pid
        yield uri
    finally:
        SERVER_PIDS.pop(uri, None)
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def kodiak_server(data_dir: Path) -> contextlib.AbstractContextManager[str]:
    return _process([sys.executable, "-c", "from kodiak_flight.cli import main; main()",
                     "serve", "--port", "0", "--data-dir", str(data_dir),
                     "--log-level", "warning"])


def peer_server(kind: str, *args: str) -> contextlib.AbstractContextManager[str]:
    return _process([sys.executable, "-m", "bench.flight_bench", "peer", kind, *args])


def _adbc(uri: str) -> Any:
    import adbc_driver_flightsql.dbapi as flight_sql

    return flight_sql.connect(uri, autocommit=True)


# -- the bare peers ----------------------------------------------------------------------------


class StreamPeer(flight.FlightServerBase):
    """Streams one in-memory table for any descriptor: the transport and nothing else."""

    def __init__(self, table: pa.Table) -> None:
        super().__init__("grpc://127.0.0.1:0")
        self.table = table

    def get_flight_info(self, context: Any, descriptor: flight.FlightDescriptor
                        ) -> flight.FlightInfo:
        ticket = flight.Ticket(b"table")
        return flight.FlightInfo(self.table.schema, descriptor,
                                 [flight.FlightEndpoint(ticket, [])], self.table.num_rows, -1)

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.FlightDataStream:
        return flight.RecordBatchStream(self.table)


class LookupPeer(flight.FlightServerBase):
    """A Flight SQL server that answers ADBC's prepared-statement calls with fixed results.

    A query answers with a fixed row of the shape the real one has (a ``t`` row for a lookup,
    a ``count``/``sum`` row for an aggregate); an ``insert`` is an update that reports one
    row. It does the transport work of every call (protobuf, binding, Arrow IPC) and no
    database work."""

    def __init__(self) -> None:
        super().__init__("grpc://127.0.0.1:0")
        from kodiak_flight import flightsql as fsql
        from kodiak_flight.flightsql import pb

        self.fsql, self.pb = fsql, pb
        self.row = _keyed_table(1, np.random.default_rng(0))
        self.agg = pa.table({"count_star()": pa.array([1000], pa.int64()),
                             "sum(qty)": pa.array([25_500], pa.int64())})

    def _result(self, query: str) -> pa.Table | None:
        """The fixed answer to ``query``; None for an update."""
        q = query.lstrip().lower()
        if q.startswith("insert"):
            return None
        return self.agg if q.startswith("select count") else self.row

    def do_action(self, context: Any, action: flight.Action) -> Iterator[flight.Result]:
        fsql, pb = self.fsql, self.pb
        if action.type == fsql.CREATE_PREPARED_STATEMENT:
            req = fsql.unpack(action.body.to_pybytes(), what="action body")
            answer = self._result(req.query)
            params = pa.schema([(f"${i + 1}", pa.int64() if i == 0 else pa.float64())
                                for i in range(req.query.count("?"))])
            result = pb.ActionCreatePreparedStatementResult(
                prepared_statement_handle=req.query.encode(),
                dataset_schema=fsql.serialize_schema(None if answer is None
                                                     else answer.schema),
                parameter_schema=fsql.serialize_schema(params), is_update=answer is None)
            return iter([flight.Result(fsql.pack(result))])
        if action.type == fsql.CLOSE_PREPARED_STATEMENT:
            return iter([])
        raise NotImplementedError(action.type)

    def do_put(self, context: Any, descriptor: flight.FlightDescriptor, reader: Any,
               writer: Any) -> None:
        cmd = self.fsql.unpack(descriptor.command, what="command")
        rows = reader.read_all().num_rows
        if isinstance(cmd, self.pb.CommandPreparedStatementUpdate):
            writer.write(self.fsql.update_result(rows))
        else:
            writer.write(self.fsql.prepared_put_result(cmd.prepared_statement_handle))

    def get_flight_info(self, context: Any, descriptor: flight.FlightDescriptor
                        ) -> flight.FlightInfo:
        cmd = self.fsql.unpack(descriptor.command, what="command")
        if not isinstance(cmd, self.pb.CommandPreparedStatementQuery):
            raise NotImplementedError(type(cmd).__name__)
        handle = cmd.prepared_statement_handle
        answer = self._result(handle.decode())
        assert answer is not None
        return flight.FlightInfo(answer.schema, descriptor,
                                 [flight.FlightEndpoint(flight.Ticket(handle), [])], 1, -1)

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.FlightDataStream:
        answer = self._result(ticket.ticket.decode())
        assert answer is not None
        return flight.RecordBatchStream(answer)


class IngestPeer(flight.FlightServerBase):
    """Answers ADBC's ``adbc_ingest`` (a DoPut of ``CommandStatementIngest``) with no database
    work: what the transport allows an ingest. ``store`` None only receives the batches;
    a directory writes them into an Arrow IPC file there as they arrive (a reader thread
    receiving ahead, as Kodiak's server does; the native file writer, no statistics or
    checksum; the same file each time, so its pages are the page cache's own reused ones),
    then fsyncs the file and the directory before answering: the least a durable store
    could do."""

    def __init__(self, store: str | None) -> None:
        super().__init__("grpc://127.0.0.1:0")
        from kodiak_flight import flightsql as fsql
        from kodiak_flight.prefetch import prefetch

        self.fsql, self.prefetch, self.store = fsql, prefetch, store

    def do_put(self, context: Any, descriptor: flight.FlightDescriptor, reader: Any,
               writer: Any) -> None:
        batches = (c.data for c in iter(reader.read_chunk, None) if c.data is not None)
        if self.store is None:
            rows = sum(b.num_rows for b in batches)
        else:
            rows = self._write(reader.schema, self.prefetch(batches, depth=4))
        writer.write(self.fsql.update_result(rows))

    def _write(self, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> int:
        assert self.store is not None
        path = os.path.join(self.store, "upload.arrow")
        rows = 0
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as out:
            for b in batches:
                out.write_batch(b)
                rows += b.num_rows
        fsync_file(path)
        fsync_dir(self.store)
        return rows


def run_peer(kind: str, args: list[str]) -> None:
    server: flight.FlightServerBase
    if kind == "stream":
        table = pq.read_table(args[0])
        server = StreamPeer(table)
    elif kind == "lookup":
        server = LookupPeer()
    elif kind == "ingest":
        server = IngestPeer(args[0] if args else None)
    else:
        raise SystemExit(f"unknown peer {kind!r}")
    print(f"grpc://127.0.0.1:{server.port}", flush=True)
    server.serve()


# -- helpers -----------------------------------------------------------------------------------


def _statement_read(client: flight.FlightClient, sql: str) -> pa.Table:
    from kodiak_flight.flightsql import pack, pb

    desc = flight.FlightDescriptor.for_command(pack(pb.CommandStatementQuery(query=sql)))
    info = client.get_flight_info(desc)
    tables = [client.do_get(e.ticket).read_all() for e in info.endpoints]
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _peer_read(client: flight.FlightClient) -> pa.Table:
    info = client.get_flight_info(flight.FlightDescriptor.for_command(b"select * from lineitem"))
    return client.do_get(info.endpoints[0].ticket).read_all()


def _ingest(uri: str, table: pa.Table, batch_rows: int, mode: str = "create") -> int:
    reader = pa.RecordBatchReader.from_batches(table.schema,
                                               table.to_batches(max_chunksize=batch_rows))
    with _adbc(uri) as conn, conn.cursor() as cur:
        return cur.adbc_ingest("lineitem", reader, mode=mode)


def _execute(uri: str, sql: str) -> None:
    with _adbc(uri) as conn, conn.cursor() as cur:
        cur.execute(sql)
        cur.fetchall()


# -- 1 + 2: ingest and DoGet of lineitem -------------------------------------------------------


def bench_flight_ingest_doget(cfg: dict) -> list[Row]:
    scale = cfg["scale"]
    path = lineitem_path(scale)
    table = pq.read_table(path)
    n = table.num_rows
    log(f"flight: lineitem SF{scale:g}, {n:,} rows, {table.nbytes / 2**20:,.0f} MiB")
    rows: list[Row] = []
    with scratch("flight_ingest") as work, kodiak_server(work / "kodiak") as uri:
        # 2. ingest, alternating with the Feather peer.
        k_times: list[float] = []
        f_times: list[float] = []
        for r in range(cfg["ingest_repeats"]):
            for who in _order(r):
                if who == "peer":
                    f_times.append(feather_peer(table, work)[0])
                else:
                    if r > 0:
                        _execute(uri, "drop table lineitem")
                    t0 = time.perf_counter()
                    count = _ingest(uri, table, cfg["ingest_batch_rows"])
                    k_times.append(time.perf_counter() - t0)
                    assert count in (n, -1), (count, n)
            log(f"flight_ingest repeat {r + 1}: Kodiak {k_times[-1]:.2f} s, "
                f"Feather {f_times[-1]:.2f} s")
        ratio = paired(f_times, k_times)
        rows.append(Row(
            "flight_ingest", f"adbc_ingest lineitem SF{scale:g}, vs Feather", n / median(k_times),
            "rows/s", "write_feather (uncompressed) + fsync", n / median(f_times), ratio,
            "≥ 0.5× peer", judge(ratio >= 0.5),
            f"{n:,} rows in batches of {cfg['ingest_batch_rows']:,}; Kodiak {_list(k_times)} s, "
            f"Feather {_list(f_times)} s"))

        # 1. DoGet of the whole table, against a bare Flight server streaming it from memory.
        del table
        with peer_server("stream", str(path)) as peer_uri:
            kc = flight.connect(uri)
            pc_ = flight.connect(peer_uri)
            got = _statement_read(kc, "select * from lineitem")  # warm both
            assert got.num_rows == n, (got.num_rows, n)
            assert _peer_read(pc_).num_rows == n
            del got
            k_t: list[float] = []
            p_t: list[float] = []
            for r in range(cfg["doget_repeats"]):
                for who in _order(r):
                    t0 = time.perf_counter()
                    got = _statement_read(kc, "select * from lineitem") if who == "kodiak" \
                        else _peer_read(pc_)
                    (k_t if who == "kodiak" else p_t).append(time.perf_counter() - t0)
                    assert got.num_rows == n
                    del got
                log(f"flight_doget repeat {r + 1}: Kodiak {k_t[-1]:.2f} s, peer {p_t[-1]:.2f} s")
            kc.close()
            pc_.close()
        ratio = paired(p_t, k_t)
        rows.insert(0, Row(
            "flight_doget", f"select * from lineitem SF{scale:g}, DoGet read_all",
            n / median(k_t), "rows/s", "bare pyarrow.flight server, table in memory",
            n / median(p_t), ratio, "≥ 0.9× peer", judge(ratio >= 0.9),
            f"Kodiak {_list(k_t)} s, peer {_list(p_t)} s"))
    return rows


# -- 3: prepared point lookups -----------------------------------------------------------------


def _keyed_db(path: Path, n: int) -> None:
    import engine

    data = _keyed_table(n, np.random.default_rng(42))
    db = engine.Database.open(str(path))
    try:
        db.create_table("t", data.schema, primary_key=["id"])
        db.insert("t", data)
        db.create_table("ins", pa.schema([("id", pa.int64()), ("v", pa.float64())]))
    finally:
        db.close()


def _lookups(uri: str, keys: list[int]) -> list[float]:
    lat = []
    perf = time.perf_counter
    with _adbc(uri) as conn, conn.cursor() as cur:
        for k in keys:
            t0 = perf()
            cur.execute("select * from t where id = ?", (k,))
            rows = cur.fetchall()
            lat.append(perf() - t0)
            assert len(rows) == 1, (k, rows)
    return lat


def bench_flight_lookup(cfg: dict) -> list[Row]:
    n = cfg["lookup_rows"]
    rng = random.Random(7)
    with scratch("flight_lookup") as work:
        _keyed_db(work / "kodiak", n)
        with kodiak_server(work / "kodiak") as uri, peer_server("lookup") as peer_uri:
            warm = [rng.randrange(n) for _ in range(200)]
            _lookups(uri, warm)
            _lookups(peer_uri, warm)
            k_p50: list[float] = []
            p_p50: list[float] = []
            k_all: list[float] = []
            for r in range(cfg["lookup_rounds"]):
                keys = [rng.randrange(n) for _ in range(cfg["lookup_keys"])]
                for who in _order(r):
                    lat = _lookups(uri if who == "kodiak" else peer_uri, keys)
                    (k_p50 if who == "kodiak" else p_p50).append(median(lat))
                    if who == "kodiak":
                        k_all += lat
                log(f"flight_lookup round {r + 1}: Kodiak p50 {k_p50[-1] * 1e3:.2f} ms, "
                    f"peer p50 {p_p50[-1] * 1e3:.2f} ms")
    ratio = paired(k_p50, p_p50)
    k_all.sort()
    return [Row("flight_lookup", f"ADBC prepared PK lookup, {n:,}-row table, p50",
                median(k_p50), "s", "bare Flight SQL server, fixed row", median(p_p50), ratio,
                "≤ 1.5× peer", judge(ratio <= 1.5),
                f"Kodiak p99 {k_all[int(0.99 * len(k_all))] * 1e3:.2f} ms; per-round p50 "
                f"Kodiak {_list([x * 1e3 for x in k_p50])} ms, peer "
                f"{_list([x * 1e3 for x in p_p50])} ms")]


# -- 4: concurrency ----------------------------------------------------------------------------


def _mixed(uri: str, n: int, clients: int, seconds: float, seed: int) -> tuple[int, list[str]]:
    """Run ``clients`` threads of mixed work for ``seconds``; (operations done, errors)."""
    ops = [0] * clients
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def worker(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        try:
            conn = _adbc(uri)
            cur = conn.cursor()
        except Exception as exc:
            errors.append(f"connect: {exc}")
            start.wait()
            return
        start.wait()
        try:
            while not stop.is_set():
                x = rng.random()
                try:
                    if x < 0.6:
                        cur.execute("select * from t where id = ?", (rng.randrange(n),))
                        cur.fetchall()
                    elif x < 0.9:
                        lo = rng.randrange(n - 1000)
                        cur.execute("select count(*), sum(qty) from t where id >= ? and id < ?",
                                    (lo, lo + 1000))
                        cur.fetchall()
                    else:
                        cur.execute("insert into ins values (?, ?)",
                                    (rng.randrange(1 << 40), rng.random()))
                    ops[i] += 1
                except Exception as exc:
                    errors.append(str(exc).splitlines()[0][:200])
        finally:
            with contextlib.suppress(Exception):
                cur.close()
                conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(ops), errors


def _growth(uri: str, n: int, clients: int, secs: float, rounds: int,
            who: str) -> tuple[list[float], list[float], list[str]]:
    """Throughput (ops/s) of 1 client and of ``clients`` clients against ``uri``, in
    alternating rounds (machine noise hits both sides alike), and the errors seen."""
    ones: list[float] = []
    manys: list[float] = []
    errors: list[str] = []
    _mixed(uri, n, 2, 1.0, 0)  # warm up
    for r in range(rounds):
        for c in ((1, clients) if r % 2 == 0 else (clients, 1)):
            ops, errs = _mixed(uri, n, c, secs, 2 * r + (c > 1))
            (ones if c == 1 else manys).append(ops / secs)
            errors += errs
        log(f"flight_concurrency {who} round {r + 1}: 1 client {ones[-1]:,.0f} ops/s, "
            f"{clients} clients {manys[-1]:,.0f} ops/s ({manys[-1] / ones[-1]:.2f}×)")
    return ones, manys, errors


def bench_flight_concurrency(cfg: dict) -> list[Row]:
    n = cfg["lookup_rows"]
    clients = cfg["clients"]
    secs, rounds = cfg["mix_seconds"], cfg["mix_rounds"]
    with scratch("flight_concurrency") as work:
        _keyed_db(work / "kodiak", n)
        with kodiak_server(work / "kodiak") as uri:
            k1, k16, errs = _growth(uri, n, clients, secs, rounds, "Kodiak")
        with peer_server("lookup") as peer_uri:
            p1, p16, perrs = _growth(peer_uri, n, clients, secs, rounds, "peer")
    ratio = median([b / a for a, b in zip(k1, k16, strict=True)])
    peer = median([b / a for a, b in zip(p1, p16, strict=True)])
    detail = (f"60 % PK lookups, 30 % 1000-row aggregates, 10 % single-row inserts; "
              f"{rounds} alternating rounds of {secs:g} s per side; per-round growth Kodiak "
              f"{_list([b / a for a, b in zip(k1, k16, strict=True)])}, bare peer "
              f"{_list([b / a for a, b in zip(p1, p16, strict=True)])} (median {peer:.2f}×: "
              f"the ceiling that the client and the machine's cores leave); Kodiak 1 client "
              f"{median(k1):,.0f} ops/s, peer 1 client {median(p1):,.0f} ops/s; errors: "
              f"{len(errs)}" + (f" (first: {errs[0]})" if errs else "")
              + (f"; peer errors: {len(perrs)} (first: {perrs[0]})" if perrs else ""))
    return [Row("flight_concurrency", f"{clients} ADBC clients vs 1, mixed workload",
                median(k16), "ops/s", "1 client", median(k1), ratio, "> 1× and 0 errors",
                judge(ratio > 1.0 and not errs), detail)]


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {
    "flight_doget": bench_flight_ingest_doget,  # also measures flight_ingest (same data)
    "flight_lookup": bench_flight_lookup,
    "flight_concurrency": bench_flight_concurrency,
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.flight_bench")
    ap.add_argument("what", choices=["peer"])
    ap.add_argument("kind", choices=["stream", "lookup", "ingest"])
    ap.add_argument("args", nargs="*")
    args = ap.parse_args(argv)
    run_peer(args.kind, args.args)


if __name__ == "__main__":
    main()
