"""A top-N over a filter on a wide scan, bounded by a first pass over the filter's columns
and the first sort key (``executor/top_bound.py``): the rows and their order are DuckDB's,
through ties at the bound, NULL keys, a filter keeping fewer rows than the limit, several
sort keys and each key type the bound takes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from .harness import check, duck_session, result_rows

N = 140_000  # three stored batches


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    rng = np.random.default_rng(21)
    day = rng.integers(0, 400, N)
    t = pa.table({
        "k": pa.array(rng.permutation(N), pa.int64()),
        "ts": pa.array((day * 86_400 + rng.integers(0, 3, N)).astype("M8[s]").astype("M8[us]"),
                       mask=rng.random(N) < 0.03),
        "d": pa.array(day.astype(np.int32), pa.int32()).cast(pa.date32()),
        "g": pa.array(rng.integers(0, 30, N), pa.int16()),  # many ties
        "url": pa.array([f"http://site{v % 97}.example/{'google' if v % 13 == 0 else 'x'}/{v}"
                         for v in rng.integers(0, 10**6, N)]),
        **{f"c{i}": pa.array(rng.integers(0, 1000, N), pa.int32()) for i in range(6)},
        "title": pa.array([f"title {v}" for v in rng.integers(0, 5000, N)]),
    })
    with duck_session(tmp_path_factory.mktemp("wide") / "db", {"t": t}) as both:
        yield both


@pytest.mark.parametrize("where", ["url like '%google%'", "c0 < 30", "c1 = 7 and c2 > 500",
                                   "url like '%zzz%'", "c0 >= 0"])
@pytest.mark.parametrize("order", ["ts, k", "ts desc, k", "d, k desc", "d desc, ts, k",
                                   "g, k", "g desc, k", "k"])
@pytest.mark.parametrize("n", [1, 10, 300])
def test_bounded_top_rows_are_duckdbs(wide, where: str, order: str, n: int) -> None:
    session, duck = wide
    check(session, duck, f"select * from t where {where} order by {order} limit {n}",
          ordered=True)


def test_the_bound_is_used_and_not_for_narrow_scans(wide, monkeypatch) -> None:
    """The first pass runs for a wide scan (its filter then sees only the bounded rows) and
    not when the scan reads few columns beyond the filter's and the key's."""
    from kodiak_flight.sql.executor import top_bound

    calls = []
    real = top_bound._nth
    monkeypatch.setattr(top_bound, "_nth", lambda *a: calls.append(1) or real(*a))
    session, _ = wide
    session.execute("select 1")  # (a new text each below: no kept plan in the way)
    result_rows(session, "select * from t where url like '%google%' order by ts limit 5")
    assert calls == [1]
    result_rows(session, "select k, ts, url from t where url like '%google%' order by ts "
                         "limit 6")
    assert calls == [1]
