"""``s LIKE p`` where the pattern is a column or an expression (``name LIKE '%' || word ||
'%'``): Arrow's LIKE takes its pattern as an option, one per call. The rows are sorted by
their pattern's dictionary index, and each distinct pattern runs Arrow's kernel once over its
own contiguous rows: a Python step per distinct pattern, never per row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..expr import Expr
from .udf import udf


def _kernel(ignore_case: bool):  # noqa: ANN202 - a udf kernel
    def run(s: pa.Array, p: pa.Array) -> pa.Array:
        out = np.zeros(len(s), dtype=bool)
        known = pc.and_(s.is_valid(), p.is_valid()).to_numpy(zero_copy_only=False)
        coded = pc.dictionary_encode(p).combine_chunks() if isinstance(p, pa.ChunkedArray) \
            else pc.dictionary_encode(p)
        index = pc.fill_null(coded.indices, -1).to_numpy(zero_copy_only=False)
        order = np.argsort(index, kind="stable")
        starts = np.flatnonzero(np.concatenate([[True], index[order][1:] != index[order][:-1]])) \
            if len(order) else np.zeros(0, np.int64)
        bounds = np.append(starts, len(order))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            k = index[order[lo]]
            if k < 0:
                continue  # a NULL pattern: NULL, masked below
            rows = order[lo:hi]
            pattern = coded.dictionary[k].as_py()
            hit = pc.match_like(s.take(pa.array(rows)), pattern, ignore_case=ignore_case)
            out[rows] = pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
        return pa.array(out, pa.bool_(), mask=~known)
    return run


_CASED, _UNCASED = _kernel(False), _kernel(True)


def like_column(s: Expr, pattern: Expr, ignore_case: bool) -> Expr:
    """``s [I]LIKE pattern`` for a pattern that is not a constant."""
    return udf("ilike_column" if ignore_case else "like_column",
               _UNCASED if ignore_case else _CASED, [s, pattern], pa.bool_(),
               "ILIKE" if ignore_case else "LIKE")
