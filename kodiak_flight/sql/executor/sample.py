"""TABLESAMPLE / USING SAMPLE (``plan.Sample``) and ``LIMIT p%`` (``plan.PercentLimit``).

A bernoulli percentage streams: one random mask per batch. A fixed number of rows (or an
exact share) needs every row first: the kept positions are drawn at once, without
replacement. A seeded sample reads its input in one fixed order, so the seed repeats it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from ..plan import PercentLimit, Sample
from .arrow_errors import arrow_errors
from .core import Executor, Out, operator


@operator(Sample)
def run_sample(ex: Executor, node: Sample) -> Out:
    inp = ex.run(node.input)
    rng = np.random.default_rng(node.seed)
    if node.rows is None and not node.exact and node.seed is None:
        r = ex.as_reader(inp)
        gen = _bernoulli(r, rng, (node.percent or 0) / 100)
        return Out(reader=pa.RecordBatchReader.from_batches(r.schema, gen))
    t = _in_order(ex, inp)
    if node.rows is None and not node.exact:
        mask = rng.random(t.num_rows) < (node.percent or 0) / 100
        return Out(table=t.filter(pa.array(mask)))
    n = node.rows if node.rows is not None else \
        round(t.num_rows * (node.percent or 0) / 100)
    keep = np.sort(rng.choice(t.num_rows, size=min(n, t.num_rows), replace=False))
    return Out(table=t.take(pa.array(keep, pa.int64())))


@operator(PercentLimit)
def run_percent_limit(ex: Executor, node: PercentLimit) -> Out:
    inp = ex.run(node.input)
    t = ex.as_table(inp)
    n = math.floor(t.num_rows * node.percent / 100 + 1e-9)  # of all rows, then OFFSET
    return Out(table=t.slice(node.offset, n), ordered=inp.ordered)


def _in_order(ex: Executor, inp: Out) -> pa.Table:
    """The input as a table read in a fixed order (one thread), so a seed repeats."""
    if inp.decl is not None and inp.table is None:
        return arrow_errors(inp.decl.to_table)(use_threads=False)
    return ex.as_table(inp)


def _bernoulli(r: pa.RecordBatchReader, rng: np.random.Generator, p: float
               ) -> Iterator[pa.RecordBatch]:
    """Each row of ``r`` kept with probability ``p``; closes ``r``."""
    try:
        for b in r:
            yield b.filter(pa.array(rng.random(b.num_rows) < p))
    finally:
        r.close()
