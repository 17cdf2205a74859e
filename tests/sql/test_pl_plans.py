"""A script's statements keep their plans: ``$name`` is a parameter slot, so a loop binds each
statement once and reuses its plan with the variables' new values; conditions and values
are computed on scalars. Answers must be those of the same SQL run alone, and the result
cache must key on the variables' values."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from kodiak_flight.sql import Session
from kodiak_flight.sql.binder import Binder
from kodiak_flight.sql.errors import ExecutionError
from kodiak_flight.sql.resultcache import ResultCache


@pytest.fixture
def s(db: Any):
    session = Session(db)
    session.execute("create table t (k bigint primary key, v bigint, name varchar)")
    session.execute("insert into t select range, range * 3, 'n' || range from range(200)")
    yield session
    session.close()


@pytest.fixture
def binds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per query block the binder binds from the top."""
    calls: list[int] = []
    real = Binder.bind_query

    def counting(self: Any, node: Any, *a: Any, **k: Any) -> Any:
        calls.append(1)
        return real(self, node, *a, **k)

    monkeypatch.setattr(Binder, "bind_query", counting)
    return calls


def value(s: Session, sql: str, params: Any = None) -> Any:
    r = s.execute(sql, params)
    t = r.table if r.table is not None else r.reader.read_all()
    return t.column(0)[0].as_py()


LOOP = """
LET i = 0; LET total = 0;
WHILE $i < 100 DO
  LET r = (select v from t where k = $i);
  SET total = $total + $r;
  SET i = $i + 1;
END WHILE;
RETURN $total"""


def test_a_loop_binds_its_statements_once(s, binds):
    assert value(s, LOOP) == sum(3 * i for i in range(100))
    assert len(binds) < 20, len(binds)  # 100 turns of 4 statements bound anew would be 400+
    binds.clear()
    value(s, LOOP.replace("RETURN $total", "select count(*) from t where k < $i"))
    assert len(binds) < 20


def test_a_statement_in_a_loop_sees_each_value(s):
    script = """
    LET i = 0; LET seen = '';
    WHILE $i < 5 DO
      select name from t where k = $i * 7;
      SET seen = $seen || (select name from t where k = $i * 7) || ',';
      SET i = $i + 1;
    END WHILE;
    RETURN $seen"""
    assert value(s, script) == "n0,n7,n14,n21,n28,"
    assert value(s, "LET i = 4; select name from t where k = $i * 7") == "n28"


def test_a_variable_changing_type_is_bound_again(s):
    script = """
    LET x = 1; LET out = '';
    LET i = 0;
    WHILE $i < 4 DO
      IF $i = 2 THEN SET x = 'two'; END IF;
      IF $i = 3 THEN SET x = 2.5; END IF;
      SET out = $out || cast($x as varchar) || '|';
      SET i = $i + 1;
    END WHILE;
    RETURN $out"""
    assert value(s, script) == "1|1|two|2.5|"


def test_positional_parameters_and_variables_together(s):
    params = pa.table({"a": [100], "b": ["z"]})
    assert value(s, "LET x = 5; RETURN $1 + $x", params) == 105
    assert value(s, "LET x = 2; LET y = (select v from t where k = $x + $1 - 100); "
                    "RETURN $y || $2", params) == "6z"


@pytest.mark.parametrize("expr", [
    "$i + 1", "$i * 2.5", "$i / 4", "$i // 4", "$i % 3", "-$i", "$i = 3",
    "$i < 10 and $n is null", "coalesce($n, $i)", "$s || 'x'", "upper($s)",
    "length($s) + $i", "case when $i > 2 then 'big' else 'small' end",
    "case when $i = 0 then 1 / 0 else 7 end", "cast($i as varchar)",
    "$i between 1 and 5", "$s like 'a%'", "$i in (1, 3, 5)", "nullif($i, 3)",
    "greatest($i, 9)", "abs(-$i)", "round($i / 7, 2)", "$i::double / 0",
    "(select v from t where k = $i)", "(select count(*) from t where k < $i)",
    "(select v from t where k = -1)", "exists (select 1 from t where k = $i)",
    "$i in (select k from t where k < 5)",
])
def test_a_value_is_the_query_answer(s, expr):
    """Differential: a script's value (scalars, the reused plan) against ``SELECT`` of the
    same expression with the values written as literals."""
    s.execute("SET i = 3")
    s.execute("SET n = NULL")
    s.execute("SET s = 'abc'")
    literal = expr.replace("$i", "(3)").replace("$n", "NULL").replace("$s", "'abc'")
    try:
        want = ("ok", value(s, f"select {literal}"))
    except Exception as e:  # noqa: BLE001 - the error must be the same one
        want = ("error", type(e).__name__)
    try:
        got = ("ok", value(s, f"LET x = {expr}; RETURN $x"))
    except Exception as e:  # noqa: BLE001
        got = ("error", type(e).__name__)
    assert got == want


