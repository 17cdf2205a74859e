"""Background jobs (``pl/jobs.py``): submit, AWAIT, CANCEL JOB, the kodiak_jobs view, the
bounds, rights, and what a restart and a server shutdown leave of a job."""

from __future__ import annotations

import threading
import time
from typing import Any

import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import BindError, Session
from kodiak_flight.sql.errors import AccessDenied, ExecutionError, QueryCancelled, QueryTimedOut
from kodiak_flight.sql.interrupt import Interrupt
from kodiak_flight.sql.pl.jobs import LOST_REASON, Jobs, jobs_for, stop_jobs

ENDLESS = "select count(*) from keep, keep k2, keep k3, keep k4"


@pytest.fixture
def s(db: Any) -> Session:
    s = Session(db)
    s.execute("create table keep as select range as a from range(1000)")
    yield s
    s.close()


def sql_work(db: Any, sql: str) -> Any:
    """A job's work: ``sql`` run through a new Session on ``db`` with the job's interrupt."""
    def work(interrupt: Interrupt) -> pa.Table | None:
        w = Session(db)
        try:
            result = w.execute(sql, interrupt=interrupt)
            return result.reader.read_all() if result.reader is not None else None
        finally:
            w.close()
    return work


def rows(s: Session, sql: str) -> list[dict[str, Any]]:
    return s.execute(sql).reader.read_all().to_pylist()


def job_row(s: Session, job_id: str) -> dict[str, Any]:
    found = [r for r in rows(s, "from kodiak_jobs") if r["job_id"] == job_id]
    assert len(found) == 1
    return found[0]


def wait_state(s: Session, job_id: str, state: str, seconds: float = 10) -> dict[str, Any]:
    end = time.monotonic() + seconds
    while (row := job_row(s, job_id))["state"] != state:
        assert time.monotonic() < end, row
        time.sleep(0.02)
    return row


def test_await_returns_the_jobs_rows(db: Any, s: Session) -> None:
    jobs = jobs_for(db)
    jid = jobs.submit(None, "sum of keep", sql_work(db, "select sum(a) as total from keep"))
    assert rows(s, f"await '{jid}'") == [{"total": 499500}]
    row = job_row(s, jid)
    assert row["state"] == "done" and row["label"] == "sum of keep"
    assert row["result_rows"] == 1 and row["error"] is None
    assert row["submitted"] <= row["started"] <= row["finished"]
    # the job wrote through its own session: its writes are there for everyone
    jid = jobs.submit(None, "copy", sql_work(db, "create table copied as from keep where a < 3"))
    assert rows(s, f"await '{jid}'") == []
    assert rows(s, "select count(*) as n from copied") == [{"n": 3}]
    # a parameter names the job too
    assert s.execute("await ?", pa.record_batch([pa.array([jid])], ["id"])).table.num_rows == 0


def test_failed_job_raises_its_own_error(db: Any, s: Session) -> None:
    jid = jobs_for(db).submit(None, "bad", sql_work(db, "select nope from keep"))
    with pytest.raises(BindError, match="nope"):
        s.execute(f"await '{jid}'")
    row = job_row(s, jid)
    assert row["state"] == "failed" and "nope" in row["error"]
    assert "Traceback" not in row["error"]


def test_python_failure_is_not_shown_as_python_text(db: Any, s: Session) -> None:
    def broken(_: Interrupt) -> pa.Table:
        raise KeyError("internal detail")
    jid = jobs_for(db).submit(None, "broken", broken)
    with pytest.raises(ExecutionError, match="internal error"):
        s.execute(f"await '{jid}'")
    assert "internal detail" not in job_row(s, jid)["error"]


def test_cancel_job_stops_a_slow_job(db: Any, s: Session) -> None:
    jid = jobs_for(db).submit(None, "endless", sql_work(db, ENDLESS))
    wait_state(s, jid, "running")
    s.execute(f"cancel job '{jid}'")
    row = wait_state(s, jid, "cancelled")
    assert "cancelled by its owner" in row["error"] and row["finished"] is not None
    with pytest.raises(ExecutionError, match="was cancelled"):
        s.execute(f"await '{jid}'")
    with pytest.raises(ExecutionError, match="already ended"):
        s.execute(f"cancel job '{jid}'")


