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
