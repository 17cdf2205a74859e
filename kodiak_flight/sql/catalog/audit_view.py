"""``kodiak_audit``: the audit log (``sql/audit.py``) as a read-only system view.

It reads the log through the resolver's viewer, which carries the database's log; written
and waiting records alike, oldest first.
"""

from __future__ import annotations

from typing import Any

from .. import audit
from .system import SystemView, ViewSchema, register


def _rows(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    log = getattr(r.viewer, "audit", None)
    if log is None:
        return []
    return log.table(r.snap).to_pylist()


register(SystemView("kodiak_audit", audit.SCHEMA, _rows, volatile=True, unqualified=True))
