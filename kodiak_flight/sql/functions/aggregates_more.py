"""More aggregates, DuckDB's: ``count_if``, ``arg_min`` / ``arg_max`` (``min_by`` /
``max_by``), ``mode`` and ``histogram`` (a MAP from value to count, as DuckDB returns).

All but ``count_if`` are computed from per-group value lists (``hash_list``) and finished
here, vectorised over all groups at once (sorting and grouping kernels, numpy); ``arg_min``
reads its second argument as the aggregate's sort key, beside the first; it does not run
over a window yet (``OVER`` is refused by name)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..expr import Expr, cast
from .operators import as_condition
from .registry import AGGREGATE, AggregateSpec, Function, first_type, register, returns


def _counted(e: Expr) -> Expr:
    """A condition as 1 where it holds, 0 where it does not (NULL stays NULL: DuckDB's
    count_if is a sum, NULL over no non-NULL condition)."""
    return cast(as_condition(e), pa.int64())


def _first_per_group(parents: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For values sorted by group: each group's slot and the index of its first value."""
    if not len(parents):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = np.concatenate([[True], parents[1:] != parents[:-1]])
    idx = np.nonzero(first)[0]
    return parents[idx], idx


def _scatter(values: pa.Array, slots: np.ndarray, n: int) -> pa.Array:
    """``values`` placed at group ``slots`` of ``n`` groups, NULL elsewhere."""
    where = np.full(n, -1, dtype=np.int64)
    where[slots] = np.arange(len(slots))
    taken = values.take(pa.array(np.maximum(where, 0), pa.int64(), mask=where < 0)) \
        if len(values) else pa.nulls(n, values.type)
    return taken


def _arg_extreme(descending: bool):
    def finish(parents: np.ndarray, x: pa.Array, keys: list, n: int, extra: Any
               ) -> pa.Array:
        by = keys[0]
        keep = pc.and_(by.is_valid(), x.is_valid())  # DuckDB skips a row with either NULL
        x, by = x.filter(keep), by.filter(keep)
        p = parents[keep.to_numpy(zero_copy_only=False)]
        order = pc.sort_indices(pa.table({"p": p, "by": by}), sort_keys=[
            ("p", "ascending"), ("by", "descending" if descending else "ascending")])
        p_sorted = p[order.to_numpy()]
        slots, idx = _first_per_group(p_sorted, n)
        return _scatter(x.take(order).take(pa.array(idx, pa.int64())), slots, n)
    return finish


def _value_counts(parents: np.ndarray, values: pa.Array) -> pa.Table:
    """(group, value, count) of each distinct non-NULL value of each group, by group and
    value."""
    keep = values.is_valid()
    parents, values = parents[keep.to_numpy(zero_copy_only=False)], values.filter(keep)
    t = pa.table({"p": parents, "v": values}).group_by(["p", "v"], use_threads=False
                                                       ).aggregate([([], "count_all")])
    return t.sort_by([("p", "ascending"), ("v", "ascending")])


def _mode(parents: np.ndarray, values: pa.Array, keys: list, n: int, extra: Any
          ) -> pa.Array:
    """The most frequent value of each group (the smallest of equally frequent ones)."""
    t = _value_counts(parents, values)
    t = t.take(pc.sort_indices(t, sort_keys=[("p", "ascending"), ("count_all", "descending"),
                                             ("v", "ascending")]))
    slots, idx = _first_per_group(t.column("p").to_numpy(), n)
    return _scatter(t.column("v").combine_chunks().take(pa.array(idx, pa.int64())), slots, n)


def _histogram(parents: np.ndarray, values: pa.Array, keys: list, n: int, extra: Any
               ) -> pa.Array:
    """Each group's map from value to its count (keys in order); NULL for no values."""
    t = _value_counts(parents, values)
    p = t.column("p").to_numpy()
    counts = np.bincount(p, minlength=n) if n else np.zeros(0, np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    maps = pa.MapArray.from_arrays(offsets, t.column("v").combine_chunks(),
                                   t.column("count_all").combine_chunks().cast(pa.uint64()))
    return pc.if_else(pa.array(counts > 0), maps, pa.nulls(n, maps.type))


def _agg(name: str, spec: AggregateSpec, result, lo: int = 1, hi: int = 1,
         aliases: tuple[str, ...] = (), doc: str = "") -> None:
    register(Function(name, AGGREGATE, None, lo, hi, aliases, None, result, aggregate=spec,
                      window="generic", doc=doc))


_LIST = dict(order_by="ignored", distinct=False)
_agg("count_if", AggregateSpec("hash_sum", pc.ScalarAggregateOptions(min_count=1),
                               prepare=_counted, distinct=False),
     returns(pa.int64()), aliases=("countif",), doc="rows where the condition holds")
_agg("arg_min", AggregateSpec("hash_list", by_argument=True, finish=_arg_extreme(False),
                              order_by="used", distinct=False),
     first_type, 2, 2, aliases=("min_by", "argmin"), doc="arg_min(x, by): x at the least by")
_agg("arg_max", AggregateSpec("hash_list", by_argument=True, finish=_arg_extreme(True),
                              order_by="used", distinct=False),
     first_type, 2, 2, aliases=("max_by", "argmax"),
     doc="arg_max(x, by): x at the greatest by")
_agg("mode", AggregateSpec("hash_list", finish=_mode, **_LIST), lambda t: t[0],
     doc="the most frequent value")
_agg("histogram", AggregateSpec("hash_list", finish=_histogram, **_LIST),
     lambda t: pa.map_(t[0], pa.uint64()), doc="a MAP from each value to its count")
