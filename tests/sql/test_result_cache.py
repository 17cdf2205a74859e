"""The query-result cache: served again only while every table the query read is unchanged,
never for volatile plans, files or system views, bounded by bytes, least recently used out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from kodiak_flight.sql import Session
from kodiak_flight.sql import functions as F
from kodiak_flight.sql.executor import core
from kodiak_flight.sql.resultcache import ResultCache, shared


@pytest.fixture
def cache(db: Any) -> ResultCache:
    return ResultCache(16 << 20)


@pytest.fixture
def s(db: Any, cache: ResultCache) -> Iterator[Session]:
    session = Session(db, result_cache=cache)
    session.execute("create table t (id int primary key, x varchar)")
    session.execute("insert into t values (1, 'a'), (2, 'b'), (3, 'a')")
    session.execute("create table u (k int)")
    yield session
    session.close()


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per query the executor actually runs."""
    calls: list[int] = []
    real = core.Executor.output

    def counting(self: Any, node: Any, names: Any = None) -> Any:
        calls.append(1)
        return real(self, node, names)

    monkeypatch.setattr(core.Executor, "output", counting)
    return calls


def q(s: Session, sql: str, params: Any = None) -> list[tuple]:
    t = s.execute(sql, params).reader.read_all()
    return [tuple(r.values()) for r in t.to_pylist()]


GROUPED = "select x, count(*) as n from t group by x order by x"


def test_a_repeated_query_is_served_without_running(s: Session, runs: list[int],
                                                    cache: ResultCache) -> None:
    first = q(s, GROUPED)
    assert first == [("a", 2), ("b", 1)] and len(runs) == 1
    assert q(s, GROUPED) == first
    assert len(runs) == 1
    st = cache.stats()
    assert st["hits"] == 1 and st["stores"] == 1 and st["entries"] == 1 and st["bytes"] > 0


def test_the_key_ignores_whitespace_keyword_case_and_comments(s: Session, runs: list[int]
                                                               ) -> None:
    q(s, GROUPED)
    q(s, "SELECT x,\n   COUNT(*) AS n  FROM t GROUP BY x ORDER BY x -- again")
    assert len(runs) == 1
    q(s, "select x, count(*) as m from t group by x order by x")  # another column name
    assert len(runs) == 2


def test_different_parameters_miss(s: Session, runs: list[int]) -> None:
    sql = "select count(*) from t where id > ?"
    assert q(s, sql, pa.record_batch({"$1": [1]})) == [(2,)]
    assert q(s, sql, pa.record_batch({"$1": [2]})) == [(1,)]
    assert q(s, sql, pa.record_batch({"$1": [1.5]})) == [(2,)]  # another type: its own
    assert len(runs) == 3
    assert q(s, sql, pa.record_batch({"$1": [2]})) == [(1,)]
    assert len(runs) == 3
    p = s.prepare(sql)
    one = p.execute(pa.record_batch({"$1": [0]})).reader.read_all()
    again = p.execute(pa.record_batch({"$1": [0]})).reader.read_all()
    assert one.equals(again) and one.column(0).to_pylist() == [3] and len(runs) == 4
    assert p.execute(pa.record_batch({"$1": [2]})).reader.read_all().column(0)[0].as_py() == 1
    assert len(runs) == 4  # the ad hoc run of the same text and value stored it


def test_a_commit_to_a_table_read_invalidates(s: Session, runs: list[int],
                                              cache: ResultCache) -> None:
    q(s, GROUPED)
    q(s, "select count(*) from u")
    s.execute("insert into t values (4, 'b')")
    assert q(s, GROUPED) == [("a", 2), ("b", 2)] and len(runs) == 3
    assert q(s, "select count(*) from u") == [(0,)] and len(runs) == 3  # u is unchanged
    assert cache.stats()["invalidations"] == 1


def test_a_commit_through_another_session_invalidates(db: Any, s: Session, runs: list[int],
                                                      cache: ResultCache) -> None:
    other = Session(db, result_cache=cache)
    q(s, GROUPED)
    assert q(other, GROUPED) == [("a", 2), ("b", 1)] and len(runs) == 1  # shared
    other.execute("update t set x = 'b' where id = 1")
    assert q(s, GROUPED) == [("a", 1), ("b", 2)] and len(runs) == 2
    other.begin()
    other.execute("delete from t where id = 3")
    assert q(s, GROUPED) == [("a", 1), ("b", 2)] and len(runs) == 2  # not committed yet
    other.commit()
    assert q(s, GROUPED) == [("b", 2)] and len(runs) == 3
    other.close()


