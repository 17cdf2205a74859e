"""One table's data as an immutable value: segments with deletion vectors, the B^ε write
buffer, and the B+ tree indexes.

Every change goes through three physical primitives — ``put_tuples`` (rows as Python tuples
into the buffer; ``put_rows`` is its Arrow front end), ``add_segment`` (a bulk-written file)
and ``delete_rows`` (deletion vectors and buffer tombstones). Transactions log exactly these
to the WAL, and recovery replays them through the same code, so live writes and replay cannot
drift apart. ``insert_tuples`` is ``put_tuples`` behind the primary-key and unique checks.

Row identity: a table with a primary key is keyed by it (a scalar for one column, a tuple for
several); a keyless table gets a hidden ``__rowid`` column. The primary-key B+ tree maps
key → location (``segment id << 32 | row offset``, or BUFFERED for rows in the buffer);
secondary indexes map (values…, key…) → key, unique ones (values…) → key.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .betree import BeTree
from .btree import BPlusTree, DuplicateKeyError
from .catalog import ROWID, IndexDef, TableDef
from .errors import ConstraintError
from .segment import DeletionVector, Segment

BUFFERED = -1
_new_object = object.__new__
_set_attr = object.__setattr__  # how a frozen dataclass sets its own fields
OFFSET_BITS = 32


def location(seg_id: int, offset: int) -> int:
    return (seg_id << OFFSET_BITS) | offset


def split_location(loc: int) -> tuple[int, int]:
    return loc >> OFFSET_BITS, loc & ((1 << OFFSET_BITS) - 1)


class _Top:
    """Greater than every value: closes prefix ranges over tuple keys."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return other is not self

    def __le__(self, other: object) -> bool:
        return other is self

    def __ge__(self, other: object) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return other is self

    __hash__ = object.__hash__


TOP = _Top()


def merge_sorted(tree: BPlusTree, keys: list, values: list) -> BPlusTree:
    """Add ascending keys absent from ``tree``.

    A large batch rebuilds the tree bottom-up (bulk load is O(n) and several times faster
    than inserting millions of keys one leaf at a time); a small one goes through
    ``update_many``.
    """
    if not keys:
        return tree
    if len(tree) == 0:
        return BPlusTree.bulk_load(keys, values)
    if len(keys) * 8 < len(tree):
        return tree.update_many(puts=list(zip(keys, values, strict=True)))
    if keys[0] > tree.max_key():
        return BPlusTree.bulk_load(tree.keys() + keys, tree.values() + values)
    if keys[-1] < tree.min_key():
        return BPlusTree.bulk_load(keys + tree.keys(), values + tree.values())
    merged = list(heapq.merge(tree.items(), zip(keys, values, strict=True),
                              key=itemgetter(0)))
    return BPlusTree.bulk_load([k for k, _ in merged], [v for _, v in merged])


@dataclass(frozen=True)
class Part:
    segment: Segment
    deletes: DeletionVector = field(default_factory=DeletionVector)

    @property
    def live_rows(self) -> int:
        return self.segment.rows - len(self.deletes)


def key_columns(tdef: TableDef) -> list[str]:
    """Physical names of the columns that identify a row."""
    if tdef.primary_key:
        return [tdef.column_by_id(i).physical for i in tdef.primary_key]
    return [ROWID]


def keys_of(tdef: TableDef, rows: pa.Table | pa.RecordBatch) -> list:
    cols = key_columns(tdef)
    if len(cols) == 1:
        return rows.column(cols[0]).to_pylist()
    return list(zip(*(rows.column(c).to_pylist() for c in cols), strict=True))


def index_entries(tdef: TableDef, ix: IndexDef, rows: pa.Table | pa.RecordBatch,
                  keys: list) -> list[tuple]:
    """B+ tree entries for ``rows``; rows with a NULL in an indexed column are not indexed."""
    vals = [rows.column(tdef.column_by_id(c).physical).to_pylist() for c in ix.columns]
    return _entries(ix, vals, keys)


def index_entries_of(tdef: TableDef, ix: IndexDef, tuples: list[tuple],
                     keys: list) -> list[tuple]:
    """``index_entries`` for rows given as tuples in table column order."""
    pos = tdef.positions
    vals = [[t[pos[c]] for t in tuples] for c in ix.columns]
    return _entries(ix, vals, keys)


