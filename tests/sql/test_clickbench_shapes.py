"""ClickBench's queries and the paths they led to, against DuckDB over the same rows.

``bench/clickbench.py`` times the 43 queries over a synthetic ``hits`` table
(``bench/hits.py``); here each runs on a small one and must give DuckDB's rows (the whole
result, LIMIT taken off: ties at a limit may pick other rows). Then the paths the benchmark
found: a ``smallint`` column compared with an INTEGER literal compares its own values
(``operators.fit_int_literal``), ``LIKE '%x%'`` searches the value bytes
(``functions/substring.py``), ``SUM(x + k)`` comes from one sum and one count
(``optimizer/sum_offsets.py``), a group key computed from other keys is computed after the
aggregation (``optimizer/derived_keys.py``), and ``count(*)`` over a filtered scan counts
the scan's batches (``aggregate.counted_rows_of``).
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from bench.clickbench import QUERIES
from bench.hits import hits
from kodiak_flight.sql.errors import SqlError
from kodiak_flight.sql.functions.substring import contains

from .harness import check, duck_session, result_rows


@pytest.fixture(scope="module")
def hits_pair(tmp_path_factory):
    with duck_session(tmp_path_factory.mktemp("hits") / "db", {"hits": hits(30_000)}) as both:
        yield both


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_clickbench_query_gives_duckdbs_rows(hits_pair, name: str) -> None:
    session, duck = hits_pair
    sql = re.sub(r"\s+LIMIT\s+\d+(\s+OFFSET\s+\d+)?$", "", QUERIES[name])
    check(session, duck, sql, ordered=False)


N = 70_000  # two stored batches


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    rng = np.random.default_rng(5)
    nulls = rng.random(N) < 0.05
    t = pa.table({
        "g": pa.array(rng.integers(0, 12, N), pa.int32()),
        "x": pa.array(rng.integers(-30_000, 30_000, N), pa.int16(), mask=nulls),
        "b": pa.array(rng.integers(-100, 100, N), pa.int8()),
        "u": pa.array(rng.integers(0, 250, N), pa.uint8()),
        "w": pa.array(rng.integers(-2**31, 2**31 - 1, N), pa.int32()),
        "s": pa.array([None if i % 97 == 0 else f"row {i % 500} {'google' if i % 7 == 0 else 'x'}"
                       f"{'é' if i % 11 == 0 else ''}" for i in range(N)]),
    })
    with duck_session(tmp_path_factory.mktemp("shapes") / "db", {"t": t}) as both:
        yield both


@pytest.mark.parametrize("cond", [
    "b = 5", "b <> 0", "b < -50", "b >= 99", "b = 300", "b <> 300", "b < 1000", "b > -129",
    "b in (1, 2, 300)", "b in (-1, 6)", "b between -3 and 3", "u = 249", "u < 0",
    "u in (0, 255, 256)", "x = -30000", "x > 29000 and b < 0", "w = 2147483647",
])
def test_integer_literals_against_narrow_columns(pair, cond: str) -> None:
    session, duck = pair
    check(session, duck, f"select count(*), sum(x) from t where {cond}")


def test_a_narrow_equality_is_pushed_without_a_cast(pair) -> None:
    session, _ = pair
    plan = "\n".join(result_rows(session, "explain select count(*) from t where b = 5 and "
                                          "u <> 7")[i]["plan"]
                     for i in range(2))
    assert "cast(" not in plan
    plan = "\n".join(r["plan"] for r in result_rows(session, "explain select x from t where "
                                                             "b = 300"))
    assert "cast(" in plan  # 300 is no TINYINT: the column is widened as before


@pytest.mark.parametrize("pattern", ["%google%", "%oo%", "%row 1%", "%é%", "%x%", "%row%",
                                     "%zzz%", "%o%", "%e x%", "%google x%"])
def test_like_contains_gives_duckdbs_rows(pair, pattern: str) -> None:
    session, duck = pair
    check(session, duck, f"select count(*), min(s) from t where s like '{pattern}'")
    check(session, duck, f"select count(*) from t where s not like '{pattern}'")
    check(session, duck, f"select g, count(*) from t where s like '{pattern}' group by g")


def test_like_contains_matches_arrows_kernel() -> None:
    """Sparse and dense needles, every string type, sliced arrays, NULLs, matches that
    would run from one string into the next, multi-byte characters."""
    rng = np.random.default_rng(3)
    alphabet = np.array(list("abgo é"))
    for trial in range(400):
        n = int(rng.integers(0, 60))
        words = ["".join(rng.choice(alphabet, int(rng.integers(0, 12)))) for _ in range(n)]
        vals = [None if rng.random() < 0.1 else w for w in words]
        for t in (pa.string(), pa.large_string(), pa.binary()):
            a = pa.array(vals if t != pa.binary() else [None if v is None else v.encode()
                                                        for v in vals], t)
            if n > 4 and trial % 2:
                a = a.slice(2, n - 4)
            for needle in ("g", "go", "oo", "é", "a b", "gogo", "", "ab go"):
                got = contains(a, needle.encode())
                assert got.equals(pc.match_substring(a, needle)), (vals, needle, t)
    many = pa.array(["http://x/" + "a" * int(k) for k in rng.integers(0, 40, 5000)])
    assert contains(many, b"http").equals(pc.match_substring(many, "http"))  # Arrow's


def test_sums_of_offsets_rewrite_only_what_cannot_overflow(pair) -> None:
    session, _ = pair

    def plan(sql: str) -> str:
        return "\n".join(r["plan"] for r in result_rows(session, "explain " + sql))

    assert "multiply_checked" in plan("select sum(x + 1), sum(x + 2) from t")
    assert "multiply_checked" not in plan("select sum(w + 1), sum(w + 2) from t")
    assert "multiply_checked" not in plan("select sum(x + 1.5), sum(x + 2.5) from t")
    with pytest.raises(SqlError):  # x + 2147483647 overflows INTEGER: still an error
        result_rows(session, "select sum(x + 2147483647), sum(x + 2147483646) from t "
                             "where x > 0")


@pytest.mark.parametrize("sql", [
    # sums of offsets (optimizer/sum_offsets.py)
    "select sum(x), sum(x + 1), sum(x + 2), sum(x - 7), sum(3 + x) from t",
    "select g, sum(x + 1), sum(x + 90), count(*) from t group by g",
    "select g, sum(x + 1), sum(x + 2) from t where g > 100 group by g",
    "select sum(x + 1), sum(x + 2) from t where g > 100",
    "select g, sum(x + 1), sum(x + 2), avg(x) from t where x is null group by g",
    "select sum(b + 1), sum(b - 1), sum(u + 5), sum(u + 6) from t",
    # keys computed from keys (optimizer/derived_keys.py)
    "select x, x - 1, x % 7, count(*) from t group by x, x - 1, x % 7",
    "select g, x, g + x, count(*) from t group by g, x, g + x",
    "select 1, g, count(*) from t group by 1, g",
    "select 1, 2, count(*) from t where g > 100 group by 1, 2",
    "select 1, count(*) from t group by 1",
    "select x, abs(x), count(*) from t where x is null or x < -29000 group by x, abs(x)",
    "select g, s, count(*) from t where g < 2 group by g, s",
    # length() from the offsets (functions/lengths.py)
    "select g, sum(length(s)), min(length(s)), max(length(s)) from t group by g",
    "select count(*) from t where length(s) > 14",
    "select length('héllo'), length(''), length(null)",
])
def test_rewritten_aggregations_and_lengths_give_duckdbs_rows(pair, sql: str) -> None:
    session, duck = pair
    check(session, duck, sql)


def test_a_derived_key_that_overflows_still_raises(pair) -> None:
    session, _ = pair
    with pytest.raises(SqlError):
        result_rows(session, "select w, w + 2147483647, count(*) from t group by w, "
                             "w + 2147483647")


@pytest.mark.parametrize("cond", ["b <> 0", "g = 3", "s like '%google%'", "x is null",
                                  "b > 1000", "s <> ''"])
def test_counts_over_filtered_scans(pair, cond: str) -> None:
    session, duck = pair
    check(session, duck, f"select count(*), count(*) from t where {cond}")


def test_char_length_matches_arrows_kernel() -> None:
    """ASCII batches from the offsets, others by Arrow's count: the same lengths, types and
    NULLs, sliced arrays included."""
    from kodiak_flight.sql.functions.lengths import char_length_kernel

    rng = np.random.default_rng(4)
    for alphabet in ("ab ", "aé€😀"):
        letters = np.array(list(alphabet))
        for trial in range(200):
            n = int(rng.integers(0, 40))
            vals = [None if rng.random() < 0.15 else
                    "".join(rng.choice(letters, int(rng.integers(0, 9)))) for _ in range(n)]
            for t in (pa.string(), pa.large_string()):
                a = pa.array(vals, t)
                if n > 3 and trial % 2:
                    a = a.slice(1, n - 2)
                assert char_length_kernel(a).equals(pc.utf8_length(a)), (vals, t)


def test_a_cheap_condition_keeping_few_rows_runs_before_a_like(hits_pair) -> None:
    """``SearchPhrase <> ''`` keeps 15% of the rows (counted on the table's sample: a
    distinct count says nothing of how often '' is) and costs a tenth of a LIKE per row:
    it runs first, and the LIKE on the rows it keeps."""
    session, _ = hits_pair
    plan = [r["plan"].strip() for r in result_rows(session, "explain " + QUERIES["Q21"])]
    like = next(i for i, p in enumerate(plan) if "like_contains" in p)
    empty = next(i for i, p in enumerate(plan) if "not_equal" in p)
    assert like < empty  # (the lower line runs first)


def test_a_condition_selective_by_its_sample_runs_on_the_scans_batches(hits_pair,
                                                                       monkeypatch) -> None:
    """The estimate without samples takes ``SearchPhrase <> ''`` to keep nearly every row,
    which would send it to an Acero filter copying every column it keeps; the filter the
    sample chose is marked to run on the scan's batches (``Filter.on_batches``)."""
    from kodiak_flight.sql.executor import filter_project

    calls = []
    real = filter_project.filtered
    monkeypatch.setattr(filter_project, "filtered",
                        lambda r, conds: calls.append(conds) or real(r, conds))
    session, duck = hits_pair
    check(session, duck, "select SearchPhrase, min(URL), count(*) from hits where URL like "
                         "'%google%' and SearchPhrase <> '' group by SearchPhrase")
    assert any("not_equal" in repr(c) for conds in calls for c in conds)
