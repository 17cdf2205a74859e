"""PL-Grizzly user functions (inlined expression functions, overloads, named arguments,
defaults, receivers), MATCH, IF and value pipes; differential against DuckDB where the same
computation can be written inline there."""

from __future__ import annotations

import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import BindError, NotSupportedError, ParseError

from .harness import check, twin

SETUP = [
    "create table li (k bigint, price double, disc double, qty integer, name varchar, "
    "flag varchar)",
    "insert into li values (1, 100.0, 0.05, 3, 'ann', 'A'), (2, 250.5, 0.1, 17, 'bob', 'R'),"
    " (3, 80.25, 0.0, 120, 'cy', 'N'), (4, 10.0, 0.07, 7, null, 'A'), "
    "(5, null, 0.02, null, 'eve', null), (6, 999.99, 0.1, 2, 'fay', 'R')",
]


def rows(session: Session, sql: str) -> list[tuple]:
    t = session.execute(sql).reader.read_all()
    return [tuple(r.values()) for r in t.to_pylist()]


@pytest.fixture
def both(session):
    with twin(session, SETUP) as pair:
        s, _ = pair
        s.execute("create function disc_price(p double, d double) returns double "
                  "as p * (1 - d)")
        yield pair


# ---------------------------------------------------------------- inlined functions


def test_inlined_function_equals_the_inline_expression(both):
    s, duck = both
    check(s, duck, "select sum(disc_price(price, disc)) from li",
          duck_sql="select sum(price * (1 - disc)) from li")
    check(s, duck, "select k, disc_price(price, disc) from li where disc_price(price, disc) "
                   "> 90 order by k",
          duck_sql="select k, price * (1 - disc) from li where price * (1 - disc) > 90 "
                   "order by k")
    check(s, duck, "select flag, sum(disc_price(price, disc)) from li group by flag",
          duck_sql="select flag, sum(price * (1 - disc)) from li group by flag")


def test_inlined_plan_has_no_trace_of_the_function(both):
    """The body is compiled into the calling expression: the plan computes the same
    arithmetic as the inline form (vectorised), nothing per row."""
    s, _ = both
    a = s.execute("explain select disc_price(price, disc) from li").reader.read_all()
    b = s.execute("explain select cast(price * (1 - disc) as double) from li"
                  ).reader.read_all()
    text = " ".join(map(str, a.column(a.num_columns - 1).to_pylist()))
    assert "disc_price" not in text
    assert a.num_rows == b.num_rows


def test_arguments_are_cast_to_the_parameter_types_and_result_to_returns(both):
    s, duck = both
    s.execute("create function half(a bigint) returns double as a / 2")
    check(s, duck, "select k, half(qty) from li order by k",
          duck_sql="select k, cast(cast(qty as bigint) / 2 as double) from li order by k")
    s.execute("create function label(n integer) returns varchar as 'n=' || n")
    assert rows(s, "select label(42)") == [("n=42",)]
    assert s.execute("select label(1)").reader.read_all().schema.field(0).type == pa.string()


def test_defaults_and_named_arguments(session):
    session.execute("create function g(a bigint, b varchar default 'x') returns varchar "
                    "as b || cast(a as varchar)")
    assert rows(session, "select g(1), g(2, 'y'), g(b => 'z', a => 3), g(a := 4)") == \
        [("x1", "y2", "z3", "x4")]
    with pytest.raises(BindError, match="no overload of g"):
        session.execute("select g(c => 1)")
    with pytest.raises(BindError, match="given twice"):
        session.execute("select g(a => 1, a => 2)")
    with pytest.raises(BindError, match="positional argument follows a named one"):
        session.execute("select g(a => 1, 'y')")


