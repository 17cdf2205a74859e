"""The query-result cache: whole results of queries, shared by the sessions of a database.

A result is kept under its *request*: the statement's regenerated SQL (so whitespace, keyword
case and comments do not matter), its bound parameter values and types, the user, the current
schema, the catalog version and the function registry's generation, and, for a session that
has temporary tables, which session it is (its names may mean them). Binding depends on nothing else, so the tables a query reads are the same for
every request with that key; the entry records them with their data versions (the LSN of the
last commit that changed each, ``Snapshot.data_version``) and is served only while every one
is unchanged. It is never stale: a commit to any table read (or any catalog change) makes the
next run compute afresh. Views resolve to their tables when bound, so their tables count.

Not cached: plans with a function that is not immutable (``now()``, ``random()``, generated
ids), a system view (computed from state outside the snapshot), a file read (the file may
change), a sample without a seed; and nothing is served or stored inside a transaction that
has written. A result is stored only when its stream was read to the end (never a partial
one) and only when it is at most a quarter of the cache. Eviction is least recently used, by
bytes (``pa.Table.nbytes``). Thread-safe; ``stats()`` feeds the metrics and the
``information_schema.kodiak_result_cache`` view.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp

from .dialect import Grizzly
from .expr import Expr
from .functions import generation as function_generation
from .plan import FileScan, Node, Sample, Scan, SharedPlan

Deps = tuple[tuple[str, int], ...]  # (engine table name, data version) of each table read


@dataclass(frozen=True)
class Entry:
    table: pa.Table
    deps: Deps
    nbytes: int


class ResultCache:
    """Results by request key, bounded by ``max_bytes`` (0: off), least recently used out."""

    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        if max_bytes < 0:
            raise ValueError("the result cache size must be zero (off) or positive")
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes // 4 if max_entry_bytes is None else max_entry_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0
        self._counts = dict.fromkeys(("hits", "misses", "stores", "evictions",
                                      "invalidations", "uncacheable", "too_large"), 0)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    # ------------------------------------------------------------------ entries

    def get(self, key: tuple, snap: Any) -> pa.Table | None:
        """The result kept under ``key`` if every table it read is unchanged in ``snap``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and current(snap, entry.deps):
                self._entries.move_to_end(key)
                self._counts["hits"] += 1
                return entry.table
            if entry is not None:  # a table it read has changed since: it can never serve
                self._drop(key)
                self._counts["invalidations"] += 1
            self._counts["misses"] += 1
            return None

    def put(self, key: tuple, deps: Deps, table: pa.Table) -> bool:
        """Keep ``table``; False when it is larger than one entry may be."""
        nbytes = table.nbytes
        with self._lock:
            if nbytes > self.max_entry_bytes:
                self._counts["too_large"] += 1
                return False
            if key in self._entries:
                self._drop(key)
            self._entries[key] = Entry(table, deps, nbytes)
            self._bytes += nbytes
            self._counts["stores"] += 1
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))
                self._counts["evictions"] += 1
            return True

    def _drop(self, key: tuple) -> None:
        self._bytes -= self._entries.pop(key).nbytes

    def count_uncacheable(self) -> None:
        with self._lock:
            self._counts["uncacheable"] += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> dict[str, int]:
        """Counters since start and the current size: hits, misses, stores, evictions,
        invalidations (entries found stale), uncacheable (queries that could not be cached),
        too_large (results over the entry bound), entries, bytes, max_bytes."""
        with self._lock:
            return {**self._counts, "entries": len(self._entries), "bytes": self._bytes,
                    "max_bytes": self.max_bytes}

    # ------------------------------------------------------------------ streams

    def tee(self, key: tuple, deps: Deps, reader: pa.RecordBatchReader
            ) -> pa.RecordBatchReader:
        """``reader``'s batches, kept once it has been read to its end (a stream closed
        early, or failing, stores nothing); collecting stops past the entry bound."""
        return pa.RecordBatchReader.from_batches(reader.schema,
                                                 self._collect(key, deps, reader))

    def _collect(self, key: tuple, deps: Deps, reader: pa.RecordBatchReader
                 ) -> Iterator[pa.RecordBatch]:
        kept: list[pa.RecordBatch] | None = []
        size = 0
        try:
            for b in reader:  # noqa: UP028 (``yield from`` would close it with an error)
                if kept is not None:
                    size += b.nbytes
                    if size <= self.max_entry_bytes:
                        kept.append(b)
                    else:
                        kept = None
                yield b
        finally:
            reader.close()
        if kept is None:
            with self._lock:
                self._counts["too_large"] += 1
        else:
            self.put(key, deps, pa.Table.from_batches(kept, reader.schema))


# ------------------------------------------------------------------ per database


_shared: weakref.WeakValueDictionary[str, ResultCache] = weakref.WeakValueDictionary()
_shared_lock = threading.Lock()


