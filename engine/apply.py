"""Applying physical operations to a database state.

Transactions call these as they go and log the same operations; recovery calls them while
replaying the WAL. One code path for both is what makes replay reproduce exactly what was
acknowledged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .betree import BeTree
from .catalog import Catalog, TableDef, _table_from_json
from .errors import CorruptionError
from .oplog import DecodedOps
from .segment import Segment
from .snapshot import _physical
from .table import TableData, key_columns, keys_of_tuples

if TYPE_CHECKING:
    from .fileio import FileSystem


class Applier:
    """A mutable working copy of (catalog, tables); every value it holds is immutable."""

    def __init__(self, catalog: Catalog, tables: dict[int, TableData], fs: FileSystem,
                 root: str) -> None:
        self.catalog = catalog
        self.tables = dict(tables)
        self.fs = fs
        self.root = root
        self.max_segment_id = 0
        self.adopted: set[str] = set()  # segment files adopted by replayed log records

    def create_schema(self, name: str) -> None:
        self.catalog = self.catalog.with_schema(name)

    def create_table(self, tdef: TableDef) -> None:
        self.catalog = self.catalog.with_table(tdef)
        self.tables[tdef.id] = TableData.new(tdef)

    def drop_table(self, table_id: int) -> list[str]:
        """Returns the files the table owned, to delete once no snapshot needs them."""
        data = self.tables.pop(table_id)
        self.catalog = self.catalog.without_table(table_id)
        files = [p.segment.file for p in data.parts]
        files += [p.deletes.file or p.deletes.base_file for p in data.parts
                  if p.deletes.file or p.deletes.base_file]
        return files

    def alter_table(self, tdef: TableDef) -> None:
        data = self.tables[tdef.id]
        old = data.tdef
        self.catalog = self.catalog.with_table(tdef)
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

    def put(self, table_id: int, rows: pa.Table, keys: list | None = None) -> None:
        self.tables[table_id] = self.tables[table_id].put_rows(rows, keys)

    def put_tuples(self, table_id: int, keys: list, tuples: list[tuple]) -> None:
        self.tables[table_id] = self.tables[table_id].put_tuples(keys, tuples)

    def segment(self, table_id: int, seg: Segment) -> None:
        self.max_segment_id = max(self.max_segment_id, seg.id)
        table = seg.table(self.fs, self.root)
        self.tables[table_id] = self.tables[table_id].add_segment(seg, table)

    def delete(self, table_id: int, seg_offsets: dict[int, np.ndarray],
               buffer_keys: list) -> None:
        data = self.tables[table_id]
        need = list(dict.fromkeys(key_columns(data.tdef) + [
            data.tdef.column_by_id(c).physical for ix in data.tdef.indexes for c in ix.columns]))
        seg_rows = {}
        for sid, offs in seg_offsets.items():
            t = data.part(sid).segment.table(self.fs, self.root)
            seg_rows[sid] = _physical(t, data.tdef, need).take(pa.array(offs))
        self.tables[table_id] = data.delete_rows(seg_offsets, seg_rows, buffer_keys)

    # -- replay ---------------------------------------------------------------------------

    def replay(self, payload: bytes) -> None:
        dec = DecodedOps(payload)
        for op in dec.ops:
            k = op["k"]
            if k == "schema":
                self.create_schema(op["name"])
            elif k == "create":
                self.create_table(_table_from_json(op["def"]))
            elif k == "drop":
                self.drop_table(op["t"])
            elif k == "alter":
                self.alter_table(_table_from_json(op["def"]))
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

