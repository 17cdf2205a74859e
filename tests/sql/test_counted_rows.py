"""``count(*)`` of a whole table is the live row count the engine keeps for the snapshot
(``aggregate.counted_rows``): the same as counting the rows a scan reads, through deletes,
updates, a transaction's own writes and another session's view."""

from __future__ import annotations

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
    assert [u is not None for u in used] == [True, False, False, False]