def _entries(ix: IndexDef, vals: list[list], keys: list) -> list[tuple]:
    out = []
    for i, v in enumerate(zip(*vals, strict=True)):
        if any(x is None for x in v):
            continue
        if ix.unique:
            out.append((v, keys[i]))
        else:
            out.append(((*v, keys[i]), keys[i]))
    return out


def show_key(key: Any) -> str:
    return repr(key) if not isinstance(key, tuple) else "(" + ", ".join(map(repr, key)) + ")"


def keys_of_tuples(tdef: TableDef, tuples: list[tuple]) -> list:
    """Primary keys of rows given as tuples in table column order (keyed tables only)."""
    pk = tdef.key_positions
    if len(pk) == 1:
        i = pk[0]
        return [t[i] for t in tuples]
    return [tuple(t[i] for i in pk) for t in tuples]


TAIL_LIMIT = 256  # single-row inserts a tail holds before the writer folds it in


class InsertTail:
    """Single-row inserts of new keys, appended in commit order, not yet in the trees.

    Putting one row into the B^ε root buffer and the B+ tree copies a path of both persistent
    trees (about 10 µs in CPython), which is most of a single-row commit's CPU time. Instead
    the commit appends the row here in O(1), and the trees take the whole run at once when
    someone needs them (``TableData.pk`` / ``.buffer``) or when ``TAIL_LIMIT`` is reached.

    One tail is shared by successive versions of a table; a version sees the first
    ``tail_end`` entries, which never change once appended (append-only, like SQLite's WAL
    frames beyond a reader's mark). Only the newest version may append: a version whose
    end is not the list's end (its successor was rolled back) starts a copy instead. All
    versions sharing a tail share the trees the tail sits on.
    """

    __slots__ = ("keys", "rows", "where", "folded", "base_top", "top")

    def __init__(self, base_top: Any, keys: list | None = None,
                 rows: list | None = None) -> None:
        self.keys: list = keys or []
        self.rows: list[tuple] = rows or []
        self.where: dict = {k: i for i, k in enumerate(self.keys)}  # key → position
        # The furthest fold computed so far: (entries folded, buffer, pk); shared by readers
        self.folded: tuple[int, BeTree | None, BPlusTree | None] = (0, None, None)
        # The largest key in the trees below (None: they are empty), and that or a larger
        # one in the tail: a key above ``top`` is new without a lookup (SQLite's append
        # bias for rowids). Only the appending version moves it.
        self.base_top = base_top
        self.top = max(self.keys if base_top is None else [base_top, *self.keys],
                       default=None)

    @classmethod
    def over(cls, pk: BPlusTree) -> InsertTail:
        """An empty tail on trees whose key index is ``pk``."""
        return cls(pk.max_key() if len(pk) else None)

    def prefix(self, end: int) -> InsertTail:
        """A private copy of the first ``end`` entries, for a version that must append."""
        out = InsertTail(self.base_top, self.keys[:end], self.rows[:end])
        if self.folded[0] <= end:
            out.folded = self.folded
        return out

    def holds(self, key: Any, end: int) -> bool:
        pos = self.where.get(key)
        return pos is not None and pos < end

    def get(self, key: Any, end: int) -> tuple | None:
        pos = self.where.get(key)
        return self.rows[pos] if pos is not None and pos < end else None

    def fold(self, end: int, buffer: BeTree, pk: BPlusTree) -> tuple[BeTree, BPlusTree]:
        """The trees with the first ``end`` entries added, starting from the furthest fold
        already made when it is not past ``end``."""
        start, b, p = self.folded
        if b is None or p is None or start > end:
            start, b, p = 0, buffer, pk
        if end - start <= 4:
            for i in range(start, end):
                b = b.put(self.keys[i], self.rows[i])
                p = p.put(self.keys[i], BUFFERED)
        else:
            keys = self.keys[start:end]
            rows = self.rows[start:end]
            # Ascending keys past the end (sequential ids, timestamps) extend the trees'
            # right edges; anything else goes through the general batch updates.
            b2 = b.append_run(keys, rows)
            b = b2 if b2 is not None else b.put_many(list(zip(keys, rows, strict=True)))
            p2 = p.append_run(keys, [BUFFERED] * len(keys))
            p = p2 if p2 is not None else p.update_many(puts=[(k, BUFFERED) for k in keys])
        if end > self.folded[0]:  # racing readers: keeping the shorter fold is harmless
            self.folded = (end, b, p)
        return b, p


