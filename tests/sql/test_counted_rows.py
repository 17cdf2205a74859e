"""``count(*)``, ``min`` and ``max`` of a whole table come from what the engine keeps for the
snapshot (``aggregate.counted_rows``: the live row count, the segments' statistics while
no row was deleted from them): the same as what a scan reads gives, through deletes,
updates, an added column, NaN, a transaction's own writes and another session's view."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kodiak_flight.sql import Session
from kodiak_flight.sql.executor import aggregate


def count(session: Session, where: str = "") -> int:
    r = session.execute(f"select count(*) as n from t {where}")
    t = r.table if r.table is not None else r.reader.read_all()
    return t.column("n")[0].as_py()


def rows(session: Session, sql: str) -> list[dict]:
    r = session.execute(sql)
    return (r.table if r.table is not None else r.reader.read_all()).to_pylist()


def both(session: Session) -> int:
    """The kept count, checked against the rows a filter that keeps every row counts."""
    fast = count(session)
    assert fast == count(session, "where k is not null or k is null")
    return fast


@pytest.mark.parametrize("key", [" primary key", ""])
def test_the_count_follows_every_write(session: Session, db, key: str) -> None:
    session.execute(f"create table t (k bigint{key}, v varchar)")
    assert both(session) == 0
    session.execute("insert into t values " + ", ".join(f"({i}, 'v{i}')" for i in range(3000)))
    assert both(session) == 3000
    session.execute("delete from t where k % 3 = 0")
    assert both(session) == 2000
    session.execute("update t set v = 'u' where k % 5 = 0")
    assert both(session) == 2000
    session.execute("begin")
    session.execute("insert into t values (100000, 'n'), (100001, 'm')")
    session.execute("delete from t where k < 100")
    assert both(session) == 2000 + 2 - 66
    other = Session(db)
    assert both(other) == 2000  # not the open transaction's writes
    session.execute("rollback")
    assert both(session) == 2000
    other.close()


def test_only_a_whole_table_is_counted_so(session: Session, monkeypatch) -> None:
    """A whole table's count(*) from the kept row count, one under a condition the scan
    takes from the engine's masks (``Snapshot.count``); a count of a column, or by group,
    reads the rows."""
    session.execute("create table t (k bigint, v varchar)")
    session.execute("insert into t values (1, 'a'), (2, 'b'), (3, null)")
    used = []
    real = aggregate.counted_rows
    monkeypatch.setattr(aggregate, "counted_rows",
                        lambda ex, node: used.append(r := real(ex, node)) or r)
    assert count(session) == 3
    assert count(session, "where k > 1") == 2
    assert rows(session, "select count(*) as n, count(v) as m from t") == [{"n": 3, "m": 2}]
    assert rows(session, "select count(*) as n from t group by v is null order by n") == \
        [{"n": 1}, {"n": 2}]
    assert count(session, "where v = 'a'") == 1
    assert [u is not None for u in used] == [True, True, False, False, True]


EXTREMES = ("select min(i) a, max(i) b, min(f) c, max(f) d, min(q) e, max(q) f, min(d) g, "
            "max(d) h, count(*) n from t")


def extremes(session: Session) -> list[dict]:
    """min/max from the statistics, checked against the same over a filter keeping all."""
    fast = rows(session, EXTREMES)
    assert fast == rows(session, EXTREMES + " where k is not null or k is null")
    return fast


@pytest.mark.parametrize("key", [" primary key", ""])
def test_extremes_follow_every_write(session: Session, db, key: str) -> None:
    session.execute(f"create table t (k bigint{key}, i int, f double, q decimal(9,2), d date)")
    assert extremes(session) == [dict.fromkeys("abcdefgh") | {"n": 0}]
    session.execute("insert into t values (1, -5, 1.5, 10.25, date '2020-01-01'), "
                    "(2, 7, null, -3.50, date '1999-12-31'), (3, null, -0.5, null, null)")
    assert extremes(session)[0]["b"] == 7
    session.execute("insert into t values (4, 100, 'NaN', 99.99, date '2030-06-01')")
    extremes(session)  # a NaN: the statistics do not know, the column is read
    session.execute("delete from t where k = 4")
    assert extremes(session)[0]["b"] == 7  # a deleted row's value: read, not the statistics
    session.execute("update t set i = 50 where k = 1")
    assert extremes(session)[0]["b"] == 50
    session.execute("alter table t add column z int default 9")
    assert rows(session, "select min(z) m, max(z) x from t") == [{"m": 9, "x": 9}]
    session.execute("begin")
    session.execute("insert into t values (10, 1000, 2.5, 1.00, date '2040-01-01', 1)")
    assert extremes(session)[0]["b"] == 1000
    assert extremes(Session(db))[0]["b"] == 50
    session.execute("rollback")
    assert extremes(session)[0]["b"] == 50


def test_extremes_of_a_fresh_table_come_from_statistics(session: Session, monkeypatch) -> None:
    session.execute("create table t (k bigint, i int, f double, q decimal(9,2), d date)")
    session.execute("insert into t values (1, -5, 1.5, 10.25, date '2020-01-01'), "
                    "(2, 7, null, -3.50, date '1999-12-31')")
    used = []
    real = aggregate.counted_rows
    monkeypatch.setattr(aggregate, "counted_rows",
                        lambda ex, node: used.append(r := real(ex, node)) or r)
    got = rows(session, EXTREMES)
    assert used[0] is not None
    assert got == [{"a": -5, "b": 7, "c": 1.5, "d": 1.5, "e": Decimal("-3.50"),
                    "f": Decimal("10.25"), "g": dt.date(1999, 12, 31),
                    "h": dt.date(2020, 1, 1), "n": 2}]


def test_extremes_of_decimals_aggregated_as_integers(session: Session, monkeypatch) -> None:
    """Over many rows the optimiser aggregates decimals on their unscaled integers
    (``IntegerDecimals``; "many" made few here); a whole table's minimum and maximum still
    come from the statistics, and are the decimals the column holds."""
    import importlib

    rule = importlib.import_module("kodiak_flight.sql.optimizer.integer_decimals")
    monkeypatch.setattr(rule, "MIN_ROWS", 10)
    session.execute("create table t (k bigint, q decimal(15,2))")
    session.execute("insert into t values " + ", ".join(
        f"({i}, {(i * 7919) % 100003 - 50000}.{i % 100:02d})" for i in range(500)))
    sql = "select min(q) lo, max(q) hi, count(*) n from t"
    assert any("IntegerDecimals" in r["plan"] for r in rows(session, "explain " + sql))
    want = rows(session, sql + " where k >= 0")
    assert want[0]["n"] == 500 and want[0]["lo"] < 0 < want[0]["hi"]
    run = importlib.import_module("kodiak_flight.sql.executor.integer_decimals")
    used = []
    monkeypatch.setattr(run, "counted_rows",
                        lambda ex, node: used.append(r := aggregate.counted_rows(ex, node)) or r)
    assert rows(session, sql) == want
    assert used and used[0] is not None
