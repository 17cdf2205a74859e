"""Reading one consistent state: scans, key lookups and the row matching DML needs.

A Snapshot wraps an immutable database state (catalog plus every table's segments, deletion
vectors, write buffer and indexes). Nothing it references is ever modified, so a stream can
read it batch by batch for as long as it likes while writers publish newer states.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import bounds
from .catalog import ROWID, Catalog, ColumnDef, ObjectDef, TableDef, storage_type
from .errors import CorruptionError, SchemaError
from .predicate import And, Compare, In, Predicate, key_bounds
from .table import BUFFERED, OFFSET_BITS, TOP, Part, TableData, key_columns, split_location

if TYPE_CHECKING:
    from .fileio import FileSystem
    from .segment import Segment

INDEX_FRACTION = 0.25  # use the B+ tree for a key range expected to hold less than this
# Scans of a table whose segments add up to more than SCAN_OWN_MAP_TABLE_BYTES read each of its
# segments of at least SCAN_OWN_MAP_BYTES through a memory mapping of their own (see
# ``_scan_view``). Other segments are read through the segment's cached mapping, which is
# cheaper: no new mapping per scan, and no page faults again for pages read before (a
# fresh mapping made TPC-H SF1 Q6 about a third slower).
SCAN_OWN_MAP_BYTES = 64 << 20
SCAN_OWN_MAP_TABLE_BYTES = 2 << 30


@dataclass(frozen=True)
class IndexInfo:
    name: str
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class StorageInfo:
    segments: int
    segment_bytes: int
    deleted_rows: int  # in segments, awaiting compaction
    buffered_rows: int  # in the write buffer, awaiting a checkpoint


@dataclass(frozen=True)
class TableInfo:
    name: str
    schema: pa.Schema
    primary_key: tuple[str, ...]
    not_null: frozenset[str]
    defaults: dict[str, Any]
    unique: tuple[tuple[str, ...], ...]
    indexes: dict[str, IndexInfo]
    row_count: int


@dataclass(frozen=True)
class ObjectInfo:
    """A catalog object as a snapshot sees it. ``definition`` is the caller's own copy;
    ``version`` is the LSN of the commit that last created or replaced the object (negative
    inside the transaction doing it, until it commits)."""

    kind: str
    schema: str
    name: str
    definition: dict[str, Any]
    version: int


class State(NamedTuple):
    """Everything a reader needs; replaced wholesale by each commit (a named tuple: built
    once per commit, so its construction cost is on every single-row commit's path).

    ``version`` numbers published states within this process (file lifetimes);
    ``catalog_version`` and ``data_versions`` (table id → version) are the LSNs of the
    commits that last changed the catalog and each table's rows: persistent, and negative
    (pending) inside a transaction for what it changed."""

    catalog: Catalog
    tables: dict[int, TableData]
    lsn: int
    version: int
    catalog_version: int
    data_versions: dict[int, int]


@dataclass(frozen=True)
class KeyRange:
    """A primary-key range and how many keys the B+ tree holds in it."""

    lo: Any
    hi: Any
    lo_inc: bool
    hi_inc: bool
    count: int


@dataclass
class Piece:
    """A slice of a table's live rows, with where they came from (for DML)."""

    part: Part | None  # None: the write buffer
    offsets: np.ndarray | None  # row offsets within the segment (None for the buffer)
    rows: pa.Table  # physical columns
    exact: bool = False  # exactly the rows matching the predicate (no filter needed)


class Snapshot:
    def __init__(self, state: State, fs: FileSystem, root: str) -> None:
        self.state = state
        self.fs = fs
        self.root = root

    @property
    def lsn(self) -> int:
        return self.state.lsn

    # -- versions -----------------------------------------------------------------------

    @property
    def catalog_version(self) -> int:
        """The LSN of the commit that last changed the catalog (schemas, tables, columns,
        indexes, objects); 0 for a new database. Negative in a transaction's snapshot once
        the transaction changed the catalog: a value no commit has."""
        return self.state.catalog_version

    def data_version(self, name: str) -> int:
        """The LSN of the commit that last wrote the rows of table ``name`` (or created or
        altered it). Negative in a transaction's snapshot once the transaction wrote it."""
        return self.state.data_versions.get(self.state.catalog.get(name).id, 0)

    # -- catalog ------------------------------------------------------------------------

    def schemas(self) -> list[str]:
        return sorted(self.state.catalog.schemas)

    def tables(self, schema: str | None = None) -> list[str]:
        return self.state.catalog.table_names(schema)

    def has_table(self, name: str) -> bool:
        return self.state.catalog.find(name) is not None

    def objects(self, kind: str | None = None, schema: str | None = None
                ) -> list[ObjectInfo]:
        """Catalog objects of ``kind`` in ``schema`` (None: any), sorted by kind, schema,
        name."""
        return [_object_info(o) for o in self.state.catalog.objects_in(kind, schema)]

    def object(self, kind: str, schema: str, name: str) -> ObjectInfo | None:
        o = self.state.catalog.objects.get((kind, schema, name))
        return None if o is None else _object_info(o)

    def data(self, name: str) -> TableData:
        return self.state.tables[self.state.catalog.get(name).id]

    def storage(self, name: str) -> StorageInfo:
        """Where a table's rows live: segments, their bytes, deleted and buffered rows."""
        data = self.data(name)
        parts = data.parts
        return StorageInfo(len(parts), sum(p.segment.size for p in parts),
                           sum(len(p.deletes) for p in parts), data.buffer_rows)

    def column_bounds(self, name: str, column: str, *, exact: bool = False
                      ) -> tuple[Any, Any] | None:
        """The least and greatest non-NULL values of a column (``bounds.column_bounds``)."""
        return bounds.column_bounds(self.data(name), column, exact=exact)

    def reached_by(self, name: str, column: str, n: int, desc: bool) -> Any | None:
        """A value at least ``n`` live rows of a column reach (``bounds.reached_by``)."""
        return bounds.reached_by(self.data(name), column, n, desc)

    def table(self, name: str) -> TableInfo:
        td = self.state.catalog.get(name)
        data = self.state.tables[td.id]
        return TableInfo(
            name=td.qualified,
            schema=td.arrow_schema,
            primary_key=td.key_names,
            not_null=frozenset(c.name for c in td.columns if not c.nullable),
            defaults={c.name: c.default for c in td.columns if c.default is not None},
            unique=tuple(tuple(td.column_by_id(i).name for i in ix.columns)
                         for ix in td.indexes if ix.unique),
            indexes={ix.name: IndexInfo(ix.name, tuple(td.column_by_id(i).name
                                                       for i in ix.columns), ix.unique)
                     for ix in td.indexes},
            row_count=data.row_count,
        )

    # -- scans --------------------------------------------------------------------------

    def scan(self, name: str, columns: list[str] | None = None,
             predicate: Predicate | pc.Expression | None = None,
             batch_size: int = 65536, stored_types: bool = False) -> pa.RecordBatchReader:
        """Stream the live rows of ``name``: projection, filtering, pruning, index use.

        ``stored_types``: view columns come as stored (``string_view`` as ``large_string``,
        ``binary_view`` as ``large_binary``), for a reader that wants another type anyway:
        the cast to the view type costs about 4 ns a value, one from it to ``string`` 6 ns,
        while ``large_string`` to ``string`` only narrows the offsets."""
        data = self.data(name)
        tdef = data.tdef
        out, schema = _scan_columns(tdef, columns, stored_types)
        pred_cols = _predicate_columns(tdef, predicate)
        need = _dedupe(out + pred_cols)
        out_names = [c.name for c in out]
        # The B+ tree returns exactly the keys a key-only predicate selects: nothing to filter
        filtered = predicate is not None and not _answered_by_key(tdef, predicate) \
            and not _answered_by_index(tdef, predicate)

        physical, logical = [c.physical for c in need], [c.name for c in need]
        extra = logical != out_names  # columns read for the predicate only

        def batches() -> Iterator[pa.RecordBatch]:
            for piece in self._pieces(data, need, predicate):
                t = piece.rows.select(physical).rename_columns(logical)  # (to_logical)
                if filtered and not piece.exact:
                    if not isinstance(predicate, Predicate):
                        t = t.filter(predicate)
                    elif not all_true(mask := predicate.mask(t)):
                        t = t.filter(mask)  # (a filter costs ~0.1 ms even on one row)
                if t.num_rows == 0:
                    continue
                t = restore_types(t.select(out_names) if extra else t, schema)
                yield from t.to_batches(max_chunksize=batch_size)

        return pa.RecordBatchReader.from_batches(schema, batches())

    def count(self, name: str, predicate: Predicate | None = None) -> int:
        """How many live rows of ``name`` match ``predicate`` (what ``scan`` yields), from
        each piece's mask: no column filtered or converted."""
        data = self.data(name)
        tdef = data.tdef
        if predicate is None:
            return data.row_count
        need = _predicate_columns(tdef, predicate)
        exact = _answered_by_key(tdef, predicate) or _answered_by_index(tdef, predicate)
        n = 0
        for piece in self._pieces(data, need, predicate):
            if exact or piece.exact:
                n += piece.rows.num_rows
                continue
            mask = predicate.mask(to_logical(piece.rows, need))
            n += sum(c.true_count for c in getattr(mask, "chunks", [mask]))
        return n

    def get(self, name: str, key: Any) -> dict[str, Any] | None:
        """One row by primary key as a dict, or None: the cheapest point lookup."""
        data = self.data(name)
        if data.pk_tree is None:
            raise SchemaError(f"table {data.tdef.qualified!r} has no primary key to look up by")
        loc = data.key_location(key)
        if loc is None:
            return None
        names = [c.name for c in data.tdef.columns]
        if loc == BUFFERED:
            return dict(zip(names, data.buffered_row(key), strict=True))
        seg_id, off = split_location(loc)
        part = data.part(seg_id)
        values = part.segment.row_values(self.fs, self.root, off)
        return {c.name: values.get(c.physical, c.default) for c in data.tdef.columns}

    def lookup(self, name: str, keys: pa.Table | list, columns: list[str] | None = None
               ) -> pa.Table:
        """Rows whose primary key equals one of ``keys``' rows, through the B+ tree.

        ``keys`` is a table holding the key columns, or a list of key values (tuples for a
        composite key)."""
        data = self.data(name)
        tdef = data.tdef
        if not tdef.primary_key:
            raise SchemaError(f"table {tdef.qualified!r} has no primary key to look up by")
        names = list(tdef.key_names)
        if isinstance(keys, list):
            probe = keys
        else:
            missing = [n for n in names if n not in keys.column_names]
            if missing:
                raise SchemaError(f"lookup keys lack primary-key column(s) {missing}")
            cols = [keys.column(n).to_pylist() for n in names]
            probe = cols[0] if len(cols) == 1 else list(zip(*cols, strict=True))
        out = [tdef.column(c) for c in columns] if columns is not None else list(tdef.columns)
        if len(probe) == 1 and data.pk_tree is not None:
            one = self._lookup_one(data, probe[0], out)
            if one is not None:
                return one
        pieces = self._located(data, _dedupe(out), _unique(probe))
        tables = [to_logical(p.rows, out) for p in pieces]
        schema = pa.schema([pa.field(c.name, c.type, c.nullable) for c in out])
        return restore_types(pa.concat_tables(tables), schema) if tables else \
            schema.empty_table()

    def index_rows(self, name: str, predicate: Predicate, columns: list[str] | None = None
                   ) -> pa.Table | None:
        """The rows of ``scan(name, columns, predicate).read_all()`` when a secondary index
        answers ``predicate`` alone (``column = v`` or ``IN`` on an index's first column,
        ``_answered_by_index``), read at once: no reader, no batches; one row found is
        sliced from its mapped batch. None when no index answers it (scan instead)."""
        data = self.data(name)
        tdef = data.tdef
        if not _answered_by_index(tdef, predicate):
            return None
        keys = self._secondary_probe(data, predicate)
        if keys is None:
            return None
        out, schema = _scan_columns(tdef, columns, False)
        if len(keys) == 1:
            one = self._row_at(data, keys[0], out, schema)
            if one is not None:
                return one
        tables = [to_logical(p.rows, out) for p in self._located(data, out, keys)]
        return restore_types(pa.concat_tables(tables), schema) if tables else \
            schema.empty_table()

    def _row_at(self, data: TableData, key: Any, out: list[ColumnDef], schema: pa.Schema
                ) -> pa.Table | None:
        """The row of key (or row id) ``key`` in a segment, as ``schema``, when its columns are
        stored as ``schema`` says; None for the general path (buffered, or converted)."""
        groups = data.locations([key], self.fs, self.root)
        if not groups:
            return schema.empty_table()
        if len(groups) != 1 or -1 in groups:
            return None
        (seg_id, offs), = groups.items()
        if len(offs) != 1:
            return None
        seg = data.part(seg_id).segment
        row = seg.row(self.fs, self.root, offs[0])
        picks = _row_picks(seg, row, out, schema)
        if picks is None:
            return None
        return pa.Table.from_arrays([row.column(i) for i in picks], schema=schema)

    def _lookup_one(self, data: TableData, key: Any, out: list[ColumnDef]) -> pa.Table | None:
        """Single-key fast path straight from the memory-mapped batch; None → general path."""
        loc = data.key_location(key) if key is not None else None
        whole = len(out) == len(data.tdef.columns)
        schema = data.tdef.arrow_schema if whole else pa.schema(
            [pa.field(c.name, c.type, c.nullable) for c in out])
        if loc is None:
            return schema.empty_table()
        if loc == BUFFERED:
            return None
        seg_id, off = split_location(loc)
        row = data.part(seg_id).segment.row(self.fs, self.root, off)
        names = row.schema.names
        if any(c.physical not in names for c in out):
            return None
        stored = data.tdef.stored_schema if whole else pa.schema(
            [pa.field(c.name, c.stored, c.nullable) for c in out])
        if whole and row.schema.names == data.tdef.physical_schema.names:
            batch = pa.RecordBatch.from_arrays(row.columns, schema=stored)
        else:
            batch = pa.RecordBatch.from_arrays([row.column(c.physical) for c in out],
                                               schema=stored)
        return restore_types(pa.Table.from_batches([batch]), schema)

    # -- pieces: the rows a scan or a DML statement reads ----------------------------------

    def pieces(self, name: str, predicate: Predicate | pc.Expression | None,
               columns: list[ColumnDef] | None = None) -> Iterator[Piece]:
        """Live rows matching ``predicate``, with their locations, for DELETE and UPDATE."""
        data = self.data(name)
        tdef = data.tdef
        need = _dedupe(list(columns if columns is not None else tdef.columns)
                       + _predicate_columns(tdef, predicate))
        expr = predicate.to_arrow() if isinstance(predicate, Predicate) else predicate
        for piece in self._pieces(data, need, predicate, with_keys=True):
            if expr is not None and not piece.exact:
                logical = to_logical(piece.rows, need)
                sel = pc.fill_null(predicate.mask(logical) if isinstance(predicate, Predicate)
                                   else evaluate_expression(logical, expr), False)
                piece.rows = piece.rows.filter(sel)
                if piece.offsets is not None:
                    piece.offsets = piece.offsets[np.asarray(sel)]
            if piece.rows.num_rows:
                yield piece

    def pieces_at(self, name: str, keys: list) -> Iterator[Piece]:
        """The live rows with primary keys ``keys`` (values, tuples for a composite key),
        found through the B+ tree, with their locations and key columns: what a statement
        that deletes or replaces rows by key needs."""
        data = self.data(name)
        if data.pk is None:
            raise SchemaError(f"table {data.tdef.qualified!r} has no primary key")
        yield from self._located(data, [], _unique(keys), key_columns(data.tdef))

    def _pieces(self, data: TableData, need: list[ColumnDef],
                predicate: Predicate | pc.Expression | None,
                with_keys: bool = False) -> Iterator[Piece]:
        tdef = data.tdef
        phys = [c.physical for c in need]
        if with_keys:
            phys = _dedupe_names(phys + key_columns(tdef))
        if isinstance(predicate, Predicate):
            probe = self._index_probe(data, predicate) if data.pk is not None else None
            if isinstance(probe, KeyRange):
                if self._pruned_rows(data, predicate, 4 * probe.count) > 4 * probe.count:
                    groups = self._range_groups(data, probe)
                    exact = _key_range_only(tdef, predicate)
                    for piece in self._from_groups(data, need, groups, phys):
                        piece.exact = exact
                        yield piece
                    return
                probe = None  # statistics narrow it as well as the index: scan the batches
            if probe is None:
                probe = self._secondary_probe(data, predicate)
            if probe is not None:
                yield from self._located(data, need, probe, phys)
                return
        pstats = isinstance(predicate, Predicate)
        own_maps = sum(p.segment.size for p in data.parts) > SCAN_OWN_MAP_TABLE_BYTES
        for part in data.parts:
            seg = part.segment
            if pstats and not predicate.may_match(_stats(tdef, seg.stats)):
                continue
            table = _scan_view(seg, self.fs, self.root) if own_maps else \
                seg.table(self.fs, self.root)
            cols: pa.Table | None = None  # the columns read, chosen at the first batch read
            mask = part.deletes.live_mask(seg.rows)
            for start, n, st in seg.batches:
                if pstats and not predicate.may_match(_stats(tdef, st)):
                    continue
                if cols is None:
                    # once a segment, not once a batch, and only when a batch of it is read:
                    # a column the segment predates is filled for the whole segment at once
                    cols = to_physical(table, tdef, phys)
                rows = cols.slice(start, n)
                offsets = np.arange(start, start + n, dtype=np.int64) if with_keys else None
                if mask is not None:
                    m = mask[start:start + n]
                    if not m.all():
                        rows = rows.filter(pa.array(m))
                        if offsets is not None:
                            offsets = offsets[m]
                yield Piece(part, offsets, rows)
        if data.buffer_rows:
            yield Piece(None, None, to_physical(data.buffer_table, tdef, phys))

    def _index_probe(self, data: TableData, predicate: Predicate) -> list | None:
        """Keys to fetch through the primary-key B+ tree, or None to scan instead."""
        tdef = data.tdef
        first = tdef.key_names[0]
        lo, hi, lo_inc, hi_inc, values = key_bounds(predicate, first)
        assert data.pk is not None
        composite = len(tdef.primary_key) > 1
        if values is not None:
            if not composite:
                return _unique(values)
            keys: list = []
            for v in values:
                keys.extend(data.pk.keys((v,), (v, TOP)))
            return keys
        if lo is None and hi is None:
            return None
        if composite:
            lo_k = None if lo is None else ((lo,) if lo_inc else (lo, TOP))
            hi_k = None if hi is None else ((hi, TOP) if hi_inc else (hi,))
            lo_inc = hi_inc = True
        else:
            lo_k, hi_k = lo, hi
        try:
            n = data.pk.count_range(lo_k, hi_k, lo_inc, hi_inc)
        except TypeError:
            return None  # a bound of another type than the key: let the filter decide
        if n > INDEX_FRACTION * max(1, data.row_count):
            return None
        return KeyRange(lo_k, hi_k, lo_inc, hi_inc, n)

    def _pruned_rows(self, data: TableData, predicate: Predicate, limit: int) -> int:
        """Rows a statistics-pruned scan would read: the cost of not using the index.
        Counting stops once past ``limit`` (the answer is then only "more")."""
        total = data.buffer_rows
        names = data.tdef.physical_names
        for part in data.parts:
            if not predicate.may_match(_Stats(names, part.segment.stats)):
                continue
            for _, n, st in part.segment.batches:
                if predicate.may_match(_Stats(names, st)):
                    total += n
                    if total > limit:
                        return total
        return total

    def _range_groups(self, data: TableData, r: KeyRange) -> dict[int, Any]:
        """Locations of a key range grouped by segment, straight from the leaves."""
        assert data.pk is not None
        locs = np.asarray(data.pk.values(r.lo, r.hi, r.lo_inc, r.hi_inc), dtype=np.int64)
        groups: dict[int, Any] = {}
        buffered = locs == BUFFERED
        if buffered.any():
            keys = data.pk.keys(r.lo, r.hi, r.lo_inc, r.hi_inc)
            groups[-1] = [k for k, b in zip(keys, buffered.tolist(), strict=True) if b]
            locs = locs[~buffered]
        if not len(locs):
            return groups
        seg_ids = locs >> OFFSET_BITS
        offsets = locs & ((1 << OFFSET_BITS) - 1)
        first = int(seg_ids[0])
        if (seg_ids == first).all():  # the usual case: the range lies in one segment
            groups[first] = offsets
            return groups
        for sid in np.unique(seg_ids).tolist():
            groups[sid] = offsets[seg_ids == sid]
        return groups

    def _secondary_probe(self, data: TableData, predicate: Predicate) -> list | None:
        """Row keys from a secondary index whose first column the predicate pins by
        equality or IN; None when no index applies."""
        tdef = data.tdef
        for ix in tdef.indexes:
            first = tdef.column_by_id(ix.columns[0]).name
            values = key_bounds(predicate, first)[4]
            if values is None:
                continue
            tree = data.secondary[ix.name]
            keys: list = []
            for v in _unique(list(values)):
                if ix.unique and len(ix.columns) == 1:
                    hit = tree.get((v,))
                    if hit is not None:
                        keys.append(hit)
                else:
                    keys.extend(tree.values((v,), (v, TOP)))
            return keys
        return None

    def _located(self, data: TableData, need: list[ColumnDef], keys: list,
                 phys: list[str] | None = None) -> Iterator[Piece]:
        yield from self._from_groups(data, need, data.locations(keys, self.fs, self.root), phys)

    def _from_groups(self, data: TableData, need: list[ColumnDef], groups: dict[int, Any],
                     phys: list[str] | None = None) -> Iterator[Piece]:
        tdef = data.tdef
        if phys is None:
            phys = [c.physical for c in need]
        for part in data.parts:
            offs = groups.get(part.segment.id)
            if offs is None or len(offs) == 0:
                continue
            offsets = np.sort(np.asarray(offs, dtype=np.int64))
            names = set(part.segment.table(self.fs, self.root).schema.names)
            have = [n for n in phys if n in names]
            rows = to_physical(part.segment.take(self.fs, self.root, offsets, have), tdef, phys)
            yield Piece(part, offsets, rows)
        buffered = groups.get(-1)
        if buffered:
            bt = data.buffer_table
            kc = key_columns(tdef)
            if len(kc) == 1:
                sel = pc.is_in(bt.column(kc[0]), value_set=pa.array(buffered,
                                                                    bt.column(kc[0]).type))
            else:
                wanted = set(buffered)
                sel = pa.array([k in wanted for k in _keys(bt, kc)])
            yield Piece(None, None, to_physical(bt.filter(sel), tdef, phys))


def _object_info(o: ObjectDef) -> ObjectInfo:
    return ObjectInfo(o.kind, o.schema, o.name, o.definition, o.version)


def _scan_view(seg: Segment, fs: FileSystem, root: str) -> pa.Table:
    """A segment's rows for a scan; large segments through a memory mapping of the scan's own.

    ``Segment.table`` keeps one mapping per segment for as long as the segment lives (point
    lookups read through it). Every page a scan touches through that mapping stays mapped,
    so resident and counted in the process's RSS: a full scan of a large table would pin
    every column it read, of every segment, however little memory the plan itself needs (a
    group-by over SF10 lineitem: 4 GiB). A mapping of the scan's own is unmapped when the
    scan and the batches it produced are done with it; the pages stay in the kernel's page
    cache, which can drop them. Used for tables larger than ``SCAN_OWN_MAP_TABLE_BYTES``:
    smaller ones stay fast to scan again, and what they pin is bounded by their size.

    The mapping is a plain buffer (``FileSystem.map_buffer``), not pyarrow's mapped file,
    which advises the kernel to read ahead every byte the IPC reader reads: all columns of
    the segment, on every scan, for a scan that then touches a few (TPC-H SF10 Q6: 11 GiB
    of lineitem's page-cache pages walked per run for the 3 GiB its four columns hold).
    """
    cached = seg.table(fs, root)  # checks size and checksum, once per segment
    if seg.size < SCAN_OWN_MAP_BYTES:
        return cached
    path = os.path.join(root, seg.file)
    try:
        return pa.ipc.open_file(pa.BufferReader(fs.map_buffer(path))).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorruptionError(f"segment {path} unreadable: {exc}") from exc


def _answered_by_key(tdef: TableDef, predicate: Any) -> bool:
    """Whether the primary-key probe alone decides the predicate (key = v, or key IN (…))."""
    if len(tdef.primary_key) != 1:
        return False
    key = tdef.key_names[0]
    if isinstance(predicate, Compare):
        return predicate.column == key and predicate.op == "=="
    return isinstance(predicate, In) and predicate.column == key


def _answered_by_index(tdef: TableDef, predicate: Any) -> bool:
    """Whether a secondary index probe alone decides the predicate: ``column = v`` or
    ``column IN (…)`` on an index's first column, the values integers, strings or bytes
    (for these the tree's equality is the filter's: no re-check of the rows found)."""
    if isinstance(predicate, Compare) and predicate.op == "==":
        values: tuple = (predicate.value,)
    elif isinstance(predicate, In):
        values = predicate.values
    else:
        return False
    if not all(type(v) in _EXACT_TYPES for v in values):
        return False
    ids = [c.id for c in tdef.columns if c.name == predicate.column]
    return bool(ids) and any(ix.columns[0] == ids[0] for ix in tdef.indexes)


_EXACT_TYPES = (int, str, bytes)


def _key_range_only(tdef: TableDef, predicate: Any) -> bool:
    """Whether a range read from the primary-key B+ tree is exactly the predicate's rows:
    comparisons (no ``!=``) on a single-column key and nothing else."""
    if len(tdef.primary_key) != 1:
        return False
    key = tdef.key_names[0]
    parts = predicate.parts if isinstance(predicate, And) else (predicate,)
    return all(isinstance(p, Compare) and p.column == key and p.op != "!=" for p in parts)


def _keys(t: pa.Table, cols: list[str]) -> list:
    return list(zip(*(t.column(c).to_pylist() for c in cols), strict=True))


def evaluate_expression(table: pa.Table, expr: pc.Expression) -> pa.ChunkedArray | pa.Array:
    import pyarrow.acero as ac

    decl = ac.Declaration.from_sequence([
        ac.Declaration("table_source", ac.TableSourceNodeOptions(table)),
        ac.Declaration("project", ac.ProjectNodeOptions([expr], ["m"])),
    ])
    return decl.to_table(use_threads=False).column(0)


def _unique(values: list) -> list:
    seen = set()
    out = []
    for v in values:
        if v is not None and v not in seen:
            seen.add(v)
            out.append(v)
    return out


def _dedupe(cols: list[ColumnDef]) -> list[ColumnDef]:
    seen: set[int] = set()
    out = []
    for c in cols:
        if c.id not in seen:
            seen.add(c.id)
            out.append(c)
    return out


def _dedupe_names(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _predicate_columns(tdef: TableDef, predicate: Any) -> list[ColumnDef]:
    if isinstance(predicate, Predicate):
        return [tdef.column(c) for c in sorted(predicate.columns())]
    if predicate is None:
        return []
    # An opaque pyarrow expression: any column may be referenced; read them all.
    return list(tdef.columns)


class _Stats:
    """A segment's or batch's statistics (keyed by physical column) seen by logical name,
    as ``Predicate.may_match`` asks for them: a view, so pruning a scan of many batches does
    not rebuild a dict per batch."""

    __slots__ = ("_names", "_stats")

    def __init__(self, names: dict[str, str], stats: dict) -> None:
        self._names, self._stats = names, stats

    def get(self, name: str, default: Any = None) -> Any:
        phys = self._names.get(name)
        return default if phys is None else self._stats.get(phys, default)


def _stats(tdef: TableDef, stats: dict) -> _Stats:
    return _Stats(tdef.physical_names, stats)


# A scan's columns and output schema by (table definition, columns, stored_types): building
# the schema costs ~12 µs for ten columns, as much as a point lookup's whole probe. Keyed by
# the definition's id and holding it, so an id is never reused while its entry is kept.
_SCAN_COLUMNS: dict[tuple[int, tuple[str, ...] | None, bool],
                    tuple[TableDef, list[ColumnDef], pa.Schema]] = {}
_SCAN_COLUMNS_KEPT = 512


def _scan_columns(tdef: TableDef, columns: list[str] | None, stored_types: bool
                  ) -> tuple[list[ColumnDef], pa.Schema]:
    """The column definitions a scan reads and the schema it yields (the list is shared:
    callers must not change it)."""
    key = (id(tdef), tuple(columns) if columns is not None else None, stored_types)
    hit = _SCAN_COLUMNS.get(key)
    if hit is not None and hit[0] is tdef:
        return hit[1], hit[2]
    out = [tdef.column(c) for c in columns] if columns is not None else list(tdef.columns)
    schema = pa.schema([pa.field(c.name, storage_type(c.type) if stored_types else c.type,
                                 c.nullable) for c in out])
    if len(_SCAN_COLUMNS) >= _SCAN_COLUMNS_KEPT:
        _SCAN_COLUMNS.clear()
    _SCAN_COLUMNS[key] = (tdef, out, schema)
    return out, schema


def _row_picks(seg: Any, row: pa.RecordBatch, out: list[ColumnDef], schema: pa.Schema
               ) -> list[int] | None:
    """The positions of ``out``'s columns in a segment's rows, when all are there stored as
    ``schema`` says (None otherwise); kept on the segment per column list (``_scan_columns``
    shares the list per table definition): looking the columns up by name and comparing
    their types cost a one-row read ~10 µs."""
    kept = seg.picks
    hit = kept.get(id(out))
    if hit is not None and hit[0] is out and hit[1] is schema:
        return hit[2]
    names = row.schema.names
    picks: list[int] | None = None
    if all(c.physical in names for c in out):
        picks = [names.index(c.physical) for c in out]
        if any(row.schema.field(i).type != f.type for i, f in zip(picks, schema, strict=True)):
            picks = None
    if len(kept) >= _ROW_PICKS_KEPT:
        kept.clear()
    kept[id(out)] = (out, schema, picks)  # (holding the list: its id stays its own)
    return picks


_ROW_PICKS_KEPT = 16  # column lists kept per segment


def to_physical(table: pa.Table, tdef: TableDef, names: list[str]) -> pa.Table:
    """Select physical columns, filling columns a segment predates with their default."""
    have = set(table.column_names)
    if all(n in have for n in names):
        return table.select(names)
    arrays = []
    fields = []
    for n in names:
        if n in have:
            arrays.append(table.column(n))
            fields.append(table.schema.field(n))
            continue
        c = next(c for c in tdef.columns if c.physical == n)
        if c.default is None:
            arrays.append(pa.nulls(table.num_rows, c.stored))
        else:
            arrays.append(pa.array([c.default], c.stored).take(
                pa.array(np.zeros(table.num_rows, dtype=np.int64))))
        fields.append(pa.field(n, c.stored, c.nullable))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def restore_types(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast columns stored as a classic type back to the view type the table declares."""
    if table.schema == schema:
        return table
    return table.cast(schema)


def all_true(mask: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a boolean mask selects every row (no false, no null): counted on bitmaps."""
    if not isinstance(mask, pa.Array | pa.ChunkedArray):
        return False
    chunks = mask.chunks if isinstance(mask, pa.ChunkedArray) else [mask]
    return all(c.true_count == len(c) for c in chunks)


def to_logical(table: pa.Table, cols: list[ColumnDef]) -> pa.Table:
    t = table.select([c.physical for c in cols])
    return t.rename_columns([c.name for c in cols])


__all__ = ["Snapshot", "State", "TableInfo", "IndexInfo", "ObjectInfo", "Piece", "BUFFERED", "ROWID",
           "split_location"]
