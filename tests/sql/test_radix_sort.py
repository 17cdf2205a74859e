"""Sorting integer-like keys by radix passes (``executor/radix.py``) gives exactly the
permutation Arrow's stable ``sort_indices`` gives, for every key type it takes, with NULLs,
both directions and several keys; other keys are left to Arrow. Through SQL, ORDER BY and
window functions over such keys agree with DuckDB."""

from __future__ import annotations

import datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kodiak_flight.sql.executor import radix

from .harness import duck_session, result_rows

N = 20_000


def _column(kind: str, rng: np.random.Generator, nulls: bool) -> pa.Array:
    mask = rng.random(N) < 0.1 if nulls else None
    small = rng.integers(-50, 50, N)
    if kind == "int8":
        return pa.array(small, pa.int8(), mask=mask)
    if kind == "int64":
        return pa.array(rng.integers(-(2**40), 2**40, N), pa.int64(), mask=mask)
    if kind == "uint32":
        return pa.array(rng.integers(0, 2**32, N), pa.uint32(), mask=mask)
    if kind == "bool":
        return pa.array(small > 0, pa.bool_(), mask=mask)
    if kind == "date":
        return pa.array(small + 9000, pa.int32(), mask=mask).view(pa.date32())
    if kind == "timestamp":
        return pa.array(rng.integers(0, 10**15, N), pa.int64(), mask=mask).view(
            pa.timestamp("us", tz="UTC"))
    if kind == "time":
        return pa.array(rng.integers(0, 86_400 * 10**6, N), pa.int64(), mask=mask).view(
            pa.time64("us"))
    if kind == "duration":
        return pa.array(small * 1000, pa.int64(), mask=mask).view(pa.duration("ms"))
    if kind == "decimal":
        return _decimals(rng.integers(-10**9, 10**9, N), mask)
    raise AssertionError(kind)


