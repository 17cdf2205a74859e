"""``executor/join.py``'s key filter: an inner or semi join whose small right input runs
first and hands its keys to the filter the large left input runs on a scan's batches (TPC-H
Q7's lineitem and the suppliers of two nations; Q20's lineitem and the part-supplier pairs of
some parts). Answers against DuckDB, and where it applies."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql import Session
from kodiak_flight.sql.executor import join

from .harness import check, duck_twin

N = 40_000


@pytest.fixture
def duck(session: Session):
    rng = np.random.default_rng(7)
    sk = rng.integers(0, 2_000, N).tolist()
    sk[3] = None  # a NULL key matches nothing
    line = pa.table({"l_ok": pa.array(np.sort(rng.integers(0, 10_000, N)), pa.int64()),
                     "l_sk": pa.array(sk, pa.int64()),
                     "l_day": pa.array(rng.integers(9_000, 9_700, N), pa.int32()
                                       ).cast(pa.date32()),
                     "l_price": pa.array(rng.integers(1, 10_000, N), pa.int64())})
    keys = list(range(2_000)) + [17, 17]  # a key twice: its rows join twice
    supp = pa.table({"s_sk": pa.array(keys, pa.int64()),
                     "s_name": [f"s{k % 300}" for k in range(len(keys))],
                     "s_nat": pa.array([k % 25 for k in keys], pa.int64())})
    ords = pa.table({"o_ok": pa.array(range(10_000), pa.int64()),
                     "o_flag": pa.array([k % 50 for k in range(10_000)], pa.int64())})
    con = duck_twin(session.db, {"line": line, "supp": supp, "ord": ords})
    yield con
    con.close()


Q7_LIKE = """
select s_name, count(*) as n, sum(l_price) as total from line, supp
where l_sk = s_sk and s_nat in (3, 17)
  and l_day between date '1994-09-01' and date '1995-01-31'
group by s_name order by s_name"""

QUERIES = [
    Q7_LIKE,
    Q7_LIKE.replace("in (3, 17)", "= 99"),  # no supplier: no key to keep
    """select count(*), sum(l_price) from line, supp
       where l_sk = s_sk and s_name = 's17' and l_day < date '1995-03-01'""",
    # semi joins (Q20's shape): the right input's estimate after a LIKE is far too high
    """select count(*), sum(l_price) from line
       where l_day < date '1995-03-01'
         and l_sk in (select s_sk from supp where s_name like 's17%')""",
    """select l_sk, count(*) from line
       where l_day < date '1995-02-01'
         and exists (select * from supp where s_sk = l_sk and s_nat = l_ok % 25
                     and s_name like 's2%')
       group by l_sk order by l_sk""",
]


# Q7's shape: the suppliers of two nations join above the join of lineitem with orders
DEEP = """
select s_name, count(*) as n, sum(l_price) as total from line, ord, supp
where l_ok = o_ok and l_sk = s_sk and o_flag = 1 and s_nat in (3, 17)
  and l_day between date '1994-09-01' and date '1995-01-31'
