"""Scripts and blocks: control flow, RAISE/TRY/CATCH with savepoints, CALL, PL stack traces,
interrupts stopping an endless loop, and no Python eval/exec in the source."""

from __future__ import annotations

import ast
import pathlib
import threading
import time

import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import (
    BindError,
    ParseError,
    QueryCancelled,
    QueryTimedOut,
    SqlTypeError,
)
from kodiak_flight.sql.interrupt import Interrupt
from kodiak_flight.sql.pl.errors import ControlError, PlException, PlLimit

from .pl_fixtures import exception_type, function

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path):
    d = engine.Database.open(str(tmp_path))
    yield d
    d.close()


@pytest.fixture
def s(db):
    session = Session(db)
    exception_type(db, "not_found", [("message", "varchar"), ("key", "bigint")])
    yield session
    session.close()


def rows(s, sql):
    r = s.execute(sql)
    t = r.table if r.table is not None else r.reader.read_all() if r.reader else None
    return t.to_pylist() if t is not None else r.rowcount


def test_block_while_if_continue(s):
    s.execute("create table t (a bigint primary key, b varchar)")
    out = rows(s, """
        BEGIN
          LET i = 0;
          WHILE $i < 6 DO
            SET i = $i + 1;
            IF $i = 3 THEN CONTINUE;
            ELSIF $i = 5 THEN insert into t values ($i, 'five');
            ELSE insert into t values ($i, 'x' || $i);
            END IF;
          END WHILE;
        END;
        select * from t order by a""")
    assert out == [{"a": 1, "b": "x1"}, {"a": 2, "b": "x2"}, {"a": 4, "b": "x4"},
                   {"a": 5, "b": "five"}, {"a": 6, "b": "x6"}]


def test_for_over_a_query_and_break(s):
    s.execute("create table t (a bigint, b varchar)")
    s.execute("insert into t values (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')")
    out = rows(s, """
        LET acc = '';
        FOR r IN (select a, b from t order by a) DO
          IF $r.a > 3 THEN BREAK; END IF;
          SET acc = $acc || $r.b;
        END FOR;
        RETURN $acc""")
    assert out == [{"result": "abc"}]


def test_case_inside_a_condition(s):
    assert rows(s, "IF CASE WHEN 1 = 1 THEN true ELSE false END THEN RETURN 'y'; "
                   "ELSE RETURN 'n'; END IF") == [{"result": "y"}]


def test_a_script_answers_with_its_last_statement(s):
    assert rows(s, "LET x = 2; select $x * 21 AS v") == [{"v": 42}]


def test_break_outside_a_loop(s):
    with pytest.raises(ControlError, match="BREAK outside a loop"):
        s.execute("BEGIN BREAK; END")


def test_condition_must_be_boolean(s):
    with pytest.raises(SqlTypeError, match="condition of WHILE must be a boolean"):
        s.execute("WHILE 1 DO BREAK; END WHILE")


def test_syntax_errors_name_the_script_line(s):
    with pytest.raises(ParseError, match="line 3"):
        s.execute("BEGIN\n  select 1;\n  selec 2;\nEND")
    with pytest.raises(ParseError, match="END missing"):
        s.execute("BEGIN select 1;")
    with pytest.raises(ParseError, match="END IF missing"):
        s.execute("IF true THEN select 1; END WHILE")


def test_begin_transaction_is_still_a_transaction(s):
    s.execute("create table t (a bigint)")
    s.execute("BEGIN; insert into t values (1); ROLLBACK")
    assert rows(s, "select count(*) AS n from t") == [{"n": 0}]
    s.execute("BEGIN TRANSACTION")
    assert s.in_transaction
    s.execute("COMMIT")


def test_raise_uncaught_has_type_fields_and_trace(s):
    with pytest.raises(PlException) as info:
        s.execute("BEGIN\n  select 1;\n  RAISE not_found(message => 'no row', key => 4);\nEND")
    e = info.value
    assert e.type_name == "not_found" and e.fields == {"message": "no row", "key": 4}
    assert str(e) == "not_found(message => 'no row', key => 4)\n  at script, line 3"
    assert "Traceback" not in str(e)