def _decimals(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    values = [Decimal(int(c)).scaleb(-2) for c in cents]
    return pa.array(values, pa.decimal128(15, 2), mask=mask)


KINDS = ["int8", "int64", "uint32", "bool", "date", "timestamp", "time", "duration", "decimal"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("nulls", [False, True])
@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_one_key_as_arrow_sorts_it(kind: str, nulls: bool, order: str) -> None:
    rng = np.random.default_rng(hash((kind, nulls, order)) % 2**32)
    t = pa.table({"k": _column(kind, rng, nulls)})
    got = radix.sort_order(t, [("k", order)], lambda: None)
    assert got is not None
    want = pc.sort_indices(t, sort_keys=[("k", order)])
    assert got.to_numpy().tolist() == want.to_numpy().tolist()


@pytest.mark.parametrize("kinds", [("int8", "date"), ("bool", "decimal", "int8"),
                                   ("date", "timestamp"), ("int8", "int8", "int8", "bool")])
def test_several_keys_as_arrow_sorts_them(kinds: tuple[str, ...]) -> None:
    rng = np.random.default_rng(len(kinds))
    t = pa.table({f"k{i}": _column(k, rng, nulls=i % 2 == 1) for i, k in enumerate(kinds)})
    keys = [(f"k{i}", "descending" if i % 2 else "ascending") for i in range(len(kinds))]
    got = radix.sort_order(t, keys, lambda: None)
    assert got is not None
    assert got.to_numpy().tolist() == pc.sort_indices(t, sort_keys=keys).to_numpy().tolist()


@pytest.mark.parametrize("column", [
    pa.array([f"s{i}" for i in range(N)]),  # strings: no integer order
    pa.array(np.linspace(0, 1, N)),  # floats (NaN's place is not an integer's)
    pa.array([1] * N, pa.decimal128(30, 2)),  # more than 18 digits
    pa.array(np.arange(N), pa.uint64()),
])
def test_other_keys_are_left_to_arrow(column: pa.Array) -> None:
    assert radix.sort_order(pa.table({"k": column}), [("k", "ascending")], lambda: None) is None


def test_keys_too_wide_together_are_left_to_arrow() -> None:
    wide = pa.array(np.linspace(-(2**61), 2**61, N).astype(np.int64))
    t = pa.table({"a": wide, "b": wide})
    assert radix.sort_order(t, [("a", "ascending")], lambda: None) is not None
    assert radix.sort_order(t, [("a", "ascending"), ("b", "ascending")], lambda: None) is None


def test_a_small_table_is_left_to_arrow() -> None:
    t = pa.table({"k": pa.array(np.arange(radix.MIN_ROWS - 1))})
    assert radix.sort_order(t, [("k", "ascending")], lambda: None) is None


def test_a_cancelled_sort_stops_between_passes() -> None:
    class Stop(Exception):
        pass

    def stop() -> None:
        raise Stop

    key = np.random.default_rng(1).permutation(N).astype(np.int64) * (2**20)  # 3 passes
    with pytest.raises(Stop):
        radix.radix_order(key, int(key.max()), stop)
    assert radix.radix_order(key[:10] % 7, 6, stop).tolist() == \
        np.argsort(key[:10] % 7, kind="stable").tolist()  # one pass: nothing to stop


@pytest.fixture(scope="module")
def orders(tmp_path_factory):
    rng = np.random.default_rng(5)
    n = 30_000
    t = pa.table({
        "k": pa.array(rng.permutation(n), pa.int64()),
        "c": pa.array(rng.integers(0, 900, n), pa.int32(), mask=rng.random(n) < 0.02),
        "d": pa.array(rng.integers(8000, 11000, n), pa.int32()).view(pa.date32()),
        "p": _decimals(rng.integers(100, 10**7, n)),
        "f": pa.array(rng.random(n)),
    })
    with duck_session(tmp_path_factory.mktemp("radix") / "db", {"o": t}) as both:
        yield both


@pytest.mark.parametrize("sql", [
    "select k, c, d from o order by c nulls first, d desc, k",
    "select k, c, d from o order by c desc nulls last, d, k desc",
    "select k, p from o order by p desc, k",
    "select k, f from o order by f, k",  # a float key: Arrow's sort, as before
    "select k, row_number() over (partition by c order by d desc, k) rn from o order by k",
    "select k, rank() over (order by p desc) r, dense_rank() over (order by d) dr from o "
    "order by k",
    "select k, p - lag(p) over (order by k) dp, lead(d, 2) over (partition by c order by k) "
    "ld from o order by k",
    "select k, sum(p) over (partition by c order by d, k rows between 3 preceding and "
    "current row) s from o order by k",
    "select k, ntile(7) over (order by d, k) t, count(*) over (partition by d) n from o "
    "order by k",
    # whole partitions, by grouping (``window._grouped``); c has NULLs: a partition of them
    "select k, p / sum(p) over (partition by c) share, count(c) over (partition by d) n, "
    "avg(f) over (partition by c) a from o order by k",
    "select k, count(*) over (partition by c, d) n, sum(c) over (partition by d) s, "
    "sum(f) over (partition by c) sf from o order by k",
])
def test_orders_and_windows_agree_with_duckdb(orders, sql: str) -> None:
    """(Float sums agree to the last bits: the order of additions differs.)"""
    session, duck = orders
    got, want = result_rows(session, sql), duck.sql(sql).to_arrow_table().to_pylist()
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k, v in g.items():
            if isinstance(v, float):
                assert v == pytest.approx(w[k], rel=1e-12), (k, g)
            else:
                assert v == w[k], (k, g)


def test_the_sort_of_a_date_column_is_dates(orders) -> None:
    session, _ = orders
    got = result_rows(session, "select d from o order by d desc limit 100000")
    days = [r["d"] for r in got]
    assert days == sorted(days, reverse=True) and isinstance(days[0], datetime.date)


def test_windows_over_rows_already_in_their_order(tmp_path) -> None:
    """A table stored by its key, windowed by that key: the sort is the identity, nothing is
    moved, and the results are the usual ones."""
    rng = np.random.default_rng(4)
    n = 30_000
    t = pa.table({"k": pa.array(np.arange(n), pa.int64()),
                  "g": pa.array(np.arange(n) // 1000, pa.int32()),
                  "x": pa.array(rng.integers(0, 100, n), pa.int64(), mask=rng.random(n) < 0.1)})
    sql = ("select k, x - lag(x) over (order by k) dx, sum(x) over (order by k rows between "
           "2 preceding and current row) s3, row_number() over (partition by g order by k) rn, "
           "rank() over (order by g) r from s order by k")
    with duck_session(tmp_path / "db", {"s": t}) as (session, duck):
        assert result_rows(session, sql) == duck.sql(sql).to_arrow_table().to_pylist()
    key = np.arange(10, dtype=np.int64)
    assert radix.radix_order(key, 9, lambda: None).tolist() == list(range(10))
