"""An inner join hashes the side that turned out smaller once part of the plan below it ran.

The optimizer orders joins by estimates, and a HAVING filter's selectivity is a guess: in
TPC-H Q18 the orders whose lines sum to over 300 are 57 of 1.5 M at SF1, guessed at 30%.
So it put those orders on the probe side of the join with ``customer`` and hashed the
customers (1.5 M at SF10). The aggregate and its filter run into a table before the joins
above them are built, and ``executor.join.build_left`` then sees the real count.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql.executor import join as join_mod

from .harness import check, duck_twin

N_CUST, N_ORD, LINES = 3_000, 12_000, 4

Q18_LIKE = """
select c_name, o_key, o_price, sum(l_qty) as qty
from cust, ord, li
where o_key in (select l_key from li group by l_key having sum(l_qty) > 195)
  and c_key = o_cust and o_key = l_key
group by c_name, o_key, o_price
order by o_price desc, o_key
"""


@pytest.fixture
def duck(session):
    rng = np.random.default_rng(11)
    okeys = np.arange(N_ORD, dtype=np.int64)
    qty = rng.integers(1, 50, N_ORD * LINES)
    qty[:LINES * 5] = 49  # the first 5 orders sum to 196: the only ones over 195
    tables = {
        "cust": pa.table({"c_key": np.arange(N_CUST, dtype=np.int64),
                          "c_name": [f"c{i}" for i in range(N_CUST)]}),
        "ord": pa.table({"o_key": okeys, "o_cust": rng.integers(0, N_CUST + 10, N_ORD),
                         "o_price": rng.integers(0, 10_000, N_ORD)}),
        "li": pa.table({"l_key": np.repeat(okeys, LINES), "l_qty": qty}),
    }
    return duck_twin(session.db, tables)


@pytest.fixture
def swaps(monkeypatch):
    """The inner joins that hashed their left input, by their left keys."""
    seen = []
    real = join_mod.swapped_inner_join

    def spy(node, *args):
        seen.append(node)
        return real(node, *args)

    monkeypatch.setattr(join_mod, "swapped_inner_join", spy)
    return seen


def test_filtered_aggregate_side_is_hashed(session, duck, swaps):
    got = check(session, duck, Q18_LIKE)
    assert got and len(got) <= 5
    assert swaps, "the customers were hashed although a handful of orders qualified"


def test_no_swap_without_a_part_run_below(session, duck, swaps):
    check(session, duck, "select count(*), sum(l_qty) from ord, li where o_key = l_key "
                         "and o_price < 100")
    assert not swaps  # nothing ran before the join: the optimizer's choice stands


def test_swapped_join_keeps_residual_columns_and_nulls(session, duck, swaps):
    sql = """
    select c_name, o_key, o_price
    from cust join (select o_key, o_cust, o_price from ord
                    where o_key in (select l_key from li group by l_key
                                    having sum(l_qty) > 195)) o
      on c_key = o_cust and o_price > c_key - 10000
    order by o_key"""
    check(session, duck, sql)
    assert swaps
