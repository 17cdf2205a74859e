"""Joins without equality keys (CROSS JOIN, ``ON a.x < b.y``): a streamed nested loop.

Acero runs such joins as a hash join on a constant key, and a hash join produces all the
output of one probe batch inside one task: a cross join of four 1,000-row tables is a single
task of 10^12 rows that neither LIMIT, closing the reader, a cancel nor a deadline can stop
(Acero only stops between tasks). Here the smaller input is held in memory and the other
streamed; each streamed batch is paired with it in output chunks of ``CHUNK_ROWS`` rows,
built with two ``take`` calls per column (vectorised: Python runs once per chunk, not per
row). The chunks are produced only as the consumer reads, so a satisfied LIMIT or a closed
reader stops the work at once, and the query's interrupt is checked before every chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from ..interrupt import Interrupt
from ..optimizer import estimate
from ..plan import Join
from .core import Executor, Out
from .kernels import evaluate_compiled

CHUNK_ROWS = 65_536
KINDS = ("inner", "cross")  # outer, semi and anti joins without keys stay with Acero


def applies(node: Join) -> bool:
    """Whether ``node`` runs as a streamed nested loop."""
    return not node.left_keys and node.kind in KINDS


def run_nested_loop(ex: Executor, node: Join) -> Out:
    """The pairs of ``node``'s inputs that satisfy its residual condition, streamed."""
    lids, rids = node.left.out_ids(), node.right.out_ids()
    hold_left = estimate(node.left) < estimate(node.right)
    held_node, streamed_node = (node.left, node.right) if hold_left else (node.right, node.left)
    held = ex.as_table(ex.run(held_node)).combine_chunks()
    if held.num_rows == 0:  # nothing pairs with anything: the other side is never run
        schema = pa.schema([pa.field(i, t) for i, t in node.left.output + node.right.output])
        return Out(table=schema.empty_table())
    streamed = ex.as_reader(ex.run(streamed_node))
    residual = ex.compile(node.residual) if node.residual is not None else None
    fields = list(held.schema) + list(streamed.schema) if hold_left else \
        list(streamed.schema) + list(held.schema)
    schema = pa.schema(fields)
    assert schema.names == lids + rids
    batches = pairs(streamed, held, hold_left, schema, ex.interrupt)
    if residual is not None:
        batches = filtered(batches, residual)
    return Out(reader=pa.RecordBatchReader.from_batches(schema, batches))


def pairs(streamed: pa.RecordBatchReader, held: pa.Table, held_is_left: bool,
          schema: pa.Schema, interrupt: Interrupt | None) -> Iterator[pa.RecordBatch]:
    """Every (streamed row, held row) pair, in chunks, columns in ``schema``'s order."""
    m = held.num_rows
    try:
        held_cols = [c.chunk(0) for c in held.columns]  # one chunk each, combined above
        for b in streamed:
            total = b.num_rows * m
            for start in range(0, total, CHUNK_ROWS):
                if interrupt is not None:
                    interrupt.check()
                idx = np.arange(start, min(start + CHUNK_ROWS, total), dtype=np.int64)
                s_idx, h_idx = pa.array(idx // m), pa.array(idx % m)
                s_cols = [c.take(s_idx) for c in b.columns]
                h_cols = [c.take(h_idx) for c in held_cols]
                cols = h_cols + s_cols if held_is_left else s_cols + h_cols
                yield pa.RecordBatch.from_arrays(cols, schema=schema)
    finally:
        streamed.close()


def filtered(batches: Iterator[pa.RecordBatch], cond: object) -> Iterator[pa.RecordBatch]:
    """The rows of ``batches`` for which the compiled condition ``cond`` is true."""
    try:
        for b in batches:
            t = pa.Table.from_batches([b])
            keep = evaluate_compiled(t, cond)  # type: ignore[arg-type]
            out = t.filter(keep)
            if out.num_rows:
                yield from out.combine_chunks().to_batches()
    finally:
        batches.close()  # type: ignore[attr-defined]
