"""Activity: the sessions open on a database and the statements they run and ran.

One :class:`Activity` is shared by every session of one server or one embedded database
(:func:`activity_for`); the ``kodiak_queries`` and ``kodiak_sessions`` system views read it,
and ``KILL QUERY`` and the server's ``kodiak.cancel`` action stop a query through it. A
statement is registered when it starts and stays *running* while its result is read; rows
are counted per batch as the result streams; when it ends it moves to a ring of the last
:data:`MAX_RECENT` statements. What is kept of a statement's text is truncated and never
holds parameter values (they are bound apart from the text); string literals are masked in
statements that speak of secrets or passwords.

Rights: a caller with a user name may stop only its own user's queries; a caller without
one (an embedded session, a server without authentication) may stop any. Administrators who
may stop anyone's query come with access control.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from engine import errors as engine_errors

from .errors import AccessDenied, ExecutionError, QueryCancelled, QueryTimedOut
from .interrupt import Interrupt
from .result import Result

MAX_RECENT = 1000  # finished statements kept for kodiak_queries
MAX_TEXT = 1000  # characters of a statement's text kept
_SENSITIVE = re.compile(r"secret|password|passwd|token|credential|key_id|private_key", re.I)
_STRING = re.compile(r"'(?:[^']|'')*'")
# CREATE / ALTER SECRET: a value may be a bare word or a number, so everything from the
# option list on is cut
_SECRET_OPTIONS = re.compile(r"\b(?:create|alter)\b[^;(]*?\bsecret\b[^(;]*\(", re.I)

RUNNING, FINISHED, FAILED, CANCELLED = "running", "finished", "failed", "cancelled"


def shown_text(sql: str) -> str:
    """What is kept of a statement's text: whitespace collapsed, truncated, and its string
    literals masked when it mentions a secret, password, token or key, and the option list
    of CREATE / ALTER SECRET cut."""
    text = " ".join(sql[:MAX_TEXT * 4].split())
    m = _SECRET_OPTIONS.search(sql)
    if m is not None:
        text = " ".join(sql[:m.end()].split())[:MAX_TEXT - 4] + "***)"
    if _SENSITIVE.search(text):
        text = _STRING.sub("'***'", text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 3] + "..."


@dataclass(eq=False)
class SessionInfo:
    """One session as the views show it. The SQL sessions of one connection (its autocommit
    session and those of its transactions, which share its temporary tables) share one."""

    id: int
    tag: str  # the temporary-table tag the SQL sessions share
    user: str | None = None
    peer: str | None = None
    started: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)
    members: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)

    @property
    def in_transaction(self) -> bool:
        return any(getattr(m, "in_transaction", False) for m in list(self.members))


class QueryInfo:
    """One statement: running, or one of the recent ones."""

    __slots__ = ("id", "session", "user", "text", "started", "t0", "t1", "rows", "state",
                 "interrupt")

    def __init__(self, qid: int, session: SessionInfo, text: str, interrupt: Interrupt) -> None:
        self.id = qid
        self.session = session
        self.user = session.user
        self.text = text
        self.started = time.time()
        self.t0 = time.monotonic()
        self.t1: float | None = None
        self.rows = 0
        self.state = RUNNING
        self.interrupt = interrupt

    @property
    def duration(self) -> float:
        return (self.t1 if self.t1 is not None else time.monotonic()) - self.t0


class Activity:
    """The registry of sessions and statements of one database (thread-safe)."""

    def __init__(self, max_recent: int = MAX_RECENT) -> None:
        self.lock = threading.Lock()
        self._ids = 0
        self._session_ids = 0
        self.running: dict[int, QueryInfo] = {}
        self.recent: deque[QueryInfo] = deque(maxlen=max_recent)
        self.sessions: dict[int, SessionInfo] = {}
        self._by_tag: dict[str, SessionInfo] = {}

    # -- sessions ---------------------------------------------------------------------------

    def join(self, session: Any, tag: str) -> SessionInfo:
        """The entry of the SQL session ``session``: that of its connection (same ``tag``),
        or a new one."""
        with self.lock:
            info = self._by_tag.get(tag)
            if info is None:
                self._session_ids += 1
                info = SessionInfo(self._session_ids, tag)
                self.sessions[info.id] = info
                self._by_tag[tag] = info
            info.members.add(session)
            return info

    def leave(self, info: SessionInfo) -> None:
        """The connection owning ``info`` closed."""
        with self.lock:
            self.sessions.pop(info.id, None)
            if self._by_tag.get(info.tag) is info:
                del self._by_tag[info.tag]

    # -- statements -------------------------------------------------------------------------

    @contextlib.contextmanager
    def track(self, session: SessionInfo, sql: str, interrupt: Interrupt, *,
              shown: bool = False) -> Iterator[QueryInfo]:
        """Register a statement while the block runs it; a failure ends it. ``shown``: ``sql``
        is already :func:`shown_text` (a prepared statement's, worked out once)."""
        text = sql if shown else shown_text(sql)
        with self.lock:
            self._ids += 1
            q = QueryInfo(self._ids, session, text, interrupt)
            self.running[q.id] = q
        session.last_used = q.started
        try:
            yield q
        except BaseException as e:
            self.end(q, _state_of(e, q))
            raise

    def watch(self, q: QueryInfo, result: Result) -> Result:
        """``result`` whose reader counts the rows it streams and ends ``q`` when it is done;
        a result without a stream ends ``q`` now."""
        if result.reader is None or result.table is not None:
            q.rows = result.table.num_rows if result.table is not None else max(
                result.rowcount, 0)
            self.end(q, FINISHED)
            return result
        result.reader = pa.RecordBatchReader.from_batches(
            result.reader.schema, self._counted(q, result.reader))
        return result

    def _counted(self, q: QueryInfo, reader: pa.RecordBatchReader
                 ) -> Iterator[pa.RecordBatch]:
        state = FINISHED
        try:
            for batch in reader:
                q.rows += batch.num_rows
                yield batch
        except GeneratorExit:  # the reader was closed before its end: the client is done
            state = CANCELLED if q.interrupt.cancelled else FINISHED
            raise
        except BaseException as e:
            state = _state_of(e, q)
            raise
        finally:
            with contextlib.suppress(Exception):
                reader.close()
            self.end(q, state)

    def end(self, q: QueryInfo, state: str) -> None:
        with self.lock:
            if self.running.pop(q.id, None) is None:
                return
            q.t1 = time.monotonic()
            q.state = state
            self.recent.append(q)

    # -- what the views and KILL use --------------------------------------------------------

    def queries(self) -> list[QueryInfo]:
        """Running statements, then recent ones, oldest first each."""
        with self.lock:
            return [*self.running.values(), *self.recent]

    def session_list(self) -> list[SessionInfo]:
        """Open sessions; one whose SQL sessions were all dropped unclosed is forgotten."""
        with self.lock:
            for info in [s for s in self.sessions.values() if not s.members]:
                self.sessions.pop(info.id, None)
                if self._by_tag.get(info.tag) is info:
                    del self._by_tag[info.tag]
            return list(self.sessions.values())

    def cancel(self, query_id: int, by: str | None) -> QueryInfo:
        """Stop running query ``query_id`` on behalf of user ``by`` (None: any query)."""
        with self.lock:
            q = self.running.get(query_id)
            done = None if q is not None else next(
                (r for r in reversed(self.recent) if r.id == query_id), None)
        if q is None:
            if done is not None:
                raise ExecutionError(f"query {query_id} is no longer running ({done.state})")
            raise engine_errors.NotFound(f"no query {query_id} (kodiak_queries lists the "
                                         "running ones)")
        if by is not None and q.user != by:
            raise AccessDenied(f"query {query_id} belongs to another user; a user may stop "
                               "only their own queries")
        q.interrupt.cancel()
        return q


def _state_of(e: BaseException, q: QueryInfo) -> str:
    if isinstance(e, QueryCancelled | QueryTimedOut) or q.interrupt.cancelled:
        return CANCELLED
    return FAILED


@dataclass(frozen=True)
class Viewer:
    """Who reads the activity views: the activity of their database and their user name
    (another user's statement text is hidden from a caller with a user name), and the
    database itself (``kodiak_jobs`` reads its jobs)."""

    activity: Activity
    user: str | None = None
    db: Any = None
    session: SessionInfo | None = None  # the reader's connection (its temporary secrets)


_lock = threading.Lock()
_by_db: weakref.WeakKeyDictionary[Any, Activity] = weakref.WeakKeyDictionary()


def activity_for(db: Any) -> Activity:
    """The activity shared by every session on ``db`` (by default, one per database)."""
    with _lock:
        act = _by_db.get(db)
        if act is None:
            act = Activity()
            _by_db[db] = act
        return act
