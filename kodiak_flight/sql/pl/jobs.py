"""Background jobs: work that runs on a bounded pool of worker threads while its caller
goes on, with a state anyone can read (``kodiak_jobs``), a result its owner can wait for
(``AWAIT``) and a cancel (``CANCEL JOB``).

One :class:`Jobs` registry per database (:func:`jobs_for`, like ``activity_for``). A job is
``work(interrupt)``, a callable returning an Arrow table (or a reader, or None for no rows);
it runs with an :class:`~..interrupt.Interrupt` of its own that ``CANCEL JOB`` and server
shutdown set, and that the SQL it runs should be given. States: ``queued`` (waiting for a
worker), ``running``, then one of ``done``, ``failed``, ``cancelled``, ``lost`` (it was queued
or running when the server stopped: found so on the next start).

Bounds: ``max_result_bytes`` per job (a larger result makes the job *fail* with an error that
says so: nothing is silently cut), ``max_result_total`` over all kept results (past it the
oldest ended jobs' results are let go, and AWAIT on them says so), ``max_kept`` ended jobs
remembered (older ones are forgotten, also from the catalog). Results are held in memory
only: after a restart a job's record survives (``job_records``), its result does not.

Rights as for queries (``activity``): a caller with a user name may wait for and cancel only
its own user's jobs; one without (embedded, a server without authentication) any.
"""

from __future__ import annotations

import copy
import logging
import secrets
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from engine import errors as engine_errors

from ..activity import shown_text
from ..errors import AccessDenied, ExecutionError, QueryCancelled, QueryTimedOut, SqlError
from ..interrupt import Interrupt
from .job_records import Recorder, stored

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED, LOST, TIMED_OUT = (
    "queued", "running", "done", "failed", "cancelled", "lost", "timed_out")
ENDED = frozenset({DONE, FAILED, CANCELLED, LOST, TIMED_OUT})

DEFAULT_WORKERS = 2
MAX_RESULT_BYTES = 64 << 20
MAX_RESULT_TOTAL = 256 << 20
MAX_KEPT = 500
WAIT_STEP = 0.05  # how often a waiting AWAIT looks at its own interrupt

LOST_REASON = "the server stopped before it finished"
CANCELLED_BY_OWNER = "cancelled by its owner"
STOPPED_QUEUED = "the server stopped before it started"
STOPPED_RUNNING = "the server stopped while it ran"

Work = Callable[[Interrupt], "pa.Table | pa.RecordBatchReader | None"]


class Job:
    """One job as the view shows it, with what its owner may wait for."""

    def __init__(self, job_id: str, user: str | None, label: str, work: Work | None) -> None:
        self.id = job_id
        self.user = user
        self.label = label
        self.work = work
        self.state = QUEUED
        self.submitted = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.error: str | None = None
        self.exception: SqlError | None = None  # what AWAIT raises for a failed job
        self.rows: int | None = None
        self.result: pa.Table | None = None
        self.restored = False  # read from the record of an earlier run (no result)
        self.stop_reason = CANCELLED_BY_OWNER
        self.interrupt = Interrupt()
        self.timeout: float | None = None  # seconds it may run once started
        self.ended = threading.Event()

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.user, "label": self.label, "state": self.state,
                "submitted": self.submitted, "started": self.started,
                "finished": self.finished, "error": self.error, "rows": self.rows}

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> Job:
        job = cls(d["id"], d.get("user"), d.get("label") or "", None)
        job.state, job.submitted = d.get("state") or LOST, d.get("submitted") or 0.0
        job.started, job.finished = d.get("started"), d.get("finished")
        job.error, job.rows = d.get("error"), d.get("rows")
        job.restored = True
        if job.state not in ENDED:  # it was queued or running when the server stopped
            job.state, job.error = LOST, LOST_REASON
        job.ended.set()
        return job


