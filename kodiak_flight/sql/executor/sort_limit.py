"""ORDER BY (on a whole table) and LIMIT/OFFSET (sliced, or cut from a stream)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ..expr import Col
from ..plan import Limit, Sort
from .core import Executor, Out, operator
from .kernels import evaluate_compiled


@operator(Limit)
def run_limit(ex: Executor, node: Limit) -> Out:
    inp = ex.run(node.input)
    if inp.table is not None:
        t = inp.table.slice(node.offset, node.limit) if node.limit is not None \
            else inp.table.slice(node.offset)
        return Out(table=t, ordered=True)
    r = ex.as_reader(inp)
    gen = limit_batches(r, node.offset, node.limit)
    return Out(reader=pa.RecordBatchReader.from_batches(r.schema, gen), ordered=inp.ordered)


@operator(Sort)
def run_sort(ex: Executor, node: Sort) -> Out:
    t = ex.as_table(ex.run(node.input))
    keys, extra = [], {}
    for n, k in enumerate(node.keys):
        if isinstance(k.expr, Col):
            arr = t.column(k.expr.id)
            name = k.expr.id
        else:
            arr = evaluate_compiled(t, ex.compile(k.expr))
            name = f"__s{n}"
            extra[name] = arr
        if arr.null_count:
            nulls = pc.is_null(arr)
            extra[f"__n{n}"] = pc.invert(nulls) if k.nulls_first else nulls
            keys.append((f"__n{n}", "ascending"))
        keys.append((name, "descending" if k.desc else "ascending"))
    if not t.num_rows:
        return Out(table=t, ordered=True)
    tmp = t
    for name, arr in extra.items():
        tmp = tmp.append_column(name, arr)
    idx = pc.sort_indices(tmp, sort_keys=keys)
    return Out(table=t.take(idx), ordered=True)


def limit_batches(r: pa.RecordBatchReader, offset: int, limit: int | None
                  ) -> Iterator[pa.RecordBatch]:
    """The batches of ``r`` after ``offset`` rows, up to ``limit`` rows; closes ``r``."""
    skip, left = offset, limit
    try:
        for b in r:
            if skip:
                if b.num_rows <= skip:
                    skip -= b.num_rows
                    continue
                b = b.slice(skip)
                skip = 0
            if left is not None:
                if left <= 0:
                    break
                b = b.slice(0, left)
                left -= b.num_rows
            yield b
            if left is not None and left <= 0:
                break
    finally:
        r.close()
