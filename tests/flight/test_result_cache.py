"""The result cache through Flight SQL: --result-cache-bytes shares one cache among all
sessions; a commit from any client makes the next run compute again."""

from __future__ import annotations

from typing import Any

import adbc_driver_flightsql.dbapi as flight_sql
import pytest

import engine
from kodiak_flight.sql.executor import core

from .conftest import running


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = core.Executor.output

    def counting(self: Any, node: Any, names: Any = None) -> Any:
        calls.append(1)
        return real(self, node, names)

    monkeypatch.setattr(core.Executor, "output", counting)
    return calls


def fetch(uri: str, sql: str) -> list[tuple]:
    with flight_sql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_served_to_every_client_until_a_commit(tmp_path: Any, runs: list[int]) -> None:
    db = engine.Database.open(str(tmp_path / "db"))
    try:
        with running(db, result_cache_bytes=1 << 20) as srv:
            uri = f"grpc://127.0.0.1:{srv.port}"
            with flight_sql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
                cur.execute("create table t (a int)")
                cur.execute("insert into t values (1), (2)")
            sql = "select sum(a) from t"
            assert fetch(uri, sql) == [(3,)]
            n = len(runs)
            assert fetch(uri, sql) == [(3,)]  # another connection: served
            assert len(runs) == n
            with flight_sql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
                cur.execute("insert into t values (4)")
            assert fetch(uri, sql) == [(7,)] and len(runs) == n + 1
            assert fetch(uri, "select hits, stores from information_schema.kodiak_result_cache"
                         ) == [(1, 2)]
            assert srv.result_cache is not None and srv.result_cache.stats()["hits"] == 1
    finally:
        db.close()


def test_off_by_default(tmp_path: Any, runs: list[int]) -> None:
    db = engine.Database.open(str(tmp_path / "db"))
    try:
        with running(db) as srv:
            uri = f"grpc://127.0.0.1:{srv.port}"
            fetch(uri, "select 42")
            fetch(uri, "select 42")
            assert srv.result_cache is None
    finally:
        db.close()


def test_random_is_never_served_again(tmp_path: Any) -> None:
    """random() is drawn anew on every run, prepared or not, cache or not."""
    db = engine.Database.open(str(tmp_path / "db"))
    try:
        with running(db, result_cache_bytes=1 << 20) as srv:
            uri = f"grpc://127.0.0.1:{srv.port}"
            for sql in ("select random()", "select max(random()) from range(5)"):
                assert len({fetch(uri, sql)[0][0] for _ in range(3)}) == 3
            with flight_sql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
                got = set()
                for _ in range(3):
                    cur.execute("select random() + ?", parameters=(0,))
                    got.add(cur.fetchall()[0][0])
                assert len(got) == 3
    finally:
        db.close()
