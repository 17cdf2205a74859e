"""Prepared queries reuse their bound plan (``plancache``) and stay correct while doing so."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from kodiak_flight.sql.errors import BindError, ParameterError

from .harness import thousand_rows


def params(*values, types=None):
    arrays = [pa.array([v], type=(types[i] if types else None)) for i, v in enumerate(values)]
    return pa.record_batch(arrays, names=[f"p{i}" for i in range(len(values))])


def run(p, *values, types=None):
    return p.execute(params(*values, types=types) if values else None).reader.read_all()


@pytest.fixture
def keyed(session):
    return thousand_rows(session, "create table t (id bigint primary key, a int, s varchar)")


def test_lookup_binds_once_and_answers_each_value(keyed, binds):
    p = keyed.prepare("select id, a, s from t where id = ?")
    binds.clear()
    for k in (5, 999, 0, 123):
        assert run(p, k).to_pylist() == [{"id": k, "a": k % 7, "s": f"s{k}"}]
    assert run(p, 5000).num_rows == 0
    assert run(p, None, types=[pa.int64()]).num_rows == 0  # id = NULL matches nothing
    assert len(binds) == 1
    assert len(p._templates) == 1


def test_non_key_filters_and_expressions(keyed, binds):
    p = keyed.prepare("select count(*) as n, sum(a + ?) as t from t where a = ? and s >= ?")
    binds.clear()
    for bump, a, low in ((0, 3, "s1"), (10, 0, ""), (1, 6, "s99")):
        expected = [i for i in range(1000) if i % 7 == a and f"s{i}" >= low]
        got = run(p, bump, a, low).to_pylist()[0]
        assert got == {"n": len(expected), "t": sum(i % 7 + bump for i in expected) or None}
    assert len(binds) == 1


def test_other_parameter_types_bind_again(keyed, binds):
    p = keyed.prepare("select ? as v")
    binds.clear()
    assert run(p, 1).column(0).to_pylist() == [1]
    assert run(p, "x").column(0).to_pylist() == ["x"]
    assert run(p, 2).column(0).to_pylist() == [2]
    assert run(p, "y").column(0).to_pylist() == ["y"]
    assert len(binds) == 2
    assert run(p, 1.5).column(0).type == pa.float64()


def test_catalog_change_binds_again(keyed, binds):
    p = keyed.prepare("select * from t where id = ?")
    assert run(p, 1).column_names == ["id", "a", "s"]
    keyed.execute("alter table t add column b double default 2.5")
    assert run(p, 1).to_pylist() == [{"id": 1, "a": 1, "s": "s1", "b": 2.5}]
    keyed.execute("alter table t drop column a")
    assert run(p, 1).column_names == ["id", "s", "b"]
    keyed.execute("drop table t")
    with pytest.raises(BindError):
        run(p, 1)


def test_view_change_binds_again(keyed):
    keyed.execute("create view v as select id from t where a = 1")
    p = keyed.prepare("select count(*) from v where id < ?")
    assert run(p, 100).column(0).to_pylist() == [15]  # 1, 8, ..., 99
    keyed.execute("drop view v")
    keyed.execute("create view v as select id from t where a = 2")
    assert run(p, 100).column(0).to_pylist() == [14]
    assert run(p, 10).column(0).to_pylist() == [2]  # 2 and 9


def test_current_schema_is_part_of_the_key(session):
    session.execute("create schema other")
    session.execute("create table t (x int)")
    session.execute("create table other.t (x int)")
    session.execute("insert into t values (1)")
    session.execute("insert into other.t values (2), (3)")
    p = session.prepare("select count(*) from t where x > ?")
    assert run(p, 0).column(0).to_pylist() == [1]
    session.execute("use other")
    assert run(p, 0).column(0).to_pylist() == [2]


def test_value_dependent_plans_are_not_reused(keyed, binds):
    p = keyed.prepare("select id from t order by id limit ?")
    binds.clear()
    assert run(p, 2).column(0).to_pylist() == [0, 1]
    assert run(p, 3).column(0).to_pylist() == [0, 1, 2]
    assert len(binds) == 2 and not p._templates
    q = keyed.prepare("select id from t where id in (?, ?) order by id")
    assert run(q, 3, 4).column(0).to_pylist() == [3, 4]
    assert run(q, 7, 8).column(0).to_pylist() == [7, 8]
    like = keyed.prepare("select count(*) from t where s like ?")  # the pattern is an option
    assert like.parameter_schema.types == [pa.string()]
    assert run(like, "s99%").column(0).to_pylist() == [11]
    assert run(like, "s1_").column(0).to_pylist() == [10]
    assert run(like, None, types=[pa.string()]).column(0).to_pylist() == [0]


def test_now_is_evaluated_per_execution(session, binds):
    p = session.prepare("select current_timestamp as t, ? as k")
    binds.clear()
    first = run(p, 1).column("t")[0].as_py()
    time.sleep(0.01)
    second = run(p, 1).column("t")[0].as_py()
    assert second > first
    assert len(binds) == 2


def test_rows_written_after_prepare_are_seen(keyed):
    p = keyed.prepare("select count(*) from t where a = ?")
    assert run(p, 0).column(0).to_pylist() == [143]
    keyed.execute("insert into t values (5000, 0, 'new')")
    assert run(p, 0).column(0).to_pylist() == [144]
    keyed.begin()
    keyed.execute("delete from t where a = 0")
    assert run(p, 0).column(0).to_pylist() == [0]  # the transaction's own snapshot
    keyed.rollback()
    assert run(p, 0).column(0).to_pylist() == [144]


def test_subqueries_and_joins_reuse(keyed, binds):
    p = keyed.prepare("select count(*) from t x join t y on x.id = y.id + ? "
                      "where x.a = (select max(a) from t where id < ?)")
    binds.clear()
    for off, lim in ((1, 10), (3, 5), (0, 1000)):
        m = max(i % 7 for i in range(lim)) if lim else None
        expected = sum(1 for i in range(1000) if i - off >= 0 and i % 7 == m)
        assert run(p, off, lim).column(0).to_pylist() == [expected]
    assert len(binds) == 1


def test_missing_parameter_is_an_error(keyed):
    p = keyed.prepare("select * from t where id = ? and a = ?")
    with pytest.raises(ParameterError):
        run(p, 1)


def test_preparing_the_same_text_again_reuses_the_statement(keyed, binds):
    sql = "select a from t where id = ?"
    p = keyed.prepare(sql)
    assert run(p, 8).column(0).to_pylist() == [1]
    binds.clear()
    again = keyed.prepare(sql)
    assert again is p
    assert run(again, 9).column(0).to_pylist() == [2]
    assert not binds  # neither prepared nor bound again
    keyed.execute("alter table t add column z int")
    fresh = keyed.prepare(sql)
    assert fresh is not p and run(fresh, 9).column(0).to_pylist() == [2]
    keyed.execute("create schema other")
    keyed.execute("create table other.t (id bigint, a int)")
    keyed.execute("use other")
    assert keyed.prepare(sql) is not fresh


def test_kept_result_names_follow_alter_table(keyed):
    # the result schema is kept per plan template and input schema (executor.named_schema):
    # a column added, renamed or dropped is seen by the next execution
    p = keyed.prepare("select * from t where id = ?")
    assert run(p, 5).to_pylist() == [{"id": 5, "a": 5, "s": "s5"}]
    keyed.execute("alter table t add column z double")
    assert run(p, 5).to_pylist() == [{"id": 5, "a": 5, "s": "s5", "z": None}]
    keyed.execute("alter table t rename column a to b")
    assert run(p, 6).to_pylist() == [{"id": 6, "b": 6, "s": "s6", "z": None}]
    keyed.execute("alter table t drop column s")
    assert run(p, 7).to_pylist() == [{"id": 7, "b": 0, "z": None}]


def test_named_schema_memo_tells_input_schemas_apart():
    from kodiak_flight.sql.executor.core import NamedMemo

    memo = NamedMemo(size=2)
    names = [pa.field("x", pa.int64(), metadata={"origin": "t.x"})]
    a = memo(names, pa.schema([("c", pa.int64())]), keep=True)
    b = memo(names, pa.schema([("c", pa.string())]), keep=True)
    c = memo(names, pa.schema([pa.field("c", pa.int64(), nullable=False)]), keep=True)
    assert (a.field("x").type, b.field("x").type) == (pa.int64(), pa.string())
    assert a.field("x").nullable and not c.field("x").nullable
    assert a.field("x").metadata == {b"origin": b"t.x"}
    assert memo(names, pa.schema([("c", pa.string())]), keep=True) is b  # kept
    other = [pa.field("y", pa.int64())]  # another list: never another list's schema
    assert memo(other, pa.schema([("c", pa.int64())]), keep=True).names == ["y"]
    assert memo(names, pa.schema([("c", pa.int64())]), keep=False).field("x").nullable
    assert len(memo.entries) == 2  # bounded
