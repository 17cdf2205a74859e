"""PL-Grizzly's parts together: types, functions, scripts, CALL and background jobs, each
through SQL alone (the other test modules test each part on its own)."""

from __future__ import annotations

from typing import Any

import pytest

from kodiak_flight.sql import BindError, Session


def one(s: Session, sql: str) -> Any:
    return s.execute(sql).reader.read_all().columns[0][0].as_py()


def test_a_block_function_created_in_sql_is_called(session: Session) -> None:
    s = session
    s.execute("create function fact(n bigint) returns bigint as begin\n"
              "  if $n <= 1 then return 1; end if;\n"
              "  let r = call fact($n - 1);\n"
              "  return $n * $r;\n"
              "end")
    assert one(s, "call fact(10)") == 3628800
    with pytest.raises(Exception, match="block body"):
        s.execute("select fact(3)")


def test_a_script_may_define_a_function_and_use_it(session: Session) -> None:
    s = session
    s.execute("begin\n"
              "  create function twice(a bigint) returns bigint as begin return $a * 2; end;\n"
              "  let x = call twice(21);\n"
              "  create table answers as select $x as v;\n"
              "end")
    assert one(s, "select v from answers") == 42


def test_an_async_call_runs_as_a_job_and_is_awaited(session: Session) -> None:
    s = session
    s.execute("create function slow_sum(n bigint) returns bigint as async as begin\n"
              "  let total = 0; let i = 0;\n"
              "  while $i < $n do set i = $i + 1; set total = $total + $i; end while;\n"
              "  return $total;\n"
              "end")
    job = one(s, "call slow_sum(100)")
    assert isinstance(job, str)
    assert s.execute(f"await '{job}'").reader.read_all().to_pylist() == [{"slow_sum": 5050}]
    rows = s.execute("select state, result_rows from kodiak_jobs").reader.read_all().to_pylist()
    assert rows == [{"state": "done", "result_rows": 1}]


def test_a_receiver_on_a_user_type_runs_over_a_column(session: Session) -> None:
    s = session
    s.execute("create type point as struct (x double, y double)")
    s.execute("create table pts (id int, p point)")
    s.execute("insert into pts values (1, point(3, 4)), (2, {x: 6, y: 8}::point)")
    s.execute("create function [point] norm() returns double as "
              "sqrt(self.x * self.x + self.y * self.y)")
    got = s.execute("select id, p.norm() as n from pts order by id").reader.read_all().to_pylist()
    assert got == [{"id": 1, "n": 5.0}, {"id": 2, "n": 10.0}]
    with pytest.raises(BindError, match="function 'main.\\[point\\]norm\\(\\)'"):
        s.execute("drop type point")


def test_a_type_and_a_function_cannot_share_a_name(session: Session) -> None:
    s = session
    s.execute("create type point as struct (x double, y double)")
    with pytest.raises(BindError, match="type point exists"):
        s.execute("create function point(a bigint) returns bigint as a")
    s.execute("create function area(a bigint) returns bigint as a")
    with pytest.raises(BindError, match="user function"):
        s.execute("create type area as struct (a bigint)")


def test_raise_of_a_type_made_in_sql_is_caught_by_name(session: Session) -> None:
    s = session
    s.execute("create type not_found as exception (message varchar, key bigint)")
    s.execute("create table log (msg varchar)")
    s.execute("begin\n"
              "  try\n"
              "    raise not_found(message => 'no such key', key => 42);\n"
              "  catch not_found as e then\n"
              "    insert into log values ($e.message || ' ' || $e.key);\n"
              "  end try;\n"
              "end")
    assert one(s, "select msg from log") == "no such key 42"


def test_a_user_function_needs_the_execute_right(session: Session) -> None:
    from kodiak_flight.sql.errors import PermissionDenied
    admin = session
    admin.execute("create function twice(a bigint) returns bigint as a * 2")
    admin.execute("create function tell() returns bigint as begin return 7; end")
    admin.execute("create table t (a bigint)")
    admin.execute("insert into t values (1)")
    admin.execute("grant select on table t to bob")
    bob = Session(admin.db, user="bob")
    with pytest.raises(PermissionDenied, match="EXECUTE function main.twice"):
        bob.execute("select twice(a) from t")
    with pytest.raises(PermissionDenied, match="EXECUTE function main.tell"):
        bob.execute("call tell()")
    admin.execute("grant execute on function twice to bob")
    admin.execute("grant execute on function main.tell to bob")
    assert one(bob, "select twice(a) from t") == 2
    assert one(bob, "call tell()") == 7
