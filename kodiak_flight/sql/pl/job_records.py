"""The durable record of each background job: an engine object of kind ``job``.

A job's record (who, what, its state and times, its error, its result's row count; never its
result) is written when it is submitted and when it ends, so that after a restart a job that
was queued or running is shown as ``lost`` rather than vanishing. The writes go through one
:class:`Recorder` thread per database, each batch of pending records in one small
transaction of its own: a caller submitting a job may hold the database's writer lock (an
open ``BEGIN``), so it must not wait for that lock itself, and a burst of jobs costs one
commit rather than one per record.

Each record write is a catalog change: it moves ``catalog_version``, so prepared statements
plan again and the result cache misses once after each batch of job records. Jobs are few
and long, so this is cheap next to their work; it is why results are not stored here.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from engine import errors as engine_errors

from ..catalog.kinds import ObjectKind, register

log = logging.getLogger(__name__)

JOB = register(ObjectKind("job", "job"))
RECORD_SCHEMA = "main"  # where job records live (every database has it; it cannot be dropped)
RETRY_SECONDS = 0.2  # after the writer lock was busy


def stored(snap: Any) -> list[dict[str, Any]]:
    """The job records in ``snap``."""
    return [o.definition for o in snap.objects(JOB.name, RECORD_SCHEMA)]


class Recorder:
    """Writes job records (and drops forgotten ones) on a thread of its own, in order."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self._cond = threading.Condition()
        self._pending: dict[str, dict[str, Any] | None] = {}  # id -> record, None: drop
        self._busy = False
        self._thread: threading.Thread | None = None

    def put(self, record: dict[str, Any]) -> None:
        self._enqueue(record["id"], dict(record))

    def drop(self, job_id: str) -> None:
        self._enqueue(job_id, None)

    def _enqueue(self, job_id: str, record: dict[str, Any] | None) -> None:
        with self._cond:
            self._pending.pop(job_id, None)  # keep the order of the latest change
            self._pending[job_id] = record
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kodiak-job-records",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every pending record is written; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending))
                batch, self._pending, self._busy = self._pending, {}, True
            ok = self._write(batch)
            with self._cond:
                if not ok:  # put back what no newer change replaced, then try again
                    self._pending = {**batch, **self._pending}
                self._busy = False
                self._cond.notify_all()
            if not ok:
                threading.Event().wait(RETRY_SECONDS)

    def _write(self, batch: dict[str, dict[str, Any] | None]) -> bool:
        """Write ``batch`` in one transaction; False to retry (the writer lock was busy)."""
        try:
            with self.db.begin(timeout=RETRY_SECONDS) as tx:
                for job_id, record in batch.items():
                    if record is None:
                        tx.drop_object(JOB.name, RECORD_SCHEMA, job_id, if_exists=True)
                    else:
                        tx.create_object(JOB.name, RECORD_SCHEMA, job_id, record,
                                         replace=True)
        except engine_errors.ConflictError:
            return False
        except Exception:  # a closed database: the records are lost with it
            log.warning("could not record %d job(s)", len(batch), exc_info=True)
        return True
