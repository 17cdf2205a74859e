"""INSERT / UPDATE / DELETE ... RETURNING through Session, against DuckDB."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from kodiak_flight.sql import NotSupportedError, ParameterError

SETUP = [
    "create table t (id integer primary key, v double, w varchar default 'dflt')",
    "create table u (id integer, tag varchar)",
    "insert into u values (1, 'x'), (3, 'y')",
]

STATEMENTS = [
    "insert into t (id, v) values (1, 1.5), (2, 2.5), (3, null) returning *",
    "insert into t values (4, 4.0, 'q') returning id * 10 as tens, w",
    "insert into t select id + 10, null, tag from u returning id, w",
    "update t set v = v + 1 where id >= 2 returning id, v",
    "update t set w = u.tag from u where t.id = u.id returning t.id, w, upper(w) as uw",
    "update t set v = 0 where id > 1000 returning *",
    "delete from t where id = 4 returning *",
    "delete from t using u where t.id = u.id returning id, v is null as nov",
]


def _sorted(rows):
    return sorted(rows, key=repr)


def test_against_duckdb(session):
    duck = duckdb.connect()
    for sql in SETUP:
        session.execute(sql)
        duck.execute(sql)
    returned = 0
    for sql in STATEMENTS:
        r = session.execute(sql)
        got = [tuple(x.values()) for x in r.reader.read_all().to_pylist()]
        want = duck.execute(sql).fetchall()
        assert _sorted(got) == _sorted(want), sql
        assert r.rowcount == len(want), sql
        returned += len(got)
        after = session.execute("select * from t order by id").reader.read_all()
        assert [tuple(x.values()) for x in after.to_pylist()] == \
            duck.execute("select * from t order by id").fetchall(), sql
    assert returned >= 10


def test_prepared_returning_is_a_query(session):
    session.execute(SETUP[0])
    p = session.prepare("insert into t values (?, ?, ?) returning id, w")
    assert not p.is_update
    assert p.dataset_schema.names == ["id", "w"]
    assert p.dataset_schema.field("id").type == pa.int32()
    r = p.execute(pa.record_batch({"a": [9], "b": [9.0], "c": ["nine"]}))
    assert r.reader.read_all().to_pylist() == [{"id": 9, "w": "nine"}]
    with pytest.raises(ParameterError, match="RETURNING"):
        p.execute(pa.record_batch({"a": [1, 2], "b": [1.0, 2.0], "c": ["a", "b"]}))
    assert session.execute("select count(*) from t").reader.read_all().column(0)[0].as_py() == 1


def test_returning_errors_change_nothing(session):
    session.execute(SETUP[0])
    session.execute("insert into t values (1, 1.0, 'a')")
    with pytest.raises(NotSupportedError, match="ON CONFLICT"):
        session.execute("insert into t values (1, 2.0, 'b') on conflict do nothing "
                        "returning *")
    with pytest.raises(Exception, match="nope"):
        session.execute("delete from t where id = 1 returning nope")
    with pytest.raises(Exception, match="duplicate primary key"):
        session.execute("insert into t values (1, 3.0, 'c') returning *")
    rows = session.execute("select * from t").reader.read_all().to_pylist()
    assert rows == [{"id": 1, "v": 1.0, "w": "a"}]


def test_a_bad_returning_item_undoes_nothing_in_a_transaction(session):
    """RETURNING is bound before the write: inside a transaction a bad item leaves the
    statement undone and the transaction usable."""
    session.execute(SETUP[0])
    session.execute("insert into t values (1, 1.0, 'a'), (2, 2.0, 'b')")
    session.execute("begin")
    for sql in ("delete from t where id = 1 returning nope",
                "update t set v = 9 returning nope",
                "insert into t values (5, 5.0, 'e') returning nope"):
        with pytest.raises(Exception, match="nope"):
            session.execute(sql)
    session.execute("delete from t where id = 2")
    rows = session.execute("select id, v from t order by id").reader.read_all().to_pylist()
    assert rows == [{"id": 1, "v": 1.0}]
    session.execute("commit")
