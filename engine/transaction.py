"""Transactions: all-or-nothing groups of changes, built on immutable state.

A transaction starts from the latest state, applies each change to its own copy (cheap:
every structure is persistent, so a copy shares everything it does not change) and logs the
physical operations. Commit appends one WAL record, fsyncs it (shared with concurrent
committers), then publishes the new state by swapping one reference. Rollback, or a failed
statement, simply drops the copy; savepoints are remembered copies.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .apply import Applier
from .catalog import (
    DEFAULT_SCHEMA,
    ROWID,
    ColumnDef,
    IndexDef,
    TableDef,
    definition_text,
    split_name,
    table_to_json,
)
from .errors import (
    AlreadyExists,
    ConstraintError,
    KodiakError,
    NotFound,
    SchemaError,
    StorageError,
)
from .oplog import OpLog
from .predicate import Predicate
from .pyrows import rows_table
from .segment import Segment, SegmentWriter, write_segment
from .shaping import LEAN_ROWS, Data, chunks, conform, small_rows
from .snapshot import Snapshot, State, evaluate_expression, restore_types, to_logical
from .table import index_entries, key_columns, keys_of, show_key

if TYPE_CHECKING:
    from .database import Database



class Transaction:
    def __init__(self, db: Database, state: State, lock: threading.Lock) -> None:
        self._db = db
        self._base = state
        self._w = Applier(state.catalog, state.tables, db.fs, db.root, state.catalog_version,
                          state.data_versions)
        self._log = OpLog()
        self._lock = lock
        self._savepoints: list[tuple[str, Any]] = []
        self._new_files: list[str] = []
        self._dropped_files: list[str] = []
        self.closed = False
        self.logged = False  # set once the commit record is appended to the WAL

    # -- reading ------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Reads that include this transaction's own uncommitted writes. Its versions are
        negative for what the transaction changed (see ``Snapshot.catalog_version``)."""
        self._check_open()
        w = self._w
        state = State(w.catalog, dict(w.tables), self._base.lsn, self._base.version,
                      w.catalog_version, dict(w.data_versions))
        return self._db._register(Snapshot(state, self._db.fs, self._db.root))

    # -- statement atomicity -----------------------------------------------------------

    def _mark(self) -> tuple:
        w = self._w
        return (w.catalog, dict(w.tables), w.catalog_version, dict(w.data_versions),
                len(self._log.ops), len(self._log.blobs), len(self._new_files),
                len(self._dropped_files))

    def _restore(self, mark: tuple) -> None:
        w = self._w
        w.catalog, tables, w.catalog_version, versions, n_ops, n_blobs, n_new, n_drop = mark
        w.tables = dict(tables)
        w.data_versions = dict(versions)
        self._log.truncate(n_ops, n_blobs)
        for f in self._new_files[n_new:]:
            self._db._remove_quietly(f)
        del self._new_files[n_new:]
        del self._dropped_files[n_drop:]

    def _statement(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """Run one statement; if it fails, undo its partial effects and re-raise."""
        self._check_open()
        mark = self._mark()
        try:
            return fn(*args, **kw)
        except OSError as exc:
            self._restore(mark)
            raise StorageError(f"I/O error, statement undone: {exc}") from exc
        except BaseException:
            self._restore(mark)
            raise

    # -- DDL ----------------------------------------------------------------------------

    def create_schema(self, name: str, if_not_exists: bool = False) -> None:
        name = name.lower()
        if name in self._w.catalog.schemas:
            if if_not_exists:
                return
            raise AlreadyExists(f"schema {name!r} already exists")
        self._statement(self._do, "schema", lambda: self._w.create_schema(name), name=name)

    def drop_schema(self, name: str, *, cascade: bool = False, if_exists: bool = False
                    ) -> bool:
        """Drop schema ``name``; with ``cascade`` its tables (with their indexes) and
        objects too, else it must be empty. ``main`` cannot be dropped. Returns False when
        ``if_exists`` found no such schema."""
        self._check_open()
        name = name.lower()
        cat = self._w.catalog
        if name not in cat.schemas:
            if if_exists:
                return False
            raise NotFound.named("schema", name, cat.schemas)
        if name == DEFAULT_SCHEMA:
            raise SchemaError(f"schema {DEFAULT_SCHEMA!r} cannot be dropped")
        held = cat.schema_contents(name)
        if held and not cascade:
            raise ConstraintError(f"schema {name!r} is not empty: it holds {', '.join(held)}"
                                  "; drop them first, or drop it with cascade")
        self._statement(self._drop_schema, name)
        return True

    def _drop_schema(self, name: str) -> None:
        """The schema's tables, objects, then itself: each a logged physical operation."""
        cat = self._w.catalog
        for td in [td for td in cat.tables.values() if td.schema_name == name]:
            self._dropped_files.extend(self._w.drop_table(td.id))
            self._log.add("drop", t=td.id)
        for o in cat.objects_in(schema=name):
            self._w.drop_object(o.key)
            self._log.add("unobject", kind=o.kind, s=o.schema, n=o.name)
        self._do("unschema", lambda: self._w.drop_schema(name), name=name)

    def create_object(self, kind: str, schema: str, name: str, definition: dict, *,
                      replace: bool = False, if_not_exists: bool = False) -> None:
        """Create the catalog object (kind, schema, name) with ``definition``, a dict that
        must survive a JSON round trip unchanged. Names are stored as given. An existing
        object is replaced with ``replace``, kept with ``if_not_exists``, else an error."""
        self._check_open()
        if not isinstance(kind, str) or not kind:
            raise SchemaError(f"an object kind must be a non-empty string, not {kind!r}")
        if not isinstance(name, str) or not name:
            raise SchemaError(f"an object name must be a non-empty string, not {name!r}")
        cat = self._w.catalog
        if schema not in cat.schemas:
            raise NotFound.named("schema", str(schema), cat.schemas)
        if (kind, schema, name) in cat.objects and not replace:
            if if_not_exists:
                return
            raise AlreadyExists(f"{kind} {schema}.{name} already exists")
        text = definition_text(definition)
        self._statement(self._do, "object",
                        lambda: self._w.put_object(kind, schema, name, text),
                        kind=kind, s=schema, n=name, **{"def": json.loads(text)})

    def drop_object(self, kind: str, schema: str, name: str, *, if_exists: bool = False
                    ) -> bool:
        """Drop the catalog object (kind, schema, name); False if ``if_exists`` found none."""
        self._check_open()
        key = (kind, schema, name)
        if key not in self._w.catalog.objects:
            if if_exists:
                return False
            raise NotFound(f"{kind} {schema}.{name} does not exist")
        self._statement(self._do, "unobject", lambda: self._w.drop_object(key),
                        kind=kind, s=schema, n=name)
        return True

    def _do(self, op: str, action: Any, **fields: Any) -> None:
        action()
        self._log.add(op, **fields)

    def create_table(self, name: str, schema: pa.Schema, primary_key: Sequence[str] = (),
                     not_null: Iterable[str] = (), defaults: dict[str, Any] | None = None,
                     unique: Iterable[Sequence[str]] = (), if_not_exists: bool = False) -> bool:
        """Returns False when ``if_not_exists`` found the table already there."""
        self._check_open()
        sname, tname = split_name(name)
        if self._w.catalog.find(name) is not None:
            if if_not_exists:
                return False
            raise AlreadyExists(f"table {sname}.{tname!r} already exists")
        if sname not in self._w.catalog.schemas:
            raise NotFound.named("schema", sname, self._w.catalog.schemas)
        names = [f.name.lower() for f in schema]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise SchemaError(f"column {sorted(dup)[0]!r} specified more than once")
        if not names:
            raise SchemaError("a table needs at least one column")
        defaults = {k.lower(): v for k, v in (defaults or {}).items()}
        nn = {n.lower() for n in not_null} | {n.lower() for n in primary_key}
        for n in list(nn) + list(defaults) + [c.lower() for c in primary_key]:
            if n not in names:
                raise NotFound.named("column", n, names)
        cols = []
        for i, f in enumerate(schema):
            n = f.name.lower()
            default = defaults.get(n)
            if default is not None:
                try:
                    pa.array([default], f.type)
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                    raise SchemaError(
                        f"default {default!r} does not fit column {n!r} of type {f.type}"
                    ) from exc
            cols.append(ColumnDef(i, n, f.type, f.nullable and n not in nn, default))
        ids = {c.name: c.id for c in cols}
        for c in [*primary_key, *(c for u in unique for c in u)]:
            if c.lower() in ids:
                _check_key_type(cols[ids[c.lower()]])
        pk = tuple(ids[c.lower()] for c in primary_key)
        if len(set(pk)) != len(pk):
            raise SchemaError("a primary key column is listed twice")
        indexes = []
        for j, u in enumerate(unique):
            uc = tuple(ids[c.lower()] if c.lower() in ids else
                       _raise(NotFound.named("column", c, names)) for c in u)
            indexes.append(IndexDef(f"{tname}_unique_{j}", uc, True))
        tdef = TableDef(self._w.catalog.next_table_id, sname, tname, tuple(cols), pk,
                        tuple(indexes), len(cols))
        self._statement(self._do, "create", lambda: self._w.create_table(tdef),
                        **{"def": table_to_json(tdef)})
        return True

    def drop_table(self, name: str, if_exists: bool = False) -> bool:
        self._check_open()
        td = self._w.catalog.find(name)
        if td is None:
            if if_exists:
                return False
            self._w.catalog.get(name)  # raises NotFound with suggestions

        def act() -> None:
            self._dropped_files.extend(self._w.drop_table(td.id))

        self._statement(self._do, "drop", act, t=td.id)
        return True

    def _alter(self, tdef: TableDef) -> None:
        self._statement(self._do, "alter", lambda: self._w.alter_table(tdef),
                        **{"def": table_to_json(tdef)})

    def rename_table(self, name: str, new_name: str) -> None:
        td = self._table(name)
        sname, tname = split_name(new_name)
        if sname != td.schema_name and "." in new_name:
            raise SchemaError("a table cannot be renamed into another schema")
        if self._w.catalog.find(f"{td.schema_name}.{tname}") is not None:
            raise AlreadyExists(f"table {td.schema_name}.{tname!r} already exists")
        self._alter(td.replace(name=tname))

    def add_column(self, name: str, field: pa.Field, default: Any = None) -> None:
        td = self._table(name)
        cname = field.name.lower()
        if td.has_column(cname):
            raise AlreadyExists(f"column {cname!r} already exists in {td.qualified!r}")
        if not field.nullable and default is None and self._w.tables[td.id].row_count:
            raise ConstraintError(
                f"cannot add NOT NULL column {cname!r} without a default to a table with rows")
        if default is not None:
            try:
                pa.array([default], field.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise SchemaError(f"default {default!r} does not fit type {field.type}") from exc
        col = ColumnDef(td.next_column_id, cname, field.type, field.nullable, default)
        self._alter(td.replace(columns=(*td.columns, col), next_column_id=col.id + 1))

    def drop_column(self, name: str, column: str) -> None:
        td = self._table(name)
        col = td.column(column)
        if col.id in td.primary_key:
            raise SchemaError(f"cannot drop primary-key column {col.name!r}")
        if len(td.columns) == 1:
            raise SchemaError(f"cannot drop {col.name!r}, the only column of {td.qualified!r}")
        indexes = tuple(ix for ix in td.indexes if col.id not in ix.columns)
        self._alter(td.replace(columns=tuple(c for c in td.columns if c.id != col.id),
                               indexes=indexes))

    def rename_column(self, name: str, old: str, new: str) -> None:
        td = self._table(name)
        col = td.column(old)
        if td.has_column(new):
            raise AlreadyExists(f"column {new.lower()!r} already exists in {td.qualified!r}")
        cols = tuple(c.__class__(c.id, new.lower(), c.type, c.nullable, c.default)
                     if c.id == col.id else c for c in td.columns)
        self._alter(td.replace(columns=cols))

    def create_index(self, index_name: str, table: str, columns: Sequence[str],
                     unique: bool = False, if_not_exists: bool = False) -> bool:
        td = self._table(table)
        iname = index_name.lower()
        if self._w.catalog.find_index(iname) is not None:
            if if_not_exists:
                return False
            raise AlreadyExists(f"index {iname!r} already exists")
        if not columns:
            raise SchemaError("an index needs at least one column")
        for c in columns:
            _check_key_type(td.column(c))
        ids = tuple(td.column(c).id for c in columns)
        self._alter(td.replace(indexes=(*td.indexes, IndexDef(iname, ids, unique))))
        return True

    def drop_index(self, index_name: str, if_exists: bool = False) -> bool:
        found = self._w.catalog.find_index(index_name)
        if found is None:
            if if_exists:
                return False
            raise NotFound(f"index {index_name.lower()!r} does not exist")
        td, ix = found
        self._alter(td.replace(indexes=tuple(i for i in td.indexes if i.name != ix.name)))
        return True

    # -- DML ----------------------------------------------------------------------------

    def insert(self, name: str, data: Data | list) -> int:
        """Insert rows: an Arrow table, record batch or reader (columns by name), or a list
        of Python tuples (values in column order). Returns the row count."""
        td = self._table(name)
        return self._statement(self._insert, td, data)

    def insert_rows(self, name: str, data: Data) -> pa.Table:
        """``insert``, answering with the rows as stored (defaults filled in, the table's
        column names and types): what ``INSERT ... RETURNING`` reports."""
        td = self._table(name)
        table = data if isinstance(data, pa.Table) else pa.Table.from_batches(
            [data] if isinstance(data, pa.RecordBatch) else list(data))
        rows = conform(td, table)  # checked before anything is written
        self._statement(self._insert, td, rows.rename_columns(
            [c.name for c in td.columns]))
        return restore_types(to_logical(rows, list(td.columns)), td.arrow_schema)

    def _insert(self, td: TableDef, data: Data | list) -> int:
        tuples = small_rows(td, data)
        if tuples is not None:  # a few rows in the table's shape: the single-row path
            if tuples:
                first = self._w.insert_tuples(td.id, tuples)
                self._log.add_rows(td.id, tuples, len(td.columns), first)
            return len(tuples)
        if isinstance(data, list):  # Python rows of other types, or many of them
            data = rows_table(td, data)
        if isinstance(data, pa.RecordBatchReader) and not td.primary_key \
                and not any(ix.unique for ix in td.indexes):
            return self._insert_stream(td, data)
        total = 0
        for chunk in chunks(data, self._db.segment_rows):
            rows = conform(td, chunk)
            total += self._insert_rows(td, rows)
        return total

    def _insert_rows(self, td: TableDef, rows: pa.Table) -> int:
        """Insert conformed rows (``conform``'s physical layout)."""
        n = rows.num_rows
        if n == 0:
            return 0
        if n < self._db.bulk_rows:
            cols = [rows.column(i).to_pylist() for i in range(len(td.columns))]
            return self._put_columns(td, cols, n, rows)
        data = self._w.tables[td.id]
        if not td.primary_key:
            start = data.next_rowid
            rows = rows.append_column(pa.field(ROWID, pa.int64(), False),
                                      pa.array(np.arange(start, start + n, dtype=np.int64)))
        else:  # segments of keyed tables are sorted by key
            rows = rows.sort_by([(c, "ascending") for c in key_columns(td)])
            self._check_sorted_keys(td, rows)
        self._check_unique(td, rows)
        seg = write_segment(self._db.fs, self._db.root, self._db._next_segment_id(), rows,
                            sync_dir=False)  # once for all new files, at commit
        self._adopt_segment(td, seg)
        return n

    def _insert_stream(self, td: TableDef, data: pa.RecordBatchReader) -> int:
        """A bulk load of a keyless table: each batch goes into the open segment file as it
        arrives (the upload's next batch is received meanwhile), rather than gathered into a
        whole segment first; a new file every ``segment_rows`` rows. A stream of fewer than
        ``bulk_rows`` rows goes to the write buffer like any small insert."""
        head: list[pa.RecordBatch] = []
        count = 0
        for batch in data:
            head.append(batch)
            count += batch.num_rows
            if count >= self._db.bulk_rows:
                break
        if count < self._db.bulk_rows:
            return self._insert_rows(td, conform(td, pa.Table.from_batches(head, data.schema)))
        seg_schema = td.data_schema.append(pa.field(ROWID, pa.int64(), False))
        writer: SegmentWriter | None = None
        total = 0
        try:
            for batch in itertools.chain(head, data):
                if writer is None:
                    start = self._w.tables[td.id].next_rowid
                    writer = SegmentWriter(self._db.fs, self._db.root,
                                           self._db._next_segment_id(), seg_schema)
                rows = conform(td, pa.Table.from_batches([batch], data.schema))
                first = start + writer.rows + writer.held
                rows = rows.append_column(seg_schema.field(ROWID), pa.array(
                    np.arange(first, first + rows.num_rows, dtype=np.int64)))
                for b in rows.to_batches():
                    writer.write(b)
                total += rows.num_rows
                if writer.rows + writer.held >= self._db.segment_rows:
                    self._adopt_segment(td, writer.finish(sync_dir=False))
                    writer = None
            if writer is not None:
                self._adopt_segment(td, writer.finish(sync_dir=False))
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        return total

    def _adopt_segment(self, td: TableDef, seg: Segment) -> None:
        """A written segment joins the table, to be named by the commit record."""
        self._new_files.append(seg.file)
        self._w.segment(td.id, seg)
        self._log.add("seg", t=td.id, seg=seg.to_json())

    def _put_columns(self, td: TableDef, cols: list[list], n: int, rows: pa.Table) -> int:
        """Put rows given as per-column value lists into the write buffer and log them:
        lean row encoding when the table's types allow it, else ``rows`` as Arrow IPC."""
        tuples = list(zip(*cols, strict=True))
        first = self._w.insert_tuples(td.id, tuples)
        if td.lean and n <= LEAN_ROWS:
            self._log.add_rows(td.id, tuples, len(td.columns), first)
        else:
            if first is not None:
                rows = rows.append_column(pa.field(ROWID, pa.int64(), False),
                                          pa.array(np.arange(first, first + n, dtype=np.int64)))
            self._log.add("put", t=td.id, rows=self._log.blob_table(rows))
        return n

    def _check_sorted_keys(self, td: TableDef, rows: pa.Table) -> None:
        """Primary keys of key-sorted ``rows`` must be unique and absent from the table.

        Checked vectorised (equal neighbours); a batch whose key range lies outside the
        tree's is not probed key by key.
        """
        kc = key_columns(td)
        n = rows.num_rows
        if n > 1:
            same = None
            for c in kc:
                col = rows.column(c)
                eq = pc.equal(col.slice(1), col.slice(0, n - 1))
                same = eq if same is None else pc.and_(same, eq)
            if pc.any(same).as_py():
                at = int(np.flatnonzero(np.asarray(same))[0])
                dup = keys_of(td, rows.slice(at, 1))[0]
                raise ConstraintError(
                    f"duplicate primary key {_show(dup)} in table {td.qualified!r}")
        pk = self._w.tables[td.id].pk
        assert pk is not None
        if len(pk) == 0 or n == 0:
            return
        lo, hi = keys_of(td, rows.slice(0, 1))[0], keys_of(td, rows.slice(n - 1, 1))[0]
        if lo > pk.max_key() or hi < pk.min_key():
            return
        keys = keys_of(td, rows)
        for k, loc in zip(keys, pk.get_many(keys), strict=True):
            if loc is not None:
                raise ConstraintError(
                    f"duplicate primary key {_show(k)} in table {td.qualified!r}")

    def _check_unique(self, td: TableDef, rows: pa.Table) -> None:
        if not any(ix.unique for ix in td.indexes):
            return
        keys = keys_of(td, rows)
        self._w.tables[td.id].check_unique_entries(
            [(ix, index_entries(td, ix, rows, keys)) for ix in td.indexes if ix.unique])

    def delete(self, name: str, predicate: Predicate | pc.Expression | None = None) -> int:
        td = self._table(name)
        return self._statement(self._delete_where, td, predicate)

    def delete_rows(self, name: str, predicate: Predicate | pc.Expression | None = None
                    ) -> pa.Table:
        """``delete``, answering with the deleted rows (``DELETE ... RETURNING``)."""
        td = self._table(name)
        gone: list[pa.Table] = []
        self._statement(self._delete_where, td, predicate, gone)
        return restore_types(pa.concat_tables(gone) if gone else
                              td.stored_schema.empty_table(), td.arrow_schema)

    def _delete_where(self, td: TableDef, predicate: Any,
                      gone: list[pa.Table] | None = None) -> int:
        snap = self._peek()
        seg_offsets: dict[int, list[np.ndarray]] = {}
        buffer_keys: list = []
        cols = None if gone is not None else []
        for piece in snap.pieces(td.qualified, predicate, columns=cols):
            if gone is not None:
                gone.append(to_logical(piece.rows, list(td.columns)))
            if piece.part is None:
                buffer_keys.extend(keys_of(td, piece.rows))
            else:
                seg_offsets.setdefault(piece.part.segment.id, []).append(piece.offsets)
        return self._delete_located(td, {s: np.concatenate(o) for s, o in seg_offsets.items()},
                                    buffer_keys)

    def _delete_located(self, td: TableDef, seg_offsets: dict[int, np.ndarray],
                        buffer_keys: list) -> int:
        n = sum(len(o) for o in seg_offsets.values()) + len(buffer_keys)
        if n == 0:
            return 0
        self._w.delete(td.id, seg_offsets, buffer_keys)
        buf = None
        if buffer_keys:
            kc = key_columns(td)
            phys = td.physical_schema
            if len(kc) == 1:
                kt = pa.table({kc[0]: pa.array(buffer_keys, phys.field(kc[0]).type)})
            else:
                cols = list(zip(*buffer_keys, strict=True))
                kt = pa.table({c: pa.array(cols[i], phys.field(c).type)
                               for i, c in enumerate(kc)})
            buf = self._log.blob_table(kt)
        self._log.add("del", t=td.id,
                      segs={str(s): self._log.blob_offsets(o) for s, o in seg_offsets.items()},
                      buf=buf)
        return n

    def update(self, name: str, assignments: dict[str, pc.Expression],
               predicate: Predicate | pc.Expression | None = None) -> int:
        td = self._table(name)
        return self._statement(self._update, td, assignments, predicate)

    def update_rows(self, name: str, assignments: dict[str, pc.Expression],
                    predicate: Predicate | pc.Expression | None = None) -> pa.Table:
        """``update``, answering with the rows as they are now (``UPDATE ... RETURNING``)."""
        td = self._table(name)
        changed: list[pa.Table] = []
        self._statement(self._update, td, assignments, predicate, changed)
        return restore_types(changed[0] if changed else td.stored_schema.empty_table(),
                              td.arrow_schema)

    def _update(self, td: TableDef, assignments: dict[str, pc.Expression],
                predicate: Any, changed: list[pa.Table] | None = None) -> int:
        targets = {td.column(c).name: e for c, e in assignments.items()}
        snap = self._peek()
        old_parts = []
        seg_offsets: dict[int, list[np.ndarray]] = {}
        buffer_keys: list = []
        for piece in snap.pieces(td.qualified, predicate):
            old_parts.append(piece.rows)
            if piece.part is None:
                buffer_keys.extend(keys_of(td, piece.rows))
            else:
                seg_offsets.setdefault(piece.part.segment.id, []).append(piece.offsets)
        if not old_parts:
            return 0
        old = pa.concat_tables([t.select([c.physical for c in td.columns]) for t in old_parts])
        logical = old.rename_columns([c.name for c in td.columns])
        new_cols = []
        for c in td.columns:
            if c.name in targets:
                expr = targets[c.name]
                value = (evaluate_expression(logical, expr) if isinstance(expr, pc.Expression)
                         else pa.array([expr] * logical.num_rows))
                new_cols.append(value)
            else:
                new_cols.append(logical.column(c.name))
        new = pa.table(new_cols, names=[c.name for c in td.columns])
        self._delete_located(td, {s: np.concatenate(o) for s, o in seg_offsets.items()},
                             buffer_keys)
        stored = conform(td, new)
        self._insert_rows(td, stored)
        if changed is not None:
            changed.append(to_logical(stored, list(td.columns)))
        return old.num_rows

    def replace(self, name: str, keys: pa.Table, rows: Data | None = None) -> int:
        """Delete the rows whose primary keys are ``keys``' rows (key columns by name), then
        insert ``rows``: one statement, all or nothing. Returns how many rows were deleted.

        What ``UPDATE ... FROM`` (the changed rows, keys possibly changed too) and
        ``DELETE ... USING`` (no rows) come down to once a join has picked the rows."""
        td = self._table(name)
        if not td.primary_key:
            raise SchemaError(f"table {td.qualified!r} has no primary key to replace rows by")
        return self._statement(self._replace, td, keys, rows)

    def _replace(self, td: TableDef, keys: pa.Table, rows: Data | None) -> int:
        names = list(td.key_names)
        missing = [n for n in names if n not in keys.column_names]
        if missing:
            raise SchemaError(f"replace: the keys lack primary-key column(s) {missing}")
        cols = [keys.column(n).to_pylist() for n in names]
        probe = cols[0] if len(cols) == 1 else list(zip(*cols, strict=True))
        seg_offsets: dict[int, list[np.ndarray]] = {}
        buffer_keys: list = []
        for piece in self._peek().pieces_at(td.qualified, probe):
            if piece.part is None:
                buffer_keys.extend(keys_of(td, piece.rows))
            else:
                seg_offsets.setdefault(piece.part.segment.id, []).append(piece.offsets)
        n = self._delete_located(td, {s: np.concatenate(o) for s, o in seg_offsets.items()},
                                 buffer_keys)
        if rows is not None:
            self._insert(td, rows)
        return n

    def upsert(self, name: str, data: Data, update_columns: Sequence[str] | None = None) -> int:
        td = self._table(name)
        if not td.primary_key:
            raise SchemaError(f"upsert needs a primary key, and {td.qualified!r} has none")
        return self._statement(self._upsert, td, data, update_columns)

    def _upsert(self, td: TableDef, data: Data, update_columns: Sequence[str] | None) -> int:
        total = 0
        if update_columns is None:
            update = [c.name for c in td.columns if c.id not in td.primary_key]
        else:
            update = [td.column(c).name for c in update_columns]
        for chunk in chunks(data, self._db.segment_rows):
            rows = conform(td, chunk)
            keys = keys_of(td, rows)
            if len(set(keys)) != len(keys):
                raise ConstraintError("an upsert cannot change the same row twice: duplicate "
                                      f"key in the input for {td.qualified!r}")
            pk = self._w.tables[td.id].pk
            assert pk is not None
            hits = np.array([loc is not None for loc in pk.get_many(keys)], dtype=bool)
            fresh = rows.filter(pa.array(~hits))
            total += self._insert_rows(td, fresh)
            if not hits.any() or not update:
                continue
            incoming = rows.filter(pa.array(hits))
            key_names = list(td.key_names)
            snap = self._peek()
            logical_in = incoming.select([c.physical for c in td.columns]).rename_columns(
                [c.name for c in td.columns])
            old = snap.lookup(td.qualified, logical_in.select(key_names))
            order = [(n, "ascending") for n in key_names]
            old = old.sort_by(order)
            logical_in = logical_in.sort_by(order)
            merged = pa.table(
                [logical_in.column(c.name) if c.name in update else old.column(c.name)
                 for c in td.columns], names=[c.name for c in td.columns])
            groups = self._w.tables[td.id].locations(keys_of(td, incoming))
            buffered = groups.pop(-1, [])
            self._delete_located(td, {s: np.asarray(sorted(o), dtype=np.int64)
                                      for s, o in groups.items()}, buffered)
            total += self._insert_rows(td, conform(td, merged))
        return total

    # -- savepoints and the end ------------------------------------------------------------

    def savepoint(self, name: str) -> None:
        self._check_open()
        self._savepoints.append((name.lower(), self._mark()))

    def _find_savepoint(self, name: str) -> int:
        for i in range(len(self._savepoints) - 1, -1, -1):
            if self._savepoints[i][0] == name.lower():
                return i
        raise NotFound(f"savepoint {name!r} does not exist")

    def rollback_to(self, name: str) -> None:
        self._check_open()
        i = self._find_savepoint(name)
        self._restore(self._savepoints[i][1])
        del self._savepoints[i + 1:]

    def release(self, name: str) -> None:
        self._check_open()
        del self._savepoints[self._find_savepoint(name):]

    def commit(self) -> None:
        self._check_open()
        self.closed = True
        try:
            if self._new_files:  # their directory entries are durable before the log names them
                self._sync_segments_dir()
            self._db._commit(self, self._w, self._log, self._dropped_files)
        except BaseException:
            # Once the record is in the log (even if its fsync failed, and it may still have
            # reached the disk) recovery may adopt these files: only an unlogged commit may
            # take them back.
            if not self.logged:
                for f in self._new_files:
                    self._db._remove_quietly(f)
            raise

    def _sync_segments_dir(self) -> None:
        """fsync the segments directory; if that fails the commit ends here, so the writer
        lock (otherwise released by the database's commit) is released here."""
        try:
            self._db.fs.sync_dir(os.path.join(self._db.root, "segments"))
        except BaseException as exc:
            self._lock.release()
            if isinstance(exc, OSError):
                raise StorageError(f"I/O error, commit undone: {exc}") from exc
            raise

    def rollback(self) -> None:
        if self.closed:
            return
        self.closed = True
        for f in self._new_files:
            self._db._remove_quietly(f)
        self._lock.release()

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.closed:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    # -- helpers ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise KodiakError("transaction is already committed or rolled back")

    def _table(self, name: str) -> TableDef:
        self._check_open()
        return self._w.catalog.get(name)

    def _peek(self) -> Snapshot:
        w = self._w
        state = State(w.catalog, w.tables, self._base.lsn, self._base.version,
                      w.catalog_version, w.data_versions)
        return Snapshot(state, self._db.fs, self._db.root)


def _check_key_type(col: ColumnDef) -> None:
    """A key's (primary key, unique, index) column holds values the B+ trees can compare:
    not lists, structs or maps."""
    if pa.types.is_nested(col.type):
        raise SchemaError(f"column {col.name!r} of type {col.type} cannot be part of a key "
                          "or an index")


def _raise(exc: Exception) -> Any:
    raise exc


_show = show_key


__all__ = ["Transaction", "DEFAULT_SCHEMA"]