def test_overloads_pick_the_best_fit_and_refuse_ties(session):
    session.execute("create function o(a bigint) returns varchar as 'int'")
    session.execute("create function o(a varchar) returns varchar as 'str'")
    session.execute("create function o(a double) returns varchar as 'dbl'")
    assert rows(session, "select o(1), o('a'), o(cast(1 as integer)), o(1.5::double)") == \
        [("int", "str", "int", "dbl")]
    session.execute("create function amb(a bigint, b double) returns bigint as 1")
    session.execute("create function amb(a double, b bigint) returns bigint as 2")
    with pytest.raises(BindError, match=r"ambiguous: it fits amb\(bigint, double\), "
                                        r"amb\(double, bigint\)"):
        session.execute("select amb(1, 1)")
    assert rows(session, "select amb(1, 1.5::double)") == [(1,)]
    with pytest.raises(BindError, match=r"no overload of o\(\) takes \(DATE\)"):
        session.execute("select o(date '2024-01-01')")


def test_functions_call_functions_and_recursion_is_refused(session):
    session.execute("create function sq(x double) returns double as x * x")
    session.execute("create function hyp(a double, b double) returns double "
                    "as sqrt(sq(a) + sq(b))")
    assert rows(session, "select hyp(3, 4)") == [(5.0,)]
    with pytest.raises(NotSupportedError, match="function h calls itself.*cannot be "
                                                "recursive"):
        session.execute("create function h(a bigint) returns bigint as h(a - 1)")
    # mutual recursion through a replaced function: refused, naming the chain
    session.execute("create function m1(a bigint) returns bigint as a")
    session.execute("create function m2(a bigint) returns bigint as m1(a) + 1")
    with pytest.raises(NotSupportedError, match=r"m1\(bigint\) -> m2\(bigint\) -> "
                                                r"m1\(bigint\)"):
        session.execute("create or replace function m1(a bigint) returns bigint as m2(a)")
    assert rows(session, "select m2(1)") == [(2,)]


def test_nesting_depth_is_limited(session):
    session.execute("create function d0(a bigint) returns bigint as a + 1")
    for i in range(1, 32):
        session.execute(f"create function d{i}(a bigint) returns bigint as d{i - 1}(a)")
    assert rows(session, "select d31(0)") == [(1,)]
    with pytest.raises(NotSupportedError, match="nest deeper than 32 calls"):
        session.execute("create function d32(a bigint) returns bigint as d31(a)")


def test_block_bodied_function_is_refused_in_a_query_with_the_reason(session):
    session.execute("create function blk(a bigint) returns bigint as begin return a; end")
    session.execute("create function blk2(a bigint) returns bigint begin return a; end")
    with pytest.raises(NotSupportedError, match="function blk has a block body; call it "
                                                "with CALL, or write it as a single "
                                                "expression to use it in a query"):
        session.execute("select blk(1)")
    body = session.db.snapshot().object("function", "main", "blk(bigint)").definition
    assert body["block"] is True and body["body"] == "begin return a; end"


def test_stored_definition_follows_the_design(session):
    session.execute("create function f(a bigint, b varchar default 'x') returns double "
                    "raises not_found as sync as a * 2")
    obj = session.db.snapshot().object("function", "main", "f(bigint, varchar)")
    assert obj.definition == {
        "name": "f", "receiver": None,
        "params": [{"name": "a", "type": "bigint", "default": None},
                   {"name": "b", "type": "varchar", "default": "'x'"}],
        "returns": "double", "body": "a * 2", "block": False, "mode": "sync",
        "raises": ["not_found"],
        "sql": "create function f(a bigint, b varchar default 'x') returns double "
               "raises not_found as sync as a * 2"}
    session.execute("create function fa(a bigint) returns bigint as async as a")
    assert session.db.snapshot().object("function", "main", "fa(bigint)"
                                        ).definition["mode"] == "async"


