"""The statement registry: one module per statement kind, asked by the session, prepared
statements and the server; the worked example in docs/architecture.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from kodiak_flight.sql import NotSupportedError, Session, TransactionError
from kodiak_flight.sql.dialect import parse
from kodiak_flight.sql.statements import STATEMENTS, statement_for, vacuum

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_each_statement_has_one_owner() -> None:
    samples = ["select 1", "values (1)", "select 1 union select 2", "explain select 1",
               "begin", "commit", "rollback", "use main", "create schema s",
               "drop schema s", "create table t (a int)", "create table t as select 1",
               "drop table t", "create view v as select 1", "drop view v",
               "create index i on t (a)", "drop index i", "alter table t add column b int",
               "insert into t values (1)", "update t set a = 1", "delete from t",
               "copy t to 'x.csv'", "copy t from 'x.csv'", "vacuum"]
    for sql in samples:
        node = parse(sql)[0]
        owners = [type(s).__name__ for s in STATEMENTS if s.matches(node)]
        assert len(owners) == 1, (sql, owners)


def test_unknown_statement_is_refused_by_name(session: Session) -> None:
    with pytest.raises(NotSupportedError, match="statement CREATE SEQUENCE is not supported"):
        session.execute("create sequence s")


def test_prepared_statements_ask_the_registry(session: Session) -> None:
    session.execute("create table t (a int primary key)")
    assert session.prepare("insert into t values ($1)").is_update
    ret = session.prepare("insert into t values ($1) returning a * 2 as b")
    assert not ret.is_update and ret.dataset_schema.names == ["b"]
    assert ret.parameter_schema.field(0).type == pa.int32()
    assert session.prepare("explain select * from t").dataset_schema.names == ["plan"]
    assert session.prepare("create view v as select 1").dataset_schema is None


def _doc_example() -> str:
    text = DOC.read_text()
    section = text[text.index("### Worked example: a statement"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_worked_example_is_the_code() -> None:
    source = (Path(vacuum.__file__)).read_text()
    assert source.endswith(_doc_example())


def test_vacuum(session: Session) -> None:
    session.execute("create table t (a int primary key)")
    session.execute("insert into t values " + ", ".join(f"({i})" for i in range(10)))
    session.execute("delete from t where a < 5")
    assert session.db.snapshot().storage("main.t").buffered_rows > 0
    session.execute("vacuum")
    store = session.db.snapshot().storage("main.t")
    assert (store.buffered_rows, store.deleted_rows, store.segments) == (0, 0, 1)
    assert session.execute("select count(*) from t").reader.read_all().column(0)[0].as_py() == 5
    assert isinstance(statement_for(parse("vacuum")[0]), vacuum.Vacuum)
    session.execute("begin")
    with pytest.raises(TransactionError, match="inside a transaction"):
        session.execute("vacuum")
    session.execute("rollback")
