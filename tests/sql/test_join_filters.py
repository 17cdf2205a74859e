"""``optimizer.join_filters``: a filter on a hash join's probe input runs in the join, on
the matched rows, when the join keeps fewer rows than the filter; and ``pushdown``'s order
of semi/anti joins over one join tree, the one keeping fewest rows first. Plan shapes, and
answers equal to DuckDB's (TPC-H Q21 and Q4 in small)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql import Session
from kodiak_flight.sql.optimizer import RULES

from .harness import check, duck_twin

N = 40_000


@pytest.fixture
def duck(session: Session):
    """line (orders' lines, 4 per order on average, late when receipt > commit, some NULL
    dates and keys), supp (200 suppliers over 20 nations), ords (10,000 orders)."""
    rng = np.random.default_rng(21)
    ok = np.sort(rng.integers(0, 10_000, N))
    commit = rng.integers(9_000, 9_100, N)
    receipt = commit + rng.integers(-30, 20, N)  # about 40% late
    sk = rng.integers(0, 200, N).tolist()
    sk[7] = None
    commit_l = pa.array(commit, pa.int32()).cast(pa.date32()).to_pylist()
    commit_l[11] = None
    receipt_l = pa.array(receipt, pa.int32()).cast(pa.date32()).to_pylist()
    receipt_l[13] = None
    line = pa.table({"l_ok": pa.array(ok, pa.int64()), "l_sk": pa.array(sk, pa.int64()),
                     "l_commit": pa.array(commit_l, pa.date32()),
                     "l_receipt": pa.array(receipt_l, pa.date32()),
                     "l_mode": pa.array(rng.choice(["AIR", "RAIL", "SHIP", "MAIL"], N))})
    supp = pa.table({"s_sk": pa.array(range(200), pa.int64()),
                     "s_name": [f"supp{i:03d}" for i in range(200)],
                     "s_nat": pa.array([i % 20 for i in range(200)], pa.int64())})
    ords = pa.table({"o_ok": pa.array(range(10_000), pa.int64()),
                     "o_status": pa.array(rng.choice(["F", "O", "P"], 10_000)),
                     "o_date": pa.array(rng.integers(8_000, 9_000, 10_000),
                                        pa.int32()).cast(pa.date32())})
    con = duck_twin(session.db, {"line": line, "supp": supp, "ords": ords})
    yield con
    con.close()


Q21_LIKE = """
select s_name, count(*) as numwait
from supp, line l1, ords
where s_sk = l1.l_sk and o_ok = l1.l_ok and o_status = 'F'
  and l1.l_receipt > l1.l_commit
  and exists (select * from line l2 where l2.l_ok = l1.l_ok and l2.l_sk <> l1.l_sk)
  and not exists (select * from line l3 where l3.l_ok = l1.l_ok
                  and l3.l_sk <> l1.l_sk and l3.l_receipt > l3.l_commit)
  and s_nat = 3
group by s_name order by numwait desc, s_name"""

Q4_LIKE = """
select o_status, count(*) as n from ords
where o_date >= date '1992-01-01' and o_date < date '1992-03-01'
  and exists (select * from line where l_ok = o_ok and l_commit < l_receipt)
group by o_status order by o_status"""

INNER = """
select s_name, count(*) as n, min(l_receipt) as first from line, supp
where l_sk = s_sk and s_nat = 5 and l_mode in ('AIR', 'RAIL', 'SHIP')
  and l_receipt > l_commit
group by s_name order by s_name"""

ANTI_ONLY = """
select count(*) from supp where s_nat = 1
  and not exists (select * from line where l_sk = s_sk and l_receipt > l_commit
                  and l_mode = 'MAIL')"""

QUERIES = [Q21_LIKE, Q4_LIKE, INNER, ANTI_ONLY]


def plan(session: Session, sql: str) -> list[str]:
    return session.execute("explain " + sql).reader.read_all().column(0).to_pylist()


def filters_over_line(lines: list[str]) -> list[str]:
    """The Filter lines right above a scan of ``line``."""
    return [lines[k] for k in range(len(lines) - 1)
            if lines[k].lstrip().startswith("Filter") and "Scan main.line " in lines[k + 1]]


@pytest.mark.parametrize("sql", QUERIES)
def test_same_answers_as_duckdb(session, duck, sql):
    check(session, duck, sql)


@pytest.mark.parametrize("sql", QUERIES)
def test_same_answers_without_the_rule(session, duck, sql, monkeypatch):
    """(the rule off: what the answers are compared with is the same plan otherwise)"""
    import kodiak_flight.sql.optimizer as opt
    monkeypatch.setattr(opt, "RULES", tuple(r for r in RULES
                                            if r.__name__ != "filters_into_joins"))
    check(session, duck, sql)


def test_q21_filters_run_in_the_joins(session, duck):
    lines = plan(session, Q21_LIKE)
    assert filters_over_line(lines) == [], "\n".join(lines)
    joins = [ln for ln in lines if ln.lstrip().startswith("Join")]
    assert sum("greater(" in ln for ln in joins) == 2, "\n".join(lines)
    anti = [ln for ln in joins if "Join anti" in ln]
    assert anti and "not_equal(" in anti[0] and "greater(" in anti[0], "\n".join(lines)


def test_q4_filter_runs_in_the_semi_join(session, duck):
    lines = plan(session, Q4_LIKE)
    semi = [ln for ln in lines if "Join semi" in ln]
    assert semi and "less(" in semi[0] and "build=left" in semi[0], "\n".join(lines)
    assert filters_over_line(lines) == [], "\n".join(lines)


def test_without_the_rule_the_filters_stay(session, duck, monkeypatch):
    import kodiak_flight.sql.optimizer as opt
    monkeypatch.setattr(opt, "RULES", tuple(r for r in RULES
                                            if r.__name__ != "filters_into_joins"))
    assert len(filters_over_line(plan(session, Q21_LIKE))) == 2


def test_constant_comparisons_stay_on_the_scan(session, duck):
    """A date range is a cheap test on the scan's batches: it stays a filter."""
    sql = """select s_name, count(*) from line, supp where l_sk = s_sk and s_nat = 5
             and l_receipt >= date '1994-09-01' and l_commit < date '1994-12-01'
             group by s_name order by s_name"""
    lines = plan(session, sql)
    assert len(filters_over_line(lines)) == 1, "\n".join(lines)
    check(session, duck, sql)


def test_filter_of_the_hashed_side_stays(session, duck):
    """The filtered input is the small one, hashed: its filter shrinks the hash table."""
    sql = """select count(*) from ords, line where o_ok = l_ok and o_status = 'F'
             and l_receipt > l_commit and l_sk = 17"""
    lines = plan(session, sql)
    assert not any(ln.lstrip().startswith("Join") and "greater(" in ln for ln in lines), \
        "\n".join(lines)
    check(session, duck, sql)


def test_not_exists_placed_before_exists(session, duck):
    lines = plan(session, Q21_LIKE)
    kinds = [ln.split()[1] for ln in lines if ln.lstrip().startswith("Join") and
             ("semi" in ln or "anti" in ln)]
    assert kinds == ["semi", "anti"], "\n".join(lines)  # the anti join is below, first
