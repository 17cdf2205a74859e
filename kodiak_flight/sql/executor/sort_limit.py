"""ORDER BY (on a whole table) and LIMIT/OFFSET (sliced, or cut from a stream)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ..expr import Col
from ..plan import Limit, Sort, SortKey
from .core import Executor, Out, operator
from .kernels import evaluate_compiled

# A LIMIT over an ORDER BY keeps at most this many candidate rows instead of sorting all.
TOP_N_MAX = 100_000
TOP_N_BUFFER = 262_144  # rows buffered before the candidates are cut back to n


@operator(Limit)
def run_limit(ex: Executor, node: Limit) -> Out:
    if isinstance(node.input, Sort) and node.limit is not None \
            and node.offset + node.limit <= TOP_N_MAX:
        t = top_n(ex, node.input, node.offset + node.limit)
        return Out(table=t.slice(node.offset, node.limit), ordered=True)
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
    return Out(table=sort_table(ex, ex.as_table(ex.run(node.input)), node.keys), ordered=True)


def sort_table(ex: Executor, t: pa.Table, sort_keys: list[SortKey]) -> pa.Table:
    """``t`` in the order of ``sort_keys`` (stable; NULLs placed as each key says)."""
    keys, extra = [], {}
    for n, k in enumerate(sort_keys):
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
        return t
    tmp = t
    for name, arr in extra.items():
        tmp = tmp.append_column(name, arr)
    return t.take(pc.sort_indices(tmp, sort_keys=keys))


def top_n(ex: Executor, node: Sort, n: int) -> pa.Table:
    """The first ``n`` rows of ``node``'s order, keeping only a bounded buffer of candidates
    while its input streams by (a top-N sort: memory follows ``n``, not the input, and a
    cancelled or overdue query stops between batches instead of after a full sort)."""
    r = ex.as_reader(ex.run(node.input))
    limit = max(4 * n, TOP_N_BUFFER)
    kept: list[pa.Table] = [r.schema.empty_table()]
    held = 0
    try:
        for b in r:
            ex.checkpoint()  # a join feeding it runs on after its scans' last check
            kept.append(pa.Table.from_batches([b]))
            held += b.num_rows
            if held >= limit:
                kept = [sort_table(ex, pa.concat_tables(kept), node.keys).slice(0, n)]
                held = kept[0].num_rows
    finally:
        r.close()
    return sort_table(ex, pa.concat_tables(kept), node.keys).slice(0, n).combine_chunks()


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
