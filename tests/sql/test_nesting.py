"""Deeply nested SQL gets a clear error from an embedded Session, at every entry point.

The guard lives in the SQL layer (``kodiak_flight.sql.nesting``), not only in the server:
``execute``, ``prepare`` and ``EXPLAIN`` refuse text nested past the limit before parsing, and
a ``RecursionError`` anywhere in parse, bind, plan or execution becomes ``TooComplex``.
"""

from __future__ import annotations

import pytest

from kodiak_flight.sql import Session, SqlError, TooComplex

SHAPES = {
    "parentheses": lambda n: "select " + "(" * n + "1" + ")" * n,
    "subqueries": lambda n: "select * from " + "(select * from " * n + "t" + ") x" * n,
    "not chain": lambda n: "select " + "not " * n + "true",
    "or chain": lambda n: "select * from t where " + " or ".join(["a = 1"] * n),
    "plus chain": lambda n: "select " + "+".join(["a"] * n) + " from t",
    "case": lambda n: "select " + "case when a = 1 then " * n + "1" + " end" * n + " from t",
}


@pytest.fixture
def s(session: Session) -> Session:
    session.execute("create table t (a int)")
    session.execute("insert into t values (1)")
    return session


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("depth", [600, 5000])
def test_deep_sql_is_refused_cleanly(s: Session, shape: str, depth: int) -> None:
    sql = SHAPES[shape](depth)
    for run in (lambda: s.execute(sql), lambda: s.prepare(sql),
                lambda: s.execute("explain " + sql)):
        with pytest.raises(TooComplex, match="nested too deeply") as err:
            run()
        assert isinstance(err.value, SqlError)
        assert not isinstance(err.value.__cause__, RecursionError)  # no chained traceback
    # the session is unharmed
    assert s.execute("select a from t").reader.read_all().column(0).to_pylist() == [1]


def test_nesting_inside_strings_does_not_count(s: Session) -> None:
    text = "(" * 2000
    got = s.execute(f"select '{text}' as x").reader.read_all()
    assert got.column(0).to_pylist() == [text]


def test_moderate_nesting_works_and_limit_is_per_session(s: Session, db) -> None:
    nested = "(" * 30 + "1" + ")" * 30
    assert s.execute(f"select {nested}").reader.read_all().column(0).to_pylist() == [1]
    strict = Session(db, max_nesting=10)
    try:
        with pytest.raises(TooComplex, match="more than 10 levels"):
            strict.execute(f"select {nested}")
    finally:
        strict.close()