def test_raise_refuses_unknown_types_and_fields(s):
    with pytest.raises(BindError, match="exception type not_fond does not exist.*not_found"):
        s.execute("RAISE not_fond(message => 'x')")
    with pytest.raises(BindError, match="has no field kye"):
        s.execute("RAISE not_found(kye => 1)")


def test_try_catch_by_name_alias_and_any(s):
    out = rows(s, """
        TRY
          RAISE not_found(message => 'gone', key => 9);
        CATCH not_found AS e THEN
          RETURN $e.message || ':' || $e.key;
        END TRY""")
    assert out == [{"result": "gone:9"}]
    assert rows(s, "TRY select nosuch; CATCH not_found THEN RETURN 1; "
                   "CATCH _ THEN RETURN 2; END TRY") == [{"result": 2}]


def test_kodiak_errors_are_caught_as_error(s):
    out = rows(s, "TRY select nosuch; CATCH error AS e THEN RETURN $e.kind; END TRY")
    assert out == [{"result": "BindError"}]


def test_an_uncaught_kind_passes_and_bare_raise_rethrows(s):
    with pytest.raises(BindError, match="nosuch"):
        s.execute("TRY select nosuch; CATCH not_found THEN RETURN 1; END TRY")
    with pytest.raises(PlException, match="not_found"):
        s.execute("TRY RAISE not_found(key => 1); CATCH _ THEN RAISE; END TRY")


def test_catch_of_an_unknown_type_is_an_error(s):
    with pytest.raises(BindError, match="exception type nope does not exist"):
        s.execute("TRY select 1; CATCH nope THEN select 2; END TRY")


def test_caught_error_rolls_back_to_the_try(s):
    s.execute("create table t (a bigint primary key)")
    s.execute("BEGIN")
    s.execute("""
        insert into t values (1);
        TRY
          insert into t values (2);
          insert into t values (1);
        CATCH error THEN
          insert into t values (3);
        END TRY;""")
    s.execute("COMMIT")
    assert rows(s, "select a from t order by a") == [{"a": 1}, {"a": 3}]


def test_call_block_function_with_recursion_and_limit(s, db):
    function(db, "fact", [("n", "bigint", None)], "bigint", """BEGIN
  IF $n <= 1 THEN RETURN 1; END IF;
  LET r = CALL fact($n - 1);
  RETURN $n * $r;
END""")
    assert rows(s, "CALL fact(5)") == [{"fact": 120}]
    s.variables.limits.max_depth = 3
    with pytest.raises(PlLimit, match=r"recursion too deep in fact\(bigint\): more than 3"):
        s.execute("CALL fact(5)")
    s.variables.limits.max_depth = 50
    s.variables.limits.max_stack = 4
    with pytest.raises(PlLimit, match="call stack too deep"):
        s.execute("CALL fact(10)")


def test_call_expression_function_defaults_and_names(s, db):
    function(db, "scale", [("a", "bigint", None), ("b", "bigint", "2")], "bigint",
             "a * b", block=False)
    assert rows(s, "CALL scale(21)") == [{"scale": 42}]
    assert rows(s, "CALL scale(4, b => 5)") == [{"scale": 20}]
    s.execute("SET k = 7")
    assert rows(s, "CALL scale($k, 3)") == [{"scale": 21}]
    assert rows(s, "CALL upper('abc')") == [{"upper('abc')": "ABC"}]  # a built-in
    with pytest.raises(BindError, match="no function scale"):
        s.execute("CALL scale()")


def test_call_overloads_by_type(s, db):
    function(db, "kind", [("a", "bigint", None)], "varchar", "'number'", block=False)
    function(db, "kind", [("a", "varchar", None)], "varchar", "'text'", block=False)
    assert rows(s, "CALL kind(1::bigint)") == [{"kind": "number"}]
    assert rows(s, "CALL kind('x')") == [{"kind": "text"}]


