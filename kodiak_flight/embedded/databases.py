"""The data directories this process has open, shared by every connection to them.

The engine locks a data directory for the one process that opens it (``flock`` on its LOCK
file, which also refuses a second open in the same process), so connections to one path share
one ``engine.Database``, closed when the last of them closes. ``:memory:`` is a temporary
directory of its own per connection, removed when that connection closes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass

import engine

from .errors import OperationalError, to_dbapi

MEMORY = ":memory:"

_lock = threading.Lock()
_open: dict[str, _Entry] = {}


@dataclass
class _Entry:
    db: engine.Database
    users: int


@dataclass
class Handle:
    """One connection's use of a database: ``path`` is where it is (``temporary`` when the
    connection made it and removes it)."""

    db: engine.Database
    path: str
    temporary: bool


def acquire(database: str | os.PathLike[str] | None) -> Handle:
    """Open ``database`` (a directory, created if missing; ``:memory:`` or None for a
    temporary one), or share it when this process has it open already."""
    if database is None or str(database) == MEMORY:
        path = tempfile.mkdtemp(prefix="kodiak-memory-")
        try:
            return Handle(_open_db(path), path, True)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
    path = os.path.realpath(os.fspath(database))
    with _lock:
        entry = _open.get(path)
        if entry is None:
            entry = _open[path] = _Entry(_open_db(path), 0)
        entry.users += 1
        return Handle(entry.db, path, False)


def release(handle: Handle) -> None:
    """The connection is done with ``handle``: close the database when nobody else uses it."""
    if handle.temporary:
        try:
            handle.db.close()
        finally:
            shutil.rmtree(handle.path, ignore_errors=True)
        return
    with _lock:
        entry = _open.get(handle.path)
        if entry is None or entry.db is not handle.db:
            return
        entry.users -= 1
        if entry.users > 0:
            return
        del _open[handle.path]
    entry.db.close()


def _open_db(path: str) -> engine.Database:
    try:
        return engine.Database.open(path)
    except engine.errors.StorageError as exc:
        if "in use" in str(exc):
            raise OperationalError(
                f"{exc} (a running `kodiak serve`?). Connect to that server with a Flight "
                "SQL client (adbc_driver_flightsql, `kodiak sql --uri ...`) or stop it first; "
                "within one process, open it only through kodiak_flight.connect, which "
                "shares it, not also with engine.Database.open") from None
        raise _mapped(exc) from None
    except engine.errors.KodiakError as exc:
        raise _mapped(exc) from None
    except OSError as exc:
        raise OperationalError(f"cannot open a database at {path}: "
                               f"{exc.strerror or exc}") from None


def _mapped(exc: BaseException) -> BaseException:
    return to_dbapi(exc) or exc
