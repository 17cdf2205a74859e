"""Distinct counts extrapolated from a table's first rows (``stats.extrapolate_ndv``).

The join order divides by these counts, and they come from a sample of the first
``SAMPLE_ROWS`` rows. Two shapes of column fooled the old rule (the sample's count scaled by
a power of the row ratio) once a table outgrew the sample, as TPC-H's do at SF10: keys
stored in order (``l_orderkey``: each stretch of rows has its own values; it was put at 5%
of its true count) and values drawn at random from a set larger than the sample
(``l_partkey``: it was put at ten times its count). Q9's join order then built hash tables
of millions of rows at SF10 and not at SF1.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from kodiak_flight.sql import stats
from kodiak_flight.sql.optimizer import estimate
from kodiak_flight.sql.plan import Join
from kodiak_flight.sql.statements import explain as explain_mod

ROWS = 400_000  # the table
SAMPLE = 40_000  # its first rows


def ndv(values: np.ndarray | pa.Array, *more: np.ndarray) -> float:
    cols = {f"c{i}": pa.array(v[:SAMPLE]) for i, v in enumerate((values, *more))}
    return stats.extrapolate_ndv(pa.table(cols), ROWS)


def near(est: float, true: float, factor: float = 1.25) -> bool:
    return true / factor <= est <= true * factor


def test_sorted_keys_grow_with_the_rows():
    keys = np.repeat(np.arange(ROWS // 4), 4)  # each key on 4 adjacent rows, in order
    assert near(ndv(keys), ROWS / 4)
    assert near(ndv(keys[::-1].copy()), ROWS / 4)  # descending too


def test_sorted_dates_with_many_rows_each_grow_too():
    days = np.repeat(np.arange(2_000), ROWS // 2_000)  # 200 rows a day, in order
    assert near(ndv(days), 2_000)


def test_random_values_from_a_set_larger_than_the_sample():
    rng = np.random.default_rng(1)
    v = rng.integers(0, 60_000, ROWS)  # 40,000 rows see about half of the 60,000 values
    assert near(ndv(v), 60_000, 1.1)


def test_random_values_the_sample_has_all_seen():
    rng = np.random.default_rng(2)
    assert ndv(rng.integers(0, 500, ROWS)) == 500


def test_unique_values_out_of_order_are_as_many_as_the_rows():
    rng = np.random.default_rng(3)
    assert ndv(rng.permutation(ROWS)) == ROWS


def test_one_value_stays_one():
    assert ndv(np.zeros(ROWS, np.int64)) == 1


def test_column_combinations_in_key_order_grow_with_the_rows():
    order = np.repeat(np.arange(ROWS // 4), 4)
    line = np.tile(np.arange(4), ROWS // 4)  # (order, line) unique and sorted
    assert near(ndv(order, line), ROWS)
    rng = np.random.default_rng(4)
    status = np.sort(rng.integers(0, 3, ROWS))  # sorted, but not the pair with a random x
    assert sorted_pair_is(False, status, rng.integers(0, 5, ROWS))
    assert ndv(status, rng.integers(0, 5, ROWS)) <= 15


def sorted_pair_is(expected: bool, a: np.ndarray, b: np.ndarray) -> bool:
    t = pa.table({"a": a[:SAMPLE], "b": b[:SAMPLE]})
    return stats.sorted_rows(t) is expected


def test_sorted_rows_with_nulls_strings_and_unorderable_columns():
    with_null = pa.table({"s": ["a", "b", "b", "c", None, "d"]})  # 2 of 5 pairs touch NULL
    assert stats.sorted_rows(with_null, share=0.6)
    assert not stats.sorted_rows(with_null, share=0.8)
    assert not stats.sorted_rows(pa.table({"s": ["b", "a", "c", "a", "d", "a"]}))
    nested = pa.table({"l": pa.array([[1], [2], [3]], pa.list_(pa.int64()))})
    assert not stats.sorted_rows(nested)  # no order defined: taken as unordered


def test_the_sample_is_read_from_the_table(session, monkeypatch):
    """Through the table statistics a plan asks for: a sorted key column of a table larger
    than the sample is counted as growing with the table."""
    monkeypatch.setattr(stats, "SAMPLE_ROWS", 8_192)  # (whole scan batches: 65,536 rows)
    n = 400_000
    keys = np.repeat(np.arange(n // 4, dtype=np.int64), 4)
    session.execute("create table big (k bigint, v bigint)")
    session.db.insert("big", pa.table({"k": keys, "v": np.arange(n, dtype=np.int64)}))
    assert near(stats.ndv({}, session.db.snapshot(), "big", n, ("k",)), n / 4)


def test_join_on_sorted_keys_is_estimated_near_its_size(session, monkeypatch):
    """``l JOIN o ON lk = ok``, each key on 4 rows of ``l`` and 2 of ``o``: 8 rows a key.
    With the keys counted from samples of the first rows by the old rule, the estimate was
    four times that (the divisor too small). The sample is whole scan batches (65,536
    rows), so the tables are a few times larger."""
    monkeypatch.setattr(stats, "SAMPLE_ROWS", 8_192)
    keys = np.arange(400_000, dtype=np.int64)
    okeys, lkeys = np.repeat(keys, 2), np.repeat(keys, 4)
    session.execute("create table o (ok bigint, x bigint)")
    session.execute("create table l (lk bigint, y bigint)")
    session.db.insert("o", pa.table({"ok": okeys, "x": okeys}))
    session.db.insert("l", pa.table({"lk": lkeys, "y": np.arange(len(lkeys))}))
    plans = []
    real = explain_mod.explain
    monkeypatch.setattr(explain_mod, "explain", lambda plan: plans.append(plan) or real(plan))
    session.execute("explain select x, y from l join o on lk = ok").reader.read_all()
    joins = [n for n in walk(plans[0]) if isinstance(n, Join)]
    assert joins and near(estimate(joins[0]), 8 * len(keys), 1.5)


def walk(node):
    yield node
    for c in node.children():
        yield from walk(c)
