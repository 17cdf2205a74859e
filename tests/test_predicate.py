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


def test_one_byte_string_equality_matches_the_kernel():
    """``flag_equal`` (numpy, for one-byte values) gives what Arrow's ``equal`` gives: over
    string and large_string, sliced arrays, several chunks, NULLs, empty strings and values
    that only start with the byte; a longer or multi-byte value goes to the kernel."""
    import pyarrow.compute as pc

    values = ["R", "A", None, "", "RR", "N", "R", None, "é", "r", "R"]
    for t in (pa.string(), pa.large_string()):
        arr = pa.array(values, t)
        for a in (arr, arr.slice(3), arr.slice(1, 6), arr.slice(11)):
            for v in ("R", "A", "x"):
                got = P.flag_equal(a, v)
                assert got is not None and got.equals(pc.equal(a, v)), (t, a, v)
        assert P.flag_equal(arr, "RR") is None and P.flag_equal(arr, "é") is None
        assert P.flag_equal(pa.array(["", None, ""], t), "R").to_pylist() == \
            [False, None, False]
    table = pa.table({"s": pa.chunked_array([pa.array(values[:4]), pa.array(values[4:])])})
    for op in ("==", "!="):
        want = pc.call_function("equal" if op == "==" else "not_equal",
                                [table.column("s"), "R"])
        assert P.Compare("s", op, "R").mask(table).to_pylist() == want.to_pylist()
