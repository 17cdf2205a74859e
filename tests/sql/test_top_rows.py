"""``sort_limit.top_rows``: a LIMIT over an ORDER BY selects its rows instead of sorting all;
the rows and their order must be those of the stable sort, ties and NULLs included."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql.executor import sort_limit
from kodiak_flight.sql.expr import Col
from kodiak_flight.sql.plan import SortKey


def table(seed: int, rows: int = 2_000) -> pa.Table:
    """Few distinct values (many ties), NULLs in some columns, and a decimal, a date, a
    string and a float column."""
    rng = np.random.default_rng(seed)

    def nulled(a: pa.Array) -> pa.Array:
        return pa.array(a.to_pylist(), a.type, mask=rng.random(rows) < 0.1)

    return pa.table({
        "i": pa.array(rng.integers(0, 6, rows)),
        "s": nulled(pa.array([f"v{k}" for k in rng.integers(0, 4, rows)])),
        "d": nulled(pa.array(rng.integers(0, 5, rows).astype(np.int32)).cast(pa.date32())),
        "m": pa.array(rng.integers(0, 3, rows).astype(np.int32)).cast(pa.decimal128(12, 2)),
        "f": nulled(pa.array(rng.choice([0.5, np.nan, 2.0], rows))),
        "row": pa.array(np.arange(rows)),  # which input row it was: the order is checked
    })


COLUMNS = ["i", "s", "d", "m", "f"]
EX = SimpleNamespace(interrupt=None, checkpoint=lambda: None)  # (plain column keys)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [1, 10, 333])
def test_the_rows_and_order_of_the_stable_sort(seed, n):
    t = table(seed)
    rng = np.random.default_rng(100 + seed)
    for width in (1, 2, 3):
        for cols in itertools.islice(itertools.permutations(COLUMNS, width), 0, None, 3):
            keys = [SortKey(Col(c, t.schema.field(c).type), desc=bool(rng.integers(2)),
                            nulls_first=bool(rng.integers(2))) for c in cols]
            want = sort_limit.sort_table(EX, t, keys).slice(0, n)  # type: ignore[arg-type]
            got = sort_limit.top_rows(EX, t, keys, n)  # type: ignore[arg-type]
            assert got.column("row").to_pylist() == want.column("row").to_pylist(), keys


def test_more_rows_asked_than_there_are():
    t = table(7, rows=20)
    keys = [SortKey(Col("i", pa.int64()), desc=True)]
    got = sort_limit.top_rows(EX, t, keys, 50)  # type: ignore[arg-type]
    assert got.column("row").to_pylist() == \
        sort_limit.sort_table(EX, t, keys).column("row").to_pylist()  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    """150 K rows (three stored batches), first keys with many ties and NULLs."""
    from .harness import duck_session

    rng = np.random.default_rng(11)
    n = 150_000
    t = pa.table({
        "a": pa.array(rng.integers(0, 50, n), pa.int64(), mask=rng.random(n) < 0.02),
        "ts": pa.array(rng.integers(0, 10**6, n).astype("M8[s]").astype("M8[us]")),
        "s": pa.array([f"w{v}" for v in rng.integers(0, 40, n)],
                      mask=rng.random(n) < 0.02),
        "b": pa.array(rng.integers(0, 1000, n), pa.int32()),
        "k": pa.array(rng.permutation(n), pa.int64()),
    })
    with duck_session(tmp_path_factory.mktemp("streamed") / "db", {"t": t}) as both:
        yield both


@pytest.mark.parametrize("order", [
    "a, b, k", "a desc, b, k", "a nulls first, b desc, k", "a desc nulls last, k desc",
    "ts, s, k", "ts desc, b, k", "s, b, k", "s desc, k", "s, a desc nulls first, k",
])
@pytest.mark.parametrize("n", [1, 10, 500])
def test_a_cut_on_the_first_of_several_keys_keeps_the_first_rows(streamed, order, n):
    """A later row tying the ``n``-th on the first key may still come first on the next:
    the cut of several keys keeps ties (``sort_limit.Cut``); the keys end in a unique one,
    so the rows and their order are fixed."""
    from .harness import check

    session, duck = streamed
    check(session, duck, f"select a, s, b, k from t where b <> 7 order by {order} limit {n}",
          ordered=True)
    check(session, duck, f"select a, s, b, k from t order by {order} limit {n}", ordered=True)


def test_nth_value_counted_or_partitioned():
    """``nth_value`` by counting (a short range of values) or ``np.partition`` (a wide one)
    gives the sorted array's value, of its dtype, both directions."""
    rng = np.random.default_rng(9)
    for trial in range(2000):
        n = int(rng.integers(1, 60))
        dtype = [np.int64, np.int32, np.int16, np.int8, np.uint64][trial % 5]
        span = [3, 100, 10**4][trial % 7 % 3]
        v = rng.integers(-span, span, n)
        if dtype == np.int8:
            v = v % 200 - 100
        v = (v.astype(np.uint64) + np.uint64(2**63)) if dtype == np.uint64 else v.astype(dtype)
        if trial % 7 == 0:
            v[:] = v[0]  # every value equal
        k = int(rng.integers(1, n + 1))
        for desc in (False, True):
            want = np.sort(v)[::-1][k - 1] if desc else np.sort(v)[k - 1]
            got = sort_limit.nth_value(v, k, desc)
            assert got == want and type(got) is type(want), (v, k, desc)
