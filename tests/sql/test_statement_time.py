"""now() and current_date are STABLE: one value for the whole statement (as in PostgreSQL,
DuckDB, SQLite), a new one for the next statement."""

from __future__ import annotations

import time

from kodiak_flight.sql import Session


def one(session: Session, sql: str) -> object:
    return session.execute(sql).reader.read_all().column(0)[0].as_py()


def test_now_is_one_value_in_a_statement(session: Session) -> None:
    assert one(session, "select now() = now()") is True
    assert one(session, "select current_timestamp = now()") is True
    assert one(session, "select now() = (select now())") is True
    assert one(session, "select count(*) from (select now() as a, now() as b) where a = b") == 1


def test_now_in_a_view_is_the_statement_s_time(session: Session) -> None:
    session.execute("create view clock as select now() as t")
    assert one(session, "select t = now() from clock") is True


def test_the_next_statement_reads_the_clock_again(session: Session) -> None:
    first = one(session, "select now()")
    time.sleep(0.01)
    assert one(session, "select now()") > first
