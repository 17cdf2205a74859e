"""Check points between a plan's steps, so a running query stops when asked.

A scan checks the query's interrupt before each batch it hands Acero, but Acero reads its
sources ahead: a hash join or an aggregation goes on for a long time after its scans' last
check. So the executor also checks between the steps it runs in Python (every batch read into
a sort, a window or a top-N, every recursive CTE iteration) and cuts an Acero plan in two
where a blocking step (an aggregation) consumes a hash join's output: the join runs as a plan
of its own whose batches pass a check on their way into the aggregation, so a cancel, a
deadline or a memory limit stops both within one join output batch.

What still finishes before it stops: one Acero task (a hash join's output for one probe batch
of up to 32k rows, however many rows it matches), and one pyarrow kernel call over a whole
table (a sort's ``sort_indices``, a window's ordering).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.acero as ac

from ..interrupt import Interrupt
from ..plan import Filter, Join, Node, Project
from .acero import source_reader, stream
from .arrow_errors import arrow_errors, error_mapping_reader


def checked_batches(r: pa.RecordBatchReader, interrupt: Interrupt) -> Iterator[pa.RecordBatch]:
    """The batches of ``r``, the interrupt checked before each; ``r`` is closed at the end
    (which stops its plan) whether it was read to the end or not."""
    try:
        interrupt.check()
        for b in r:
            interrupt.check()
            yield b
    finally:
        with contextlib.suppress(Exception):
            r.close()


def checked_decl(decl: ac.Declaration, interrupt: Interrupt | None) -> ac.Declaration:
    """``decl`` run as a plan of its own whose batches are checked on their way into the
    plan that consumes them (the identity without an interrupt)."""
    if interrupt is None:
        return decl
    r = error_mapping_reader(arrow_errors(stream)(decl))
    return source_reader(pa.RecordBatchReader.from_batches(
        r.schema, checked_batches(r, interrupt)))


def joins_below(node: Node) -> bool:
    """Whether ``node``'s rows come through a hash join in the same Acero plan (its output
    then keeps coming after every scan's last check)."""
    if isinstance(node, Join):
        return bool(node.left_keys)
    return isinstance(node, (Filter, Project)) and joins_below(node.input)
