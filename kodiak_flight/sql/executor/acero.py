"""Acero declaration helpers the operators share."""

from __future__ import annotations

import contextlib
import logging
import threading

import pyarrow as pa
import pyarrow.acero as ac

log = logging.getLogger(__name__)

# How long a query waits for a stopped plan to drain before going on without it: longer than
# a slow drain takes (a stopped many-group aggregation took up to 4 s under load), so the
# plan's memory is back when the query answers; only a plan that never ends is left behind.
STOP_WAIT_SECONDS = 10.0


def source_table(t: pa.Table) -> ac.Declaration:
    return ac.Declaration("table_source", ac.TableSourceNodeOptions(t))


def source_reader(r: pa.RecordBatchReader) -> ac.Declaration:
    return ac.Declaration("record_batch_reader_source", ac.RecordBatchReaderSourceNodeOptions(r))


# Acero's union node ignores its options, but pyarrow's Declaration does not check its
# options argument for None: given None it copies a C++ shared_ptr out of the memory next to
# Py_None, and every copy bumps a word of CPython's own `type` object (its ob_type), so the
# next unspecialised `type(x)` call in any thread dies with SIGSEGV (select4.test, line 3766
# of SQLite's sqllogictest corpus). A real options object of any kind is safe.
_UNION_OPTIONS = ac.ProjectNodeOptions([])


def union(*inputs: ac.Declaration) -> ac.Declaration:
    """The rows of every input (UNION ALL), streamed."""
    return ac.Declaration("union", _UNION_OPTIONS, inputs=list(inputs))


def seq(*decls: ac.Declaration) -> ac.Declaration:
    return ac.Declaration.from_sequence(list(decls))


def stream(decl: ac.Declaration) -> pa.RecordBatchReader:
    """Run ``decl``, its rows as a reader; a plan Acero cannot build raises here.

    pyarrow's ``Declaration.to_reader`` turns a plan that fails to build (a field reference
    that matches nothing, inputs of a union whose schemas differ) into a reader whose schema
    is a null pointer, and reading that schema is a SIGSEGV. Building the plan without
    running it (what ``str`` does, ~0.1 ms) reports the error as an ``ArrowInvalid``.
    """
    str(decl)
    return decl.to_reader(use_threads=True)


def close_stopped(r: pa.RecordBatchReader, wait: float = STOP_WAIT_SECONDS) -> None:
    """Close the reader of a plan stopped before its end, waiting at most ``wait`` seconds.

    Arrow's plan reader drains a stopped plan in ``close``; under heavy load a stopped plan
    has been seen never to finish draining (every Acero thread idle, the closing thread
    waiting forever on a batch that never comes), which hung the query for good. So the
    close runs on a thread of its own: a plan still draining after ``wait`` is left to that
    thread and the query goes on (its error or cancellation is reported as usual)."""
    closer = threading.Thread(target=_close_quietly, args=(r,), daemon=True,
                              name="kodiak-plan-close")
    closer.start()
    closer.join(wait)
    if closer.is_alive():
        log.warning("a stopped query plan did not finish closing within %.0f s; left to "
                    "close in the background", wait)


def _close_quietly(r: pa.RecordBatchReader) -> None:
    """Close ``r``, its error dropped: a scan interrupted meanwhile reports QueryCancelled
    here, and nobody is left to tell.

    The plan keeps its error, and ``close`` raises that very object again, adding this frame
    to its traceback: so the reader is dropped from the frame, or the error, this frame and
    the plan would form a cycle through C++ that the garbage collector cannot see, keeping
    the stopped plan and every batch its frames held for good."""
    try:
        with contextlib.suppress(Exception):
            r.close()
    finally:
        r = None  # type: ignore[assignment]
