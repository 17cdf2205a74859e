"""A plan that never ends (Acero sometimes never ends a plan stopped by an error raised inside
it) must not hang the query reading it: ``executor/watch.py`` reads each plan on a pump
thread, so the query stops at once when asked, sees a stuck plan and runs it again on one
thread, which reports the real error."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import ExecutionError, QueryCancelled
from kodiak_flight.sql.executor import core, watch
from kodiak_flight.sql.interrupt import Interrupt


class StuckPlan:
    """Stands for a plan's reader that never hands its next batch (until ``release``)."""

    def __init__(self, first: int = 0, schema: pa.Schema | None = None) -> None:
        self.schema = schema or pa.schema([("x", pa.int64())])
        self.release = threading.Event()
        self.first = first  # batches handed before it gets stuck
        self.closed = False

    def read_next_batch(self) -> pa.RecordBatch:
        if self.first:
            self.first -= 1
            return pa.record_batch([pa.array([1])], schema=self.schema)
        self.release.wait(60)
        raise StopIteration

    def close(self) -> None:
        self.closed = True


def test_a_plan_that_never_ends_is_seen_to_stall(monkeypatch):
    monkeypatch.setattr(watch, "STALL_SECONDS", 0.5)
    plan = StuckPlan()
    t0 = time.monotonic()
    with pytest.raises(watch.PlanStalled, match="stopped making progress"):
        list(watch.watched(plan, None))
    assert time.monotonic() - t0 < 5
    plan.release.set()  # the pump then ends and closes the reader
    deadline = time.monotonic() + 5
    while not plan.closed:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_busy_process_is_not_a_stall(monkeypatch):
    """A plan that is slow while the process computes is waited for."""
    monkeypatch.setattr(watch, "STALL_SECONDS", 0.3)
    plan = StuckPlan()

    def busy() -> None:  # the plan's work, standing in for Acero's threads
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            sum(range(1000))
        plan.release.set()

    threading.Thread(target=busy, daemon=True).start()
    assert list(watch.watched(plan, None)) == []


def test_a_cancel_stops_the_query_whatever_the_plan_does():
    """The plan never ends and the process is idle: the stop leaves it behind in about
    ``IDLE_WINDOW`` rather than ``STOP_WAIT_SECONDS``."""
    plan = StuckPlan(first=1)
    interrupt = Interrupt()
    got = watch.watched(plan, interrupt)
    assert next(got).num_rows == 1
    threading.Timer(0.2, interrupt.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(QueryCancelled):
        next(got)
    assert time.monotonic() - t0 < watch.STOP_WAIT_SECONDS / 2
    plan.release.set()


def test_a_reader_stopped_early_is_closed():
    plan = StuckPlan(first=3)
    got = watch.watched(plan, None)
    assert next(got).num_rows == 1
    plan.release.set()
    got.close()  # a LIMIT satisfied, a client gone
    assert plan.closed


@pytest.fixture
def session(tmp_path):
    db = engine.Database.open(str(tmp_path))
    s = Session(db)
    s.execute("create table t (a int)")
    s.execute("insert into t values (1), (3), (4)")
    yield s
    db.close()


def stalling_once(monkeypatch) -> list[bool]:
    """``stream`` giving a stuck plan on Acero's thread pool (as the fault does), a real
    one on one thread; the list records the ``threads`` of each call."""
    calls: list[bool] = []
    real = core.stream

    def fake(decl, threads=True):
        calls.append(threads)
        r = real(decl, False)
        if threads:
            schema = r.schema
            r.close()
            return StuckPlan(schema=schema)
        return r

    monkeypatch.setattr(core, "stream", fake)
    monkeypatch.setattr(watch, "STALL_SECONDS", 0.3)
    return calls


@pytest.mark.parametrize("sql, expected", [
    ("select a from t where 'hello' in (select a from t)",
     "could not convert string 'hello' to INTEGER"),
    ("select a // (a - 3) from t where a > 0", "division by zero"),
])
def test_a_stalled_query_reports_its_real_error(session, monkeypatch, sql, expected):
    calls = stalling_once(monkeypatch)
    with pytest.raises(ExecutionError, match=expected):
        r = session.execute(sql)
        r.table if r.table is not None else r.reader.read_all()
    assert calls and calls[0] and not calls[-1]


def test_a_stalled_query_gives_its_rows(session, monkeypatch):
    calls = stalling_once(monkeypatch)
    r = session.execute("select a, count(*) as n from t join t u using (a) group by a")
    got = r.table if r.table is not None else r.reader.read_all()
    assert sorted(got.column("a").to_pylist()) == [1, 3, 4]
    assert calls and calls[0] and not calls[-1]