def test_a_scalar_subquery_of_several_rows_is_an_error(s):
    with pytest.raises(ExecutionError, match="more than one row"):
        s.execute("LET i = 3; LET r = (select v from t where k < $i); RETURN $r")


def test_a_loop_sees_its_own_writes(s):
    s.execute("create table log (n bigint)")
    script = """
    LET i = 0;
    WHILE (select count(*) from log) < 5 DO
      insert into log values ($i);
      SET i = $i + 1;
    END WHILE;
    RETURN (select sum(n) from log)"""
    assert value(s, script) == 10


def test_a_table_created_in_the_loop_is_bound_again(s):
    script = """
    LET i = 0;
    WHILE $i < 3 DO
      create table if not exists later (a bigint);
      insert into later values ($i);
      SET i = $i + 1;
    END WHILE;
    select count(*) from later"""
    assert value(s, script) == 3


def test_prepared_query_reads_the_variable_at_each_execution(s):
    s.execute("SET x = 0")
    p = s.prepare("select v from t where k = $x")
    for x in (1, 2, 1):
        s.execute(f"SET x = {x}")
        assert p.execute().reader.read_all().column(0).to_pylist() == [3 * x]
    s.execute("SET x = 'a'")  # another type: bound again
    with pytest.raises(Exception, match="(?i)varchar|string|compar|cast"):
        p.execute().reader.read_all()


def test_result_cache_keys_on_the_variables_values(db):
    cache = ResultCache(16 << 20)
    s = Session(db, result_cache=cache)
    s.execute("create table c (k bigint primary key, v bigint)")
    s.execute("insert into c values (1, 10), (2, 20)")
    s.execute("SET x = 0")
    p = s.prepare("select v from c where k = $x")
    got = []
    for x in (1, 2, 1, 2):
        s.execute(f"SET x = {x}")
        got.append(p.execute().reader.read_all().column(0).to_pylist())
    assert got == [[10], [20], [10], [20]]
    assert cache.stats()["hits"] >= 2  # the same value again is served from the cache
    script = """
    LET i = 0; LET acc = 0;
    WHILE $i < 3 DO
      select v from c where k = $i;
      SET acc = $acc + coalesce((select v from c where k = $i), 0);
      SET i = $i + 1;
    END WHILE;
    RETURN $acc"""
    assert value(s, script) == 30
    assert value(s, script) == 30
    s.close()


def test_unset_variable_in_a_loop_names_it(s):
    with pytest.raises(Exception, match=r"variable \$nope is not set"):
        s.execute("LET i = 0; WHILE $i < 3 DO SET i = $i + $nope; END WHILE")


@pytest.mark.parametrize(("script", "described"), [
    ("LET i = 0; WHILE $i < 3 DO insert into t values (1000 + $i, $i, 'x'); "
     "SET i = $i + 1; END WHILE; select k, name from t where k >= 1000 order by k", True),
    ("BEGIN LET i = 1; select count(*) AS n, max(name) AS m from t; END", True),
    ("LET i = 0; select k from t where k > $i", False),  # reads a variable
    ("LET i = 0; RETURN $i", False),
    ("IF (select count(*) from t) > 0 THEN RETURN 1; END IF; select 1 AS one", False),
    ("LET i = 1; create table u (x int); select * from t", False),  # DDL may change it
    ("LET i = 1; select * from sales_{nope}", False),
    ("LET i = 1; select * from not_yet", False),
])
def test_a_prepared_script_describes_its_final_query(s, script, described):
    p = s.prepare(script)
    if not described:
        assert p.dataset_schema is None
        return
    r = p.execute()
    got = (r.table if r.table is not None else r.reader.read_all()).schema
    assert p.dataset_schema is not None
    assert p.dataset_schema.names == got.names
    assert p.dataset_schema.types == got.types
