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


def _stats(table: pa.Table) -> dict:
    """What the engine keeps per batch: (min, max, null count, rows) by column."""
    import pyarrow.compute as pc

    out = {}
    for name in table.column_names:
        col = table.column(name)
        mm = pc.min_max(col).as_py() if col.null_count < len(col) else {"min": None,
                                                                        "max": None}
        out[name] = (mm["min"], mm["max"], col.null_count, len(col))
    return out


@settings(max_examples=300, deadline=None)
@given(predicates, st.integers(0, 7), st.integers(1, 8))
def test_statistics_never_prune_a_batch_holding_a_match(p, start, length):
    """``may_match`` may say True of a batch with no match, never False of one with a match."""
    part = TABLE.slice(start, length)
    if any(p.mask(part).to_pylist()):
        assert p.may_match(_stats(part))


def test_statistics_prune_what_they_exclude():
    """Every leaf says False when the batch's range excludes its values: a scan skips the
    batch. (A misplaced method once left ``Compare`` with the base class's "maybe", and
    scans read every batch without a failing test.)"""
    stats = {"i": (10, 20, 0, 8), "s": ("b", "d", 0, 8), "n": (None, None, 8, 8)}
    for op, v in (("==", 5), ("==", 21), ("<", 10), ("<=", 9), (">", 20), (">=", 21)):
        assert not P.Compare("i", op, v).may_match(stats), (op, v)
    for op, v in (("==", 10), ("==", 20), ("<", 11), ("<=", 10), (">", 19), (">=", 20),
                  ("!=", 15)):
        assert P.Compare("i", op, v).may_match(stats), (op, v)
    assert not P.Compare("i", "!=", 7).may_match({"i": (7, 7, 0, 3)})
    assert not P.Compare("s", "==", "a").may_match(stats)
    assert not P.Compare("n", "==", 1).may_match(stats)
    assert not P.In("i", (1, 2, 30)).may_match(stats)
    assert P.In("i", (1, 12)).may_match(stats)
    assert not P.And((P.Compare("i", ">", 0), P.Compare("i", "<", 5))).may_match(stats)
    assert not P.Or((P.Compare("i", "<", 5), P.Compare("i", ">", 25))).may_match(stats)
    assert P.Compare("missing", "==", 1).may_match(stats)


def test_a_scan_reads_only_the_batches_its_predicate_may_match(tmp_path):
    """A table stored in key order, three 65,536-row batches: an equality on the key reads
    one batch, a range two, a value outside the table none (a segment's statistics)."""
    import engine

    calls = []

    class Counted(P.Compare):
        def mask(self, table: pa.Table):  # noqa: ANN201 - as the base class's
            calls.append(table.num_rows)
            return super().mask(table)

    db = engine.Database.open(str(tmp_path / "db"))
    n = 3 * 65_536
    db.create_table("main.t", pa.schema([("k", pa.int64()), ("v", pa.int32())]))
    db.insert("main.t", pa.table({"k": pa.array(range(n), pa.int64()),
                                  "v": pa.array([i % 7 for i in range(n)], pa.int32())}))
    snap = db.snapshot()
    for pred, batches, rows in ((Counted("k", "==", 70_000), 1, 1),
                                (Counted("k", ">=", 100_000), 2, n - 100_000),
                                (Counted("k", "<", 0), 0, 0)):
        calls.clear()
        got = snap.scan("main.t", columns=["v"], predicate=pred).read_all()
        assert (len(calls), got.num_rows) == (batches, rows), pred
    db.close()


def test_integer_values_against_narrow_columns_filter_like_the_expression():
    """A comparison's integer value is given the column's type when it holds it (no cast of
    the column per batch); values outside the type keep Arrow's widening."""
    import pyarrow.compute as pc

    t = pa.table({"b": pa.array([-128, -1, 0, 5, 127, None], pa.int8()),
                  "u": pa.array([0, 1, 200, 255, None, 7], pa.uint8())})
    for col in ("b", "u"):
        for op in ("==", "!=", "<", "<=", ">", ">="):
            for v in (-129, -128, -1, 0, 5, 127, 128, 255, 256, 2**40):
                p = P.Compare(col, op, v)
                got = t.filter(p.mask(t)).to_pylist()
                assert got == t.filter(p.to_arrow()).to_pylist(), (col, op, v)
    assert P.typed_value(5, pa.int8()).type == pa.int8()
    assert P.typed_value(300, pa.int8()) == 300 and P.typed_value(True, pa.int8()) is True
    assert pc.equal(t.column("b"), P.typed_value(5, pa.int8())).type == pa.bool_()
