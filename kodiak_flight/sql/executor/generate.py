"""Rows made rather than read: table functions (``Generated``, streamed batch by batch) and
UNNEST (``Unnest``: rows repeated per list element, with list kernels and numpy index
arithmetic, never a Python loop per row)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..expr import Lit
from ..plan import Generated, Unnest
from .core import SMALL_ROWS, Executor, Out, operator
from .kernels import evaluate_compiled


@operator(Generated)
def run_generated(ex: Executor, node: Generated) -> Out:
    schema = pa.schema([pa.field(node.id, node.type)])
    one = pa.table({"_": [0]})
    values = [a.value if isinstance(a, Lit) else
              evaluate_compiled(one, ex.compile(a))[0].as_py() for a in node.args]
    batches = (pa.RecordBatch.from_arrays([a], schema=schema) for a in node.make(values))
    if node.est_rows <= SMALL_ROWS:
        return Out(table=pa.Table.from_batches(list(batches), schema), ordered=True)
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    if ex.interrupt is not None:
        reader = ex.interrupt.guard(reader)
    return Out(reader=reader)


@operator(Unnest)
def run_unnest(ex: Executor, node: Unnest) -> Out:
    inp = ex.run(node.input)
    names = [i for i, _ in node.output]
    schema = pa.schema([pa.field(i, t) for i, t in node.output])
    if inp.table is not None:
        t = inp.table.combine_chunks()
        out = [unnest_batch(b, node, names) for b in t.to_batches()]
        return Out(table=pa.Table.from_batches(out, schema), ordered=inp.ordered)
    reader = ex.as_reader(inp)

    def gen() -> Iterator[pa.RecordBatch]:
        for b in reader:
            yield unnest_batch(b, node, names)
    return Out(reader=pa.RecordBatchReader.from_batches(schema, gen()))


def unnest_batch(b: pa.RecordBatch, node: Unnest, names: list[str]) -> pa.RecordBatch:
    """``b``'s rows repeated per element of its list columns, the elements appended."""
    lists = [b.column(b.schema.get_field_index(i)) for i in node.lists]
    if len(lists) == 1:
        parent = pc.list_parent_indices(lists[0])
        elements = [pc.list_flatten(lists[0])]
    else:
        parent, elements = _zipped(lists, [t for _, t in node.elements])
    lists_ = set(node.lists)
    cols = [c.take(parent) for c, n in zip(b.columns, b.schema.names, strict=True)
            if n not in lists_] + elements
    return pa.RecordBatch.from_arrays(cols, names=names)


def _zipped(lists: list[pa.Array], types: list[pa.DataType]
            ) -> tuple[pa.Array, list[pa.Array]]:
    """Several lists side by side: as many rows per input row as its longest list, the
    shorter ones padded with NULL (DuckDB's UNNEST of several lists in one SELECT)."""
    lengths = [pc.fill_null(pc.list_value_length(a), 0).to_numpy().astype(np.int64)
               for a in lists]
    longest = np.maximum.reduce(lengths)
    parent = np.repeat(np.arange(len(longest), dtype=np.int64), longest)
    starts = np.cumsum(longest) - longest
    pos = np.arange(len(parent), dtype=np.int64) - np.repeat(starts, longest)
    out = []
    for a, n, t in zip(lists, lengths, types, strict=True):
        flat = pc.list_flatten(a)
        first = (np.cumsum(n) - n)[parent]
        present = pos < n[parent]
        idx = pa.array(np.where(present, first + pos, 0), mask=~present)
        out.append(flat.take(idx) if len(flat) else pa.nulls(len(parent), t))
    return pa.array(parent), out
