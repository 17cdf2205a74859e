"""Rewrites found through TPC-H, on small tables: the plan shape each gives, and answers
equal to DuckDB's.

* ``optimizer.equivalences``: ``p.k = f.k AND s.k = f.k`` implies ``p.k = s.k``, so the two
  small relations join before the large one (TPC-H Q9's part and partsupp);
* ``optimizer.case_branches``: a guarded CASE branch reads the expression the projection
  computes unguarded anyway (TPC-H Q14), and keeps its guard otherwise;
* ``optimizer.reduce_aggregates``: the semi join that restricts a grouped subquery to the
  outer query's keys goes below the subquery's own join, onto the relation the key comes
  from (TPC-H Q2).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from .harness import check

N = 20_000


@pytest.fixture
def duck(session):
    rng = np.random.default_rng(7)
    pk = rng.integers(0, 2_000, N)
    keys = pa.array(pk, pa.int64()).to_pylist()
    keys[5] = None  # a NULL key matches nothing
    fact = pa.table({"f_pk": pa.array(keys, pa.int64()),
                     "f_sk": pa.array(rng.integers(0, 4, N), pa.int64()),
                     "f_price": pa.array([f"{x:.2f}" for x in rng.uniform(1, 100, N)]
                                         ).cast(pa.decimal128(15, 2)),
                     "f_disc": pa.array([f"0.0{x}" for x in rng.integers(0, 9, N)]
                                        ).cast(pa.decimal128(15, 2))})
    part = pa.table({"p_pk": pa.array(range(2_000), pa.int64()),
                     "p_name": [("green " if i % 9 == 0 else "red ") + str(i)
                                for i in range(2_000)]})
    ps = pa.table({"ps_pk": pa.array([i // 4 for i in range(8_000)], pa.int64()),
                   "ps_sk": pa.array([i % 4 for i in range(8_000)], pa.int64()),
                   "ps_cost": pa.array([float(i % 13) for i in range(8_000)])})
    con = duckdb.connect()
    for name, t in (("fact", fact), ("part", part), ("ps", ps)):
        with session.db.begin() as tx:
            tx.create_table(name, t.schema)
            tx.insert(name, t)
        con.register(name, t)
    return con


def join_groups(session, sql: str) -> list[set[str]]:
    """For every join in ``sql``'s plan, the tables scanned below it."""
    lines = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
    out = []
    for k, line in enumerate(lines):
        if line.lstrip().startswith("Join"):
            depth = len(line) - len(line.lstrip())
            tables = set()
            for below in lines[k + 1:]:
                if len(below) - len(below.lstrip()) <= depth:
                    break
                if below.lstrip().startswith("Scan main."):
                    tables.add(below.lstrip().split()[1].removeprefix("main."))
            out.append(tables)
    return out


Q9_LIKE = """
select f_sk, sum(f_price * (1 - f_disc) - ps_cost) as profit, count(*) as n
from fact, part, ps
where p_pk = f_pk and ps_pk = f_pk and ps_sk = f_sk and p_name like '%green%'
group by f_sk order by f_sk"""


def test_implied_equality_joins_small_relations_first(session, duck):
    assert {"part", "ps"} in join_groups(session, Q9_LIKE)
    check(session, duck, Q9_LIKE)


def test_implied_equality_through_three_relations(session, duck):
    sql = """select count(*), sum(ps_cost) from fact f, part p, ps
             where f.f_pk = p.p_pk and p.p_pk = ps.ps_pk and f.f_sk = ps.ps_sk
               and p.p_name like 'green%'"""
    check(session, duck, sql)


def test_implied_key_not_repeated(session, duck):
    plan = "\n".join(session.execute("explain " + Q9_LIKE).reader.read_all()
                     .column(0).to_pylist())
    top = [ln for ln in plan.splitlines() if ln.lstrip().startswith("Join")][0]
    assert top.count("=") == 2, top  # f_pk and f_sk: the implied p_pk key dropped


Q14_LIKE = """
select 100.00 * sum(case when p_name like 'green%' then f_price * (1 - f_disc) else 0 end)
       / sum(f_price * (1 - f_disc)) as promo
from fact, part where f_pk = p_pk"""


def test_case_branch_reads_shared_expression(session, duck):
    plan = session.execute("explain " + Q14_LIKE).reader.read_all().column(0).to_pylist()
    assert not any("if_else" in ln for ln in plan), plan
    check(session, duck, Q14_LIKE)


