"""Quantiles (``executor/quantiles.py``) agree with DuckDB whichever way they are found:
selected within each group (one group, a few, or large ones), or by one sort of (group,
value) for many small groups, by radix passes or Arrow's sort; with NULLs, empty groups,
ties, and every value type a quantile takes."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql.executor import quantiles

from .harness import duck_session, result_rows

N = 40_000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(3)
    few = rng.integers(0, 5, N)
    many = rng.integers(0, 8_000, N)  # about 5 values a group: the sorted path
    t = pa.table({
        "few": pa.array(few, pa.int32()),
        "many": pa.array(many, pa.int32()),
        "i": pa.array(rng.integers(-1000, 1000, N), pa.int64(), mask=rng.random(N) < 0.1),
        "ties": pa.array(rng.integers(0, 4, N), pa.int16()),
        "f": pa.array(rng.normal(size=N)),
        "p": pa.array([Decimal(int(c)).scaleb(-2) for c in rng.integers(0, 10**8, N)],
                      pa.decimal128(15, 2)),
        "d": pa.array(rng.integers(8000, 12000, N), pa.int32()).view(pa.date32()),
        "ts": pa.array(rng.integers(0, 10**15, N), pa.int64()).view(pa.timestamp("us")),
        # a group whose values are all NULL: its quantiles are NULL
        "sparse": pa.array(np.where(few == 3, 0, rng.integers(0, 50, N)), pa.int64(),
                           mask=few == 3),
    })
    with duck_session(tmp_path_factory.mktemp("quantiles") / "db", {"q": t}) as both:
        yield both


def _close(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k in g:
            if isinstance(g[k], float) and isinstance(w[k], float):
                assert g[k] == pytest.approx(w[k], rel=1e-12, abs=1e-12), k
            elif isinstance(g[k], float) and isinstance(w[k], Decimal):
                # Kodiak's quantile_cont of a decimal is a DOUBLE (docs/sql.md); DuckDB's a
                # decimal of the input's scale, cut short: within one unit of its last digit
                assert abs(g[k] - float(w[k])) < 0.01, k
            else:
                assert g[k] == w[k], k


AGGREGATES = ("median(i) a, quantile_cont(f, 0.9) b, quantile_disc(p, 0.25) c, "
              "quantile_cont(ties, 0.5) e, quantile_disc(d, 0.75) g, median(ts) h, "
              "median(sparse) s, quantile_cont(p, 0.1) t")


@pytest.mark.parametrize("group", [None, "few", "many"])
def test_quantiles_agree_with_duckdb(data, group: str | None) -> None:
    session, duck = data
    if group is None:
        sql = f"select {AGGREGATES} from q"
    else:
        sql = f"select {group}, {AGGREGATES} from q group by {group} order by {group}"
    _close(result_rows(session, sql), duck.sql(sql).to_arrow_table().to_pylist())


@pytest.mark.parametrize("sql", [
    "select median(5) a, quantile_disc(i, 0.5) filter (where few = 2) b, median(i + 1) c "
    "from q",
    "select median(i) a, quantile_cont(f, 0.5) b from q where few = 99",  # no rows
    "select median(sparse) a from q where few = 3",  # only NULLs
])
def test_quantiles_of_all_rows(data, sql: str) -> None:
    """Without GROUP BY, selected from the column itself (``aggregate.whole_quantiles``)."""
    session, duck = data
    _close(result_rows(session, sql), duck.sql(sql).to_arrow_table().to_pylist())


@pytest.mark.parametrize("q", [0.0, 0.5, 1.0, 0.333])
def test_the_ends_and_between(data, q: float) -> None:
    session, duck = data
    sql = (f"select few, quantile_cont(f, {q}) a, quantile_disc(i, {q}) b from q "
           "group by few order by few")
    _close(result_rows(session, sql), duck.sql(sql).to_arrow_table().to_pylist())


def test_both_ways_of_finding_the_ranks_agree() -> None:
    """Selection within groups and one sort of (group, value) find the same values."""
    rng = np.random.default_rng(9)
    for values in (pa.array(rng.integers(-5, 5, 3000)), pa.array(rng.normal(size=3000)),
                   pa.array([f"s{v}" for v in rng.integers(0, 50, 3000)])):
        parents = np.sort(rng.integers(0, 40, 3000))
        counts = np.bincount(parents, minlength=41)  # the last group empty
        offsets = np.concatenate([[0], np.cumsum(counts)])
        lo = np.floor(0.3 * np.maximum(counts - 1, 0)).astype(np.int64)
        hi = np.ceil(0.3 * np.maximum(counts - 1, 0)).astype(np.int64)
        order = quantiles._group_order(values, parents)
        key = quantiles.order_values(values)
        for g in np.flatnonzero(counts):
            want = values.take(pa.array(order[offsets[g] + np.array([lo[g], hi[g]])]))
            if key is not None:
                picked = quantiles._selected(key, counts, offsets, lo, hi)
                assert values.take(pa.array([picked[0][g], picked[1][g]])) == want
            got = quantiles.ranked(values, parents, counts, offsets, lo, hi)
            assert values.take(pa.array([got[0][g], got[1][g]])) == want


def test_a_discrete_quantile_is_the_first_value_reaching_its_share(tmp_path) -> None:
    """``quantile_disc(x, q)`` is the first value whose share of the group reaches q
    (PERCENTILE_DISC): Kodiak took the value at floor(q * (n - 1)), one too early for many
    sizes (of 2 values, the median was the first, where DuckDB gives the second)."""
    rows = [(n, x) for n in range(1, 13) for x in range(1, n + 1)]
    t = pa.table({"n": pa.array([r[0] for r in rows], pa.int32()),
                  "x": pa.array([r[1] for r in rows], pa.int64())})
    with duck_session(tmp_path / "db", {"s": t}) as (session, duck):
        qs = (0.0, 0.1, 0.25, 0.3, 1 / 3, 0.5, 0.7, 0.75, 0.9, 1.0)
        cols = ", ".join(f"quantile_disc(x, {q}) q{i}" for i, q in enumerate(qs))
        sql = f"select n, {cols} from s group by n order by n"
        assert result_rows(session, sql) == duck.sql(sql).to_arrow_table().to_pylist()
