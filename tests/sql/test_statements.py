"""DDL, DML, transactions, parameters, errors and EXPLAIN through Session."""

from __future__ import annotations

import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import (
    BindError,
    NotSupportedError,
    ParseError,
    Session,
    SqlTypeError,
    TransactionError,
)


def rows(session: Session, sql: str, params=None) -> list[tuple]:
    t = session.execute(sql, params).reader.read_all()
    return [tuple(r.values()) for r in t.to_pylist()]


def test_create_insert_select(session):
    session.execute("create table t (a int primary key, b varchar not null default 'x', "
                    "c decimal(10,2), d date, unique (c))")
    assert session.execute("insert into t (a, c) values (1, 1.5), (2, 2.5)").rowcount == 2
    assert session.execute("insert into t values (3, 'z', null, date '2020-01-02')"
                           ).rowcount == 1
    from decimal import Decimal
    assert rows(session, "select a, b, c from t order by a") == [
        (1, "x", Decimal("1.50")), (2, "x", Decimal("2.50")), (3, "z", None)]
    info = session.db.snapshot().table("t")
    assert info.primary_key == ("a",)
    assert info.defaults["b"] == "x"
    assert rows(session, "select count(*) from t") == [(3,)]


def test_create_if_not_exists_and_drop(session):
    session.execute("create table t (a int)")
    session.execute("create table if not exists t (a int)")
    with pytest.raises(engine.errors.AlreadyExists):
        session.execute("create table t (a int)")
    session.execute("drop table t")
    session.execute("drop table if exists t")
    with pytest.raises(BindError):
        session.execute("drop table t")


def test_ctas_and_insert_select(session):
    session.execute("create table src as select 1 as a, 'x' as b union all select 2, 'y'")
    session.execute("create table dst (a bigint, b varchar)")
    assert session.execute("insert into dst select a * 10, b from src").rowcount == 2
    assert session.execute("insert into dst (b, a) select b, a from src where a = 1"
                           ).rowcount == 1
    assert sorted(rows(session, "select a, b from dst")) == [(1, "x"), (10, "x"), (20, "y")]


def test_update_delete_rowcounts(session):
    session.execute("create table t (a int primary key, b int)")
    session.execute("insert into t values (1, 10), (2, 20), (3, 30), (4, null)")
    assert session.execute("update t set b = b + 1 where a >= 2").rowcount == 3
    assert sorted(rows(session, "select * from t")) == [(1, 10), (2, 21), (3, 31), (4, None)]
    assert session.execute("update t set b = 0 where b in (select b from t where b > 30)"
                           ).rowcount == 1
    assert session.execute("delete from t where b is null").rowcount == 1
    assert session.execute("delete from t where a = 1 or b = 0").rowcount == 2
    assert rows(session, "select * from t") == [(2, 21)]
    assert session.execute("delete from t").rowcount == 1


def test_upsert(session):
    session.execute("create table t (k int primary key, v varchar)")
    session.execute("insert into t values (1, 'a'), (2, 'b')")
    session.execute("insert into t values (2, 'B'), (3, 'c') on conflict do nothing")
    assert sorted(rows(session, "select * from t")) == [(1, "a"), (2, "b"), (3, "c")]
    session.execute("insert into t values (1, 'A'), (4, 'd') on conflict (k) do update "
                    "set v = excluded.v")
    assert sorted(rows(session, "select * from t")) == [(1, "A"), (2, "b"), (3, "c"),
                                                        (4, "d")]
    with pytest.raises(engine.errors.ConstraintError):
        session.execute("insert into t values (1, 'dup')")


def test_alter_table(session):
    session.execute("create table t (a int, b int)")
    session.execute("insert into t values (1, 2)")
    session.execute("alter table t add column c varchar default 'q'")
    assert rows(session, "select * from t") == [(1, 2, "q")]
    session.execute("alter table t drop column b")
    session.execute("alter table t rename column a to z")
    session.execute("alter table t rename to t2")
    assert rows(session, "select z, c from t2") == [(1, "q")]


def test_index_and_schema(session):
    session.execute("create table t (a int, b int)")
    session.execute("create unique index t_a on t (a)")
    assert "t_a" in session.db.snapshot().table("t").indexes
    session.execute("drop index t_a")
    assert "t_a" not in session.db.snapshot().table("t").indexes
    session.execute("create schema s")
    session.execute("create table s.x (a int)")
    session.execute("insert into s.x values (5)")
    assert rows(session, "select * from s.x") == [(5,)]
    session.schema = "s"
    assert rows(session, "select * from x") == [(5,)]


def test_transactions(session, db):
    session.execute("create table t (a int)")
    session.execute("begin")
    assert session.in_transaction
    session.execute("insert into t values (1)")
    assert rows(session, "select count(*) from t") == [(1,)]  # sees its own writes
    assert Session(db).execute("select count(*) from t").reader.read_all().column(0)[0] \
        .as_py() == 0
    session.execute("rollback")
    assert rows(session, "select count(*) from t") == [(0,)]
    session.begin()
    session.execute("insert into t values (2)")
    session.commit()
    assert rows(session, "select a from t") == [(2,)]
    with pytest.raises(TransactionError):
        session.commit()
    session.execute("begin transaction")
    session.execute("insert into t values (3)")
    session.close()  # rolls back
    assert rows(Session(db), "select a from t") == [(2,)]


