"""``kodiak_audit``: the audit log (``sql/audit.py``) as a read-only system view.

It reads the log of the viewer's database: written
and waiting records alike, oldest first.
"""

from __future__ import annotations

from typing import Any

from .. import audit
from .system import SystemView, ViewSchema, register


def _rows(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    if r.viewer is None or r.viewer.db is None:
        return []
    return audit.audit_for(r.viewer.db).table(r.snap).to_pylist()


register(SystemView("kodiak_audit", audit.SCHEMA, _rows, volatile=True, unqualified=True))
