"""Property tests: random expression trees and predicates, checked against DuckDB.

Hypothesis builds well-typed arithmetic / comparison / boolean / string expressions over the
nullable columns of table ``h`` (ints with zeros, floats, strings, booleans, NULLs
everywhere) and runs them as projections, WHERE predicates and aggregates on Kodiak and on
DuckDB. The results must agree; where DuckDB raises (integer overflow, division by zero)
Kodiak must raise too.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from kodiak_flight.sql import Session

from .harness import _norm, compare, load, rows_of

ROWS = 36


def _table() -> pa.Table:
    ints = [0, 1, -1, 2, -3, 5, None, 7, -8, 3]
    floats = [0.0, 1.5, -2.25, None, 3.0, -0.5, 10.0, 0.125, None]
    strs = ["a", "B", "", None, "abc", "Abc", "b ", " z", "zz", "a%b", None, "ab"]
    bools = [True, False, None, True, False]
    return pa.table({
        "k": pa.array(range(ROWS), pa.int64()),
        "i1": pa.array([ints[i % len(ints)] for i in range(ROWS)], pa.int32()),
        "i2": pa.array([ints[(i * 7 + 3) % len(ints)] for i in range(ROWS)], pa.int32()),
        "i3": pa.array([None if i % 11 == 5 else (i * 13) % 17 - 8 for i in range(ROWS)],
                       pa.int64()),
        "f1": pa.array([floats[i % len(floats)] for i in range(ROWS)], pa.float64()),
        "f2": pa.array([floats[(i * 5 + 2) % len(floats)] for i in range(ROWS)], pa.float64()),
        "s1": pa.array([strs[i % len(strs)] for i in range(ROWS)]),
        "s2": pa.array([strs[(i * 5 + 1) % len(strs)] for i in range(ROWS)]),
        "b1": pa.array([bools[i % len(bools)] for i in range(ROWS)]),
    })


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    d = engine.Database.open(str(tmp_path_factory.mktemp("gen") / "db"))
    t = _table()
    load(d, "h", t)
    con = duckdb.connect()
    con.register("h_src", t)
    con.execute("create table h as select * from h_src")
    s = Session(d)
    yield s, con
    s.close()


# ---------------------------------------------------------------------------- grammar

INT_COLS = ["i1", "i2", "i3"]
FLOAT_COLS = ["f1", "f2"]
STR_COLS = ["s1", "s2"]


def _int(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(INT_COLS), st.integers(-9, 9).map(str))
    if depth <= 0:
        return leaf
    sub = st.deferred(lambda: _int(depth - 1))
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.sampled_from(["//", "%"]), st.sampled_from(["2", "3", "-4"])).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda e: f"abs({e})"),
        sub.map(lambda e: f"(-{e})"),
        st.tuples(_bool(depth - 1), sub, sub).map(
            lambda t: f"(case when {t[0]} then {t[1]} else {t[2]} end)"),
        st.tuples(sub, sub).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"nullif({t[0]}, {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"greatest({t[0]}, {t[1]})"),
        _str(depth - 1).map(lambda e: f"length({e})"),
    )


def _num(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(FLOAT_COLS),
                     st.sampled_from(["0.5", "1.25", "-2.0", "3.0"]))
    if depth <= 0:
        return st.one_of(leaf, _int(0))
    sub = st.deferred(lambda: _num(depth - 1))
    return st.one_of(
        leaf, _int(depth - 1),
        st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda e: f"abs({e})"),
        sub.map(lambda e: f"round({e}, 1)"),
        st.tuples(_bool(depth - 1), sub, sub).map(
            lambda t: f"(case when {t[0]} then {t[1]} else {t[2]} end)"),
        st.tuples(sub, sub).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
    )


def _str(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(STR_COLS), st.sampled_from(["'a'", "'Ab'", "''", "'zz'"]))
    if depth <= 0:
        return leaf
    sub = st.deferred(lambda: _str(depth - 1))
    return st.one_of(
        leaf,
        st.tuples(sub, sub).map(lambda t: f"({t[0]} || {t[1]})"),
        sub.map(lambda e: f"upper({e})"),
        sub.map(lambda e: f"lower({e})"),
        sub.map(lambda e: f"trim({e})"),
        st.tuples(sub, st.integers(1, 3), st.integers(0, 3)).map(
            lambda t: f"substring({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(sub, sub).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
        st.tuples(_bool(depth - 1), sub, sub).map(
            lambda t: f"(case when {t[0]} then {t[1]} else {t[2]} end)"),
    )


CMP = ["=", "<>", "<", "<=", ">", ">="]


def _bool(depth: int) -> st.SearchStrategy[str]:
    d = max(depth, 0)
    leaf = st.one_of(
        st.just("b1"),
        st.sampled_from(["true", "false", "null"]),
        st.tuples(_int(0), st.sampled_from(CMP), _int(0)).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(INT_COLS + FLOAT_COLS + STR_COLS + ["b1"]),
                  st.sampled_from(["is null", "is not null"])).map(lambda t: f"({t[0]} {t[1]})"),
    )
    if depth <= 0:
        return leaf
    sub = st.deferred(lambda: _bool(d - 1))
    return st.one_of(
        leaf,
        st.tuples(_int(d - 1), st.sampled_from(CMP), _int(d - 1)).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(_num(d - 1), st.sampled_from(CMP), _num(d - 1)).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(_str(d - 1), st.sampled_from(CMP), _str(d - 1)).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda e: f"(not {e})"),
        st.tuples(sub, st.sampled_from(["is true", "is false", "is not true", "is null"])).map(
            lambda t: f"({t[0]} {t[1]})"),
        st.tuples(_int(d - 1), _int(0), _int(0)).map(
            lambda t: f"({t[0]} between {t[1]} and {t[2]})"),
        st.tuples(_int(d - 1), st.lists(st.one_of(st.integers(-5, 5).map(str), st.just("null")),
                                       min_size=1, max_size=4), st.booleans()).map(
            lambda t: f"({t[0]} {'not ' if t[2] else ''}in ({', '.join(t[1])}))"),
        st.tuples(_str(d - 1), st.sampled_from(["'a%'", "'%b%'", "'_'", "'%'", "'A_c'"]),
                  st.sampled_from(["like", "not like", "ilike"])).map(
            lambda t: f"({t[0]} {t[2]} {t[1]})"),
        st.tuples(_int(d - 1), _int(d - 1), st.booleans()).map(
            lambda t: f"({t[0]} is {'not ' if t[2] else ''}distinct from {t[1]})"),
    )


# ---------------------------------------------------------------------------- checking


def _run_both(session: Session, duck: duckdb.DuckDBPyConnection, sql: str,
              ordered: bool) -> None:
    duck_err = kodiak_err = None
    want: list = []
    got: list = []
    try:
        want = [tuple(_norm(v) for v in r) for r in duck.execute(sql).fetchall()]
    except duckdb.Error as e:
        duck_err = e
    try:
        got = rows_of(session.execute(sql).reader.read_all())
    except Exception as e:  # noqa: BLE001 - compared with DuckDB's outcome below
        kodiak_err = e
    if duck_err is not None or kodiak_err is not None:
        assert duck_err is not None and kodiak_err is not None, (
            f"{sql}\nDuckDB: {duck_err!r}\nKodiak: {kodiak_err!r}")
        return
    compare(got, want, ordered)


SETTINGS = settings(max_examples=int(__import__("os").environ.get("KODIAK_HYP", 120)), deadline=None, derandomize=not __import__("os").environ.get("KODIAK_HYP"),
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@SETTINGS
@given(e=st.one_of(_int(3), _num(3), _str(3), _bool(3)))
def test_projection(gen, e):
    session, duck = gen
    _run_both(session, duck, f"select k, {e} from h order by k", True)


@SETTINGS
@given(p=_bool(3))
def test_predicate(gen, p):
    session, duck = gen
    _run_both(session, duck, f"select k from h where {p} order by k", True)


@SETTINGS
@given(e=_int(2), p=_bool(2), g=st.sampled_from(["b1", "s1", "i1 % 3", "f1 > 0"]))
def test_aggregate(gen, e, p, g):
    session, duck = gen
    _run_both(session, duck, f"select {g} as grp, count(*), count({e}), sum({e}), min({e}), "
                             f"max({e}) from h where {p} group by grp", False)


@SETTINGS
@given(a=_int(2), b=_int(1), op=st.sampled_from(["/", "//", "%"]))
def test_division(gen, a, b, op):
    """Division by zero: ``/`` gives +-Infinity or NaN, ``//`` and ``%`` raise."""
    session, duck = gen
    _run_both(session, duck, f"select k, {a} {op} {b} from h order by k", True)
