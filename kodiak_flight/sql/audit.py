"""The audit log: an append-only record of security events (grants, revokes, secret creation,
rotation and reveal, denied attempts), kept in an engine table no SQL statement can write.

Records are written in transactions of their own, not in the caller's: a denied attempt is
recorded even though the statement that made it fails and its transaction rolls back. The
engine has one writer at a time, so a record made while a write transaction is open (the
caller's own, or another session's) waits in memory and is written by the next
:func:`flush` that finds the writer free (after each statement, and before the log is read);
``kodiak_audit`` shows written and waiting records alike. A crash loses only records still
waiting, and a record is never written twice.

Who may read ``kodiak_audit`` is the access-control layer's decision (admins); this module
only keeps the log.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from engine import errors as engine_errors

AUDIT_SCHEMA = "kodiak_system"  # reserved (``catalog/names.py``): no statement writes it
AUDIT_TABLE = f"{AUDIT_SCHEMA}.audit"
SCHEMA = pa.schema([
    pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("user_name", pa.string()),
    pa.field("action", pa.string(), nullable=False),  # e.g. "grant", "secret.reveal"
    pa.field("object", pa.string()),  # what it was done to, as the user named it
    pa.field("allowed", pa.bool_(), nullable=False),  # False: a denied attempt
    pa.field("detail", pa.string()),
])


@dataclass
class AuditLog:
    """One per database: the records not yet written, and the lock that orders writing."""

    db: Any
    pending: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, *, user: str | None, action: str, object: str | None = None,
               allowed: bool = True, detail: str = "") -> None:
        """Add a record and write it now if the writer is free (else at the next flush)."""
        row = {"at": dt.datetime.now(dt.UTC), "user_name": user, "action": action,
               "object": object, "allowed": allowed, "detail": detail}
        with self.lock:
            self.pending.append(row)
        self.flush()

    def flush(self) -> bool:
        """Write the waiting records if the engine's writer is free; True if none wait."""
        with self.lock:
            if not self.pending:
                return True
            try:
                tx = self.db.begin(timeout=0)
            except engine_errors.ConflictError:
                return False  # a write transaction is open: the next flush writes them
            try:
                _ensure_table(tx)
                tx.insert(AUDIT_TABLE, pa.Table.from_pylist(self.pending, schema=SCHEMA))
            except BaseException:
                tx.rollback()
                raise
            tx.commit()
            self.pending.clear()
            return True

    def table(self, snap: Any) -> pa.Table:
        """Every record, written and waiting, oldest first."""
        with self.lock:
            waiting = pa.Table.from_pylist(self.pending, schema=SCHEMA)
        if not snap.has_table(AUDIT_TABLE):
            return waiting
        written = snap.scan(AUDIT_TABLE).read_all().cast(SCHEMA)
        return pa.concat_tables([written, waiting]).sort_by("at")


def _ensure_table(tx: Any) -> None:
    if tx.snapshot().has_table(AUDIT_TABLE):
        return
    tx.create_schema(AUDIT_SCHEMA, if_not_exists=True)
    try:
        tx.create_table(AUDIT_TABLE, SCHEMA)
    except engine_errors.AlreadyExists:
        pass


_lock = threading.Lock()
_by_db: weakref.WeakKeyDictionary[Any, AuditLog] = weakref.WeakKeyDictionary()


def audit_for(db: Any) -> AuditLog:
    """The audit log of ``db`` (one per open database in the process)."""
    with _lock:
        log = _by_db.get(db)
        if log is None:
            log = _by_db[db] = AuditLog(db)
        return log