def test_failed_statement_rolls_back_autocommit(session):
    session.execute("create table t (a int primary key)")
    with pytest.raises(engine.errors.ConstraintError):
        session.execute("insert into t values (1), (1)")
    assert rows(session, "select count(*) from t") == [(0,)]


def test_parameters(session):
    session.execute("create table t (a int, b varchar)")
    p = session.prepare("insert into t values (?, ?)")
    assert p.is_update
    assert p.parameter_schema.types == [pa.int32(), pa.string()]
    assert p.execute(pa.record_batch({"a": [1, 2, 3], "b": ["x", "y", None]})).rowcount == 3
    q = session.prepare("select b from t where a >= $1 and a < $2 order by a")
    assert not q.is_update
    assert q.dataset_schema.names == ["b"]
    assert len(q.parameter_schema) == 2
    res = q.execute(pa.record_batch({"p1": [2], "p2": [10]}))
    assert res.reader.read_all().column(0).to_pylist() == ["y", None]
    assert rows(session, "select a + ? from t where b = ?",
                pa.record_batch({"x": [100], "y": ["x"]})) == [(101,)]
    u = session.prepare("update t set b = ? where a = ?")
    assert u.execute(pa.record_batch({"b": ["z", "w"], "a": [1, 2]})).rowcount == 2
    # a quote in a parameter is data, never SQL
    session.execute("insert into t values (?, ?)", pa.record_batch({"a": [9], "b": ["'; drop"]}))
    assert rows(session, "select b from t where a = 9") == [("'; drop",)]


def test_parse_error_position(session):
    with pytest.raises(ParseError) as ei:
        session.execute("select a,\nfrom t where")
    assert ei.value.line is not None and ei.value.column is not None
    assert "line" in str(ei.value)


def test_unknown_names_suggest(session):
    session.execute("create table orders (o_orderkey int, o_custkey int)")
    with pytest.raises(BindError, match="orders"):
        session.execute("select * from order")
    with pytest.raises(BindError, match="o_custkey"):
        session.execute("select o_custkye from orders")
    with pytest.raises(BindError, match="GROUP BY"):
        session.execute("select o_custkey, count(*) from orders group by o_orderkey")


def test_type_errors_name_operands(session):
    session.execute("create table t (a int, s varchar, d date)")
    with pytest.raises(SqlTypeError, match="VARCHAR"):
        session.execute("select a + s from t")
    with pytest.raises(SqlTypeError, match="DATE"):
        session.execute("select d * 2 from t")


def test_not_supported_is_explicit(session):
    with pytest.raises(NotSupportedError):
        session.execute("select * from glob('*.csv')")  # a table function not provided
    with pytest.raises(NotSupportedError):
        session.execute("select 1 as a from (select 1) s right join lateral (select 1) l on true")


def test_explain(session):
    session.execute("create table t (a int, b varchar)")
    r = session.execute("explain select b from t where a = 1 and b like 'x%'")
    text = "\n".join(r.reader.read_all().column("plan").to_pylist())
    assert "Scan main.t" in text and "predicate" in text and "Filter" in text


def test_streams_batches(session):
    session.execute("create table big as select 1 as a")
    res = session.execute("select * from big")
    assert res.rowcount == -1 and isinstance(res.reader, pa.RecordBatchReader)


def test_temporary_tables(db):
    from kodiak_flight.sql import Session
    a, b = Session(db), Session(db)
    a.execute("create table t (x int)")
    a.execute("insert into t values (1)")
    a.execute("create temp table t (x int, y varchar)")
    a.execute("insert into t values (2, 'two')")
    assert rows(a, "select x from t") == [(2,)]  # the temporary table shadows main.t
    assert rows(a, "select x from main.t") == [(1,)]
    assert rows(b, "select * from t") == [(1,)]  # other sessions never see it
    with pytest.raises(BindError, match="does not exist"):
        b.execute("select * from temp.t")
    a.execute("create temporary table u as select x * 10 as z from main.t")
    assert rows(a, "from temp.u") == [(10,)]
    with pytest.raises(BindError, match="schema"):
        a.execute("create temp table main.v (x int)")
    a.execute("drop table u")
    assert rows(a, "select count(*) from t") == [(1,)]
    a.begin()
    a.execute("create temp table w (x int)")
    a.rollback()  # transactional like any other table
    with pytest.raises(BindError):
        a.execute("select * from w")
    before = set(db.snapshot().tables())
    assert any(n.startswith("kodiak_temp.") for n in before)
    a.close()
    assert not any(n.startswith("kodiak_temp.") for n in db.snapshot().tables())
    assert rows(b, "select * from t") == [(1,)]
    b.close()