def test_queued_job_waits_for_a_worker_and_cancels_at_once(db: Any, s: Session) -> None:
    jobs = Jobs(db, workers=1)
    slow = jobs.submit(None, "slow", sql_work(db, ENDLESS))
    queued = jobs.submit(None, "next", sql_work(db, "select 1 as x"))
    time.sleep(0.2)
    assert jobs.get(queued).state == "queued"  # the one worker is busy
    jobs.cancel(queued)
    assert jobs.get(queued).state == "cancelled"
    jobs.cancel(slow)
    with pytest.raises(ExecutionError, match="cancelled"):
        jobs.wait(slow)
    after = jobs.submit(None, "after", sql_work(db, "select 2 as x"))
    assert jobs.wait(after).to_pylist() == [{"x": 2}]  # the worker goes on with the next


def test_await_is_stopped_by_the_sessions_timeout_not_the_job(db: Any, s: Session) -> None:
    jobs = jobs_for(db)
    jid = jobs.submit(None, "endless", sql_work(db, ENDLESS))
    with pytest.raises(QueryTimedOut):
        s.execute(f"await '{jid}'", interrupt=Interrupt(time.monotonic() + 0.2, 0.2))
    assert job_row(s, jid)["state"] in ("queued", "running")  # only the wait stopped
    jobs.cancel(jid)
    wait_state(s, jid, "cancelled")


def test_only_the_owner_waits_for_or_cancels_a_job(db: Any, s: Session) -> None:
    jobs = jobs_for(db)
    jid = jobs.submit("ann", "secret work", sql_work(db, ENDLESS))
    bob = Session(db, user="bob")
    try:
        with pytest.raises(AccessDenied, match="another user"):
            bob.execute(f"cancel job '{jid}'")
        with pytest.raises(AccessDenied, match="another user"):
            bob.execute(f"await '{jid}'")
        row = job_row(bob, jid)
        assert row["user_name"] == "ann" and row["label"] == "<insufficient privilege>"
    finally:
        bob.close()
    ann = Session(db, user="ann")
    try:
        ann.execute(f"cancel job '{jid}'")
    finally:
        ann.close()
    wait_state(s, jid, "cancelled")


def test_bad_job_ids(db: Any, s: Session) -> None:
    with pytest.raises(engine.errors.NotFound, match="no job 'nope'"):
        s.execute("await 'nope'")
    with pytest.raises(BindError, match="job id"):
        s.execute("cancel job 42")
    with pytest.raises(BindError, match="job id"):
        s.execute("await null")


def test_a_result_past_the_bound_fails_the_job_saying_so(db: Any, s: Session) -> None:
    jobs = Jobs(db, max_result_bytes=1000)
    jid = jobs.submit(None, "big", sql_work(db, "select a from keep"))
    with pytest.raises(ExecutionError, match="more than the 1,000 a job may keep"):
        jobs.wait(jid)
    assert jobs.get(jid).state == "failed"


def test_kept_results_and_jobs_are_bounded(db: Any, s: Session) -> None:
    jobs = Jobs(db, workers=1, max_result_total=10_000, max_kept=3)  # one worker: in order
    ids = [jobs.submit(None, f"j{i}", sql_work(db, "select a from keep")) for i in range(4)]
    assert jobs.wait(ids[3]).num_rows == 1000
    with pytest.raises(engine.errors.NotFound):  # the oldest ended job was forgotten
        jobs.get(ids[0])
    with pytest.raises(ExecutionError, match="no longer kept"):
        jobs.wait(ids[1])  # its result made room for newer ones (8 kB each, 10 kB kept)
    assert jobs.get(ids[1]).rows == 1000
    assert jobs.recorder.flush(10)
    assert ids[0] not in {o.name for o in db.snapshot().objects("job")}


def test_submit_inside_an_open_transaction_does_not_block(db: Any, s: Session) -> None:
    s.execute("begin")
    t0 = time.monotonic()
    jid = jobs_for(db).submit(None, "read", sql_work(db, "select count(*) as n from keep"))
    assert time.monotonic() - t0 < 1
    assert rows(s, f"await '{jid}'") == [{"n": 1000}]
    s.execute("commit")
    assert jobs_for(db).recorder.flush(10)
    assert db.snapshot().object("job", "main", jid).definition["state"] == "done"


