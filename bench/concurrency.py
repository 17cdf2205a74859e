"""``concurrency``: how read throughput grows from 1 to 16 ADBC clients.

A keyed table ``t`` (int64 ``id`` primary key, int32 ``qty``, float64 ``price``, string
``name``) is read by client threads, one ADBC connection each, running a read-only mix:
50 % prepared point lookups (``select * from t where id = ?``), 30 % small aggregates
(``select count(*), sum(qty) from t where id >= ? and id < ?`` over 1,000 keys), 20 % scans
of a few thousand rows (``select * from t where id >= ? and id < ?`` over 2,000 keys), every
result fetched. 1 client and 16 clients alternate for a few seconds each; the measure is the
median over rounds of (16-client ops/s) / (1-client ops/s). Target: ≥ 1.5×, no errors.

The clients run in two ways, each measured against both servers in the same run: as separate
processes (the measure: what real clients are, each with a Python of its own) and as threads
of one process (for information: ADBC's ``fetchall`` builds every row in Python, so 16 client
threads share one GIL, and that process, not the server, sets the ceiling; the bare peer
grows only ~1.3-1.5× that way).

The peer is a bare pyarrow Flight SQL server answering the same calls with fixed results of
the same shapes (a row, an aggregate row, a 2,000-row table): its growth over the same rounds
is the ceiling the client process and the machine's cores leave (``flight_concurrency`` is
the older mix with writes, target > 1×).

With client processes, each round also logs the CPU one operation cost the server and the
clients (``/proc``, all their threads), and the report gives the medians: with one client
the clients' CPU is most of each operation's cost (ADBC's driver and ``fetchall`` building
Python rows), so one client already keeps about half of two cores busy, and growth is
bounded by how much more each operation costs everyone when 16 processes share the cores.
The report adds that bound: the cores' seconds over the CPU an operation costs the 16
clients plus what it costs the bare peer's server (the least any server could), as a
multiple of Kodiak's one-client rate.

``concurrency_kinds`` runs each operation of the mix alone the same way (not in ``all``):
which kinds lose throughput with 16 clients, what each costs the server, and how many
distinct server threads ran meanwhile (gRPC's synchronous server starts and ends worker
threads as calls come and go).

Run: ``python -m bench concurrency [--quick]``, ``python -m bench concurrency_kinds
[--quick]``; the peer alone: ``python -m bench.concurrency peer``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .common import Row, judge, log, median, scratch
from .engine_bench import _keyed_table, _list
from .flight_bench import SERVER_PIDS, LookupPeer, _adbc, _process, kodiak_server

FULL: dict[str, Any] = {"rows": 1_000_000, "clients": 16, "seconds": 6.0, "rounds": 3}
QUICK: dict[str, Any] = {"rows": 100_000, "clients": 16, "seconds": 3.0, "rounds": 3}

LOOKUP = "select * from t where id = ?"
AGGREGATE = "select count(*), sum(qty) from t where id >= ? and id < ?"
SCAN = "select * from t where id >= ? and id < ?"
AGG_KEYS, SCAN_KEYS = 1000, 2000


class MixedPeer(LookupPeer):
    """The lookup peer, also answering a range scan with a fixed 2,000-row table."""

    def __init__(self) -> None:
        super().__init__()
        self.scan = _keyed_table(SCAN_KEYS, np.random.default_rng(1))

    def _result(self, query: str) -> pa.Table | None:
        return self.scan if query == SCAN else super()._result(query)


def _db(path: Path, n: int) -> None:
    import engine

    data = _keyed_table(n, np.random.default_rng(42))
    db = engine.Database.open(str(path))
    try:
        db.create_table("t", data.schema, primary_key=["id"])
        db.insert("t", data)
    finally:
        db.close()


# the mix's operations by name, with the share of the mix that starts each: a client given a
# kind (``concurrency_kinds``) runs only that one
KINDS = {"lookup": 0.0, "aggregate": 0.5, "scan": 0.8}


def _one(cur: Any, rng: random.Random, n: int, kind: str | None = None) -> int:
    """One operation of the mix (of ``kind`` only, if given); the rows it fetched."""
    x = rng.random() if kind is None else KINDS[kind]
    if x < 0.5:
        cur.execute(LOOKUP, (rng.randrange(n),))
    elif x < 0.8:
        lo = rng.randrange(n - AGG_KEYS)
        cur.execute(AGGREGATE, (lo, lo + AGG_KEYS))
    else:
        lo = rng.randrange(n - SCAN_KEYS)
        cur.execute(SCAN, (lo, lo + SCAN_KEYS))
    return len(cur.fetchall())


def _run(uri: str, n: int, clients: int, seconds: float, seed: int) -> tuple[int, list[str]]:
    """``clients`` threads of the mix for ``seconds``: (operations done, errors)."""
    ops = [0] * clients
    errors: list[str] = []
    ready = threading.Barrier(clients + 1)
    stop = threading.Event()

    def worker(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        with contextlib.ExitStack() as stack:
            try:
                conn = stack.enter_context(_adbc(uri))
                cur = stack.enter_context(conn.cursor())
                _one(cur, rng, n)  # prepared before the clock starts
            except Exception as exc:
                errors.append(f"connect: {exc}")
                ready.wait()
                return
            ready.wait()
            while not stop.is_set():
                try:
                    _one(cur, rng, n)
                    ops[i] += 1
                except Exception as exc:
                    errors.append(str(exc).splitlines()[0][:200])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(ops), errors


def _client_process(uri: str, n: int, i: int, pipe: Any, kind: str | None = None) -> None:
    """One client process: one ADBC connection, prepared once; per request ``(seed,
    start, seconds)`` it runs the mix (or ``kind`` alone) from ``start`` (``time.time()``)
    for ``seconds`` and answers ``(operations, errors)``; None ends it."""
    errors: list[str] = []
    try:
        with contextlib.ExitStack() as stack:
            conn = stack.enter_context(_adbc(uri))
            cur = stack.enter_context(conn.cursor())
            _one(cur, random.Random(i), n, kind)
            pipe.send("ready")
            while (req := pipe.recv()) is not None:
                seed, start, seconds = req
                rng = random.Random(seed * 1000 + i)
                _one(cur, rng, n, kind)  # the statement prepared again before the clock starts
                time.sleep(max(0.0, start - time.time()))
                ops, end = 0, start + seconds
                while time.time() < end:
                    try:
                        _one(cur, rng, n, kind)
                        ops += 1
                    except Exception as exc:
                        errors.append(str(exc).splitlines()[0][:200])
                pipe.send((ops, errors))
                errors = []
    except Exception as exc:
        pipe.send((0, [f"connect: {exc}"]))


class ClientProcesses:
    """``size`` client processes, started once (spawned: a fork would copy the parent's ADBC
    runtime threads); each round uses the first ``clients`` of them."""

    def __init__(self, uri: str, n: int, size: int, kind: str | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.server_pid = SERVER_PIDS.get(uri)
        self.last_cpu: tuple[float | None, float] = (None, 0.0)
        self.threads: dict[int, list[int]] = {}  # distinct server threads seen, per round
        self.pipes, self.procs = [], []
        for i in range(size):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_client_process, args=(uri, n, i, theirs, kind),
                               daemon=True)
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)
        for p in self.pipes:
            p.recv()

    def run(self, clients: int, seconds: float, seed: int) -> tuple[int, list[str]]:
        """One round; its CPU time (server, clients) is left in ``last_cpu``."""
        start = time.time() + 0.3 + 0.02 * clients  # time for each to prepare again
        for p in self.pipes[:clients]:
            p.send((seed, start, seconds))
        pids = [p.pid for p in self.procs[:clients]]
        time.sleep(max(0.0, start - time.time()))
        before = cpu_seconds(self.server_pid), sum(cpu_seconds(p) or 0.0 for p in pids)
        seen = ThreadsSeen(self.server_pid)
        done = [p.recv() for p in self.pipes[:clients]]
        after = cpu_seconds(self.server_pid), sum(cpu_seconds(p) or 0.0 for p in pids)
        self.threads.setdefault(clients, []).append(seen.count())
        self.last_cpu = (None if before[0] is None or after[0] is None else
                         after[0] - before[0], after[1] - before[1])
        return sum(ops for ops, _ in done), [e for _, errs in done for e in errs]

    def close(self) -> None:
        for p in self.pipes:
            with contextlib.suppress(OSError):
                p.send(None)
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


class ThreadsSeen:
    """The distinct threads of process ``pid`` seen (``/proc``, every 20 ms) until
    ``count``: a lower bound on the threads that ran meanwhile (gRPC's synchronous server
    starts and ends its worker threads as calls come and go)."""

    def __init__(self, pid: int | None) -> None:
        self.tids: set[str] = set()
        self.pid = pid
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while self.pid is not None and not self.done.wait(0.02):
            with contextlib.suppress(OSError):
                self.tids.update(os.listdir(f"/proc/{self.pid}/task"))

    def count(self) -> int:
        self.done.set()
        self.thread.join()
        return len(self.tids)


def cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU time of process ``pid`` so far (Linux's /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# CPU milliseconds per operation in a round: (server, clients), server None where unknown
CpuPerOp = tuple[float | None, float]


def growth(uri: str, n: int, cfg: dict, who: str, processes: bool = False
           ) -> tuple[list[float], list[float], list[str], dict[int, list[CpuPerOp]]]:
    """Ops/s of 1 client and of ``clients`` clients in alternating rounds, the errors, and
    with ``processes`` (clients in processes of their own, else threads of this one) the CPU
    each operation cost the server and the clients, per round, by client count."""
    pool = ClientProcesses(uri, n, cfg["clients"]) if processes else None
    run = pool.run if pool is not None else \
        (lambda c, s, seed: _run(uri, n, c, s, seed))
    try:
        return _rounds(run, cfg, f"{who} ({'processes' if processes else 'threads'})", pool)
    finally:
        if pool is not None:
            pool.close()


def _rounds(run: Callable[[int, float, int], tuple[int, list[str]]], cfg: dict, who: str,
            pool: ClientProcesses | None
            ) -> tuple[list[float], list[float], list[str], dict[int, list[CpuPerOp]]]:
    clients, secs = cfg["clients"], cfg["seconds"]
    ones: list[float] = []
    manys: list[float] = []
    errors: list[str] = []
    cpu: dict[int, list[CpuPerOp]] = {1: [], clients: []}
    run(2, 1.0, 0)  # warm up
    for r in range(cfg["rounds"]):
        for c in ((1, clients) if r % 2 == 0 else (clients, 1)):
            ops, errs = run(c, secs, 2 * r + (c > 1))
            (ones if c == 1 else manys).append(ops / secs)
            errors += errs
            if pool is not None and ops:
                server, mine = pool.last_cpu
                cpu[c].append((None if server is None else 1000 * server / ops,
                               1000 * mine / ops))
        log(f"concurrency {who} round {r + 1}: 1 client {ones[-1]:,.0f} ops/s, {clients} "
            f"clients {manys[-1]:,.0f} ops/s ({manys[-1] / ones[-1] if ones[-1] else 0:.2f}×)"
            + "".join(f"; {c} CPU ms/op server {_ms(v[-1][0])}, clients {_ms(v[-1][1])}"
                      for c, v in cpu.items() if v))
    return ones, manys, errors, cpu


def _ms(v: float | None) -> str:
    return "?" if v is None else f"{v:.2f}"


def cpu_note(cpu: dict[int, list[CpuPerOp]]) -> str:
    """The medians over rounds of the CPU an operation cost, server / clients."""
    parts = []
    for c, v in cpu.items():
        if v:
            servers = [s for s, _ in v if s is not None]
            parts.append(f"{c} client{'s' if c > 1 else ''} "
                         f"{_ms(median(servers) if servers else None)} / "
                         f"{_ms(median([m for _, m in v]))} ms")
    return "; CPU per operation, server / clients: " + ", ".join(parts) if parts else ""


def ceiling_note(kcpu: dict[int, list[CpuPerOp]], pcpu: dict[int, list[CpuPerOp]],
                 clients: int, one: float) -> str:
    """What the cores allow 16 clients when every core is busy: ``cores`` seconds of CPU a
    second over the CPU one operation costs the clients (in Kodiak's rounds) plus what it
    costs the bare peer's server (fixed answers, so the least any server could cost), as a
    multiple of Kodiak's one-client rate. A growth target above it cannot be met on this
    machine by any server."""
    mine = [m for _, m in kcpu.get(clients, [])]
    peer = [s for s, _ in pcpu.get(clients, []) if s is not None]
    cores = os.cpu_count() or 1
    if not mine or not peer or not one:
        return ""
    top = 1000 * cores / (median(mine) + median(peer))
    return (f"; the cores' ceiling at {clients} clients ({cores} cores over the clients' CPU "
            f"per operation plus the bare peer server's): {top:,.0f} ops/s, "
            f"{top / one:.2f}× Kodiak's 1 client")


def bench_concurrency(cfg: dict) -> list[Row]:
    n = cfg["rows"]
    with scratch("concurrency") as work:
        _db(work / "kodiak", n)
        with kodiak_server(work / "kodiak") as uri, \
                _process([sys.executable, "-m", "bench.concurrency", "peer"]) as peer_uri:
            # each mode: Kodiak, then the peer, within the same minute or two
            rows = [row for processes in (True, False)
                    for row in _mode(uri, peer_uri, n, cfg, processes)]
    return rows


def _mode(uri: str, peer_uri: str, n: int, cfg: dict, processes: bool) -> list[Row]:
    """Kodiak's growth and the peer's with clients as processes (the measure) or threads."""
    clients = cfg["clients"]
    k1, kn, errs, kcpu = growth(uri, n, cfg, "Kodiak", processes)
    p1, pn, perrs, pcpu = growth(peer_uri, n, cfg, "peer", processes)
    k_rounds = [b / a for a, b in zip(k1, kn, strict=True)]
    p_rounds = [b / a for a, b in zip(p1, pn, strict=True)]
    ratio, peer = median(k_rounds), median(p_rounds)
    how = "client processes" if processes else "client threads in one process"
    log(f"concurrency ({how}): Kodiak {ratio:.2f}×, peer {peer:.2f}× — reproduce with "
        f"`python -m bench concurrency{' --quick' if n != FULL['rows'] else ''}`")
    detail = (f"{how}; read mix on {n:,} rows: 50 % PK lookups, 30 % {AGG_KEYS}-key "
              f"aggregates, 20 % {SCAN_KEYS}-row scans; {cfg['rounds']} alternating rounds of "
              f"{cfg['seconds']:g} s per side; per-round growth Kodiak {_list(k_rounds)}, bare "
              f"peer {_list(p_rounds)} (median {peer:.2f}×); 1 client: Kodiak "
              f"{median(k1):,.0f} ops/s, peer {median(p1):,.0f} ops/s"
              + (f"{cpu_note(kcpu)} (peer{cpu_note(pcpu)[1:]})" if kcpu[1] else "")
              + ceiling_note(kcpu, pcpu, clients, median(k1))
              + f"; errors: {len(errs)}"
              + (f" (first: {errs[0]})" if errs else "")
              + (f"; peer errors: {len(perrs)} (first: {perrs[0]})" if perrs else ""))
    kind = "processes" if processes else "threads"
    return [Row("concurrency", f"{clients} ADBC client {kind} vs 1, read mix", median(kn),
                "ops/s", "1 client", median(k1), ratio,
                "≥ 1.5× and 0 errors" if processes else "",
                judge(ratio >= 1.5 and not errs) if processes else "info", detail),
            Row("concurrency", f"bare Flight SQL peer, {clients} client {kind} vs 1",
                median(pn), "ops/s", "1 client", median(p1), peer, "", "info",
                "the same rounds against fixed answers: the machine's ceiling")]


def bench_kinds(cfg: dict) -> list[Row]:
    """Each operation of the mix alone, 1 client process against ``clients``, Kodiak and
    the peer in turn: which operations lose throughput with more clients, and what each
    costs the server per operation (a diagnosis of ``concurrency``, no target)."""
    n = cfg["rows"]
    rows: list[Row] = []
    with scratch("concurrency_kinds") as work:
        _db(work / "kodiak", n)
        with kodiak_server(work / "kodiak") as uri, \
                _process([sys.executable, "-m", "bench.concurrency", "peer"]) as peer_uri:
            for kind in KINDS:
                mine = _kind_rounds(uri, n, cfg, kind, "Kodiak")
                peer = _kind_rounds(peer_uri, n, cfg, kind, "peer")
                rows.append(_kind_row(kind, cfg, mine, peer))
    return rows


def _kind_rounds(uri: str, n: int, cfg: dict, kind: str, who: str) -> dict[str, float]:
    """``kind`` alone through ``_rounds``: the medians of ops/s at 1 and at ``clients``
    client processes, of the server's CPU ms per operation at each, and of the distinct
    server threads seen per second of a ``clients`` round; ``errors``, their count."""
    clients, secs = cfg["clients"], cfg["seconds"]
    pool = ClientProcesses(uri, n, clients, kind)
    try:
        ones, manys, errors, cpu = _rounds(pool.run, cfg, f"{who} {kind} alone", pool)
    finally:
        pool.close()
    servers = {c: [s for s, _ in v if s is not None] for c, v in cpu.items()}
    out = {"one_ops": median(ones), "many_ops": median(manys), "errors": float(len(errors)),
           "threads": median([t / secs for t in pool.threads[clients]])}
    out |= {f"{tag}_ms": median(servers[c]) for tag, c in (("one", 1), ("many", clients))
            if servers[c]}
    if errors:
        log(f"concurrency_kinds {kind} {who}: {len(errors)} errors (first: {errors[0]})")
    return out


def _kind_row(kind: str, cfg: dict, mine: dict[str, float], peer: dict[str, float]) -> Row:
    clients = cfg["clients"]
    growth_of = {who: d["many_ops"] / d["one_ops"] if d["one_ops"] else 0.0
                 for who, d in (("k", mine), ("p", peer))}
    detail = (f"{kind} alone ({cfg['rounds']} alternating rounds of {cfg['seconds']:g} s): "
              f"Kodiak {mine['one_ops']:,.0f} -> {mine['many_ops']:,.0f} ops/s "
              f"({growth_of['k']:.2f}×), server CPU {_ms(mine.get('one_ms'))} -> "
              f"{_ms(mine.get('many_ms'))} ms/op, {mine['threads']:,.0f} server threads seen/s; "
              f"peer {peer['one_ops']:,.0f} -> {peer['many_ops']:,.0f} ops/s "
              f"({growth_of['p']:.2f}×), server CPU {_ms(peer.get('one_ms'))} -> "
              f"{_ms(peer.get('many_ms'))} ms/op, {peer['threads']:,.0f} threads seen/s; "
              f"errors: Kodiak {mine['errors']:.0f}, peer {peer['errors']:.0f}")
    return Row("concurrency_kinds", f"{kind} alone, {clients} client processes vs 1",
               mine["many_ops"], "ops/s", "1 client", mine["one_ops"], growth_of["k"], "",
               "info", detail)


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"concurrency": bench_concurrency,
                                                      "concurrency_kinds": bench_kinds}


def main() -> None:
    if sys.argv[1:] != ["peer"]:
        raise SystemExit("usage: python -m bench.concurrency peer")
    server = MixedPeer()
    print(f"grpc://127.0.0.1:{server.port}", flush=True)
    server.serve()


if __name__ == "__main__":
    main()
