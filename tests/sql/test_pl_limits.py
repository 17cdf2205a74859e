"""PL-Grizzly's gaps closed: function bodies parsed once per version, configurable limits
(recursion, stack, loop turns, jobs), TRY_CAST to user types, MATCH ranges over strings and
dates, SHOW FUNCTIONS signatures of built-ins."""

from __future__ import annotations

import time

import duckdb
import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql import functions as F
from kodiak_flight.sql.dialect import parse
from kodiak_flight.sql.errors import BindError, ParseError, QueryTimedOut, SqlTypeError
from kodiak_flight.sql.functions.signatures import (
    FILE_READERS,
    SCALAR_FORMS,
    TABLE_FORMS,
    WINDOW_FORMS,
    aggregate_forms,
)
from kodiak_flight.sql.pl.errors import PlLimit
from kodiak_flight.sql.pl.jobs import DEFAULT_WORKERS, TIMED_OUT, Jobs, jobs_for, stop_jobs
from kodiak_flight.sql.pl.limits import PlOptions, apply_to_database, apply_to_session
from kodiak_flight.sql.pl.scalar import evaluate, one_row_expression
from kodiak_flight.sql.types import sql_name

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


# -- limits: settings, server options, job timeout ---------------------------------------


def test_set_pl_max_depth_lowers_the_recursion_limit(s, db):
    function(db, "fact", [("n", "bigint", None)], "bigint", FACT)
    s.execute("SET pl_max_depth = 3")
    with pytest.raises(PlLimit, match=r"recursion too deep in fact\(bigint\): more than 3 "
                                      r"nested calls of it \(pl_max_depth\)"):
        s.execute("CALL fact(5)")
    assert rows(s, "CALL fact(3)") == [{"fact": 6}]
    shown = {r["name"]: r["value"] for r in rows(s, "SHOW SETTINGS")}
    assert shown["pl_max_depth"] == "3" and shown["pl_max_stack"] is None
    s.execute("RESET pl_max_depth")
    assert rows(s, "CALL fact(10)") == [{"fact": 3628800}]
    s.execute("SET pl_max_stack = 2")
    with pytest.raises(PlLimit, match=r"call stack too deep .*\(pl_max_stack\)"):
        s.execute("CALL fact(5)")


def test_pl_settings_refuse_bad_values(s):
    with pytest.raises(BindError, match="pl_max_depth must be a positive whole number "
                                        r"\(got 0\)"):
        s.execute("SET pl_max_depth = 0")
    with pytest.raises(BindError, match="pl_max_loop_iterations must be a positive whole"):
        s.execute("SET pl_max_loop_iterations = 'many'")


def test_loop_iterations_limit(s):
    s.execute("SET pl_max_loop_iterations = 5")
    assert rows(s, "LET i = 0; WHILE $i < 5 DO SET i = $i + 1; END WHILE; RETURN $i") == \
        [{"result": 5}]
    with pytest.raises(PlLimit, match=r"a WHILE loop ran more than 5 turns "
                                      r"\(pl_max_loop_iterations\)"):
        s.execute("LET i = 0; WHILE true DO SET i = $i + 1; END WHILE;")
    with pytest.raises(PlLimit, match="a FOR loop ran more than 5 turns"):
        s.execute("FOR r IN (select * from range(10)) DO SET x = 1; END FOR;")
    s.execute("RESET pl_max_loop_iterations")
    s.execute("FOR r IN (select * from range(10)) DO SET x = 1; END FOR;")


def test_server_limits_are_ceilings(s, db):
    function(db, "fact", [("n", "bigint", None)], "bigint", FACT)
    apply_to_session(s, PlOptions(max_depth=4, max_stack=10, max_loop_iterations=100))
    with pytest.raises(PlLimit, match="more than 4 nested calls"):
        s.execute("CALL fact(6)")
    with pytest.raises(BindError, match=r"pl_max_depth = 8 is above this server's limit of 4 "
                                        r"\(serve.pl_max_depth\)"):
        s.execute("SET pl_max_depth = 8")
    s.execute("SET pl_max_depth = 2")
    with pytest.raises(PlLimit, match="more than 2 nested calls"):
        s.execute("CALL fact(3)")
    with pytest.raises(PlLimit, match="more than 100 turns"):
        s.execute("WHILE true DO SET x = 1; END WHILE;")
    with pytest.raises(ValueError, match="job_workers must be positive"):
        PlOptions(job_workers=0).check()


def test_a_job_past_its_timeout_ends_timed_out(db):
    jobs = Jobs(db, workers=1, timeout=0.2)
    try:
        def slow(interrupt):
            while True:
                interrupt.check()
                time.sleep(0.01)
        job_id = jobs.submit(None, "slow", slow)
        with pytest.raises(QueryTimedOut, match=r"ran longer than its time limit of 0.2 s "
                                                r"\(job_timeout\)"):
            jobs.wait(job_id)
        job = jobs.get(job_id)
        assert job.state == TIMED_OUT and "0.2 s" in job.error
        assert jobs.wait(jobs.submit(None, "quick", lambda i: pa.table({"a": [1]}))) \
            .to_pylist() == [{"a": 1}]  # the worker goes on
    finally:
        jobs.shutdown(1.0)


