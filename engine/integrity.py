"""Integrity check: checksums, manifest, catalog objects, segments, statistics and index
agreement.

Every problem found is reported as one line; an empty list means consistent.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .catalog import object_problems
from .errors import ConflictError, KodiakError
from .segment import compute_stats, file_crc
from .table import BUFFERED, key_columns, keys_of
from .wal import HEADER, MAGIC, frame_problem, torn_header, zeros_from

if TYPE_CHECKING:
    from .database import Database


def check_database(db: Database) -> list[str]:
    """Also safe on a database that is being written (a server's): segments are checked in
    a snapshot held to the end, so none is removed under the check, and the manifest and
    the log are read while holding the writer lock, so no commit is half-appended and no
    checkpoint replaces them meanwhile. Waits at most ``db.lock_timeout`` for that lock."""
    problems: list[str] = []
    snap = db.snapshot()  # referenced until the end: its segment files stay on disk
    timeout = db.lock_timeout
    if not db._writer.acquire(timeout=-1 if timeout is None else timeout):
        raise ConflictError(f"the check waits for the writer lock, which a transaction has "
                            f"held for over {timeout} s; try again")
    try:
        try:
            db._read_manifest()
        except KodiakError as exc:
            problems.append(f"manifest: {exc}")
        wal = _read_wal(db)  # only the reading: writers wait for no more than that
    finally:
        db._writer.release()
    problems += _check_wal(wal)
    state = snap.state
    problems += object_problems(state.catalog)
    for data in state.tables.values():
        name = data.tdef.qualified
        for p in data.parts:
            seg = p.segment
            path = os.path.join(db.root, seg.file)
            try:
                mm = db.fs.memory_map(path)
            except OSError as exc:
                problems.append(f"{name}: segment {path} unreadable: {exc}")
                continue
            try:
                if file_crc(mm) != seg.crc:
                    problems.append(f"{name}: segment {path} fails its checksum (offset 0)")
                    continue
                t = seg.table(db.fs, db.root)
            except KodiakError as exc:
                problems.append(f"{name}: {exc}")
                continue
            offs = p.deletes.offsets()
            if len(offs) and int(offs.max()) >= seg.rows:
                problems.append(f"{name}: deletion vector of {seg.file} points past its rows")
            for start, n, st in seg.batches:
                actual = compute_stats(t.slice(start, n))
                for col, s in st.items():
                    if col in actual and actual[col] != s:
                        problems.append(f"{name}: {seg.file} rows {start}+{n}: statistics of "
                                        f"{col} say {s}, data says {actual[col]}")
        problems += _check_indexes(db, data)
    return problems


def _read_wal(db: Database) -> list[tuple[str, bytes]]:
    wal_dir = os.path.join(db.root, "wal")
    return [(os.path.join(wal_dir, name), db.fs.read_bytes(os.path.join(wal_dir, name)))
            for name in sorted(db.fs.listdir(wal_dir))]


def _check_wal(files: list[tuple[str, bytes]]) -> list[str]:
    out = []
    for i, (path, data) in enumerate(files):
        if data[:len(MAGIC)] != MAGIC:
            if not (torn_header(data) and i == len(files) - 1):  # recovery drops those
                out.append(f"{path}: bad magic")
            continue
        pos = len(MAGIC)
        while pos < len(data):
            bad = frame_problem(data, pos)
            if bad and zeros_from(data, pos):  # preallocated, not yet written
                break
            if bad:
                out.append(f"{path} at offset {pos}: {bad}")
                break
            pos += HEADER.size + HEADER.unpack_from(data, pos)[0]
    return out


def _check_tail(data) -> list[str]:  # noqa: ANN001
    """The insert tail's visible entries: distinct keys, indexed by position, absent from
    the trees it sits on."""
    tail, end = data.tail, data.tail_end
    if not end:
        return []
    name = data.tdef.qualified
    keys = tail.keys[:end]
    if len(tail.rows) < end or len(keys) < end:
        return [f"{name}: insert tail shorter than its version says ({len(keys)} < {end})"]
    if any(tail.where.get(k) != i for i, k in enumerate(keys)):
        return [f"{name}: insert tail's key positions disagree with its entries"]
    if any(k in data.pk_tree or k in data.buffer_tree for k in keys):
        return [f"{name}: insert tail holds keys already in the trees"]
    return []


def _check_indexes(db: Database, data) -> list[str]:  # noqa: ANN001
    out: list[str] = []
    name = data.tdef.qualified
    try:
        if data.pk is not None:
            data.pk.check()
        for tree in data.secondary.values():
            tree.check()
        data.buffer.check()
        out.extend(_check_tail(data))
    except ValueError as exc:
        out.append(f"{name}: tree invariant broken: {exc}")
        return out
    rebuilt = db._with_indexes(data.replace(pk_tree=None, secondary={}))
    if data.pk is not None:
        # Rows in the buffer are indexed as BUFFERED; compare the rest location by location.
        actual = {k: v for k, v in data.pk.items() if v != BUFFERED}
        expected = dict(rebuilt.pk.items())
        buffered = set(keys_of(data.tdef, data.buffer_table.select(key_columns(data.tdef))))
        if actual != expected:
            out.append(f"{name}: primary-key index disagrees with the segments "
                       f"({len(actual)} vs {len(expected)} entries)")
        if {k for k, v in data.pk.items() if v == BUFFERED} != buffered:
            out.append(f"{name}: primary-key index disagrees with the write buffer")
        if len(data.pk) != data.row_count:
            out.append(f"{name}: index holds {len(data.pk)} keys for {data.row_count} rows")
    for ix_name, tree in data.secondary.items():
        if list(tree.items()) != list(rebuilt.secondary[ix_name].items()):
            out.append(f"{name}: index {ix_name!r} disagrees with the data")
    return out
