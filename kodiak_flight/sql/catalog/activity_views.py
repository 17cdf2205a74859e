"""The activity views: ``kodiak_queries`` (running and recent statements) and
``kodiak_sessions`` (open sessions), read from the resolver's :class:`~..activity.Viewer`.

They live in ``information_schema`` and are also found by their bare names. Their rows change
from one moment to the next, so a plan that reads them is never reused. A caller with a user
name sees other users' statements without their text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from .system import SystemView, ViewSchema, register

HIDDEN = "<insufficient privilege>"
_TS = pa.timestamp("us", tz="UTC")


def _when(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC)


def _queries(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    viewer = r.viewer
    if viewer is None:
        return []
    return [{"query_id": q.id, "session_id": q.session.id, "user_name": q.user,
             "state": q.state,
             "query": q.text if viewer.user is None or viewer.user == q.user else HIDDEN,
             "started": _when(q.started), "duration": round(q.duration, 6),
             "row_count": q.rows} for q in viewer.activity.queries()]


def _sessions(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    viewer = r.viewer
    if viewer is None:
        return []
    running: dict[int, int] = {}
    for q in viewer.activity.queries():
        if q.state == "running":
            running[q.session.id] = running.get(q.session.id, 0) + 1
    return [{"session_id": s.id, "user_name": s.user, "peer": s.peer,
             "started": _when(s.started), "last_used": _when(s.last_used),
             "in_transaction": s.in_transaction, "running_queries": running.get(s.id, 0)}
            for s in viewer.activity.session_list()]


register(SystemView("kodiak_queries", pa.schema([
    pa.field("query_id", pa.int64()), pa.field("session_id", pa.int64()),
    pa.field("user_name", pa.string()), pa.field("state", pa.string()),
    pa.field("query", pa.string()), pa.field("started", _TS),
    pa.field("duration", pa.float64()), pa.field("row_count", pa.int64())]),
    _queries, volatile=True, unqualified=True))
register(SystemView("kodiak_sessions", pa.schema([
    pa.field("session_id", pa.int64()), pa.field("user_name", pa.string()),
    pa.field("peer", pa.string()), pa.field("started", _TS), pa.field("last_used", _TS),
    pa.field("in_transaction", pa.bool_()), pa.field("running_queries", pa.int64())]),
    _sessions, volatile=True, unqualified=True))
