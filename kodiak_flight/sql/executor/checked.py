"""Check points between a plan's steps, so a running query stops when asked.

A scan checks the query's interrupt before each batch it hands Acero, but Acero reads its
sources ahead: a hash join, and an aggregation or sort over it, go on long after their scans'
last check. So the interrupt (cancel, deadline, memory limit) is also checked

- inside Acero, by an expression reading the interrupt's stop flag (a byte a failed check
  or a cancel sets; ``interrupt.StopFlag``), natively, without the GIL: in a hash join's
  residual condition when it has one (each mini-batch of candidate matches) and in a filter
  node on every hash join's output (each batch going on into an aggregation, a join, a
  sort). Its error once set is reported as the interrupt's (``arrow_errors``);
- in Python, before every batch read into a table (a sort's, a window's, an aggregate's result)
  or a top-N, and before every recursive CTE iteration and every window function.

What still finishes before a query stops: one Acero task without a check inside it (the hash
table build of a join, an aggregation's final merge) and one pyarrow kernel call over a whole
table (a sort's ``sort_indices``, a window's ordering; above ``SORT_RANGE_ROWS`` rows those
run one range of the first key at a time, ``sort_limit.sort_indices``).
"""

from __future__ import annotations

import contextlib

import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from ..interrupt import Interrupt, flags_read_natively
from .acero import seq


def read_checked(r: pa.RecordBatchReader, interrupt: Interrupt) -> pa.Table:
    """All of ``r`` as a table, the interrupt checked before each batch; ``r`` is closed
    either way (which stops its plan).

    An error raised inside an Acero plan is kept by the plan's reader, and its traceback
    keeps this frame: so the reader is dropped from the frame before the error goes on, or
    the reader, the error and every table the stopped query held would form a cycle through
    C++ that the garbage collector cannot see, and never free."""
    schema, batches = r.schema, []
    try:
        interrupt.check()
        for b in r:
            interrupt.check()
            batches.append(b)
    finally:
        with contextlib.suppress(Exception):
            r.close()
        r = None  # type: ignore[assignment]
    return pa.Table.from_batches(batches, schema)


def check_expr(interrupt: Interrupt) -> pc.Expression | None:
    """An expression, true for every row while ``interrupt`` lets the query run, and an
    Arrow error in the plan evaluating it once the query is stopped (its
    :class:`~..interrupt.StopFlag`, read natively each time Acero evaluates it); None where
    this pyarrow cannot read the flag so (``flags_read_natively``)."""
    return interrupt.stop_flag().expression if flags_read_natively() else None


def checked_residual(residual: pc.Expression | None, interrupt: Interrupt | None
                     ) -> pc.Expression | None:
    """A hash join's residual condition that also checks ``interrupt``: Acero evaluates it
    for each mini-batch of candidate matches (about a thousand probe rows), so even a join
    whose matches mostly fail it, and which outputs little, stops soon. A join without a
    residual gets none: adding one would take Acero off its fast path for every join (it
    would gather each candidate pair's columns); its output batches are checked instead."""
    if interrupt is None or residual is None:
        return residual
    check = check_expr(interrupt)
    return residual if check is None else pc.Expression._call("and_kleene", [residual, check])


def checked_output(decl: ac.Declaration, interrupt: Interrupt | None) -> ac.Declaration:
    """``decl`` followed by a filter node checking ``interrupt`` before each output batch
    goes on (into an aggregation, another join, a sort)."""
    check = check_expr(interrupt) if interrupt is not None else None
    if check is None:
        return decl
    return seq(decl, ac.Declaration("filter", ac.FilterNodeOptions(check)))
