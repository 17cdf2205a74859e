"""Variables: SET / LET / RESET / SHOW VARIABLES, $name bound as a value, {name}
interpolation where an identifier stands (and refused anywhere else)."""

from __future__ import annotations

import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import BindError, NotSupportedError


@pytest.fixture
def s(tmp_path):
    db = engine.Database.open(str(tmp_path))
    session = Session(db)
    yield session
    session.close()
    db.close()


def one(s, sql):
    r = s.execute(sql)
    t = r.table if r.table is not None else r.reader.read_all()
    return t.to_pylist()


def test_set_and_read(s):
    s.execute("SET x = 40 + 2")
    assert one(s, "select $x AS v") == [{"v": 42}]
    s.execute("SET VARIABLE name = 'bob'")
    assert one(s, "select upper($name) AS v") == [{"v": "BOB"}]


def test_set_from_a_query_and_reassign(s):
    s.execute("create table t (a bigint)")
    s.execute("insert into t values (1), (2), (3)")
    s.execute("SET n = (select count(*) from t)")
    s.execute("SET n = $n * 10")
    assert one(s, "select $n AS v") == [{"v": 30}]
    assert one(s, "select a from t where a >= $n / 15 order by a") == [{"a": 2}, {"a": 3}]


def test_a_value_is_never_text(s):
    """A value that looks like SQL stays a value."""
    s.execute("create table t (a varchar)")
    s.execute("insert into t values ('x')")
    s.execute("SET v = 'x'' or 1=1; drop table t; --'")
    assert one(s, "select count(*) AS n from t where a = $v") == [{"n": 0}]
    assert one(s, "select count(*) AS n from t") == [{"n": 1}]


def test_results_follow_the_variable(s):
    """The result cache and prepared plans never keep a value a variable held."""
    s.execute("create table t (a bigint)")
    s.execute("insert into t values (1), (2)")
    for v, n in ((1, 2), (2, 1), (5, 0)):
        s.execute(f"SET k = {v}")
        assert one(s, "select count(*) AS n from t where a >= $k") == [{"n": n}]
        assert s.prepare("select $k AS v").execute().reader.read_all().to_pylist() == \
            [{"v": v}]


def test_show_and_reset(s):
    s.execute("SET b = 2")
    s.execute("SET a = 'x'")
    assert one(s, "SHOW VARIABLES") == [{"name": "a", "value": "x", "type": "VARCHAR"},
                                        {"name": "b", "value": "2", "type": "INTEGER"}]
    s.execute("RESET a")
    assert [r["name"] for r in one(s, "SHOW VARIABLES")] == ["b"]
    s.execute("RESET ALL")
    assert one(s, "SHOW VARIABLES") == []
    assert one(s, "SHOW tables") == []  # other SHOWs keep their meaning


def test_unknown_variable(s):
    s.execute("SET total = 1")
    with pytest.raises(BindError, match=r"\$totl is not set \(did you mean: total"):
        s.execute("select $totl")
    with pytest.raises(BindError, match="session variable nope is not set"):
        s.execute("RESET nope")


def test_numbered_parameters_still_work(s):
    s.execute("SET x = 10")
    r = s.execute("select $1 + $x AS v", pa.record_batch({"p": [5]}))
    assert r.reader.read_all().to_pylist() == [{"v": 15}]


def test_other_set_forms_are_refused(s):
    with pytest.raises(NotSupportedError, match="SET GLOBAL"):
        s.execute("SET GLOBAL x = 1")


def test_let_is_block_scoped(s):
    s.execute("BEGIN LET inner = 1; SET outer = $inner + 1; END")
    assert one(s, "select $outer AS v") == [{"v": 2}]
    with pytest.raises(BindError, match=r"\$inner is not set"):
        s.execute("select $inner")


def test_set_in_a_block_reassigns_the_local(s):
    s.execute("SET x = 1")
    s.execute("BEGIN LET x = 5; SET x = 6; END")
    assert one(s, "select $x AS v") == [{"v": 1}]


def test_interpolation_of_identifiers(s):
    s.execute("create table sales_east (a bigint)")
    s.execute("insert into sales_east values (7)")
    s.execute("SET region = 'east'")
    assert one(s, "select * from sales_{region}") == [{"a": 7}]
    s.execute("SET col = 'a'")
    assert one(s, "select {col} from sales_{region}") == [{"a": 7}]
    assert one(s, "select '{region}' AS v") == [{"v": "{region}"}]  # not in a string


@pytest.mark.parametrize("value", ["east; drop table sales_east", "east\" --", "1x", "",
                                   "a b", "east')--"])
def test_interpolation_refuses_sql_injection(s, value):
    s.execute("create table sales_east (a bigint)")
    s.execute("insert into sales_east values (1)")
    s.execute("SET region = $1", pa.record_batch({"p": [value]}))
    with pytest.raises(BindError, match="not a valid identifier"):
        s.execute("select * from sales_{region}")
    assert one(s, "select count(*) AS n from sales_east") == [{"n": 1}]


def test_interpolation_of_an_unset_name(s):
    with pytest.raises(BindError, match=r"\{region\} is not set"):
        s.execute("select * from sales_{region}")


def test_struct_literals_are_not_interpolation(s):
    assert one(s, "select {'a': 1}.a AS v") == [{"v": 1}]