def test_restart_shows_unfinished_jobs_as_lost(tmp_path: Any) -> None:
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    s = Session(db)
    s.execute("create table keep as select range as a from range(1000)")
    jobs = jobs_for(db)
    done = jobs.submit("ann", "quick", sql_work(db, "select 7 as x"))
    jobs.wait(done)
    running = jobs.submit("ann", "endless", sql_work(db, ENDLESS))
    wait_state(s, running, "running")
    assert jobs.recorder.flush(10)
    s.close()
    db.close()  # a crash as far as the job is concerned: nothing marked it
    try:  # stop its thread; reading a closed database may have ended it already
        jobs.cancel(running)
    except ExecutionError as e:
        assert "has already ended" in str(e)

    db = engine.Database.open(path)
    try:
        s = Session(db)
        lost, old = job_row(s, running), job_row(s, done)
        assert lost["state"] == "lost" and lost["error"] == LOST_REASON
        assert lost["label"] == "endless" and lost["user_name"] == "ann"
        assert old["state"] == "done" and old["result_rows"] == 1
        with pytest.raises(ExecutionError, match="before the server restarted"):
            s.execute(f"await '{done}'")
        with pytest.raises(ExecutionError, match="was lost"):
            s.execute(f"await '{running}'")
        assert jobs_for(db).recorder.flush(10)
        assert db.snapshot().object("job", "main", running).definition["state"] == "lost"
        s.close()
    finally:
        db.close()


def test_shutdown_cancels_running_and_queued_jobs_and_records_it(db: Any, s: Session
                                                                 ) -> None:
    jobs = Jobs(db, workers=1)
    running = jobs.submit(None, "endless", sql_work(db, ENDLESS))
    queued = jobs.submit(None, "next", sql_work(db, "select 1"))
    end = time.monotonic() + 10
    while jobs.get(running).state != "running":
        assert time.monotonic() < end
        time.sleep(0.02)
    jobs.shutdown(grace=5)
    assert jobs.get(running).state == "cancelled"
    assert "stopped while it ran" in (jobs.get(running).error or "")
    assert jobs.get(queued).state == "cancelled"
    assert "stopped before it started" in (jobs.get(queued).error or "")
    records = {o.name: o.definition for o in db.snapshot().objects("job")}
    assert records[running]["state"] == records[queued]["state"] == "cancelled"
    with pytest.raises(ExecutionError, match="stopping"):
        jobs.submit(None, "late", sql_work(db, "select 1"))


def test_stop_jobs_of_a_database_without_jobs_is_nothing(tmp_path: Any) -> None:
    db = engine.Database.open(str(tmp_path / "db"))
    try:
        stop_jobs(db)
    finally:
        db.close()


def test_job_records_cost_one_small_commit_each(db: Any, s: Session) -> None:
    """The record writes are small: a burst of jobs is written in few transactions."""
    jobs = Jobs(db, workers=2)
    before = db.snapshot().catalog_version
    ids = [jobs.submit(None, f"j{i}", sql_work(db, "select 1 as x")) for i in range(20)]
    for jid in ids:
        jobs.wait(jid)
    assert jobs.recorder.flush(10)
    assert len(db.snapshot().objects("job")) >= 20
    assert db.snapshot().catalog_version > before


def test_work_sees_its_interrupt(db: Any) -> None:
    seen = threading.Event()

    def work(interrupt: Interrupt) -> None:
        while not interrupt.cancelled:
            time.sleep(0.01)
        seen.set()
        raise QueryCancelled("stopped")
    jobs = Jobs(db)
    jid = jobs.submit(None, "polling", work)
    end = time.monotonic() + 10
    while jobs.get(jid).state != "running":
        assert time.monotonic() < end
        time.sleep(0.01)
    jobs.cancel(jid)
    assert seen.wait(5)
    with pytest.raises(ExecutionError, match="cancelled"):
        jobs.wait(jid)