Q2_LIKE = """
select p.p_pk, ps.ps_sk, ps.ps_cost from part p, ps
where p.p_pk = ps.ps_pk and p.p_name like 'green%'
  and ps.ps_cost = (select min(ps2.ps_cost) from ps ps2, part p2
                    where ps2.ps_pk = p.p_pk and ps2.ps_sk = p2.p_pk and p2.p_name like 'red%')
order by p.p_pk, ps.ps_sk"""


def semi_join_probes(session, sql: str) -> list[str]:
    """For every semi join in ``sql``'s plan, the operator it probes with (its left input,
    the first line below it): ``Scan main.ps`` or ``Project``, ``Join``."""
    lines = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
    return [" ".join(lines[k + 1].split()[:2]) for k, line in enumerate(lines)
            if line.lstrip().startswith("Join semi")]


def test_subquery_keys_restrict_the_relation_they_come_from(session, duck):
    """The subquery's grouping key is ps2.ps_pk: the semi join on the outer query's parts
    runs on ps2 alone, below its join with p2, not on that join's output."""
    assert semi_join_probes(session, Q2_LIKE) == ["Scan main.ps"]
    got = check(session, duck, Q2_LIKE)
    assert got  # some green parts have a cheapest red supplier


def test_case_branch_keeps_guard_alone(session, duck):
    # v * v overflows where the branch is not taken: the guard must stay
    session.execute("create table big (k bigint, v bigint)")
    session.execute("insert into big values (1, 3), (20, 4294967296), (2, 5)")
    duck.execute("create table big (k bigint, v bigint)")
    duck.execute("insert into big values (1, 3), (20, 4294967296), (2, 5)")
    sql = "select sum(case when k < 10 then v * v else 0 end), sum(v) from big"
    plan = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
    assert any("if_else" in ln for ln in plan), plan
    check(session, duck, sql)


def test_group_keys_fixed_by_primary_key_fetched_after(session):
    """``optimizer.dependent_keys``: grouped by the primary key, names joined back."""
    cust = pa.table({"c_id": pa.array(range(300), pa.int64()),
                     "c_name": [f"name{i % 7}" for i in range(300)],
                     "c_nat": pa.array([i % 5 for i in range(300)], pa.int64())})
    orders = pa.table({"o_ck": pa.array([(i * 7) % 400 for i in range(3_000)], pa.int64()),
                       "o_amt": pa.array([float(i % 11) for i in range(3_000)])})
    nat = pa.table({"n_id": pa.array(range(5), pa.int64()),
                    "n_name": ["a", "b", "c", "d", "e"]})
    session.execute("create table cust (c_id bigint primary key, c_name varchar, "
                    "c_nat bigint)")
    session.db.insert("cust", cust)
    con = duckdb.connect()
    for name, t in (("orders", orders), ("nat", nat)):
        with session.db.begin() as tx:
            tx.create_table(name, t.schema)
            tx.insert(name, t)
        con.register(name, t)
    con.register("cust", cust)
    sql = """select c_id, c_name, n_name, sum(o_amt) as total, count(*) as n
             from cust, orders, nat where c_id = o_ck and c_nat = n_id
             group by c_id, c_name, n_name order by total desc, c_id limit 50"""
    plan = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
    agg = [ln for ln in plan if "Aggregate" in ln][0]
    keys = agg.split("keys=[")[1].split("]")[0].split(", ")
    assert len(keys) == 2, agg  # c_id and n_name: c_name is fetched after
    assert sum("Scan main.cust" in ln for ln in plan) == 2, plan
    check(session, con, sql)


def test_expression_computed_below_join(session, duck):
    """``optimizer.early_projection``: as Q9's profit, the decimal arithmetic is computed
    on the join input holding its columns; one column then goes through the join above."""
    for con in (session, duck):
        con.execute("create table grp (g_sk bigint, g_name varchar)")
        con.execute("insert into grp values (0, 'zero'), (1, 'one'), (2, 'two'), (3, 'x')")
    sql = """select g_name, sum(f_price * (1 - f_disc)) as revenue, count(*) as n
             from fact, part, grp
             where p_pk = f_pk and g_sk = f_sk and p_name like '%green%'
             group by g_name order by g_name"""
    plan = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
    top = next(k for k, ln in enumerate(plan) if ln.lstrip().startswith("Join"))
    assert not any("multiply_checked" in ln for ln in plan[:top]), plan
    assert any("multiply_checked" in ln for ln in plan[top:]), plan
    check(session, duck, sql)


