"""Aggregation by runs (``executor/runs.py``): a grouping on one integer key over rows that
arrive in key order folds runs of equal keys in numpy (TPC-H Q18's lineitem by
``l_orderkey``). Answers equal DuckDB's for data in key order, in key order per batch only,
shuffled, with NULL keys and values, and with sums past int64; the numpy path is taken only
where the rows come in runs."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql.executor import runs

from .harness import check, duck_twin

N = 150_000  # more than two of the engine's batches


def table(keys: np.ndarray, rng: np.random.Generator) -> pa.Table:
    n = len(keys)
    qty = [None if i % 17 == 0 else f"{x:.2f}" for i, x in enumerate(rng.uniform(1, 50, n))]
    small = rng.integers(-1000, 1000, n).astype(object)
    small[::23] = None
    return pa.table({
        "k": pa.array(keys, pa.int64()),
        "q": pa.array(qty, pa.string()).cast(pa.decimal128(15, 2)),
        "i": pa.array(small.tolist(), pa.int32()),
        "b": pa.array(rng.integers(-10**12, 10**12, n), pa.int64())})


@pytest.fixture
def duck(session):
    rng = np.random.default_rng(18)
    sorted_keys = np.repeat(np.arange(N // 4), rng.integers(1, 8, N // 4))[:N]
    tables = {
        "srt": table(sorted_keys, rng),
        "shuf": table(rng.permutation(sorted_keys), rng),
        # in key order within each half, the second half starting over
        "twice": table(np.concatenate([sorted_keys[: N // 2], sorted_keys[: N // 2]]), rng),
        "uniq": table(np.arange(N), rng),  # in order, but no runs to fold
    }
    nk = sorted_keys.astype(object)
    nk[1000:1010] = None
    nk[-5:] = None
    tables["nullk"] = table(nk, rng).set_column(0, "k", pa.array(nk.tolist(), pa.int64()))
    big = np.repeat(np.arange(200), 20)
    tables["big"] = pa.table({"k": pa.array(big, pa.int64()),
                              "d": pa.array([Decimal(9 * 10**17)] * len(big),
                                            pa.decimal128(18, 0))})
    return duck_twin(session.db, tables)


@pytest.fixture
def path(monkeypatch):
    """Records, per aggregation that tried runs, how it finished: "merged" (the partial rows
    in key order), "hashed" (combined by Acero) or "plain" (the first batch did not fold)."""
    seen: list[str] = []
    real, real_hashed = runs.aggregate, runs.hashed

    def spy(node, reader):
        out = real(node, reader)
        if not isinstance(out, pa.Table):
            seen.append("plain")
        elif not seen or seen[-1] != "hashed":
            seen.append("merged")
        return out

    def spy_hashed(*args):
        seen.append("hashed")
        return real_hashed(*args)
    monkeypatch.setattr(runs, "aggregate", spy)
    monkeypatch.setattr(runs, "hashed", spy_hashed)
    return seen


AGGS = "count(*), count(q), sum(q), min(q), max(q), sum(i), min(i), max(i), count(i), sum(b)"


@pytest.mark.parametrize("name,how", [("srt", ["merged"]), ("twice", ["hashed"]),
                                      ("nullk", ["hashed"]), ("uniq", ["plain"]),
                                      ("shuf", [])])
def test_answers_as_duckdb(session, duck, path, name, how):
    """(``shuf``: the statistics say its key is not stored in order, so no batch is probed.)"""
    check(session, duck, f"select k, {AGGS} from {name} group by k")
    assert path == how


def test_having_as_q18(session, duck, path):
    check(session, duck, "select k, sum(q) from srt group by k having sum(q) > 250 order by k")
    assert path == ["merged"]


def test_sum_past_int64_is_exact(session, duck, path):
    """Runs whose sum could leave int64 stay unfolded; Acero sums them as decimal128(38)."""
    check(session, duck, "select k, sum(d), min(d), count(*) from big group by k")
    assert path == ["hashed"]


def test_other_aggregates_keep_the_hash_path(session, duck, path):
    check(session, duck, "select k, avg(i) from srt group by k")
    check(session, duck, "select k, count(distinct i) from srt group by k")
    check(session, duck, "select k, i, count(*) from srt group by k, i")
    assert path == []


def test_explain_analyze_takes_the_same_path(session, duck, path):
    """EXPLAIN ANALYZE times each operator over its input read whole (a table): the fold
    runs over the table's batches as over the scan's."""
    rows = session.execute("explain analyze select k, sum(q) from srt group by k"
                           ).reader.read_all().column(0).to_pylist()
    want = duck.execute("select count(distinct k) from srt").fetchone()[0]
    assert any("Aggregate keys=" in r and f"actual rows={want} " in r for r in rows), rows
    assert path == ["merged"]
