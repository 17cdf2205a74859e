"""Administration of a served database: its statistics, an online backup and check.

Shared by the server's admin actions (``kodiak.info``, ``kodiak.backup``, ``kodiak.check``,
registered in ``server/actions/admin.py``; see docs/flight.md) and the embedded CLI
(``kodiak info --data-dir``). All work on an open ``engine.Database`` from a snapshot, so the
server keeps serving while they run.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pyarrow.flight as flight

from .sql.catalog import is_reserved
from .status import InvalidArgument

ACTION_BACKUP = "kodiak.backup"
ACTION_INFO = "kodiak.info"
ACTION_CHECK = "kodiak.check"

_backup_lock = threading.Lock()  # one backup at a time per server process


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _short(qualified: str) -> str:
    return qualified[5:] if qualified.startswith("main.") else qualified


def database_stats(db: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per table: rows, columns, segments, segment bytes, deleted and buffered rows; then the
    write-ahead log's size, the directory's total size, the snapshot's LSN and the schemas."""
    snap = db.snapshot()
    tables = []
    for name in snap.tables():
        if is_reserved(name.split(".", 1)[0]):  # sessions' temporary tables
            continue
        info, store = snap.table(name), snap.storage(name)
        tables.append({
            "name": _short(name), "rows": info.row_count, "columns": len(info.schema),
            "segments": store.segments, "segment_bytes": store.segment_bytes,
            "deleted_rows": store.deleted_rows, "buffered_rows": store.buffered_rows,
        })
    root = Path(db.root)
    wal_files = list((root / "wal").glob("*.log"))
    total = sum(_size(p) for p in root.rglob("*") if p.is_file())
    return tables, {"data_dir": str(root), "lsn": snap.lsn,
                    "wal_bytes": sum(_size(p) for p in wal_files), "wal_files": len(wal_files),
                    "total_bytes": total, "schemas": list(snap.schemas())}


def info_json(db: Any) -> bytes:
    tables, summary = database_stats(db)
    return json.dumps({**summary, "tables": tables}).encode("utf-8")


def check_json(db: Any) -> bytes:
    """``db.check()`` on the live database (see ``engine.integrity``), as JSON."""
    snap = db.snapshot()
    problems = db.check()
    names = snap.tables()
    return json.dumps({"problems": problems, "tables": len(names),
                       "rows": sum(snap.table(n).row_count for n in names),
                       "lsn": snap.lsn}).encode("utf-8")


def parse_backup_request(body: bytes) -> str:
    """The destination of a ``kodiak.backup`` action body (``{"dest": "/abs/path"}``)."""
    try:
        req = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        req = None
    if not isinstance(req, dict) or not isinstance(req.get("dest"), str) or not req["dest"]:
        raise InvalidArgument(f'{ACTION_BACKUP}: the body must be JSON {{"dest": "/path"}}',
                              "ProtocolError")
    unknown = sorted(set(req) - {"dest"})
    if unknown:
        raise InvalidArgument(f"{ACTION_BACKUP}: unknown field(s) {', '.join(unknown)}",
                              "ProtocolError")
    return req["dest"]


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def backup(db: Any, dest: str, backup_root: str | None = None) -> dict[str, Any]:
    """Back up ``db`` online into ``dest``, a new or empty directory on this machine.

    Refused (INVALID_ARGUMENT) when ``dest`` is relative, is inside the data directory, is
    not a directory, or is a directory that is not empty (kind ``AlreadyExists``); refused
    (PERMISSION_DENIED) when a ``backup_root`` is set and ``dest`` is not inside it (after
    resolving symbolic links and ``..``). The users file is copied with the data. On failure
    whatever was written to ``dest`` is removed.
    """
    target = _destination(db, dest, backup_root)
    with _backup_lock:
        created = _check_empty(target)
        try:
            stats, copied_users = _copy(db, target)
        except OSError as exc:  # the destination cannot be written: say so, not "internal"
            _remove_partial(target, created)
            raise InvalidArgument(f"cannot write the backup to {target}: "
                                  f"{exc.strerror or exc}", "BackupFailed") from None
        except BaseException:
            _remove_partial(target, created)
            raise
    files = [p for p in target.rglob("*") if p.is_file()]
    stats.update(dest=str(target), files=len(files),
                 total_bytes=sum(_size(p) for p in files), users_file=copied_users)
    return stats


def _destination(db: Any, dest: str, backup_root: str | None) -> Path:
    """``dest`` as a normalized absolute path, refused if it is relative, outside
    ``backup_root`` (when set) or inside the data directory."""
    if not os.path.isabs(dest):
        raise InvalidArgument(f"backup destination {dest!r} must be an absolute path on the "
                              "server's machine", "InvalidPath")
    target = Path(os.path.normpath(dest))
    if backup_root is not None and not _inside(Path(os.path.realpath(target)),
                                               Path(os.path.realpath(backup_root))):
        raise flight.FlightUnauthorizedError(
            f"backup destination {target} is outside the server's backup root {backup_root}")
    root = Path(os.path.realpath(db.root))
    if _inside(Path(os.path.realpath(target)), root):
        raise InvalidArgument(f"backup destination {target} is inside the data directory",
                              "InvalidPath")
    return target


def _check_empty(target: Path) -> bool:
    """Refuse an existing ``target`` that is not an empty directory; returns whether the
    backup will create it."""
    if not (target.exists() or target.is_symlink()):
        return True
    if not target.is_dir():
        raise InvalidArgument(f"backup destination {target} exists and is not a "
                              "directory", "AlreadyExists")
    if any(target.iterdir()):
        raise InvalidArgument(f"backup destination {target} exists and is not empty",
                              "AlreadyExists")
    return False


def _copy(db: Any, target: Path) -> tuple[dict[str, Any], bool]:
    """The engine's online backup into ``target``, then the users file if there is one:
    (the engine's statistics, whether the users file was copied)."""
    from .users import USERS_FILE

    stats = dict(db.backup(str(target)))
    users = Path(db.root) / USERS_FILE
    if not users.exists():
        return stats, False
    shutil.copy2(users, target / USERS_FILE)
    os.chmod(target / USERS_FILE, 0o600)
    return stats, True


def _remove_partial(target: Path, created: bool) -> None:
    if created:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in list(target.iterdir()) if target.is_dir() else []:
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
