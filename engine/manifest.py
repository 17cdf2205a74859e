"""The MANIFEST: the checkpointed catalog, live file set and versions, its format and upgrades.

On disk: ``KDKMAN01 | u32 CRC-32 of the body | body``, the body one JSON document. A new
manifest is written next to the old one and renamed over it (the durable-rename protocol),
so a reader sees the old one or the new one, never a mix.

Format history (``format`` in the body):

1. ``checkpoint_lsn``, ``next_segment_id``, ``catalog`` (schemas, tables with their columns
   and indexes, ``next_table_id``) and per table ``next_rowid`` and its ``segments`` (each
   with its deletion vector file).
2. adds ``catalog.objects`` (kind, schema, name, version, definition), ``catalog_version``
   and per table ``data_version``.

A manifest of an older format is upgraded as it is read (``upgrade``): format 1 reads as
format 2 with no objects and both versions equal to its checkpoint LSN. Nothing is written
then; the next checkpoint installs a manifest of the current format. A newer format than
this code knows is refused, never guessed at.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .catalog import Catalog
from .errors import CorruptionError
from .segment import DeletionVector, Segment
from .table import Part

if TYPE_CHECKING:
    from .fileio import FileSystem
    from .table import TableData

MANIFEST = "MANIFEST"
MAGIC = b"KDKMAN01"
FORMAT = 2  # what this code writes; it reads every format from 1 to this one


class ManifestInstalled(Exception):
    """The new manifest was renamed into place, but making that durable failed."""


@dataclass(frozen=True)
class TableEntry:
    """One table's checkpointed data: its files and counters, not yet loaded."""

    next_rowid: int
    data_version: int
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Manifest:
    format: int  # as found on disk (before the upgrade)
    catalog: Catalog
    checkpoint_lsn: int
    next_segment_id: int
    catalog_version: int
    tables: dict[int, TableEntry]


def read_manifest(fs: FileSystem, root: str) -> Manifest | None:
    """The data directory's manifest, upgraded to the current format; None if it has none.
    Reads only (``Database.check`` calls it on a live directory)."""
    path = os.path.join(root, MANIFEST)
    if not fs.exists(path):
        return None
    raw = fs.read_bytes(path)
    head = len(MAGIC) + 4
    if len(raw) < head or raw[:len(MAGIC)] != MAGIC:
        raise CorruptionError(f"{path}: not a Kodiak manifest (offset 0)")
    (crc,) = struct.unpack_from("<I", raw, len(MAGIC))
    body = raw[head:]
    if zlib.crc32(body) != crc:
        raise CorruptionError(f"{path}: manifest checksum mismatch (offset {head})")
    try:
        doc = json.loads(body)
        found = doc["format"]
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptionError(f"{path}: manifest body unreadable: {exc}") from exc
    if type(found) is not int or not 1 <= found <= FORMAT:
        raise CorruptionError(
            f"{path}: manifest format {found!r} is not one this Kodiak reads (1 to {FORMAT});"
            " a newer Kodiak wrote it, or it is damaged")
    try:
        return _parse(fs, root, path, found, upgrade(doc))
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptionError(f"{path}: manifest malformed: {exc!r}") from exc


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """A manifest document of any readable format as the current format's document."""
    if doc["format"] == 1:
        lsn = doc["checkpoint_lsn"]
        doc = {**doc, "format": 2, "catalog_version": lsn,
               "catalog": {**doc["catalog"], "objects": []},
               "tables": {tid: {**t, "data_version": lsn} for tid, t in doc["tables"].items()}}
    return doc


def _parse(fs: FileSystem, root: str, path: str, found: int, doc: dict[str, Any]
           ) -> Manifest:
    try:
        catalog = Catalog.from_json(doc["catalog"])
    except CorruptionError as exc:
        raise CorruptionError(f"{path}: {exc}") from exc
    tables = {}
    for tid_s, t in doc["tables"].items():
        parts = []
        for s in t["segments"]:
            dv = DeletionVector.read(fs, root, s["deletes"]) if s.get("deletes") else \
                DeletionVector()
            parts.append(Part(Segment.from_json(s), dv))
        tables[int(tid_s)] = TableEntry(t["next_rowid"], t["data_version"], tuple(parts))
    return Manifest(found, catalog, doc["checkpoint_lsn"], doc["next_segment_id"],
                    doc["catalog_version"], tables)


def write_manifest(fs: FileSystem, root: str, *, catalog: Catalog,
                   tables: dict[int, TableData], lsn: int, next_segment_id: int,
                   catalog_version: int, data_versions: dict[int, int]) -> None:
    """Install a manifest of the current format, durably. Raises ManifestInstalled when the
    rename happened but syncing the directory failed (the caller must then keep the files
    of both the old and the new manifest)."""
    doc = {
        "format": FORMAT,
        "checkpoint_lsn": lsn,
        "next_segment_id": next_segment_id,
        "catalog_version": catalog_version,
        "catalog": catalog.to_json(),
        "tables": {
            str(tid): {
                "next_rowid": d.next_rowid,
                "data_version": data_versions.get(tid, lsn),
                "segments": [{**p.segment.to_json(), "deletes": p.deletes.file}
                             for p in d.parts],
            }
            for tid, d in tables.items()
        },
    }
    body = json.dumps(doc, separators=(",", ":")).encode()
    data = MAGIC + struct.pack("<I", zlib.crc32(body)) + body
    path = os.path.join(root, MANIFEST)
    tmp = path + ".tmp"
    with fs.create(tmp) as f:  # the durable-rename protocol, as in write_atomic,
        f.write(data)          # but telling the caller which side of the rename
        f.sync()               # a failure fell on
    fs.rename(tmp, path)
    try:
        fs.sync_dir(root)
    except OSError as exc:
        raise ManifestInstalled() from exc


__all__ = ["MANIFEST", "MAGIC", "FORMAT", "Manifest", "TableEntry", "ManifestInstalled",
           "read_manifest", "write_manifest", "upgrade"]
