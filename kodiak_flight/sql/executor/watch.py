"""Reading an Acero plan so that no plan can hang the query that reads it.

Acero (pyarrow 26) sometimes never ends a plan stopped by an error raised inside it: a cast
that fails, a division by zero, or Kodiak's own stop checks (``checked.py``). The reader
then waits for good on a batch that never comes, with every Acero thread idle (seen about
once in 70 runs of ``select a from t where 'hello' in (select a from t)`` on a loaded
2-core machine; ``python -m bench acero_error_hang`` counts it in plain pyarrow).

So a plan's batches are read on a thread of their own (the pump), and the query waits for
each in short slices, free between them to

* stop at once when its interrupt is set (cancel, deadline, memory limit), whatever the
  plan is doing;
* see that the plan is stuck: no batch, and the whole process using almost no CPU, for
  ``STALL_SECONDS``. Such a plan is left to its thread and ``PlanStalled`` raised; the
  executor then runs the statement again on one thread (``use_threads=False``), which does
  not hang, and so reports the real error (``core.Executor.output``).

A batch goes through a queue of one slot: the plan is not read further ahead than before.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from ..errors import ExecutionError
from ..interrupt import Interrupt

log = logging.getLogger(__name__)

SLICE = 0.05  # seconds between looks at the interrupt while a batch is awaited
STALL_SECONDS = 3.0  # no batch and an idle process this long: the plan is stuck
IDLE_CPU = 0.02  # "idle": under this share of one core, over the stall window
IDLE_WINDOW = 0.3  # a stopped plan that drains with an idle process this long is stuck
STOP_WAIT_SECONDS = 10.0  # how long a stopped plan may take to drain before it is left

_END = object()


class PlanStalled(ExecutionError):
    """A plan stopped making progress (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__("the query stopped making progress inside the execution engine "
                         "and was abandoned; run it again")


class Pump:
    """A daemon thread reading one plan's batches into a one-slot queue."""

    def __init__(self, r: pa.RecordBatchReader) -> None:
        self.slot: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(r,), daemon=True,
                                       name="kodiak-plan-reader")
        self.thread.start()

    def _run(self, r: pa.RecordBatchReader) -> None:
        """Read until the end, an error or a stop; then close the reader (which stops and
        drains its plan). The reader is dropped before this frame ends: a plan keeps its
        error, whose traceback keeps this frame, and the cycle through C++ would never be
        freed."""
        try:
            while not self.stopped.is_set():
                try:
                    item: Any = r.read_next_batch()
                except StopIteration:
                    item = _END
                except BaseException as e:  # noqa: BLE001 - handed to the reading query
                    item = e
                if not self._put(item) or item is _END or isinstance(item, BaseException):
                    break
        finally:
            item = None
            try:
                r.close()
            except Exception:  # noqa: BLE001 - the query has its error already
                pass
            r = None  # type: ignore[assignment]

    def _put(self, item: Any) -> bool:
        while not self.stopped.is_set():
            try:
                self.slot.put(item, timeout=SLICE)
                return True
            except queue.Full:
                continue
        return False

    def stop(self, wait: float) -> None:
        """Stop reading; wait up to ``wait`` s for the plan to drain (so its memory is back
        when the query answers), less if the process goes idle meanwhile (a stuck plan)."""
        self.stopped.set()
        end = time.monotonic() + wait
        idle = Idle(IDLE_WINDOW)
        while self.thread.is_alive() and time.monotonic() < end:
            self.thread.join(SLICE)
            if idle.seen():
                break
        if self.thread.is_alive() and wait > 0:
            log.warning("a stopped query plan did not finish closing; left to close in the "
                        "background")


def watched(r: pa.RecordBatchReader, interrupt: Interrupt | None) -> Iterator[pa.RecordBatch]:
    """The batches of ``r``, read by a pump and awaited in slices (see the module)."""
    pump = Pump(r)
    del r
    wait = STOP_WAIT_SECONDS  # the pump is always waited for (bounded, see ``Pump.stop``):
    try:  # a process exiting while a pump still closes its plan in C++ aborts
        while True:
            item = _next(pump, interrupt)
            if item is _END:
                return
            if isinstance(item, BaseException):
                try:
                    raise item
                finally:
                    item = None
            yield item
            item = None
    except PlanStalled:
        wait = 0.0  # known to be stuck
        raise
    finally:
        pump.stop(wait)


def _next(pump: Pump, interrupt: Interrupt | None) -> Any:
    """The pump's next item; the interrupt's error if it is set meanwhile; ``PlanStalled``
    if the plan is stuck."""
    idle = Idle(STALL_SECONDS)
    while True:
        try:
            return pump.slot.get(timeout=SLICE)
        except queue.Empty:
            pass
        if interrupt is not None:
            interrupt.check()
        if idle.seen():
            raise PlanStalled()


class Idle:
    """Whether the whole process stayed idle (under ``IDLE_CPU`` of a core) over a window of
    ``window`` seconds: looked at as often as wanted, judged once per window."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.since, self.cpu = time.monotonic(), time.process_time()

    def seen(self) -> bool:
        now = time.monotonic()
        if now - self.since < self.window:
            return False
        if time.process_time() - self.cpu < IDLE_CPU * (now - self.since):
            return True
        self.since, self.cpu = now, time.process_time()
        return False
