"""The server's Prometheus metrics, by name, in a registry of its own.

Each server has its own :class:`Metrics` (``server.metrics``) and so its own
``CollectorRegistry``: many servers can run in one process (the tests do) without their
counts mixing. Other parts of the server record into the named objects here; the query-result
cache's counters are read from its ``stats()`` at each scrape (:meth:`Metrics.watch_cache`).
Engine events (commits,
WAL fsyncs, checkpoints) arrive through the engine's own stats observers
(:meth:`Metrics.observe_engine`): the engine knows nothing of Prometheus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

# Seconds: from a millisecond point lookup to a minutes-long scan.
QUERY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# Seconds: an fsync on fast storage takes tens of microseconds; a checkpoint, up to minutes.
FSYNC_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                 0.25, 1)
CHECKPOINT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

OUTCOMES = ("ok", "error", "cancelled", "timeout", "abandoned")  # a query's outcome


class Metrics:
    """Every metric a server exports, registered in ``self.registry``."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.queries = Counter("kodiak_queries", "Statements run, by kind and outcome",
                               ["kind", "outcome"], registry=r)
        self.query_seconds = Histogram(
            "kodiak_query_duration_seconds",
            "Seconds from a statement's start to the end of its result stream, by kind",
            ["kind"], buckets=QUERY_BUCKETS, registry=r)
        self._done: dict[tuple[str, str], Any] = {}  # kodiak_queries children by labels
        self._seconds: dict[str, Any] = {}  # kodiak_query_duration_seconds children by kind
        self.rows_streamed = Counter("kodiak_rows_streamed",
                                     "Result rows sent to clients", registry=r)
        self.bytes_streamed = Counter("kodiak_bytes_streamed",
                                      "Result bytes (Arrow buffers) sent to clients", registry=r)
        self.active_queries = Gauge("kodiak_active_queries",
                                    "Statements running or streaming their result", registry=r)
        self.active_sessions = Gauge("kodiak_active_sessions", "Open client sessions",
                                     registry=r)
        self.commits = Counter("kodiak_commits", "Durable commits", registry=r)
        self.commit_seconds = Histogram(
            "kodiak_commit_seconds", "Seconds from a commit's log record to durable and visible",
            buckets=FSYNC_BUCKETS, registry=r)
        self.wal_fsync_seconds = Histogram("kodiak_wal_fsync_seconds",
                                           "Seconds each write-ahead log fsync took",
                                           buckets=FSYNC_BUCKETS, registry=r)
        self.checkpoint_seconds = Histogram("kodiak_checkpoint_seconds",
                                            "Seconds each checkpoint took",
                                            buckets=CHECKPOINT_BUCKETS, registry=r)
        self.cache = CacheCollector()
        r.register(self.cache)
        self.memory = Gauge("kodiak_memory_allocated_bytes",
                            "Bytes allocated by Arrow's default memory pool", registry=r)
        self.memory.set_function(pa.total_allocated_bytes)
        self.serving = Gauge("kodiak_serving", "1 while serving, 0 while draining at shutdown",
                             registry=r)
        self.serving.set(1)

    # -- hooks for the rest of the server ---------------------------------------------------

    def watch_cache(self, stats: Callable[[], dict[str, int]]) -> None:
        """Export the query-result cache's counters, read from ``stats`` at each scrape."""
        self.cache.stats = stats

    def count_sessions(self, count: Callable[[], int]) -> None:
        """Read the number of open sessions from ``count`` at each scrape."""
        self.active_sessions.set_function(count)

    def streamed(self, rows: int, nbytes: int) -> None:
        self.rows_streamed.inc(rows)
        self.bytes_streamed.inc(nbytes)

    def query_done(self, kind: str, outcome: str, seconds: float) -> None:
        counter = self._done.get((kind, outcome))
        if counter is None:  # labels() checks and locks on every call: its children kept
            counter = self._done[kind, outcome] = self.queries.labels(kind, outcome)
        histogram = self._seconds.get(kind)
        if histogram is None:
            histogram = self._seconds[kind] = self.query_seconds.labels(kind)
        counter.inc()
        histogram.observe(seconds)

    def observe_engine(self, db: Any) -> Callable[[], None]:
        """Record ``db``'s commits, fsyncs and checkpoints (through ``db.stats``, when it
        has one); returns the unsubscriber."""
        stats = getattr(db, "stats", None)
        if stats is None or not hasattr(stats, "subscribe"):
            return lambda: None
        return stats.subscribe(self._engine_event)

    def _engine_event(self, event: str, seconds: float) -> None:
        if event == "commit":
            self.commits.inc()
            self.commit_seconds.observe(seconds)
        elif event == "wal_fsync":
            self.wal_fsync_seconds.observe(seconds)
        elif event == "checkpoint":
            self.checkpoint_seconds.observe(seconds)


# the result cache's counters (``ResultCache.stats()`` keys) and gauges, as exported
CACHE_COUNTERS = {"hits": "Query results served from the cache",
                  "misses": "Queries looked up and not found in the cache",
                  "stores": "Results stored in the cache",
                  "evictions": "Results evicted to make room (least recently used first)",
                  "invalidations": "Entries found stale (a table they read changed)"}
CACHE_GAUGES = {"bytes": "Bytes of results held in the cache",
                "entries": "Results held in the cache",
                "max_bytes": "The cache's size bound in bytes"}


class CacheCollector:
    """``kodiak_result_cache_*``: zero while the server has no result cache."""

    def __init__(self) -> None:
        self.stats: Callable[[], dict[str, int]] = dict

    def collect(self) -> Any:
        got = self.stats()
        for key, doc in CACHE_COUNTERS.items():
            yield CounterMetricFamily(f"kodiak_result_cache_{key}", doc, value=got.get(key, 0))
        for key, doc in CACHE_GAUGES.items():
            yield GaugeMetricFamily(f"kodiak_result_cache_{key}", doc, value=got.get(key, 0))
