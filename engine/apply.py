"""Applying physical operations to a database state.

Transactions call these as they go and log the same operations; recovery calls them while
replaying the WAL. One code path for both is what makes replay reproduce exactly what was
acknowledged.

Versions: every change stamps what it changed (the catalog, a table's rows, an object) with
a fresh negative *pending* marker; ``settle(lsn)`` turns the markers into the LSN of the
commit once it is logged. Replay settles after each record, a transaction at its commit, so
both reach the same versions.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .betree import BeTree
from .catalog import Catalog, ObjectDef, ObjectKey, TableDef, definition_text, table_from_json
from .errors import CorruptionError, KodiakError
from .oplog import DecodedOps
from .segment import Segment
from .snapshot import to_physical
from .table import TableData, key_columns, keys_of_tuples

if TYPE_CHECKING:
    from .fileio import FileSystem


_markers = itertools.count(1)


def pending_marker() -> int:
    """A version no commit has and no other change in this process gets (negative)."""
    return -next(_markers)


class Applier:
    """A mutable working copy of (catalog, tables, versions); every value it holds is
    immutable, except the ``data_versions`` dict, which is its own."""

    def __init__(self, catalog: Catalog, tables: dict[int, TableData], fs: FileSystem,
                 root: str, catalog_version: int = 0,
                 data_versions: dict[int, int] | None = None) -> None:
        self.catalog = catalog
        self.tables = dict(tables)
        self.catalog_version = catalog_version
        self.data_versions = dict(data_versions or {})
        self.fs = fs
        self.root = root
        self.max_segment_id = 0
        self.adopted: set[str] = set()  # segment files adopted by replayed log records
        self.pending = False  # some table's data version may be a pending marker

    # -- versions -------------------------------------------------------------------------

    def _catalog_changed(self) -> int:
        self.catalog_version = pending_marker()
        return self.catalog_version

    def _rows_changed(self, table_id: int) -> None:
        self.data_versions[table_id] = pending_marker()
        self.pending = True

    def settle(self, lsn: int) -> None:
        """Stamp every pending version with ``lsn``, the LSN of the commit logging them."""
        if self.pending:
            dv = self.data_versions
            for tid, v in dv.items():
                if v < 0:
                    dv[tid] = lsn
            self.pending = False
        if self.catalog_version < 0:
            self.catalog_version = lsn
            cat = self.catalog
            for o in cat.objects.values():
                if o.version < 0:
                    cat = cat.with_object(ObjectDef(o.kind, o.schema, o.name, o.text, lsn))
            self.catalog = cat

    # -- catalog --------------------------------------------------------------------------

    def create_schema(self, name: str) -> None:
        self.catalog = self.catalog.with_schema(name)
        self._catalog_changed()

    def drop_schema(self, name: str) -> None:
        self.catalog = self.catalog.without_schema(name)
        self._catalog_changed()

    def put_object(self, kind: str, schema: str, name: str, text: str) -> None:
        """Create or replace the object (kind, schema, name); ``text``: its definition as
        compact JSON (``definition_text``)."""
        marker = pending_marker()
        self.catalog = self.catalog.with_object(ObjectDef(kind, schema, name, text, marker))
        self.catalog_version = marker

    def drop_object(self, key: ObjectKey) -> None:
        self.catalog = self.catalog.without_object(key)
        self._catalog_changed()

    def create_table(self, tdef: TableDef) -> None:
        self.catalog = self.catalog.with_table(tdef)
        self.tables[tdef.id] = TableData.new(tdef)
        self._catalog_changed()
        self._rows_changed(tdef.id)

    def drop_table(self, table_id: int) -> list[str]:
        """Returns the files the table owned, to delete once no snapshot needs them."""
        data = self.tables.pop(table_id)
        self.catalog = self.catalog.without_table(table_id)
        self.data_versions.pop(table_id, None)
        self._catalog_changed()
        files = [p.segment.file for p in data.parts]
        files += [p.deletes.file or p.deletes.base_file for p in data.parts
                  if p.deletes.file or p.deletes.base_file]
        return files

    def alter_table(self, tdef: TableDef) -> None:
        data = self.tables[tdef.id]
        old = data.tdef
        self.catalog = self.catalog.with_table(tdef)
        self._catalog_changed()
        self._rows_changed(tdef.id)  # what its rows read as may change (a new default)
        data = data.replace(tdef=tdef)
        old_ids = [c.id for c in old.columns]
        if old_ids != [c.id for c in tdef.columns] and data.buffer.message_count:
            pos = {cid: i for i, cid in enumerate(old_ids)}
            items = []
            for k, row in data.buffer.items():
                items.append((k, tuple(row[pos[c.id]] if c.id in pos else c.default
                                       for c in tdef.columns)))
            data = data.replace(buffer_tree=BeTree.empty().put_many(items))
        old_ix = {ix.name for ix in old.indexes}
        new_ix = {ix.name: ix for ix in tdef.indexes}
        sec = {n: t for n, t in data.secondary.items() if n in new_ix}
        data = data.replace(secondary=sec)
        for name, ix in new_ix.items():
            if name not in old_ix:
                tables = [(p, p.segment.table(self.fs, self.root)) for p in data.parts]
                sec = dict(data.secondary)
                sec[name] = data.build_index(ix, tables)
                data = data.replace(secondary=sec)
        self.tables[tdef.id] = data

    # -- rows -----------------------------------------------------------------------------

    def put(self, table_id: int, rows: pa.Table, keys: list | None = None) -> None:
        self.tables[table_id] = self.tables[table_id].put_rows(rows, keys)
        self._rows_changed(table_id)

    def put_tuples(self, table_id: int, keys: list, tuples: list[tuple]) -> None:
        self.tables[table_id] = self.tables[table_id].put_tuples(keys, tuples)
        self._rows_changed(table_id)

    def insert_tuples(self, table_id: int, tuples: list[tuple]) -> int | None:
        """``TableData.insert_tuples`` (checked ``put_tuples``) on the working copy; returns
        the first row id given out (keyless tables), what the log records."""
        self.tables[table_id], first = self.tables[table_id].insert_tuples(tuples)
        self._rows_changed(table_id)
        return first

    def segment(self, table_id: int, seg: Segment) -> None:
        self.max_segment_id = max(self.max_segment_id, seg.id)
        table = seg.table(self.fs, self.root)
        self.tables[table_id] = self.tables[table_id].add_segment(seg, table)
        self._rows_changed(table_id)

    def delete(self, table_id: int, seg_offsets: dict[int, np.ndarray],
               buffer_keys: list) -> None:
        data = self.tables[table_id]
        need = list(dict.fromkeys(key_columns(data.tdef) + [
            data.tdef.column_by_id(c).physical for ix in data.tdef.indexes for c in ix.columns]))
        seg_rows = {}
        for sid, offs in seg_offsets.items():
            t = data.part(sid).segment.table(self.fs, self.root)
            seg_rows[sid] = to_physical(t, data.tdef, need).take(pa.array(offs))
        self.tables[table_id] = data.delete_rows(seg_offsets, seg_rows, buffer_keys)
        self._rows_changed(table_id)

    # -- replay ---------------------------------------------------------------------------

    def replay(self, payload: bytes) -> None:
        dec = DecodedOps(payload)
        for op in dec.ops:
            k = op["k"]
            if k == "schema":
                self.create_schema(op["name"])
            elif k == "unschema":
                self.drop_schema(op["name"])
            elif k == "object":
                self.put_object(op["kind"], op["s"], op["n"], _text(op["def"]))
            elif k == "unobject":
                self.drop_object((op["kind"], op["s"], op["n"]))
            elif k == "create":
                self.create_table(table_from_json(op["def"]))
            elif k == "drop":
                self.drop_table(op["t"])
            elif k == "alter":
                self.alter_table(table_from_json(op["def"]))
            elif k == "put":
                self.put(op["t"], dec.table(op["rows"]))
            elif k == "rows":
                self._replay_rows(*dec.rows(op["b"]))
            elif k == "seg":
                seg = Segment.from_json(op["seg"])
                self.adopted.add(seg.file)
                self.segment(op["t"], seg)
            elif k == "del":
                offs = {int(s): dec.offsets(b) for s, b in op["segs"].items()}
                keys = []
                if op.get("buf") is not None:
                    kt = dec.table(op["buf"])
                    cols = [kt.column(i).to_pylist() for i in range(kt.num_columns)]
                    keys = cols[0] if len(cols) == 1 else list(zip(*cols, strict=True))
                self.delete(op["t"], offs, keys)
            else:
                raise CorruptionError(f"unknown operation {k!r} in commit record")

    def _replay_rows(self, table_id: int, first_rowid: int | None, ncols: int,
                     tuples: list[tuple]) -> None:
        data = self.tables.get(table_id)
        if data is None or ncols != len(data.tdef.columns) or (
                (first_rowid is None) != bool(data.tdef.primary_key)):
            raise CorruptionError(f"row group for table {table_id} does not match the catalog")
        if first_rowid is None:
            keys = keys_of_tuples(data.tdef, tuples)
        else:
            keys = list(range(first_rowid, first_rowid + len(tuples)))
        self.put_tuples(table_id, keys, tuples)



def _text(definition: object) -> str:
    try:
        return definition_text(definition)
    except KodiakError as exc:
        raise CorruptionError(f"object definition in commit record: {exc}") from exc
