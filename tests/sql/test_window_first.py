"""A filter keeping ``row_number() = 1`` finds each partition's first row without numbering
the others (``optimizer/window_first.py``, ``window.first_of_each``): the rows are the ones
the numbered window gives (the stable sort's first among ties), checked against the same
query written so the rule does not apply, and against DuckDB where the order has no ties."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from .harness import duck_session, result_rows

N = 20_000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(8)
    t = pa.table({
        "k": pa.array(rng.permutation(N), pa.int64()),
        "c": pa.array(rng.integers(0, 700, N), pa.int64(), mask=rng.random(N) < 0.03),
        "big": pa.array(rng.integers(0, 2**40, N) // 1000 * 1000, pa.int64()),  # sparse
        "s": pa.array([f"name {v}" for v in rng.integers(0, 300, N)]),
        "d": pa.array(rng.integers(9000, 9100, N), pa.int32(), mask=rng.random(N) < 0.05
                      ).view(pa.date32()),  # many ties
        "f": pa.array(rng.random(N)),
        "v": pa.array(rng.integers(0, 100, N), pa.int32()),
    })
    with duck_session(tmp_path_factory.mktemp("window_first") / "db", {"t": t}) as both:
        yield both


WINDOWS = [
    "partition by c order by d desc",  # ties and NULLs in the order, NULL partitions
    "partition by c order by d nulls first, v desc",
    "partition by s order by d desc nulls first",
    "partition by big order by v",  # a sparse key: hashed
    "partition by c, s order by v desc, d",
    "partition by c % 7 order by k",
    "partition by s order by f",  # a float order: the numbered window, as before
    "partition by c order by s desc",  # a string order: likewise
]


@pytest.mark.parametrize("window", WINDOWS)
def test_the_first_rows_are_the_numbered_windows(data, window: str) -> None:
    session, _ = data
    inner = f"select k, c, s, d, v, row_number() over ({window}) rn from t"
    got = result_rows(session, f"select * from ({inner}) where rn = 1 order by k")
    # rn + 0 = 1 is not the rule's shape: every row numbered, then filtered
    want = result_rows(session, f"select * from ({inner}) where rn + 0 = 1 order by k")
    assert got == want and len(got) > 1


@pytest.mark.parametrize("sql", [
    "select * from (select k, c, v, row_number() over (partition by c order by v desc, k) "
    "rn from t) where rn = 1 order by k",
    "select k, s from (select k, s, v, row_number() over (partition by s order by k desc) "
    "rn from t) x where 1 = x.rn and v > 20 order by k",
    "select k, c from t qualify row_number() over (partition by c, v order by k) = 1 "
    "order by k",
])
def test_agrees_with_duckdb(data, sql: str) -> None:
    session, duck = data
    assert result_rows(session, sql) == duck.sql(sql).to_arrow_table().to_pylist()


def test_explain_shows_it(data) -> None:
    session, _ = data
    plan = "\n".join(r["plan"] for r in result_rows(session, "explain select * from (select k, "
                     "row_number() over (partition by c order by k) rn from t) where rn = 1"))
    assert "(first row of each partition)" in plan
    plan = "\n".join(r["plan"] for r in result_rows(session, "explain select * from (select k, "
                     "row_number() over (partition by c order by k) rn from t) where rn = 2"))
    assert "first row" not in plan


def test_other_window_functions_beside_it_see_every_row(data) -> None:
    session, duck = data
    sql = ("select * from (select k, c, row_number() over (partition by c order by k) rn, "
           "count(*) over (partition by c) n from t) where rn = 1 order by k")
    assert result_rows(session, sql) == duck.sql(sql).to_arrow_table().to_pylist()