def test_views_invalidate_through_their_tables(s: Session, runs: list[int]) -> None:
    s.execute("create view v as select x from t where id < 3")
    assert q(s, "select * from v order by x") == [("a",), ("b",)]
    q(s, "select * from v order by x")
    assert len(runs) == 1
    s.execute("insert into t values (0, 'z')")
    assert q(s, "select * from v order by x") == [("a",), ("b",), ("z",)] and len(runs) == 2


def test_subquery_tables_count(s: Session, runs: list[int]) -> None:
    sql = "select count(*) from t where id > (select count(*) from u)"
    assert q(s, sql) == [(3,)]
    s.execute("insert into u values (1), (2)")
    assert q(s, sql) == [(1,)] and len(runs) == 2


def test_a_write_in_the_open_transaction_is_seen(s: Session, runs: list[int],
                                                 cache: ResultCache) -> None:
    q(s, GROUPED)
    s.begin()
    assert q(s, GROUPED) == [("a", 2), ("b", 1)] and len(runs) == 1  # nothing written yet
    s.execute("insert into t values (9, 'c')")
    assert q(s, GROUPED) == [("a", 2), ("b", 1), ("c", 1)] and len(runs) == 2
    assert q(s, GROUPED) == [("a", 2), ("b", 1), ("c", 1)] and len(runs) == 3  # not kept
    s.rollback()
    assert q(s, GROUPED) == [("a", 2), ("b", 1)] and len(runs) == 3
    s.begin()
    s.execute("insert into u values (1)")  # written, if not to t: nothing served
    assert q(s, GROUPED) == [("a", 2), ("b", 1)] and len(runs) == 4
    s.commit()
    assert cache.stats()["entries"] == 1


def test_ddl_invalidates(s: Session, runs: list[int]) -> None:
    assert q(s, "select * from t order by id")[0] == (1, "a")
    s.execute("alter table t add column y int")
    assert q(s, "select * from t order by id")[0] == (1, "a", None) and len(runs) == 2
    s.execute("create view w as select 1 as one")  # any catalog change
    q(s, "select * from t order by id")
    assert len(runs) == 3
    s.execute("drop table u")
    s.execute("create table u (k int)")
    s.execute("insert into u values (7)")
    assert q(s, "select * from u") == [(7,)]


def test_volatile_and_stable_functions_are_never_cached(s: Session, runs: list[int],
                                                        cache: ResultCache) -> None:
    for sql in ("select now() as t", "select current_date as d, count(*) from t"):
        q(s, sql)
        q(s, sql)
    assert len(runs) == 4 and cache.stats()["entries"] == 0
    fn = F.Function("test_cache_volatile", F.SCALAR, lambda args: args[0],
                    volatility=F.VOLATILE)
    F.register(fn)
    try:
        q(s, "select test_cache_volatile(id) from t")
        q(s, "select test_cache_volatile(id) from t")
        p = s.prepare("select test_cache_volatile(id) from t where id > ?")
        for _ in range(2):
            p.execute(pa.record_batch({"$1": [0]})).reader.read_all()
    finally:
        F.unregister("test_cache_volatile")
    assert len(runs) == 8 and cache.stats()["entries"] == 0
    assert cache.stats()["uncacheable"] == 8


def test_system_views_and_files_are_not_cached(s: Session, runs: list[int], tmp_path: Any
                                               ) -> None:
    sql = "select hits from information_schema.kodiak_result_cache"
    q(s, sql)
    q(s, sql)
    assert len(runs) == 2
    path = tmp_path / "f.csv"
    path.write_text("a\n1\n")
    file_sql = f"select sum(a) from read_csv('{path}')"
    assert q(s, file_sql) == [(1,)]
    path.write_text("a\n1\n2\n")
    assert q(s, file_sql) == [(3,)] and len(runs) == 4


