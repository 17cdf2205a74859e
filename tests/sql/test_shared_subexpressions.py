"""The shared-subexpressions rule: repeated arithmetic in one projection is computed once,
with the same answers (checked against DuckDB), errors and parameters kept apart."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kodiak_flight.sql import ExecutionError, Session

from .harness import check, twin

SETUP = [
    "create table li (price decimal(15,2), disc decimal(15,2), tax decimal(15,2), "
    "flag varchar, kind varchar)",
    "insert into li values (100.50, 0.05, 0.08, 'A', 'PROMO X'), (20.00, 0.10, 0.00, 'B', "
    "'PLAIN'), (3.25, 0.00, 0.02, 'A', NULL), (NULL, 0.01, 0.01, 'B', 'PROMO Y')",
]

SHARED = [
    "select flag, sum(price * (1 - disc)) as a, sum(price * (1 - disc) * (1 + tax)) as b "
    "from li group by flag",
    "select sum(case when kind like 'PROMO%' then price * (1 - disc) else 0 end) / "
    "sum(price * (1 - disc)) from li",
    "select price * (1 - disc), price * (1 - disc) + 1, (price * (1 - disc)) * 2 from li",
    "select case when kind like 'PROMO%' then 1 else 0 end, kind like 'PROMO%' from li",
]


@pytest.fixture
def pair(session: Session):
    with twin(session, SETUP) as both:
        yield both


@pytest.mark.parametrize("sql", SHARED)
def test_same_answers_as_duckdb(pair, sql):
    check(*pair, sql)


def plan_text(session: Session, sql: str) -> str:
    return "\n".join(session.execute("explain " + sql).reader.read_all().column(0)
                     .to_pylist())


def test_repeated_arithmetic_is_computed_once(pair):
    session, _ = pair
    text = plan_text(session, SHARED[0])
    assert text.count("subtract_checked") == 1, text


def test_untaken_branch_still_cannot_fail(pair):
    """A shared expression inside a CASE keeps its guard: rows the branch does not take
    never raise (an overflow there would)."""
    session, _ = pair
    session.execute("create table big (x bigint)")
    session.execute("insert into big values (9223372036854775807), (1)")
    sql = ("select case when x < 10 then x * 2 else 0 end as a, "
           "case when x < 10 then x * 2 + 1 else 0 end as b from big order by a")
    got = session.execute(sql).reader.read_all().to_pylist()
    assert got == [{"a": 0, "b": 0}, {"a": 2, "b": 3}]
    with pytest.raises(ExecutionError):
        session.execute("select x * 2, x * 2 + 1 from big").reader.read_all()


def test_parameters_are_not_shared(session: Session):
    session.execute("create table p (x bigint)")
    session.execute("insert into p values (1), (2)")
    params = pa.record_batch([pa.array([10]), pa.array([100])], names=["a", "b"])
    t = session.execute("select ? * x as a, ? * x as b from p order by a", params)
    assert t.reader.read_all().to_pylist() == [{"a": 10, "b": 100}, {"a": 20, "b": 200}]