def test_apply_to_database_sizes_the_pool(db):
    apply_to_database(db, PlOptions(job_workers=3, job_timeout=5.0))
    jobs = jobs_for(db)
    assert (jobs.workers, jobs.timeout) == (3, 5.0)
    stop_jobs(db, 1.0)
    assert PlOptions().job_workers == DEFAULT_WORKERS


# -- TRY_CAST to user types; MATCH ranges of strings and dates ---------------------------


def one(s, sql):
    return s.execute(sql).reader.read_all().column(0).to_pylist()


def test_try_cast_to_a_user_type_is_null_on_failure(s):
    s.execute("CREATE TYPE point AS STRUCT (x double, y double)")
    assert one(s, "select try_cast({y: 2, x: 1} as point)") == [{"x": 1.0, "y": 2.0}]
    assert one(s, "select try_cast('abc' as point)") == [None]
    assert one(s, "select try_cast(5 as point)") == [None]
    assert one(s, "select try_cast({x: 1, z: 2} as point)") == [None]  # not its shape
    assert one(s, "select try_cast({x: 'a', y: 2} as point)") == [{"x": None, "y": 2.0}]
    s.execute("create table raw (s struct(x varchar, y varchar))")
    s.execute("insert into raw values ({x: 'a', y: '2'}), ({x: '1', y: '3'}), (NULL)")
    got = one(s, "select try_cast(s as point) from raw")
    want = duckdb.sql("select try_cast(s as struct(x double, y double)) from (values "
                      "({'x': 'a', 'y': '2'}), ({'x': '1', 'y': '3'}), (NULL)) t(s)"
                      ).fetchall()
    assert got == [w[0] for w in want]
    with pytest.raises(SqlTypeError, match="cannot cast VARCHAR to point"):
        s.execute("select cast('abc' as point)")  # CAST still refuses


@pytest.mark.parametrize("subject", ["'c'", "'m'", "'n'", "'zz'", "NULL::varchar",
                                     "date '2024-03-01'", "date '2025-01-01'"])
def test_match_ranges_of_strings_and_dates(s, subject):
    text = (f"select MATCH {subject} {{ 'a'..'m' => 'first', 'n'..'y' => 'second', "
            f"_ => 'other' }}") if "date" not in subject else \
        (f"select MATCH {subject} {{ date '2024-01-01'..date '2024-12-31' => '2024', "
         f"_ => 'other' }}")
    plain = (f"select CASE WHEN {subject} BETWEEN 'a' AND 'm' THEN 'first' WHEN {subject} "
             "BETWEEN 'n' AND 'y' THEN 'second' ELSE 'other' END") if "date" not in subject \
        else (f"select CASE WHEN {subject} BETWEEN date '2024-01-01' AND date '2024-12-31' "
              "THEN '2024' ELSE 'other' END")
    assert one(s, text) == [duckdb.sql(plain).fetchall()[0][0]]


def test_match_range_errors(s):
    with pytest.raises(ParseError, match="expected the upper bound of a MATCH range"):
        s.execute("select match 'c' { 'a'.. => 1 }")


# -- SHOW FUNCTIONS: signatures of built-ins --------------------------------------------


def test_every_written_signature_is_what_the_binder_gives(s):
    wrong = []
    for sig in SCALAR_FORMS:
        fn = F.lookup(sig.name)
        assert fn is not None and fn.name == sig.name, f"{sig.name} is no built-in's name"
        assert fn.min_args <= len(sig.params) <= (fn.max_args or 99), sig
        t = s.execute(f"select {sig.example}").reader.schema.field(0).type
        if sql_name(t).lower() != sig.returns:
            wrong.append(f"{sig.example}: {sql_name(t).lower()}, written {sig.returns}")
    assert not wrong, wrong


def test_window_and_table_signatures_are_what_the_binder_gives(s):
    wrong = []
    for sig in WINDOW_FORMS:
        fn = F.lookup(sig.name)
        assert fn is not None and fn.kind == "window", sig
        sql = f"select {sig.example} over (order by range) from range(3)"
        t = s.execute(sql).reader.schema.field(0).type
        if sql_name(t).lower() != sig.returns:
            wrong.append(f"{sig.example}: {sql_name(t).lower()}, written {sig.returns}")
    for sig in TABLE_FORMS:
        schema = s.execute(f"select * from {sig.example}").reader.schema
        got = "table(" + ", ".join(f"{f.name} {sql_name(f.type).lower()}" for f in schema) + ")"
        if got != sig.returns:
            wrong.append(f"{sig.example}: {got}, written {sig.returns}")
    assert not wrong, wrong
    shown = {r["name"]: r for r in rows(s, "SHOW FUNCTIONS")}
    for name in ("row_number", "lag", "range", "generate_series", *FILE_READERS):
        assert "argument" not in shown[name]["parameters"], shown[name]  # not just a count