class Jobs:
    """The background jobs of one database (thread-safe)."""

    def __init__(self, db: Any, workers: int = DEFAULT_WORKERS, *,
                 max_result_bytes: int = MAX_RESULT_BYTES,
                 max_result_total: int = MAX_RESULT_TOTAL, max_kept: int = MAX_KEPT,
                 timeout: float | None = None) -> None:
        self.workers = workers
        self.timeout = timeout  # seconds a job may run (from its start); None: no limit
        self.max_result_bytes = max_result_bytes
        self.max_result_total = max_result_total
        self.max_kept = max_kept
        self.lock = threading.Condition()
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: deque[Job] = deque()
        self._threads = 0
        self._stopping = False
        self.recorder = Recorder(db)
        self._load(db)

    def _load(self, db: Any) -> None:
        """Jobs recorded by earlier runs; those that had not ended are now ``lost``."""
        records = sorted(stored(db.snapshot()), key=lambda d: d.get("submitted") or 0.0)
        for d in records:
            job = Job.from_record(d)
            self.jobs[job.id] = job
            if job.state != d.get("state"):
                self.recorder.put(job.record())

    # -- submitting and running -------------------------------------------------------------

    def submit(self, user: str | None, label: str, work: Work, *,
               timeout: float | None = None) -> str:
        """Queue ``work`` as a job of ``user`` shown as ``label``; its id. ``timeout``
        (seconds, e.g. the session's ``SET job_timeout``) may only shorten the pool's."""
        job = Job(secrets.token_hex(8), user, shown_text(label), work)
        job.timeout = min((t for t in (timeout, self.timeout) if t is not None), default=None)
        with self.lock:
            if self._stopping:
                raise ExecutionError("the server is stopping; it takes no new jobs")
            self.jobs[job.id] = job
            self._queue.append(job)
            if self._threads < max(1, self.workers):
                self._threads += 1
                threading.Thread(target=self._worker, name=f"kodiak-job-{self._threads}",
                                 daemon=True).start()
            self.lock.notify()
        self.recorder.put(job.record())
        return job.id

    def _worker(self) -> None:
        while True:
            with self.lock:
                while not self._queue and not self._stopping:
                    self.lock.wait()
                if self._stopping or self._threads > max(1, self.workers):
                    self._threads -= 1
                    return
                job = self._queue.popleft()
                if job.state != QUEUED:  # cancelled while it waited
                    continue
                job.state, job.started = RUNNING, time.time()
                if job.timeout is not None:  # counted from the start, not the submit
                    job.interrupt.deadline = time.monotonic() + job.timeout
                    job.interrupt.timeout = job.timeout
            self._run(job)

    def _run(self, job: Job) -> None:
        assert job.work is not None
        try:
            out = job.work(job.interrupt)
            table = _as_table(out)
        except BaseException as e:  # noqa: BLE001 - every failure becomes the job's state
            self._end(job, *_failure(job, e))  # (the worker lives on for the next job)
            return
        finally:
            job.work = None  # what it held (sessions, closures) is not kept with the job
        if table.nbytes > self.max_result_bytes:
            self._end(job, FAILED, ExecutionError(
                f"job {job.id} made a result of {table.nbytes:,} bytes, more than the "
                f"{self.max_result_bytes:,} a job may keep; write large results into a "
                "table (CREATE TABLE ... AS, INSERT INTO ... SELECT) instead"))
            return
        self._end(job, DONE, None, table)

    def _end(self, job: Job, state: str, error: SqlError | None,
             table: pa.Table | None = None, *, from_state: str | None = None) -> bool:
        """End ``job`` (if it is still in ``from_state``, when given); whether it did. A job
        marked at shutdown while its work still ran stays as marked."""
        with self.lock:
            if job.state in ENDED or (from_state is not None and job.state != from_state):
                return False
            job.state, job.finished = state, time.time()
            job.exception, job.error = error, (str(error) if error is not None else None)
            if table is not None:
                job.result, job.rows = table, table.num_rows
            forgotten = self._trim()
        job.ended.set()
        self.recorder.put(job.record())
        for job_id in forgotten:
            self.recorder.drop(job_id)
        return True

    def _trim(self) -> list[str]:
        """Keep results and ended jobs within bounds (oldest go first); the ids forgotten.
        Called with the lock held."""
        ended = [j for j in self.jobs.values() if j.state in ENDED]
        total = sum(j.result.nbytes for j in ended if j.result is not None)
        for j in ended:
            if total <= self.max_result_total:
                break
            if j.result is not None:
                total -= j.result.nbytes
                j.result = None
        gone = ended[:max(0, len(ended) - self.max_kept)]
        for j in gone:
            del self.jobs[j.id]
        return [j.id for j in gone]

    # -- what AWAIT, CANCEL JOB and the view use --------------------------------------------

    def list(self) -> list[Job]:
        """Every job kept, oldest first."""
        with self.lock:
            return list(self.jobs.values())

    def get(self, job_id: str, by: str | None = None, verb: str = "see") -> Job:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise engine_errors.NotFound(f"no job {job_id!r} (kodiak_jobs lists the jobs kept)")
        if by is not None and job.user != by:
            raise AccessDenied(f"job {job_id} belongs to another user; a user may {verb} "
                               "only their own jobs")
        return job

    def wait(self, job_id: str, interrupt: Interrupt | None = None,
             by: str | None = None) -> pa.Table:
        """The result of job ``job_id`` once it has ended (raising its error if it failed);
        ``interrupt`` stops the wait, not the job."""
        job = self.get(job_id, by, "wait for")
        while not job.ended.wait(WAIT_STEP):
            if interrupt is not None:
                interrupt.check()
        if job.state == DONE:
            result = job.result
            if result is not None:
                return result
            raise ExecutionError(f"job {job_id} is done but its result is no longer kept: "
                                 + _released(job))
        if job.state == FAILED and job.exception is not None:
            raise _copy(job.exception)
        if job.state == FAILED:
            raise ExecutionError(f"job {job_id} failed: {job.error}")
        if job.state == TIMED_OUT and job.exception is not None:
            raise _copy(job.exception)
        raise ExecutionError(f"job {job_id} was {job.state}: {job.error}")

    def cancel(self, job_id: str, by: str | None = None) -> Job:
        """Stop job ``job_id`` on behalf of user ``by`` (None: any job)."""
        job = self.get(job_id, by, "cancel")
        with self.lock:
            if job.state in ENDED:
                raise ExecutionError(f"job {job_id} has already ended ({job.state})")
        self._end(job, CANCELLED, QueryCancelled(f"job {job_id} was cancelled before it "
                                                 f"started ({CANCELLED_BY_OWNER})"),
                  from_state=QUEUED)
        job.interrupt.cancel()  # a running job stops at its next check
        return job

    def shutdown(self, grace: float = 5.0) -> None:
        """The server is stopping: queued jobs are cancelled, running ones asked to stop and
        given ``grace`` seconds; whatever still runs then is marked cancelled, and the records
        are written before this returns."""
        with self.lock:
            self._stopping = True
            jobs = [j for j in self.jobs.values() if j.state not in ENDED]
            for j in jobs:
                j.stop_reason = STOPPED_QUEUED if j.state == QUEUED else STOPPED_RUNNING
                j.interrupt.cancel()
            self.lock.notify_all()
        deadline = time.monotonic() + grace
        for j in jobs:
            self._end(j, CANCELLED, QueryCancelled(f"job {j.id}: {j.stop_reason}"),
                      from_state=QUEUED)
            j.ended.wait(max(0.0, deadline - time.monotonic()))
        for j in jobs:
            self._end(j, CANCELLED, QueryCancelled(f"job {j.id}: {j.stop_reason}"))
        if not self.recorder.flush(max(1.0, deadline - time.monotonic())):
            log.warning("could not record every job before stopping")


