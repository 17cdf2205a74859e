"""Memory limits for running queries, checked with their interrupt.

Acero allocates from Arrow's default memory pool and takes no pool of its own
(``Declaration.to_reader`` has no ``memory_pool`` argument), so a query's memory cannot be
counted exactly. What is counted is the pool's growth: a query's use is the pool's bytes now
minus the bytes when it began, and the queries' use together is the pool's bytes minus its
bytes when the oldest running query began. Alone, a query's count is exact; with others
running it can include their growth too, so it is an upper bound. Both limits are checked
whenever the query's :class:`~.interrupt.Interrupt` is (every scan batch, every
nested-loop chunk, every result batch, between steps: ``executor/checked.py``), against the
highest size a sampler thread saw since the query began (so memory a step allocated and freed
between two checks still counts); a query over a limit stops with
:class:`~.errors.ResourceExhausted`, its plan ends and its memory returns to the pool.

Over the server-wide limit only one query is stopped at a time: the next one to check,
unless a query stopped for it is still releasing its memory.
"""

from __future__ import annotations

import gc
import itertools
import re
import threading
import time
import weakref
from typing import Any

import pyarrow as pa

from .errors import ResourceExhausted

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2,
          "g": 1000**3, "gb": 1000**3, "t": 1000**4, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
SAMPLE_SECONDS = 0.002  # how often the pool's size is sampled while queries run
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: Any) -> int:
    """Bytes from ``123``, ``"64MiB"``, ``"1.5 GB"`` (ValueError for anything else)."""
    if isinstance(text, bool):
        raise ValueError(text)
    if isinstance(text, int):
        if text < 0:
            raise ValueError(text)
        return text
    m = _SIZE.match(str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(text)
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def show_size(n: int) -> str:
    """``8 MiB``, ``1.5 GiB``, ``700 bytes``: a size as people write it."""
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} bytes"


class QueryMemory:
    """One query's view of the limits: :meth:`check` raises once it is over either."""

    def __init__(self, limits: MemoryLimits, key: int, baseline: int) -> None:
        self.limits = limits
        self.key = key
        self.baseline = baseline

    def used(self) -> int:
        """The pool's growth since the query began, at its highest seen (the sampler's
        peak: a step's memory may be freed again before the next check)."""
        now = self.limits.pool.bytes_allocated()
        return max(0, max(now, self.limits.peak(self.key)) - self.baseline)

    def check(self) -> None:
        self.limits.check(self)


class Watches:
    """Two memory watches of one query, checked together."""

    def __init__(self, first: Any, second: QueryMemory) -> None:
        self.first, self.second = first, second

    def used(self) -> int:
        return max(self.first.used(), self.second.used())

    def check(self) -> None:
        self.first.check()
        self.second.check()


class MemoryLimits:
    """Server-wide (``total``) and per-query (``per_query``) limits, in bytes (None: none).

    ``names`` says how the error message calls each limit (its setting's name)."""

    def __init__(self, total: int | None = None, per_query: int | None = None, *,
                 pool: pa.MemoryPool | None = None,
                 names: tuple[str, str] = ("serve.memory_limit",
                                           "serve.query_memory_limit")) -> None:
        self.total = total
        self.per_query = per_query
        self.pool = pool or pa.default_memory_pool()
        self.names = names
        self._lock = threading.Lock()
        self._running: dict[int, int] = {}  # query key -> pool bytes when it began
        self._keys = itertools.count()
        self._victim: int | None = None  # stopped for the server-wide limit, not yet gone
        self._peaks: dict[int, int] = {}  # query key -> highest pool bytes sampled
        self._sampler: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.total is not None or self.per_query is not None

    def attach(self, interrupt: Any) -> QueryMemory | None:
        """Watch the query behind ``interrupt`` until it is released or collected."""
        if not self.active:
            return None
        with self._lock:
            key = next(self._keys)
            qm = QueryMemory(self, key, self.pool.bytes_allocated())
            self._running[key] = qm.baseline
            self._peaks[key] = qm.baseline
            if self.per_query is not None and self._sampler is None:
                self._sampler = threading.Thread(target=self._sample, daemon=True,
                                                 name="kodiak-memory-sampler")
                self._sampler.start()
        # a query watched by two sets of limits (the server's, its session's) checks both
        prev = interrupt.memory
        interrupt.memory = qm if prev is None else Watches(prev, qm)
        interrupt.on_release(weakref.finalize(interrupt, self._end, key))
        return qm

    def _end(self, key: int) -> None:
        with self._lock:
            self._running.pop(key, None)
            self._peaks.pop(key, None)
            if self._victim == key:
                self._victim = None

    def peak(self, key: int) -> int:
        return self._peaks.get(key, 0)

    def _sample(self) -> None:
        """While queries run, note the pool's highest size every ``SAMPLE_SECONDS``: a hash
        table or a sort built inside one Acero step can come and go between two checks."""
        while True:
            time.sleep(SAMPLE_SECONDS)
            now = self.pool.bytes_allocated()
            with self._lock:
                if not self._running:
                    self._sampler = None
                    return
                for k, p in self._peaks.items():
                    if now > p:
                        self._peaks[k] = now

    def in_use(self) -> int:
        """Bytes the pool gained since the oldest running query began."""
        with self._lock:
            base = min(self._running.values(), default=None)
        return 0 if base is None else max(0, self.pool.bytes_allocated() - base)

    def check(self, qm: QueryMemory) -> None:
        if self.per_query is not None and qm.used() > self.per_query:
            raise self._error(self.per_query, self.names[1])
        if self.total is not None and self.in_use() > self.total:
            with self._lock:
                if self._victim is not None and self._victim != qm.key:
                    return  # one stopped query is releasing its memory already
                self._victim = qm.key
            raise self._error(self.total, self.names[0], " of all running queries")

    @staticmethod
    def _error(limit: int, name: str, whose: str = "") -> ResourceExhausted:
        # the stopped query's tables stay reachable from its exception's frames (a reference
        # cycle) until the next garbage collection: run one once the error has been sent
        threading.Timer(0.2, gc.collect).start()
        return ResourceExhausted(
            f"the query needed more than the memory limit{whose} of {show_size(limit)} "
            f"({name}) and was stopped", retry=bool(whose))

