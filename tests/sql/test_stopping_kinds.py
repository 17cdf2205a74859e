"""Stopping a running query of every kind: a join, a sort, an aggregation, a window function
and a recursive CTE, each cancelled mid-run through its ``Interrupt``, return within a
generous bound and leave the process's CPU idle (their scans end long before their work
does, so each relies on the check points between steps, ``executor/checked.py``)."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import QueryCancelled, QueryTimedOut
from kodiak_flight.sql.interrupt import Interrupt

N = 60_000  # a join of 72 million pairs: many seconds of work, a small table
SLOW_JOIN = "from t a join t b on a.g = b.g where a.v || b.v like '%1234%5%'"
KINDS = {
    "join": f"select a.k, b.k {SLOW_JOIN}",
    "sort": f"select a.k, b.k {SLOW_JOIN} order by a.v || b.v",
    "aggregation": f"select a.g, count(distinct b.v) {SLOW_JOIN} group by a.g",
    "window": f"select a.k, row_number() over (partition by a.g order by b.v) {SLOW_JOIN}",
    "recursive CTE": "with recursive r(n) as (select 1 union all select n + 1 from r "
                     "where n < 90000) select count(*) from r",
}
BOUND = 5.0  # seconds from the request to the call's return (the goal is under 1 s)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    db = engine.Database.open(str(tmp_path_factory.mktemp("stop")))
    s = Session(db)
    s.execute("create table t (k bigint, g bigint, v varchar)")
    db.insert("t", pa.table({"k": pa.array(range(N), pa.int64()),
                             "g": pa.array([i % 50 for i in range(N)], pa.int64()),
                             "v": pa.array([f"v{(i * 7919) % N}" for i in range(N)])}))
    db.checkpoint()
    yield s
    db.close()


def started(s: Session, sql: str, interrupt: Interrupt) -> tuple[threading.Thread, dict]:
    """``sql`` running (and its result read) in a thread; what it ended with goes in the dict."""
    box: dict = {}

    def run() -> None:
        try:
            r = s.execute(sql, interrupt=interrupt)
            box["rows"] = (r.table if r.table is not None else r.reader.read_all()).num_rows
        except Exception as e:  # noqa: BLE001 - the test looks at it
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def idle(within: float = 5.0, window: float = 0.5) -> bool:
    """Whether this process uses under half a core over some ``window`` in ``within``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = time.process_time()
        time.sleep(window)
        if time.process_time() - before < 0.5 * window:
            return True
    return False


def stopped_within(t: threading.Thread, interrupt: Interrupt) -> float:
    """Seconds from the cancel to the call's return."""
    t.join(0.5)
    assert t.is_alive(), "the query finished before it could be stopped (make it slower)"
    t0 = time.monotonic()
    interrupt.cancel()
    t.join(BOUND)
    assert not t.is_alive(), f"the query did not stop within {BOUND} s"
    return time.monotonic() - t0


@pytest.mark.parametrize("kind", list(KINDS))
def test_cancel_stops_each_kind(session, kind):
    interrupt = Interrupt()
    t, box = started(session, KINDS[kind], interrupt)
    assert stopped_within(t, interrupt) < BOUND
    assert isinstance(box.get("error"), QueryCancelled), box
    assert idle(), f"the {kind} kept the CPU busy after it was cancelled"
    # the session goes on
    assert session.execute("select count(*) from t").table.column(0).to_pylist() == [N]


@pytest.mark.parametrize("kind", ["aggregation", "recursive CTE"])
def test_a_deadline_stops_work_that_has_no_scan_left(session, kind):
    interrupt = Interrupt(time.monotonic() + 0.5, 0.5)
    t0 = time.monotonic()
    t, box = started(session, KINDS[kind], interrupt)
    t.join(BOUND + 0.5)
    assert not t.is_alive() and time.monotonic() - t0 < BOUND + 0.5
    assert isinstance(box.get("error"), QueryTimedOut), box
    assert idle()


@pytest.mark.parametrize("order", ["v desc, k", "g, v", "k desc", "w"])
def test_a_large_sort_in_ranges_gives_the_same_order(tmp_path, order):
    """Sorts of more than ``SORT_RANGE_ROWS`` run one range of the first key at a time (to
    stop between ranges); the order, ties and stability included, is the full sort's."""
    from kodiak_flight.sql.executor.sort_limit import SORT_RANGE_ROWS

    n = SORT_RANGE_ROWS + 50_000
    db = engine.Database.open(str(tmp_path))
    s = Session(db)
    s.execute("create table big (k bigint, g bigint, v varchar, w double)")
    data = pa.table({"k": pa.array(range(n), pa.int64()),
                     "g": pa.array([(i * 31) % 7 for i in range(n)], pa.int64()),
                     "v": pa.array([f"v{(i * 7919) % 1000}" for i in range(n)]),
                     "w": pa.array([float((i * 13) % 101) for i in range(n)])})
    db.insert("big", data)
    try:
        got = s.execute(f"select k from big order by {order}").table.column("k")
        keys = [(c.split()[0], "descending" if c.endswith("desc") else "ascending")
                for c in order.split(", ")]
        want = data.take(pc.sort_indices(data, sort_keys=keys)).column("k")
        assert got.to_pylist() == want.to_pylist()
        # a window's ordering goes the same way
        ranked = s.execute(f"select k, row_number() over (order by {order}) as r from big "
                           "order by r").table.column("k")
        assert ranked.to_pylist() == want.to_pylist()
    finally:
        db.close()


def test_the_check_in_a_filter_keeps_every_batch(session):
    session.execute("create table many (x bigint)")
    session.db.insert("many", pa.table({"x": pa.array(range(100_000), pa.int64())}))
    got = session.execute("select count(*) as n from many a join many b on a.x = b.x "
                          "where a.x % 3 <> b.x % 7").reader.read_all().to_pylist()
    assert got == [{"n": sum(1 for x in range(100_000) if x % 3 != x % 7)}]