def test_aggregate_signatures_come_from_the_registry(s):
    checked = 0
    for fn in F.functions("aggregate"):
        for sig in aggregate_forms(fn):
            t = s.execute(f"select {sig.example}").reader.schema.field(0).type
            assert sql_name(t).lower() == sig.returns, sig
            checked += 1
    assert checked > 20


def test_show_functions_lists_types(s):
    s.execute("CREATE FUNCTION twice(a bigint) RETURNS bigint AS a * 2")
    shown = rows(s, "SHOW FUNCTIONS")
    by_name = {}
    for r in shown:
        by_name.setdefault(r["name"], []).append((r["parameters"], r["returns"]))
    assert ("varchar, bigint, bigint", "varchar") in by_name["substring"]
    assert ("double, bigint", "double") in by_name["round"]
    assert ("bigint", "bigint") in by_name["sum"] and ("double", "double") in by_name["sum"]
    assert by_name["twice"] == [("a bigint", "bigint")]
    listed = {r["name"] for r in shown if r["returns"] is not None and r["origin"] == "built-in"}
    assert len(listed) >= 60


# -- a loop's conditions and counters computed on plain values ---------------------------


@pytest.mark.parametrize("expr, value", [
    ("$i < 7", 5), ("$i >= 5", 5), ("$i = 5", 5), ("$i <> 5", 5), ("$i + 1", 5),
    ("$i - 10", 5), ("$i * 3", 5), ("$i + 1", None), ("$i < 7", None),
    ("$i * 2", 2**62), ("$i + 1.5::double", 5), ("$i * 0.5::double", 1.5),
    ("$i || 'b' || 'c'", "a"), ("$i || 'b'", None), ("$i < 'z'", "é"), ("$i = true", False),
    ("$i + 1", 2**63 - 1), ("$i + 1", pa.scalar(5, pa.int32())),
    ("$i + 1", pa.scalar(2**31 - 1, pa.int32())), ("$i * 1000", pa.scalar(100, pa.int16())),
    ("$i < 2000", pa.scalar(7, pa.int32())), ("$i - 1", pa.scalar(-128, pa.int8())),
    ("$i + 1.5", pa.scalar(1.5, pa.float32())),
])
def test_plain_values_agree_with_the_kernels(s, expr, value):
    """Each value computed on Python values (pl/scalar.py) equals the query's answer."""
    s.variables.session["i"] = value if isinstance(value, pa.Scalar) else pa.scalar(value)
    def script():
        return rows(s, f"RETURN {expr}")[0]["result"]
    try:
        want = s.execute(f"select {expr} from range(1)").reader.read_all().column(0)[0]
    except Exception as e:  # noqa: BLE001 - the same error, then
        with pytest.raises(type(e)):
            script()
        return
    assert script() == want.as_py()
    plan = s.prepare_parsed(parse(f"select {expr}")[0])
    tpl, values = plan.bound([])
    got = evaluate(one_row_expression(tpl.plan), values, None)
    assert got is not None and got.type == want.type and got.as_py() == want.as_py()


def test_an_integer_variable_widened_for_a_bigint_key(s):
    s.execute("create table t (k bigint primary key, v bigint)")
    s.execute("insert into t select range, range * 7 from range(-5, 50)")
    out = rows(s, """LET i = -5; LET acc = 0;
        WHILE $i < 50 DO
          SET acc = $acc + (select v from t where k = $i);
          SET i = $i + 1;
        END WHILE;
        RETURN $acc""")
    assert out == [{"result": sum(k * 7 for k in range(-5, 50))}]
    s.variables.session["i"] = pa.scalar(300, pa.int32())
    with pytest.raises(Exception) as query_error:
        s.execute("select $i::tinyint").reader.read_all()
    with pytest.raises(type(query_error.value)):
        s.execute("RETURN $i::tinyint")
    plan = s.prepare_parsed(parse("select v from t where k = $i")[0])
    s.variables.session["i"] = pa.scalar(7, pa.int32())
    assert plan.run().reader.read_all().to_pylist() == [{"v": 49}]


def test_set_job_timeout_shortens_a_sessions_jobs(s, db):
    function(db, "spin", [], "bigint", "BEGIN WHILE true DO SET x = 1; END WHILE; END",
             mode="async")
    with pytest.raises(BindError, match="job_timeout must be a number of seconds"):
        s.execute("SET job_timeout = 'soon'")
    s.execute("SET job_timeout = '200ms'")
    job_id = rows(s, "CALL spin()")[0]["spin"]
    with pytest.raises(QueryTimedOut, match=r"time limit of 0.2 s \(job_timeout\)"):
        s.execute(f"AWAIT '{job_id}'")
    state = rows(s, f"select state from kodiak_jobs where job_id = '{job_id}'")
    assert state == [{"state": "timed_out"}]
    stop_jobs(db, 1.0)
