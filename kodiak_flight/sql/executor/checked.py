"""Check points between a plan's steps, so a running query stops when asked.

A scan checks the query's interrupt before each batch it hands Acero, but Acero reads its
sources ahead: a hash join, and an aggregation or sort over it, go on long after their scans'
last check. So the interrupt (cancel, deadline, memory limit) is also checked

- inside Acero, by a scalar function Acero calls once per batch: in a hash join's residual
  condition when it has one (each mini-batch of candidate matches) and in a filter
  node on every hash join's output (each batch going on into an aggregation, a join, a sort);
- in Python, before every batch read into a table (a sort's, a window's, an aggregate's result)
  or a top-N, and before every recursive CTE iteration and every window function.

What still finishes before a query stops: one Acero task without a check inside it (the hash
table build of a join, an aggregation's final merge) and one pyarrow kernel call over a whole
table (a sort's ``sort_indices``, a window's ordering; above ``SORT_RANGE_ROWS`` rows those
run one range of the first key at a time, ``sort_limit.sort_indices``).
"""

from __future__ import annotations

import contextlib
import itertools
import weakref
from typing import Any

import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from ..interrupt import Interrupt
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


# A check inside a running Acero plan: a filter node calling a scalar function that checks
# the interrupt registered under its argument (and keeps every row). Acero calls it for
# each batch as the batch is processed, not when the source reads it ahead, so placed on a
# hash join's probe side it runs before each probe batch's work.
CHECK_FUNCTION = "kodiak_interrupt_check"
_WATCHED: dict[int, weakref.ref[Interrupt]] = {}
_KEYS = itertools.count()
# The check's result, made once: ``pa.repeat(pa.scalar(True), n)`` costs about 10 us a
# call, most of the whole check's Python time, and Acero calls the check once per
# mini-batch of a join's candidate matches (TPC-H Q21: about 1,800 calls, some 20 ms of CPU).
# Its argument is a constant, so Acero asks for one row; longer results are slices.
_TRUES = pa.repeat(pa.scalar(True), 1 << 16)
_ONE_TRUE = _TRUES.slice(0, 1)


def _check(ctx: Any, key: pa.Int64Scalar) -> pa.Array:
    ref = _WATCHED.get(key.as_py() if isinstance(key, pa.Scalar) else key[0].as_py())
    interrupt = ref() if ref is not None else None
    if interrupt is not None:
        interrupt.check()
    return all_true(ctx.batch_length)


def all_true(n: int) -> pa.Array:
    """A boolean array of ``n`` trues (shared: Arrow arrays are immutable)."""
    if n == 1:
        return _ONE_TRUE
    return _TRUES.slice(0, n) if n <= len(_TRUES) else pa.repeat(pa.scalar(True), n)


with contextlib.suppress(pa.ArrowKeyError):  # registered once per process
    pc.register_scalar_function(
        _check, CHECK_FUNCTION,
        {"summary": "check a query's interrupt", "description": "Kodiak internal."},
        {"key": pa.int64()}, pa.bool_())


def check_expr(interrupt: Interrupt) -> pc.Expression:
    """An expression, true for every row, that checks ``interrupt`` whenever it is
    evaluated (once per batch)."""
    key = next(_KEYS)
    _WATCHED[key] = weakref.ref(interrupt)
    weakref.finalize(interrupt, _WATCHED.pop, key, None)
    return pc.Expression._call(CHECK_FUNCTION, [pc.scalar(key)])


def checked_residual(residual: pc.Expression | None, interrupt: Interrupt | None
                     ) -> pc.Expression | None:
    """A hash join's residual condition that also checks ``interrupt``: Acero evaluates it
    for each mini-batch of candidate matches (about a thousand probe rows), so even a join
    whose matches mostly fail it, and which outputs little, checks often. A join without a
    residual gets none: adding one would take Acero off its fast path for every join (a
    Python call per mini-batch); its output batches are checked instead."""
    if interrupt is None or residual is None:
        return residual
    check = check_expr(interrupt)
    return check if residual is None else pc.Expression._call("and_kleene",
                                                              [residual, check])


def checked_output(decl: ac.Declaration, interrupt: Interrupt | None) -> ac.Declaration:
    """``decl`` followed by a filter node checking ``interrupt`` before each output batch
    goes on (into an aggregation, another join, a sort)."""
    if interrupt is None:
        return decl
    return seq(decl, ac.Declaration("filter", ac.FilterNodeOptions(check_expr(interrupt))))
