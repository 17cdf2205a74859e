"""Stopping work from outside a running server: a satisfied LIMIT, the query timeout,
CancelFlightInfo and SIGTERM each stop a cross join of 10^12 rows, and the server's CPU goes
idle again (these used to keep one core busy for tens of minutes)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import pyarrow.flight as flight
import pytest

from kodiak_flight.proto import FlightCore_pb2 as core
from kodiak_flight.proto import FlightSql_pb2 as pb

from .helpers import descriptor, query, update

ENDLESS = "select count(*) from keep, keep k2, keep k3, keep k4"
# streams (no rows ever pass the filter), so GetFlightInfo answers before the work is done
ENDLESS_STREAM = ("select keep.a from keep, keep k2, keep k3, keep k4 "
                  "where keep.a + k2.a + k3.a + k4.a < 0")


def start(tmp_path, *args: str) -> tuple[subprocess.Popen, flight.FlightClient]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kodiak_flight.cli", "serve", "--port", "0",
         "--data-dir", str(tmp_path / "d"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    uri = proc.stdout.readline().strip()
    assert uri.startswith("grpc://"), (uri, proc.stderr.read())
    proc.uri = uri  # type: ignore[attr-defined]
    client = flight.connect(uri)
    update(client, "create table keep (a bigint)")
    update(client, "insert into keep values " + ",".join(f"({i})" for i in range(1000)))
    return proc, client


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(pid: int, within: float = 5.0, window: float = 1.0) -> bool:
    """Whether the process uses under a fifth of a core over some ``window`` in ``within``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < 0.2 * window:
            return True
    return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"),
                                reason="measures CPU through /proc (Linux only)")


def test_limit_on_a_cross_join_leaves_the_server_idle(tmp_path):
    proc, client = start(tmp_path)
    try:
        t0 = time.monotonic()
        got = query(client, "select * from keep, keep k2, keep k3, keep k4 limit 1")
        assert got.num_rows == 1
        assert time.monotonic() - t0 < 30
        assert idle(proc.pid), "the cross join kept running after its LIMIT was met"
        reader = client.do_get(client.get_flight_info(descriptor(pb.CommandStatementQuery(
            query="select * from keep, keep k2, keep k3"))).endpoints[0].ticket)
        assert reader.read_chunk().data.num_rows > 0
        reader.cancel()
        assert idle(proc.pid), "the cross join kept running after its reader was closed"
    finally:
        client.close()
        stop(proc)


def test_query_timeout_stops_a_cross_join_under_order_by(tmp_path):
    proc, client = start(tmp_path, "--query-timeout", "1")
    try:
        t0 = time.monotonic()
        with pytest.raises(flight.FlightTimedOutError, match="time limit"):
            query(client, "select a.a from keep a, keep b, keep c "
                          "order by a.a + b.a * c.a limit 1")
        assert time.monotonic() - t0 < 10
        assert idle(proc.pid)
        assert query(client, "select 1 as x").column(0).to_pylist() == [1]
    finally:
        client.close()
        stop(proc)


def test_cancel_flight_info_stops_a_cross_join(tmp_path):
    """(Read chunk by chunk: pyarrow's ``read_all`` turns a CANCELLED stream into a simulated
    Ctrl-C, a KeyboardInterrupt in the client's main thread.)"""
    proc, client = start(tmp_path)
    try:
        info = client.get_flight_info(descriptor(pb.CommandStatementQuery(
            query=ENDLESS_STREAM)))
        body = core.CancelFlightInfoRequest(info=info.serialize()).SerializeToString()
        sent: list[float] = []

        def cancel() -> None:
            time.sleep(1.0)
            sent.append(time.monotonic())
            list(client.do_action(flight.Action("CancelFlightInfo", body)))

        t = threading.Thread(target=cancel)
        t.start()
        with pytest.raises(flight.FlightCancelledError, match="cancelled"):
            for _ in client.do_get(info.endpoints[0].ticket):
                pass
        t.join(30)
        assert time.monotonic() - sent[0] < 10
        assert idle(proc.pid)
    finally:
        client.close()
        stop(proc)


def test_sigterm_stops_a_server_running_an_endless_query(tmp_path):
    proc, client = start(tmp_path)
    try:
        ended: list[BaseException] = []

        def read() -> None:
            try:
                query(client, ENDLESS)
            except flight.FlightError as e:
                ended.append(e)

        t = threading.Thread(target=read, daemon=True)
        t.start()
        time.sleep(1.0)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - t0 < 12
        t.join(10)
        # the running query was cancelled (its client told so), not cut off by the exit
        assert ended and isinstance(ended[0], flight.FlightCancelledError), ended
    finally:
        client.close()
        stop(proc)


