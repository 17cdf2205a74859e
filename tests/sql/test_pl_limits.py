"""PL-Grizzly's gaps closed: function bodies parsed once per version, configurable limits
(recursion, stack, loop turns, jobs), TRY_CAST to user types, MATCH ranges over strings and
dates, SHOW FUNCTIONS signatures of built-ins."""

from __future__ import annotations

import pytest

import engine
from kodiak_flight.sql import Session

from .pl_fixtures import function


@pytest.fixture
def db(tmp_path):
    d = engine.Database.open(str(tmp_path))
    yield d
    d.close()


@pytest.fixture
def s(db):
    session = Session(db)
    yield session
    session.close()


def rows(s, sql):
    r = s.execute(sql)
    t = r.table if r.table is not None else r.reader.read_all() if r.reader else None
    return t.to_pylist() if t is not None else r.rowcount


FACT = """BEGIN
  IF $n <= 1 THEN RETURN 1; END IF;
  LET r = CALL fact($n - 1);
  RETURN $n * $r;
END"""


def test_a_block_body_is_parsed_once_per_version(s, db):
    function(db, "fact", [("n", "bigint", None)], "bigint", FACT)
    assert rows(s, "CALL fact(5)") == [{"fact": 120}]
    assert rows(s, "CALL fact(6)") == [{"fact": 720}]
    assert s.variables.bodies.parsed == 1  # recursion and the second call reuse it
    s.execute("CREATE OR REPLACE FUNCTION fact(n bigint) RETURNS bigint AS BEGIN "
              "RETURN $n + 1000; END")
    assert rows(s, "CALL fact(5)") == [{"fact": 1005}]
    assert s.variables.bodies.parsed == 2


def test_an_expression_body_is_parsed_once(s):
    s.execute("CREATE FUNCTION twice(a bigint) RETURNS bigint AS a * 2")
    for i in range(3):
        assert rows(s, f"CALL twice({i})") == [{"twice": 2 * i}]
    assert s.variables.bodies.parsed == 1
    s.execute("CREATE OR REPLACE FUNCTION twice(a bigint) RETURNS bigint AS a * 3")
    assert rows(s, "CALL twice(2)") == [{"twice": 6}]


def test_a_replaced_body_inside_a_transaction_is_seen(s):
    s.execute("CREATE FUNCTION one() RETURNS bigint AS BEGIN RETURN 1; END")
    assert rows(s, "CALL one()") == [{"one": 1}]
    s.execute("BEGIN")
    s.execute("CREATE OR REPLACE FUNCTION one() RETURNS bigint AS BEGIN RETURN 2; END")
    assert rows(s, "CALL one()") == [{"one": 2}]
    s.execute("ROLLBACK")
    assert rows(s, "CALL one()") == [{"one": 1}]


def test_a_loop_in_a_function_keeps_its_plans(s):
    s.execute("create table t (k bigint primary key, v bigint)")
    s.execute("insert into t select range, range * 2 from range(50)")
    s.execute("""CREATE FUNCTION total(n bigint) RETURNS bigint AS BEGIN
      LET i = 0; LET acc = 0;
      WHILE $i < $n DO
        SET acc = $acc + (select v from t where k = $i);
        SET i = $i + 1;
      END WHILE;
      RETURN $acc;
    END""")
    assert rows(s, "CALL total(10)") == [{"total": 90}]
    assert rows(s, "CALL total(50)") == [{"total": 2450}]
    assert s.variables.bodies.parsed == 1
