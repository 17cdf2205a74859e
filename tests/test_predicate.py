"""Inspectable predicates filter exactly as their pyarrow expressions do.

The engine filters scan batches with ``Predicate.mask`` (kernel calls, no Acero plan per
batch) and ``to_arrow()`` is the reference: both must keep the same rows, NULLs included.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import predicate as P

TABLE = pa.table({
    "i": pa.array([1, None, 3, -4, 5, 0, None, 7], pa.int64()),
    "f": pa.array([0.5, 1.5, None, -2.0, 3.25, float("nan"), 1.0, None]),
    "s": pa.array(["a", "b", None, "dd", "a", "", "zz", "b"], pa.large_string()),
    "d": pa.array([dt.date(2020, 1, m) for m in range(1, 9)]),
    "row": pa.array(range(8)),
})
VALUES = {"i": st.integers(-5, 8), "f": st.floats(-3, 4, allow_nan=False),
          "s": st.sampled_from(["a", "b", "", "dd", "zz", "q"]),
          "d": st.dates(dt.date(2019, 12, 30), dt.date(2020, 1, 10))}


def leaf(column: str) -> st.SearchStrategy:
    v = VALUES[column]
    return st.one_of(
        st.builds(P.Compare, st.just(column), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                  v),
        st.builds(P.In, st.just(column), st.lists(v, min_size=1, max_size=4).map(tuple)),
        st.builds(P.IsNull, st.just(column), st.booleans()))


predicates = st.recursive(
    st.sampled_from(list(VALUES)).flatmap(leaf),
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda ps: P.And(tuple(ps))),
        st.lists(inner, min_size=2, max_size=3).map(lambda ps: P.Or(tuple(ps))),
        inner.map(P.Not)),
    max_leaves=6)


@settings(max_examples=150, deadline=None)
@given(predicates)
def test_mask_filters_like_the_expression(p):
    kept = TABLE.filter(p.mask(TABLE)).column("row").to_pylist()
    assert kept == TABLE.filter(p.to_arrow()).column("row").to_pylist()