def _as_table(out: Any) -> pa.Table:
    if out is None:
        return pa.table({})
    if isinstance(out, pa.RecordBatchReader):
        return out.read_all()
    if isinstance(out, pa.Table):
        return out
    raise ExecutionError(f"a job's work must give an Arrow table, not {type(out).__name__}")


def _failure(job: Job, e: BaseException) -> tuple[str, SqlError]:
    """The end state and the error AWAIT raises for a job whose work raised ``e``."""
    if job.interrupt.cancelled or isinstance(e, QueryCancelled):
        return CANCELLED, QueryCancelled(f"job {job.id} was cancelled ({job.stop_reason})")
    if isinstance(e, QueryTimedOut) and job.interrupt.timeout is not None and \
            job.interrupt.deadline is not None and time.monotonic() > job.interrupt.deadline:
        return TIMED_OUT, QueryTimedOut(f"job {job.id} ran longer than its time limit of "
                                        f"{job.interrupt.timeout:g} s (job_timeout) "
                                        "and was stopped")
    if isinstance(e, QueryTimedOut):  # a statement's own query_timeout inside the job
        return FAILED, e
    if isinstance(e, SqlError):
        return FAILED, e
    if isinstance(e, engine_errors.KodiakError):
        return FAILED, ExecutionError(str(e))
    log.error("job %s failed", job.id, exc_info=e)
    return FAILED, ExecutionError(f"job {job.id} failed with an internal error "
                                  f"({type(e).__name__}); the server log has the details")


def _copy(e: SqlError) -> SqlError:
    """A fresh copy of a job's error to raise (each AWAIT raises its own)."""
    out = copy.copy(e)
    out.__traceback__ = None
    return out


def _released(job: Job) -> str:
    if job.restored:
        return "it was made before the server restarted, and results are kept in memory only"
    return ("results are kept in memory only, within a bound on their bytes, and newer jobs' "
            "results took its place")


_lock = threading.Lock()
_by_db: weakref.WeakKeyDictionary[Any, Jobs] = weakref.WeakKeyDictionary()


def jobs_for(db: Any) -> Jobs:
    """The jobs of ``db`` (one registry per database)."""
    with _lock:
        jobs = _by_db.get(db)
        if jobs is None:
            jobs = Jobs(db)
            _by_db[db] = jobs
        return jobs


def stop_jobs(db: Any, grace: float = 5.0) -> None:
    """Stop the jobs of ``db`` (the server is shutting down); nothing if it has none."""
    with _lock:
        jobs = _by_db.pop(db, None)  # a server started again on ``db`` gets a new registry
    if jobs is not None:
        jobs.shutdown(grace)
