"""A stopped query gives its memory back, whichever way it was stopped.

Each way to stop a running cross join of 10^12 rows (KILL QUERY, the ``kodiak.cancel``
action, the query timeout, CancelFlightInfo, the client closing its stream or its call's
deadline passing, a satisfied LIMIT) is used twice in a server of its own, and the server's
Arrow pool must come back to where it started: a stopped plan once stayed alive for good
(4.7 MB a query), its error and a frame holding its reader forming a cycle through C++."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import pyarrow.flight as flight
import pytest

from kodiak_flight.proto import FlightCore_pb2 as core
from kodiak_flight.proto import FlightSql_pb2 as pb

from .helpers import descriptor, query, update
from .served import MiB, memory_returns, pool_bytes, served_alone

ENDLESS = "select count(*) from keep, keep k2, keep k3, keep k4"  # runs in GetFlightInfo
# streams, but no row ever passes the filter
ENDLESS_STREAM = ("select keep.a from keep, keep k2, keep k3, keep k4 "
                  "where keep.a + k2.a + k3.a + k4.a < 0")
TIMES = 2  # each way: a leak grows the pool by megabytes each time


def info_of(c: flight.FlightClient, sql: str) -> flight.FlightInfo:
    return c.get_flight_info(descriptor(pb.CommandStatementQuery(query=sql)))


def stopped_from_outside(uri: str, stop: Callable[[flight.FlightClient, int], None]) -> None:
    """Run the endless aggregate and stop it with ``stop(other connection, query id)``."""
    c, other = flight.connect(uri), flight.connect(uri)
    out: list[BaseException] = []

    def run() -> None:
        try:
            query(c, ENDLESS)
        except flight.FlightError as e:
            out.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    stop(other, running_id(other))
    t.join(20)
    assert isinstance(out[0], flight.FlightCancelledError), out
    c.close()
    other.close()


def running_id(c: flight.FlightClient) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = query(c, "select query_id, query from kodiak_queries "
                        "where state = 'running'").to_pylist()
        ids = [r["query_id"] for r in rows if "k4" in r["query"]]
        if ids:
            time.sleep(0.2)  # well into its work
            return ids[0]
        time.sleep(0.05)
    raise AssertionError("the endless query never showed in kodiak_queries")


def kill_query(uri: str) -> None:
    stopped_from_outside(uri, lambda c, qid: update(c, f"kill query {qid}"))


def cancel_action(uri: str) -> None:
    body = lambda qid: json.dumps({"query_id": qid}).encode()  # noqa: E731
    stopped_from_outside(uri, lambda c, qid: list(
        c.do_action(flight.Action("kodiak.cancel", body(qid)))))


def query_timeout(uri: str) -> None:
    c = flight.connect(uri)
    update(c, "set query_timeout = '500ms'")
    with pytest.raises(flight.FlightTimedOutError, match="time limit"):
        query(c, ENDLESS)
    c.close()


def client_deadline(uri: str) -> None:
    c = flight.connect(uri)
    with pytest.raises(flight.FlightTimedOutError):
        c.get_flight_info(descriptor(pb.CommandStatementQuery(query=ENDLESS)),
                          flight.FlightCallOptions(timeout=0.5))
    c.close()


def cancel_flight_info(uri: str) -> None:
    c = flight.connect(uri)
    info = info_of(c, ENDLESS_STREAM)
    body = core.CancelFlightInfoRequest(info=info.serialize()).SerializeToString()
    timer = threading.Timer(0.5, lambda: list(c.do_action(flight.Action("CancelFlightInfo",
                                                                         body))))
    timer.start()
    with pytest.raises(flight.FlightCancelledError):
        for _ in c.do_get(info.endpoints[0].ticket):
            pass
    timer.join()
    c.close()


def stream_closed(uri: str) -> None:
    c = flight.connect(uri)
    reader = c.do_get(info_of(c, "select * from keep, keep k2, keep k3").endpoints[0].ticket)
    assert reader.read_chunk().data.num_rows > 0
    reader.cancel()
    c.close()


def limit_met(uri: str) -> None:
    c = flight.connect(uri)
    assert query(c, "select * from keep, keep k2, keep k3, keep k4 limit 1").num_rows == 1
    c.close()


WAYS = [kill_query, cancel_action, query_timeout, client_deadline, cancel_flight_info,
        stream_closed, limit_met]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A server of its own (Flight URI, metrics port) holding the 1,000-row table ``keep``."""
    with served_alone(tmp_path_factory.mktemp("stopped") / "data") as (uri, metrics):
        c = flight.connect(uri)
        update(c, "create table keep (a bigint)")
        update(c, "insert into keep select range from range(1000)")
        c.close()
        limit_met(uri)  # the pool's first allocations (kernels, buffers kept for reuse)
        yield uri, metrics


@pytest.mark.parametrize("way", WAYS, ids=[w.__name__ for w in WAYS])
def test_a_stopped_query_gives_its_memory_back(server, way):
    uri, metrics = server
    before = pool_bytes(metrics)
    for _ in range(TIMES):
        way(uri)
    assert memory_returns(metrics, before), \
        f"{(pool_bytes(metrics) - before) / MiB:.1f} MiB kept after {TIMES} stops"
    c = flight.connect(uri)
    assert query(c, "select 1 as x").column(0).to_pylist() == [1]
    c.close()