def test_uncaught_error_in_a_function_has_a_pl_stack_trace(s, db):
    function(db, "lookup", [("k", "bigint", None)], "bigint",
             "BEGIN\n  LET x = 1;\n  RAISE not_found(message => 'no key', key => $k);\nEND")
    with pytest.raises(PlException) as info:
        s.execute("BEGIN\n  select 1;\n  CALL lookup(3);\nEND")
    assert str(info.value) == ("not_found(message => 'no key', key => 3)\n"
                               "  at lookup(bigint), line 3\n  at script, line 3")
    with pytest.raises(BindError, match=r"(?s)nosuch.*at script, line 2"):
        s.execute("LET a = 1;\nselect nosuch;")


def test_async_function_answers_a_job_id_at_once(s, db):
    function(db, "slow", [], "bigint", "1", block=False, mode="async")
    job = rows(s, "CALL slow()")[0]["slow"]
    assert rows(s, f"AWAIT '{job}'") == [{"slow": 1}]


def _stopped_by(s, interrupt, action):
    errors = []

    def run():
        try:
            s.execute("LET i = 0; WHILE true DO SET i = $i + 1; END WHILE", interrupt=interrupt)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)
    action()
    t.join(30)
    assert not t.is_alive()
    return errors


def test_endless_loop_stopped_by_cancel(s):
    interrupt = Interrupt()
    errors = _stopped_by(s, interrupt, interrupt.cancel)
    assert len(errors) == 1 and isinstance(errors[0], QueryCancelled)


def test_endless_loop_stopped_by_timeout(s):
    interrupt = Interrupt(deadline=time.monotonic() + 0.5, timeout=0.5)
    errors = _stopped_by(s, interrupt, lambda: None)
    assert len(errors) == 1 and isinstance(errors[0], QueryTimedOut)


def test_cancel_is_not_caught_by_try(s):
    interrupt = Interrupt()
    errors = []

    def run():
        try:
            s.execute("TRY WHILE true DO select 1; END WHILE; CATCH _ THEN RETURN 1; END TRY",
                      interrupt=interrupt)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)
    interrupt.cancel()
    t.join(30)
    assert len(errors) == 1 and isinstance(errors[0], QueryCancelled)


def test_no_eval_or_exec_in_the_source():
    """No Python eval/exec anywhere but the engine's two template generators."""
    allowed = {("engine/rowcodec.py", "exec"), ("engine/pyrows.py", "exec")}
    found = set()
    for pkg in ("kodiak_flight", "engine"):
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                name = None
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    name = node.func.id
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and isinstance(node.func.value, ast.Name) and \
                        node.func.value.id == "builtins":
                    name = node.func.attr
                if name in ("eval", "exec"):
                    found.add((path.relative_to(ROOT).as_posix(), name))
    assert found <= allowed, found - allowed
    assert found == allowed  # the scan sees the two it allows: it can fail


def test_the_docs_examples_run(s, db):
    """docs/pl-grizzly.md's SQL examples, in order (the last is fact's body)."""
    import re
    text = (ROOT / "docs" / "pl-grizzly.md").read_text()
    mine = [sec for sec in text.split("\n## ")
            if sec.startswith(("Variables", "Scripts and blocks"))]
    blocks = re.findall(r"```sql\n(.*?)```", "\n".join(mine), re.S)
    assert len(blocks) == 5
    s.execute("create table sales_east (qty bigint)")
    s.execute("insert into sales_east values (5), (50)")
    s.execute("create table t (a bigint primary key, b varchar)")
    s.execute(blocks[0])
    s.execute(blocks[1])
    assert rows(s, blocks[2]) == [{"result": "x1x2"}]
    assert rows(s, blocks[3]) == [{"result": "no such key 42"}]
    function(db, "fact", [("n", "bigint", None)], "bigint", blocks[4].split("\n", 1)[1])
    assert rows(s, "CALL fact(6)") == [{"fact": 720}]
