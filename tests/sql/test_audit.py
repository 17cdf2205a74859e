"""The audit log: records survive the caller's rollback, wait while the writer is busy, are
never written twice, and no statement can change them."""

from __future__ import annotations

import pytest

from engine import Database
from kodiak_flight.sql import Session
from kodiak_flight.sql.audit import audit_for
from kodiak_flight.sql.errors import SqlError


@pytest.fixture()
def db(tmp_path):
    d = Database.open(tmp_path / "d")
    yield d
    d.close()


def _log(s: Session) -> list[tuple]:
    return [(r["user_name"], r["action"], r["object"], r["allowed"])
            for r in s.execute("select * from kodiak_audit").table.to_pylist()]


def test_a_record_is_written_and_read_back(db):
    s = Session(db)
    audit_for(db).record(user="ann", action="grant", object="t", detail="select")
    assert _log(s) == [("ann", "grant", "t", True)]


def test_a_record_made_inside_a_transaction_survives_its_rollback(db):
    s = Session(db)
    s.execute("create table t (a int)")
    s.execute("begin")
    s.execute("insert into t values (1)")
    audit_for(db).record(user="bob", action="select", object="t", allowed=False)
    assert _log(s)[-1] == ("bob", "select", "t", False)  # waiting, yet shown
    s.execute("rollback")
    assert audit_for(db).flush()
    assert _log(s) == [("bob", "select", "t", False)]  # written once
    assert audit_for(db).flush()
    assert len(_log(s)) == 1


def test_records_survive_a_restart(tmp_path):
    d = Database.open(tmp_path / "d")
    audit_for(d).record(user="ann", action="secret.create", object="s3key")
    d.close()
    d = Database.open(tmp_path / "d")
    try:
        assert _log(Session(d)) == [("ann", "secret.create", "s3key", True)]
    finally:
        d.close()


@pytest.mark.parametrize("sql", [
    "insert into kodiak_system.audit values (now(), 'x', 'y', 'z', true, '')",
    "delete from kodiak_system.audit",
    "drop table kodiak_system.audit",
    "drop schema kodiak_system",
])
def test_no_statement_writes_the_log(db, sql):
    s = Session(db)
    audit_for(db).record(user="ann", action="grant", object="t")
    with pytest.raises(SqlError):
        s.execute(sql)
    assert len(_log(s)) == 1
