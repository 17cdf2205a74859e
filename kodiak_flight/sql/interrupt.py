"""Stopping a running query from another thread: cancellation and deadlines.

A query's work happens while its result is read: Acero pulls the engine's scans batch by
batch. Each scan checks its ``Interrupt`` before handing on a batch, so a cancelled or
overdue query stops within one batch of every scan (64k rows), even in the middle of an
aggregation that has produced nothing yet, and the reader raises ``QueryCancelled`` or
``QueryTimedOut``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from .errors import QueryCancelled, QueryTimedOut


class Interrupt:
    def __init__(self, deadline: float | None = None, timeout: float | None = None) -> None:
        self.deadline = deadline  # time.monotonic() value, or None
        self.timeout = timeout  # for the message
        # a plain flag: one attribute store is atomic, and a threading.Event would cost more
        # to create than a primary-key lookup's planning
        self._cancelled = False
        self.memory: Any = None  # a memory.QueryMemory checked with it, if limits are set
        # whether the caller has gone (a server's call cancelled by its client), while known
        self.caller_gone: Callable[[], bool] | None = None
        self._releases: list[Callable[[], Any]] = []

    def on_release(self, fn: Callable[[], Any]) -> None:
        """Call ``fn`` when the query ends (:meth:`release`); give it idempotent ``fn``s
        such as ``weakref.finalize`` objects, so a lost interrupt still releases them."""
        self._releases.append(fn)

    def release(self) -> None:
        """The query is over: what it held (a memory watch, a query slot) is given back."""
        for fn in self._releases:
            fn()

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        gone = self.caller_gone
        if gone is not None and gone():
            self._cancelled = True
        if self._cancelled:
            raise QueryCancelled("the query was cancelled")
        if self.deadline is not None and time.monotonic() > self.deadline:
            shown = f" ({self.timeout:g} s)" if self.timeout is not None else ""
            raise QueryTimedOut(f"the query ran past its time limit{shown} and was stopped")
        if self.memory is not None:
            self.memory.check()

    def guard(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """``reader`` checking this interrupt before each batch."""
        def batches() -> Iterator[pa.RecordBatch]:
            self.check()
            for b in reader:
                self.check()
                yield b
        return pa.RecordBatchReader.from_batches(reader.schema, batches())