@dataclass(frozen=True)
class TableData:
    """A table's rows at one version.

    ``buffer_tree`` and ``pk_tree`` are the trees without the insert tail; read the write
    buffer and the key index through ``buffer`` and ``pk``, which include it.
    """

    tdef: TableDef
    parts: tuple[Part, ...] = ()
    buffer_tree: BeTree = field(default_factory=BeTree.empty)
    buffer_rows: int = 0
    pk_tree: BPlusTree | None = None
    secondary: dict[str, BPlusTree] = field(default_factory=dict)
    next_rowid: int = 0
    tail: InsertTail | None = None
    tail_end: int = 0

    @classmethod
    def new(cls, tdef: TableDef) -> TableData:
        pk = BPlusTree.empty() if tdef.primary_key else None
        sec = {ix.name: BPlusTree.empty() for ix in tdef.indexes}
        return cls(tdef, pk_tree=pk, secondary=sec)

    def replace(self, **kw: Any) -> TableData:
        """A copy with fields changed, the insert tail folded in first so no change can
        miss it."""
        return dataclasses.replace(self.settled(), **kw)

    def settled(self) -> TableData:
        """This version with its insert tail folded into the trees."""
        if not self.tail_end:
            return self if self.tail is None else dataclasses.replace(self, tail=None)
        buffer, pk = self._folded
        return dataclasses.replace(self, buffer_tree=buffer, pk_tree=pk, tail=None,
                                   tail_end=0)

    @cached_property
    def _folded(self) -> tuple[BeTree, BPlusTree]:
        assert self.tail is not None and self.pk_tree is not None
        return self.tail.fold(self.tail_end, self.buffer_tree, self.pk_tree)

    @property
    def buffer(self) -> BeTree:
        """The write buffer: the B^ε tree of buffered rows by key."""
        return self._folded[0] if self.tail_end else self.buffer_tree

    @property
    def pk(self) -> BPlusTree | None:
        """The primary-key B+ tree (None for a keyless table)."""
        return self._folded[1] if self.tail_end else self.pk_tree

    @property
    def buffered_messages(self) -> int:
        """Writes held in memory (what a checkpoint would move to a segment)."""
        return self.buffer_tree.message_count + self.tail_end

    def buffered_row(self, key: Any) -> tuple | None:
        """A buffered row by key without folding the tail (point lookups)."""
        if self.tail_end:
            row = self.tail.get(key, self.tail_end)  # type: ignore[union-attr]
            if row is not None:
                return row
        return self.buffer_tree.get(key)

    def key_location(self, key: Any) -> Any:
        """The primary-key tree's entry for ``key`` without folding the tail."""
        if self.tail_end and self.tail.holds(key, self.tail_end):  # type: ignore[union-attr]
            return BUFFERED
        return self.pk_tree.get(key) if self.pk_tree is not None else None

    @property
    def row_count(self) -> int:
        return sum(p.live_rows for p in self.parts) + self.buffer_rows

    def part(self, seg_id: int) -> Part:
        return self._parts_by_id[seg_id]

    @cached_property
    def _parts_by_id(self) -> dict[int, Part]:
        return {p.segment.id: p for p in self.parts}

    # -- the buffer as Arrow ------------------------------------------------------------

    @cached_property
    def buffer_table(self) -> pa.Table:
        """The write buffer's live rows as a physical table, sorted by key; built once per
        immutable state and shared by every scan of it."""
        schema = self.tdef.physical_schema
        items = self.buffer.items()
        if not items:
            return schema.empty_table()
        keys, rows = zip(*items, strict=True)
        columns = list(zip(*rows, strict=True))
        arrays = [pa.array(columns[i], type=c.stored) for i, c in enumerate(self.tdef.columns)]
        if not self.tdef.primary_key:
            arrays.append(pa.array(keys, type=pa.int64()))
        return pa.Table.from_arrays(arrays, schema=schema)

    # -- physical primitives (logged and replayed) ----------------------------------------

    def put_rows(self, rows: pa.Table, keys: list | None = None) -> TableData:
        """Add rows whose keys are absent into the write buffer (``keys``: their keys, if
        the caller already listed them)."""
        if rows.num_rows == 0:
            return self
        if keys is None:
            keys = keys_of(self.tdef, rows)
        cols = [rows.column(c.physical).to_pylist() for c in self.tdef.columns]
        tuples = list(zip(*cols, strict=True)) if cols else [()] * rows.num_rows
        return self.put_tuples(keys, tuples)

    def insert_tuples(self, tuples: list[tuple]) -> tuple[TableData, int | None]:
        """Insert new rows (tuples in table column order) into the write buffer, enforcing
        primary-key and unique constraints; returns the new value and, for a keyless table,
        the first row id given out (what the log records)."""
        tdef = self.tdef
        n = len(tuples)
        if not tdef.primary_key:
            first = self.next_rowid
            keys = list(range(first, first + n))
            self.check_unique(tuples, keys)
            return self.put_tuples(keys, tuples), first
        if n == 1 and not tdef.indexes and self.pk_tree is not None:
            # The single-row commit: an int or str key (hashing agrees with ordering) goes
            # to the insert tail; otherwise one descent of the key tree both checks and
            # inserts. Either way the trees end up as put_tuples (replay) makes them.
            row = tuples[0]
            kp = tdef.key_positions
            key = row[kp[0]] if len(kp) == 1 else tuple(row[i] for i in kp)
            if type(key) is int or type(key) is str:
                return self._append_tail(key, row), None
            try:
                pk = self.pk.insert(key, BUFFERED)
            except DuplicateKeyError:
                raise ConstraintError(f"duplicate primary key {show_key(key)} in table "
                                      f"{tdef.qualified!r}") from None
            return TableData(tdef, self.parts, self.buffer.put(key, row),
                             self.buffer_rows + 1, pk, self.secondary, self.next_rowid), None
        keys = keys_of_tuples(tdef, tuples)
        self.check_new_keys(keys)
        self.check_unique(tuples, keys)
        return self.put_tuples(keys, tuples), None

    def _append_tail(self, key: Any, row: tuple) -> TableData:
        tail, end = self.tail, self.tail_end
        if end >= TAIL_LIMIT:  # fold the run into the trees, then start a new tail
            data = self.settled()
            end = 0
            tail = None
        else:
            data = self
            if tail is not None and len(tail.keys) != end:  # a later version was
                tail = tail.prefix(end)  # abandoned (rollback): append to a copy
        if tail is None:
            assert data.pk_tree is not None
            tail = InsertTail.over(data.pk_tree)
        top = tail.top
        if top is None or key > top:  # past every key: new (nothing shared changed yet)
            tail.top = key
        else:
            pos = tail.where.get(key)
            if (pos is not None and pos < end) or data.pk_tree.get(key) is not None:
                raise ConstraintError(f"duplicate primary key {show_key(key)} in table "
                                      f"{self.tdef.qualified!r}")
        tail.where[key] = end
        tail.keys.append(key)
        tail.rows.append(row)
        # TableData(...) would do the same; its frozen __init__ costs 1 µs more per commit
        new = _new_object(TableData)
        _set_attr(new, "__dict__", {
            "tdef": data.tdef, "parts": data.parts, "buffer_tree": data.buffer_tree,
            "buffer_rows": data.buffer_rows + 1, "pk_tree": data.pk_tree,
            "secondary": data.secondary, "next_rowid": data.next_rowid, "tail": tail,
            "tail_end": end + 1})
        return new

    def check_new_keys(self, keys: list) -> None:
        """Primary keys must be unique among ``keys`` and absent from the table."""
        pk = self.pk
        assert pk is not None
        name = self.tdef.qualified
        if len(set(keys)) != len(keys):
            seen: set = set()
            for k in keys:
                if k in seen:
                    raise ConstraintError(f"duplicate primary key {show_key(k)} in table "
                                          f"{name!r}")
                seen.add(k)
        if len(pk) == 0:
            return
        for k, loc in zip(keys, pk.get_many(keys), strict=True):
            if loc is not None:
                raise ConstraintError(f"duplicate primary key {show_key(k)} in table {name!r}")

    def check_unique(self, tuples: list[tuple], keys: list) -> None:
        if any(ix.unique for ix in self.tdef.indexes):
            self.check_unique_entries([(ix, index_entries_of(self.tdef, ix, tuples, keys))
                                       for ix in self.tdef.indexes if ix.unique])

    def check_unique_entries(self, found: list[tuple[IndexDef, list]]) -> None:
        """New rows' entries in each unique index must be distinct and not there yet."""
        td = self.tdef
        for ix, entries in found:
            vals = [e[0] for e in entries]
            cols = ", ".join(td.column_by_id(c).name for c in ix.columns)
            if len(set(vals)) != len(vals):
                raise ConstraintError(f"duplicate value in unique column(s) ({cols}) of "
                                      f"table {td.qualified!r}")
            for v, hit in zip(vals, self.secondary[ix.name].get_many(vals), strict=True):
                if hit is not None:
                    raise ConstraintError(f"duplicate value {show_key(v)} in unique "
                                          f"column(s) ({cols}) of table {td.qualified!r}")

    def put_tuples(self, keys: list, tuples: list[tuple]) -> TableData:
        """Add rows (tuples in table column order) whose keys are absent into the write
        buffer: the one primitive behind every buffered insert, live and replayed."""
        n = len(tuples)
        if n == 0:
            return self
        tdef = self.tdef
        if n == 1:  # a single key goes straight into the root buffer / one leaf path
            buffer = self.buffer.put(keys[0], tuples[0])
            pk = self.pk.put(keys[0], BUFFERED) if self.pk is not None else None
        else:
            buffer = self.buffer.put_many(list(zip(keys, tuples, strict=True)))
            pk = (self.pk.update_many(puts=[(k, BUFFERED) for k in keys])
                  if self.pk is not None else None)
        next_rowid = self.next_rowid
        if not tdef.primary_key:
            next_rowid = max(next_rowid, max(keys) + 1)
        secondary = self.secondary
        if secondary:
            secondary = dict(secondary)
            for ix in tdef.indexes:
                secondary[ix.name] = secondary[ix.name].update_many(
                    puts=index_entries_of(tdef, ix, tuples, keys))
        return TableData(tdef, self.parts, buffer, self.buffer_rows + n, pk, secondary,
                         next_rowid)

    def add_segment(self, seg: Segment, table: pa.Table) -> TableData:
        """Adopt a freshly written segment whose rows are ``table``."""
        pk = self.pk
        next_rowid = self.next_rowid
        if not self.tdef.primary_key and table.num_rows:
            next_rowid = max(next_rowid, pc.max(table.column(ROWID)).as_py() + 1)
        if pk is None and not self.secondary:  # keyless, unindexed: no key needed at all
            return self.replace(parts=(*self.parts, Part(seg)), next_rowid=next_rowid)
        keys = keys_of(self.tdef, table)
        if pk is not None:
            base = seg.id << OFFSET_BITS
            pk = merge_sorted(pk, keys, list(range(base, base + len(keys))))
        return self.replace(parts=(*self.parts, Part(seg)), pk_tree=pk,
                            secondary=self._index_add(table, keys), next_rowid=next_rowid)

    def delete_rows(self, seg_offsets: dict[int, np.ndarray], seg_rows: dict[int, pa.Table],
                    buffer_keys: list) -> TableData:
        """Delete segment rows (by offset; ``seg_rows`` holds their key and indexed columns)
        and buffered rows (by key)."""
        parts = list(self.parts)
        dead_keys: list = []
        sec = self.secondary
        for i, p in enumerate(parts):
            offs = seg_offsets.get(p.segment.id)
            if offs is None or len(offs) == 0:
                continue
            parts[i] = Part(p.segment, p.deletes.add(offs))
            rows = seg_rows[p.segment.id]
            keys = keys_of(self.tdef, rows)
            dead_keys.extend(keys)
            sec = self._index_remove(sec, rows, keys)
        if buffer_keys:
            old = [self.buffer.get(k) for k in buffer_keys]
            if any(r is None for r in old):
                raise ConstraintError("internal: deleting a buffered row that is not there")
            if sec:
                rows = self._rows_from_tuples(old, buffer_keys)
                sec = self._index_remove(sec, rows, buffer_keys)
            dead_keys.extend(buffer_keys)
        pk = self.pk.update_many(deletes=dead_keys) if self.pk is not None else None
        buffer = self.buffer.delete_many(buffer_keys) if buffer_keys else self.buffer
        return self.replace(parts=tuple(parts), buffer_tree=buffer, pk_tree=pk, secondary=sec,
                            buffer_rows=self.buffer_rows - len(buffer_keys))

    # -- indexes ------------------------------------------------------------------------

    def _rows_from_tuples(self, tuples: list, keys: list) -> pa.Table:
        columns = list(zip(*tuples, strict=True)) if tuples else [[] for _ in self.tdef.columns]
        arrays = [pa.array(columns[i], type=c.stored) for i, c in enumerate(self.tdef.columns)]
        if not self.tdef.primary_key:
            arrays.append(pa.array(keys, type=pa.int64()))
        return pa.Table.from_arrays(arrays, schema=self.tdef.physical_schema)

    def _index_add(self, rows: pa.Table, keys: list) -> dict[str, BPlusTree]:
        if not self.secondary:
            return self.secondary
        out = dict(self.secondary)
        for ix in self.tdef.indexes:
            out[ix.name] = out[ix.name].update_many(puts=index_entries(self.tdef, ix, rows,
                                                                       keys))
        return out

    def _index_remove(self, sec: dict[str, BPlusTree], rows: pa.Table,
                      keys: list) -> dict[str, BPlusTree]:
        if not sec:
            return sec
        out = dict(sec)
        for ix in self.tdef.indexes:
            dead = [k for k, _ in index_entries(self.tdef, ix, rows, keys)]
            out[ix.name] = out[ix.name].update_many(deletes=dead)
        return out

    def build_index(self, ix: IndexDef, tables: Iterable[tuple[Part, pa.Table]]) -> BPlusTree:
        """Build a secondary index over every live row (create index, and on open)."""
        entries: list[tuple] = []
        for p, t in tables:
            mask = p.deletes.live_mask(p.segment.rows)
            if mask is not None:
                t = t.filter(pa.array(mask))
            entries.extend(index_entries(self.tdef, ix, t, keys_of(self.tdef, t)))
        bt = self.buffer_table
        entries.extend(index_entries(self.tdef, ix, bt, keys_of(self.tdef, bt)))
        entries.sort(key=lambda e: e[0])
        if ix.unique:
            for a, b in zip(entries, entries[1:], strict=False):
                if a[0] == b[0]:
                    raise ConstraintError(
                        f"cannot create unique index {ix.name!r}: duplicate value {a[0]!r}")
        return BPlusTree.bulk_load([e[0] for e in entries], [e[1] for e in entries])

    def locations(self, keys: list, fs: Any = None, root: str = "") -> dict[int, list[int]]:
        """Group the segment locations of ``keys`` by segment; BUFFERED ones under -1.

        Keyless tables have no key tree: their row ids are sorted within each segment, so
        a vectorised binary search over the memory-mapped ``__rowid`` column finds them.
        """
        out: dict[int, list[int]] = defaultdict(list)
        if self.pk is None and len(keys) == 1 and isinstance(keys[0], int):
            for p in self.parts:  # one row id (a point lookup): plain integers
                found = p.segment.find_one(fs, root, ROWID, keys[0])
                if found is not None:
                    out[p.segment.id].append(found)
            if keys[0] in self.buffer:
                out[-1].append(keys[0])
            return out
        if self.pk is None:
            probe = np.unique(np.asarray(keys, dtype=np.int64))
            for p in self.parts if len(probe) else ():
                found = p.segment.find_sorted(fs, root, ROWID, probe)
                if len(found):
                    out[p.segment.id].extend(found.tolist())
            out[-1].extend(k for k in keys if k in self.buffer)
            return out
        for k, loc in zip(keys, self.pk.get_many(keys), strict=True):
            if loc is None:
                continue
            if loc == BUFFERED:
                out[-1].append(k)
            else:
                seg, off = split_location(loc)
                out[seg].append(off)
        return out