def shared(db: Any, max_bytes: int) -> ResultCache:
    """The cache every session of ``db`` shares (made with ``max_bytes`` the first time);
    pass it to each ``Session(db, result_cache=...)``."""
    root = str(getattr(db, "root", id(db)))
    with _shared_lock:
        cache = _shared.get(root)
        if cache is None:
            cache = ResultCache(max_bytes)
            _shared[root] = cache
        return cache


def attach(db: Any, cache: ResultCache) -> None:
    """Make ``cache`` the one ``db``'s system view reports (the server's own)."""
    with _shared_lock:
        _shared[str(getattr(db, "root", id(db)))] = cache


def for_root(root: str) -> ResultCache | None:
    """The cache shared by the sessions of the database in directory ``root``, if any."""
    with _shared_lock:
        return _shared.get(str(root))


# ------------------------------------------------------------------ keys and dependencies


@dataclass
class Request:
    """One query's use of the cache: look it up, then keep what was computed."""

    cache: ResultCache
    key: tuple
    snap: Any

    def hit(self) -> pa.Table | None:
        return self.cache.get(self.key, self.snap)

    def keep(self, out: pa.Table | pa.RecordBatchReader, plan: Node, volatile: bool
             ) -> pa.Table | pa.RecordBatchReader:
        """``out`` (the result of ``plan``), stored, or teed into the cache as it is read;
        unchanged when the plan is volatile or reads what the transaction has written."""
        deps = None if volatile else dependencies(plan, self.snap)
        if deps is None or any(v < 0 for _, v in deps):
            self.cache.count_uncacheable()
            return out
        if isinstance(out, pa.Table):
            self.cache.put(self.key, deps, out)
            return out
        return self.cache.tee(self.key, deps, out)


def request(session: Any, node: exp.Expression, params: list[pa.Scalar] | None, snap: Any
            ) -> Request | None:
    """The cache request of a query the session runs now; None when the session has no
    cache, its open transaction has written, or the parameters cannot be keyed."""
    cache = getattr(session, "result_cache", None)
    if cache is None or not cache.enabled or written(session, snap):
        return None
    key = request_key(session, node, params, snap)
    return None if key is None else Request(cache, key, snap)


def request_key(session: Any, node: exp.Expression, params: list[pa.Scalar] | None,
                snap: Any) -> tuple | None:
    """What a query's result depends on besides the data; None if it cannot be cached
    (parameter values that are not hashable)."""
    values = tuple((str(s.type), s.as_py()) for s in params or ())
    try:
        hash(values)
    except TypeError:
        return None
    return (normalised(node), values, getattr(session, "user", None),
            session.schema, session.catalog, _temp_tables(session, snap),
            snap.catalog_version, function_generation())


def normalised(node: exp.Expression) -> str:
    """The statement's text as sqlglot writes it (whitespace, case and comments gone),
    computed once per parsed statement: a prepared one is looked up at every execution."""
    text = node.meta.get("normalised")
    if text is None:
        text = node.meta["normalised"] = node.sql(dialect=Grizzly, comments=False)
    return text


def _temp_tables(session: Any, snap: Any) -> str | None:
    """Where the session's temporary tables are if it has any (names may then mean them, so
    its results are its own), else None (results are shared with other sessions)."""
    prefix = session.temp_table("")
    schema = prefix.split(".", 1)[0]
    if schema in snap.schemas() and any(t.startswith(prefix) for t in snap.tables(schema)):
        return prefix
    return None


def written(session: Any, snap: Any) -> bool:
    """Has the session's open transaction changed anything (negative versions)?"""
    if not session.in_transaction:
        return False
    return snap.catalog_version < 0 or any(snap.data_version(t) < 0 for t in snap.tables())


def dependencies(plan: Node, snap: Any) -> Deps | None:
    """The (table, data version) pairs of every table ``plan`` reads, subqueries included;
    None when its result may change without a commit (a file, a sample without a seed)."""
    tables: set[str] = set()
    todo: list[Any] = [plan]
    seen: set[int] = set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, FileScan) or (isinstance(obj, Sample) and obj.seed is None):
            return None
        if isinstance(obj, Scan):
            tables.add(obj.table)
        if isinstance(obj, (Node, Expr, SharedPlan)) or hasattr(obj, "__dataclass_fields__"):
            todo.extend(v for v in getattr(obj, "__dict__", {}).values() if _walkable(v))
        elif isinstance(obj, (list, tuple)):
            todo.extend(v for v in obj if _walkable(v))
        elif isinstance(obj, dict):
            todo.extend(v for v in obj.values() if _walkable(v))
    return tuple((t, snap.data_version(t)) for t in sorted(tables))


def _walkable(v: Any) -> bool:
    return isinstance(v, (Node, Expr, SharedPlan, list, tuple, dict)) or \
        (hasattr(v, "__dataclass_fields__") and not isinstance(v, type))


def current(snap: Any, deps: Deps) -> bool:
    """Are these tables' data versions still the ones recorded (and none pending)?"""
    try:
        return all(v >= 0 and snap.data_version(t) == v for t, v in deps)
    except Exception:  # a table that no longer exists (the catalog key changed too)
        return False
