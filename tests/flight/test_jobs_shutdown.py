"""Server shutdown stops the database's background jobs and records them as cancelled."""

from __future__ import annotations

import time
from typing import Any

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.interrupt import Interrupt
from kodiak_flight.sql.pl.jobs import jobs_for

from .conftest import running


def test_shutdown_cancels_running_jobs(tmp_path: Any) -> None:
    db = engine.Database.open(str(tmp_path / "db"))
    try:
        s = Session(db)
        s.execute("create table keep as select range as a from range(1000)")

        def endless(interrupt: Interrupt) -> Any:
            return Session(db).execute("select count(*) from keep, keep k2, keep k3, keep k4",
                                       interrupt=interrupt).reader.read_all()
        with running(db):
            jid = jobs_for(db).submit(None, "endless", endless)
            end = time.monotonic() + 10
            while jobs_for(db).get(jid).state != "running":
                assert time.monotonic() < end
                time.sleep(0.02)
        job = jobs_for(db).get(jid)
        assert job.state == "cancelled" and "server stopped while it ran" in (job.error or "")
        assert db.snapshot().object("job", "main", jid).definition["state"] == "cancelled"
        s.close()
    finally:
        db.close()
