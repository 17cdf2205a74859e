"""Health checks, Prometheus metrics and query ids of a real server on loopback.

The gRPC health service (its own port), ``/healthz`` and ``/metrics`` (the metrics port) and
the ``kodiak.health`` action, scraped and asked over the wire; query ids in log lines and in
the errors clients see.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import grpc
import pyarrow as pa
import pyarrow.flight as flight
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kodiak_flight.logs import JsonFormatter, QueryIdFilter, TextFormatter
from kodiak_flight.proto import FlightSql_pb2 as pb
from kodiak_flight.server.observe import statement_kind

from .conftest import running
from .helpers import action, descriptor, query, update


def scrape(port: int, path: str = "/metrics") -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = ",".join(sorted(p for p in (m.group(2) or "").split(",") if p))
            if got == want:
                return float(m.group(3))
    return 0.0


def grpc_health(port: int, service: str = "") -> int:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


@pytest.fixture(scope="module")
def monitored(db):
    with running(db, health_port=0, metrics_port=0) as server:
        yield server


@pytest.fixture(scope="module")
def client(monitored):
    c = flight.connect(f"grpc://127.0.0.1:{monitored.port}")
    yield c
    c.close()


def test_side_ports_are_off_by_default(server):
    assert server.ops.health_port is None and server.ops.metrics_port is None


def test_grpc_health_check_answers_serving(monitored):
    serving = health_pb2.HealthCheckResponse.SERVING
    assert grpc_health(monitored.ops.health_port) == serving
    assert grpc_health(monitored.ops.health_port, "arrow.flight.protocol.FlightService") \
        == serving
    with pytest.raises(grpc.RpcError) as e:
        grpc_health(monitored.ops.health_port, "no.such.Service")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_healthz_and_the_health_action(monitored, client):
    assert scrape(monitored.ops.metrics_port, "/healthz") == (200, "ok\n")
    assert scrape(monitored.ops.metrics_port, "/nothing")[0] == 404
    (raw,) = action(client, "kodiak.health")
    assert json.loads(raw)["status"] == "SERVING"
    assert "kodiak.health" in [a.type for a in client.list_actions()]


def test_metrics_count_queries_rows_commits_and_sessions(monitored, client, name):
    before = scrape(monitored.ops.metrics_port)[1]
    update(client, f"create table {name} (k bigint primary key, v varchar)")
    update(client, f"insert into {name} values " + ",".join(f"({i}, 'x{i}')" for i in range(50)))
    assert query(client, f"select * from {name} where k < 40").num_rows == 40
    with pytest.raises(pa.ArrowNotImplementedError):
        query(client, "selec nonsense")
    monitored.db.checkpoint()
    status, text = scrape(monitored.ops.metrics_port)
    assert status == 200

    def grew(metric: str, **labels: str) -> float:
        return sample(text, metric, **labels) - sample(before, metric, **labels)

    assert grew("kodiak_queries_total", kind="create", outcome="ok") == 1
    assert grew("kodiak_queries_total", kind="insert", outcome="ok") == 1
    assert grew("kodiak_queries_total", kind="select", outcome="ok") == 1
    assert grew("kodiak_queries_total", kind="other", outcome="error") == 1
    assert grew("kodiak_query_duration_seconds_count", kind="select") == 1
    assert grew("kodiak_rows_streamed_total") >= 40
    assert grew("kodiak_bytes_streamed_total") > 0
    assert grew("kodiak_commits_total") >= 2
    assert grew("kodiak_wal_fsync_seconds_count") >= 2
    assert grew("kodiak_checkpoint_seconds_count") == 1
    assert sample(text, "kodiak_active_sessions") >= 1
    assert sample(text, "kodiak_active_queries") == 0
    assert "\nkodiak_memory_allocated_bytes " in text
    assert sample(text, "kodiak_serving") == 1
    for metric in ("kodiak_result_cache_hits_total", "kodiak_result_cache_misses_total"):
        assert sample(text, metric) == 0  # exported (zero) without a cache


def test_result_cache_counts(db):
    with running(db, metrics_port=0, result_cache_bytes=1 << 20) as server:
        client = flight.connect(f"grpc://127.0.0.1:{server.port}")
        update(client, "create table if not exists cached_m (a bigint)")
        update(client, "insert into cached_m values (1), (2)")
        for _ in range(3):
            assert query(client, "select sum(a) as s from cached_m").column(0).to_pylist() == [3]
        text = scrape(server.ops.metrics_port)[1]
        assert sample(text, "kodiak_result_cache_hits_total") == 2
        assert sample(text, "kodiak_result_cache_misses_total") >= 1
        assert sample(text, "kodiak_result_cache_entries") >= 1
        assert sample(text, "kodiak_result_cache_bytes") > 0
        client.close()


def test_servers_in_one_process_count_apart(db, monitored):
    ok_selects = {"kind": "select", "outcome": "ok"}
    mine_before = sample(scrape(monitored.ops.metrics_port)[1], "kodiak_queries_total",
                         **ok_selects)
    with running(db, metrics_port=0) as other:
        c = flight.connect(f"grpc://127.0.0.1:{other.port}")
        query(c, "select 1 as one")
        c.close()
        mine = scrape(monitored.ops.metrics_port)[1]
        theirs = scrape(other.ops.metrics_port)[1]
    assert sample(theirs, "kodiak_queries_total", **ok_selects) == 1
    assert sample(mine, "kodiak_queries_total", **ok_selects) == mine_before


def test_errors_name_the_query_id_and_its_log_lines_carry_it(monitored, client, caplog):
    caplog.set_level(logging.DEBUG, logger="kodiak.query")
    with pytest.raises(pa.ArrowException) as e:
        query(client, "select * from no_such_table_here")
    m = re.search(r"\(query id ([0-9a-f]{16})\)", str(e.value))
    assert m, str(e.value)
    qid = m.group(1)
    mine = [r for r in caplog.records if getattr(r, "query_id", None) == qid]
    assert mine and any("no_such_table_here" in r.getMessage() for r in mine), \
        [r.__dict__ for r in caplog.records]
    # an update's error too
    with pytest.raises(pa.ArrowException) as e:
        update(client, "insert into no_such_table_here values (1)")
    assert re.search(r"\(query id [0-9a-f]{16}\)", str(e.value))


def test_a_query_stopped_while_streaming_names_its_id(db):
    with running(db, query_timeout=0.3, metrics_port=0) as server:
        c = flight.connect(f"grpc://127.0.0.1:{server.port}")
        update(c, "create table if not exists hm_keep (a bigint)")
        update(c, "delete from hm_keep")
        update(c, "insert into hm_keep values " + ",".join(f"({i})" for i in range(300)))
        sql = ("select x.a from hm_keep x, hm_keep y, hm_keep z "
               "where x.a + y.a + z.a < 0")
        info = c.get_flight_info(descriptor(pb.CommandStatementQuery(query=sql)))
        with pytest.raises(flight.FlightTimedOutError) as e:
            c.do_get(info.endpoints[0].ticket).read_all()
        assert re.search(r"\(query id [0-9a-f]{16}\)", str(e.value)), str(e.value)
        c.close()
        text = scrape(server.ops.metrics_port)[1]
    assert sample(text, "kodiak_queries_total", kind="select", outcome="timeout") == 1


def test_draining_answers_not_serving(db):
    server_cm = running(db, health_port=0, metrics_port=0)
    server = server_cm.__enter__()
    try:
        health_port, metrics_port = server.ops.health_port, server.ops.metrics_port
        server.begin_drain()
        assert grpc_health(health_port) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert scrape(metrics_port, "/healthz") == (503, "draining\n")
        assert sample(scrape(metrics_port)[1], "kodiak_serving") == 0
        c = flight.connect(f"grpc://127.0.0.1:{server.port}")
        (raw,) = action(c, "kodiak.health")
        assert json.loads(raw)["status"] == "NOT_SERVING"
        c.close()
    finally:
        server_cm.__exit__(None, None, None)
    with pytest.raises(urllib.error.URLError):  # stopped with the server
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/healthz", timeout=2)


def test_statement_kinds():
    assert statement_kind("  -- hi\n/* x */ SELECT 1") == "select"
    assert statement_kind("with t as (select 1) select * from t") == "select"
    assert statement_kind("(select 1)") == "select"
    assert statement_kind("INSERT into t values (1)") == "insert"
    assert statement_kind("frobnicate") == "other"
    assert statement_kind("") == "other"


def test_log_formats_carry_the_query_id():
    record = logging.LogRecord("kodiak.query", logging.ERROR, __file__, 1, "boom %s", ("x",),
                               None)
    record.query_id = "00ff00ff00ff00ff"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "boom x" and line["query_id"] == "00ff00ff00ff00ff"
    assert line["level"] == "error" and line["logger"] == "kodiak.query"
    assert TextFormatter().format(record).endswith("boom x [query 00ff00ff00ff00ff]")
    plain = logging.LogRecord("kodiak", logging.INFO, __file__, 1, "hello", (), None)
    QueryIdFilter().filter(plain)
    assert "query_id" not in json.loads(JsonFormatter().format(plain))


def test_kodiak_serve_with_json_logs_metrics_and_health_ports(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "kodiak_flight.cli", "serve", "--port", "0",
         "--data-dir", str(tmp_path / "d"), "--metrics-port", "0", "--health-port", "0",
         "--log-format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        uri = proc.stdout.readline().strip()
        assert uri.startswith("grpc://"), proc.stderr.read()
        lines = []
        ports: dict[str, int] = {}
        while len(ports) < 2:
            lines.append(json.loads(proc.stderr.readline()))
            m = re.search(r"(metrics|gRPC health checks) on port (\d+)", lines[-1]["message"])
            if m:
                ports[m.group(1)] = int(m.group(2))
        assert grpc_health(ports["gRPC health checks"]) == health_pb2.HealthCheckResponse.SERVING
        c = flight.connect(uri)
        with pytest.raises(pa.ArrowException) as e:
            query(c, "select * from nope")
        c.close()
        qid = re.search(r"\(query id ([0-9a-f]{16})\)", str(e.value)).group(1)
        assert sample(scrape(ports["metrics"])[1], "kodiak_queries_total", kind="select",
                      outcome="error") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines += [json.loads(line) for line in err.splitlines()]  # every line is JSON
    assert any(line.get("query_id") == qid and "nope" in line["message"] for line in lines)