def test_samples_without_a_seed_are_not_cached(s: Session, runs: list[int]) -> None:
    q(s, "select count(*) from t using sample 50%")
    q(s, "select count(*) from t using sample 50%")
    assert len(runs) == 2
    q(s, "select count(*) from t using sample 50% (bernoulli, 7)")
    q(s, "select count(*) from t using sample 50% (bernoulli, 7)")
    assert len(runs) == 3


def test_temporary_tables_are_the_sessions_own(db: Any, s: Session, runs: list[int],
                                               cache: ResultCache) -> None:
    other = Session(db, result_cache=cache)
    s.execute("create temporary table tmp as select 1 as a")
    other.execute("create temporary table tmp as select 2 as a")
    assert q(s, "select a from tmp") == [(1,)]
    assert q(other, "select a from tmp") == [(2,)]
    assert q(s, "select a from tmp") == [(1,)] and len(runs) == 2
    s.execute("insert into tmp values (5)")
    assert q(s, "select a from tmp order by a") == [(1,), (5,)]
    other.close()
    third = Session(db, result_cache=cache)  # no temporary tables
    third.execute("create table shadow as select 'main' as w")
    s.execute("create temporary table shadow as select 'temp' as w")
    assert q(third, "select w from shadow") == [("main",)]
    assert q(s, "select w from shadow") == [("temp",)]
    assert q(third, "select w from shadow") == [("main",)]
    third.close()


def test_size_bound_and_least_recently_used_eviction(db: Any, s: Session, runs: list[int]
                                                     ) -> None:
    one = s.execute("select * from t where id = 1").reader.read_all().nbytes
    small = ResultCache(int(one * 2.5), max_entry_bytes=one)
    s.result_cache = small
    for i in (1, 2):
        q(s, f"select * from t where id = {i}")
    q(s, "select * from t where id = 1")  # 1 is now the most recent
    q(s, "select * from t where id = 3")  # evicts 2
    assert len(runs) == 4 and small.stats()["evictions"] == 1
    assert small.stats()["bytes"] <= small.max_bytes
    q(s, "select * from t where id = 1")
    q(s, "select * from t where id = 3")
    assert len(runs) == 4
    q(s, "select * from t where id = 2")
    assert len(runs) == 5
    q(s, "select * from t")  # larger than an entry may be: computed, not kept
    q(s, "select * from t")
    assert len(runs) == 7 and small.stats()["too_large"] == 2


def test_a_result_read_partly_is_not_cached(s: Session, runs: list[int],
                                            cache: ResultCache) -> None:
    sql = "select * from range(300000)"  # 2.4 MB
    r = s.execute(sql).reader
    first = r.read_next_batch()
    assert first.num_rows < 300000  # several batches
    r.close()
    assert cache.stats()["entries"] == 0
    full = s.execute(sql).reader.read_all()
    assert full.num_rows == 300000 and cache.stats()["entries"] == 1
    again = s.execute(sql).reader.read_all()
    assert again.equals(full) and len(runs) == 2


def test_different_users_do_not_share(db: Any, cache: ResultCache, s: Session,
                                      runs: list[int]) -> None:
    s.execute("grant select on t to ann, bob")
    ann = Session(db, user="ann", result_cache=cache)
    bob = Session(db, user="bob", result_cache=cache)
    q(ann, GROUPED)
    q(bob, GROUPED)
    assert len(runs) == 2
    q(ann, GROUPED)
    q(bob, GROUPED)
    assert len(runs) == 2


def test_schemas_keep_apart(s: Session, runs: list[int]) -> None:
    s.execute("create schema other")
    s.execute("create table other.t (id int, x varchar)")
    assert len(q(s, "select * from t")) == 3
    s.execute("use other")
    assert q(s, "select * from t") == [] and len(runs) == 2


def test_off_by_default_and_the_system_view(db: Any, runs: list[int]) -> None:
    plain = Session(db)
    q(plain, "select 1")
    q(plain, "select 1")
    assert len(runs) == 2
    c = shared(db, 1 << 20)
    assert shared(db, 5) is c  # one per database
    s1 = Session(db, result_cache=c)
    q(s1, "select 1 as one")
    q(s1, "select 1 as one")
    row = s1.execute("select * from information_schema.kodiak_result_cache"
                     ).reader.read_all().to_pylist()[0]
    assert row["hits"] == 1 and row["entries"] == 1 and row["max_bytes"] == 1 << 20


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match="zero"):
        ResultCache(-1)
