"""Online backup and verified restore.

A backup copies one snapshot: the segment files it names (immutable, so copying them while
writers continue is safe — the snapshot keeps them from being deleted), its deletion vectors
and write buffers written out fresh, and a manifest whose checkpoint LSN is the snapshot's.
The result is an ordinary data directory with an empty WAL.

Restore never touches the target until the copy has been opened and checked: it copies the
backup next to the target, verifies it, then swaps directories with renames.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from .errors import CorruptionError, StorageError
from .fileio import FileSystem
from .manifest import write_manifest
from .segment import Segment, write_segment
from .table import Part

if TYPE_CHECKING:
    from .database import Database

COPY_CHUNK = 16 << 20


def copy_file(fs: FileSystem, src: str, dst: str) -> None:
    """Copy in chunks and fsync: files may be larger than memory."""
    with fs.open_read(src) as r, fs.create(dst) as w:
        while chunk := r.read(COPY_CHUNK):
            w.write(chunk)
        w.sync()


def backup(db: Database, dest: str) -> dict:
    """Write a consistent copy of the current committed state to ``dest`` (a new directory):
    its catalog (objects included) and versions too, in the manifest."""
    fs = db.fs
    dest = os.path.abspath(dest)
    if fs.exists(dest) and fs.listdir(dest):
        raise StorageError(f"backup target {dest} exists and is not empty")
    snap = db.snapshot()  # registered: none of its files is deleted while we copy
    state = snap.state
    for d in ("", "segments", "deletes", "wal"):
        fs.makedirs(os.path.join(dest, d))
    next_id = db._seg_id
    tables = {}
    copied = 0
    for tid, data in state.tables.items():
        parts = []
        for p in data.parts:
            copy_file(fs, os.path.join(db.root, p.segment.file),
                      os.path.join(dest, p.segment.file))
            copied += p.segment.size
            dv = p.deletes
            if len(dv):
                rel = os.path.join("deletes", f"{p.segment.id:010d}-{next_id:010d}.del")
                next_id += 1
                dv = dv.write(fs, dest, rel)
            parts.append(Part(p.segment, dv))
        bt = data.buffer_table
        if bt.num_rows:
            seg = write_segment(fs, dest, next_id, bt, sync_dir=False)  # synced below
            next_id += 1
            parts.append(Part(seg))
        tables[tid] = data.replace(parts=tuple(parts))
    fs.sync_dir(os.path.join(dest, "segments"))
    fs.sync_dir(os.path.join(dest, "deletes"))
    write_manifest(fs, dest, catalog=state.catalog, tables=tables, lsn=state.lsn,
                   next_segment_id=next_id, catalog_version=state.catalog_version,
                   data_versions=state.data_versions)
    return {"tables": len(tables), "rows": sum(d.row_count for d in state.tables.values()),
            "bytes": copied, "lsn": state.lsn}


def verify(path: str, fs: FileSystem | None = None) -> list[str]:
    """Open a data directory and run the integrity check; problems, or [] when sound."""
    from .database import Database

    try:
        db = Database.open(path, fs=fs)
    except Exception as exc:  # any failure to open is a verdict, not a crash
        return [f"cannot open {path}: {exc}"]
    try:
        return db.check()
    finally:
        db.close()


def restore(src: str, dest: str, fs: FileSystem | None = None) -> None:
    """Replace the data directory ``dest`` with the backup ``src``, verified first.

    ``dest`` must not be open. Until the final renames nothing in ``dest`` changes; a crash
    between them leaves ``dest.old`` beside a complete ``dest`` (or ``dest.restoring``).
    """
    fs = fs or FileSystem()
    src, dest = os.path.abspath(src), os.path.abspath(dest)
    staging = dest + ".restoring"
    if fs.exists(staging):
        shutil.rmtree(staging)
    shutil.copytree(src, staging, ignore=shutil.ignore_patterns("LOCK"))
    for root, _, files in os.walk(staging):
        for f in files:
            with fs.append(os.path.join(root, f)) as h:
                h.sync()
        fs.sync_dir(root)
    problems = verify(staging, fs)
    if problems:
        shutil.rmtree(staging, ignore_errors=True)
        raise CorruptionError("backup failed verification, nothing replaced: "
                              + "; ".join(problems))
    parent = os.path.dirname(dest) or "."
    old = dest + ".old"
    if fs.exists(dest):
        from .database import Database

        Database.open(dest).close()  # raises StorageError if a server has it open
        if fs.exists(old):
            shutil.rmtree(old)
        fs.rename(dest, old)
    fs.rename(staging, dest)
    fs.sync_dir(parent)
    if fs.exists(old):
        shutil.rmtree(old)


__all__ = ["backup", "restore", "verify", "Segment"]
