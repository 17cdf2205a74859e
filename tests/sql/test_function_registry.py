"""The function registry: lookup, listing, errors, volatility, and functions registered at
runtime working end to end."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from kodiak_flight.sql import functions as F
from kodiak_flight.sql.errors import BindError, SqlTypeError
from kodiak_flight.sql.executor.aggregate import agg_spec
from kodiak_flight.sql.expr import Expr, call, cast, lit
from kodiak_flight.sql.plan import AggCall


def rows(session, sql):
    return session.execute(sql).reader.read_all().to_pylist()


def test_lookup_resolves_aliases_in_any_case():
    assert F.lookup("stddev") is F.lookup("STDDEV_SAMP")
    assert F.lookup("Ucase").name == "upper"
    assert F.lookup("str_position").name == "strpos"  # sqlglot's name for it
    assert F.lookup("read_feather").name == "read_arrow"
    assert F.lookup("percentile_cont").name == "quantile_cont"
    assert F.lookup("no_such_function") is None


def test_listing_by_kind():
    windows = {f.name for f in F.functions(F.WINDOW)}
    assert {"row_number", "rank", "dense_rank", "lag", "lead", "first_value",
            "nth_value", "ntile"} <= windows
    aggregates = F.functions(F.AGGREGATE)
    assert {"count", "sum", "avg", "string_agg", "quantile_cont", "bool_and", "list"} <= \
        {f.name for f in aggregates}
    assert {f.name for f in F.functions(F.TABLE)} == {
        "read_csv", "read_parquet", "read_json", "read_ndjson", "read_arrow", "range",
        "generate_series"}
    assert all(f.kind == F.SCALAR for f in F.functions(F.SCALAR))
    every = F.functions()
    assert len(every) == sum(len(F.functions(k)) for k in (F.SCALAR, F.AGGREGATE, F.WINDOW,
                                                           F.TABLE))
    assert [f.name for f in every] == sorted(f.name for f in every)


def test_every_aggregate_has_what_binder_and_executor_need():
    for fn in F.functions(F.AGGREGATE):
        assert fn.aggregate is not None and fn.result is not None and fn.window
        if fn.aggregate.runs_as is None:
            arg = None if fn.name == "count_star" else "x"
            target, kernel, _, out = agg_spec(AggCall("a1", fn.name, arg, pa.int64()))
            assert kernel.startswith("hash_") and out == "a1"
    for fn in F.functions(F.WINDOW):
        assert fn.window in ("rank", "offset", "value") and fn.result is not None


def test_result_type_rules():
    assert F.result_type(F.require("sum"), [pa.int32()]) == pa.int64()
    assert F.result_type(F.require("sum"), [pa.decimal128(10, 2)]) == pa.decimal128(38, 2)
    assert F.result_type(F.require("avg"), [pa.int32()]) == pa.float64()
    assert F.result_type(F.require("list"), [pa.string()]) == pa.list_(pa.string())
    assert F.result_type(F.require("count_star"), []) == pa.int64()
    assert F.result_type(F.require("percent_rank"), []) == pa.float64()
    with pytest.raises(SqlTypeError, match="sum is not defined for VARCHAR"):
        F.result_type(F.require("sum"), [pa.string()])


def test_unknown_function_suggests_close_names(session):
    with pytest.raises(BindError, match=r"unknown function upperr\(\).*did you mean: upper"):
        session.execute("select upperr('a')")
    with pytest.raises(BindError, match=r"unknown function zzqx\(\)$"):
        session.execute("select zzqx(1)")


def test_wrong_number_of_arguments_names_function_and_count(session):
    with pytest.raises(BindError, match=r"wrong number of arguments to replace\(\): "
                                        r"expected 3, got 2"):
        session.execute("select replace('abc', 'a')")
    with pytest.raises(BindError, match=r"wrong number of arguments to regexp_replace\(\): "
                                        r"expected 3 or 4, got 2"):
        session.execute("select regexp_replace('abc', 'a')")
    with pytest.raises(BindError, match=r"row_number\(\): expected 0, got 1"):
        session.execute("select row_number(1) over ()")
    with pytest.raises(BindError, match=r"count\(\): expected 0 or 1, got 2"):
        session.execute("select count(1, 2)")


def test_kinds_are_checked_where_they_are_used(session):
    session.execute("create table t (a int)")
    with pytest.raises(BindError, match=r"aggregate function sum\(\) is not allowed here"):
        session.execute("select a from t where sum(a) > 1")
    with pytest.raises(BindError, match=r"window function lag\(\) requires an OVER clause"):
        session.execute("select lag(a) from t")
    with pytest.raises(BindError, match=r"read_csv\(\) can only be used in FROM"):
        session.execute("select read_csv('x.csv')")


def test_volatility_drives_the_plan_cache(session, binds):
    assert F.require("now").volatility == F.STABLE
    assert F.require("current_date").volatility == F.STABLE
    assert F.require("upper").volatility == F.IMMUTABLE
    for sql in ("select now() as t, ? as k", "select today() as t, ? as k",
                "select current_date as t, ? as k"):
        p = session.prepare(sql)
        binds.clear()
        batch = pa.record_batch([pa.array([1])], names=["p0"])
        p.execute(batch).reader.read_all()
        p.execute(batch).reader.read_all()
        assert len(binds) == 2, sql
    p = session.prepare("select upper('x') as u, ? as k")  # immutable: reused
    binds.clear()
    batch = pa.record_batch([pa.array([1])], names=["p0"])
    for _ in range(3):
        assert p.execute(batch).reader.read_all().column("u").to_pylist() == ["X"]
    assert len(binds) == 1


def test_now_differs_between_executions(session):
    p = session.prepare("select now() as t")
    first = p.execute().reader.read_all().column("t")[0].as_py()
    time.sleep(0.01)
    assert p.execute().reader.read_all().column("t")[0].as_py() > first


def _times(args: list[Expr]) -> Expr:
    """times(x[, n]): x * n (n defaults to 2)."""
    n = args[1] if len(args) > 1 else lit(2)
    return F.arith("*", args[0], n)


def test_a_scalar_function_registered_at_runtime_works_from_sql(session):
    session.execute("create table t (a int, s varchar)")
    session.execute("insert into t values (1, 'x'), (2, 'yy'), (null, null)")
    before = F.generation()
    F.register(F.Function("times", F.SCALAR, _times, 1, 2, aliases=("mul_by",),
                          doc="x * n"))
    try:
        assert F.generation() != before
        assert rows(session, "select times(a) as d, TIMES(a, 10) as t, mul_by(a, 3) as m "
                             "from t order by a") == [
            {"d": 2, "t": 10, "m": 3}, {"d": 4, "t": 20, "m": 6},
            {"d": None, "t": None, "m": None}]
        assert rows(session, "select sum(times(a)) as s from t where times(a) > 2") == \
            [{"s": 4}]
        with pytest.raises(BindError, match=r"times\(\): expected 1 or 2, got 3"):
            session.execute("select times(a, 1, 2) from t")
        with pytest.raises(ValueError, match="already registered"):
            F.register(F.Function("mul_by", F.SCALAR, _times))
    finally:
        F.unregister("times")
    assert F.lookup("times") is None and F.lookup("mul_by") is None
    with pytest.raises(BindError, match=r"unknown function times\(\)"):
        session.execute("select times(a) from t")


def test_a_volatile_function_registered_at_runtime_is_not_cached(session, binds):
    counter = iter(range(1000))

    def ticket(args: list[Expr]) -> Expr:
        return cast(lit(next(counter)), pa.int64())

    F.register(F.Function("ticket", F.SCALAR, ticket, 0, 0, volatility=F.VOLATILE))
    try:
        p = session.prepare("select ticket() as n, ? as k")
        binds.clear()
        batch = pa.record_batch([pa.array([1])], names=["p0"])
        got = [p.execute(batch).reader.read_all().column("n")[0].as_py() for _ in range(2)]
        assert got[1] > got[0] and len(binds) == 2
    finally:
        F.unregister("ticket")


def test_builders_call_arrow_kernels():
    e = F.kernel("utf8_upper")([lit("ab")])
    assert e.value == "AB"  # folded: a constant argument gives a constant
    c = call("add", [lit(1), lit(2)])
    assert c.value == 3


def test_concat_reads_nulls_as_empty_strings(session):
    session.execute("create table t (i int, s varchar)")
    session.execute("insert into t values (1, 'ab'), (2, null), (null, null)")
    assert rows(session, "select concat(s, s) as c, concat(s, i) as d, s || s as p from t "
                         "order by i nulls last") == [
        {"c": "abab", "d": "ab1", "p": "abab"}, {"c": "", "d": "2", "p": None},
        {"c": "", "d": "", "p": None}]


def test_prepared_plans_do_not_outlive_a_removed_function(session):
    session.execute("create table t (a int)")
    session.execute("insert into t values (1)")
    F.register(F.Function("times", F.SCALAR, _times, 1, 2))
    try:
        p = session.prepare("select times(a) as d from t")
        assert p.execute().reader.read_all().to_pylist() == [{"d": 2}]
    finally:
        F.unregister("times")
    with pytest.raises(BindError, match=r"unknown function times\(\)"):
        p.execute().reader.read_all()
    with pytest.raises(BindError, match=r"unknown function times\(\)"):
        session.prepare("select times(a) as d from t")