def test_expression_that_can_raise_stays_above_join(session, duck):
    # v * v overflows on the row the join drops: computed below the join it would raise
    for con in (session, duck):
        con.execute("create table ov (k bigint, v bigint)")
        con.execute("insert into ov values (1, 3), (99, 4294967296), (2, 5)")
        con.execute("create table keys2 (kk bigint)")
        con.execute("insert into keys2 values (1), (2)")
    sql = "select sum(v * v + k) from ov, keys2 where k = kk"
    check(session, duck, sql)


@pytest.fixture
def dated(session):
    """A lineitem-like table: a year of dates over seven, quantities, decimals."""
    rng = np.random.default_rng(11)
    n = 30_000
    t = pa.table({
        "d": pa.array(np.datetime64("1992-01-01") + rng.integers(0, 2_500, n)
                      ).cast(pa.date32()),
        "qty": pa.array([f"{x}.00" for x in rng.integers(1, 51, n)]).cast(pa.decimal128(15, 2)),
        "price": pa.array([f"{x:.2f}" for x in rng.uniform(900, 100_000, n)]
                          ).cast(pa.decimal128(15, 2)),
        "disc": pa.array([f"0.{x:02d}" for x in rng.integers(0, 11, n)]
                         ).cast(pa.decimal128(15, 2)),
        "den": pa.array(rng.integers(0, 3, n), pa.int64())})
    with session.db.begin() as tx:
        tx.create_table("li", t.schema)
        tx.insert("li", t)
    con = duckdb.connect()
    con.register("li", t)
    return con


def filters_over_scan(session, sql: str) -> int:
    plan = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
    return sum(ln.lstrip().startswith("Filter") for ln in plan)


Q6_LIKE = """select sum(price * disc) as revenue, count(*) as n from li
             where d >= date '1994-01-01' and d < date '1995-01-01'
               and disc between 0.05 and 0.07 and qty < 24"""


def test_scan_filters_on_the_scans_batches(session, dated):
    """A scan's filter keeping few rows runs on the scan's batches (a record batch filter,
    ``executor.filter_project.filtered``), the second of a split filter in Acero."""
    assert filters_over_scan(session, Q6_LIKE) == 2
    check(session, dated, Q6_LIKE)
    check(session, dated, "select d, count(*) from li where d < date '1992-03-01' "
                          "group by d order by d")


def test_error_in_a_scan_filter_is_reported_in_sql_words(session, dated):
    from kodiak_flight.sql.errors import ExecutionError

    for sql in ("select count(*) from li where 10 // den = 3",
                "select count(*) from li where d < date '1993-01-01' and 10 // den > 1"):
        with pytest.raises(ExecutionError, match="division by zero"):
            session.execute(sql).reader.read_all()


def test_condition_that_can_raise_keeps_its_own_filter(session, dated):
    # 10 / den raises on den = 0, which only rows outside the quarter hold: the date filter
    # (on the scan's batches) must run first
    for con in (session, dated):
        con.execute("create table li2 as select d, qty, price, disc, "
                    "case when d >= date '1994-01-01' and d < date '1994-04-01' "
                    "then den + 1 else 0 end as den from li")
    sql = """select count(*) as n, sum(qty) from li2
             where d >= date '1994-01-01' and d < date '1994-04-01' and 10 // den > 4"""
    assert filters_over_scan(session, sql) == 2
    check(session, dated, sql)


def test_decimal_avg_is_its_sum_over_its_count(session, dated):
    """avg of a decimal column divides its exact sum, shared with the query's own sum of
    it (TPC-H Q1), by its count: NULLs, FILTER and groups without values as DuckDB."""
    for con in (session, dated):
        con.execute("create table dn as select den, case when den = 1 then null else qty "
                    "end as qty, disc from li")
    sql = """select den, sum(qty), avg(qty), avg(disc), avg(qty) filter (where disc > 0.05),
                    count(*) from dn group by den order by den"""
    plan = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
    agg = next(ln for ln in plan if "Aggregate" in ln)
    assert "avg(" not in agg and agg.count("sum(") == 3, agg
    check(session, dated, sql)
    check(session, dated, "select avg(qty), avg(disc) from dn where den > 5")
    check(session, dated, "select den, avg(qty) from dn where den = 1 group by den")