def test_create_errors_name_what_was_typed(session):
    with pytest.raises(BindError, match="cannot create function upper: upper.. is built in"):
        session.execute("create function upper(a varchar) returns varchar as a")
    with pytest.raises(BindError, match="cannot create function sum"):
        session.execute("create function sum(a bigint) returns bigint as a")
    with pytest.raises(BindError, match="unknown type 'nosuchtype'"):
        session.execute("create function f(a nosuchtype) returns bigint as 1")
    with pytest.raises(BindError, match=r"in function f\(bigint\): column 'zz' not found"):
        session.execute("create function f(a bigint) returns bigint as zz + a")
    with pytest.raises(BindError, match="parameter 'a' is declared twice"):
        session.execute("create function f(a bigint, a bigint) returns bigint as a")
    with pytest.raises(ParseError, match="expected RETURNS"):
        session.execute("create function f(a bigint) as a")
    with pytest.raises(BindError, match="default of b must be a constant"):
        session.execute("create function f(a bigint, b bigint default a) returns bigint as b")
    session.execute("create function f(a bigint) returns bigint as a")
    with pytest.raises(engine.errors.AlreadyExists, match=r"f\(bigint\) already exists"):
        session.execute("create function f(a bigint) returns bigint as a + 1")
    session.execute("create function if not exists f(a bigint) returns bigint as a + 1")
    assert rows(session, "select f(1)") == [(1,)]
    session.execute("create or replace function f(a bigint) returns bigint as a + 1")
    assert rows(session, "select f(1)") == [(2,)]


def test_unknown_function_suggests_user_functions(session):
    session.execute("create function disc_price(p double, d double) returns double as p")
    with pytest.raises(BindError, match="unknown function disc_prize.*disc_price"):
        session.execute("select disc_prize(1, 2)")


# ---------------------------------------------------------------- receivers


def test_receivers_on_builtin_types_and_struct_columns(session):
    session.execute("create table pts (name varchar, p struct(x double, y double))")
    session.execute("insert into pts values ('a', {x: 3, y: 4}), ('b', {x: 1, y: 1}), "
                    "(null, null)")
    session.execute("create function [varchar] shout() returns varchar as upper(self) || '!'")
    session.execute("create function [struct(x double, y double)] norm() returns double "
                    "as sqrt(self.x * self.x + self.y * self.y)")
    session.execute("create function [struct(x double, y double)] scaled(k double) "
                    "returns double as self.x * k")
    got = rows(session, "select name.shout(), pts.name.shout(), p.norm(), p.scaled(2) "
                        "from pts order by name")
    assert got[0][:2] == ("A!", "A!") and got[0][2] == 5.0 and got[0][3] == 6.0
    assert got[2] == (None, None, None, None)
    assert rows(session, "select 'hey'.shout()") == [("HEY!",)]
    with pytest.raises(BindError, match=r"no function norm\(\) for a receiver of type "
                                        r"VARCHAR \(there is norm\(\) for \[struct"):
        session.execute("select name.norm() from pts")


def test_receiver_of_a_user_type_resolves_through_type_objects(session):
    """A receiver type that is not a built-in name is a ``type`` object (PL-DESIGN.md)."""
    with session.db.begin() as tx:
        tx.create_object("type", "main", "point", {
            "form": "struct", "fields": [{"name": "x", "type": "double"},
                                         {"name": "y", "type": "double"}],
            "sql": "CREATE TYPE point AS STRUCT (x double, y double)"})
    session.execute("create function [point] norm() returns double "
                    "as sqrt(self.x * self.x + self.y * self.y)")
    session.execute("create table pts (p struct(x double, y double))")
    session.execute("insert into pts values ({x: 6, y: 8})")
    assert rows(session, "select p.norm() from pts") == [(10.0,)]
    assert session.db.snapshot().object("function", "main", "[point]norm()") is not None


# ---------------------------------------------------------------- catalog life


def test_drop_function(session):
    session.execute("create function o(a bigint) returns varchar as 'int'")
    session.execute("create function o(a varchar) returns varchar as 'str'")
    with pytest.raises(BindError, match=r"function o has 2 overloads \(o\(bigint\), "
                                        r"o\(varchar\)\); name the one to drop"):
        session.execute("drop function o")
    session.execute("drop function o(int8)")  # a type spelt another way is the same type
    assert rows(session, "select o('1')") == [("str",)]
    session.execute("drop function o")
    with pytest.raises(BindError, match="function o does not exist"):
        session.execute("drop function o")
    session.execute("drop function if exists o")
    session.execute("create function [varchar] shout() returns varchar as upper(self)")
    session.execute("drop function [varchar] shout")
    with pytest.raises(BindError, match=r"no function shout\(\)"):
        session.execute("select 'a'.shout()")


