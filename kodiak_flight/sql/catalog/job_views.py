"""The ``kodiak_jobs`` system view: the background jobs of the database (``pl/jobs.py``),
queued, running and ended, read through the resolver's viewer like ``kodiak_queries``.

A caller with a user name sees other users' jobs without their label and error text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from ..pl.jobs import jobs_for
from .activity_views import HIDDEN
from .system import SystemView, ViewSchema, register

_TS = pa.timestamp("us", tz="UTC")


def _when(t: float | None) -> dt.datetime | None:
    return None if t is None else dt.datetime.fromtimestamp(t, tz=dt.UTC)


def _jobs(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    viewer = r.viewer
    if viewer is None or viewer.db is None:
        return []
    out = []
    for j in jobs_for(viewer.db).list():
        mine = viewer.user is None or viewer.user == j.user
        out.append({"job_id": j.id, "user_name": j.user, "label": j.label if mine else HIDDEN,
                    "state": j.state, "submitted": _when(j.submitted),
                    "started": _when(j.started), "finished": _when(j.finished),
                    "error": j.error if mine or j.error is None else HIDDEN,
                    "result_rows": j.rows})
    return out


register(SystemView("kodiak_jobs", pa.schema([
    pa.field("job_id", pa.string()), pa.field("user_name", pa.string()),
    pa.field("label", pa.string()), pa.field("state", pa.string()),
    pa.field("submitted", _TS), pa.field("started", _TS), pa.field("finished", _TS),
    pa.field("error", pa.string()), pa.field("result_rows", pa.int64())]),
    _jobs, volatile=True, unqualified=True))