def test_a_call_that_does_not_end_holds_the_stop_for_the_grace_period_only(tmp_path):
    """An upload left open is waited for ``--shutdown-grace`` seconds, then the server exits
    with status 0 anyway; a new call meanwhile is not served."""
    proc, client = start(tmp_path, "--shutdown-grace", "3")
    other = flight.connect(proc.uri)  # type: ignore[attr-defined]
    try:
        import pyarrow as pa
        opts = pb.CommandStatementIngest.TableDefinitionOptions
        writer, _ = client.do_put(descriptor(pb.CommandStatementIngest(
            table="held", table_definition_options=opts(
                if_not_exist=opts.TABLE_NOT_EXIST_OPTION_CREATE,
                if_exists=opts.TABLE_EXISTS_OPTION_FAIL))), pa.schema([("a", pa.int64())]))
        writer.write_table(pa.table({"a": [1, 2]}))
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(flight.FlightError):
            other.get_flight_info(descriptor(pb.CommandStatementQuery(query="select 1 as x")),
                                  flight.FlightCallOptions(timeout=2))
        assert proc.wait(timeout=30) == 0
        assert 2.5 < time.monotonic() - t0 < 10
    finally:
        other.close()
        client.close()
        stop(proc)


def test_second_signal_exits_at_once(tmp_path):
    """A call that does not end (an upload left open) holds up a graceful stop for the grace
    period; a second signal ends the process at once."""
    proc, client = start(tmp_path, "--shutdown-grace", "60")
    try:
        import pyarrow as pa
        opts = pb.CommandStatementIngest.TableDefinitionOptions
        writer, _ = client.do_put(descriptor(pb.CommandStatementIngest(
            table="up", table_definition_options=opts(
                if_not_exist=opts.TABLE_NOT_EXIST_OPTION_CREATE,
                if_exists=opts.TABLE_EXISTS_OPTION_FAIL))), pa.schema([("a", pa.int64())]))
        writer.write_table(pa.table({"a": [1, 2]}))
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 1
        assert time.monotonic() - t0 < 5
    finally:
        client.close()
        stop(proc)


@pytest.mark.parametrize("signals", [1, 2])
def test_acknowledged_commits_survive_a_stop(tmp_path, signals):
    """Writers commit while the server is stopped by SIGTERM (and, in the second case, a
    second SIGTERM that exits at once): every commit a client saw acknowledged is in the
    database when it is opened again."""
    import engine

    proc, client = start(tmp_path)
    update(client, "create table acked (id bigint primary key)")
    acked: list[int] = []

    def write() -> None:
        c = flight.connect(client_uri)
        try:
            for i in range(1_000_000):
                update(c, f"insert into acked values ({i})")
                acked.append(i)
        except flight.FlightError:
            pass  # the server went away mid-stream: that commit was not acknowledged
        finally:
            c.close()

    client_uri = proc.uri
    t = threading.Thread(target=write, daemon=True)
    t.start()
    try:
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        if signals == 2:
            time.sleep(0.05)  # (two signals at once would arrive as one)
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        # the second signal exits at once (1, or killed by it while the interpreter is
        # already tearing down), unless the graceful stop was quicker (0)
        assert proc.wait(timeout=30) in ((0,) if signals == 1 else (0, 1, -signal.SIGTERM))
        t.join(10)
        assert acked, "no commit was acknowledged before the stop"
        db = engine.Database.open(str(tmp_path / "d"))
        try:
            got = set(db.snapshot().scan("acked").read_all().column("id").to_pylist())
        finally:
            db.close()
        missing = [i for i in acked if i not in got]
        assert not missing, f"{len(missing)} acknowledged commits lost, e.g. {missing[:5]}"
    finally:
        client.close()
        stop(proc)


def test_a_client_deadline_stops_work_done_inside_get_flight_info(tmp_path):
    """An aggregate is computed inside GetFlightInfo: when the client's call deadline passes
    (or ADBC cancels the call), gRPC cancels the call and the query stops with it."""
    proc, client = start(tmp_path)
    try:
        options = flight.FlightCallOptions(timeout=1.0)
        with pytest.raises(flight.FlightTimedOutError):
            client.get_flight_info(descriptor(pb.CommandStatementQuery(query=ENDLESS)),
                                   options)
        assert idle(proc.pid), "the query went on after its caller had gone"
        assert query(client, "select 1 as x").column(0).to_pylist() == [1]
    finally:
        client.close()
        stop(proc)
