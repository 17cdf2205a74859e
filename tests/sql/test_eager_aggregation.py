"""The eager-aggregation rule (``optimizer.eager_aggregation``): an aggregation over a join
whose other side folds by the join key aggregates that side first (TPC-H Q13). Answers
equal DuckDB's, with NULL keys and values, keys missing on either side, duplicate keys on
the kept side, LEFT and inner joins; the plan has the aggregate below the join only where
the rule applies."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from .harness import check, load

N = 6_000


@pytest.fixture
def duck(session):
    rng = np.random.default_rng(13)
    ck = rng.integers(0, 300, N).astype(object)  # keys 200..299 have no customer
    ck[::97] = None  # NULL keys match nothing
    amount = [None if i % 11 == 0 else f"{x:.2f}" for i, x in
              enumerate(rng.uniform(1, 100, N))]
    orders = pa.table({
        "o_key": pa.array(range(N), pa.int64()),
        "o_ck": pa.array(ck.tolist(), pa.int64()),
        "o_amount": pa.array(amount, pa.string()).cast(pa.decimal128(15, 2)),
        "o_note": pa.array([None if i % 13 == 0 else f"n{i % 7}" for i in range(N)]),
        "o_comment": ["special requests" if i % 5 == 0 else "plain" for i in range(N)]})
    # customer keys 0..399 (250..399 have no orders), 5 and 7 twice, one NULL key
    keys = list(range(400)) + [5, 7, None]
    cust = pa.table({"c_ck": pa.array(keys, pa.int64()),
                     "c_seg": [f"s{i % 3}" if i is not None else None for i in
                               [k if k is not None else 0 for k in keys]]})
    con = duckdb.connect()
    for name, t in (("orders", orders), ("cust", cust)):
        load(session.db, name, t)
        con.register(name, t)
    return con


def plan_lines(session, sql: str) -> list[str]:
    return session.execute("explain " + sql).reader.read_all().column(0).to_pylist()


def aggregate_below_join(session, sql: str) -> bool:
    """Whether an Aggregate sits under a Join in ``sql``'s plan."""
    lines = plan_lines(session, sql)
    for k, line in enumerate(lines):
        if line.lstrip().startswith("Join"):
            depth = len(line) - len(line.lstrip())
            for below in lines[k + 1:]:
                if len(below) - len(below.lstrip()) <= depth:
                    break
                if below.lstrip().startswith("Aggregate"):
                    return True
    return False


Q13 = """select c_count, count(*) as custdist from (
           select c_ck, count(o_key) from cust left outer join orders
             on c_ck = o_ck and o_comment not like '%special%requests%'
           group by c_ck) as c_orders (c_ck, c_count)
         group by c_count order by custdist desc, c_count desc"""

REWRITTEN = [
    Q13,
    "select c_ck, count(o_key), count(*), count(o_amount), sum(o_amount), min(o_amount), "
    "max(o_note) from cust left join orders on c_ck = o_ck group by c_ck",
    "select c_seg, count(o_amount), count(*), sum(o_amount), max(o_amount) "
    "from cust left join orders on c_ck = o_ck group by c_seg",
    "select c_ck, c_seg, count(*), sum(o_amount), min(o_note) "
    "from cust join orders on c_ck = o_ck group by c_ck, c_seg",
    "select c_seg, count(o_note), sum(o_amount) from orders join cust on o_ck = c_ck "
    "group by c_seg",
    # a decimal's avg is its sum over its count
    "select c_ck, avg(o_amount) from cust left join orders on c_ck = o_ck group by c_ck",
]

KEPT = [  # aggregates the rule does not split: no aggregate goes below the join
    "select c_ck, stddev_samp(o_key) from cust left join orders on c_ck = o_ck group by c_ck",
    "select c_ck, count(distinct o_note) from cust left join orders on c_ck = o_ck "
    "group by c_ck",
    "select o_note, count(*) from cust left join orders on c_ck = o_ck group by o_note",
]


@pytest.mark.parametrize("sql", REWRITTEN)
def test_rewritten_answers_as_duckdb(session, duck, sql):
    assert aggregate_below_join(session, sql), "\n".join(plan_lines(session, sql))
    check(session, duck, sql)


@pytest.mark.parametrize("sql", KEPT)
def test_kept_answers_as_duckdb(session, duck, sql):
    assert not aggregate_below_join(session, sql), "\n".join(plan_lines(session, sql))
    check(session, duck, sql)


def test_left_join_hashes_the_reduced_side(session, duck):
    """The reduced side is the smaller one now: the LEFT JOIN hashes it and probes with the
    kept side (hashing the kept side emits its unmatched rows in hash-table order, which the
    aggregation above groups slowly)."""
    sql = "select c_ck, count(o_key) from cust left join orders on c_ck = o_ck group by c_ck"
    joins = [x for x in plan_lines(session, sql) if x.lstrip().startswith("Join")]
    assert joins and "build=left" not in joins[0], joins