def test_show_functions_lists_builtins_and_user_functions(session):
    session.execute("create function g(a bigint, b varchar default 'x') returns varchar "
                    "as b")
    session.execute("create function [varchar] shout() returns varchar as upper(self)")
    t = session.execute("show functions").reader.read_all().to_pylist()
    assert t[0].keys() == {"name", "kind", "parameters", "returns", "origin", "schema"}
    mine = [r for r in t if r["origin"] == "user"]
    assert mine == [
        {"name": "g", "kind": "scalar", "parameters": "a bigint, b varchar DEFAULT 'x'",
         "returns": "varchar", "origin": "user", "schema": "main"},
        {"name": "[varchar] shout".replace(" ", ""), "kind": "scalar", "parameters": "",
         "returns": "varchar", "origin": "user", "schema": "main"}]
    upper = [r for r in t if r["name"] == "upper"]
    assert upper and upper[0]["origin"] == "built-in"


def test_functions_are_transactional(session):
    session.execute("begin")
    session.execute("create function tx1(a bigint) returns bigint as a")
    assert rows(session, "select tx1(5)") == [(5,)]
    session.execute("rollback")
    with pytest.raises(BindError, match="unknown function tx1"):
        session.execute("select tx1(5)")


def test_functions_survive_restart_and_backup(tmp_path):
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    s = Session(db)
    s.execute("create function disc_price(p double, d double) returns double "
              "as p * (1 - d)")
    s.execute("create function [varchar] shout() returns varchar as upper(self) || '!'")
    db.backup(str(tmp_path / "bak"))
    s.close()
    db.close()
    for where in (path, str(tmp_path / "restored")):
        if where != path:
            engine.restore(str(tmp_path / "bak"), where)
        db = engine.Database.open(where)
        s = Session(db)
        assert rows(s, "select disc_price(10, 0.5), 'a'.shout()") == [(5.0, "A!")]
        s.close()
        db.close()


def test_prepared_statement_sees_a_replaced_function(session):
    session.execute("create function f(a bigint) returns bigint as a + 1")
    p = session.prepare("select f(?)")
    batch = pa.record_batch([pa.array([10], pa.int64())], names=["p0"])
    assert p.execute(batch).reader.read_all().column(0).to_pylist() == [11]
    session.execute("create or replace function f(a bigint) returns bigint as a * 100")
    assert p.execute(batch).reader.read_all().column(0).to_pylist() == [1000]
    session.execute("drop function f")
    with pytest.raises(BindError, match="unknown function f"):
        p.execute(batch)


def test_views_use_the_current_function(session):
    session.execute("create function f(a bigint) returns bigint as a + 1")
    session.execute("create view v as select f(1) as x")
    session.execute("create or replace function f(a bigint) returns bigint as a + 2")
    assert rows(session, "select x from v") == [(3,)]


# ---------------------------------------------------------------- MATCH and IF


MATCH_SQL = ("select k, MATCH qty { 3 => 'one', 2 | 7 => 'few', 4..20 => 'some', "
             "x if x > 100 => 'big', null => 'none', _ => 'many' } from li order by k")
CASE_SQL = ("select k, CASE WHEN qty = 3 THEN 'one' WHEN qty = 2 OR qty = 7 THEN 'few' "
            "WHEN qty BETWEEN 4 AND 20 THEN 'some' WHEN qty > 100 THEN 'big' "
            "WHEN qty IS NULL THEN 'none' ELSE 'many' END from li order by k")


def test_match_equals_the_case_duckdb_runs(both):
    s, duck = both
    check(s, duck, MATCH_SQL, duck_sql=CASE_SQL)


