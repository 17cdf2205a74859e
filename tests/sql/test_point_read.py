"""A projection of plain columns over a key or index point scan is answered by one engine
call (``executor.scan.point_read``), with the same rows and schema as the operators give."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kodiak_flight.sql.executor import core
from kodiak_flight.sql.plan import Project


@pytest.fixture
def projects(monkeypatch):
    """Counts the projection operator's runs."""
    calls = []
    real = core.OPERATORS[Project]

    def counting(ex, node):
        calls.append(node)
        return real(ex, node)

    monkeypatch.setitem(core.OPERATORS, Project, counting)
    return calls


@pytest.fixture(params=["keyless", "keyed"])
def t(request, session):
    key = " primary key" if request.param == "keyed" else ""
    session.execute(f"create table t (k bigint{key}, a int not null, s varchar, "
                    "d date, v decimal(10, 2))")
    session.execute("insert into t values (1, 10, 'one', date '2020-01-01', 1.25), "
                    "(2, 20, null, null, null), (3, 30, 'three', date '2021-03-03', 3.5)")
    if not key:
        session.execute("create index t_k on t (k)")
    session.execute("create index t_s on t (s)")
    return session


def result(session, sql, *values):
    p = session.prepare(sql)
    r = p.execute(pa.table({f"${i + 1}": [v] for i, v in enumerate(values)}))
    return r.table if r.table is not None else r.reader.read_all()


def without_shortcuts(monkeypatch, session, sql, *values):
    monkeypatch.setattr(core.Executor, "shortcuts", False)
    try:
        return result(session, sql, *values)
    finally:
        monkeypatch.setattr(core.Executor, "shortcuts", True)


@pytest.mark.parametrize("sql, values", [
    ("select * from t where k = ?", [1]),
    ("select * from t where k = ?", [2]),
    ("select * from t where k = ?", [9]),
    ("select s, k, s as again from t where k = ?", [3]),
    ("select a from t where s = ?", ["three"]),
    ("select k, v from t where s = ?", ["nope"]),
])
def test_same_rows_and_schema_as_the_operators(t, projects, monkeypatch, sql, values):
    got = result(t, sql, *values)
    assert not projects  # answered before any operator ran
    want = without_shortcuts(monkeypatch, t, sql, *values)
    assert projects  # (the operators did run that time)
    assert got.schema.equals(want.schema, check_metadata=True)
    assert got.to_pylist() == want.to_pylist()


def test_first_execution_answers_too(t, projects):
    assert result(t, "select k, s from t where k = ?", 1).to_pylist() == [{"k": 1, "s": "one"}]
    assert result(t, "select * from t where k in (1, 3)").column("k").to_pylist() in (
        [1, 3], [3, 1])


def test_other_plans_use_the_operators(t, projects):
    assert result(t, "select k + 1 as x from t where k = ?", 1).to_pylist() == [{"x": 2}]
    assert result(t, "select k from t where a = ?", 20).to_pylist() == [{"k": 2}]
    assert len(projects) == 2


def test_explain_analyze_counts_each_operator(t):
    text = "\n".join(str(v) for v in t.execute(
        "explain analyze select k, s from t where k = 1").reader.read_all().column(0)
        .to_pylist())
    assert "Project" in text and "Scan" in text


def test_view_typed_columns_are_converted_as_the_scan_does(session, projects, monkeypatch):
    sv = pa.string_view()
    session.db.create_table("v", pa.schema([("k", pa.int64()), ("s", sv)]))
    session.db.insert("v", pa.table({"k": pa.array([1, 2], pa.int64()),
                                     "s": pa.array(["one", "two"], sv)}))
    session.execute("create index v_k on v (k)")
    sql = "select s, k from v where k = ?"
    got = result(session, sql, 2)
    assert not projects
    want = without_shortcuts(monkeypatch, session, sql, 2)
    assert got.schema.equals(want.schema, check_metadata=True)
    assert got.to_pylist() == want.to_pylist() == [{"s": "two", "k": 2}]
