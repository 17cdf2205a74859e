"""A prepared query keeps its *optimised* plan (``plancache.planned``): later executions copy
it with their values and neither bind nor optimise, and stay correct when the values, the
rows or the table change."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from kodiak_flight.sql import plancache
from kodiak_flight.sql.errors import SqlError
from kodiak_flight.sql.functions.operators import MAX_PARAM_IN


def params(*values, types=None):
    arrays = [pa.array([v], type=(types[i] if types else None)) for i, v in enumerate(values)]
    return pa.table(arrays, names=[f"${i + 1}" for i in range(len(values))])


def run(p, *values, types=None):
    r = p.execute(params(*values, types=types))
    return r.table if r.table is not None else r.reader.read_all()


@pytest.fixture(params=["keyless", "keyed"])
def orders(request, session):
    """A table looked up by ``k``: through a secondary index (keyless) or its primary key."""
    key = " primary key" if request.param == "keyed" else ""
    session.execute(f"create table o (k bigint{key}, a int, s varchar)")
    ks = list(range(0, 3000, 3))
    session.db.insert("o", pa.table({"k": pa.array(ks, pa.int64()),
                                     "a": pa.array([k % 7 for k in ks], pa.int32()),
                                     "s": [f"s{k}" for k in ks]}))
    if not key:
        session.execute("create index o_k on o (k)")
    return session


def row(k):
    return {"k": k, "a": k % 7, "s": f"s{k}"}


def test_later_executions_neither_bind_nor_optimise(orders, binds, optimizes):
    p = orders.prepare("select * from o where k = ?")
    binds.clear()
    assert run(p, 3).to_pylist() == [row(3)]
    # the first execution optimises twice: its own plan, and the plan kept with $1 in it
    assert (len(binds), len(optimizes)) == (1, 2)
    for k in (0, 2997, 300, 3):
        assert run(p, k).to_pylist() == [row(k)]
    assert run(p, 4).num_rows == 0  # not present
    assert run(p, -1).num_rows == 0
    assert (len(binds), len(optimizes)) == (1, 2)
    tpl = next(iter(p._templates.values()))
    assert list(tpl.optimized) == [(False,)] and tpl.optimized[(False,)] is not None


def test_null_is_planned_apart_and_matches_nothing(orders, optimizes):
    p = orders.prepare("select * from o where k = ?")
    assert run(p, 6).to_pylist() == [row(6)]
    n = len(optimizes)
    assert run(p, None, types=[pa.int64()]).num_rows == 0
    assert run(p, None, types=[pa.int64()]).num_rows == 0
    assert len(optimizes) == n + 2  # once for the NULL pattern, then kept
    assert run(p, 9).to_pylist() == [row(9)]
    assert len(optimizes) == n + 2
    tpl = next(iter(p._templates.values()))
    assert set(tpl.optimized) == {(False,), (True,)}


def test_the_kept_plan_is_not_changed_by_an_execution(orders):
    p = orders.prepare("select * from o where k = ?")
    run(p, 3)
    form = next(iter(p._templates.values())).optimized[(False,)]
    before = plancache._shape(form.plan)
    one, two = form.instance([12]), form.instance([15])
    assert one.input.predicate.value == 12 and two.input.predicate.value == 15
    assert plancache._shape(form.plan) == before  # still $1
    assert "$1" in str(form.plan.input.predicate)


def test_rows_written_between_executions_are_seen(orders):
    p = orders.prepare("select * from o where k = ?")
    assert run(p, 4).num_rows == 0
    orders.execute("insert into o values (4, 4, 'four')")
    assert run(p, 4).to_pylist() == [{"k": 4, "a": 4, "s": "four"}]
    orders.execute("update o set s = 'changed' where k = 3")
    assert run(p, 3).to_pylist() == [{"k": 3, "a": 3, "s": "changed"}]
    orders.execute("delete from o where k = 6")
    assert run(p, 6).num_rows == 0
    orders.begin()
    orders.execute("delete from o where k = 9")
    assert run(p, 9).num_rows == 0  # the transaction's own snapshot
    orders.rollback()
    assert run(p, 9).to_pylist() == [row(9)]


def test_a_changed_table_is_planned_again(orders, optimizes):
    p = orders.prepare("select * from o where k = ?")
    assert run(p, 3).to_pylist() == [row(3)]
    orders.execute("alter table o add column z double default 1.5")
    n = len(optimizes)
    assert run(p, 3).to_pylist() == [{**row(3), "z": 1.5}]
    assert len(optimizes) == n + 2  # bound and optimised again for the new catalog
    orders.execute("alter table o drop column a")
    assert run(p, 6).to_pylist() == [{"k": 6, "s": "s6", "z": 1.5}]
    orders.execute("drop table o")
    with pytest.raises(SqlError):
        run(p, 3)


def test_an_index_created_or_dropped_between_executions(session, optimizes):
    session.execute("create table t (k bigint, v varchar)")
    session.execute("insert into t values (1, 'a'), (2, 'b'), (2, 'c')")
    p = session.prepare("select v from t where k = ? order by v")
    assert run(p, 2).column(0).to_pylist() == ["b", "c"]
    session.execute("create index t_k on t (k)")
    assert run(p, 2).column(0).to_pylist() == ["b", "c"]
    assert run(p, 1).column(0).to_pylist() == ["a"]
    session.execute("drop index t_k")
    assert run(p, 2).column(0).to_pylist() == ["b", "c"]
    assert run(p, 3).column(0).to_pylist() == []


def test_a_plan_that_reads_a_value_is_optimised_each_time(orders, optimizes):
    # a decimal constant in arithmetic is read to keep the sum in int64s (integer_decimals)
    p = orders.prepare("select sum(cast(a as decimal(10,2)) * ?) as x from o where k < ?")
    dec = [pa.decimal128(4, 1), None]
    assert run(p, Decimal("1.5"), 9, types=dec).column(0).to_pylist() == [Decimal("13.50")]
    n = len(optimizes)
    assert run(p, Decimal("2.0"), 12, types=dec).column(0).to_pylist() == [Decimal("22.0")]
    assert run(p, Decimal("0.5"), 0, types=dec).column(0).to_pylist() == [None]
    assert len(optimizes) == n + 2
    assert list(next(iter(p._templates.values())).optimized.values()) == [None]


def test_a_parameter_in_the_select_list_keeps_the_plan(orders, optimizes):
    # expressions are told apart by a parameter's position, not its value (shared
    # subexpressions, OR factoring): the plan is the same for every value
    p = orders.prepare("select a + ? as x, a + ? as y from o where k = ?")
    assert run(p, 1, 2, 3).to_pylist() == [{"x": 4, "y": 5}]
    n = len(optimizes)
    assert run(p, 10, 20, 6).to_pylist() == [{"x": 16, "y": 26}]
    assert run(p, 5, 5, 9).to_pylist() == [{"x": 7, "y": 7}]
    assert run(p, 0, 0, 7).num_rows == 0
    assert len(optimizes) == n


def keys_of(t):
    return sorted(t.column("k").to_pylist())


def test_an_in_list_of_parameters_keeps_its_plan(orders, binds, optimizes):
    p = orders.prepare("select * from o where k in (?, ?, ?) order by k")
    binds.clear()
    assert keys_of(run(p, 3, 9, 4)) == [3, 9]
    assert (len(binds), len(optimizes)) == (1, 2)
    form = next(iter(p._templates.values())).optimized[(False, False, False)]
    assert "In(column='k', values=($1, $2, $3))" in str(form.plan)  # the key or index
    for values, want in (((0, 2997, 6), [0, 6, 2997]), ((6, 6, 6), [6]), ((1, 2, 4), []),
                         ((-3, 3000, 30), [30])):
        assert keys_of(run(p, *values)) == want, values
    assert (len(binds), len(optimizes)) == (1, 2)
    assert keys_of(run(p, 3, None, 6, types=[None, pa.int64(), None])) == [3, 6]
    assert keys_of(run(p, None, None, None, types=[pa.int64()] * 3)) == []


def test_equalities_joined_by_or_use_the_key(orders):
    plan = orders.execute("explain select * from o where k = 3 or k = 9 or k in (12, 15)")
    text = " ".join(plan.reader.read_all().column(0).to_pylist())
    assert "In(column='k', values=(3, 9, 12, 15))" in text
    p = orders.prepare("select * from o where k = ? or k = ?")
    assert keys_of(run(p, 9, 3)) == [3, 9]
    assert keys_of(run(p, 9, 9)) == [9]
    p = orders.prepare("select * from o where k = ? or a = ?")  # two columns: a plain OR
    assert keys_of(run(p, 9, 1)) == [9] + [k for k in range(0, 3000, 3) if k % 7 == 1]


def test_a_long_in_list_of_parameters(orders, optimizes):
    # past MAX_PARAM_IN the list is read per execution, as one set lookup
    n = MAX_PARAM_IN + 36
    p = orders.prepare(f"select count(*) as n from o where k in ({', '.join('?' * n)})")
    assert run(p, *range(n)).column(0).to_pylist() == [len(range(0, n, 3))]
    assert run(p, *range(1, 2 * n, 2)).column(0).to_pylist() == [len(range(3, 2 * n, 6))]
    q = orders.prepare("select count(*) as n from o where k not in (" + ", ".join("?" * 5) + ")")
    assert run(q, 0, 3, 6, 7, 8).column(0).to_pylist() == [997]


def test_ranges_with_parameters(orders):
    p = orders.prepare("select count(*) as n from o where k >= ? and k < ?")
    for lo, hi in ((0, 10), (10, 0), (2990, 5000), (-5, 0), (3, 4)):
        want = sum(1 for k in range(0, 3000, 3) if lo <= k < hi)
        assert run(p, lo, hi).column(0).to_pylist() == [want], (lo, hi)


def test_a_cast_parameter_whose_folding_depends_on_the_value(orders):
    # a string compared with a BIGINT key is cast: 'abc' cannot be, '3' can (and is then
    # pushed into the engine); the plan of the first may not serve the second
    p = orders.prepare("select * from o where k = ?")
    with pytest.raises(SqlError, match="could not convert string 'abc' to BIGINT"):
        run(p, "abc")
    assert run(p, "3").to_pylist() == [row(3)]
    tpl = p._templates[(pa.string(),)]
    assert list(tpl.optimized.values()) == [None]
    assert run(p, " 12 ").to_pylist() == [row(12)]


def test_an_int_parameter_against_a_bigint_key_keeps_the_engine_probe(orders, optimizes):
    p = orders.prepare("select * from o where k = ?")
    assert run(p, 3, types=[pa.int32()]).to_pylist() == [row(3)]
    n = len(optimizes)
    assert run(p, 2997, types=[pa.int32()]).to_pylist() == [row(2997)]
    assert len(optimizes) == n
    form = p._templates[(pa.int32(),)].optimized[(False,)]
    assert form.plan.input.predicate is not None  # the key, not a filter over every row


def test_a_type_that_cannot_compare_is_a_clear_error(orders):
    p = orders.prepare("select * from o where k = ?")
    assert run(p, 3).to_pylist() == [row(3)]
    with pytest.raises(SqlError, match="cannot combine comparison = of types BIGINT and "
                                          "BOOLEAN"):
        run(p, True)
    assert run(p, 6).to_pylist() == [row(6)]
