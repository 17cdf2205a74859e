"""Stopping a running query from another thread: cancellation and deadlines.

A query's work happens while its result is read: Acero pulls the engine's scans batch by
batch. Each scan checks its ``Interrupt`` before handing on a batch, so a cancelled or
overdue query stops within one batch of every scan (64k rows), even in the middle of an
aggregation that has produced nothing yet, and the reader raises ``QueryCancelled`` or
``QueryTimedOut``.

Work Acero does after its scans' last check (a hash join's probe, see
``executor/checked.py``) reads a :class:`StopFlag` instead: one byte that a check which
fails, or a cancel, sets, and that the running plan reads in native code without the GIL.
"""

from __future__ import annotations

import copy
import functools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .errors import QueryCancelled, QueryTimedOut

log = logging.getLogger(__name__)


class StopFlag(bytearray):
    """One byte, 1 while the plans reading it may run and 0 once their query is stopped.

    Its memory is the child values of a one-element list literal (``expression``): Arrow
    reads a list scalar's values where they lie, so a plan evaluating the expression sees
    the byte as it is now, in native code, with no Python call (a Python function inside a
    hash join's condition cost a GIL hand-off per thousand candidate rows: half of TPC-H
    Q21's time). The literal keeps this object alive as long as a plan holds it."""

    def __init__(self) -> None:
        super().__init__(b"\x01")
        self.reason: Exception | None = None  # why it was set, once it is
        values = pa.Array.from_buffers(pa.int8(), 1, [None, pa.py_buffer(self)])
        item = pa.ListArray.from_arrays(pa.array([0, 1], pa.int32()), values)[0]
        one = pc.scalar(pa.scalar(1, pa.int8()))
        byte = pc.Expression._call("list_element", [pc.scalar(item), pc.scalar(0)])
        # 1 / byte is 1 while the byte is 1 and Arrow's "divide by zero" error once it is 0
        self.expression = pc.Expression._call("divide_checked", [one, byte]) == one

    def trip(self, reason: Exception) -> None:
        """Stop the plans reading this flag, for ``reason`` (kept without its traceback,
        whose frames could hold the plan that holds this flag)."""
        if self.reason is None:
            self.reason = copy.copy(reason)
        self[0] = 0


@functools.cache
def flags_read_natively() -> bool:
    """Whether this pyarrow reads a :class:`StopFlag`'s byte at each evaluation (checked once
    per process on a two-row table). It relies on Arrow not copying a list literal's values,
    true of the pyarrow versions Kodiak is tested with; where it fails, plans get no check
    inside and a stopped query's plan runs on to its scans' next check (the query itself
    still answers at once: ``executor/watch.py``)."""
    flag = StopFlag()
    t = pa.table({"x": [1, 2]})
    try:
        kept = t.filter(flag.expression).num_rows == 2
    except pa.ArrowInvalid:
        kept = False
    flag.trip(QueryCancelled("self-check"))
    try:
        t.filter(flag.expression)
    except pa.ArrowInvalid:
        if kept:
            return True
    log.warning("this pyarrow copies a list literal's values: queries stop at their scans' "
                "next check, not inside joins")
    return False


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
        self._flag: StopFlag | None = None

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
        self._trip(QueryCancelled("the query was cancelled"))

    def stop_flag(self) -> StopFlag:
        """The flag a plan built now reads: a fresh one once the last was set (a script that
        caught the error goes on with plans that run)."""
        flag = self._flag
        if flag is None or flag.reason is not None:
            flag = self._flag = StopFlag()
            if self._cancelled:
                flag.trip(QueryCancelled("the query was cancelled"))
        return flag

    def stopped_by(self) -> Exception | None:
        """Why the running plans were stopped, if they were: a plan's own error then (the
        flag's "divide by zero") is this, not the user's."""
        flag = self._flag
        return flag.reason if flag is not None else None

    def _trip(self, reason: Exception) -> None:
        flag = self._flag
        if flag is not None:
            flag.trip(reason)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        """Raise if the query is to stop, and stop its running plans with it."""
        try:
            self._check()
        except Exception as e:
            self._trip(e)
            raise

    def _check(self) -> None:
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