group by s_name order by s_name"""


@pytest.fixture
def spy(monkeypatch):
    calls = []
    real = join.key_filtered_inputs

    def counting(ex, node, *found):
        calls.append(found)
        return real(ex, node, *found)
    monkeypatch.setattr(join, "key_filtered_inputs", counting)
    return calls


@pytest.mark.parametrize("sql", QUERIES)
def test_same_answers_as_duckdb(session, duck, spy, sql):
    check(session, duck, sql)
    assert spy, "the key filter did not run"


@pytest.mark.parametrize("sql", [QUERIES[0], QUERIES[3], QUERIES[4]])
def test_same_answers_without_it(session, duck, monkeypatch, sql):
    monkeypatch.setattr(join, "key_filter", lambda node: None)
    check(session, duck, sql)


def test_through_a_join_below(session, duck, spy):
    """The key's rows are restricted at the scan's filter under the join below. The path to
    it is copied, not changed: the plan may be run again (a kept or prepared one)."""
    check(session, duck, DEEP)
    deep = [path for _, path, _ in spy if len(path) > 1]  # through at least one join
    assert len(deep) == 1, spy  # (the join below takes its orders' keys too)
    path = deep[0]
    for parent, child in itertools.pairwise(path):
        assert any(getattr(parent, side, None) is child for side in ("left", "right", "input"))
    assert "is_in" not in repr(path[-1].cond)


def test_explain_analyze_counts_the_copied_path_as_planned(session, duck):
    """The copies run in place of the planned join below: EXPLAIN ANALYZE gives its rows."""
    lines = session.execute("explain analyze " + DEEP).reader.read_all().column(0).to_pylist()
    joins = [ln for ln in lines if ln.lstrip().startswith("Join")]
    assert len(joins) == 2 and all("actual rows=" in ln for ln in joins), lines


def test_through_a_join_below_without_it(session, duck, monkeypatch):
    monkeypatch.setattr(join, "key_filter", lambda node: None)
    check(session, duck, DEEP)


def test_not_for_a_bare_scan(session, duck, spy):
    """A scan without a filter goes into the join as read: its Bloom filter does the work."""
    check(session, duck, "select count(*) from line, supp where l_sk = s_sk and s_nat = 3")
    assert not spy


def test_not_for_an_anti_join(session, duck, spy):
    """NOT IN keeps the rows whose key the right input lacks: no key of its restricts them."""
    check(session, duck, """select count(*) from line where l_day < date '1995-03-01'
                            and l_sk not in (select s_sk from supp where s_name like 's17%')""")
    assert not spy


def test_a_filter_keeping_most_rows_takes_the_keys(session, duck, spy):
    """A filter over a scan that keeps most of its rows (TPC-H Q3's ship dates, 54%) would
    run in Acero; with the join's keys it keeps few, so the keys join its condition and the
    one filter runs on the scan's batches, standing in for the planned one."""
    sql = "select count(*), sum(l_price) from line, supp where l_sk = s_sk and s_nat = 3 " \
          "and l_day > date '1994-01-01'"
    check(session, duck, sql)
    assert len(spy) == 1
    lines = session.execute("explain analyze " + sql).reader.read_all().column(0).to_pylist()
    filters = [ln for ln in lines if ln.lstrip().startswith("Filter")]
    assert filters and all("actual rows=" in ln for ln in filters), lines


def key_filtered(session, monkeypatch, fact: pa.Table, dim: pa.Table, where: str) -> bool:
    """Whether ``fact join dim on k = id where ...`` put the dimension's keys on the fact
    table's filter, its answer checked against DuckDB's."""
    con = duck_twin(session.db, {"fact": fact, "dim": dim})
    made = []
    real = join.tested
    monkeypatch.setattr(join, "tested", lambda ex, path, test: made.append(1) or
                        real(ex, path, test))
    try:
        check(session, con, f"select count(*), sum(v) from fact join dim on k = id where {where}")
    finally:
        con.close()
    return bool(made)


def fact_rows(rng: np.random.Generator, keys: np.ndarray, n: int = 40_000) -> pa.Table:
    return pa.table({"k": rng.choice(keys, n), "day": rng.integers(0, 100, n).astype(np.int32),
                     "v": rng.integers(0, 1000, n)})


@pytest.mark.parametrize("span", [50_000, 2**62])
def test_many_keys_spread_wide_are_left_to_the_join(session, monkeypatch, span):
    """A key set past ``SEARCHED_VALUES`` gets a table of flags over a narrow span; spread
    wide (random 64-bit ids) it would be a binary search costing more a row than the join's
    own hash table, so the join runs without it. Answers as DuckDB's either way."""
    from kodiak_flight.sql.executor import int_tests

    monkeypatch.setattr(int_tests, "SEARCHED_VALUES", 50)
    rng = np.random.default_rng(11)
    ids = np.unique(rng.integers(-span, span, 3_000))
    dim = pa.table({"id": ids, "grp": rng.integers(0, 20, len(ids)).astype(np.int32)})
    used = key_filtered(session, monkeypatch, fact_rows(rng, ids), dim, "grp = 3 and day < 60")
    assert used == (span == 50_000)


@pytest.mark.parametrize("few", [50, join.KEY_FILTER_FEW])
@pytest.mark.parametrize("groups, used", [(4, True), (19, False)])
def test_keys_that_keep_most_rows_are_left_to_the_join(session, monkeypatch, groups, used,
                                                       few):
    """Past ``KEY_FILTER_FEW`` keys, or on a filter that would run in Acero without them
    (this one keeps 60% of its rows), a key set is used only when it is at most
    ``KEY_FILTER_SHARE`` of the key column's distinct values: testing keys that keep most
    rows on one thread costs more than Acero's filter and join. Answers as DuckDB's."""
    monkeypatch.setattr(join, "KEY_FILTER_FEW", few)
    rng = np.random.default_rng(12)
    ids = np.arange(1_000)
    dim = pa.table({"id": ids, "grp": (ids % 20).astype(np.int32)})
    where = f"grp < {groups} and day < 60"
    assert key_filtered(session, monkeypatch, fact_rows(rng, ids), dim, where) == used