def test_match_everywhere_an_expression_stands(both):
    s, duck = both
    check(s, duck, "select count(*) from li where MATCH flag { 'A' | 'R' => true, "
                   "_ => false }",
          duck_sql="select count(*) from li where flag in ('A', 'R')")
    check(s, duck, "select MATCH flag { 'A' => 1, _ => 2 } as g, count(*) from li "
                   "group by g order by g",
          duck_sql="select case when flag = 'A' then 1 else 2 end as g, count(*) from li "
                   "group by g order by g")
    check(s, duck, "select k, MATCH qty { -5..5 => 'small', n if n % 2 = 0 => 'even' } "
                   "from li order by k",
          duck_sql="select k, case when qty between -5 and 5 then 'small' "
                   "when qty % 2 = 0 then 'even' end from li order by k")
    assert rows(s, "select match from (select 1 as match)") == [(1,)]  # still a name


def test_match_inside_a_function(session):
    session.execute("create function size(n bigint) returns varchar as "
                    "MATCH n { 1 => 'one', 2 | 3 => 'few', 4..10 => 'some', "
                    "x if x > 100 => 'big', _ => 'many' }")
    assert rows(session, "select size(1), size(3), size(10), size(50), size(101)") == \
        [("one", "few", "some", "many", "big")]


def test_match_syntax_errors(session):
    with pytest.raises(ParseError, match="never reached"):
        session.execute("select MATCH 1 { _ => 1, 2 => 3 }")
    with pytest.raises(ParseError, match="expected '=>'"):
        session.execute("select MATCH 1 { 1 -> 2 }")


def test_if_expression(both):
    s, duck = both
    check(s, duck, "select k, if(qty > 10, 'many', 'few') from li order by k",
          duck_sql="select k, case when qty > 10 then 'many' else 'few' end from li "
                   "order by k")


# ---------------------------------------------------------------- value pipes


def test_value_pipes_equal_nested_calls(both):
    s, duck = both
    check(s, duck, "select k, price |> disc_price(disc) |> round(1) from li order by k",
          duck_sql="select k, round(price * (1 - disc), 1) from li order by k")
    check(s, duck, "select k, name |> upper() |> concat('!'), qty + 1 |> abs() * 2 "
                   "from li order by k",
          duck_sql="select k, concat(upper(name), '!'), abs(qty + 1) * 2 from li order by k")
    check(s, duck, "select k from li where price |> coalesce(0) > 90 order by k",
          duck_sql="select k from li where coalesce(price, 0) > 90 order by k")


def test_query_pipes_keep_their_meaning(both):
    s, duck = both
    got = rows(s, "from li |> where qty |> coalesce(0) > 10 |> select k |> order by k")
    assert got == [(2,), (3,)]


def test_value_pipe_needs_a_call(session):
    with pytest.raises(ParseError):
        session.execute("select 1 |> 2")


# ---------------------------------------------------------------- the reference's examples


def _doc_statements() -> list[tuple[str, str | None]]:
    """(statement, trailing ``--`` comment) of the sql blocks in docs/pl-grizzly.md's
    Functions, MATCH and Pipes sections, skipping the grammar block."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "pl-grizzly.md").read_text()
    out = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        if section.split("\n", 1)[0].strip() not in ("Functions", "MATCH", "Pipes"):
            continue
        for block in re.findall(r"```sql\n(.*?)```", section, flags=re.S):
            if "[OR REPLACE]" in block:
                continue
            parts = re.split(r";([ \t]*--[^\n]*)?\n", block)
            for i in range(0, len(parts) - 1, 2):
                comment = (parts[i + 1] or "").strip().lstrip("-").strip() or None
                out.append((parts[i].strip(), comment))
    return out


def test_reference_examples_run_and_give_what_they_say(session):
    stmts = _doc_statements()
    assert len(stmts) > 12
    for sql, comment in stmts:
        res = session.execute(sql)
        if comment is None or res.reader is None:
            continue
        t = res.reader.read_all()
        if "(" in comment:  # an equivalent expression
            same = session.execute(f"select {comment} from li").reader.read_all()
            assert t.column(0).to_pylist() == same.column(0).to_pylist(), sql
            continue
        got = [str(round(v, 9) if isinstance(v, float) else v) for v in (t.to_pylist()[0].values() if t.num_rows == 1
                                else t.column(0).to_pylist())]
        assert got == comment.split("  "), (sql, got, comment)
