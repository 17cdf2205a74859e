"""kodiak_queries, kodiak_sessions and KILL QUERY in an embedded database: a long query seen
from another session, stopped by its id; the recent statements; the sessions."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import engine
from kodiak_flight.sql import BindError, NotSupportedError, Session
from kodiak_flight.sql.activity import Activity, shown_text
from kodiak_flight.sql.errors import AccessDenied, ExecutionError, QueryCancelled

ENDLESS = "select count(*) from keep, keep k2, keep k3, keep k4"


def rows(s: Session, sql: str) -> list[dict[str, Any]]:
    return s.execute(sql).reader.read_all().to_pylist()


@pytest.fixture
def keep(db: Any) -> Session:
    s = Session(db)
    s.execute("create table keep as select range as a from range(1000)")
    yield s
    s.close()


def start(s: Session, sql: str = ENDLESS) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["rows"] = s.execute(sql).reader.read_all()
        except Exception as e:  # noqa: BLE001 - the test inspects it
            out["error"] = e
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def running_id(s: Session, text: str = ENDLESS) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [r["query_id"] for r in rows(s, "select query_id, query from kodiak_queries "
                                                "where state = 'running'")
                 if r["query"] == text]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never showed as running")


def test_a_long_query_is_seen_and_killed(keep: Session, db: Any) -> None:
    other = Session(db)
    thread, out = start(keep)
    qid = running_id(other)
    [row] = rows(other, f"select session_id, user_name, state, duration, row_count from "
                        f"kodiak_queries where query_id = {qid}")
    assert row["session_id"] == keep.activity_session.id and row["user_name"] is None
    assert row["state"] == "running" and row["duration"] >= 0 and row["row_count"] == 0
    other.execute(f"kill query {qid}")
    thread.join(10)
    assert not thread.is_alive(), "KILL QUERY did not stop the query"
    assert isinstance(out.get("error"), QueryCancelled)
    assert rows(other, f"select state from kodiak_queries where query_id = {qid}") == [
        {"state": "cancelled"}]
    with pytest.raises(ExecutionError, match=f"query {qid} is no longer running"):
        other.execute(f"kill {qid}")
    with pytest.raises(engine.errors.NotFound, match="no query 424242"):
        other.execute("kill query 424242")
    with pytest.raises(NotSupportedError, match="KILL CONNECTION is not supported"):
        other.execute("kill connection 1")
    with pytest.raises(BindError, match="expects a query id"):
        other.execute("kill query 'x'")
    other.close()


def test_a_streaming_query_counts_its_rows_and_stops(keep: Session, db: Any) -> None:
    reader = keep.execute("select k.a from keep k, keep k2").reader
    first = reader.read_next_batch()
    other = Session(db)
    qid = running_id(other, "select k.a from keep k, keep k2")
    [row] = rows(other, f"select row_count from kodiak_queries where query_id = {qid}")
    assert row["row_count"] == first.num_rows > 0  # counted per batch as it streams
    other.execute(f"kill query {qid}")
    with pytest.raises(QueryCancelled):
        reader.read_all()
    assert rows(other, f"select state from kodiak_queries where query_id = {qid}") == [
        {"state": "cancelled"}]
    other.close()


def test_recent_statements(session: Session) -> None:
    session.execute("create table t (a int)")
    session.execute("insert into t values (1), (2), (3)")
    assert session.execute("select * from t").reader.read_all().num_rows == 3
    with pytest.raises(BindError):
        session.execute("select nope from t")
    p = session.prepare("select a from t where a > ?")
    p.execute(pa_params(1)).reader.read_all()
    got = rows(session, "select query, state, row_count from kodiak_queries "
                        "where state <> 'running' order by query_id")
    assert got == [
        {"query": "create table t (a int)", "state": "finished", "row_count": 0},
        {"query": "insert into t values (1), (2), (3)", "state": "finished", "row_count": 3},
        {"query": "select * from t", "state": "finished", "row_count": 3},
        {"query": "select nope from t", "state": "failed", "row_count": 0},
        {"query": "select a from t where a > ?", "state": "finished", "row_count": 2}]
    # unqualified and in information_schema alike; read-only
    assert rows(session, "select count(*) as n from information_schema.kodiak_queries")[0][
        "n"] >= 5
    with pytest.raises(BindError, match="read-only system view"):
        session.execute("delete from kodiak_queries")


def pa_params(v: int) -> Any:
    import pyarrow as pa
    return pa.record_batch({"$1": [v]})


def test_prepared_reads_of_the_views_are_never_stale(session: Session) -> None:
    p = session.prepare("select count(*) as n from kodiak_queries where state = 'finished'")
    first = p.execute().reader.read_all()[0][0].as_py()
    second = p.execute().reader.read_all()[0][0].as_py()
    assert second == first + 1


def test_the_recent_ring_is_bounded(db: Any) -> None:
    s = Session(db, activity=Activity(max_recent=5))
    for i in range(8):
        s.execute(f"select {i}")
    got = [r["query"] for r in rows(s, "select query from kodiak_queries "
                                       "where state = 'finished' order by query_id")]
    assert got == [f"select {i}" for i in range(3, 8)]
    s.close()


def test_sessions(db: Any) -> None:
    act = Activity()
    a, b = Session(db, activity=act), Session(db, activity=act, user="ann")
    tx_part = Session(db, activity=act, temp_tag=a.temp_tag)  # a transaction of a's
    a.execute("create table t (x int)")
    tx_part.begin()
    got = rows(b, "select session_id, user_name, in_transaction, running_queries "
                  "from kodiak_sessions order by session_id")
    assert got == [
        {"session_id": a.activity_session.id, "user_name": None, "in_transaction": True,
         "running_queries": 0},
        {"session_id": b.activity_session.id, "user_name": "ann", "in_transaction": False,
         "running_queries": 1}]
    tx_part.rollback()
    tx_part.close()
    a.close()
    assert [r["session_id"] for r in rows(b, "select session_id from kodiak_sessions")] == [
        b.activity_session.id]
    b.close()


def test_a_user_kills_only_their_own(db: Any) -> None:
    act = Activity()
    ann, bob = Session(db, activity=act, user="ann"), Session(db, activity=act, user="bob")
    Session(db).execute("create table keep as select range as a from range(1000)")
    Session(db).execute("grant select on keep to ann")
    reader = ann.execute("select k.a from keep k, keep k2").reader
    qid = running_id(ann, "select k.a from keep k, keep k2")
    assert rows(bob, f"select query from kodiak_queries where query_id = {qid}") == [
        {"query": "<insufficient privilege>"}]
    with pytest.raises(AccessDenied, match="another user"):
        bob.execute(f"kill query {qid}")
    ann.execute(f"kill query {qid}")
    with pytest.raises(QueryCancelled):
        reader.read_all()
    ann.close()
    bob.close()


def test_shown_text_hides_secrets_and_is_bounded() -> None:
    # the option list of CREATE / ALTER SECRET is cut (a value may be a bare word)
    assert shown_text("create secret s (password 'hunter2', user 'x')") == \
        "create secret s (***)"
    assert shown_text("alter secret s rotate (token hunter2)") == "alter secret s rotate (***)"
    assert shown_text("select 'a' from t where password = 'hunter2'") == \
        "select '***' from t where password = '***'"
    assert shown_text("select  'a'\n  from t") == "select 'a' from t"
    assert len(shown_text("select " + "1 + " * 2000 + "1")) == 1000


def test_a_prepared_statement_is_shown_masked_each_time(session: Session) -> None:
    # the prepared statement works out its shown text once; every execution shows it
    session.execute("create table creds (id int, password varchar)")
    p = session.prepare("select id  from creds\n where password = 'hunter2' or id > ?")
    for v in (1, 2):
        p.execute(pa_params(v)).reader.read_all()
    got = [r["query"] for r in rows(session, "select query from kodiak_queries "
                                             "order by query_id")]
    assert [q for q in got if q.startswith("select id")] == \
        ["select id from creds where password = '***' or id > ?"] * 2
    assert not any("hunter2" in q for q in got)
