"""Query pipe operators (``FROM t |> ...``), each once, differential against DuckDB given the
same query in plain SQL; column names; and the operators refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from kodiak_flight.sql import BindError, ParseError, Session

from .harness import check, twin

SETUP = [
    "create table p (k bigint, g varchar, a bigint, b double)",
    "insert into p values (1, 'x', 10, 1.5), (2, 'y', null, 2.5), (3, 'x', 30, null), "
    "(4, 'z', 40, 4.5), (5, 'y', 50, 0.5), (6, null, 60, 6.5)",
    "create table q (k bigint, tag varchar)",
    "insert into q values (1, 'one'), (3, 'three'), (5, 'five'), (7, 'seven')",
]

# (pipe query, the same query in plain SQL for DuckDB, whether the order is fixed)
CASES = [
    ("from p |> where a > 20", "select * from p where a > 20", False),
    ("from p |> aggregate sum(a) as s, count(*) as c group by g",
     "select g, sum(a) as s, count(*) as c from p group by g", False),
    ("from p |> order by b desc nulls last, k", "select * from p order by b desc nulls last, k",
     True),
    ("from p |> order by k |> limit 2 offset 1", "select * from p order by k limit 2 offset 1",
     True),
    ("from p |> join q using (k)", "select * from p join q using (k)", False),
    ("from p |> left join q on p.k = q.k |> select p.k, q.tag",
     "select p.k, q.tag from p left join q on p.k = q.k", False),
    ("from p |> select k |> union all (select k from q)",
     "select k from p union all select k from q", False),
    ("from p |> select k |> union (select k from q)", "select k from p union select k from q",
     False),
    ("from p |> select k |> intersect distinct (select k from q)",
     "select k from p intersect select k from q", False),
    ("from p |> select k |> except distinct (select k from q)",
     "select k from p except select k from q", False),
    ("from p |> set a = a * 2, b = -b", "select k, g, a * 2 as a, -b as b from p", False),
    ("from p |> set a = 0 |> where a = 0 |> select k", "select k from p", False),
    ("from p |> drop a, b", "select k, g from p", False),
    ("from p |> rename a as amount, g as grp |> where amount > 25 |> select k, grp",
     "select k, g as grp from p where a > 25", False),
    ("from p |> extend a * b as ab, upper(g) as gu |> where ab > 20",
     "select *, a * b as ab, upper(g) as gu from p where a * b > 20", False),
    ("from p |> extend sum(a) over (partition by g) as total",
     "select *, sum(a) over (partition by g) as total from p", False),
    ("from p |> as r |> where r.k > 4 |> select r.k, r.g",
     "select k, g from p as r where r.k > 4", False),
    ("from p |> as l |> join q as rr on l.k = rr.k |> select l.k, rr.tag",
     "select l.k, rr.tag from p as l join q as rr on l.k = rr.k", False),
    ("from p |> where g is not null |> aggregate max(b) as mb group by g |> order by g",
     "select g, max(b) as mb from p where g is not null group by g order by g", True),
    ("from p |> extend a + 1 as a1 |> set a1 = a1 * 10 |> drop b |> rename a1 as z "
     "|> order by k",
     "select k, g, a, (a + 1) * 10 as z from p order by k", True),
]


@pytest.fixture
def pq(db: Any) -> Any:
    with twin(Session(db), SETUP) as pair:
        yield pair


@pytest.mark.parametrize("sql,duck_sql,ordered", CASES)
def test_pipe_operator(pq: Any, sql: str, duck_sql: str, ordered: bool) -> None:
    session, duck = pq
    check(session, duck, sql, ordered=ordered, duck_sql=duck_sql)


@pytest.mark.parametrize("sql,names", [
    ("from p |> set a = a * 2", ["k", "g", "a", "b"]),
    ("from p |> drop g", ["k", "a", "b"]),
    ("from p |> rename a as amount", ["k", "g", "amount", "b"]),
    ("from p |> extend a * 2 as a2", ["k", "g", "a", "b", "a2"]),
    ("from p |> aggregate count(*) as n group by g", ["g", "n"]),
])
def test_pipe_column_names(pq: Any, sql: str, names: list[str]) -> None:
    session, _ = pq
    assert session.execute(sql).reader.read_all().column_names == names


def test_pipe_call_of_a_built_in_is_refused_by_name(pq: Any) -> None:
    """|> CALL takes user table functions (tests/sql/test_pl_table_functions.py)."""
    session, _ = pq
    with pytest.raises(ParseError, match=r"range is not a table function"):
        session.execute("from p |> call range(3)")


@pytest.mark.parametrize("sql,match", [
    ("from p |> drop nope", "nope"),
    ("from p |> rename nope as x", "nope"),
    ("from p |> set nope = 1", "nope"),
    ("from p |> where nope > 1", "nope"),
])
def test_pipe_unknown_columns_are_refused(pq: Any, sql: str, match: str) -> None:
    session, _ = pq
    with pytest.raises(BindError, match=match):
        session.execute(sql)
